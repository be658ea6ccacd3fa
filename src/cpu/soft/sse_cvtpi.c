/* Conversions between MMX and XMM operands (CVTPI2PS/PD, CVT(T)PS2PI,
 * CVT(T)PD2PI): the host's packed XMM conversion on the two elements
 * involved (the other lanes are zero, which raise no exceptions), with
 * the x87 -> MMX transition when an MMX register takes part. */
#include "mmx_common.h"
#include "sse_host.h"

/* mm/m64 source into the low quadword of a zeroed XMM value. */
static int cvt_mmx_src(struct soft_cpu *cpu, const struct x86_insn *in, union soft_xmm *s)
{
	memset(s, 0, sizeof(*s));
	if (in->mod == 3) {
		int r = mmx_check(cpu);
		if (r)
			return r;
		s->q[0] = mmx_get(cpu, in->rm);
		soft_mmx_enter(cpu); /* even if the conversion then faults (#XM) */
		return SOFT_OK;
	}
	return soft_read(cpu, soft_ea(cpu, in), s, 8);
}

#define CVT_PI2X(name, insn, low_only)                                                 \
	int soft_exec_##name(struct soft_cpu *cpu, const struct x86_insn *in) \
	{                                                                     \
		union soft_xmm s, t;                                          \
		int r = sse_check(cpu);                                       \
		if (r || (r = cvt_mmx_src(cpu, in, &s)))                      \
			return r;                                             \
		memset(&t, 0, sizeof(t));                                     \
		uint32_t h = sse_host_enter(cpu);                             \
		SSE_H2(insn, &t, &s);                                         \
		r = sse_raise_flags(cpu, sse_host_leave(h));                  \
		if (r)                                                        \
			return r;                                             \
		if (low_only) /* CVTPI2PS: the upper half is kept */         \
			cpu->xmm[in->reg].q[0] = t.q[0];                      \
		else                                                          \
			cpu->xmm[in->reg] = t;                                \
		return SOFT_OK;                                               \
	}

CVT_PI2X(cvtpi2ps, "cvtdq2ps", true)
CVT_PI2X(cvtpi2pd, "cvtdq2pd", false)

#define CVT_X2PI(name, insn, size, align16)                                   \
	int soft_exec_##name(struct soft_cpu *cpu, const struct x86_insn *in) \
	{                                                                     \
		union soft_xmm s, t;                                          \
		int r = sse_check(cpu);                                       \
		if (r || (r = mmx_check(cpu)))                                \
			return r;                                             \
		if ((r = sse_src(cpu, in, &s, size, align16)))                \
			return r;                                             \
		soft_mmx_enter(cpu); /* the transition precedes #XM */        \
		if (size == 8)                                                \
			s.q[1] = 0;                                           \
		memset(&t, 0, sizeof(t));                                     \
		uint32_t h = sse_host_enter(cpu);                             \
		SSE_H2(insn, &t, &s);                                         \
		r = sse_raise_flags(cpu, sse_host_leave(h));                  \
		if (r)                                                        \
			return r;                                             \
		mmx_set(cpu, in->reg, t.q[0]);                                \
		return SOFT_OK;                                               \
	}

CVT_X2PI(cvtps2pi, "cvtps2dq", 8, false)
CVT_X2PI(cvttps2pi, "cvttps2dq", 8, false)
CVT_X2PI(cvtpd2pi, "cvtpd2dq", 16, true)
CVT_X2PI(cvttpd2pi, "cvttpd2dq", 16, true)
