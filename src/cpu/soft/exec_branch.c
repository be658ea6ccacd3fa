/* Jcc JMP CALL RET LOOP JrCXZ, INT3 INT n INTO INT1, HLT. Near forms; far
 * transfers (segment loads) are part of the system layer. */
#include "exec.h"
#include "sys.h"

int soft_exec_jcc(struct soft_cpu *cpu, const struct x86_insn *in)
{
	if (cond_fast(cpu, in->arg))
		return branch_to(cpu, in, cpu->next_rip + in->imm);
	return SOFT_OK;
}

int soft_exec_jmp_rel(struct soft_cpu *cpu, const struct x86_insn *in)
{
	return branch_to(cpu, in, cpu->next_rip + in->imm);
}

int soft_exec_jmp_e(struct soft_cpu *cpu, const struct x86_insn *in)
{
	uint64_t t;
	int e = rm_read(cpu, in, in->opsize, &t);
	if (e)
		return e;
	return branch_to(cpu, in, t);
}

/* CALL: the stack slot is checked first (a #PF/#SS there wins, as on
 * hardware), then the target (#GP), then the return address is pushed. */
static int call_to(struct soft_cpu *cpu, const struct x86_insn *in, uint64_t t)
{
	uint64_t ret = cpu->next_rip;
	int e = soft_stack_probe(cpu, in->opsize, in->opsize);
	if (e)
		return e;
	e = branch_to(cpu, in, t);
	if (e)
		return e;
	e = soft_push(cpu, in->opsize, ret);
	if (e)
		cpu->next_rip = ret;
	return e;
}

int soft_exec_call_rel(struct soft_cpu *cpu, const struct x86_insn *in)
{
	return call_to(cpu, in, cpu->next_rip + in->imm);
}

int soft_exec_call_e(struct soft_cpu *cpu, const struct x86_insn *in)
{
	uint64_t t;
	int e = rm_read(cpu, in, in->opsize, &t);
	if (e)
		return e;
	return call_to(cpu, in, t);
}

int soft_exec_ret(struct soft_cpu *cpu, const struct x86_insn *in)
{
	uint64_t t, sp = cpu->gpr[GPR_RSP];
	int e = soft_pop(cpu, in->opsize, &t);
	if (e)
		return e;
	e = branch_to(cpu, in, t);
	if (e)
		cpu->gpr[GPR_RSP] = sp;
	return e;
}

int soft_exec_ret_imm(struct soft_cpu *cpu, const struct x86_insn *in)
{
	uint64_t t, old = cpu->gpr[GPR_RSP];
	int e = soft_pop(cpu, in->opsize, &t);
	if (e)
		return e;
	unsigned ss = soft_stack_size(cpu);
	uint64_t sp = cpu->gpr[GPR_RSP] + (in->imm & 0xffff);
	if (ss == 8)
		cpu->gpr[GPR_RSP] = sp;
	else if (ss == 4)
		cpu->gpr[GPR_RSP] = (uint32_t)sp;
	else
		cpu->gpr[GPR_RSP] = (cpu->gpr[GPR_RSP] & ~0xffffULL) | (sp & 0xffff);
	e = branch_to(cpu, in, t);
	if (e)
		cpu->gpr[GPR_RSP] = old;
	return e;
}

/* rCX of the address size, decremented. */
static inline uint64_t dec_count(struct soft_cpu *cpu, unsigned as)
{
	uint64_t c = (cpu->gpr[GPR_RCX] - 1) & sz_mask(as);
	reg_set(cpu, GPR_RCX, as, true, c);
	return c;
}

int soft_exec_loop(struct soft_cpu *cpu, const struct x86_insn *in)
{
	uint64_t c = dec_count(cpu, in->addrsize);
	bool take = c != 0;
	if (in->arg == 0)
		take = take && !soft_zf(cpu);
	else if (in->arg == 1)
		take = take && soft_zf(cpu);
	if (take)
		return branch_to(cpu, in, cpu->next_rip + in->imm);
	return SOFT_OK;
}

