/* The machine's one MMIO policy (vcpu_mmio, src/cpu/vcpu_loop.c): claimed
 * accesses reach their device; unclaimed ones read all-ones, drop writes,
 * are counted and logged once per address (a bounded table), and stop the
 * VM only with --strict-mmio. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "ringvm/vm.h"

static uint64_t dev_last;

static uint64_t dev_read(void *opaque, uint64_t off, unsigned size)
{
	(void)opaque;
	(void)size;
	return 0x1000 + off;
}

static void dev_write(void *opaque, uint64_t off, unsigned size, uint64_t v)
{
	(void)opaque;
	(void)off;
	(void)size;
	dev_last = v;
}

static const struct bus_ops dev_ops = { dev_read, dev_write };

static int stub_get_regs(struct vcpu *v, struct x86_regs *r)
{
	(void)v;
	memset(r, 0, sizeof(*r));
	r->rip = 0x1234;
	return 0;
}

static const struct engine_ops stub_engine = { .name = "stub", .get_regs = stub_get_regs };

struct fx {
	struct vm vm;
	struct vcpu v;
};

static struct fx *fx_new(bool strict)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	assert_int_equal(bus_init(&f->vm.mmio, BUS_MMIO), 0);
	assert_int_equal(bus_register(&f->vm.mmio, 0xfe000000, 0x1000, &dev_ops, NULL, "dev"), 0);
	pthread_mutex_init(&f->vm.exit_lock, NULL);
	f->vm.loop.wake_fd = -1;
	f->vm.engine = &stub_engine;
	f->vm.cfg.strict_mmio = strict;
	f->v.vm = &f->vm;
	return f;
}

static void fx_free(struct fx *f)
{
	bus_destroy(&f->vm.mmio);
	pthread_mutex_destroy(&f->vm.exit_lock);
	free(f);
}

static unsigned logged(struct fx *f)
{
	unsigned n = 0;
	for (unsigned i = 0; i < VM_MMIO_LOG_SLOTS; i++)
		n += atomic_load(&f->vm.mmio_logged[i]) != 0;
	return n;
}

static void test_unclaimed_is_absent_hardware(void **state)
{
	(void)state;
	struct fx *f = fx_new(false);
	uint64_t v = 0;
	assert_int_equal(vcpu_mmio(&f->v, 0xfe000010, 4, false, &v), 0);
	assert_int_equal(v, 0x1010);
	v = 0x55;
	assert_int_equal(vcpu_mmio(&f->v, 0xfe000020, 4, true, &v), 0);
	assert_int_equal(dev_last, 0x55);

	v = 0;
	assert_int_equal(vcpu_mmio(&f->v, 0xfd000000, 4, false, &v), -1);
	assert_int_equal(v, UINT64_MAX);
	v = 0x77;
	assert_int_equal(vcpu_mmio(&f->v, 0xfd000000, 2, true, &v), -1);
	assert_int_equal(v, 0x77);                /* a write's value is left alone */
	assert_int_equal(f->v.stats.mmio_unclaimed_reads, 1);
	assert_int_equal(f->v.stats.mmio_unclaimed_writes, 1);
	assert_int_equal(f->v.stats.count[VCPU_EXIT_MMIO], 4);
	assert_int_equal(logged(f), 1);           /* one address, logged once */
	assert_false(vm_should_stop(&f->vm));

	/* a flood of addresses fills the bounded table and no more */
	for (uint64_t a = 0; a < 1000; a++)
		vcpu_mmio(&f->v, 0xfd100000 + 8 * a, 8, false, &v);
	assert_int_equal(logged(f), VM_MMIO_LOG_SLOTS);
	assert_true(atomic_load(&f->vm.mmio_log_full));
	assert_int_equal(f->v.stats.mmio_unclaimed_reads, 1001);
	assert_false(vm_should_stop(&f->vm));
	fx_free(f);
}

static void test_strict_stops(void **state)
{
	(void)state;
	struct fx *f = fx_new(true);
	uint64_t v = 0;
	assert_int_equal(vcpu_mmio(&f->v, 0xfe000010, 4, false, &v), 0);
	assert_false(vm_should_stop(&f->vm));
	assert_int_equal(vcpu_mmio(&f->v, 0xfd000000, 4, false, &v), -1);
	assert_int_equal(v, UINT64_MAX);
	assert_true(vm_should_stop(&f->vm));
	assert_int_equal(atomic_load(&f->vm.exit_status), RINGVM_EXIT_GUEST_FAULT);
	assert_non_null(strstr(f->vm.exit_reason, "0xfd000000"));
	assert_int_equal(f->v.stats.mmio_unclaimed_reads, 1);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unclaimed_is_absent_hardware),
		cmocka_unit_test(test_strict_stops),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
