/* The one x86 decoder.  Bytes + mode in, struct x86_insn out; no CPU state.
 *
 * Order of work: legacy prefixes (+REX) -> opcode / escape / VEX / EVEX / XOP
 * -> table row (resolving mandatory-prefix, ModRM.reg, mod and rm sub-tables)
 * -> ModRM / SIB / displacement -> immediates.  Prefix rules (SDM vol. 2,
 * 2.1 and 2.2.1): any number of legacy prefixes in any order, the last
 * segment override wins, the last of F2/F3 is the REP / mandatory prefix,
 * F2/F3 take precedence over 66 as mandatory prefix, REX counts only when it
 * immediately precedes the opcode (else it is ignored), the whole instruction
 * is at most 15 bytes (longer: #GP(0)). */
#include <string.h>

#include "decode.h"


static bool opnd_needs_modrm(uint16_t o)
{
	switch (X86_OPND_KIND(o)) {
	case OK_E: case OK_G: case OK_M: case OK_R: case OK_S: case OK_C: case OK_D:
	case OK_V: case OK_W: case OK_U: case OK_P: case OK_Q: case OK_N:
		return true;
	default:
		return false;
	}
}

static bool row_needs_modrm(const struct x86_opdesc *r)
{
	if (r->type == ROW_GROUP || r->type == ROW_GROUP_MOD || r->type == ROW_RM ||
	    r->type == ROW_X87 || (r->flags & F_MODRM))
		return true;
	if (r->type != ROW_INSN)
		return false;
	for (int i = 0; i < 4; i++)
		if (opnd_needs_modrm(r->opnd[i]))
			return true;
	return false;
}

static unsigned opnd_bytes(unsigned size, unsigned opsize)
{
	switch (size) {
	case OS_b: return 1;
	case OS_w: return 2;
	case OS_d: case OS_ss: case OS_si: return 4;
	case OS_q: case OS_sd: case OS_pi: return 8;
	case OS_v: return opsize;
	case OS_z: return opsize == 2 ? 2 : 4;
	case OS_y: return opsize == 8 ? 8 : 4;
	case OS_p: return opsize == 2 ? 4 : opsize == 4 ? 6 : 10;
	case OS_dq: case OS_x: case OS_ps: case OS_pd: return 16;
	case OS_s: return 10;
	default: return opsize;
	}
}

