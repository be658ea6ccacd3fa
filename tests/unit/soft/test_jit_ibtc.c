/* Indirect exits of translated code (RET, CALL/JMP through a register or
 * memory) through the indirect-branch table (jit.h, struct soft_jit_ibtc):
 * a block without handler calls leaves the guest flags in R10 and enters
 * its target's R10 entry (jit/exits.h; translate.c, exit_indirect_code),
 * every way out to the run loop merges them (and stores the target RIP:
 * SOFT_JIT_STUB_OK_IND*), a block after a handler enters the plain body.
 * A call/ret loop whose return sites read the flags natively (ADC, SBB,
 * CMOVcc, SETcc) and through a handler (PUSHFQ), a leaf with a handler
 * call, a return site whose first instruction faults (#PF at the end of
 * memory), run translated against interpreted: from the start up to
 * every instruction count (budget exits at each RET), to the end or the
 * fault, with LAHF and with the PUSHFQ images. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "flat_env.h"
#include "src/cpu/soft/icache.h"
#include "src/cpu/soft/mmu/soft_mmu.h"
#include "src/cpu/soft/jit/jit.h"

/*	mov $300, %ecx; xor %r15d, %r15d
 * 1:	call f; adc $0, %rbx			CF of f's ADD, across its RET
 *	call g; pushfq; pop %r8; add %r8, %r9	g's CMP, read by a handler
 *	call h; sbb %rax, %rdx			h calls a handler (PUSHFQ)
 *	lea f(%rip), %r11; call *%r11; cmovb %rax, %rbp
 *	call g; mov (%rdi,%r15,8), %r14		a load first: #PF at the end
 *	adc %r14, %r13; inc %r15		of memory, g's flags exact
 *	jmp *tbl(%rip)
 * k:	setbe %r12b; add %r12, %r10; dec %ecx; jnz 1b; hlt
 * f:	add %rdx, %rax; ret
 * g:	cmp %rbx, %rax; ret
 * h:	pushfq; pop %r10; sub %r10, %rax; ret
 * tbl:	.quad k */
static const uint8_t code[] = {
	0xb9, 0x2c, 0x01, 0x00, 0x00, 0x45, 0x31, 0xff, 0xe8, 0x46, 0x00, 0x00,
	0x00, 0x48, 0x83, 0xd3, 0x00, 0xe8, 0x41, 0x00, 0x00, 0x00, 0x9c, 0x41,
	0x58, 0x4d, 0x01, 0xc1, 0xe8, 0x3a, 0x00, 0x00, 0x00, 0x48, 0x19, 0xc2,
	0x4c, 0x8d, 0x1d, 0x28, 0x00, 0x00, 0x00, 0x41, 0xff, 0xd3, 0x48, 0x0f,
	0x42, 0xe8, 0xe8, 0x20, 0x00, 0x00, 0x00, 0x4e, 0x8b, 0x34, 0xff, 0x4d,
	0x11, 0xf5, 0x49, 0xff, 0xc7, 0xff, 0x25, 0x21, 0x00, 0x00, 0x00, 0x41,
	0x0f, 0x96, 0xc4, 0x4d, 0x01, 0xe2, 0xff, 0xc9, 0x75, 0xb6, 0xf4, 0x48,
	0x01, 0xd0, 0xc3, 0x48, 0x39, 0xd8, 0xc3, 0x9c, 0x41, 0x5a, 0x4c, 0x29,
	0xd0, 0xc3, 0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00,
	0x47, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* tbl: FLAT_ENV_CODE + 0x47 */
};
#define ROUND 22 /* instructions per round of the loop */

/* A shadow TLB over the flat memory as the MMU would fill it at CPL 0
 * (pages mapped 1:1, the code page without the inline-store right). */
static struct soft_tlb_entry *flat_tlb(struct env *e)
{
	struct soft_tlb_entry *tlb = calloc(SOFT_TLB_SIZE, sizeof(*tlb));
	assert_non_null(tlb);
	for (unsigned p = 0; p < SOFT_TLB_SIZE; p++) {
		bool ram = p < FLAT_ENV_MEM / 4096;
		tlb[p].tag_read = tlb[p].tag_write = ram ? (uint64_t)p << 2 : ~0ULL;
		tlb[p].tag_fastw = ram && p != FLAT_ENV_CODE / 4096 ? (uint64_t)p << 2 : ~0ULL;
		tlb[p].tag_fetch = ~0ULL;
		tlb[p].host = ram ? e->m.ram + 4096 * p : NULL;
		soft_tlb_entry_jit(&tlb[p], (uint64_t)p << 12);
	}
	e->c.jit_tlb = tlb;
	return tlb;
}

struct result {
	int status;
	struct env *e;
	struct soft_tlb_entry *tlb;
};

/* Run code from its start for at most max instructions, interpreted or
 * translated from the first execution (lahf false: the PUSHFQ images). */
