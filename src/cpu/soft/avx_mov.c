/* VEX-encoded instructions outside the generic executor's shape (plain C
 * on the guest's state, SDM vol. 2 for each): loads and stores, scalar and
 * half-register moves, GPR transfers, broadcasts from memory, 128-bit lane
 * extraction, masked moves, gathers, VZEROUPPER/VZEROALL, VPTEST/VTESTPx,
 * and VEX forms whose legacy handler already computes the right result
 * (comparisons into RFLAGS, conversions to a GPR, extractions, string
 * compares): those run the legacy handler after the VEX checks and zero
 * bits 255:128 of the XMM register they write. */
#include "avx_common.h"

#define H(name) int soft_exec_##name(struct soft_cpu *cpu, const struct x86_insn *in)

static unsigned vlen(const struct x86_insn *in)
{
	return in->vex_l ? 32 : 16;
}

/* The destination of a load: all 256 bits with VEX.256, else the XMM
 * register with bits 255:128 zeroed. */
static void put_reg(struct soft_cpu *cpu, const struct x86_insn *in, unsigned r, const struct avx_ymm *v)
{
	if (in->vex_l)
		avx_set(cpu, r, v);
	else
		avx_set128(cpu, r, &v->lo);
}

static int load(struct soft_cpu *cpu, const struct x86_insn *in, bool align, uint32_t need256)
{
	struct avx_ymm v;
	int r = avx_check(cpu, in->vex_l ? need256 : SOFT_HOST_AVX);
	if (r || (r = avx_src(cpu, in, &v, vlen(in), align)))
		return r;
	put_reg(cpu, in, in->reg, &v);
	return SOFT_OK;
}

static int store(struct soft_cpu *cpu, const struct x86_insn *in, bool align)
{
	struct avx_ymm v;
	int r = avx_check(cpu, SOFT_HOST_AVX);
	if (r)
		return r;
	avx_get(cpu, in->reg, &v);
	if (in->mod == 3) {
		put_reg(cpu, in, in->rm, &v);
		return SOFT_OK;
	}
	uint64_t la = soft_ea(cpu, in);
	if (align && (la & (vlen(in) - 1)))
		return soft_gp0(cpu);
	return soft_write(cpu, la, &v, vlen(in));
}

H(vmovups) { return load(cpu, in, false, SOFT_HOST_AVX); }
H(vmovupd) { return load(cpu, in, false, SOFT_HOST_AVX); }
H(vmovdqu) { return load(cpu, in, false, SOFT_HOST_AVX); }
H(vlddqu) { return load(cpu, in, false, SOFT_HOST_AVX); }
H(vmovaps) { return load(cpu, in, true, SOFT_HOST_AVX); }
H(vmovapd) { return load(cpu, in, true, SOFT_HOST_AVX); }
H(vmovdqa) { return load(cpu, in, true, SOFT_HOST_AVX); }
H(vmovntdqa) { return load(cpu, in, true, SOFT_HOST_AVX2); }
H(vmovups_st) { return store(cpu, in, false); }
H(vmovupd_st) { return store(cpu, in, false); }
H(vmovdqu_st) { return store(cpu, in, false); }
H(vmovaps_st) { return store(cpu, in, true); }
H(vmovapd_st) { return store(cpu, in, true); }
H(vmovdqa_st) { return store(cpu, in, true); }
H(vmovntps) { return store(cpu, in, true); }
H(vmovntpd) { return store(cpu, in, true); }
H(vmovntdq) { return store(cpu, in, true); }

/* VMOVSS/VMOVSD (VEX.LIG): from memory, the element zero-extended (VEX.vvvv
 * must be 1111b); between registers, the element merged into VEX.vvvv's
 * bits 127:size. */
