/* The soft engine's entry in the engine table: software full virtualization
 * on ringvm's own x86-64 CPU (src/cpu/soft). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ringvm/clock.h"
#include "ringvm/log.h"
#include "ringvm/sandbox.h"
#include "../decode.h"
#include "../icache.h"
#include "../jit/jit.h"
#include "soft_engine.h"

static void soft_probe(struct engine_probe *out)
{
	out->available = true;
	out->runs_kernels_well = true;
	snprintf(out->reason, sizeof(out->reason),
		 "ringvm's own x86-64 CPU (interpreter with a decoded-block cache), no host support needed");
}

/* exiting: the process exits right after this (vm->process_exiting).  The
 * decoded-block cache is then left to the kernel: freeing its ~40 000 blocks
 * one by one cost ~10 ms of the 50 ms from the guest's power-off to the
 * process's exit, and the exit returns the heap's pages either way.  Builds
 * with a sanitizer free it all, so their leak checks still see a complete
 * teardown. */
static void free_soft_vcpu(struct soft_vcpu *sv, bool exiting)
{
	if (!exiting || sandbox_sanitizer_build())
		soft_icache_free(sv->icache);
	sv->icache = NULL;
	pthread_cond_destroy(&sv->cond);
	pthread_mutex_destroy(&sv->lock);
	free(sv->ud_by_insn);
	free(sv);
}

/* The VMM wrote guest RAM (a device's DMA, a loader): pages that a vCPU has
 * fetched code from are published to the code tracker, and every running
 * vCPU ends its slice at its next block boundary, so it drops its decoded
 * blocks of them before it runs another block.  The device publishes the
 * completion (used ring, interrupt) only after this returns, so a guest that
 * sees its DMA done, even by polling, runs the new code: on real hardware DMA
 * is snooped by the instruction fetch path too (issue 10 item 3). */
static void soft_vmm_wrote(void *opaque, gpa_t gpa, uint64_t len)
{
	struct soft_vm *svm = opaque;
	const struct gmem *m = &svm->vm->mem;
	bool published = false;
	if (!len || gpa + len < gpa)
		return;
	for (uint64_t page = gpa & ~4095ull; page < gpa + len; page += 4096) {
		const struct gmem_region *r = gmem_region_of(m, page);
		if (!r)
			continue;
		if (soft_code_is_marked(&svm->code, r->offset + (page - r->gpa))) {
			uint64_t not_a_vcpu = UINT64_MAX;
			soft_code_unmark(&svm->code, r->offset + (page - r->gpa));
			soft_code_publish(&svm->code, page, &not_a_vcpu);
			published = true;
		}
	}
	if (!published)
		return;
	for (unsigned i = 0; i < svm->vm->nr_vcpus; i++) {
		struct soft_vcpu *sv = svm->vcpus[i];
		if (sv)
			soft_cpu_kick(&sv->cpu);  /* thread safe: an atomic flag */
	}
}

static uint64_t soft_vm_clock(void *opaque)
{
	return vm_clock_ns(opaque);
}

