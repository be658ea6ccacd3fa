/* 8259A pair: init sequence, masks, EOI, priority, cascade, ELCR, spurious. */
#include "irq_test.h"

static uint8_t read_isr(struct fx *f, uint16_t port)
{
	outb(f, port, 0x0b);
	uint8_t v = inb(f, port);
	outb(f, port, 0x0a);
	return v;
}

static void test_init_and_deliver(void **state)
{
	(void)state;
	struct fx *f = fx_new(1);
	pic_init_linux(f, 0x01);
	assert_int_equal(inb(f, 0x21), 0x00);
	assert_int_equal(soft_irqchip_pending(f->c, 0, true), -1);
	board_irqchip_set_irq(f->b, 1, true);
	board_irqchip_set_irq(f->b, 1, false);
	/* virtual wire: LINT0 ExtINT at reset on the BSP */
	assert_true(soft_irqchip_attention(f->c, 0) & SOFT_ATTN_INTR);
	assert_int_equal(soft_irqchip_pending(f->c, 0, false), -1);
	assert_int_equal(soft_irqchip_pending(f->c, 0, true), 0x21);
	outb(f, 0x20, 0x0a);
	assert_int_equal(inb(f, 0x20), 0x02);              /* IRR */
	assert_int_equal(soft_irqchip_ack(f->c, 0, 0x21), 0x21);
	assert_int_equal(inb(f, 0x20), 0x00);              /* IRR consumed */
	assert_int_equal(read_isr(f, 0x20), 0x02);
	assert_int_equal(soft_irqchip_pending(f->c, 0, true), -1);
	outb(f, 0x20, 0x20);                                /* non-specific EOI */
	assert_int_equal(read_isr(f, 0x20), 0x00);
	assert_true(f->wakes[0] >= 1);
	fx_free(f);
}

static void test_mask(void **state)
{
	(void)state;
	struct fx *f = fx_new(1);
	pic_init_linux(f, 0x01);
	outb(f, 0x21, 0x08);                                /* mask IRQ3 */
	board_irqchip_set_irq(f->b, 3, true);
	assert_int_equal(soft_irqchip_pending(f->c, 0, true), -1);
	assert_int_equal(inb(f, 0x21), 0x08);
	outb(f, 0x21, 0x00);
	assert_int_equal(soft_irqchip_take(f->c, 0, true), 0x23);
	/* edge: the line is still high, no new request after EOI */
	outb(f, 0x20, 0x20);
	assert_int_equal(soft_irqchip_pending(f->c, 0, true), -1);
	board_irqchip_set_irq(f->b, 3, false);
	board_irqchip_set_irq(f->b, 3, true);
	assert_int_equal(soft_irqchip_take(f->c, 0, true), 0x23);
	fx_free(f);
}

static void test_priority(void **state)
{
	(void)state;
	struct fx *f = fx_new(1);
	pic_init_linux(f, 0x01);
	board_irqchip_set_irq(f->b, 4, true);
	board_irqchip_set_irq(f->b, 3, true);
	assert_int_equal(soft_irqchip_take(f->c, 0, true), 0x23);
	/* IRQ4 is lower priority than IRQ3 in service */
	assert_int_equal(soft_irqchip_pending(f->c, 0, true), -1);
	/* IRQ1 pre-empts */
	board_irqchip_set_irq(f->b, 1, true);
	assert_int_equal(soft_irqchip_take(f->c, 0, true), 0x21);
	assert_int_equal(read_isr(f, 0x20), 0x0a);
	outb(f, 0x20, 0x20);                                /* EOI IRQ1 */
	assert_int_equal(read_isr(f, 0x20), 0x08);
	assert_int_equal(soft_irqchip_pending(f->c, 0, true), -1);
	outb(f, 0x20, 0x63);                                /* specific EOI IRQ3 */
	assert_int_equal(soft_irqchip_take(f->c, 0, true), 0x24);
	outb(f, 0x20, 0x20);
	/* rotate: after "rotate on specific EOI" of IRQ4, IRQ5 is highest */
	board_irqchip_set_irq(f->b, 5, false);
	board_irqchip_set_irq(f->b, 1, false);
	board_irqchip_set_irq(f->b, 1, true);
	board_irqchip_set_irq(f->b, 5, true);
	outb(f, 0x20, 0xc4);                                /* set priority: IRQ4 lowest */
	assert_int_equal(soft_irqchip_take(f->c, 0, true), 0x25);
	outb(f, 0x20, 0x20);
	assert_int_equal(soft_irqchip_take(f->c, 0, true), 0x21);
	fx_free(f);
}

