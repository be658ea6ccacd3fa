/* The generic executor of the "dst = op(src1, src2[, imm])" VEX forms
 * (avx_host.h explains a row of avx_ops.def) and their handlers. */
#include <math.h>

#include "avx_host.h"

/* The precision flag of an operation with an unmasked overflow/underflow,
 * recomputed per 128-bit half by sse_pe_fix (sse_fp_pe.c): every op with
 * a pe kind works lane by lane, so the halves are independent. */
/* Run op on t with all exceptions masked; returns the flags (UE also for
 * an exact tiny result when the guest unmasks UM, as sse_fp_run finds it). */
static uint32_t avx_flags_of(struct soft_cpu *cpu, const struct avx_op *op, unsigned L,
			     const struct avx_regs *t, unsigned imm)
{
	struct avx_regs u = *t;
	uint32_t h = sse_host_enter(cpu);
	op->h[L](&u, imm);
	uint32_t f = sse_host_leave(h);
	if (!(cpu->mxcsr & (MXCSR_UE << 7)) && !(f & MXCSR_UE)) {
		u = *t;
		h = sse_host_enter_x(cpu, MXCSR_FZ);
		op->h[L](&u, imm);
		if (sse_host_leave(h) & MXCSR_UE)
			f |= MXCSR_UE;
	}
	return f;
}

static double avx_elem(const struct avx_ymm *y, unsigned i, bool dbl, bool daz)
{
	const uint8_t *p = (const uint8_t *)y;
	if (dbl) {
		uint64_t v;
		memcpy(&v, p + 8 * i, 8);
		if (daz && !(v & 0x7ff0000000000000ULL))
			v &= 0x8000000000000000ULL;
		double d;
		memcpy(&d, &v, 8);
		return d;
	}
	uint32_t v;
	memcpy(&v, p + 4 * i, 4);
	if (daz && !(v & 0x7f800000u))
		v &= 0x80000000u;
	float f;
	memcpy(&f, &v, 4);
	return f;
}

static void avx_put_elem(struct avx_ymm *y, unsigned i, bool dbl, double v)
{
	uint8_t *p = (uint8_t *)y;
	if (dbl) {
		memcpy(p + 8 * i, &v, 8);
	} else {
		float f = (float)v; /* exact: v is a scaled float */
		memcpy(p + 4 * i, &f, 4);
	}
}

/* FMA3 with an unmasked overflow/underflow: hardware reports PE of
 * x*y+z rounded once with an unbounded exponent.  Per element: scale the
 * multiplicands and the addend by powers of two (exact) so that the
 * result lies near 1, where the host's own FMA rounds it the same way as
 * with an unbounded exponent, and read its PE.  An addend (or product)
 * too small to be scaled into range lies wholly below the other's last
 * bit: the sum is inexact.  132: dst*r/m + vvvv, 213: vvvv*dst + r/m,
 * 231: vvvv*r/m + dst. */
