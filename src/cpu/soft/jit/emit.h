/* The translator's x86-64 emitter: one small typed helper per host
 * instruction form, with the REX prefix and ModRM/SIB encoding done in one
 * place (emit.c).  Every byte the translator produces goes through these
 * helpers (or jit_emit_guest_op, which re-encodes a decoded and whitelisted
 * guest instruction onto host registers: translate.c).
 *
 * Encodings: Intel SDM vol. 2, 2.1 (ModRM/SIB), 2.2.1 (REX).  The buffer is
 * bounded: an emit that does not fit sets e->overflow (sticky) and nothing
 * is written past the end, so a translation that does not fit is detected
 * once at the end and thrown away. */
#ifndef RINGVM_SOFT_JIT_EMIT_H
#define RINGVM_SOFT_JIT_EMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Host general registers (encoding numbers). */
enum jit_reg {
	JR_RAX = 0, JR_RCX, JR_RDX, JR_RBX, JR_RSP, JR_RBP, JR_RSI, JR_RDI,
	JR_R8, JR_R9, JR_R10, JR_R11, JR_R12, JR_R13, JR_R14, JR_R15
};

/* Condition codes (the low nibble of Jcc/SETcc/CMOVcc). */
enum jit_cc {
	JCC_O = 0, JCC_NO, JCC_B, JCC_AE, JCC_E, JCC_NE, JCC_BE, JCC_A,
	JCC_S, JCC_NS, JCC_P, JCC_NP, JCC_L, JCC_GE, JCC_LE, JCC_G
};

struct jit_emit {
	uint8_t *buf;     /* start of the writable view */
	size_t pos, cap;
	bool overflow;
};

static inline void jit_emit_init(struct jit_emit *e, uint8_t *buf, size_t cap)
{
	e->buf = buf;
	e->pos = 0;
	e->cap = cap;
	e->overflow = false;
}

void jit_emit_bytes(struct jit_emit *e, const uint8_t *b, size_t n);
void jit_emit_u8(struct jit_emit *e, uint8_t b);
void jit_emit_u32(struct jit_emit *e, uint32_t v);
void jit_emit_u64(struct jit_emit *e, uint64_t v);

/* REX prefix (emitted only when needed or force is true). */
void jit_emit_rex(struct jit_emit *e, bool w, unsigned reg, unsigned index, unsigned base, bool force);
/* ModRM (+SIB, +displacement) for [base + disp]: RSP/R12 need a SIB,
 * RBP/R13 a displacement; disp8 when it fits. */
void jit_emit_modrm_mem(struct jit_emit *e, unsigned reg, unsigned base, int32_t disp);

/* Moves. */
void jit_emit_mov_r64_m64(struct jit_emit *e, unsigned dst, unsigned base, int32_t disp);
void jit_emit_mov_m64_r64(struct jit_emit *e, unsigned base, int32_t disp, unsigned src);
void jit_emit_mov_r32_m32(struct jit_emit *e, unsigned dst, unsigned base, int32_t disp); /* zero-extends */
void jit_emit_mov_r64_r64(struct jit_emit *e, unsigned dst, unsigned src);
/* dst = imm: the shortest of mov r32,imm32 / mov r64,simm32 / mov r64,imm64 */
void jit_emit_mov_r64_imm(struct jit_emit *e, unsigned dst, uint64_t imm);
void jit_emit_mov_m32_imm32(struct jit_emit *e, unsigned base, int32_t disp, uint32_t imm);
void jit_emit_mov_m8_imm8(struct jit_emit *e, unsigned base, int32_t disp, uint8_t imm);
/* qword [base+disp] = sign-extended imm32 */
void jit_emit_mov_m64_simm32(struct jit_emit *e, unsigned base, int32_t disp, int32_t imm);

/* Arithmetic on memory and registers. */
void jit_emit_add_m64_simm32(struct jit_emit *e, unsigned base, int32_t disp, int32_t imm);
void jit_emit_sub_m64_simm32(struct jit_emit *e, unsigned base, int32_t disp, int32_t imm);
void jit_emit_cmp_m64_simm32(struct jit_emit *e, unsigned base, int32_t disp, int32_t imm);
void jit_emit_cmp_m32_simm32(struct jit_emit *e, unsigned base, int32_t disp, int32_t imm);
void jit_emit_cmp_m8_imm8(struct jit_emit *e, unsigned base, int32_t disp, uint8_t imm);
void jit_emit_cmp_r64_m64(struct jit_emit *e, unsigned r, unsigned base, int32_t disp);
/* CMP r64, [base+index+disp] / MOV r64, [base+index+disp] (index not RSP) */
void jit_emit_cmp_r64_mbi(struct jit_emit *e, unsigned r, unsigned base, unsigned index, int32_t disp);
void jit_emit_mov_r64_mbi(struct jit_emit *e, unsigned dst, unsigned base, unsigned index, int32_t disp);
/* ... [base + index * 8 + disp] */
void jit_emit_cmp_r64_mbi8(struct jit_emit *e, unsigned r, unsigned base, unsigned index, int32_t disp);
void jit_emit_mov_r64_mbi8(struct jit_emit *e, unsigned dst, unsigned base, unsigned index, int32_t disp);
void jit_emit_and_r64_simm32(struct jit_emit *e, unsigned r, int32_t imm);
void jit_emit_or_r64_r64(struct jit_emit *e, unsigned dst, unsigned src);
void jit_emit_test_r32_r32(struct jit_emit *e, unsigned a, unsigned b);

