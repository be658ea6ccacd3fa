/* SSE data movement: full-register loads and stores, scalar and half
 * moves, MOVD/MOVQ, MOVxDUP, MASKMOVDQU, MOVNT*.  Plain C. */
#include "sse_common.h"

/* Full 128-bit load: dst = src (align16: movaps-style rule). */
static int sse_load128(struct soft_cpu *cpu, const struct x86_insn *in, bool align16)
{
	union soft_xmm s;
	int r = sse_check(cpu);
	if (r)
		return r;
	r = sse_src(cpu, in, &s, 16, align16);
	if (r)
		return r;
	cpu->xmm[in->reg] = s;
	return SOFT_OK;
}

/* Full 128-bit store: r/m = src. */
static int sse_store128(struct soft_cpu *cpu, const struct x86_insn *in, bool align16)
{
	int r = sse_check(cpu);
	if (r)
		return r;
	union soft_xmm v = cpu->xmm[in->reg];
	return sse_store_rm(cpu, in, &v, 16, align16);
}

#define LOAD128(name, al) \
	int soft_exec_##name(struct soft_cpu *cpu, const struct x86_insn *in) \
	{ return sse_load128(cpu, in, al); }
#define STORE128(name, al) \
	int soft_exec_##name(struct soft_cpu *cpu, const struct x86_insn *in) \
	{ return sse_store128(cpu, in, al); }

LOAD128(movups, false)
LOAD128(movupd, false)
LOAD128(movdqu, false)
LOAD128(lddqu, false)
LOAD128(movaps, true)
LOAD128(movapd, true)
LOAD128(movdqa, true)
LOAD128(movntdqa, true)
STORE128(movups_st, false)
STORE128(movupd_st, false)
STORE128(movdqu_st, false)
STORE128(movaps_st, true)
STORE128(movapd_st, true)
STORE128(movdqa_st, true)
STORE128(movntps, true)
STORE128(movntpd, true)
STORE128(movntdq, true)

/* MOVSS/MOVSD load: from memory the rest of the register is zeroed; from
 * a register only the low element moves. */
static int sse_movs_load(struct soft_cpu *cpu, const struct x86_insn *in, unsigned size)
{
	int r = sse_check(cpu);
	if (r)
		return r;
	union soft_xmm *d = &cpu->xmm[in->reg];
	if (in->mod == 3) {
		memcpy(d->b, cpu->xmm[in->rm].b, size);
		return SOFT_OK;
	}
	union soft_xmm s;
	r = sse_src(cpu, in, &s, size, false);
	if (r)
		return r;
	*d = s;
	return SOFT_OK;
}

static int sse_movs_store(struct soft_cpu *cpu, const struct x86_insn *in, unsigned size)
{
	int r = sse_check(cpu);
	if (r)
		return r;
	const union soft_xmm *s = &cpu->xmm[in->reg];
	if (in->mod == 3) {
		memcpy(cpu->xmm[in->rm].b, s->b, size);
		return SOFT_OK;
	}
	return soft_write(cpu, soft_ea(cpu, in), s->b, size);
}

int soft_exec_movss(struct soft_cpu *cpu, const struct x86_insn *in) { return sse_movs_load(cpu, in, 4); }
int soft_exec_movsd(struct soft_cpu *cpu, const struct x86_insn *in) { return sse_movs_load(cpu, in, 8); }
int soft_exec_movss_st(struct soft_cpu *cpu, const struct x86_insn *in) { return sse_movs_store(cpu, in, 4); }
int soft_exec_movsd_st(struct soft_cpu *cpu, const struct x86_insn *in) { return sse_movs_store(cpu, in, 8); }

/* MOVLPS/MOVLPD load the low quadword from m64; the register form of
 * 0F 12 is MOVHLPS (low = source high).  MOVHPS/MOVHPD load the high
 * quadword; the register form of 0F 16 is MOVLHPS (high = source low). */
static int sse_movhl(struct soft_cpu *cpu, const struct x86_insn *in, bool high)
{
	int r = sse_check(cpu);
	if (r)
		return r;
	union soft_xmm *d = &cpu->xmm[in->reg];
	uint64_t v;
	if (in->mod == 3) {
		v = cpu->xmm[in->rm].q[high ? 0 : 1];
	} else {
		r = soft_read(cpu, soft_ea(cpu, in), &v, 8);
		if (r)
			return r;
	}
	d->q[high ? 1 : 0] = v;
	return SOFT_OK;
}

static int sse_movhl_st(struct soft_cpu *cpu, const struct x86_insn *in, bool high)
{
	int r = sse_check(cpu);
	if (r)
		return r;
	if (in->mod == 3)
		return soft_raise(cpu, X86_EXC_UD, false, 0);
	uint64_t v = cpu->xmm[in->reg].q[high ? 1 : 0];
	return soft_write(cpu, soft_ea(cpu, in), &v, 8);
}

int soft_exec_movlps(struct soft_cpu *cpu, const struct x86_insn *in) { return sse_movhl(cpu, in, false); }
int soft_exec_movlpd(struct soft_cpu *cpu, const struct x86_insn *in)
{
	if (in->mod == 3)
		return soft_raise(cpu, X86_EXC_UD, false, 0);
	return sse_movhl(cpu, in, false);
}
int soft_exec_movhps(struct soft_cpu *cpu, const struct x86_insn *in) { return sse_movhl(cpu, in, true); }
int soft_exec_movhpd(struct soft_cpu *cpu, const struct x86_insn *in)
{
	if (in->mod == 3)
		return soft_raise(cpu, X86_EXC_UD, false, 0);
	return sse_movhl(cpu, in, true);
}
int soft_exec_movlps_st(struct soft_cpu *cpu, const struct x86_insn *in) { return sse_movhl_st(cpu, in, false); }
int soft_exec_movlpd_st(struct soft_cpu *cpu, const struct x86_insn *in) { return sse_movhl_st(cpu, in, false); }
int soft_exec_movhps_st(struct soft_cpu *cpu, const struct x86_insn *in) { return sse_movhl_st(cpu, in, true); }
int soft_exec_movhpd_st(struct soft_cpu *cpu, const struct x86_insn *in) { return sse_movhl_st(cpu, in, true); }

