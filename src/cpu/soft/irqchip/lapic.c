/* Local APIC, one per vCPU (Intel SDM vol. 3, "Advanced Programmable
 * Interrupt Controller"): xAPIC MMIO and x2APIC MSR register interfaces over
 * one register model, IPIs, EOI broadcast, LVTs and the timer (one-shot,
 * periodic, TSC-deadline).  Called with the chip lock held. */
#include <errno.h>

#include "irqchip_priv.h"

#define LVT_MASKED       (1u << 16)
#define LVT_TIMER_MODE(v) (((v) >> 17) & 3)
#define TIMER_ONESHOT    0
#define TIMER_PERIODIC   1
#define TIMER_TSCDL      2
#define SVR_ENABLE       (1u << 8)
#define ESR_SEND_ILLEGAL (1u << 5)
#define ESR_RECV_ILLEGAL (1u << 6)
#define ESR_ILLEGAL_REG  (1u << 7)
#define MIN_PERIOD_NS    20000ULL   /* periodic timer interrupts at most 50 kHz */

/* Writable bits of each LVT (timer, thermal, perf, LINT0, LINT1, error). */
static const uint32_t lvt_writable[LVT_NR] = {
	0x700ff, 0x107ff, 0x107ff, 0x1a7ff, 0x1a7ff, 0x100ff,
};

/* Register indexes (offset >> 4). */
enum {
	R_ID = 0x02, R_VER = 0x03, R_TPR = 0x08, R_APR = 0x09, R_PPR = 0x0a,
	R_EOI = 0x0b, R_RRD = 0x0c, R_LDR = 0x0d, R_DFR = 0x0e, R_SVR = 0x0f,
	R_ISR = 0x10, R_TMR = 0x18, R_IRR = 0x20, R_ESR = 0x28, R_ICR = 0x30,
	R_ICR2 = 0x31, R_LVT = 0x32, R_TMICT = 0x38, R_TMCCT = 0x39,
	R_TDCR = 0x3e, R_SELF = 0x3f,
};

static int highest_bit(const uint32_t v[8])
{
	for (int i = 7; i >= 0; i--)
		if (v[i])
			return i * 32 + 31 - __builtin_clz(v[i]);
	return -1;
}

static bool test_bit(const uint32_t v[8], unsigned n) { return v[n >> 5] & (1u << (n & 31)); }
static void set_bit(uint32_t v[8], unsigned n) { v[n >> 5] |= 1u << (n & 31); }
static void clear_bit(uint32_t v[8], unsigned n) { v[n >> 5] &= ~(1u << (n & 31)); }

bool lapic_sw_enabled(const struct soft_lapic *l)
{
	return l->svr & SVR_ENABLE;
}

static bool lapic_x2(const struct soft_lapic *l)
{
	return l->apic_base & APICBASE_X2APIC;
}

static uint32_t lapic_ppr(const struct soft_lapic *l)
{
	int isrv = highest_bit(l->isr);
	uint32_t isr_class = isrv < 0 ? 0 : (uint32_t)isrv & 0xf0;
	if ((l->tpr & 0xf0) >= isr_class)
		return l->tpr & 0xff;
	return isr_class;
}

int lapic_highest_deliverable(struct soft_lapic *l)
{
	int irrv = highest_bit(l->irr);
	if (irrv < 0)
		return -1;
	if (((uint32_t)irrv & 0xf0) <= (lapic_ppr(l) & 0xf0))
		return -1;
	return irrv;
}

void lapic_ack_vector(struct soft_lapic *l, int vector)
{
	clear_bit(l->irr, (unsigned)vector);
	set_bit(l->isr, (unsigned)vector);
}

