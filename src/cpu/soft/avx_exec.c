/* The generic executor of the "dst = op(src1, src2[, imm])" VEX forms
 * (avx_host.h explains a row of avx_ops.def) and their handlers. */
#include "avx_host.h"

/* The precision flag of an operation with an unmasked overflow/underflow,
 * recomputed per 128-bit half by sse_pe_fix (sse_fp_pe.c): every op with
 * a pe kind works lane by lane, so the halves are independent. */
static bool avx_pe_fix(struct soft_cpu *cpu, const struct avx_op *op, unsigned L,
		       const struct avx_regs *rg)
{
	unsigned kind = op->fp & 0xff;
	const struct avx_ymm *s1 = op->pat == AP_NDS ? &rg->a : &rg->d;
	bool pe = sse_pe_fix(cpu, op->pe_fn, kind, &s1->lo, &rg->b.lo);
	if (L && op->h[0] != op->h[1])
		pe |= sse_pe_fix(cpu, op->pe_fn, kind, &s1->hi, &rg->b.hi);
	return pe;
}

/* Run op with the guest's MXCSR semantics (sse_fp_run's rules: the host
 * runs masked, a second run with FZ=1 finds exact-but-tiny underflows when
 * the guest unmasks UM, unmasked exceptions leave the destination alone). */
static int avx_fp_run(struct soft_cpu *cpu, const struct avx_op *op, unsigned L,
		      struct avx_regs *rg, unsigned imm)
{
	struct avx_regs t = *rg;
	uint32_t h = sse_host_enter(cpu);
	op->h[L](&t, imm);
	uint32_t flags = sse_host_leave(h);
	if (!(cpu->mxcsr & (MXCSR_UE << 7)) && !(flags & MXCSR_UE)) {
		struct avx_regs u = *rg;
		h = sse_host_enter_x(cpu, MXCSR_FZ);
		op->h[L](&u, imm);
		if (sse_host_leave(h) & MXCSR_UE)
			flags |= MXCSR_UE;
	}
	uint32_t unmasked = flags & ~(cpu->mxcsr >> 7) & MXCSR_FLAGS;
	if ((op->fp & 0xff) && op->pe_fn && (unmasked & (MXCSR_OE | MXCSR_UE)) &&
	    !(unmasked & (MXCSR_IE | MXCSR_DE | MXCSR_ZE))) {
		flags &= ~MXCSR_PE;
		if (avx_pe_fix(cpu, op, L, rg))
			flags |= MXCSR_PE;
	}
	int st = sse_raise_flags_x(cpu, flags, false);
	if (st)
		return st;
	rg->d = t.d;
	return SOFT_OK;
}

int avx_run(struct soft_cpu *cpu, const struct x86_insn *in, const struct avx_op *op)
{
	unsigned L = in->vex_l & 1;
	int r = avx_check(cpu, op->need[L]);
	if (r)
		return r;
	if (!op->h[L])
		return soft_ud(cpu);
	struct avx_regs rg;
	avx_get(cpu, in->vex_vvvv, &rg.a);
	avx_get(cpu, in->reg, &rg.d);
	if (op->pat == AP_VD && in->mod != 3)
		return soft_ud(cpu);
	if ((r = avx_src(cpu, in, &rg.b, op->msize[L], false)))
		return r;
	if (op->pat == AP_IS4)
		avx_get(cpu, (unsigned)(in->imm >> 4) & (in->mode == SOFT_MODE_64 ? 15 : 7), &rg.m);
	else
		memset(&rg.m, 0, sizeof(rg.m));
	unsigned imm = (unsigned)in->imm & op->immmask;
	if (op->fp) {
		if ((r = avx_fp_run(cpu, op, L, &rg, imm)))
			return r;
	} else {
		op->h[L](&rg, imm);
	}
	avx_set(cpu, op->pat == AP_VD ? in->vex_vvvv : in->reg, &rg.d);
	return SOFT_OK;
}

#define M16 16
#define M32 32
#include "avx_ops.def"

/* VCVTPS2PH (F16C): the destination is r/m (xmm/m64, or xmm/m128 for the
 * 256-bit source), the source ModRM.reg; imm8[2:0] is the rounding control
 * (bit 2: MXCSR.RC), imm8[7:3] are ignored.  MXCSR flags and #XM as the
 * other FP forms; with an unmasked exception nothing is stored. */
#define AVX_T_PH_X(i, pre) i " " pre "%%xmm1, %%xmm2"
#define AVX_T_PH_Y(i, pre) i " " pre "%%ymm1, %%xmm2"
AVX_GEN_IMM8(avx_h128_vcvtps2ph, "vcvtps2ph", AVX_T_PH_X)
AVX_GEN_IMM8(avx_h256_vcvtps2ph, "vcvtps2ph", AVX_T_PH_Y)
static const struct avx_op avx_op_vcvtps2ph = {
	{ avx_h128_vcvtps2ph, avx_h256_vcvtps2ph }, NULL, { 0, 0 }, AP_RM, 7, FP(0), AVX_NEED_F16C
};

int soft_exec_vcvtps2ph(struct soft_cpu *cpu, const struct x86_insn *in)
{
	const struct avx_op *op = &avx_op_vcvtps2ph;
	unsigned L = in->vex_l & 1;
	int r = avx_check(cpu, op->need[L]);
	if (r)
		return r;
	struct avx_regs rg;
	memset(&rg, 0, sizeof(rg));
	avx_get(cpu, in->reg, &rg.b);
	if ((r = avx_fp_run(cpu, op, L, &rg, (unsigned)in->imm & op->immmask)))
		return r;
	if (in->mod == 3) {
		avx_set128(cpu, in->rm, &rg.d.lo);
		return SOFT_OK;
	}
	return soft_write(cpu, soft_ea(cpu, in), &rg.d.lo, L ? 16 : 8);
}
