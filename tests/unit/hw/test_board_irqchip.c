/* The board irqchip's wiring (src/hw/board_irqchip.c), with a recording
 * lapic_sink in place of an engine's local APICs: device lines reach the
 * 8259 input and the IOAPIC pin of layout.h's map, IOAPIC redirections and
 * MSIs reach the sink with the entry's fields, the EOI broadcast clears
 * remote IRR, the PIC's INT reaches the sink as ExtINT, the PIT fires from
 * the board's poll on the board's clock, and snapshots round-trip. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "hw_test_vm.h"
#include "src/hw/board_irqchip.h"

#define MAX_MSGS 64

struct rec_sink {
	struct lapic_sink sink;
	unsigned nr;
	struct ioapic_msg msg[MAX_MSGS];
	unsigned extint_calls;
	bool intr;
	bool routed;
	struct ioapic_msg route;
};

static void rec_deliver(void *opaque, const struct ioapic_msg *m)
{
	struct rec_sink *r = opaque;
	if (r->nr < MAX_MSGS)
		r->msg[r->nr] = *m;
	r->nr++;
}

static void rec_extint(void *opaque, bool intr, const struct ioapic_msg *route)
{
	struct rec_sink *r = opaque;
	r->extint_calls++;
	r->intr = intr;
	r->routed = route != NULL;
	if (route)
		r->route = *route;
}

struct fx {
	struct hw_test_vm t;
	struct board_irqchip *b;
	struct rec_sink rec;
	uint64_t now;
};

static uint64_t fx_clock(void *opaque)
{
	return ((struct fx *)opaque)->now;
}

static struct fx *fx_new(void)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	hw_test_vm_init(&f->t, 64 << 20);
	f->now = 1000000000ULL;
	struct board_irqchip_config cfg = { .clock = fx_clock, .clock_opaque = f };
	f->b = board_irqchip_create(&f->t.vm, &cfg);
	assert_non_null(f->b);
	f->rec.sink = (struct lapic_sink){ rec_deliver, rec_extint, &f->rec };
	board_irqchip_connect(f->b, &f->rec.sink);
	return f;
}

static void fx_free(struct fx *f)
{
	board_irqchip_destroy(f->b);
	hw_test_vm_fini(&f->t);
	free(f);
}

static void ioapic_w(struct fx *f, uint32_t reg, uint32_t v)
{
	assert_int_equal(bus_write(&f->t.vm.mmio, LAYOUT_IOAPIC, 4, reg), 0);
	assert_int_equal(bus_write(&f->t.vm.mmio, LAYOUT_IOAPIC + 0x10, 4, v), 0);
}

static uint32_t ioapic_r(struct fx *f, uint32_t reg)
{
	uint64_t v = 0;
	assert_int_equal(bus_write(&f->t.vm.mmio, LAYOUT_IOAPIC, 4, reg), 0);
	assert_int_equal(bus_read(&f->t.vm.mmio, LAYOUT_IOAPIC + 0x10, 4, &v), 0);
	return (uint32_t)v;
}

static void redir_w(struct fx *f, unsigned pin, uint64_t e)
{
	ioapic_w(f, 0x11 + 2 * pin, (uint32_t)(e >> 32));
	ioapic_w(f, 0x10 + 2 * pin, (uint32_t)e);
}

/* Linux's 8259 setup: master at 0x20, slave at 0x28, all unmasked. */
static void pic_init(struct fx *f)
{
	hw_out(&f->t, 0x20, 1, 0x11); hw_out(&f->t, 0x21, 1, 0x20);
	hw_out(&f->t, 0x21, 1, 0x04); hw_out(&f->t, 0x21, 1, 0x01);
	hw_out(&f->t, 0xa0, 1, 0x11); hw_out(&f->t, 0xa1, 1, 0x28);
	hw_out(&f->t, 0xa1, 1, 0x02); hw_out(&f->t, 0xa1, 1, 0x01);
	hw_out(&f->t, 0x21, 1, 0x00);
	hw_out(&f->t, 0xa1, 1, 0x00);
}

