/* Result comparison and reproduction printing: see diff_compare.h. */
#include "diff_compare.h"
#include "diff_vendor.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static const char *const gpr_names[GPR_COUNT] = {
	"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
	"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
};

const char *diff_vector_name(int v)
{
	static const char *const names[32] = {
		[0] = "#DE", [1] = "#DB", [3] = "#BP", [4] = "#OF", [5] = "#BR",
		[6] = "#UD", [7] = "#NM", [8] = "#DF", [10] = "#TS", [11] = "#NP",
		[12] = "#SS", [13] = "#GP", [14] = "#PF", [16] = "#MF", [17] = "#AC",
		[18] = "#MC", [19] = "#XM",
	};
	if (v == DIFF_VEC_NONE)
		return "ok";
	if (v == DIFF_VEC_CRASH)
		return "crash";
	if (v == DIFF_VEC_UNSUPP)
		return "internal";
	if (v >= 0 && v < 32 && names[v])
		return names[v];
	return "#?";
}

uint64_t diff_flags_mask(const struct diff_form *f, const struct diff_gen_info *gi)
{
	uint64_t undef = f->undef;
	unsigned bits = gi->opsize * 8;
	unsigned cnt = gi->count & (gi->opsize == 8 ? 63 : 31);

	switch (f->flagkind) {
	case FLK_SHIFT:
		if (cnt != 0)
			undef |= 0x10; /* AF */
		if (cnt > 1)
			undef |= 0x800; /* OF */
		/* "For SHL and SHR instructions where the count is greater than
		 * or equal to the size (in bits) of the destination operand, the
		 * CF flag is undefined." */
		if (cnt >= bits)
			undef |= 0x1;
		break;
	case FLK_ROTATE:
		if (cnt > 1)
			undef |= 0x800;
		break;
	case FLK_SHIFTD:
		if (cnt != 0)
			undef |= 0x10;
		if (cnt > 1)
			undef |= 0x800;
		break;
	default:
		break;
	}
	return 0xcd5 & ~undef;
}

static void hex(FILE *out, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(out, "%02x", p[i]);
}

void diff_print_case(FILE *out, const struct diff_case *c)
{
	const struct diff_state *s = &c->in;
	fprintf(out, "    bytes: ");
	for (unsigned i = 0; i < c->len; i++)
		fprintf(out, "%02x ", c->code[i]);
	fprintf(out, "\n    initial:");
	for (int i = 0; i < GPR_COUNT; i++)
		fprintf(out, "%s %s=%016" PRIx64, i % 4 ? "" : "\n     ", gpr_names[i], s->regs.gpr[i]);
	fprintf(out, "\n      rflags=%08" PRIx64 " mxcsr=%08x fcw=%04x fsw=%04x ftw=%02x\n",
		s->regs.rflags, s->fpu.mxcsr, s->fpu.fcw, s->fpu.fsw, s->fpu.ftw);
	for (int i = 0; i < 16; i++) {
		fprintf(out, "      xmm%-2d=", i);
		hex(out, s->fpu.xmm[i], 16);
		fprintf(out, " ymmh=");
		hex(out, s->ymmh[i], 16);
		if (i < 8) {
			fprintf(out, "  st%d=", i);
			for (int b = 9; b >= 0; b--)
				fprintf(out, "%02x", s->fpu.st[i][b]);
		}
		fputc('\n', out);
	}
}

struct diffp {
	FILE *out;
	bool any;
	unsigned fields;  /* differing fields (pass 0) */
	bool mxcsr_only;
};

static void dfield(struct diffp *d, const char *name, uint64_t a, uint64_t b)
{
	d->any = true;
	d->fields++;
	d->mxcsr_only = d->fields == 1 && strcmp(name, "mxcsr") == 0;
	if (d->out)
		fprintf(d->out, "      %-8s native=%016" PRIx64 " soft=%016" PRIx64 "\n", name, a, b);
}

/* Documented divergences of the soft CPU (docs/soft-cpu-verification.md,
 * "Known gaps"): cases where only a characterised field differs for a
 * known reason are counted as known-gap, not failures.  None are left at
 * the moment (the SSE PE-with-unmasked-OE/UE and DPPS/DPPD flag gaps were
 * fixed, and their VEX and FMA3 counterparts); keep the hook for future
 * ones.  DIFF_SHOW_KNOWN=1 reports them as mismatches. */
static bool diff_known_gap(const struct diff_form *f, const struct diff_case *c,
			   const struct diff_result *nat, const struct diff_result *soft)
{
	(void)f;
	(void)c;
	(void)nat;
	(void)soft;
	if (getenv("DIFF_SHOW_KNOWN"))
		return false;
	return false;
}

/* GPR bits not compared, per form kind:
 *   FLK_RAND (RDRAND/RDSEED): "Loads a hardware generated random value and
 *     store it in the destination register" - the destination's operand-size
 *     bits when both sides report success (CF=1); on failure the SDM says
 *     DEST := 0 and everything is compared.
 *   FLK_HOSTVAL: RDTSCP's EDX:EAX (the TSC) and ECX (IA32_TSC_AUX), RDPID's
 *     destination (IA32_TSC_AUX): host values; the low 32 bits are not
 *     compared, the upper halves (zeroed by the instruction) are. */
