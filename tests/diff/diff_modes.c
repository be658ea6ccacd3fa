/* Mode checks (see diff_modes.h).  Expected vectors from the SDM's
 * exception tables: SSE/SSE2 "#UD If CR0.EM[bit 2] = 1. If CR4.OSFXSR[bit 9]
 * = 0.", "#NM If CR0.TS[bit 3] = 1.", "#XM ... CR4.OSXMMEXCPT = 1", else
 * #UD; x87 "#NM CR0.EM[bit 2] or CR0.TS[bit 3] = 1."; WAIT "#NM If CR0.MP
 * and CR0.TS are both 1"; MMX "#UD If CR0.EM = 1", "#NM If CR0.TS = 1";
 * FXSAVE/FXRSTOR "#NM If CR0.TS = 1. If CR0.EM = 1."; XSAVE "#UD If
 * CR4.OSXSAVE = 0", "#NM If CR0.TS = 1".
 *
 * XGETBV: "#UD If CR4.OSXSAVE[bit 18] = 0"; "#GP(0) If an invalid XCR is
 * specified in ECX (includes ECX = 1 if CPUID.(EAX=0DH,ECX=1):EAX.XG1[bit 2]
 * = 0)"; XCR1 = XCR0 AND XINUSE (XINUSE always set here: EDX:EAX = 3).
 * XSETBV: "#GP(0) If the current privilege level is not 0. If an invalid
 * XCR is specified in ECX. If the value in EDX:EAX sets bits that are
 * reserved in the XCR specified by ECX. If an attempt is made to clear bit
 * 0 of XCR0."; "#UD If CR4.OSXSAVE[bit 18] = 0".  XSAVES/XRSTORS:
 * "#GP(0) If CPL > 0", "#UD If CR4.OSXSAVE[bit 18] = 0", "#NM If CR0.TS[bit
 * 3] = 1", XRSTORS "#GP(0) If XCOMP_BV[63] = 0" (standard format).  VEX-encoded
 * GPR instructions (vol. 2, 2.5.1, Table 2-29): "#UD If VEX.L = 1", and
 * they do not depend on CR4.OSXSAVE or XCR0.  The host can show none of
 * the CPL-0 and CR4 cases. */
#include "diff_modes.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diff_compare.h"
#include "src/cpu/soft/host_isa.h"

#define EM (1ULL << 2)
#define TS (1ULL << 3)
#define MP (1ULL << 1)
#define OSFXSR (1ULL << 9)
#define OSXMMEXCPT (1ULL << 10)
#define OSXSAVE (1ULL << 18)

struct diff_mode_check {
	const char *name;
	const char *bytes;  /* raw encoding */
	unsigned len;
	uint64_t cr0_set, cr0_clear, cr4_clear;
	int want;           /* expected vector, DIFF_VEC_NONE = runs */
	bool div0;          /* xmm0 = 1.0f, xmm1 = 0, ZE unmasked */
	/* optional: run at CPL 0; RCX, RAX (0 = the default 3) and RDX before;
	 * the RDX:RAX pair expected after (check_ax) */
	bool cpl0;
	uint64_t rcx, rax, rdx;
	bool check_ax;
	uint64_t want_rax, want_rdx;
	bool avx;           /* XCR0 = x87|SSE|AVX (on a host with AVX; else skipped) */
};

#define M(n, b, l, c0s, c0c, c4c, w, d0) \
	{ .name = n, .bytes = b, .len = l, .cr0_set = c0s, .cr0_clear = c0c, .cr4_clear = c4c, \
	  .want = w, .div0 = d0 }
#define MX(n, b, l, c0s, c0c, c4c, w, c0, cx, ax, dx) \
	{ .name = n, .bytes = b, .len = l, .cr0_set = c0s, .cr0_clear = c0c, .cr4_clear = c4c, \
	  .want = w, .cpl0 = c0, .rcx = cx, .rax = ax, .rdx = dx }
/* a VEX instruction with XCR0.AVX set (MV) */
#define MV(n, b, l, c0s, c0c, c4c, w) \
	{ .name = n, .bytes = b, .len = l, .cr0_set = c0s, .cr0_clear = c0c, .cr4_clear = c4c, \
	  .want = w, .avx = true }
/* runs at CPL 3 with RCX/RAX/RDX given and checks EDX:EAX after */
#define MA(n, b, l, cx, ax, dx, wax, wdx) \
	{ .name = n, .bytes = b, .len = l, .want = DIFF_VEC_NONE, .rcx = cx, .rax = ax, .rdx = dx, \
	  .check_ax = true, .want_rax = wax, .want_rdx = wdx }