static int soft_vm_init(struct vm *vm)
{
	struct soft_vm *svm = calloc(1, sizeof(*svm));
	if (!svm)
		return -ENOMEM;
	svm->vm = vm;
	svm->vcpus = calloc(vm->nr_vcpus, sizeof(*svm->vcpus));
	/* The machine's clock: it stops while the VM is paused (vm_pause.c). */
	/* The LAPICs connect to the board's PIC/PIT/IOAPIC, which the machine
	 * created for us (engine_ops.in_kernel_irqchip is false). */
	if (!vm->irqchip) {
		free((void *)svm->vcpus);
		free(svm);
		return -EINVAL;
	}
	struct soft_irqchip_config cfg = { .nr_vcpus = vm->nr_vcpus, .clock = soft_vm_clock,
					   .clock_opaque = vm, .tsc_hz = soft_tsc_host_hz(),
					   .board = vm->irqchip };
	svm->chip = svm->vcpus ? soft_irqchip_create_cfg(vm, &cfg) : NULL;
	if (!svm->chip) {
		free((void *)svm->vcpus);
		free(svm);
		return -ENOMEM;
	}
	pr_info("soft engine: guest TSC at %llu MHz%s (CPUID 0x15/0x16, kvmclock)",
		(unsigned long long)(svm->chip->tsc_hz / 1000000),
		svm->chip->tsc_hz == SOFT_TSC_HZ_DEFAULT ? "" : ", the host's TSC rate");
	struct timespec wall;
	clock_gettime(CLOCK_REALTIME, &wall);
	uint64_t wall_ns = (uint64_t)wall.tv_sec * 1000000000ULL + (uint64_t)wall.tv_nsec;
	uint64_t guest_ns = soft_irqchip_tsc_to_ns(svm->chip,
		soft_irqchip_guest_tsc(svm->chip, soft_irqchip_now(svm->chip)));
	svm->wall_ns_at_zero = wall_ns - guest_ns;
	if (soft_code_tracker_init(&svm->code, vm->mem.ram_size) < 0) {
		soft_irqchip_destroy(svm->chip);
		free((void *)svm->vcpus);
		free(svm);
		return -ENOMEM;
	}
	soft_irqchip_set_wake(svm->chip, soft_engine_wake, svm);
	gmem_set_dirty_hook(&vm->mem, soft_vmm_wrote, svm);
	vm->engine_state = svm;
	return 0;
}

static void soft_vm_destroy(struct vm *vm)
{
	struct soft_vm *svm = vm->engine_state;
	if (!svm)
		return;
	gmem_set_dirty_hook(&vm->mem, NULL, NULL);
	soft_irqchip_destroy(svm->chip);
	soft_code_tracker_destroy(&svm->code);
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		if (svm->vcpus[i])
			free_soft_vcpu(svm->vcpus[i], vm->process_exiting);
	free((void *)svm->vcpus);
	free(svm);
	vm->engine_state = NULL;
}

static int soft_vcpu_init(struct vcpu *v)
{
	struct soft_vm *svm = v->vm->engine_state;
	struct soft_vcpu *sv = calloc(1, sizeof(*sv));
	if (!sv)
		return -ENOMEM;
	sv->v = v;
	sv->svm = svm;
	pthread_mutex_init(&sv->lock, NULL);
	/* sleep_until_event waits on host monotonic time. */
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&sv->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (soft_cpu_init(&sv->cpu, &soft_mmu_ops, &sv->mmu, true) < 0) {
		free(sv);
		return -ENOMEM;
	}
	sv->cpu.deliver_exc = 1; /* exceptions through the IDT inside soft_cpu_run */
	if (v->vm->cfg.soft_jit) {
		/* --soft-tier jit: this vCPU's translation cache */
		sv->cpu.jit = soft_jit_new(v->vm->cfg.soft_jit_cache, SOFT_JIT_HOT);
		if (!sv->cpu.jit) {
			int err = -errno;
			soft_cpu_destroy(&sv->cpu);
			free(sv);
			return err;
		}
		sv->jit = true;
	}
	sv->cpu.jit_tlb = sv->mmu.tlb; /* translated loads probe it inline */
	struct soft_mmu_hooks hooks;
	soft_engine_mmu_hooks(sv, &hooks);
	soft_mmu_init(&sv->mmu, &sv->cpu, &v->vm->mem, &v->vm->mmio, &hooks);
	sv->mmu.code = &svm->code;
	sv->mmu.code_seen = atomic_load(&svm->code.epoch);
	sv->sys = soft_engine_sys_ops;
	sv->sys.opaque = sv;
	sv->cpu.sys = &sv->sys;
	sv->cpu.apic_base = LAYOUT_LAPIC | (1ULL << 11) | (v->id == 0 ? (1ULL << 8) : 0);
	soft_mmu_set_local_page(&sv->mmu, soft_irqchip_lapic_mmio_base(svm->chip, v->id));
	v->engine_state = sv;
	svm->vcpus[v->id] = sv;
	return 0;
}

/* The vCPU stops running here; its counters stay readable for --stats until
 * the engine VM is destroyed.  sv itself stays allocated until then too, so a
 * kick or wake-up racing with this (another thread loaded the pointer just
 * before it was cleared) touches live memory: only sv->kicked, cpu.kick and
 * the lock/condition, which soft_cpu_destroy leaves alone. */
