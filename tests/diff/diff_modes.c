/* Mode checks (see diff_modes.h).  Expected vectors from the SDM's
 * exception tables: SSE/SSE2 "#UD If CR0.EM[bit 2] = 1. If CR4.OSFXSR[bit 9]
 * = 0.", "#NM If CR0.TS[bit 3] = 1.", "#XM ... CR4.OSXMMEXCPT = 1", else
 * #UD; x87 "#NM CR0.EM[bit 2] or CR0.TS[bit 3] = 1."; WAIT "#NM If CR0.MP
 * and CR0.TS are both 1"; MMX "#UD If CR0.EM = 1", "#NM If CR0.TS = 1";
 * FXSAVE/FXRSTOR "#NM If CR0.TS = 1. If CR0.EM = 1."; XSAVE "#UD If
 * CR4.OSXSAVE = 0", "#NM If CR0.TS = 1". */
#include "diff_modes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diff_compare.h"

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
};

static const struct diff_mode_check diff_mode_checks[] = {
	{ "addps: normal", "\x0f\x58\xc1", 3, 0, 0, 0, DIFF_VEC_NONE, false },
	{ "addps: CR0.EM -> #UD", "\x0f\x58\xc1", 3, EM, 0, 0, 6, false },
	{ "addps: CR0.TS -> #NM", "\x0f\x58\xc1", 3, TS, 0, 0, 7, false },
	{ "addps: !CR4.OSFXSR -> #UD", "\x0f\x58\xc1", 3, 0, 0, OSFXSR, 6, false },
	{ "divps 1/0, ZE unmasked -> #XM", "\x0f\x5e\xc1", 3, 0, 0, 0, 19, true },
	{ "divps 1/0, !OSXMMEXCPT -> #UD", "\x0f\x5e\xc1", 3, 0, 0, OSXMMEXCPT, 6, true },
	{ "paddd xmm: CR0.TS -> #NM", "\x66\x0f\xfe\xc1", 4, TS, 0, 0, 7, false },
	{ "ldmxcsr: CR0.EM -> #UD", "\x0f\xae\x13", 3, EM, 0, 0, 6, false },
	{ "stmxcsr: !CR4.OSFXSR -> #UD", "\x0f\xae\x1b", 3, 0, 0, OSFXSR, 6, false },
	{ "fld1: normal", "\xd9\xe8", 2, 0, 0, 0, DIFF_VEC_NONE, false },
	{ "fld1: CR0.EM -> #NM", "\xd9\xe8", 2, EM, 0, 0, 7, false },
	{ "fld1: CR0.TS -> #NM", "\xd9\xe8", 2, TS, 0, 0, 7, false },
	{ "fwait: CR0.TS, !MP -> runs", "\x9b", 1, TS, MP, 0, DIFF_VEC_NONE, false },
	{ "fwait: CR0.TS+MP -> #NM", "\x9b", 1, TS | MP, 0, 0, 7, false },
	{ "fwait: CR0.EM -> runs", "\x9b", 1, EM, 0, 0, DIFF_VEC_NONE, false },
	{ "paddb mm: CR0.EM -> #UD", "\x0f\xfc\xc1", 3, EM, 0, 0, 6, false },
	{ "paddb mm: CR0.TS -> #NM", "\x0f\xfc\xc1", 3, TS, 0, 0, 7, false },
	{ "emms: CR0.TS -> #NM", "\x0f\x77", 2, TS, 0, 0, 7, false },
	{ "fxsave: CR0.EM -> #NM", "\x0f\xae\x03", 3, EM, 0, 0, 7, false },
	{ "fxrstor: CR0.TS -> #NM", "\x0f\xae\x0b", 3, TS, 0, 0, 7, false },
	{ "xsave: !CR4.OSXSAVE -> #UD", "\x0f\xae\x23", 3, 0, 0, OSXSAVE, 6, false },
	{ "xsave: CR0.TS -> #NM", "\x0f\xae\x23", 3, TS, 0, 0, 7, false },
	{ "xsave: normal", "\x0f\xae\x23", 3, 0, 0, 0, DIFF_VEC_NONE, false },
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
		cp->in.regs.gpr[GPR_RAX] = 3;                      /* XSAVE: x87|SSE */
		cp->in.fpu.fcw = 0x37f;
		cp->in.fpu.mxcsr = 0x1f80;
		memcpy(cp->in.mem + 0x100, "\x80\x1f\x00\x00", 4); /* LDMXCSR source */
		if (m->div0) {
			cp->in.fpu.mxcsr = 0x1f80 & ~0x200u; /* ZM clear */
			memcpy(cp->in.fpu.xmm[0], "\x00\x00\x80\x3f", 4);
		}
		soft_exec_set_control(se, (cr0 | m->cr0_set) & ~m->cr0_clear, cr4 & ~m->cr4_clear);
		soft_exec_run(se, cp, rp);
		bool ok = rp->vector == m->want;
		if (!ok)
			bad++;
		printf("%-6s mode: %-40s got %s, SDM says %s\n", ok ? "PASS" : "FAIL", m->name,
		       diff_vector_name(rp->vector), diff_vector_name(m->want));
	}
	soft_exec_set_control(se, cr0, cr4);
	free(cp);
	free(rp);
	return bad;
}