bool lapic_accepts_pic(struct soft_irqchip *c, unsigned cpu)
{
	struct soft_lapic *l = &c->lapic[cpu];
	if (l->wait_sipi)
		return false;
	if (!(l->apic_base & APICBASE_ENABLE))
		return cpu == 0;  /* no APIC: the PIC's INT is the BSP's INTR pin */
	uint32_t lvt0 = l->lvt[LVT_LINT0];
	if (!(lvt0 & LVT_MASKED) && ((lvt0 >> 8) & 7) == DM_EXTINT)
		return true;
	if (!c->pin0_extint)
		return false;  /* the board's IOAPIC pin 0 is no virtual wire */
	struct apic_msg m = apic_msg_from_ioapic(&c->pin0_route);
	return lapic_match_dest(l, &m);
}

static void timer_disarm(struct soft_irqchip *c, struct soft_lapic *l)
{
	l->timer_deadline_ns = SOFT_NO_DEADLINE;
	c->timers_dirty = true;
}

void lapic_reset(struct soft_irqchip *c, struct soft_lapic *l, bool power_on)
{
	if (power_on) {
		l->id = l->idx;
		l->apic_base = LAYOUT_LAPIC | APICBASE_ENABLE | (l->idx == 0 ? APICBASE_BSP : 0);
	}
	l->tpr = 0;
	l->ldr = lapic_x2(l) ? ((l->idx >> 4) << 16) | (1u << (l->idx & 15)) : 0;
	l->dfr = 0xffffffff;
	l->svr = 0xff;
	l->esr = l->esr_pending = 0;
	l->icr_lo = l->icr_hi = 0;
	for (int i = 0; i < LVT_NR; i++)
		l->lvt[i] = LVT_MASKED;
	for (int i = 0; i < 8; i++)
		l->irr[i] = l->isr[i] = l->tmr[i] = 0;
	l->timer_initial = 0;
	l->timer_dcr = 0;
	l->timer_div = 2;
	l->timer_start_ns = 0;
	l->tsc_deadline = 0;
	timer_disarm(c, l);
	l->nmi_pending = 0;
	l->init_pending = l->sipi_pending = false;
	l->sipi_vector = 0;
	if (power_on) {
		l->wait_sipi = l->idx != 0;
		if (l->idx == 0) {
			/* What a BIOS leaves behind: virtual wire mode, PIC on
			 * LINT0 (ExtINT), NMI on LINT1. */
			l->lvt[LVT_LINT0] = DM_EXTINT << 8;
			l->lvt[LVT_LINT1] = DM_NMI << 8;
		}
	}
}

/* ---- Interrupt acceptance --------------------------------------------- */

static void lapic_error(struct soft_irqchip *c, struct soft_lapic *l, uint32_t bit);

static void lapic_accept(struct soft_irqchip *c, struct soft_lapic *l,
			 const struct apic_msg *m)
{
	switch (m->mode) {
	case DM_FIXED:
	case DM_LOWEST:
		if (!lapic_sw_enabled(l))
			return;
		if (m->vector < 16) {
			lapic_error(c, l, ESR_RECV_ILLEGAL);
			return;
		}
		set_bit(l->irr, m->vector);
		if (m->level)
			set_bit(l->tmr, m->vector);
		else
			clear_bit(l->tmr, m->vector);
		break;
	case DM_NMI:
		if (l->nmi_pending < 2)
			l->nmi_pending++;
		break;
	case DM_INIT:
		if (m->level && !m->assert)
			return;     /* INIT level de-assert: no effect */
		lapic_reset(c, l, false);
		l->wait_sipi = true;
		l->init_pending = true;
		break;
	case DM_SIPI:
		if (!l->wait_sipi || l->sipi_pending)
			return;
		l->sipi_vector = m->vector;
		l->sipi_pending = true;
		break;
	default:
		/* ExtINT is evaluated live (lapic_accepts_pic); SMI ignored. */
		break;
	}
	chip_update_attention(c, l->idx);
}

/* An edge on the LINT1 pin (a PC's NMI line), as its LVT entry says (SDM
 * vol. 3, 10.5.1): ignored while masked (software-disabling the APIC
 * masks every LVT, lapic_set_svr); NMI (always edge) or fixed; other modes
 * are not wired.  With the APIC globally disabled the pin is the
 * processor's NMI input itself (10.4.3). */
