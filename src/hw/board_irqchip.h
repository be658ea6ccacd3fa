/* The board's interrupt controllers and timer for engines without an
 * in-kernel irqchip (engine_ops.in_kernel_irqchip false): the 8259A pair
 * (+ ELCR), the 8254 PIT (+ port 0x61) and the IOAPIC, under one lock, with
 * their PIO and MMIO windows, the irq_router devices raise lines through
 * (the board's interrupt map, layout.h) and MSI decoding.  The engine keeps
 * the local APICs and gives the board one small interface, struct
 * lapic_sink; the board gives the engine the INTA cycle, the EOI broadcast
 * and its timer.  See docs/soft-irqchip.md.
 *
 * Lock order: the board's lock before the engine's.  The board calls the
 * sink with its lock held; the engine calls the board (board_irqchip_eoi,
 * _intack, _peek, _poll, ...) only while holding none of its own locks. */
#ifndef RINGVM_HW_BOARD_IRQCHIP_H
#define RINGVM_HW_BOARD_IRQCHIP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ringvm/irq.h"
#include "ringvm/irqchip_state.h"
#include "src/hw/i8254.h"
#include "src/hw/i8259.h"
#include "src/hw/ioapic.h"

struct vm;

#define BOARD_IRQCHIP_NO_DEADLINE I8254_NO_DEADLINE

/* What the engine's local APICs offer the board.  Both calls come with the
 * board's lock held and must not call back into the board. */
struct lapic_sink {
	/* An interrupt message for the local APICs, from an IOAPIC entry or
	 * an MSI (Intel SDM vol. 3, 11.11: one message path for both). */
	void (*deliver)(void *opaque, const struct ioapic_msg *m);
	/* The ExtINT source changed: the 8259 master's INT output level, and
	 * where IOAPIC pin 0 routes it as ExtINT (NULL: it does not). */
	void (*extint)(void *opaque, bool intr, const struct ioapic_msg *pin0_route);
	void *opaque;
};

typedef uint64_t (*board_clock_fn)(void *opaque);

struct board_irqchip_config {
	board_clock_fn clock;   /* NULL: CLOCK_MONOTONIC */
	void *clock_opaque;
	bool no_bus;            /* don't register the PIO/MMIO windows (tests) */
};

/* A bus window's opaque for one 8259 of the pair (0 master, 1 slave). */
struct board_pic_port {
	struct board_irqchip *board;
	unsigned chip;
};

struct board_irqchip {
	pthread_mutex_t lock;
	struct vm *vm;
	bool registered;
	board_clock_fn clock;
	void *clock_opaque;
	struct i8259_pair pic;          /* INT output -> IOAPIC pin 0, sink ExtINT */
	struct i8254 pit;               /* channel 0 -> ISA IRQ 0 */
	struct ioapic ioapic;           /* messages -> sink */
	const struct lapic_sink *sink;  /* NULL until an engine connects */
	bool timers_dirty;              /* recompute next_poll_ns at unlock */
	_Atomic uint64_t next_poll_ns;  /* the PIT's next edge (fast check) */
	struct irq_router router;
	uint64_t stats_irqs, stats_msis;
	uint64_t stats_pic_acks;        /* INTA cycles: the 8259's own deliveries */
	struct board_pic_port pic_port[2];  /* the 8259 windows' opaques */
};

/* Creates the chips at power-on state; unless cfg->no_bus, registers the
 * PIC (0x20, 0xa0), ELCR (0x4d0), PIT (0x40-0x43) and port 0x61 on
 * vm->pio and the IOAPIC at LAYOUT_IOAPIC on vm->mmio.  NULL on failure
 * (message logged). */
struct board_irqchip *board_irqchip_create(struct vm *vm,
					   const struct board_irqchip_config *cfg);
void board_irqchip_destroy(struct board_irqchip *b);
/* Machine reset: registers back to power-on; input line levels stay (the
 * devices still drive them). */
void board_irqchip_reset(struct board_irqchip *b);

/* The router devices raise lines through (vm->irq).  GSI 0-15 are ISA IRQs
 * (PIC input n and IOAPIC pin board_isa_irq_gsi(n)), 16-23 IOAPIC only,
 * GSI 2 (the cascade) refused.  Levels are logical, polarity ignored. */
const struct irq_router *board_irqchip_router(struct board_irqchip *b);
int board_irqchip_set_irq(struct board_irqchip *b, unsigned gsi, bool level);
/* An MSI: -EINVAL outside LAYOUT_MSI_ADDR; decoded into the message an
 * IOAPIC entry makes and given to the sink. */
int board_irqchip_send_msi(struct board_irqchip *b, uint64_t addr, uint32_t data);

/* Connect the engine's local APICs (NULL: disconnect).  The sink is told
 * the current ExtINT state at once.  After a disconnect returns, the board
 * no longer calls the old sink. */
void board_irqchip_connect(struct board_irqchip *b, const struct lapic_sink *sink);
/* --stats: one line with the interrupt counters (stats_irqs, stats_msis,
 * stats_pic_acks). */
void board_irqchip_print_stats(struct board_irqchip *b, FILE *out);

/* From the engine (none of its locks held): */
/* A local APIC's EOI broadcast for a level-triggered vector: clears the
 * remote IRR of the IOAPIC entries with that vector (and redelivers lines
 * still asserted). */
void board_irqchip_eoi(struct board_irqchip *b, uint8_t vector);
/* The INTA cycle on the 8259 pair: the vector (IRQ7/15 when spurious). */
int board_irqchip_intack(struct board_irqchip *b);
/* The vector an INTA would return now, or -1 without an INT output. */
int board_irqchip_peek(struct board_irqchip *b);
/* Could a device deliver an NMI or INIT?  An unmasked IOAPIC entry with
 * delivery mode NMI or INIT (destination not considered: conservative). */
bool board_irqchip_nmi_source_armed(struct board_irqchip *b);

/* The PIT: channel 0's rising edges up to now_ns become one IRQ 0 pulse. */
void board_irqchip_poll(struct board_irqchip *b, uint64_t now_ns);
static inline uint64_t board_irqchip_next_poll(struct board_irqchip *b)
{
	return atomic_load_explicit(&b->next_poll_ns, memory_order_relaxed);
}
uint64_t board_irqchip_now(struct board_irqchip *b);

/* Snapshots: the board's part of the neutral irqchip_state (the 8259 pair,
 * the PIT, the IOAPIC, pic_output); set checks what it loads (user input):
 * 0 or -EINVAL. */
int board_irqchip_get_state(struct board_irqchip *b, struct irqchip_state *s);
int board_irqchip_set_state(struct board_irqchip *b, const struct irqchip_state *s);

#endif
