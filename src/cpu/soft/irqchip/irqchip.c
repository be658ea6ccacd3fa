/* The soft engine's interrupt chip: owns the local APICs, is the board
 * irqchip's lapic_sink (IOAPIC and MSI messages, the PIC's ExtINT), and
 * answers the per-vCPU queries the engine makes.  See irqchip.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "irqchip_priv.h"
#include "tsc_scale.h"
#include "ringvm/clock.h"
#include "ringvm/log.h"
#include "ringvm/vm.h"

static uint64_t default_clock(void *opaque)
{
	(void)opaque;
	return clock_monotonic_ns();
}

uint64_t chip_now(struct soft_irqchip *c)
{
	return c->clock(c->clock_opaque);
}

uint64_t soft_irqchip_now(struct soft_irqchip *c)
{
	return chip_now(c);
}

void chip_lock(struct soft_irqchip *c)
{
	pthread_mutex_lock(&c->lock);
}

void chip_recompute_deadline(struct soft_irqchip *c)
{
	uint64_t next = SOFT_NO_DEADLINE;
	for (unsigned i = 0; i < c->nr_vcpus; i++)
		if (c->lapic[i].timer_deadline_ns < next)
			next = c->lapic[i].timer_deadline_ns;
	atomic_store_explicit(&c->next_poll_ns, next, memory_order_relaxed);
	c->timers_dirty = false;
}

void chip_unlock(struct soft_irqchip *c)
{
	if (c->timers_dirty)
		chip_recompute_deadline(c);
	uint64_t wake = c->wake_mask;
	soft_wake_fn fn = c->wake;
	void *opaque = c->wake_opaque;
	c->wake_mask = 0;
	/* EOI broadcasts for the board's IOAPIC wait for the unlock: the
	 * board's lock comes before this one. */
	uint32_t eoi[8];
	bool any_eoi = false;
	for (unsigned i = 0; i < 8; i++) {
		eoi[i] = c->eoi_pending[i];
		any_eoi |= eoi[i] != 0;
		c->eoi_pending[i] = 0;
	}
	pthread_mutex_unlock(&c->lock);
	while (fn && wake) {
		unsigned cpu = (unsigned)__builtin_ctzll(wake);
		wake &= wake - 1;
		fn(opaque, cpu);
	}
	for (unsigned i = 0; any_eoi && i < 8; i++)
		for (uint32_t w = eoi[i]; w; w &= w - 1)
			if (c->board)
				board_irqchip_eoi(c->board, (uint8_t)(i * 32 + (unsigned)__builtin_ctz(w)));
}

void chip_update_attention(struct soft_irqchip *c, unsigned cpu)
{
	struct soft_lapic *l = &c->lapic[cpu];
	unsigned a = 0;
	if (!l->wait_sipi && (lapic_highest_deliverable(l) >= 0 ||
			      (c->pic_intr && lapic_accepts_pic(c, cpu))))
		a |= SOFT_ATTN_INTR;
	if (l->nmi_pending)
		a |= SOFT_ATTN_NMI;
	if (l->init_pending)
		a |= SOFT_ATTN_INIT;
	if (l->sipi_pending)
		a |= SOFT_ATTN_SIPI;
	unsigned old = atomic_load_explicit(&l->attention, memory_order_relaxed);
	if (a & ~old)
		c->wake_mask |= 1ULL << cpu;
	if (a != old)
		atomic_store_explicit(&l->attention, a, memory_order_release);
}

void chip_update_all_attention(struct soft_irqchip *c)
{
	for (unsigned i = 0; i < c->nr_vcpus; i++)
		chip_update_attention(c, i);
}

/* ---- The board's sink ------------------------------------------------- */

/* An IOAPIC or MSI message from the board (board lock held).  Nothing
 * here EOIs, so the unlock has no broadcast to make back to the board
 * (whose lock we may not take now): EOIs are queued and sent by the
 * unlock of the register write that made them. */
