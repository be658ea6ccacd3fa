/* The precision flag of an SSE operation whose overflow or underflow
 * exception is unmasked.  Hardware then reports PE for the result rounded
 * to the destination precision with an unbounded exponent (no result is
 * delivered).  The host's SSE unit, running masked, only shows PE for the
 * delivered (infinite or denormalised) result, so the lanes are
 * recomputed on the host x87: its precision control rounds the
 * significand to 24 or 53 bits and keeps the 15-bit exponent, which is
 * "unbounded" for float and double results.  +, -, *, / and sqrt are
 * correctly rounded at the selected precision. */
#include <string.h>

#include "sse_common.h"

enum { XOP_ADD, XOP_SUB, XOP_MUL, XOP_DIV, XOP_SQRT, XOP_ROUND };

/* Run one x87 operation on a and b (b unused for SQRT/ROUND) with control
 * word cw (all exceptions masked) and return the status word's PE. */
static bool pe_x87(const long double *a, const long double *b, unsigned op, uint16_t cw)
{
	uint16_t old, sw;

#define PE_X87(ops)                                                           \
	__asm__ volatile("fnstcw %[old]\n\t"                                  \
			 "fldcw %[cw]\n\t"                                    \
			 "fnclex\n\t"                                         \
			 "fldt %[a]\n\t"                                      \
			 "fldt %[b]\n\t"                                      \
			 ops "\n\t"                                           \
			 "fstp %%st(0)\n\t"                                   \
			 "fnstsw %[sw]\n\t"                                   \
			 "fnclex\n\t"                                         \
			 "fldcw %[old]"                                       \
			 : [old] "=m"(old), [sw] "=m"(sw)                     \
			 : [cw] "m"(cw), [a] "m"(*a), [b] "m"(*b)             \
			 : "st", "st(1)", "memory")
	switch (op) {
	case XOP_ADD: PE_X87(".byte 0xde, 0xc1"); break;  /* faddp st1, st0 */
	case XOP_SUB: PE_X87(".byte 0xde, 0xe9"); break;  /* fsubp: st1 - st0 */
	case XOP_MUL: PE_X87(".byte 0xde, 0xc9"); break;  /* fmulp */
	case XOP_DIV: PE_X87(".byte 0xde, 0xf9"); break;  /* fdivp: st1 / st0 */
	case XOP_SQRT:                                    /* drop b, sqrt a */
		PE_X87("fstp %%st(0)\n\t.byte 0xd9, 0xfa");
		break;
	default:                                          /* a * 1: round to PC */
		PE_X87("fstp %%st(0)\n\tfld1\n\t.byte 0xde, 0xc9");
		break;
	}
#undef PE_X87
	return (sw & 0x20) != 0;
}

/* An element as a long double, with DAZ applied (denormal -> signed 0). */
static long double pe_elem(const union soft_xmm *x, unsigned i, bool dbl, bool daz)
{
	if (dbl) {
		uint64_t bits = x->q[i];
		if (daz && !(bits & 0x7ff0000000000000ULL))
			bits &= 0x8000000000000000ULL;
		double v;
		memcpy(&v, &bits, 8);
		return (long double)v;
	}
	uint32_t bits = x->d[i];
	if (daz && !(bits & 0x7f800000u))
		bits &= 0x80000000u;
	float v;
	memcpy(&v, &bits, 4);
	return (long double)v;
}

/* Inputs of result lane `lane` of op(d, s) in isolation: every other
 * input element becomes 1.0, which makes the other lanes exact and
 * exception-free (1+1, 1-1, 1*1, 1/1, sqrt 1, double->float 1). */
static void pe_isolate(unsigned kind, unsigned lane, union soft_xmm *d, union soft_xmm *s)
{
	unsigned shape = kind & PE_SHAPE_MASK, op = kind & PE_OP_MASK;
	bool dbl = shape == PE_PD || shape == PE_SD;
	unsigned n = dbl ? 2 : 4;
	bool keep_d[4] = { false }, keep_s[4] = { false };

	if (op == PE_HADD || op == PE_HSUB) {
		unsigned half = (shape == PE_PS ? 4 : 2) / 2;
		bool *k = lane < half ? keep_d : keep_s;
		unsigned j = 2 * (lane % half);
		k[j] = k[j + 1] = true;
	} else if (op == PE_CVT_D2S) {
		keep_s[lane] = true;
		dbl = true;
		n = 2;
	} else {
		keep_d[lane] = keep_s[lane] = true;
	}
	for (unsigned i = 0; i < n; i++) {
		if (dbl) {
			if (!keep_d[i] && op != PE_CVT_D2S)
				d->q[i] = 0x3ff0000000000000ULL;
			if (!keep_s[i])
				s->q[i] = 0x3ff0000000000000ULL;
		} else {
			if (!keep_d[i])
				d->d[i] = 0x3f800000u;
			if (!keep_s[i])
				s->d[i] = 0x3f800000u;
		}
	}
}

