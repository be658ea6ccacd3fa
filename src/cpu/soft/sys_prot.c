/* Memory-protection instructions (SDM vol. 2 and vol. 3, 4.6): STAC and CLAC
 * (SMAP's EFLAGS.AC override), RDPKRU and WRPKRU (protection keys for
 * user-mode pages).  The checks themselves live in mmu/page_walk.c. */
#include "cpuid.h"
#include "align_check.h"
#include "sys.h"

#define CR4_PKE (1ULL << 22)

/* CLAC / STAC: #UD at CPL > 0 (and in virtual-8086 mode, a CPL 3 mode);
 * the CPU is SMAP-capable (CPUID.7.0:EBX.SMAP), so CR4.SMAP itself is not
 * required.  EFLAGS.AC changes no cached translation: the MMU's rights
 * class reads it on every access. */
int soft_exec_clac(struct soft_cpu *cpu, const struct x86_insn *in)
{
	(void)in;
	if (cpu->cpl != 0 || vm86(cpu))
		return soft_ud(cpu);
	cpu->rflags &= ~RF_AC;
	soft_ac_refresh(cpu);
	return SOFT_OK;
}

int soft_exec_stac(struct soft_cpu *cpu, const struct x86_insn *in)
{
	(void)in;
	if (cpu->cpl != 0 || vm86(cpu))
		return soft_ud(cpu);
	cpu->rflags |= RF_AC;
	soft_ac_refresh(cpu); /* at CPL 0: #AC needs CPL 3, but a later return keeps AC */
	return SOFT_OK;
}

/* RDPKRU: #UD unless CR4.PKE; #GP(0) if ECX != 0; EDX:EAX = 0:PKRU.  Any
 * CPL. */
int soft_exec_rdpkru(struct soft_cpu *cpu, const struct x86_insn *in)
{
	(void)in;
	if (!SOFT_MODEL_PKU || !(cpu->cr4 & CR4_PKE))
		return soft_ud(cpu);
	if ((uint32_t)cpu->gpr[GPR_RCX])
		return soft_gp0(cpu);
	cpu->gpr[GPR_RAX] = cpu->pkru;
	cpu->gpr[GPR_RDX] = 0;
	return SOFT_OK;
}

void sys_pkru_load(struct soft_cpu *cpu, uint32_t v)
{
	if (v != cpu->pkru) {
		cpu->pkru = v;
		if (cpu->sys && cpu->sys->tlb_flush)
			cpu->sys->tlb_flush(cpu->sys->opaque, SOFT_FLUSH_ALL, 0);
	}
}

/* WRPKRU: #UD unless CR4.PKE; #GP(0) if ECX or EDX != 0; PKRU = EAX.  The
 * TLB caches rights that include the key check, so it is flushed. */
int soft_exec_wrpkru(struct soft_cpu *cpu, const struct x86_insn *in)
{
	(void)in;
	if (!SOFT_MODEL_PKU || !(cpu->cr4 & CR4_PKE))
		return soft_ud(cpu);
	if ((uint32_t)cpu->gpr[GPR_RCX] || (uint32_t)cpu->gpr[GPR_RDX])
		return soft_gp0(cpu);
	sys_pkru_load(cpu, (uint32_t)cpu->gpr[GPR_RAX]);
	return SOFT_OK;
}
