/* kvm engine: the probe (availability, CPL0 speed), VM re-creation on the
 * same guest memory (machine reset), and --stats output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvm_harness.h"

static void test_probe(void **state)
{
	(void)state;
	struct engine_probe p;

	memset(&p, 0xff, sizeof(p));
	double t0 = kh_now();
	engine_kvm_ops.probe(&p);
	double dt = kh_now() - t0;
	print_message("probe took %.1f ms: available=%d runs_kernels_well=%d mips=%.1f: %s\n",
		      dt * 1e3, p.available, p.runs_kernels_well, p.cpl0_mips, p.reason);
	assert_true(p.available);
	assert_true(p.cpl0_mips > 0);
	assert_non_null(strstr(p.reason, "MIPS"));
	assert_int_equal(p.runs_kernels_well, p.cpl0_mips >= 100.0);
	assert_true(dt < 1.0);
	assert_ptr_equal(engine_find("kvm"), &engine_kvm_ops);
}

static void run_out_guest(struct kh *h)
{
	static const uint8_t code[] = { 0xb0, 0x42, 0xe6, 0x80, 0xfa, 0xf4 };

	kh_load_real(h, code, sizeof(code));
	kh_expect_pio(h, 0x80, 1, true);
	assert_int_equal(kh_pio_value(h), 0x42);
}

/* Machine reset: vm_destroy + vm_init on the same vm and guest memory. */
static void test_vm_recreate(void **state)
{
	struct kh *h = *state;

	run_out_guest(h);
	engine_kvm_ops.vcpu_destroy(&h->vcpu);
	assert_null(h->vcpu.engine_state);
	engine_kvm_ops.vm_destroy(&h->vm);
	assert_null(h->vm.engine_state);
	assert_null(h->vm.irq.set_level);
	assert_int_equal(engine_kvm_ops.vm_init(&h->vm), 0);
	assert_int_equal(engine_kvm_ops.vcpu_init(&h->vcpu), 0);
	run_out_guest(h);
}

static void test_stats(void **state)
{
	struct kh *h = *state;
	char *buf = NULL;
	size_t len = 0;

	run_out_guest(h);
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	engine_kvm_ops.print_stats(&h->vm, f);
	fclose(f);
	print_message("%s", buf);
	assert_non_null(strstr(buf, "KVM_EXIT_IO"));
	free(buf);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_probe),
	cmocka_unit_test_setup_teardown(test_vm_recreate, kh_setup, kh_teardown),
	cmocka_unit_test_setup_teardown(test_stats, kh_setup, kh_teardown),
};

KH_MAIN(tests)