static bool avx_fma_pe(struct soft_cpu *cpu, const struct avx_op *op, unsigned L,
		       const struct avx_regs *rg, unsigned kind)
{
	bool dbl = (kind & AVX_PE_FMA_PD) != 0;
	unsigned order = kind & 3, esz = dbl ? 8 : 4;
	unsigned n = op->h[0] == op->h[1] ? 1 : (L ? 32u : 16u) / esz;
	uint32_t masks = (cpu->mxcsr >> 7) & MXCSR_FLAGS;
	bool daz = (cpu->mxcsr & 0x40) != 0, pe = false;
	int emin = dbl ? -1021 : -125;
	for (unsigned i = 0; i < n; i++) {
		struct avx_regs t;
		memset(&t, 0, sizeof(t));
		memcpy((uint8_t *)&t.a + i * esz, (const uint8_t *)&rg->a + i * esz, esz);
		memcpy((uint8_t *)&t.b + i * esz, (const uint8_t *)&rg->b + i * esz, esz);
		memcpy((uint8_t *)&t.d + i * esz, (const uint8_t *)&rg->d + i * esz, esz);
		uint32_t f = avx_flags_of(cpu, op, L, &t, 0);
		if (!(f & (MXCSR_OE | MXCSR_UE) & ~masks)) {
			pe |= (f & MXCSR_PE) != 0;
			continue;
		}
		struct avx_ymm *px, *py, *pz;
		if (order == 1) {
			px = &t.d; py = &t.b; pz = &t.a;
		} else if (order == 2) {
			px = &t.a; py = &t.d; pz = &t.b;
		} else {
			px = &t.a; py = &t.b; pz = &t.d;
		}
		double x = avx_elem(px, i, dbl, daz), y = avx_elem(py, i, dbl, daz);
		double z = avx_elem(pz, i, dbl, daz);
		int ex = 0, ey = 0, ez = 0;
		bool prod = x != 0 && y != 0;
		if (prod) {
			(void)frexp(x, &ex);
			(void)frexp(y, &ey);
		}
		if (z != 0)
			(void)frexp(z, &ez);
		int top = prod && z != 0 ? (ex + ey > ez ? ex + ey : ez) : prod ? ex + ey : ez;
		int k = -top;
		if ((z != 0 && ez + k < emin) || (prod && ex + ey + k < emin)) {
			pe = true; /* one term lies below the other's precision */
			continue;
		}
		if (prod) {
			x = ldexp(x, -ex);
			y = ldexp(y, ex + k);
		}
		z = ldexp(z, k);
		avx_put_elem(px, i, dbl, x);
		avx_put_elem(py, i, dbl, y);
		avx_put_elem(pz, i, dbl, z);
		pe |= (avx_flags_of(cpu, op, L, &t, 0) & MXCSR_PE) != 0;
	}
	return pe;
}

/* VCVTPS2PH with an unmasked overflow/underflow: PE of the half-precision
 * result with an unbounded exponent.  Per element of the source (r/m
 * slot b): scaled by a power of two (exact) into [1, 2), converted by the
 * host with the same rounding control, whose PE is then the answer. */
static bool avx_cvtph_pe(struct soft_cpu *cpu, const struct avx_op *op, unsigned L,
			 const struct avx_regs *rg, unsigned imm)
{
	uint32_t masks = (cpu->mxcsr >> 7) & MXCSR_FLAGS;
	bool daz = (cpu->mxcsr & 0x40) != 0, pe = false;
	for (unsigned i = 0; i < (L ? 8u : 4u); i++) {
		struct avx_regs t;
		memset(&t, 0, sizeof(t));
		memcpy((uint8_t *)&t.b + 4 * i, (const uint8_t *)&rg->b + 4 * i, 4);
		uint32_t f = avx_flags_of(cpu, op, L, &t, imm);
		if (!(f & (MXCSR_OE | MXCSR_UE) & ~masks)) {
			pe |= (f & MXCSR_PE) != 0;
			continue;
		}
		double x = avx_elem(&t.b, i, false, daz);
		int e = 0;
		if (x != 0)
			(void)frexp(x, &e);
		avx_put_elem(&t.b, i, false, ldexp(x, 1 - e));
		pe |= (avx_flags_of(cpu, op, L, &t, imm) & MXCSR_PE) != 0;
	}
	return pe;
}