int soft_exec_jrcxz(struct soft_cpu *cpu, const struct x86_insn *in)
{
	if (!(cpu->gpr[GPR_RCX] & sz_mask(in->addrsize)))
		return branch_to(cpu, in, cpu->next_rip + in->imm);
	return SOFT_OK;
}

/* Software interrupts are reported to the caller with rip = next insn. */
static int soft_event(struct soft_cpu *cpu, unsigned vector, unsigned kind)
{
	cpu->exc.vector = (uint8_t)vector;
	cpu->exc.kind = (uint8_t)kind;
	cpu->exc.has_error = false;
	cpu->exc.error_code = 0;
	cpu->exc.cr2 = 0;
	cpu->exc.insn_rip = cpu->rip;
	cpu->rip = cpu->next_rip;
	cpu->icount++;
	cpu->jit_budget--; /* translated code's count of icount (jit/jit.c) */
	return SOFT_EXC;
}

int soft_exec_int3(struct soft_cpu *cpu, const struct x86_insn *in)
{
	return soft_event(cpu, X86_EXC_BP, SOFT_EV_INT3);
}

int soft_exec_int_ib(struct soft_cpu *cpu, const struct x86_insn *in)
{
	/* INT n (not INT3/INTO/INT1) in virtual-8086 mode: #GP(0) to the
	 * monitor while IOPL < 3, or redirected by VME (sys_v86.c) */
	if (vm86(cpu)) {
		int r = sys_v86_int(cpu, in->imm & 0xff);
		if (r != SYS_V86_TO_IDT)
			return r;
	}
	return soft_event(cpu, in->imm & 0xff, SOFT_EV_SOFTINT);
}

int soft_exec_into(struct soft_cpu *cpu, const struct x86_insn *in)
{
	if (!(soft_get_rflags(cpu) & X86_RFLAGS_OF))
		return SOFT_OK;
	return soft_event(cpu, X86_EXC_OF, SOFT_EV_INTO);
}

/* 62 /r BOUND Gv, Ma (legacy modes; 62 is EVEX in 64-bit mode): the signed
 * index in Gv must lie within the pair of signed bounds at Ma, lower bound
 * first (words for operand size 16, doublewords for 32), else #BR, a fault
 * (SDM vol. 2A, BOUND; vol. 3A 6.15, interrupt 5). */
int soft_exec_bound(struct soft_cpu *cpu, const struct x86_insn *in)
{
	unsigned sz = in->opsize == 2 ? 2 : 4;
	uint64_t la = soft_ea(cpu, in), lo, hi;
	int e = mem_read(cpu, la, sz, &lo);
	if (e)
		return e;
	e = mem_read(cpu, la + sz, sz, &hi);
	if (e)
		return e;
	int64_t idx = sz == 2 ? (int16_t)cpu->gpr[in->reg] : (int32_t)cpu->gpr[in->reg];
	int64_t l = sz == 2 ? (int16_t)lo : (int32_t)lo, h = sz == 2 ? (int16_t)hi : (int32_t)hi;
	if (idx < l || idx > h)
		return soft_raise(cpu, X86_EXC_BR, false, 0);
	return SOFT_OK;
}

int soft_exec_int1(struct soft_cpu *cpu, const struct x86_insn *in)
{
	return soft_event(cpu, X86_EXC_DB, SOFT_EV_INT1);
}

int soft_exec_hlt(struct soft_cpu *cpu, const struct x86_insn *in)
{
	if (cpu->cpl != 0)
		return soft_gp0(cpu);
	cpu->rip = cpu->next_rip;
	cpu->icount++;
	cpu->jit_budget--; /* translated code's count of icount (jit/jit.c) */
	return SOFT_HLT;
}

/* Explicit #UD rows (decode_table.c): UD0/UD1/UD2 and instructions of
 * features the model does not have.  Counted by identity for --stats. */
int soft_exec_ud(struct soft_cpu *cpu, const struct x86_insn *in)
{
	soft_count_ud(cpu, in->id);
	return soft_ud(cpu);
}

int soft_exec_vex(struct soft_cpu *cpu, const struct x86_insn *in)
{
	soft_count_ud(cpu, in->id);
	return soft_ud(cpu); /* AVX/AVX-512 are not advertised */
}
