/* Halt-forever detection.
 *
 * With the in-kernel irqchip KVM never returns to userspace on HLT: a vCPU
 * that executed "cli; hlt" just sleeps in KVM_RUN.  The per-vCPU tick
 * (kvm_vcpu.c) interrupts KVM_RUN every KVM_HALT_TICK_MS; the vCPU thread
 * then classifies itself:
 *   DEAD    KVM_MP_STATE_HALTED, RFLAGS.IF = 0, and no NMI, SMI, exception or
 *           interrupt pending or being injected (KVM_GET_VCPU_EVENTS);
 *   PARKED  an AP waiting for INIT/SIPI (only another vCPU can start it);
 *   RUNNING anything else.
 * A halted vCPU with IF=0 can still be woken by another vCPU (INIT, NMI IPI,
 * a PV unhalt kick), e.g. Linux parks offline CPUs that way.  So the machine
 * is declared dead only when no vCPU is RUNNING and at least one is DEAD,
 * judged on samples all taken after the last state change of any vCPU (each
 * sample is timestamped), so a stale sample of a vCPU woken since does not
 * count.  (A vCPU woken and halted again between two of its own ticks is not
 * seen; that needs an NMI/INIT sender that itself dies within one tick.)
 * Then every vCPU (DEAD or PARKED) returns VCPU_EXIT_HLT at its next tick,
 * so the shared loop, which stops the machine once all vCPUs report HLT,
 * sees all of them within one tick.  A vCPU that reported HLT and later runs
 * again returns VCPU_EXIT_INTERRUPTED once, so the loop forgets the report.
 * Cost: one KVM_RUN interruption per vCPU per tick, plus three cheap ioctls
 * when the vCPU is halted. */
#include <string.h>
#include <time.h>

#include "kvm_priv.h"
#include "ringvm/log.h"
#include "ringvm/vm.h"

static enum kvm_halt_state classify(struct kvm_vcpu *kv)
{
	struct kvm_mp_state mp;

	if (kvm_ioctl(kv->fd, KVM_GET_MP_STATE, &mp) < 0)
		return KVM_HALT_RUNNING;
	if (mp.mp_state == KVM_MP_STATE_UNINITIALIZED ||
	    mp.mp_state == KVM_MP_STATE_INIT_RECEIVED)
		return KVM_HALT_PARKED;
	if (mp.mp_state != KVM_MP_STATE_HALTED)
		return KVM_HALT_RUNNING;

	struct kvm_regs regs;
	if (kvm_ioctl(kv->fd, KVM_GET_REGS, &regs) < 0 || (regs.rflags & X86_RFLAGS_IF))
		return KVM_HALT_RUNNING;

	struct kvm_vcpu_events ev;
	memset(&ev, 0, sizeof(ev));
	if (kvm_ioctl(kv->fd, KVM_GET_VCPU_EVENTS, &ev) < 0)
		return KVM_HALT_RUNNING;
	if (ev.nmi.pending || ev.nmi.injected || ev.smi.pending || ev.smi.latched_init ||
	    ev.exception.pending || ev.exception.injected || ev.interrupt.injected)
		return KVM_HALT_RUNNING;
	return KVM_HALT_DEAD;
}

/* True when no vCPU of the machine runs, at least one is DEAD, and every
 * vCPU was sampled after the last state change anywhere (so a stale PARKED
 * or DEAD sample of a vCPU that another one has since woken cannot count). */
static bool machine_dead(struct vm *vm, struct kvm_vm *kvm)
{
	unsigned n = vm->cfg.cpus;
	bool any_dead = false;
	uint64_t max_since = 0, min_seen = UINT64_MAX;

	if (n == 0)
		n = 1;
	if (n > MAX_VCPUS)
		n = MAX_VCPUS;
	for (unsigned i = 0; i < n; i++) {
		int st = atomic_load(&kvm->halt[i]);
		if (st == KVM_HALT_RUNNING)
			return false;
		any_dead |= st == KVM_HALT_DEAD;
		uint64_t since = atomic_load(&kvm->halt_since[i]);
		uint64_t seen = atomic_load(&kvm->halt_seen[i]);
		max_since = since > max_since ? since : max_since;
		min_seen = seen < min_seen ? seen : min_seen;
	}
	return any_dead && min_seen >= max_since;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void record(struct kvm_vm *kvm, unsigned id, enum kvm_halt_state st)
{
	uint64_t now = now_ns();

	if (atomic_exchange(&kvm->halt[id], st) != (int)st)
		atomic_store(&kvm->halt_since[id], now);
	atomic_store(&kvm->halt_seen[id], now);
}

void kvm_halt_gone(struct kvm_vm *kvm, unsigned id)
{
	record(kvm, id, KVM_HALT_PARKED);
}

enum kvm_halt_verdict kvm_halt_check(struct vcpu *v)
{
	struct kvm_vcpu *kv = v->engine_state;
	struct kvm_vm *kvm = kv->kvm;
	enum kvm_halt_state me = classify(kv);

	record(kvm, v->id, me);
	if (me != KVM_HALT_RUNNING && machine_dead(v->vm, kvm)) {
		kv->reported_halt = true;
		return KVM_HALT_REPORT;
	}
	if (kv->reported_halt) {
		kv->reported_halt = false;
		return KVM_HALT_WOKE;
	}
	return KVM_HALT_CONTINUE;
}
