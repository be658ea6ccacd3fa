/* kvm engine: exits of tiny real-mode guests (PIO, string PIO, MMIO, HLT with
 * IF=0, triple fault). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "kvm_harness.h"

static void test_pio_out(void **state)
{
	struct kh *h = *state;
	static const uint8_t code[] = {
		0xb0, 0x5a,                         /* mov al, 0x5a */
		0xe6, 0x80,                         /* out 0x80, al */
		0xba, 0xf8, 0x03,                   /* mov dx, 0x3f8 */
		0xb8, 0x34, 0x12,                   /* mov ax, 0x1234 */
		0xef,                               /* out dx, ax */
		0x66, 0xb8, 0xef, 0xbe, 0xad, 0xde, /* mov eax, 0xdeadbeef */
		0x66, 0xef,                         /* out dx, eax */
		0xfa, 0xf4,                         /* cli; hlt */
	};

	kh_load_real(h, code, sizeof(code));
	kh_expect_pio(h, 0x80, 1, true);
	assert_int_equal(h->exit.pio.count, 1);
	assert_int_equal(kh_pio_value(h), 0x5a);
	kh_expect_pio(h, 0x3f8, 2, true);
	assert_int_equal(kh_pio_value(h), 0x1234);
	kh_expect_pio(h, 0x3f8, 4, true);
	assert_int_equal(kh_pio_value(h), 0xdeadbeef);
}

static void test_pio_in(void **state)
{
	struct kh *h = *state;
	static const uint8_t code[] = {
		0xe4, 0x71,             /* in al, 0x71 */
		0xe6, 0x72,             /* out 0x72, al */
		0xba, 0x10, 0x05,       /* mov dx, 0x510 */
		0x66, 0xed,             /* in eax, dx */
		0xba, 0x11, 0x05,       /* mov dx, 0x511 */
		0x66, 0xef,             /* out dx, eax */
		0xfa, 0xf4,
	};
	uint8_t *d;

	kh_load_real(h, code, sizeof(code));
	d = kh_expect_pio(h, 0x71, 1, false);
	d[0] = 0xa5;
	kh_expect_pio(h, 0x72, 1, true);
	assert_int_equal(kh_pio_value(h), 0xa5);
	d = kh_expect_pio(h, 0x510, 4, false);
	uint32_t v = 0x11223344;
	memcpy(d, &v, 4);
	kh_expect_pio(h, 0x511, 4, true);
	assert_int_equal(kh_pio_value(h), 0x11223344);

	struct x86_regs r;
	assert_int_equal(engine_kvm_ops.get_regs(&h->vcpu, &r), 0);
	assert_int_equal(r.gpr[GPR_RAX] & 0xffffffff, 0x11223344);
}

/* KVM's emulator may split a rep string instruction into several exits
 * (OUTS goes one element at a time; INS is batched); the loop must see all
 * elements in order, with count > 1 where KVM batches. */
static unsigned collect_string_pio(struct kh *h, uint16_t port, bool write, uint8_t *buf,
				   unsigned total, const uint8_t *in_data)
{
	unsigned got = 0, max_count = 0;

	while (got < total) {
		uint8_t *d = kh_expect_pio(h, port, 1, write);
		unsigned c = h->exit.pio.count;
		assert_true(c >= 1 && got + c <= total);
		if (write)
			memcpy(buf + got, d, c);
		else
			memcpy(d, in_data + got, c);
		got += c;
		if (c > max_count)
			max_count = c;
	}
	return max_count;
}

static void test_string_pio(void **state)
{
	struct kh *h = *state;
	static const uint8_t code[] = {
		0xbe, 0x00, 0x11,       /* mov si, 0x1100 */
		0xb9, 0x05, 0x00,       /* mov cx, 5 */
		0xba, 0xf8, 0x03,       /* mov dx, 0x3f8 */
		0xfc,                   /* cld */
		0xf3, 0x6e,             /* rep outsb */
		0xbf, 0x00, 0x12,       /* mov di, 0x1200 */
		0xb9, 0x04, 0x00,       /* mov cx, 4 */
		0xba, 0x00, 0x05,       /* mov dx, 0x500 */
		0xf3, 0x6c,             /* rep insb */
		0xe6, 0x80,             /* out 0x80, al */
		0xfa, 0xf4,
	};
	uint8_t out[5], got[4];

	kh_load_real(h, code, sizeof(code));
	assert_int_equal(gmem_write(&h->vm.mem, 0x1100, "hello", 5), 0);
	unsigned out_max = collect_string_pio(h, 0x3f8, true, out, 5, NULL);
	assert_memory_equal(out, "hello", 5);
	unsigned in_max = collect_string_pio(h, 0x500, false, NULL, 4, (const uint8_t *)"abcd");
	print_message("rep outsb: up to %u per exit; rep insb: up to %u per exit\n",
		      out_max, in_max);
	assert_true(in_max > 1);
	kh_expect_pio(h, 0x80, 1, true);
	assert_int_equal(gmem_read(&h->vm.mem, 0x1200, got, 4), 0);
	assert_memory_equal(got, "abcd", 4);
}

