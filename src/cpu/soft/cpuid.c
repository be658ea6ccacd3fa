/* CPUID: a coherent model that advertises exactly what the soft engine
 * implements.
 *
 * Vendor: "GenuineIntel".  The interpreter follows the Intel SDM where the
 * vendors differ (near branches ignore 66 in 64-bit mode, SYSENTER in long
 * mode, BSF/BSR and shift undefined flags as Intel cores leave them) and
 * guests pick vendor code paths from this string; an unknown vendor makes
 * Linux and glibc fall back to generic paths but would not change the
 * semantics we execute, so claiming the vendor whose semantics we model is
 * the honest choice.  Consequence for the system layer: Linux touches
 * IA32_MISC_ENABLE (0x1a0) on Intel CPUs, which must be implemented.
 * Family/model 6/0x1a (Nehalem) names an older generation; the feature
 * bits, not the model number, say what we have (AVX/AVX2/FMA/F16C where
 * the host has them, BMI1, BMI2, ADX, RDRAND/RDSEED, XSAVE... came later on
 * Intel's cores, and guests test the bits). */
#include <string.h>

#include "cpu.h"
#include "cpuid.h"
#include "exec.h"
#include "host_isa.h"

/* leaf 0x16: processor frequency; 0x15 and 0x16 are answered by the engine,
 * which knows the TSC rate (zero here: not enumerated); leaves 0xE-0x14
 * enumerate nothing (no feature bit points at them) */
#define MAX_BASIC 0x16
#define MAX_EXT 0x80000008u

/* leaf 1 */
#define L1_ECX_SSE3 (1u << 0)
#define L1_ECX_PCLMUL (1u << 1)
#define L1_ECX_AES (1u << 25)
#define L1_ECX_SSSE3 (1u << 9)
#define L1_ECX_CX16 (1u << 13)
#define L1_ECX_PCID (1u << 17)
#define L1_ECX_SSE41 (1u << 19)
#define L1_ECX_SSE42 (1u << 20)
#define L1_ECX_MOVBE (1u << 22)
#define L1_ECX_POPCNT (1u << 23)
#define L1_ECX_HYPERVISOR (1u << 31)
#define L1_EDX_FPU (1u << 0)
#define L1_EDX_VME (1u << 1) /* CR4.VME/PVI, VIF/VIP, the redirection bitmap (sys_v86.c) */
#define L1_EDX_DE (1u << 2)
#define L1_EDX_PSE (1u << 3)
#define L1_EDX_TSC (1u << 4)
#define L1_EDX_MSR (1u << 5)
#define L1_EDX_PAE (1u << 6)
#define L1_EDX_CX8 (1u << 8)
#define L1_EDX_APIC (1u << 9)
#define L1_EDX_SEP (1u << 11)
#define L1_EDX_MTRR (1u << 12)
#define L1_EDX_PGE (1u << 13)
#define L1_EDX_CMOV (1u << 15)
#define L1_EDX_PAT (1u << 16)
#define L1_ECX_XSAVE (1u << 26)
#define L1_ECX_OSXSAVE (1u << 27)
#define L1_ECX_RDRAND (1u << 30)
#define L1_EDX_CLFSH (1u << 19)
#define L1_EDX_MMX (1u << 23)
#define L1_EDX_FXSR (1u << 24)
#define L1_EDX_SSE (1u << 25)
#define L1_EDX_SSE2 (1u << 26)
/* leaf 7.0 */
#define L7_EBX_BMI1 (1u << 3)
#define L7_EBX_SMEP (1u << 7)
#define L7_EBX_INVPCID (1u << 10)
#define L7_EBX_SMAP (1u << 20)
#define L7_ECX_PKU (1u << 3)
#define L7_ECX_OSPKE (1u << 4)
#define L7_EBX_BMI2 (1u << 8)
#define L7_EBX_RDSEED (1u << 18)
#define L7_EBX_ADX (1u << 19)
#define L7_ECX_RDPID (1u << 22)
#define L7_EDX_ARCH_CAPABILITIES (1u << 29)
#define L7_EDX_SPEC_CTRL (1u << 26) /* IBRS and IBPB: IA32_SPEC_CTRL, IA32_PRED_CMD */
#define L7_MAX_SUBLEAF 2
#define L72_EDX_BHI_CTRL (1u << 4) /* leaf 7.2: IA32_SPEC_CTRL.BHI_DIS_S */
#define L7_EBX_ERMS (1u << 9)  /* enhanced REP MOVSB/STOSB: exec_string.c's page-wise path */
#define L7_EDX_FSRM (1u << 4)  /* fast short REP MOVSB: the same path has no start-up cost */
/* leaf 0xD.1 EAX (SDM vol. 2 CPUID, "Processor Extended State Enumeration
 * Sub-leaf") */
