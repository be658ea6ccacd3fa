/* SYSCALL and SYSRETQ inline in translated 64-bit code (SDM Vol. 2B,
 * SYSCALL, SYSRET; docs/soft-cpu.md, "Translator", "SYSCALL and SYSRETQ").
 *
 * What soft_exec_syscall and soft_exec_sysret (sys_far.c) do in the
 * common case of a 64-bit kernel's system call, as a few stores: RCX and
 * R11, RFLAGS, the fixed flat CS and SS (the GDT is not read: "fixed
 * values"), the CPL, and the decoded-block cache's CPL (its link tags
 * carry it in their low two bits, icache.c retag).  Everything unusual
 * goes to the handler, which stays the one complete implementation:
 * EFER.SCE clear (#UD), SYSRET above CPL 0 or to a non-canonical RCX
 * (#GP(0): Intel raises it at CPL 0), TF or RF set on SYSCALL and TF in
 * SYSRET's R11 (the debug path: single-step traps), lazy flags left by the
 * interpreter, IA32_STAR changed since the block was translated (the
 * segment images are built from it at translation time), an icache whose
 * CS base is not 0.  SYSRETL (to compatibility mode) is never inlined.
 * The checks come before any state is written, so the slow path runs the
 * handler on untouched state. */
#include <stddef.h>
#include <string.h>

#include "sysinline.h"

#include "exits.h"

#include "../icache.h"
#include "../sys.h"

#define CPU JR_R15
#define OFF(field) ((int32_t)offsetof(struct soft_cpu, field))
#define GPR(g) ((int32_t)(offsetof(struct soft_cpu, gpr) + 8 * (unsigned)(g)))
#define ICACHE(field) ((int32_t)offsetof(struct soft_icache, field))

_Static_assert(sizeof(struct x86_segment) == 24, "segment image: three quadwords");

bool jit_sys_form(const struct soft_cpu *cpu, const struct x86_insn *in, unsigned block_mode)
{
	if (block_mode != SOFT_MODE_64 || !cpu->icache || in->mode != SOFT_MODE_64 ||
	    (in->prefixes & (X86_PFX_LOCK | X86_PFX_ATOMIC)))
		return false;
	if (in->id == X86_I_SYSCALL)
		return true;
	return in->id == X86_I_SYSRET && in->opsize == 8;
}

static void slow_jcc(struct jit_emit *e, struct jit_sys_fix *slow, unsigned cc)
{
	size_t f = jit_emit_jcc_rel32(e, cc);
	if (slow->n < JIT_SYS_FIX_MAX)
		slow->at[slow->n++] = f;
	else
		e->overflow = true;
}

/* The segment register at off = the image s (three quadword stores). */
static void store_seg(struct jit_emit *e, int32_t off, const struct x86_segment *s)
{
	uint64_t q[3];
	memcpy(q, s, sizeof(q));
	for (unsigned k = 0; k < 3; k++) {
		int32_t at = off + (int32_t)(8 * k);
		if ((int64_t)q[k] == (int32_t)q[k]) {
			jit_emit_mov_m64_simm32(e, CPU, at, (int32_t)q[k]);
		} else {
			jit_emit_mov_r64_imm(e, JR_RAX, q[k]);
			jit_emit_mov_m64_r64(e, CPU, at, JR_RAX);
		}
	}
}

/* The checks both instructions share: EFER.SCE, IA32_STAR as at
 * translation (RAX), the icache's CS base 0.  Leaves RCX = cpu->icache. */
static void common_checks(struct jit_emit *e, uint64_t star, struct jit_sys_fix *slow)
{
	jit_emit_test_m8_imm8(e, CPU, OFF(efer), (uint8_t)X86_EFER_SCE);
	slow_jcc(e, slow, JCC_E); /* #UD */
	jit_emit_mov_r64_imm(e, JR_RAX, star);
	jit_emit_cmp_r64_m64(e, JR_RAX, CPU, OFF(star));
	slow_jcc(e, slow, JCC_NE);
	jit_emit_mov_r64_m64(e, JR_RCX, CPU, OFF(icache));
	jit_emit_cmp_m64_simm32(e, JR_RCX, ICACHE(cs_base), 0);
	slow_jcc(e, slow, JCC_NE);
}