/* MOVSLDUP / MOVSHDUP (m128, aligned) and MOVDDUP (m64). */
int soft_exec_movsldup(struct soft_cpu *cpu, const struct x86_insn *in)
{
	union soft_xmm s, d;
	int r = sse_check(cpu);
	if (r || (r = sse_src(cpu, in, &s, 16, true)))
		return r;
	d.d[0] = d.d[1] = s.d[0];
	d.d[2] = d.d[3] = s.d[2];
	cpu->xmm[in->reg] = d;
	return SOFT_OK;
}

int soft_exec_movshdup(struct soft_cpu *cpu, const struct x86_insn *in)
{
	union soft_xmm s, d;
	int r = sse_check(cpu);
	if (r || (r = sse_src(cpu, in, &s, 16, true)))
		return r;
	d.d[0] = d.d[1] = s.d[1];
	d.d[2] = d.d[3] = s.d[3];
	cpu->xmm[in->reg] = d;
	return SOFT_OK;
}

int soft_exec_movddup(struct soft_cpu *cpu, const struct x86_insn *in)
{
	union soft_xmm s, d;
	int r = sse_check(cpu);
	if (r || (r = sse_src(cpu, in, &s, 8, false)))
		return r;
	d.q[0] = d.q[1] = s.q[0];
	cpu->xmm[in->reg] = d;
	return SOFT_OK;
}

/* MOVD/MOVQ xmm, r/m32 (r/m64 with REX.W): zero-extends into the XMM. */
int soft_exec_movd_load(struct soft_cpu *cpu, const struct x86_insn *in)
{
	unsigned sz = sse_rexw(in) ? 8 : 4;
	uint64_t v = 0;
	int r = sse_check(cpu);
	if (r)
		return r;
	if (in->mod == 3) {
		v = sse_gpr_get(cpu, in->rm, sz);
	} else if ((r = soft_read(cpu, soft_ea(cpu, in), &v, sz))) {
		return r;
	}
	union soft_xmm *d = &cpu->xmm[in->reg];
	d->q[0] = v;
	d->q[1] = 0;
	return SOFT_OK;
}

/* MOVD/MOVQ r/m32 (r/m64), xmm. */
int soft_exec_movd_store(struct soft_cpu *cpu, const struct x86_insn *in)
{
	unsigned sz = sse_rexw(in) ? 8 : 4;
	int r = sse_check(cpu);
	if (r)
		return r;
	uint64_t v = cpu->xmm[in->reg].q[0];
	if (in->mod == 3) {
		sse_gpr_set32(cpu, in->rm, v, sz);
		return SOFT_OK;
	}
	return soft_write(cpu, soft_ea(cpu, in), &v, sz);
}

/* MOVQ xmm, xmm/m64 (F3 0F 7E): low quadword, upper zeroed. */
int soft_exec_movq_load(struct soft_cpu *cpu, const struct x86_insn *in)
{
	union soft_xmm s;
	int r = sse_check(cpu);
	if (r || (r = sse_src(cpu, in, &s, 8, false)))
		return r;
	union soft_xmm *d = &cpu->xmm[in->reg];
	d->q[0] = s.q[0];
	d->q[1] = 0;
	return SOFT_OK;
}

/* MOVQ xmm/m64, xmm (66 0F D6): to a register the upper half is zeroed. */
int soft_exec_movq_store(struct soft_cpu *cpu, const struct x86_insn *in)
{
	int r = sse_check(cpu);
	if (r)
		return r;
	uint64_t v = cpu->xmm[in->reg].q[0];
	if (in->mod == 3) {
		cpu->xmm[in->rm].q[0] = v;
		cpu->xmm[in->rm].q[1] = 0;
		return SOFT_OK;
	}
	return soft_write(cpu, soft_ea(cpu, in), &v, 8);
}

/* MASKMOVDQU xmm1, xmm2: store the bytes of xmm1 whose mask byte (xmm2)
 * has bit 7 set to DS:rDI.  Bytes are written one at a time so a fault
 * leaves earlier bytes written, like hardware may; a zero mask writes
 * nothing. */
int soft_exec_maskmovdqu(struct soft_cpu *cpu, const struct x86_insn *in)
{
	int r = sse_check(cpu);
	if (r)
		return r;
	const union soft_xmm *v = &cpu->xmm[in->reg], *m = &cpu->xmm[in->rm];
	uint64_t off = cpu->gpr[GPR_RDI];
	if (in->addrsize == 4)
		off &= 0xffffffffu;
	unsigned seg = (in->prefixes & X86_PFX_SEG) ? in->seg_override : SEG_DS;
	uint64_t la = soft_ea_seg(cpu, seg, off);
	for (int i = 0; i < 16; i++) {
		if (!(m->b[i] & 0x80))
			continue;
		r = soft_write(cpu, la + (uint64_t)i, &v->b[i], 1);
		if (r)
			return r;
	}
	return SOFT_OK;
}
