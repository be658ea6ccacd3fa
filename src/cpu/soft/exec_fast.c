/* Specialised handlers for the hottest forms (register-register ALU,
 * register INC/DEC/MOV/TEST at 32/64-bit operand size, Jcc by condition).
 * The opcode tables name the generic handlers; soft_specialize() swaps in
 * one of these when an instruction is put into the decoded-instruction
 * cache, so the tables stay readable and every instruction still has one
 * reference implementation (the generic handler, used by soft_cpu_step). */
#include "exec.h"

enum { A_ADD, A_OR, A_ADC, A_SBB, A_AND, A_SUB, A_XOR, A_CMP };

#define W32(cpu, r, v) ((cpu)->gpr[r] = (uint32_t)(v))
#define W64(cpu, r, v) ((cpu)->gpr[r] = (v))

/* dst = rm (E,G forms) or reg (G,E forms); src = the other; imm forms use in->imm */
#define ALU_FAST(name, SZ, W, body_lf, write) \
static int name##_eg##SZ(struct soft_cpu *cpu, const struct x86_insn *in) \
{ \
	uint64_t a = cpu->gpr[in->rm], b = cpu->gpr[in->reg], r; \
	body_lf; \
	if (write) W(cpu, in->rm, r); \
	return SOFT_OK; \
} \
static int name##_ge##SZ(struct soft_cpu *cpu, const struct x86_insn *in) \
{ \
	uint64_t a = cpu->gpr[in->reg], b = cpu->gpr[in->rm], r; \
	body_lf; \
	if (write) W(cpu, in->reg, r); \
	return SOFT_OK; \
} \
static int name##_ei##SZ(struct soft_cpu *cpu, const struct x86_insn *in) \
{ \
	uint64_t a = cpu->gpr[in->rm], b = in->imm, r; \
	body_lf; \
	if (write) W(cpu, in->rm, r); \
	return SOFT_OK; \
} \
static int name##_ai##SZ(struct soft_cpu *cpu, const struct x86_insn *in) \
{ \
	uint64_t a = cpu->gpr[GPR_RAX], b = in->imm, r; \
	body_lf; \
	if (write) W(cpu, GPR_RAX, r); \
	return SOFT_OK; \
}

#define LF(op, SZ) lf_set(cpu, op, SZ, r, a, b)
#define ALU_ALL(SZ, W) \
	ALU_FAST(add, SZ, W, { r = a + b; LF(LF_ADD, SZ); }, 1) \
	ALU_FAST(or, SZ, W, { r = a | b; LF(LF_LOGIC, SZ); }, 1) \
	ALU_FAST(and, SZ, W, { r = a & b; LF(LF_LOGIC, SZ); }, 1) \
	ALU_FAST(xor, SZ, W, { r = a ^ b; LF(LF_LOGIC, SZ); }, 1) \
	ALU_FAST(sub, SZ, W, { r = a - b; LF(LF_SUB, SZ); }, 1) \
	ALU_FAST(cmp, SZ, W, { r = a - b; LF(LF_SUB, SZ); }, 0)

ALU_ALL(4, W32)
ALU_ALL(8, W64)

typedef int (*fn_t)(struct soft_cpu *, const struct x86_insn *);

