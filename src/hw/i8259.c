/* 8259A programmable interrupt controller pair (master 0x20/0x21, slave
 * 0xa0/0xa1, slave cascaded on master IRQ2) and the ELCR (0x4d0/0x4d1).
 * Modelled from the Intel 8259A datasheet.  A pure state machine: the owner
 * serializes the calls and is told of INT output changes through the pair's
 * output_changed callback. */
#include "i8259.h"

void i8259_reset(struct i8259 *p, bool master)
{
	uint8_t elcr = p->elcr;
	*p = (struct i8259){ 0 };
	p->elcr = elcr;
	/* IRQ0, 1, 2 (master) and 8, 13 (slave) are always edge-triggered. */
	p->elcr_mask = master ? 0xf8 : 0xde;
	p->elcr &= p->elcr_mask;
}

/* Priority (0 highest) of the highest-priority bit of mask; 8 if none. */
static unsigned i8259_priority(const struct i8259 *p, uint8_t mask)
{
	if (!mask)
		return 8;
	for (unsigned prio = 0; prio < 8; prio++)
		if (mask & (1u << ((prio + p->priority_add) & 7)))
			return prio;
	return 8;
}

/* The IRQ this PIC would present on INT, or -1. */
static int i8259_get_irq(const struct i8259 *p, bool master)
{
	unsigned prio = i8259_priority(p, p->irr & ~p->imr);
	if (prio == 8)
		return -1;
	uint8_t in_service = p->isr;
	if (p->special_mask)
		in_service &= ~p->imr;
	/* Special fully nested mode: a slave in service does not block other
	 * slave IRQs (the master's IRQ2 ISR bit is ignored). */
	if (master && p->sfnm)
		in_service &= ~(1u << 2);
	unsigned cur = i8259_priority(p, in_service);
	if (prio < cur)
		return (int)((prio + p->priority_add) & 7);
	return -1;
}

static bool i8259_level_triggered(const struct i8259 *p, unsigned irq)
{
	return p->ltim || (p->elcr & (1u << irq));
}

static void i8259_set_line(struct i8259 *p, unsigned irq, bool level)
{
	uint8_t bit = (uint8_t)(1u << irq);
	if (i8259_level_triggered(p, irq)) {
		if (level)
			p->irr |= bit;
		else
			p->irr &= (uint8_t)~bit;
	} else if (level && !(p->lines & bit)) {
		p->irr |= bit;  /* rising edge latched until INTA */
	}
	if (level)
		p->lines |= bit;
	else
		p->lines &= (uint8_t)~bit;
}

/* Propagate the slave's INT to master IRQ2 and the master's INT to the CPU
 * side (LINT0 / IOAPIC pin 0). */
void i8259_update(struct i8259_pair *pp)
{
	/* The cascade input latches like an edge (so a slave request that
	 * vanishes before INTA gives spurious IRQ15) and re-requests while the
	 * slave's INT stays high (auto-EOI slave with more requests). */
	bool slave = i8259_get_irq(&pp->chip[1], false) >= 0;
	i8259_set_line(&pp->chip[0], 2, slave);
	if (slave)
		pp->chip[0].irr |= 1u << 2;
	bool out = i8259_get_irq(&pp->chip[0], true) >= 0;
	if (out != pp->output) {
		pp->output = out;
		if (pp->output_changed)
			pp->output_changed(pp->opaque, out);
	}
}

void i8259_set_irq(struct i8259_pair *pp, unsigned irq, bool level)
{
	if (irq >= 16)
		return;
	i8259_set_line(&pp->chip[irq >> 3], irq & 7, level);
	i8259_update(pp);
}

bool i8259_has_interrupt(const struct i8259_pair *pp)
{
	return pp->output;
}

/* Acknowledge irq on one PIC (the INTA effect on ISR/IRR). */
static void i8259_ack_irq(struct i8259 *p, unsigned irq)
{
	uint8_t bit = (uint8_t)(1u << irq);
	if (p->auto_eoi) {
		if (p->rotate_auto_eoi)
			p->priority_add = (uint8_t)((irq + 1) & 7);
	} else {
		p->isr |= bit;
	}
	/* Edge requests are consumed; level requests stay while the line is up. */
	if (!i8259_level_triggered(p, irq))
		p->irr &= (uint8_t)~bit;
}

