/* kvm engine: interrupts through vm->irq into the in-kernel PIC waking a
 * halted guest, and vcpu_kick from another thread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "kvm_harness.h"

#define TEST_IRQ     IRQ_COM1
#define PIC_BASE     0x20
#define HANDLER      0x1100

struct later {
	struct kh *h;
	unsigned ms;
	bool kick;     /* else pulse TEST_IRQ */
};

static void *do_later(void *arg)
{
	struct later *l = arg;
	struct timespec ts = { .tv_sec = l->ms / 1000, .tv_nsec = (long)(l->ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
	if (l->kick) {
		engine_kvm_ops.vcpu_kick(&l->h->vcpu);
	} else {
		struct irq_line line;
		irq_line_init(&line, &l->h->vm.irq, TEST_IRQ);
		irq_line_pulse(&line);
	}
	return NULL;
}

/* Real mode: program the master PIC (vectors 0x20-0x27, only IRQ 4 unmasked),
 * report ready, then sti; hlt.  The IRQ 4 handler writes 0x99 to port 0x84. */
static void test_pic_interrupt_wakes_halted_guest(void **state)
{
	struct kh *h = *state;
	static const uint8_t code[] = {
		0xb0, 0x11, 0xe6, 0x20,         /* ICW1: edge, cascade, ICW4 */
		0xb0, PIC_BASE, 0xe6, 0x21,     /* ICW2: vector base */
		0xb0, 0x04, 0xe6, 0x21,         /* ICW3: slave on IRQ 2 */
		0xb0, 0x01, 0xe6, 0x21,         /* ICW4: 8086 mode */
		0xb0, (uint8_t)~(1u << TEST_IRQ), 0xe6, 0x21, /* OCW1: mask */
		0xe6, 0x80,                     /* ready */
		0xfb,                           /* sti */
		0xf4,                           /* 1: hlt */
		0xeb, 0xfd,                     /* jmp 1b */
	};
	static const uint8_t handler[] = {
		0xb0, 0x99, 0xe6, 0x84,         /* out 0x84, 0x99 */
		0xb0, 0x20, 0xe6, 0x20,         /* EOI */
		0xcf,                           /* iret */
	};
	uint16_t ivt[2] = { HANDLER, 0 };

	kh_load_real(h, code, sizeof(code));
	assert_int_equal(gmem_write(&h->vm.mem, HANDLER, handler, sizeof(handler)), 0);
	assert_int_equal(gmem_write(&h->vm.mem, (PIC_BASE + TEST_IRQ) * 4, ivt, 4), 0);
	kh_expect_pio(h, 0x80, 1, true);

	struct later l = { .h = h, .ms = 100, .kick = false };
	pthread_t t;
	double t0 = kh_now();
	assert_int_equal(pthread_create(&t, NULL, do_later, &l), 0);
	kh_expect_pio(h, 0x84, 1, true);
	double dt = kh_now() - t0;
	pthread_join(t, NULL);
	assert_int_equal(kh_pio_value(h), 0x99);
	print_message("interrupt delivered to the halted guest after %.0f ms\n", dt * 1e3);
	assert_true(dt >= 0.09);

	/* A second interrupt: EOI and IRET worked, the guest halted again. */
	assert_int_equal(pthread_create(&t, NULL, do_later, &l), 0);
	kh_expect_pio(h, 0x84, 1, true);
	pthread_join(t, NULL);
}

static void test_kick_interrupts_spinning_guest(void **state)
{
	struct kh *h = *state;
	static const uint8_t code[] = { 0xe6, 0x80, 0xeb, 0xfe }; /* out; jmp $ */

	kh_load_real(h, code, sizeof(code));
	kh_expect_pio(h, 0x80, 1, true);
	struct later l = { .h = h, .ms = 50, .kick = true };
	pthread_t t;
	double t0 = kh_now();
	assert_int_equal(pthread_create(&t, NULL, do_later, &l), 0);
	assert_int_equal(kh_run(h), VCPU_EXIT_INTERRUPTED);
	double dt = kh_now() - t0;
	pthread_join(t, NULL);
	print_message("kick returned after %.0f ms\n", dt * 1e3);
	assert_true(dt >= 0.04 && dt < 1.0);
}

/* A kick while the vCPU is outside KVM_RUN is not lost. */
static void test_kick_before_run(void **state)
{
	struct kh *h = *state;
	static const uint8_t code[] = { 0xeb, 0xfe }; /* jmp $ */

	kh_load_real(h, code, sizeof(code));
	engine_kvm_ops.vcpu_kick(&h->vcpu);
	assert_int_equal(kh_run(h), VCPU_EXIT_INTERRUPTED);
}

/* The halt-detection tick alone never surfaces as an exit, and a guest
 * halted with IF=1 is not "halted forever": it stays in vcpu_run (here until
 * a kick, as nothing raises an interrupt). */
static void test_tick_is_invisible(void **state)
{
	struct kh *h = *state;
	static const uint8_t code[] = { 0xe6, 0x80, 0xfb, 0xf4, 0xeb, 0xfd }; /* out; sti; hlt; jmp */

	kh_load_real(h, code, sizeof(code));
	kh_expect_pio(h, 0x80, 1, true);
	struct later l = { .h = h, .ms = 3 * KVM_TEST_TICK_MS, .kick = true };
	pthread_t t;
	double t0 = kh_now();
	assert_int_equal(pthread_create(&t, NULL, do_later, &l), 0);
	assert_int_equal(kh_run(h), VCPU_EXIT_INTERRUPTED);
	pthread_join(t, NULL);
	assert_true(kh_now() - t0 >= 0.9 * 3 * KVM_TEST_TICK_MS / 1000.0);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test_setup_teardown(test_pic_interrupt_wakes_halted_guest, kh_setup, kh_teardown),
	cmocka_unit_test_setup_teardown(test_kick_interrupts_spinning_guest, kh_setup, kh_teardown),
	cmocka_unit_test_setup_teardown(test_kick_before_run, kh_setup, kh_teardown),
	cmocka_unit_test_setup_teardown(test_tick_is_invisible, kh_setup, kh_teardown),
};

KH_MAIN(tests)