static uint64_t rd_le(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static int64_t sext(uint64_t v, unsigned bytes)
{
	unsigned sh = 64 - 8 * bytes;
	return bytes >= 8 ? (int64_t)v : (int64_t)(v << sh) >> sh;
}

/* x87 register forms that are not defined (SDM vol. 2 A.5).  Memory forms
 * are all valid except D9 /1, DD /5 (reserved) ... which Zydis agrees on. */
static bool x87_valid(uint8_t op, uint8_t modrm)
{
	unsigned mod = modrm >> 6, reg = (modrm >> 3) & 7;
	if (mod != 3) {
		switch (op) {
		case 0xd9: return reg != 1;
		case 0xdb: return reg != 4 && reg != 6;
		case 0xdd: return reg != 5;
		default: return true;
		}
	}
	switch (op) {
	case 0xd9:
		if (reg == 2) return modrm == 0xd0;          /* fnop */
		if (reg == 4) return modrm == 0xe0 || modrm == 0xe1 || modrm == 0xe4 || modrm == 0xe5;
		if (reg == 5) return modrm != 0xef;
		return true;
	case 0xda:
		if (reg < 4) return true;
		return modrm == 0xe9;                        /* fucompp */
	case 0xdb:
		if (reg == 4) return modrm >= 0xe0 && modrm <= 0xe4; /* fneni fndisi fnclex fninit fnsetpm */
		if (reg == 7) return false;
		return true;
	case 0xdd:
		return reg < 6;
	case 0xde:
		if (reg == 3) return modrm == 0xd9;          /* fcompp */
		return true;
	case 0xdf:
		if (reg == 4) return modrm == 0xe0;          /* fnstsw ax */
		if (reg == 7) return false;
		return true;
	default:
		return true;
	}
}

/* Register operands that do not exist: segment registers 6/7 (and MOV to CS),
 * control registers other than CR0 CR2 CR3 CR4 CR8, debug registers 8-15. */
static bool special_reg_valid(const struct x86_opdesc *row, const struct x86_insn *in)
{
	for (int i = 0; i < 2; i++) {
		unsigned k = X86_OPND_KIND(row->opnd[i]);
		if (k == OK_S) {
			unsigned r = (in->modrm >> 3) & 7;
			if (r >= 6 || (i == 0 && r == SEG_CS))
				return false;
		} else if (k == OK_C) {
			unsigned r = in->reg;
			if (r != 0 && r != 2 && r != 3 && r != 4 && r != 8)
				return false;
		} else if (k == OK_D) {
			if (in->reg >= 8)
				return false;
		}
	}
	return true;
}

/* Effective segment of the memory operand: SS for rSP/rBP bases, else DS;
 * an override wins (in 64-bit mode only FS and GS count). */
static uint8_t insn_seg(const struct x86_insn *in)
{
	unsigned seg = SEG_DS;
	if (in->has_mem && (in->base == GPR_RSP || in->base == GPR_RBP))
		seg = SEG_SS;
	if (in->prefixes & X86_PFX_SEG) {
		if (in->mode != SOFT_MODE_64 || in->seg_override >= SEG_FS)
			seg = in->seg_override;
	}
	return (uint8_t)seg;
}

/* A VEX encoding with a row in x86_table_vex_* (the general-register BMI
 * instructions): resolve it and apply the VEX rules of SDM vol. 2, 2.5.1
 * and Table 2-29 that the bytes decide: VEX.L = 1 is #UD, VEX.vvvv must be
 * 1111b when the row has no vvvv operand, and the operand size is 64 with
 * VEX.W1 in 64-bit mode, else 32.  Outside 64-bit mode the high bit of
 * VEX.vvvv is ignored.  Encodings without a row keep the length-only
 * decode and execute as #UD (soft_exec_vex). */
static const struct x86_opdesc *vex_resolve(const struct x86_opdesc *row, const struct x86_insn *in)
{
	if (row->type == ROW_PREFIX)
		row = &row->sub[in->vex_pp & 3];
	if (row->type == ROW_GROUP)
		row = &row->sub[(in->modrm >> 3) & 7];
	if (row->type == ROW_VEXW)
		row = &row->sub[in->vex_w & 1];
	return row;
}

/* SIMD rows (x86_table_avx_*, F_SSE) follow the same vvvv rule; VEX.L is
 * theirs to check (VEX.256, VEX.128-only and LIG forms: the handler). */
static int decode_vex_row(struct x86_insn *in)
{
	static const uint8_t pp_prefix[4] = { 0, 0x66, 0xf3, 0xf2 };
	const struct x86_opdesc *row = NULL, *simd = NULL;
	if (in->map == X86_MAP_0F38 && in->vex_mmmmm == 2) {
		row = vex_resolve(&x86_table_vex_0f38[in->opcode], in);
		simd = &x86_table_avx_0f38[in->opcode];
	} else if (in->map == X86_MAP_0F3A && in->vex_mmmmm == 3) {
		row = vex_resolve(&x86_table_vex_0f3a[in->opcode], in);
		simd = &x86_table_avx_0f3a[in->opcode];
	} else if (in->map == X86_MAP_0F) {
		simd = &x86_table_avx_0f[in->opcode];
	} else {
		return X86_DEC_OK;
	}
	if (!row || row->type != ROW_INSN) {
		row = vex_resolve(simd, in);
		/* a SIMD opcode whose pp/W/ModRM.reg slot is empty: invalid */
		if (simd->type != ROW_INVALID && row->type == ROW_INVALID)
			return X86_DEC_UD;
	}
	if (row->type != ROW_INSN)
		return X86_DEC_OK;
	in->op = row;
	in->id = row->id;
	in->exec = row->exec;
	in->arg = row->arg;
	in->mandatory = pp_prefix[in->vex_pp & 3];
	if (in->mode != SOFT_MODE_64) {
		in->vex_vvvv &= 7;
		in->rex = 0; /* VEX.W does not widen GPR operands there */
	}
	in->opsize = (in->mode == SOFT_MODE_64 && in->vex_w) ? 8 : 4;
	in->size = (uint8_t)opnd_bytes(X86_OPND_SIZE(row->opnd[0]), in->opsize);
	in->seg = insn_seg(in);
	bool uses_vvvv = false;
	for (int i = 0; i < 4 && row->opnd[i]; i++) {
		unsigned k = X86_OPND_KIND(row->opnd[i]);
		if (k == OK_B || k == OK_H)
			uses_vvvv = true;
		if (k == OK_M && in->mod == 3)
			return X86_DEC_UD;
		if ((k == OK_R || k == OK_U) && in->mod != 3)
			return X86_DEC_UD;
	}
	bool simd_row = (row->flags & F_SSE) != 0;
	if ((in->vex_l && !simd_row) || (!uses_vvvv && in->vex_vvvv))
		return X86_DEC_UD;
	/* VMOVSS/VMOVSD from or to memory: VEX.vvvv unused (1111b); gathers:
	 * VSIB memory operands only (ModRM.rm = 100b) */
	switch (in->id) {
	case X86_I_VMOVSS: case X86_I_VMOVSD:
		if (in->mod != 3 && in->vex_vvvv)
			return X86_DEC_UD;
		break;
	case X86_I_VGATHERDPS: case X86_I_VGATHERDPD: case X86_I_VGATHERQPS: case X86_I_VGATHERQPD:
	case X86_I_VPGATHERDD: case X86_I_VPGATHERDQ: case X86_I_VPGATHERQD: case X86_I_VPGATHERQQ:
		if (in->mod == 3 || (in->modrm & 7) != 4)
			return X86_DEC_UD;
		break;
	default:
		break;
	}
	return X86_DEC_OK;
}

#define NEED(n) do { \
	if (p + (n) > X86_MAX_INSN_LEN) { in->len = X86_MAX_INSN_LEN; return X86_DEC_GP; } \
	if (p + (n) > avail) return X86_DEC_MORE; \
} while (0)

