/* The translator's VEX (AVX/AVX2) whitelist and its host encodings (see
 * vex.h), and the F3-prefixed bit counts TZCNT/LZCNT/POPCNT.
 *
 * Forms whose result depends on nothing but their operands: integer and
 * bitwise arithmetic, moves, shuffles, broadcasts, VPMOVMSKB, VZEROUPPER
 * (Intel SDM vol. 2, the instructions' pages; vol. 1, 14.1.3: a VEX.128
 * form zeroes bits 255:128 of its destination, which the host's own
 * VEX.128 form does on the host register stored back whole); and the
 * floating-point arithmetic, compares and vector conversions, which also
 * depend on MXCSR: run only while the guest's MXCSR masks every
 * exception, with it loaded into the host's (translate.c, as for SSE).
 * VPTEST and VTESTPS/PD leave their result in the host's flags.  No
 * gathers, nothing with a mask that could fault element by element:
 * those stay with the handlers (avx_*.c). */
#include "vex.h"

#include <stddef.h>

#include "native.h"
#include "../cpu.h"
#include "../cpuid.h"
#include "../decode.h"
#include "../host_isa.h"

enum { PP_NONE, PP_66, PP_F3, PP_F2 };

/* what the vCPU must offer: AVX, AVX2, or AVX for VEX.128 and AVX2 for
 * VEX.256 (the integer forms: SDM vol. 2, each instruction's CPUID column);
 * NEED_FP: AVX, and the row is floating point (runs under the guest's
 * MXCSR) */
enum { NEED_AVX, NEED_AVX2, NEED_INT, NEED_FP };

enum { L_ANY, L_128 }; /* the VEX.L values the row runs natively */

struct vrow {
	uint8_t map, pp, op;
	uint8_t kind;      /* enum jit_vex_kind */
	uint8_t need;
	uint8_t l;
	bool store, vvvv, aligned, imm;
	uint8_t msize;     /* 0: 16 << VEX.L; MSIZE_HALF: 8 << VEX.L */
	bool mem_ok;       /* a memory operand (else register forms only) */
};

#define MSIZE_HALF 0xff

#define M1 X86_MAP_0F
#define M2 X86_MAP_0F38
/* Vx, Hx, Wx integer arithmetic: AVX at 128 bits, AVX2 at 256 */
#define INT3(o) { M1, PP_66, o, JIT_VEX_OP, NEED_INT, L_ANY, false, true, false, false, 0, true }
#define INT3_38(o) { M2, PP_66, o, JIT_VEX_OP, NEED_INT, L_ANY, false, true, false, false, 0, true }
/* Vx, Hx, Wx bitwise on PS/PD: AVX at both lengths */
#define LOGIC(pp, o) { M1, pp, o, JIT_VEX_OP, NEED_AVX, L_ANY, false, true, false, false, 0, true }
/* Vx, Hx, Wx floating point: packed (both lengths), scalar (VEX.128) */
#define FPP(o) { M1, PP_NONE, o, JIT_VEX_OP, NEED_FP, L_ANY, false, true, false, false, 0, true }, \
	       { M1, PP_66, o, JIT_VEX_OP, NEED_FP, L_ANY, false, true, false, false, 0, true }
#define FPS(o) { M1, PP_F3, o, JIT_VEX_OP, NEED_FP, L_128, false, true, false, false, 4, true }, \
	       { M1, PP_F2, o, JIT_VEX_OP, NEED_FP, L_128, false, true, false, false, 8, true }
/* Vx, Wx conversions (no VEX.vvvv) */
#define FPC(pp, o, ms) { M1, pp, o, JIT_VEX_OP, NEED_FP, L_ANY, false, false, false, false, ms, true }
/* Vx, Wx moves (load) and Wx, Vx (store) */
#define MOV(pp, o, st, al) { M1, pp, o, JIT_VEX_OP, NEED_AVX, L_ANY, st, false, al, false, 0, true }

