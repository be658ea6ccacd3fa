/* The board's 8259 pair, 8254 and IOAPIC to and from the neutral state of
 * include/ringvm/irqchip_state.h (snapshots, docs/snapshot.md); the engine
 * converts its local APICs and the TSC.  Times are machine-clock
 * nanoseconds on both sides (the board's clock is vm_clock_ns), so they copy
 * as they are.  Loading checks every field that indexes or bounds
 * something: a snapshot file is user input. */
#include <errno.h>
#include <string.h>

#include "board_irqchip.h"

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

int board_irqchip_get_state(struct board_irqchip *b, struct irqchip_state *s)
{
	pthread_mutex_lock(&b->lock);
	for (int i = 0; i < 2; i++)
		pic_get(&b->pic.chip[i], &s->pic[i]);
	for (int i = 0; i < 3; i++)
		pit_ch_get(&b->pit.ch[i], &s->pit.ch[i]);
	s->pit.port61 = b->pit.port61;
	s->ioapic.id = b->ioapic.id;
	s->ioapic.regsel = b->ioapic.regsel;
	_Static_assert(IOAPIC_PINS == IRQCHIP_IOAPIC_PINS, "IOAPIC pins");
	memcpy(s->ioapic.redir, b->ioapic.redir, sizeof(s->ioapic.redir));
	s->ioapic.lines = b->ioapic.lines;
	s->pic_output = b->pic.output;
	pthread_mutex_unlock(&b->lock);
	return 0;
}

int board_irqchip_set_state(struct board_irqchip *b, const struct irqchip_state *s)
{
	/* Checked on copies first: a refused state leaves the chips as they were. */
	struct i8259_pair pic;
	struct i8254 pit;
	pthread_mutex_lock(&b->lock);
	pic = b->pic;
	pit = b->pit;
	int r = 0;
	for (int i = 0; i < 2 && !r; i++)
		r = pic_set(&pic.chip[i], &s->pic[i]);
	for (int i = 0; i < 3 && !r; i++)
		r = pit_ch_set(&pit.ch[i], &s->pit.ch[i]);
	if (!r) {
		pic.output = s->pic_output != 0;
		b->pic = pic;
		b->pit = pit;
		b->pit.port61 = s->pit.port61 & 0xf;
		b->ioapic.id = s->ioapic.id & 0x0f000000u;
		b->ioapic.regsel = s->ioapic.regsel & 0xff;
		memcpy(b->ioapic.redir, s->ioapic.redir, sizeof(b->ioapic.redir));
		b->ioapic.lines = s->ioapic.lines & ((1u << IOAPIC_PINS) - 1);
		/* the LAPICs learn the loaded ExtINT state */
		if (b->sink && b->sink->extint) {
			struct ioapic_msg route;
			bool routed = ioapic_extint_route(&b->ioapic, &route);
			b->sink->extint(b->sink->opaque, b->pic.output, routed ? &route : NULL);
		}
		atomic_store_explicit(&b->next_poll_ns, i8254_next_deadline(&b->pit),
				      memory_order_relaxed);
	}
	pthread_mutex_unlock(&b->lock);
	return r;
}
