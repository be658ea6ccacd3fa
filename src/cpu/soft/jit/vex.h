/* Which VEX-encoded (AVX/AVX2) instructions the translator emits as
 * themselves (vex.c): the integer, bitwise and move forms glibc's AVX2
 * string functions use (VPCMPEQB, VPMOVMSKB, VPXOR, VPMINUB, VMOVDQU,
 * VPBROADCASTB, VZEROUPPER ...), 128 and 256 bits, 64-bit mode only.
 * Guest YMMi stays in struct soft_cpu (xmm[i] bits 127:0, ymmh[i] bits
 * 255:128); each instruction loads its sources into host YMM0-YMM2,
 * runs, and stores its destination back whole, so nothing is held in a
 * host vector register across instructions: a fault, an interrupt, a
 * handler or the guest's XSAVE always finds the guest's state in cpu.
 * Emitted only for instructions whose extension the vCPU offers (which
 * it does only when the host has it: host_isa.h), never with
 * RINGVM_JIT_NO_VEX=1 (the handler path, for comparisons and CI). */
#ifndef RINGVM_SOFT_JIT_VEX_H
#define RINGVM_SOFT_JIT_VEX_H

#include <stdbool.h>
#include <stdint.h>

#include "emit.h"

struct x86_insn;
struct soft_cpu;
struct jit_native;

enum jit_vex_kind {
	JIT_VEX_OP,        /* ModRM.reg a vector register (destination, or
			    * the source of a store), r/m a vector register
			    * or memory, VEX.vvvv a vector source if used */
	JIT_VEX_GPR_DST,   /* VPMOVMSKB r32, ymm: ModRM.reg a GPR written */
	JIT_VEX_GPR_RM_SRC, /* VMOVD/VMOVQ xmm, r: r/m a GPR read */
	JIT_VEX_GPR_RM_DST, /* VMOVD/VMOVQ r, xmm: r/m a GPR written */
	JIT_VEX_ZEROUPPER, /* VZEROUPPER: ymmh[0..15] = 0 */
	JIT_VEX_FLAGS,     /* VPTEST, VTESTPS/PD: ModRM.reg and r/m read,
			    * nothing written but the six flags (ZF CF set,
			    * OF SF AF PF cleared) */
};

struct jit_vex {
	uint8_t kind;      /* enum jit_vex_kind */
	bool store;        /* r/m is the destination (VMOVDQU m256, ymm ...) */
	bool vvvv;         /* VEX.vvvv names a source register */
	bool reads_reg;    /* ModRM.reg's register is read (a store's source) */
	bool aligned;      /* a memory operand must be msize-aligned (#GP(0)) */
	bool imm;          /* an imm8 follows the ModRM (in->imm) */
	bool fp;           /* floating point: needs the guest MXCSR in the
			    * host's, every exception masked (translate.c) */
	uint8_t msize;     /* bytes of a memory operand */
	uint8_t op, pp;    /* opcode and VEX.pp emitted: the aligned moves
			    * become the unaligned ones (the alignment is
			    * checked on the guest's linear address first;
			    * a host address need not share it) */
};

/* Can in (VEX-encoded, 64-bit mode) run as a host instruction, on a vCPU
 * that offers its extension (soft_avx_offered)?  A memory operand only
 * with 64-bit addressing.  Fills *v. */
bool jit_vex_plan(const struct soft_cpu *cpu, const struct x86_insn *in, struct jit_vex *v);

/* The guest instruction on host registers: ModRM.reg = host YMM0 (or, for
 * JIT_VEX_GPR_DST, the host GPR gpr), VEX.vvvv = YMM1, r/m = YMM2, [RDI]
 * (mem) or the host GPR gpr.  The bytes come from the decoded, whitelisted
 * instruction (map, VEX.pp, VEX.L, VEX.W, opcode, imm8) and those host
 * register numbers only. */
void jit_vex_emit_insn(struct jit_emit *e, const struct x86_insn *in, const struct jit_vex *v,
		       bool mem, unsigned gpr);

/* The whole instruction after its checks and probe: the guest's vector
 * sources loaded from [base + xmm + 16 * i] (bits 127:0) and [base + ymmh
 * + 16 * i] (255:128) into host YMM0-YMM2, jit_vex_emit_insn, the
 * destination stored back, and the host's VZEROUPPER after a 256-bit
 * one.  gpr: the host register caching the general register operand. */
void jit_vex_emit_body(struct jit_emit *e, const struct x86_insn *in, const struct jit_vex *v,
		       bool mem, unsigned gpr, unsigned base, int32_t xmm, int32_t ymmh);

/* Host YMMh = the guest register at [base + lo] (bits 127:0) and
 * [base + hi] (255:128; only when l256, else the host's upper half is
 * zeroed). */
void jit_vex_emit_load(struct jit_emit *e, unsigned h, unsigned base, int32_t lo, int32_t hi,
		       bool l256);
/* The guest register at [base + lo] / [base + hi] = host YMMh (all 256
 * bits: a VEX.128 result has its upper half zero already). */
void jit_vex_emit_store(struct jit_emit *e, unsigned h, unsigned base, int32_t lo, int32_t hi);
/* [base + hi + 16 * i] = 0 for i = 0..15 (VZEROUPPER on the guest's
 * upper halves, which are consecutive). */
void jit_vex_emit_zero_uppers(struct jit_emit *e, unsigned base, int32_t hi);
/* The host's VZEROUPPER: after host code touched upper halves, so that
 * later legacy SSE (host C code, translated SSE) pays no transition. */
void jit_vex_emit_host_vzeroupper(struct jit_emit *e);

/* TZCNT, LZCNT, POPCNT (F3 0F BC/BD/B8; 16/32/64-bit): the plan of a
 * native integer instruction (native.h) with the F3 prefix, when the host
 * has the instruction (without BMI1 the host would run F3 0F BC as BSF,
 * without LZCNT F3 0F BD as BSR: different results).  Register forms, and
 * memory forms (mem = true: 64-bit mode, 64-bit addressing, a load). */
bool jit_bmi_plan(uint32_t host_isa, const struct x86_insn *in, struct jit_native *n, bool mem);

/* The VEX-encoded general-register forms of BMI1/BMI2 (64-bit mode,
 * 32/64-bit by VEX.W; r/m a register or, with 64-bit addressing, memory
 * read through the TLB fast path): ANDN, BLSR/BLSMSK/BLSI, BEXTR, BZHI
 * (flags written: every arithmetic flag, the undefined ones the host's)
 * and SHLX/SARX/SHRX, RORX, PDEP, PEXT (no flags), when the host has the
 * extension.  Not MULX: its implicit RDX source is host RDX. */
struct jit_bmiv {
	bool mem;           /* r/m is memory: emitted as [RDI] (the host address) */
	bool writes_flags;  /* all six overwritten (else none touched) */
	bool dst_vvvv;      /* the destination is VEX.vvvv (BLSR ...), else ModRM.reg */
	bool src_vvvv;      /* VEX.vvvv is a source */
	bool imm;           /* an imm8 follows (RORX) */
};

bool jit_bmiv_plan(uint32_t host_isa, const struct x86_insn *in, struct jit_bmiv *p);
/* Emit it with guest register g in host register host[g] (cache_regs),
 * a memory r/m as [RDI]. */
void jit_bmiv_emit(struct jit_emit *e, const struct x86_insn *in, const struct jit_bmiv *p,
		   const int8_t host[16]);

#endif
