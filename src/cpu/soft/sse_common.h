/* Shared helpers for the SSE / MMX handlers (sse_*.c, mmx_*.c).
 *
 * Technique: the host is x86-64 with SSE4.2, so every SIMD operation whose
 * result depends on IEEE details (rounding, NaN propagation, denormals,
 * exception flags) or is tedious to restate is executed by the host's own
 * instruction on copies of the guest operands (inline asm on host xmm0/xmm1
 * or mm0/mm1), with the guest's MXCSR control bits loaded around it and all
 * exceptions masked on the host.  The exception flags the host raised are
 * then applied to the guest MXCSR, and an unmasked one becomes #XM (or #UD
 * with CR4.OSXMMEXCPT clear) without writing the destination, as the SDM
 * describes (Vol. 1, 11.5.1).  Results are therefore bit-exact with the host.
 * Simple data movement is plain C. */
#ifndef RINGVM_SOFT_SSE_COMMON_H
#define RINGVM_SOFT_SSE_COMMON_H

#include <string.h>

#include "cpu.h"
#include "decode.h"
#include "sse_fp_pe.h"

#define MXCSR_FLAGS 0x3fu
#define MXCSR_MASKS 0x1f80u
#define MXCSR_IE 0x01u
#define MXCSR_DE 0x02u
#define MXCSR_ZE 0x04u
/* Bits a guest may set (no MXCSR_MM: we report MXCSR_MASK = 0xffff). */
#define MXCSR_VALID 0xffffu

/* The #UD / #NM checks every SSE instruction makes (SDM Vol. 3, 13.1 and
 * table 23-4 style rules): CR0.EM or !CR4.OSFXSR -> #UD, CR0.TS -> #NM. */
static inline int sse_check(struct soft_cpu *cpu)
{
	if ((cpu->cr0 & X86_CR0_EM) || !(cpu->cr4 & X86_CR4_OSFXSR))
		return soft_raise(cpu, X86_EXC_UD, false, 0);
	if (cpu->cr0 & X86_CR0_TS)
		return soft_raise(cpu, X86_EXC_NM, false, 0);
	return SOFT_OK;
}

/* Source operand of an SSE instruction: XMM r/m or size bytes of memory
 * (zero-filled above size).  align16: the legacy-SSE 16-byte alignment
 * rule for 128-bit memory operands (#GP(0)). */
static inline int sse_src(struct soft_cpu *cpu, const struct x86_insn *in,
			  union soft_xmm *s, unsigned size, bool align16)
{
	if (in->mod == 3) {
		*s = cpu->xmm[in->rm];
		return SOFT_OK;
	}
	uint64_t la = soft_ea(cpu, in);
	if (align16 && (la & 15))
		return soft_gp0(cpu);
	memset(s, 0, sizeof(*s));
	return soft_read(cpu, la, s, size);
}

/* Store size bytes of v to the r/m operand (register: whole XMM). */
static inline int sse_store_rm(struct soft_cpu *cpu, const struct x86_insn *in,
			       const union soft_xmm *v, unsigned size, bool align16)
{
	if (in->mod == 3) {
		cpu->xmm[in->rm] = *v;
		return SOFT_OK;
	}
	uint64_t la = soft_ea(cpu, in);
	if (align16 && (la & 15))
		return soft_gp0(cpu);
	return soft_write(cpu, la, v, size);
}

#define MXCSR_OE 0x08u
#define MXCSR_UE 0x10u
#define MXCSR_PE 0x20u
#define MXCSR_FZ 0x8000u

/* Host MXCSR around a host SIMD FP operation: load the guest's rounding,
 * FZ and DAZ (plus extra bits) with every exception masked and the flags
 * clear. */
static inline uint32_t sse_host_enter_x(const struct soft_cpu *cpu, uint32_t extra)
{
	uint32_t saved, g = (cpu->mxcsr & ~MXCSR_FLAGS) | MXCSR_MASKS | extra;
	__asm__ volatile("stmxcsr %0\n\tldmxcsr %1" : "=m"(saved) : "m"(g));
	return saved;
}

static inline uint32_t sse_host_enter(const struct soft_cpu *cpu)
{
	uint32_t saved, g = (cpu->mxcsr & ~MXCSR_FLAGS) | MXCSR_MASKS;
	__asm__ volatile("stmxcsr %0\n\tldmxcsr %1" : "=m"(saved) : "m"(g));
	return saved;
}

/* Restore the host MXCSR; returns the exception flags the operation set. */
static inline uint32_t sse_host_leave(uint32_t saved)
{
	uint32_t now;
	__asm__ volatile("stmxcsr %0\n\tldmxcsr %1" : "=m"(now) : "m"(saved));
	return now & MXCSR_FLAGS;
}