void lapic_lint1(struct soft_irqchip *c, struct soft_lapic *l)
{
	uint32_t lvt = l->lvt[LVT_LINT1];
	struct apic_msg m = { .mode = (uint8_t)((lvt >> 8) & 7), .vector = (uint8_t)lvt, .src = -1 };
	if (!(l->apic_base & APICBASE_ENABLE))
		m.mode = DM_NMI;
	else if (lvt & LVT_MASKED)
		return;
	if (m.mode == DM_NMI || m.mode == DM_FIXED)
		lapic_accept(c, l, &m);
}

static void lapic_error(struct soft_irqchip *c, struct soft_lapic *l, uint32_t bit)
{
	l->esr_pending |= bit;
	uint32_t lvt = l->lvt[LVT_ERROR];
	if (!(lvt & LVT_MASKED) && (lvt & 0xff) >= 16) {
		struct apic_msg m = { .mode = DM_FIXED, .vector = (uint8_t)lvt, .src = -1 };
		lapic_accept(c, l, &m);
	}
}

bool lapic_match_dest(struct soft_lapic *l, const struct apic_msg *m)
{
	if (!(l->apic_base & APICBASE_ENABLE))
		return false;
	if (lapic_x2(l)) {
		uint32_t bcast = m->wide ? 0xffffffff : 0xff;
		if (m->dest == bcast)
			return true;
		if (!m->logical)
			return m->dest == l->idx;
		return (m->dest >> 16) == (l->ldr >> 16) && (m->dest & l->ldr & 0xffff);
	}
	uint32_t dest = m->wide ? (m->dest == 0xffffffff ? 0xff : m->dest & 0xff) : m->dest & 0xff;
	if (dest == 0xff)
		return true;
	if (!m->logical)
		return dest == (l->id & 0xff);
	uint32_t ldr = l->ldr >> 24;
	if ((l->dfr >> 28) == 0xf)  /* flat model */
		return (ldr & dest) != 0;
	return (dest >> 4) == (ldr >> 4) && (dest & ldr & 0xf);  /* cluster */
}

static bool msg_targets(struct soft_irqchip *c, const struct apic_msg *m, unsigned cpu)
{
	struct soft_lapic *l = &c->lapic[cpu];
	switch (m->shorthand) {
	case 1: return (int)cpu == m->src;
	case 2: return l->apic_base & APICBASE_ENABLE;
	case 3: return (int)cpu != m->src && (l->apic_base & APICBASE_ENABLE);
	default: return lapic_match_dest(l, m);
	}
}

void lapic_deliver(struct soft_irqchip *c, const struct apic_msg *m)
{
	if (m->mode == DM_LOWEST) {
		/* Lowest priority: the matching APIC with the lowest TPR class
		 * (ties to the lowest index). */
		int best = -1;
		for (unsigned i = 0; i < c->nr_vcpus; i++) {
			if (!msg_targets(c, m, i) || !lapic_sw_enabled(&c->lapic[i]))
				continue;
			if (best < 0 || (c->lapic[i].tpr & 0xf0) < (c->lapic[best].tpr & 0xf0))
				best = (int)i;
		}
		if (best >= 0)
			lapic_accept(c, &c->lapic[best], m);
		return;
	}
	for (unsigned i = 0; i < c->nr_vcpus; i++)
		if (msg_targets(c, m, i))
			lapic_accept(c, &c->lapic[i], m);
}

static void lapic_send_ipi(struct soft_irqchip *c, struct soft_lapic *l, uint64_t icr)
{
	uint32_t lo = (uint32_t)icr;
	struct apic_msg m = {
		.vector = (uint8_t)lo,
		.mode = (uint8_t)((lo >> 8) & 7),
		.logical = lo & (1u << 11),
		.assert = lo & (1u << 14),
		.level = lo & (1u << 15),
		.shorthand = (lo >> 18) & 3,
		.src = (int)l->idx,
	};
	if (lapic_x2(l)) {
		m.dest = (uint32_t)(icr >> 32);
		m.wide = true;
	} else {
		m.dest = l->icr_hi >> 24;
	}
	if ((m.mode == DM_FIXED || m.mode == DM_LOWEST) && m.vector < 16) {
		lapic_error(c, l, ESR_SEND_ILLEGAL);
		return;
	}
	/* INIT/SIPI/NMI/lowest-priority with a 'self' shorthand are invalid;
	 * deliver fixed only. */
	if (m.shorthand == 1 && m.mode != DM_FIXED)
		return;
	c->stats_ipis++;
	lapic_deliver(c, &m);
}

