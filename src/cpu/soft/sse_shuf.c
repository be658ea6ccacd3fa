/* SSE shuffles, shifts by immediate, element inserts/extracts, PMOVMSKB
 * and PTEST.  Plain C: these have no rounding or exception behaviour. */
#include "sse_common.h"

int soft_exec_pshufd(struct soft_cpu *cpu, const struct x86_insn *in)
{
	union soft_xmm s, d;
	int r = sse_check(cpu);
	if (r || (r = sse_src(cpu, in, &s, 16, true)))
		return r;
	for (int i = 0; i < 4; i++)
		d.d[i] = s.d[(in->imm >> (2 * i)) & 3];
	cpu->xmm[in->reg] = d;
	return SOFT_OK;
}

static int sse_pshufw_half(struct soft_cpu *cpu, const struct x86_insn *in, int half)
{
	union soft_xmm s, d;
	int r = sse_check(cpu);
	if (r || (r = sse_src(cpu, in, &s, 16, true)))
		return r;
	d = s;
	for (int i = 0; i < 4; i++)
		d.w[4 * half + i] = s.w[4 * half + ((in->imm >> (2 * i)) & 3)];
	cpu->xmm[in->reg] = d;
	return SOFT_OK;
}

int soft_exec_pshufhw(struct soft_cpu *cpu, const struct x86_insn *in) { return sse_pshufw_half(cpu, in, 1); }
int soft_exec_pshuflw(struct soft_cpu *cpu, const struct x86_insn *in) { return sse_pshufw_half(cpu, in, 0); }

int soft_exec_shufps(struct soft_cpu *cpu, const struct x86_insn *in)
{
	union soft_xmm s, d, o;
	int r = sse_check(cpu);
	if (r || (r = sse_src(cpu, in, &s, 16, true)))
		return r;
	d = cpu->xmm[in->reg];
	unsigned imm = (unsigned)in->imm;
	o.d[0] = d.d[imm & 3];
	o.d[1] = d.d[(imm >> 2) & 3];
	o.d[2] = s.d[(imm >> 4) & 3];
	o.d[3] = s.d[(imm >> 6) & 3];
	cpu->xmm[in->reg] = o;
	return SOFT_OK;
}

int soft_exec_shufpd(struct soft_cpu *cpu, const struct x86_insn *in)
{
	union soft_xmm s, d, o;
	int r = sse_check(cpu);
	if (r || (r = sse_src(cpu, in, &s, 16, true)))
		return r;
	d = cpu->xmm[in->reg];
	o.q[0] = d.q[in->imm & 1];
	o.q[1] = s.q[(in->imm >> 1) & 1];
	cpu->xmm[in->reg] = o;
	return SOFT_OK;
}

/* Shift-by-immediate groups 66 0F 71/72/73: the destination is ModRM.rm. */
enum { SH_LL, SH_RL, SH_RA };

static int sse_shift_i(struct soft_cpu *cpu, const struct x86_insn *in, unsigned esize, int kind)
{
	int r = sse_check(cpu);
	if (r)
		return r;
	union soft_xmm *d = &cpu->xmm[in->rm];
	unsigned cnt = (unsigned)(in->imm & 0xff), bits = esize * 8;
	for (unsigned i = 0; i < 16 / esize; i++) {
		uint64_t v = 0;
		memcpy(&v, d->b + i * esize, esize);
		if (kind == SH_RA) {
			int64_t sv = (int64_t)(v << (64 - bits)) >> (64 - bits);
			v = (uint64_t)(sv >> (cnt >= bits ? bits - 1 : cnt));
		} else if (cnt >= bits) {
			v = 0;
		} else {
			v = kind == SH_LL ? v << cnt : v >> cnt;
		}
		memcpy(d->b + i * esize, &v, esize);
	}
	return SOFT_OK;
}

#define SHIFT_I(name, es, k) \
	int soft_exec_##name(struct soft_cpu *cpu, const struct x86_insn *in) \
	{ return sse_shift_i(cpu, in, es, k); }
SHIFT_I(psllw_i, 2, SH_LL)
SHIFT_I(pslld_i, 4, SH_LL)
SHIFT_I(psllq_i, 8, SH_LL)
SHIFT_I(psrlw_i, 2, SH_RL)
SHIFT_I(psrld_i, 4, SH_RL)
SHIFT_I(psrlq_i, 8, SH_RL)
SHIFT_I(psraw_i, 2, SH_RA)
SHIFT_I(psrad_i, 4, SH_RA)

int soft_exec_pslldq_i(struct soft_cpu *cpu, const struct x86_insn *in)
{
	int r = sse_check(cpu);
	if (r)
		return r;
	union soft_xmm *d = &cpu->xmm[in->rm], o;
	unsigned n = (unsigned)(in->imm & 0xff);
	memset(&o, 0, sizeof(o));
	if (n < 16)
		memcpy(o.b + n, d->b, 16 - n);
	*d = o;
	return SOFT_OK;
}

int soft_exec_psrldq_i(struct soft_cpu *cpu, const struct x86_insn *in)
{
	int r = sse_check(cpu);
	if (r)
		return r;
	union soft_xmm *d = &cpu->xmm[in->rm], o;
	unsigned n = (unsigned)(in->imm & 0xff);
	memset(&o, 0, sizeof(o));
	if (n < 16)
		memcpy(o.b, d->b + n, 16 - n);
	*d = o;
	return SOFT_OK;
}

/* Store an extracted element: register destinations are zero-extended
 * (to 64 bits with REX.W, a 32-bit write otherwise, which also clears the
 * upper half); memory gets exactly size bytes. */
