/* The table-driven executor of VEX-encoded SIMD instructions of the form
 * "dst = op(src1, src2[, imm | reg])" (avx_exec.c, avx_ops.def).
 *
 * Every instruction is one line of avx_ops.def:
 *
 *   VX(name, "insn", pattern, lengths, mem128, mem256, feature, fp, imm, immmask)
 *
 *   name      handler soft_exec_<name> (the opcode-table row names it)
 *   "insn"    the host mnemonic (GNU as spelling)
 *   pattern   operands, see enum avx_pat: NDS, NDSX, RM, RMN, RMW, IS4, VD
 *   lengths   B (VEX.128 and VEX.256), L0 (128 only: L=1 is #UD),
 *             L1 (256 only), LIG (scalar: L ignored, runs as 128)
 *   mem128/256 bytes of the memory operand for L=0 / L=1
 *   feature   AVX, AVX2I (128 is AVX, 256 is AVX2: the integer forms),
 *             AVX2, FMA, F16C: the extension of each length (#UD unless
 *             offered, host_isa.h)
 *   fp        INT (no MXCSR), FP(pe) (MXCSR rounding/flags/#XM as SSE;
 *             pe = the sse_fp_pe.h kind for the precision flag with an
 *             unmasked overflow/underflow, PE_FMA(order, pd) for FMA3, 0
 *             if none)
 *   imm       NOIMM, or IMM8 / IMM16 / IMM32 / IMM256: how many host
 *             variants a run-time imm8 needs (masked by immmask first)
 *
 * The host runs "insn [$imm,] src2, src1, dst" on ymm1, ymm0, ymm2 (ymm3
 * = the is4 register), loaded from the guest's VEX.vvvv, r/m (or the
 * memory operand, read by the soft MMU) and ModRM.reg registers; ymm2 is
 * the result, stored to the guest's ModRM.reg (VD: to VEX.vvvv). */
#ifndef RINGVM_SOFT_AVX_HOST_H
#define RINGVM_SOFT_AVX_HOST_H

#include "avx_common.h"
#include "sse_host.h"

/* a = VEX.vvvv, b = r/m or memory, d = ModRM.reg (destination, and the
 * first source of FMA), m = the register in imm8[7:4] (IS4 forms) */
struct avx_regs {
	struct avx_ymm a, b, d, m;
};

typedef void (*avx_host_fn)(struct avx_regs *r, unsigned imm);

enum avx_pat {
	AP_NDS,  /* dst = op(vvvv, r/m)            e.g. VADDPS, VFMADD231PS */
	AP_NDSX, /* the same, r/m always 128 bits  VPSLLW ymm, ymm, xmm; VINSERTF128 */
	AP_RM,   /* dst = op(r/m), vvvv = 1111b    VSQRTPS, VPSHUFD, VROUNDPS */
	AP_RMN,  /* the same, 256: dst 128 bits    VCVTPD2PS xmm, ymm */
	AP_RMW,  /* the same, 256: r/m 128 bits    VCVTPS2PD ymm, xmm; VPMOVZXBW */
	AP_IS4,  /* dst = op(vvvv, r/m, reg imm8[7:4])  VBLENDVPS */
	AP_VD,   /* vvvv = op(r/m register, imm)   VPSRLW ymm, ymm, imm8 (0F 71-73) */
};

struct avx_op {
	avx_host_fn h[2];  /* by VEX.L; NULL: #UD */
	sse_host_fn pe_fn; /* d = op(d, s) on 128 bits, for sse_pe_fix */
	uint8_t msize[2];  /* memory operand bytes by VEX.L */
	uint8_t pat;       /* enum avx_pat */
	uint8_t immmask;
	uint16_t fp;       /* AVX_FP | pe kind, or 0 */
	uint32_t need[2];  /* host_isa.h extension by VEX.L */
};

#define AVX_FP 0x100u
/* pe kinds of the FMA3 rows (avx_exec.c avx_fma_pe): the operand order
 * (1 = 132, 2 = 213, 3 = 231) and the element size */
#define AVX_PE_FMA 0x80u
#define AVX_PE_FMA_PD 0x10u
#define PE_FMA(order, pd) (AVX_PE_FMA | (order) | ((pd) ? AVX_PE_FMA_PD : 0))
/* pe kind of VCVTPS2PH (avx_exec.c avx_cvtph_pe) */
#define AVX_PE_CVTPH 0x40u

int avx_run(struct soft_cpu *cpu, const struct x86_insn *in, const struct avx_op *op);

/* ---- host stubs ---- */
#define AVX_ASM_(text, ...)                                                  \
	__asm__ volatile("vmovdqu %[a], %%ymm0\n\t"                          \
			 "vmovdqu %[b], %%ymm1\n\t"                          \
			 "vmovdqu %[d], %%ymm2\n\t"                          \
			 "vmovdqu %[m], %%ymm3\n\t"                          \
			 text "\n\t"                                         \
			 "vmovdqu %%ymm2, %[d]\n\t"                          \
			 "vzeroupper"                                        \
			 : [d] "+m"(r->d)                                    \
			 : [a] "m"(r->a), [b] "m"(r->b), [m] "m"(r->m) __VA_ARGS__ \
			 : "xmm0", "xmm1", "xmm2", "xmm3")
#define AVX_CASE(text, n) case (n): AVX_ASM_(text, , [i] "i"(n)); break;

