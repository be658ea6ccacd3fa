/* ADD OR ADC SBB AND SUB XOR CMP TEST INC DEC NOT NEG, CMC CLC STC CLD STD
 * LAHF SAHF CBW CWD, MOV family, LEA, XCHG, BSWAP, CMOVcc SETcc, NOP. */
#include "exec.h"

enum { A_ADD, A_OR, A_ADC, A_SBB, A_AND, A_SUB, A_XOR, A_CMP };

static inline uint64_t alu_op(struct soft_cpu *cpu, unsigned op, unsigned size, uint64_t a, uint64_t b)
{
	uint64_t r, c;
	switch (op) {
	case A_ADD:
		r = a + b;
		lf_set(cpu, LF_ADD, size, r, a, b);
		return r;
	case A_OR:
		r = a | b;
		lf_set(cpu, LF_LOGIC, size, r, a, b);
		return r;
	case A_ADC:
		c = cf_fast(cpu);
		r = a + b + c;
		lf_set(cpu, LF_ADC, size, r, a, b);
		cpu->lf.aux = c;
		return r;
	case A_SBB:
		c = cf_fast(cpu);
		r = a - b - c;
		lf_set(cpu, LF_SBB, size, r, a, b);
		cpu->lf.aux = c;
		return r;
	case A_AND:
		r = a & b;
		lf_set(cpu, LF_LOGIC, size, r, a, b);
		return r;
	case A_XOR:
		r = a ^ b;
		lf_set(cpu, LF_LOGIC, size, r, a, b);
		return r;
	default: /* SUB, CMP */
		r = a - b;
		lf_set(cpu, LF_SUB, size, r, a, b);
		return r;
	}
}

/* op E, G */
int soft_exec_alu_eg(struct soft_cpu *cpu, const struct x86_insn *in)
{
	unsigned sz = in->size;
	bool rex = has_rex(in);
	uint64_t b = reg_get(cpu, in->reg, sz, rex), a, r;
	if (in->mod == 3) {
		a = reg_get(cpu, in->rm, sz, rex);
		r = alu_op(cpu, in->arg, sz, a, b);
		if (in->arg != A_CMP)
			reg_set(cpu, in->rm, sz, rex, r);
		return SOFT_OK;
	}
	uint64_t la = soft_ea(cpu, in);
	a = 0;
	int e = in->arg == A_CMP ? soft_read(cpu, la, &a, sz) : soft_read_rmw(cpu, la, &a, sz);
	if (e)
		return e;
	r = alu_op(cpu, in->arg, sz, a, b);
	return in->arg == A_CMP ? SOFT_OK : mem_write(cpu, la, sz, r);
}

/* op G, E */
int soft_exec_alu_ge(struct soft_cpu *cpu, const struct x86_insn *in)
{
	unsigned sz = in->size;
	bool rex = has_rex(in);
	uint64_t b, a = reg_get(cpu, in->reg, sz, rex);
	int e = rm_read(cpu, in, sz, &b);
	if (e)
		return e;
	uint64_t r = alu_op(cpu, in->arg, sz, a, b);
	if (in->arg != A_CMP)
		reg_set(cpu, in->reg, sz, rex, r);
	return SOFT_OK;
}

/* op AL/eAX, imm */
int soft_exec_alu_ai(struct soft_cpu *cpu, const struct x86_insn *in)
{
	unsigned sz = in->size;
	uint64_t r = alu_op(cpu, in->arg, sz, reg_get(cpu, GPR_RAX, sz, true), in->imm);
	if (in->arg != A_CMP)
		reg_set(cpu, GPR_RAX, sz, true, r);
	return SOFT_OK;
}