static void soft_vcpu_destroy(struct vcpu *v)
{
	struct soft_vcpu *sv = v->engine_state;
	if (!sv)
		return;
	v->engine_state = NULL;
	sv->ud_by_insn = sv->cpu.ud_by_insn; /* outlives the core for --stats */
	sv->cpu.ud_by_insn = NULL;
	if (sv->cpu.icache) {
		sv->ic_blocks = sv->cpu.icache->nblocks;
		sv->ic_bytes = sv->cpu.icache->bytes;
		sv->ic_budget = sv->cpu.icache->budget;
		sv->ic_flushes = sv->cpu.icache->nflush;
		sv->ic_jump_hits = sv->cpu.icache->jump_hits;
	}
	sv->icache = sv->cpu.icache; /* freed with sv, see free_soft_vcpu */
	sv->cpu.icache = NULL;
	if (sv->cpu.jit) {
		sv->jit_stats = sv->cpu.jit->stats;
		sv->jit_cache = sv->cpu.jit->cache.size;
		sv->jit_used = sv->cpu.jit->cache.used;
		sv->jit_flushes = sv->cpu.jit->cache.nflush;
	}
	soft_cpu_destroy(&sv->cpu);
	sv->stopped = true;
}

static int soft_get_regs(struct vcpu *v, struct x86_regs *r)
{
	struct soft_vcpu *sv = v->engine_state;
	soft_cpu_get_regs(&sv->cpu, r);
	return 0;
}

static int soft_set_regs(struct vcpu *v, const struct x86_regs *r)
{
	struct soft_vcpu *sv = v->engine_state;
	soft_cpu_set_regs(&sv->cpu, r);
	return 0;
}

static int soft_get_sregs(struct vcpu *v, struct x86_sregs *s)
{
	struct soft_vcpu *sv = v->engine_state;
	soft_cpu_get_sregs(&sv->cpu, s);
	return 0;
}

static int soft_set_sregs(struct vcpu *v, const struct x86_sregs *s)
{
	struct soft_vcpu *sv = v->engine_state;
	soft_cpu_set_sregs(&sv->cpu, s);
	soft_cpu_update_mode(&sv->cpu);
	soft_mmu_flush_all(&sv->mmu);
	soft_cpu_flush_code_tlb(&sv->cpu);
	return 0;
}

static int soft_get_fpu(struct vcpu *v, struct x86_fpu *f)
{
	struct soft_vcpu *sv = v->engine_state;
	soft_cpu_get_fpu(&sv->cpu, f);
	return 0;
}

static int soft_set_fpu(struct vcpu *v, const struct x86_fpu *f)
{
	struct soft_vcpu *sv = v->engine_state;
	soft_cpu_set_fpu(&sv->cpu, f);
	return 0;
}

/* Through the core's own RDMSR/WRMSR rules: its MSRs with their validation
 * and side effects, then the platform's (LAPIC, kvmclock) via the sys hooks. */
static int soft_get_msrs(struct vcpu *v, struct x86_msr *msrs, unsigned n)
{
	struct soft_vcpu *sv = v->engine_state;
	for (unsigned i = 0; i < n; i++)
		if (soft_cpu_rdmsr(&sv->cpu, msrs[i].index, &msrs[i].value) < 0)
			return (int)i;
	return (int)n;
}

static int soft_set_msrs(struct vcpu *v, const struct x86_msr *msrs, unsigned n)
{
	struct soft_vcpu *sv = v->engine_state;
	for (unsigned i = 0; i < n; i++)
		if (soft_cpu_wrmsr(&sv->cpu, msrs[i].index, msrs[i].value) < 0)
			return (int)i;
	return (int)n;
}

/* "#UD by instruction": the instructions outside the model this vCPU tried
 * (explicit #UD rows, VEX, undefined encodings), most frequent first. */
