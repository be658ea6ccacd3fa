/* Decoded-instruction cache: straight-line blocks of predecoded
 * instructions keyed by the guest-physical address of their first byte (and
 * the decode mode).  Invalidated per 4 KiB physical page when any byte of a
 * page holding cached code is written through the memory ops (or announced
 * by soft_cpu_invalidate_code()).
 *
 * Bounded: the blocks and page records it holds never exceed its budget
 * (SOFT_ICACHE_BUDGET by default).  An insertion that would go over it first
 * flushes the whole cache, as QEMU flushes its TB cache when full: a guest
 * that executes from every byte of its pages (a block of up to 64 decoded
 * instructions per start byte, about 3 KiB each) costs at most the budget,
 * and ordinary guests, whose code is far smaller, never see a flush.  Flushed
 * blocks wait on the dead list until the next soft_icache_reap() (the run
 * loop reaps before every block), so the peak is twice the budget plus the
 * fixed tables (about 80 KiB). */
#ifndef RINGVM_SOFT_ICACHE_H
#define RINGVM_SOFT_ICACHE_H

#include "decode.h"

#define SOFT_BLOCK_MAX 64
/* Default per-cache (= per-vCPU) budget of live blocks and page records. */
#define SOFT_ICACHE_BUDGET (32u << 20)

struct soft_block {
	uint64_t pa;            /* guest-physical address of the first instruction */
	uint64_t rip;           /* linear RIP it was decoded at (for chaining only) */
	uint8_t mode;
	uint16_t n;             /* instructions */
	uint16_t bytes;         /* total length of the instructions */
	struct soft_block *hnext;   /* hash chain */
	struct soft_block *pnext;   /* blocks of the same page */
	struct soft_block *succ[2]; /* chained successors (valid while epoch matches) */
	uint64_t succ_epoch[2];
	/* translation tier (jit/jit.h): the entry is valid while jit_gen is the
	 * translation cache's generation; jit_link: chain slots of the block's
	 * two direct exits (fall-through / not taken, taken) */
	const void *jit_entry;     /* int fn(struct soft_cpu *) */
	const void *jit_body;      /* after its prologue: where chains jump */
	const void *jit_body_r10;  /* ... with the guest flags in R10 (jit/exits.h) */
	uint64_t jit_gen;
	uint16_t jit_n;           /* instructions of its translation's longest
				   * path (a loop region's trace: jit/region.h) */
	uint32_t jit_heat;        /* executions counted towards translation */
	uint16_t jit_alias;       /* entries in a row at another RIP (jit.c, rebind) */
	bool jit_never;           /* does not fit even an empty cache */
	/* rip: the guest RIP the slot leads to, written when the block is
	 * translated; the stub that leaves a chained exit stores it in
	 * cpu->rip (jit/stubs.c, SOFT_JIT_STUB_OK_LINK), so the exit does not */
	struct soft_jit_link { const void *code; uint64_t epoch; const void *code_r10; uint64_t rip; } jit_link[2];
	struct x86_insn insn[];
};

/* 64 Ki buckets: a Linux boot holds ~40 000 blocks; with 8 Ki buckets the
 * chains averaged 5 blocks, each a cache miss (12% of a boot's host time in
 * soft_icache_lookup, PERFORMANCE.md 2026-12-05 "Boot"). */
#define BLK_HASH_BITS 16
#define BLK_HASH (1u << BLK_HASH_BITS)
#define PAGE_HASH 1024
#define FILTER_BITS 65536

struct soft_code_page;
struct soft_code_page {
	uint64_t ppn;
	struct soft_block *blocks;
	struct soft_code_page *next;
};

/* The run loop's jump cache (soft_icache_jump_find): the block last found
 * at a linear RIP, as a link of its own, tagged like a chain slot. */
#define SOFT_ICACHE_JUMP_BITS 12
#define SOFT_ICACHE_JUMP (1u << SOFT_ICACHE_JUMP_BITS)
struct soft_icache_jump {
	uint64_t rip;
	uint64_t tag;              /* soft_icache_tag when made; ~0: empty */
	struct soft_block *b;
};

