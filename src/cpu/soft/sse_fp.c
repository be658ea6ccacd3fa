/* SSE/SSE2/SSE3/SSE4.1 floating-point arithmetic, logic, compares,
 * rounding and dot products, executed by the host instruction on the guest
 * operands (sse_common.h explains the technique). */
#include "sse_host.h"

/* Operand shapes: memory size and whether the 16-byte alignment rule applies. */
#define M128 16, true
#define M64 8, false
#define M32 4, false

/* dst = dst op src, MXCSR rounding/flags */
#define SSE_FP(name, insn, shape, pe)                                           \
	static void sse_host_##name(union soft_xmm *d, const union soft_xmm *s, unsigned imm) \
	{                                                                     \
		(void)imm;                                                    \
		SSE_H2(insn, d, s);                                           \
	}                                                                     \
	int soft_exec_##name(struct soft_cpu *cpu, const struct x86_insn *in) \
	{                                                                     \
		union soft_xmm s, d;                                          \
		int r = sse_check(cpu);                                       \
		if (r)                                                        \
			return r;                                             \
		r = sse_src(cpu, in, &s, shape);                              \
		if (r)                                                        \
			return r;                                             \
		d = cpu->xmm[in->reg];                                        \
		r = sse_fp_run(cpu, sse_host_##name, &d, &s, 0, false, pe);   \
		if (r)                                                        \
			return r;                                             \
		cpu->xmm[in->reg] = d;                                        \
		return SOFT_OK;                                               \
	}

/* dst = op(dst, src, imm & immmask) through a switch of host stubs */
#define SSE_FPI(name, insn, shape, REPN, immmask, multi)                      \
	SSE_IMM_FN(sse_host_##name, insn, REPN)                               \
	int soft_exec_##name(struct soft_cpu *cpu, const struct x86_insn *in) \
	{                                                                     \
		union soft_xmm s, d;                                          \
		int r = sse_check(cpu);                                       \
		if (r)                                                        \
			return r;                                             \
		r = sse_src(cpu, in, &s, shape);                              \
		if (r)                                                        \
			return r;                                             \
		d = cpu->xmm[in->reg];                                        \
		r = sse_fp_run(cpu, sse_host_##name, &d, &s,                  \
			       (unsigned)in->imm & (immmask), multi, 0);      \
		if (r)                                                        \
			return r;                                             \
		cpu->xmm[in->reg] = d;                                        \
		return SOFT_OK;                                               \
	}

SSE_FP(addps, "addps", M128, PE_ADD | PE_PS)
SSE_FP(addpd, "addpd", M128, PE_ADD | PE_PD)
SSE_FP(addss, "addss", M32, PE_ADD | PE_SS)
SSE_FP(addsd, "addsd", M64, PE_ADD | PE_SD)
SSE_FP(subps, "subps", M128, PE_SUB | PE_PS)
SSE_FP(subpd, "subpd", M128, PE_SUB | PE_PD)
SSE_FP(subss, "subss", M32, PE_SUB | PE_SS)
SSE_FP(subsd, "subsd", M64, PE_SUB | PE_SD)
SSE_FP(mulps, "mulps", M128, PE_MUL | PE_PS)
SSE_FP(mulpd, "mulpd", M128, PE_MUL | PE_PD)
SSE_FP(mulss, "mulss", M32, PE_MUL | PE_SS)
SSE_FP(mulsd, "mulsd", M64, PE_MUL | PE_SD)
SSE_FP(divps, "divps", M128, PE_DIV | PE_PS)
SSE_FP(divpd, "divpd", M128, PE_DIV | PE_PD)
SSE_FP(divss, "divss", M32, PE_DIV | PE_SS)
SSE_FP(divsd, "divsd", M64, PE_DIV | PE_SD)
SSE_FP(minps, "minps", M128, 0)
SSE_FP(minpd, "minpd", M128, 0)
SSE_FP(minss, "minss", M32, 0)
SSE_FP(minsd, "minsd", M64, 0)
SSE_FP(maxps, "maxps", M128, 0)
SSE_FP(maxpd, "maxpd", M128, 0)
SSE_FP(maxss, "maxss", M32, 0)
SSE_FP(maxsd, "maxsd", M64, 0)
SSE_FP(sqrtps, "sqrtps", M128, PE_SQRT | PE_PS)
SSE_FP(sqrtpd, "sqrtpd", M128, PE_SQRT | PE_PD)
SSE_FP(sqrtss, "sqrtss", M32, PE_SQRT | PE_SS)
SSE_FP(sqrtsd, "sqrtsd", M64, PE_SQRT | PE_SD)
SSE_FP(rcpps, "rcpps", M128, 0)
SSE_FP(rcpss, "rcpss", M32, 0)
SSE_FP(rsqrtps, "rsqrtps", M128, 0)
SSE_FP(rsqrtss, "rsqrtss", M32, 0)
SSE_FP(addsubps, "addsubps", M128, PE_ADDSUB | PE_PS)
SSE_FP(addsubpd, "addsubpd", M128, PE_ADDSUB | PE_PD)
SSE_FP(haddps, "haddps", M128, PE_HADD | PE_PS)
SSE_FP(haddpd, "haddpd", M128, PE_HADD | PE_PD)
SSE_FP(hsubps, "hsubps", M128, PE_HSUB | PE_PS)
SSE_FP(hsubpd, "hsubpd", M128, PE_HSUB | PE_PD)
SSE_FP(cvtdq2ps, "cvtdq2ps", M128, 0)
SSE_FP(cvtps2dq, "cvtps2dq", M128, 0)
SSE_FP(cvttps2dq, "cvttps2dq", M128, 0)
SSE_FP(cvtpd2ps, "cvtpd2ps", M128, PE_CVT_D2S | PE_PD)
SSE_FP(cvtpd2dq, "cvtpd2dq", M128, 0)
SSE_FP(cvttpd2dq, "cvttpd2dq", M128, 0)
SSE_FP(cvtdq2pd, "cvtdq2pd", M64, 0)
SSE_FP(cvtps2pd, "cvtps2pd", M64, 0)
SSE_FP(cvtss2sd, "cvtss2sd", M32, 0)
SSE_FP(cvtsd2ss, "cvtsd2ss", M64, PE_CVT_D2S | PE_SD)

SSE_INT_OP(andps, "andps", 16, true)
SSE_INT_OP(andpd, "andpd", 16, true)
SSE_INT_OP(andnps, "andnps", 16, true)
SSE_INT_OP(andnpd, "andnpd", 16, true)
SSE_INT_OP(orps, "orps", 16, true)
SSE_INT_OP(orpd, "orpd", 16, true)
SSE_INT_OP(xorps, "xorps", 16, true)
SSE_INT_OP(xorpd, "xorpd", 16, true)
SSE_INT_OP(unpcklps, "unpcklps", 16, true)
SSE_INT_OP(unpcklpd, "unpcklpd", 16, true)
SSE_INT_OP(unpckhps, "unpckhps", 16, true)
SSE_INT_OP(unpckhpd, "unpckhpd", 16, true)

/* CMPccPS: legacy encodings use imm8[2:0]; ROUNDxx uses imm8[3:0]. */
SSE_FPI(cmpps, "cmpps", M128, SSE_REP8, 7, false)
SSE_FPI(cmppd, "cmppd", M128, SSE_REP8, 7, false)
SSE_FPI(cmpss, "cmpss", M32, SSE_REP8, 7, false)
SSE_FPI(cmpsd, "cmpsd", M64, SSE_REP8, 7, false)
SSE_FPI(roundps, "roundps", M128, SSE_REP16, 15, false)
SSE_FPI(roundpd, "roundpd", M128, SSE_REP16, 15, false)
SSE_FPI(roundss, "roundss", M32, SSE_REP16, 15, false)
SSE_FPI(roundsd, "roundsd", M64, SSE_REP16, 15, false)

/* DPPS/DPPD as the SDM defines them (sse_dpps/sse_dppd: d = dp(d, s),
 * also for VDPPS/VDPPD, avx_exec.c): multiply the selected lanes, then
 * add pairwise, each step rounded and checked for exceptions on its own.
 * An unmasked exception in a step stops there (later steps' flags are not
 * raised), which is what the host does.  Unselected lanes are +0.0 and
 * raise nothing. */
int sse_dpps(struct soft_cpu *cpu, union soft_xmm *dst, union soft_xmm s, unsigned imm)
{
	union soft_xmm d = *dst, a, b;
	int r;
	for (int i = 0; i < 4; i++) {
		if (!(imm & (0x10u << i))) {
			d.d[i] = 0;
			s.d[i] = 0;
		}
	}
	if ((r = sse_fp_run(cpu, sse_host_mulps, &d, &s, 0, false, PE_MUL | PE_PS)))
		return r;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.d[0] = d.d[0];
	b.d[0] = d.d[1];
	a.d[1] = d.d[2];
	b.d[1] = d.d[3];
	if ((r = sse_fp_run(cpu, sse_host_addps, &a, &b, 0, false, PE_ADD | PE_PS)))
		return r;
	b.d[0] = a.d[1];
	a.d[1] = 0;
	b.d[1] = 0;
	if ((r = sse_fp_run(cpu, sse_host_addps, &a, &b, 0, false, PE_ADD | PE_PS)))
		return r;
	for (int i = 0; i < 4; i++)
		d.d[i] = (imm & (1u << i)) ? a.d[0] : 0;
	*dst = d;
	return SOFT_OK;
}

int soft_exec_dpps(struct soft_cpu *cpu, const struct x86_insn *in)
{
	union soft_xmm s, d;
	int r = sse_check(cpu);
	if (r || (r = sse_src(cpu, in, &s, M128)))
		return r;
	d = cpu->xmm[in->reg];
	if ((r = sse_dpps(cpu, &d, s, (unsigned)in->imm)))
		return r;
	cpu->xmm[in->reg] = d;
	return SOFT_OK;
}

int sse_dppd(struct soft_cpu *cpu, union soft_xmm *dst, union soft_xmm s, unsigned imm)
{
	union soft_xmm d = *dst, a, b;
	int r;
	for (int i = 0; i < 2; i++) {
		if (!(imm & (0x10u << i))) {
			d.q[i] = 0;
			s.q[i] = 0;
		}
	}
	if ((r = sse_fp_run(cpu, sse_host_mulpd, &d, &s, 0, false, PE_MUL | PE_PD)))
		return r;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.q[0] = d.q[0];
	b.q[0] = d.q[1];
	if ((r = sse_fp_run(cpu, sse_host_addpd, &a, &b, 0, false, PE_ADD | PE_PD)))
		return r;
	for (int i = 0; i < 2; i++)
		d.q[i] = (imm & (1u << i)) ? a.q[0] : 0;
	*dst = d;
	return SOFT_OK;
}

int soft_exec_dppd(struct soft_cpu *cpu, const struct x86_insn *in)
{
	union soft_xmm s, d;
	int r = sse_check(cpu);
	if (r || (r = sse_src(cpu, in, &s, M128)))
		return r;
	d = cpu->xmm[in->reg];
	if ((r = sse_dppd(cpu, &d, s, (unsigned)in->imm)))
		return r;
	cpu->xmm[in->reg] = d;
	return SOFT_OK;
}

/* BLENDVPS/PD: the mask is the guest's XMM0 (host xmm0 is implicit too). */
#define SSE_BLENDV(name, insn)                                                \
	int soft_exec_##name(struct soft_cpu *cpu, const struct x86_insn *in) \
	{                                                                     \
		union soft_xmm s, d, m;                                       \
		int r = sse_check(cpu);                                       \
		if (r)                                                        \
			return r;                                             \
		r = sse_src(cpu, in, &s, M128);                               \
		if (r)                                                        \
			return r;                                             \
		d = cpu->xmm[in->reg];                                        \
		m = cpu->xmm[0];                                              \
		__asm__ volatile("movdqu %0, %%xmm1\n\t"                      \
				 "movdqu %1, %%xmm2\n\t"                      \
				 "movdqu %2, %%xmm0\n\t"                      \
				 insn " %%xmm0, %%xmm2, %%xmm1\n\t"           \
				 "movdqu %%xmm1, %0"                          \
				 : "+m"(d) : "m"(s), "m"(m)                   \
				 : "xmm0", "xmm1", "xmm2");                   \
		cpu->xmm[in->reg] = d;                                        \
		return SOFT_OK;                                               \
	}

SSE_BLENDV(blendvps, "blendvps")
SSE_BLENDV(blendvpd, "blendvpd")
SSE_BLENDV(pblendvb, "pblendvb")

/* COMISS/UCOMISS/COMISD/UCOMISD: ZF PF CF from the compare, OF SF AF
 * cleared (SDM: "OF, AF, SF: 0"). */
#define SSE_COMI(name, insn, shape)                                           \
	int soft_exec_##name(struct soft_cpu *cpu, const struct x86_insn *in) \
	{                                                                     \
		union soft_xmm s, d;                                          \
		uint16_t ax;                                                  \
		int r = sse_check(cpu);                                       \
		if (r)                                                        \
			return r;                                             \
		r = sse_src(cpu, in, &s, shape);                              \
		if (r)                                                        \
			return r;                                             \
		d = cpu->xmm[in->reg];                                        \
		uint32_t h = sse_host_enter(cpu);                             \
		__asm__ volatile("movdqu %1, %%xmm0\n\t"                      \
				 "movdqu %2, %%xmm1\n\t"                      \
				 insn " %%xmm1, %%xmm0\n\t"                   \
				 "lahf"                                       \
				 : "=a"(ax) : "m"(d), "m"(s) : "xmm0", "xmm1", "cc"); \
		r = sse_raise_flags(cpu, sse_host_leave(h));                  \
		if (r)                                                        \
			return r;                                             \
		uint64_t fl = soft_get_rflags(cpu) & ~0x8d5ULL;               \
		fl |= (ax >> 8) & 0x45; /* ZF PF CF */                        \
		soft_set_rflags(cpu, fl);                                     \
		return SOFT_OK;                                               \
	}

SSE_COMI(comiss, "comiss", M32)
SSE_COMI(ucomiss, "ucomiss", M32)
SSE_COMI(comisd, "comisd", M64)
SSE_COMI(ucomisd, "ucomisd", M64)

/* CVTSI2SS/SD xmm, r/m32 or r/m64 (REX.W). */
#define SSE_CVTSI2(name, insn)                                                \
	int soft_exec_##name(struct soft_cpu *cpu, const struct x86_insn *in) \
	{                                                                     \
		unsigned sz = sse_rexw(in) ? 8 : 4;                           \
		uint64_t v = 0;                                               \
		int r = sse_check(cpu);                                       \
		if (r)                                                        \
			return r;                                             \
		if (in->mod == 3) {                                           \
			v = sse_gpr_get(cpu, in->rm, sz);                     \
		} else {                                                      \
			r = soft_read(cpu, soft_ea(cpu, in), &v, sz);         \
			if (r)                                                \
				return r;                                     \
		}                                                             \
		union soft_xmm d = cpu->xmm[in->reg];                         \
		uint32_t h = sse_host_enter(cpu);                             \
		if (sz == 8)                                                  \
			__asm__ volatile("movdqu %0, %%xmm0\n\t"              \
					 insn "q %1, %%xmm0\n\t"              \
					 "movdqu %%xmm0, %0"                  \
					 : "+m"(d) : "r"(v) : "xmm0");        \
		else                                                          \
			__asm__ volatile("movdqu %0, %%xmm0\n\t"              \
					 insn "l %1, %%xmm0\n\t"              \
					 "movdqu %%xmm0, %0"                  \
					 : "+m"(d) : "r"((uint32_t)v) : "xmm0"); \
		r = sse_raise_flags(cpu, sse_host_leave(h));                  \
		if (r)                                                        \
			return r;                                             \
		cpu->xmm[in->reg] = d;                                        \
		return SOFT_OK;                                               \
	}

SSE_CVTSI2(cvtsi2ss, "cvtsi2ss")
SSE_CVTSI2(cvtsi2sd, "cvtsi2sd")

/* CVT(T)SS2SI / CVT(T)SD2SI r32/r64, xmm/m. */
#define SSE_CVT2SI(name, insn, shape)                                         \
	int soft_exec_##name(struct soft_cpu *cpu, const struct x86_insn *in) \
	{                                                                     \
		union soft_xmm s;                                             \
		uint64_t v;                                                   \
		int r = sse_check(cpu);                                       \
		if (r)                                                        \
			return r;                                             \
		r = sse_src(cpu, in, &s, shape);                              \
		if (r)                                                        \
			return r;                                             \
		uint32_t h = sse_host_enter(cpu);                             \
		if (sse_rexw(in)) {                                           \
			__asm__ volatile("movdqu %1, %%xmm0\n\t"              \
					 insn " %%xmm0, %0"                   \
					 : "=r"(v) : "m"(s) : "xmm0");        \
		} else {                                                      \
			uint32_t w;                                           \
			__asm__ volatile("movdqu %1, %%xmm0\n\t"              \
					 insn " %%xmm0, %0"                   \
					 : "=r"(w) : "m"(s) : "xmm0");        \
			v = w;                                                \
		}                                                             \
		r = sse_raise_flags(cpu, sse_host_leave(h));                  \
		if (r)                                                        \
			return r;                                             \
		cpu->gpr[in->reg] = v;                                        \
		return SOFT_OK;                                               \
	}

SSE_CVT2SI(cvtss2si, "cvtss2si", M32)
SSE_CVT2SI(cvttss2si, "cvttss2si", M32)
SSE_CVT2SI(cvtsd2si, "cvtsd2si", M64)
SSE_CVT2SI(cvttsd2si, "cvttsd2si", M64)

/* MOVMSKPS/PD r32/r64, xmm (register source only). */
int soft_exec_movmskps(struct soft_cpu *cpu, const struct x86_insn *in)
{
	int r = sse_check(cpu);
	if (r)
		return r;
	const union soft_xmm *s = &cpu->xmm[in->rm];
	uint64_t m = 0;
	for (int i = 0; i < 4; i++)
		m |= (uint64_t)(s->d[i] >> 31) << i;
	cpu->gpr[in->reg] = m;
	return SOFT_OK;
}

int soft_exec_movmskpd(struct soft_cpu *cpu, const struct x86_insn *in)
{
	int r = sse_check(cpu);
	if (r)
		return r;
	const union soft_xmm *s = &cpu->xmm[in->rm];
	cpu->gpr[in->reg] = (s->q[0] >> 63) | ((s->q[1] >> 63) << 1);
	return SOFT_OK;
}
