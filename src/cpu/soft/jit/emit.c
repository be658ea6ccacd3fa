/* x86-64 emitter (see emit.h).  Encodings from the Intel SDM vol. 2:
 * 2.1.5 (ModRM/SIB tables), 2.2.1 (REX), and each instruction's opcode
 * table ("REX.W + 8B /r" ...). */
#include <string.h>

#include "emit.h"

void jit_emit_bytes(struct jit_emit *e, const uint8_t *b, size_t n)
{
	if (e->overflow || n > e->cap - e->pos) {
		e->overflow = true;
		return;
	}
	memcpy(e->buf + e->pos, b, n);
	e->pos += n;
}

void jit_emit_u8(struct jit_emit *e, uint8_t b)
{
	jit_emit_bytes(e, &b, 1);
}

void jit_emit_u32(struct jit_emit *e, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
	jit_emit_bytes(e, b, 4);
}

void jit_emit_u64(struct jit_emit *e, uint64_t v)
{
	jit_emit_u32(e, (uint32_t)v);
	jit_emit_u32(e, (uint32_t)(v >> 32));
}

void jit_emit_rex(struct jit_emit *e, bool w, unsigned reg, unsigned index, unsigned base, bool force)
{
	uint8_t rex = (uint8_t)(0x40 | (w ? 8 : 0) | ((reg & 8) ? 4 : 0) | ((index & 8) ? 2 : 0) |
				((base & 8) ? 1 : 0));
	if (rex != 0x40 || force)
		jit_emit_u8(e, rex);
}

static bool fits8(int64_t v)
{
	return v >= -128 && v <= 127;
}

void jit_emit_modrm_mem(struct jit_emit *e, unsigned reg, unsigned base, int32_t disp)
{
	unsigned mod = disp == 0 && (base & 7) != JR_RBP ? 0 : fits8(disp) ? 1 : 2;
	jit_emit_u8(e, (uint8_t)((mod << 6) | ((reg & 7) << 3) | (base & 7)));
	if ((base & 7) == JR_RSP)
		jit_emit_u8(e, 0x24); /* SIB: no index, base = RSP/R12 */
	if (mod == 1)
		jit_emit_u8(e, (uint8_t)disp);
	else if (mod == 2)
		jit_emit_u32(e, (uint32_t)disp);
}

/* ModRM and SIB of [base + (index << ss) + disp] (index not RSP), the
 * displacement as short as it goes (SDM Vol. 2A, 2.1.5) */
static void modrm_sib(struct jit_emit *e, unsigned reg, unsigned base, unsigned index, unsigned ss,
		      int32_t disp)
{
	unsigned mod = disp == 0 && (base & 7) != JR_RBP ? 0 : fits8(disp) ? 1 : 2;
	jit_emit_u8(e, (uint8_t)((mod << 6) | ((reg & 7) << 3) | 4));
	jit_emit_u8(e, (uint8_t)((ss << 6) | ((index & 7) << 3) | (base & 7)));
	if (mod == 1)
		jit_emit_u8(e, (uint8_t)disp);
	else if (mod == 2)
		jit_emit_u32(e, (uint32_t)disp);
}

static void modrm_reg(struct jit_emit *e, unsigned reg, unsigned rm)
{
	jit_emit_u8(e, (uint8_t)(0xc0 | ((reg & 7) << 3) | (rm & 7)));
}

/* op r64, [base+disp] / op [base+disp], r64 with REX.W */
static void op_rm64(struct jit_emit *e, uint8_t opcode, unsigned reg, unsigned base, int32_t disp)
{
	jit_emit_rex(e, true, reg, 0, base, false);
	jit_emit_u8(e, opcode);
	jit_emit_modrm_mem(e, reg, base, disp);
}

/* OPCODE r/m, reg with both operands registers (ModRM.mod = 11): the
 * reg field is reg, the r/m field rm; w selects the 64-bit operand size. */
static void op_rr(struct jit_emit *e, bool w, uint8_t opcode, unsigned reg, unsigned rm)
{
	jit_emit_rex(e, w, reg, 0, rm, false);
	jit_emit_u8(e, opcode);
	modrm_reg(e, reg, rm);
}

