/* RDTSC RDTSCP RDPID, IN/OUT, CLI/STI, SALC, BCD adjust (AAA AAS AAM AAD DAA DAS). */
#include "cpuid.h"
#include "exec.h"
#include "sys.h"

int soft_io_allowed(struct soft_cpu *cpu, uint16_t port, unsigned size);

/* The guest TSC of this vCPU now: the one rule (the machine's TSC through
 * ops->rdtsc, plus the offset an IA32_TSC write made), for the handlers
 * below and the translator's inline RDTSC (jit/tscinline.c). */
uint64_t soft_tsc_now(struct soft_cpu *cpu)
{
	return (cpu->ops->rdtsc ? cpu->ops->rdtsc(cpu->ops_opaque) : 0) + cpu->tsc_offset;
}

int soft_exec_rdtsc(struct soft_cpu *cpu, const struct x86_insn *in)
{
	if ((cpu->cr4 & (1u << 2)) && cpu->cpl != 0) /* CR4.TSD */
		return soft_gp0(cpu);
	uint64_t t = soft_tsc_now(cpu);
	cpu->gpr[GPR_RAX] = (uint32_t)t;
	cpu->gpr[GPR_RDX] = t >> 32;
	return SOFT_OK;
}

int soft_exec_rdtscp(struct soft_cpu *cpu, const struct x86_insn *in)
{
	int e = soft_exec_rdtsc(cpu, in);
	if (e)
		return e;
	cpu->gpr[GPR_RCX] = (uint32_t)cpu->tsc_aux;
	return SOFT_OK;
}

/* RDPID (SDM vol. 2): IA32_TSC_AUX into r64 in 64-bit mode, r32 elsewhere
 * (REX.W and 66 change nothing); any CPL, no CR4.TSD check, flags
 * unaffected. */
int soft_exec_rdpid(struct soft_cpu *cpu, const struct x86_insn *in)
{
	if (!SOFT_MODEL_RDPID)
		return soft_ud(cpu);
	reg_set(cpu, in->rm, cpu->mode == SOFT_MODE_64 ? 8 : 4, true, cpu->tsc_aux);
	return SOFT_OK;
}

static int do_in(struct soft_cpu *cpu, const struct x86_insn *in, uint16_t port)
{
	unsigned sz = in->size;
	int e = soft_io_allowed(cpu, port, sz);
	if (e)
		return e;
	uint32_t v = 0;
	struct soft_fault f;
	if (cpu->ops->pio_in(cpu->ops_opaque, port, sz, &v, &f))
		return soft_raise(cpu, f.vector, f.has_error, f.error_code);
	reg_set(cpu, GPR_RAX, sz, true, v);
	return SOFT_OK;
}

static int do_out(struct soft_cpu *cpu, const struct x86_insn *in, uint16_t port, unsigned sz)
{
	int e = soft_io_allowed(cpu, port, sz);
	if (e)
		return e;
	struct soft_fault f;
	if (cpu->ops->pio_out(cpu->ops_opaque, port, sz, (uint32_t)reg_get(cpu, GPR_RAX, sz, true), &f))
		return soft_raise(cpu, f.vector, f.has_error, f.error_code);
	return SOFT_OK;
}

static unsigned out_size(const struct x86_insn *in)
{
	return X86_OPND_SIZE(in->op->opnd[1]) == OS_b ? 1 : in->opsize == 2 ? 2 : 4;
}

int soft_exec_in_i(struct soft_cpu *cpu, const struct x86_insn *in)
{
	return do_in(cpu, in, (uint16_t)(in->imm & 0xff));
}

int soft_exec_in_dx(struct soft_cpu *cpu, const struct x86_insn *in)
{
	return do_in(cpu, in, (uint16_t)cpu->gpr[GPR_RDX]);
}

int soft_exec_out_i(struct soft_cpu *cpu, const struct x86_insn *in)
{
	return do_out(cpu, in, (uint16_t)(in->imm & 0xff), out_size(in));
}

int soft_exec_out_dx(struct soft_cpu *cpu, const struct x86_insn *in)
{
	return do_out(cpu, in, (uint16_t)cpu->gpr[GPR_RDX], out_size(in));
}

/* CLI/STI: IOPL-sensitive (#GP when CPL > IOPL in protected mode), except
 * that with VME in virtual-8086 mode or PVI at CPL 3 they clear/set VIF
 * (STI: #GP if VIP is set).  STI that sets IF starts the interrupt shadow
 * (STI ends a decoded block, F_STOP, so soft_cpu_run sees it at once). */
int soft_exec_cli(struct soft_cpu *cpu, const struct x86_insn *in)
{
	if ((cpu->cr0 & X86_CR0_PE) && cpu->cpl > ((cpu->rflags >> 12) & 3)) {
		if (!sys_vif_for_if(cpu))
			return soft_gp0(cpu);
		cpu->rflags &= ~RF_VIF;
		return SOFT_OK;
	}
	cpu->rflags &= ~X86_RFLAGS_IF;
	return SOFT_OK;
}

int soft_exec_sti(struct soft_cpu *cpu, const struct x86_insn *in)
{
	if ((cpu->cr0 & X86_CR0_PE) && cpu->cpl > ((cpu->rflags >> 12) & 3)) {
		if (!sys_vif_for_if(cpu) || (cpu->rflags & RF_VIP))
			return soft_gp0(cpu);
		cpu->rflags |= RF_VIF;
		return SOFT_OK;
	}
	if (!(cpu->rflags & X86_RFLAGS_IF)) {
		cpu->shadow = SOFT_SHADOW_STI; /* interrupts stay blocked for one more instruction */
		soft_cpu_if_set(cpu);
	}
	cpu->rflags |= X86_RFLAGS_IF;
	return SOFT_OK;
}

