/* A soft vCPU's run loop: slices of guest instructions, with interrupts,
 * timers, INIT/SIPI and HLT handled between them. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../decode.h"
#include "../icache.h"
#include "ringvm/clock.h"
#include "ringvm/log.h"
#include "soft_engine.h"

/* End the vCPU's current slice, or its sleep. */
static void interrupt_vcpu(struct soft_vcpu *sv)
{
	soft_cpu_kick(&sv->cpu);
	pthread_mutex_lock(&sv->lock);
	pthread_cond_signal(&sv->cond);
	pthread_mutex_unlock(&sv->lock);
}

void soft_engine_vcpu_kick(struct vcpu *v)
{
	struct soft_vcpu *sv = v->engine_state;
	if (!sv)
		return;
	atomic_store(&sv->kicked, true);
	interrupt_vcpu(sv);
}

/* Called by the interrupt controllers (any thread) when something became
 * pending for a vCPU: end its slice or its sleep. */
void soft_engine_wake(void *opaque, unsigned cpu)
{
	struct soft_vm *svm = opaque;
	if (cpu >= svm->vm->nr_vcpus)
		return;
	vcpu_note_wake(&svm->vm->vcpus[cpu]);
	struct soft_vcpu *sv = svm->vcpus[cpu];
	if (!sv || sv->stopped)
		return;
	interrupt_vcpu(sv);
}

/* Sleep until the next timer deadline, a wake-up or a kick.  Deadlines are
 * in the chip's clock (the machine's clock, which stops while the VM is
 * paused); the wait is on the host's monotonic clock (sv->cond's clock). */
static void sleep_until_event(struct soft_vcpu *sv)
{
	struct soft_irqchip *chip = sv->svm->chip;
	uint64_t deadline = soft_irqchip_next_deadline_ns(chip, sv->v->id);
	uint64_t now = soft_irqchip_now(chip);
	uint64_t t0 = clock_monotonic_ns();

	pthread_mutex_lock(&sv->lock);
	/* What could end the sleep is what service_events() would deliver: a
	 * maskable interrupt only while the vCPU takes them (a halted vCPU
	 * with IF=0 and one pending must sleep, not spin). */
	if (!atomic_load(&sv->kicked) &&
	    !soft_irqchip_need_check(chip, sv->v->id, soft_cpu_interruptible(&sv->cpu)) &&
	    !(deadline != SOFT_NO_DEADLINE && deadline <= now)) {
		/* No deadline: re-check now and then: the chip's wake-up covers
		 * every source, this only bounds the damage of a lost one. */
		uint64_t wait = deadline == SOFT_NO_DEADLINE ? 100000000ULL : deadline - now;
		if (wait > 100000000ULL)
			wait = 100000000ULL;
		uint64_t host = t0 + wait;
		struct timespec ts = { .tv_sec = (time_t)(host / 1000000000ULL),
				       .tv_nsec = (long)(host % 1000000000ULL) };
		pthread_cond_timedwait(&sv->cond, &sv->lock, &ts);
	}
	pthread_mutex_unlock(&sv->lock);
	sv->nr_sleep_ns += clock_monotonic_ns() - t0;
}

static void shutdown_exit(struct soft_cpu *cpu, struct vcpu_exit *exit)
{
	exit->reason = VCPU_EXIT_SHUTDOWN;
	snprintf(exit->error, sizeof(exit->error), "%s", cpu->error);
}

