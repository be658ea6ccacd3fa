/* The board's 8259 pair, 8254 and IOAPIC for engines without an in-kernel
 * irqchip: one lock over the three state machines, their bus windows, the
 * irq_router (the board's interrupt map of layout.h), MSI decoding and the
 * wiring to the engine's local APICs (struct lapic_sink).  See
 * board_irqchip.h and docs/soft-irqchip.md. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

#include "board_irqchip.h"
#include "ringvm/bus.h"
#include "ringvm/clock.h"
#include "ringvm/log.h"
#include "ringvm/vm.h"

static uint64_t default_clock(void *opaque)
{
	(void)opaque;
	return clock_monotonic_ns();
}

uint64_t board_irqchip_now(struct board_irqchip *b)
{
	return b->clock(b->clock_opaque);
}

static void board_lock(struct board_irqchip *b)
{
	pthread_mutex_lock(&b->lock);
}

static void board_unlock(struct board_irqchip *b)
{
	if (b->timers_dirty) {
		atomic_store_explicit(&b->next_poll_ns, i8254_next_deadline(&b->pit),
				      memory_order_relaxed);
		b->timers_dirty = false;
	}
	pthread_mutex_unlock(&b->lock);
}

/* ---- Wiring to the local APICs ----------------------------------------- */

/* The sink learns the ExtINT source: the PIC's INT level and IOAPIC pin 0's
 * ExtINT routing (the "virtual wire through the IOAPIC", MP spec 3.6.2.2). */
static void push_extint(struct board_irqchip *b)
{
	if (!b->sink || !b->sink->extint)
		return;
	struct ioapic_msg route;
	bool routed = ioapic_extint_route(&b->ioapic, &route);
	b->sink->extint(b->sink->opaque, b->pic.output, routed ? &route : NULL);
}

/* The 8259 master's INT: IOAPIC pin 0 and the LAPICs' LINT0 (ExtINT). */
static void pic_output(void *opaque, bool level)
{
	struct board_irqchip *b = opaque;
	ioapic_set_irq(&b->ioapic, 0, level);
	push_extint(b);
}

static void ioapic_deliver(void *opaque, const struct ioapic_msg *m)
{
	struct board_irqchip *b = opaque;
	b->stats_irqs++;
	if (b->sink && b->sink->deliver)
		b->sink->deliver(b->sink->opaque, m);
}

static void ioapic_extint(void *opaque)
{
	push_extint(opaque);
}

void board_irqchip_connect(struct board_irqchip *b, const struct lapic_sink *sink)
{
	board_lock(b);
	b->sink = sink;
	push_extint(b);
	board_unlock(b);
}

/* ---- Interrupt lines ---------------------------------------------------- */

static void set_irq_locked(struct board_irqchip *b, unsigned gsi, bool level)
{
	if (gsi < LAYOUT_ISA_IRQS) {
		i8259_set_irq(&b->pic, gsi, level);
		/* The board's interrupt map (layout.h): ISA IRQ 0 is IOAPIC
		 * pin 2 (the interrupt source override); IOAPIC pin 0 is the
		 * PIC's INT output, IRQ 2 the cascade. */
		if (gsi != 2)
			ioapic_set_irq(&b->ioapic, board_isa_irq_gsi(gsi), level);
	} else {
		ioapic_set_irq(&b->ioapic, gsi, level);
	}
}

int board_irqchip_set_irq(struct board_irqchip *b, unsigned gsi, bool level)
{
	if (gsi >= IOAPIC_PINS || gsi == 2)
		return -EINVAL;
	board_lock(b);
	set_irq_locked(b, gsi, level);
	board_unlock(b);
	return 0;
}

static int router_set_level(void *opaque, unsigned gsi, bool level)
{
	return board_irqchip_set_irq(opaque, gsi, level);
}

/* A message-signalled interrupt (Intel SDM vol. 3, 11.11): address
 * 0xFEEx_xxxx with destination ID in bits 19:12, redirection hint bit 3,
 * destination mode bit 2 (1 = logical); data with the vector in bits 7:0,
 * delivery mode 10:8, level 14 and trigger mode 15.  It becomes the message
 * an IOAPIC entry makes, so the LAPICs have one message path. */
