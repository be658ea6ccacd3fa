/* Interrupt lines.  A device holds a struct irq_line and raises or lowers it;
 * which interrupt controller is behind the line (KVM's in-kernel irqchip, the
 * soft engine's PIC/IOAPIC model) is hidden behind the router. */
#ifndef RINGVM_IRQ_H
#define RINGVM_IRQ_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

/* Implemented by the engine that owns the interrupt controllers. */
struct irq_router {
	int (*set_level)(void *opaque, unsigned gsi, bool level);
	void *opaque;
	/* A message-signalled interrupt (PCI MSI/MSI-X): a DWORD write of data
	 * to addr in the 0xFEExxxxx range (Intel SDM vol. 3, 11.11 "Message
	 * Signalled Interrupts").  The engine decodes it like an IOAPIC
	 * redirection entry.  NULL: the engine has no MSI path.  Returns 0, or
	 * -EINVAL for an address outside the MSI range (the write is dropped,
	 * as on hardware where it would be an ordinary memory write). */
	int (*send_msi)(void *opaque, uint64_t addr, uint32_t data);
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

/* Send an MSI through the router (-ENOSYS when the engine has none). */
static inline int irq_send_msi(const struct irq_router *r, uint64_t addr, uint32_t data)
{
	if (!r || !r->send_msi)
		return -ENOSYS;
	return r->send_msi(r->opaque, addr, data);
}

/* Edge: raise then lower. */
static inline void irq_line_pulse(struct irq_line *l)
{
	irq_line_set(l, true);
	irq_line_set(l, false);
}

#endif