#define LD1_EAX_XSAVEOPT (1u << 0)
#define LD1_EAX_XSAVEC (1u << 1)
#define LD1_EAX_XGETBV1 (1u << 2)
#define LD1_EAX_XSAVES (1u << 3)
#define L7_EBX_SHA (1u << 29)
#define L7_EBX_CLFLUSHOPT (1u << 23)
#define L7_EBX_CLWB (1u << 24)
#define L7_ECX_GFNI (1u << 8)
/* 0x80000001 */
#define E1_ECX_LAHF_LM (1u << 0)
#define E1_ECX_ABM (1u << 5)
#define E1_ECX_PREFETCHW (1u << 8)
#define E1_EDX_SYSCALL (1u << 11)
#define E1_EDX_NX (1u << 20)
#define E1_EDX_PDPE1GB (1u << 26)
#define E7_EDX_INVTSC (1u << 8)
#define E1_EDX_RDTSCP (1u << 27)
#define E1_EDX_LM (1u << 29)

#define L1_ECX_FMA (1u << 12)
#define L1_ECX_AVX (1u << 28)
#define L1_ECX_F16C (1u << 29)
#define L7_EBX_AVX2 (1u << 5)

/* Cache geometry.  A software CPU has no caches of its own; guests still
 * size their copy strategies from what CPUID reports (glibc 2.36's
 * dl-cacheinfo.h: REP MOVSB between 2112 bytes with FSRM and the
 * non-temporal threshold, 3/4 of the per-thread share of the last level;
 * non-temporal SSE/AVX stores above it; with no cache reported at all the
 * threshold is 0 and every large copy takes the non-temporal loop, which
 * the soft CPU runs instruction by instruction).  So the model reports one
 * plausible, self-consistent hierarchy: 32 KiB 8-way L1d and L1i, a 1 MiB
 * 16-way L2 per core, a 32 MiB 16-way inclusive L3 shared by every vCPU
 * (the engine fills in how many share it), 64-byte lines; leaf 2 says
 * "see leaf 4" (descriptor FFH), leaf 4 lists the four caches, 0x80000006
 * repeats the L2 in Intel's format; 0x80000005 and 0x8000001D are AMD
 * leaves (zero / beyond the highest extended leaf on this Intel model). */
struct cache_level {
	uint8_t type, level; /* leaf 4 type: 1 data, 2 instruction, 3 unified */
	uint32_t kib, ways;
	bool inclusive;
};
static const struct cache_level caches[] = {
	{ 1, 1, 32, 8, false },
	{ 2, 1, 32, 8, false },
	{ 3, 2, 1024, 16, false },
	[SOFT_CPUID_L3_SUBLEAF] = { 3, 3, SOFT_CPUID_L3_KIB, 16, true },
};
#define CACHE_LINE 64u

static void cpuid_leaf4(uint32_t subleaf, struct soft_cpuid_regs *o)
{
	if (subleaf >= sizeof(caches) / sizeof(caches[0]))
		return; /* type 0: no more caches */
	const struct cache_level *c = &caches[subleaf];
	uint32_t sets = c->kib * 1024 / (c->ways * CACHE_LINE);
	/* EAX[25:14] (logical processors sharing - 1) and EAX[31:26] (cores
	 * per package - 1) are 0 here: the engine sets the L3's sharing from
	 * the vCPU count; one core per package keeps Linux's core count as it
	 * was without leaf 4 (detect_num_cpu_cores) */
	o->eax = c->type | (uint32_t)c->level << 5 | 1u << 8 /* self-initialising */;
	o->ebx = (CACHE_LINE - 1) | (c->ways - 1) << 22;
	o->ecx = sets - 1;
	o->edx = c->inclusive ? 1u << 1 : 0;
}