static void sink_deliver(void *opaque, const struct ioapic_msg *im)
{
	struct soft_irqchip *c = opaque;
	struct apic_msg m = apic_msg_from_ioapic(im);
	chip_lock(c);
	c->stats_irqs++;
	lapic_deliver(c, &m);
	chip_unlock(c);
}

/* The 8259's INT output and IOAPIC pin 0's ExtINT routing (board lock
 * held): LINT0 / the INTR pin of every vCPU that takes it. */
static void sink_extint(void *opaque, bool intr, const struct ioapic_msg *route)
{
	struct soft_irqchip *c = opaque;
	chip_lock(c);
	c->pic_intr = intr;
	c->pin0_extint = route != NULL;
	if (route)
		c->pin0_route = *route;
	chip_update_all_attention(c);
	chip_unlock(c);
}

void soft_irqchip_set_wake(struct soft_irqchip *c, soft_wake_fn fn, void *opaque)
{
	chip_lock(c);
	c->wake = fn;
	c->wake_opaque = opaque;
	chip_unlock(c);
}

/* ---- Lifecycle --------------------------------------------------------- */

static void reset_locked(struct soft_irqchip *c)
{
	for (unsigned i = 0; i < c->nr_vcpus; i++)
		lapic_reset(c, &c->lapic[i], true);
	chip_update_all_attention(c);
	c->timers_dirty = true;
}

struct soft_irqchip *soft_irqchip_create_cfg(struct vm *vm,
					     const struct soft_irqchip_config *cfg)
{
	if (!cfg || cfg->nr_vcpus == 0 || cfg->nr_vcpus > MAX_VCPUS) {
		pr_err("soft irqchip: bad vCPU count %u", cfg ? cfg->nr_vcpus : 0);
		return NULL;
	}
	struct soft_irqchip *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->lapic = calloc(cfg->nr_vcpus, sizeof(*c->lapic));
	if (!c->lapic) {
		free(c);
		return NULL;
	}
	pthread_mutex_init(&c->lock, NULL);
	c->vm = vm;
	c->nr_vcpus = cfg->nr_vcpus;
	c->clock = cfg->clock ? cfg->clock : default_clock;
	c->clock_opaque = cfg->clock_opaque;
	c->tsc_hz = cfg->tsc_hz ? cfg->tsc_hz : SOFT_TSC_HZ_DEFAULT;
	c->tsc_epoch_ns = chip_now(c);
	c->sink.deliver = sink_deliver;
	c->sink.extint = sink_extint;
	c->sink.opaque = c;
	for (unsigned i = 0; i < c->nr_vcpus; i++) {
		c->lapic[i].idx = i;
		atomic_init(&c->lapic[i].attention, 0);
	}
	atomic_init(&c->next_poll_ns, SOFT_NO_DEADLINE);
	chip_lock(c);
	reset_locked(c);
	chip_unlock(c);
	c->board = cfg->board;
	if (c->board)
		board_irqchip_connect(c->board, &c->sink);  /* tells us the ExtINT state */
	return c;
}

void soft_irqchip_destroy(struct soft_irqchip *c)
{
	if (!c)
		return;
	if (c->board)
		board_irqchip_connect(c->board, NULL);  /* no call reaches us after this */
	pthread_mutex_destroy(&c->lock);
	free(c->lapic);
	free(c);
}

void soft_irqchip_reset(struct soft_irqchip *c)
{
	chip_lock(c);
	reset_locked(c);
	chip_unlock(c);
}

/* ---- Per-vCPU interrupt queries --------------------------------------- */

/* The vector to deliver from the LAPIC, or -1; *via_pic when the PIC's INT
 * reaches this vCPU instead (its vector comes from the board). */
static int pending_locked(struct soft_irqchip *c, unsigned cpu, bool *via_pic)
{
	struct soft_lapic *l = &c->lapic[cpu];
	*via_pic = false;
	if (l->wait_sipi)
		return -1;
	int v = lapic_highest_deliverable(l);
	if (v < 0 && c->pic_intr && lapic_accepts_pic(c, cpu))
		*via_pic = true;
	return v;
}

