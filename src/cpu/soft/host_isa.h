/* Instruction-set extensions that the soft CPU executes on the host's own
 * units (AES-NI, PCLMULQDQ, SHA, GFNI, AVX, AVX2, FMA, F16C): the guest is offered one, in CPUID
 * and in execution, only when the host has it.  Without it the encoding
 * raises #UD in the guest, as on a CPU that lacks the feature, instead of
 * SIGILL in ringvm. */
#ifndef RINGVM_SOFT_HOST_ISA_H
#define RINGVM_SOFT_HOST_ISA_H

#include <stdint.h>

enum soft_host_isa {
	SOFT_HOST_AES = 1u << 0,    /* CPUID.1:ECX[25] */
	SOFT_HOST_PCLMUL = 1u << 1, /* CPUID.1:ECX[1] */
	SOFT_HOST_SHA = 1u << 2,    /* CPUID.(7,0):EBX[29] */
	SOFT_HOST_GFNI = 1u << 3,   /* CPUID.(7,0):ECX[8] */
	/* entropy sources for the guest's RDRAND/RDSEED (exec_rand.c); the
	 * guest gets those instructions either way (getrandom() otherwise) */
	SOFT_HOST_RDRAND = 1u << 4, /* CPUID.1:ECX[30] */
	SOFT_HOST_RDSEED = 1u << 5, /* CPUID.(7,0):EBX[18] */
	/* VEX-encoded SIMD (avx_*.c): AVX needs the host's OS to have enabled
	 * YMM state too (CPUID.1:ECX.OSXSAVE and XCR0[2:1] = 11b) */
	SOFT_HOST_AVX = 1u << 6,    /* CPUID.1:ECX[28] */
	SOFT_HOST_AVX2 = 1u << 7,   /* CPUID.(7,0):EBX[5] */
	SOFT_HOST_FMA = 1u << 8,    /* CPUID.1:ECX[12] */
	SOFT_HOST_F16C = 1u << 9,   /* CPUID.1:ECX[29] */
	/* LAHF/SAHF in 64-bit mode: the translator keeps the guest flags in a
	 * register with them instead of PUSHFQ/POPFQ (jit/translate.c) */
	SOFT_HOST_LAHF = 1u << 10,  /* CPUID.80000001H:ECX[0] */
	/* bit counts the translator emits as themselves (jit/vex.c: without
	 * them the host runs F3 0F BC as BSF, F3 0F BD as BSR; the guest gets
	 * them either way, from the interpreter) */
	SOFT_HOST_BMI1 = 1u << 11,  /* CPUID.(7,0):EBX[3]: TZCNT ANDN BLSR BEXTR ... */
	SOFT_HOST_LZCNT = 1u << 12, /* CPUID.80000001H:ECX[5] */
	SOFT_HOST_POPCNT = 1u << 13, /* CPUID.1:ECX[23] */
	SOFT_HOST_BMI2 = 1u << 14,  /* CPUID.(7,0):EBX[8]: SHRX SARX SHLX BZHI RORX */
};

/* The soft_host_isa bits this host's CPU has (read with CPUID). */
uint32_t soft_host_isa_probe(void);

#endif
