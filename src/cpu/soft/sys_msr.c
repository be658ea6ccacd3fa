/* RDMSR / WRMSR: the MSRs the core models itself (EFER, SYSCALL and
 * SYSENTER MSRs, segment bases, TSC with an offset, TSC_AUX, PAT, MTRRs,
 * MISC_ENABLE, IA32_XSS, SPEC_CTRL and PRED_CMD, machine-check and microcode
 * read-outs); everything else goes
 * to the engine's sys->rdmsr/wrmsr hooks, and -1 from there (or no hook) is
 * #GP(0). */
#include "cpuid.h"
#include "sys.h"

#define MSR_PLATFORM_ID 0x17
#define MSR_BIOS_SIGN_ID 0x8b
#define MSR_MTRRCAP 0xfe
#define MSR_SYSENTER_CS 0x174
#define MSR_SYSENTER_ESP 0x175
#define MSR_SYSENTER_EIP 0x176
#define MSR_MCG_CAP 0x179
#define MSR_MCG_STATUS 0x17a
#define MSR_MTRR_PHYS0 0x200  /* ..0x20f: base/mask pairs */
#define MSR_MTRR_DEF_TYPE 0x2ff
/* IA32_XSS (SDM vol. 4): the supervisor state components XSAVES/XRSTORS
 * manage.  The model has none (SOFT_XSS_SUPPORTED = 0), so the MSR reads
 * 0 and a write of any set bit is #GP(0); it exists only with XSAVES. */
#define MSR_IA32_XSS 0xda0
#define MAXPHYADDR 40
#define MTRR_VCNT 8

static const uint32_t mtrr_fixed_msr[11] = {
	0x250, 0x258, 0x259, 0x268, 0x269, 0x26a, 0x26b, 0x26c, 0x26d, 0x26e, 0x26f,
};

static int fixed_index(uint32_t msr)
{
	for (int i = 0; i < 11; i++)
		if (mtrr_fixed_msr[i] == msr)
			return i;
	return -1;
}

static bool mtrr_type_ok(unsigned t)
{
	return t == 0 || t == 1 || t == 4 || t == 5 || t == 6;
}

static bool pat_ok(uint64_t v)
{
	for (int i = 0; i < 8; i++) {
		unsigned t = (v >> (8 * i)) & 0xff;
		if (t == 2 || t == 3 || t > 7)
			return false;
	}
	return true;
}

static uint64_t tsc_raw(struct soft_cpu *cpu)
{
	return cpu->ops->rdtsc ? cpu->ops->rdtsc(cpu->ops_opaque) : 0;
}

/* core_rdmsr/core_wrmsr: 0 = handled, 1 = not a core MSR, -1 = #GP. */
static int core_rdmsr(struct soft_cpu *cpu, uint32_t idx, uint64_t *v)
{
	int fi;
	switch (idx) {
	case MSR_IA32_TSC: *v = tsc_raw(cpu) + cpu->tsc_offset; return 0;
	case MSR_PLATFORM_ID: case MSR_BIOS_SIGN_ID: case MSR_MCG_CAP: case MSR_MCG_STATUS:
		*v = 0;
		return 0;
	case SOFT_MSR_ARCH_CAPABILITIES: *v = SOFT_ARCH_CAPABILITIES; return 0;
	case SOFT_MSR_SPEC_CTRL: *v = cpu->spec_ctrl; return 0;
	case SOFT_MSR_PRED_CMD: return -1; /* write-only */
	case MSR_MTRRCAP: *v = MTRR_VCNT | (1u << 8) | (1u << 10); return 0; /* VCNT, FIX, WC */
	case MSR_SYSENTER_CS: *v = cpu->sysenter_cs; return 0;
	case MSR_SYSENTER_ESP: *v = cpu->sysenter_esp; return 0;
	case MSR_SYSENTER_EIP: *v = cpu->sysenter_eip; return 0;
	case MSR_IA32_MISC_ENABLE: *v = cpu->misc_enable; return 0;
	case MSR_IA32_CR_PAT: *v = cpu->pat; return 0;
	case MSR_MTRR_DEF_TYPE: *v = cpu->mtrr_def_type; return 0;
	case MSR_EFER: *v = cpu->efer; return 0;
	case MSR_STAR: *v = cpu->star; return 0;
	case MSR_LSTAR: *v = cpu->lstar; return 0;
	case MSR_CSTAR: *v = cpu->cstar; return 0;
	case MSR_SFMASK: *v = cpu->sfmask; return 0;
	case MSR_FS_BASE: *v = cpu->seg[SEG_FS].base; return 0;
	case MSR_GS_BASE: *v = cpu->seg[SEG_GS].base; return 0;
	case MSR_KERNEL_GS_BASE: *v = cpu->kernel_gs_base; return 0;
	case MSR_TSC_AUX: *v = cpu->tsc_aux; return 0;
	case MSR_IA32_XSS:
		if (!SOFT_MODEL_XSAVES)
			return -1;
		*v = 0;
		return 0;
	default:
		break;
	}
	if (idx >= MSR_MTRR_PHYS0 && idx < MSR_MTRR_PHYS0 + 2 * MTRR_VCNT) {
		*v = cpu->mtrr_var[idx - MSR_MTRR_PHYS0];
		return 0;
	}
	if ((fi = fixed_index(idx)) >= 0) {
		*v = cpu->mtrr_fixed[fi];
		return 0;
	}
	return 1;
}