static void test_cascade(void **state)
{
	(void)state;
	struct fx *f = fx_new(1);
	pic_init_linux(f, 0x01);
	board_irqchip_set_irq(f->b, 10, true);
	assert_int_equal(soft_irqchip_pending(f->c, 0, true), 0x2a);
	assert_int_equal(soft_irqchip_take(f->c, 0, true), 0x2a);
	assert_int_equal(read_isr(f, 0x20), 0x04);
	assert_int_equal(read_isr(f, 0xa0), 0x04);
	/* a lower-priority slave IRQ waits; master IRQ1 (higher) does not */
	board_irqchip_set_irq(f->b, 12, true);
	assert_int_equal(soft_irqchip_pending(f->c, 0, true), -1);
	outb(f, 0xa0, 0x20);
	outb(f, 0x20, 0x20);
	assert_int_equal(soft_irqchip_take(f->c, 0, true), 0x2c);
	/* slave mask */
	outb(f, 0xa0, 0x20); outb(f, 0x20, 0x20);
	outb(f, 0xa1, 0x10);
	board_irqchip_set_irq(f->b, 12, false);
	board_irqchip_set_irq(f->b, 12, true);
	assert_int_equal(soft_irqchip_pending(f->c, 0, true), -1);
	outb(f, 0xa1, 0x00);
	assert_int_equal(soft_irqchip_take(f->c, 0, true), 0x2c);
	fx_free(f);
}

static void test_spurious(void **state)
{
	(void)state;
	struct fx *f = fx_new(1);
	pic_init_linux(f, 0x01);
	board_irqchip_set_irq(f->b, 5, true);
	int v = soft_irqchip_pending(f->c, 0, true);
	assert_int_equal(v, 0x25);
	outb(f, 0x21, 0x20);                                /* masked before INTA */
	assert_int_equal(soft_irqchip_ack(f->c, 0, v), 0x27); /* spurious IRQ7 */
	assert_int_equal(read_isr(f, 0x20), 0x00);         /* no ISR bit */
	outb(f, 0x21, 0x00);
	outb(f, 0x20, 0x20);
	assert_int_equal(soft_irqchip_take(f->c, 0, true), 0x25);
	outb(f, 0x20, 0x20);
	/* spurious IRQ15: master IRQ2 acknowledged, slave has nothing */
	board_irqchip_set_irq(f->b, 11, true);
	v = soft_irqchip_pending(f->c, 0, true);
	assert_int_equal(v, 0x2b);
	outb(f, 0xa1, 0x08);
	/* The slave's request vanished after the master latched IRQ2: the
	 * master acknowledges IRQ2, the slave answers with its IRQ7. */
	assert_int_equal(soft_irqchip_ack(f->c, 0, v), 0x2f);
	assert_int_equal(read_isr(f, 0x20), 0x04);
	assert_int_equal(read_isr(f, 0xa0), 0x00);
	outb(f, 0x20, 0x20);                                /* Linux: EOI master only */
	outb(f, 0xa1, 0x00);
	assert_int_equal(soft_irqchip_take(f->c, 0, true), 0x2b);
	assert_int_equal(read_isr(f, 0xa0), 0x08);
	outb(f, 0xa0, 0x20); outb(f, 0x20, 0x20);
	assert_int_equal(soft_irqchip_pending(f->c, 0, true), -1);
	fx_free(f);
}