/* operand templates: pre is "" or "%[i], " (the immediate) */
#define AVX_T_NDS_X(i, pre) i " " pre "%%xmm1, %%xmm0, %%xmm2"
#define AVX_T_NDS_Y(i, pre) i " " pre "%%ymm1, %%ymm0, %%ymm2"
#define AVX_T_NDSX_X(i, pre) AVX_T_NDS_X(i, pre)
#define AVX_T_NDSX_Y(i, pre) i " " pre "%%xmm1, %%ymm0, %%ymm2"
#define AVX_T_RM_X(i, pre) i " " pre "%%xmm1, %%xmm2"
#define AVX_T_RM_Y(i, pre) i " " pre "%%ymm1, %%ymm2"
#define AVX_T_RMN_X(i, pre) AVX_T_RM_X(i, pre)
#define AVX_T_RMN_Y(i, pre) i " " pre "%%ymm1, %%xmm2"
#define AVX_T_RMW_X(i, pre) AVX_T_RM_X(i, pre)
#define AVX_T_RMW_Y(i, pre) i " " pre "%%xmm1, %%ymm2"
#define AVX_T_IS4_X(i, pre) i " %%xmm3, %%xmm1, %%xmm0, %%xmm2"
#define AVX_T_IS4_Y(i, pre) i " %%ymm3, %%ymm1, %%ymm0, %%ymm2"
#define AVX_T_VD_X(i, pre) AVX_T_RM_X(i, pre)
#define AVX_T_VD_Y(i, pre) AVX_T_RM_Y(i, pre)

#define AVX_GEN_NOIMM(fn, i, T)                                              \
	static void fn(struct avx_regs *r, unsigned imm)                     \
	{                                                                    \
		(void)imm;                                                   \
		AVX_ASM_(T(i, ""));                                          \
	}
#define AVX_GEN_SW(fn, i, T, REPN)                                           \
	static void fn(struct avx_regs *r, unsigned imm)                     \
	{                                                                    \
		switch (imm) {                                               \
		REPN(AVX_CASE, T(i, "%[i], "), 0)                            \
		default: break;                                              \
		}                                                            \
	}
#define AVX_GEN_IMM4(fn, i, T) AVX_GEN_SW(fn, i, T, SSE_REP4)
#define AVX_GEN_IMM8(fn, i, T) AVX_GEN_SW(fn, i, T, SSE_REP8)
#define AVX_GEN_IMM16(fn, i, T) AVX_GEN_SW(fn, i, T, SSE_REP16)
#define AVX_GEN_IMM32(fn, i, T) AVX_GEN_SW(fn, i, T, SSE_REP32)
#define AVX_GEN_IMM256(fn, i, T) AVX_GEN_SW(fn, i, T, SSE_REP256)

/* d = op(d, s) on 128 bits through the VEX.128 stub (for sse_pe_fix) */
#define AVX_GEN_PE(name)                                                     \
	static void avx_pe_##name(union soft_xmm *d, const union soft_xmm *s, unsigned imm) \
	{                                                                    \
		struct avx_regs r;                                           \
		memset(&r, 0, sizeof(r));                                    \
		r.a.lo = *d;                                                 \
		r.b.lo = *s;                                                 \
		r.d.lo = *d;                                                 \
		avx_h128_##name(&r, imm);                                    \
		*d = r.d.lo;                                                 \
	}

#define AVX_LENS_B(name, i, pat, imm)                                        \
	AVX_GEN_##imm(avx_h128_##name, i, AVX_T_##pat##_X)                   \
	AVX_GEN_##imm(avx_h256_##name, i, AVX_T_##pat##_Y)                   \
	AVX_GEN_PE(name)
#define AVX_LENS_L0(name, i, pat, imm)                                       \
	AVX_GEN_##imm(avx_h128_##name, i, AVX_T_##pat##_X)                   \
	AVX_GEN_PE(name)
#define AVX_LENS_LIG(name, i, pat, imm) AVX_LENS_L0(name, i, pat, imm)
#define AVX_LENS_L1(name, i, pat, imm)                                       \
	AVX_GEN_##imm(avx_h256_##name, i, AVX_T_##pat##_Y)
#define AVX_H_B(name) { avx_h128_##name, avx_h256_##name }, avx_pe_##name
#define AVX_H_L0(name) { avx_h128_##name, NULL }, avx_pe_##name
#define AVX_H_LIG(name) { avx_h128_##name, avx_h128_##name }, avx_pe_##name
#define AVX_H_L1(name) { NULL, avx_h256_##name }, NULL

#define AVX_NEED_AVX { SOFT_HOST_AVX, SOFT_HOST_AVX }
#define AVX_NEED_AVX2I { SOFT_HOST_AVX, SOFT_HOST_AVX2 }
#define AVX_NEED_AVX2 { SOFT_HOST_AVX2, SOFT_HOST_AVX2 }
#define AVX_NEED_FMA { SOFT_HOST_FMA, SOFT_HOST_FMA }
#define AVX_NEED_F16C { SOFT_HOST_F16C, SOFT_HOST_F16C }
#define INT 0
#define FP(pe) (AVX_FP | (pe))

#define VX(name, i, pat, lens, m128, m256, feat, fp, imm, immmask)          \
	AVX_LENS_##lens(name, i, pat, imm)                                   \
	static const struct avx_op avx_op_##name = {                        \
		AVX_H_##lens(name), { m128, m256 }, AP_##pat, immmask, fp,   \
		AVX_NEED_##feat };                                           \
	int soft_exec_##name(struct soft_cpu *cpu, const struct x86_insn *in) \
	{                                                                    \
		return avx_run(cpu, in, &avx_op_##name);                     \
	}

#endif