static int write_efer(struct soft_cpu *cpu, uint64_t v)
{
	/* SCE LME NXE writable; LMA read-only (follows paging, ignored on
	 * write); LME cannot change while paging is on */
	if (v & ~(X86_EFER_SCE | X86_EFER_LME | X86_EFER_LMA | X86_EFER_NXE))
		return -1;
	if ((cpu->cr0 & X86_CR0_PG) && ((v ^ cpu->efer) & X86_EFER_LME))
		return -1;
	uint64_t old = cpu->efer;
	cpu->efer = (v & ~X86_EFER_LMA) | (old & X86_EFER_LMA);
	if ((old ^ cpu->efer) & X86_EFER_NXE)
		sys_tlb_flush(cpu, SOFT_FLUSH_ALL, 0);
	soft_cpu_update_mode(cpu);
	cpu->block_stop = 1;
	return 0;
}

static int core_wrmsr(struct soft_cpu *cpu, uint32_t idx, uint64_t v)
{
	int fi;
	switch (idx) {
	case MSR_IA32_TSC: {
		uint64_t old = cpu->tsc_offset;
		cpu->tsc_offset = v - tsc_raw(cpu);
		if (cpu->sys && cpu->sys->tsc_written)
			cpu->sys->tsc_written(cpu->sys->opaque, old);
		return 0;
	}
	case MSR_BIOS_SIGN_ID: return 0; /* microcode update trigger: ignored */
	case SOFT_MSR_SPEC_CTRL: /* IBRS, BHI_DIS_S: held, no effect (cpuid.h) */
		if (v & ~SOFT_SPEC_CTRL_SUPPORTED)
			return -1;
		cpu->spec_ctrl = v;
		return 0;
	case SOFT_MSR_PRED_CMD: return (v & ~SOFT_PRED_CMD_IBPB) ? -1 : 0; /* IBPB: nothing to flush */
	case MSR_IA32_XSS: return (SOFT_MODEL_XSAVES && !(v & ~SOFT_XSS_SUPPORTED)) ? 0 : -1;
	case MSR_MCG_STATUS: return v ? -1 : 0;
	case MSR_SYSENTER_CS: cpu->sysenter_cs = v & 0xffffffff; return 0;
	case MSR_SYSENTER_ESP: case MSR_SYSENTER_EIP:
	case MSR_LSTAR: case MSR_CSTAR: case MSR_FS_BASE: case MSR_GS_BASE: case MSR_KERNEL_GS_BASE:
		if (!canonical(v))
			return -1;
		switch (idx) {
		case MSR_SYSENTER_ESP: cpu->sysenter_esp = v; break;
		case MSR_SYSENTER_EIP: cpu->sysenter_eip = v; break;
		case MSR_LSTAR: cpu->lstar = v; break;
		case MSR_CSTAR: cpu->cstar = v; break;
		case MSR_FS_BASE: cpu->seg[SEG_FS].base = v; break;
		case MSR_GS_BASE: cpu->seg[SEG_GS].base = v; break;
		default: cpu->kernel_gs_base = v; break;
		}
		return 0;
	case MSR_IA32_MISC_ENABLE: cpu->misc_enable = v; return 0;
	case MSR_IA32_CR_PAT:
		if (!pat_ok(v))
			return -1;
		cpu->pat = v;
		sys_tlb_flush(cpu, SOFT_FLUSH_ALL, 0);
		return 0;
	case MSR_MTRR_DEF_TYPE:
		if ((v & ~0xcffULL) || !mtrr_type_ok(v & 0xff))
			return -1;
		cpu->mtrr_def_type = v;
		return 0;
	case MSR_EFER: return write_efer(cpu, v);
	case MSR_STAR: cpu->star = v; return 0;
	case MSR_SFMASK:
		if (v >> 32)
			return -1;
		cpu->sfmask = v;
		return 0;
	case MSR_TSC_AUX:
		if (v >> 32)
			return -1;
		cpu->tsc_aux = v;
		return 0;
	case MSR_PLATFORM_ID: case MSR_MTRRCAP: case MSR_MCG_CAP: case SOFT_MSR_ARCH_CAPABILITIES:
		return -1; /* read-only */
	default:
		break;
	}
	if (idx >= MSR_MTRR_PHYS0 && idx < MSR_MTRR_PHYS0 + 2 * MTRR_VCNT) {
		unsigned i = idx - MSR_MTRR_PHYS0;
		if (i & 1) { /* PhysMask: valid bit 11, mask bits 12..MAXPHYADDR-1 */
			if (v & (0x7ffULL | ~((1ULL << MAXPHYADDR) - 1)))
				return -1;
		} else if ((v & (0xf00ULL | ~((1ULL << MAXPHYADDR) - 1))) || !mtrr_type_ok(v & 0xff)) {
			return -1;
		}
		cpu->mtrr_var[i] = v;
		return 0;
	}
	if ((fi = fixed_index(idx)) >= 0) {
		for (int b = 0; b < 8; b++)
			if (!mtrr_type_ok((v >> (8 * b)) & 0xff))
				return -1;
		cpu->mtrr_fixed[fi] = v;
		return 0;
	}
	return 1;
}

