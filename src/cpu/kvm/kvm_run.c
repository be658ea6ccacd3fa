/* KVM_RUN and the translation of KVM exits into struct vcpu_exit. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "kvm_priv.h"
#include "ringvm/vm.h"

static void count(struct kvm_vcpu *kv, uint32_t reason)
{
	unsigned i = reason < KVM_NR_EXIT_REASONS ? reason : KVM_NR_EXIT_REASONS - 1;

	atomic_fetch_add_explicit(&kv->ctr->exits[i], 1, memory_order_relaxed);
}

static uint64_t current_rip(struct kvm_vcpu *kv)
{
	struct kvm_regs r;

	return kvm_ioctl(kv->fd, KVM_GET_REGS, &r) < 0 ? ~0ULL : r.rip;
}

static const char *suberror_name(uint32_t s)
{
	switch (s) {
	case KVM_INTERNAL_ERROR_EMULATION: return "emulation failure";
	case KVM_INTERNAL_ERROR_SIMUL_EX: return "exception while delivering an exception";
	case KVM_INTERNAL_ERROR_DELIVERY_EV: return "event delivery failed";
	case KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON: return "unexpected VM exit";
	default: return "unknown";
	}
}

static void internal_error(struct kvm_vcpu *kv, struct vcpu_exit *exit)
{
	struct kvm_run *run = kv->run;
	uint32_t sub = run->internal.suberror;
	size_t n = sizeof(exit->error);
	int len = snprintf(exit->error, n, "KVM internal error, suberror %u (%s) at rip 0x%llx",
			   sub, suberror_name(sub), (unsigned long long)current_rip(kv));

	if (sub == KVM_INTERNAL_ERROR_EMULATION && run->emulation_failure.ndata >= 3 &&
	    (run->emulation_failure.flags & KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES)) {
		unsigned sz = run->emulation_failure.insn_size;
		if (sz > 15)
			sz = 15;
		len += snprintf(exit->error + len, n - (size_t)len, ", instruction bytes:");
		for (unsigned i = 0; i < sz && (size_t)len < n; i++)
			len += snprintf(exit->error + len, n - (size_t)len, " %02x",
					run->emulation_failure.insn_bytes[i]);
	} else if (run->internal.ndata) {
		unsigned nd = run->internal.ndata < 4 ? run->internal.ndata : 4;
		len += snprintf(exit->error + len, n - (size_t)len, ", data");
		for (unsigned i = 0; i < nd && (size_t)len < n; i++)
			len += snprintf(exit->error + len, n - (size_t)len, " 0x%llx",
					(unsigned long long)run->internal.data[i]);
	}
	if (kv->kvm->pvm && sub == KVM_INTERNAL_ERROR_EMULATION && (size_t)len < n)
		snprintf(exit->error + len, n - (size_t)len,
			 " (this host's KVM is kvm_pvm, which emulates guest kernel mode; try --engine=soft)");
}

static void system_event(struct kvm_run *run, struct vcpu_exit *exit)
{
	switch (run->system_event.type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		exit->reason = VCPU_EXIT_SHUTDOWN;
		snprintf(exit->error, sizeof(exit->error), "KVM system event: shutdown");
		break;
	case KVM_SYSTEM_EVENT_RESET:
		exit->reason = VCPU_EXIT_SHUTDOWN;
		snprintf(exit->error, sizeof(exit->error), "KVM system event: reset");
		break;
	default:
		exit->reason = VCPU_EXIT_INTERNAL;
		snprintf(exit->error, sizeof(exit->error), "KVM system event %u%s",
			 run->system_event.type,
			 run->system_event.type == KVM_SYSTEM_EVENT_CRASH ? " (guest crash)" : "");
		break;
	}
}

/* Fill exit from a completed KVM_RUN; false to re-enter without returning. */
static bool translate(struct vcpu *v, struct kvm_vcpu *kv, struct vcpu_exit *exit)
{
	struct kvm_run *run = kv->run;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		exit->reason = VCPU_EXIT_PIO;
		exit->pio.port = run->io.port;
		exit->pio.size = run->io.size;
		exit->pio.write = run->io.direction == KVM_EXIT_IO_OUT;
		exit->pio.count = run->io.count;
		exit->pio.data = (uint8_t *)run + run->io.data_offset;
		return true;
	case KVM_EXIT_MMIO:
		exit->reason = VCPU_EXIT_MMIO;
		exit->mmio.gpa = run->mmio.phys_addr;
		exit->mmio.size = (uint8_t)(run->mmio.len <= 8 ? run->mmio.len : 8);
		exit->mmio.write = run->mmio.is_write;
		memset(exit->mmio.data, 0, sizeof(exit->mmio.data));
		if (exit->mmio.write)
			memcpy(exit->mmio.data, run->mmio.data, exit->mmio.size);
		else
			kv->mmio_read_pending = true;
		return true;
	case KVM_EXIT_HLT:
		/* Only without an in-kernel irqchip, which ringvm always has. */
		exit->reason = VCPU_EXIT_HLT;
		snprintf(exit->error, sizeof(exit->error), "vCPU %u: HLT exit at rip 0x%llx",
			 v->id, (unsigned long long)current_rip(kv));
		return true;
	case KVM_EXIT_SHUTDOWN:
		exit->reason = VCPU_EXIT_SHUTDOWN;
		snprintf(exit->error, sizeof(exit->error), "vCPU %u: triple fault (rip 0x%llx)",
			 v->id, (unsigned long long)current_rip(kv));
		return true;
	case KVM_EXIT_FAIL_ENTRY:
		exit->reason = VCPU_EXIT_INTERNAL;
		snprintf(exit->error, sizeof(exit->error),
			 "KVM_RUN: VM entry failed, hardware_entry_failure_reason 0x%llx (host CPU %u)",
			 (unsigned long long)run->fail_entry.hardware_entry_failure_reason,
			 run->fail_entry.cpu);
		return true;
	case KVM_EXIT_INTERNAL_ERROR:
		exit->reason = VCPU_EXIT_INTERNAL;
		internal_error(kv, exit);
		return true;
	case KVM_EXIT_SYSTEM_EVENT:
		system_event(run, exit);
		return true;
	case KVM_EXIT_INTR:
	case KVM_EXIT_IRQ_WINDOW_OPEN:
		return false;
	default:
		exit->reason = VCPU_EXIT_INTERNAL;
		snprintf(exit->error, sizeof(exit->error),
			 "unexpected KVM exit reason %u (KVM_EXIT_%s)", run->exit_reason,
			 kvm_exit_name(run->exit_reason));
		return true;
	}
}