void jit_emit_mov_r64_m64(struct jit_emit *e, unsigned dst, unsigned base, int32_t disp)
{
	op_rm64(e, 0x8b, dst, base, disp);
}

void jit_emit_mov_r32_m32(struct jit_emit *e, unsigned dst, unsigned base, int32_t disp)
{
	jit_emit_rex(e, false, dst, 0, base, false);
	jit_emit_u8(e, 0x8b);
	jit_emit_modrm_mem(e, dst, base, disp);
}

void jit_emit_mov_m64_r64(struct jit_emit *e, unsigned base, int32_t disp, unsigned src)
{
	op_rm64(e, 0x89, src, base, disp);
}

void jit_emit_mov_r64_r64(struct jit_emit *e, unsigned dst, unsigned src)
{
	op_rr(e, true, 0x89, src, dst);
}

void jit_emit_mov_r64_imm(struct jit_emit *e, unsigned dst, uint64_t imm)
{
	if (imm <= 0xffffffffu) {
		/* B8+rd id: zero-extends into the full register */
		jit_emit_rex(e, false, 0, 0, dst, false);
		jit_emit_u8(e, (uint8_t)(0xb8 + (dst & 7)));
		jit_emit_u32(e, (uint32_t)imm);
	} else if ((int64_t)imm == (int32_t)imm) {
		/* REX.W C7 /0 id: sign-extended */
		jit_emit_rex(e, true, 0, 0, dst, false);
		jit_emit_u8(e, 0xc7);
		modrm_reg(e, 0, dst);
		jit_emit_u32(e, (uint32_t)imm);
	} else {
		/* REX.W B8+rd io */
		jit_emit_rex(e, true, 0, 0, dst, false);
		jit_emit_u8(e, (uint8_t)(0xb8 + (dst & 7)));
		jit_emit_u64(e, imm);
	}
}

void jit_emit_mov_m32_imm32(struct jit_emit *e, unsigned base, int32_t disp, uint32_t imm)
{
	jit_emit_rex(e, false, 0, 0, base, false);
	jit_emit_u8(e, 0xc7);
	jit_emit_modrm_mem(e, 0, base, disp);
	jit_emit_u32(e, imm);
}

void jit_emit_mov_m8_imm8(struct jit_emit *e, unsigned base, int32_t disp, uint8_t imm)
{
	jit_emit_rex(e, false, 0, 0, base, false);
	jit_emit_u8(e, 0xc6);
	jit_emit_modrm_mem(e, 0, base, disp);
	jit_emit_u8(e, imm);
}

void jit_emit_mov_m64_simm32(struct jit_emit *e, unsigned base, int32_t disp, int32_t imm)
{
	op_rm64(e, 0xc7, 0, base, disp);
	jit_emit_u32(e, (uint32_t)imm);
}

/* group 1 (80/81/83 /digit) on a qword or dword in memory */
static void grp1_m(struct jit_emit *e, bool w, unsigned digit, unsigned base, int32_t disp, int32_t imm)
{
	jit_emit_rex(e, w, 0, 0, base, false);
	jit_emit_u8(e, fits8(imm) ? 0x83 : 0x81);
	jit_emit_modrm_mem(e, digit, base, disp);
	if (fits8(imm))
		jit_emit_u8(e, (uint8_t)imm);
	else
		jit_emit_u32(e, (uint32_t)imm);
}

void jit_emit_add_m64_simm32(struct jit_emit *e, unsigned base, int32_t disp, int32_t imm)
{
	grp1_m(e, true, 0, base, disp, imm);
}

void jit_emit_sub_m64_simm32(struct jit_emit *e, unsigned base, int32_t disp, int32_t imm)
{
	grp1_m(e, true, 5, base, disp, imm);
}

void jit_emit_cmp_m64_simm32(struct jit_emit *e, unsigned base, int32_t disp, int32_t imm)
{
	grp1_m(e, true, 7, base, disp, imm);
}

void jit_emit_cmp_m32_simm32(struct jit_emit *e, unsigned base, int32_t disp, int32_t imm)
{
	grp1_m(e, false, 7, base, disp, imm);
}

