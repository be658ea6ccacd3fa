/* Non-canonical RSP on the soft CPU (see diff_stackcanon.h).  Each check
 * gives the bytes, RSP (and RBX), and what the SDM says must follow: the
 * vector and error code, or completion with the listed register values;
 * on a fault no register or memory byte may change. */
#include "diff_stackcanon.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diff_compare.h"

#define NONCANON_A 0xaaaaaaaaaaaaaaaaULL  /* far from canonical */
#define NONCANON_HI 0x8000000000000000ULL
#define NONCANON_EDGE 0x0000800000000000ULL /* first non-canonical address */
/* upper half garbage, lower half = data area + 0x100 (addr32 forms) */
#define NONCANON_LO32 (0xaaaaaaaa00000000ULL | (DIFF_DATA_ADDR + 0x100))
#define RSP_UNCHANGED UINT64_MAX

struct stackcanon_check {
	const char *name;
	const char *bytes;
	unsigned len;
	uint64_t rsp;
	int want;              /* vector, DIFF_VEC_NONE = completes */
	uint64_t want_err;     /* error code when want >= 0 */
	uint64_t want_cr2;     /* #PF only */
	uint64_t want_rsp;     /* on completion; RSP_UNCHANGED = same as input */
	bool check_rax;
	uint64_t want_rax;     /* on completion, when check_rax */
};

/* [rbx] = DIFF_DATA_ADDR + 0x100 holds 0x1122334455667788 */
#define MEMVAL 0x1122334455667788ULL

static const struct stackcanon_check checks[] = {
	{ "push rax -> #SS(0)", "\x50", 1, NONCANON_A, 12, 0, 0, 0, false, 0 },
	{ "pop rax -> #SS(0)", "\x58", 1, NONCANON_HI, 12, 0, 0, 0, false, 0 },
	{ "call rel32 -> #SS(0)", "\xe8\x00\x00\x00\x00", 5, NONCANON_A, 12, 0, 0, 0, false, 0 },
	{ "ret -> #SS(0)", "\xc3", 1, NONCANON_HI, 12, 0, 0, 0, false, 0 },
	{ "pushfq -> #SS(0)", "\x9c", 1, NONCANON_A, 12, 0, 0, 0, false, 0 },
	{ "mov rax,[rsp] -> #SS(0)", "\x48\x8b\x04\x24", 4, NONCANON_A, 12, 0, 0, 0, false, 0 },
	{ "mov rax,[rsp+rbx*0] -> #SS(0)", "\x48\x8b\x04\x1c", 4, NONCANON_HI, 12, 0, 0, 0, false, 0 },
	/* the push's address RSP-8 = 0x7ffffffffff8 is canonical: a #PF there */
	{ "push rax, RSP-8 canonical -> #PF", "\x50", 1, NONCANON_EDGE, 14, 0x6, 0x00007ffffffffff8ULL,
	  0, false, 0 },
	{ "lea rax,[rsp+8] completes", "\x48\x8d\x44\x24\x08", 5, NONCANON_A, DIFF_VEC_NONE, 0, 0,
	  RSP_UNCHANGED, true, NONCANON_A + 8 },
	{ "mov rax,rsp completes", "\x48\x89\xe0", 3, NONCANON_HI, DIFF_VEC_NONE, 0, 0,
	  RSP_UNCHANGED, true, NONCANON_HI },
	{ "add rsp,8 completes", "\x48\x83\xc4\x08", 4, NONCANON_A, DIFF_VEC_NONE, 0, 0,
	  NONCANON_A + 8, false, 0 },
	{ "mov rsp,rbx makes it canonical", "\x48\x89\xdc", 3, NONCANON_A, DIFF_VEC_NONE, 0, 0,
	  DIFF_DATA_ADDR + 0x100, false, 0 },
	{ "mov rax,[rbx] ignores RSP", "\x48\x8b\x03", 3, NONCANON_A, DIFF_VEC_NONE, 0, 0,
	  RSP_UNCHANGED, true, MEMVAL },
	/* addr32: [esp] is the zero-extended low half, a canonical address */
	{ "mov eax,[esp] (addr32) completes", "\x67\x8b\x04\x24", 4, NONCANON_LO32, DIFF_VEC_NONE, 0,
	  0, RSP_UNCHANGED, true, MEMVAL & 0xffffffffULL },
};

static bool state_unchanged(const struct diff_case *c, const struct diff_result *r)
{
	return !memcmp(c->in.regs.gpr, r->out.regs.gpr, sizeof(c->in.regs.gpr)) &&
	       c->in.regs.rip == r->out.regs.rip && !memcmp(c->in.mem, r->out.mem, DIFF_MEM_SIZE);
}

static const char *judge(const struct stackcanon_check *k, const struct diff_case *c,
			 const struct diff_result *r)
{
	if (r->vector != k->want)
		return "wrong vector";
	if (k->want >= 0) {
		if (r->error_code != k->want_err)
			return "wrong error code";
		if (k->want == 14 && r->fault_addr != k->want_cr2)
			return "wrong CR2";
		if (!state_unchanged(c, r))
			return "state changed by a faulting instruction";
		return NULL;
	}
	uint64_t rsp = k->want_rsp == RSP_UNCHANGED ? k->rsp : k->want_rsp;
	if (r->out.regs.gpr[GPR_RSP] != rsp)
		return "wrong RSP";
	if (k->check_rax && r->out.regs.gpr[GPR_RAX] != k->want_rax)
		return "wrong RAX";
	if (r->out.regs.rip != DIFF_CODE_ADDR + k->len)
		return "wrong RIP";
	return NULL;
}

int diff_stackcanon_run(struct soft_exec *se)
{
	int bad = 0;
	struct diff_case *c = calloc(1, sizeof(*c));
	struct diff_result *r = calloc(1, sizeof(*r));
	if (!c || !r) {
		free(c);
		free(r);
		return 1;
	}
	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
		const struct stackcanon_check *k = &checks[i];
		memset(c, 0, sizeof(*c));
		memcpy(c->code, k->bytes, k->len);
		c->len = (uint8_t)k->len;
		c->in.regs.rip = DIFF_CODE_ADDR;
		c->in.regs.rflags = 0x202;
		c->in.regs.gpr[GPR_RSP] = k->rsp;
		c->in.regs.gpr[GPR_RBX] = DIFF_DATA_ADDR + 0x100;
		c->in.regs.gpr[GPR_RAX] = 0x5a5a5a5a5a5a5a5aULL;
		c->in.fpu.fcw = 0x37f;
		c->in.fpu.mxcsr = 0x1f80;
		uint64_t v = MEMVAL;
		memcpy(c->in.mem + 0x100, &v, 8);
		memset(r, 0, sizeof(*r));
		soft_exec_run(se, c, r);
		const char *why = judge(k, c, r);
		if (why)
			bad++;
		printf("%-6s rsp: %-40s got %s (err %#llx)%s%s\n", why ? "FAIL" : "PASS", k->name,
		       diff_vector_name(r->vector), (unsigned long long)r->error_code,
		       why ? ": " : "", why ? why : "");
	}
	free(c);
	free(r);
	return bad;
}