/* op E, imm (group 1) */
int soft_exec_alu_ei(struct soft_cpu *cpu, const struct x86_insn *in)
{
	unsigned sz = in->size;
	uint64_t a, r;
	if (in->mod == 3) {
		bool rex = has_rex(in);
		a = reg_get(cpu, in->rm, sz, rex);
		r = alu_op(cpu, in->arg, sz, a, in->imm);
		if (in->arg != A_CMP)
			reg_set(cpu, in->rm, sz, rex, r);
		return SOFT_OK;
	}
	uint64_t la = soft_ea(cpu, in);
	a = 0;
	int e = in->arg == A_CMP ? soft_read(cpu, la, &a, sz) : soft_read_rmw(cpu, la, &a, sz);
	if (e)
		return e;
	r = alu_op(cpu, in->arg, sz, a, in->imm);
	return in->arg == A_CMP ? SOFT_OK : mem_write(cpu, la, sz, r);
}

int soft_exec_test_eg(struct soft_cpu *cpu, const struct x86_insn *in)
{
	uint64_t a;
	int e = rm_read(cpu, in, in->size, &a);
	if (e)
		return e;
	lf_set(cpu, LF_LOGIC, in->size, a & reg_get(cpu, in->reg, in->size, has_rex(in)), 0, 0);
	return SOFT_OK;
}

int soft_exec_test_ai(struct soft_cpu *cpu, const struct x86_insn *in)
{
	lf_set(cpu, LF_LOGIC, in->size, reg_get(cpu, GPR_RAX, in->size, true) & in->imm, 0, 0);
	return SOFT_OK;
}

int soft_exec_test_ei(struct soft_cpu *cpu, const struct x86_insn *in)
{
	uint64_t a;
	int e = rm_read(cpu, in, in->size, &a);
	if (e)
		return e;
	lf_set(cpu, LF_LOGIC, in->size, a & in->imm, 0, 0);
	return SOFT_OK;
}

/* Read-modify-write of the E operand through fn. */
#define RMW_E(cpu, in, var, expr) do { \
	unsigned sz_ = (in)->size; \
	uint64_t var; \
	if ((in)->mod == 3) { \
		var = reg_get(cpu, (in)->rm, sz_, has_rex(in)); \
		reg_set(cpu, (in)->rm, sz_, has_rex(in), (expr)); \
		return SOFT_OK; \
	} \
	uint64_t la_ = soft_ea(cpu, in); \
	var = 0; \
	int e_ = soft_read_rmw(cpu, la_, &var, sz_); \
	if (e_) \
		return e_; \
	return mem_write(cpu, la_, sz_, (expr)); \
} while (0)

static inline uint64_t do_inc(struct soft_cpu *cpu, unsigned sz, uint64_t a)
{
	uint64_t c = cf_fast(cpu);
	lf_set(cpu, LF_INC, sz, a + 1, a, 1);
	cpu->lf.aux = c;
	return a + 1;
}

static inline uint64_t do_dec(struct soft_cpu *cpu, unsigned sz, uint64_t a)
{
	uint64_t c = cf_fast(cpu);
	lf_set(cpu, LF_DEC, sz, a - 1, a, 1);
	cpu->lf.aux = c;
	return a - 1;
}

static inline uint64_t do_neg(struct soft_cpu *cpu, unsigned sz, uint64_t a)
{
	lf_set(cpu, LF_NEG, sz, 0 - a, 0, a);
	return 0 - a;
}

int soft_exec_inc_e(struct soft_cpu *cpu, const struct x86_insn *in)
{
	RMW_E(cpu, in, a, do_inc(cpu, sz_, a));
}

int soft_exec_dec_e(struct soft_cpu *cpu, const struct x86_insn *in)
{
	RMW_E(cpu, in, a, do_dec(cpu, sz_, a));
}

int soft_exec_not_e(struct soft_cpu *cpu, const struct x86_insn *in)
{
	RMW_E(cpu, in, a, ~a);
}

int soft_exec_neg_e(struct soft_cpu *cpu, const struct x86_insn *in)
{
	RMW_E(cpu, in, a, do_neg(cpu, sz_, a));
}

int soft_exec_inc_z(struct soft_cpu *cpu, const struct x86_insn *in)
{
	unsigned r = in->opcode & 7;
	reg_set(cpu, r, in->size, true, do_inc(cpu, in->size, reg_get(cpu, r, in->size, true)));
	return SOFT_OK;
}

