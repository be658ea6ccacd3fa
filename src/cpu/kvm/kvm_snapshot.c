/* The kvm engine's snapshot ops (engine.h; docs/snapshot.md): KVM's
 * in-kernel chips and per-vCPU state to and from the neutral form of
 * include/ringvm/irqchip_state.h.
 *
 *   PIC pair, IOAPIC   KVM_GET/SET_IRQCHIP (struct kvm_pic_state, kvm_ioapic_state)
 *   PIT                KVM_GET/SET_PIT2
 *   LAPIC              KVM_GET/SET_LAPIC (the xAPIC register page) and the
 *                      IA32_TSC_DEADLINE MSR
 *   events, run state  KVM_GET/SET_VCPU_EVENTS, KVM_GET/SET_MP_STATE
 *   XCR0, YMM          KVM_GET/SET_XCRS, KVM_GET/SET_XSAVE (component 2 at
 *                      its standard offset, SDM Vol. 1, 13.4)
 *
 * Times: KVM's PIT load time is host CLOCK_MONOTONIC (ktime); the machine
 * clock is host monotonic time minus vm->clock_offset_ns.  KVM restarts a
 * loaded PIT count and a LAPIC timer's initial count at KVM_SET_PIT2 /
 * KVM_SET_LAPIC, so after a restore on kvm those periods begin anew (at most
 * one period late).  A snapshot taken on kvm records the LAPIC timer from
 * its current count (TMCCT). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "kvm_priv.h"
#include "ringvm/clock.h"
#include "ringvm/log.h"
#include "ringvm/vm.h"

#define PIT_HZ 1193182ULL
#define APIC_BUS_HZ 1000000000ULL   /* KVM's LAPIC timer: 1 ns per bus tick */
#define MSR_TSC_DEADLINE 0x6e0
#define XSAVE_YMM_OFFSET 576        /* component 2, standard format */
#define XSAVE_HDR_OFFSET 512

enum { R_ID = 0x20, R_TPR = 0x80, R_LDR = 0xd0, R_DFR = 0xe0, R_SVR = 0xf0, R_ISR = 0x100,
       R_TMR = 0x180, R_IRR = 0x200, R_ESR = 0x280, R_ICR_LO = 0x300, R_ICR_HI = 0x310,
       R_LVT = 0x320, R_TMICT = 0x380, R_TMCCT = 0x390, R_TDCR = 0x3e0 };

static uint32_t reg_get(const struct kvm_lapic_state *l, unsigned off)
{
	uint32_t v;
	memcpy(&v, l->regs + off, 4);
	return v;
}

static void reg_put(struct kvm_lapic_state *l, unsigned off, uint32_t v)
{
	memcpy(l->regs + off, &v, 4);
}

static uint64_t vm_offset(struct vm *vm)
{
	return atomic_load(&vm->clock_offset_ns);
}

/* ---- VM-wide chips ------------------------------------------------------ */

static void pic_from_kvm(const struct kvm_pic_state *k, struct pic_state *s, bool master)
{
	*s = (struct pic_state){
		.irr = k->irr, .imr = k->imr, .isr = k->isr, .lines = k->last_irr,
		.elcr = k->elcr, .elcr_mask = k->elcr_mask, .priority_add = k->priority_add,
		.irq_base = k->irq_base, .init_state = k->init_state,
		.icw3 = master ? 0x04 : 0x02, .init4 = k->init4, .read_isr = k->read_reg_select,
		.poll = k->poll, .special_mask = k->special_mask, .auto_eoi = k->auto_eoi,
		.rotate_auto_eoi = k->rotate_on_auto_eoi, .sfnm = k->special_fully_nested_mode,
	};
}

static void pic_to_kvm(const struct pic_state *s, struct kvm_pic_state *k)
{
	*k = (struct kvm_pic_state){
		.last_irr = s->lines, .irr = s->irr, .imr = s->imr, .isr = s->isr,
		.priority_add = s->priority_add & 7, .irq_base = s->irq_base & 0xf8,
		.read_reg_select = s->read_isr, .poll = s->poll, .special_mask = s->special_mask,
		.init_state = s->init_state & 3, .auto_eoi = s->auto_eoi,
		.rotate_on_auto_eoi = s->rotate_auto_eoi,
		.special_fully_nested_mode = s->sfnm, .init4 = s->init4, .elcr = s->elcr,
		.elcr_mask = s->elcr_mask,
	};
}

