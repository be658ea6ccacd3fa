/* The board's 8259 pair, 8254 and IOAPIC driven on their own, through the
 * src/hw interfaces alone: no soft engine, no chip lock, time passed in. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "src/hw/i8254.h"
#include "src/hw/i8259.h"
#include "src/hw/ioapic.h"

struct out_rec {
	unsigned changes;
	bool level;
};

static void rec_output(void *opaque, bool level)
{
	struct out_rec *r = opaque;
	r->changes++;
	r->level = level;
}

static struct i8259_pair *pair_new(struct out_rec *r)
{
	static struct i8259_pair pp;
	memset(&pp, 0, sizeof(pp));
	i8259_reset(&pp.chip[0], true);
	i8259_reset(&pp.chip[1], false);
	pp.output_changed = rec_output;
	pp.opaque = r;
	/* Linux's init: ICW1 edge+ICW4, ICW2 base, ICW3 cascade, ICW4 8086. */
	i8259_write(&pp, 0, 0, 0x11);
	i8259_write(&pp, 0, 1, 0x30);
	i8259_write(&pp, 0, 1, 0x04);
	i8259_write(&pp, 0, 1, 0x01);
	i8259_write(&pp, 1, 0, 0x11);
	i8259_write(&pp, 1, 1, 0x38);
	i8259_write(&pp, 1, 1, 0x02);
	i8259_write(&pp, 1, 1, 0x01);
	i8259_write(&pp, 0, 1, 0x00);
	i8259_write(&pp, 1, 1, 0x00);
	return &pp;
}

static void test_i8259_output_callback(void **state)
{
	(void)state;
	struct out_rec r = { 0 };
	struct i8259_pair *pp = pair_new(&r);
	assert_false(i8259_has_interrupt(pp));
	assert_int_equal(r.changes, 0);
	/* Slave IRQ 10 reaches the INT output through the cascade. */
	i8259_set_irq(pp, 10, true);
	assert_true(i8259_has_interrupt(pp));
	assert_int_equal(r.changes, 1);
	assert_true(r.level);
	assert_int_equal(i8259_peek_vector(pp), 0x3a);
	assert_int_equal(i8259_intack(pp), 0x3a);
	/* Acknowledged and in service: INT drops. */
	assert_false(i8259_has_interrupt(pp));
	assert_int_equal(r.changes, 2);
	assert_false(r.level);
	i8259_set_irq(pp, 10, false);
	/* EOI to both: nothing left in service. */
	i8259_write(pp, 1, 0, 0x20);
	i8259_write(pp, 0, 0, 0x20);
	i8259_write(pp, 0, 0, 0x0b);
	assert_int_equal(i8259_read(pp, 0, 0), 0);
	/* A masked input leaves the output low. */
	i8259_write(pp, 0, 1, 0x02);
	i8259_set_irq(pp, 1, true);
	assert_false(i8259_has_interrupt(pp));
	assert_int_equal(r.changes, 2);
	/* Out-of-range inputs are ignored. */
	i8259_set_irq(pp, 16, true);
	i8259_set_irq(pp, 0xffffffffu, true);
	assert_false(i8259_has_interrupt(pp));
}

struct msg_rec {
	unsigned n, extint;
	struct ioapic_msg last;
};

static void rec_msg(void *opaque, const struct ioapic_msg *m)
{
	struct msg_rec *r = opaque;
	r->n++;
	r->last = *m;
}

static void rec_extint(void *opaque)
{
	((struct msg_rec *)opaque)->extint++;
}

static void ioapic_wr(struct ioapic *io, uint32_t reg, uint32_t v)
{
	ioapic_mmio_write(io, 0x00, reg);
	ioapic_mmio_write(io, 0x10, v);
}