static void test_level_elcr(void **state)
{
	(void)state;
	struct fx *f = fx_new(1);
	pic_init_linux(f, 0x01);
	outb(f, 0x4d1, 0xff);
	assert_int_equal(inb(f, 0x4d1), 0xde);             /* IRQ8, 13 stay edge */
	outb(f, 0x4d0, 0xff);
	assert_int_equal(inb(f, 0x4d0), 0xf8);
	board_irqchip_set_irq(f->b, 9, true);
	assert_int_equal(soft_irqchip_take(f->c, 0, true), 0x29);
	outb(f, 0xa0, 0x20); outb(f, 0x20, 0x20);
	/* still asserted: requested again */
	assert_int_equal(soft_irqchip_take(f->c, 0, true), 0x29);
	outb(f, 0xa0, 0x20); outb(f, 0x20, 0x20);
	board_irqchip_set_irq(f->b, 9, false);
	/* The slave re-raised INT after its EOI and the master latched IRQ2;
	 * the level source then went away: spurious IRQ15 (as on hardware). */
	assert_int_equal(soft_irqchip_take(f->c, 0, true), 0x2f);
	outb(f, 0x20, 0x20);
	assert_int_equal(soft_irqchip_pending(f->c, 0, true), -1);
	/* level request dropped before INTA: spurious */
	board_irqchip_set_irq(f->b, 4, true);
	board_irqchip_set_irq(f->b, 4, false);            /* IRQ4 level: gone */
	assert_int_equal(soft_irqchip_pending(f->c, 0, true), -1);
	fx_free(f);
}

static void test_auto_eoi_and_poll(void **state)
{
	(void)state;
	struct fx *f = fx_new(1);
	pic_init_linux(f, 0x03);                            /* AEOI */
	board_irqchip_set_irq(f->b, 6, true);
	assert_int_equal(soft_irqchip_take(f->c, 0, true), 0x26);
	assert_int_equal(read_isr(f, 0x20), 0x00);
	pic_init_linux(f, 0x01);
	board_irqchip_set_irq(f->b, 6, false);
	board_irqchip_set_irq(f->b, 6, true);
	outb(f, 0x20, 0x0c);                                /* poll */
	assert_int_equal(inb(f, 0x20), 0x86);
	assert_int_equal(read_isr(f, 0x20), 0x40);
	outb(f, 0x20, 0x0c);
	assert_int_equal(inb(f, 0x20), 0x00);               /* nothing */
	outb(f, 0x20, 0x20);
	/* ICW1 with masks: init resets IMR */
	outb(f, 0x21, 0xff);
	pic_init_linux(f, 0x01);
	assert_int_equal(inb(f, 0x21), 0x00);
	fx_free(f);
}

static void test_no_apic_intr_pin(void **state)
{
	(void)state;
	struct fx *f = fx_new(2);
	pic_init_linux(f, 0x01);
	/* LINT0 masked: the PIC no longer reaches the BSP through the LAPIC */
	apic_w(f, 0, 0x350, 0x10700);
	board_irqchip_set_irq(f->b, 1, true);
	assert_int_equal(soft_irqchip_pending(f->c, 0, true), -1);
	/* APIC globally disabled: INTR goes straight to the BSP */
	assert_int_equal(soft_irqchip_wrmsr(f->c, 0, MSR_IA32_APICBASE, 0xfee00100), 0);
	assert_int_equal(soft_irqchip_pending(f->c, 0, true), 0x21);
	assert_int_equal(soft_irqchip_pending(f->c, 1, true), -1);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_and_deliver),
		cmocka_unit_test(test_mask),
		cmocka_unit_test(test_priority),
		cmocka_unit_test(test_cascade),
		cmocka_unit_test(test_spurious),
		cmocka_unit_test(test_level_elcr),
		cmocka_unit_test(test_auto_eoi_and_poll),
		cmocka_unit_test(test_no_apic_intr_pin),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
