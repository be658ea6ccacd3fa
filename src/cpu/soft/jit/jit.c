/* The translation tier's entry points (see jit.h): hotness, translation
 * into the cache (flushing it when full), chain slot filling, and the call
 * into translated code. */
#include <errno.h>
#include <stdlib.h>

#include "jit.h"

#include "../host_isa.h"
#include "../icache.h"
#include "sse.h"

struct soft_jit *soft_jit_new(size_t cache_bytes, unsigned hot)
{
	struct soft_jit *j = calloc(1, sizeof(*j));
	if (!j)
		return NULL;
	int r = soft_jit_cache_init(&j->cache, cache_bytes ? cache_bytes : SOFT_JIT_CACHE_DEFAULT);
	if (r < 0) {
		free(j);
		errno = -r;
		return NULL;
	}
	if (!soft_jit_stubs_emit(j)) { /* stubs.c: the cache's shared code */
		soft_jit_cache_destroy(&j->cache);
		free(j);
		errno = ENOMEM;
		return NULL;
	}
	j->hot = hot;
	j->lahf = soft_host_isa_probe() & SOFT_HOST_LAHF;
	soft_jit_dump_init(j);
	for (unsigned i = 0; i < SOFT_JIT_IBTC; i++)
		j->ibtc[i].epoch = ~0ULL;
	return j;
}

void soft_jit_free(struct soft_jit *j)
{
	if (!j)
		return;
	soft_jit_cache_destroy(&j->cache);
	free(j);
}

void soft_jit_flush(struct soft_cpu *cpu)
{
	if (!cpu->jit)
		return;
	soft_jit_cache_flush(&cpu->jit->cache);
	/* every chain slot was filled in an earlier epoch: all die */
	if (cpu->icache)
		soft_icache_bump_epoch(cpu->icache);
}

/* Translate b, flushing the cache once if it is full. */
static bool translate(struct soft_cpu *cpu, struct soft_jit *j, struct soft_block *b)
{
	if (soft_jit_translate(cpu, j, b))
		return true;
	if (j->cache.used == j->cache.base) {
		b->jit_never = true;
		j->stats.too_big++;
		return false;
	}
	soft_jit_flush(cpu);
	if (soft_jit_translate(cpu, j, b))
		return true;
	b->jit_never = true;
	j->stats.too_big++;
	return false;
}

/* Block b, found by its physical address, was reached at another linear
 * address than the RIP it holds (a page mapped twice, a shared library in
 * two processes, or the kernel's text, which runs at its physical address
 * early in boot and at its virtual address for ever after).  A translation
 * has its RIPs built in, so b runs interpreted there, unless it moves to
 * the new RIP: at once when it is not translated (it counts its heat
 * anew), and after j->hot entries in a row at other RIPs when it is (its
 * translation is dropped, and the epoch bumped: its chain slots, chains
 * into it and the indirect-branch table's entries all hold the old RIPs).
 * Returns true when b now holds cpu->rip. */
static bool rebind(struct soft_cpu *cpu, struct soft_jit *j, struct soft_block *b)
{
	if (b->jit_gen == j->cache.gen) {
		if (++b->jit_alias < j->hot)
			return false;
		b->jit_gen = 0; /* never a cache generation (they start at 1) */
		soft_icache_bump_epoch(cpu->icache);
		j->stats.rebinds++;
	}
	b->rip = cpu->rip;
	b->jit_heat = 0;
	b->jit_alias = 0;
	return true;
}

bool soft_jit_run(struct soft_cpu *cpu, struct soft_block *b, bool global, uint64_t budget,
		 bool overrun, int *status)
{
	struct soft_jit *j = cpu->jit;
	struct soft_jit_link *link = cpu->jit_link;
	cpu->jit_link = NULL;
	if (unlikely(b->rip != cpu->rip) && !rebind(cpu, j, b))
		return false;
	if (unlikely(b->jit_alias))
		b->jit_alias = 0;
	if (b->jit_gen != j->cache.gen) {
		if (b->jit_never || ++b->jit_heat < j->hot)
			return false;
		if (!translate(cpu, j, b))
			return false;
		link = NULL; /* a flush may have happened: no stale link */
	}
	/* a loop region's trace is longer than b: with an exact budget it
	 * runs only when the whole trace fits (jit/region.h) */
	if (unlikely(!overrun && budget < b->jit_n))
		return false;
	/* the link and the table entry hold the tag of b's mapping now */
	uint64_t epoch = soft_icache_tag(cpu->icache, global);
	if (link) {
		link->code = b->jit_body;
		link->code_r10 = b->jit_body_r10;
		link->epoch = epoch;
		j->stats.links++;
	}
	struct soft_jit_ibtc *ib = &j->ibtc[soft_jit_ibtc_index(b->rip)];
	ib->rip = b->rip;
	ib->code_r10 = b->jit_body_r10;
	ib->code_off = (int32_t)((const char *)b->jit_body - (const char *)b->jit_body_r10);
	ib->epoch = epoch;
	ib->mode = b->mode;
	/* Kept less what a chained block needs left to start (translate.c,
	 * retire: the SUB's sign says whether the next block may run): a whole
	 * block (SOFT_BLOCK_MAX), so that the budget is exact; with overrun
	 * (the engine's slices) one instruction, so that a chain goes on while
	 * the budget is not used up and ends less than a block past it, as
	 * the run loop does then (cpu.c, run_blocks). */
	int64_t hold = overrun ? 1 : SOFT_BLOCK_MAX;
	cpu->jit_budget = (budget > INT64_MAX ? INT64_MAX : (int64_t)budget) - hold;
	/* Exits retire instructions from the budget alone: cpu->icount is
	 * jit_icount_base - jit_budget until the epilogue stores it (stubs.c,
	 * SOFT_JIT_STUB_EPI); nothing reads it in between (handlers that
	 * count instructions themselves charge the budget too: exec_string.c,
	 * exec_branch.c), but the interrupt shadow's note in the shared
	 * checks, which computes it (modulo 2^64 both) */
	cpu->jit_icount_base = cpu->icount + (uint64_t)cpu->jit_budget;
	/* the shared entry stub (stubs.c) sets up the frame and jumps to the body */
	int (*fn)(struct soft_cpu *, const void *) =
		(int (*)(struct soft_cpu *, const void *))soft_jit_cache_exec_addr(&j->cache,
									    j->stub[SOFT_JIT_STUB_ENTRY]);
	j->stats.entries++;
	uint32_t host_mxcsr = jit_sse_host_mxcsr();
	*status = fn(cpu, b->jit_body);
	jit_sse_host_mxcsr_restore(host_mxcsr); /* sse.h */
	return true;
}