void jit_emit_cmp_m8_imm8(struct jit_emit *e, unsigned base, int32_t disp, uint8_t imm)
{
	jit_emit_rex(e, false, 0, 0, base, false);
	jit_emit_u8(e, 0x80);
	jit_emit_modrm_mem(e, 7, base, disp);
	jit_emit_u8(e, imm);
}

void jit_emit_cmp_r64_m64(struct jit_emit *e, unsigned r, unsigned base, int32_t disp)
{
	op_rm64(e, 0x3b, r, base, disp);
}

/* op r64, [base+index+disp] with REX.W (SIB, scale 1; index not RSP) */
static void op_rmbi64(struct jit_emit *e, uint8_t opcode, unsigned reg, unsigned base, unsigned index,
		      unsigned scale_log2, int32_t disp)
{
	if ((index & 15) == JR_RSP) {
		e->overflow = true; /* no such index */
		return;
	}
	jit_emit_rex(e, true, reg, index, base, false);
	jit_emit_u8(e, opcode);
	modrm_sib(e, reg, base, index, scale_log2, disp);
}

void jit_emit_cmp_r64_mbi(struct jit_emit *e, unsigned r, unsigned base, unsigned index, int32_t disp)
{
	op_rmbi64(e, 0x3b, r, base, index, 0, disp);
}

void jit_emit_mov_r64_mbi(struct jit_emit *e, unsigned dst, unsigned base, unsigned index, int32_t disp)
{
	op_rmbi64(e, 0x8b, dst, base, index, 0, disp);
}

void jit_emit_cmp_r64_mbi8(struct jit_emit *e, unsigned r, unsigned base, unsigned index, int32_t disp)
{
	op_rmbi64(e, 0x3b, r, base, index, 3, disp);
}

void jit_emit_mov_r64_mbi8(struct jit_emit *e, unsigned dst, unsigned base, unsigned index, int32_t disp)
{
	op_rmbi64(e, 0x8b, dst, base, index, 3, disp);
}

void jit_emit_and_r64_simm32(struct jit_emit *e, unsigned r, int32_t imm)
{
	jit_emit_rex(e, true, 0, 0, r, false);
	jit_emit_u8(e, fits8(imm) ? 0x83 : 0x81);
	modrm_reg(e, 4, r);
	if (fits8(imm))
		jit_emit_u8(e, (uint8_t)imm);
	else
		jit_emit_u32(e, (uint32_t)imm);
}

void jit_emit_or_r64_r64(struct jit_emit *e, unsigned dst, unsigned src)
{
	op_rr(e, true, 0x09, src, dst);
}

void jit_emit_test_r32_r32(struct jit_emit *e, unsigned a, unsigned b)
{
	op_rr(e, false, 0x85, b, a);
}

void jit_emit_push_r64(struct jit_emit *e, unsigned r)
{
	jit_emit_rex(e, false, 0, 0, r, false);
	jit_emit_u8(e, (uint8_t)(0x50 + (r & 7)));
}

void jit_emit_pop_r64(struct jit_emit *e, unsigned r)
{
	jit_emit_rex(e, false, 0, 0, r, false);
	jit_emit_u8(e, (uint8_t)(0x58 + (r & 7)));
}

void jit_emit_pushfq(struct jit_emit *e)
{
	jit_emit_u8(e, 0x9c);
}

void jit_emit_popfq(struct jit_emit *e)
{
	jit_emit_u8(e, 0x9d);
}

void jit_emit_call_r64(struct jit_emit *e, unsigned r)
{
	jit_emit_rex(e, false, 0, 0, r, false);
	jit_emit_u8(e, 0xff);
	modrm_reg(e, 2, r);
}

void jit_emit_call_m64(struct jit_emit *e, unsigned base, int32_t disp)
{
	jit_emit_rex(e, false, 0, 0, base, false);
	jit_emit_u8(e, 0xff);
	jit_emit_modrm_mem(e, 2, base, disp);
}

size_t jit_emit_call_rel32(struct jit_emit *e)
{
	jit_emit_u8(e, 0xe8);
	jit_emit_u32(e, 0);
	return e->overflow ? SIZE_MAX : e->pos - 4;
}

void jit_emit_add_m64_r64(struct jit_emit *e, unsigned base, int32_t disp, unsigned src)
{
	op_rm64(e, 0x01, src, base, disp);
}

