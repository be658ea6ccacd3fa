/* MC146818 RTC against a fixed, injected clock. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "hw_test_vm.h"
#include "ringvm/device.h"
#include "src/hw/rtc.h"

#define NS 1000000000LL

struct fake_clock {
	int64_t ns;
};

static int64_t fake_now(void *opaque)
{
	return ((struct fake_clock *)opaque)->ns;
}

struct fixture {
	struct fake_clock clk;
	struct hw_test_irq irq;
	struct irq_router router;
	struct rtc *r;
	int64_t armed;      /* last time passed to the timer back end */
	unsigned arms;
};

static void rec_arm(void *opaque, int64_t when)
{
	struct fixture *f = opaque;
	f->armed = when;
	f->arms++;
}

/* 2024-02-29 13:45:07 UTC, a Thursday. */
#define T0 1709214307LL

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	f->clk.ns = T0 * NS + 250000000;  /* a quarter past the second */
	struct rtc_clock c = { fake_now, &f->clk };
	hw_test_irq_router(&f->router, &f->irq);
	f->r = rtc_new(&c, &f->router);
	assert_non_null(f->r);
	rtc_set_timer(f->r, rec_arm, f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	rtc_free(f->r);
	free(f);
	return 0;
}

static uint8_t reg(struct fixture *f, uint8_t idx)
{
	rtc_write(f->r, 0, idx);
	return rtc_read(f->r, 1);
}

static void set(struct fixture *f, uint8_t idx, uint8_t v)
{
	rtc_write(f->r, 0, idx);
	rtc_write(f->r, 1, v);
}

static void test_bcd_24h(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(reg(f, RTC_REG_B), RTC_B_24H);  /* BCD, 24 h default */
	assert_int_equal(reg(f, RTC_SECONDS), 0x07);
	assert_int_equal(reg(f, RTC_MINUTES), 0x45);
	assert_int_equal(reg(f, RTC_HOURS), 0x13);
	assert_int_equal(reg(f, RTC_DAY_OF_WEEK), 0x05); /* Sunday = 1 */
	assert_int_equal(reg(f, RTC_DAY_OF_MONTH), 0x29);
	assert_int_equal(reg(f, RTC_MONTH), 0x02);
	assert_int_equal(reg(f, RTC_YEAR), 0x24);
	assert_int_equal(reg(f, RTC_CENTURY), 0x20);
	/* Time moves with the clock. */
	f->clk.ns += 60 * NS;
	assert_int_equal(reg(f, RTC_MINUTES), 0x46);
}

static void test_binary_and_12h(void **state)
{
	struct fixture *f = *state;
	set(f, RTC_REG_B, RTC_B_DM | RTC_B_24H);
	assert_int_equal(reg(f, RTC_SECONDS), 7);
	assert_int_equal(reg(f, RTC_MINUTES), 45);
	assert_int_equal(reg(f, RTC_HOURS), 13);
	assert_int_equal(reg(f, RTC_DAY_OF_MONTH), 29);
	assert_int_equal(reg(f, RTC_MONTH), 2);
	assert_int_equal(reg(f, RTC_YEAR), 24);
	assert_int_equal(reg(f, RTC_CENTURY), 20);
	/* 12-hour binary: 1 PM. */
	set(f, RTC_REG_B, RTC_B_DM);
	assert_int_equal(reg(f, RTC_HOURS), RTC_HOUR_PM | 1);
	/* 12-hour BCD around midnight and noon. */
	set(f, RTC_REG_B, 0);
	f->clk.ns = (T0 - 13 * 3600 - 45 * 60) * NS;     /* 00:00:07 */
	assert_int_equal(reg(f, RTC_HOURS), 0x12);       /* 12 AM */
	f->clk.ns += 12 * 3600 * NS;                       /* 12:00:07 */
	assert_int_equal(reg(f, RTC_HOURS), RTC_HOUR_PM | 0x12);
	f->clk.ns += 11 * 3600 * NS;                       /* 23:00:07 */
	assert_int_equal(reg(f, RTC_HOURS), RTC_HOUR_PM | 0x11);
}

static void test_uip(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(reg(f, RTC_REG_A), 0x26);
	f->clk.ns = T0 * NS + NS - 100000;  /* 100 us before the tick */
	assert_true(reg(f, RTC_REG_A) & RTC_A_UIP);
	f->clk.ns = T0 * NS + NS - 300000;  /* 300 us before: not yet */
	assert_false(reg(f, RTC_REG_A) & RTC_A_UIP);
	/* UIP is read-only. */
	set(f, RTC_REG_A, 0xa6);
	assert_int_equal(reg(f, RTC_REG_A), 0x26);
	assert_int_equal(reg(f, RTC_REG_D), RTC_D_VRT);
}