static void internal_exit(struct soft_vcpu *sv, struct vcpu_exit *exit, const char *what)
{
	char dis[96] = "";
	uint8_t bytes[16];
	struct soft_fault f;
	uint64_t pa;
	struct x86_insn in;
	struct soft_cpu *cpu = &sv->cpu;
	uint64_t la = soft_linear(cpu, SEG_CS, cpu->rip);

	/* Best effort: the instruction may sit at the end of a page. */
	unsigned n = 4096 - (unsigned)(la & 0xfff);
	if (n > 15)
		n = 15;
	if (soft_mmu_ops.fetch(&sv->mmu, la, bytes, n, &pa, &f) == 0 &&
	    x86_decode(bytes, n, (enum soft_mode)cpu->mode, &in) == X86_DEC_OK)
		x86_insn_format(&in, dis, sizeof(dis));
	exit->reason = VCPU_EXIT_INTERNAL;
	snprintf(exit->error, sizeof(exit->error), "%s at rip 0x%llx%s%s", what,
		 (unsigned long long)cpu->rip, dis[0] ? ": " : "", dis);
}

static void invalidate_code_page(void *opaque, uint64_t gpa_page)
{
	soft_cpu_invalidate_code(opaque, gpa_page, 4096);
}

/* Another vCPU wrote code this vCPU may have decoded: drop those pages (or
 * everything, if this vCPU fell a whole ring behind).  Between slices no
 * decoded block is executing, so the cache may be replaced. */
static void sync_code(struct soft_vcpu *sv)
{
	struct soft_cpu *cpu = &sv->cpu;
	/* pages other vCPUs started running lose their inline-store rights */
	soft_mmu_code_marks_sync(&sv->mmu);
	if (!soft_code_pending(sv->mmu.code, sv->mmu.code_seen))
		return;
	if (soft_code_sync(sv->mmu.code, &sv->mmu.code_seen, invalidate_code_page, cpu) < 0 &&
	    cpu->icache) {
		struct soft_icache *fresh = soft_icache_new();
		if (fresh) {
			soft_icache_free(cpu->icache);
			cpu->icache = fresh;
		}
	}
}

/* Between slices: INIT/SIPI, NMI, external interrupts, timers.  Returns
 * SOFT_OK, or SOFT_SHUTDOWN if delivery triple-faulted. */
static int service_events(struct soft_vcpu *sv)
{
	struct soft_irqchip *chip = sv->svm->chip;
	struct soft_cpu *cpu = &sv->cpu;
	unsigned id = sv->v->id;
	uint64_t now = soft_irqchip_now(chip);

	if (soft_irqchip_poll_due(chip, now))
		soft_irqchip_poll(chip, now);
	if (!soft_irqchip_need_check(chip, id, soft_cpu_interruptible(cpu)))
		return SOFT_OK;
	if (soft_irqchip_take_init(chip, id)) {
		soft_cpu_reset(cpu);
		soft_mmu_flush_all(&sv->mmu);
		sv->halted = false;
	}
	if (soft_irqchip_waiting_for_sipi(chip, id)) {
		int vec = soft_irqchip_take_sipi(chip, id);
		if (vec < 0)
			return SOFT_OK;
		soft_cpu_sipi(cpu, (uint8_t)vec);
		soft_mmu_flush_all(&sv->mmu);
		sv->halted = false;
	}
	/* NMIs stay pending while one is being handled (until its IRET;
	 * one is latched, SDM vol. 3, 6.7.1: more are cut to one here) and
	 * on the boundary after MOV SS / POP SS or STI (6.8.3); the next slice
	 * runs that instruction first.  Unblocked, two may wait (an NMI sent
	 * while another is on its way is not lost; KVM's process_nmi()). */
	if (cpu->nmi_blocked) {
		if (soft_irqchip_attention(chip, id) & SOFT_ATTN_NMI)
			soft_irqchip_nmi_blocked(chip, id);
	} else if (!cpu->shadow && soft_irqchip_take_nmi(chip, id)) {
		sv->halted = false;
		int r = soft_cpu_deliver(cpu, X86_EXC_NMI, SOFT_EV_NMI, false, 0);
		if (r != SOFT_OK)
			return r;
	}
	if (soft_cpu_interruptible(cpu)) {
		int vec = soft_irqchip_take(chip, id, true);
		if (vec >= 0) {
			sv->halted = false;
			sv->nr_irqs++;
			return soft_cpu_deliver(cpu, (unsigned)vec, SOFT_EV_EXTINT, false, 0);
		}
	}
	return SOFT_OK;
}