static void lapic_eoi(struct soft_irqchip *c, struct soft_lapic *l)
{
	int v = highest_bit(l->isr);
	if (v < 0)
		return;
	clear_bit(l->isr, (unsigned)v);
	if (test_bit(l->tmr, (unsigned)v))
		set_bit(c->eoi_pending, (unsigned)v);  /* to the board at unlock */
	chip_update_attention(c, l->idx);
}

/* ---- Timer ------------------------------------------------------------ */

static uint64_t timer_period_ns(const struct soft_lapic *l)
{
	return muldiv64((uint64_t)l->timer_initial * l->timer_div, NSEC_PER_SEC, SOFT_APIC_BUS_HZ);
}

static void timer_start(struct soft_irqchip *c, struct soft_lapic *l, uint64_t now)
{
	l->timer_start_ns = now;
	if (l->timer_initial == 0) {
		timer_disarm(c, l);
		return;
	}
	uint64_t p = timer_period_ns(l);
	if (LVT_TIMER_MODE(l->lvt[LVT_TIMER]) == TIMER_PERIODIC && p < MIN_PERIOD_NS)
		p = MIN_PERIOD_NS;
	l->timer_deadline_ns = sat_add(now, p ? p : 1);
	c->timers_dirty = true;
}

static uint32_t timer_current(struct soft_lapic *l, uint64_t now)
{
	unsigned mode = LVT_TIMER_MODE(l->lvt[LVT_TIMER]);
	if (mode == TIMER_TSCDL || l->timer_initial == 0 ||
	    l->timer_deadline_ns == SOFT_NO_DEADLINE)
		return 0;
	uint64_t el = now > l->timer_start_ns ? now - l->timer_start_ns : 0;
	uint64_t ticks = muldiv64(el, SOFT_APIC_BUS_HZ, NSEC_PER_SEC * l->timer_div);
	if (mode == TIMER_PERIODIC)
		ticks %= l->timer_initial;
	else if (ticks >= l->timer_initial)
		return 0;
	return (uint32_t)(l->timer_initial - ticks);
}

void lapic_timer_fire(struct soft_irqchip *c, struct soft_lapic *l, uint64_t now)
{
	uint32_t lvt = l->lvt[LVT_TIMER];
	unsigned mode = LVT_TIMER_MODE(lvt);
	c->stats_timer_fires++;
	if (!(lvt & LVT_MASKED)) {
		struct apic_msg m = { .mode = DM_FIXED, .vector = (uint8_t)lvt, .src = -1 };
		if (m.vector < 16)
			lapic_error(c, l, ESR_RECV_ILLEGAL);
		else
			lapic_accept(c, l, &m);
	}
	if (mode == TIMER_PERIODIC && l->timer_initial) {
		uint64_t p = timer_period_ns(l);
		if (p == 0)
			p = 1;
		uint64_t k = now > l->timer_start_ns ? (now - l->timer_start_ns) / p : 1;
		if (k == 0)
			k = 1;
		l->timer_start_ns += k * p;
		l->timer_deadline_ns = sat_add(l->timer_start_ns, p < MIN_PERIOD_NS ? MIN_PERIOD_NS : p);
	} else {
		l->timer_deadline_ns = SOFT_NO_DEADLINE;
		if (mode == TIMER_TSCDL)
			l->tsc_deadline = 0;
	}
	c->timers_dirty = true;
}

