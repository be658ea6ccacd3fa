/* CMPXCHG CMPXCHG8B CMPXCHG16B XADD.  LOCK legality is checked by the
 * decoder (#UD unless the row allows it and the destination is memory).
 * A vCPU's memory ops are its only path to memory; cross-vCPU atomicity of
 * LOCKed read-modify-writes is the memory layer's job (part 2). */
#include "exec.h"

int soft_exec_cmpxchg(struct soft_cpu *cpu, const struct x86_insn *in)
{
	unsigned sz = in->size;
	bool rex = has_rex(in);
	uint64_t acc = reg_get(cpu, GPR_RAX, sz, true), src = reg_get(cpu, in->reg, sz, rex);
	uint64_t d, la = 0;
	int e;
	if (in->mod == 3) {
		d = reg_get(cpu, in->rm, sz, rex);
	} else {
		la = soft_ea(cpu, in);
		d = 0;
		e = soft_read_rmw(cpu, la, &d, sz);
		if (e)
			return e;
	}
	lf_set(cpu, LF_SUB, sz, acc - d, acc, d);
	if ((acc & sz_mask(sz)) == (d & sz_mask(sz))) {
		if (in->mod == 3) {
			reg_set(cpu, in->rm, sz, rex, src);
			return SOFT_OK;
		}
		return mem_write(cpu, la, sz, src);
	}
	if (in->mod != 3) {
		/* the destination is written back with its own value */
		e = mem_write(cpu, la, sz, d);
		if (e)
			return e;
	}
	reg_set(cpu, GPR_RAX, sz, true, d);
	return SOFT_OK;
}

/* CMPXCHG8B m64 / CMPXCHG16B m128 (REX.W) */
int soft_exec_cmpxchg8b(struct soft_cpu *cpu, const struct x86_insn *in)
{
	bool wide = in->rex & 8;
	uint64_t la = soft_ea(cpu, in);
	int e;
	if (wide) {
		uint64_t m[2] = { 0, 0 };
		if (la & 15)
			return soft_gp0(cpu);
		e = soft_read_rmw(cpu, la, m, 16);
		if (e)
			return e;
		bool eq = m[0] == cpu->gpr[GPR_RAX] && m[1] == cpu->gpr[GPR_RDX];
		if (eq) {
			uint64_t n[2] = { cpu->gpr[GPR_RBX], cpu->gpr[GPR_RCX] };
			e = soft_write(cpu, la, n, 16);
		} else {
			e = soft_write(cpu, la, m, 16);
		}
		if (e)
			return e;
		if (!eq) {
			cpu->gpr[GPR_RAX] = m[0];
			cpu->gpr[GPR_RDX] = m[1];
		}
		flags_put(cpu, X86_RFLAGS_ZF, eq ? X86_RFLAGS_ZF : 0);
		return SOFT_OK;
	}
	uint64_t m = 0;
	e = soft_read_rmw(cpu, la, &m, 8);
	if (e)
		return e;
	uint64_t cmp = (cpu->gpr[GPR_RAX] & 0xffffffff) | (cpu->gpr[GPR_RDX] << 32);
	bool eq = m == cmp;
	uint64_t n = eq ? ((cpu->gpr[GPR_RBX] & 0xffffffff) | (cpu->gpr[GPR_RCX] << 32)) : m;
	e = mem_write(cpu, la, 8, n);
	if (e)
		return e;
	if (!eq) {
		cpu->gpr[GPR_RAX] = m & 0xffffffff;
		cpu->gpr[GPR_RDX] = m >> 32;
	}
	flags_put(cpu, X86_RFLAGS_ZF, eq ? X86_RFLAGS_ZF : 0);
	return SOFT_OK;
}

int soft_exec_xadd(struct soft_cpu *cpu, const struct x86_insn *in)
{
	unsigned sz = in->size;
	bool rex = has_rex(in);
	uint64_t s = reg_get(cpu, in->reg, sz, rex), d, la = 0;
	int e;
	if (in->mod == 3) {
		d = reg_get(cpu, in->rm, sz, rex);
	} else {
		la = soft_ea(cpu, in);
		d = 0;
		e = soft_read_rmw(cpu, la, &d, sz);
		if (e)
			return e;
	}
	uint64_t r = d + s;
	if (in->mod == 3) {
		reg_set(cpu, in->reg, sz, rex, d);
		reg_set(cpu, in->rm, sz, rex, r);
	} else {
		e = mem_write(cpu, la, sz, r);
		if (e)
			return e;
		reg_set(cpu, in->reg, sz, rex, d);
	}
	lf_set(cpu, LF_ADD, sz, r, d, s);
	return SOFT_OK;
}
