/* The CPU model the soft engine advertises: exactly what is implemented. */
#ifndef RINGVM_SOFT_CPUID_H
#define RINGVM_SOFT_CPUID_H

#include <stdint.h>

/* Optional features, compile-time switches of the model.  BMI1 needs the
 * VEX-encoded ANDN/BEXTR/BLS* which are not executed yet, so it is off and
 * F3 0F BC executes as BSF (what a CPU without BMI1 does). */
#define SOFT_MODEL_BMI1 0
#define SOFT_MODEL_LZCNT 1
#define SOFT_MODEL_MOVBE 1
/* XSAVE: fxsave.c implements XSAVE/XRSTOR for x87|SSE and exec_sys.c
 * XGETBV/XSETBV/CR4.OSXSAVE, but it is not advertised yet: fxsave.c's RFBM
 * does not honour XCR0 and leaf 0xD is not modelled.  Linux uses FXSAVE. */
#define SOFT_MODEL_XSAVE 0
/* Protection keys (CR4.PKE, RDPKRU/WRPKRU, the PK check in mmu/).  With
 * XSAVE advertised the manual makes PKRU XSAVE state component 9 (leaf 0xD
 * EAX bit 9, saved and restored by XSAVE/XRSTOR), which fxsave.c does not
 * implement yet, so PKU is advertised only while XSAVE is not.  TODO: add
 * component 9 with the XSAVE model, then advertise both. */
#define SOFT_MODEL_PKU (!SOFT_MODEL_XSAVE)

struct soft_cpu;
struct soft_cpuid_regs {
	uint32_t eax, ebx, ecx, edx;
};

/* CPUID(leaf, subleaf) of the model for this vCPU. */
void soft_cpuid(const struct soft_cpu *cpu, uint32_t leaf, uint32_t subleaf,
		struct soft_cpuid_regs *out);

#endif
