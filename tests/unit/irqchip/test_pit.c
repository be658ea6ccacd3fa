/* 8254: channel 2 gate/output as Linux's calibration loops see it, channel 0
 * periodic IRQ0, latch and read-back commands, access modes. */
#include "irq_test.h"

#define PIT_HZ 1193182ULL

static uint64_t ticks_to_ns_up(uint64_t t)
{
	return (t * 1000000000ULL + PIT_HZ - 1) / PIT_HZ;
}

/* arch/x86/kernel/tsc.c pit_calibrate_tsc(): mode 0 on channel 2, gate high
 * through port 0x61, spin until OUT (bit 5) goes high. */
static void test_linux_pit_calibrate_tsc(void **state)
{
	(void)state;
	struct fx *f = fx_new(1);
	const uint32_t latch = PIT_HZ / (1000 / 10);   /* CAL_MS = 10 */
	outb(f, 0x61, (uint8_t)((inb(f, 0x61) & ~0x02) | 0x01));
	outb(f, 0x43, 0xb0);
	assert_int_equal(inb(f, 0x61) & 0x20, 0);      /* mode 0: OUT low */
	outb(f, 0x42, latch & 0xff);
	assert_int_equal(inb(f, 0x61) & 0x20, 0);
	outb(f, 0x42, latch >> 8);
	uint64_t start = f->now, loops = 0;
	while ((inb(f, 0x61) & 0x20) == 0) {
		f->now += 1000;                          /* 1 us per iteration */
		loops++;
		assert_true(loops < 100000);
	}
	uint64_t expect = ticks_to_ns_up(latch);
	assert_true(f->now - start >= expect);
	assert_true(f->now - start < expect + 1000);
	assert_true(loops >= 1000);                     /* CAL_PIT_LOOPS */
	/* OUT stays high */
	f->now += 5000000;
	assert_int_equal(inb(f, 0x61) & 0x21, 0x21);
	fx_free(f);
}

/* Gate low suspends a mode 0 count; the time spent low is not counted. */
static void test_mode0_gate_pause(void **state)
{
	(void)state;
	struct fx *f = fx_new(1);
	outb(f, 0x61, 0x01);
	outb(f, 0x43, 0xb0);
	outb(f, 0x42, 0xe8); outb(f, 0x42, 0x03);      /* 1000 ticks */
	f->now += ticks_to_ns_up(400);
	outb(f, 0x61, 0x00);                            /* gate low */
	f->now += 10000000;
	assert_int_equal(inb(f, 0x61) & 0x20, 0);
	outb(f, 0x43, 0x80);                            /* latch ch2 */
	uint16_t v = inb(f, 0x42);
	v |= (uint16_t)inb(f, 0x42) << 8;
	assert_int_equal(v, 600);
	outb(f, 0x61, 0x01);
	f->now += ticks_to_ns_up(599);
	assert_int_equal(inb(f, 0x61) & 0x20, 0);
	f->now += ticks_to_ns_up(1) + 1;
	assert_int_equal(inb(f, 0x61) & 0x20, 0x20);
	/* a new control word makes OUT low again, counting stops */
	outb(f, 0x43, 0xb0);
	assert_int_equal(inb(f, 0x61) & 0x20, 0);
	fx_free(f);
}

/* quick_pit_calibrate(): mode 0 from 0xffff, unlatched LSB/MSB reads, the
 * MSB must step down by one every 256 ticks and be seen several times. */
static void test_linux_quick_pit_calibrate(void **state)
{
	(void)state;
	struct fx *f = fx_new(1);
	outb(f, 0x61, (uint8_t)((inb(f, 0x61) & ~0x02) | 0x01));
	outb(f, 0x43, 0xb0);
	outb(f, 0x42, 0xff);
	outb(f, 0x42, 0xff);
	uint64_t t0 = f->now;
	/* pit_verify_msb(0): one LSB+MSB pair */
	(void)inb(f, 0x42); (void)inb(f, 0x42);
	unsigned expect = 0xff, seen = 0, steps = 0;
	uint64_t change_at = 0;
	for (int i = 0; i < 200000 && steps < 200; i++) {
		f->now += 700;                               /* ~0.7 us per inb */
		(void)inb(f, 0x42);
		f->now += 700;
		uint8_t msb = inb(f, 0x42);
		if (msb == expect) {
			seen++;
			continue;
		}
		assert_int_equal(msb, (expect - 1) & 0xff);
		assert_true(seen > 5);                        /* pit_expect_msb */
		/* the MSB changes once 256*(0x100-expect) ticks have elapsed */
		uint64_t ticks = (uint64_t)(0x100 - expect) * 256;
		uint64_t el = f->now - t0;
		assert_true(el >= ticks_to_ns_up(ticks));
		assert_true(el < ticks_to_ns_up(ticks) + 1500);
		change_at = el;
		expect = msb;
		seen = 1;
		steps++;
	}
	assert_int_equal(steps, 200);
	assert_true(change_at > 0);
	fx_free(f);
}

