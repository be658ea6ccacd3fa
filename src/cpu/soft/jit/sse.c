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
};

static const struct row rows[] = {
	/* moves */
	{ P_NONE, 0x10, 16, false, false, false, false, 0, false }, /* MOVUPS */
	{ P_NONE, 0x11, 16, true,  false, false, false, 0, false },
	{ P_66,   0x10, 16, false, false, false, false, 0, false }, /* MOVUPD */
	{ P_66,   0x11, 16, true,  false, false, false, 0, false },
	{ P_F3,   0x10, 4,  false, true,  false, false, 0, false }, /* MOVSS (reg form merges) */
	{ P_F3,   0x11, 4,  true,  true,  false, false, 0, false },
	{ P_F2,   0x10, 8,  false, true,  false, false, 0, false }, /* MOVSD */
	{ P_F2,   0x11, 8,  true,  true,  false, false, 0, false },
	{ P_NONE, 0x28, 16, false, false, true,  false, 0, false }, /* MOVAPS */
	{ P_NONE, 0x29, 16, true,  false, true,  false, 0, false },
	{ P_66,   0x28, 16, false, false, true,  false, 0, false }, /* MOVAPD */
	{ P_66,   0x29, 16, true,  false, true,  false, 0, false },
	{ P_66,   0x6f, 16, false, false, true,  false, 0, false }, /* MOVDQA */
	{ P_66,   0x7f, 16, true,  false, true,  false, 0, false },
	{ P_F3,   0x6f, 16, false, false, false, false, 0, false }, /* MOVDQU */
	{ P_F3,   0x7f, 16, true,  false, false, false, 0, false },
	{ P_F3,   0x7e, 8,  false, false, false, false, 0, false }, /* MOVQ xmm, xmm/m64 */
	{ P_66,   0xd6, 8,  true,  true,  false, false, 0, false }, /* MOVQ xmm/m64, xmm */
	/* non-temporal stores as the aligned moves (a hint: same result) */
	{ P_66,   0xe7, 16, true,  false, true,  false, 0x7f, true }, /* MOVNTDQ */
	{ P_NONE, 0x2b, 16, true,  false, true,  false, 0x29, true }, /* MOVNTPS */
	{ P_66,   0x2b, 16, true,  false, true,  false, 0x29, true }, /* MOVNTPD */
	/* bitwise */
	{ P_NONE, 0x54, 16, false, true, true, false, 0, false }, /* ANDPS */
	{ P_NONE, 0x55, 16, false, true, true, false, 0, false }, /* ANDNPS */
	{ P_NONE, 0x56, 16, false, true, true, false, 0, false }, /* ORPS */
	{ P_NONE, 0x57, 16, false, true, true, false, 0, false }, /* XORPS */
	{ P_66,   0x54, 16, false, true, true, false, 0, false }, /* ANDPD */
	{ P_66,   0x55, 16, false, true, true, false, 0, false },
	{ P_66,   0x56, 16, false, true, true, false, 0, false },
	{ P_66,   0x57, 16, false, true, true, false, 0, false },
	{ P_66,   0xdb, 16, false, true, true, false, 0, false }, /* PAND */
	{ P_66,   0xdf, 16, false, true, true, false, 0, false }, /* PANDN */
	{ P_66,   0xeb, 16, false, true, true, false, 0, false }, /* POR */
	{ P_66,   0xef, 16, false, true, true, false, 0, false }, /* PXOR */
	/* packed integer */
	{ P_66,   0xfc, 16, false, true, true, false, 0, false }, /* PADDB */
	{ P_66,   0xfd, 16, false, true, true, false, 0, false }, /* PADDW */
	{ P_66,   0xfe, 16, false, true, true, false, 0, false }, /* PADDD */
	{ P_66,   0xd4, 16, false, true, true, false, 0, false }, /* PADDQ */
	{ P_66,   0xf8, 16, false, true, true, false, 0, false }, /* PSUBB */
	{ P_66,   0xf9, 16, false, true, true, false, 0, false }, /* PSUBW */
	{ P_66,   0xfa, 16, false, true, true, false, 0, false }, /* PSUBD */
	{ P_66,   0xfb, 16, false, true, true, false, 0, false }, /* PSUBQ */
	{ P_66,   0x74, 16, false, true, true, false, 0, false }, /* PCMPEQB */
	{ P_66,   0x75, 16, false, true, true, false, 0, false }, /* PCMPEQW */
	{ P_66,   0x76, 16, false, true, true, false, 0, false }, /* PCMPEQD */
	{ P_66,   0x64, 16, false, true, true, false, 0, false }, /* PCMPGTB */
	{ P_66,   0x65, 16, false, true, true, false, 0, false }, /* PCMPGTW */
	{ P_66,   0x66, 16, false, true, true, false, 0, false }, /* PCMPGTD */
	{ P_66,   0x60, 16, false, true, true, false, 0, false }, /* PUNPCKLBW */
	{ P_66,   0x61, 16, false, true, true, false, 0, false }, /* PUNPCKLWD */
	{ P_66,   0x62, 16, false, true, true, false, 0, false }, /* PUNPCKLDQ */
	{ P_66,   0x6c, 16, false, true, true, false, 0, false }, /* PUNPCKLQDQ */
	{ P_66,   0x68, 16, false, true, true, false, 0, false }, /* PUNPCKHBW */
	{ P_66,   0x69, 16, false, true, true, false, 0, false }, /* PUNPCKHWD */
	{ P_66,   0x6a, 16, false, true, true, false, 0, false }, /* PUNPCKHDQ */
	{ P_66,   0x6d, 16, false, true, true, false, 0, false }, /* PUNPCKHQDQ */
	{ P_66,   0xd5, 16, false, true, true, false, 0, false }, /* PMULLW */
	{ P_66,   0xda, 16, false, true, true, false, 0, false }, /* PMINUB */
	{ P_66,   0xde, 16, false, true, true, false, 0, false }, /* PMAXUB */
};

/* floating-point arithmetic: ADD MUL SUB MIN DIV MAX SQRT in PS PD SS SD */
static const uint8_t fp_ops[] = { 0x58, 0x59, 0x5c, 0x5d, 0x5e, 0x5f, 0x51 };

bool jit_sse_plan(const struct x86_insn *in, struct jit_sse *s)
{
	if (!in->op || in->map != X86_MAP_0F || !in->has_modrm ||
	    (in->prefixes & (X86_PFX_LOCK | X86_PFX_ATOMIC | X86_PFX_VEX | X86_PFX_EVEX | X86_PFX_XOP)) ||
	    (in->rex & 8))
		return false;
	unsigned np = !!(in->prefixes & X86_PFX_66) + !!(in->prefixes & X86_PFX_F3) +
		      !!(in->prefixes & X86_PFX_F2);
	if (np > 1)
		return false;
	unsigned pfx = (in->prefixes & X86_PFX_F3) ? P_F3 : (in->prefixes & X86_PFX_F2) ? P_F2 :
		       (in->prefixes & X86_PFX_66) ? P_66 : P_NONE;
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
		*s = (struct jit_sse){ .pfx = pfx_byte[pfx], .op = r->emit_op ? r->emit_op : r->op,
				       .store = r->store, .aligned = r->aligned, .fp = r->fp,
				       .msize = r->msize };
		/* MOVSS/MOVSD between registers merge into the low lane; from
		 * memory they zero the rest (the destination is written whole) */
		s->reads_dst = r->reads_dst && (in->mod == 3 || r->store);
		return true;
	}
	return false;
}