int soft_exec_dec_z(struct soft_cpu *cpu, const struct x86_insn *in)
{
	unsigned r = in->opcode & 7;
	reg_set(cpu, r, in->size, true, do_dec(cpu, in->size, reg_get(cpu, r, in->size, true)));
	return SOFT_OK;
}

/* ---- flag instructions ---- */

int soft_exec_clc(struct soft_cpu *cpu, const struct x86_insn *in)
{
	flags_put(cpu, X86_RFLAGS_CF, 0);
	return SOFT_OK;
}

int soft_exec_stc(struct soft_cpu *cpu, const struct x86_insn *in)
{
	flags_put(cpu, X86_RFLAGS_CF, X86_RFLAGS_CF);
	return SOFT_OK;
}

int soft_exec_cmc(struct soft_cpu *cpu, const struct x86_insn *in)
{
	soft_flags_flush(cpu);
	cpu->rflags ^= X86_RFLAGS_CF;
	return SOFT_OK;
}

int soft_exec_cld(struct soft_cpu *cpu, const struct x86_insn *in)
{
	cpu->rflags &= ~X86_RFLAGS_DF;
	return SOFT_OK;
}

int soft_exec_std(struct soft_cpu *cpu, const struct x86_insn *in)
{
	cpu->rflags |= X86_RFLAGS_DF;
	return SOFT_OK;
}

int soft_exec_lahf(struct soft_cpu *cpu, const struct x86_insn *in)
{
	uint64_t f = soft_get_rflags(cpu) & 0xd7;
	cpu->gpr[GPR_RAX] = (cpu->gpr[GPR_RAX] & ~0xff00ULL) | ((f | 2) << 8);
	return SOFT_OK;
}

int soft_exec_sahf(struct soft_cpu *cpu, const struct x86_insn *in)
{
	uint64_t ah = (cpu->gpr[GPR_RAX] >> 8) & 0xff;
	flags_put(cpu, X86_RFLAGS_CF | X86_RFLAGS_PF | X86_RFLAGS_AF | X86_RFLAGS_ZF | X86_RFLAGS_SF, ah);
	return SOFT_OK;
}

/* CBW / CWDE / CDQE */
int soft_exec_cbw(struct soft_cpu *cpu, const struct x86_insn *in)
{
	unsigned sz = in->opsize;
	uint64_t v = (uint64_t)sz_sext(cpu->gpr[GPR_RAX], sz / 2);
	reg_set(cpu, GPR_RAX, sz, true, v);
	return SOFT_OK;
}

/* CWD / CDQ / CQO */
int soft_exec_cwd(struct soft_cpu *cpu, const struct x86_insn *in)
{
	unsigned sz = in->opsize;
	uint64_t v = (cpu->gpr[GPR_RAX] & sz_msb(sz)) ? ~0ULL : 0;
	reg_set(cpu, GPR_RDX, sz, true, v);
	return SOFT_OK;
}

/* ---- moves ---- */

int soft_exec_mov_eg(struct soft_cpu *cpu, const struct x86_insn *in)
{
	return rm_write(cpu, in, in->size, reg_get(cpu, in->reg, in->size, has_rex(in)));
}

int soft_exec_mov_ge(struct soft_cpu *cpu, const struct x86_insn *in)
{
	uint64_t v;
	int e = rm_read(cpu, in, in->size, &v);
	if (e)
		return e;
	reg_set(cpu, in->reg, in->size, has_rex(in), v);
	return SOFT_OK;
}

int soft_exec_mov_ei(struct soft_cpu *cpu, const struct x86_insn *in)
{
	return rm_write(cpu, in, in->size, in->imm);
}

int soft_exec_mov_zi(struct soft_cpu *cpu, const struct x86_insn *in)
{
	unsigned r = (in->opcode & 7) | ((in->rex & 1) << 3);
	reg_set(cpu, r, in->size, has_rex(in), in->imm);
	return SOFT_OK;
}

