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
struct soft_cpu;

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
 * none, observes.  Instructions emitted natively only when the host has
 * them (the VEX forms, TZCNT/LZCNT/POPCNT, the VEX BMI forms: vex.h) are
 * taken as handler calls here; jit_flags_use_isa knows better. */
void jit_flags_use(const struct x86_insn *in, struct jit_flag_use *u);

/* What the translator emits natively beyond the fixed whitelists: the VEX
 * forms for vex_cpu (jit_vex_plan; NULL: none) and the host-ISA forms of
 * jit_bmi_plan/jit_bmiv_plan for bmi_isa (0: none).  The translator's own
 * settings (RINGVM_JIT_NO_VEX gives NULL and 0). */
struct jit_flag_isa {
	const struct soft_cpu *vex_cpu;
	uint32_t bmi_isa;
};

/* jit_flags_use with those forms exact (isa NULL: as jit_flags_use):
 * the VEX vector forms read and write no flag (VPTEST and VTESTPS/PD
 * overwrite all six), TZCNT/LZCNT/POPCNT and
 * ANDN/BLSR/BLSI/BLSMSK/BEXTR/BZHI overwrite all six and read none, SHLX/SARX/SHRX/
 * RORX/PDEP/PEXT touch none; a memory operand observes. */
void jit_flags_use_isa(const struct jit_flag_isa *isa, const struct x86_insn *in,
		       struct jit_flag_use *u);

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

/* The same with jit_flags_use_isa, and one thing more: a VEX vector
 * register form observes only as the first VEX instruction of a run (its
 * CR4.OSXSAVE/XCR0/CR0.TS check may send it to the handler's #UD/#NM);
 * after another VEX instruction of the block completed, with only
 * instructions between them that cannot change CR0, CR4 or XCR0 (those
 * the translator whitelists, whose handlers are data operations), the
 * check passes, and the register form can neither fault nor leave. */
uint16_t jit_flags_liveness_isa(const struct jit_flag_isa *isa, const struct x86_insn *insn,
				unsigned n, uint16_t *live_after);

#endif
