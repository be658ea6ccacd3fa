/* The general-purpose bit-manipulation and carry extensions:
 *   BMI1  ANDN BEXTR BLSI BLSMSK BLSR (VEX; TZCNT is in exec_bit.c)
 *   BMI2  BZHI MULX PDEP PEXT RORX SARX SHLX SHRX (VEX)
 *   ADX   ADCX ADOX (legacy 66/F3 0F 38 F6)
 * Semantics and flags from the SDM vol. 2 pages of each instruction.
 *
 * VEX rows (decode_table.c, x86_table_vex_*): the decoder has checked what
 * it can see (VEX.L = 0, VEX.vvvv = 1111b where unused, no 66/F2/F3/REX/LOCK
 * before VEX; SDM vol. 2, 2.5.1 and Table 2-29) and set the operand size to
 * 64 with VEX.W1 in 64-bit mode, else 32 ("VEX.W1 is ignored in non-64-bit
 * modes").  What needs CPU state is checked here: "VEX-encoded GPR
 * instructions are not supported in real and virtual 8086 modes" (#UD).
 * VEX.vvvv names a general register (operand kind B); outside 64-bit mode
 * its high bit is ignored (the decoder clears it). */
#include "cpuid.h"
#include "sys.h"

static bool vex_gpr_ok(const struct soft_cpu *cpu)
{
	return prot_mode(cpu) && !vm86(cpu);
}

#define VEX_CHECK(feature) do { \
	if (!(feature) || !vex_gpr_ok(cpu)) \
		return soft_ud(cpu); \
} while (0)

static uint64_t vreg(const struct soft_cpu *cpu, const struct x86_insn *in, unsigned sz)
{
	return reg_get(cpu, in->vex_vvvv, sz, true);
}

/* ---- BMI1 ---- */

/* ANDN: DEST := (NOT SRC1) AND SRC2.  "SF and ZF are updated based on
 * result. OF and CF flags are cleared. AF and PF flags are undefined."
 * (AF and PF are left unchanged.) */
int soft_exec_andn(struct soft_cpu *cpu, const struct x86_insn *in)
{
	VEX_CHECK(SOFT_MODEL_BMI1);
	unsigned sz = in->opsize;
	uint64_t b;
	int e = rm_read(cpu, in, sz, &b);
	if (e)
		return e;
	uint64_t r = ~vreg(cpu, in, sz) & b & sz_mask(sz);
	reg_set(cpu, in->reg, sz, true, r);
	flags_put(cpu, X86_RFLAGS_SF | X86_RFLAGS_ZF | X86_RFLAGS_OF | X86_RFLAGS_CF,
		  szp(r, sz) & (X86_RFLAGS_SF | X86_RFLAGS_ZF));
	return SOFT_OK;
}

/* BEXTR: START := SRC2[7:0]; LEN := SRC2[15:8]; DEST := the LEN bits of
 * SRC1 (zero-extended to 512 bits) at START.  "ZF is updated based on the
 * result. AF, SF, and PF are undefined. All other flags are cleared." */
int soft_exec_bextr(struct soft_cpu *cpu, const struct x86_insn *in)
{
	VEX_CHECK(SOFT_MODEL_BMI1);
	unsigned sz = in->opsize, bits = sz * 8;
	uint64_t src;
	int e = rm_read(cpu, in, sz, &src);
	if (e)
		return e;
	uint64_t ctl = vreg(cpu, in, sz);
	unsigned start = ctl & 0xff, len = (ctl >> 8) & 0xff;
	uint64_t r = start >= bits ? 0 : src >> start;
	if (len < 64)
		r &= (1ULL << len) - 1;
	reg_set(cpu, in->reg, sz, true, r);
	flags_put(cpu, X86_RFLAGS_ZF | X86_RFLAGS_CF | X86_RFLAGS_OF, r ? 0 : X86_RFLAGS_ZF);
	return SOFT_OK;
}

/* BLSI / BLSMSK / BLSR (VEX.0F38 F3 /3 /2 /1): DEST (VEX.vvvv) from the
 * lowest set bit of SRC (r/m).  OF is cleared, AF and PF are undefined
 * (left unchanged).
 *   BLSI:   (-SRC) AND SRC; "ZF and SF are updated based on the result. CF
 *           is set if the source is not zero."
 *   BLSMSK: (SRC-1) XOR SRC; "SF is updated based on the result. CF is set
 *           if the source is zero. ZF ... cleared."
 *   BLSR:   (SRC-1) AND SRC; "ZF and SF flags are updated based on the
 *           result. CF is set if the source is zero." */
enum { BLS_I, BLS_MSK, BLS_R };

