/* MMX arithmetic, logic, pack/unpack and shift-by-register operations,
 * executed by the host's MMX instruction on copies of the guest's MMX
 * registers (the mantissas of the x87 registers), followed by EMMS so the
 * host's x87 stack is left empty as the ABI requires. */
#include "mmx_common.h"

#define MMX_H2(insn, d, s)                                                    \
	__asm__ volatile("movq %0, %%mm0\n\t"                                 \
			 "movq %1, %%mm1\n\t"                                 \
			 insn " %%mm1, %%mm0\n\t"                            \
			 "movq %%mm0, %0\n\t"                                 \
			 "emms"                                               \
			 : "+m"(*(d)) : "m"(*(s)) : "mm0", "mm1")

/* mm = mm op mm/m64 (msize: bytes read from memory). */
#define MMX_OP(name, insn, msize)                                             \
	int soft_exec_mmx_##name(struct soft_cpu *cpu, const struct x86_insn *in) \
	{                                                                     \
		uint64_t s, d;                                                \
		int r = mmx_check(cpu);                                       \
		if (r || (r = mmx_src(cpu, in, &s, msize)))                   \
			return r;                                             \
		d = mmx_get(cpu, in->reg);                                    \
		MMX_H2(insn, &d, &s);                                         \
		mmx_set(cpu, in->reg, d);                                     \
		return SOFT_OK;                                               \
	}

MMX_OP(packssdw, "packssdw", 8)
MMX_OP(packsswb, "packsswb", 8)
MMX_OP(packuswb, "packuswb", 8)
MMX_OP(paddb, "paddb", 8)
MMX_OP(paddd, "paddd", 8)
MMX_OP(paddq, "paddq", 8)
MMX_OP(paddsb, "paddsb", 8)
MMX_OP(paddsw, "paddsw", 8)
MMX_OP(paddusb, "paddusb", 8)
MMX_OP(paddusw, "paddusw", 8)
MMX_OP(paddw, "paddw", 8)
MMX_OP(pand, "pand", 8)
MMX_OP(pandn, "pandn", 8)
MMX_OP(pavgb, "pavgb", 8)
MMX_OP(pavgw, "pavgw", 8)
MMX_OP(pcmpeqb, "pcmpeqb", 8)
MMX_OP(pcmpeqd, "pcmpeqd", 8)
MMX_OP(pcmpeqw, "pcmpeqw", 8)
MMX_OP(pcmpgtb, "pcmpgtb", 8)
MMX_OP(pcmpgtd, "pcmpgtd", 8)
MMX_OP(pcmpgtw, "pcmpgtw", 8)
MMX_OP(phaddd, "phaddd", 8)
MMX_OP(phaddsw, "phaddsw", 8)
MMX_OP(phaddw, "phaddw", 8)
MMX_OP(phsubd, "phsubd", 8)
MMX_OP(phsubsw, "phsubsw", 8)
MMX_OP(phsubw, "phsubw", 8)
MMX_OP(pmaddubsw, "pmaddubsw", 8)
MMX_OP(pmaddwd, "pmaddwd", 8)
MMX_OP(pmaxsw, "pmaxsw", 8)
MMX_OP(pmaxub, "pmaxub", 8)
MMX_OP(pminsw, "pminsw", 8)
MMX_OP(pminub, "pminub", 8)
MMX_OP(pmulhrsw, "pmulhrsw", 8)
MMX_OP(pmulhuw, "pmulhuw", 8)
MMX_OP(pmulhw, "pmulhw", 8)
MMX_OP(pmullw, "pmullw", 8)
MMX_OP(pmuludq, "pmuludq", 8)
MMX_OP(por, "por", 8)
MMX_OP(psadbw, "psadbw", 8)
MMX_OP(pshufb, "pshufb", 8)
MMX_OP(psignb, "psignb", 8)
MMX_OP(psignd, "psignd", 8)
MMX_OP(psignw, "psignw", 8)
MMX_OP(pslld, "pslld", 8)
MMX_OP(psllq, "psllq", 8)
MMX_OP(psllw, "psllw", 8)
MMX_OP(psrad, "psrad", 8)
MMX_OP(psraw, "psraw", 8)
MMX_OP(psrld, "psrld", 8)
MMX_OP(psrlq, "psrlq", 8)
MMX_OP(psrlw, "psrlw", 8)
MMX_OP(psubb, "psubb", 8)
MMX_OP(psubd, "psubd", 8)
MMX_OP(psubq, "psubq", 8)
MMX_OP(psubsb, "psubsb", 8)
MMX_OP(psubsw, "psubsw", 8)
MMX_OP(psubusb, "psubusb", 8)
MMX_OP(psubusw, "psubusw", 8)
MMX_OP(psubw, "psubw", 8)
MMX_OP(punpckhbw, "punpckhbw", 8)
MMX_OP(punpckhdq, "punpckhdq", 8)
MMX_OP(punpckhwd, "punpckhwd", 8)
MMX_OP(pxor, "pxor", 8)
MMX_OP(pabsb, "pabsb", 8)
MMX_OP(pabsd, "pabsd", 8)
MMX_OP(pabsw, "pabsw", 8)
/* The low-half unpacks read only 32 bits from memory. */
MMX_OP(punpcklbw, "punpcklbw", 4)
MMX_OP(punpckldq, "punpckldq", 4)
MMX_OP(punpcklwd, "punpcklwd", 4)
