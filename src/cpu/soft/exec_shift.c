/* SHL SHR SAR ROL ROR RCL RCR (group 2), SHLD SHRD.
 * Count masking and flags as the SDM documents: count & 0x1f (0x3f with a
 * 64-bit operand); a masked count of 0 changes no flags.  OF is defined for
 * count 1; for larger counts we compute it with the count-1 formula, and AF
 * (undefined) is cleared -- see SHIFT_UNDEF_* below, the one place to match
 * a particular host's undefined-flag behaviour. */
#include "exec.h"

/* Undefined-flag policy (AMD Zen and Intel Core both clear AF on shifts). */
#define SHIFT_UNDEF_AF 0

static int shift_common(struct soft_cpu *cpu, const struct x86_insn *in, unsigned count)
{
	unsigned sz = in->size, bits = sz * 8, op = in->arg;
	uint64_t m = sz_mask(sz), msb = sz_msb(sz);
	uint64_t a, r, la = 0;
	int e;
	if (in->mod == 3) {
		a = reg_get(cpu, in->rm, sz, has_rex(in));
	} else {
		la = soft_ea(cpu, in);
		a = 0;
		e = soft_read_rmw(cpu, la, &a, sz);
		if (e)
			return e;
	}
	count &= sz == 8 ? 63 : 31;
	if (!count) {
		/* no flags change; a 32-bit register destination is still written */
		if (in->mod == 3 && sz == 4)
			reg_set(cpu, in->rm, 4, true, a);
		return SOFT_OK;
	}
	uint64_t cf = 0, of = 0, f;
	soft_flags_flush(cpu);
	f = cpu->rflags;
	switch (op) {
	case 0: { /* ROL */
		unsigned c = count % bits;
		r = c ? ((a << c) | (a >> (bits - c))) & m : a;
		cf = r & 1;
		of = ((r & msb) != 0) ^ cf;
		f = (f & ~(X86_RFLAGS_CF | X86_RFLAGS_OF)) | (cf ? X86_RFLAGS_CF : 0) | (of ? X86_RFLAGS_OF : 0);
		break;
	}
	case 1: { /* ROR */
		unsigned c = count % bits;
		r = c ? ((a >> c) | (a << (bits - c))) & m : a;
		cf = (r & msb) != 0;
		of = cf ^ ((r & (msb >> 1)) != 0);
		f = (f & ~(X86_RFLAGS_CF | X86_RFLAGS_OF)) | (cf ? X86_RFLAGS_CF : 0) | (of ? X86_RFLAGS_OF : 0);
		break;
	}
	case 2: { /* RCL: rotate through CF, width bits+1 */
		unsigned c = sz < 4 ? count % (bits + 1) : count;
		uint64_t oldcf = (f & X86_RFLAGS_CF) != 0;
		r = a;
		cf = oldcf;
		for (unsigned i = 0; i < c; i++) {
			uint64_t out = (r & msb) != 0;
			r = ((r << 1) | cf) & m;
			cf = out;
		}
		of = ((r & msb) != 0) ^ cf;
		f = (f & ~(X86_RFLAGS_CF | X86_RFLAGS_OF)) | (cf ? X86_RFLAGS_CF : 0) | (of ? X86_RFLAGS_OF : 0);
		break;
	}
	case 3: { /* RCR */
		unsigned c = sz < 4 ? count % (bits + 1) : count;
		uint64_t oldcf = (f & X86_RFLAGS_CF) != 0;
		r = a;
		cf = oldcf;
		for (unsigned i = 0; i < c; i++) {
			uint64_t out = r & 1;
			r = (r >> 1) | (cf ? msb : 0);
			cf = out;
		}
		of = ((r & msb) != 0) ^ ((r & (msb >> 1)) != 0);
		f = (f & ~(X86_RFLAGS_CF | X86_RFLAGS_OF)) | (cf ? X86_RFLAGS_CF : 0) | (of ? X86_RFLAGS_OF : 0);
		break;
	}
	case 4: case 6: /* SHL / SAL */
		r = count < 64 ? (a << count) & m : 0;
		cf = count <= bits ? (a >> (bits - count)) & 1 : 0;
		of = ((r & msb) != 0) ^ cf;
		f = (f & ~ARITH_FLAGS) | szp(r, sz) | (cf ? X86_RFLAGS_CF : 0) | (of ? X86_RFLAGS_OF : 0) |
		    (SHIFT_UNDEF_AF ? X86_RFLAGS_AF : 0);
		break;
	case 5: /* SHR */
		r = count < 64 ? a >> count : 0;
		cf = count <= bits ? (a >> (count - 1)) & 1 : 0;
		of = (a & msb) != 0;
		f = (f & ~ARITH_FLAGS) | szp(r, sz) | (cf ? X86_RFLAGS_CF : 0) | (of ? X86_RFLAGS_OF : 0) |
		    (SHIFT_UNDEF_AF ? X86_RFLAGS_AF : 0);
		break;
	default: { /* SAR */
		int64_t sa = sz_sext(a, sz);
		unsigned c = count >= bits ? bits - 1 : count;
		r = (uint64_t)(sa >> c) & m;
		cf = (uint64_t)(sa >> (count >= bits ? bits - 1 : count - 1)) & 1;
		f = (f & ~ARITH_FLAGS) | szp(r, sz) | (cf ? X86_RFLAGS_CF : 0) | (SHIFT_UNDEF_AF ? X86_RFLAGS_AF : 0);
		break;
	}
	}
	cpu->rflags = f;
	if (in->mod == 3) {
		reg_set(cpu, in->rm, sz, has_rex(in), r);
		return SOFT_OK;
	}
	return mem_write(cpu, la, sz, r);
}

