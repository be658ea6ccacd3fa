/* IOAPIC (82093AA register model, version 0x20 with the EOI register):
 * 24 redirection entries delivering messages to the local APICs.  Pin 0 is
 * wired to the 8259 master's INT output (for ExtINT mode).  Input levels are
 * logical (asserted = true); the polarity bit is stored but not applied, like
 * KVM and QEMU do.  Called with the chip lock held. */
#include "irqchip_priv.h"

#define RTE_VECTOR     0xffULL
#define RTE_DM_SHIFT   8
#define RTE_DESTLOG    (1ULL << 11)
#define RTE_DELIVS     (1ULL << 12)
#define RTE_POLARITY   (1ULL << 13)
#define RTE_REMOTE_IRR (1ULL << 14)
#define RTE_LEVEL      (1ULL << 15)
#define RTE_MASKED     (1ULL << 16)
#define RTE_WRITABLE_LO 0x1afffULL  /* vector, dm, destmode, polarity, trigger, mask */
#define RTE_DEST_SHIFT 56

void ioapic_reset(struct soft_ioapic *io)
{
	uint32_t lines = io->lines;
	*io = (struct soft_ioapic){ .id = (uint32_t)LAYOUT_IOAPIC_ID << 24 };
	io->lines = lines;
	for (unsigned i = 0; i < SOFT_IOAPIC_PINS; i++)
		io->redir[i] = RTE_MASKED;
}

static void ioapic_msg(const struct soft_ioapic *io, unsigned pin, struct apic_msg *m)
{
	uint64_t e = io->redir[pin];
	*m = (struct apic_msg){
		.dest = (uint32_t)(e >> RTE_DEST_SHIFT),
		.logical = e & RTE_DESTLOG,
		.mode = (uint8_t)((e >> RTE_DM_SHIFT) & 7),
		.vector = (uint8_t)(e & RTE_VECTOR),
		.level = e & RTE_LEVEL,
		.assert = true,
		.src = -1,
	};
}

/* Deliver pin if it has an asserted request the entry lets through. */
static void ioapic_service(struct soft_irqchip *c, unsigned pin, bool edge)
{
	struct soft_ioapic *io = &c->ioapic;
	uint64_t e = io->redir[pin];
	if (e & RTE_MASKED)
		return;
	if (e & RTE_LEVEL) {
		if (!(io->lines & (1u << pin)) || (e & RTE_REMOTE_IRR))
			return;
	} else if (!edge) {
		return;
	}
	struct apic_msg m;
	ioapic_msg(io, pin, &m);
	if ((e & RTE_LEVEL) && (m.mode == DM_FIXED || m.mode == DM_LOWEST))
		io->redir[pin] |= RTE_REMOTE_IRR;
	c->stats_irqs++;
	lapic_deliver(c, &m);
}

void ioapic_set_irq(struct soft_irqchip *c, unsigned pin, bool level)
{
	struct soft_ioapic *io = &c->ioapic;
	if (pin >= SOFT_IOAPIC_PINS)
		return;
	uint32_t bit = 1u << pin;
	bool old = io->lines & bit;
	if (level)
		io->lines |= bit;
	else
		io->lines &= ~bit;
	if (level)
		ioapic_service(c, pin, !old);  /* masked edges are lost */
	if (pin == 0 && old != level)
		chip_update_all_attention(c);  /* ExtINT through pin 0 */
}

/* EOI broadcast from a LAPIC (or the EOI register): clear remote IRR of the
 * level-triggered entries with this vector and redeliver asserted lines. */
void ioapic_eoi(struct soft_irqchip *c, uint8_t vector)
{
	struct soft_ioapic *io = &c->ioapic;
	for (unsigned pin = 0; pin < SOFT_IOAPIC_PINS; pin++) {
		uint64_t e = io->redir[pin];
		if ((e & RTE_VECTOR) != vector || !(e & RTE_REMOTE_IRR))
			continue;
		io->redir[pin] &= ~RTE_REMOTE_IRR;
		ioapic_service(c, pin, false);
	}
}

/* Does pin 0 currently route the PIC's INT to this vCPU as ExtINT? */
bool ioapic_extint_for(struct soft_irqchip *c, unsigned cpu)
{
	uint64_t e = c->ioapic.redir[0];
	if ((e & RTE_MASKED) || ((e >> RTE_DM_SHIFT) & 7) != DM_EXTINT)
		return false;
	struct apic_msg m;
	ioapic_msg(&c->ioapic, 0, &m);
	return lapic_match_dest(&c->lapic[cpu], &m);
}

uint32_t ioapic_mmio_read(struct soft_irqchip *c, uint64_t off)
{
	struct soft_ioapic *io = &c->ioapic;
	if (off == 0x00)
		return io->regsel;
	if (off != 0x10)
		return 0;
	uint32_t r = io->regsel;
	switch (r) {
	case 0x00: return io->id;
	case 0x01: return (uint32_t)(SOFT_IOAPIC_PINS - 1) << 16 | SOFT_IOAPIC_VERSION;
	case 0x02: return io->id;  /* arbitration ID */
	default:
		if (r >= 0x10 && r < 0x10 + 2 * SOFT_IOAPIC_PINS) {
			uint64_t e = io->redir[(r - 0x10) / 2];
			return (r & 1) ? (uint32_t)(e >> 32) : (uint32_t)e;
		}
		return 0;
	}
}

void ioapic_mmio_write(struct soft_irqchip *c, uint64_t off, uint32_t v)
{
	struct soft_ioapic *io = &c->ioapic;
	if (off == 0x00) {
		io->regsel = v & 0xff;
		return;
	}
	if (off == 0x40) {
		ioapic_eoi(c, (uint8_t)v);
		return;
	}
	if (off != 0x10)
		return;
	uint32_t r = io->regsel;
	if (r == 0x00) {
		io->id = v & 0x0f000000;
		return;
	}
	if (r < 0x10 || r >= 0x10 + 2 * SOFT_IOAPIC_PINS)
		return;  /* version, arbitration: read-only */
	unsigned pin = (r - 0x10) / 2;
	uint64_t e = io->redir[pin];
	if (r & 1) {
		e = (e & 0x00ffffffffffffffULL) | (uint64_t)(v & 0xff000000) << 32;
	} else {
		e = (e & ~RTE_WRITABLE_LO & 0xffffffff00000000ULL) |
		    (e & (RTE_REMOTE_IRR | RTE_DELIVS)) | (v & RTE_WRITABLE_LO);
		if (!(e & RTE_LEVEL))
			e &= ~RTE_REMOTE_IRR;
	}
	io->redir[pin] = e;
	ioapic_service(c, pin, false);  /* unmasking an asserted level line */
	if (pin == 0)
		chip_update_all_attention(c);
}