int lapic_tsc_deadline_write(struct soft_irqchip *c, struct soft_lapic *l, uint64_t v)
{
	if (LVT_TIMER_MODE(l->lvt[LVT_TIMER]) != TIMER_TSCDL)
		return 0;  /* ignored outside TSC-deadline mode */
	l->tsc_deadline = v;
	if (v == 0) {
		timer_disarm(c, l);
		return 0;
	}
	uint64_t now = chip_now(c);
	l->timer_start_ns = now;
	l->timer_deadline_ns = soft_irqchip_tsc_to_ns(c, v);
	c->timers_dirty = true;
	if (l->timer_deadline_ns <= now)
		lapic_timer_fire(c, l, now);
	return 0;
}

uint64_t lapic_tsc_deadline_read(struct soft_lapic *l)
{
	if (LVT_TIMER_MODE(l->lvt[LVT_TIMER]) != TIMER_TSCDL)
		return 0;
	return l->tsc_deadline;
}

/* ---- Register interface ----------------------------------------------- */

int lapic_reg_read(struct soft_irqchip *c, struct soft_lapic *l, unsigned reg,
		   bool x2, uint64_t *val)
{
	uint64_t v = 0;
	switch (reg) {
	case R_ID:
		v = x2 ? l->idx : (uint32_t)l->id << 24;
		break;
	case R_VER: v = SOFT_LAPIC_VERSION; break;
	case R_TPR: v = l->tpr; break;
	case R_APR: if (x2) return -EINVAL; v = 0; break;
	case R_PPR: v = lapic_ppr(l); break;
	case R_EOI: if (x2) return -EINVAL; break;
	case R_RRD: if (x2) return -EINVAL; break;
	case R_LDR: v = l->ldr; break;
	case R_DFR: if (x2) return -EINVAL; v = l->dfr; break;
	case R_SVR: v = l->svr; break;
	case R_ESR: v = l->esr; break;
	case R_ICR:
		v = l->icr_lo;
		if (x2)
			v |= (uint64_t)l->icr_hi << 32;
		break;
	case R_ICR2: if (x2) return -EINVAL; v = l->icr_hi; break;
	case R_TMICT: v = l->timer_initial; break;
	case R_TMCCT: v = timer_current(l, chip_now(c)); break;
	case R_TDCR: v = l->timer_dcr; break;
	case R_SELF: if (x2) return -EINVAL; break;
	default:
		if (reg >= R_ISR && reg < R_ISR + 8)
			v = l->isr[reg - R_ISR];
		else if (reg >= R_TMR && reg < R_TMR + 8)
			v = l->tmr[reg - R_TMR];
		else if (reg >= R_IRR && reg < R_IRR + 8)
			v = l->irr[reg - R_IRR];
		else if (reg >= R_LVT && reg < R_LVT + LVT_NR)
			v = l->lvt[reg - R_LVT];
		else if (x2)
			return -EINVAL;
		break;
	}
	*val = v;
	return 0;
}

static void lapic_set_svr(struct soft_irqchip *c, struct soft_lapic *l, uint32_t v)
{
	/* vector, APIC enable, focus check; EOI-broadcast suppression is not
	 * advertised, so bit 12 is reserved. */
	l->svr = v & 0x3ff;
	if (!lapic_sw_enabled(l)) {
		for (int i = 0; i < LVT_NR; i++)
			l->lvt[i] |= LVT_MASKED;
	}
	chip_update_attention(c, l->idx);
}

