/* Host-instruction stubs for the SSE handlers (see sse_common.h).
 *
 * SSE_H2(insn, d, s):   host xmm0 = *d, xmm1 = *s; "insn %xmm1, %xmm0";
 *                       *d = xmm0.
 * SSE_H2I(insn, d, s, imm): the same with an immediate; imm must be a
 *                       compile-time constant, so run-time immediates go
 *                       through a switch generated with SSE_REP256 (one asm
 *                       statement per value).
 * SSE_FLAGS(ax):        after a flag-setting host instruction: lahf; seto al
 *                       (AH = SF ZF - AF - PF - CF, AL = OF).  No pushf: the
 *                       red zone below %rsp may hold compiler data. */
#ifndef RINGVM_SOFT_SSE_HOST_H
#define RINGVM_SOFT_SSE_HOST_H

#include <stdint.h>

#include "sse_common.h"

#define SSE_H2(insn, d, s)                                                   \
	__asm__ volatile("movdqu %0, %%xmm0\n\t"                             \
			 "movdqu %1, %%xmm1\n\t"                             \
			 insn " %%xmm1, %%xmm0\n\t"                          \
			 "movdqu %%xmm0, %0"                                 \
			 : "+m"(*(d)) : "m"(*(s)) : "xmm0", "xmm1")

#define SSE_H2I(insn, d, s, imm)                                             \
	__asm__ volatile("movdqu %0, %%xmm0\n\t"                             \
			 "movdqu %1, %%xmm1\n\t"                             \
			 insn " %2, %%xmm1, %%xmm0\n\t"                      \
			 "movdqu %%xmm0, %0"                                 \
			 : "+m"(*(d)) : "m"(*(s)), "i"(imm) : "xmm0", "xmm1")

/* Repeat X(arg, n) for n = base .. base+N-1. */
#define SSE_REP2(X, a, n) X(a, n) X(a, (n) + 1)
#define SSE_REP4(X, a, n) SSE_REP2(X, a, n) SSE_REP2(X, a, (n) + 2)
#define SSE_REP8(X, a, n) SSE_REP4(X, a, n) SSE_REP4(X, a, (n) + 4)
#define SSE_REP16(X, a, n) SSE_REP8(X, a, n) SSE_REP8(X, a, (n) + 8)
#define SSE_REP32(X, a, n) SSE_REP16(X, a, n) SSE_REP16(X, a, (n) + 16)
#define SSE_REP64(X, a, n) SSE_REP32(X, a, n) SSE_REP32(X, a, (n) + 32)
#define SSE_REP128(X, a, n) SSE_REP64(X, a, n) SSE_REP64(X, a, (n) + 64)
#define SSE_REP256(X, a, n) SSE_REP128(X, a, n) SSE_REP128(X, a, (n) + 128)

#define SSE_CASE_H2I(insn, n) case (n): SSE_H2I(insn, d, s, (n)); break;

/* static void fn(union soft_xmm *d, const union soft_xmm *s, unsigned imm)
 * running "insn $imm, %xmm1, %xmm0" for imm in [0, N) (N = 8, 16, ... 256;
 * callers mask imm as the instruction ignores the other bits). */
#define SSE_IMM_FN(fn, insn, REPN)                                           \
	static void fn(union soft_xmm *d, const union soft_xmm *s, unsigned imm) \
	{                                                                    \
		switch (imm) {                                               \
		REPN(SSE_CASE_H2I, insn, 0)                                  \
		default: break;                                              \
		}                                                            \
	}

/* #UD unless the host has the extension (host_isa.h) that the handler
 * executes on the host's own units. */
#define SSE_NEED_HOST(cpu, feat)                                             \
	do {                                                                 \
		if (!((cpu)->host_isa & (feat)))                             \
			return soft_raise((cpu), X86_EXC_UD, false, 0);      \
	} while (0)

/* Handler: dst = dst op src (XMM), no MXCSR involvement (integer and
 * bitwise operations).  size/align16: the memory operand's shape. */
#define SSE_INT_OP(name, insn, size, align16)                                 \
	SSE_INT_OP_NEED(name, insn, size, align16, 0)
/* The same, for an instruction of a host_isa.h extension (feat != 0). */
#define SSE_INT_OP_NEED(name, insn, size, align16, feat)                      \
	int soft_exec_##name(struct soft_cpu *cpu, const struct x86_insn *in) \
	{                                                                     \
		union soft_xmm s, d;                                          \
		if (feat)                                                     \
			SSE_NEED_HOST(cpu, feat);                             \
		int r = sse_check(cpu);                                       \
		if (r)                                                        \
			return r;                                             \
		r = sse_src(cpu, in, &s, size, align16);                      \
		if (r)                                                        \
			return r;                                             \
		d = cpu->xmm[in->reg];                                        \
		SSE_H2(insn, &d, &s);                                         \
		cpu->xmm[in->reg] = d;                                        \
		return SOFT_OK;                                               \
	}

/* The same with an immediate (masked by immmask; REPN covers it). */
#define SSE_INT_OPI(name, insn, size, align16, REPN, immmask)                 \
	SSE_INT_OPI_NEED(name, insn, size, align16, REPN, immmask, 0)
#define SSE_INT_OPI_NEED(name, insn, size, align16, REPN, immmask, feat)      \
	SSE_IMM_FN(sse_host_##name, insn, REPN)                               \
	int soft_exec_##name(struct soft_cpu *cpu, const struct x86_insn *in) \
	{                                                                     \
		union soft_xmm s, d;                                          \
		if (feat)                                                     \
			SSE_NEED_HOST(cpu, feat);                             \
		int r = sse_check(cpu);                                       \
		if (r)                                                        \
			return r;                                             \
		r = sse_src(cpu, in, &s, size, align16);                      \
		if (r)                                                        \
			return r;                                             \
		d = cpu->xmm[in->reg];                                        \
		sse_host_##name(&d, &s, (unsigned)in->imm & (immmask));        \
		cpu->xmm[in->reg] = d;                                        \
		return SOFT_OK;                                               \
	}

#endif
