/* MMX moves, shuffles, inserts/extracts, shifts by immediate, EMMS and the
 * MMX <-> XMM moves.  Plain C. */
#include "mmx_common.h"
#include "sse_common.h"

int soft_exec_mmx_movd_load(struct soft_cpu *cpu, const struct x86_insn *in)
{
	unsigned sz = (in->rex & 8) ? 8 : 4;
	uint64_t v = 0;
	int r = mmx_check(cpu);
	if (r)
		return r;
	if (in->mod == 3)
		v = sz == 8 ? cpu->gpr[in->rm] : (cpu->gpr[in->rm] & 0xffffffffu);
	else if ((r = soft_read(cpu, soft_ea(cpu, in), &v, sz)))
		return r;
	mmx_set(cpu, in->reg, v);
	return SOFT_OK;
}

int soft_exec_mmx_movd_store(struct soft_cpu *cpu, const struct x86_insn *in)
{
	unsigned sz = (in->rex & 8) ? 8 : 4;
	int r = mmx_check(cpu);
	if (r)
		return r;
	uint64_t v = mmx_get(cpu, in->reg);
	if (in->mod == 3) {
		cpu->gpr[in->rm] = sz == 8 ? v : (v & 0xffffffffu);
		return mmx_done(cpu, SOFT_OK);
	}
	return mmx_done(cpu, soft_write(cpu, soft_ea(cpu, in), &v, sz));
}

int soft_exec_mmx_movq_load(struct soft_cpu *cpu, const struct x86_insn *in)
{
	uint64_t v;
	int r = mmx_check(cpu);
	if (r || (r = mmx_src(cpu, in, &v, 8)))
		return r;
	mmx_set(cpu, in->reg, v);
	return SOFT_OK;
}

int soft_exec_mmx_movq_store(struct soft_cpu *cpu, const struct x86_insn *in)
{
	int r = mmx_check(cpu);
	if (r)
		return r;
	uint64_t v = mmx_get(cpu, in->reg);
	if (in->mod == 3) {
		mmx_set(cpu, in->rm, v);
		return SOFT_OK;
	}
	return mmx_done(cpu, soft_write(cpu, soft_ea(cpu, in), &v, 8));
}

int soft_exec_mmx_movntq(struct soft_cpu *cpu, const struct x86_insn *in)
{
	int r = mmx_check(cpu);
	if (r)
		return r;
	uint64_t v = mmx_get(cpu, in->reg);
	return mmx_done(cpu, soft_write(cpu, soft_ea(cpu, in), &v, 8));
}

int soft_exec_mmx_pshufw(struct soft_cpu *cpu, const struct x86_insn *in)
{
	uint64_t s, d = 0;
	int r = mmx_check(cpu);
	if (r || (r = mmx_src(cpu, in, &s, 8)))
		return r;
	for (int i = 0; i < 4; i++) {
		unsigned k = (in->imm >> (2 * i)) & 3;
		d |= ((s >> (16 * k)) & 0xffff) << (16 * i);
	}
	mmx_set(cpu, in->reg, d);
	return SOFT_OK;
}

int soft_exec_mmx_pinsrw(struct soft_cpu *cpu, const struct x86_insn *in)
{
	uint64_t v = 0;
	int r = mmx_check(cpu);
	if (r)
		return r;
	if (in->mod == 3)
		v = cpu->gpr[in->rm];
	else if ((r = soft_read(cpu, soft_ea(cpu, in), &v, 2)))
		return r;
	unsigned sh = 16 * (unsigned)(in->imm & 3);
	uint64_t d = mmx_get(cpu, in->reg);
	d = (d & ~(0xffffULL << sh)) | ((v & 0xffff) << sh);
	mmx_set(cpu, in->reg, d);
	return SOFT_OK;
}

int soft_exec_mmx_pextrw(struct soft_cpu *cpu, const struct x86_insn *in)
{
	int r = mmx_check(cpu);
	if (r)
		return r;
	cpu->gpr[in->reg] = (mmx_get(cpu, in->rm) >> (16 * (in->imm & 3))) & 0xffff;
	return mmx_done(cpu, SOFT_OK);
}

int soft_exec_mmx_pmovmskb(struct soft_cpu *cpu, const struct x86_insn *in)
{
	int r = mmx_check(cpu);
	if (r)
		return r;
	uint64_t s = mmx_get(cpu, in->rm), m = 0;
	for (int i = 0; i < 8; i++)
		m |= ((s >> (8 * i + 7)) & 1) << i;
	cpu->gpr[in->reg] = m;
	return mmx_done(cpu, SOFT_OK);
}