int kvm_get_irqchip(struct vm *vm, struct irqchip_state *s)
{
	struct kvm_vm *kvm = vm->engine_state;
	struct kvm_irqchip chip;
	memset(s, 0, sizeof(*s));
	for (unsigned i = 0; i < 3; i++) {
		memset(&chip, 0, sizeof(chip));
		chip.chip_id = i;
		int r = kvm_ioctl(kvm->vm_fd, KVM_GET_IRQCHIP, &chip);
		if (r < 0)
			return r;
		if (i < 2)
			pic_from_kvm(&chip.chip.pic, &s->pic[i], i == 0);
	}
	/* the IOAPIC was the last one read */
	const struct kvm_ioapic_state *io = &chip.chip.ioapic;
	s->ioapic.id = (io->id & 0xf) << 24;
	s->ioapic.regsel = io->ioregsel;
	for (unsigned p = 0; p < IRQCHIP_IOAPIC_PINS && p < KVM_IOAPIC_NUM_PINS; p++)
		s->ioapic.redir[p] = io->redirtbl[p].bits;
	s->ioapic.lines = io->irr;

	struct kvm_pit_state2 pit;
	int r = kvm_ioctl(kvm->vm_fd, KVM_GET_PIT2, &pit);
	if (r < 0)
		return r;
	for (unsigned c = 0; c < 3; c++) {
		const struct kvm_pit_channel_state *k = &pit.channels[c];
		struct pit_channel_state *p = &s->pit.ch[c];
		p->mode = k->mode > 5 ? k->mode & 3 : k->mode;  /* 6, 7 alias 2, 3 */
		p->rw_mode = k->rw_mode ? k->rw_mode : 3;
		p->bcd = k->bcd;
		p->gate = k->gate;
		p->count = k->count ? k->count : 65536;
		p->count_reg = (uint16_t)k->count;
		p->loaded = p->counting = k->count != 0;
		p->latch = k->latched_count;
		p->latch_state = k->count_latched <= 4 ? k->count_latched : 0;
		p->status_latched = k->status_latched;
		p->status = k->status;
		p->write_msb_next = k->write_state == 2 || k->write_state == 4;
		p->read_msb_next = k->read_state == 2 || k->read_state == 4;
		p->write_lsb = k->write_latch;
		/* KVM's load time is host time, and KVM's PIT counted on while
		 * the VM was paused (which the machine clock leaves out): take
		 * the time since the load in host time, keep of a periodic count
		 * only its phase in the current period (the edges before it were
		 * raised), and never start before the machine clock's zero (a
		 * load shortly after the start of a VM paused since would). */
		uint64_t now = vm_clock_ns(vm), host = clock_monotonic_ns();
		uint64_t since = host > (uint64_t)k->count_load_time ?
				 host - (uint64_t)k->count_load_time : 0;
		bool periodic = p->mode == 2 || p->mode == 3;
		uint64_t period_ns = (uint64_t)p->count * 1000000000ULL / PIT_HZ;
		if (periodic && period_ns)
			since %= period_ns;
		p->start_ns = now - (since < now ? since : now);
		p->ticks_at_start = 0;
		p->edges_seen = 0;  /* periodic: less than one period since start_ns */
	}
	s->pit.port61 = (pit.flags & KVM_PIT_FLAGS_SPEAKER_DATA_ON) ? 2 : 0;

	/* The guest TSC's rate (the host's, as KVM gives it); its value is
	 * each vCPU's IA32_TSC in the MSR list, so the origin is now. */
	int khz = ioctl(kvm->vcpus[0] ? kvm->vcpus[0]->fd : -1, KVM_GET_TSC_KHZ, 0);
	s->tsc_hz = khz > 0 ? (uint64_t)khz * 1000 : 1000000000ULL;
	s->tsc_epoch_ns = vm_clock_ns(vm);
	return 0;
}

