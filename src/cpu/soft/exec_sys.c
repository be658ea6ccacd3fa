/* Minimal system instructions the integer core needs for boot code and for
 * exact privilege faults: MOV to/from CR0/2/3/4/8, CLTS, SMSW, LMSW.  The
 * system layer (paging, MSRs, descriptor tables, task state) owns the rest
 * and may replace these. */
#include "exec.h"

#define CR4_KNOWN (0x3ff | (1u << 11) | (1u << 13) | (1u << 16) | (1u << 17) | (1u << 18) | \
		   (1u << 20) | (1u << 21) | (1u << 22))

static void cr_changed(struct soft_cpu *cpu)
{
	/* EFER.LMA follows CR0.PG with EFER.LME */
	if ((cpu->cr0 & X86_CR0_PG) && (cpu->efer & X86_EFER_LME))
		cpu->efer |= X86_EFER_LMA;
	else
		cpu->efer &= ~X86_EFER_LMA;
	soft_cpu_update_mode(cpu);
	soft_cpu_flush_code_tlb(cpu);
}

int soft_exec_mov_cr(struct soft_cpu *cpu, const struct x86_insn *in)
{
	if (cpu->cpl != 0)
		return soft_gp0(cpu);
	unsigned cr = in->reg, sz = cpu->mode == SOFT_MODE_64 ? 8 : 4;
	bool to_cr = in->opcode == 0x22;
	uint64_t *p;
	switch (cr) {
	case 0: p = &cpu->cr0; break;
	case 2: p = &cpu->cr2; break;
	case 3: p = &cpu->cr3; break;
	case 4: p = &cpu->cr4; break;
	case 8: p = &cpu->cr8; break;
	default: return soft_ud(cpu);
	}
	if (!to_cr) {
		reg_set(cpu, in->rm, sz, true, *p);
		return SOFT_OK;
	}
	uint64_t v = reg_get(cpu, in->rm, sz, true);
	switch (cr) {
	case 0:
		if ((v >> 32) || ((v & X86_CR0_PG) && !(v & X86_CR0_PE)) ||
		    ((v & X86_CR0_NW) && !(v & X86_CR0_CD)))
			return soft_gp0(cpu);
		v |= X86_CR0_ET;
		break;
	case 4:
		if (v & ~(uint64_t)CR4_KNOWN)
			return soft_gp0(cpu);
		break;
	case 8:
		if (v >> 4)
			return soft_gp0(cpu);
		break;
	default:
		break;
	}
	*p = v;
	if (cr != 2 && cr != 8)
		cr_changed(cpu);
	return SOFT_OK;
}

int soft_exec_clts(struct soft_cpu *cpu, const struct x86_insn *in)
{
	if (cpu->cpl != 0)
		return soft_gp0(cpu);
	cpu->cr0 &= ~X86_CR0_TS;
	return SOFT_OK;
}

int soft_exec_smsw(struct soft_cpu *cpu, const struct x86_insn *in)
{
	if ((cpu->cr4 & (1u << 11)) && cpu->cpl != 0) /* CR4.UMIP */
		return soft_gp0(cpu);
	return rm_write(cpu, in, in->mod == 3 ? in->opsize : 2, cpu->cr0 & 0xffffffff);
}

int soft_exec_lmsw(struct soft_cpu *cpu, const struct x86_insn *in)
{
	if (cpu->cpl != 0)
		return soft_gp0(cpu);
	uint64_t v;
	int e = rm_read(cpu, in, 2, &v);
	if (e)
		return e;
	/* PE can be set but not cleared; MP EM TS are loaded */
	cpu->cr0 = (cpu->cr0 & ~0xeULL) | (v & 0xe) | (cpu->cr0 & 1) | (v & 1);
	cr_changed(cpu);
	return SOFT_OK;
}

/* ---- MSRs: the architectural ones the core itself models ---- */