/* CS, SS (the fixed flat values, DPL = RPL = cpl) and the CPL, in cpu and
 * in the icache (RCX): what sys_seg_flat64 and sys_set_cs64 do.  The
 * icache's link tags carry the CPL in bits 1:0 (icache.c, retag; bit 2 of
 * epoch_g is the "global" mark), so a CPL change rewrites just those, as
 * soft_icache_set_context does with an unchanged CS base. */
static void load_segs(struct jit_emit *e, uint16_t cs_sel, uint16_t ss_sel, uint8_t cpl)
{
	struct x86_segment cs, ss;
	memset(&cs, 0, sizeof(cs));
	memset(&ss, 0, sizeof(ss));
	sys_seg_flat64(&cs, &ss, cs_sel, ss_sel, cpl);
	store_seg(e, OFF(seg[SEG_CS]), &cs);
	store_seg(e, OFF(seg[SEG_SS]), &ss);
	jit_emit_mov_m8_imm8(e, CPU, OFF(cpl), cpl);
	jit_emit_mov_m8_imm8(e, JR_RCX, ICACHE(cpl), cpl);
	static const int32_t tags[2] = { ICACHE(epoch), ICACHE(epoch_g) };
	for (unsigned k = 0; k < 2; k++) {
		jit_emit_mov_r64_m64(e, JR_RDX, JR_RCX, tags[k]);
		jit_emit_and_r64_simm32(e, JR_RDX, ~3);
		if (cpl)
			jit_emit_alu_r_imm(e, 1, true, JR_RDX, cpl); /* or */
		jit_emit_mov_m64_r64(e, JR_RCX, tags[k], JR_RDX);
	}
}

/* SYSCALL from 64-bit mode: RCX = the next RIP, R11 = RFLAGS (RF clear:
 * checked), RFLAGS &= ~IA32_FMASK, CS = STAR[47:32] & ~3, SS = that + 8,
 * CPL 0, RIP = IA32_LSTAR (canonical: WRMSR checks it). */
static void emit_syscall(struct jit_emit *e, uint64_t star, uint64_t next_rip, struct jit_sys_fix *slow)
{
	jit_emit_cmp_m32_simm32(e, CPU, OFF(lf.op), LF_NONE);
	slow_jcc(e, slow, JCC_NE); /* lazy flags: the handler materialises them */
	jit_emit_mov_r64_m64(e, JR_R8, CPU, OFF(rflags));
	jit_emit_mov_r64_r64(e, JR_R9, JR_R8);
	jit_emit_and_r64_simm32(e, JR_R9, (int32_t)(X86_RFLAGS_TF | RF_RF));
	slow_jcc(e, slow, JCC_NE); /* single-step, RF: the debug path */
	common_checks(e, star, slow);
	/* committed from here on */
	jit_emit_mov_r64_imm(e, JR_RAX, next_rip);
	jit_emit_mov_m64_r64(e, CPU, GPR(GPR_RCX), JR_RAX);
	jit_emit_alu_r_imm(e, 1, true, JR_R8, (int32_t)X86_RFLAGS_FIXED); /* or */
	jit_emit_mov_m64_r64(e, CPU, GPR(GPR_R11), JR_R8);
	/* RFLAGS & ~FMASK, RF clear (checked), bit 1 set: (R8 | M) ^ M */
	jit_emit_mov_r64_m64(e, JR_R9, CPU, OFF(sfmask));
	jit_emit_or_r64_r64(e, JR_R8, JR_R9);
	jit_emit_xor_r64_r64(e, JR_R8, JR_R9);
	jit_emit_alu_r_imm(e, 1, true, JR_R8, (int32_t)X86_RFLAGS_FIXED); /* or */
	jit_emit_mov_m64_r64(e, CPU, OFF(rflags), JR_R8);
	uint16_t sel = (uint16_t)(star >> 32);
	load_segs(e, sel & 0xfffc, (uint16_t)((sel + 8) & 0xfffc), 0);
	jit_emit_mov_r64_m64(e, JR_R10, CPU, OFF(lstar));
}