int kvm_set_irqchip(struct vm *vm, const struct irqchip_state *s)
{
	struct kvm_vm *kvm = vm->engine_state;
	struct kvm_irqchip chip;
	for (unsigned i = 0; i < 2; i++) {
		memset(&chip, 0, sizeof(chip));
		chip.chip_id = i;
		pic_to_kvm(&s->pic[i], &chip.chip.pic);
		int r = kvm_ioctl(kvm->vm_fd, KVM_SET_IRQCHIP, &chip);
		if (r < 0)
			return r;
	}
	memset(&chip, 0, sizeof(chip));
	chip.chip_id = KVM_IRQCHIP_IOAPIC;
	int r = kvm_ioctl(kvm->vm_fd, KVM_GET_IRQCHIP, &chip);  /* keeps base_address */
	if (r < 0)
		return r;
	struct kvm_ioapic_state *io = &chip.chip.ioapic;
	io->id = (s->ioapic.id >> 24) & 0xf;
	io->ioregsel = s->ioapic.regsel & 0xff;
	io->irr = s->ioapic.lines;
	for (unsigned p = 0; p < IRQCHIP_IOAPIC_PINS && p < KVM_IOAPIC_NUM_PINS; p++)
		io->redirtbl[p].bits = s->ioapic.redir[p];
	r = kvm_ioctl(kvm->vm_fd, KVM_SET_IRQCHIP, &chip);
	if (r < 0)
		return r;

	struct kvm_pit_state2 pit;
	memset(&pit, 0, sizeof(pit));
	for (unsigned c = 0; c < 3; c++) {
		const struct pit_channel_state *p = &s->pit.ch[c];
		struct kvm_pit_channel_state *k = &pit.channels[c];
		if (p->mode > 5 || p->count > 65536)
			return -EINVAL;
		k->count = p->loaded ? p->count : 0;
		k->latched_count = p->latch;
		k->count_latched = p->latch_state <= 4 ? p->latch_state : 0;
		k->status_latched = p->status_latched;
		k->status = p->status;
		unsigned rw = p->rw_mode >= 1 && p->rw_mode <= 3 ? p->rw_mode : 3;
		k->rw_mode = (uint8_t)rw;
		k->read_state = (uint8_t)(rw == 3 ? (p->read_msb_next ? 4 : 3) : rw);
		k->write_state = (uint8_t)(rw == 3 ? (p->write_msb_next ? 4 : 3) : rw);
		k->write_latch = p->write_lsb;
		k->mode = p->mode;
		k->bcd = p->bcd;
		k->gate = p->gate;
		k->count_load_time = (int64_t)(p->start_ns + vm_offset(vm));
	}
	pit.flags = (s->pit.port61 & 2) ? KVM_PIT_FLAGS_SPEAKER_DATA_ON : 0;
	return kvm_ioctl(kvm->vm_fd, KVM_SET_PIT2, &pit);
}

/* ---- per vCPU ------------------------------------------------------------ */

static unsigned timer_div(uint32_t dcr)
{
	unsigned d = (dcr & 3) | ((dcr >> 1) & 4);
	return 1u << ((d + 1) & 7);  /* SDM Vol. 3A, Figure 11-10 */
}

