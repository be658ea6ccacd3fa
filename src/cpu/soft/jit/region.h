/* Loop regions: one translation for a small loop of several decoded blocks
 * (docs/soft-cpu.md, "Translator", "Loop regions").
 *
 * A decoded block (struct soft_block) ends at every branch, so a loop
 * whose body holds a conditional branch is several translations, and each
 * round pays their exits and entries.  A region is a cycle of decoded
 * blocks through the block being translated (its head), all in the head's
 * 4 KiB code page, each ending in a direct branch: the translation runs
 * them as one straight trace, each inner branch a side exit (the way off
 * the trace leaves through its own chain slot; the way along it goes on
 * with the registers and flags where they are), and the last block's
 * branch back to the head is the loop's back edge (translate.c, as a
 * block looping onto itself).  Every instruction count retired at an exit
 * is that exit's own path length: the trace is straight, so it is the
 * exit's position in it plus one.
 *
 * Invalidation: the icache drops every block of a physical page when any
 * byte of it is written (icache.c, drop_page), the head among them, and
 * the translation can only be reached through its head.  The trace's
 * instructions stay in their decoded blocks (handler calls and slow paths
 * point at them): all of them start in the head's page, so they are
 * dropped with it (and a flush drops every block), and freed only when no
 * block runs (soft_icache_reap), as the head's own. */
#ifndef RINGVM_SOFT_JIT_REGION_H
#define RINGVM_SOFT_JIT_REGION_H

#include <stdbool.h>
#include <stdint.h>

#include "../icache.h"

/* At most this many decoded blocks per region; and at most SOFT_BLOCK_MAX
 * instructions in all, so that the chain budget's reserve of one whole
 * block (jit.c, soft_jit_run) still covers a translation. */
#define JIT_REGION_BLOCKS 8

struct jit_region {
	unsigned n;    /* instructions of the trace */
	unsigned nseg; /* decoded blocks (2..JIT_REGION_BLOCKS) */
	struct jit_region_seg {
		uint16_t first, count; /* its instructions in the trace */
		bool taken;            /* the trace goes on at its branch's
					* target (else at its fall-through);
					* the last one's way there is the
					* head (the back edge) */
	} seg[JIT_REGION_BLOCKS];
	const struct soft_block *blk[JIT_REGION_BLOCKS];
};

/* What a region's translation keeps with its code (in the translation
 * cache, before the code, dying with it): its side exits' chain slots
 * (one per inner block). */
struct jit_region_data {
	struct soft_jit_link side[JIT_REGION_BLOCKS - 1];
};

/* The shortest cycle of decoded blocks (ic's, in head's mode, all in
 * head's code page, found by their physical address there) from head
 * back to it through the branch targets and fall-throughs of direct
 * branches; false when none within the
 * bounds (or head loops onto itself alone: translate.c does that). */
bool jit_region_find(struct soft_icache *ic, const struct soft_block *head, struct jit_region *r);

/* The two successors of a block's last instruction when it is a direct
 * branch (Jcc, JMP rel8/rel32) whose target does not fault: *target, and
 * *next (its fall-through; 0 for JMP).  rip: the instruction's address. */
bool jit_region_branch(const struct x86_insn *in, uint64_t rip, uint64_t *target, uint64_t *next);

#endif
