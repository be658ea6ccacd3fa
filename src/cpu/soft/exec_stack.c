/* PUSH POP PUSHF POPF PUSHA POPA ENTER LEAVE (and the stack helpers). */
#include "exec.h"
#include "sys.h"

unsigned soft_stack_size(const struct soft_cpu *cpu)
{
	if (cpu->mode == SOFT_MODE_64)
		return 8;
	return cpu->seg[SEG_SS].db ? 4 : 2;
}

static inline uint64_t sp_mask(unsigned ss)
{
	return ss == 8 ? ~0ULL : ss == 4 ? 0xffffffffULL : 0xffffULL;
}

static inline void sp_set(struct soft_cpu *cpu, unsigned ss, uint64_t v)
{
	if (ss == 8)
		cpu->gpr[GPR_RSP] = v;
	else if (ss == 4)
		cpu->gpr[GPR_RSP] = (uint32_t)v;  /* ESP writes zero-extend (only outside 64-bit mode) */
	else
		cpu->gpr[GPR_RSP] = (cpu->gpr[GPR_RSP] & ~0xffffULL) | (v & 0xffff);
}

/* Stack accesses: a non-canonical address is #SS(0), not #GP(0). */
static int ss_check(struct soft_cpu *cpu, uint64_t la, unsigned len)
{
	if (cpu->mode == SOFT_MODE_64 && (!canonical(la) || !canonical(la + len - 1)))
		return soft_raise(cpu, X86_EXC_SS, true, 0);
	return SOFT_OK;
}

/* Stack accesses check SS's limit (expand-up or expand-down, #SS(0)) in
 * legacy modes, the canonical address in 64-bit mode. */
static int ss_read(struct soft_cpu *cpu, uint64_t off, unsigned len, uint64_t *v)
{
	uint64_t la = lin(cpu, SEG_SS, off);
	int e = ss_check(cpu, la, len);
	return e ? e : seg_read(cpu, SEG_SS, off, len, v);
}

static int ss_write(struct soft_cpu *cpu, uint64_t off, unsigned len, uint64_t v)
{
	uint64_t la = lin(cpu, SEG_SS, off);
	int e = ss_check(cpu, la, len);
	return e ? e : seg_write(cpu, SEG_SS, off, len, v);
}

/* [off, off+len) of SS must be writable: checked without writing */
static int ss_probe(struct soft_cpu *cpu, uint64_t off, unsigned len)
{
	uint64_t la = lin(cpu, SEG_SS, off), v = 0;
	int e = ss_check(cpu, la, len);
	if (!e)
		e = soft_seg_check(cpu, SEG_SS, off, len, SOFT_SEG_R | SOFT_SEG_W);
	return e ? e : soft_read_rmw_lin(cpu, la, &v, len > 8 ? 8 : len);
}

int soft_stack_probe(struct soft_cpu *cpu, uint64_t below, unsigned len)
{
	unsigned ss = soft_stack_size(cpu);
	uint64_t sp = (cpu->gpr[GPR_RSP] - below) & sp_mask(ss);
	return ss_probe(cpu, sp, len);
}

int soft_push(struct soft_cpu *cpu, unsigned size, uint64_t v)
{
	unsigned ss = soft_stack_size(cpu);
	uint64_t sp = (cpu->gpr[GPR_RSP] - size) & sp_mask(ss);
	int e = ss_write(cpu, sp, size, v);
	if (e)
		return e;
	sp_set(cpu, ss, sp);
	return SOFT_OK;
}

int soft_pop(struct soft_cpu *cpu, unsigned size, uint64_t *v)
{
	unsigned ss = soft_stack_size(cpu);
	uint64_t sp = cpu->gpr[GPR_RSP] & sp_mask(ss);
	int e = ss_read(cpu, sp, size, v);
	if (e)
		return e;
	sp_set(cpu, ss, sp + size);
	return SOFT_OK;
}

int soft_exec_push_z(struct soft_cpu *cpu, const struct x86_insn *in)
{
	unsigned r = (in->opcode & 7) | ((in->rex & 1) << 3);
	return soft_push(cpu, in->opsize, reg_get(cpu, r, in->opsize, true));
}

int soft_exec_pop_z(struct soft_cpu *cpu, const struct x86_insn *in)
{
	unsigned r = (in->opcode & 7) | ((in->rex & 1) << 3);
	uint64_t v;
	int e = soft_pop(cpu, in->opsize, &v);
	if (e)
		return e;
	reg_set(cpu, r, in->opsize, true, v);
	return SOFT_OK;
}

int soft_exec_push_i(struct soft_cpu *cpu, const struct x86_insn *in)
{
	return soft_push(cpu, in->opsize, in->imm);
}

int soft_exec_push_e(struct soft_cpu *cpu, const struct x86_insn *in)
{
	uint64_t v;
	int e = rm_read(cpu, in, in->opsize, &v);
	if (e)
		return e;
	return soft_push(cpu, in->opsize, v);
}