int board_irqchip_send_msi(struct board_irqchip *b, uint64_t addr, uint32_t data)
{
	if ((addr & ~(LAYOUT_MSI_ADDR_SIZE - 1)) != LAYOUT_MSI_ADDR)
		return -EINVAL;
	uint8_t mode = (uint8_t)((data >> 8) & 7);
	bool level = data & (1u << 15);
	/* SIPI (6) and the reserved mode 3 are not MSI delivery modes; a
	 * level-triggered de-assert message delivers nothing. */
	if (mode == 6 || mode == 3 || (level && !(data & (1u << 14))))
		return 0;
	struct ioapic_msg m = {
		.dest = (uint32_t)(addr >> 12) & 0xff,
		.logical = addr & (1u << 2),
		.mode = mode,
		.vector = (uint8_t)data,
		.level = level,
	};
	board_lock(b);
	b->stats_msis++;
	if (b->sink && b->sink->deliver)
		b->sink->deliver(b->sink->opaque, &m);
	board_unlock(b);
	return 0;
}

static int router_send_msi(void *opaque, uint64_t addr, uint32_t data)
{
	return board_irqchip_send_msi(opaque, addr, data);
}

const struct irq_router *board_irqchip_router(struct board_irqchip *b)
{
	return &b->router;
}

/* ---- From the engine ---------------------------------------------------- */

void board_irqchip_eoi(struct board_irqchip *b, uint8_t vector)
{
	board_lock(b);
	ioapic_eoi(&b->ioapic, vector);
	board_unlock(b);
}

int board_irqchip_intack(struct board_irqchip *b)
{
	board_lock(b);
	int v = i8259_intack(&b->pic);
	/* An interrupt the 8259 pair delivers itself (a LAPIC's LINT0 or an
	 * IOAPIC entry in ExtINT mode, or no LAPIC at all) sends no IOAPIC
	 * message: the CPU's INTA cycle is where it is delivered, so it is
	 * counted here (spurious IRQ7/15 included: the CPU took a vector). */
	b->stats_pic_acks++;
	board_unlock(b);
	return v;
}

int board_irqchip_peek(struct board_irqchip *b)
{
	board_lock(b);
	int v = b->pic.output ? i8259_peek_vector(&b->pic) : -1;
	board_unlock(b);
	return v;
}

bool board_irqchip_nmi_source_armed(struct board_irqchip *b)
{
	bool armed = false;
	board_lock(b);
	for (unsigned pin = 0; pin < IOAPIC_PINS && !armed; pin++) {
		uint64_t e = b->ioapic.redir[pin];
		unsigned dm = (unsigned)(e >> 8) & 7;
		armed = !(e & (1ULL << 16)) && (dm == IOAPIC_DM_NMI || dm == IOAPIC_DM_INIT);
	}
	board_unlock(b);
	return armed;
}

void board_irqchip_poll(struct board_irqchip *b, uint64_t now_ns)
{
	board_lock(b);
	if (i8254_poll(&b->pit, now_ns)) {
		set_irq_locked(b, IRQ_PIT, true);
		set_irq_locked(b, IRQ_PIT, false);
	}
	b->timers_dirty = true;
	board_unlock(b);
}

/* --stats: the interrupt messages the IOAPIC sent to the local APICs, the
 * MSIs devices sent, and the interrupts the CPUs took from the 8259 pair
 * (INTA cycles: ExtINT through LINT0 or an IOAPIC entry, or no LAPIC). */
void board_irqchip_print_stats(struct board_irqchip *b, FILE *out)
{
	board_lock(b);
	uint64_t irqs = b->stats_irqs, msis = b->stats_msis, acks = b->stats_pic_acks;
	board_unlock(b);
	fprintf(out, "  board irqchip: %" PRIu64 " IOAPIC interrupt messages, %" PRIu64 " MSIs, "
		"%" PRIu64 " 8259 interrupts (INTA)\n", irqs, msis, acks);
}

/* ---- Bus windows -------------------------------------------------------- */

/* One handler for both 8259s: the opaque is the chip's struct board_pic_port
 * (index 0 master at 0x20, 1 slave at 0xa0). */