static int movs_load(struct soft_cpu *cpu, const struct x86_insn *in, unsigned size)
{
	int r = avx_check(cpu, SOFT_HOST_AVX);
	if (r)
		return r;
	union soft_xmm v;
	if (in->mod != 3) {
		if (in->vex_vvvv)
			return soft_ud(cpu);
		memset(&v, 0, sizeof(v));
		if ((r = soft_read(cpu, soft_ea(cpu, in), &v, size)))
			return r;
	} else {
		v = cpu->xmm[in->vex_vvvv];
		memcpy(&v, &cpu->xmm[in->rm], size);
	}
	avx_set128(cpu, in->reg, &v);
	return SOFT_OK;
}

static int movs_store(struct soft_cpu *cpu, const struct x86_insn *in, unsigned size)
{
	int r = avx_check(cpu, SOFT_HOST_AVX);
	if (r)
		return r;
	if (in->mod != 3) {
		if (in->vex_vvvv)
			return soft_ud(cpu);
		return soft_write(cpu, soft_ea(cpu, in), &cpu->xmm[in->reg], size);
	}
	union soft_xmm v = cpu->xmm[in->vex_vvvv];
	memcpy(&v, &cpu->xmm[in->reg], size);
	avx_set128(cpu, in->rm, &v);
	return SOFT_OK;
}

H(vmovss) { return movs_load(cpu, in, 4); }
H(vmovsd) { return movs_load(cpu, in, 8); }
H(vmovss_st) { return movs_store(cpu, in, 4); }
H(vmovsd_st) { return movs_store(cpu, in, 8); }

/* VMOVLPS/VMOVLPD/VMOVHLPS and VMOVHPS/VMOVHPD/VMOVLHPS (VEX.128 only):
 * one quadword from memory (or the other half of a register) and the
 * other from VEX.vvvv.  mem_only: the 66 forms have no register form. */
static int movlh(struct soft_cpu *cpu, const struct x86_insn *in, bool high, bool mem_only)
{
	int r = avx_check(cpu, SOFT_HOST_AVX);
	if (r)
		return r;
	if (in->vex_l || (mem_only && in->mod == 3))
		return soft_ud(cpu);
	union soft_xmm v = cpu->xmm[in->vex_vvvv];
	uint64_t q;
	if (in->mod == 3)
		q = cpu->xmm[in->rm].q[high ? 0 : 1];
	else if ((r = soft_read(cpu, soft_ea(cpu, in), &q, 8)))
		return r;
	v.q[high ? 1 : 0] = q;
	avx_set128(cpu, in->reg, &v);
	return SOFT_OK;
}

static int movlh_store(struct soft_cpu *cpu, const struct x86_insn *in, bool high)
{
	int r = avx_check(cpu, SOFT_HOST_AVX);
	if (r)
		return r;
	if (in->vex_l)
		return soft_ud(cpu);
	return soft_write(cpu, soft_ea(cpu, in), &cpu->xmm[in->reg].q[high ? 1 : 0], 8);
}

H(vmovlps) { return movlh(cpu, in, false, false); }
H(vmovlpd) { return movlh(cpu, in, false, true); }
H(vmovhps) { return movlh(cpu, in, true, false); }
H(vmovhpd) { return movlh(cpu, in, true, true); }
H(vmovlps_st) { return movlh_store(cpu, in, false); }
H(vmovlpd_st) { return movlh_store(cpu, in, false); }
H(vmovhps_st) { return movlh_store(cpu, in, true); }
H(vmovhpd_st) { return movlh_store(cpu, in, true); }

/* VMOVD/VMOVQ (VEX.128, W1 = 64 bits in 64-bit mode) */
H(vmovd)
{
	int r = avx_check(cpu, SOFT_HOST_AVX);
	if (r)
		return r;
	if (in->vex_l)
		return soft_ud(cpu);
	unsigned size = in->opsize == 8 ? 8 : 4;
	union soft_xmm v;
	memset(&v, 0, sizeof(v));
	if (in->mod == 3)
		v.q[0] = sse_gpr_get(cpu, in->rm, size);
	else if ((r = soft_read(cpu, soft_ea(cpu, in), &v, size)))
		return r;
	avx_set128(cpu, in->reg, &v);
	return SOFT_OK;
}