static void test_ioapic_messages(void **state)
{
	(void)state;
	struct msg_rec r = { 0 };
	struct ioapic io = { .deliver = rec_msg, .extint_changed = rec_extint, .opaque = &r };
	ioapic_reset(&io);
	ioapic_mmio_write(&io, 0x00, 0x01);
	assert_int_equal(ioapic_mmio_read(&io, 0x10), (uint32_t)(IOAPIC_PINS - 1) << 16 | IOAPIC_VERSION);
	/* Masked at reset: an edge is lost. */
	ioapic_set_irq(&io, 5, true);
	ioapic_set_irq(&io, 5, false);
	assert_int_equal(r.n, 0);
	/* Pin 9: level, vector 0x49, logical destination 0x03. */
	ioapic_wr(&io, 0x10 + 9 * 2 + 1, 0x03000000);
	ioapic_wr(&io, 0x10 + 9 * 2, 0x8849);
	ioapic_set_irq(&io, 9, true);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.last.vector, 0x49);
	assert_true(r.last.level);
	assert_true(r.last.logical);
	assert_int_equal(r.last.dest, 3);
	assert_int_equal(r.last.mode, IOAPIC_DM_FIXED);
	/* Remote IRR holds the asserted line until the EOI, then it redelivers. */
	ioapic_set_irq(&io, 9, true);
	assert_int_equal(r.n, 1);
	ioapic_eoi(&io, 0x49);
	assert_int_equal(r.n, 2);
	ioapic_set_irq(&io, 9, false);
	ioapic_mmio_write(&io, 0x40, 0x49);             /* the EOI register */
	assert_int_equal(r.n, 2);
	/* Pin 0 in ExtINT mode: the owner is told, the route is readable. */
	struct ioapic_msg m;
	assert_false(ioapic_extint_route(&io, &m));
	unsigned before = r.extint;
	ioapic_wr(&io, 0x10, 0x700);
	assert_true(r.extint > before);
	assert_true(ioapic_extint_route(&io, &m));
	assert_int_equal(m.mode, IOAPIC_DM_EXTINT);
	/* Hostile register numbers and pins are ignored. */
	ioapic_wr(&io, 0x10 + 2 * IOAPIC_PINS, 0xffffffff);
	ioapic_mmio_write(&io, 0x00, 0xffffffff);
	assert_int_equal(ioapic_mmio_read(&io, 0x10), 0);
	ioapic_set_irq(&io, IOAPIC_PINS, true);
	ioapic_set_irq(&io, 0xffffffffu, true);
	/* Reset keeps the wiring and the input lines. */
	ioapic_set_irq(&io, 3, true);
	ioapic_reset(&io);
	assert_ptr_equal(io.opaque, &r);
	assert_int_equal(io.lines & (1u << 3), 1u << 3);
	ioapic_mmio_write(&io, 0x00, 0x10);
	assert_int_equal(ioapic_mmio_read(&io, 0x10), 0x10000);
}

static void test_i8254_poll_with_given_time(void **state)
{
	(void)state;
	struct i8254 p;
	i8254_reset(&p);
	assert_int_equal(i8254_next_deadline(&p), I8254_NO_DEADLINE);
	assert_false(i8254_poll(&p, 0));
	uint64_t t0 = 1000000000ULL;
	/* Channel 0, LSB then MSB, mode 2 (rate generator), count 1193: 1 kHz. */
	i8254_write(&p, 3, 0x34, t0);
	i8254_write(&p, 0, 1193 & 0xff, t0);
	i8254_write(&p, 0, 1193 >> 8, t0);
	uint64_t d = i8254_next_deadline(&p);
	assert_true(d > t0 && d <= t0 + 1000000ULL);
	assert_false(i8254_poll(&p, d - 1));
	assert_true(i8254_poll(&p, d));
	assert_false(i8254_poll(&p, d));                /* one pulse per edge */
	/* Many periods later: still a single pulse. */
	assert_true(i8254_poll(&p, d + 50000000ULL));
	assert_false(i8254_poll(&p, d + 50000000ULL));
	assert_true(i8254_next_deadline(&p) > d + 50000000ULL);
	/* Port 0x61: the gate bit is stored, channel 2 OUT follows the time. */
	i8254_port61_write(&p, 0x01, t0);
	assert_int_equal(i8254_port61_read(&p, t0) & 0x0f, 0x01);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_i8259_output_callback),
		cmocka_unit_test(test_ioapic_messages),
		cmocka_unit_test(test_i8254_poll_with_given_time),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
