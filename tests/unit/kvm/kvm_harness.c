#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kvm_harness.h"

const char *kh_skip_reason(void)
{
	static char why[128];
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		snprintf(why, sizeof(why), "cannot open /dev/kvm (%s): kvm engine tests skipped",
			 strerror(errno));
		return why;
	}
	close(fd);
	return NULL;
}

int kh_setup(void **state)
{
	return kh_setup_cpus(state, 1);
}

int kh_setup_cpus(void **state, unsigned cpus)
{
	struct kh *h = calloc(1, sizeof(*h));
	struct gmem_opts o = { .ram_size = KH_RAM };

	assert_non_null(h);
	vm_config_defaults(&h->vm.cfg);
	h->vm.cfg.cpus = cpus;
	h->vm.cfg.engine = "kvm";
	assert_int_equal(gmem_init(&h->vm.mem, &o), 0);
	assert_int_equal(bus_init(&h->vm.pio, BUS_PIO), 0);
	assert_int_equal(bus_init(&h->vm.mmio, BUS_MMIO), 0);
	pthread_mutex_init(&h->vm.exit_lock, NULL);
	h->vm.engine = &engine_kvm_ops;
	assert_int_equal(engine_kvm_ops.vm_init(&h->vm), 0);
	assert_non_null(h->vm.irq.set_level);
	h->vcpu.vm = &h->vm;
	h->vcpu.id = 0;
	h->vm.vcpus = &h->vcpu;
	h->vm.nr_vcpus = 1;
	assert_int_equal(engine_kvm_ops.vcpu_init(&h->vcpu), 0);
	*state = h;
	return 0;
}

int kh_teardown(void **state)
{
	struct kh *h = *state;

	engine_kvm_ops.vcpu_destroy(&h->vcpu);
	engine_kvm_ops.vm_destroy(&h->vm);
	assert_null(h->vm.engine_state);
	bus_destroy(&h->vm.mmio);
	bus_destroy(&h->vm.pio);
	gmem_destroy(&h->vm.mem);
	pthread_mutex_destroy(&h->vm.exit_lock);
	free(h);
	return 0;
}

static void real_seg(struct x86_segment *s, uint8_t type)
{
	*s = (struct x86_segment){ .base = 0, .limit = 0xffff, .selector = 0,
				   .type = type, .s = 1, .present = 1 };
}

static void flat_seg(struct x86_segment *s, uint16_t sel, uint8_t type)
{
	*s = (struct x86_segment){ .base = 0, .limit = 0xffffffff, .selector = sel,
				   .type = type, .s = 1, .present = 1, .db = 1, .g = 1 };
}

/* code at KH_CODE, entered with RSP = KH_STACK and only RFLAGS' fixed bit,
 * in real mode or (prot32) flat 32-bit protected mode; paging off. */
static void kh_load(struct kh *h, const uint8_t *code, size_t len, bool prot32)
{
	struct x86_sregs s;
	struct x86_regs r;

	assert_int_equal(gmem_write(&h->vm.mem, KH_CODE, code, len), 0);
	assert_int_equal(engine_kvm_ops.get_sregs(&h->vcpu, &s), 0);
	if (prot32) {
		for (int i = 0; i < SEG_COUNT; i++)
			flat_seg(&s.seg[i], 0x10, 3);
		flat_seg(&s.seg[SEG_CS], 0x08, 0xb);
		s.cr0 = (s.cr0 | X86_CR0_PE | X86_CR0_ET) & ~X86_CR0_PG;
	} else {
		for (int i = 0; i < SEG_COUNT; i++)
			real_seg(&s.seg[i], 3);
		real_seg(&s.seg[SEG_CS], 0xb);
		s.cr0 &= ~(X86_CR0_PE | X86_CR0_PG);
	}
	assert_int_equal(engine_kvm_ops.set_sregs(&h->vcpu, &s), 0);
	memset(&r, 0, sizeof(r));
	r.rip = KH_CODE;
	r.gpr[GPR_RSP] = KH_STACK;
	r.rflags = X86_RFLAGS_FIXED;
	assert_int_equal(engine_kvm_ops.set_regs(&h->vcpu, &r), 0);
}

void kh_load_real(struct kh *h, const uint8_t *code, size_t len)
{
	kh_load(h, code, len, false);
}

void kh_load_prot32(struct kh *h, const uint8_t *code, size_t len)
{
	kh_load(h, code, len, true);
}

enum vcpu_exit_reason kh_run(struct kh *h)
{
	int r = engine_kvm_ops.vcpu_run(&h->vcpu, &h->exit);

	if (r < 0)
		print_error("vcpu_run: %d (%s)\n", r, h->exit.error);
	assert_int_equal(r, 0);
	return h->exit.reason;
}

uint8_t *kh_expect_pio(struct kh *h, uint16_t port, uint8_t size, bool write)
{
	enum vcpu_exit_reason why = kh_run(h);

	if (why != VCPU_EXIT_PIO)
		print_error("expected PIO exit, got reason %d (%s)\n", why, h->exit.error);
	else if (h->exit.pio.port != port || h->exit.pio.size != size || h->exit.pio.write != write)
		print_error("expected PIO %s port 0x%x size %u, got %s port 0x%x size %u\n",
			    write ? "out" : "in", port, size, h->exit.pio.write ? "out" : "in",
			    h->exit.pio.port, h->exit.pio.size);
	assert_int_equal(why, VCPU_EXIT_PIO);
	assert_int_equal(h->exit.pio.port, port);
	assert_int_equal(h->exit.pio.size, size);
	assert_int_equal(h->exit.pio.write, write);
	assert_non_null(h->exit.pio.data);
	return h->exit.pio.data;
}

uint32_t kh_pio_value(const struct kh *h)
{
	uint32_t v = 0;

	memcpy(&v, h->exit.pio.data, h->exit.pio.size);
	return v;
}

double kh_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