int soft_irqchip_pending(struct soft_irqchip *c, unsigned cpu, bool rflags_if)
{
	if (cpu >= c->nr_vcpus || !rflags_if)
		return -1;
	bool via_pic;
	chip_lock(c);
	int v = pending_locked(c, cpu, &via_pic);
	chip_unlock(c);
	if (via_pic && c->board)
		v = board_irqchip_peek(c->board);
	return v;
}

/* Fixed interrupts come before ExtINT.  A LAPIC vector is acknowledged
 * under the chip lock; the PIC's INTA cycle runs on the board after the
 * unlock (board lock first).  If the PIC's request vanished in between, the
 * 8259 answers its spurious IRQ7, as it does on hardware. */
static int ack(struct soft_irqchip *c, unsigned cpu, bool expected)
{
	struct soft_lapic *l = &c->lapic[cpu];
	bool via_pic;
	chip_lock(c);
	int v = pending_locked(c, cpu, &via_pic);
	if (v >= 0) {
		lapic_ack_vector(l, v);
		chip_update_attention(c, cpu);
	} else if (!via_pic && expected && !l->wait_sipi) {
		/* The request went away between pending() and the INTA: the
		 * PIC answers IRQ7 if it is the CPU's interrupt source, else the
		 * LAPIC gives its spurious vector. */
		if (lapic_accepts_pic(c, cpu))
			via_pic = true;
		else
			v = (int)(l->svr & 0xff);
	}
	chip_unlock(c);
	if (via_pic && c->board)
		v = board_irqchip_intack(c->board);
	return v;
}

int soft_irqchip_ack(struct soft_irqchip *c, unsigned cpu, int vector)
{
	if (cpu >= c->nr_vcpus)
		return -1;
	return ack(c, cpu, vector >= 0);
}

int soft_irqchip_take(struct soft_irqchip *c, unsigned cpu, bool rflags_if)
{
	if (cpu >= c->nr_vcpus || !rflags_if)
		return -1;
	return ack(c, cpu, false);
}

void soft_irqchip_lint1(struct soft_irqchip *c, unsigned cpu)
{
	if (cpu >= c->nr_vcpus)
		return;
	chip_lock(c);
	lapic_lint1(c, &c->lapic[cpu]);
	chip_unlock(c);
}

bool soft_irqchip_take_nmi(struct soft_irqchip *c, unsigned cpu)
{
	if (cpu >= c->nr_vcpus)
		return false;
	chip_lock(c);
	bool r = c->lapic[cpu].nmi_pending > 0;
	if (r)
		c->lapic[cpu].nmi_pending--;
	chip_update_attention(c, cpu);
	chip_unlock(c);
	return r;
}

void soft_irqchip_nmi_blocked(struct soft_irqchip *c, unsigned cpu)
{
	if (cpu >= c->nr_vcpus)
		return;
	chip_lock(c);
	if (c->lapic[cpu].nmi_pending > 1)
		c->lapic[cpu].nmi_pending = 1;
	chip_unlock(c);
}

bool soft_irqchip_take_init(struct soft_irqchip *c, unsigned cpu)
{
	if (cpu >= c->nr_vcpus)
		return false;
	chip_lock(c);
	bool r = c->lapic[cpu].init_pending;
	c->lapic[cpu].init_pending = false;
	chip_update_attention(c, cpu);
	chip_unlock(c);
	return r;
}

int soft_irqchip_take_sipi(struct soft_irqchip *c, unsigned cpu)
{
	if (cpu >= c->nr_vcpus)
		return -1;
	int v = -1;
	chip_lock(c);
	struct soft_lapic *l = &c->lapic[cpu];
	if (l->sipi_pending && !l->init_pending) {
		v = l->sipi_vector;
		l->sipi_pending = false;
		l->wait_sipi = false;
		chip_update_attention(c, cpu);
	}
	chip_unlock(c);
	return v;
}