/* SYSRETQ at CPL 0 to 64-bit code: RIP = RCX (canonical, else #GP(0) at
 * CPL 0 through the handler), RFLAGS = R11 with RF and VM cleared and bit
 * 1 set (TF and AC clear: checked), CS = STAR[63:48] + 16 | 3, SS = STAR[63:48] +
 * 8 | 3, CPL 3.  IF going from 0 to 1 with an interrupt pending sets the
 * kick, as soft_load_rflags does (soft_cpu_if_set). */
static void emit_sysret(struct jit_emit *e, uint64_t star, struct jit_sys_fix *slow)
{
	jit_emit_cmp_m8_imm8(e, CPU, OFF(cpl), 0);
	slow_jcc(e, slow, JCC_NE); /* #GP(0) */
	jit_emit_mov_r64_m64(e, JR_R10, CPU, GPR(GPR_RCX));
	jit_emit_mov_r64_r64(e, JR_R9, JR_R10);
	jit_emit_shift_r64_imm(e, 4, JR_R9, 16); /* shl */
	jit_emit_shift_r64_imm(e, 7, JR_R9, 16); /* sar */
	jit_emit_cmp_r64_r64(e, JR_R9, JR_R10);
	slow_jcc(e, slow, JCC_NE); /* non-canonical: #GP(0) */
	jit_emit_mov_r64_m64(e, JR_R8, CPU, GPR(GPR_R11));
	jit_emit_bt_r32_imm8(e, JR_R8, 8);
	slow_jcc(e, slow, JCC_B); /* TF: the debug path */
	jit_emit_bt_r32_imm8(e, JR_R8, 18);
	slow_jcc(e, slow, JCC_B); /* AC at CPL 3: alignment checks, interpreted (align_check.h) */
	common_checks(e, star, slow);
	/* committed from here on */
	jit_emit_and_r64_simm32(e, JR_R8, 0x3c7fd7);
	jit_emit_alu_r_imm(e, 1, true, JR_R8, (int32_t)X86_RFLAGS_FIXED); /* or */
	jit_emit_mov_r64_m64(e, JR_R9, CPU, OFF(rflags)); /* the old IF */
	jit_emit_mov_m64_r64(e, CPU, OFF(rflags), JR_R8);
	jit_emit_mov_m32_imm32(e, CPU, OFF(lf.op), LF_NONE);
	uint16_t sel = (uint16_t)(star >> 48);
	load_segs(e, (uint16_t)((sel + 16) | 3), (uint16_t)((sel + 8) | 3), 3);
	/* IF 0 -> 1 with *irq_attn & irq_attn_bits: the kick */
	jit_emit_bt_r32_imm8(e, JR_R9, 9);
	size_t was_on = jit_emit_jcc_rel32(e, JCC_B);
	jit_emit_bt_r32_imm8(e, JR_R8, 9);
	size_t stays_off = jit_emit_jcc_rel32(e, JCC_AE);
	jit_exit_kick_if_pending(e, JR_RAX, JR_RDX);
	jit_emit_patch_rel32(e, was_on, e->pos);
	jit_emit_patch_rel32(e, stays_off, e->pos);
}

void jit_sys_emit(struct jit_emit *e, const struct x86_insn *in, uint64_t star, uint64_t next_rip,
		  struct jit_sys_fix *slow)
{
	if (in->id == X86_I_SYSCALL)
		emit_syscall(e, star, next_rip, slow);
	else
		emit_sysret(e, star, slow);
}
