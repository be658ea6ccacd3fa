/* The soft engine's LAPICs and guest TSC to and from the neutral state of
 * include/ringvm/irqchip_state.h (snapshots, docs/snapshot.md).  Times are machine-clock
 * nanoseconds on both sides (the chip's clock is vm_clock_ns), so they copy
 * as they are.  Loading checks every field that indexes or bounds
 * something: a snapshot file is user input. */
#include <errno.h>
#include <string.h>

#include "irqchip_priv.h"

/* The engine's part of the VM-wide state: the guest TSC's origin (the
 * board converts its PIC, PIT and IOAPIC: board_irqchip_state.c). */
int soft_irqchip_get_state(struct soft_irqchip *c, struct irqchip_state *s)
{
	chip_lock(c);
	s->tsc_hz = c->tsc_hz;
	s->tsc_epoch_ns = c->tsc_epoch_ns;
	chip_unlock(c);
	return 0;
}

int soft_irqchip_set_state(struct soft_irqchip *c, const struct irqchip_state *s)
{
	if (!s->tsc_hz || s->tsc_hz > 100000000000ULL)
		return -EINVAL;
	chip_lock(c);
	c->tsc_hz = s->tsc_hz;
	c->tsc_epoch_ns = s->tsc_epoch_ns;
	chip_update_all_attention(c);
	c->timers_dirty = true;
	chip_unlock(c);
	return 0;
}

int soft_irqchip_get_lapic(struct soft_irqchip *c, unsigned cpu, struct lapic_state *s)
{
	if (cpu >= c->nr_vcpus)
		return -EINVAL;
	memset(s, 0, sizeof(*s));
	chip_lock(c);
	const struct soft_lapic *l = &c->lapic[cpu];
	s->id = l->id;
	s->tpr = l->tpr;
	s->ldr = l->ldr;
	s->dfr = l->dfr;
	s->svr = l->svr;
	s->esr = l->esr;
	s->esr_pending = l->esr_pending;
	s->icr_lo = l->icr_lo;
	s->icr_hi = l->icr_hi;
	_Static_assert(LVT_NR == IRQCHIP_LAPIC_LVT, "LVT count");
	memcpy(s->lvt, l->lvt, sizeof(s->lvt));
	memcpy(s->irr, l->irr, sizeof(s->irr));
	memcpy(s->isr, l->isr, sizeof(s->isr));
	memcpy(s->tmr, l->tmr, sizeof(s->tmr));
	s->timer_initial = l->timer_initial;
	s->timer_dcr = l->timer_dcr;
	s->apic_base = l->apic_base;
	s->timer_start_ns = l->timer_start_ns;
	s->timer_deadline_ns = l->timer_deadline_ns;
	s->tsc_deadline = l->tsc_deadline;
	s->nmi_pending = l->nmi_pending;
	s->init_pending = l->init_pending;
	s->sipi_pending = l->sipi_pending;
	s->wait_sipi = l->wait_sipi;
	s->sipi_vector = l->sipi_vector;
	chip_unlock(c);
	return 0;
}

int soft_irqchip_set_lapic(struct soft_irqchip *c, unsigned cpu, const struct lapic_state *s)
{
	if (cpu >= c->nr_vcpus)
		return -EINVAL;
	/* IA32_APIC_BASE's reserved bits (SDM Vol. 3A, 11.4.4) */
	if ((s->apic_base >> SOFT_LAPIC_MAXPHYADDR) ||
	    (s->apic_base & 0xfff & ~(APICBASE_BSP | APICBASE_X2APIC | APICBASE_ENABLE)))
		return -EINVAL;
	chip_lock(c);
	struct soft_lapic *l = &c->lapic[cpu];
	l->id = s->id;
	l->tpr = s->tpr & 0xff;
	l->ldr = s->ldr;
	l->dfr = s->dfr;
	l->svr = s->svr & 0x13ff;
	l->esr = s->esr;
	l->esr_pending = s->esr_pending;
	l->icr_lo = s->icr_lo;
	l->icr_hi = s->icr_hi;
	memcpy(l->lvt, s->lvt, sizeof(l->lvt));
	memcpy(l->irr, s->irr, sizeof(l->irr));
	memcpy(l->isr, s->isr, sizeof(l->isr));
	memcpy(l->tmr, s->tmr, sizeof(l->tmr));
	l->timer_initial = s->timer_initial;
	l->timer_dcr = s->timer_dcr & 0xb;
	unsigned d = (l->timer_dcr & 3) | ((l->timer_dcr >> 1) & 4);
	l->timer_div = 1u << ((d + 1) & 7);  /* SDM Vol. 3A, Figure 11-10 */
	l->apic_base = s->apic_base;
	l->timer_start_ns = s->timer_start_ns;
	l->timer_deadline_ns = s->timer_deadline_ns;
	l->tsc_deadline = s->tsc_deadline;
	l->nmi_pending = s->nmi_pending > 2 ? 2 : s->nmi_pending;
	l->init_pending = s->init_pending;
	l->sipi_pending = s->sipi_pending;
	l->wait_sipi = s->wait_sipi;
	l->sipi_vector = s->sipi_vector;
	chip_update_all_attention(c);
	c->timers_dirty = true;
	chip_unlock(c);
	return 0;
}