static void lapic_set_lvt(struct soft_irqchip *c, struct soft_lapic *l, unsigned i, uint32_t v)
{
	v &= lvt_writable[i];
	if (!lapic_sw_enabled(l))
		v |= LVT_MASKED;
	if (i == LVT_TIMER) {
		if (LVT_TIMER_MODE(v) == 3)
			v &= ~(3u << 17);        /* reserved mode: one-shot */
		/* SDM vol. 3, 10.5.4.1: a transition to or from TSC-deadline
		 * mode disarms the timer; between one-shot and periodic the
		 * count goes on from where it is (periodic then reloads it at
		 * zero, one-shot stops there: lapic_timer_fire reads the mode
		 * when it fires). */
		unsigned old_mode = LVT_TIMER_MODE(l->lvt[LVT_TIMER]);
		if (LVT_TIMER_MODE(v) != old_mode) {
			/* an expiry already due (the poll has not run yet)
			 * happened in the old mode: a one-shot count that
			 * reached zero stays there */
			uint64_t now = chip_now(c);
			if (l->timer_deadline_ns != SOFT_NO_DEADLINE && now >= l->timer_deadline_ns)
				lapic_timer_fire(c, l, now);
			if (LVT_TIMER_MODE(v) == TIMER_TSCDL || old_mode == TIMER_TSCDL) {
				l->tsc_deadline = 0;
				timer_disarm(c, l);
			}
		}
	}
	l->lvt[i] = v;
	chip_update_attention(c, l->idx);  /* LINT0 ExtINT may have changed */
}

int lapic_reg_write(struct soft_irqchip *c, struct soft_lapic *l, unsigned reg,
		    uint64_t v64, bool x2)
{
	uint32_t v = (uint32_t)v64;
	uint64_t now;
	switch (reg) {
	case R_ID:
		if (x2)
			return -EINVAL;
		l->id = v >> 24;
		break;
	case R_TPR:
		l->tpr = v & 0xff;
		chip_update_attention(c, l->idx);
		break;
	case R_EOI:
		if (x2 && v64)
			return -EINVAL;
		lapic_eoi(c, l);
		break;
	case R_LDR:
		if (x2)
			return -EINVAL;
		l->ldr = v & 0xff000000;
		break;
	case R_DFR:
		if (x2)
			return -EINVAL;
		l->dfr = (v & 0xf0000000) | 0x0fffffff;
		break;
	case R_SVR:
		lapic_set_svr(c, l, v);
		break;
	case R_ESR:
		if (x2 && v64)
			return -EINVAL;
		l->esr = l->esr_pending;  /* a write latches the errors seen */
		l->esr_pending = 0;
		break;
	case R_ICR:
		if (x2) {
			l->icr_hi = (uint32_t)(v64 >> 32);
			l->icr_lo = v & 0x000cdfff;
			lapic_send_ipi(c, l, (v64 & 0xffffffff000cdfffULL));
		} else {
			l->icr_lo = v & 0x000cdfff;
			lapic_send_ipi(c, l, l->icr_lo);
		}
		break;
	case R_ICR2:
		if (x2)
			return -EINVAL;
		l->icr_hi = v & 0xff000000;
		break;
	case R_TMICT:
		if (LVT_TIMER_MODE(l->lvt[LVT_TIMER]) == TIMER_TSCDL)
			break;               /* ignored in TSC-deadline mode */
		l->timer_initial = v;
		timer_start(c, l, chip_now(c));
		break;
	case R_TDCR: {
		now = chip_now(c);
		uint32_t cur = timer_current(l, now);
		l->timer_dcr = v & 0xb;
		unsigned d = (l->timer_dcr & 3) | ((l->timer_dcr >> 1) & 4);
		l->timer_div = 1u << ((d + 1) & 7);
		/* A running count continues from where it is at the new rate. */
		if (l->timer_deadline_ns != SOFT_NO_DEADLINE && cur &&
		    LVT_TIMER_MODE(l->lvt[LVT_TIMER]) != TIMER_TSCDL) {
			uint64_t left = muldiv64((uint64_t)cur * l->timer_div, NSEC_PER_SEC,
						 SOFT_APIC_BUS_HZ);
			uint64_t p = timer_period_ns(l);
			l->timer_start_ns = now + left > p ? now + left - p : 0;
			l->timer_deadline_ns = sat_add(now, left ? left : 1);
			c->timers_dirty = true;
		}
		break;
	}
	case R_SELF:
		if (!x2)
			return -EINVAL;
		lapic_send_ipi(c, l, (v & 0xff) | (1u << 18));
		break;
	default:
		if (reg >= R_LVT && reg < R_LVT + LVT_NR) {
			lapic_set_lvt(c, l, reg - R_LVT, v);
			break;
		}
		if (x2)
			return -EINVAL;  /* read-only or reserved */
		break;
	}
	return 0;
}