static const struct vrow vrows[] = {
	/* moves */
	MOV(PP_NONE, 0x10, false, false), /* VMOVUPS */
	MOV(PP_NONE, 0x11, true, false),
	MOV(PP_66, 0x10, false, false),   /* VMOVUPD */
	MOV(PP_66, 0x11, true, false),
	MOV(PP_NONE, 0x28, false, true),  /* VMOVAPS */
	MOV(PP_NONE, 0x29, true, true),
	MOV(PP_66, 0x28, false, true),    /* VMOVAPD */
	MOV(PP_66, 0x29, true, true),
	MOV(PP_66, 0x6f, false, true),    /* VMOVDQA */
	MOV(PP_66, 0x7f, true, true),
	MOV(PP_F3, 0x6f, false, false),   /* VMOVDQU */
	MOV(PP_F3, 0x7f, true, false),
	/* VMOVNTDQ m, x: a hint; runs as itself (memory only, aligned) */
	{ M1, PP_66, 0xe7, JIT_VEX_OP, NEED_AVX, L_ANY, true, false, true, false, 0, true },
	/* bitwise */
	LOGIC(PP_NONE, 0x54), LOGIC(PP_NONE, 0x55), LOGIC(PP_NONE, 0x56), LOGIC(PP_NONE, 0x57),
	LOGIC(PP_66, 0x54), LOGIC(PP_66, 0x55), LOGIC(PP_66, 0x56), LOGIC(PP_66, 0x57),
	INT3(0xdb), INT3(0xdf), INT3(0xeb), INT3(0xef),   /* VPAND VPANDN VPOR VPXOR */
	/* compares */
	INT3(0x74), INT3(0x75), INT3(0x76),               /* VPCMPEQB/W/D */
	INT3(0x64), INT3(0x65), INT3(0x66),               /* VPCMPGTB/W/D */
	INT3_38(0x29), INT3_38(0x37),                     /* VPCMPEQQ VPCMPGTQ */
	/* add, subtract, min, max, average, saturating */
	INT3(0xfc), INT3(0xfd), INT3(0xfe), INT3(0xd4),   /* VPADDB/W/D/Q */
	INT3(0xf8), INT3(0xf9), INT3(0xfa), INT3(0xfb),   /* VPSUBB/W/D/Q */
	INT3(0xda), INT3(0xde), INT3(0xea), INT3(0xee),   /* VPMINUB VPMAXUB VPMINSW VPMAXSW */
	INT3_38(0x38), INT3_38(0x39), INT3_38(0x3a), INT3_38(0x3b), /* VPMINSB/SD VPMINUW/UD */
	INT3_38(0x3c), INT3_38(0x3d), INT3_38(0x3e), INT3_38(0x3f), /* VPMAXSB/SD VPMAXUW/UD */
	INT3(0xd8), INT3(0xd9), INT3(0xdc), INT3(0xdd),   /* VPSUBUS VPADDUS B/W */
	INT3(0xe8), INT3(0xe9), INT3(0xec), INT3(0xed),   /* VPSUBS VPADDS B/W */
	INT3(0xe0), INT3(0xe3),                           /* VPAVGB/W */
	/* unpacks and packs, PSHUFB */
	INT3(0x60), INT3(0x61), INT3(0x62), INT3(0x6c),   /* VPUNPCKL BW WD DQ QDQ */
	INT3(0x68), INT3(0x69), INT3(0x6a), INT3(0x6d),   /* VPUNPCKH */
	INT3(0x63), INT3(0x67), INT3(0x6b), INT3_38(0x2b), /* VPACKSSWB VPACKUSWB VPACKSSDW VPACKUSDW */
	INT3_38(0x00),                                    /* VPSHUFB */
	/* VPSHUFD Vx, Wx, Ib */
	{ M1, PP_66, 0x70, JIT_VEX_OP, NEED_INT, L_ANY, false, false, false, true, 0, true },
	/* VPBROADCASTB/W/D/Q Vx, xmm/m8..m64 (AVX2, VEX.W0) */
	{ M2, PP_66, 0x78, JIT_VEX_OP, NEED_AVX2, L_ANY, false, false, false, false, 1, true },
	{ M2, PP_66, 0x79, JIT_VEX_OP, NEED_AVX2, L_ANY, false, false, false, false, 2, true },
	{ M2, PP_66, 0x58, JIT_VEX_OP, NEED_AVX2, L_ANY, false, false, false, false, 4, true },
	{ M2, PP_66, 0x59, JIT_VEX_OP, NEED_AVX2, L_ANY, false, false, false, false, 8, true },
	/* VPMOVMSKB r32, x (register only) */
	{ M1, PP_66, 0xd7, JIT_VEX_GPR_DST, NEED_INT, L_ANY, false, false, false, false, 0, false },
	/* VMOVD/VMOVQ xmm, r/m32/64 and r/m32/64, xmm (VEX.128) */
	{ M1, PP_66, 0x6e, JIT_VEX_GPR_RM_SRC, NEED_AVX, L_128, false, false, false, false, 4, true },
	{ M1, PP_66, 0x7e, JIT_VEX_GPR_RM_DST, NEED_AVX, L_128, true, false, false, false, 4, true },
	/* VZEROUPPER (VEX.L1 is VZEROALL: the handler) */
	{ M1, PP_NONE, 0x77, JIT_VEX_ZEROUPPER, NEED_AVX, L_128, false, false, false, false, 0, false },
	/* shuffles and unpacks of PS/PD (no MXCSR: lanes move) */
	{ M1, PP_NONE, 0xc6, JIT_VEX_OP, NEED_AVX, L_ANY, false, true, false, true, 0, true }, /* VSHUFPS */
	{ M1, PP_66, 0xc6, JIT_VEX_OP, NEED_AVX, L_ANY, false, true, false, true, 0, true },   /* VSHUFPD */
	LOGIC(PP_NONE, 0x14), LOGIC(PP_NONE, 0x15), LOGIC(PP_66, 0x14), LOGIC(PP_66, 0x15), /* VUNPCKL/H PS/PD */
	/* floating point (SDM vol. 2, each page; vol. 1, 14.1.3): packed at
	 * both lengths, the scalar forms VEX.128 only (LIG: VEX.L1 goes to
	 * the handler), which merge bits 127:32 (127:64) from VEX.vvvv */
	FPP(0x58), FPP(0x59), FPP(0x5c), FPP(0x5d), FPP(0x5e), FPP(0x5f),   /* VADD VMUL VSUB VMIN VDIV VMAX PS/PD */
	FPS(0x58), FPS(0x59), FPS(0x5c), FPS(0x5d), FPS(0x5e), FPS(0x5f),   /* ... SS/SD */
	{ M1, PP_NONE, 0x51, JIT_VEX_OP, NEED_FP, L_ANY, false, false, false, false, 0, true }, /* VSQRTPS */
	{ M1, PP_66, 0x51, JIT_VEX_OP, NEED_FP, L_ANY, false, false, false, false, 0, true },   /* VSQRTPD */
	FPS(0x51),                                                          /* VSQRTSS/SD x, Hx, Wx */
	/* VCMPPS/PD/SS/SD: predicates 0-31 (imm8 bits 7:5 set: the handler) */
	{ M1, PP_NONE, 0xc2, JIT_VEX_OP, NEED_FP, L_ANY, false, true, false, true, 0, true },
	{ M1, PP_66, 0xc2, JIT_VEX_OP, NEED_FP, L_ANY, false, true, false, true, 0, true },
	{ M1, PP_F3, 0xc2, JIT_VEX_OP, NEED_FP, L_128, false, true, false, true, 4, true },
	{ M1, PP_F2, 0xc2, JIT_VEX_OP, NEED_FP, L_128, false, true, false, true, 8, true },
	/* conversions between the vector formats */
	FPC(PP_NONE, 0x5b, 0),           /* VCVTDQ2PS */
	FPC(PP_66, 0x5b, 0),             /* VCVTPS2DQ */
	FPC(PP_F3, 0x5b, 0),             /* VCVTTPS2DQ */
	FPC(PP_66, 0xe6, 0),             /* VCVTTPD2DQ (VEX.256: an xmm result) */
	FPC(PP_F2, 0xe6, 0),             /* VCVTPD2DQ */
	FPC(PP_F3, 0xe6, MSIZE_HALF),    /* VCVTDQ2PD (m64 / m128) */
	FPC(PP_66, 0x5a, 0),             /* VCVTPD2PS */
	FPC(PP_NONE, 0x5a, MSIZE_HALF),  /* VCVTPS2PD */
	{ M1, PP_F3, 0x5a, JIT_VEX_OP, NEED_FP, L_128, false, true, false, false, 4, true }, /* VCVTSS2SD */
	{ M1, PP_F2, 0x5a, JIT_VEX_OP, NEED_FP, L_128, false, true, false, false, 8, true }, /* VCVTSD2SS */
	/* VPTEST, VTESTPS, VTESTPD Vx, Wx: the flags (SDM vol. 2: "ZF and CF
	 * ... AF, OF, PF, SF are cleared"); VTESTPS/PD are VEX.W0 rows */
	{ M2, PP_66, 0x17, JIT_VEX_FLAGS, NEED_AVX, L_ANY, false, false, false, false, 0, true },
	{ M2, PP_66, 0x0e, JIT_VEX_FLAGS, NEED_AVX, L_ANY, false, false, false, false, 0, true },
	{ M2, PP_66, 0x0f, JIT_VEX_FLAGS, NEED_AVX, L_ANY, false, false, false, false, 0, true },
};