/* For the TLB fast path: register arithmetic and addressing. */
/* group 1 (ADD OR ADC SBB AND SUB XOR CMP = digit 0..7) r, simm32 (64 or 32-bit) */
void jit_emit_alu_r_imm(struct jit_emit *e, unsigned digit, bool w, unsigned r, int32_t imm);
/* group 2 (SHL = 4, SHR = 5, SAR = 7) r64, imm8 */
void jit_emit_shift_r64_imm(struct jit_emit *e, unsigned digit, unsigned r, uint8_t imm);
void jit_emit_mov_r32_r32(struct jit_emit *e, unsigned dst, unsigned src); /* zero-extends */
void jit_emit_imul_r32_r32_imm32(struct jit_emit *e, unsigned dst, unsigned src, int32_t imm);
void jit_emit_add_r64_m64(struct jit_emit *e, unsigned r, unsigned base, int32_t disp);
void jit_emit_add_r64_r64(struct jit_emit *e, unsigned dst, unsigned src);
void jit_emit_xor_r64_r64(struct jit_emit *e, unsigned dst, unsigned src);
void jit_emit_test_r64_r64(struct jit_emit *e, unsigned a, unsigned b);
void jit_emit_cmp_r64_r64(struct jit_emit *e, unsigned a, unsigned b); /* cmp a, b */
/* div r (F7 /6) at 32 (w false) or 64 bits: EDX:EAX / RDX:RAX */
void jit_emit_div_r(struct jit_emit *e, bool w, unsigned r);
void jit_emit_test_m8_imm8(struct jit_emit *e, unsigned base, int32_t disp, uint8_t imm);
/* lea dst, [base + index*scale + disp]; base/index -1 for none (not both),
 * index never RSP */
void jit_emit_lea(struct jit_emit *e, unsigned dst, int base, int index, unsigned scale, int32_t disp);

/* SSE: 0F op with a memory operand [base+disp], no mandatory prefix
 * (MOVUPS load 10 / store 11 between xmm reg and memory; LDMXCSR AE /2
 * and STMXCSR AE /3 with the digit as reg). */
void jit_emit_0f_m(struct jit_emit *e, uint8_t op, unsigned reg, unsigned base, int32_t disp);

/* Stack, flags, control transfer. */
void jit_emit_push_r64(struct jit_emit *e, unsigned r);
void jit_emit_pop_r64(struct jit_emit *e, unsigned r);
void jit_emit_pushfq(struct jit_emit *e);
void jit_emit_popfq(struct jit_emit *e);
/* The guest flags in a register without PUSHFQ/POPFQ (translate.c):
 * LAHF/SAHF (AH = SF ZF AF PF CF), SETcc r8, ADD r8, imm8 (OF from AL),
 * BT r32, imm8 (CF from a bit), MOVZX r32, byte [base+disp], MOV AH, AL. */
void jit_emit_lahf(struct jit_emit *e);
void jit_emit_sahf(struct jit_emit *e);
void jit_emit_setcc_r8(struct jit_emit *e, unsigned cc, unsigned r);
void jit_emit_add_r8_imm8(struct jit_emit *e, unsigned r, uint8_t imm);
void jit_emit_bt_r32_imm8(struct jit_emit *e, unsigned r, uint8_t bit);
void jit_emit_movzx_r32_m8(struct jit_emit *e, unsigned dst, unsigned base, int32_t disp);
void jit_emit_mov_ah_al(struct jit_emit *e);
void jit_emit_xchg_r64_rax(struct jit_emit *e, unsigned r); /* xchg r, rax (r != RAX) */
void jit_emit_call_r64(struct jit_emit *e, unsigned r);
void jit_emit_jmp_m64(struct jit_emit *e, unsigned base, int32_t disp); /* jmp qword [base+disp] */
void jit_emit_call_m64(struct jit_emit *e, unsigned base, int32_t disp); /* call qword [base+disp] */
/* qword [base+disp] += / -= src */
void jit_emit_add_m64_r64(struct jit_emit *e, unsigned base, int32_t disp, unsigned src);
void jit_emit_sub_m64_r64(struct jit_emit *e, unsigned base, int32_t disp, unsigned src);
void jit_emit_ret(struct jit_emit *e);
/* jcc/jmp rel32 to a position in the same buffer: returns the position of
 * the rel32 field (for jit_emit_patch_rel32) or SIZE_MAX on overflow. */
size_t jit_emit_jcc_rel32(struct jit_emit *e, unsigned cc);
size_t jit_emit_jmp_rel32(struct jit_emit *e);
size_t jit_emit_call_rel32(struct jit_emit *e);
/* Point the rel32 field at field_pos to buffer position target. */
void jit_emit_patch_rel32(struct jit_emit *e, size_t field_pos, size_t target);
/* ... to target, a position relative to the buffer's start that may lie
 * before it (the translation cache's shared stubs: stubs.c); a distance
 * beyond rel32 sets overflow. */
void jit_emit_patch_rel32_at(struct jit_emit *e, size_t field_pos, int64_t target);

#endif