static void test_ch0_mode2_irq0_rate(void **state)
{
	(void)state;
	struct fx *f = fx_new(1);
	pic_init_linux(f, 0x01);
	outb(f, 0x21, 0xfe);                            /* only IRQ0 */
	const uint32_t latch = (PIT_HZ + 500) / 1000;  /* HZ=1000: 1193 */
	outb(f, 0x43, 0x34);
	outb(f, 0x40, latch & 0xff);
	outb(f, 0x40, latch >> 8);
	uint64_t start = f->now, first = 0, last = 0;
	unsigned irqs = 0;
	uint64_t dl = soft_irqchip_next_deadline_ns(f->c, 0);
	assert_int_equal(dl, start + ticks_to_ns_up(latch));
	while (f->now < start + 100000000ULL) {         /* 100 ms */
		f->now += 10000;
		if (soft_irqchip_poll_due(f->c, f->now))
			soft_irqchip_poll(f->c, f->now);
		int v = soft_irqchip_take(f->c, 0, true);
		if (v >= 0) {
			assert_int_equal(v, 0x20);
			if (!first)
				first = f->now;
			last = f->now;
			irqs++;
			outb(f, 0x20, 0x20);
		}
	}
	/* 100 ms / (1193 / 1193182 s) = 100.0 edges */
	assert_true(irqs == 99 || irqs == 100);
	assert_true(first - start >= ticks_to_ns_up(latch));
	assert_true(last - first <= ticks_to_ns_up((uint64_t)latch * (irqs - 1)) + 10000);
	/* counter reads count down from latch within the period */
	outb(f, 0x43, 0x00);                            /* latch ch0 */
	uint16_t v = inb(f, 0x40);
	v |= (uint16_t)inb(f, 0x40) << 8;
	assert_true(v >= 1 && v <= latch);
	fx_free(f);
}

/* The same edges reach IOAPIC pin 2 (ISA IRQ0 override). */
static void test_ch0_ioapic_pin2(void **state)
{
	(void)state;
	struct fx *f = fx_new(1);
	pic_init_linux(f, 0x01);
	outb(f, 0x21, 0xff);
	apic_w(f, 0, 0xf0, 0x1ff);
	ioapic_w(f, 0x10 + 2 * 2, 0x30);                /* pin 2: vector 0x30, edge, cpu 0 */
	ioapic_w(f, 0x10 + 2 * 2 + 1, 0);
	/* mode 4 one-shot (Linux's oneshot PIT clockevent) */
	outb(f, 0x43, 0x38);
	outb(f, 0x40, 100); outb(f, 0x40, 0);
	f->now += ticks_to_ns_up(100);
	soft_irqchip_poll(f->c, f->now);
	assert_int_equal(soft_irqchip_pending(f->c, 0, true), -1); /* strobe rises 1 tick later */
	f->now += ticks_to_ns_up(1) + 1;
	soft_irqchip_poll(f->c, f->now);
	assert_int_equal(soft_irqchip_take(f->c, 0, true), 0x30);
	apic_w(f, 0, 0xb0, 0);
	f->now += 100000000;
	soft_irqchip_poll(f->c, f->now);
	assert_int_equal(soft_irqchip_pending(f->c, 0, true), -1); /* one shot only */
	assert_int_equal(soft_irqchip_next_deadline_ns(f->c, 0), SOFT_NO_DEADLINE);
	fx_free(f);
}

static void test_latch_readback_access(void **state)
{
	(void)state;
	struct fx *f = fx_new(1);
	outb(f, 0x43, 0x34);
	outb(f, 0x40, 0x00); outb(f, 0x40, 0x10);      /* 4096 */
	f->now += ticks_to_ns_up(96);
	outb(f, 0x43, 0x00);                            /* counter latch */
	f->now += ticks_to_ns_up(1000);
	outb(f, 0x43, 0x00);                            /* second latch ignored */
	assert_int_equal(inb(f, 0x40), 0xa0);          /* 4096 - 96 = 0x0fa0 */
	assert_int_equal(inb(f, 0x40), 0x0f);
	/* unlatched: live LSB then MSB */
	uint16_t v = inb(f, 0x40);
	v |= (uint16_t)inb(f, 0x40) << 8;
	assert_int_equal(v, 4096 - 1096);
	fx_free(f);
}

