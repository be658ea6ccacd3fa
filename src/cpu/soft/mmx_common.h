/* Shared helpers for the MMX handlers (mmx_*.c).  MMX register i is the
 * mantissa of physical x87 register R_i; every MMX instruction (EMMS
 * aside) sets TOP = 0 and all tags valid, a written register gets the
 * exponent/sign 0xFFFF (SDM Vol. 1, 9.5). */
#ifndef RINGVM_SOFT_MMX_COMMON_H
#define RINGVM_SOFT_MMX_COMMON_H

#include <string.h>

#include "cpu.h"
#include "decode.h"

/* #UD if CR0.EM, #NM if CR0.TS, #MF if an unmasked x87 exception is
 * pending.  The x87 -> MMX transition (soft_mmx_enter) happens only once
 * the instruction cannot fault any more: mmx_set() or mmx_done(). */
static inline int mmx_check(struct soft_cpu *cpu)
{
	if (cpu->cr0 & X86_CR0_EM)
		return soft_raise(cpu, X86_EXC_UD, false, 0);
	if (cpu->cr0 & X86_CR0_TS)
		return soft_raise(cpu, X86_EXC_NM, false, 0);
	if (cpu->fpu.fsw & ~cpu->fpu.fcw & 0x3f)
		return soft_raise(cpu, X86_EXC_MF, false, 0);
	return SOFT_OK;
}

static inline uint64_t mmx_get(const struct soft_cpu *cpu, unsigned r)
{
	return cpu->fpu.st[r & 7].mant;
}

static inline void mmx_set(struct soft_cpu *cpu, unsigned r, uint64_t v)
{
	cpu->fpu.st[r & 7].mant = v;
	cpu->fpu.st[r & 7].sexp = 0xffff;
	soft_mmx_enter(cpu);
}

/* Completion of an MMX instruction that wrote no MMX register. */
static inline int mmx_done(struct soft_cpu *cpu, int status)
{
	if (status == SOFT_OK)
		soft_mmx_enter(cpu);
	return status;
}

/* Source: MMX register (ModRM.rm, REX.B ignored) or size bytes of memory
 * zero-extended (no alignment rule for MMX). */
static inline int mmx_src(struct soft_cpu *cpu, const struct x86_insn *in,
			  uint64_t *v, unsigned size)
{
	if (in->mod == 3) {
		*v = mmx_get(cpu, in->rm);
		return SOFT_OK;
	}
	*v = 0;
	return soft_read(cpu, soft_ea(cpu, in), v, size);
}

#endif