H(vmovd_st)
{
	int r = avx_check(cpu, SOFT_HOST_AVX);
	if (r)
		return r;
	if (in->vex_l)
		return soft_ud(cpu);
	unsigned size = in->opsize == 8 ? 8 : 4;
	if (in->mod == 3) {
		sse_gpr_set32(cpu, in->rm, cpu->xmm[in->reg].q[0], size);
		return SOFT_OK;
	}
	return soft_write(cpu, soft_ea(cpu, in), &cpu->xmm[in->reg], size);
}

H(vmovq)
{
	int r = avx_check(cpu, SOFT_HOST_AVX);
	if (r)
		return r;
	if (in->vex_l)
		return soft_ud(cpu);
	union soft_xmm v;
	memset(&v, 0, sizeof(v));
	if (in->mod == 3)
		v.q[0] = cpu->xmm[in->rm].q[0];
	else if ((r = soft_read(cpu, soft_ea(cpu, in), &v, 8)))
		return r;
	avx_set128(cpu, in->reg, &v);
	return SOFT_OK;
}

H(vmovq_st)
{
	int r = avx_check(cpu, SOFT_HOST_AVX);
	if (r)
		return r;
	if (in->vex_l)
		return soft_ud(cpu);
	if (in->mod != 3)
		return soft_write(cpu, soft_ea(cpu, in), &cpu->xmm[in->reg], 8);
	union soft_xmm v;
	memset(&v, 0, sizeof(v));
	v.q[0] = cpu->xmm[in->reg].q[0];
	avx_set128(cpu, in->rm, &v);
	return SOFT_OK;
}

/* VMOVMSKPS/PD, VPMOVMSKB: the sign bits of each element into a GPR
 * (zero-extended; 256-bit VPMOVMSKB is AVX2). */
static int movmsk(struct soft_cpu *cpu, const struct x86_insn *in, unsigned esize, uint32_t need256)
{
	int r = avx_check(cpu, in->vex_l ? need256 : SOFT_HOST_AVX);
	if (r)
		return r;
	struct avx_ymm v;
	avx_get(cpu, in->rm, &v);
	const uint8_t *b = (const uint8_t *)&v;
	uint64_t m = 0;
	unsigned n = vlen(in) / esize;
	for (unsigned i = 0; i < n; i++)
		m |= (uint64_t)(b[i * esize + esize - 1] >> 7) << i;
	cpu->gpr[in->reg] = m;
	return SOFT_OK;
}

H(vmovmskps) { return movmsk(cpu, in, 4, SOFT_HOST_AVX); }
H(vmovmskpd) { return movmsk(cpu, in, 8, SOFT_HOST_AVX); }
H(vpmovmskb) { return movmsk(cpu, in, 1, SOFT_HOST_AVX2); }

/* VZEROUPPER (L=0) / VZEROALL (L=1): YMM0-15 in 64-bit mode, YMM0-7
 * otherwise (SDM vol. 2: "In Compatibility and legacy 32-bit mode only
 * the lower 8 registers are modified"). */
H(vzeroupper)
{
	int r = avx_check(cpu, SOFT_HOST_AVX);
	if (r)
		return r;
	unsigned n = in->mode == SOFT_MODE_64 ? 16 : 8;
	memset(cpu->ymmh, 0, n * sizeof(cpu->ymmh[0]));
	if (in->vex_l)
		memset(cpu->xmm, 0, n * sizeof(cpu->xmm[0]));
	return SOFT_OK;
}

/* VLDMXCSR/VSTMXCSR (VEX.L0: L=1 is #UD) */
H(vldmxcsr)
{
	int r = avx_check(cpu, SOFT_HOST_AVX);
	if (r)
		return r;
	if (in->vex_l)
		return soft_ud(cpu);
	uint32_t v;
	if ((r = soft_read(cpu, soft_ea(cpu, in), &v, 4)))
		return r;
	if (v & ~MXCSR_VALID)
		return soft_gp0(cpu);
	cpu->mxcsr = v;
	return SOFT_OK;
}

H(vstmxcsr)
{
	int r = avx_check(cpu, SOFT_HOST_AVX);
	if (r)
		return r;
	if (in->vex_l)
		return soft_ud(cpu);
	return soft_write(cpu, soft_ea(cpu, in), &cpu->mxcsr, 4);
}