static const struct diff_mode_check diff_mode_checks[] = {
	M("addps: normal", "\x0f\x58\xc1", 3, 0, 0, 0, DIFF_VEC_NONE, false),
	M("addps: CR0.EM -> #UD", "\x0f\x58\xc1", 3, EM, 0, 0, 6, false),
	M("addps: CR0.TS -> #NM", "\x0f\x58\xc1", 3, TS, 0, 0, 7, false),
	M("addps: !CR4.OSFXSR -> #UD", "\x0f\x58\xc1", 3, 0, 0, OSFXSR, 6, false),
	M("divps 1/0, ZE unmasked -> #XM", "\x0f\x5e\xc1", 3, 0, 0, 0, 19, true),
	M("divps 1/0, !OSXMMEXCPT -> #UD", "\x0f\x5e\xc1", 3, 0, 0, OSXMMEXCPT, 6, true),
	M("paddd xmm: CR0.TS -> #NM", "\x66\x0f\xfe\xc1", 4, TS, 0, 0, 7, false),
	M("ldmxcsr: CR0.EM -> #UD", "\x0f\xae\x13", 3, EM, 0, 0, 6, false),
	M("stmxcsr: !CR4.OSFXSR -> #UD", "\x0f\xae\x1b", 3, 0, 0, OSFXSR, 6, false),
	M("fld1: normal", "\xd9\xe8", 2, 0, 0, 0, DIFF_VEC_NONE, false),
	M("fld1: CR0.EM -> #NM", "\xd9\xe8", 2, EM, 0, 0, 7, false),
	M("fld1: CR0.TS -> #NM", "\xd9\xe8", 2, TS, 0, 0, 7, false),
	M("fwait: CR0.TS, !MP -> runs", "\x9b", 1, TS, MP, 0, DIFF_VEC_NONE, false),
	M("fwait: CR0.TS+MP -> #NM", "\x9b", 1, TS | MP, 0, 0, 7, false),
	M("fwait: CR0.EM -> runs", "\x9b", 1, EM, 0, 0, DIFF_VEC_NONE, false),
	M("paddb mm: CR0.EM -> #UD", "\x0f\xfc\xc1", 3, EM, 0, 0, 6, false),
	M("paddb mm: CR0.TS -> #NM", "\x0f\xfc\xc1", 3, TS, 0, 0, 7, false),
	M("emms: CR0.TS -> #NM", "\x0f\x77", 2, TS, 0, 0, 7, false),
	M("fxsave: CR0.EM -> #NM", "\x0f\xae\x03", 3, EM, 0, 0, 7, false),
	M("fxrstor: CR0.TS -> #NM", "\x0f\xae\x0b", 3, TS, 0, 0, 7, false),
	M("xsave: !CR4.OSXSAVE -> #UD", "\x0f\xae\x23", 3, 0, 0, OSXSAVE, 6, false),
	M("xsave: CR0.TS -> #NM", "\x0f\xae\x23", 3, TS, 0, 0, 7, false),
	M("xsave: normal", "\x0f\xae\x23", 3, 0, 0, 0, DIFF_VEC_NONE, false),
	MX("xsaveopt: !CR4.OSXSAVE -> #UD", "\x0f\xae\x33", 3, 0, 0, OSXSAVE, 6, false, 0, 0, 0),
	MX("xsavec: !CR4.OSXSAVE -> #UD", "\x0f\xc7\x23", 3, 0, 0, OSXSAVE, 6, false, 0, 0, 0),
	MX("xsavec: CR0.TS -> #NM", "\x0f\xc7\x23", 3, TS, 0, 0, 7, false, 0, 0, 0),
	MX("xrstor: !CR4.OSXSAVE -> #UD", "\x0f\xae\x2b", 3, 0, 0, OSXSAVE, 6, false, 0, 0, 0),
	MX("xsaves at CPL0 -> runs", "\x0f\xc7\x2b", 3, 0, 0, 0, DIFF_VEC_NONE, true, 0, 0, 0),
	M("xsaves at CPL3 -> #GP", "\x0f\xc7\x2b", 3, 0, 0, 0, 13, false),
	MX("xsaves at CPL0: !CR4.OSXSAVE -> #UD", "\x0f\xc7\x2b", 3, 0, 0, OSXSAVE, 6, true, 0, 0, 0),
	MX("xsaves at CPL0: CR0.TS -> #NM", "\x0f\xc7\x2b", 3, TS, 0, 0, 7, true, 0, 0, 0),
	/* the area at [rbx] is zero: XCOMP_BV[63] = 0, a standard-format image */
	MX("xrstors at CPL0: standard format -> #GP", "\x0f\xc7\x1b", 3, 0, 0, 0, 13, true, 0, 0, 0),
	M("xrstors at CPL3 -> #GP", "\x0f\xc7\x1b", 3, 0, 0, 0, 13, false),
	MX("xgetbv 0: !CR4.OSXSAVE -> #UD", "\x0f\x01\xd0", 3, 0, 0, OSXSAVE, 6, false, 0, 0, 0),
	MA("xgetbv 0 at CPL3 = x87|SSE", "\x0f\x01\xd0", 3, 0, 0x1234, 0x5678, 3, 0),
	MA("xgetbv 1 (XCR0 & XINUSE) = x87|SSE", "\x0f\x01\xd0", 3, 1, 0x1234, 0x5678, 3, 0),
	MA("xgetbv: RCX upper half ignored", "\x0f\x01\xd0", 3, 0x100000000ULL, 0, 0, 3, 0),
	MX("xgetbv 2 -> #GP", "\x0f\x01\xd0", 3, 0, 0, 0, 13, false, 2, 0, 0),
	MX("xsetbv at CPL3 -> #GP", "\x0f\x01\xd1", 3, 0, 0, 0, 13, false, 0, 3, 0),
	MX("xsetbv at CPL0: !CR4.OSXSAVE -> #UD", "\x0f\x01\xd1", 3, 0, 0, OSXSAVE, 6, true, 0, 3, 0),
	MX("xsetbv at CPL0 x87|SSE -> runs", "\x0f\x01\xd1", 3, 0, 0, 0, DIFF_VEC_NONE, true, 0, 3, 0),
	MX("xsetbv at CPL0 x87 only -> runs", "\x0f\x01\xd1", 3, 0, 0, 0, DIFF_VEC_NONE, true, 0, 1, 0),
	MX("xsetbv at CPL0 bit 0 clear -> #GP", "\x0f\x01\xd1", 3, 0, 0, 0, 13, true, 0, 2, 0),
	MX("xsetbv at CPL0 AVX without SSE -> #GP", "\x0f\x01\xd1", 3, 0, 0, 0, 13, true, 0, 5, 0),
	MX("xsetbv at CPL0 AVX-512 (reserved) -> #GP", "\x0f\x01\xd1", 3, 0, 0, 0, 13, true, 0, 0xe7, 0),
	/* VEX-encoded SIMD (SDM vol. 2, 2.5, Table 2-29 "Type 4"): #UD if
	 * XCR0[2:1] != 11b or CR4.OSXSAVE = 0, #NM if CR0.TS = 1; CR0.EM and
	 * CR4.OSFXSR do not apply */
	MX("vaddps: XCR0.AVX clear -> #UD", "\xc5\xf8\x58\xc1", 4, 0, 0, 0, 6, false, 0, 3, 0),
	MV("vaddps: XCR0.AVX set -> runs", "\xc5\xf8\x58\xc1", 4, 0, 0, 0, DIFF_VEC_NONE),
	MV("vaddps ymm: CR0.TS -> #NM", "\xc5\xfc\x58\xc1", 4, TS, 0, 0, 7),
	MV("vaddps: !CR4.OSXSAVE -> #UD", "\xc5\xf8\x58\xc1", 4, 0, 0, OSXSAVE, 6),
	MV("vaddps: CR0.EM ignored -> runs", "\xc5\xf8\x58\xc1", 4, EM, 0, 0, DIFF_VEC_NONE),
	MV("vucomiss: CR0.EM ignored -> runs", "\xc5\xf8\x2e\xc1", 4, EM, 0, 0, DIFF_VEC_NONE),
	MV("vpextrw: !CR4.OSFXSR ignored -> runs", "\xc5\xf9\xc5\xc1\x01", 5, 0, 0, OSFXSR, DIFF_VEC_NONE),
	MV("vzeroupper: CR0.TS -> #NM", "\xc5\xf8\x77", 3, TS, 0, 0, 7),
	MV("vaddps with 66 prefix -> #UD", "\x66\xc5\xf8\x58\xc1", 5, 0, 0, 0, 6),
	MV("vaddps with REX prefix -> #UD", "\x40\xc5\xf8\x58\xc1", 5, 0, 0, 0, 6),
	MV("vsqrtps with VEX.vvvv != 1111b -> #UD", "\xc5\xf0\x51\xc1", 4, 0, 0, 0, 6),
	MV("vbroadcastsd xmm (L=0) -> #UD", "\xc4\xe2\x79\x19\x03", 5, 0, 0, 0, 6),
	MV("vpermilps W1 -> #UD", "\xc4\xe2\xf1\x0c\xc2", 5, 0, 0, 0, 6),
	MX("xsetbv at CPL0 EDX bit 0 -> #GP", "\x0f\x01\xd1", 3, 0, 0, 0, 13, true, 0, 3, 1),
	MX("xsetbv at CPL0 ECX=1 -> #GP", "\x0f\x01\xd1", 3, 0, 0, 0, 13, true, 1, 3, 0),
	MX("xsetbv at CPL0 with 66 -> #UD", "\x66\x0f\x01\xd1", 4, 0, 0, 0, 6, true, 0, 3, 0),
	/* andn eax, ebx, ecx: c4 e2 60 f2 c1 (vvvv = ebx); with L=1: c4 e2 64 f2 c1 */
	M("andn: VEX.L=1 -> #UD", "\xc4\xe2\x64\xf2\xc1", 5, 0, 0, 0, 6, false),
	MX("andn at CPL0: VEX.L=1 -> #UD", "\xc4\xe2\x64\xf2\xc1", 5, 0, 0, 0, 6, true, 0, 0, 0),
	M("andn: !CR4.OSXSAVE -> runs", "\xc4\xe2\x60\xf2\xc1", 5, 0, 0, OSXSAVE, DIFF_VEC_NONE, false),
	M("shlx: CR0.TS|EM -> runs", "\xc4\xe2\x61\xf7\xc1", 5, TS | EM, 0, 0, DIFF_VEC_NONE, false),
	/* rorx eax, ecx, 1 with VEX.vvvv = 1110b: c4 e3 73 f0 c1 01 */
	M("rorx: VEX.vvvv != 1111b -> #UD", "\xc4\xe3\x73\xf0\xc1\x01", 6, 0, 0, 0, 6, false),
};

