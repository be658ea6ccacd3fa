/* Which SSE/SSE2 instructions the translator emits as themselves (sse.c):
 * moves and packed/scalar arithmetic on XMM registers, with guest XMM
 * state in struct soft_cpu (loaded into host XMM0/XMM1, operated on, stored
 * back) and memory operands through the inline TLB fast path. */
#ifndef RINGVM_SOFT_JIT_SSE_H
#define RINGVM_SOFT_JIT_SSE_H

#include <stdbool.h>
#include <stdint.h>

struct x86_insn;

struct jit_sse {
	uint8_t pfx;        /* mandatory prefix byte emitted (0x66 0xf3 0xf2) or 0 */
	uint8_t op;         /* 0F opcode emitted (MOVNT* become the aligned moves) */
	bool store;         /* r/m is the destination (MOVUPS 11 ...), else reg */
	bool reads_dst;     /* the destination's old value matters (not a full move) */
	bool aligned;       /* a memory operand must be 16-byte aligned (#GP) */
	bool fp;            /* floating point: depends on MXCSR */
	uint8_t msize;      /* bytes of a memory operand */
	bool imm;           /* an imm8 follows the ModRM (in->imm) */
	bool w;             /* REX.W (MOVQ forms of 66 0F 6E/7E) */
	uint8_t gpr;        /* JIT_SSE_GPR_*: a general register operand */
};

enum {
	JIT_SSE_GPR_NONE,
	JIT_SSE_GPR_DST_REG, /* PMOVMSKB, CVT(T)SS/SD2SI: ModRM.reg a GPR written, r/m an XMM */
	JIT_SSE_GPR_SRC_RM,  /* MOVD xmm, r; CVTSI2SS/SD: r/m a GPR read */
	JIT_SSE_GPR_DST_RM,  /* MOVD r, xmm: r/m a GPR written */
};

/* Can in (a legacy-encoded SSE/SSE2 instruction, any mode) run as a host
 * instruction on host XMM0 (reg) and XMM1 or [RDI] (r/m)?  A memory
 * operand only in 64-bit mode with 64-bit addressing. */
bool jit_sse_plan(const struct x86_insn *in, struct jit_sse *s);

/* Translated code leaves the guest's MXCSR (its rounding, FZ, DAZ and
 * sticky flags, every exception masked) in the host's: a run of SSE
 * floating-point instructions loads it once (docs/soft-cpu.md,
 * "MXCSR").  The run loop's side of the convention: the host's MXCSR as
 * it was before the translated code, put back after it if that changed. */
static inline uint32_t jit_sse_host_mxcsr(void)
{
	uint32_t v;
	__asm__ volatile("stmxcsr %0" : "=m"(v) : : "memory");
	return v;
}

static inline void jit_sse_host_mxcsr_restore(uint32_t saved)
{
	if (jit_sse_host_mxcsr() != saved)
		__asm__ volatile("ldmxcsr %0" : : "m"(saved) : "memory");
}

#endif
