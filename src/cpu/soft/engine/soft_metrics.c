/* The soft engine's counters for the metrics line (docs/api.md, "Metrics"):
 * the group "soft_engine", summed over the vCPUs, as running totals (the
 * metrics writer turns them into increases).  The same counters --stats
 * prints per vCPU (engine_soft.c), read without stopping the vCPUs, as
 * --stats and the "ringvm" group read theirs: a line may be a few
 * instructions off. */
#include <stdio.h>

#include "ringvm/vm.h"
#include "../jit/jit.h"
#include "soft_engine.h"

void soft_engine_metrics(struct vm *vm, struct vm_metrics *m)
{
	struct soft_vm *svm = vm->engine_state;
	uint64_t insns = 0, irqs = 0, exc = 0, halts = 0, sleep_ns = 0, tlb_hits = 0,
		 tlb_misses = 0, tlb_flushes = 0, tlb_page_flushes = 0, ic_hits = 0, ic_misses = 0,
		 ic_flushes = 0, translated = 0;
	if (!svm)
		return;
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		const struct soft_vcpu *sv = svm->vcpus[i];
		if (!sv)
			continue;
		insns += sv->cpu.icount;
		irqs += sv->nr_irqs;
		exc += sv->nr_exceptions + sv->cpu.exc_delivered;
		halts += sv->nr_halts;
		sleep_ns += sv->nr_sleep_ns;
		tlb_hits += sv->mmu.stats.hits;
		tlb_misses += sv->mmu.stats.misses;
		tlb_flushes += sv->mmu.stats.flushes;
		tlb_page_flushes += sv->mmu.stats.page_flushes;
		ic_hits += sv->cpu.icache_hits;
		ic_misses += sv->cpu.icache_misses;
		ic_flushes += sv->ic_flushes;
		if (sv->jit)
			translated += (sv->cpu.jit ? &sv->cpu.jit->stats : &sv->jit_stats)->translated;
	}
	snprintf(m->group, sizeof(m->group), "soft_engine");
	vm_metric(m, "instructions", insns);
	vm_metric(m, "interrupts", irqs);
	vm_metric(m, "exceptions", exc);
	vm_metric(m, "halts", halts);
	vm_metric(m, "halted_us", sleep_ns / 1000);
	vm_metric(m, "tlb_hits", tlb_hits);
	vm_metric(m, "tlb_misses", tlb_misses);
	vm_metric(m, "tlb_flushes", tlb_flushes);
	vm_metric(m, "tlb_page_flushes", tlb_page_flushes);
	vm_metric(m, "icache_hits", ic_hits);
	vm_metric(m, "icache_misses", ic_misses);
	vm_metric(m, "icache_flushes", ic_flushes);
	vm_metric(m, "jit_blocks_translated", translated);
}