static struct result run(bool jit, bool lahf, uint64_t rdi, uint64_t max)
{
	struct result r = { .e = env_new(SOFT_MODE_64, true) };
	struct env *e = r.e;
	if (jit) {
		e->c.jit = soft_jit_new(1u << 20, 0);
		assert_non_null(e->c.jit);
		e->c.jit->no_region = true;
		e->c.jit->lahf = e->c.jit->lahf && lahf;
		r.tlb = flat_tlb(e);
	}
	memcpy(e->m.ram + FLAT_ENV_CODE, code, sizeof(code));
	for (unsigned i = 0x10000; i < FLAT_ENV_MEM; i += 8) {
		uint64_t x = i * 0x9e3779b97f4a7c15ULL;
		memcpy(e->m.ram + i, &x, 8);
	}
	for (unsigned g = 0; g < GPR_COUNT; g++)
		e->c.gpr[g] = 0x0123456789abcdefULL * (g + 1) >> (g & 7);
	e->c.gpr[GPR_RSP] = FLAT_ENV_RSP;
	e->c.gpr[GPR_RDI] = rdi;
	soft_set_rflags(&e->c, 2 | 0x8d5);
	uint64_t done;
	r.status = soft_cpu_run(&e->c, max, &done);
	return r;
}

static void release(struct result *r)
{
	r->e->c.jit_tlb = NULL;
	free(r->tlb);
	env_free(r->e);
}

static void compare(const struct result *a, const struct result *b, const char *what, uint64_t max)
{
	if (a->status != b->status)
		fail_msg("%s, max %llu: status interp %d jit %d", what, (unsigned long long)max,
			 a->status, b->status);
	for (unsigned g = 0; g < GPR_COUNT; g++)
		if (a->e->c.gpr[g] != b->e->c.gpr[g])
			fail_msg("%s, max %llu: gpr %u interp %#llx jit %#llx", what,
				 (unsigned long long)max, g, (unsigned long long)a->e->c.gpr[g],
				 (unsigned long long)b->e->c.gpr[g]);
	if (soft_get_rflags(&a->e->c) != soft_get_rflags(&b->e->c))
		fail_msg("%s, max %llu: rflags interp %#llx jit %#llx", what, (unsigned long long)max,
			 (unsigned long long)soft_get_rflags(&a->e->c),
			 (unsigned long long)soft_get_rflags(&b->e->c));
	assert_int_equal(a->e->c.rip, b->e->c.rip);
	assert_int_equal(a->e->c.icount, b->e->c.icount);
	assert_int_equal(a->e->c.cr2, b->e->c.cr2);
	assert_memory_equal(a->e->m.ram + FLAT_ENV_RSP - 0x100, b->e->m.ram + FLAT_ENV_RSP - 0x100, 0x100);
}

/* To the HLT, and to a #PF at the return site after g in round 150 (the
 * table warm, the flags in R10 at the fault's slow path) */
static void test_ibtc_to_end(void **state)
{
	(void)state;
	const uint64_t rdi[2] = { 0x20000, FLAT_ENV_MEM - 8 * 150 };
	for (unsigned v = 0; v < 4; v++) {
		bool lahf = v & 1, fault = v & 2;
		struct result a = run(false, true, rdi[fault], 100000);
		struct result b = run(true, lahf, rdi[fault], 100000);
		char what[48];
		snprintf(what, sizeof(what), "%s%s", fault ? "#PF" : "to HLT", lahf ? "" : " (PUSHFQ)");
		compare(&a, &b, what, 100000);
		assert_int_equal(a.status, fault ? SOFT_EXC : SOFT_HLT);
		struct soft_jit *j = b.e->c.jit;
		/* the returns stay in translated code: the run loop enters a
		 * few translations, not one per RET */
		print_message("%s: %llu entries from the run loop, %llu indirect exits translated\n", what,
			      (unsigned long long)j->stats.entries, (unsigned long long)j->stats.indirect);
		assert_true(j->stats.indirect >= 5);
		assert_true(j->stats.entries < 60);
		release(&a);
		release(&b);
	}
}

/* Every instruction count over the first rounds: the budget ends the run
 * at each exit, the indirect ones included (their ways out to the run
 * loop with the flags in R10 and the target not in cpu->rip yet) */
static void test_ibtc_every_budget(void **state)
{
	(void)state;
	for (unsigned v = 0; v < 2; v++) {
		for (uint64_t max = 1; max <= 12 * ROUND; max++) {
			struct result a = run(false, true, 0x20000, max);
			struct result b = run(true, v, 0x20000, max);
			compare(&a, &b, v ? "budget" : "budget (PUSHFQ)", max);
			release(&a);
			release(&b);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ibtc_to_end),
		cmocka_unit_test(test_ibtc_every_budget),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
