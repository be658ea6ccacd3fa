/* I/O APIC (82093AA register model, version 0x20 with the EOI register at
 * 0x40): a board device with LAYOUT_IOAPIC_PINS redirection entries.  A
 * pure state machine with no lock of its own: the owner serializes the
 * calls, delivers the messages it produces to the local APICs (deliver) and
 * is told when pin 0's ExtINT routing may have changed (extint_changed).
 * See docs/soft-irqchip.md. */
#ifndef RINGVM_HW_IOAPIC_H
#define RINGVM_HW_IOAPIC_H

#include <stdbool.h>
#include <stdint.h>

#include "ringvm/layout.h"

#define IOAPIC_PINS     LAYOUT_IOAPIC_PINS
#define IOAPIC_VERSION  0x20u   /* has the EOI register at 0x40 */

/* Delivery modes of a redirection entry (82093AA datasheet, 3.2.4). */
enum ioapic_dm { IOAPIC_DM_FIXED = 0, IOAPIC_DM_LOWEST = 1, IOAPIC_DM_SMI = 2,
		 IOAPIC_DM_NMI = 4, IOAPIC_DM_INIT = 5, IOAPIC_DM_EXTINT = 7 };

/* An interrupt message for the local APICs. */
struct ioapic_msg {
	uint32_t dest;          /* bits 63:56 of the entry */
	bool logical;
	uint8_t mode;           /* enum ioapic_dm */
	uint8_t vector;
	bool level;             /* level-triggered */
};

typedef void (*ioapic_deliver_fn)(void *opaque, const struct ioapic_msg *m);
typedef void (*ioapic_extint_fn)(void *opaque);

struct ioapic {
	uint32_t id;            /* bits 27:24 */
	uint32_t regsel;
	uint64_t redir[IOAPIC_PINS];
	uint32_t lines;         /* asserted input lines */
	ioapic_deliver_fn deliver;      /* may be NULL */
	ioapic_extint_fn extint_changed; /* may be NULL */
	void *opaque;
};

/* Register state back to power-on; input lines and callbacks stay. */
void ioapic_reset(struct ioapic *io);
/* Input pin level (logical: asserted = true); pins >= IOAPIC_PINS ignored. */
void ioapic_set_irq(struct ioapic *io, unsigned pin, bool level);
/* EOI broadcast for vector (from a LAPIC or the EOI register). */
void ioapic_eoi(struct ioapic *io, uint8_t vector);
/* off: offset in the LAYOUT_IOAPIC window (0x00 IOREGSEL, 0x10 IOWIN,
 * 0x40 EOI); 32-bit accesses. */
uint32_t ioapic_mmio_read(struct ioapic *io, uint64_t off);
void ioapic_mmio_write(struct ioapic *io, uint64_t off, uint32_t v);
/* Does pin 0 route the 8259's INT as ExtINT?  If so, *m names the target. */
bool ioapic_extint_route(const struct ioapic *io, struct ioapic_msg *m);

#endif
