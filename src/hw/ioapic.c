/* IOAPIC (82093AA register model, version 0x20 with the EOI register):
 * 24 redirection entries delivering messages to the local APICs.  Pin 0 is
 * wired to the 8259 master's INT output (for ExtINT mode).  Input levels are
 * logical (asserted = true); the polarity bit is stored but not applied, like
 * KVM and QEMU do.  A pure state machine: messages go out through the
 * owner's deliver callback, and the owner serializes the calls. */
#include "ioapic.h"

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

void ioapic_reset(struct ioapic *io)
{
	/* The input lines and the owner's wiring survive a reset. */
	io->id = (uint32_t)LAYOUT_IOAPIC_ID << 24;
	io->regsel = 0;
	for (unsigned i = 0; i < IOAPIC_PINS; i++)
		io->redir[i] = RTE_MASKED;
}

static void ioapic_msg(const struct ioapic *io, unsigned pin, struct ioapic_msg *m)
{
	uint64_t e = io->redir[pin];
	*m = (struct ioapic_msg){
		.dest = (uint32_t)(e >> RTE_DEST_SHIFT),
		.logical = e & RTE_DESTLOG,
		.mode = (uint8_t)((e >> RTE_DM_SHIFT) & 7),
		.vector = (uint8_t)(e & RTE_VECTOR),
		.level = e & RTE_LEVEL,
	};
}

static void ioapic_extint_changed(struct ioapic *io)
{
	if (io->extint_changed)
		io->extint_changed(io->opaque);
}

/* Deliver pin if it has an asserted request the entry lets through. */
static void ioapic_service(struct ioapic *io, unsigned pin, bool edge)
{
	uint64_t e = io->redir[pin];
	if (e & RTE_MASKED)
		return;
	if (e & RTE_LEVEL) {
		if (!(io->lines & (1u << pin)) || (e & RTE_REMOTE_IRR))
			return;
	} else if (!edge) {
		return;
	}
	struct ioapic_msg m;
	ioapic_msg(io, pin, &m);
	if ((e & RTE_LEVEL) && (m.mode == IOAPIC_DM_FIXED || m.mode == IOAPIC_DM_LOWEST))
		io->redir[pin] |= RTE_REMOTE_IRR;
	if (io->deliver)
		io->deliver(io->opaque, &m);
}

void ioapic_set_irq(struct ioapic *io, unsigned pin, bool level)
{
	if (pin >= IOAPIC_PINS)
		return;
	uint32_t bit = 1u << pin;
	bool old = io->lines & bit;
	if (level)
		io->lines |= bit;
	else
		io->lines &= ~bit;
	if (level)
		ioapic_service(io, pin, !old);  /* masked edges are lost */
	if (pin == 0 && old != level)
		ioapic_extint_changed(io);  /* ExtINT through pin 0 */
}

/* EOI broadcast from a LAPIC (or the EOI register): clear remote IRR of the
 * level-triggered entries with this vector and redeliver asserted lines. */
void ioapic_eoi(struct ioapic *io, uint8_t vector)
{
	for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
		uint64_t e = io->redir[pin];
		if ((e & RTE_VECTOR) != vector || !(e & RTE_REMOTE_IRR))
			continue;
		io->redir[pin] &= ~RTE_REMOTE_IRR;
		ioapic_service(io, pin, false);
	}
}

/* Does pin 0 currently route the PIC's INT as ExtINT?  If so, *m says to
 * whom. */
bool ioapic_extint_route(const struct ioapic *io, struct ioapic_msg *m)
{
	uint64_t e = io->redir[0];
	if ((e & RTE_MASKED) || ((e >> RTE_DM_SHIFT) & 7) != IOAPIC_DM_EXTINT)
		return false;
	ioapic_msg(io, 0, m);
	return true;
}

uint32_t ioapic_mmio_read(struct ioapic *io, uint64_t off)
{
	if (off == 0x00)
		return io->regsel;
	if (off != 0x10)
		return 0;
	uint32_t r = io->regsel;
	switch (r) {
	case 0x00: return io->id;
	case 0x01: return (uint32_t)(IOAPIC_PINS - 1) << 16 | IOAPIC_VERSION;
	case 0x02: return io->id;  /* arbitration ID */
	default:
		if (r >= 0x10 && r < 0x10 + 2 * IOAPIC_PINS) {
			uint64_t e = io->redir[(r - 0x10) / 2];
			return (r & 1) ? (uint32_t)(e >> 32) : (uint32_t)e;
		}
		return 0;
	}
}

void ioapic_mmio_write(struct ioapic *io, uint64_t off, uint32_t v)
{
	if (off == 0x00) {
		io->regsel = v & 0xff;
		return;
	}
	if (off == 0x40) {
		ioapic_eoi(io, (uint8_t)v);
		return;
	}
	if (off != 0x10)
		return;
	uint32_t r = io->regsel;
	if (r == 0x00) {
		io->id = v & 0x0f000000;
		return;
	}
	if (r < 0x10 || r >= 0x10 + 2 * IOAPIC_PINS)
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
	ioapic_service(io, pin, false);  /* unmasking an asserted level line */
	if (pin == 0)
		ioapic_extint_changed(io);
}
