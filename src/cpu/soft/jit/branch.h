/* Direct branches (Jcc, JMP and CALL rel) as the translator sees them: which
 * instructions they are and where they go. The target is the interpreter's
 * rule (soft_branch_target, exec.h), so translated and interpreted branches
 * cannot disagree. */
#ifndef RINGVM_SOFT_JIT_BRANCH_H
#define RINGVM_SOFT_JIT_BRANCH_H

#include <stdbool.h>
#include <stdint.h>

#include "../exec.h"

/* Jcc rel8/rel32 */
static inline bool jit_is_jcc(const struct x86_insn *in)
{
	return (in->map == X86_MAP_1BYTE && in->opcode >= 0x70 && in->opcode <= 0x7f) ||
	       (in->map == X86_MAP_0F && in->opcode >= 0x80 && in->opcode <= 0x8f);
}

/* Jcc or JMP rel (no VEX/EVEX/XOP form shares these opcodes) */
static inline bool jit_is_direct_branch(const struct x86_insn *in)
{
	if (!in->op || (in->prefixes & (X86_PFX_VEX | X86_PFX_EVEX | X86_PFX_XOP)))
		return false;
	return jit_is_jcc(in) || (in->map == X86_MAP_1BYTE && (in->opcode == 0xe9 || in->opcode == 0xeb));
}

/* Target of a direct branch (or CALL rel) whose next instruction is at next;
 * false when it is not canonical (the branch faults: its handler raises it). */
static inline bool jit_branch_target(const struct x86_insn *in, uint64_t next, uint64_t *target)
{
	return soft_branch_target(in, in->mode, next + in->imm, target);
}

#endif
