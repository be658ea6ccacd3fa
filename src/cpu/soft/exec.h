/* Internal helpers shared by the exec_*.c handler files (register and
 * operand access, lazy-flag recording).  Everything is inline: these sit on
 * the interpreter's hot path. */
#ifndef RINGVM_SOFT_EXEC_H
#define RINGVM_SOFT_EXEC_H

#include "cpu.h"
#include "decode.h"

static inline uint64_t sz_mask(unsigned size)
{
	return size >= 8 ? ~0ULL : (1ULL << (size * 8)) - 1;
}

static inline uint64_t sz_msb(unsigned size)
{
	return 1ULL << (size * 8 - 1);
}

static inline int64_t sz_sext(uint64_t v, unsigned size)
{
	unsigned sh = 64 - 8 * size;
	return (int64_t)(v << sh) >> sh;
}

static inline bool has_rex(const struct x86_insn *in)
{
	return in->prefixes & X86_PFX_REX;
}

/* Register r (0..15) of the given size; byte registers 4..7 are AH..BH
 * without REX. */
static inline uint64_t reg_get(const struct soft_cpu *cpu, unsigned r, unsigned size, bool rex)
{
	switch (size) {
	case 1:
		if (!rex && r >= 4 && r < 8)
			return (cpu->gpr[r - 4] >> 8) & 0xff;
		return cpu->gpr[r] & 0xff;
	case 2: return cpu->gpr[r] & 0xffff;
	case 4: return cpu->gpr[r] & 0xffffffff;
	default: return cpu->gpr[r];
	}
}

/* Write a register: 8/16-bit writes merge, 32-bit writes zero-extend. */
static inline void reg_set(struct soft_cpu *cpu, unsigned r, unsigned size, bool rex, uint64_t v)
{
	switch (size) {
	case 1:
		if (!rex && r >= 4 && r < 8)
			cpu->gpr[r - 4] = (cpu->gpr[r - 4] & ~0xff00ULL) | ((v & 0xff) << 8);
		else
			cpu->gpr[r] = (cpu->gpr[r] & ~0xffULL) | (v & 0xff);
		break;
	case 2: cpu->gpr[r] = (cpu->gpr[r] & ~0xffffULL) | (v & 0xffff); break;
	case 4: cpu->gpr[r] = v & 0xffffffff; break;
	default: cpu->gpr[r] = v; break;
	}
}

static inline bool canonical(uint64_t la)
{
	return (uint64_t)((int64_t)(la << 16) >> 16) == la;
}

/* Offset (before segmentation) of the memory operand. */
static inline uint64_t ea_off(const struct soft_cpu *cpu, const struct x86_insn *in)
{
	uint64_t a = (uint64_t)in->disp;
	if (in->base >= 0)
		a += cpu->gpr[in->base];
	if (in->index >= 0)
		a += cpu->gpr[in->index] * in->scale;
	if (in->rip_rel)
		a += cpu->next_rip;
	if (in->addrsize == 4)
		a &= 0xffffffff;
	else if (in->addrsize == 2)
		a &= 0xffff;
	return a;
}

static inline uint64_t lin(const struct soft_cpu *cpu, unsigned seg, uint64_t off)
{
	if (cpu->mode == SOFT_MODE_64)
		return seg >= SEG_FS ? off + cpu->seg[seg].base : off;
	return (uint32_t)(off + cpu->seg[seg].base);
}

/* Count a #UD of an instruction the model does not execute (cpu->ud_by_insn). */
static inline void soft_count_ud(struct soft_cpu *cpu, unsigned id)
{
	if (cpu->ud_by_insn && id < X86_I_COUNT)
		cpu->ud_by_insn[id]++;
}

static inline int mem_read(struct soft_cpu *cpu, uint64_t la, unsigned size, uint64_t *v)
{
	*v = 0;
	return soft_read(cpu, la, v, size);
}

static inline int mem_write(struct soft_cpu *cpu, uint64_t la, unsigned size, uint64_t v)
{
	return soft_write(cpu, la, &v, size);
}

/* Data access to seg:off with its own segment check (string and stack
 * instructions, whose addresses are not the soft_ea operand). */
static inline int seg_read(struct soft_cpu *cpu, unsigned seg, uint64_t off, unsigned size,
			   uint64_t *v)
{
	int e = soft_seg_check(cpu, seg, off, size, SOFT_SEG_R);
	if (unlikely(e))
		return e;
	*v = 0;
	return soft_read_lin(cpu, lin(cpu, seg, off), v, size);
}

static inline int seg_write(struct soft_cpu *cpu, unsigned seg, uint64_t off, unsigned size,
			    uint64_t v)
{
	int e = soft_seg_check(cpu, seg, off, size, SOFT_SEG_W);
	if (unlikely(e))
		return e;
	return soft_write_lin(cpu, lin(cpu, seg, off), &v, size);
}

/* Read the E (r/m) operand. */
static inline int rm_read(struct soft_cpu *cpu, const struct x86_insn *in, unsigned size, uint64_t *v)
{
	if (in->mod == 3) {
		*v = reg_get(cpu, in->rm, size, has_rex(in));
		return SOFT_OK;
	}
	uint64_t la = soft_ea(cpu, in);
	if (unlikely(cpu->mode == SOFT_MODE_64 && !canonical(la)))
		return soft_raise(cpu, in->seg == SEG_SS ? X86_EXC_SS : X86_EXC_GP, true, 0);
	return mem_read(cpu, la, size, v);
}

