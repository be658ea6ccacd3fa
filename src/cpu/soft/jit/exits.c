/* Block exits and entries shared by translations and the stubs (exits.h). */
#include <stddef.h>

#include "exits.h"

#include "../cpu.h"
#include "../mmu/soft_mmu.h"

#define CPU JR_R15
#define OFF(field) ((int32_t)offsetof(struct soft_cpu, field))
#define ARITH 0x8d5 /* CF PF AF ZF SF OF */

void jit_exit_merge_r10(struct jit_emit *e, bool lahf)
{
	if (lahf) {
		/* R10 bits 15:8 = SF ZF AF PF CF at their RFLAGS positions
		 * (LAHF), bit 0 = OF (SETO) */
		jit_emit_mov_r64_r64(e, JR_R9, JR_R10);
		jit_emit_shift_r64_imm(e, 5, JR_R9, 8);
		jit_emit_and_r64_simm32(e, JR_R9, ARITH & 0xff);
		jit_emit_and_r64_simm32(e, JR_R10, 1);
		jit_emit_shift_r64_imm(e, 4, JR_R10, 11);
		jit_emit_or_r64_r64(e, JR_R10, JR_R9);
	} else {
		jit_emit_and_r64_simm32(e, JR_R10, ARITH);
	}
	jit_exit_merge_arith(e, JR_R10, JR_R9);
}

void jit_exit_merge_arith(struct jit_emit *e, unsigned src, unsigned tmp)
{
	jit_emit_mov_r64_m64(e, tmp, CPU, OFF(rflags));
	jit_emit_and_r64_simm32(e, tmp, ~ARITH);
	jit_emit_or_r64_r64(e, tmp, src);
	jit_emit_mov_m64_r64(e, CPU, OFF(rflags), tmp);
	jit_emit_mov_m32_imm32(e, CPU, OFF(lf.op), LF_NONE);
}

/* soft_mmu_class: 1 at CPL 3; 2 at CPL 0-2 with EFLAGS.AC and CR4.SMAP
 * (explicit accesses: handlers, not translated code, make implicit ones);
 * else 0.  Plus the salt of the current address space (the PCID's space
 * number in tag bits 63:54: "Kernel events" in docs/soft-cpu.md). */
void jit_exit_class(struct jit_emit *e)
{
	jit_emit_mov_r64_imm(e, JR_R14, SOFT_MMU_CLS_SV);
	jit_emit_cmp_m8_imm8(e, CPU, OFF(cpl), 3);
	size_t sv = jit_emit_jcc_rel32(e, JCC_NE);
	jit_emit_mov_r64_imm(e, JR_R14, SOFT_MMU_CLS_USER);
	size_t done1 = jit_emit_jmp_rel32(e);
	jit_emit_patch_rel32(e, sv, e->pos);
	jit_emit_test_m8_imm8(e, CPU, OFF(rflags) + 2, (uint8_t)(SOFT_MMU_RFLAGS_AC >> 16));
	size_t done2 = jit_emit_jcc_rel32(e, JCC_E);
	jit_emit_test_m8_imm8(e, CPU, OFF(cr4) + 2, (uint8_t)(SOFT_MMU_CR4_SMAP >> 16));
	size_t done3 = jit_emit_jcc_rel32(e, JCC_E);
	jit_emit_mov_r64_imm(e, JR_R14, SOFT_MMU_CLS_SVAC);
	jit_emit_patch_rel32(e, done1, e->pos);
	jit_emit_patch_rel32(e, done2, e->pos);
	jit_emit_patch_rel32(e, done3, e->pos);
	jit_emit_add_r64_m64(e, JR_R14, CPU, OFF(tlb_salt));
}

void jit_exit_kick_if_pending(struct jit_emit *e, unsigned a, unsigned b)
{
	jit_emit_mov_r64_m64(e, a, CPU, OFF(irq_attn));
	jit_emit_test_r64_r64(e, a, a);
	size_t none = jit_emit_jcc_rel32(e, JCC_E);
	jit_emit_mov_r32_m32(e, a, a, 0);
	jit_emit_mov_r32_m32(e, b, CPU, OFF(irq_attn_bits));
	jit_emit_test_r32_r32(e, a, b);
	size_t idle = jit_emit_jcc_rel32(e, JCC_E);
	jit_emit_mov_m32_imm32(e, CPU, OFF(kick), 1);
	jit_emit_patch_rel32(e, none, e->pos);
	jit_emit_patch_rel32(e, idle, e->pos);
}
