/* Lazy flags: materialise CF PF AF ZF SF OF from the last recorded op. */
#include "exec.h"
#include "align_check.h"

static uint64_t lazy_cf(const struct soft_lazy_flags *lf, uint64_t m)
{
	uint64_t r = lf->res & m, a = lf->src1 & m, b = lf->src2 & m;
	switch (lf->op) {
	case LF_ADD: return r < a;
	case LF_ADC: return lf->aux ? r <= a : r < a;
	case LF_SUB: return a < b;
	case LF_SBB: return lf->aux ? a <= b : a < b;
	case LF_INC: case LF_DEC: return lf->aux;
	case LF_NEG: return b != 0;
	default: return 0;
	}
}

uint64_t soft_flags_arith(const struct soft_cpu *cpu)
{
	const struct soft_lazy_flags *lf = &cpu->lf;
	if (lf->op == LF_NONE)
		return cpu->rflags & ARITH_FLAGS;
	unsigned size = lf->size;
	uint64_t m = sz_mask(size), msb = sz_msb(size);
	uint64_t f = szp(lf->res, size);
	if (lazy_cf(lf, m))
		f |= X86_RFLAGS_CF;
	uint64_t r = lf->res, a = lf->src1, b = lf->src2, of = 0;
	switch (lf->op) {
	case LF_ADD: case LF_ADC: case LF_INC:
		of = (a ^ r) & (b ^ r) & msb;
		f |= (a ^ b ^ r) & 0x10;
		break;
	case LF_SUB: case LF_SBB: case LF_DEC: case LF_NEG:
		of = (a ^ b) & (a ^ r) & msb;
		f |= (a ^ b ^ r) & 0x10;
		break;
	default:
		break;
	}
	if (of)
		f |= X86_RFLAGS_OF;
	return f;
}

void soft_flags_flush(struct soft_cpu *cpu)
{
	if (cpu->lf.op == LF_NONE)
		return;
	cpu->rflags = (cpu->rflags & ~ARITH_FLAGS) | soft_flags_arith(cpu);
	cpu->lf.op = LF_NONE;
}

uint64_t soft_get_rflags(struct soft_cpu *cpu)
{
	soft_flags_flush(cpu);
	return cpu->rflags | X86_RFLAGS_FIXED;
}

void soft_set_rflags(struct soft_cpu *cpu, uint64_t v)
{
	cpu->lf.op = LF_NONE;
	cpu->rflags = (v & 0x3f7fd7) | X86_RFLAGS_FIXED;
	soft_ac_refresh(cpu); /* EFLAGS.AC may have changed */
}

bool soft_cf(struct soft_cpu *cpu)
{
	if (cpu->lf.op == LF_NONE)
		return cpu->rflags & X86_RFLAGS_CF;
	return lazy_cf(&cpu->lf, sz_mask(cpu->lf.size));
}

bool soft_zf(struct soft_cpu *cpu)
{
	if (cpu->lf.op == LF_NONE)
		return cpu->rflags & X86_RFLAGS_ZF;
	return !(cpu->lf.res & sz_mask(cpu->lf.size));
}

bool soft_cond(struct soft_cpu *cpu, unsigned cc)
{
	const struct soft_lazy_flags *lf = &cpu->lf;
	bool r;
	/* fast paths for the common compare-and-branch idioms */
	if (lf->op == LF_SUB) {
		uint64_t m = sz_mask(lf->size);
		uint64_t a = lf->src1 & m, b = lf->src2 & m;
		int64_t sa = sz_sext(a, lf->size), sb = sz_sext(b, lf->size);
		switch (cc >> 1) {
		case 1: r = a < b; goto out;
		case 2: r = a == b; goto out;
		case 3: r = a <= b; goto out;
		case 6: r = sa < sb; goto out;
		case 7: r = sa <= sb; goto out;
		default: break;
		}
	} else if (lf->op != LF_NONE && (cc >> 1) == 2) {
		r = !(lf->res & sz_mask(lf->size));
		goto out;
	}
	uint64_t f = soft_flags_arith(cpu);
	switch (cc >> 1) {
	case 0: r = f & X86_RFLAGS_OF; break;
	case 1: r = f & X86_RFLAGS_CF; break;
	case 2: r = f & X86_RFLAGS_ZF; break;
	case 3: r = f & (X86_RFLAGS_CF | X86_RFLAGS_ZF); break;
	case 4: r = f & X86_RFLAGS_SF; break;
	case 5: r = f & X86_RFLAGS_PF; break;
	case 6: r = !(f & X86_RFLAGS_SF) != !(f & X86_RFLAGS_OF); break;
	default: r = (f & X86_RFLAGS_ZF) || (!(f & X86_RFLAGS_SF) != !(f & X86_RFLAGS_OF)); break;
	}
out:
	return (cc & 1) ? !r : r;
}