/* VPTEST / VTESTPS / VTESTPD: ZF = (src AND dst) == 0, CF = (src AND NOT
 * dst) == 0, over all bits (VPTEST) or the element sign bits (VTESTPx);
 * AF OF PF SF cleared. */
static int vtest(struct soft_cpu *cpu, const struct x86_insn *in, uint64_t bits)
{
	struct avx_ymm s, d;
	int r = avx_check(cpu, SOFT_HOST_AVX);
	if (r || (r = avx_src(cpu, in, &s, vlen(in), false)))
		return r;
	avx_get(cpu, in->reg, &d);
	const uint64_t *sq = (const uint64_t *)&s, *dq = (const uint64_t *)&d;
	uint64_t z = 0, c = 0;
	for (unsigned i = 0; i < vlen(in) / 8; i++) {
		z |= sq[i] & dq[i] & bits;
		c |= sq[i] & ~dq[i] & bits;
	}
	uint64_t fl = soft_get_rflags(cpu) & ~0x8d5ULL;
	if (!z)
		fl |= X86_RFLAGS_ZF;
	if (!c)
		fl |= X86_RFLAGS_CF;
	soft_set_rflags(cpu, fl);
	return SOFT_OK;
}

H(vptest) { return vtest(cpu, in, ~0ULL); }
H(vtestps) { return vtest(cpu, in, 0x8000000080000000ULL); }
H(vtestpd) { return vtest(cpu, in, 0x8000000000000000ULL); }

/* VBROADCASTSS (L0/L1), VBROADCASTSD (L1), VBROADCASTF128/I128 (L1, memory
 * only): the element from memory, or (AVX2) from the low XMM element. */
static int broadcast(struct soft_cpu *cpu, const struct x86_insn *in, unsigned esize, bool l1_only,
		     uint32_t need)
{
	int r = avx_check(cpu, in->mod == 3 ? SOFT_HOST_AVX2 : need);
	if (r)
		return r;
	if (l1_only && !in->vex_l)
		return soft_ud(cpu);
	if (esize == 16 && in->mod == 3)
		return soft_ud(cpu);
	uint8_t e[16];
	if (in->mod == 3)
		memcpy(e, &cpu->xmm[in->rm], esize);
	else if ((r = soft_read(cpu, soft_ea(cpu, in), e, esize)))
		return r;
	struct avx_ymm v;
	uint8_t *b = (uint8_t *)&v;
	for (unsigned i = 0; i < sizeof(v); i += esize)
		memcpy(b + i, e, esize);
	put_reg(cpu, in, in->reg, &v);
	return SOFT_OK;
}

H(vbroadcastss) { return broadcast(cpu, in, 4, false, SOFT_HOST_AVX); }
H(vbroadcastsd) { return broadcast(cpu, in, 8, true, SOFT_HOST_AVX); }
H(vbroadcastf128) { return broadcast(cpu, in, 16, true, SOFT_HOST_AVX); }
H(vbroadcasti128) { return broadcast(cpu, in, 16, true, SOFT_HOST_AVX2); }

/* VEXTRACTF128/I128 (L1 only): imm8[0] selects the half. */
static int extract128(struct soft_cpu *cpu, const struct x86_insn *in, uint32_t need)
{
	int r = avx_check(cpu, need);
	if (r)
		return r;
	if (!in->vex_l)
		return soft_ud(cpu);
	union soft_xmm v = (in->imm & 1) ? cpu->ymmh[in->reg] : cpu->xmm[in->reg];
	if (in->mod == 3) {
		avx_set128(cpu, in->rm, &v);
		return SOFT_OK;
	}
	return soft_write(cpu, soft_ea(cpu, in), &v, 16);
}

H(vextractf128) { return extract128(cpu, in, SOFT_HOST_AVX); }
H(vextracti128) { return extract128(cpu, in, SOFT_HOST_AVX2); }