static void test_readback(void **state)
{
	(void)state;
	struct fx *f = fx_new(1);
	outb(f, 0x43, 0x34);
	outb(f, 0x40, 0xa0); outb(f, 0x40, 0x0f);      /* 4000 */
	f->now += ticks_to_ns_up(1000);
	/* read-back: latch status and count of channel 0 */
	outb(f, 0x43, 0xc2);
	f->now += ticks_to_ns_up(500);
	assert_int_equal(inb(f, 0x40), 0x80 | 0x30 | (2 << 1)); /* OUT high, LSB/MSB, mode 2 */
	uint16_t v = inb(f, 0x40);
	v |= (uint16_t)inb(f, 0x40) << 8;
	assert_int_equal(v, 3000);
	/* status only; null count set right after a control word */
	outb(f, 0x43, 0x10 | (0 << 1));                 /* ch0 LSB only, mode 0 */
	outb(f, 0x43, 0xe2);
	assert_int_equal(inb(f, 0x40), 0x40 | 0x10);    /* OUT low, null count */
	outb(f, 0x40, 50);                              /* LSB only: count 50 */
	f->now += ticks_to_ns_up(10);
	assert_int_equal(inb(f, 0x40), 40);
	assert_int_equal(inb(f, 0x40), 40);            /* LSB mode: no flip-flop */
	/* MSB only */
	outb(f, 0x43, 0x20 | (0 << 1));
	outb(f, 0x40, 0x02);                            /* 0x200 */
	f->now += ticks_to_ns_up(0x100);
	assert_int_equal(inb(f, 0x40), 0x01);
	/* BCD mode 0: 100 in BCD = 0x0100 */
	outb(f, 0x43, 0x31);
	outb(f, 0x40, 0x00); outb(f, 0x40, 0x01);
	f->now += ticks_to_ns_up(1);
	assert_int_equal(inb(f, 0x40), 0x99);
	assert_int_equal(inb(f, 0x40), 0x00);
	fx_free(f);
}

static void test_ch2_square_wave(void **state)
{
	(void)state;
	struct fx *f = fx_new(1);
	outb(f, 0x61, 0x03);
	outb(f, 0x43, 0xb6);                            /* ch2, LSB/MSB, mode 3 */
	outb(f, 0x42, 100); outb(f, 0x42, 0);
	assert_int_equal(inb(f, 0x61) & 0x20, 0x20);
	f->now += ticks_to_ns_up(49);
	assert_int_equal(inb(f, 0x61) & 0x20, 0x20);
	f->now = f->now - ticks_to_ns_up(49) + ticks_to_ns_up(50);
	assert_int_equal(inb(f, 0x61) & 0x20, 0x00);
	f->now += ticks_to_ns_up(50);
	assert_int_equal(inb(f, 0x61) & 0x20, 0x20);
	/* gate low forces OUT high; rising edge reloads */
	f->now += ticks_to_ns_up(60);
	assert_int_equal(inb(f, 0x61) & 0x20, 0x00);
	outb(f, 0x61, 0x02);
	assert_int_equal(inb(f, 0x61) & 0x21, 0x20);
	outb(f, 0x61, 0x03);
	f->now += ticks_to_ns_up(49);
	assert_int_equal(inb(f, 0x61) & 0x20, 0x20);
	/* mode 2 on ch2: OUT low for the one tick the counter is 1 */
	outb(f, 0x43, 0xb4);
	outb(f, 0x42, 10); outb(f, 0x42, 0);
	uint64_t t = f->now;
	f->now = t + ticks_to_ns_up(8);
	assert_int_equal(inb(f, 0x61) & 0x20, 0x20);
	f->now = t + ticks_to_ns_up(9);
	assert_int_equal(inb(f, 0x61) & 0x20, 0x00);
	f->now = t + ticks_to_ns_up(10);
	assert_int_equal(inb(f, 0x61) & 0x20, 0x20);
	/* mode 1: gate-triggered one-shot */
	outb(f, 0x61, 0x00);
	outb(f, 0x43, 0xb2);
	outb(f, 0x42, 20); outb(f, 0x42, 0);
	assert_int_equal(inb(f, 0x61) & 0x20, 0x20);
	outb(f, 0x61, 0x01);
	assert_int_equal(inb(f, 0x61) & 0x20, 0x00);
	f->now += ticks_to_ns_up(20);
	assert_int_equal(inb(f, 0x61) & 0x20, 0x20);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_linux_pit_calibrate_tsc),
		cmocka_unit_test(test_mode0_gate_pause),
		cmocka_unit_test(test_linux_quick_pit_calibrate),
		cmocka_unit_test(test_ch0_mode2_irq0_rate),
		cmocka_unit_test(test_ch0_ioapic_pin2),
		cmocka_unit_test(test_latch_readback_access),
		cmocka_unit_test(test_readback),
		cmocka_unit_test(test_ch2_square_wave),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