static uint64_t pic_io_read(void *opaque, uint64_t off, unsigned size)
{
	const struct board_pic_port *port = opaque;
	struct board_irqchip *b = port->board;
	(void)size;
	board_lock(b);
	uint8_t v = i8259_read(&b->pic, port->chip, (unsigned)off);
	board_unlock(b);
	return v;
}

static void pic_io_write(void *opaque, uint64_t off, unsigned size, uint64_t v)
{
	const struct board_pic_port *port = opaque;
	struct board_irqchip *b = port->board;
	(void)size;
	board_lock(b);
	i8259_write(&b->pic, port->chip, (unsigned)off, (uint8_t)v);
	board_unlock(b);
}

static uint64_t elcr_read(void *opaque, uint64_t off, unsigned size)
{
	struct board_irqchip *b = opaque;
	uint64_t v = 0;
	board_lock(b);
	for (unsigned i = 0; i < size && off + i < 2; i++)
		v |= (uint64_t)b->pic.chip[off + i].elcr << (8 * i);
	board_unlock(b);
	return v;
}

static void elcr_write(void *opaque, uint64_t off, unsigned size, uint64_t v)
{
	struct board_irqchip *b = opaque;
	board_lock(b);
	for (unsigned i = 0; i < size && off + i < 2; i++) {
		struct i8259 *p = &b->pic.chip[off + i];
		p->elcr = (uint8_t)(v >> (8 * i)) & p->elcr_mask;
		/* Re-evaluate requests under the new trigger modes. */
		for (unsigned irq = 0; irq < 8; irq++)
			if (p->elcr & (1u << irq)) {
				if (p->lines & (1u << irq))
					p->irr |= (uint8_t)(1u << irq);
				else
					p->irr &= (uint8_t)~(1u << irq);
			}
	}
	i8259_update(&b->pic);
	board_unlock(b);
}

static uint64_t pit_io_read(void *opaque, uint64_t off, unsigned size)
{
	struct board_irqchip *b = opaque;
	(void)size;
	board_lock(b);
	uint8_t v = i8254_read(&b->pit, (unsigned)off, board_irqchip_now(b));
	board_unlock(b);
	return v;
}

static void pit_io_write(void *opaque, uint64_t off, unsigned size, uint64_t v)
{
	struct board_irqchip *b = opaque;
	(void)size;
	board_lock(b);
	i8254_write(&b->pit, (unsigned)off, (uint8_t)v, board_irqchip_now(b));
	b->timers_dirty = true;
	board_unlock(b);
}

static uint64_t port61_read(void *opaque, uint64_t off, unsigned size)
{
	struct board_irqchip *b = opaque;
	(void)off;
	(void)size;
	board_lock(b);
	uint8_t v = i8254_port61_read(&b->pit, board_irqchip_now(b));
	board_unlock(b);
	return v;
}

static void port61_write(void *opaque, uint64_t off, unsigned size, uint64_t v)
{
	struct board_irqchip *b = opaque;
	(void)off;
	(void)size;
	board_lock(b);
	i8254_port61_write(&b->pit, (uint8_t)v, board_irqchip_now(b));
	b->timers_dirty = true;
	board_unlock(b);
}

static uint64_t ioapic_io_read(void *opaque, uint64_t off, unsigned size)
{
	struct board_irqchip *b = opaque;
	board_lock(b);
	uint32_t v = ioapic_mmio_read(&b->ioapic, off & ~3ULL);
	board_unlock(b);
	v >>= 8 * (off & 3);
	return size >= 4 ? v : v & ((1u << (8 * size)) - 1);
}

static void ioapic_io_write(void *opaque, uint64_t off, unsigned size, uint64_t v)
{
	struct board_irqchip *b = opaque;
	/* IOREGSEL may be written with a byte access; IOWIN/EOI need dwords. */
	if ((off & 3) || (size < 4 && off != 0))
		return;
	board_lock(b);
	ioapic_mmio_write(&b->ioapic, off, (uint32_t)v);
	board_unlock(b);
}

static const struct bus_ops pic_ops = { pic_io_read, pic_io_write };
static const struct bus_ops elcr_ops = { elcr_read, elcr_write };
static const struct bus_ops pit_ops = { pit_io_read, pit_io_write };
static const struct bus_ops port61_ops = { port61_read, port61_write };
static const struct bus_ops ioapic_ops = { ioapic_io_read, ioapic_io_write };

