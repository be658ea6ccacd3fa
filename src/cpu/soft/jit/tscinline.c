/* RDTSC and RDTSCP inline in translated 64-bit code (SDM Vol. 2B, RDTSC,
 * RDTSCP; docs/soft-cpu.md, "Translator", "RDTSC and RDTSCP").
 *
 * The handler path (soft_exec_rdtsc) costs a register cache write-back
 * and reload, the shared stub and the handler's dispatch around a clock
 * read; Linux reads the TSC on every system call entry
 * (choose_random_kstack_offset).  Here the instruction is a call of the
 * handler's own rule (soft_tsc_now: the machine's TSC plus this vCPU's
 * IA32_TSC offset), a leaf as far as translated code goes, with
 * the cached guest registers left where they are: RAX and RDX are the
 * outputs, RCX and R10 (the guest flags, FL_R10) are pushed around the
 * call, the rest of the cache is callee-saved.  The guest's flags are not
 * touched.  Only CR4.TSD at CPL > 0 (#GP(0)) goes to the handler. */
#include <stddef.h>

#include "tscinline.h"

#include "../exec.h"

#define CPU JR_R15
#define OFF(field) ((int32_t)offsetof(struct soft_cpu, field))

#define CR4_TSD (1u << 2)

_Static_assert(CR4_TSD < 0x100, "CR4.TSD in the low byte");

bool jit_tsc_form(const struct x86_insn *in, unsigned block_mode)
{
	return block_mode == SOFT_MODE_64 && in->mode == SOFT_MODE_64 &&
	       (in->id == X86_I_RDTSC || in->id == X86_I_RDTSCP) &&
	       !(in->prefixes & (X86_PFX_LOCK | X86_PFX_ATOMIC));
}

void jit_tsc_emit(struct jit_emit *e, bool rdtscp, size_t *slow_fix)
{
	jit_emit_test_m8_imm8(e, CPU, OFF(cr4), (uint8_t)CR4_TSD);
	size_t ok = jit_emit_jcc_rel32(e, JCC_E);
	jit_emit_cmp_m8_imm8(e, CPU, OFF(cpl), 0);
	*slow_fix = jit_emit_jcc_rel32(e, JCC_NE);
	jit_emit_patch_rel32(e, ok, e->pos);
	jit_emit_push_r64(e, JR_RCX);
	jit_emit_push_r64(e, JR_R10);
	jit_emit_mov_r64_r64(e, JR_RDI, CPU);
	jit_emit_mov_r64_imm(e, JR_RAX, (uint64_t)(uintptr_t)soft_tsc_now);
	jit_emit_call_r64(e, JR_RAX);
	jit_emit_pop_r64(e, JR_R10);
	jit_emit_pop_r64(e, JR_RCX);
	jit_emit_mov_r64_r64(e, JR_RDX, JR_RAX);
	jit_emit_shift_r64_imm(e, 5, JR_RDX, 32); /* shr rdx, 32 */
	jit_emit_mov_r32_r32(e, JR_RAX, JR_RAX);  /* zero-extends */
	if (rdtscp)
		jit_emit_mov_r32_m32(e, JR_RCX, CPU, OFF(tsc_aux));
}
