/* The soft engine's snapshot ops (engine.h; docs/snapshot.md): its chips
 * and each vCPU's extra state to and from the neutral structs of
 * include/ringvm/irqchip_state.h. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "../debug.h"
#include "soft_engine.h"

/* XCR0 bits the model implements (x87, SSE, AVX, PKRU; docs/DESIGN.md). */
#define SOFT_XCR0_BITS 0x207ULL

int soft_engine_get_irqchip(struct vm *vm, struct irqchip_state *s)
{
	struct soft_vm *svm = vm->engine_state;
	return soft_irqchip_get_state(svm->chip, s);
}

int soft_engine_set_irqchip(struct vm *vm, const struct irqchip_state *s)
{
	struct soft_vm *svm = vm->engine_state;
	int r = soft_irqchip_set_state(svm->chip, s);
	if (r < 0)
		return r;
	/* The guest's time zero moved with the TSC's epoch: kvmclock's wall
	 * clock is published against it (soft_vm_init). */
	struct timespec wall;
	clock_gettime(CLOCK_REALTIME, &wall);
	uint64_t wall_ns = (uint64_t)wall.tv_sec * 1000000000ULL + (uint64_t)wall.tv_nsec;
	uint64_t guest_ns = soft_irqchip_tsc_to_ns(svm->chip,
		soft_irqchip_guest_tsc(svm->chip, soft_irqchip_now(svm->chip)));
	svm->wall_ns_at_zero = wall_ns - guest_ns;
	return 0;
}

int soft_engine_get_vcpu_extra(struct vcpu *v, struct vcpu_extra_state *e)
{
	struct soft_vcpu *sv = v->engine_state;
	const struct soft_cpu *cpu = &sv->cpu;
	memset(e, 0, sizeof(*e));
	int r = soft_irqchip_get_lapic(sv->svm->chip, v->id, &e->lapic);
	if (r < 0)
		return r;
	e->lapic.tsc_deadline = soft_deadline_to_vcpu(sv, e->lapic.tsc_deadline);
	e->shadow = cpu->shadow;
	e->nmi_blocked = cpu->nmi_blocked;
	e->halted = sv->halted;
	e->xcr0 = cpu->xcr0;
	e->pkru = cpu->pkru;
	_Static_assert(sizeof(e->ymmh) == sizeof(cpu->ymmh), "YMM upper halves");
	memcpy(e->ymmh, cpu->ymmh, sizeof(e->ymmh));
	memcpy(e->dr, cpu->dr, sizeof(e->dr));
	return 0;
}

int soft_engine_set_vcpu_extra(struct vcpu *v, const struct vcpu_extra_state *e)
{
	struct soft_vcpu *sv = v->engine_state;
	struct soft_cpu *cpu = &sv->cpu;
	/* XCR0: x87 always set, AVX only with SSE (SDM Vol. 1, 13.3) */
	if (!(e->xcr0 & 1) || (e->xcr0 & ~SOFT_XCR0_BITS) || ((e->xcr0 & 4) && !(e->xcr0 & 2)) ||
	    e->shadow > 3 || e->xss)
		return -EINVAL;
	/* the deadline is on the vCPU's TSC, whose offset the MSRs (loaded
	 * before this, snapshot_restore_vcpu) set */
	struct lapic_state l = e->lapic;
	l.tsc_deadline = soft_deadline_to_chip(sv, l.tsc_deadline);
	int r = soft_irqchip_set_lapic(sv->svm->chip, v->id, &l);
	if (r < 0)
		return r;
	cpu->shadow = e->shadow;
	cpu->nmi_blocked = e->nmi_blocked != 0;
	sv->halted = e->halted != 0;
	cpu->xcr0 = e->xcr0;
	cpu->pkru = e->pkru;
	memcpy(cpu->ymmh, e->ymmh, sizeof(cpu->ymmh));
	for (int i = 0; i < 8; i++)
		cpu->dr[i] = e->dr[i];
	soft_dbg_update(cpu);
	soft_mmu_set_local_page(&sv->mmu, soft_irqchip_lapic_mmio_base(sv->svm->chip, v->id));
	soft_mmu_flush_all(&sv->mmu);
	soft_cpu_flush_code_tlb(cpu);
	return 0;
}
