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
};

/* Can in (a legacy-encoded SSE/SSE2 instruction, any mode) run as a host
 * instruction on host XMM0 (reg) and XMM1 or [RDI] (r/m)?  A memory
 * operand only in 64-bit mode with 64-bit addressing. */
bool jit_sse_plan(const struct x86_insn *in, struct jit_sse *s);

#endif
