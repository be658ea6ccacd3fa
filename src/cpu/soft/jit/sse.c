/* The translator's SSE/SSE2 whitelist (see sse.h).  Rows by mandatory
 * prefix and 0F opcode (Intel SDM vol. 2): data moves, the bitwise and
 * packed-integer arithmetic that does not depend on MXCSR, and the
 * floating-point arithmetic that does (run only while the guest's MXCSR
 * has every exception masked, so that no SIMD exception can be raised,
 * with the guest's MXCSR loaded into the host's around the instruction:
 * rounding, DAZ and FTZ as the guest set them, the sticky flags carried
 * back; the translation checks the masks before each such instruction). */
#include "sse.h"

#include "../decode.h"

enum { P_NONE, P_66, P_F3, P_F2 };

static const uint8_t pfx_byte[] = { 0, 0x66, 0xf3, 0xf2 };

struct row {
	uint8_t pfx, op;
	uint8_t msize;
	bool store, reads_dst, aligned, fp;
	uint8_t emit_op;    /* 0: op itself */
	bool mem_only;
	uint8_t imm;        /* IMM_*: an imm8 follows the ModRM */
};

enum { IMM_NONE, IMM_ANY, IMM_PRED }; /* IMM_PRED: a CMPPS-style predicate
				       * 0-7 (the reserved bits set: handler) */

