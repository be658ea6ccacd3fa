/* 8259A programmable interrupt controller pair (master 0x20/0x21, slave
 * 0xa0/0xa1, slave cascaded on master IRQ2) and the ELCR (0x4d0/0x4d1).
 * Modelled from the Intel 8259A datasheet.  Called with the chip lock held. */
#include "irqchip_priv.h"

void pic_reset(struct soft_pic *p, bool master)
{
	uint8_t elcr = p->elcr;
	*p = (struct soft_pic){ 0 };
	p->elcr = elcr;
	/* IRQ0, 1, 2 (master) and 8, 13 (slave) are always edge-triggered. */
	p->elcr_mask = master ? 0xf8 : 0xde;
	p->elcr &= p->elcr_mask;
}

/* Priority (0 highest) of the highest-priority bit of mask; 8 if none. */
static unsigned pic_priority(const struct soft_pic *p, uint8_t mask)
{
	if (!mask)
		return 8;
	for (unsigned prio = 0; prio < 8; prio++)
		if (mask & (1u << ((prio + p->priority_add) & 7)))
			return prio;
	return 8;
}

/* The IRQ this PIC would present on INT, or -1. */
static int pic_get_irq(const struct soft_pic *p, bool master)
{
	unsigned prio = pic_priority(p, p->irr & ~p->imr);
	if (prio == 8)
		return -1;
	uint8_t in_service = p->isr;
	if (p->special_mask)
		in_service &= ~p->imr;
	/* Special fully nested mode: a slave in service does not block other
	 * slave IRQs (the master's IRQ2 ISR bit is ignored). */
	if (master && p->sfnm)
		in_service &= ~(1u << 2);
	unsigned cur = pic_priority(p, in_service);
	if (prio < cur)
		return (int)((prio + p->priority_add) & 7);
	return -1;
}

static bool pic_level_triggered(const struct soft_pic *p, unsigned irq)
{
	return p->ltim || (p->elcr & (1u << irq));
}

static void pic_set_line(struct soft_pic *p, unsigned irq, bool level)
{
	uint8_t bit = (uint8_t)(1u << irq);
	if (pic_level_triggered(p, irq)) {
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
void pic_update(struct soft_irqchip *c)
{
	/* The cascade input latches like an edge (so a slave request that
	 * vanishes before INTA gives spurious IRQ15) and re-requests while the
	 * slave's INT stays high (auto-EOI slave with more requests). */
	bool slave = pic_get_irq(&c->pic[1], false) >= 0;
	pic_set_line(&c->pic[0], 2, slave);
	if (slave)
		c->pic[0].irr |= 1u << 2;
	bool out = pic_get_irq(&c->pic[0], true) >= 0;
	if (out != c->pic_output) {
		c->pic_output = out;
		ioapic_set_irq(c, 0, out);
		chip_update_all_attention(c);
	}
}

void pic_set_irq(struct soft_irqchip *c, unsigned irq, bool level)
{
	if (irq >= 16)
		return;
	pic_set_line(&c->pic[irq >> 3], irq & 7, level);
	pic_update(c);
}

bool pic_has_interrupt(struct soft_irqchip *c)
{
	return c->pic_output;
}

/* Acknowledge irq on one PIC (the INTA effect on ISR/IRR). */
static void pic_ack_irq(struct soft_pic *p, unsigned irq)
{
	uint8_t bit = (uint8_t)(1u << irq);
	if (p->auto_eoi) {
		if (p->rotate_auto_eoi)
			p->priority_add = (uint8_t)((irq + 1) & 7);
	} else {
		p->isr |= bit;
	}
	/* Edge requests are consumed; level requests stay while the line is up. */
	if (!pic_level_triggered(p, irq))
		p->irr &= (uint8_t)~bit;
}

static int pic_vector(struct soft_irqchip *c, bool ack)
{
	struct soft_pic *m = &c->pic[0], *s = &c->pic[1];
	int irq = pic_get_irq(m, true);
	if (irq < 0)  /* request vanished: spurious IRQ7, no ISR bit */
		return m->irq_base + 7;
	if (irq != 2 || m->single) {
		if (ack)
			pic_ack_irq(m, (unsigned)irq);
		return m->irq_base + irq;
	}
	int irq2 = pic_get_irq(s, false);
	if (ack)
		pic_ack_irq(m, 2);
	if (irq2 < 0)  /* spurious IRQ15: master IRQ2 is in service */
		return s->irq_base + 7;
	if (ack)
		pic_ack_irq(s, (unsigned)irq2);
	return s->irq_base + irq2;
}

int pic_peek_vector(struct soft_irqchip *c)
{
	return pic_vector(c, false);
}

int pic_intack(struct soft_irqchip *c)
{
	int v = pic_vector(c, true);
	pic_update(c);
	return v;
}

static uint8_t pic_poll_read(struct soft_irqchip *c, unsigned which)
{
	struct soft_pic *p = &c->pic[which];
	int irq = pic_get_irq(p, which == 0);
	if (irq < 0)
		return 0;
	/* A master poll answering IRQ2 means: now poll the slave. */
	pic_ack_irq(p, (unsigned)irq);
	pic_update(c);
	return (uint8_t)(0x80 | irq);
}

static void pic_eoi_irq(struct soft_pic *p, unsigned irq, bool rotate)
{
	p->isr &= (uint8_t)~(1u << irq);
	if (rotate)
		p->priority_add = (uint8_t)((irq + 1) & 7);
}

void pic_write(struct soft_irqchip *c, unsigned which, unsigned port, uint8_t v)
{
	struct soft_pic *p = &c->pic[which & 1];
	if ((port & 1) == 0) {
		if (v & 0x10) {                 /* ICW1 */
			uint8_t lines = p->lines;
			pic_reset(p, which == 0);
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
				prio = pic_priority(p, p->isr);
				if (prio != 8)
					pic_eoi_irq(p, (prio + p->priority_add) & 7, cmd == 5);
				break;
			case 3: /* specific EOI */
			case 7: /* rotate on specific EOI */
				pic_eoi_irq(p, v & 7, cmd == 7);
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
	pic_update(c);
}

uint8_t pic_read(struct soft_irqchip *c, unsigned which, unsigned port)
{
	struct soft_pic *p = &c->pic[which & 1];
	if (p->poll) {
		p->poll = false;
		return pic_poll_read(c, which & 1);
	}
	if (port & 1)
		return p->imr;
	return p->read_isr ? p->isr : p->irr;
}