static void test_set_time(void **state)
{
	struct fixture *f = *state;
	/* Linux's mc146818_set_time: SET, write BCD fields, clear SET. */
	set(f, RTC_REG_B, RTC_B_SET | RTC_B_24H);
	f->clk.ns += 5 * NS;
	assert_int_equal(reg(f, RTC_SECONDS), 0x07);  /* frozen */
	set(f, RTC_SECONDS, 0x00);
	set(f, RTC_MINUTES, 0x30);
	set(f, RTC_HOURS, 0x08);
	set(f, RTC_DAY_OF_MONTH, 0x01);
	set(f, RTC_MONTH, 0x01);
	set(f, RTC_YEAR, 0x30);
	set(f, RTC_CENTURY, 0x20);
	set(f, RTC_REG_B, RTC_B_24H);
	f->clk.ns += 10 * NS;
	assert_int_equal(reg(f, RTC_SECONDS), 0x10);
	assert_int_equal(reg(f, RTC_MINUTES), 0x30);
	assert_int_equal(reg(f, RTC_HOURS), 0x08);
	assert_int_equal(reg(f, RTC_DAY_OF_MONTH), 0x01);
	assert_int_equal(reg(f, RTC_MONTH), 0x01);
	assert_int_equal(reg(f, RTC_YEAR), 0x30);
	assert_int_equal(reg(f, RTC_DAY_OF_WEEK), 0x03);  /* 2030-01-01: Tuesday */
	/* Garbage from a hostile guest does not break anything. */
	set(f, RTC_REG_B, RTC_B_SET);
	set(f, RTC_MONTH, 0xff);
	set(f, RTC_CENTURY, 0xff);
	set(f, RTC_REG_B, RTC_B_24H);
	(void)reg(f, RTC_YEAR);
}

static void test_index_and_ram(void **state)
{
	struct fixture *f = *state;
	/* Bit 7 of the index is the NMI mask. */
	rtc_write(f->r, 0, 0x80 | RTC_MINUTES);
	assert_int_equal(rtc_read(f->r, 1), 0x45);
	assert_int_equal(rtc_read(f->r, 0), 0xff);
	for (unsigned i = 0x0e; i < RTC_CMOS_SIZE; i++) {
		if (i == RTC_CENTURY)
			continue;
		set(f, (uint8_t)i, (uint8_t)(i ^ 0x5a));
	}
	for (unsigned i = 0x0e; i < RTC_CMOS_SIZE; i++) {
		if (i == RTC_CENTURY)
			continue;
		assert_int_equal(reg(f, (uint8_t)i), (uint8_t)(i ^ 0x5a));
	}
	/* C and D are read-only; C reports a passed update once. */
	set(f, RTC_REG_D, 0);
	assert_int_equal(reg(f, RTC_REG_D), RTC_D_VRT);
	(void)reg(f, RTC_REG_C);
	assert_int_equal(reg(f, RTC_REG_C), 0);
	f->clk.ns += NS;
	assert_int_equal(reg(f, RTC_REG_C) & RTC_C_UF, RTC_C_UF);
	assert_int_equal(reg(f, RTC_REG_C), 0);
}

static void test_update_interrupt(void **state)
{
	struct fixture *f = *state;
	set(f, RTC_REG_A, 0x20);  /* periodic rate 0: PF stays clear */
	(void)reg(f, RTC_REG_C);
	assert_int_equal(f->armed, -1);               /* nothing enabled: no timer */
	set(f, RTC_REG_B, RTC_B_24H | RTC_B_UIE);
	assert_int_equal(f->armed, (T0 + 1) * NS);    /* next second boundary */
	assert_false(f->irq.level[IRQ_RTC]);
	f->clk.ns = (T0 + 1) * NS;                    /* the timer fires */
	rtc_poll(f->r);
	assert_true(f->irq.level[IRQ_RTC]);
	assert_int_equal(f->armed, -1);               /* no timer while IRQF is up */
	assert_int_equal(reg(f, RTC_REG_C), RTC_C_IRQF | RTC_C_UF);
	assert_false(f->irq.level[IRQ_RTC]);
	assert_int_equal(f->armed, (T0 + 2) * NS);
	assert_int_equal(reg(f, RTC_REG_C), 0);
	/* SET holds updates (and clears UIE). */
	set(f, RTC_REG_B, RTC_B_24H | RTC_B_SET | RTC_B_UIE);
	assert_int_equal(reg(f, RTC_REG_B) & RTC_B_UIE, 0);
	f->clk.ns += 3 * NS;
	rtc_poll(f->r);
	assert_int_equal(reg(f, RTC_REG_C), 0);
}