void jit_emit_sub_m64_r64(struct jit_emit *e, unsigned base, int32_t disp, unsigned src)
{
	op_rm64(e, 0x29, src, base, disp);
}

void jit_emit_jmp_m64(struct jit_emit *e, unsigned base, int32_t disp)
{
	jit_emit_rex(e, false, 0, 0, base, false);
	jit_emit_u8(e, 0xff);
	jit_emit_modrm_mem(e, 4, base, disp);
}

void jit_emit_ret(struct jit_emit *e)
{
	jit_emit_u8(e, 0xc3);
}

size_t jit_emit_jcc_rel32(struct jit_emit *e, unsigned cc)
{
	uint8_t b[2] = { 0x0f, (uint8_t)(0x80 | (cc & 15)) };
	jit_emit_bytes(e, b, 2);
	jit_emit_u32(e, 0);
	return e->overflow ? SIZE_MAX : e->pos - 4;
}

size_t jit_emit_jmp_rel32(struct jit_emit *e)
{
	jit_emit_u8(e, 0xe9);
	jit_emit_u32(e, 0);
	return e->overflow ? SIZE_MAX : e->pos - 4;
}

void jit_emit_patch_rel32(struct jit_emit *e, size_t field_pos, size_t target)
{
	jit_emit_patch_rel32_at(e, field_pos, (int64_t)target);
}

void jit_emit_patch_rel32_at(struct jit_emit *e, size_t field_pos, int64_t target)
{
	if (e->overflow || field_pos == SIZE_MAX || field_pos + 4 > e->pos)
		return;
	int64_t d = target - (int64_t)(field_pos + 4);
	if (d != (int32_t)d) {
		e->overflow = true;
		return;
	}
	int32_t rel = (int32_t)d;
	memcpy(e->buf + field_pos, &rel, 4);
}

void jit_emit_alu_r_imm(struct jit_emit *e, unsigned digit, bool w, unsigned r, int32_t imm)
{
	jit_emit_rex(e, w, 0, 0, r, false);
	jit_emit_u8(e, fits8(imm) ? 0x83 : 0x81);
	modrm_reg(e, digit, r);
	if (fits8(imm))
		jit_emit_u8(e, (uint8_t)imm);
	else
		jit_emit_u32(e, (uint32_t)imm);
}

void jit_emit_shift_r64_imm(struct jit_emit *e, unsigned digit, unsigned r, uint8_t imm)
{
	jit_emit_rex(e, true, 0, 0, r, false);
	jit_emit_u8(e, 0xc1);
	modrm_reg(e, digit, r);
	jit_emit_u8(e, imm);
}

void jit_emit_mov_r32_r32(struct jit_emit *e, unsigned dst, unsigned src)
{
	op_rr(e, false, 0x89, src, dst);
}

void jit_emit_imul_r32_r32_imm32(struct jit_emit *e, unsigned dst, unsigned src, int32_t imm)
{
	op_rr(e, false, 0x69, dst, src);
	jit_emit_u32(e, (uint32_t)imm);
}

void jit_emit_add_r64_m64(struct jit_emit *e, unsigned r, unsigned base, int32_t disp)
{
	op_rm64(e, 0x03, r, base, disp);
}

void jit_emit_add_r64_r64(struct jit_emit *e, unsigned dst, unsigned src)
{
	op_rr(e, true, 0x01, src, dst);
}

void jit_emit_xor_r64_r64(struct jit_emit *e, unsigned dst, unsigned src)
{
	op_rr(e, true, 0x31, src, dst);
}

void jit_emit_test_r64_r64(struct jit_emit *e, unsigned a, unsigned b)
{
	op_rr(e, true, 0x85, b, a);
}

void jit_emit_test_m8_imm8(struct jit_emit *e, unsigned base, int32_t disp, uint8_t imm)
{
	jit_emit_rex(e, false, 0, 0, base, false);
	jit_emit_u8(e, 0xf6);
	jit_emit_modrm_mem(e, 0, base, disp);
	jit_emit_u8(e, imm);
}