/* PE of result lane `lane` rounded with an unbounded exponent. */
static bool pe_lane_unbounded(const struct soft_cpu *cpu, unsigned kind, unsigned lane,
			      const union soft_xmm *d, const union soft_xmm *s)
{
	unsigned shape = kind & PE_SHAPE_MASK, op = kind & PE_OP_MASK;
	bool dbl = shape == PE_PD || shape == PE_SD;
	unsigned lanes = shape == PE_PS ? 4 : shape == PE_PD ? 2 : 1;
	bool daz = (cpu->mxcsr & 0x40) != 0;
	/* all exceptions masked, PC = 24 or 53 bits, RC from MXCSR */
	uint16_t cw = (uint16_t)(0x107f & ~0x0300u);
	cw |= (uint16_t)((dbl ? 2u : 0u) << 8);
	cw |= (uint16_t)(((cpu->mxcsr >> 13) & 3) << 10);
	long double a, b;
	unsigned xop;

	switch (op) {
	case PE_CVT_D2S:
		cw &= (uint16_t)~0x0300u;
		a = pe_elem(s, lane, true, daz);
		b = 1.0L;
		xop = XOP_ROUND;
		break;
	case PE_HADD:
	case PE_HSUB: {
		const union soft_xmm *x = lane < lanes / 2 ? d : s;
		unsigned j = 2 * (lane % (lanes / 2));
		a = pe_elem(x, j, dbl, daz);
		b = pe_elem(x, j + 1, dbl, daz);
		xop = op == PE_HADD ? XOP_ADD : XOP_SUB;
		break;
	}
	case PE_ADDSUB:
		a = pe_elem(d, lane, dbl, daz);
		b = pe_elem(s, lane, dbl, daz);
		xop = (lane & 1) ? XOP_ADD : XOP_SUB;
		break;
	default:
		a = pe_elem(op == PE_SQRT ? s : d, lane, dbl, daz);
		b = pe_elem(s, lane, dbl, daz);
		xop = op == PE_ADD ? XOP_ADD : op == PE_SUB ? XOP_SUB :
		      op == PE_MUL ? XOP_MUL : op == PE_DIV ? XOP_DIV : XOP_SQRT;
		break;
	}
	return pe_x87(&a, &b, xop, cw);
}

bool sse_pe_fix(struct soft_cpu *cpu, sse_host_fn fn, unsigned kind,
		const union soft_xmm *d, const union soft_xmm *s)
{
	unsigned shape = kind & PE_SHAPE_MASK, op = kind & PE_OP_MASK;
	unsigned lanes = shape == PE_PS ? 4 : shape == PE_PD ? 2 : 1;
	if (op == PE_CVT_D2S)
		lanes = shape == PE_PD ? 2 : 1;
	uint32_t masks = (cpu->mxcsr >> 7) & MXCSR_FLAGS;
	bool pe = false;

	for (unsigned lane = 0; lane < lanes; lane++) {
		union soft_xmm d1 = *d, s1 = *s, t;
		pe_isolate(kind, lane, &d1, &s1);
		t = d1;
		uint32_t h = sse_host_enter(cpu);
		fn(&t, &s1, 0);
		uint32_t f = sse_host_leave(h);
		if (!(masks & MXCSR_UE) && !(f & MXCSR_UE)) {
			t = d1;
			h = sse_host_enter_x(cpu, MXCSR_FZ);
			fn(&t, &s1, 0);
			if (sse_host_leave(h) & MXCSR_UE)
				f |= MXCSR_UE;
		}
		if (f & (MXCSR_OE | MXCSR_UE) & ~masks)
			pe |= pe_lane_unbounded(cpu, kind, lane, d, s);
		else
			pe |= (f & MXCSR_PE) != 0;
	}
	return pe;
}