int soft_exec_shift_1(struct soft_cpu *cpu, const struct x86_insn *in)
{
	return shift_common(cpu, in, 1);
}

int soft_exec_shift_cl(struct soft_cpu *cpu, const struct x86_insn *in)
{
	return shift_common(cpu, in, cpu->gpr[GPR_RCX] & 0xff);
}

int soft_exec_shift_ib(struct soft_cpu *cpu, const struct x86_insn *in)
{
	return shift_common(cpu, in, in->imm & 0xff);
}

/* SHLD/SHRD Ev, Gv, Ib|CL */
static int shxd(struct soft_cpu *cpu, const struct x86_insn *in, bool left)
{
	unsigned sz = in->size, bits = sz * 8;
	uint64_t m = sz_mask(sz), msb = sz_msb(sz);
	unsigned count = (X86_OPND_KIND(in->op->opnd[2]) == OK_CL ? cpu->gpr[GPR_RCX] : in->imm) & 0xff;
	count &= sz == 8 ? 63 : 31;
	uint64_t a, la = 0, src = reg_get(cpu, in->reg, sz, true);
	int e;
	if (in->mod == 3) {
		a = reg_get(cpu, in->rm, sz, true);
	} else {
		la = soft_ea(cpu, in);
		a = 0;
		e = soft_read_rmw(cpu, la, &a, sz);
		if (e)
			return e;
	}
	if (!count) {
		if (in->mod == 3 && sz == 4)
			reg_set(cpu, in->rm, 4, true, a);
		return SOFT_OK;
	}
	uint64_t r, cf;
	if (sz == 2) {
		/* 16-bit: the SDM leaves counts > 16 undefined; like hardware, shift
		 * the 48-bit pattern dest:src:dest */
		uint64_t pat = left ? (a << 32) | (src << 16) | a : (a << 32) | (src << 16) | a;
		if (left) {
			uint64_t t = pat << count;
			r = (t >> 32) & 0xffff;
			cf = (pat >> (48 - count)) & 1;
		} else {
			uint64_t p2 = (a) | (src << 16) | (a << 32);
			r = (p2 >> count) & 0xffff;
			cf = (p2 >> (count - 1)) & 1;
		}
	} else if (left) {
		r = ((a << count) | (src >> (bits - count))) & m;
		cf = (a >> (bits - count)) & 1;
	} else {
		r = ((a >> count) | (src << (bits - count))) & m;
		cf = (a >> (count - 1)) & 1;
	}
	uint64_t of = ((r ^ a) & msb) != 0;
	soft_flags_flush(cpu);
	cpu->rflags = (cpu->rflags & ~ARITH_FLAGS) | szp(r, sz) | (cf ? X86_RFLAGS_CF : 0) |
		      (of ? X86_RFLAGS_OF : 0) | (SHIFT_UNDEF_AF ? X86_RFLAGS_AF : 0);
	if (in->mod == 3) {
		reg_set(cpu, in->rm, sz, true, r);
		return SOFT_OK;
	}
	return mem_write(cpu, la, sz, r);
}

int soft_exec_shld(struct soft_cpu *cpu, const struct x86_insn *in)
{
	return shxd(cpu, in, true);
}

int soft_exec_shrd(struct soft_cpu *cpu, const struct x86_insn *in)
{
	return shxd(cpu, in, false);
}
