/* Self-test of native_exec: random add/xor/sub on 64-bit registers checked
 * against a C model, plus known faults (#DE, #PF with CR2, #UD, #GP) and a
 * state round trip (every register, x87, MXCSR, XMM and memory must come
 * back unchanged after a NOP). */
#include "diff_selftest.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "diff_gen.h"

static uint64_t parity(uint64_t v)
{
	return (__builtin_popcount((unsigned)(v & 0xff)) & 1) ? 0 : 0x4;
}

/* op 0 add, 1 xor, 2 sub: rbx = rbx op rax (48 01 c3 / 48 31 c3 / 48 29 c3) */
static uint64_t model(int op, uint64_t a, uint64_t b, uint64_t *res)
{
	uint64_t r, fl = 0;
	switch (op) {
	case 0:
		r = b + a;
		if (r < b) fl |= 1;
		if (((b ^ r) & (a ^ r)) >> 63) fl |= 0x800;
		if ((a ^ b ^ r) & 0x10) fl |= 0x10;
		break;
	case 1:
		r = b ^ a;
		break;
	default:
		r = b - a;
		if (a > b) fl |= 1;
		if (((b ^ a) & (b ^ r)) >> 63) fl |= 0x800;
		if ((a ^ b ^ r) & 0x10) fl |= 0x10;
		break;
	}
	if (!r) fl |= 0x40;
	if (r >> 63) fl |= 0x80;
	fl |= parity(r);
	*res = r;
	return fl;
}

int diff_selftest(struct native_exec *ne)
{
	static const uint8_t ops[3] = { 0x01, 0x31, 0x29 };
	struct diff_rng rng = { .s = 12345 };
	struct diff_case *c = native_exec_cases(ne);
	int bad = 0;
	size_t n = NATIVE_BATCH_MAX;

	for (size_t i = 0; i < n; i++) {
		diff_gen_state(&rng, &c[i].in, true);
		c[i].len = 3;
		c[i].code[0] = 0x48;
		c[i].code[1] = ops[i % 3];
		c[i].code[2] = 0xc3;
	}
	/* fixed cases at the end */
	size_t k = n - 5;
	c[k].len = 3; memcpy(c[k].code, "\x48\xf7\xf1", 3); /* div rcx */
	c[k].in.regs.gpr[GPR_RCX] = 0;
	c[k + 1].len = 3; memcpy(c[k + 1].code, "\x48\x8b\x03", 3); /* mov rax,[rbx] */
	c[k + 1].in.regs.gpr[GPR_RBX] = 0x1000;
	c[k + 2].len = 2; memcpy(c[k + 2].code, "\x0f\x0b", 2); /* ud2 */
	c[k + 3].len = 1; memcpy(c[k + 3].code, "\xf4", 1); /* hlt */
	c[k + 4].len = 1; memcpy(c[k + 4].code, "\x90", 1); /* nop */
	const struct diff_result *r = native_exec_run(ne, n);
	if (!r) {
		printf("selftest: native_exec_run failed\n");
		return 2;
	}
	for (size_t i = 0; i < k; i++) {
		uint64_t res, fl = model((int)(i % 3), c[i].in.regs.gpr[GPR_RAX], c[i].in.regs.gpr[GPR_RBX], &res);
		uint64_t mask = (i % 3 == 1) ? 0x8c5 : 0x8d5; /* xor: AF undefined */
		if (r[i].vector != DIFF_VEC_NONE || r[i].out.regs.gpr[GPR_RBX] != res ||
		    (r[i].out.regs.rflags & mask) != (fl & mask) ||
		    r[i].out.regs.rip != DIFF_CODE_ADDR + 3) {
			if (bad++ < 5)
				printf("selftest: case %zu op %zu: vec %d rbx %016" PRIx64 " want %016" PRIx64
				       " flags %04" PRIx64 " want %04" PRIx64 "\n", i, i % 3, r[i].vector,
				       r[i].out.regs.gpr[GPR_RBX], res, r[i].out.regs.rflags & mask, fl & mask);
		}
	}
	struct { int vec; uint64_t cr2; } want[5] = { { 0, 0 }, { 14, 0x1000 }, { 6, 0 }, { 13, 0 }, { -1, 0 } };
	for (int j = 0; j < 5; j++) {
		const struct diff_result *x = &r[k + j];
		if (x->vector != want[j].vec || (want[j].vec == 14 && x->fault_addr != want[j].cr2) ||
		    (want[j].vec >= 0 && x->out.regs.rip != DIFF_CODE_ADDR)) {
			bad++;
			printf("selftest: fixed case %d: vector %d cr2 %" PRIx64 " rip %" PRIx64 "\n", j,
			       x->vector, x->fault_addr, x->out.regs.rip);
		}
	}
	/* the NOP must leave the whole state as it was */
	const struct diff_state *in = &c[k + 4].in, *out = &r[k + 4].out;
	if (memcmp(in->regs.gpr, out->regs.gpr, sizeof(in->regs.gpr)) ||
	    (in->regs.rflags & 0xcd5) != (out->regs.rflags & 0xcd5) ||
	    in->fpu.fcw != out->fpu.fcw || in->fpu.fsw != out->fpu.fsw ||
	    in->fpu.ftw != out->fpu.ftw || in->fpu.mxcsr != out->fpu.mxcsr ||
	    memcmp(in->fpu.xmm, out->fpu.xmm, sizeof(in->fpu.xmm)) ||
	    memcmp(in->mem, out->mem, DIFF_MEM_SIZE)) {
		bad++;
		printf("selftest: NOP round trip changed the state (fcw %04x/%04x fsw %04x/%04x ftw %02x/%02x mxcsr %08x/%08x)\n",
		       in->fpu.fcw, out->fpu.fcw, in->fpu.fsw, out->fpu.fsw, in->fpu.ftw, out->fpu.ftw,
		       in->fpu.mxcsr, out->fpu.mxcsr);
	}
	for (int i = 0; i < 8; i++)
		if (memcmp(in->fpu.st[i], out->fpu.st[i], 10)) {
			bad++;
			printf("selftest: st%d changed by NOP round trip\n", i);
		}
	printf("selftest: %zu cases, %d failures\n", n, bad);
	return bad ? 1 : 0;
}