/* VINSERTPS (VEX.128): as INSERTPS, with VEX.vvvv as the first source. */
H(vinsertps)
{
	int r = avx_check(cpu, SOFT_HOST_AVX);
	if (r)
		return r;
	if (in->vex_l)
		return soft_ud(cpu);
	unsigned imm = (unsigned)in->imm & 0xff;
	uint32_t e;
	if (in->mod == 3)
		e = cpu->xmm[in->rm].d[(imm >> 6) & 3];
	else if ((r = soft_read(cpu, soft_ea(cpu, in), &e, 4)))
		return r;
	union soft_xmm v = cpu->xmm[in->vex_vvvv];
	v.d[(imm >> 4) & 3] = e;
	for (unsigned i = 0; i < 4; i++)
		if (imm & (1u << i))
			v.d[i] = 0;
	avx_set128(cpu, in->reg, &v);
	return SOFT_OK;
}

/* Masked loads and stores (VMASKMOVPS/PD: AVX; VPMASKMOVD/Q: AVX2): the
 * mask is the sign bit of each VEX.vvvv element.  Elements are accessed one
 * by one, so a masked-off element never faults (SDM: "Faults occur only due
 * to mask-bit required memory accesses that caused the faults"); a load
 * writes zero to masked-off elements. */
static int maskmov(struct soft_cpu *cpu, const struct x86_insn *in, unsigned esize, uint32_t need,
		   bool store)
{
	int r = avx_check(cpu, need);
	if (r)
		return r;
	struct avx_ymm m, v;
	avx_get(cpu, in->vex_vvvv, &m);
	if (store)
		avx_get(cpu, in->reg, &v);
	else
		memset(&v, 0, sizeof(v));
	const uint8_t *mb = (const uint8_t *)&m;
	uint8_t *vb = (uint8_t *)&v;
	uint64_t la = soft_ea(cpu, in);
	for (unsigned i = 0; i < vlen(in); i += esize) {
		if (!(mb[i + esize - 1] & 0x80))
			continue;
		r = store ? soft_write(cpu, la + i, vb + i, esize) : soft_read(cpu, la + i, vb + i, esize);
		if (r)
			return r;
	}
	if (!store)
		put_reg(cpu, in, in->reg, &v);
	return SOFT_OK;
}

H(vmaskmovps) { return maskmov(cpu, in, 4, SOFT_HOST_AVX, false); }
H(vmaskmovpd) { return maskmov(cpu, in, 8, SOFT_HOST_AVX, false); }
H(vpmaskmovd) { return maskmov(cpu, in, 4, SOFT_HOST_AVX2, false); }
H(vpmaskmovq) { return maskmov(cpu, in, 8, SOFT_HOST_AVX2, false); }
H(vmaskmovps_st) { return maskmov(cpu, in, 4, SOFT_HOST_AVX, true); }
H(vmaskmovpd_st) { return maskmov(cpu, in, 8, SOFT_HOST_AVX, true); }
H(vpmaskmovd_st) { return maskmov(cpu, in, 4, SOFT_HOST_AVX2, true); }
H(vpmaskmovq_st) { return maskmov(cpu, in, 8, SOFT_HOST_AVX2, true); }

/* Gathers (AVX2; SDM vol. 2 VGATHERDPS & co): VSIB addressing (ModRM.rm =
 * 100b, the SIB index names a vector register), the mask in VEX.vvvv.
 * Elements are loaded in order; each one loaded has its mask element
 * cleared and its destination element written, so a fault part-way leaves
 * the registers as far as the gather got (the manual's "partially
 * updated" state) and the instruction can be restarted.  On completion
 * the whole mask register is zero.  #UD if the destination, index and
 * mask registers are not all different. */