bool soft_irqchip_waiting_for_sipi(struct soft_irqchip *c, unsigned cpu)
{
	if (cpu >= c->nr_vcpus)
		return false;
	chip_lock(c);
	bool r = c->lapic[cpu].wait_sipi;
	chip_unlock(c);
	return r;
}

bool soft_irqchip_nmi_source_armed(struct soft_irqchip *c, unsigned cpu)
{
	(void)cpu;
	return c->board && board_irqchip_nmi_source_armed(c->board);
}

/* ---- Timers ------------------------------------------------------------ */

void soft_irqchip_poll(struct soft_irqchip *c, uint64_t now_ns)
{
	/* The board's timer first: its IRQ 0 goes through the board's lock,
	 * which comes before this chip's. */
	if (c->board && now_ns >= board_irqchip_next_poll(c->board))
		board_irqchip_poll(c->board, now_ns);
	chip_lock(c);
	for (unsigned i = 0; i < c->nr_vcpus; i++) {
		struct soft_lapic *l = &c->lapic[i];
		if (l->timer_deadline_ns <= now_ns)
			lapic_timer_fire(c, l, now_ns);
	}
	c->timers_dirty = true;
	chip_unlock(c);
}

uint64_t soft_irqchip_next_deadline_ns(struct soft_irqchip *c, unsigned cpu)
{
	if (cpu >= c->nr_vcpus)
		return SOFT_NO_DEADLINE;
	uint64_t d = c->board ? board_irqchip_next_poll(c->board) : SOFT_NO_DEADLINE;
	chip_lock(c);
	if (c->lapic[cpu].timer_deadline_ns < d)
		d = c->lapic[cpu].timer_deadline_ns;
	chip_unlock(c);
	return d;
}

uint64_t soft_irqchip_guest_tsc(struct soft_irqchip *c, uint64_t now_ns)
{
	if (now_ns <= c->tsc_epoch_ns)
		return 0;
	return soft_ns_to_tsc(now_ns - c->tsc_epoch_ns, c->tsc_hz);
}

uint64_t soft_irqchip_tsc_to_ns(struct soft_irqchip *c, uint64_t tsc)
{
	return sat_add(c->tsc_epoch_ns, muldiv64_up(tsc, NSEC_PER_SEC, c->tsc_hz));
}

/* ---- LAPIC access ------------------------------------------------------ */

uint64_t soft_irqchip_lapic_mmio_base(struct soft_irqchip *c, unsigned cpu)
{
	if (cpu >= c->nr_vcpus)
		return UINT64_MAX;
	chip_lock(c);
	uint64_t b = c->lapic[cpu].apic_base;
	chip_unlock(c);
	if (!(b & APICBASE_ENABLE) || (b & APICBASE_X2APIC))
		return UINT64_MAX;
	return b & 0x000ffffffffff000ULL;
}

bool soft_irqchip_lapic_disabled(struct soft_irqchip *c, unsigned cpu)
{
	if (cpu >= c->nr_vcpus)
		return true;
	chip_lock(c);
	bool off = !(c->lapic[cpu].apic_base & APICBASE_ENABLE);
	chip_unlock(c);
	return off;
}

uint64_t soft_lapic_mmio_read(struct soft_irqchip *c, unsigned cpu, uint64_t offset,
			      unsigned size)
{
	if (cpu >= c->nr_vcpus || size == 0 || size > 8)
		return 0;
	offset &= 0xfff;
	if ((offset & 0xf) + (size > 4 ? 4 : size) > 4)
		return 0;   /* not inside the 32-bit register of this 16-byte slot */
	uint64_t v = 0;
	chip_lock(c);
	lapic_reg_read(c, &c->lapic[cpu], (unsigned)(offset >> 4), false, &v);
	chip_unlock(c);
	v = (uint32_t)v >> (8 * (offset & 3));
	return size >= 4 ? v : v & ((1ULL << (8 * size)) - 1);
}

