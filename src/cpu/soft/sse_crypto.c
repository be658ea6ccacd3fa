/* AES-NI, SHA and GFNI instructions executed by the host instruction
 * (sse_common.h).  The SHA instructions have no 16-byte alignment rule
 * (measured on the host: misaligned m128 operands work).  The guest may only be offered these features when the
 * host has them (host_isa.h): without one its encodings raise #UD. */
#include "host_isa.h"
#include "sse_host.h"

SSE_INT_OP_NEED(aesenc, "aesenc", 16, true, SOFT_HOST_AES)
SSE_INT_OP_NEED(aesenclast, "aesenclast", 16, true, SOFT_HOST_AES)
SSE_INT_OP_NEED(aesdec, "aesdec", 16, true, SOFT_HOST_AES)
SSE_INT_OP_NEED(aesdeclast, "aesdeclast", 16, true, SOFT_HOST_AES)
SSE_INT_OP_NEED(aesimc, "aesimc", 16, true, SOFT_HOST_AES)
SSE_INT_OP_NEED(sha1msg1, "sha1msg1", 16, false, SOFT_HOST_SHA)
SSE_INT_OP_NEED(sha1msg2, "sha1msg2", 16, false, SOFT_HOST_SHA)
SSE_INT_OP_NEED(sha1nexte, "sha1nexte", 16, false, SOFT_HOST_SHA)
SSE_INT_OP_NEED(sha256msg1, "sha256msg1", 16, false, SOFT_HOST_SHA)
SSE_INT_OP_NEED(sha256msg2, "sha256msg2", 16, false, SOFT_HOST_SHA)
SSE_INT_OP_NEED(gf2p8mulb, "gf2p8mulb", 16, true, SOFT_HOST_GFNI)

SSE_INT_OPI_NEED(aeskeygenassist, "aeskeygenassist", 16, true, SSE_REP256, 255, SOFT_HOST_AES)
SSE_INT_OPI_NEED(sha1rnds4, "sha1rnds4", 16, false, SSE_REP4, 3, SOFT_HOST_SHA)
SSE_INT_OPI_NEED(gf2p8affineqb, "gf2p8affineqb", 16, true, SSE_REP256, 255, SOFT_HOST_GFNI)
SSE_INT_OPI_NEED(gf2p8affineinvqb, "gf2p8affineinvqb", 16, true, SSE_REP256, 255, SOFT_HOST_GFNI)

/* SHA256RNDS2 xmm1, xmm2/m128, <XMM0>: the implicit operand is guest XMM0. */
int soft_exec_sha256rnds2(struct soft_cpu *cpu, const struct x86_insn *in)
{
	union soft_xmm s, d, k;
	SSE_NEED_HOST(cpu, SOFT_HOST_SHA);
	int r = sse_check(cpu);
	if (r)
		return r;
	r = sse_src(cpu, in, &s, 16, false);
	if (r)
		return r;
	d = cpu->xmm[in->reg];
	k = cpu->xmm[0];
	__asm__ volatile("movdqu %0, %%xmm1\n\t"
			 "movdqu %1, %%xmm2\n\t"
			 "movdqu %2, %%xmm0\n\t"
			 "sha256rnds2 %%xmm0, %%xmm2, %%xmm1\n\t"
			 "movdqu %%xmm1, %0"
			 : "+m"(d) : "m"(s), "m"(k) : "xmm0", "xmm1", "xmm2");
	cpu->xmm[in->reg] = d;
	return SOFT_OK;
}