int soft_exec_salc(struct soft_cpu *cpu, const struct x86_insn *in)
{
	reg_set(cpu, GPR_RAX, 1, true, soft_cf(cpu) ? 0xff : 0);
	return SOFT_OK;
}

/* ---- BCD (invalid in 64-bit mode: the decoder raises #UD there) ---- */

int soft_exec_aaa(struct soft_cpu *cpu, const struct x86_insn *in)
{
	uint64_t f = soft_get_rflags(cpu);
	uint64_t ax = cpu->gpr[GPR_RAX] & 0xffff;
	bool adj = (ax & 0xf) > 9 || (f & X86_RFLAGS_AF);
	if (adj)
		ax = (ax + 0x106) & 0xffff;
	ax &= 0xff0f;
	reg_set(cpu, GPR_RAX, 2, true, ax);
	flags_put(cpu, X86_RFLAGS_AF | X86_RFLAGS_CF, adj ? X86_RFLAGS_AF | X86_RFLAGS_CF : 0);
	return SOFT_OK;
}

int soft_exec_aas(struct soft_cpu *cpu, const struct x86_insn *in)
{
	uint64_t f = soft_get_rflags(cpu);
	uint64_t ax = cpu->gpr[GPR_RAX] & 0xffff;
	bool adj = (ax & 0xf) > 9 || (f & X86_RFLAGS_AF);
	if (adj) {
		uint64_t al = (ax - 6) & 0xff, ah = ((ax >> 8) - 1) & 0xff;
		ax = (ah << 8) | al;
	}
	ax &= 0xff0f;
	reg_set(cpu, GPR_RAX, 2, true, ax);
	flags_put(cpu, X86_RFLAGS_AF | X86_RFLAGS_CF, adj ? X86_RFLAGS_AF | X86_RFLAGS_CF : 0);
	return SOFT_OK;
}

int soft_exec_aam(struct soft_cpu *cpu, const struct x86_insn *in)
{
	unsigned base = in->imm & 0xff;
	if (!base)
		return soft_raise(cpu, X86_EXC_DE, false, 0);
	unsigned al = cpu->gpr[GPR_RAX] & 0xff;
	unsigned ah = al / base;
	al %= base;
	reg_set(cpu, GPR_RAX, 2, true, (ah << 8) | al);
	flags_put(cpu, ARITH_FLAGS, szp(al, 1));
	return SOFT_OK;
}

int soft_exec_aad(struct soft_cpu *cpu, const struct x86_insn *in)
{
	unsigned base = in->imm & 0xff;
	unsigned al = cpu->gpr[GPR_RAX] & 0xff, ah = (cpu->gpr[GPR_RAX] >> 8) & 0xff;
	al = (al + ah * base) & 0xff;
	reg_set(cpu, GPR_RAX, 2, true, al);
	flags_put(cpu, ARITH_FLAGS, szp(al, 1));
	return SOFT_OK;
}

static int daa_das(struct soft_cpu *cpu, bool sub)
{
	uint64_t f = soft_get_rflags(cpu);
	unsigned al = cpu->gpr[GPR_RAX] & 0xff, old = al;
	bool cf = f & X86_RFLAGS_CF, af = false, ncf = false;
	if ((al & 0xf) > 9 || (f & X86_RFLAGS_AF)) {
		al = sub ? al - 6 : al + 6;
		ncf = cf || (sub ? old < 6 : al > 0xff);
		al &= 0xff;
		af = true;
	}
	if (old > 0x99 || cf) {
		al = (sub ? al - 0x60 : al + 0x60) & 0xff;
		ncf = true;
	}
	reg_set(cpu, GPR_RAX, 1, true, al);
	flags_put(cpu, ARITH_FLAGS & ~X86_RFLAGS_OF,
		  szp(al, 1) | (af ? X86_RFLAGS_AF : 0) | (ncf ? X86_RFLAGS_CF : 0));
	return SOFT_OK;
}

int soft_exec_daa(struct soft_cpu *cpu, const struct x86_insn *in)
{
	return daa_das(cpu, false);
}

int soft_exec_das(struct soft_cpu *cpu, const struct x86_insn *in)
{
	return daa_das(cpu, true);
}

/* CRC32 (SSE4.2): CRC-32C (Castagnoli), reflected, no final inversion. */
static uint32_t crc32c(uint32_t crc, uint64_t v, unsigned bytes)
{
	for (unsigned i = 0; i < bytes; i++) {
		crc ^= (uint8_t)(v >> (8 * i));
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0x82f63b78u & (0u - (crc & 1)));
	}
	return crc;
}

int soft_exec_crc32(struct soft_cpu *cpu, const struct x86_insn *in)
{
	unsigned ss = in->opcode == 0xf0 ? 1 : in->opsize;
	uint64_t v;
	int e = rm_read(cpu, in, ss, &v);
	if (e)
		return e;
	uint32_t c = crc32c((uint32_t)cpu->gpr[in->reg], v, ss);
	cpu->gpr[in->reg] = c; /* 32- or 64-bit destination: zero-extended */
	return SOFT_OK;
}