static void test_alarm_interrupt(void **state)
{
	struct fixture *f = *state;
	/* Alarm at hh:45:10 with "don't care" hours (BCD). */
	set(f, RTC_SECONDS_ALARM, 0x10);
	set(f, RTC_MINUTES_ALARM, 0x45);
	set(f, RTC_HOURS_ALARM, 0xc0);
	set(f, RTC_REG_A, 0x20);
	(void)reg(f, RTC_REG_C);
	set(f, RTC_REG_B, RTC_B_24H | RTC_B_AIE);
	f->clk.ns = (T0 + 2) * NS;                    /* 13:45:09 */
	rtc_poll(f->r);
	assert_false(f->irq.level[IRQ_RTC]);
	assert_int_equal(reg(f, RTC_REG_C), RTC_C_UF); /* UF without UIE: no IRQF */
	f->clk.ns = (T0 + 3) * NS + 5;                 /* 13:45:10 */
	rtc_poll(f->r);
	assert_true(f->irq.level[IRQ_RTC]);
	assert_int_equal(reg(f, RTC_REG_C), RTC_C_IRQF | RTC_C_AF | RTC_C_UF);
	assert_false(f->irq.level[IRQ_RTC]);
	/* A gap spanning the alarm second still reports it. */
	f->clk.ns = (T0 + 3600) * NS;                  /* 14:45:07, passed 14:45:10? no */
	rtc_poll(f->r);
	assert_false(f->irq.level[IRQ_RTC]);
	(void)reg(f, RTC_REG_C);
	f->clk.ns = (T0 + 3610) * NS;                  /* 14:45:17 */
	rtc_poll(f->r);
	assert_true(f->irq.level[IRQ_RTC]);
}

static void test_periodic_interrupt(void **state)
{
	struct fixture *f = *state;
	(void)reg(f, RTC_REG_C);
	set(f, RTC_REG_B, RTC_B_24H | RTC_B_PIE);      /* A = 0x26: 1024 Hz */
	int64_t period = 1000000000LL / 1024;
	assert_true(f->armed > f->clk.ns && f->armed <= f->clk.ns + period + 1);
	f->clk.ns = f->armed;
	rtc_poll(f->r);
	assert_true(f->irq.level[IRQ_RTC]);
	assert_int_equal(reg(f, RTC_REG_C), RTC_C_IRQF | RTC_C_PF);
	/* Rate select 0 turns it off; 15 is 2 Hz. */
	set(f, RTC_REG_A, 0x20);
	assert_int_equal(f->armed, -1);
	set(f, RTC_REG_A, 0x2f);
	assert_int_equal(f->armed, T0 * NS + NS / 2);  /* 0.5 s periods */
	/* PF is set at the rate even with PIE clear; IRQF only with PIE. */
	set(f, RTC_REG_B, RTC_B_24H);
	f->clk.ns = T0 * NS + NS / 2;
	rtc_poll(f->r);
	assert_false(f->irq.level[IRQ_RTC]);
	assert_int_equal(reg(f, RTC_REG_C), RTC_C_PF);
	set(f, RTC_REG_B, RTC_B_24H | RTC_B_PIE);
	/* Machine reset clears the enables. */
	rtc_reset(f->r);
	assert_int_equal(reg(f, RTC_REG_B) & (RTC_B_PIE | RTC_B_AIE | RTC_B_UIE), 0);
	assert_int_equal(f->armed, -1);
	assert_false(f->irq.level[IRQ_RTC]);
}