static int bls(struct soft_cpu *cpu, const struct x86_insn *in, unsigned kind)
{
	VEX_CHECK(SOFT_MODEL_BMI1);
	unsigned sz = in->opsize;
	uint64_t s;
	int e = rm_read(cpu, in, sz, &s);
	if (e)
		return e;
	uint64_t r, f;
	switch (kind) {
	case BLS_I:
		r = (0 - s) & s & sz_mask(sz);
		f = (szp(r, sz) & (X86_RFLAGS_SF | X86_RFLAGS_ZF)) | (s ? X86_RFLAGS_CF : 0);
		break;
	case BLS_MSK:
		r = ((s - 1) ^ s) & sz_mask(sz);
		f = (szp(r, sz) & X86_RFLAGS_SF) | (s ? 0 : X86_RFLAGS_CF);
		break;
	default:
		r = (s - 1) & s & sz_mask(sz);
		f = (szp(r, sz) & (X86_RFLAGS_SF | X86_RFLAGS_ZF)) | (s ? 0 : X86_RFLAGS_CF);
		break;
	}
	reg_set(cpu, in->vex_vvvv, sz, true, r);
	flags_put(cpu, X86_RFLAGS_SF | X86_RFLAGS_ZF | X86_RFLAGS_CF | X86_RFLAGS_OF, f);
	return SOFT_OK;
}

int soft_exec_blsi(struct soft_cpu *cpu, const struct x86_insn *in) { return bls(cpu, in, BLS_I); }
int soft_exec_blsmsk(struct soft_cpu *cpu, const struct x86_insn *in) { return bls(cpu, in, BLS_MSK); }
int soft_exec_blsr(struct soft_cpu *cpu, const struct x86_insn *in) { return bls(cpu, in, BLS_R); }

/* ---- BMI2 ---- */

/* BZHI: N := SRC2[7:0]; DEST := SRC1 with bits N and up cleared if N <
 * OperandSize; CF := N > OperandSize-1.  "ZF and SF flags are updated
 * based on the result. CF flag is set as specified in the Operation
 * section. OF flag is cleared. AF and PF flags are undefined." */
int soft_exec_bzhi(struct soft_cpu *cpu, const struct x86_insn *in)
{
	VEX_CHECK(SOFT_MODEL_BMI2);
	unsigned sz = in->opsize, bits = sz * 8;
	uint64_t src;
	int e = rm_read(cpu, in, sz, &src);
	if (e)
		return e;
	unsigned n = vreg(cpu, in, sz) & 0xff;
	uint64_t r = src & sz_mask(sz);
	if (n < bits)
		r &= (1ULL << n) - 1;
	reg_set(cpu, in->reg, sz, true, r);
	flags_put(cpu, X86_RFLAGS_SF | X86_RFLAGS_ZF | X86_RFLAGS_CF | X86_RFLAGS_OF,
		  (szp(r, sz) & (X86_RFLAGS_SF | X86_RFLAGS_ZF)) | (n > bits - 1 ? X86_RFLAGS_CF : 0));
	return SOFT_OK;
}

/* MULX: DEST1 (ModRM.reg) := high half, DEST2 (VEX.vvvv) := low half of
 * EDX/RDX * SRC (unsigned).  "If the first and second operand are
 * identical, it will contain the high half of the multiplication result":
 * the low half is written first.  Flags are not affected. */
int soft_exec_mulx(struct soft_cpu *cpu, const struct x86_insn *in)
{
	VEX_CHECK(SOFT_MODEL_BMI2);
	unsigned sz = in->opsize;
	uint64_t src;
	int e = rm_read(cpu, in, sz, &src);
	if (e)
		return e;
	uint64_t a = reg_get(cpu, GPR_RDX, sz, true), lo, hi;
	if (sz == 8) {
		unsigned __int128 p = (unsigned __int128)a * src;
		lo = (uint64_t)p;
		hi = (uint64_t)(p >> 64);
	} else {
		uint64_t p = a * src;
		lo = (uint32_t)p;
		hi = p >> 32;
	}
	reg_set(cpu, in->vex_vvvv, sz, true, lo);
	reg_set(cpu, in->reg, sz, true, hi);
	return SOFT_OK;
}

/* PDEP: deposit the low bits of SRC1 (VEX.vvvv) at the set bits of the
 * mask SRC2 (r/m).  PEXT: gather the bits of SRC1 selected by the mask
 * SRC2 into the low bits.  Flags are not affected. */