/* Apply exception flags raised by an operation.  Returns SOFT_OK when the
 * result may be committed, else the #XM/#UD status (flags already merged):
 * with an unmasked pre-computation exception (IE, DE, ZE) only those
 * flags are reported, post-computation ones are not checked.  Known gap:
 * with UM unmasked, hardware reports PE for the result rounded with an
 * unbounded exponent, we report PE of the denormalised result.  multi: the operation has several dependent steps
 * (DPPS/DPPD), whose flags are all reported. */
static inline int sse_raise_flags_x(struct soft_cpu *cpu, uint32_t flags, bool multi)
{
	uint32_t unmasked = flags & ~(cpu->mxcsr >> 7) & MXCSR_FLAGS;
	/* callers that recompute PE (sse_fp_run) pass it already corrected */
	if (!unmasked) {
		cpu->mxcsr |= flags;
		return SOFT_OK;
	}
	uint32_t pre = flags & (MXCSR_IE | MXCSR_DE | MXCSR_ZE);
	if (!multi && (pre & unmasked))
		flags = pre;
	cpu->mxcsr |= flags;
	if (!(cpu->cr4 & X86_CR4_OSXMMEXCPT))
		return soft_raise(cpu, X86_EXC_UD, false, 0);
	return soft_raise(cpu, X86_EXC_XM, false, 0);
}

static inline int sse_raise_flags(struct soft_cpu *cpu, uint32_t flags)
{
	return sse_raise_flags_x(cpu, flags, false);
}

/* A host operation d = op(d, s, imm) on copies of the operands. */
typedef void (*sse_host_fn)(union soft_xmm *d, const union soft_xmm *s, unsigned imm);

bool sse_pe_fix(struct soft_cpu *cpu, sse_host_fn fn, unsigned kind,
		const union soft_xmm *d, const union soft_xmm *s);

/* Run a SIMD floating-point operation with the guest's MXCSR semantics.
 * On SOFT_OK *d holds the result; otherwise *d is untouched.
 * pe_kind (sse_fp_pe.h, 0 = none): with an unmasked overflow/underflow
 * the precision flag is recomputed for an unbounded exponent.
 * Underflow: with UM masked the flag is raised only for tiny AND inexact
 * results, with UM unmasked on tininess alone.  The host runs masked, so
 * when the guest unmasks UM a second run with FZ=1 (which flags every
 * tiny result) detects the exact-but-tiny case. */
static inline int sse_fp_run(struct soft_cpu *cpu, sse_host_fn fn, union soft_xmm *d,
			     const union soft_xmm *s, unsigned imm, bool multi, unsigned pe_kind)
{
	union soft_xmm r = *d;
	uint32_t h = sse_host_enter(cpu);
	fn(&r, s, imm);
	uint32_t flags = sse_host_leave(h);
	if (!(cpu->mxcsr & (MXCSR_UE << 7)) && !(flags & MXCSR_UE)) {
		union soft_xmm t = *d;
		h = sse_host_enter_x(cpu, MXCSR_FZ);
		fn(&t, s, imm);
		if (sse_host_leave(h) & MXCSR_UE)
			flags |= MXCSR_UE;
	}
	uint32_t unmasked = flags & ~(cpu->mxcsr >> 7) & MXCSR_FLAGS;
	if (pe_kind && (unmasked & (MXCSR_OE | MXCSR_UE)) &&
	    !(unmasked & (MXCSR_IE | MXCSR_DE | MXCSR_ZE))) {
		flags &= ~MXCSR_PE;
		if (sse_pe_fix(cpu, fn, pe_kind, d, s))
			flags |= MXCSR_PE;
	}
	int st = sse_raise_flags_x(cpu, flags, multi);
	if (st)
		return st;
	*d = r;
	return SOFT_OK;
}

/* DPPS/DPPD on values (sse_fp.c): *d = dp(*d, s, imm) step by step with
 * the guest's MXCSR; on an unmasked exception *d is left alone. */
int sse_dpps(struct soft_cpu *cpu, union soft_xmm *d, union soft_xmm s, unsigned imm);
int sse_dppd(struct soft_cpu *cpu, union soft_xmm *d, union soft_xmm s, unsigned imm);

/* Guest operand-size helpers (REX.W selects 64-bit GPR operands). */
static inline bool sse_rexw(const struct x86_insn *in)
{
	return (in->rex & 8) != 0;
}

static inline uint64_t sse_gpr_get(const struct soft_cpu *cpu, unsigned r, unsigned size)
{
	return size == 8 ? cpu->gpr[r] : cpu->gpr[r] & 0xffffffffu;
}

static inline void sse_gpr_set32(struct soft_cpu *cpu, unsigned r, uint64_t v, unsigned size)
{
	cpu->gpr[r] = size == 8 ? v : (v & 0xffffffffu);
}

#endif