int kvm_get_vcpu_extra(struct vcpu *v, struct vcpu_extra_state *e)
{
	struct kvm_vcpu *kv = v->engine_state;
	struct vm *vm = v->vm;
	memset(e, 0, sizeof(*e));
	struct kvm_lapic_state *l = malloc(sizeof(*l));
	struct kvm_xsave *x = malloc(sizeof(*x));
	int r = l && x ? 0 : -ENOMEM;
	if (!r)
		r = kvm_ioctl(kv->fd, KVM_GET_LAPIC, l);
	if (!r) {
		struct lapic_state *s = &e->lapic;
		s->id = reg_get(l, R_ID) >> 24;
		s->tpr = reg_get(l, R_TPR);
		s->ldr = reg_get(l, R_LDR);
		s->dfr = reg_get(l, R_DFR);
		s->svr = reg_get(l, R_SVR);
		s->esr = reg_get(l, R_ESR);
		s->icr_lo = reg_get(l, R_ICR_LO);
		s->icr_hi = reg_get(l, R_ICR_HI);
		for (unsigned i = 0; i < IRQCHIP_LAPIC_LVT; i++)
			s->lvt[i] = reg_get(l, R_LVT + 0x10 * i);
		for (unsigned i = 0; i < 8; i++) {
			s->isr[i] = reg_get(l, R_ISR + 0x10 * i);
			s->tmr[i] = reg_get(l, R_TMR + 0x10 * i);
			s->irr[i] = reg_get(l, R_IRR + 0x10 * i);
		}
		s->timer_initial = reg_get(l, R_TMICT);
		s->timer_dcr = reg_get(l, R_TDCR);
		uint32_t cur = reg_get(l, R_TMCCT);
		uint64_t div = timer_div(s->timer_dcr), now = vm_clock_ns(vm);
		s->timer_deadline_ns = UINT64_MAX;
		if (cur && s->timer_initial) {
			uint64_t left = (uint64_t)cur * div * 1000000000ULL / APIC_BUS_HZ;
			uint64_t done = (uint64_t)(s->timer_initial - (cur < s->timer_initial ? cur : s->timer_initial)) *
					div * 1000000000ULL / APIC_BUS_HZ;
			s->timer_deadline_ns = now + left;
			s->timer_start_ns = now - done;
		}
		struct x86_msr m[2] = { { .index = MSR_TSC_DEADLINE }, { .index = MSR_IA32_APIC_BASE } };
		if (kvm_get_msrs(v, m, 2) == 2) {
			s->tsc_deadline = m[0].value;
			s->apic_base = m[1].value;
		}
	}
	struct kvm_vcpu_events ev;
	if (!r)
		r = kvm_ioctl(kv->fd, KVM_GET_VCPU_EVENTS, &ev);
	if (!r) {
		e->shadow = ev.interrupt.shadow & 3;
		e->nmi_blocked = ev.nmi.masked;
		e->lapic.nmi_pending = ev.nmi.pending;
		e->lapic.sipi_vector = (uint8_t)ev.sipi_vector;
	}
	struct kvm_mp_state mp;
	if (!r)
		r = kvm_ioctl(kv->fd, KVM_GET_MP_STATE, &mp);
	if (!r) {
		e->halted = mp.mp_state == KVM_MP_STATE_HALTED;
		e->lapic.wait_sipi = mp.mp_state == KVM_MP_STATE_UNINITIALIZED ||
				     mp.mp_state == KVM_MP_STATE_INIT_RECEIVED;
		e->lapic.sipi_pending = mp.mp_state == KVM_MP_STATE_SIPI_RECEIVED;
	}
	struct kvm_xcrs xcrs;
	e->xcr0 = 1;
	if (!r && kvm_ioctl(kv->fd, KVM_GET_XCRS, &xcrs) == 0)
		for (unsigned i = 0; i < xcrs.nr_xcrs && i < KVM_MAX_XCRS; i++)
			if (xcrs.xcrs[i].xcr == 0)
				e->xcr0 = xcrs.xcrs[i].value;
	if (!r && kv->kvm->has_xsave && kvm_ioctl(kv->fd, KVM_GET_XSAVE, x) == 0) {
		uint64_t bv;
		memcpy(&bv, (uint8_t *)x->region + XSAVE_HDR_OFFSET, 8);
		if (bv & 4)
			memcpy(e->ymmh, (uint8_t *)x->region + XSAVE_YMM_OFFSET, sizeof(e->ymmh));
	}
	e->xcr0 &= 0x7;  /* x87, SSE, AVX: what both engines carry */
	free(l);
	free(x);
	return r;
}