int soft_exec_pdep(struct soft_cpu *cpu, const struct x86_insn *in)
{
	VEX_CHECK(SOFT_MODEL_BMI2);
	unsigned sz = in->opsize;
	uint64_t mask;
	int e = rm_read(cpu, in, sz, &mask);
	if (e)
		return e;
	uint64_t src = vreg(cpu, in, sz), r = 0;
	for (uint64_t bit = 1; mask; bit <<= 1) {
		uint64_t low = mask & (0 - mask);
		if (src & bit)
			r |= low;
		mask &= mask - 1;
	}
	reg_set(cpu, in->reg, sz, true, r);
	return SOFT_OK;
}

int soft_exec_pext(struct soft_cpu *cpu, const struct x86_insn *in)
{
	VEX_CHECK(SOFT_MODEL_BMI2);
	unsigned sz = in->opsize;
	uint64_t mask;
	int e = rm_read(cpu, in, sz, &mask);
	if (e)
		return e;
	uint64_t src = vreg(cpu, in, sz), r = 0;
	for (uint64_t bit = 1; mask; bit <<= 1) {
		uint64_t low = mask & (0 - mask);
		if (src & low)
			r |= bit;
		mask &= mask - 1;
	}
	reg_set(cpu, in->reg, sz, true, r);
	return SOFT_OK;
}

/* RORX r, r/m, imm8: rotate right by imm8 masked to 5 (32-bit) or 6 bits
 * (64-bit).  SARX/SHLX/SHRX r, r/m, r(vvvv): shift by the count register
 * masked the same way.  Flags are not affected. */
int soft_exec_rorx(struct soft_cpu *cpu, const struct x86_insn *in)
{
	VEX_CHECK(SOFT_MODEL_BMI2);
	unsigned sz = in->opsize, bits = sz * 8;
	uint64_t v;
	int e = rm_read(cpu, in, sz, &v);
	if (e)
		return e;
	unsigned n = (unsigned)in->imm & (bits - 1);
	uint64_t r = n ? ((v >> n) | (v << (bits - n))) & sz_mask(sz) : v;
	reg_set(cpu, in->reg, sz, true, r);
	return SOFT_OK;
}

enum { SX_SAR, SX_SHL, SX_SHR };

static int shiftx(struct soft_cpu *cpu, const struct x86_insn *in, unsigned kind)
{
	VEX_CHECK(SOFT_MODEL_BMI2);
	unsigned sz = in->opsize, bits = sz * 8;
	uint64_t v;
	int e = rm_read(cpu, in, sz, &v);
	if (e)
		return e;
	unsigned n = (unsigned)vreg(cpu, in, sz) & (bits - 1);
	uint64_t r;
	if (kind == SX_SHL)
		r = v << n;
	else if (kind == SX_SHR)
		r = v >> n;
	else
		r = (uint64_t)(sz_sext(v, sz) >> n);
	reg_set(cpu, in->reg, sz, true, r & sz_mask(sz));
	return SOFT_OK;
}

int soft_exec_sarx(struct soft_cpu *cpu, const struct x86_insn *in) { return shiftx(cpu, in, SX_SAR); }
int soft_exec_shlx(struct soft_cpu *cpu, const struct x86_insn *in) { return shiftx(cpu, in, SX_SHL); }
int soft_exec_shrx(struct soft_cpu *cpu, const struct x86_insn *in) { return shiftx(cpu, in, SX_SHR); }

/* ---- ADX ---- */

/* ADCX: DEST := DEST + SRC + CF, CF := the unsigned carry; ADOX: the same
 * with OF as carry in and out.  "All other flags are unchanged."  Operand
 * size 32, or 64 with REX.W: 66/F3 are mandatory prefixes, and there is no
 * 16-bit form, in 16-bit code too (the row's Gy size, in->size). */
static int adx(struct soft_cpu *cpu, const struct x86_insn *in, uint64_t flag)
{
	if (!SOFT_MODEL_ADX)
		return soft_ud(cpu);
	unsigned sz = in->size;
	uint64_t s;
	int e = rm_read(cpu, in, sz, &s);
	if (e)
		return e;
	soft_flags_flush(cpu);
	uint64_t d = reg_get(cpu, in->reg, sz, true), c = (cpu->rflags & flag) ? 1 : 0;
	uint64_t r = (d + s + c) & sz_mask(sz);
	bool carry = sz == 8 ? (r < d || (c && r == d)) : ((d + s + c) >> 32) != 0;
	reg_set(cpu, in->reg, sz, true, r);
	cpu->rflags = (cpu->rflags & ~flag) | (carry ? flag : 0);
	return SOFT_OK;
}

int soft_exec_adcx(struct soft_cpu *cpu, const struct x86_insn *in) { return adx(cpu, in, X86_RFLAGS_CF); }
int soft_exec_adox(struct soft_cpu *cpu, const struct x86_insn *in) { return adx(cpu, in, X86_RFLAGS_OF); }