/* ModRM + SIB + displacement for the current address size. */
static int decode_modrm_mem(const uint8_t *buf, size_t avail, size_t *pp,
			    struct x86_insn *in, bool force_reg)
{
	size_t p = *pp;
	uint8_t m = in->modrm;
	unsigned rex_b = (in->rex & 1) << 3, rex_x = (in->rex & 2) << 2;
	in->mod = m >> 6;
	in->reg = ((m >> 3) & 7) | ((in->rex & 4) << 1);
	in->rm = (m & 7) | rex_b;
	if (force_reg)
		in->mod = 3;
	if (in->mod == 3) {
		*pp = p;
		return X86_DEC_OK;
	}
	in->has_mem = true;
	in->scale = 1;
	unsigned disp = 0;
	if (in->addrsize == 2) {
		static const int8_t b16[8] = { GPR_RBX, GPR_RBX, GPR_RBP, GPR_RBP, GPR_RSI, GPR_RDI, GPR_RBP, GPR_RBX };
		static const int8_t i16[8] = { GPR_RSI, GPR_RDI, GPR_RSI, GPR_RDI, -1, -1, -1, -1 };
		unsigned rm = m & 7;
		in->rm = rm;
		in->base = b16[rm];
		in->index = i16[rm];
		if (in->mod == 0 && rm == 6) {
			in->base = -1;
			disp = 2;
		} else if (in->mod == 1) {
			disp = 1;
		} else if (in->mod == 2) {
			disp = 2;
		}
	} else {
		unsigned rm = m & 7;
		if (rm == 4) {
			NEED(1);
			in->has_sib = true;
			in->sib = buf[p++];
			unsigned sb = in->sib & 7, si = ((in->sib >> 3) & 7) | rex_x;
			in->scale = (uint8_t)(1u << (in->sib >> 6));
			in->index = si == 4 ? -1 : (int8_t)si;
			if (sb == 5 && in->mod == 0) {
				in->base = -1;
				disp = 4;
			} else {
				in->base = (int8_t)(sb | rex_b);
			}
		} else if (rm == 5 && in->mod == 0) {
			disp = 4;
			in->base = -1;
			in->index = -1;
			if (in->mode == SOFT_MODE_64)
				in->rip_rel = true;
		} else {
			in->base = (int8_t)(rm | rex_b);
			in->index = -1;
		}
		if (in->mod == 1)
			disp = 1;
		else if (in->mod == 2)
			disp = 4;
	}
	if (disp) {
		NEED(disp);
		in->disp = sext(rd_le(buf + p, disp), disp);
		in->disp_size = (uint8_t)disp;
		p += disp;
	}
	*pp = p;
	return X86_DEC_OK;
}