bool jit_vex_plan(const struct soft_cpu *cpu, const struct x86_insn *in, struct jit_vex *v)
{
	if (!in->op || !(in->prefixes & X86_PFX_VEX) || in->mode != SOFT_MODE_64 ||
	    (in->prefixes & (X86_PFX_LOCK | X86_PFX_EVEX | X86_PFX_XOP)))
		return false;
	if (in->has_modrm && in->mod != 3 && in->addrsize != 8)
		return false;
	for (size_t i = 0; i < sizeof(vrows) / sizeof(vrows[0]); i++) {
		const struct vrow *r = &vrows[i];
		if (r->map != in->map || r->pp != in->vex_pp || r->op != in->opcode)
			continue;
		if (r->l == L_128 && in->vex_l)
			return false;
		if (r->kind != JIT_VEX_ZEROUPPER && !in->has_modrm)
			return false;
		bool mem = in->has_modrm && in->mod != 3;
		if (mem && !r->mem_ok)
			return false;
		/* VMOVNTDQ has no register form (the decoder's #UD) */
		if (r->op == 0xe7 && !mem)
			return false;
		/* the broadcasts are VEX.W0 rows (W1: #UD, decoded as no row) */
		if (r->map == M2 && r->msize && in->vex_w)
			return false;
		if (r->kind == JIT_VEX_FLAGS && r->op != 0x17 && in->vex_w)
			return false;
		/* VCMPxx: imm8[7:5] reserved */
		if (r->op == 0xc2 && in->imm > 31)
			return false;
		uint32_t need = r->need == NEED_AVX || r->need == NEED_FP ? SOFT_HOST_AVX :
				r->need == NEED_AVX2 ? SOFT_HOST_AVX2 :
				in->vex_l ? SOFT_HOST_AVX2 : SOFT_HOST_AVX;
		if (!soft_avx_offered(cpu, need))
			return false;
		uint8_t msize = r->msize == MSIZE_HALF ? (uint8_t)(8u << in->vex_l) :
				r->msize ? r->msize : (uint8_t)(16u << in->vex_l);
		*v = (struct jit_vex){ .kind = r->kind, .store = r->store, .vvvv = r->vvvv,
				       .aligned = r->aligned, .imm = r->imm, .fp = r->need == NEED_FP,
				       .msize = msize };
		v->reads_reg = r->store && r->kind == JIT_VEX_OP;
		v->op = in->opcode;
		v->pp = in->vex_pp;
		if (r->aligned) {
			/* VMOVAPS/PD 28/29 -> VMOVUPS/PD 10/11; VMOVDQA
			 * 66 6F/7F and VMOVNTDQ 66 E7 -> VMOVDQU F3 6F/7F */
			if (r->op == 0x28 || r->op == 0x29)
				v->op = (uint8_t)(r->op - 0x18);
			else {
				v->op = r->store ? 0x7f : 0x6f;
				v->pp = PP_F3;
			}
		}
		if ((r->kind == JIT_VEX_GPR_RM_SRC || r->kind == JIT_VEX_GPR_RM_DST) && in->vex_w)
			v->msize = 8; /* VMOVQ */
		return true;
	}
	return false;
}