static void diff_gpr_ignore(const struct diff_form *f, const struct diff_case *c,
			    const struct diff_gen_info *gi, const struct diff_result *nat,
			    const struct diff_result *soft, uint64_t ign[GPR_COUNT])
{
	memset(ign, 0, sizeof(uint64_t) * GPR_COUNT);
	if (f->flagkind != FLK_RAND && f->flagkind != FLK_HOSTVAL)
		return;
	if (nat->vector != DIFF_VEC_NONE || soft->vector != DIFF_VEC_NONE || c->len < 2)
		return;
	uint8_t rex = 0;
	for (unsigned i = 1; i < c->len; i++) {
		if (c->code[i] == 0x0f) {
			if ((c->code[i - 1] & 0xf0) == 0x40)
				rex = c->code[i - 1];
			break;
		}
	}
	unsigned rm = (c->code[c->len - 1] & 7u) | ((rex & 1u) << 3);
	if (f->flagkind == FLK_RAND) {
		if ((nat->out.regs.rflags & soft->out.regs.rflags & 1) && gi->opsize)
			ign[rm] = gi->opsize >= 8 ? ~0ULL : (1ULL << (gi->opsize * 8)) - 1;
		return;
	}
	if (c->len >= 3 && c->code[c->len - 3] == 0x0f && c->code[c->len - 2] == 0x01 &&
	    c->code[c->len - 1] == 0xf9) { /* rdtscp */
		ign[GPR_RAX] = ign[GPR_RDX] = ign[GPR_RCX] = 0xffffffffULL;
		return;
	}
	ign[rm] = 0xffffffffULL; /* rdpid */
}