int kvm_set_vcpu_extra(struct vcpu *v, const struct vcpu_extra_state *e)
{
	struct kvm_vcpu *kv = v->engine_state;
	const struct lapic_state *s = &e->lapic;
	if (!(e->xcr0 & 1) || (e->xcr0 & 4 && !(e->xcr0 & 2)))
		return -EINVAL;
	struct kvm_lapic_state *l = malloc(sizeof(*l));
	struct kvm_xsave *x = malloc(sizeof(*x));
	int r = l && x ? 0 : -ENOMEM;
	if (!r)
		r = kvm_ioctl(kv->fd, KVM_GET_LAPIC, l);  /* keeps the version register */
	if (!r) {
		reg_put(l, R_ID, s->id << 24);
		reg_put(l, R_TPR, s->tpr & 0xff);
		reg_put(l, R_LDR, s->ldr);
		reg_put(l, R_DFR, s->dfr);
		reg_put(l, R_SVR, s->svr);
		reg_put(l, R_ESR, s->esr);
		reg_put(l, R_ICR_LO, s->icr_lo);
		reg_put(l, R_ICR_HI, s->icr_hi);
		for (unsigned i = 0; i < IRQCHIP_LAPIC_LVT; i++)
			reg_put(l, R_LVT + 0x10 * i, s->lvt[i]);
		for (unsigned i = 0; i < 8; i++) {
			reg_put(l, R_ISR + 0x10 * i, s->isr[i]);
			reg_put(l, R_TMR + 0x10 * i, s->tmr[i]);
			reg_put(l, R_IRR + 0x10 * i, s->irr[i]);
		}
		/* a disarmed one-shot timer stays disarmed: no initial count */
		bool armed = s->timer_deadline_ns != UINT64_MAX;
		reg_put(l, R_TMICT, armed ? s->timer_initial : 0);
		reg_put(l, R_TDCR, s->timer_dcr & 0xb);
		r = kvm_ioctl(kv->fd, KVM_SET_LAPIC, l);
	}
	if (!r && s->tsc_deadline) {
		struct x86_msr m = { MSR_TSC_DEADLINE, s->tsc_deadline };
		kvm_set_msrs(v, &m, 1);
	}
	struct kvm_vcpu_events ev;
	if (!r)
		r = kvm_ioctl(kv->fd, KVM_GET_VCPU_EVENTS, &ev);
	if (!r) {
		ev.interrupt.shadow = e->shadow & 3;
		ev.nmi.masked = e->nmi_blocked != 0;
		ev.nmi.pending = s->nmi_pending != 0;
		ev.sipi_vector = s->sipi_vector;
		ev.flags = KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SIPI_VECTOR |
			   KVM_VCPUEVENT_VALID_SHADOW;
		r = kvm_ioctl(kv->fd, KVM_SET_VCPU_EVENTS, &ev);
	}
	if (!r) {
		struct kvm_mp_state mp = { KVM_MP_STATE_RUNNABLE };
		if (s->sipi_pending)
			mp.mp_state = KVM_MP_STATE_SIPI_RECEIVED;
		else if (s->wait_sipi)
			mp.mp_state = KVM_MP_STATE_INIT_RECEIVED;
		else if (e->halted)
			mp.mp_state = KVM_MP_STATE_HALTED;
		r = kvm_ioctl(kv->fd, KVM_SET_MP_STATE, &mp);
	}
	if (!r) {
		struct kvm_xcrs xcrs;
		memset(&xcrs, 0, sizeof(xcrs));
		xcrs.nr_xcrs = 1;
		xcrs.xcrs[0].xcr = 0;
		xcrs.xcrs[0].value = e->xcr0 & 0x7;
		if (kvm_ioctl(kv->fd, KVM_SET_XCRS, &xcrs) < 0)
			pr_debug("kvm: vCPU %u: KVM_SET_XCRS refused XCR0 0x%llx", v->id,
				 (unsigned long long)e->xcr0);
	}
	if (!r && kv->kvm->has_xsave && (e->xcr0 & 4) && kvm_ioctl(kv->fd, KVM_GET_XSAVE, x) == 0) {
		uint64_t bv;
		memcpy((uint8_t *)x->region + XSAVE_YMM_OFFSET, e->ymmh, sizeof(e->ymmh));
		memcpy(&bv, (uint8_t *)x->region + XSAVE_HDR_OFFSET, 8);
		bv |= 4;
		memcpy((uint8_t *)x->region + XSAVE_HDR_OFFSET, &bv, 8);
		kvm_ioctl(kv->fd, KVM_SET_XSAVE, x);
	}
	free(l);
	free(x);
	return r;
}

/* A host-side IA32_TSC write goes through KVM's TSC synchronisation: a value
 * within a second of what KVM expects (the vCPU was just created at TSC 0,
 * and a TSC from the soft engine counts from 0 at 1 GHz) is taken as the
 * same TSC and ignored.  After writing it, check: if the TSC is not where
 * it was put, move it with the TSC offset attribute (KVM_VCPU_TSC_CTRL,
 * Linux 5.16+).  Best effort: without the attribute the guest TSC may jump
 * across a restore (docs/snapshot.md). */
void kvm_fix_guest_tsc(struct vcpu *v, uint64_t want)
{
	struct kvm_vcpu *kv = v->engine_state;
	struct kvm_msrs *m = calloc(1, sizeof(*m) + sizeof(m->entries[0]));
	uint64_t offset = 0;
	struct kvm_device_attr attr = { .group = KVM_VCPU_TSC_CTRL, .attr = KVM_VCPU_TSC_OFFSET,
					.addr = (uint64_t)(uintptr_t)&offset };
	if (!m)
		return;
	m->nmsrs = 1;
	m->entries[0].index = MSR_IA32_TSC;
	if (ioctl(kv->fd, KVM_GET_MSRS, m) == 1) {
		int64_t delta = (int64_t)(want - m->entries[0].data);
		if ((delta > 1000000 || delta < -1000000) &&
		    kvm_ioctl(kv->fd, KVM_GET_DEVICE_ATTR, &attr) == 0) {
			offset += (uint64_t)delta;
			if (kvm_ioctl(kv->fd, KVM_SET_DEVICE_ATTR, &attr) < 0)
				pr_debug("kvm: vCPU %u: cannot set the TSC offset", v->id);
		}
	}
	free(m);
}
