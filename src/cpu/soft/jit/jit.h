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

/* Kinds of translated host code, for --stats (where the cache goes). */
enum soft_jit_bytes {
	SOFT_JIT_BYTES_FRAME,  /* prologue, epilogue, padding */
	SOFT_JIT_BYTES_EXIT,   /* block exits: retire, chain checks, IBTC look-ups */
	SOFT_JIT_BYTES_HELPER, /* handler calls (register write-back included) */
	SOFT_JIT_BYTES_SLOW,   /* the fast path's out-of-line slow paths */
	SOFT_JIT_BYTES_STUB,   /* fault and block_stop exits */
	SOFT_JIT_BYTES_BODY,   /* the rest: instructions, probes, flag moves */
	SOFT_JIT_BYTES_N
};

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
	uint64_t vex;          /* ... VEX (AVX/AVX2) instructions on host YMM registers */
	uint64_t vex_mem;      /* ... of which with a memory operand */
	uint64_t entries;      /* translated blocks entered from the run loop */
	uint64_t links;        /* chain slots filled */
	uint64_t too_big;      /* blocks whose translation does not fit an empty cache */
	uint64_t rebinds;      /* translated blocks moved to another RIP (jit.c) */
	uint64_t regions;      /* ... of the translated: loop regions (region.h) */
	/* host bytes of the kept translations, by kind (translate.c) */
	uint64_t bytes[SOFT_JIT_BYTES_N];
};

/* Indirect branch targets (RET, JMP/CALL through a register or memory):
 * a direct-mapped table from guest RIP to the translated block entered
 * there, filled when the run loop enters a translation, valid while the
 * icache tag it was filled with is current (as chain slots:
 * soft_icache_tag_valid).
 * Translated code looks its indirect targets up here and stays in
 * translated code on a hit: an exit of a block without handler calls
 * with the guest flags in R10 jumps to code_r10 (the block's R10 entry,
 * exits.h), any other to code_r10 + code_off (its body, which takes the
 * flags from cpu).  32 bytes: an index shifted by 5 (translate.c). */
#define SOFT_JIT_IBTC 1024
struct soft_jit_ibtc {
	uint64_t rip;
	const void *code_r10;  /* the block's R10 entry (soft_block.jit_body_r10) */
	uint64_t epoch;        /* icache tag of the fill (soft_icache_tag); ~0: empty */
	uint32_t mode;         /* the block's decode mode */
	int32_t code_off;      /* its body (jit_body) - code_r10 */
};

static inline unsigned soft_jit_ibtc_index(uint64_t rip)
{
	return (unsigned)((rip ^ (rip >> 12)) & (SOFT_JIT_IBTC - 1));
}

/* Code every translation shares, at the start of the cache and kept
 * across flushes (stubs.c): the frame and the cold tails of exits, so
 * that translations hold only their own code.  Offsets into the cache. */
enum soft_jit_stub {
	SOFT_JIT_STUB_ENTRY,     /* int entry(cpu, body): the frame, then jmp body */
	SOFT_JIT_STUB_EPI,       /* leave the frame, return EAX */
	SOFT_JIT_STUB_OK,        /* EAX = SOFT_OK, leave */
	SOFT_JIT_STUB_OK_NOLINK, /* cpu->jit_link = NULL, EAX = SOFT_OK, leave */
	SOFT_JIT_STUB_OK_LINK,   /* cpu->jit_link = RAX (a chain slot), EAX = SOFT_OK, leave */
	SOFT_JIT_STUB_OK_LINK_R10, /* cpu->rflags = the guest flags in R10 (exits.h), then OK_LINK */
	SOFT_JIT_STUB_OK_LINK_R10_PF, /* ... R10 a PUSHFQ image (a host without LAHF) */
	SOFT_JIT_STUB_OK_IND,    /* cpu->rip = R11 (an indirect exit's target),
				  * then OK_NOLINK */
	SOFT_JIT_STUB_OK_IND_R10, /* cpu->rflags = the guest flags in R10, then OK_IND */
	SOFT_JIT_STUB_OK_IND_R10_PF, /* ... R10 a PUSHFQ image */
	SOFT_JIT_STUB_FAULT,     /* a handler failed (EAX): retire EDX instructions, leave */
	SOFT_JIT_STUB_STOP,      /* block_stop: RIP = next_rip, retire EDX, leave SOFT_OK */
	SOFT_JIT_STUB_CHECKS,    /* CALLed: what the run loop checks between blocks
				  * after a handler (chain_checks); RET if chaining
				  * may go on (RCX = cpu->icache), else leave SOFT_OK */
	SOFT_JIT_STUB_HELPER,    /* CALLed: RSI = insn, RDX = its RIP: cpu->rip and
				  * next_rip set, then the insn's handler (EAX) */
	SOFT_JIT_STUB_ATOMIC,    /* ... through soft_exec_atomic (LOCK) */
	SOFT_JIT_STUB_HELPER_CHK, /* CALLed: as HELPER with EBX = the insn's index in
				   * its block, and on a failure (FAULT, EBX retired)
				   * or block_stop (STOP, EBX + 1) it leaves itself */
	SOFT_JIT_STUB_ATOMIC_CHK, /* ... through soft_exec_atomic */
	SOFT_JIT_STUB_CLASS,     /* CALLed: R14 = the rights class of data accesses
				  * (soft_mmu_class) plus the address space's salt;
				  * ENTRY and CHECKS compute it too, so R14 is
				  * current at every entry into a body (a block
				  * without handler calls cannot change it) */
	SOFT_JIT_STUB_N
};

