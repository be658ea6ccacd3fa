/* The CPU model the soft engine advertises: exactly what is implemented. */
#ifndef RINGVM_SOFT_CPUID_H
#define RINGVM_SOFT_CPUID_H

#include <stdbool.h>
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
/* Process-context identifiers (CR4.PCIDE, CR3[11:0], the no-flush bit of
 * MOV CR3) and INVPCID: the TLB keeps one address space per PCID
 * (mmu/soft_mmu.h); CPUID.1:ECX[17] and CPUID.(7,0):EBX[10]. */
#define SOFT_MODEL_PCID 1
/* Protection keys (CR4.PKE, RDPKRU/WRPKRU, the PK check in mmu/).  PKRU is
 * XSAVE state component 9 (SDM vol. 1, 13.5.7), saved and restored by the
 * XSAVE family in fxsave.c, so PKU and XSAVE are advertised together. */
#define SOFT_MODEL_PKU 1
/* XSAVE with XCR0 = x87|SSE|PKRU (no AVX): XSAVE XRSTOR XSAVEOPT XSAVEC,
 * XGETBV (ECX=0 and 1), XSETBV, CR4.OSXSAVE, CPUID leaf 0xD (fxsave.c,
 * exec_sys.c), and XSAVES/XRSTORS with IA32_XSS (sys_msr.c), which has no
 * supervisor component to enable. */
#define SOFT_MODEL_XSAVE 1
#define SOFT_MODEL_XSAVES 1
/* AVX (VEX-encoded SIMD, YMM state: avx_*.c), executed on the host's
 * units: offered, in CPUID and in XCR0, only when the host has it
 * (host_isa.h SOFT_HOST_AVX); AVX2, FMA and F16C likewise, each only with
 * AVX and the host's own bit.  0 turns the family off whatever the host. */
#define SOFT_MODEL_AVX 1
#define SOFT_MODEL_AVX2 1
#define SOFT_MODEL_FMA 1
#define SOFT_MODEL_F16C 1
/* Size of the L3 the model reports in CPUID leaf 4 (cpuid.c), shared by
 * all vCPUs: the engine sets the sharing count (soft_platform.c). */
#define SOFT_CPUID_L3_KIB (32u * 1024u)
#define SOFT_CPUID_L3_SUBLEAF 3
/* IA32_ARCH_CAPABILITIES (MSR 0x10a, enumerated by CPUID.(7,0):EDX[29];
 * SDM vol. 4, table 2-2).  The soft CPU executes nothing speculatively and
 * has no fill buffers, store buffers or branch predictors to leak from, so
 * it states that it is not affected by the flaws the "_NO" bits name.
 * Linux then runs without page-table isolation (RDCL_NO: Meltdown), without
 * VERW buffer clearing on every return to user mode (MDS_NO, TAA_NO) and
 * without the MMIO stale-data, GDS, RFDS and BHI mitigations: kernel entry
 * and exit stop switching CR3 (issue 9, item 4).  ITS_NO (indirect target
 * selection): without it a kernel that sees the hypervisor bit assumes ITS
 * and sends every RET through one shared return thunk (its_return_thunk),
 * which costs the soft engine a second block and an indirect-branch lookup
 * per return.  IBRS_ALL (enhanced IBRS): see IA32_SPEC_CTRL below. */
#define SOFT_ARCH_CAP_RDCL_NO          (1ULL << 0)
#define SOFT_ARCH_CAP_IBRS_ALL         (1ULL << 1)
#define SOFT_ARCH_CAP_SKIP_L1DFL_VMENTRY (1ULL << 3)
#define SOFT_ARCH_CAP_SSB_NO           (1ULL << 4)
#define SOFT_ARCH_CAP_MDS_NO           (1ULL << 5)
#define SOFT_ARCH_CAP_PSCHANGE_MC_NO   (1ULL << 6)
#define SOFT_ARCH_CAP_TAA_NO           (1ULL << 8)
#define SOFT_ARCH_CAP_SBDR_SSDP_NO     (1ULL << 13)
#define SOFT_ARCH_CAP_FBSDP_NO         (1ULL << 14)
#define SOFT_ARCH_CAP_PSDP_NO          (1ULL << 15)
#define SOFT_ARCH_CAP_BHI_NO           (1ULL << 20)
#define SOFT_ARCH_CAP_PBRSB_NO         (1ULL << 24)
#define SOFT_ARCH_CAP_GDS_NO           (1ULL << 26)
#define SOFT_ARCH_CAP_RFDS_NO          (1ULL << 27)
#define SOFT_ARCH_CAP_ITS_NO           (1ULL << 62)
#define SOFT_ARCH_CAPABILITIES                                              \
	(SOFT_ARCH_CAP_RDCL_NO | SOFT_ARCH_CAP_IBRS_ALL |                    \
	 SOFT_ARCH_CAP_SKIP_L1DFL_VMENTRY |                                  \
	 SOFT_ARCH_CAP_SSB_NO | SOFT_ARCH_CAP_MDS_NO |                       \
	 SOFT_ARCH_CAP_PSCHANGE_MC_NO | SOFT_ARCH_CAP_TAA_NO |               \
	 SOFT_ARCH_CAP_SBDR_SSDP_NO | SOFT_ARCH_CAP_FBSDP_NO |               \
	 SOFT_ARCH_CAP_PSDP_NO | SOFT_ARCH_CAP_BHI_NO |                      \
	 SOFT_ARCH_CAP_PBRSB_NO | SOFT_ARCH_CAP_GDS_NO | SOFT_ARCH_CAP_RFDS_NO | \
	 SOFT_ARCH_CAP_ITS_NO)