/* x2APIC reserved-bit checking (SDM vol. 3, 10.12.1.3): a WRMSR that sets a
 * bit no field of the register defines raises #GP.  Read-only status bits
 * (LVT delivery status, remote IRR) are fields: writes of them are ignored.
 * Registers that have no writable field at all (ID, version, PPR, LDR, ISR,
 * TMR, IRR, current count, reserved MSRs) are refused by lapic_reg_write. */
bool lapic_x2_reserved_bits(unsigned reg, uint64_t v)
{
	uint64_t ok;
	switch (reg) {
	case R_TPR:   ok = 0xff; break;
	case R_EOI:   ok = 0; break;               /* only 0 may be written */
	case R_SVR:   ok = 0x3ff; break;           /* no EOI-broadcast suppression */
	case R_ESR:   ok = 0; break;
	/* 64-bit ICR: vector, delivery and destination mode, level, trigger,
	 * shorthand, 32-bit destination; bit 12 (delivery status) is gone in
	 * x2APIC mode (10.12.9), bits 13, 16-17 and 20-31 are reserved. */
	case R_ICR:   ok = 0xffffffff000ccfffULL; break;
	case R_TMICT: ok = 0xffffffff; break;
	case R_TDCR:  ok = 0xb; break;
	case R_SELF:  ok = 0xff; break;            /* 10.12.11: vector only */
	default:
		if (reg >= R_LVT && reg < R_LVT + LVT_NR) {
			unsigned i = reg - R_LVT;
			ok = lvt_writable[i] | (1u << 12) |
			     (i == LVT_LINT0 || i == LVT_LINT1 ? 1u << 14 : 0);
			if (i == LVT_TIMER)
				ok |= 1u << 18;    /* mode 3 is reserved but encodable */
			break;
		}
		return false;  /* lapic_reg_write decides (read-only: #GP) */
	}
	return (v & ~ok) != 0;
}

int lapic_apicbase_write(struct soft_irqchip *c, struct soft_lapic *l, uint64_t v)
{
	/* The base is limited by MAXPHYADDR (40, CPUID 0x80000008); bits 0-7,
	 * 9 and 40-63 are reserved (SDM vol. 3, figure 10-5). */
	const uint64_t allowed = (((1ULL << SOFT_LAPIC_MAXPHYADDR) - 1) & ~0xfffULL) |
				 APICBASE_BSP | APICBASE_X2APIC | APICBASE_ENABLE;
	if (v & ~allowed)
		return -EINVAL;
	bool en = v & APICBASE_ENABLE, x2 = v & APICBASE_X2APIC;
	bool old_en = l->apic_base & APICBASE_ENABLE, old_x2 = lapic_x2(l);
	if (x2 && !en)
		return -EINVAL;             /* invalid state */
	if (old_x2 && en && !x2)
		return -EINVAL;             /* x2APIC -> xAPIC must go via disabled */
	if (!old_en && x2)
		return -EINVAL;             /* disabled -> x2APIC must go via xAPIC */
	v = (v & ~APICBASE_BSP) | (l->apic_base & APICBASE_BSP);
	l->apic_base = v;
	if (old_en && !en) {
		/* Globally disabled: the APIC returns to its power-up state
		 * (10.4.3, 10.4.7.1): IRR/ISR/TMR/ICR/LDR/TPR/DCR and the timer
		 * cleared, LVTs masked, SVR 0xff, DFR all ones, the ID the one
		 * the hardware assigned (10.12.5.1: the x2APIC ID survives).  An
		 * AP still waiting for its SIPI keeps waiting. */
		bool waiting = l->wait_sipi;
		lapic_reset(c, l, false);
		l->wait_sipi = waiting;
		l->id = l->idx;
	}
	if (x2 && !old_x2) {
		l->ldr = ((l->idx >> 4) << 16) | (1u << (l->idx & 15));
		l->id = l->idx;
	}
	chip_update_attention(c, l->idx);
	return 0;
}
