/* 8259A programmable interrupt controller pair (master 0x20/0x21, slave
 * 0xa0/0xa1, slave cascaded on master IRQ2) and the ELCR (0x4d0/0x4d1): a
 * board device.  A pure state machine with no lock of its own: the owner
 * serializes the calls.  The master's INT output is reported through
 * output_changed (called from inside any call that changes it).  See
 * docs/soft-irqchip.md. */
#ifndef RINGVM_HW_I8259_H
#define RINGVM_HW_I8259_H

#include <stdbool.h>
#include <stdint.h>

/* One 8259A. */
struct i8259 {
	uint8_t irr, imr, isr;
	uint8_t lines;          /* input line levels (edge detection) */
	uint8_t elcr, elcr_mask;
	uint8_t priority_add;   /* IRQ with the highest priority */
	uint8_t irq_base;       /* ICW2 & 0xf8 */
	uint8_t init_state;     /* 0 ready, 1 want ICW2, 2 want ICW3, 3 want ICW4 */
	uint8_t icw3;
	bool init4, single, read_isr, poll, special_mask, auto_eoi,
	     rotate_auto_eoi, sfnm;
	bool ltim;              /* ICW1 level-triggered mode: all inputs level */
};

typedef void (*i8259_output_fn)(void *opaque, bool level);

/* The cascaded pair as wired on a PC. */
struct i8259_pair {
	struct i8259 chip[2];   /* [0] master, [1] slave */
	bool output;            /* master INT pin level */
	i8259_output_fn output_changed; /* may be NULL */
	void *opaque;
};

/* Power-on state of one chip; keeps the ELCR bits the chip allows. */
void i8259_reset(struct i8259 *p, bool master);
/* ISA IRQ 0-15 input level (others ignored). */
void i8259_set_irq(struct i8259_pair *pp, unsigned irq, bool level);
/* Recompute the cascade and the INT output (after state was changed). */
void i8259_update(struct i8259_pair *pp);
bool i8259_has_interrupt(const struct i8259_pair *pp);
/* The vector an INTA cycle would return, without acknowledging. */
int i8259_peek_vector(struct i8259_pair *pp);
/* The INTA cycle: acknowledge and return the vector (spurious 7/15 too). */
int i8259_intack(struct i8259_pair *pp);
/* which: 0 master, 1 slave; port: 0 or 1 (the chip's A0). */
void i8259_write(struct i8259_pair *pp, unsigned which, unsigned port, uint8_t v);
uint8_t i8259_read(struct i8259_pair *pp, unsigned which, unsigned port);

#endif