/* DS is based at a non-RAM address through the hidden segment cache. */
static void test_mmio(void **state)
{
	struct kh *h = *state;
	static const uint8_t code[] = {
		0xc6, 0x06, 0x10, 0x00, 0xab,                         /* mov byte [0x10], 0xab */
		0x66, 0xc7, 0x06, 0x20, 0x00, 0x78, 0x56, 0x34, 0x12, /* mov dword [0x20], 0x12345678 */
		0x66, 0xa1, 0x30, 0x00,                               /* mov eax, [0x30] */
		0x66, 0xe7, 0x80,                                     /* out 0x80, eax */
		0xa0, 0x40, 0x00,                                     /* mov al, [0x40] */
		0xe6, 0x81,                                           /* out 0x81, al */
		0xfa, 0xf4,
	};
	const uint64_t base = LAYOUT_TESTDEV_MMIO;
	struct x86_sregs s;

	kh_load_real(h, code, sizeof(code));
	assert_int_equal(engine_kvm_ops.get_sregs(&h->vcpu, &s), 0);
	s.seg[SEG_DS].base = base;
	assert_int_equal(engine_kvm_ops.set_sregs(&h->vcpu, &s), 0);

	assert_int_equal(kh_run(h), VCPU_EXIT_MMIO);
	assert_true(h->exit.mmio.write);
	assert_int_equal(h->exit.mmio.gpa, base + 0x10);
	assert_int_equal(h->exit.mmio.size, 1);
	assert_int_equal(h->exit.mmio.data[0], 0xab);

	assert_int_equal(kh_run(h), VCPU_EXIT_MMIO);
	assert_true(h->exit.mmio.write);
	assert_int_equal(h->exit.mmio.gpa, base + 0x20);
	assert_int_equal(h->exit.mmio.size, 4);
	assert_memory_equal(h->exit.mmio.data, "\x78\x56\x34\x12", 4);

	assert_int_equal(kh_run(h), VCPU_EXIT_MMIO);
	assert_false(h->exit.mmio.write);
	assert_int_equal(h->exit.mmio.gpa, base + 0x30);
	assert_int_equal(h->exit.mmio.size, 4);
	memcpy(h->exit.mmio.data, "\x0d\xf0\xfe\xca", 4);
	kh_expect_pio(h, 0x80, 4, true);
	assert_int_equal(kh_pio_value(h), 0xcafef00d);

	assert_int_equal(kh_run(h), VCPU_EXIT_MMIO);
	assert_false(h->exit.mmio.write);
	assert_int_equal(h->exit.mmio.gpa, base + 0x40);
	assert_int_equal(h->exit.mmio.size, 1);
	h->exit.mmio.data[0] = 0x7e;
	kh_expect_pio(h, 0x81, 1, true);
	assert_int_equal(kh_pio_value(h), 0x7e);
}

static void test_hlt_with_if0_is_detected(void **state)
{
	struct kh *h = *state;
	static const uint8_t code[] = { 0xe6, 0x80, 0xfa, 0xf4, 0xeb, 0xfd }; /* out; cli; hlt; jmp hlt */

	kh_load_real(h, code, sizeof(code));
	kh_expect_pio(h, 0x80, 1, true);
	double t0 = kh_now();
	assert_int_equal(kh_run(h), VCPU_EXIT_HLT);
	double dt = kh_now() - t0;
	print_message("cli;hlt detected after %.0f ms: %s\n", dt * 1e3, h->exit.error);
	assert_true(dt < 2.0);
	assert_non_null(strstr(h->exit.error, "halted"));
}

static void test_triple_fault_is_shutdown(void **state)
{
	struct kh *h = *state;
	static const uint8_t code[] = { 0xe6, 0x80, 0x0f, 0x0b }; /* out 0x80, al; ud2 */
	struct x86_sregs s;

	kh_load_prot32(h, code, sizeof(code));
	assert_int_equal(engine_kvm_ops.get_sregs(&h->vcpu, &s), 0);
	s.idt.base = 0;
	s.idt.limit = 0; /* every vector is beyond the IDT limit: #GP, #DF, shutdown */
	assert_int_equal(engine_kvm_ops.set_sregs(&h->vcpu, &s), 0);
	kh_expect_pio(h, 0x80, 1, true);
	enum vcpu_exit_reason why = kh_run(h);
	print_message("exit %d: %s\n", why, h->exit.error);
	assert_int_equal(why, VCPU_EXIT_SHUTDOWN);
	assert_non_null(strstr(h->exit.error, "triple fault"));
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test_setup_teardown(test_pio_out, kh_setup, kh_teardown),
	cmocka_unit_test_setup_teardown(test_pio_in, kh_setup, kh_teardown),
	cmocka_unit_test_setup_teardown(test_string_pio, kh_setup, kh_teardown),
	cmocka_unit_test_setup_teardown(test_mmio, kh_setup, kh_teardown),
	cmocka_unit_test_setup_teardown(test_hlt_with_if0_is_detected, kh_setup, kh_teardown),
	cmocka_unit_test_setup_teardown(test_triple_fault_is_shutdown, kh_setup, kh_teardown),
};

KH_MAIN(tests)