#define ROW(SZ) { \
	{ add_eg##SZ, or_eg##SZ, NULL, NULL, and_eg##SZ, sub_eg##SZ, xor_eg##SZ, cmp_eg##SZ }, \
	{ add_ge##SZ, or_ge##SZ, NULL, NULL, and_ge##SZ, sub_ge##SZ, xor_ge##SZ, cmp_ge##SZ }, \
	{ add_ei##SZ, or_ei##SZ, NULL, NULL, and_ei##SZ, sub_ei##SZ, xor_ei##SZ, cmp_ei##SZ }, \
	{ add_ai##SZ, or_ai##SZ, NULL, NULL, and_ai##SZ, sub_ai##SZ, xor_ai##SZ, cmp_ai##SZ } }

static const fn_t alu_fast[2][4][8] = { ROW(4), ROW(8) };

#define INCDEC(name, SZ, W, op, expr) \
static int name##SZ(struct soft_cpu *cpu, const struct x86_insn *in) \
{ \
	uint64_t a = cpu->gpr[in->rm], c = cf_fast(cpu), r = expr; \
	lf_set(cpu, op, SZ, r, a, 1); \
	cpu->lf.aux = c; \
	W(cpu, in->rm, r); \
	return SOFT_OK; \
}
INCDEC(inc, 4, W32, LF_INC, a + 1)
INCDEC(inc, 8, W64, LF_INC, a + 1)
INCDEC(dec, 4, W32, LF_DEC, a - 1)
INCDEC(dec, 8, W64, LF_DEC, a - 1)

static int mov_rr4(struct soft_cpu *cpu, const struct x86_insn *in)
{
	cpu->gpr[in->rm] = (uint32_t)cpu->gpr[in->reg];
	return SOFT_OK;
}

static int mov_rr8(struct soft_cpu *cpu, const struct x86_insn *in)
{
	cpu->gpr[in->rm] = cpu->gpr[in->reg];
	return SOFT_OK;
}

static int mov_gr4(struct soft_cpu *cpu, const struct x86_insn *in)
{
	cpu->gpr[in->reg] = (uint32_t)cpu->gpr[in->rm];
	return SOFT_OK;
}

static int mov_gr8(struct soft_cpu *cpu, const struct x86_insn *in)
{
	cpu->gpr[in->reg] = cpu->gpr[in->rm];
	return SOFT_OK;
}

static int test_rr8(struct soft_cpu *cpu, const struct x86_insn *in)
{
	lf_set(cpu, LF_LOGIC, 8, cpu->gpr[in->rm] & cpu->gpr[in->reg], 0, 0);
	return SOFT_OK;
}

static int test_rr4(struct soft_cpu *cpu, const struct x86_insn *in)
{
	lf_set(cpu, LF_LOGIC, 4, cpu->gpr[in->rm] & cpu->gpr[in->reg], 0, 0);
	return SOFT_OK;
}

/* Jcc in 64-bit mode: target never needs truncation */
static inline int jump64(struct soft_cpu *cpu, const struct x86_insn *in)
{
	uint64_t t = cpu->next_rip + in->imm;
	if (unlikely(!canonical(t)))
		return soft_gp0(cpu);
	cpu->next_rip = t;
	return SOFT_OK;
}

static int jz64(struct soft_cpu *cpu, const struct x86_insn *in)
{
	return cond_fast(cpu, 4) ? jump64(cpu, in) : SOFT_OK;
}

static int jnz64(struct soft_cpu *cpu, const struct x86_insn *in)
{
	return cond_fast(cpu, 5) ? jump64(cpu, in) : SOFT_OK;
}

static int jcc64(struct soft_cpu *cpu, const struct x86_insn *in)
{
	return soft_cond(cpu, in->arg) ? jump64(cpu, in) : SOFT_OK;
}

static int jmp64(struct soft_cpu *cpu, const struct x86_insn *in)
{
	return jump64(cpu, in);
}

/* The ALU operation of an instruction identity (index into alu_fast), or -1. */
static int alu_index(unsigned id)
{
	switch (id) {
	case X86_I_ADD: return A_ADD;
	case X86_I_OR: return A_OR;
	case X86_I_ADC: return A_ADC;
	case X86_I_SBB: return A_SBB;
	case X86_I_AND: return A_AND;
	case X86_I_SUB: return A_SUB;
	case X86_I_XOR: return A_XOR;
	case X86_I_CMP: return A_CMP;
	default: return -1;
	}
}

/* Choose a specialised handler by the instruction's identity and the kinds
 * of its operands (the form: E,G  G,E  E,I  rAX,I  J), never by comparing
 * handler pointers. */
void soft_specialize(struct x86_insn *in);
void soft_specialize(struct x86_insn *in)
{
	if (!in->op)
		return;
	bool reg = in->has_modrm && in->mod == 3;
	unsigned sz = in->size;
	unsigned k0 = X86_OPND_KIND(in->op->opnd[0]), k1 = X86_OPND_KIND(in->op->opnd[1]);
	bool eg = k0 == OK_E && k1 == OK_G, ge = k0 == OK_G && k1 == OK_E;
	fn_t f = NULL;
	if (sz == 4 || sz == 8) {
		unsigned s = sz == 8;
		int a = alu_index(in->id);
		if (a >= 0) {
			if (eg && reg)
				f = alu_fast[s][0][a];
			else if (ge && reg)
				f = alu_fast[s][1][a];
			else if (k0 == OK_E && (k1 == OK_I || k1 == OK_IS) && reg)
				f = alu_fast[s][2][a];
			else if (k0 == OK_REG && (k1 == OK_I || k1 == OK_IS))
				f = alu_fast[s][3][a];
		} else if (in->id == X86_I_INC && k0 == OK_E && reg) {
			f = s ? inc8 : inc4;
		} else if (in->id == X86_I_DEC && k0 == OK_E && reg) {
			f = s ? dec8 : dec4;
		} else if (in->id == X86_I_MOV && eg && reg) {
			f = s ? mov_rr8 : mov_rr4;
		} else if (in->id == X86_I_MOV && ge && reg) {
			f = s ? mov_gr8 : mov_gr4;
		} else if (in->id == X86_I_TEST && eg && reg) {
			f = s ? test_rr8 : test_rr4;
		}
	}
	if (in->mode == SOFT_MODE_64 && in->opsize == 8) {
		if (in->id == X86_I_JCC)
			f = in->arg == 4 ? jz64 : in->arg == 5 ? jnz64 : jcc64;
		else if (in->id == X86_I_JMP && k0 == OK_J)
			f = jmp64;
	}
	if (f)
		in->exec = f;
}