/* Every ISA IRQ reaches PIC input n (its vector at INTA) and IOAPIC pin
 * board_isa_irq_gsi(n) (an edge entry with vector 0x40 + pin delivers);
 * GSIs 16-23 reach the IOAPIC only; GSI 2 and 24 are refused. */
static void test_isa_map(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	pic_init(f);
	for (unsigned pin = 0; pin < IOAPIC_PINS; pin++)
		redir_w(f, pin, 0x40 + pin);  /* fixed, edge, physical dest 0, unmasked */
	for (unsigned irq = 0; irq < LAYOUT_IOAPIC_PINS; irq++) {
		if (irq == 2) {
			assert_int_equal(board_irqchip_set_irq(f->b, irq, true), -EINVAL);
			continue;
		}
		unsigned before = f->rec.nr;
		assert_int_equal(board_irqchip_set_irq(f->b, irq, true), 0);
		unsigned pin = irq < LAYOUT_ISA_IRQS ? board_isa_irq_gsi(irq) : irq;
		/* the IOAPIC message of that pin (pin 0 also follows the PIC's
		 * INT, so an ISA IRQ may add that one first) */
		assert_true(f->rec.nr > before);
		assert_int_equal(f->rec.msg[f->rec.nr - 1].vector, 0x40 + pin);
		assert_true(f->b->ioapic.lines & (1u << pin));
		if (irq < LAYOUT_ISA_IRQS) {
			assert_true(f->rec.intr);  /* the PIC's INT reached the sink */
			int want = irq < 8 ? 0x20 + (int)irq : 0x28 + (int)irq - 8;
			assert_int_equal(board_irqchip_peek(f->b), want);
			assert_int_equal(board_irqchip_intack(f->b), want);
			hw_out(&f->t, irq < 8 ? 0x20 : 0xa0, 1, 0x20);  /* EOI */
			if (irq >= 8)
				hw_out(&f->t, 0x20, 1, 0x20);
		} else {
			assert_false(f->rec.intr);
			assert_int_equal(board_irqchip_peek(f->b), -1);
		}
		board_irqchip_set_irq(f->b, irq, false);
		assert_false(f->b->ioapic.lines & (1u << pin));
	}
	assert_int_equal(board_irqchip_set_irq(f->b, LAYOUT_IOAPIC_PINS, true), -EINVAL);
	fx_free(f);
}

/* A redirection entry's fields arrive at the sink as the message; a masked
 * entry delivers nothing. */
static void test_redirection_fields(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	/* pin 20: vector 0x61, lowest priority, logical, level, dest 0x0c */
	uint64_t e = 0x61 | (1u << 8) | (1u << 11) | (1u << 15) | (0x0cULL << 56);
	redir_w(f, 20, e | (1u << 16));
	board_irqchip_set_irq(f->b, 20, true);
	assert_int_equal(f->rec.nr, 0);            /* masked */
	redir_w(f, 20, e);                         /* unmasked: the asserted line goes out */
	assert_int_equal(f->rec.nr, 1);
	struct ioapic_msg *m = &f->rec.msg[0];
	assert_int_equal(m->vector, 0x61);
	assert_int_equal(m->mode, IOAPIC_DM_LOWEST);
	assert_true(m->logical);
	assert_true(m->level);
	assert_int_equal(m->dest, 0x0c);
	fx_free(f);
}

/* A level-triggered pin sets remote IRR and delivers no more until the EOI
 * broadcast for its vector; the broadcast of another vector does nothing;
 * with the line still asserted the EOI delivers it again. */