static const struct row rows[] = {
	/* moves */
	{ P_NONE, 0x10, 16, false, false, false, false, 0, false, IMM_NONE }, /* MOVUPS */
	{ P_NONE, 0x11, 16, true,  false, false, false, 0, false, IMM_NONE },
	{ P_66,   0x10, 16, false, false, false, false, 0, false, IMM_NONE }, /* MOVUPD */
	{ P_66,   0x11, 16, true,  false, false, false, 0, false, IMM_NONE },
	{ P_F3,   0x10, 4,  false, true,  false, false, 0, false, IMM_NONE }, /* MOVSS (reg form merges) */
	{ P_F3,   0x11, 4,  true,  true,  false, false, 0, false, IMM_NONE },
	{ P_F2,   0x10, 8,  false, true,  false, false, 0, false, IMM_NONE }, /* MOVSD */
	{ P_F2,   0x11, 8,  true,  true,  false, false, 0, false, IMM_NONE },
	{ P_NONE, 0x28, 16, false, false, true,  false, 0, false, IMM_NONE }, /* MOVAPS */
	{ P_NONE, 0x29, 16, true,  false, true,  false, 0, false, IMM_NONE },
	{ P_66,   0x28, 16, false, false, true,  false, 0, false, IMM_NONE }, /* MOVAPD */
	{ P_66,   0x29, 16, true,  false, true,  false, 0, false, IMM_NONE },
	{ P_66,   0x6f, 16, false, false, true,  false, 0, false, IMM_NONE }, /* MOVDQA */
	{ P_66,   0x7f, 16, true,  false, true,  false, 0, false, IMM_NONE },
	{ P_F3,   0x6f, 16, false, false, false, false, 0, false, IMM_NONE }, /* MOVDQU */
	{ P_F3,   0x7f, 16, true,  false, false, false, 0, false, IMM_NONE },
	{ P_F3,   0x7e, 8,  false, false, false, false, 0, false, IMM_NONE }, /* MOVQ xmm, xmm/m64 */
	{ P_66,   0xd6, 8,  true,  true,  false, false, 0, false, IMM_NONE }, /* MOVQ xmm/m64, xmm */
	/* non-temporal stores as the aligned moves (a hint: same result) */
	{ P_66,   0xe7, 16, true,  false, true,  false, 0x7f, true, IMM_NONE }, /* MOVNTDQ */
	{ P_NONE, 0x2b, 16, true,  false, true,  false, 0x29, true, IMM_NONE }, /* MOVNTPS */
	{ P_66,   0x2b, 16, true,  false, true,  false, 0x29, true, IMM_NONE }, /* MOVNTPD */
	/* bitwise */
	{ P_NONE, 0x54, 16, false, true, true, false, 0, false, IMM_NONE }, /* ANDPS */
	{ P_NONE, 0x55, 16, false, true, true, false, 0, false, IMM_NONE }, /* ANDNPS */
	{ P_NONE, 0x56, 16, false, true, true, false, 0, false, IMM_NONE }, /* ORPS */
	{ P_NONE, 0x57, 16, false, true, true, false, 0, false, IMM_NONE }, /* XORPS */
	{ P_66,   0x54, 16, false, true, true, false, 0, false, IMM_NONE }, /* ANDPD */
	{ P_66,   0x55, 16, false, true, true, false, 0, false, IMM_NONE },
	{ P_66,   0x56, 16, false, true, true, false, 0, false, IMM_NONE },
	{ P_66,   0x57, 16, false, true, true, false, 0, false, IMM_NONE },
	{ P_66,   0xdb, 16, false, true, true, false, 0, false, IMM_NONE }, /* PAND */
	{ P_66,   0xdf, 16, false, true, true, false, 0, false, IMM_NONE }, /* PANDN */
	{ P_66,   0xeb, 16, false, true, true, false, 0, false, IMM_NONE }, /* POR */
	{ P_66,   0xef, 16, false, true, true, false, 0, false, IMM_NONE }, /* PXOR */
	/* packed integer */
	{ P_66,   0xfc, 16, false, true, true, false, 0, false, IMM_NONE }, /* PADDB */
	{ P_66,   0xfd, 16, false, true, true, false, 0, false, IMM_NONE }, /* PADDW */
	{ P_66,   0xfe, 16, false, true, true, false, 0, false, IMM_NONE }, /* PADDD */
	{ P_66,   0xd4, 16, false, true, true, false, 0, false, IMM_NONE }, /* PADDQ */
	{ P_66,   0xf8, 16, false, true, true, false, 0, false, IMM_NONE }, /* PSUBB */
	{ P_66,   0xf9, 16, false, true, true, false, 0, false, IMM_NONE }, /* PSUBW */
	{ P_66,   0xfa, 16, false, true, true, false, 0, false, IMM_NONE }, /* PSUBD */
	{ P_66,   0xfb, 16, false, true, true, false, 0, false, IMM_NONE }, /* PSUBQ */
	{ P_66,   0x74, 16, false, true, true, false, 0, false, IMM_NONE }, /* PCMPEQB */
	{ P_66,   0x75, 16, false, true, true, false, 0, false, IMM_NONE }, /* PCMPEQW */
	{ P_66,   0x76, 16, false, true, true, false, 0, false, IMM_NONE }, /* PCMPEQD */
	{ P_66,   0x64, 16, false, true, true, false, 0, false, IMM_NONE }, /* PCMPGTB */
	{ P_66,   0x65, 16, false, true, true, false, 0, false, IMM_NONE }, /* PCMPGTW */
	{ P_66,   0x66, 16, false, true, true, false, 0, false, IMM_NONE }, /* PCMPGTD */
	{ P_66,   0x60, 16, false, true, true, false, 0, false, IMM_NONE }, /* PUNPCKLBW */
	{ P_66,   0x61, 16, false, true, true, false, 0, false, IMM_NONE }, /* PUNPCKLWD */
	{ P_66,   0x62, 16, false, true, true, false, 0, false, IMM_NONE }, /* PUNPCKLDQ */
	{ P_66,   0x6c, 16, false, true, true, false, 0, false, IMM_NONE }, /* PUNPCKLQDQ */
	{ P_66,   0x68, 16, false, true, true, false, 0, false, IMM_NONE }, /* PUNPCKHBW */
	{ P_66,   0x69, 16, false, true, true, false, 0, false, IMM_NONE }, /* PUNPCKHWD */
	{ P_66,   0x6a, 16, false, true, true, false, 0, false, IMM_NONE }, /* PUNPCKHDQ */
	{ P_66,   0x6d, 16, false, true, true, false, 0, false, IMM_NONE }, /* PUNPCKHQDQ */
	{ P_66,   0xd5, 16, false, true, true, false, 0, false, IMM_NONE }, /* PMULLW */
	{ P_66,   0xda, 16, false, true, true, false, 0, false, IMM_NONE }, /* PMINUB */
	{ P_66,   0xde, 16, false, true, true, false, 0, false, IMM_NONE }, /* PMAXUB */
	{ P_66,   0x63, 16, false, true, true, false, 0, false, IMM_NONE }, /* PACKSSWB */
	{ P_66,   0x67, 16, false, true, true, false, 0, false, IMM_NONE }, /* PACKUSWB */
	{ P_66,   0x6b, 16, false, true, true, false, 0, false, IMM_NONE }, /* PACKSSDW */
	{ P_66,   0xd1, 16, false, true, true, false, 0, false, IMM_NONE }, /* PSRLW xmm */
	{ P_66,   0xd2, 16, false, true, true, false, 0, false, IMM_NONE }, /* PSRLD */
	{ P_66,   0xd3, 16, false, true, true, false, 0, false, IMM_NONE }, /* PSRLQ */
	{ P_66,   0xe1, 16, false, true, true, false, 0, false, IMM_NONE }, /* PSRAW */
	{ P_66,   0xe2, 16, false, true, true, false, 0, false, IMM_NONE }, /* PSRAD */
	{ P_66,   0xf1, 16, false, true, true, false, 0, false, IMM_NONE }, /* PSLLW */
	{ P_66,   0xf2, 16, false, true, true, false, 0, false, IMM_NONE }, /* PSLLD */
	{ P_66,   0xf3, 16, false, true, true, false, 0, false, IMM_NONE }, /* PSLLQ */
	{ P_66,   0xd8, 16, false, true, true, false, 0, false, IMM_NONE }, /* PSUBUSB */
	{ P_66,   0xd9, 16, false, true, true, false, 0, false, IMM_NONE }, /* PSUBUSW */
	{ P_66,   0xdc, 16, false, true, true, false, 0, false, IMM_NONE }, /* PADDUSB */
	{ P_66,   0xdd, 16, false, true, true, false, 0, false, IMM_NONE }, /* PADDUSW */
	{ P_66,   0xe0, 16, false, true, true, false, 0, false, IMM_NONE }, /* PAVGB */
	{ P_66,   0xe3, 16, false, true, true, false, 0, false, IMM_NONE }, /* PAVGW */
	{ P_66,   0xe4, 16, false, true, true, false, 0, false, IMM_NONE }, /* PMULHUW */
	{ P_66,   0xe5, 16, false, true, true, false, 0, false, IMM_NONE }, /* PMULHW */
	{ P_66,   0xe8, 16, false, true, true, false, 0, false, IMM_NONE }, /* PSUBSB */
	{ P_66,   0xe9, 16, false, true, true, false, 0, false, IMM_NONE }, /* PSUBSW */
	{ P_66,   0xea, 16, false, true, true, false, 0, false, IMM_NONE }, /* PMINSW */
	{ P_66,   0xec, 16, false, true, true, false, 0, false, IMM_NONE }, /* PADDSB */
	{ P_66,   0xed, 16, false, true, true, false, 0, false, IMM_NONE }, /* PADDSW */
	{ P_66,   0xee, 16, false, true, true, false, 0, false, IMM_NONE }, /* PMAXSW */
	{ P_66,   0xf4, 16, false, true, true, false, 0, false, IMM_NONE }, /* PMULUDQ */
	{ P_66,   0xf5, 16, false, true, true, false, 0, false, IMM_NONE }, /* PMADDWD */
	{ P_66,   0xf6, 16, false, true, true, false, 0, false, IMM_NONE }, /* PSADBW */
	/* shuffles (no MXCSR: the lanes move, no arithmetic) */
	{ P_66,   0x70, 16, false, false, true, false, 0, false, IMM_ANY }, /* PSHUFD */
	{ P_F3,   0x70, 16, false, false, true, false, 0, false, IMM_ANY }, /* PSHUFHW */
	{ P_F2,   0x70, 16, false, false, true, false, 0, false, IMM_ANY }, /* PSHUFLW */
	{ P_NONE, 0xc6, 16, false, true,  true, false, 0, false, IMM_ANY }, /* SHUFPS */
	{ P_66,   0xc6, 16, false, true,  true, false, 0, false, IMM_ANY }, /* SHUFPD */
	{ P_NONE, 0x14, 16, false, true,  true, false, 0, false, IMM_NONE }, /* UNPCKLPS */
	{ P_NONE, 0x15, 16, false, true,  true, false, 0, false, IMM_NONE }, /* UNPCKHPS */
	{ P_66,   0x14, 16, false, true,  true, false, 0, false, IMM_NONE }, /* UNPCKLPD */
	{ P_66,   0x15, 16, false, true,  true, false, 0, false, IMM_NONE }, /* UNPCKHPD */
	/* MOVD/MOVQ between memory and XMM (the register forms: gpr rows) */
	{ P_66,   0x6e, 4,  false, false, false, false, 0, true, IMM_NONE }, /* MOVD xmm, m32 */
	{ P_66,   0x7e, 4,  true,  false, false, false, 0, true, IMM_NONE }, /* MOVD m32, xmm */
	{ P_F3,   0x2a, 4,  false, true,  false, true,  0, true, IMM_NONE }, /* CVTSI2SS xmm, m32/m64 */
	{ P_F2,   0x2a, 4,  false, true,  false, true,  0, true, IMM_NONE }, /* CVTSI2SD xmm, m32/m64 */
	/* compares and conversions: MXCSR-dependent (DAZ, rounding, flags) */
	{ P_NONE, 0xc2, 16, false, true,  true,  true, 0, false, IMM_PRED }, /* CMPPS */
	{ P_66,   0xc2, 16, false, true,  true,  true, 0, false, IMM_PRED }, /* CMPPD */
	{ P_F3,   0xc2, 4,  false, true,  false, true, 0, false, IMM_PRED }, /* CMPSS */
	{ P_F2,   0xc2, 8,  false, true,  false, true, 0, false, IMM_PRED }, /* CMPSD */
	{ P_NONE, 0x5a, 8,  false, false, false, true, 0, false, IMM_NONE }, /* CVTPS2PD */
	{ P_66,   0x5a, 16, false, false, true,  true, 0, false, IMM_NONE }, /* CVTPD2PS */
	{ P_F3,   0x5a, 4,  false, true,  false, true, 0, false, IMM_NONE }, /* CVTSS2SD */
	{ P_F2,   0x5a, 8,  false, true,  false, true, 0, false, IMM_NONE }, /* CVTSD2SS */
	{ P_NONE, 0x5b, 16, false, false, true,  true, 0, false, IMM_NONE }, /* CVTDQ2PS */
	{ P_66,   0x5b, 16, false, false, true,  true, 0, false, IMM_NONE }, /* CVTPS2DQ */
	{ P_F3,   0x5b, 16, false, false, true,  true, 0, false, IMM_NONE }, /* CVTTPS2DQ */
	{ P_66,   0xe6, 16, false, false, true,  true, 0, false, IMM_NONE }, /* CVTTPD2DQ */
	{ P_F3,   0xe6, 8,  false, false, false, true, 0, false, IMM_NONE }, /* CVTDQ2PD */
	{ P_F2,   0xe6, 16, false, false, true,  true, 0, false, IMM_NONE }, /* CVTPD2DQ */
};

