/* The soft engine's translation tier (docs/soft-cpu.md, "Translator").
 *
 * Hot decoded blocks (struct soft_block, executed SOFT_JIT_HOT times) are
 * translated into host x86-64 code in a bounded, W^X translation cache
 * (jit_cache.h).  Integer register-register instructions run as the same
 * host instruction on host registers (guest registers loaded from and
 * stored to struct soft_cpu around each one; the guest's arithmetic flags
 * stay in the host's RFLAGS from one instruction to the next and are
 * written back to cpu->rflags only before anything else reads them);
 * every other instruction calls the interpreter's handler with RIP and the
 * flags synced first.  A translation belongs to its decoded block and dies
 * with it (block dropped by the icache) or with the cache (flush when full).
 * Direct exits of blocks that call no handler are chained: they jump to the
 * next block's translation through a slot in the block, valid while the
 * icache epoch it was made in lasts, after checking the kick flag and the
 * instruction budget.
 *
 * One struct soft_jit per vCPU, attached as cpu->jit (NULL: interpreter
 * only).  Not thread-safe: the vCPU's thread only. */
#ifndef RINGVM_SOFT_JIT_H
#define RINGVM_SOFT_JIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jit_cache.h"

struct soft_cpu;
struct soft_block;

/* Executions of a decoded block before it is translated. */
#define SOFT_JIT_HOT 16

struct soft_jit_stats {
	uint64_t translated;   /* blocks translated */
	uint64_t native_insns; /* guest instructions emitted as host instructions */
	uint64_t helper_insns; /* guest instructions emitted as handler calls */
	uint64_t fast_loads;   /* ... of the native ones: loads through the inline TLB probe */
	uint64_t fast_stores;  /* ... stores and read-modify-writes through it */
	uint64_t fast_stack;   /* ... PUSH POP CALL RET through it */
	uint64_t indirect;     /* ... indirect branches looking their target up (IBTC) */
	uint64_t sse;          /* ... SSE/SSE2 instructions on host XMM registers */
	uint64_t sse_mem;      /* ... of which with a memory operand */
	uint64_t entries;      /* translated blocks entered from the run loop */
	uint64_t links;        /* chain slots filled */
	uint64_t too_big;      /* blocks whose translation does not fit an empty cache */
	uint64_t rebinds;      /* translated blocks moved to another RIP (jit.c) */
};

/* Indirect branch targets (RET, JMP/CALL through a register or memory):
 * a direct-mapped table from guest RIP to the body of the translated
 * block entered there, filled when the run loop enters a translation,
 * valid while the icache tag it was filled with is current (as chain
 * slots: soft_icache_tag_valid).
 * Translated code looks its indirect targets up here and stays in
 * translated code on a hit. */
#define SOFT_JIT_IBTC 1024
struct soft_jit_ibtc {
	uint64_t rip;
	const void *code;      /* the block's body (after its prologue) */
	uint64_t epoch;        /* icache tag of the fill (soft_icache_tag); ~0: empty */
	uint64_t mode;         /* the block's decode mode */
};

static inline unsigned soft_jit_ibtc_index(uint64_t rip)
{
	return (unsigned)((rip ^ (rip >> 12)) & (SOFT_JIT_IBTC - 1));
}

struct soft_jit {
	struct soft_jit_cache cache;
	unsigned hot;          /* executions before translation (0: first time) */
	bool lahf;             /* the host has LAHF/SAHF in 64-bit mode (host_isa.h) */
	struct soft_jit_stats stats;
	struct soft_jit_ibtc ibtc[SOFT_JIT_IBTC];
	char dump_dir[256];    /* RINGVM_JIT_DUMP (dump.c); empty: no dump */
	bool no_loop_regs;     /* RINGVM_JIT_NO_LOOP_REGS: a loop onto itself
				* writes its registers back at every round
				* (translate.c; for comparisons) */
};

/* Chain slots (struct soft_jit_link, in struct soft_block): the
 * executable body of the next block, valid while the slot's tag is one of
 * the icache's two current ones (soft_icache_tag_valid). */

/* A translation cache of cache_bytes (0: SOFT_JIT_CACHE_DEFAULT) and the
 * hot threshold.  NULL on failure (errno set). */
struct soft_jit *soft_jit_new(size_t cache_bytes, unsigned hot);
void soft_jit_free(struct soft_jit *j);

/* The run loop's hook (cpu.c): run block b (at cpu->rip, chosen by the
 * loop) translated, translating it first when it became hot.  budget: the
 * instructions the loop may still run (at least b->n).  Returns false if
 * the block is not (yet) translated: the caller interprets it.  Otherwise
 * *status is the enum soft_status of the run (cpu->rip, registers, flags and
 * cpu->icount precise as after the interpreter), and chained blocks may have
 * run after b. */
bool soft_jit_run(struct soft_cpu *cpu, struct soft_block *b, bool global, uint64_t budget,
		 int *status);

/* RINGVM_JIT_DUMP (dump.c): read the directory from the environment; write
 * translation code (len bytes) of block b there. */
void soft_jit_dump_init(struct soft_jit *j);
void soft_jit_dump(struct soft_jit *j, const struct soft_block *b, const void *code, size_t len);

/* Drop every translation (the cache's generation changes). */
void soft_jit_flush(struct soft_cpu *cpu);

/* Translate b now into j's cache (internal to jit/, exposed for tests).
 * Returns the executable entry or NULL. */
const void *soft_jit_translate(struct soft_cpu *cpu, struct soft_jit *j, struct soft_block *b);

#endif