struct window {
	bool mmio;
	uint64_t base, len;
	const struct bus_ops *ops;
	const char *name;
	int pic_chip;   /* >= 0: opaque is that 8259's board_pic_port, else the board */
};

static const struct window windows[] = {
	{ false, PORT_PIC_MASTER, 2, &pic_ops, "pic-master", 0 },
	{ false, PORT_PIC_SLAVE, 2, &pic_ops, "pic-slave", 1 },
	{ false, PORT_ELCR, 2, &elcr_ops, "elcr", -1 },
	{ false, PORT_PIT, 4, &pit_ops, "pit", -1 },
	{ false, PORT_SYSTEM_CONTROL_B, 1, &port61_ops, "port61", -1 },
	{ true, LAYOUT_IOAPIC, LAYOUT_IOAPIC_SIZE, &ioapic_ops, "ioapic", -1 },
};

static void unregister_windows(struct board_irqchip *b, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		bus_unregister(windows[i].mmio ? &b->vm->mmio : &b->vm->pio, windows[i].base);
}

/* ---- Lifecycle ---------------------------------------------------------- */

static void reset_locked(struct board_irqchip *b)
{
	/* Input line levels survive: devices still drive them. */
	uint8_t lines0 = b->pic.chip[0].lines, lines1 = b->pic.chip[1].lines;
	b->pic.chip[0].elcr = b->pic.chip[1].elcr = 0;
	i8259_reset(&b->pic.chip[0], true);
	i8259_reset(&b->pic.chip[1], false);
	b->pic.chip[0].lines = lines0;
	b->pic.chip[1].lines = lines1;
	i8254_reset(&b->pit);
	ioapic_reset(&b->ioapic);
	b->pic.output = false;
	i8259_update(&b->pic);
	push_extint(b);
	b->timers_dirty = true;
}

struct board_irqchip *board_irqchip_create(struct vm *vm,
					   const struct board_irqchip_config *cfg)
{
	struct board_irqchip *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	pthread_mutex_init(&b->lock, NULL);
	b->vm = vm;
	b->clock = cfg && cfg->clock ? cfg->clock : default_clock;
	b->clock_opaque = cfg ? cfg->clock_opaque : NULL;
	b->router.set_level = router_set_level;
	b->router.send_msi = router_send_msi;
	b->router.opaque = b;
	b->pic.output_changed = pic_output;
	b->pic.opaque = b;
	b->ioapic.deliver = ioapic_deliver;
	b->ioapic.extint_changed = ioapic_extint;
	b->ioapic.opaque = b;
	for (unsigned i = 0; i < ARRAY_SIZE(b->pic_port); i++)
		b->pic_port[i] = (struct board_pic_port){ b, i };
	atomic_init(&b->next_poll_ns, BOARD_IRQCHIP_NO_DEADLINE);
	board_lock(b);
	reset_locked(b);
	board_unlock(b);

	if (vm && !(cfg && cfg->no_bus)) {
		for (unsigned i = 0; i < ARRAY_SIZE(windows); i++) {
			const struct window *w = &windows[i];
			void *opaque = w->pic_chip >= 0 ? (void *)&b->pic_port[w->pic_chip] : (void *)b;
			int r = bus_register(w->mmio ? &vm->mmio : &vm->pio, w->base, w->len,
					     w->ops, opaque, w->name);
			if (r < 0) {
				pr_err("board irqchip: cannot register %s: %d", w->name, r);
				unregister_windows(b, i);
				pthread_mutex_destroy(&b->lock);
				free(b);
				return NULL;
			}
		}
		b->registered = true;
	}
	return b;
}

void board_irqchip_destroy(struct board_irqchip *b)
{
	if (!b)
		return;
	if (b->registered)
		unregister_windows(b, ARRAY_SIZE(windows));
	pthread_mutex_destroy(&b->lock);
	free(b);
}

void board_irqchip_reset(struct board_irqchip *b)
{
	board_lock(b);
	reset_locked(b);
	board_unlock(b);
}
