/* Shared helpers for the VEX-encoded SIMD handlers (AVX, AVX2, FMA, F16C:
 * avx_exec.c, avx_mov.c).
 *
 * State: YMMi = cpu->xmm[i] (bits 127:0) and cpu->ymmh[i] (bits 255:128).
 * Legacy SSE handlers only ever touch cpu->xmm, so they leave the upper
 * halves unchanged; every VEX.128 form that writes an XMM register zeroes
 * bits 255:128 of it (SDM vol. 1, 14.1.3 "VEX.128 ... zeroes upper bits").
 *
 * Technique: as for SSE (sse_common.h), the arithmetic runs on the host's
 * own units: the guest's registers are copied to host ymm0-ymm3, the
 * operand in memory is read by the soft MMU first (the host never touches
 * a guest address), the same VEX instruction runs on the host registers
 * with the guest's MXCSR control bits, and the result register is copied
 * back.  The host's VEX.128 form zeroes the upper half of its destination
 * exactly as the guest's must, so the executor stores all 256 bits.  An
 * instruction runs only if the host has its extension (host_isa.h), else
 * the guest gets #UD, as on a CPU without it. */
#ifndef RINGVM_SOFT_AVX_COMMON_H
#define RINGVM_SOFT_AVX_COMMON_H

#include <string.h>

#include "cpuid.h"
#include "host_isa.h"
#include "sse_common.h"
#include "sys.h"

/* One YMM register in memory order (bits 127:0, then 255:128). */
struct avx_ymm {
	union soft_xmm lo, hi;
};

static inline void avx_get(const struct soft_cpu *cpu, unsigned r, struct avx_ymm *y)
{
	y->lo = cpu->xmm[r & 15];
	y->hi = cpu->ymmh[r & 15];
}

static inline void avx_set(struct soft_cpu *cpu, unsigned r, const struct avx_ymm *y)
{
	cpu->xmm[r & 15] = y->lo;
	cpu->ymmh[r & 15] = y->hi;
}

/* A VEX.128 result: the XMM register, bits 255:128 zeroed. */
static inline void avx_set128(struct soft_cpu *cpu, unsigned r, const union soft_xmm *x)
{
	cpu->xmm[r & 15] = *x;
	memset(&cpu->ymmh[r & 15], 0, sizeof(cpu->ymmh[0]));
}

/* The exception checks of every VEX-encoded SIMD instruction (SDM vol. 2,
 * 2.5.1 / Table 2-29 "Type ... exception conditions", vol. 1, 13.2 and
 * 14.3): #UD in real and virtual-8086 mode, #UD if CR4.OSXSAVE = 0 or
 * XCR0[2:1] != 11b (which also covers a vCPU without AVX: XCR0[2] cannot
 * be set there), #UD if the instruction's extension is not offered; then
 * #NM if CR0.TS = 1.  CR0.EM does not apply to VEX instructions.  The
 * prefix rules (LOCK/66/F2/F3/REX before VEX) are the decoder's. */
static inline int avx_check(struct soft_cpu *cpu, uint32_t need)
{
	if (!prot_mode(cpu) || vm86(cpu))
		return soft_ud(cpu);
	if (!(cpu->cr4 & (1ULL << 18)) || (cpu->xcr0 & 6) != 6) /* CR4.OSXSAVE */
		return soft_ud(cpu);
	if (need && !soft_avx_offered(cpu, need))
		return soft_ud(cpu);
	if (cpu->cr0 & X86_CR0_TS)
		return soft_raise(cpu, X86_EXC_NM, false, 0);
	return SOFT_OK;
}

/* The r/m source of a VEX instruction: a register (all 256 bits) or size
 * bytes of memory, zero-filled above.  align: the explicit alignment
 * rule of VMOVAPS & co (#GP(0) unless size-aligned); other VEX memory
 * operands have none. */
static inline int avx_src(struct soft_cpu *cpu, const struct x86_insn *in,
			  struct avx_ymm *s, unsigned size, bool align)
{
	if (in->mod == 3) {
		avx_get(cpu, in->rm, s);
		return SOFT_OK;
	}
	uint64_t la = soft_ea(cpu, in);
	if (align && (la & (size - 1)))
		return soft_gp0(cpu);
	memset(s, 0, sizeof(*s));
	return soft_read(cpu, la, s, size);
}

#endif