int diff_modes_run(struct soft_exec *se)
{
	uint64_t cr0, cr4;
	int bad = 0;
	struct diff_case *cp = calloc(1, sizeof(*cp));
	struct diff_result *rp = calloc(1, sizeof(*rp));
	if (!cp || !rp) {
		free(cp);
		free(rp);
		return 1;
	}

	soft_exec_default_control(&cr0, &cr4);
	for (size_t i = 0; i < sizeof(diff_mode_checks) / sizeof(diff_mode_checks[0]); i++) {
		const struct diff_mode_check *m = &diff_mode_checks[i];
		memset(cp, 0, sizeof(*cp));
		memcpy(cp->code, m->bytes, m->len);
		cp->len = (uint8_t)m->len;
		cp->in.regs.rflags = 0x202;
		cp->in.regs.gpr[GPR_RBX] = DIFF_DATA_ADDR + 0x100; /* [rbx]: 64-byte aligned */
		cp->in.regs.gpr[GPR_RAX] = m->rax ? m->rax : 3;    /* XSAVE: x87|SSE */
		cp->in.regs.gpr[GPR_RCX] = m->rcx;
		cp->in.regs.gpr[GPR_RDX] = m->rdx;
		cp->in.fpu.fcw = 0x37f;
		cp->in.fpu.mxcsr = 0x1f80;
		memcpy(cp->in.mem + 0x100, "\x80\x1f\x00\x00", 4); /* LDMXCSR source */
		cp->in.avx = m->avx;
		if (m->avx && !(soft_host_isa_probe() & SOFT_HOST_AVX)) {
			printf("SKIP   mode: %-40s the host has no AVX\n", m->name);
			continue;
		}
		if (m->div0) {
			cp->in.fpu.mxcsr = 0x1f80 & ~0x200u; /* ZM clear */
			memcpy(cp->in.fpu.xmm[0], "\x00\x00\x80\x3f", 4);
		}
		soft_exec_set_control(se, (cr0 | m->cr0_set) & ~m->cr0_clear, cr4 & ~m->cr4_clear);
		soft_exec_set_cpl(se, m->cpl0 ? 0 : 3);
		soft_exec_run(se, cp, rp);
		soft_exec_set_cpl(se, 3);
		bool ok = rp->vector == m->want;
		if (ok && m->check_ax)
			ok = rp->out.regs.gpr[GPR_RAX] == m->want_rax && rp->out.regs.gpr[GPR_RDX] == m->want_rdx;
		if (!ok)
			bad++;
		printf("%-6s mode: %-40s got %s, SDM says %s\n", ok ? "PASS" : "FAIL", m->name,
		       diff_vector_name(rp->vector), diff_vector_name(m->want));
		if (m->check_ax)
			printf("       edx:eax %" PRIx64 ":%" PRIx64 ", want %" PRIx64 ":%" PRIx64 "\n",
			       rp->out.regs.gpr[GPR_RDX], rp->out.regs.gpr[GPR_RAX], m->want_rdx, m->want_rax);
	}
	soft_exec_set_control(se, cr0, cr4);
	free(cp);
	free(rp);
	return bad;
}
