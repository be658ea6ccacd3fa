/* Vendor-dependent results (see diff_vendor.h). */
#include "diff_vendor.h"

#include <cpuid.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>

#include "src/cpu/soft/cpu.h"
#include "src/cpu/soft/decode.h"
#include "src/cpu/soft/host_isa.h"

#ifndef HWCAP2_FSGSBASE
#define HWCAP2_FSGSBASE (1 << 1)
#endif

/* BSF/BSR r32 with a zero source: the SDM now says the destination is
 * unmodified (AMD always documented that), but Intel cores sometimes zero
 * the upper half of the 64-bit register, as a 32-bit write would (LLVM
 * relies only on the low half for that reason).  The soft CPU leaves the
 * whole register unchanged; the low 32 bits are compared, the upper 32
 * bits of the destination are not. */
static const char *rule_bsf_zero(const struct x86_insn *in, const struct diff_result *nat,
				 uint64_t cmp[GPR_COUNT])
{
	if (in->map != X86_MAP_0F || (in->opcode != 0xbc && in->opcode != 0xbd) ||
	    in->rep == 0xf3 || in->opsize != 4 || !(nat->out.regs.rflags & 0x40))
		return NULL;
	cmp[in->reg & 15] = 0xffffffffULL;
	return "bsf/bsr r32 of zero: upper half of the destination";
}

const char *diff_vendor_gpr_masks(const struct diff_case *c, const struct diff_result *nat,
				  uint64_t cmp[GPR_COUNT])
{
	for (int i = 0; i < GPR_COUNT; i++)
		cmp[i] = ~0ULL;
	if (nat->vector != DIFF_VEC_NONE)
		return NULL;
	struct x86_insn in;
	if (x86_decode(c->code, c->len, SOFT_MODE_64, &in) != X86_DEC_OK)
		return NULL;
	/* single instructions only: a sequence's later instructions may
	 * overwrite the destination */
	if (in.len != c->len)
		return NULL;
	return rule_bsf_zero(&in, nat, cmp);
}

#define FPU_FDP_EXCPTN_ONLY (1u << 6)  /* CPUID.(7,0):EBX[6] */
#define FPU_CSDS_DEPRECATED (1u << 13) /* CPUID.(7,0):EBX[13] */

/* The host's two x87 pointer bits (CPUID.(7,0):EBX[6] and [13]);
 * DIFF_FPU_PTR_BITS=<hex> stands in for them, to test the masking on a
 * host without them.  Read once: a host fact, asked for every case (CPUID
 * is a VM exit on a nested host). */
unsigned diff_vendor_x87_ptr_bits(void)
{
	static int bits = -1; /* the harness is single-threaded */
	if (bits >= 0)
		return (unsigned)bits;
	unsigned v = 0;
	const char *env = getenv("DIFF_FPU_PTR_BITS");
	if (env) {
		v = (unsigned)strtoul(env, NULL, 16);
	} else if (__get_cpuid_max(0, NULL) >= 7) {
		unsigned a, b, c, d;
		__cpuid_count(7, 0, a, b, c, d);
		v = b;
	}
	bits = (int)(v & (FPU_FDP_EXCPTN_ONLY | FPU_CSDS_DEPRECATED));
	return (unsigned)bits;
}

static void clear2(uint8_t *a, uint8_t *b, uint64_t off, unsigned n)
{
	if (off + n <= DIFF_MEM_SIZE) {
		memset(a + off, 0, n);
		memset(b + off, 0, n);
	}
}