/* MOV AL/rAX, moffs */
int soft_exec_mov_ao(struct soft_cpu *cpu, const struct x86_insn *in)
{
	uint64_t v;
	int e = mem_read(cpu, soft_ea(cpu, in), in->size, &v);
	if (e)
		return e;
	reg_set(cpu, GPR_RAX, in->size, true, v);
	return SOFT_OK;
}

int soft_exec_mov_oa(struct soft_cpu *cpu, const struct x86_insn *in)
{
	unsigned sz = X86_OPND_SIZE(in->op->opnd[1]) == OS_b ? 1 : in->opsize;
	return mem_write(cpu, soft_ea(cpu, in), sz, reg_get(cpu, GPR_RAX, sz, true));
}

int soft_exec_mov_es(struct soft_cpu *cpu, const struct x86_insn *in)
{
	if ((in->reg & 7) >= SEG_COUNT)
		return soft_ud(cpu);
	uint64_t sel = cpu->seg[in->reg & 7].selector;
	/* register destination: zero-extended to the operand size; memory: 16 bits */
	return rm_write(cpu, in, in->mod == 3 ? in->opsize : 2, sel);
}

int soft_exec_lea(struct soft_cpu *cpu, const struct x86_insn *in)
{
	reg_set(cpu, in->reg, in->opsize, true, ea_off(cpu, in));
	return SOFT_OK;
}

int soft_exec_movzx(struct soft_cpu *cpu, const struct x86_insn *in)
{
	unsigned ss = X86_OPND_SIZE(in->op->opnd[1]) == OS_b ? 1 : 2;
	uint64_t v;
	int e = rm_read(cpu, in, ss, &v);
	if (e)
		return e;
	reg_set(cpu, in->reg, in->opsize, true, v);
	return SOFT_OK;
}

int soft_exec_movsx(struct soft_cpu *cpu, const struct x86_insn *in)
{
	unsigned ss = X86_OPND_SIZE(in->op->opnd[1]) == OS_b ? 1 : 2;
	uint64_t v;
	int e = rm_read(cpu, in, ss, &v);
	if (e)
		return e;
	reg_set(cpu, in->reg, in->opsize, true, (uint64_t)sz_sext(v, ss));
	return SOFT_OK;
}

int soft_exec_movsxd(struct soft_cpu *cpu, const struct x86_insn *in)
{
	uint64_t v;
	int e = rm_read(cpu, in, 4, &v);
	if (e)
		return e;
	reg_set(cpu, in->reg, in->opsize, true, (uint64_t)sz_sext(v, 4));
	return SOFT_OK;
}

int soft_exec_xchg_eg(struct soft_cpu *cpu, const struct x86_insn *in)
{
	unsigned sz = in->size;
	bool rex = has_rex(in);
	uint64_t g = reg_get(cpu, in->reg, sz, rex), v;
	if (in->mod == 3) {
		v = reg_get(cpu, in->rm, sz, rex);
		reg_set(cpu, in->rm, sz, rex, g);
		reg_set(cpu, in->reg, sz, rex, v);
		return SOFT_OK;
	}
	uint64_t la = soft_ea(cpu, in);
	v = 0;
	int e = soft_read_rmw(cpu, la, &v, sz);
	if (e)
		return e;
	e = mem_write(cpu, la, sz, g);
	if (e)
		return e;
	reg_set(cpu, in->reg, sz, rex, v);
	return SOFT_OK;
}

int soft_exec_xchg_za(struct soft_cpu *cpu, const struct x86_insn *in)
{
	unsigned r = (in->opcode & 7) | ((in->rex & 1) << 3), sz = in->opsize;
	uint64_t a = reg_get(cpu, GPR_RAX, sz, true), b = reg_get(cpu, r, sz, true);
	reg_set(cpu, GPR_RAX, sz, true, b);
	reg_set(cpu, r, sz, true, a);
	return SOFT_OK;
}

/* 90: NOP, PAUSE, or XCHG r8, rAX with REX.B */
int soft_exec_nop90(struct soft_cpu *cpu, const struct x86_insn *in)
{
	if (in->rex & 1)
		return soft_exec_xchg_za(cpu, in);
	return SOFT_OK;
}