static inline int rm_write(struct soft_cpu *cpu, const struct x86_insn *in, unsigned size, uint64_t v)
{
	if (in->mod == 3) {
		reg_set(cpu, in->rm, size, has_rex(in), v);
		return SOFT_OK;
	}
	uint64_t la = soft_ea(cpu, in);
	if (unlikely(cpu->mode == SOFT_MODE_64 && !canonical(la)))
		return soft_raise(cpu, in->seg == SEG_SS ? X86_EXC_SS : X86_EXC_GP, true, 0);
	return mem_write(cpu, la, size, v);
}

/* Record a lazy flag-setting result. */
static inline void lf_set(struct soft_cpu *cpu, unsigned op, unsigned size,
			  uint64_t res, uint64_t s1, uint64_t s2)
{
	cpu->lf.op = op;
	cpu->lf.size = size;
	cpu->lf.res = res;
	cpu->lf.src1 = s1;
	cpu->lf.src2 = s2;
}

/* CF of the pending lazy op, inline for INC/DEC/ADC/SBB. */
static inline bool cf_fast(const struct soft_cpu *cpu)
{
	const struct soft_lazy_flags *lf = &cpu->lf;
	uint64_t m = sz_mask(lf->size);
	switch (lf->op) {
	case LF_NONE: return cpu->rflags & X86_RFLAGS_CF;
	case LF_SUB: return (lf->src1 & m) < (lf->src2 & m);
	case LF_ADD: return (lf->res & m) < (lf->src1 & m);
	case LF_LOGIC: return false;
	case LF_INC: case LF_DEC: return lf->aux;
	default: return soft_cf((struct soft_cpu *)cpu);
	}
}

/* Condition codes with an inline fast path for ZF tests (JZ/JNZ after
 * DEC/SUB/CMP/TEST/...). */
static inline bool cond_fast(struct soft_cpu *cpu, unsigned cc)
{
	if ((cc >> 1) == 2 && cpu->lf.op != LF_NONE)
		return !(cpu->lf.res & sz_mask(cpu->lf.size)) ^ (cc & 1);
	return soft_cond(cpu, cc);
}

/* Materialise flags into cpu->rflags (lazy op -> LF_NONE). */
void soft_flags_flush(struct soft_cpu *cpu);
/* The six arithmetic flags of the pending lazy op (or rflags) as bits. */
uint64_t soft_flags_arith(const struct soft_cpu *cpu);

/* Set arithmetic flags eagerly: mask = which flags, val = their values. */
static inline void flags_put(struct soft_cpu *cpu, uint64_t mask, uint64_t val)
{
	soft_flags_flush(cpu);
	cpu->rflags = (cpu->rflags & ~mask) | (val & mask);
}

static inline bool parity8(uint64_t v)
{
	return !__builtin_parity((unsigned)(v & 0xff));
}

/* ZF SF PF of a result, as RFLAGS bits. */
static inline uint64_t szp(uint64_t res, unsigned size)
{
	uint64_t f = 0;
	if (!(res & sz_mask(size)))
		f |= X86_RFLAGS_ZF;
	if (res & sz_msb(size))
		f |= X86_RFLAGS_SF;
	if (parity8(res))
		f |= X86_RFLAGS_PF;
	return f;
}

#define ARITH_FLAGS (X86_RFLAGS_CF | X86_RFLAGS_PF | X86_RFLAGS_AF | X86_RFLAGS_ZF | \
		     X86_RFLAGS_SF | X86_RFLAGS_OF)

/* The guest TSC now: ops->rdtsc() + tsc_offset (exec_misc.c; RDTSC, RDTSCP
 * and the translator's inline form use it alone). */
uint64_t soft_tsc_now(struct soft_cpu *cpu);

/* Stack helpers (exec_stack.c). */
int soft_push(struct soft_cpu *cpu, unsigned size, uint64_t v);
int soft_pop(struct soft_cpu *cpu, unsigned size, uint64_t *v);
unsigned soft_stack_size(const struct soft_cpu *cpu); /* address size of SS: 2 4 8 */
/* Check (without writing) that len bytes at rSP - below are writable. */
int soft_stack_probe(struct soft_cpu *cpu, uint64_t below, unsigned len);

/* A branch's target truncated to its operand size / mode (the one rule for
 * the interpreter's branch_to and the translator's direct branches); false
 * when the target is not canonical (the branch itself faults, #GP(0)). */
static inline bool soft_branch_target(const struct x86_insn *in, unsigned mode, uint64_t target,
				      uint64_t *out)
{
	if (in->opsize == 2)
		target &= 0xffff;
	else if (in->opsize == 4 || mode != SOFT_MODE_64)
		target &= 0xffffffff;
	else if (unlikely(!canonical(target)))
		return false;
	*out = target;
	return true;
}

/* Branch to target (truncated to the operand size / mode); a non-canonical
 * target faults on the branch itself (#GP(0)). */
static inline int branch_to(struct soft_cpu *cpu, const struct x86_insn *in, uint64_t target)
{
	if (unlikely(!soft_branch_target(in, cpu->mode, target, &cpu->next_rip)))
		return soft_gp0(cpu);
	return SOFT_OK;
}

#endif