struct soft_icache {
	struct soft_block *blk[BLK_HASH];
	struct soft_code_page *pages[PAGE_HASH];
	uint64_t filter[FILTER_BITS / 64];
	struct soft_block *dead;   /* dropped, freed on reap (linked by hnext) */
	uint64_t epoch;            /* tag of links to non-global code now (soft_icache_tag) */
	uint64_t epoch_g;          /* tag of links to global code now */
	uint64_t gen;              /* bumped when every link may be stale (drops, flushes) */
	uint64_t lgen;             /* bumped with gen and when non-global mappings are flushed */
	uint64_t space;            /* the MMU's current address space (its TLB salt, bits 63:54) */
	bool spaces;               /* an MMU reports spaces (soft_icache_set_space was called) */
	uint64_t gregions;         /* 1 GiB linear regions (hashed) holding global link targets */
	uint64_t cs_base;          /* the CS base chains were made under */
	uint8_t cpl;               /* the CPL now (soft_icache_set_context) */
	uint64_t nblocks, ninval;
	uint64_t bytes;            /* live blocks and page records */
	uint64_t budget;           /* bytes may never exceed it */
	uint64_t nflush;           /* wholesale flushes because of the budget */
	uint64_t jump_hits;        /* blocks found through the jump cache */
	struct soft_icache_jump jump[SOFT_ICACHE_JUMP];
};


struct soft_icache *soft_icache_new(void);
void soft_icache_free(struct soft_icache *ic);
/* Find the block starting at physical pa in mode, or NULL. */
struct soft_block *soft_icache_lookup(struct soft_icache *ic, uint64_t pa, unsigned mode);
/* Insert a block (copied from insns); returns it or NULL on ENOMEM. */
struct soft_block *soft_icache_insert(struct soft_icache *ic, uint64_t pa, uint64_t rip,
				      unsigned mode, const struct x86_insn *insns, unsigned n);
/* Cheap filter: might [pa, pa+len) hold cached code? */
bool soft_icache_maybe_code(const struct soft_icache *ic, uint64_t pa);
/* Drop all blocks on the physical pages touched by [pa, pa+len); returns
 * true if anything was dropped (freeing is deferred to soft_icache_reap). */
bool soft_icache_invalidate(struct soft_icache *ic, uint64_t pa, uint64_t len);
/* Free blocks dropped since the last reap (no block may be executing). */
void soft_icache_reap(struct soft_icache *ic);
static inline bool soft_icache_has_dead(const struct soft_icache *ic)
{
	return ic->dead != NULL;
}
/* Epoch: a chained link (interpreter successor, translated chain slot or
 * indirect-branch table entry) is followed without a TLB lookup, so it
 * holds a tag saying under which assumptions it was made, and is valid
 * while the tag is one of the two current ones (docs/soft-cpu.md, "Chains
 * across address spaces"):
 *   epoch_g = (gen << 3) | 4 | cpl   the target's linear page was mapped
 *                                    global (PTE.G with CR4.PGE)
 *   epoch   = space | (lgen << 3) | cpl   any other target
 * gen is bumped on every invalidation and flush of blocks, every change of
 * the CS base, and every TLB flush that may drop global translations
 * (soft_cpu_flush_code_tlb: INVPCID 2, CR0/CR4/EFER paging bits, state
 * loads; INVLPG and INVPCID 0 in a region holding a global link's target,
 * soft_icache_flush_page); lgen with it and on INVLPG of non-global
 * translations (soft_icache_bump_nonglobal; a whole PCID's flush gives it a
 * fresh space instead, soft_icache_flush_spaces); space follows the MMU's current address space
 * (soft_icache_set_space), so a PCID switch with the no-flush bit leaves
 * the other PCID's links for its return.  The CPL is part of both: a link
 * made at one CPL is not followed at another (the target's fetch rights
 * were checked at that CPL), but it is again when the CPU comes back to
 * that CPL, so SYSCALL/SYSRET, interrupts and IRET keep the chains of both
 * sides.  The two tags never collide (bit 2).  Translated SYSCALL and
 * SYSRETQ (jit/sysinline.c) change the CPL by rewriting bits 1:0 of both
 * tags and ic->cpl, as soft_icache_set_context does with the CS base
 * unchanged: keep the CPL in those bits. */