static int sse_extract_store(struct soft_cpu *cpu, const struct x86_insn *in,
			     uint64_t v, unsigned size)
{
	if (in->mod == 3) {
		cpu->gpr[in->rm] = v;
		return SOFT_OK;
	}
	return soft_write(cpu, soft_ea(cpu, in), &v, size);
}

int soft_exec_pextrb(struct soft_cpu *cpu, const struct x86_insn *in)
{
	int r = sse_check(cpu);
	if (r)
		return r;
	return sse_extract_store(cpu, in, cpu->xmm[in->reg].b[in->imm & 15], 1);
}

int soft_exec_pextrw_e(struct soft_cpu *cpu, const struct x86_insn *in)
{
	int r = sse_check(cpu);
	if (r)
		return r;
	return sse_extract_store(cpu, in, cpu->xmm[in->reg].w[in->imm & 7], 2);
}

int soft_exec_pextrd(struct soft_cpu *cpu, const struct x86_insn *in)
{
	int r = sse_check(cpu);
	if (r)
		return r;
	if (sse_rexw(in))
		return sse_extract_store(cpu, in, cpu->xmm[in->reg].q[in->imm & 1], 8);
	return sse_extract_store(cpu, in, cpu->xmm[in->reg].d[in->imm & 3], 4);
}

int soft_exec_extractps(struct soft_cpu *cpu, const struct x86_insn *in)
{
	int r = sse_check(cpu);
	if (r)
		return r;
	return sse_extract_store(cpu, in, cpu->xmm[in->reg].d[in->imm & 3], 4);
}

/* PEXTRW r32, xmm, imm8 (66 0F C5): destination is ModRM.reg. */
int soft_exec_pextrw(struct soft_cpu *cpu, const struct x86_insn *in)
{
	int r = sse_check(cpu);
	if (r)
		return r;
	cpu->gpr[in->reg] = cpu->xmm[in->rm].w[in->imm & 7];
	return SOFT_OK;
}

/* Source of an insert: a GPR (low bytes) or size bytes of memory. */
static int sse_insert_src(struct soft_cpu *cpu, const struct x86_insn *in,
			  uint64_t *v, unsigned size)
{
	*v = 0;
	if (in->mod == 3) {
		*v = cpu->gpr[in->rm];
		return SOFT_OK;
	}
	return soft_read(cpu, soft_ea(cpu, in), v, size);
}

int soft_exec_pinsrb(struct soft_cpu *cpu, const struct x86_insn *in)
{
	uint64_t v;
	int r = sse_check(cpu);
	if (r || (r = sse_insert_src(cpu, in, &v, 1)))
		return r;
	cpu->xmm[in->reg].b[in->imm & 15] = (uint8_t)v;
	return SOFT_OK;
}

int soft_exec_pinsrw(struct soft_cpu *cpu, const struct x86_insn *in)
{
	uint64_t v;
	int r = sse_check(cpu);
	if (r || (r = sse_insert_src(cpu, in, &v, 2)))
		return r;
	cpu->xmm[in->reg].w[in->imm & 7] = (uint16_t)v;
	return SOFT_OK;
}

int soft_exec_pinsrd(struct soft_cpu *cpu, const struct x86_insn *in)
{
	uint64_t v;
	bool q = sse_rexw(in);
	int r = sse_check(cpu);
	if (r || (r = sse_insert_src(cpu, in, &v, q ? 8 : 4)))
		return r;
	if (q)
		cpu->xmm[in->reg].q[in->imm & 1] = v;
	else
		cpu->xmm[in->reg].d[in->imm & 3] = (uint32_t)v;
	return SOFT_OK;
}

/* INSERTPS xmm1, xmm2/m32, imm8: count_s (register form only), count_d,
 * zero mask. */
int soft_exec_insertps(struct soft_cpu *cpu, const struct x86_insn *in)
{
	int r = sse_check(cpu);
	if (r)
		return r;
	unsigned imm = (unsigned)in->imm;
	uint32_t v;
	if (in->mod == 3) {
		v = cpu->xmm[in->rm].d[(imm >> 6) & 3];
	} else if ((r = soft_read(cpu, soft_ea(cpu, in), &v, 4))) {
		return r;
	}
	union soft_xmm *d = &cpu->xmm[in->reg];
	d->d[(imm >> 4) & 3] = v;
	for (int i = 0; i < 4; i++)
		if (imm & (1u << i))
			d->d[i] = 0;
	return SOFT_OK;
}

int soft_exec_pmovmskb(struct soft_cpu *cpu, const struct x86_insn *in)
{
	int r = sse_check(cpu);
	if (r)
		return r;
	const union soft_xmm *s = &cpu->xmm[in->rm];
	uint64_t m = 0;
	for (int i = 0; i < 16; i++)
		m |= (uint64_t)(s->b[i] >> 7) << i;
	cpu->gpr[in->reg] = m;
	return SOFT_OK;
}

/* PTEST: ZF = (dst AND src) == 0, CF = (NOT dst AND src) == 0; AF OF PF SF
 * cleared. */
int soft_exec_ptest(struct soft_cpu *cpu, const struct x86_insn *in)
{
	union soft_xmm s;
	int r = sse_check(cpu);
	if (r || (r = sse_src(cpu, in, &s, 16, true)))
		return r;
	const union soft_xmm *d = &cpu->xmm[in->reg];
	uint64_t fl = soft_get_rflags(cpu) & ~0x8d5ULL;
	if (!((d->q[0] & s.q[0]) | (d->q[1] & s.q[1])))
		fl |= X86_RFLAGS_ZF;
	if (!((~d->q[0] & s.q[0]) | (~d->q[1] & s.q[1])))
		fl |= X86_RFLAGS_CF;
	soft_set_rflags(cpu, fl);
	return SOFT_OK;
}