/* VEX / EVEX / XOP: decoded for length; VEX rows of x86_table_vex_* are
 * resolved by decode_vex_row, everything else executes as #UD. */
static int decode_vex_like(const uint8_t *buf, size_t avail, size_t p,
			   struct x86_insn *in, uint8_t kind)
{
	unsigned map;
	uint8_t b0 = buf[p++];
	int st = X86_DEC_OK;
	if (in->prefixes & (X86_PFX_66 | X86_PFX_F2 | X86_PFX_F3 | X86_PFX_LOCK | X86_PFX_REX))
		st = X86_DEC_UD;
	if (kind == 0xc5) {
		NEED(1);
		uint8_t v1 = buf[p++];
		in->prefixes |= X86_PFX_VEX;
		in->rex = (uint8_t)((v1 & 0x80) ? 0 : 4);
		in->vex_vvvv = (uint8_t)((~v1 >> 3) & 15);
		in->vex_l = (v1 >> 2) & 1;
		in->vex_pp = v1 & 3;
		map = 1;
	} else if (kind == 0xc4 || kind == 0x8f) {
		NEED(2);
		uint8_t v1 = buf[p], v2 = buf[p + 1];
		p += 2;
		in->prefixes |= kind == 0xc4 ? X86_PFX_VEX : X86_PFX_XOP;
		in->rex = (uint8_t)(((~v1 >> 5) & 7) | ((v2 >> 4) & 8));
		if (in->mode != SOFT_MODE_64)
			in->rex &= 8;
		in->vex_mmmmm = v1 & 0x1f;
		in->vex_w = v2 >> 7;
		in->vex_vvvv = (uint8_t)((~v2 >> 3) & 15);
		in->vex_l = (v2 >> 2) & 1;
		in->vex_pp = v2 & 3;
		map = in->vex_mmmmm;
		if (kind == 0xc4 && (map < 1 || map > 3))
			st = X86_DEC_UD;
		if (kind == 0x8f && (map < 8 || map > 10))
			st = X86_DEC_UD;
	} else { /* EVEX */
		NEED(3);
		uint8_t p0 = buf[p], p1 = buf[p + 1];
		p += 3;
		in->prefixes |= X86_PFX_EVEX;
		in->rex = (uint8_t)(((~p0 >> 5) & 7) | ((p1 >> 4) & 8));
		map = p0 & 7;
		in->vex_mmmmm = (uint8_t)map;
		in->vex_w = p1 >> 7;
		in->vex_pp = p1 & 3;
		if ((p0 & 8) || !(p1 & 4) || map == 0 || map == 4 || map == 7)
			st = X86_DEC_UD;
	}
	(void)b0;
	NEED(1);
	uint8_t opc = buf[p++];
	in->opcode = opc;
	in->map = map <= 3 ? (uint8_t)map : X86_MAP_1BYTE;
	bool modrm = !(kind != 0x62 && map == 1 && opc == 0x77); /* vzeroupper/vzeroall */
	if (modrm) {
		NEED(1);
		in->has_modrm = true;
		in->modrm = buf[p++];
		int r = decode_modrm_mem(buf, avail, &p, in, false);
		if (r)
			return r;
	}
	unsigned imm = 0;
	if (kind == 0x8f)
		imm = map == 8 ? 1 : map == 10 ? 4 : 0;
	else if (map == 3)
		imm = 1;
	else if (map == 1 && ((opc >= 0x70 && opc <= 0x73) || opc == 0xc2 || (opc >= 0xc4 && opc <= 0xc6)))
		imm = 1;
	if (imm) {
		NEED(imm);
		in->imm = rd_le(buf + p, imm);
		in->imm_size = (uint8_t)imm;
		p += imm;
	}
	in->len = (uint8_t)p;
	in->exec = soft_exec_vex;
	in->op = &x86_row_vex;
	in->id = x86_row_vex.id;
	if (kind == 0xc4 || kind == 0xc5) {
		/* VEX 0F 84/85 would be Knights Corner mask branches: not x86-64 */
		if (map == 1 && (opc == 0x84 || opc == 0x85))
			st = X86_DEC_UD;
		if (st == X86_DEC_OK)
			st = decode_vex_row(in);
	}
	return st;
}