int diff_compare(const struct diff_form *f, const struct diff_gen_info *gi,
		 const struct diff_case *c, const struct diff_result *nat,
		 const struct diff_result *soft, FILE *out)
{
	struct diffp d = { .out = NULL };
	const struct diff_state *a = &nat->out, *b = &soft->out;

	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1) {
			if (d.any && d.mxcsr_only && d.fields == 1 &&
			    nat->vector == soft->vector && diff_known_gap(f, c, nat, soft))
				return DIFF_KNOWN;
			if (!d.any || !out)
				break;
			fprintf(out, "  MISMATCH %s\n", f->name);
			diff_print_case(out, c);
			if (gi->has_mem && gi->mem_la >= DIFF_DATA_ADDR &&
			    gi->mem_la < DIFF_DATA_ADDR + DIFF_MEM_SIZE) {
				size_t o = gi->mem_la - DIFF_DATA_ADDR;
				size_t n = f->memsz ? f->memsz : 16;
				if (n > 64)
					n = 64;
				if (o + n > DIFF_MEM_SIZE)
					n = DIFF_MEM_SIZE - o;
				fprintf(out, "    memory operand at %" PRIx64 " (mem+%04zx): ", gi->mem_la, o);
				hex(out, c->in.mem + o, n);
				fputc('\n', out);
				if (f->memsz > 512 && o + 576 <= DIFF_MEM_SIZE) {
					fprintf(out, "    bytes 512..575: ");
					hex(out, c->in.mem + o + 512, 64);
					fputc('\n', out);
				}
			}
			fprintf(out, "    differences (native vs soft):\n");
			d.out = out;
		}
		if (nat->vector != soft->vector) {
			d.any = true;
			if (d.out)
				fprintf(d.out, "      vector   native=%s (err %" PRIx64 " cr2 %" PRIx64 ") soft=%s (err %" PRIx64 " cr2 %" PRIx64 ")\n",
					diff_vector_name(nat->vector), nat->error_code, nat->fault_addr,
					diff_vector_name(soft->vector), soft->error_code, soft->fault_addr);
		} else if (nat->vector == 14) {
			if (nat->fault_addr != soft->fault_addr)
				dfield(&d, "cr2", nat->fault_addr, soft->fault_addr);
			if ((nat->error_code ^ soft->error_code) & 0x12)
				dfield(&d, "pf_err", nat->error_code, soft->error_code);
		} else if (nat->vector == 13 || nat->vector == 12) {
			if (nat->error_code != soft->error_code)
				dfield(&d, "err", nat->error_code, soft->error_code);
		}
		if (nat->vector == DIFF_VEC_CRASH)
			continue; /* nothing else to compare */
		uint64_t gcmp[GPR_COUNT], ign[GPR_COUNT];
		diff_vendor_gpr_masks(c, nat, gcmp);
		diff_gpr_ignore(f, c, gi, nat, soft, ign);
		for (int i = 0; i < GPR_COUNT; i++)
			if ((a->regs.gpr[i] ^ b->regs.gpr[i]) & gcmp[i] & ~ign[i])
				dfield(&d, gpr_names[i], a->regs.gpr[i], b->regs.gpr[i]);
		if (a->regs.rip != b->regs.rip)
			dfield(&d, "rip", a->regs.rip, b->regs.rip);
		uint64_t fm = diff_flags_mask(f, gi);
		if ((a->regs.rflags ^ b->regs.rflags) & fm)
			dfield(&d, "rflags", a->regs.rflags & fm, b->regs.rflags & fm);
		if (a->fpu.fcw != b->fpu.fcw)
			dfield(&d, "fcw", a->fpu.fcw, b->fpu.fcw);
		if (a->fpu.fsw != b->fpu.fsw)
			dfield(&d, "fsw", a->fpu.fsw, b->fpu.fsw);
		if (a->fpu.ftw != b->fpu.ftw)
			dfield(&d, "ftw", a->fpu.ftw, b->fpu.ftw);
		if (a->fpu.mxcsr != b->fpu.mxcsr)
			dfield(&d, "mxcsr", a->fpu.mxcsr, b->fpu.mxcsr);
		for (int i = 0; i < 8; i++) {
			if (memcmp(a->fpu.st[i], b->fpu.st[i], 10) == 0)
				continue;
			d.any = true;
			if (d.out) {
				fprintf(d.out, "      st%d      native=", i);
				for (int k = 9; k >= 0; k--)
					fprintf(d.out, "%02x", a->fpu.st[i][k]);
				fprintf(d.out, " soft=");
				for (int k = 9; k >= 0; k--)
					fprintf(d.out, "%02x", b->fpu.st[i][k]);
				fputc('\n', d.out);
			}
		}
		for (int i = 0; i < 16; i++) {
			if (memcmp(a->fpu.xmm[i], b->fpu.xmm[i], 16) == 0)
				continue;
			d.any = true;
			if (d.out) {
				fprintf(d.out, "      xmm%-2d    native=", i);
				hex(d.out, a->fpu.xmm[i], 16);
				fprintf(d.out, " soft=");
				hex(d.out, b->fpu.xmm[i], 16);
				fputc('\n', d.out);
			}
		}
		for (int i = 0; i < 16; i++) {
			if (memcmp(a->ymmh[i], b->ymmh[i], 16) == 0)
				continue;
			d.any = true;
			d.fields++;
			d.mxcsr_only = false;
			if (d.out) {
				fprintf(d.out, "      ymmh%-2d   native=", i);
				hex(d.out, a->ymmh[i], 16);
				fprintf(d.out, " soft=");
				hex(d.out, b->ymmh[i], 16);
				fputc('\n', d.out);
			}
		}
		/* Bytes of a stored FXSAVE/XSAVE image that are not compared:
		 * MXCSR_MASK (ringvm 0xffff, this host 0x2ffff) and, when no x87
		 * exception is pending, FOP/FIP/FDP (AMD stores them only with
		 * FSW.ES set; ringvm models Intel, which always stores them). */
		const uint8_t *ma = a->mem, *mb = b->mem;
		uint8_t ta[DIFF_MEM_SIZE], tb[DIFF_MEM_SIZE];
		if (f->fxmask && gi->has_mem && nat->vector == DIFF_VEC_NONE &&
		    gi->mem_la >= DIFF_DATA_ADDR && gi->mem_la - DIFF_DATA_ADDR + 32 <= DIFF_MEM_SIZE) {
			size_t o = gi->mem_la - DIFF_DATA_ADDR;
			memcpy(ta, a->mem, DIFF_MEM_SIZE);
			memcpy(tb, b->mem, DIFF_MEM_SIZE);
			memset(ta + o + 28, 0, 4);
			memset(tb + o + 28, 0, 4);
			if (!(a->fpu.fsw & 0x80)) {
				memset(ta + o + 6, 0, 18);
				memset(tb + o + 6, 0, 18);
			}
			ma = ta;
			mb = tb;
		}
		if (nat->vector == DIFF_VEC_NONE && diff_vendor_x87_ptr_bits()) {
			if (ma != ta) {
				memcpy(ta, a->mem, DIFF_MEM_SIZE);
				memcpy(tb, b->mem, DIFF_MEM_SIZE);
				ma = ta;
				mb = tb;
			}
			diff_vendor_x87_env_mask(c, ta, tb);
		}
		if (memcmp(ma, mb, DIFF_MEM_SIZE) != 0) {
			d.any = true;
			for (size_t i = 0; d.out && i < DIFF_MEM_SIZE; i += 8) {
				uint64_t x, y;
				memcpy(&x, ma + i, 8);
				memcpy(&y, mb + i, 8);
				if (x != y)
					fprintf(d.out, "      mem+%04zx native=%016" PRIx64 " soft=%016" PRIx64 "\n",
						i, x, y);
			}
		}
	}
	if (!d.any)
		return DIFF_SAME;
	if (d.mxcsr_only && d.fields == 1 && nat->vector == soft->vector &&
	    diff_known_gap(f, c, nat, soft))
		return DIFF_KNOWN;
	return DIFF_DIFFERENT;
}