int soft_exec_nop(struct soft_cpu *cpu, const struct x86_insn *in)
{
	return SOFT_OK;
}

int soft_exec_fence(struct soft_cpu *cpu, const struct x86_insn *in)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return SOFT_OK;
}

int soft_exec_prefetch(struct soft_cpu *cpu, const struct x86_insn *in)
{
	return SOFT_OK;
}

/* CLFLUSH, CLFLUSHOPT (66 0F AE /7) and CLWB (66 0F AE /6).  SDM vol. 2:
 * "subject to all permission checking and faults associated with a byte
 * load", but no data is loaded: the line is written back from the cache, so
 * a device page is never read (and ringvm has no cache to write back). */
int soft_exec_clflush(struct soft_cpu *cpu, const struct x86_insn *in)
{
	return soft_check_access(cpu, soft_ea(cpu, in), SOFT_ACC_READ);
}

int soft_exec_bswap(struct soft_cpu *cpu, const struct x86_insn *in)
{
	unsigned r = (in->opcode & 7) | ((in->rex & 1) << 3);
	if (in->opsize == 8)
		cpu->gpr[r] = __builtin_bswap64(cpu->gpr[r]);
	else if (in->opsize == 4)
		cpu->gpr[r] = __builtin_bswap32((uint32_t)cpu->gpr[r]);
	else
		cpu->gpr[r] &= ~0xffffULL; /* 16-bit BSWAP: undefined; hardware gives 0 */
	return SOFT_OK;
}

int soft_exec_cmov(struct soft_cpu *cpu, const struct x86_insn *in)
{
	uint64_t v;
	int e = rm_read(cpu, in, in->opsize, &v); /* the source is read (may fault) regardless */
	if (e)
		return e;
	if (soft_cond(cpu, in->arg))
		reg_set(cpu, in->reg, in->opsize, true, v);
	else if (in->opsize == 4)
		cpu->gpr[in->reg] &= 0xffffffff; /* 32-bit CMOV always zero-extends */
	return SOFT_OK;
}

int soft_exec_setcc(struct soft_cpu *cpu, const struct x86_insn *in)
{
	return rm_write(cpu, in, 1, soft_cond(cpu, in->arg));
}

int soft_exec_movbe(struct soft_cpu *cpu, const struct x86_insn *in)
{
	unsigned sz = in->opsize;
	uint64_t v;
	if (in->opcode == 0xf0) {
		int e = mem_read(cpu, soft_ea(cpu, in), sz, &v);
		if (e)
			return e;
		v = sz == 8 ? __builtin_bswap64(v) : sz == 4 ? __builtin_bswap32((uint32_t)v) : __builtin_bswap16((uint16_t)v);
		reg_set(cpu, in->reg, sz, true, v);
		return SOFT_OK;
	}
	v = reg_get(cpu, in->reg, sz, true);
	v = sz == 8 ? __builtin_bswap64(v) : sz == 4 ? __builtin_bswap32((uint32_t)v) : __builtin_bswap16((uint16_t)v);
	return mem_write(cpu, soft_ea(cpu, in), sz, v);
}

int soft_exec_xlat(struct soft_cpu *cpu, const struct x86_insn *in)
{
	uint64_t off = cpu->gpr[GPR_RBX] + (cpu->gpr[GPR_RAX] & 0xff), v;
	if (in->addrsize == 4)
		off &= 0xffffffff;
	else if (in->addrsize == 2)
		off &= 0xffff;
	unsigned seg = SEG_DS;
	if ((in->prefixes & X86_PFX_SEG) && (cpu->mode != SOFT_MODE_64 || in->seg_override >= SEG_FS))
		seg = in->seg_override;
	int e = mem_read(cpu, lin(cpu, seg, off), 1, &v);
	if (e)
		return e;
	reg_set(cpu, GPR_RAX, 1, true, v);
	return SOFT_OK;
}