const char *diff_vendor_x87_env_mask(const struct diff_case *c, uint8_t *a, uint8_t *b)
{
	unsigned bits = diff_vendor_x87_ptr_bits();
	if (!bits)
		return NULL;
	const char *rule = NULL;
	for (unsigned at = 0; at < c->len;) {
		struct x86_insn in;
		if (x86_decode(c->code + at, c->len - at, SOFT_MODE_64, &in) != X86_DEC_OK)
			break;
		uint64_t next = DIFF_CODE_ADDR + at + in.len;
		at += in.len;
		if (in.mod == 3)
			continue;
		/* FNSTENV / FNSAVE (D9 /6, DD /6), FXSAVE (0F AE /0), XSAVE (0F AE /4) */
		bool env = in.map == X86_MAP_1BYTE && (in.opcode == 0xd9 || in.opcode == 0xdd) &&
			   (in.reg & 7) == 6;
		bool fx = in.map == X86_MAP_0F && in.opcode == 0xae &&
			  ((in.reg & 7) == 0 || (in.reg & 7) == 4);
		if (!env && !fx)
			continue;
		uint64_t la = (uint64_t)in.disp;
		if (in.rip_rel)
			la += next;
		if (in.base >= 0)
			la += c->in.regs.gpr[in.base];
		if (in.index >= 0)
			la += c->in.regs.gpr[in.index] * in.scale;
		if (in.addrsize == 4)
			la &= 0xffffffffULL;
		if (la < DIFF_DATA_ADDR || la >= DIFF_DATA_ADDR + DIFF_MEM_SIZE)
			continue;
		uint64_t o = la - DIFF_DATA_ADDR;
		/* field offsets: FCS, FDP, FDS (SDM vol. 1, 8.1.10 and 10.5.1) */
		uint64_t fcs, fdp, fds;
		unsigned fdpn;
		bool wide = fx && (in.rex & 8); /* FXSAVE64 / XSAVE64: no CS/DS */
		if (fx) {
			fcs = 12, fdp = 16, fds = 20, fdpn = wide ? 8 : 4;
		} else if (in.opsize == 2) {
			fcs = 8, fdp = 10, fds = 12, fdpn = 2;   /* 16-bit format */
		} else {
			fcs = 16, fdp = 20, fds = 24, fdpn = 4;  /* 32-bit format */
		}
		if ((bits & FPU_CSDS_DEPRECATED) && !wide) {
			clear2(a, b, o + fcs, 2);
			clear2(a, b, o + fds, 2);
			rule = "x87 FCS/FDS deprecated on this host";
		}
		if (bits & FPU_FDP_EXCPTN_ONLY) {
			clear2(a, b, o + fdp, fdpn);
			if (!wide)
				clear2(a, b, o + fds, 2);
			rule = "x87 FDP updated only on exceptions on this host";
		}
	}
	return rule;
}

void diff_vendor_print_host(FILE *out)
{
	unsigned a, b, c, d;
	char vendor[13] = "";
	unsigned fam = 0, model = 0;
	uint64_t xcr0 = 0;
	if (__get_cpuid(0, &a, &b, &c, &d)) {
		memcpy(vendor, &b, 4);
		memcpy(vendor + 4, &d, 4);
		memcpy(vendor + 8, &c, 4);
	}
	bool osxsave = false, avx512 = false;
	if (__get_cpuid(1, &a, &b, &c, &d)) {
		fam = (a >> 8) & 0xf;
		model = (a >> 4) & 0xf;
		if (fam == 0xf)
			fam += (a >> 20) & 0xff;
		if (fam >= 6)
			model |= ((a >> 16) & 0xf) << 4;
		osxsave = c & (1u << 27);
	}
	if (__get_cpuid_max(0, NULL) >= 7) {
		__cpuid_count(7, 0, a, b, c, d);
		avx512 = b & (1u << 16);
	}
	if (osxsave) {
		uint32_t lo, hi;
		__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
		xcr0 = ((uint64_t)hi << 32) | lo;
	}
	uint32_t isa = soft_host_isa_probe();
	unsigned ptr = diff_vendor_x87_ptr_bits();
	fprintf(out, "host: %s family %#x model %#x, XCR0 %#llx%s, FSGSBASE %s, AES %s, SHA %s, "
		"GFNI %s, x87 FDP-on-exceptions-only %s, FCS/FDS deprecated %s\n", vendor, fam, model,
		(unsigned long long)xcr0,
		avx512 ? " (AVX-512)" : "", (getauxval(AT_HWCAP2) & HWCAP2_FSGSBASE) ? "on" : "off",
		(isa & SOFT_HOST_AES) ? "yes" : "no", (isa & SOFT_HOST_SHA) ? "yes" : "no",
		(isa & SOFT_HOST_GFNI) ? "yes" : "no", (ptr & FPU_FDP_EXCPTN_ONLY) ? "yes" : "no",
		(ptr & FPU_CSDS_DEPRECATED) ? "yes" : "no");
}