#define SOFT_MSR_ARCH_CAPABILITIES 0x10a
/* IA32_SPEC_CTRL (MSR 0x48) and IA32_PRED_CMD (MSR 0x49), enumerated by
 * CPUID.(7,0):EDX[26] (SDM vol. 4, table 2-2), with ARCH_CAPABILITIES.IBRS_ALL:
 * enhanced IBRS, the CPU on which IBRS is set once and left set.  A software
 * CPU has no branch predictor that one privilege level or one address space
 * could train for another: its indirect branches go where the guest's
 * registers say, through lookups keyed by the exact target.  So IBRS, and the
 * IBPB barrier PRED_CMD issues, have nothing to act on; SPEC_CTRL only holds
 * the value written (architectural state: reset to 0, kept by snapshots) and
 * a PRED_CMD write does nothing.  What the guest's own code could still train
 * is the host CPU's predictors, through the host code that runs it (the
 * translator's exits, the interpreter's dispatch): the same situation as
 * QEMU's TCG, and the host kernel's business, not something a guest MSR can
 * reach.  Why enumerate it at all: without IBRS_ALL, Linux (6.1) protects
 * itself with retpolines, so every indirect call and jump in the kernel goes
 * through __x86_indirect_thunk_<reg> (CALL, a store to the stack, RET: three
 * translated blocks and an indirect-branch lookup); with it, Linux picks
 * "Enhanced / Automatic IBRS", sets SPEC_CTRL.IBRS once per CPU at boot and
 * patches those sites back to plain indirect branches, and adds nothing on
 * kernel entry, exit or context switch (no IBRS toggling, no RSB filling).
 * BHI_DIS_S (bit 10, enumerated by CPUID.(7,2):EDX[4], BHI_CTRL)
 * is there for the same reason: Linux 6.1.192 assumes branch history
 * injection on any eIBRS CPU or under a hypervisor bit whatever BHI_NO says
 * ("intra-mode" BHI), and without BHI_CTRL it clears the branch history with
 * a loop of calls and jumps on every system call (clear_bhb_loop, "BHI: SW
 * loop"); with it, it sets BHI_DIS_S once ("BHI: BHI_DIS_S"), which again
 * has nothing to act on here.  So IBRS (bit 0) and BHI_DIS_S (bit 10) are
 * the writable bits; STIBP and SSBD are not enumerated (eIBRS makes STIBP
 * unnecessary to Linux, and SSB_NO says there is no store bypass to
 * disable), and every other bit is #GP(0).  PRED_CMD is write-only: bit 0
 * (IBPB) is its only bit, RDMSR is #GP(0). */
#define SOFT_MSR_SPEC_CTRL 0x48
#define SOFT_MSR_PRED_CMD 0x49
#define SOFT_SPEC_CTRL_IBRS (1ULL << 0)
#define SOFT_SPEC_CTRL_BHI_DIS_S (1ULL << 10)
#define SOFT_SPEC_CTRL_SUPPORTED (SOFT_SPEC_CTRL_IBRS | SOFT_SPEC_CTRL_BHI_DIS_S)
#define SOFT_PRED_CMD_IBPB (1ULL << 0)
/* XCR0 bits the model supports (SDM vol. 1, 13.3): x87, SSE, AVX (bit 2,
 * only on a host with AVX: soft_xcr0_supported) and, with PKU, PKRU (bit 9). */
#define SOFT_XCR0_AVX (1ULL << 2)
#define SOFT_XCR0_PKRU (1ULL << 9)
#define SOFT_XCR0_SUPPORTED (0x3ULL | (SOFT_MODEL_AVX ? SOFT_XCR0_AVX : 0) | \
			     (SOFT_MODEL_PKU ? SOFT_XCR0_PKRU : 0))
/* IA32_XSS bits the model supports: no supervisor state components. */
#define SOFT_XSS_SUPPORTED 0x0ULL
/* XSAVE area layout (SDM vol. 1, 13.4-13.5; CPUID leaf 0xD): the 512-byte
 * legacy area, the 64-byte header at 512, and PKRU (8 bytes: PKRU, then 4
 * reserved bytes) at 2688 in the standard format.  In the compacted format
 * components 2..8, which the model lacks, take no room, so PKRU follows the
 * header at 576 (its sub-leaf's ECX[1], 64-byte alignment, is 0). */
#define SOFT_XSAVE_LEGACY_HDR_SIZE 576
#define SOFT_XSAVE_PKRU_OFFSET 2688
#define SOFT_XSAVE_PKRU_SIZE 8
/* AVX (component 2): YMM_Hi128 of YMM0-15, 16 x 16 bytes at 576 in the
 * standard format, right after the header in the compacted one. */
#define SOFT_XSAVE_AVX_OFFSET 576
#define SOFT_XSAVE_AVX_SIZE 256

struct soft_cpu;
struct soft_cpuid_regs {
	uint32_t eax, ebx, ecx, edx;
};

/* The XCR0 bits this vCPU supports: SOFT_XCR0_SUPPORTED without AVX on a
 * host that lacks it. */
uint64_t soft_xcr0_supported(const struct soft_cpu *cpu);
/* AVX2 / FMA / F16C offered to this vCPU (AVX offered and the host has it). */
bool soft_avx_offered(const struct soft_cpu *cpu, uint32_t host_feature);

/* CPUID(leaf, subleaf) of the model for this vCPU. */
void soft_cpuid(const struct soft_cpu *cpu, uint32_t leaf, uint32_t subleaf,
		struct soft_cpuid_regs *out);

#endif