void jit_emit_lea(struct jit_emit *e, unsigned dst, int base, int index, unsigned scale, int32_t disp)
{
	unsigned ss = scale == 8 ? 3 : scale == 4 ? 2 : scale == 2 ? 1 : 0;
	if (index < 0 && base >= 0) {
		op_rm64(e, 0x8d, dst, (unsigned)base, disp);
		return;
	}
	if (index < 0 || index == JR_RSP) {
		e->overflow = true; /* not a form the translator asks for */
		return;
	}
	jit_emit_rex(e, true, dst, (unsigned)index, base >= 0 ? (unsigned)base : 0, false);
	jit_emit_u8(e, 0x8d);
	if (base < 0) {
		/* [index*scale + disp32]: mod 00, SIB base 101 */
		jit_emit_u8(e, (uint8_t)(((dst & 7) << 3) | 4));
		jit_emit_u8(e, (uint8_t)((ss << 6) | ((index & 7) << 3) | 5));
		jit_emit_u32(e, (uint32_t)disp);
		return;
	}
	modrm_sib(e, dst, (unsigned)base, (unsigned)index, ss, disp);
}

/* 0F op xmm, [base+disp] (or the store direction, by op): MOVUPS 10/11,
 * LDMXCSR/STMXCSR AE /2, /3 (reg = the digit) */
void jit_emit_0f_m(struct jit_emit *e, uint8_t op, unsigned reg, unsigned base, int32_t disp)
{
	jit_emit_rex(e, false, reg, 0, base, false);
	jit_emit_u8(e, 0x0f);
	jit_emit_u8(e, op);
	jit_emit_modrm_mem(e, reg, base, disp);
}

/* ---- the guest flags in a register (translate.c, flags convention) ---- */

void jit_emit_lahf(struct jit_emit *e)
{
	jit_emit_u8(e, 0x9f);
}

void jit_emit_sahf(struct jit_emit *e)
{
	jit_emit_u8(e, 0x9e);
}

void jit_emit_setcc_r8(struct jit_emit *e, unsigned cc, unsigned r)
{
	jit_emit_rex(e, false, 0, 0, r, r >= 4); /* SPL..DIL and R8B..R15B need a REX */
	jit_emit_u8(e, 0x0f);
	jit_emit_u8(e, (uint8_t)(0x90 | (cc & 15)));
	modrm_reg(e, 0, r);
}

void jit_emit_add_r8_imm8(struct jit_emit *e, unsigned r, uint8_t imm)
{
	jit_emit_rex(e, false, 0, 0, r, r >= 4);
	jit_emit_u8(e, 0x80);
	modrm_reg(e, 0, r);
	jit_emit_u8(e, imm);
}

void jit_emit_bt_r32_imm8(struct jit_emit *e, unsigned r, uint8_t bit)
{
	jit_emit_rex(e, false, 0, 0, r, false);
	jit_emit_u8(e, 0x0f);
	jit_emit_u8(e, 0xba);
	modrm_reg(e, 4, r);
	jit_emit_u8(e, bit);
}

void jit_emit_movzx_r32_m8(struct jit_emit *e, unsigned dst, unsigned base, int32_t disp)
{
	jit_emit_rex(e, false, dst, 0, base, false);
	jit_emit_u8(e, 0x0f);
	jit_emit_u8(e, 0xb6);
	jit_emit_modrm_mem(e, dst, base, disp);
}

void jit_emit_xchg_r64_rax(struct jit_emit *e, unsigned r)
{
	jit_emit_rex(e, true, 0, 0, r, false);
	jit_emit_u8(e, (uint8_t)(0x90 | (r & 7))); /* 90+r: never 90 itself (NOP) for r = RAX */
}

void jit_emit_mov_ah_al(struct jit_emit *e)
{
	jit_emit_u8(e, 0x88); /* mov r/m8, r8 without REX: r/m 4 is AH */
	jit_emit_u8(e, 0xc4);
}

void jit_emit_cmp_r64_r64(struct jit_emit *e, unsigned a, unsigned b)
{
	op_rr(e, true, 0x39, b, a); /* cmp a, b */
}

void jit_emit_div_r(struct jit_emit *e, bool w, unsigned r)
{
	jit_emit_rex(e, w, 0, 0, r, false);
	jit_emit_u8(e, 0xf7);
	modrm_reg(e, 6, r); /* F7 /6: div r32/r64 (RDX:RAX) */
}