/* The three-byte VEX prefix (SDM vol. 2, 2.3.5): R X B inverted, the map,
 * then W, vvvv inverted, L, pp. */
static void vex3(struct jit_emit *e, unsigned reg, unsigned base, unsigned map, bool w,
		 unsigned vvvv, bool l, unsigned pp)
{
	jit_emit_u8(e, 0xc4);
	jit_emit_u8(e, (uint8_t)((reg & 8 ? 0 : 0x80) | 0x40 | (base & 8 ? 0 : 0x20) | (map & 0x1f)));
	jit_emit_u8(e, (uint8_t)((w ? 0x80 : 0) | ((~vvvv & 15u) << 3) | (l ? 4 : 0) | (pp & 3)));
}

void jit_vex_emit_insn(struct jit_emit *e, const struct x86_insn *in, const struct jit_vex *v,
		       bool mem, unsigned gpr)
{
	unsigned reg = v->kind == JIT_VEX_GPR_DST ? gpr : 0;
	unsigned rm = mem ? JR_RDI :
		      (v->kind == JIT_VEX_GPR_RM_SRC || v->kind == JIT_VEX_GPR_RM_DST) ? gpr : 2;
	/* VEX.vvvv = host YMM1 when used, else 0 (encoded 1111b) */
	vex3(e, reg, rm, in->map, in->vex_w != 0, v->vvvv ? 1 : 0, in->vex_l != 0, v->pp);
	jit_emit_u8(e, v->op);
	if (mem)
		jit_emit_u8(e, (uint8_t)(((reg & 7) << 3) | JR_RDI)); /* [rdi] */
	else
		jit_emit_u8(e, (uint8_t)(0xc0 | ((reg & 7) << 3) | (rm & 7)));
	if (v->imm)
		jit_emit_u8(e, (uint8_t)in->imm);
}