static int gather(struct soft_cpu *cpu, const struct x86_insn *in, unsigned isize, unsigned dsize)
{
	int r = avx_check(cpu, SOFT_HOST_AVX2);
	if (r)
		return r;
	if (in->mod == 3 || (in->modrm & 7) != 4)
		return soft_ud(cpu);
	unsigned vidx = ((in->sib >> 3) & 7) | ((in->rex & 2) << 2);
	if (in->reg == vidx || in->reg == in->vex_vvvv || vidx == in->vex_vvvv)
		return soft_ud(cpu);
	unsigned n = vlen(in) / (isize > dsize ? isize : dsize);
	struct avx_ymm idx, mask, dst;
	avx_get(cpu, vidx, &idx);
	avx_get(cpu, in->vex_vvvv, &mask);
	avx_get(cpu, in->reg, &dst);
	uint8_t *mb = (uint8_t *)&mask, *db = (uint8_t *)&dst;
	const uint8_t *ib = (const uint8_t *)&idx;
	/* the results' register width: dword data with qword indices fills
	 * half of the index width */
	bool wide = in->vex_l && n * dsize == 32;
	struct x86_insn e = *in;
	e.index = -1;
	r = SOFT_OK;
	for (unsigned i = 0; i < n; i++) {
		if (!(mb[i * dsize + dsize - 1] & 0x80))
			continue;
		int64_t ix;
		if (isize == 4) {
			int32_t v;
			memcpy(&v, ib + i * 4, 4);
			ix = v;
		} else {
			memcpy(&ix, ib + i * 8, 8);
		}
		e.disp = in->disp + (int64_t)((uint64_t)ix * in->scale);
		uint64_t la = soft_ea(cpu, &e);
		uint8_t v[8];
		if ((r = soft_read(cpu, la, v, dsize)))
			break;
		memcpy(db + i * dsize, v, dsize);
		memset(mb + i * dsize, 0, dsize);
	}
	if (r == SOFT_OK)
		memset(&mask, 0, sizeof(mask));
	/* elements past n (qword index, dword data) are zeroed */
	memset(db + n * dsize, 0, sizeof(dst) - n * dsize);
	memset(mb + n * dsize, 0, sizeof(mask) - n * dsize);
	if (wide) {
		avx_set(cpu, in->reg, &dst);
		avx_set(cpu, in->vex_vvvv, &mask);
	} else {
		avx_set128(cpu, in->reg, &dst.lo);
		avx_set128(cpu, in->vex_vvvv, &mask.lo);
	}
	return r;
}

H(vpgatherdd) { return gather(cpu, in, 4, 4); }
H(vpgatherdq) { return gather(cpu, in, 4, 8); }
H(vpgatherqd) { return gather(cpu, in, 8, 4); }
H(vpgatherqq) { return gather(cpu, in, 8, 8); }
H(vgatherdps) { return gather(cpu, in, 4, 4); }
H(vgatherdpd) { return gather(cpu, in, 4, 8); }
H(vgatherqps) { return gather(cpu, in, 8, 4); }
H(vgatherqpd) { return gather(cpu, in, 8, 8); }

/* Run a legacy SSE handler for a VEX form whose checks are done: the
 * legacy handler's own sse_check (CR0.EM, CR4.OSFXSR, which do not apply
 * to VEX instructions) sees them satisfied for the duration of the call;
 * nothing else in those handlers reads these two bits. */
static int legacy_call(struct soft_cpu *cpu, const struct x86_insn *in, soft_exec_fn fn)
{
	uint64_t cr0 = cpu->cr0, cr4 = cpu->cr4;
	cpu->cr0 &= ~(uint64_t)X86_CR0_EM;
	cpu->cr4 |= X86_CR4_OSFXSR;
	int r = fn(cpu, in);
	cpu->cr0 = cr0;
	cpu->cr4 = cr4;
	return r;
}

/* VEX forms computed by the legacy handler (no XMM destination, or one
 * handled here): the VEX checks first, VEX.L must be 0. */
static int legacy(struct soft_cpu *cpu, const struct x86_insn *in, soft_exec_fn fn)
{
	int r = avx_check(cpu, SOFT_HOST_AVX);
	if (r)
		return r;
	if (in->vex_l)
		return soft_ud(cpu);
	return legacy_call(cpu, in, fn);
}

