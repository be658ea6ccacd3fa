/* SSE4.2 string compares (PCMPESTRI/M, PCMPISTRI/M), executed by the host
 * instruction with one stub per immediate.  The explicit lengths (E forms)
 * are taken from EAX/EDX or RAX/RDX (REX.W) as the SDM says -- absolute
 * value saturated to 16 bytes / 8 words -- and passed to the host as
 * 32-bit values, which select the same lengths. */
#include "sse_host.h"

struct sse_str_io {
	union soft_xmm a, b;  /* xmm1 (ModRM.reg), xmm2/m128 */
	union soft_xmm mask;  /* M forms: result for XMM0 */
	uint32_t la, ld;      /* E forms: lengths */
	uint32_t ecx;         /* I forms: index */
	uint32_t ax;          /* lahf; seto (in AX) */
};

#define STR_CASE_I(insn, n)                                                   \
	case (n):                                                             \
		__asm__ volatile("movdqu %2, %%xmm0\n\t"                      \
				 "movdqu %3, %%xmm1\n\t"                      \
				 insn " %4, %%xmm1, %%xmm0\n\t"               \
				 "lahf\n\t"                                   \
				 "seto %%al"                                  \
				 : "=a"(io->ax), "=c"(io->ecx)                \
				 : "m"(io->a), "m"(io->b), "i"(n), "d"(io->ld), "0"(io->la) \
				 : "xmm0", "xmm1", "cc");                     \
		break;

#define STR_CASE_M(insn, n)                                                   \
	case (n):                                                             \
		__asm__ volatile("movdqu %2, %%xmm1\n\t"                      \
				 "movdqu %3, %%xmm2\n\t"                      \
				 insn " %4, %%xmm2, %%xmm1\n\t"               \
				 "movdqu %%xmm0, %1\n\t"                      \
				 "lahf\n\t"                                   \
				 "seto %%al"                                  \
				 : "=a"(io->ax), "=m"(io->mask)               \
				 : "m"(io->a), "m"(io->b), "i"(n), "d"(io->ld), "0"(io->la) \
				 : "xmm0", "xmm1", "xmm2", "cc");             \
		break;

static void sse_host_pcmpestri(struct sse_str_io *io, unsigned imm)
{
	switch (imm) { SSE_REP256(STR_CASE_I, "pcmpestri", 0) default: break; }
}

static void sse_host_pcmpistri(struct sse_str_io *io, unsigned imm)
{
	switch (imm) { SSE_REP256(STR_CASE_I, "pcmpistri", 0) default: break; }
}

static void sse_host_pcmpestrm(struct sse_str_io *io, unsigned imm)
{
	switch (imm) { SSE_REP256(STR_CASE_M, "pcmpestrm", 0) default: break; }
}

static void sse_host_pcmpistrm(struct sse_str_io *io, unsigned imm)
{
	switch (imm) { SSE_REP256(STR_CASE_M, "pcmpistrm", 0) default: break; }
}

static uint32_t sse_str_len(const struct soft_cpu *cpu, const struct x86_insn *in, unsigned r)
{
	int64_t v = sse_rexw(in) ? (int64_t)cpu->gpr[r] : (int64_t)(int32_t)cpu->gpr[r];
	uint64_t a = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	return a > 16 ? 16u : (uint32_t)a; /* 16 also saturates word lengths (8) */
}

/* Result flags: CF ZF SF OF from the host, AF and PF cleared. */
static void sse_str_flags(struct soft_cpu *cpu, uint32_t ax)
{
	uint64_t fl = soft_get_rflags(cpu) & ~0x8d5ULL;
	fl |= (ax >> 8) & (X86_RFLAGS_CF | X86_RFLAGS_ZF | X86_RFLAGS_SF);
	if (ax & 1)
		fl |= X86_RFLAGS_OF;
	soft_set_rflags(cpu, fl);
}

static int sse_str(struct soft_cpu *cpu, const struct x86_insn *in, bool explicit_len, bool mask)
{
	struct sse_str_io io;
	int r = sse_check(cpu);
	if (r)
		return r;
	/* The string instructions do not require 16-byte alignment. */
	if ((r = sse_src(cpu, in, &io.b, 16, false)))
		return r;
	io.a = cpu->xmm[in->reg];
	io.la = explicit_len ? sse_str_len(cpu, in, GPR_RAX) : 0;
	io.ld = explicit_len ? sse_str_len(cpu, in, GPR_RDX) : 0;
	unsigned imm = (unsigned)in->imm & 0xff;
	if (explicit_len && mask)
		sse_host_pcmpestrm(&io, imm);
	else if (explicit_len)
		sse_host_pcmpestri(&io, imm);
	else if (mask)
		sse_host_pcmpistrm(&io, imm);
	else
		sse_host_pcmpistri(&io, imm);
	if (mask)
		cpu->xmm[0] = io.mask;
	else
		cpu->gpr[GPR_RCX] = io.ecx; /* ECX, zero-extended (RCX with REX.W) */
	sse_str_flags(cpu, io.ax);
	return SOFT_OK;
}

int soft_exec_pcmpestri(struct soft_cpu *cpu, const struct x86_insn *in) { return sse_str(cpu, in, true, false); }
int soft_exec_pcmpestrm(struct soft_cpu *cpu, const struct x86_insn *in) { return sse_str(cpu, in, true, true); }
int soft_exec_pcmpistri(struct soft_cpu *cpu, const struct x86_insn *in) { return sse_str(cpu, in, false, false); }
int soft_exec_pcmpistrm(struct soft_cpu *cpu, const struct x86_insn *in) { return sse_str(cpu, in, false, true); }