int x86_decode(const uint8_t *buf, size_t avail, enum soft_mode mode,
	       struct x86_insn *in)
{
	size_t p = 0;
	uint8_t last_seg = 0;
	bool has_66 = false;

	memset(in, 0, sizeof(*in));
	in->mode = (uint8_t)mode;
	in->base = in->index = -1;
	in->exec = soft_exec_ud;

	/* 1. legacy prefixes and REX */
	for (;;) {
		NEED(1);
		uint8_t b = buf[p];
		switch (b) {
		case 0x66: has_66 = true; in->prefixes |= X86_PFX_66; break;
		case 0x67: in->prefixes |= X86_PFX_67; break;
		case 0xf0: in->prefixes |= X86_PFX_LOCK; break;
		case 0xf2: in->prefixes |= X86_PFX_F2; in->rep = 0xf2; break;
		case 0xf3: in->prefixes |= X86_PFX_F3; in->rep = 0xf3; break;
		case 0x26: last_seg = SEG_ES + 1; break;
		case 0x2e: last_seg = SEG_CS + 1; break;
		case 0x36: last_seg = SEG_SS + 1; break;
		case 0x3e: last_seg = SEG_DS + 1; break;
		case 0x64: last_seg = SEG_FS + 1; break;
		case 0x65: last_seg = SEG_GS + 1; break;
		default:
			if (mode == SOFT_MODE_64 && (b & 0xf0) == 0x40) {
				in->rex = b & 15;
				in->prefixes |= X86_PFX_REX;
				p++;
				in->nprefixes++;
				continue;
			}
			goto prefixes_done;
		}
		/* a legacy prefix after REX: that REX is ignored */
		in->rex = 0;
		in->prefixes &= (uint16_t)~X86_PFX_REX;
		p++;
		in->nprefixes++;
	}
prefixes_done:
	if (last_seg) {
		in->prefixes |= X86_PFX_SEG;
		in->seg_override = last_seg - 1;
	}
	if (mode == SOFT_MODE_64)
		in->addrsize = (in->prefixes & X86_PFX_67) ? 4 : 8;
	else if (mode == SOFT_MODE_32)
		in->addrsize = (in->prefixes & X86_PFX_67) ? 2 : 4;
	else
		in->addrsize = (in->prefixes & X86_PFX_67) ? 4 : 2;