static inline uint64_t soft_icache_epoch(const struct soft_icache *ic)
{
	return ic->epoch;
}
/* The tag of a link made now to a block whose page is mapped global or not. */
static inline uint64_t soft_icache_tag(const struct soft_icache *ic, bool global)
{
	return global ? ic->epoch_g : ic->epoch;
}
static inline bool soft_icache_tag_valid(const struct soft_icache *ic, uint64_t tag)
{
	return tag == ic->epoch || tag == ic->epoch_g;
}
static inline bool soft_icache_tag_global(uint64_t tag)
{
	return tag & 4;
}
/* The run loop's jump cache, by linear RIP: a block reached without a
 * link (after translated code returned, an exception, an interrupt) is
 * found here without the fetch (a TLB lookup) and the hash lookup by
 * physical address, as QEMU's tb_jmp_cache finds a TB by virtual PC.  An
 * entry is one more link (docs/soft-cpu.md, "Chains across address
 * spaces"): valid while its tag is current, so its block is alive (every
 * drop moves gen) and rip still maps to the page the block was made from;
 * the block must still be at rip (rebind) and in mode.  *global: the tag's
 * kind, as the fetch would have reported it.  The run loop uses it in
 * 64-bit mode only, where RIP is the linear address and CS has no limit
 * (elsewhere a far jump to another CS base with the same offset, or a
 * lowered CS limit, would need the fetch). */
static inline unsigned soft_icache_jump_index(uint64_t rip)
{
	return (unsigned)((rip * 0x9e3779b97f4a7c15ULL) >> (64 - SOFT_ICACHE_JUMP_BITS));
}
static inline struct soft_block *soft_icache_jump_find(struct soft_icache *ic, uint64_t rip,
							unsigned mode, bool *global)
{
	const struct soft_icache_jump *e = &ic->jump[soft_icache_jump_index(rip)];
	if (e->rip != rip || !soft_icache_tag_valid(ic, e->tag) || e->b->rip != rip ||
	    e->b->mode != mode)
		return NULL;
	*global = soft_icache_tag_global(e->tag);
	ic->jump_hits++;
	return e->b;
}
/* Block b was found at rip by its fetch, under tag (soft_icache_tag). */
static inline void soft_icache_jump_note(struct soft_icache *ic, uint64_t rip,
					 struct soft_block *b, uint64_t tag)
{
	struct soft_icache_jump *e = &ic->jump[soft_icache_jump_index(rip)];
	e->rip = rip;
	e->tag = tag;
	e->b = b;
}
/* A global link is about to be made to a block at linear address la:
 * INVLPG in la's 1 GiB region (which holds any large page la is in) must
 * kill global links (soft_icache_flush_page). */
static inline void soft_icache_note_global(struct soft_icache *ic, uint64_t la)
{
	ic->gregions |= 1ULL << ((la >> 30) & 63);
}
/* INVLPG / INVPCID type 0 of la: links into non-global pages die, global
 * ones too when one may be in la's region. */
void soft_icache_flush_page(struct soft_icache *ic, uint64_t la);
/* Non-global translations were flushed: links into non-global pages die. */
void soft_icache_bump_nonglobal(struct soft_icache *ic);
/* A PCID's (or every PCID's) non-global translations were flushed as a
 * whole (MOV CR3 without the no-flush bit, INVPCID 1 and 3): links into
 * its non-global pages die.  With an MMU reporting spaces this costs
 * nothing: the MMU gives a flushed PCID a fresh space (before it runs
 * again) and never reuses a space number without a full flush (which moves
 * gen), so those links' tags can never match again while the other
 * PCIDs' links stay valid, as their TLB entries do.  Without one, lgen
 * moves. */
void soft_icache_flush_spaces(struct soft_icache *ic);
/* The MMU's current address space changed (its salt: a PCID switch, or a
 * fresh space after a flush). */
void soft_icache_set_space(struct soft_icache *ic, uint64_t salt);
void soft_icache_bump_epoch(struct soft_icache *ic);
/* The CPU's CPL and CS base now (soft_cpu_update_mode). */
void soft_icache_set_context(struct soft_icache *ic, unsigned cpl, uint64_t cs_base);
void soft_icache_stats(const struct soft_icache *ic, uint64_t *blocks, uint64_t *invalidations);
/* Drop every block (freeing deferred to soft_icache_reap), bump the epoch. */
void soft_icache_flush(struct soft_icache *ic);
/* Change the budget (bytes, at least one maximal block and its page record);
 * flushes if the cache already holds more. */
void soft_icache_set_budget(struct soft_icache *ic, uint64_t budget);
/* Bytes one block of n instructions costs against the budget. */
static inline uint64_t soft_icache_block_cost(unsigned n)
{
	return sizeof(struct soft_block) + (uint64_t)n * sizeof(struct x86_insn);
}

#endif