static void test_cmos_memory_size(void **state)
{
	(void)state;
	struct hw_test_vm t;
	hw_test_vm_init(&t, 6 * GiB);
	t.vm.cfg.cpus = 4;
	assert_int_equal(vm_devices_create(&t.vm), 0);
	uint8_t c[128];
	for (unsigned i = 0; i < 128; i++) {
		hw_out(&t, PORT_RTC, 1, i);
		c[i] = (uint8_t)hw_in(&t, PORT_RTC + 1, 1);
	}
	/* 3 GiB below the hole, 3 GiB above 4 GiB. */
	assert_int_equal(c[0x15] | c[0x16] << 8, 640);
	assert_int_equal(c[0x17] | c[0x18] << 8, 0xffff);
	assert_int_equal(c[0x30] | c[0x31] << 8, 0xffff);
	assert_int_equal(c[0x34] | c[0x35] << 8, (3 * GiB - 16 * MiB) / (64 * KiB));
	assert_int_equal(c[0x5b] | c[0x5c] << 8 | c[0x5d] << 16, 3 * GiB / (64 * KiB));
	assert_int_equal(c[0x5f], 3);
	unsigned sum = 0;
	for (unsigned i = 0x10; i <= 0x2d; i++)
		sum += c[i];
	assert_int_equal(c[0x2e] << 8 | c[0x2f], sum & 0xffff);
	/* A 16-bit OUT writes index then data; the time is the host's. */
	hw_out(&t, PORT_RTC, 2, 0x4000 | 0x40);
	assert_int_equal(hw_in(&t, PORT_RTC + 1, 1), 0x40);
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	hw_out(&t, PORT_RTC, 1, RTC_YEAR);
	uint8_t y = (uint8_t)hw_in(&t, PORT_RTC + 1, 1);
	assert_int_equal((y >> 4) * 10 + (y & 15), (tm.tm_year + 1900) % 100);
	hw_test_vm_fini(&t);

	/* Small machine: nothing above 16 MiB or 4 GiB. */
	hw_test_vm_init(&t, 8 * MiB);
	assert_int_equal(vm_devices_create(&t.vm), 0);
	hw_out(&t, PORT_RTC, 1, 0x34);
	assert_int_equal(hw_in(&t, PORT_RTC + 1, 1), 0);
	hw_out(&t, PORT_RTC, 1, 0x17);
	assert_int_equal(hw_in(&t, PORT_RTC + 1, 1), (7 * 1024) & 0xff);
	hw_out(&t, PORT_RTC, 1, 0x5c);
	assert_int_equal(hw_in(&t, PORT_RTC + 1, 1), 0);
	hw_test_vm_fini(&t);
}

/* The device's Firecracker "rtc" group (vm_device_ops.metrics): reads of
 * the write-only index port and writes to the read-only registers C and D
 * are missed accesses; others are not. */
static uint64_t rtc_metric(struct hw_test_vm *t, const char *name)
{
	return hw_test_metric(t, "rtc", "rtc", name);
}

static void test_metrics(void **state)
{
	(void)state;
	struct hw_test_vm t;
	hw_test_vm_init(&t, 64 * MiB);
	assert_int_equal(vm_devices_create(&t.vm), 0);
	hw_out(&t, PORT_RTC, 2, 0x4000 | 0x40);       /* index 0x40, then its data */
	hw_in(&t, PORT_RTC + 1, 1);
	hw_out(&t, PORT_RTC, 1, RTC_REG_B);
	hw_out(&t, PORT_RTC + 1, 1, RTC_B_24H);
	assert_int_equal(rtc_metric(&t, "missed_read_count"), 0);
	assert_int_equal(rtc_metric(&t, "missed_write_count"), 0);
	hw_in(&t, PORT_RTC, 2);                       /* the index port's byte */
	hw_out(&t, PORT_RTC, 1, RTC_REG_C);
	hw_out(&t, PORT_RTC + 1, 1, 0xff);
	hw_out(&t, PORT_RTC, 1, RTC_REG_D);
	hw_out(&t, PORT_RTC + 1, 1, 0);
	assert_int_equal(rtc_metric(&t, "missed_read_count"), 1);
	assert_int_equal(rtc_metric(&t, "missed_write_count"), 2);
	assert_int_equal(rtc_metric(&t, "error_count"), 0);
	hw_test_vm_fini(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bcd_24h, setup, teardown),
		cmocka_unit_test_setup_teardown(test_binary_and_12h, setup, teardown),
		cmocka_unit_test_setup_teardown(test_uip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_time, setup, teardown),
		cmocka_unit_test_setup_teardown(test_index_and_ram, setup, teardown),
		cmocka_unit_test_setup_teardown(test_update_interrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alarm_interrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_periodic_interrupt, setup, teardown),
		cmocka_unit_test(test_cmos_memory_size),
		cmocka_unit_test(test_metrics),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
