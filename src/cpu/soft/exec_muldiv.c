/* MUL IMUL (one-, two- and three-operand forms) DIV IDIV with #DE.
 * MUL/IMUL: CF = OF = "the upper half is significant"; SF ZF AF PF are
 * undefined: we set SF ZF PF from the low result and clear AF (matching
 * current Intel and AMD cores for the common cases). */
#include "exec.h"

static void mul_flags(struct soft_cpu *cpu, unsigned sz, uint64_t lo, bool over)
{
	soft_flags_flush(cpu);
	cpu->rflags = (cpu->rflags & ~ARITH_FLAGS) | szp(lo, sz) |
		      (over ? (X86_RFLAGS_CF | X86_RFLAGS_OF) : 0);
}

int soft_exec_mul_e(struct soft_cpu *cpu, const struct x86_insn *in)
{
	unsigned sz = in->size;
	uint64_t b;
	int e = rm_read(cpu, in, sz, &b);
	if (e)
		return e;
	uint64_t a = reg_get(cpu, GPR_RAX, sz, true);
	unsigned __int128 p = (unsigned __int128)a * b;
	uint64_t lo, hi;
	switch (sz) {
	case 1:
		reg_set(cpu, GPR_RAX, 2, true, (uint64_t)p);
		lo = (uint64_t)p & 0xff;
		hi = ((uint64_t)p >> 8) & 0xff;
		break;
	case 2: case 4:
		lo = (uint64_t)p & sz_mask(sz);
		hi = ((uint64_t)p >> (8 * sz)) & sz_mask(sz);
		reg_set(cpu, GPR_RAX, sz, true, lo);
		reg_set(cpu, GPR_RDX, sz, true, hi);
		break;
	default:
		lo = (uint64_t)p;
		hi = (uint64_t)(p >> 64);
		cpu->gpr[GPR_RAX] = lo;
		cpu->gpr[GPR_RDX] = hi;
		break;
	}
	mul_flags(cpu, sz, lo, hi != 0);
	return SOFT_OK;
}

int soft_exec_imul_e(struct soft_cpu *cpu, const struct x86_insn *in)
{
	unsigned sz = in->size;
	uint64_t b;
	int e = rm_read(cpu, in, sz, &b);
	if (e)
		return e;
	int64_t sa = sz_sext(reg_get(cpu, GPR_RAX, sz, true), sz), sb = sz_sext(b, sz);
	__int128 p = (__int128)sa * sb;
	uint64_t lo = (uint64_t)p & sz_mask(sz);
	bool over = p != (__int128)sz_sext(lo, sz);
	switch (sz) {
	case 1:
		reg_set(cpu, GPR_RAX, 2, true, (uint64_t)p);
		break;
	case 2: case 4:
		reg_set(cpu, GPR_RAX, sz, true, lo);
		reg_set(cpu, GPR_RDX, sz, true, (uint64_t)(p >> (8 * sz)));
		break;
	default:
		cpu->gpr[GPR_RAX] = lo;
		cpu->gpr[GPR_RDX] = (uint64_t)(p >> 64);
		break;
	}
	mul_flags(cpu, sz, lo, over);
	return SOFT_OK;
}

static int imul2(struct soft_cpu *cpu, const struct x86_insn *in, uint64_t b)
{
	unsigned sz = in->opsize;
	uint64_t a;
	int e = rm_read(cpu, in, sz, &a);
	if (e)
		return e;
	__int128 p = (__int128)sz_sext(a, sz) * sz_sext(b, sz);
	uint64_t lo = (uint64_t)p & sz_mask(sz);
	reg_set(cpu, in->reg, sz, true, lo);
	mul_flags(cpu, sz, lo, p != (__int128)sz_sext(lo, sz));
	return SOFT_OK;
}

/* IMUL Gv, Ev, Iz/Ib */
int soft_exec_imul_gei(struct soft_cpu *cpu, const struct x86_insn *in)
{
	return imul2(cpu, in, in->imm);
}