static void print_ud_by_insn(FILE *out, unsigned cpu_index, const uint64_t *ud)
{
	enum { SHOW = 8 };
	unsigned top[SHOW], n = 0, distinct = 0;
	if (!ud)
		return;
	for (unsigned id = 0; id < X86_I_COUNT; id++) {
		if (!ud[id])
			continue;
		distinct++;
		unsigned k = n < SHOW ? n++ : SHOW;
		if (k == SHOW && ud[id] <= ud[top[SHOW - 1]])
			continue;
		if (k == SHOW)
			k = SHOW - 1;
		while (k > 0 && ud[top[k - 1]] < ud[id]) {
			top[k] = top[k - 1];
			k--;
		}
		top[k] = id;
	}
	if (!n)
		return;
	fprintf(out, "    vCPU %u #UD by instruction:", cpu_index);
	for (unsigned i = 0; i < n; i++)
		fprintf(out, " %s %llu", top[i] == X86_I_INVALID ? "(undefined encoding)" : x86_insn_name(top[i]),
			(unsigned long long)ud[top[i]]);
	if (distinct > n)
		fprintf(out, " (+%u more)", distinct - n);
	fprintf(out, "\n");
}

static void soft_print_stats(struct vm *vm, FILE *out)
{
	struct soft_vm *svm = vm->engine_state;
	if (!svm)
		return;
	fprintf(out, "  soft engine:\n");
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		struct soft_vcpu *sv = svm->vcpus[i];
		if (!sv)
			continue;
		const struct soft_mmu_stats *m = &sv->mmu.stats;
		fprintf(out, "    vCPU %u: %llu instructions, %llu interrupts, %llu exceptions, %llu HLTs (%.3f s asleep)\n",
			i, (unsigned long long)sv->cpu.icount, (unsigned long long)sv->nr_irqs,
			(unsigned long long)(sv->nr_exceptions + sv->cpu.exc_delivered),
			(unsigned long long)sv->nr_halts,
			(double)sv->nr_sleep_ns / 1e9);
		fprintf(out, "    vCPU %u TLB: %llu hits, %llu misses, %llu full flushes, %llu page flushes; "
			"icache: %llu hits (%llu through the jump cache), %llu misses\n", i,
			(unsigned long long)m->hits, (unsigned long long)m->misses,
			(unsigned long long)m->flushes, (unsigned long long)m->page_flushes,
			(unsigned long long)sv->cpu.icache_hits,
			(unsigned long long)(sv->cpu.icache ? sv->cpu.icache->jump_hits : sv->ic_jump_hits),
			(unsigned long long)sv->cpu.icache_misses);
		fprintf(out, "    vCPU %u TLB address spaces: %llu PCID switches without flush, %llu PCID "
			"flushes, %llu global entries re-tagged, %llu wraps\n", i,
			(unsigned long long)m->pcid_switches, (unsigned long long)m->pcid_flushes,
			(unsigned long long)m->global_retags, (unsigned long long)m->space_wraps);
		fprintf(out, "    vCPU %u REP MOVS/STOS: %llu KiB moved or filled page by page, in %llu runs\n",
			i, (unsigned long long)(sv->cpu.rep_fast_bytes >> 10),
			(unsigned long long)sv->cpu.rep_fast_runs);
		fprintf(out, "    vCPU %u TLB targeted passes: %llu slot windows recycled, %llu INVLPGs "
			"in large pages, %llu inline-store rights withdrawn, %llu full mark passes\n", i,
			(unsigned long long)m->window_recycles, (unsigned long long)m->large_passes,
			(unsigned long long)m->fastw_revokes, (unsigned long long)m->mark_passes);
		fprintf(out, "    vCPU %u run loop: %llu instructions stepped one at a time, %llu interrupt "
			"shadows run into the next block\n", i, (unsigned long long)sv->cpu.uncached_insns,
			(unsigned long long)sv->cpu.shadow_runs);
		print_ud_by_insn(out, i, sv->ud_by_insn ? sv->ud_by_insn : sv->cpu.ud_by_insn);
		fprintf(out, "    vCPU %u icache at the end: %llu blocks, %llu KiB of a %llu KiB budget, "
			"%llu flushes when full\n", i, (unsigned long long)sv->ic_blocks,
			(unsigned long long)(sv->ic_bytes >> 10), (unsigned long long)(sv->ic_budget >> 10),
			(unsigned long long)sv->ic_flushes);
		if (sv->jit) {
			const struct soft_jit_stats *js = sv->cpu.jit ? &sv->cpu.jit->stats : &sv->jit_stats;
			fprintf(out, "    vCPU %u translator: %llu blocks translated (%llu as loop regions; %llu instructions as host "
				"instructions, %llu of them loads, %llu stores and %llu stack accesses through "
				"the inline TLB probe, %llu indirect branches, %llu SSE, %llu VEX; %llu as handler "
				"calls), %llu entries, %llu chain links, %llu moved to another RIP, "
				"cache %llu KiB used of %llu KiB, %llu flushes when full\n", i,
				(unsigned long long)js->translated, (unsigned long long)js->regions,
				(unsigned long long)js->native_insns,
				(unsigned long long)js->fast_loads, (unsigned long long)js->fast_stores,
				(unsigned long long)js->fast_stack, (unsigned long long)js->indirect,
				(unsigned long long)js->sse, (unsigned long long)js->vex,
				(unsigned long long)js->helper_insns, (unsigned long long)js->entries,
				(unsigned long long)js->links, (unsigned long long)js->rebinds,
				(unsigned long long)((sv->cpu.jit ? sv->cpu.jit->cache.used : sv->jit_used) >> 10),
				(unsigned long long)((sv->cpu.jit ? sv->cpu.jit->cache.size : sv->jit_cache) >> 10),
				(unsigned long long)(sv->cpu.jit ? sv->cpu.jit->cache.nflush : sv->jit_flushes));
			uint64_t all = 0;
			for (unsigned k = 0; k < SOFT_JIT_BYTES_N; k++)
				all += js->bytes[k];
			fprintf(out, "    vCPU %u translated bytes: %llu KiB, %llu per block: body %llu, exits %llu, "
				"handler calls %llu, slow paths %llu, fault/stop exits %llu, frame %llu\n", i,
				(unsigned long long)(all >> 10),
				(unsigned long long)(js->translated ? all / js->translated : 0),
				(unsigned long long)(js->translated ? js->bytes[SOFT_JIT_BYTES_BODY] / js->translated : 0),
				(unsigned long long)(js->translated ? js->bytes[SOFT_JIT_BYTES_EXIT] / js->translated : 0),
				(unsigned long long)(js->translated ? js->bytes[SOFT_JIT_BYTES_HELPER] / js->translated : 0),
				(unsigned long long)(js->translated ? js->bytes[SOFT_JIT_BYTES_SLOW] / js->translated : 0),
				(unsigned long long)(js->translated ? js->bytes[SOFT_JIT_BYTES_STUB] / js->translated : 0),
				(unsigned long long)(js->translated ? js->bytes[SOFT_JIT_BYTES_FRAME] / js->translated : 0));
		}
	}
}

const struct engine_ops engine_soft_ops = {
	.name = "soft",
	.probe = soft_probe,
	.vm_init = soft_vm_init,
	.vm_destroy = soft_vm_destroy,
	.vcpu_init = soft_vcpu_init,
	.vcpu_destroy = soft_vcpu_destroy,
	.vcpu_run = soft_engine_vcpu_run,
	.vcpu_kick = soft_engine_vcpu_kick,
	.get_regs = soft_get_regs,
	.set_regs = soft_set_regs,
	.get_sregs = soft_get_sregs,
	.set_sregs = soft_set_sregs,
	.get_fpu = soft_get_fpu,
	.set_fpu = soft_set_fpu,
	.get_msrs = soft_get_msrs,
	.set_msrs = soft_set_msrs,
	.get_irqchip = soft_engine_get_irqchip,
	.set_irqchip = soft_engine_set_irqchip,
	.get_vcpu_extra = soft_engine_get_vcpu_extra,
	.set_vcpu_extra = soft_engine_set_vcpu_extra,
	.dirty_log_start = soft_engine_dirty_log_start,
	.dirty_log_fetch = soft_engine_dirty_log_fetch,
	.print_stats = soft_print_stats,
	.metrics = soft_engine_metrics,
};