	/* 2. opcode, escapes, VEX/EVEX/XOP */
	NEED(1);
	uint8_t b = buf[p];
	if (b == 0xc4 || b == 0xc5 || b == 0x62 || b == 0x8f) {
		bool vex_like;
		if (b == 0x8f) {
			NEED(2);
			vex_like = (buf[p + 1] & 0x1f) >= 8;
		} else if (mode == SOFT_MODE_64) {
			vex_like = true;
		} else {
			NEED(2);
			vex_like = (buf[p + 1] & 0xc0) == 0xc0;
		}
		if (vex_like) {
			int r = decode_vex_like(buf, avail, p, in, b);
			if (b == 0x8f && r == X86_DEC_OK)
				r = X86_DEC_UD; /* XOP is AMD-only: not our CPU */
			return r;
		}
	}
	const struct x86_opdesc *row;
	p++;
	if (b == 0x0f) {
		NEED(1);
		uint8_t b2 = buf[p++];
		if (b2 == 0x38 || b2 == 0x3a) {
			NEED(1);
			in->map = b2 == 0x38 ? X86_MAP_0F38 : X86_MAP_0F3A;
			in->opcode = buf[p++];
			row = &(b2 == 0x38 ? x86_table_0f38 : x86_table_0f3a)[in->opcode];
		} else {
			in->map = X86_MAP_0F;
			in->opcode = b2;
			row = &x86_table_0f[b2];
		}
	} else {
		in->map = X86_MAP_1BYTE;
		in->opcode = b;
		row = &x86_table_1byte[b];
		if (b == 0x63 && mode == SOFT_MODE_64)
			row = &x86_row_movsxd;
	}

	/* 3. resolve sub-tables */
	uint8_t mand = in->rep ? in->rep : has_66 ? 0x66 : 0;
	bool have_modrm = false;
	for (;;) {
		if (row->type == ROW_PREFIX) {
			unsigned idx = mand == 0 ? 0 : mand == 0x66 ? 1 : mand == 0xf3 ? 2 : 3;
			row = &row->sub[idx];
			in->mandatory = mand;
			continue;
		}
		if (row_needs_modrm(row) && !have_modrm) {
			NEED(1);
			in->modrm = buf[p++];
			in->has_modrm = true;
			have_modrm = true;
		}
		if (row->type == ROW_GROUP) {
			row = &row->sub[(in->modrm >> 3) & 7];
		} else if (row->type == ROW_GROUP_MOD) {
			row = &row->sub[((in->modrm >> 6) == 3 ? 8 : 0) + ((in->modrm >> 3) & 7)];
		} else if (row->type == ROW_RM) {
			row = &row->sub[in->modrm & 7];
		} else {
			break;
		}
	}
	in->op = row;
	in->arg = row->arg;

	/* 4. operand size */
	bool osz = has_66 && !(in->mandatory == 0x66 && !(row->flags & F_66OSZ));
	if (mode == SOFT_MODE_64) {
		if (row->flags & F_F64)
			in->opsize = 8;
		else if (in->rex & 8)
			in->opsize = 8;
		else if (osz)
			in->opsize = 2;
		else
			in->opsize = (row->flags & F_D64) ? 8 : 4;
	} else if (mode == SOFT_MODE_32) {
		in->opsize = osz ? 2 : 4;
	} else {
		in->opsize = osz ? 4 : 2;
	}

	/* 5. ModRM / SIB / displacement */
	if (in->has_modrm) {
		bool force_reg = X86_OPND_KIND(row->opnd[0]) == OK_C || X86_OPND_KIND(row->opnd[0]) == OK_D ||
				 X86_OPND_KIND(row->opnd[1]) == OK_C || X86_OPND_KIND(row->opnd[1]) == OK_D;
		int r = decode_modrm_mem(buf, avail, &p, in, force_reg);
		if (r)
			return r;
	}