/* The same for a legacy "xmm = insert(xmm, ...)" handler: VEX.vvvv is the
 * first source, bits 255:128 of the destination are zeroed, and a fault
 * leaves the destination as it was.  Only for rows whose r/m is not an XMM
 * register (the GPR or memory operand cannot alias the copy). */
static int legacy_nds(struct soft_cpu *cpu, const struct x86_insn *in, soft_exec_fn fn)
{
	int r = avx_check(cpu, SOFT_HOST_AVX);
	if (r)
		return r;
	if (in->vex_l)
		return soft_ud(cpu);
	union soft_xmm old = cpu->xmm[in->reg];
	cpu->xmm[in->reg] = cpu->xmm[in->vex_vvvv];
	if ((r = legacy_call(cpu, in, fn))) {
		cpu->xmm[in->reg] = old;
		return r;
	}
	memset(&cpu->ymmh[in->reg], 0, sizeof(cpu->ymmh[0]));
	return SOFT_OK;
}

/* VEX-encoded LIG scalar forms ignore VEX.L: run them as L=0. */
static int legacy_lig(struct soft_cpu *cpu, const struct x86_insn *in, soft_exec_fn fn)
{
	struct x86_insn l0 = *in;
	l0.vex_l = 0;
	return legacy(cpu, &l0, fn);
}

static int legacy_nds_lig(struct soft_cpu *cpu, const struct x86_insn *in, soft_exec_fn fn)
{
	struct x86_insn l0 = *in;
	l0.vex_l = 0;
	return legacy_nds(cpu, &l0, fn);
}

H(vcomiss) { return legacy_lig(cpu, in, soft_exec_comiss); }
H(vcomisd) { return legacy_lig(cpu, in, soft_exec_comisd); }
H(vucomiss) { return legacy_lig(cpu, in, soft_exec_ucomiss); }
H(vucomisd) { return legacy_lig(cpu, in, soft_exec_ucomisd); }
H(vcvtss2si) { return legacy_lig(cpu, in, soft_exec_cvtss2si); }
H(vcvtsd2si) { return legacy_lig(cpu, in, soft_exec_cvtsd2si); }
H(vcvttss2si) { return legacy_lig(cpu, in, soft_exec_cvttss2si); }
H(vcvttsd2si) { return legacy_lig(cpu, in, soft_exec_cvttsd2si); }
H(vcvtsi2ss) { return legacy_nds_lig(cpu, in, soft_exec_cvtsi2ss); }
H(vcvtsi2sd) { return legacy_nds_lig(cpu, in, soft_exec_cvtsi2sd); }
H(vpextrb) { return legacy(cpu, in, soft_exec_pextrb); }
H(vpextrw) { return legacy(cpu, in, soft_exec_pextrw); }
H(vpextrw_e) { return legacy(cpu, in, soft_exec_pextrw_e); }
H(vpextrd) { return legacy(cpu, in, soft_exec_pextrd); }
H(vextractps) { return legacy(cpu, in, soft_exec_extractps); }
H(vpinsrb) { return legacy_nds(cpu, in, soft_exec_pinsrb); }
H(vpinsrw) { return legacy_nds(cpu, in, soft_exec_pinsrw); }
H(vpinsrd) { return legacy_nds(cpu, in, soft_exec_pinsrd); }
H(vmaskmovdqu) { return legacy(cpu, in, soft_exec_maskmovdqu); }
H(vpcmpestri) { return legacy(cpu, in, soft_exec_pcmpestri); }
H(vpcmpistri) { return legacy(cpu, in, soft_exec_pcmpistri); }

/* the mask forms write XMM0: zero YMM0's upper half */
static int legacy_xmm0(struct soft_cpu *cpu, const struct x86_insn *in, soft_exec_fn fn)
{
	int r = legacy(cpu, in, fn);
	if (r == SOFT_OK)
		memset(&cpu->ymmh[0], 0, sizeof(cpu->ymmh[0]));
	return r;
}

H(vpcmpestrm) { return legacy_xmm0(cpu, in, soft_exec_pcmpestrm); }
H(vpcmpistrm) { return legacy_xmm0(cpu, in, soft_exec_pcmpistrm); }