/* KVM_RUN returned EINTR: a kick, or the halt-detection tick.  True when
 * vcpu_run must return (exit filled in). */
static bool interrupted(struct vcpu *v, struct kvm_vcpu *kv, struct vcpu_exit *exit)
{
	kvm_vcpu_eat_kicks();
	if (atomic_exchange(&kv->kick_requested, false)) {
		atomic_fetch_add_explicit(&kv->ctr->kicks, 1, memory_order_relaxed);
		exit->reason = VCPU_EXIT_INTERRUPTED;
		return true;
	}
	atomic_fetch_add_explicit(&kv->ctr->ticks, 1, memory_order_relaxed);
	switch (kvm_halt_check(v)) {
	case KVM_HALT_CONTINUE:
		return false;
	case KVM_HALT_WOKE:
		exit->reason = VCPU_EXIT_INTERRUPTED;
		return true;
	case KVM_HALT_REPORT:
		break;
	}
	exit->reason = VCPU_EXIT_HLT;
	/* kvm_halt.c judged the whole machine from timestamped samples, so the
	 * report is current at the generation nobody bumps on this engine. */
	exit->hlt.wait_sipi = atomic_load(&kv->kvm->halt[v->id]) != KVM_HALT_DEAD;
	exit->hlt.wake_gen = vcpu_wake_gen(v);
	if (atomic_load(&kv->kvm->halt[v->id]) == KVM_HALT_DEAD)
		snprintf(exit->error, sizeof(exit->error),
			 "vCPU %u halted with interrupts disabled at rip 0x%llx (cli; hlt): nothing can wake it",
			 v->id, (unsigned long long)current_rip(kv));
	else
		snprintf(exit->error, sizeof(exit->error),
			 "vCPU %u waits for INIT/SIPI and no running vCPU can send them", v->id);
	return true;
}

int kvm_vcpu_run(struct vcpu *v, struct vcpu_exit *exit)
{
	struct kvm_vcpu *kv = v->engine_state;
	struct kvm_run *run = kv->run;

	if (kv->mmio_read_pending) {
		kv->mmio_read_pending = false;
		memcpy(run->mmio.data, exit->mmio.data, run->mmio.len <= 8 ? run->mmio.len : 8);
	}
	for (;;) {
		exit->reason = VCPU_EXIT_NONE;
		exit->error[0] = '\0';
		atomic_fetch_add_explicit(&kv->ctr->runs, 1, memory_order_relaxed);
		int r = ioctl(kv->fd, KVM_RUN, 0UL);
		if (r < 0) {
			int e = errno;
			if (e == EINTR || e == EAGAIN) {
				count(kv, KVM_EXIT_INTR);
				if (!interrupted(v, kv, exit))
					continue;
				if (exit->reason != VCPU_EXIT_HLT)
					kv->reported_halt = false;
				return 0;
			}
			exit->reason = VCPU_EXIT_INTERNAL;
			snprintf(exit->error, sizeof(exit->error), "KVM_RUN on vCPU %u failed: %s",
				 v->id, strerror(e));
			return -e;
		}
		count(kv, run->exit_reason);
		if (translate(v, kv, exit)) {
			if (exit->reason != VCPU_EXIT_HLT)
				kv->reported_halt = false;
			return 0;
		}
	}
}
