/* Interrupt lines.  A device holds a struct irq_line and raises or lowers it;
 * which interrupt controller is behind the line (KVM's in-kernel irqchip, the
 * soft engine's PIC/IOAPIC model) is hidden behind the router. */
#ifndef RINGVM_IRQ_H
#define RINGVM_IRQ_H

#include <stdbool.h>

/* Implemented by the engine that owns the interrupt controllers. */
struct irq_router {
	int (*set_level)(void *opaque, unsigned gsi, bool level);
	void *opaque;
};

struct irq_line {
	const struct irq_router *router;
	unsigned gsi;
};

static inline void irq_line_init(struct irq_line *l, const struct irq_router *r,
				 unsigned gsi)
{
	l->router = r;
	l->gsi = gsi;
}

static inline void irq_line_set(struct irq_line *l, bool level)
{
	if (l->router && l->router->set_level)
		l->router->set_level(l->router->opaque, l->gsi, level);
}

static inline void irq_line_raise(struct irq_line *l) { irq_line_set(l, true); }
static inline void irq_line_lower(struct irq_line *l) { irq_line_set(l, false); }

/* Edge: raise then lower. */
static inline void irq_line_pulse(struct irq_line *l)
{
	irq_line_set(l, true);
	irq_line_set(l, false);
}

#endif
