/* The soft chips to and from the neutral state of include/ringvm/
 * irqchip_state.h (snapshots, docs/snapshot.md).  Times are machine-clock
 * nanoseconds on both sides (the chip's clock is vm_clock_ns), so they copy
 * as they are.  Loading checks every field that indexes or bounds
 * something: a snapshot file is user input. */
#include <errno.h>
#include <string.h>

#include "irqchip_priv.h"

static void pic_get(const struct i8259 *p, struct pic_state *s)
{
	*s = (struct pic_state){
		.irr = p->irr, .imr = p->imr, .isr = p->isr, .lines = p->lines,
		.elcr = p->elcr, .elcr_mask = p->elcr_mask, .priority_add = p->priority_add,
		.irq_base = p->irq_base, .init_state = p->init_state, .icw3 = p->icw3,
		.init4 = p->init4, .single = p->single, .read_isr = p->read_isr, .poll = p->poll,
		.special_mask = p->special_mask, .auto_eoi = p->auto_eoi,
		.rotate_auto_eoi = p->rotate_auto_eoi, .sfnm = p->sfnm, .ltim = p->ltim,
	};
}

static int pic_set(struct i8259 *p, const struct pic_state *s)
{
	if (s->init_state > 3 || s->priority_add > 7)
		return -EINVAL;
	p->irr = s->irr;
	p->imr = s->imr;
	p->isr = s->isr;
	p->lines = s->lines;
	p->elcr = s->elcr & p->elcr_mask;  /* the board's mask stays */
	p->priority_add = s->priority_add;
	p->irq_base = s->irq_base & 0xf8;
	p->init_state = s->init_state;
	p->icw3 = s->icw3;
	p->init4 = s->init4;
	p->single = s->single;
	p->read_isr = s->read_isr;
	p->poll = s->poll;
	p->special_mask = s->special_mask;
	p->auto_eoi = s->auto_eoi;
	p->rotate_auto_eoi = s->rotate_auto_eoi;
	p->sfnm = s->sfnm;
	p->ltim = s->ltim;
	return 0;
}

static void pit_ch_get(const struct i8254_channel *ch, struct pit_channel_state *s)
{
	*s = (struct pit_channel_state){
		.mode = ch->mode, .rw_mode = ch->rw_mode, .bcd = ch->bcd, .loaded = ch->loaded,
		.counting = ch->counting, .paused = ch->paused, .gate = ch->gate,
		.null_count = ch->null_count, .count = ch->count, .count_reg = ch->count_reg,
		.latch = ch->latch, .start_ns = ch->start_ns, .ticks_at_start = ch->elapsed_base,
		.edges_seen = ch->edges_seen, .write_msb_next = ch->write_msb_next,
		.read_msb_next = ch->read_msb_next, .write_lsb = ch->write_lsb,
		.latch_state = ch->latch_state, .status_latched = ch->status_latched,
		.status = ch->status,
	};
}

static int pit_ch_set(struct i8254_channel *ch, const struct pit_channel_state *s)
{
	if (s->mode > 5 || s->rw_mode < 1 || s->rw_mode > 3 || s->count < 1 ||
	    s->count > 65536 || s->latch_state > 4)
		return -EINVAL;
	ch->mode = s->mode;
	ch->rw_mode = s->rw_mode;
	ch->bcd = s->bcd;
	ch->loaded = s->loaded;
	ch->counting = s->counting;
	ch->paused = s->paused;
	ch->gate = s->gate;
	ch->null_count = s->null_count;
	ch->count = s->count;
	ch->count_reg = s->count_reg;
	ch->latch = s->latch;
	ch->start_ns = s->start_ns;
	ch->elapsed_base = s->ticks_at_start;
	ch->edges_seen = s->edges_seen;
	ch->write_msb_next = s->write_msb_next;
	ch->read_msb_next = s->read_msb_next;
	ch->write_lsb = s->write_lsb;
	ch->latch_state = s->latch_state;
	ch->status_latched = s->status_latched;
	ch->status = s->status;
	return 0;
}

int soft_irqchip_get_state(struct soft_irqchip *c, struct irqchip_state *s)
{
	memset(s, 0, sizeof(*s));
	chip_lock(c);
	for (int i = 0; i < 2; i++)
		pic_get(&c->pic.chip[i], &s->pic[i]);
	for (int i = 0; i < 3; i++)
		pit_ch_get(&c->pit.ch[i], &s->pit.ch[i]);
	s->pit.port61 = c->pit.port61;
	s->ioapic.id = c->ioapic.id;
	s->ioapic.regsel = c->ioapic.regsel;
	_Static_assert(SOFT_IOAPIC_PINS == IRQCHIP_IOAPIC_PINS, "IOAPIC pins");
	memcpy(s->ioapic.redir, c->ioapic.redir, sizeof(s->ioapic.redir));
	s->ioapic.lines = c->ioapic.lines;
	s->tsc_hz = c->tsc_hz;
	s->tsc_epoch_ns = c->tsc_epoch_ns;
	s->pic_output = c->pic.output;
	chip_unlock(c);
	return 0;
}

int soft_irqchip_set_state(struct soft_irqchip *c, const struct irqchip_state *s)
{
	if (!s->tsc_hz || s->tsc_hz > 100000000000ULL)
		return -EINVAL;
	chip_lock(c);
	int r = 0;
	for (int i = 0; i < 2 && !r; i++)
		r = pic_set(&c->pic.chip[i], &s->pic[i]);
	for (int i = 0; i < 3 && !r; i++)
		r = pit_ch_set(&c->pit.ch[i], &s->pit.ch[i]);
	if (!r) {
		c->pit.port61 = s->pit.port61 & 0xf;
		c->ioapic.id = s->ioapic.id & 0x0f000000u;
		c->ioapic.regsel = s->ioapic.regsel & 0xff;
		memcpy(c->ioapic.redir, s->ioapic.redir, sizeof(c->ioapic.redir));
		c->ioapic.lines = s->ioapic.lines & ((1u << SOFT_IOAPIC_PINS) - 1);
		c->tsc_hz = s->tsc_hz;
		c->tsc_epoch_ns = s->tsc_epoch_ns;
		c->pic.output = s->pic_output != 0;
		chip_update_all_attention(c);
		c->timers_dirty = true;
	}
	chip_unlock(c);
	return r;
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
	l->nmi_pending = s->nmi_pending;
	l->init_pending = s->init_pending;
	l->sipi_pending = s->sipi_pending;
	l->wait_sipi = s->wait_sipi;
	l->sipi_vector = s->sipi_vector;
	chip_update_all_attention(c);
	c->timers_dirty = true;
	chip_unlock(c);
	return 0;
}
