/* Arithmetic-flag use and liveness over a decoded block, for the
 * translator (docs/soft-cpu.md, "Translator", flags convention).
 *
 * Masks are RFLAGS bits: CF 0x1, PF 0x4, AF 0x10, ZF 0x40, SF 0x80,
 * OF 0x800 (JIT_FL_ALL for all six). */
#ifndef RINGVM_SOFT_JIT_LIVENESS_H
#define RINGVM_SOFT_JIT_LIVENESS_H

#include <stdbool.h>
#include <stdint.h>

struct x86_insn;

#define JIT_FL_CF 0x001u
#define JIT_FL_PF 0x004u
#define JIT_FL_AF 0x010u
#define JIT_FL_ZF 0x040u
#define JIT_FL_SF 0x080u
#define JIT_FL_OF 0x800u
#define JIT_FL_ALL 0x8d5u

/* How one instruction uses the six flags, as the translator runs it.
 *   reads    flags whose value before it decides its result (or its branch)
 *   writes   flags it may change
 *   kills    flags it always overwrites with a value that does not depend
 *            on the flags before it (a flag it may leave unchanged, or
 *            whose value is undefined and may be the old one, is not
 *            killed: it passes through)
 *   observes it may fault or leave the block before completing (a memory
 *            operand, a handler call, a branch): there every flag must be
 *            the architectural one, so all six are read */
struct jit_flag_use {
	uint16_t reads, writes, kills;
	bool observes;
};

/* The use of in.  Conservative where unsure: reads and writes all, kills
 * none, observes. */
void jit_flags_use(const struct x86_insn *in, struct jit_flag_use *u);

/* The flags a condition code (Jcc/SETcc/CMOVcc low nibble) reads. */
uint16_t jit_flags_cc(unsigned cc);

/* Backward pass over a block of n instructions: live_after[i] = the flags
 * whose value after instruction i is read later (by an instruction, at a
 * fault of an observing instruction, or at the block's end, where all six
 * are live) before being killed.  A flag not in live_after[i] may hold any
 * value after instruction i without the guest ever seeing it.  Returns
 * the flags live at the block's start (0: the block overwrites all six
 * before anything can see them). */
uint16_t jit_flags_liveness(const struct x86_insn *insn, unsigned n, uint16_t *live_after);

#endif