/* VMOVDQU xmm, [base + disp] (VEX.128.F3.0F 6F) or the store (7F); the
 * upper half of the host register: zeroed by the load */
static void movdqu(struct jit_emit *e, bool store, unsigned h, unsigned base, int32_t disp)
{
	vex3(e, h, base, 1, false, 0, false, PP_F3);
	jit_emit_u8(e, store ? 0x7f : 0x6f);
	jit_emit_modrm_mem(e, h & 7, base & 7, disp);
}

void jit_vex_emit_load(struct jit_emit *e, unsigned h, unsigned base, int32_t lo, int32_t hi,
		       bool l256)
{
	movdqu(e, false, h, base, lo);
	if (!l256)
		return;
	/* VINSERTF128 ymmh, ymmh, [base + hi], 1 (VEX.256.66.0F3A.W0 18 /r ib:
	 * AVX, so any host that offers the guest VEX at all) */
	vex3(e, h, base, 3, false, h, true, PP_66);
	jit_emit_u8(e, 0x18);
	jit_emit_modrm_mem(e, h & 7, base & 7, hi);
	jit_emit_u8(e, 1);
}

void jit_vex_emit_store(struct jit_emit *e, unsigned h, unsigned base, int32_t lo, int32_t hi)
{
	movdqu(e, true, h, base, lo);
	/* VEXTRACTF128 [base + hi], ymmh, 1 (VEX.256.66.0F3A.W0 19 /r ib) */
	vex3(e, h, base, 3, false, 0, true, PP_66);
	jit_emit_u8(e, 0x19);
	jit_emit_modrm_mem(e, h & 7, base & 7, hi);
	jit_emit_u8(e, 1);
}

void jit_vex_emit_zero_uppers(struct jit_emit *e, unsigned base, int32_t hi)
{
	/* VPXOR xmm0, xmm0, xmm0 (VEX.128.66.0F EF): all of ymm0 zero */
	vex3(e, 0, 0, 1, false, 0, false, PP_66);
	jit_emit_u8(e, 0xef);
	jit_emit_u8(e, 0xc0);
	/* VMOVDQU [base + hi + 32 * k], ymm0 (VEX.256.F3.0F 7F), k = 0..7 */
	for (int32_t k = 0; k < 8; k++) {
		vex3(e, 0, base, 1, false, 0, true, PP_F3);
		jit_emit_u8(e, 0x7f);
		jit_emit_modrm_mem(e, 0, base & 7, hi + 32 * k);
	}
}