	/* 6. immediates and other operand bytes */
	for (int i = 0; i < 4 && row->opnd[i]; i++) {
		unsigned k = X86_OPND_KIND(row->opnd[i]), s = X86_OPND_SIZE(row->opnd[i]);
		unsigned n = 0;
		uint64_t v;
		switch (k) {
		case OK_I:
			n = s == OS_v ? in->opsize : opnd_bytes(s, in->opsize);
			NEED(n);
			v = rd_le(buf + p, n);
			if (s == OS_z || s == OS_v)
				v = (uint64_t)sext(v, n);
			break;
		case OK_IS:
			n = 1;
			NEED(1);
			v = (uint64_t)sext(buf[p], 1);
			break;
		case OK_J:
			n = s == OS_b ? 1 : (in->opsize == 2 ? 2 : 4);
			NEED(n);
			v = (uint64_t)sext(rd_le(buf + p, n), n);
			break;
		case OK_O:
			n = in->addrsize;
			NEED(n);
			in->has_mem = true;
			in->disp = (int64_t)rd_le(buf + p, n);
			in->disp_size = (uint8_t)n;
			p += n;
			continue;
		case OK_A:
			n = in->opsize == 2 ? 2 : 4;
			NEED(n + 2);
			in->imm = rd_le(buf + p, n);
			in->imm_size = (uint8_t)n;
			in->imm2 = rd_le(buf + p + n, 2);
			in->imm2_size = 2;
			p += n + 2;
			continue;
		default:
			continue;
		}
		if (!in->imm_size) {
			in->imm = v;
			in->imm_size = (uint8_t)n;
		} else {
			in->imm2 = v;
			in->imm2_size = (uint8_t)n;
		}
		p += n;
	}
	in->len = (uint8_t)p;

	in->seg = insn_seg(in);

	/* first operand's size */
	if (row->opnd[0])
		in->size = (uint8_t)opnd_bytes(X86_OPND_SIZE(row->opnd[0]), in->opsize);
	else
		in->size = in->opsize;

	/* 7. validity */
	if (row->type == ROW_INVALID || row->type == ROW_ESCAPE)
		return X86_DEC_UD;
	if ((row->flags & F_I64) && mode == SOFT_MODE_64)
		return X86_DEC_UD;
	if ((row->flags & F_O64) && mode != SOFT_MODE_64)
		return X86_DEC_UD;
	if (row->type == ROW_X87 && !x87_valid(in->opcode, in->modrm))
		return X86_DEC_UD;
	if (!special_reg_valid(row, in))
		return X86_DEC_UD;
	/* 0F 01 register forms (VMCALL, XSETBV, CLAC, SWAPGS ...) take no 66/F2/F3 */
	if (in->map == X86_MAP_0F && in->opcode == 0x01 && in->mod == 3 && (in->reg & 7) != 4 && (in->reg & 7) != 6 &&
	    in->modrm != 0xf9 /* RDTSCP */ &&
	    (in->prefixes & (X86_PFX_66 | X86_PFX_F2 | X86_PFX_F3)))
		return X86_DEC_UD;
	for (int i = 0; i < 4 && row->opnd[i]; i++) {
		unsigned k = X86_OPND_KIND(row->opnd[i]);
		if (k == OK_M && in->mod == 3)
			return X86_DEC_UD;
		if ((k == OK_R || k == OK_U || k == OK_N) && in->mod != 3)
			return X86_DEC_UD;
	}
	if (in->prefixes & X86_PFX_LOCK) {
		if (!(row->flags & F_LOCK) || !in->has_mem)
			return X86_DEC_UD;
		in->prefixes |= X86_PFX_ATOMIC;
	}
	if (in->map == X86_MAP_1BYTE && (in->opcode == 0x86 || in->opcode == 0x87) && in->has_mem)
		in->prefixes |= X86_PFX_ATOMIC;
	in->exec = row->exec;
	in->id = row->id;
	return X86_DEC_OK;
}