/* No-progress detection (vcpu_loop.c): report this vCPU stuck, once per
 * wake-up generation.  gen was sampled before service_events() found nothing
 * to deliver.  A halted vCPU with IF=0 is stuck only if nothing armed could
 * still send it an NMI or INIT (an IOAPIC pin routed as NMI or INIT). */
static bool report_stuck(struct soft_vcpu *sv, struct vcpu_exit *exit, bool wait_sipi,
			 uint64_t gen)
{
	if (!wait_sipi && soft_irqchip_nmi_source_armed(sv->svm->chip, sv->v->id))
		return false;
	if (sv->reported_stuck && sv->reported_gen == gen)
		return false;
	sv->reported_stuck = true;
	sv->reported_gen = gen;
	exit->reason = VCPU_EXIT_HLT;
	exit->hlt.wait_sipi = wait_sipi;
	exit->hlt.wake_gen = gen;
	return true;
}

int soft_engine_vcpu_run(struct vcpu *v, struct vcpu_exit *exit)
{
	struct soft_vcpu *sv = v->engine_state;
	struct soft_cpu *cpu = &sv->cpu;
	struct soft_irqchip *chip = sv->svm->chip;

	/* STI, IRET, POPF, SYSRET with an interrupt pending end the run
	 * right after the instruction (cpu.h, soft_cpu_if_set) */
	cpu->irq_attn = &chip->lapic[v->id].attention;
	cpu->irq_attn_bits = SOFT_ATTN_INTR;
	for (;;) {
		if (atomic_exchange(&sv->kicked, false) || vm_should_stop(v->vm)) {
			/* the loop forgets a stuck report on any other exit */
			sv->reported_stuck = false;
			exit->reason = VCPU_EXIT_INTERRUPTED;
			return 0;
		}
		sync_code(sv);
		uint64_t gen = vcpu_wake_gen(v);
		int r = service_events(sv);
		if (r == SOFT_SHUTDOWN) {
			shutdown_exit(cpu, exit);
			return 0;
		}
		if (r == SOFT_INTERNAL) {
			internal_exit(sv, exit, cpu->error);
			return 0;
		}
		if (soft_irqchip_waiting_for_sipi(chip, v->id)) {
			if (report_stuck(sv, exit, true, gen))
				return 0;
			sleep_until_event(sv);
			continue;
		}
		if (sv->halted) {
			/* HLT with IF=0: only an NMI or INIT can wake it. */
			if (!(cpu->rflags & X86_RFLAGS_IF) && report_stuck(sv, exit, false, gen))
				return 0;
			sleep_until_event(sv);
			continue;
		}
		if (sv->reported_stuck) {
			/* Running again: the loop must forget the report. */
			sv->reported_stuck = false;
			exit->reason = VCPU_EXIT_INTERRUPTED;
			return 0;
		}
		uint64_t done = 0;
		sv->nr_slices++;
		/* may end less than one block past the slice (cpu.h): the
		 * slice's tail runs chained like the rest of it */
		r = soft_cpu_run_slice(cpu, SOFT_SLICE, &done);
		switch (r) {
		case SOFT_OK:
		case SOFT_STOP:
			break;
		case SOFT_HLT:
			sv->halted = true;
			sv->nr_halts++;
			break;
		case SOFT_EXC:
			sv->nr_exceptions++;
			r = soft_cpu_deliver_exception(cpu);
			if (r == SOFT_SHUTDOWN) {
				shutdown_exit(cpu, exit);
				return 0;
			}
			if (r == SOFT_INTERNAL) {
				internal_exit(sv, exit, cpu->error);
				return 0;
			}
			break;
		case SOFT_SHUTDOWN:
			shutdown_exit(cpu, exit);
			return 0;
		default:
			internal_exit(sv, exit, cpu->error[0] ? cpu->error : "emulation failure");
			return 0;
		}
	}
}