static bool avx_pe_fix(struct soft_cpu *cpu, const struct avx_op *op, unsigned L,
		       const struct avx_regs *rg, unsigned imm)
{
	unsigned kind = op->fp & 0xff;
	if (kind == AVX_PE_CVTPH)
		return avx_cvtph_pe(cpu, op, L, rg, imm);
	if (kind & AVX_PE_FMA)
		return avx_fma_pe(cpu, op, L, rg, kind);
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
	if ((op->fp & 0xff) && (op->pe_fn || (op->fp & (AVX_PE_FMA | AVX_PE_CVTPH))) &&
	    (unmasked & (MXCSR_OE | MXCSR_UE)) &&
	    !(unmasked & (MXCSR_IE | MXCSR_DE | MXCSR_ZE))) {
		flags &= ~MXCSR_PE;
		if (avx_pe_fix(cpu, op, L, rg, imm))
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
 * other FP forms (PE with an unmasked OE/UE: avx_cvtph_pe); with an
 * unmasked exception nothing is stored. */
#define AVX_T_PH_X(i, pre) i " " pre "%%xmm1, %%xmm2"
#define AVX_T_PH_Y(i, pre) i " " pre "%%ymm1, %%xmm2"
AVX_GEN_IMM8(avx_h128_vcvtps2ph, "vcvtps2ph", AVX_T_PH_X)
AVX_GEN_IMM8(avx_h256_vcvtps2ph, "vcvtps2ph", AVX_T_PH_Y)
static const struct avx_op avx_op_vcvtps2ph = {
	{ avx_h128_vcvtps2ph, avx_h256_vcvtps2ph }, NULL, { 0, 0 }, AP_RM, 7, FP(AVX_PE_CVTPH),
	AVX_NEED_F16C
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

/* VDPPS ymm: DPPS's three steps (multiply, add pairs, add) each over both
 * 128-bit lanes at once, so that each step's flags are those of both
 * lanes and an unmasked exception stops the instruction at that step. */
static int vdpps256(struct soft_cpu *cpu, struct avx_ymm *d, const struct avx_ymm *src, unsigned imm)
{
	struct avx_regs rg;
	int r;
	memset(&rg, 0, sizeof(rg));
	rg.a = *d;
	rg.b = *src;
	union soft_xmm *ha[2] = { &rg.a.lo, &rg.a.hi }, *hb[2] = { &rg.b.lo, &rg.b.hi };
	for (int h = 0; h < 2; h++)
		for (int i = 0; i < 4; i++)
			if (!(imm & (0x10u << i)))
				ha[h]->d[i] = hb[h]->d[i] = 0;
	if ((r = avx_fp_run(cpu, &avx_op_vmulps, 1, &rg, 0)))
		return r;
	struct avx_ymm p = rg.d;
	const union soft_xmm *hp[2] = { &p.lo, &p.hi };
	memset(&rg, 0, sizeof(rg));
	for (int h = 0; h < 2; h++) {
		ha[h]->d[0] = hp[h]->d[0];
		hb[h]->d[0] = hp[h]->d[1];
		ha[h]->d[1] = hp[h]->d[2];
		hb[h]->d[1] = hp[h]->d[3];
	}
	if ((r = avx_fp_run(cpu, &avx_op_vaddps, 1, &rg, 0)))
		return r;
	p = rg.d;
	memset(&rg, 0, sizeof(rg));
	for (int h = 0; h < 2; h++) {
		ha[h]->d[0] = hp[h]->d[0];
		hb[h]->d[0] = hp[h]->d[1];
	}
	if ((r = avx_fp_run(cpu, &avx_op_vaddps, 1, &rg, 0)))
		return r;
	union soft_xmm *hd[2] = { &d->lo, &d->hi };
	const union soft_xmm *hr[2] = { &rg.d.lo, &rg.d.hi };
	for (int h = 0; h < 2; h++)
		for (int i = 0; i < 4; i++)
			hd[h]->d[i] = (imm & (1u << i)) ? hr[h]->d[0] : 0;
	return SOFT_OK;
}

/* VDPPS (128 and 256: each 128-bit lane on its own) and VDPPD (128):
 * DPPS/DPPD's step-by-step computation and exception rules (sse_fp.c),
 * with VEX.vvvv as the first source; the lanes run low then high, and an
 * unmasked exception leaves the destination alone. */
static int vdp(struct soft_cpu *cpu, const struct x86_insn *in, bool pd)
{
	int r = avx_check(cpu, SOFT_HOST_AVX);
	if (r)
		return r;
	if (pd && in->vex_l)
		return soft_ud(cpu);
	struct avx_ymm a, s;
	avx_get(cpu, in->vex_vvvv, &a);
	if ((r = avx_src(cpu, in, &s, in->vex_l ? 32 : 16, false)))
		return r;
	unsigned imm = (unsigned)in->imm & 0xff;
	if (!in->vex_l) {
		if ((r = pd ? sse_dppd(cpu, &a.lo, s.lo, imm) : sse_dpps(cpu, &a.lo, s.lo, imm)))
			return r;
		avx_set128(cpu, in->reg, &a.lo);
		return SOFT_OK;
	}
	if ((r = vdpps256(cpu, &a, &s, imm)))
		return r;
	avx_set(cpu, in->reg, &a);
	return SOFT_OK;
}

int soft_exec_vdpps(struct soft_cpu *cpu, const struct x86_insn *in) { return vdp(cpu, in, false); }
int soft_exec_vdppd(struct soft_cpu *cpu, const struct x86_insn *in) { return vdp(cpu, in, true); }
