/* ACPI PM: S5 power-off, reset register, status/enable/SCI, PM timer. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "hw_test_vm.h"
#include "ringvm/device.h"
#include "src/hw/acpi_pm.h"

static int setup(void **state)
{
	struct hw_test_vm *t = hw_test_vm_new(256 * MiB);
	assert_int_equal(vm_devices_create(&t->vm), 0);
	*state = t;
	return 0;
}

static void test_s5_poweroff(void **state)
{
	struct hw_test_vm *t = *state;
	uint16_t cnt = (uint16_t)hw_in(t, PORT_ACPI_PM1_CNT, 2);
	assert_int_equal(cnt & ACPI_PM1_SCI_EN, ACPI_PM1_SCI_EN);  /* ACPI mode */
	/* SLP_TYP alone does nothing; other sleep types wake at once. */
	hw_out(t, PORT_ACPI_PM1_CNT, 2, ACPI_SLP_TYP_S5 << ACPI_PM1_SLP_TYP_SHIFT);
	assert_int_equal(atomic_load(&t->vm.state), VM_RUNNING);
	assert_int_equal(hw_in(t, PORT_ACPI_PM1_CNT, 2) & ACPI_PM1_SLP_TYP,
			 ACPI_SLP_TYP_S5 << ACPI_PM1_SLP_TYP_SHIFT);
	hw_out(t, PORT_ACPI_PM1_CNT, 2, (3 << ACPI_PM1_SLP_TYP_SHIFT) | ACPI_PM1_SLP_EN);
	assert_int_equal(atomic_load(&t->vm.state), VM_RUNNING);
	assert_true(hw_in(t, PORT_ACPI_PM1_EVT, 2) & ACPI_PM1_WAK_STS);
	assert_false(hw_in(t, PORT_ACPI_PM1_CNT, 2) & ACPI_PM1_SLP_EN);  /* write-only */
	/* What Linux's acpi_hw_legacy_sleep() writes for S5, byte-wise too. */
	hw_out(t, PORT_ACPI_PM1_CNT + 1, 1,
	       ((ACPI_SLP_TYP_S5 << ACPI_PM1_SLP_TYP_SHIFT) | ACPI_PM1_SLP_EN) >> 8);
	assert_int_equal(atomic_load(&t->vm.state), VM_STOPPING);
	assert_int_equal(atomic_load(&t->vm.exit_status), RINGVM_EXIT_OK);
	assert_non_null(strstr(t->vm.exit_reason, "powered off"));
}

static void test_reset_register(void **state)
{
	struct hw_test_vm *t = *state;
	hw_out(t, PORT_ACPI_RESET, 1, 0x02);  /* SYS_RST alone: no reset */
	assert_false(atomic_load(&t->vm.reset_pending));
	assert_int_equal(hw_in(t, PORT_ACPI_RESET, 1), 0x02);
	hw_out(t, PORT_ACPI_RESET, 1, ACPI_RESET_VALUE);
	assert_true(atomic_load(&t->vm.reset_pending));
	assert_int_equal(atomic_load(&t->vm.state), VM_RUNNING);
}