uint64_t soft_xcr0_supported(const struct soft_cpu *cpu)
{
	uint64_t v = SOFT_XCR0_SUPPORTED;
	if (!(cpu->host_isa & SOFT_HOST_AVX))
		v &= ~SOFT_XCR0_AVX;
	return v;
}

bool soft_avx_offered(const struct soft_cpu *cpu, uint32_t host_feature)
{
	bool model = host_feature == SOFT_HOST_AVX ? SOFT_MODEL_AVX :
		     host_feature == SOFT_HOST_AVX2 ? SOFT_MODEL_AVX2 :
		     host_feature == SOFT_HOST_FMA ? SOFT_MODEL_FMA :
		     host_feature == SOFT_HOST_F16C ? SOFT_MODEL_F16C : false;
	return model && (soft_xcr0_supported(cpu) & SOFT_XCR0_AVX) &&
	       (cpu->host_isa & host_feature);
}

/* Size of a standard-format XSAVE area for the XCR0 bits xcr0: the legacy
 * area and the header, then up to the end of the highest component. */
static uint32_t xsave_std_size(uint64_t xcr0)
{
	if (xcr0 & SOFT_XCR0_PKRU)
		return SOFT_XSAVE_PKRU_OFFSET + SOFT_XSAVE_PKRU_SIZE;
	if (xcr0 & SOFT_XCR0_AVX)
		return SOFT_XSAVE_AVX_OFFSET + SOFT_XSAVE_AVX_SIZE;
	return SOFT_XSAVE_LEGACY_HDR_SIZE;
}

static uint32_t str4(const char *s)
{
	uint32_t v;
	memcpy(&v, s, 4);
	return v;
}