static void test_eoi_remote_irr(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	redir_w(f, 17, 0x55 | (1u << 15));  /* level, fixed, dest 0 */
	board_irqchip_set_irq(f->b, 17, true);
	assert_int_equal(f->rec.nr, 1);
	assert_true(ioapic_r(f, 0x10 + 2 * 17) & (1u << 14));  /* remote IRR */
	board_irqchip_set_irq(f->b, 17, false);
	board_irqchip_set_irq(f->b, 17, true);
	assert_int_equal(f->rec.nr, 1);                        /* held by remote IRR */
	board_irqchip_eoi(f->b, 0x56);
	assert_true(ioapic_r(f, 0x10 + 2 * 17) & (1u << 14));
	assert_int_equal(f->rec.nr, 1);
	board_irqchip_eoi(f->b, 0x55);                         /* line still high */
	assert_int_equal(f->rec.nr, 2);
	assert_int_equal(f->rec.msg[1].vector, 0x55);
	board_irqchip_set_irq(f->b, 17, false);
	board_irqchip_eoi(f->b, 0x55);
	assert_false(ioapic_r(f, 0x10 + 2 * 17) & (1u << 14));
	assert_int_equal(f->rec.nr, 2);
	fx_free(f);
}

/* MSIs become the same message (SDM vol. 3, 11.11); outside the MSI range
 * -EINVAL, SIPI/reserved modes and a level de-assert deliver nothing. */
static void test_msi(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	const struct irq_router *r = board_irqchip_router(f->b);
	assert_int_equal(irq_send_msi(r, LAYOUT_MSI_ADDR | (3u << 12) | 4,
				      0x72 | (4u << 8)), 0);
	assert_int_equal(f->rec.nr, 1);
	assert_int_equal(f->rec.msg[0].dest, 3);
	assert_true(f->rec.msg[0].logical);
	assert_int_equal(f->rec.msg[0].mode, IOAPIC_DM_NMI);
	assert_int_equal(f->rec.msg[0].vector, 0x72);
	assert_false(f->rec.msg[0].level);
	assert_int_equal(irq_send_msi(r, 0xfed00000, 0x30), -EINVAL);
	assert_int_equal(irq_send_msi(r, LAYOUT_MSI_ADDR, 0x30 | (6u << 8)), 0);
	assert_int_equal(irq_send_msi(r, LAYOUT_MSI_ADDR, 0x30 | (3u << 8)), 0);
	assert_int_equal(irq_send_msi(r, LAYOUT_MSI_ADDR, 0x30 | (1u << 15)), 0);
	assert_int_equal(f->rec.nr, 1);
	assert_int_equal(irq_send_msi(r, LAYOUT_MSI_ADDR, 0x31 | (1u << 15) | (1u << 14)), 0);
	assert_int_equal(f->rec.nr, 2);
	assert_true(f->rec.msg[1].level);
	fx_free(f);
}

/* The PIC's INT and IOAPIC pin 0's ExtINT routing reach the sink; a new
 * sink is told the current state when it connects; a disconnected one
 * hears nothing. */
static void test_extint(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	assert_true(f->rec.extint_calls >= 1);  /* told at connect */
	assert_false(f->rec.intr);
	assert_false(f->rec.routed);
	pic_init(f);
	board_irqchip_set_irq(f->b, 1, true);
	assert_true(f->rec.intr);
	redir_w(f, 0, (7u << 8) | (1ULL << 56));  /* ExtINT to APIC 1 */
	assert_true(f->rec.routed);
	assert_int_equal(f->rec.route.mode, IOAPIC_DM_EXTINT);
	assert_int_equal(f->rec.route.dest, 1);
	struct rec_sink other = { .sink = { rec_deliver, rec_extint, NULL } };
	other.sink.opaque = &other;
	board_irqchip_connect(f->b, &other.sink);
	assert_int_equal(other.extint_calls, 1);
	assert_true(other.intr);
	assert_true(other.routed);
	board_irqchip_connect(f->b, NULL);
	unsigned calls = other.extint_calls;
	assert_int_equal(board_irqchip_intack(f->b), 0x21);
	board_irqchip_set_irq(f->b, 1, false);
	assert_int_equal(other.extint_calls, calls);
	fx_free(f);
}

/* --stats counts an interrupt the 8259 pair delivers alone (the IOAPIC's
 * entries masked, as at power-on: no message) at the CPU's INTA cycle. */