struct soft_jit {
	struct soft_jit_cache cache;
	size_t stub[SOFT_JIT_STUB_N]; /* enum soft_jit_stub: offsets in the cache */
	unsigned hot;          /* executions before translation (0: first time) */
	bool lahf;             /* the host has LAHF/SAHF in 64-bit mode (host_isa.h) */
	struct soft_jit_stats stats;
	struct soft_jit_ibtc ibtc[SOFT_JIT_IBTC];
	char dump_dir[256];    /* RINGVM_JIT_DUMP (dump.c); empty: no dump */
	bool no_vex;           /* RINGVM_JIT_NO_VEX: VEX forms (SIMD and BMI),
				* TZCNT, LZCNT and POPCNT through their
				* handlers (vex.h) */
	bool no_loop_regs;     /* RINGVM_JIT_NO_LOOP_REGS: a loop onto itself
				* writes its registers back at every round
				* (translate.c; for comparisons) */
	bool no_sysinline;     /* RINGVM_JIT_NO_SYSINLINE: SYSCALL and SYSRETQ
				* through their handlers (sysinline.c; for
				* comparisons) */
	bool no_region;        /* RINGVM_JIT_NO_REGION: every translation one
				* decoded block, no loop regions (region.h; for
				* comparisons) */
	bool no_memo;          /* RINGVM_JIT_NO_MEMO: probes load the slot's
				* addend without the memo (probe.c; for
				* comparisons) */
};

/* Chain slots (struct soft_jit_link, in struct soft_block): the
 * executable body of the next block, valid while the slot's tag is one of
 * the icache's two current ones (soft_icache_tag_valid); code expects the
 * guest flags in cpu, code_r10 in R10 (exits.h). */

/* A translation cache of cache_bytes (0: SOFT_JIT_CACHE_DEFAULT) and the
 * hot threshold.  NULL on failure (errno set). */
struct soft_jit *soft_jit_new(size_t cache_bytes, unsigned hot);
void soft_jit_free(struct soft_jit *j);

/* The run loop's hook (cpu.c): run block b (at cpu->rip, chosen by the
 * loop) translated, translating it first when it became hot.  budget: the
 * instructions the loop may still run (at least b->n, or with overrun at
 * least 1).  overrun (soft_cpu_run_slice): chained blocks start while the
 * budget is not used up, and may end up to SOFT_BLOCK_MAX - 1 past it;
 * without it a chained block starts only when a whole one still fits.
 * Returns false if the block is not (yet) translated: the caller
 * interprets it.  Otherwise *status is the enum soft_status of the run
 * (cpu->rip, registers, flags and cpu->icount precise as after the
 * interpreter), and chained blocks may have run after b. */
bool soft_jit_run(struct soft_cpu *cpu, struct soft_block *b, bool global, uint64_t budget,
		 bool overrun, int *status);

/* RINGVM_JIT_DUMP (dump.c): read the directory from the environment; write
 * translation code (len bytes) of block b there. */
void soft_jit_dump_init(struct soft_jit *j);
void soft_jit_dump(struct soft_jit *j, const struct soft_block *b, const void *code, size_t len);

/* Emit the shared stubs at the start of j's (empty) cache and keep them
 * there (cache.base).  False if the cache is too small. */
bool soft_jit_stubs_emit(struct soft_jit *j);

/* Drop every translation (the cache's generation changes). */
void soft_jit_flush(struct soft_cpu *cpu);

/* Translate b now into j's cache (internal to jit/, exposed for tests).
 * Returns the executable entry or NULL. */
const void *soft_jit_translate(struct soft_cpu *cpu, struct soft_jit *j, struct soft_block *b);

#endif
