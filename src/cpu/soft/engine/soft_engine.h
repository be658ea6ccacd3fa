/* The soft engine's glue between the CPU core (../cpu.h), its MMU (../mmu)
 * and interrupt controllers (../irqchip) and the machine (engine.h).
 * Private to src/cpu/soft/engine/. */
#ifndef RINGVM_SOFT_ENGINE_H
#define RINGVM_SOFT_ENGINE_H

#include <pthread.h>
#include <stdatomic.h>

#include "../cpu.h"
#include "../jit/jit.h"
#include "../irqchip/irqchip.h"
#include "../irqchip/kvmclock.h"
#include "../mmu/soft_mmu.h"
#include "ringvm/vm.h"

/* Instructions per slice between checks for interrupts, timers and kicks
 * (a slice ends less than one decoded block past it: soft_cpu_run_slice). */
#define SOFT_SLICE 20000

struct soft_vcpu {
	struct soft_cpu cpu;
	struct soft_mmu mmu;
	struct soft_sys_ops sys;        /* soft_engine_sys_ops with opaque = this */
	struct vcpu *v;
	struct soft_vm *svm;
	struct kvmclock_vcpu kvmclock;

	/* Sleeping in HLT / wait-for-SIPI: woken by interrupts and kicks. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	_Atomic bool kicked;
	bool halted;
	bool reported_stuck;            /* last VCPU_EXIT_HLT not yet undone */
	uint64_t reported_gen;          /* its wake-up generation */
	_Atomic bool stopped;           /* vcpu_destroy ran; kept for --stats */
	uint64_t *ud_by_insn;           /* the core's #UD counts, taken at vcpu_destroy for --stats */

	uint64_t nr_slices, nr_irqs, nr_exceptions, nr_halts, nr_sleep_ns;
	/* the icache's counters, kept by vcpu_destroy for --stats */
	uint64_t ic_blocks, ic_bytes, ic_budget, ic_flushes, ic_jump_hits;
	/* the decoded-block cache, detached from the core at vcpu_destroy and
	 * freed with sv (free_soft_vcpu), or left to the process's exit */
	struct soft_icache *icache;
	struct soft_jit_stats jit_stats; /* translation tier counters (--stats), kept past destroy */
	uint64_t jit_cache, jit_used, jit_flushes;
	bool jit;
};

struct soft_vm {
	struct vm *vm;
	struct soft_irqchip *chip;
	struct soft_code_tracker code;  /* cross-vCPU decoded-code coherence */
	uint64_t wall_ns_at_zero;       /* host wall clock when guest time was 0 */
	/* nr_vcpus entries, NULL until created; set on the vCPU's thread, read
	 * by wake-ups from any thread. */
	struct soft_vcpu *_Atomic *vcpus;
};

/* soft_metrics.c: the "soft_engine" metrics group (engine_ops.metrics). */
struct vm_metrics;
void soft_engine_metrics(struct vm *vm, struct vm_metrics *m);

/* soft_platform.c: the hooks the MMU and the core call. */
extern const struct soft_sys_ops soft_engine_sys_ops;
void soft_engine_mmu_hooks(struct soft_vcpu *sv, struct soft_mmu_hooks *h);
struct kvmclock_now soft_engine_time(struct soft_vm *svm);
/* IA32_TSC_DEADLINE between the vCPU's TSC (the MSR, snapshots) and the
 * chip's (the LAPIC keeps it there): soft_platform.c. */
uint64_t soft_deadline_to_chip(const struct soft_vcpu *sv, uint64_t v);
uint64_t soft_deadline_to_vcpu(const struct soft_vcpu *sv, uint64_t m);
/* The guest TSC's rate: the host's TSC rate in whole MHz, or
 * SOFT_TSC_HZ_DEFAULT where the host's is not constant (soft_tsc.c). */
uint64_t soft_tsc_host_hz(void);

/* soft_vcpu.c */
int soft_engine_vcpu_run(struct vcpu *v, struct vcpu_exit *exit);
void soft_engine_vcpu_kick(struct vcpu *v);
void soft_engine_wake(void *opaque, unsigned cpu);

/* soft_snapshot.c: engine_ops' snapshot state in the neutral form */
int soft_engine_get_irqchip(struct vm *vm, struct irqchip_state *s);
int soft_engine_set_irqchip(struct vm *vm, const struct irqchip_state *s);
int soft_engine_get_vcpu_extra(struct vcpu *v, struct vcpu_extra_state *e);
int soft_engine_set_vcpu_extra(struct vcpu *v, const struct vcpu_extra_state *e);

/* soft_dirty.c: engine_ops' dirty-page tracking (diff snapshots) */
int soft_engine_dirty_log_start(struct vm *vm);
int soft_engine_dirty_log_fetch(struct vm *vm, uint64_t *bitmap);

#endif