void jit_vex_emit_host_vzeroupper(struct jit_emit *e)
{
	static const uint8_t b[] = { 0xc5, 0xf8, 0x77 };
	jit_emit_bytes(e, b, sizeof(b));
}

void jit_vex_emit_body(struct jit_emit *e, const struct x86_insn *in, const struct jit_vex *v,
		       bool mem, unsigned gpr, unsigned base, int32_t xmm, int32_t ymmh)
{
	bool l = in->vex_l != 0;
#define VLOAD(h, r, wide) jit_vex_emit_load(e, h, base, xmm + 16 * (int32_t)(r), \
					   ymmh + 16 * (int32_t)(r), wide)
#define VSTORE(h, r) jit_vex_emit_store(e, h, base, xmm + 16 * (int32_t)(r), \
					ymmh + 16 * (int32_t)(r))
	switch (v->kind) {
	case JIT_VEX_ZEROUPPER:
		jit_vex_emit_zero_uppers(e, base, ymmh);
		break;
	case JIT_VEX_GPR_DST: /* VPMOVMSKB r32, x */
		VLOAD(2, in->rm, l);
		jit_vex_emit_insn(e, in, v, false, gpr);
		break;
	case JIT_VEX_GPR_RM_SRC: /* VMOVD/Q xmm, r/m */
		jit_vex_emit_insn(e, in, v, mem, gpr);
		VSTORE(0, in->reg);
		break;
	case JIT_VEX_GPR_RM_DST: /* VMOVD/Q r/m, xmm */
		VLOAD(0, in->reg, false);
		jit_vex_emit_insn(e, in, v, mem, gpr);
		break;
	case JIT_VEX_FLAGS: /* VPTEST/VTESTPx x, x/m: only the host's flags */
		VLOAD(0, in->reg, l);
		if (!mem)
			VLOAD(2, in->rm, l);
		jit_vex_emit_insn(e, in, v, mem, 0);
		break;
	default:
		if (v->reads_reg)
			VLOAD(0, in->reg, l);
		if (v->vvvv)
			VLOAD(1, in->vex_vvvv, l);
		if (!mem && !v->store)
			VLOAD(2, in->rm, l);
		jit_vex_emit_insn(e, in, v, mem, 0);
		if (!v->store)
			VSTORE(0, in->reg);
		else if (!mem)
			VSTORE(2, in->rm);
		break;
	}
#undef VLOAD
#undef VSTORE
	if (l || v->kind == JIT_VEX_ZEROUPPER)
		jit_vex_emit_host_vzeroupper(e);
}

bool jit_bmi_plan(uint32_t host_isa, const struct x86_insn *in, struct jit_native *n, bool mem)
{
	if (!in->op || in->map != X86_MAP_0F || !in->has_modrm || (in->mod != 3) != mem ||
	    (in->prefixes & (X86_PFX_LOCK | X86_PFX_ATOMIC | X86_PFX_F2 | X86_PFX_VEX | X86_PFX_EVEX |
			     X86_PFX_XOP)) ||
	    !(in->prefixes & X86_PFX_F3) || in->mandatory != 0xf3)
		return false;
	if (in->opsize != 2 && in->opsize != 4 && in->opsize != 8)
		return false;
	if (mem && (in->mode != SOFT_MODE_64 || in->addrsize != 8))
		return false;
	uint32_t need = in->opcode == 0xbc ? SOFT_HOST_BMI1 : in->opcode == 0xbd ? SOFT_HOST_LZCNT :
			in->opcode == 0xb8 ? SOFT_HOST_POPCNT : 0;
	if (!need || !(host_isa & need))
		return false;
	/* G,E: every arithmetic flag written (TZCNT/LZCNT: CF ZF, the others
	 * undefined and the host's; POPCNT: all defined) */
	*n = (struct jit_native){ .flags = JF_WRITE, .writeback = true, .modrm = true, .mem = mem,
				  .msize = mem ? in->opsize : 0, .pfx = 0xf3,
				  .reg = { (int8_t)in->reg, false }, .rm = { -1, false },
				  .z = { -1, false } };
	if (!mem)
		n->rm.g = (int8_t)in->rm;
	return true;
}