/* Forms with a general register operand (64-bit mode, register forms;
 * REX.W selects the 64-bit MOVQ forms of 6E/7E): the GPR goes through the
 * translator's register cache. */
struct gpr_row {
	uint8_t pfx, op;
	uint8_t kind;
	bool w_ok, fp;
};

static const struct gpr_row gpr_rows[] = {
	{ P_66, 0xd7, JIT_SSE_GPR_DST_REG, false, false }, /* PMOVMSKB r32, xmm */
	{ P_66, 0x6e, JIT_SSE_GPR_SRC_RM, true, false },   /* MOVD/MOVQ xmm, r32/r64 */
	{ P_66, 0x7e, JIT_SSE_GPR_DST_RM, true, false },   /* MOVD/MOVQ r32/r64, xmm */
	/* conversions (MXCSR: rounding, flags; the integer indefinite value
	 * for a NaN or an overflow, IE masked) */
	{ P_F3, 0x2a, JIT_SSE_GPR_SRC_RM, true, true },    /* CVTSI2SS xmm, r32/r64 (merges) */
	{ P_F2, 0x2a, JIT_SSE_GPR_SRC_RM, true, true },    /* CVTSI2SD */
	{ P_F3, 0x2c, JIT_SSE_GPR_DST_REG, true, true },   /* CVTTSS2SI r32/r64, xmm */
	{ P_F2, 0x2c, JIT_SSE_GPR_DST_REG, true, true },   /* CVTTSD2SI */
	{ P_F3, 0x2d, JIT_SSE_GPR_DST_REG, true, true },   /* CVTSS2SI */
	{ P_F2, 0x2d, JIT_SSE_GPR_DST_REG, true, true },   /* CVTSD2SI */
};