/* IMUL Gv, Ev: Gv = Gv * Ev */
int soft_exec_imul_ge(struct soft_cpu *cpu, const struct x86_insn *in)
{
	unsigned sz = in->opsize;
	uint64_t b;
	int e = rm_read(cpu, in, sz, &b);
	if (e)
		return e;
	__int128 p = (__int128)sz_sext(reg_get(cpu, in->reg, sz, true), sz) * sz_sext(b, sz);
	uint64_t lo = (uint64_t)p & sz_mask(sz);
	reg_set(cpu, in->reg, sz, true, lo);
	mul_flags(cpu, sz, lo, p != (__int128)sz_sext(lo, sz));
	return SOFT_OK;
}

static int de(struct soft_cpu *cpu)
{
	return soft_raise(cpu, X86_EXC_DE, false, 0);
}

int soft_exec_div_e(struct soft_cpu *cpu, const struct x86_insn *in)
{
	unsigned sz = in->size;
	uint64_t d;
	int e = rm_read(cpu, in, sz, &d);
	if (e)
		return e;
	if (!d)
		return de(cpu);
	unsigned __int128 n;
	if (sz == 1)
		n = cpu->gpr[GPR_RAX] & 0xffff;
	else if (sz == 8)
		n = ((unsigned __int128)cpu->gpr[GPR_RDX] << 64) | cpu->gpr[GPR_RAX];
	else
		n = ((unsigned __int128)(cpu->gpr[GPR_RDX] & sz_mask(sz)) << (8 * sz)) |
		    (cpu->gpr[GPR_RAX] & sz_mask(sz));
	unsigned __int128 q = n / d, r = n % d;
	if (q > sz_mask(sz))
		return de(cpu);
	if (sz == 1) {
		cpu->gpr[GPR_RAX] = (cpu->gpr[GPR_RAX] & ~0xffffULL) | (uint64_t)q | ((uint64_t)r << 8);
	} else {
		reg_set(cpu, GPR_RAX, sz, true, (uint64_t)q);
		reg_set(cpu, GPR_RDX, sz, true, (uint64_t)r);
	}
	return SOFT_OK;
}

int soft_exec_idiv_e(struct soft_cpu *cpu, const struct x86_insn *in)
{
	unsigned sz = in->size;
	uint64_t d;
	int e = rm_read(cpu, in, sz, &d);
	if (e)
		return e;
	int64_t sd = sz_sext(d, sz);
	if (!sd)
		return de(cpu);
	__int128 n;
	if (sz == 1)
		n = (int16_t)(cpu->gpr[GPR_RAX] & 0xffff);
	else if (sz == 8)
		n = (__int128)(((unsigned __int128)cpu->gpr[GPR_RDX] << 64) | cpu->gpr[GPR_RAX]);
	else
		n = sz_sext(((cpu->gpr[GPR_RDX] & sz_mask(sz)) << (8 * sz)) | (cpu->gpr[GPR_RAX] & sz_mask(sz)),
			    2 * sz);
	/* INT128_MIN / -1 would trap on the host: it is a #DE anyway */
	if (sz == 8 && sd == -1 && n == (__int128)((unsigned __int128)1 << 127))
		return de(cpu);
	__int128 q = n / sd, r = n % sd;
	int64_t qmax = (int64_t)(sz_msb(sz) - 1), qmin = -(int64_t)(sz_msb(sz) - 1) - 1;
	if (q > qmax || q < qmin)
		return de(cpu);
	if (sz == 1) {
		cpu->gpr[GPR_RAX] = (cpu->gpr[GPR_RAX] & ~0xffffULL) | ((uint64_t)q & 0xff) |
				    (((uint64_t)r & 0xff) << 8);
	} else {
		reg_set(cpu, GPR_RAX, sz, true, (uint64_t)q);
		reg_set(cpu, GPR_RDX, sz, true, (uint64_t)r);
	}
	return SOFT_OK;
}