int soft_cpu_rdmsr(struct soft_cpu *cpu, uint32_t msr, uint64_t *val)
{
	uint64_t v = 0;
	int r = core_rdmsr(cpu, msr, &v);
	if (r < 0)
		return -1;
	if (r == 1) {
		if (cpu->sys && cpu->sys->rdmsr) {
			if (cpu->sys->rdmsr(cpu->sys->opaque, msr, &v) < 0)
				return -1;
		} else if (msr == MSR_IA32_APIC_BASE) {
			v = cpu->apic_base; /* no engine (tests): the stored value */
		} else {
			return -1;
		}
	}
	*val = v;
	return 0;
}

int soft_cpu_wrmsr(struct soft_cpu *cpu, uint32_t msr, uint64_t val)
{
	int r = core_wrmsr(cpu, msr, val);
	if (r != 1)
		return r;
	if (cpu->sys && cpu->sys->wrmsr) {
		if (cpu->sys->wrmsr(cpu->sys->opaque, msr, val) < 0)
			return -1;
	} else if (msr != MSR_IA32_APIC_BASE) {
		return -1;
	}
	if (msr == MSR_IA32_APIC_BASE)
		cpu->apic_base = val;
	return 0;
}

int soft_exec_rdmsr(struct soft_cpu *cpu, const struct x86_insn *in)
{
	if (cpu->cpl != 0 || vm86(cpu))
		return soft_gp0(cpu);
	uint64_t v;
	if (soft_cpu_rdmsr(cpu, (uint32_t)cpu->gpr[GPR_RCX], &v) < 0)
		return soft_gp0(cpu);
	cpu->gpr[GPR_RAX] = (uint32_t)v;
	cpu->gpr[GPR_RDX] = v >> 32;
	return SOFT_OK;
}

int soft_exec_wrmsr(struct soft_cpu *cpu, const struct x86_insn *in)
{
	if (cpu->cpl != 0 || vm86(cpu))
		return soft_gp0(cpu);
	uint64_t v = (cpu->gpr[GPR_RAX] & 0xffffffff) | (cpu->gpr[GPR_RDX] << 32);
	if (soft_cpu_wrmsr(cpu, (uint32_t)cpu->gpr[GPR_RCX], v) < 0)
		return soft_gp0(cpu);
	return SOFT_OK;
}