static void test_stats_pic_only(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	pic_init(f);
	for (unsigned n = 0; n < 3; n++) {
		board_irqchip_set_irq(f->b, 1, true);
		assert_true(f->rec.intr);
		assert_int_equal(board_irqchip_intack(f->b), 0x21);
		board_irqchip_set_irq(f->b, 1, false);
		hw_out(&f->t, 0x20, 1, 0x20);  /* EOI */
	}
	assert_int_equal(f->rec.nr, 0);  /* no IOAPIC message */
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	assert_non_null(out);
	board_irqchip_print_stats(f->b, out);
	fclose(out);
	assert_non_null(strstr(text, "0 IOAPIC interrupt messages, 0 MSIs, 3 8259 interrupts (INTA)"));
	free(text);
	fx_free(f);
}

/* The PIT runs on the board's clock and fires from the board's poll:
 * channel 0 in mode 2 with 1193 ticks (~1 ms) pulses ISA IRQ 0, which is
 * IOAPIC pin 2. */
static void test_pit_poll(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	redir_w(f, 2, 0x30);
	hw_out(&f->t, 0x43, 1, 0x34);
	hw_out(&f->t, 0x40, 1, 1193 & 0xff);
	hw_out(&f->t, 0x40, 1, 1193 >> 8);
	uint64_t next = board_irqchip_next_poll(f->b);
	assert_true(next > f->now && next <= f->now + 1000100);
	board_irqchip_poll(f->b, f->now + 500000);
	assert_int_equal(f->rec.nr, 0);
	f->now = next;
	board_irqchip_poll(f->b, f->now);
	assert_int_equal(f->rec.nr, 1);
	assert_int_equal(f->rec.msg[0].vector, 0x30);
	assert_true(board_irqchip_next_poll(f->b) > next);
	fx_free(f);
}

/* get/set_state round-trips the board's part of irqchip_state; a bad state
 * is refused and leaves the chips as they were. */
static void test_state(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	pic_init(f);
	redir_w(f, 5, 0x45 | (1u << 15));
	board_irqchip_set_irq(f->b, 5, true);
	hw_out(&f->t, 0x43, 1, 0x34);
	hw_out(&f->t, 0x40, 1, 0x10);
	hw_out(&f->t, 0x40, 1, 0x20);
	struct irqchip_state s, s2;
	memset(&s, 0, sizeof(s));
	assert_int_equal(board_irqchip_get_state(f->b, &s), 0);
	assert_true(s.pic_output);
	assert_int_equal(s.pit.ch[0].count, 0x2010);

	struct fx *g = fx_new();
	assert_int_equal(board_irqchip_set_state(g->b, &s), 0);
	assert_true(g->rec.intr);  /* the sink learns the loaded INT level */
	memset(&s2, 0, sizeof(s2));
	assert_int_equal(board_irqchip_get_state(g->b, &s2), 0);
	assert_memory_equal(&s, &s2, sizeof(s));
	assert_int_equal(board_irqchip_peek(g->b), 0x25);

	struct irqchip_state bad = s;
	bad.pic[1].init_state = 9;
	assert_int_equal(board_irqchip_set_state(f->b, &bad), -EINVAL);
	bad = s;
	bad.pit.ch[2].mode = 7;
	assert_int_equal(board_irqchip_set_state(f->b, &bad), -EINVAL);
	memset(&s2, 0, sizeof(s2));
	assert_int_equal(board_irqchip_get_state(f->b, &s2), 0);
	assert_memory_equal(&s, &s2, sizeof(s));
	fx_free(g);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_isa_map),
		cmocka_unit_test(test_redirection_fields),
		cmocka_unit_test(test_eoi_remote_irr),
		cmocka_unit_test(test_msi),
		cmocka_unit_test(test_extint),
		cmocka_unit_test(test_stats_pic_only),
		cmocka_unit_test(test_pit_poll),
		cmocka_unit_test(test_state),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