void soft_lapic_mmio_write(struct soft_irqchip *c, unsigned cpu, uint64_t offset,
			   unsigned size, uint64_t value)
{
	if (cpu >= c->nr_vcpus || size < 4 || size > 8)
		return;
	offset &= 0xfff;
	if (offset & 0xf)
		return;     /* registers are dword-aligned on 16-byte slots */
	chip_lock(c);
	lapic_reg_write(c, &c->lapic[cpu], (unsigned)(offset >> 4), (uint32_t)value, false);
	chip_unlock(c);
}

/* CR8 is an alias of TPR[7:4] (SDM vol. 3, 10.8.6.1 "Interaction of Task
 * Priorities between CR8 and APIC"): a MOV to CR8 sets TPR = CR8[3:0] << 4,
 * a MOV from CR8 reads TPR[7:4].  The TPR is kept while the APIC is
 * globally disabled as well (it is the core's register then). */
uint64_t soft_irqchip_get_cr8(struct soft_irqchip *c, unsigned cpu)
{
	if (cpu >= c->nr_vcpus)
		return 0;
	chip_lock(c);
	uint64_t v = (c->lapic[cpu].tpr >> 4) & 0xf;
	chip_unlock(c);
	return v;
}

void soft_irqchip_set_cr8(struct soft_irqchip *c, unsigned cpu, uint64_t cr8)
{
	if (cpu >= c->nr_vcpus)
		return;
	chip_lock(c);
	c->lapic[cpu].tpr = (uint32_t)(cr8 & 0xf) << 4;
	chip_update_attention(c, cpu);
	chip_unlock(c);
}

int soft_irqchip_rdmsr(struct soft_irqchip *c, unsigned cpu, uint32_t msr,
		       uint64_t *value)
{
	if (cpu >= c->nr_vcpus)
		return -EINVAL;
	struct soft_lapic *l = &c->lapic[cpu];
	int r = 0;
	if (msr == MSR_IA32_APICBASE) {
		chip_lock(c);
		*value = l->apic_base;
		chip_unlock(c);
	} else if (msr == MSR_IA32_TSC_DEADLINE) {
		chip_lock(c);
		*value = lapic_tsc_deadline_read(l);
		chip_unlock(c);
	} else if (msr >= MSR_X2APIC_FIRST && msr <= MSR_X2APIC_LAST) {
		chip_lock(c);
		if (!(l->apic_base & APICBASE_X2APIC))
			r = -EINVAL;
		else
			r = lapic_reg_read(c, l, msr - MSR_X2APIC_FIRST, true, value);
		chip_unlock(c);
	} else {
		r = -ENOENT;
	}
	return r;
}

int soft_irqchip_wrmsr(struct soft_irqchip *c, unsigned cpu, uint32_t msr,
		       uint64_t value)
{
	if (cpu >= c->nr_vcpus)
		return -EINVAL;
	struct soft_lapic *l = &c->lapic[cpu];
	int r;
	if (msr == MSR_IA32_APICBASE) {
		chip_lock(c);
		r = lapic_apicbase_write(c, l, value);
		chip_unlock(c);
	} else if (msr == MSR_IA32_TSC_DEADLINE) {
		chip_lock(c);
		r = lapic_tsc_deadline_write(c, l, value);
		chip_unlock(c);
	} else if (msr >= MSR_X2APIC_FIRST && msr <= MSR_X2APIC_LAST) {
		unsigned reg = msr - MSR_X2APIC_FIRST;
		chip_lock(c);
		if (!(l->apic_base & APICBASE_X2APIC))
			r = -EINVAL;
		else if (reg != 0x30 && (value >> 32))
			r = -EINVAL;    /* only the ICR is 64 bits wide */
		else if (lapic_x2_reserved_bits(reg, value))
			r = -EINVAL;    /* reserved bits set: #GP (10.12.1.3) */
		else
			r = lapic_reg_write(c, l, reg, value, true);
		chip_unlock(c);
	} else {
		r = -ENOENT;
	}
	return r;
}