void soft_cpuid(const struct soft_cpu *cpu, uint32_t leaf, uint32_t subleaf,
		struct soft_cpuid_regs *o)
{
	static const char brand[48] = "ringvm soft x86-64 CPU";
	uint32_t req = leaf;
	memset(o, 0, sizeof(*o));
	/* Intel: an out-of-range basic leaf returns the highest basic leaf */
	if ((leaf > MAX_BASIC && leaf < 0x40000000u) || (leaf > 0x40000000u && leaf < 0x80000000u) ||
	    leaf > MAX_EXT)
		leaf = MAX_BASIC;
	switch (leaf) {
	case 0:
		o->eax = MAX_BASIC;
		o->ebx = str4("Genu");
		o->edx = str4("ineI");
		o->ecx = str4("ntel");
		break;
	case 1:
		o->eax = 0x000106a5; /* family 6, model 0x1a, stepping 5 */
		o->ebx = (8u << 8) | (1u << 16); /* CLFLUSH 64 bytes, 1 logical CPU, APIC ID 0 */
		o->ecx = L1_ECX_SSE3 | L1_ECX_SSSE3 | L1_ECX_CX16 | L1_ECX_SSE41 | L1_ECX_SSE42 |
			 L1_ECX_POPCNT | L1_ECX_HYPERVISOR | (SOFT_MODEL_MOVBE ? L1_ECX_MOVBE : 0) |
			 (SOFT_MODEL_RDRAND ? L1_ECX_RDRAND : 0) | (SOFT_MODEL_PCID ? L1_ECX_PCID : 0);
		/* executed on the host's units: offered when the host has them */
		if (cpu->host_isa & SOFT_HOST_AES)
			o->ecx |= L1_ECX_AES;
		if (cpu->host_isa & SOFT_HOST_PCLMUL)
			o->ecx |= L1_ECX_PCLMUL;
		if (soft_avx_offered(cpu, SOFT_HOST_AVX))
			o->ecx |= L1_ECX_AVX;
		if (soft_avx_offered(cpu, SOFT_HOST_FMA))
			o->ecx |= L1_ECX_FMA;
		if (soft_avx_offered(cpu, SOFT_HOST_F16C))
			o->ecx |= L1_ECX_F16C;
		if (SOFT_MODEL_XSAVE) {
			o->ecx |= L1_ECX_XSAVE;
			if (cpu->cr4 & (1u << 18))
				o->ecx |= L1_ECX_OSXSAVE;
		}
		o->edx = L1_EDX_FPU | L1_EDX_VME | L1_EDX_PSE | L1_EDX_TSC | L1_EDX_MSR | L1_EDX_PAE | L1_EDX_CX8 |
			 L1_EDX_APIC | L1_EDX_SEP | L1_EDX_MTRR | L1_EDX_PGE | L1_EDX_CMOV | L1_EDX_PAT |
			 L1_EDX_CLFSH | L1_EDX_MMX | L1_EDX_FXSR | L1_EDX_SSE | L1_EDX_SSE2;
		o->edx |= L1_EDX_DE; /* CR4.DE is accepted: DR4/DR5 then #UD (SDM vol. 3A 17.2.2) */
		break;
	case 7:
		if (subleaf == 0) {
			o->eax = L7_MAX_SUBLEAF;
			o->ebx = (SOFT_MODEL_BMI1 ? L7_EBX_BMI1 : 0) |
				 ((cpu->host_isa & SOFT_HOST_SHA) ? L7_EBX_SHA : 0);
			o->ebx |= L7_EBX_CLFLUSHOPT | L7_EBX_CLWB; /* soft_exec_clflush */
			o->ebx |= (SOFT_MODEL_BMI2 ? L7_EBX_BMI2 : 0) | (SOFT_MODEL_ADX ? L7_EBX_ADX : 0) |
				  (SOFT_MODEL_RDRAND ? L7_EBX_RDSEED : 0);
			o->ecx = (cpu->host_isa & SOFT_HOST_GFNI) ? L7_ECX_GFNI : 0;
			o->ebx |= L7_EBX_SMEP | L7_EBX_SMAP | (SOFT_MODEL_PCID ? L7_EBX_INVPCID : 0);
			if (soft_avx_offered(cpu, SOFT_HOST_AVX2))
				o->ebx |= L7_EBX_AVX2;
			if (SOFT_MODEL_PKU) {
				o->ecx |= L7_ECX_PKU;
				if (cpu->cr4 & (1u << 22)) /* OSPKE mirrors CR4.PKE */
					o->ecx |= L7_ECX_OSPKE;
			}
			o->ecx |= SOFT_MODEL_RDPID ? L7_ECX_RDPID : 0;
			o->edx = L7_EDX_ARCH_CAPABILITIES; /* MSR 0x10a: cpuid.h */
			o->edx |= L7_EDX_SPEC_CTRL;         /* MSRs 0x48, 0x49: cpuid.h */
			o->ebx |= L7_EBX_ERMS;
			o->edx |= L7_EDX_FSRM;
		} else if (subleaf == 2) {
			o->edx = L72_EDX_BHI_CTRL; /* cpuid.h, IA32_SPEC_CTRL */
		}
		break;
	case 2:
		/* AL = 1 (one call), descriptor FFH: "no cache descriptors,
		 * use leaf 4" (SDM vol. 2 CPUID, Table 3-12) */
		o->eax = 0x0000ff01;
		break;
	case 4:
		cpuid_leaf4(subleaf, o);
		break;
	case 0xd:
		/* XSAVE (SDM vol. 2 CPUID, "Processor Extended State Enumeration"):
		 * sub-leaf 0 lists the XCR0 bits, EBX the standard-format size
		 * for the XCR0 now enabled, ECX that size for all supported bits;
		 * sub-leaf 1 the XSAVE extensions and the compacted size for
		 * XCR0|IA32_XSS (no XSS bits here); sub-leaf i >= 2 describes
		 * component i: AVX (2, when offered) and PKRU (9) exist, user
		 * components (ECX[0] = 0) without 64-byte alignment (ECX[1] =
		 * 0); the others are 0. */
		if (!SOFT_MODEL_XSAVE)
			break;
		uint64_t sup = soft_xcr0_supported(cpu);
		if (subleaf == 0) {
			o->eax = (uint32_t)sup;
			o->ebx = xsave_std_size(cpu->xcr0);
			o->ecx = xsave_std_size(sup);
			o->edx = (uint32_t)(sup >> 32);
		} else if (subleaf == 1) {
			o->eax = LD1_EAX_XSAVEOPT | LD1_EAX_XSAVEC | LD1_EAX_XGETBV1 |
				 (SOFT_MODEL_XSAVES ? LD1_EAX_XSAVES : 0);
			o->ebx = SOFT_XSAVE_LEGACY_HDR_SIZE +
				 ((cpu->xcr0 & SOFT_XCR0_AVX) ? SOFT_XSAVE_AVX_SIZE : 0) +
				 ((cpu->xcr0 & SOFT_XCR0_PKRU) ? SOFT_XSAVE_PKRU_SIZE : 0);
			o->ecx = (uint32_t)SOFT_XSS_SUPPORTED;
			o->edx = (uint32_t)(SOFT_XSS_SUPPORTED >> 32);
		} else if (subleaf == 2 && (sup & SOFT_XCR0_AVX)) {
			o->eax = SOFT_XSAVE_AVX_SIZE;
			o->ebx = SOFT_XSAVE_AVX_OFFSET;
		} else if (subleaf == 9 && (sup & SOFT_XCR0_PKRU) != 0) {
			o->eax = SOFT_XSAVE_PKRU_SIZE;
			o->ebx = SOFT_XSAVE_PKRU_OFFSET;
		}
		break;
	case 0x40000000u:
		o->eax = 0x40000000u;
		o->ebx = str4("ring");
		o->ecx = str4("vmri");
		o->edx = str4("ngvm");
		break;
	case 0x80000000u:
		o->eax = MAX_EXT;
		break;
	case 0x80000001u:
		o->ecx = E1_ECX_LAHF_LM | E1_ECX_PREFETCHW | (SOFT_MODEL_LZCNT ? E1_ECX_ABM : 0);
		o->edx = E1_EDX_SYSCALL | E1_EDX_NX | E1_EDX_PDPE1GB | E1_EDX_RDTSCP | E1_EDX_LM;
		break;
	case 0x80000007u:
		o->edx = E7_EDX_INVTSC;
		break;
	case 0x80000002u: case 0x80000003u: case 0x80000004u:
		memcpy(o, brand + 16 * (leaf - 0x80000002u), 16);
		break;
	case 0x80000006u:
		/* ECX: L2 size in KiB [31:16], associativity [15:12] (6: 8-way,
		 * 8: 16-way), line size [7:0] (SDM vol. 2 CPUID, 80000006H) */
		o->ecx = caches[2].kib << 16 | 8u << 12 | CACHE_LINE;
		break;
	case 0x80000008u:
		o->eax = 40 | (48 << 8); /* physical / linear address bits */
		break;
	default:
		break;
	}
	if (cpu->sys && cpu->sys->cpuid) {
		uint32_t regs[4] = { o->eax, o->ebx, o->ecx, o->edx };
		/* the requested leaf: the engine may answer leaves the core clamps */
		cpu->sys->cpuid(cpu->sys->opaque, req, subleaf, regs);
		o->eax = regs[0];
		o->ebx = regs[1];
		o->ecx = regs[2];
		o->edx = regs[3];
	}
}

int soft_exec_cpuid(struct soft_cpu *cpu, const struct x86_insn *in)
{
	struct soft_cpuid_regs r;
	soft_cpuid(cpu, (uint32_t)cpu->gpr[GPR_RAX], (uint32_t)cpu->gpr[GPR_RCX], &r);
	cpu->gpr[GPR_RAX] = r.eax;
	cpu->gpr[GPR_RBX] = r.ebx;
	cpu->gpr[GPR_RCX] = r.ecx;
	cpu->gpr[GPR_RDX] = r.edx;
	return SOFT_OK;
}