/* REX.W selects the operand size of these (64-bit integer forms); on the
 * others it is not emitted (handler). */
static bool w_form(unsigned pfx, uint8_t op)
{
	return (pfx == P_66 && (op == 0x6e || op == 0x7e)) ||
	       ((pfx == P_F2 || pfx == P_F3) && op == 0x2a);
}

/* floating-point arithmetic: ADD MUL SUB MIN DIV MAX SQRT in PS PD SS SD */
static const uint8_t fp_ops[] = { 0x58, 0x59, 0x5c, 0x5d, 0x5e, 0x5f, 0x51 };

bool jit_sse_plan(const struct x86_insn *in, struct jit_sse *s)
{
	if (!in->op || in->map != X86_MAP_0F || !in->has_modrm ||
	    (in->prefixes & (X86_PFX_LOCK | X86_PFX_ATOMIC | X86_PFX_VEX | X86_PFX_EVEX | X86_PFX_XOP)))
		return false;
	unsigned np = !!(in->prefixes & X86_PFX_66) + !!(in->prefixes & X86_PFX_F3) +
		      !!(in->prefixes & X86_PFX_F2);
	if (np > 1)
		return false;
	unsigned pfx = (in->prefixes & X86_PFX_F3) ? P_F3 : (in->prefixes & X86_PFX_F2) ? P_F2 :
		       (in->prefixes & X86_PFX_66) ? P_66 : P_NONE;
	bool w = (in->rex & 8) != 0;
	if (in->mod == 3 && in->mode == SOFT_MODE_64) {
		for (unsigned i = 0; i < sizeof(gpr_rows) / sizeof(gpr_rows[0]); i++) {
			const struct gpr_row *g = &gpr_rows[i];
			if (g->pfx != pfx || g->op != in->opcode || (w && !g->w_ok))
				continue;
			*s = (struct jit_sse){ .pfx = pfx_byte[pfx], .op = g->op, .gpr = g->kind,
					       .w = w, .fp = g->fp };
			return true;
		}
	}
	if (w && !(in->mod != 3 && w_form(pfx, in->opcode)))
		return false;
	if (in->mod != 3 && (in->mode != SOFT_MODE_64 || in->addrsize != 8))
		return false;
	for (unsigned i = 0; i < sizeof(fp_ops); i++) {
		if (in->opcode != fp_ops[i])
			continue;
		static const uint8_t size[] = { 16, 16, 4, 8 };
		*s = (struct jit_sse){ .pfx = pfx_byte[pfx], .op = in->opcode, .reads_dst = true,
				       .aligned = pfx <= P_66, .fp = true, .msize = size[pfx] };
		return true;
	}
	for (unsigned i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		if (r->pfx != pfx || r->op != in->opcode)
			continue;
		if (r->mem_only && in->mod == 3)
			return false;
		if (r->imm == IMM_PRED && in->imm > 7)
			return false;
		*s = (struct jit_sse){ .pfx = pfx_byte[pfx], .op = r->emit_op ? r->emit_op : r->op,
				       .store = r->store, .aligned = r->aligned, .fp = r->fp,
				       .msize = r->msize, .imm = r->imm != IMM_NONE, .w = w };
		if (w) /* MOVQ xmm, m64 / MOVQ m64, xmm; CVTSI2SS/SD xmm, m64 */
			s->msize = 8;
		/* MOVSS/MOVSD between registers merge into the low lane; from
		 * memory they zero the rest (the destination is written whole) */
		s->reads_dst = r->reads_dst && (in->mod == 3 || r->store);
		return true;
	}
	return false;
}