/* MASKMOVQ mm1, mm2: bytes of mm1 selected by mm2's byte MSBs to DS:rDI. */
int soft_exec_mmx_maskmovq(struct soft_cpu *cpu, const struct x86_insn *in)
{
	int r = mmx_check(cpu);
	if (r)
		return r;
	uint64_t v = mmx_get(cpu, in->reg), m = mmx_get(cpu, in->rm);
	uint64_t off = cpu->gpr[GPR_RDI];
	if (in->addrsize == 4)
		off &= 0xffffffffu;
	unsigned seg = (in->prefixes & X86_PFX_SEG) ? in->seg_override : SEG_DS;
	uint64_t la = soft_ea_seg(cpu, seg, off);
	for (int i = 0; i < 8; i++) {
		if (!((m >> (8 * i + 7)) & 1))
			continue;
		uint8_t b = (uint8_t)(v >> (8 * i));
		if ((r = soft_write(cpu, la + (uint64_t)i, &b, 1)))
			return r;
	}
	return mmx_done(cpu, SOFT_OK);
}

/* PALIGNR mm1, mm2/m64, imm8: (mm1:mm2) >> (imm8 * 8), low 64 bits. */
int soft_exec_mmx_palignr(struct soft_cpu *cpu, const struct x86_insn *in)
{
	uint64_t s;
	int r = mmx_check(cpu);
	if (r || (r = mmx_src(cpu, in, &s, 8)))
		return r;
	uint8_t cat[24];
	uint64_t d = mmx_get(cpu, in->reg), res = 0;
	memset(cat, 0, sizeof(cat));
	memcpy(cat, &s, 8);
	memcpy(cat + 8, &d, 8);
	unsigned n = (unsigned)(in->imm & 0xff);
	if (n < 16)
		memcpy(&res, cat + n, 8);
	mmx_set(cpu, in->reg, res);
	return SOFT_OK;
}

/* Shift groups 0F 71/72/73 without prefix: destination is ModRM.rm. */
enum { MSH_LL, MSH_RL, MSH_RA };

static int mmx_shift_i(struct soft_cpu *cpu, const struct x86_insn *in, unsigned esize, int kind)
{
	int r = mmx_check(cpu);
	if (r)
		return r;
	uint64_t d = mmx_get(cpu, in->rm), out = 0;
	unsigned cnt = (unsigned)(in->imm & 0xff), bits = esize * 8;
	uint64_t emask = bits == 64 ? ~0ULL : (1ULL << bits) - 1;
	for (unsigned i = 0; i < 8 / esize; i++) {
		uint64_t v = (d >> (i * bits)) & emask;
		if (kind == MSH_RA) {
			int64_t sv = (int64_t)(v << (64 - bits)) >> (64 - bits);
			v = (uint64_t)(sv >> (cnt >= bits ? bits - 1 : cnt)) & emask;
		} else if (cnt >= bits) {
			v = 0;
		} else {
			v = (kind == MSH_LL ? v << cnt : v >> cnt) & emask;
		}
		out |= v << (i * bits);
	}
	mmx_set(cpu, in->rm, out);
	return SOFT_OK;
}

#define MMX_SHIFT_I(name, es, k) \
	int soft_exec_mmx_##name(struct soft_cpu *cpu, const struct x86_insn *in) \
	{ return mmx_shift_i(cpu, in, es, k); }
MMX_SHIFT_I(psllw_i, 2, MSH_LL)
MMX_SHIFT_I(pslld_i, 4, MSH_LL)
MMX_SHIFT_I(psllq_i, 8, MSH_LL)
MMX_SHIFT_I(psrlw_i, 2, MSH_RL)
MMX_SHIFT_I(psrld_i, 4, MSH_RL)
MMX_SHIFT_I(psrlq_i, 8, MSH_RL)
MMX_SHIFT_I(psraw_i, 2, MSH_RA)
MMX_SHIFT_I(psrad_i, 4, MSH_RA)

/* EMMS: all x87 registers empty and TOP = 0 (SDM Vol. 1 table 9-3;
 * the AMD host does the same). */
int soft_exec_emms(struct soft_cpu *cpu, const struct x86_insn *in)
{
	if (cpu->cr0 & X86_CR0_EM)
		return soft_raise(cpu, X86_EXC_UD, false, 0);
	if (cpu->cr0 & X86_CR0_TS)
		return soft_raise(cpu, X86_EXC_NM, false, 0);
	if (cpu->fpu.fsw & ~cpu->fpu.fcw & 0x3f)
		return soft_raise(cpu, X86_EXC_MF, false, 0);
	cpu->fpu.ftw = 0;
	cpu->fpu.fsw &= (uint16_t)~(7u << 11);
	return SOFT_OK;
}

/* MOVQ2DQ xmm, mm and MOVDQ2Q mm, xmm. */
int soft_exec_movq2dq(struct soft_cpu *cpu, const struct x86_insn *in)
{
	int r = sse_check(cpu);
	if (r || (r = mmx_check(cpu)))
		return r;
	cpu->xmm[in->reg].q[0] = mmx_get(cpu, in->rm);
	cpu->xmm[in->reg].q[1] = 0;
	return mmx_done(cpu, SOFT_OK);
}

int soft_exec_movdq2q(struct soft_cpu *cpu, const struct x86_insn *in)
{
	int r = sse_check(cpu);
	if (r || (r = mmx_check(cpu)))
		return r;
	mmx_set(cpu, in->reg, cpu->xmm[in->rm].q[0]);
	return SOFT_OK;
}