static int i8259_vector(struct i8259_pair *pp, bool ack)
{
	struct i8259 *m = &pp->chip[0], *s = &pp->chip[1];
	int irq = i8259_get_irq(m, true);
	if (irq < 0)  /* request vanished: spurious IRQ7, no ISR bit */
		return m->irq_base + 7;
	if (irq != 2 || m->single) {
		if (ack)
			i8259_ack_irq(m, (unsigned)irq);
		return m->irq_base + irq;
	}
	int irq2 = i8259_get_irq(s, false);
	if (ack)
		i8259_ack_irq(m, 2);
	if (irq2 < 0)  /* spurious IRQ15: master IRQ2 is in service */
		return s->irq_base + 7;
	if (ack)
		i8259_ack_irq(s, (unsigned)irq2);
	return s->irq_base + irq2;
}

int i8259_peek_vector(struct i8259_pair *pp)
{
	return i8259_vector(pp, false);
}

int i8259_intack(struct i8259_pair *pp)
{
	int v = i8259_vector(pp, true);
	i8259_update(pp);
	return v;
}

static uint8_t i8259_poll_read(struct i8259_pair *pp, unsigned which)
{
	struct i8259 *p = &pp->chip[which];
	int irq = i8259_get_irq(p, which == 0);
	if (irq < 0)
		return 0;
	/* A master poll answering IRQ2 means: now poll the slave. */
	i8259_ack_irq(p, (unsigned)irq);
	i8259_update(pp);
	return (uint8_t)(0x80 | irq);
}

static void i8259_eoi_irq(struct i8259 *p, unsigned irq, bool rotate)
{
	p->isr &= (uint8_t)~(1u << irq);
	if (rotate)
		p->priority_add = (uint8_t)((irq + 1) & 7);
}

void i8259_write(struct i8259_pair *pp, unsigned which, unsigned port, uint8_t v)
{
	struct i8259 *p = &pp->chip[which & 1];
	if ((port & 1) == 0) {
		if (v & 0x10) {                 /* ICW1 */
			uint8_t lines = p->lines;
			i8259_reset(p, which == 0);
			p->lines = lines;       /* edge sense reset: need a new edge */
			p->init_state = 1;
			p->init4 = v & 1;
			p->single = v & 2;
			p->ltim = v & 8;
			if (p->ltim)
				p->irr = p->lines;
		} else if (v & 0x08) {          /* OCW3 */
			if (v & 0x04)
				p->poll = true;
			if (v & 0x02)
				p->read_isr = v & 1;
			if (v & 0x40)
				p->special_mask = (v >> 5) & 1;
		} else {                        /* OCW2 */
			unsigned cmd = v >> 5, prio;
			switch (cmd) {
			case 0: p->rotate_auto_eoi = false; break;
			case 4: p->rotate_auto_eoi = true; break;
			case 1: /* non-specific EOI */
			case 5: /* rotate on non-specific EOI */
				prio = i8259_priority(p, p->isr);
				if (prio != 8)
					i8259_eoi_irq(p, (prio + p->priority_add) & 7, cmd == 5);
				break;
			case 3: /* specific EOI */
			case 7: /* rotate on specific EOI */
				i8259_eoi_irq(p, v & 7, cmd == 7);
				break;
			case 6: /* set priority: IRQ v&7 becomes the lowest */
				p->priority_add = (uint8_t)((v + 1) & 7);
				break;
			default: break; /* 2: no operation */
			}
		}
	} else {
		switch (p->init_state) {
		case 0: p->imr = v; break;      /* OCW1 */
		case 1:                         /* ICW2 */
			p->irq_base = v & 0xf8;
			p->init_state = p->single ? (p->init4 ? 3 : 0) : 2;
			break;
		case 2:                         /* ICW3 */
			p->icw3 = v;
			p->init_state = p->init4 ? 3 : 0;
			break;
		default:                        /* ICW4 */
			p->sfnm = (v >> 4) & 1;
			p->auto_eoi = (v >> 1) & 1;
			p->init_state = 0;
			break;
		}
	}
	i8259_update(pp);
}

uint8_t i8259_read(struct i8259_pair *pp, unsigned which, unsigned port)
{
	struct i8259 *p = &pp->chip[which & 1];
	if (p->poll) {
		p->poll = false;
		return i8259_poll_read(pp, which & 1);
	}
	if (port & 1)
		return p->imr;
	return p->read_isr ? p->isr : p->irr;
}
