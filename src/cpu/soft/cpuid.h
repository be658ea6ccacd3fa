/* The CPU model the soft engine advertises: exactly what is implemented. */
#ifndef RINGVM_SOFT_CPUID_H
#define RINGVM_SOFT_CPUID_H

#include <stdint.h>

/* Optional features, compile-time switches of the model.  The rows and
 * handlers exist either way; a switch that is 0 makes the encoding behave
 * as on a CPU without the feature (#UD, or BSF for F3 0F BC without BMI1). */
#define SOFT_MODEL_BMI1 1   /* ANDN BEXTR BLSI BLSMSK BLSR TZCNT (VEX GPR rows) */
#define SOFT_MODEL_BMI2 1   /* BZHI MULX PDEP PEXT RORX SARX SHLX SHRX */
#define SOFT_MODEL_ADX 1    /* ADCX ADOX */
#define SOFT_MODEL_LZCNT 1
#define SOFT_MODEL_MOVBE 1
#define SOFT_MODEL_RDRAND 1 /* RDRAND, RDSEED: the host's entropy (exec_rand.c) */
#define SOFT_MODEL_RDPID 1
/* XSAVE with XCR0 = x87|SSE (no AVX): XSAVE XRSTOR XSAVEOPT XSAVEC,
 * XGETBV (ECX=0 and 1), XSETBV, CR4.OSXSAVE, CPUID leaf 0xD (fxsave.c,
 * exec_sys.c), and XSAVES/XRSTORS with IA32_XSS (sys_msr.c), which has no
 * supervisor component to enable. */
#define SOFT_MODEL_XSAVE 1
#define SOFT_MODEL_XSAVES 1
/* XCR0 bits the model supports (SDM vol. 1, 13.3): x87 and SSE. */
#define SOFT_XCR0_SUPPORTED 0x3ULL
/* IA32_XSS bits the model supports: no supervisor state components. */
#define SOFT_XSS_SUPPORTED 0x0ULL
/* Protection keys (CR4.PKE, RDPKRU/WRPKRU, the PK check in mmu/).  With
 * XSAVE advertised the manual makes PKRU XSAVE state component 9 (leaf 0xD
 * EAX bit 9, saved and restored by XSAVE/XRSTOR), which fxsave.c does not
 * implement yet, so PKU is advertised only while XSAVE is not.  TODO: add
 * component 9 to the XSAVE model, then advertise both. */
#define SOFT_MODEL_PKU (!SOFT_MODEL_XSAVE)

struct soft_cpu;
struct soft_cpuid_regs {
	uint32_t eax, ebx, ecx, edx;
};

/* CPUID(leaf, subleaf) of the model for this vCPU. */
void soft_cpuid(const struct soft_cpu *cpu, uint32_t leaf, uint32_t subleaf,
		struct soft_cpuid_regs *out);

#endif