bool jit_bmiv_plan(uint32_t host_isa, const struct x86_insn *in, struct jit_bmiv *p)
{
	if (!in->op || !(in->prefixes & X86_PFX_VEX) || in->mode != SOFT_MODE_64 ||
	    !in->has_modrm || in->vex_l ||
	    (in->prefixes & (X86_PFX_LOCK | X86_PFX_ATOMIC | X86_PFX_EVEX | X86_PFX_XOP)))
		return false;
	/* a memory operand (r/m, a load of opsize bytes): 64-bit addressing */
	if (in->mod != 3 && in->addrsize != 8)
		return false;
	unsigned digit = (in->modrm >> 3) & 7;
	uint32_t need = 0;
	*p = (struct jit_bmiv){ .src_vvvv = true, .mem = in->mod != 3 };
	if (in->map == X86_MAP_0F38 && in->vex_pp == PP_NONE && in->opcode == 0xf2) {
		need = SOFT_HOST_BMI1;                 /* ANDN Gy, By, Ey */
		p->writes_flags = true;
	} else if (in->map == X86_MAP_0F38 && in->vex_pp == PP_NONE && in->opcode == 0xf3 &&
		   digit >= 1 && digit <= 3) {
		need = SOFT_HOST_BMI1;                 /* BLSR BLSMSK BLSI By, Ey */
		p->writes_flags = p->dst_vvvv = true;
		p->src_vvvv = false;
	} else if (in->map == X86_MAP_0F38 && in->vex_pp == PP_NONE && in->opcode == 0xf7) {
		need = SOFT_HOST_BMI1;                 /* BEXTR Gy, Ey, By */
		p->writes_flags = true;
	} else if (in->map == X86_MAP_0F38 && in->vex_pp == PP_NONE && in->opcode == 0xf5) {
		need = SOFT_HOST_BMI2;                 /* BZHI Gy, Ey, By */
		p->writes_flags = true;
	} else if (in->map == X86_MAP_0F38 && (in->vex_pp == PP_F2 || in->vex_pp == PP_F3) &&
		   in->opcode == 0xf5) {
		need = SOFT_HOST_BMI2;                 /* PDEP (F2) PEXT (F3) Gy, By, Ey */
	} else if (in->map == X86_MAP_0F38 && in->vex_pp != PP_NONE && in->opcode == 0xf7) {
		need = SOFT_HOST_BMI2;                 /* SHLX SARX SHRX Gy, Ey, By */
	} else if (in->map == X86_MAP_0F3A && in->vex_pp == PP_F2 && in->opcode == 0xf0) {
		need = SOFT_HOST_BMI2;                 /* RORX Gy, Ey, Ib */
		p->src_vvvv = false;
		p->imm = true;
	}
	return need && (host_isa & need);
}

void jit_bmiv_emit(struct jit_emit *e, const struct x86_insn *in, const struct jit_bmiv *p,
		   const int8_t host[16])
{
	/* ModRM.reg: the destination Gy, or BLSR's digit; r/m: Ey; vvvv: By */
	unsigned reg = p->dst_vvvv ? ((in->modrm >> 3) & 7u) : (unsigned)host[in->reg];
	unsigned rm = p->mem ? JR_RDI : (unsigned)host[in->rm];
	unsigned vvvv = p->dst_vvvv || p->src_vvvv ? (unsigned)host[in->vex_vvvv] : 0;
	vex3(e, p->dst_vvvv ? 0 : reg, rm, in->map, in->vex_w != 0, vvvv, false, in->vex_pp);
	jit_emit_u8(e, in->opcode);
	if (p->mem) /* [rdi]: mod 00, r/m 111 (no SIB, no displacement) */
		jit_emit_u8(e, (uint8_t)(((reg & 7) << 3) | JR_RDI));
	else
		jit_emit_u8(e, (uint8_t)(0xc0 | ((reg & 7) << 3) | (rm & 7)));
	if (p->imm)
		jit_emit_u8(e, (uint8_t)in->imm);
}