static uint64_t *msr_slot(struct soft_cpu *cpu, uint32_t idx)
{
	switch (idx) {
	case MSR_STAR: return &cpu->star;
	case MSR_LSTAR: return &cpu->lstar;
	case MSR_CSTAR: return &cpu->cstar;
	case MSR_SFMASK: return &cpu->sfmask;
	case MSR_KERNEL_GS_BASE: return &cpu->kernel_gs_base;
	case MSR_TSC_AUX: return &cpu->tsc_aux;
	case MSR_IA32_CR_PAT: return &cpu->pat;
	case MSR_IA32_MISC_ENABLE: return &cpu->misc_enable;
	case MSR_IA32_APIC_BASE: return &cpu->apic_base;
	case 0x174: return &cpu->sysenter_cs;
	case 0x175: return &cpu->sysenter_esp;
	case 0x176: return &cpu->sysenter_eip;
	default: return NULL;
	}
}

/* RDMSR/WRMSR: #GP(0) at CPL > 0 and for MSRs that do not exist (the
 * system layer adds APIC/kvmclock/MTRR ones). */
int soft_exec_rdmsr(struct soft_cpu *cpu, const struct x86_insn *in)
{
	if (cpu->cpl != 0)
		return soft_gp0(cpu);
	uint32_t idx = (uint32_t)cpu->gpr[GPR_RCX];
	uint64_t v, *p = msr_slot(cpu, idx);
	if (p)
		v = *p;
	else if (idx == MSR_EFER)
		v = cpu->efer;
	else if (idx == MSR_FS_BASE)
		v = cpu->seg[SEG_FS].base;
	else if (idx == MSR_GS_BASE)
		v = cpu->seg[SEG_GS].base;
	else if (idx == MSR_IA32_TSC)
		v = cpu->ops->rdtsc ? cpu->ops->rdtsc(cpu->ops_opaque) : 0;
	else
		return soft_gp0(cpu);
	cpu->gpr[GPR_RAX] = (uint32_t)v;
	cpu->gpr[GPR_RDX] = v >> 32;
	return SOFT_OK;
}

int soft_exec_wrmsr(struct soft_cpu *cpu, const struct x86_insn *in)
{
	if (cpu->cpl != 0)
		return soft_gp0(cpu);
	uint32_t idx = (uint32_t)cpu->gpr[GPR_RCX];
	uint64_t v = (cpu->gpr[GPR_RAX] & 0xffffffff) | (cpu->gpr[GPR_RDX] << 32);
	uint64_t *p = msr_slot(cpu, idx);
	switch (idx) {
	case MSR_EFER:
		/* SCE LME NXE writable; LMA follows paging; LME locked while paging */
		if (v & ~(X86_EFER_SCE | X86_EFER_LME | X86_EFER_LMA | X86_EFER_NXE))
			return soft_gp0(cpu);
		if ((cpu->cr0 & X86_CR0_PG) && ((v ^ cpu->efer) & X86_EFER_LME))
			return soft_gp0(cpu);
		cpu->efer = (v & ~X86_EFER_LMA) | (cpu->efer & X86_EFER_LMA);
		soft_cpu_update_mode(cpu);
		return SOFT_OK;
	case MSR_FS_BASE: case MSR_GS_BASE: case MSR_KERNEL_GS_BASE:
	case MSR_LSTAR: case MSR_CSTAR: case 0x175: case 0x176:
		if (!canonical(v))
			return soft_gp0(cpu);
		break;
	case MSR_TSC_AUX:
		if (v >> 32)
			return soft_gp0(cpu);
		break;
	default:
		break;
	}
	if (idx == MSR_FS_BASE)
		cpu->seg[SEG_FS].base = v;
	else if (idx == MSR_GS_BASE)
		cpu->seg[SEG_GS].base = v;
	else if (p)
		*p = v;
	else
		return soft_gp0(cpu); /* includes IA32_TSC writes: the time source is the ops' */
	return SOFT_OK;
}
