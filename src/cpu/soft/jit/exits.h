/* Block exits and entries shared by translations and the stubs
 * (docs/soft-cpu.md, "Translator", "Exits with the flags in R10").
 *
 * A chained or indirect exit of a block without handler calls leaves the
 * guest's six arithmetic flags in R10 (the LAHF/SETO image of
 * translate.c's flags convention, or a PUSHFQ image on a host without
 * LAHF) instead of merging them into cpu->rflags, and jumps to the
 * target's R10 entry (struct soft_jit_link.code_r10, struct
 * soft_jit_ibtc.code_r10, soft_block.jit_body_r10); every way out to the
 * run loop from such an exit merges R10 first (the stubs
 * SOFT_JIT_STUB_OK_LINK_R10, SOFT_JIT_STUB_OK_IND_R10). */
#ifndef RINGVM_SOFT_JIT_EXITS_H
#define RINGVM_SOFT_JIT_EXITS_H

#include <stdbool.h>

#include "emit.h"

/* cpu->rflags arithmetic bits = R10's (image as above); lf.op = LF_NONE.
 * R15 = cpu.  Clobbers R9, R10 and RFLAGS. */
void jit_exit_merge_r10(struct jit_emit *e, bool lahf);

/* cpu->rflags arithmetic bits = src's (src holds those bits alone, at
 * their RFLAGS positions); lf.op = LF_NONE: the one way translated code
 * and the stubs write the guest flags back to cpu.  R15 = cpu.  Clobbers
 * tmp and RFLAGS. */
void jit_exit_merge_arith(struct jit_emit *e, unsigned src, unsigned tmp);

/* R14 = the rights class of data accesses (soft_mmu_class) plus the
 * current address space's salt (cpu->tlb_salt), inline.  R15 = cpu.
 * Clobbers RFLAGS. */
void jit_exit_class(struct jit_emit *e);

/* cpu->kick = 1 when an interrupt waits (*cpu->irq_attn &
 * cpu->irq_attn_bits, soft_cpu_if_set's test), inline: what IF turning on
 * needs (STI, SYSRETQ).  R15 = cpu.  Clobbers a, b and RFLAGS. */
void jit_exit_kick_if_pending(struct jit_emit *e, unsigned a, unsigned b);

#endif