static void test_status_enable_sci(void **state)
{
	(void)state;
	struct hw_test_vm t;
	hw_test_vm_init(&t, 64 * MiB);
	struct acpi_pm *pm = acpi_pm_new(&t.vm, &t.vm.irq, NULL);
	assert_non_null(pm);
	acpi_pm_power_button(pm);
	assert_int_equal(acpi_pm_read(pm, 0, 2), ACPI_PM1_PWRBTN_STS);
	assert_false(t.irq.level[ACPI_SCI_IRQ]);
	acpi_pm_write(pm, 2, 2, 0xffff);                  /* enable all */
	assert_int_equal(acpi_pm_read(pm, 2, 2),
			 ACPI_PM1_TMR_EN | ACPI_PM1_GBL_EN | ACPI_PM1_PWRBTN_EN |
			 ACPI_PM1_SLPBTN_EN | ACPI_PM1_RTC_EN);
	assert_true(t.irq.level[ACPI_SCI_IRQ]);
	acpi_pm_write(pm, 0, 2, ACPI_PM1_TMR_STS);         /* other bit: no effect */
	assert_true(t.irq.level[ACPI_SCI_IRQ]);
	acpi_pm_write(pm, 0, 4, ACPI_PM1_PWRBTN_STS | (uint32_t)0xffff << 16); /* W1C + EN */
	assert_int_equal(acpi_pm_read(pm, 0, 2), 0);
	assert_false(t.irq.level[ACPI_SCI_IRQ]);
	acpi_pm_reset(pm);
	assert_int_equal(acpi_pm_read(pm, 0, 4), 0);
	acpi_pm_free(pm);
	hw_test_vm_fini(&t);
}

struct fake_clock {
	int64_t ns;
};

static int64_t fake_now(void *opaque)
{
	return ((struct fake_clock *)opaque)->ns;
}

static void test_pm_timer_values(void **state)
{
	(void)state;
	struct fake_clock clk = { 5000 };
	struct acpi_pm_clock c = { fake_now, &clk };
	struct acpi_pm *pm = acpi_pm_new(NULL, NULL, &c);
	assert_int_equal(acpi_pm_timer(pm), 0);
	clk.ns += 1000000000;                               /* one second */
	assert_int_equal(acpi_pm_timer(pm), 3579545);
	assert_int_equal(acpi_pm_read(pm, 8, 4), 3579545);
	assert_int_equal(acpi_pm_read(pm, 8, 2), 3579545 & 0xffff);
	assert_int_equal(acpi_pm_read(pm, 10, 1), (3579545 >> 16) & 0xff);
	/* 32 bits wrap after 2^32 ticks (~1199.57 s); no overflow in the
	 * arithmetic even after years of uptime. */
	clk.ns = 5000 + (int64_t)((4294967296.0 / 3579545.0) * 1e9) + 1000;
	assert_true(acpi_pm_timer(pm) < 10);
	clk.ns = 5000 + 10LL * 365 * 86400 * 1000000000LL;
	unsigned __int128 ticks = (unsigned __int128)(10ULL * 365 * 86400 * 1000000000ULL) *
				  3579545 / 1000000000;
	assert_int_equal(acpi_pm_timer(pm), (uint32_t)ticks);
	/* Guest writes to the timer are ignored. */
	acpi_pm_write(pm, 8, 4, 0);
	assert_int_equal(acpi_pm_timer(pm), (uint32_t)ticks);
	acpi_pm_free(pm);
}

static void test_pm_timer_monotonic(void **state)
{
	struct hw_test_vm *t = *state;
	uint32_t prev = (uint32_t)hw_in(t, PORT_ACPI_PM_TMR, 4);
	uint64_t advanced = 0;
	for (unsigned i = 0; i < 100000; i++) {
		uint32_t now = (uint32_t)hw_in(t, PORT_ACPI_PM_TMR, 4);
		uint32_t d = now - prev;              /* modulo 2^32 */
		assert_true(d < 0x80000000u);         /* never goes backwards */
		advanced += d;
		prev = now;
	}
	struct timespec ts = { 0, 2000000 };
	nanosleep(&ts, NULL);
	uint32_t later = (uint32_t)hw_in(t, PORT_ACPI_PM_TMR, 4);
	assert_true(later - prev >= 7000);           /* 2 ms = 7159 ticks */
	assert_true(advanced > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_s5_poweroff, setup, hw_test_vm_teardown),
		cmocka_unit_test_setup_teardown(test_reset_register, setup, hw_test_vm_teardown),
		cmocka_unit_test(test_status_enable_sci),
		cmocka_unit_test(test_pm_timer_values),
		cmocka_unit_test_setup_teardown(test_pm_timer_monotonic, setup, hw_test_vm_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
