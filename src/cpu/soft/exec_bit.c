/* BT BTS BTR BTC (register, immediate, and memory forms with bit offsets
 * beyond the operand), BSF BSR TZCNT LZCNT POPCNT.
 * Undefined flags: BT* leave OF SF AF PF unchanged; BSF/BSR with a zero
 * source leave the destination unchanged (as Intel and AMD hardware do). */
#include "cpuid.h"
#include "exec.h"

static uint64_t bit_op(unsigned op, uint64_t v, unsigned bit)
{
	switch (op) {
	case 1: return v | (1ULL << bit);
	case 2: return v & ~(1ULL << bit);
	case 3: return v ^ (1ULL << bit);
	default: return v;
	}
}

static void set_cf(struct soft_cpu *cpu, bool cf)
{
	soft_flags_flush(cpu);
	cpu->rflags = (cpu->rflags & ~X86_RFLAGS_CF) | (cf ? X86_RFLAGS_CF : 0);
}

static int bt_common(struct soft_cpu *cpu, const struct x86_insn *in, int64_t off, bool imm)
{
	unsigned sz = in->opsize, bits = sz * 8, op = in->arg;
	if (in->mod == 3) {
		unsigned bit = (unsigned)off & (bits - 1);
		uint64_t v = reg_get(cpu, in->rm, sz, true);
		set_cf(cpu, (v >> bit) & 1);
		if (op)
			reg_set(cpu, in->rm, sz, true, bit_op(op, v, bit));
		return SOFT_OK;
	}
	uint64_t la;
	unsigned bit;
	if (imm) {
		bit = (unsigned)off & (bits - 1);
		la = soft_ea(cpu, in);
	} else {
		/* the register offset is signed and selects any operand-sized
		 * unit relative to the effective address */
		int64_t unit = off >= 0 ? off / bits : -((-(off + 1)) / bits) - 1;
		bit = (unsigned)(off - unit * (int64_t)bits);
		uint64_t o = ea_off(cpu, in) + (uint64_t)(unit * (int64_t)sz);
		if (in->addrsize == 4)
			o &= 0xffffffff;
		else if (in->addrsize == 2)
			o &= 0xffff;
		la = soft_ea_seg(cpu, in->seg, o);
	}
	uint64_t v = 0;
	int e = op ? soft_read_rmw(cpu, la, &v, sz) : soft_read(cpu, la, &v, sz);
	if (e)
		return e;
	if (op) {
		e = mem_write(cpu, la, sz, bit_op(op, v, bit));
		if (e)
			return e;
	}
	set_cf(cpu, (v >> bit) & 1);
	return SOFT_OK;
}

int soft_exec_bt_eg(struct soft_cpu *cpu, const struct x86_insn *in)
{
	unsigned sz = in->opsize;
	return bt_common(cpu, in, sz_sext(reg_get(cpu, in->reg, sz, true), sz), false);
}

int soft_exec_bt_ei(struct soft_cpu *cpu, const struct x86_insn *in)
{
	return bt_common(cpu, in, (int64_t)(in->imm & 0xff), true);
}

int soft_exec_bsf(struct soft_cpu *cpu, const struct x86_insn *in)
{
	unsigned sz = in->opsize;
	uint64_t v;
	int e = rm_read(cpu, in, sz, &v);
	if (e)
		return e;
	soft_flags_flush(cpu);
	if (!v) {
		cpu->rflags |= X86_RFLAGS_ZF;
		return SOFT_OK;
	}
	cpu->rflags &= ~X86_RFLAGS_ZF;
	reg_set(cpu, in->reg, sz, true, (uint64_t)__builtin_ctzll(v));
	return SOFT_OK;
}

int soft_exec_bsr(struct soft_cpu *cpu, const struct x86_insn *in)
{
	unsigned sz = in->opsize;
	uint64_t v;
	int e = rm_read(cpu, in, sz, &v);
	if (e)
		return e;
	soft_flags_flush(cpu);
	if (!v) {
		cpu->rflags |= X86_RFLAGS_ZF;
		return SOFT_OK;
	}
	cpu->rflags &= ~X86_RFLAGS_ZF;
	reg_set(cpu, in->reg, sz, true, (uint64_t)(63 - __builtin_clzll(v)));
	return SOFT_OK;
}

/* TZCNT/LZCNT: CF = source is zero, ZF = result is zero; OF SF AF PF undefined
 * (left unchanged). */
int soft_exec_tzcnt(struct soft_cpu *cpu, const struct x86_insn *in)
{
	if (!SOFT_MODEL_BMI1)
		return soft_exec_bsf(cpu, in); /* no BMI1: F3 is ignored, as on hardware */
	unsigned sz = in->opsize;
	uint64_t v;
	int e = rm_read(cpu, in, sz, &v);
	if (e)
		return e;
	uint64_t r = v ? (uint64_t)__builtin_ctzll(v) : sz * 8;
	reg_set(cpu, in->reg, sz, true, r);
	flags_put(cpu, X86_RFLAGS_CF | X86_RFLAGS_ZF, (v ? 0 : X86_RFLAGS_CF) | (r ? 0 : X86_RFLAGS_ZF));
	return SOFT_OK;
}

int soft_exec_lzcnt(struct soft_cpu *cpu, const struct x86_insn *in)
{
	unsigned sz = in->opsize;
	uint64_t v;
	int e = rm_read(cpu, in, sz, &v);
	if (e)
		return e;
	uint64_t r = v ? (uint64_t)(__builtin_clzll(v) - (64 - 8 * sz)) : sz * 8;
	reg_set(cpu, in->reg, sz, true, r);
	flags_put(cpu, X86_RFLAGS_CF | X86_RFLAGS_ZF, (v ? 0 : X86_RFLAGS_CF) | (r ? 0 : X86_RFLAGS_ZF));
	return SOFT_OK;
}

int soft_exec_popcnt(struct soft_cpu *cpu, const struct x86_insn *in)
{
	unsigned sz = in->opsize;
	uint64_t v;
	int e = rm_read(cpu, in, sz, &v);
	if (e)
		return e;
	reg_set(cpu, in->reg, sz, true, (uint64_t)__builtin_popcountll(v));
	flags_put(cpu, ARITH_FLAGS, v ? 0 : X86_RFLAGS_ZF);
	return SOFT_OK;
}