/* POP Ev: RSP is incremented before the destination address is computed. */
int soft_exec_pop_e(struct soft_cpu *cpu, const struct x86_insn *in)
{
	uint64_t v, old = cpu->gpr[GPR_RSP];
	int e = soft_pop(cpu, in->opsize, &v);
	if (e)
		return e;
	e = rm_write(cpu, in, in->opsize, v);
	if (e)
		cpu->gpr[GPR_RSP] = old;
	return e;
}

int soft_exec_pushf(struct soft_cpu *cpu, const struct x86_insn *in)
{
	if (sys_v86_iopl_trap(cpu)) /* IOPL-sensitive in virtual-8086 mode */
		return sys_v86_pushf(cpu, in->opsize);
	/* VM and RF are cleared in the pushed image */
	return soft_push(cpu, in->opsize, soft_get_rflags(cpu) & ~0x30000ULL);
}

int soft_exec_popf(struct soft_cpu *cpu, const struct x86_insn *in)
{
	if (sys_v86_iopl_trap(cpu)) /* IOPL-sensitive in virtual-8086 mode */
		return sys_v86_popf(cpu, in->opsize);
	uint64_t v;
	int e = soft_pop(cpu, in->opsize, &v);
	if (e)
		return e;
	uint64_t old = soft_get_rflags(cpu);
	/* changeable: CF PF AF ZF SF TF DF OF NT AC ID, IF if CPL <= IOPL, IOPL at CPL 0 */
	uint64_t mask = 0x244dd5 | 0x100;
	unsigned iopl = (old >> 12) & 3;
	if (cpu->cpl == 0)
		mask |= 0x3000;
	if (cpu->cpl <= iopl)
		mask |= X86_RFLAGS_IF;
	if (in->opsize == 2)
		mask &= 0xffff;
	soft_load_rflags(cpu, (old & ~mask) | (v & mask));
	return SOFT_OK;
}

int soft_exec_pusha(struct soft_cpu *cpu, const struct x86_insn *in)
{
	unsigned sz = in->opsize, ss = soft_stack_size(cpu);
	uint64_t sp = cpu->gpr[GPR_RSP];
	for (unsigned i = 0; i < 8; i++) {
		uint64_t v = i == GPR_RSP ? sp : cpu->gpr[i];
		uint64_t a = (sp - (i + 1) * sz) & sp_mask(ss);
		int e = ss_write(cpu, a, sz, v);
		if (e)
			return e;
	}
	sp_set(cpu, ss, sp - 8 * sz);
	return SOFT_OK;
}

int soft_exec_popa(struct soft_cpu *cpu, const struct x86_insn *in)
{
	unsigned sz = in->opsize, ss = soft_stack_size(cpu);
	uint64_t sp = cpu->gpr[GPR_RSP], v[8];
	for (unsigned i = 0; i < 8; i++) {
		uint64_t a = (sp + (7 - i) * sz) & sp_mask(ss);
		int e = ss_read(cpu, a, sz, &v[i]);
		if (e)
			return e;
	}
	for (unsigned i = 0; i < 8; i++)
		if (i != GPR_RSP)
			reg_set(cpu, i, sz, true, v[i]);
	sp_set(cpu, ss, sp + 8 * sz);
	return SOFT_OK;
}

int soft_exec_enter(struct soft_cpu *cpu, const struct x86_insn *in)
{
	unsigned sz = in->opsize, ss = soft_stack_size(cpu);
	unsigned level = in->imm2 & 31;
	uint64_t alloc = in->imm & 0xffff;
	uint64_t sp = cpu->gpr[GPR_RSP], bp = cpu->gpr[GPR_RBP];
	uint64_t m = sp_mask(ss);
	sp = (sp - sz) & m;
	int e = ss_write(cpu, sp, sz, bp);
	if (e)
		return e;
	uint64_t frame = sp;
	if (level > 0) {
		for (unsigned i = 1; i < level; i++) {
			uint64_t v;
			bp = (bp - sz) & m;
			e = ss_read(cpu, bp, sz, &v);
			if (e)
				return e;
			sp = (sp - sz) & m;
			e = ss_write(cpu, sp, sz, v);
			if (e)
				return e;
		}
		sp = (sp - sz) & m;
		e = ss_write(cpu, sp, sz, frame);
		if (e)
			return e;
	}
	/* as on hardware: after the frame is written, the final stack pointer is
	 * checked for writability before RSP/RBP are committed */
	if (alloc || level) {
		e = ss_probe(cpu, (sp - alloc) & m, sz);
		if (e)
			return e;
	}
	reg_set(cpu, GPR_RBP, sz, true, frame);
	sp_set(cpu, ss, sp - alloc);
	return SOFT_OK;
}

int soft_exec_leave(struct soft_cpu *cpu, const struct x86_insn *in)
{
	unsigned ss = soft_stack_size(cpu);
	uint64_t old = cpu->gpr[GPR_RSP], v;
	sp_set(cpu, ss, cpu->gpr[GPR_RBP]);
	int e = soft_pop(cpu, in->opsize, &v);
	if (e) {
		cpu->gpr[GPR_RSP] = old;
		return e;
	}
	reg_set(cpu, GPR_RBP, in->opsize, true, v);
	return SOFT_OK;
}
