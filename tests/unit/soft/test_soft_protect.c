/* Soft CPU memory protection at the instruction level: segment limit and
 * type checks on data accesses in real, protected and compatibility modes
 * (SDM vol. 3, 5.3-5.4), STAC/CLAC and the AC flag, RDPKRU/WRPKRU, CR4 and
 * CPUID for SMEP/SMAP/PKU.  Paging-level checks (SMEP/SMAP/PK faults) are in
 * tests/unit/soft_mmu/test_mmu.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "src/cpu/soft/cpu.h"
#include "src/cpu/soft/cpuid.h"
#include "src/cpu/soft/flatmem.h"

#define CODE 0x1000
#define SEGBASE 0x20000
#define MEM (1u << 20)
#define AC (1ULL << 18)

struct env {
	struct soft_flatmem m;
	struct soft_cpu c;
};

static void flat(struct x86_segment *s, unsigned type, bool db)
{
	memset(s, 0, sizeof(*s));
	s->limit = 0xffffffff;
	s->type = (uint8_t)type;
	s->s = 1;
	s->present = 1;
	s->db = db;
	s->g = 1;
}

static struct env *env_new(enum soft_mode mode)
{
	struct env *e = calloc(1, sizeof(*e));
	assert_non_null(e);
	assert_int_equal(soft_flatmem_init(&e->m, MEM), 0);
	assert_int_equal(soft_cpu_init(&e->c, &soft_flatmem_ops, &e->m, false), 0);
	struct soft_cpu *c = &e->c;
	for (int i = 0; i < SEG_COUNT; i++)
		flat(&c->seg[i], i == SEG_CS ? 0xb : 0x3, mode == SOFT_MODE_32);
	if (mode == SOFT_MODE_16) {
		for (int i = 0; i < SEG_COUNT; i++)
			c->seg[i].limit = 0xffff;
		c->cr0 = 0;
	} else {
		c->cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_NE;
		if (mode == SOFT_MODE_64) {
			c->cr0 |= X86_CR0_PG;
			c->cr4 = X86_CR4_PAE;
			c->efer = X86_EFER_LME | X86_EFER_LMA;
			c->seg[SEG_CS].l = 1;
			c->seg[SEG_CS].db = 0;
		}
	}
	soft_cpu_update_mode(c);
	assert_int_equal(c->mode, mode);
	c->gpr[GPR_RSP] = 0x80000;
	return e;
}

static void env_free(struct env *e)
{
	soft_cpu_destroy(&e->c);
	soft_flatmem_destroy(&e->m);
	free(e);
}

/* A segment register loaded with a descriptor's cache (what a checked load
 * of such a descriptor leaves), then the rights recomputed. */
static void load(struct env *e, unsigned seg, unsigned type, uint32_t limit, bool db)
{
	struct x86_segment *s = &e->c.seg[seg];
	flat(s, type, db);
	s->selector = 0x28;
	s->base = SEGBASE;
	s->limit = limit;
	soft_cpu_update_mode(&e->c);
}

/* Execute one instruction from bytes; returns the status. */
static int run(struct env *e, const char *bytes, unsigned n)
{
	memcpy(e->m.ram + CODE, bytes, n);
	e->c.rip = CODE;
	return soft_cpu_step(&e->c);
}
#define RUN(e, s) run((e), (s), sizeof(s) - 1)

static void expect_exc(struct env *e, int r, unsigned vec, uint32_t err)
{
	assert_int_equal(r, SOFT_EXC);
	assert_int_equal(e->c.exc.vector, vec);
	assert_int_equal(e->c.exc.error_code, err);
	assert_int_equal(e->c.rip, CODE); /* a fault: nothing retired */
}

#define MOV_EAX_FS_EBX "\x64\x8b\x03"   /* mov eax, fs:[ebx] */
#define MOV_FS_EBX_EAX "\x64\x89\x03"   /* mov fs:[ebx], eax */
#define MOV_FS_EBX_AL  "\x64\x88\x03"   /* mov fs:[ebx], al */

static void test_limit_expand_up(void **state)
{
	(void)state;
	struct env *e = env_new(SOFT_MODE_32);
	load(e, SEG_FS, 0x3, 0xfff, true);
	memcpy(e->m.ram + SEGBASE + 0xffc, "\x11\x22\x33\x44", 4);
	e->c.gpr[GPR_RBX] = 0xffc;
	assert_int_equal(RUN(e, MOV_EAX_FS_EBX), SOFT_OK);
	assert_int_equal(e->c.gpr[GPR_RAX], 0x44332211);
	/* the last byte beyond the limit: #GP(0) */
	e->c.gpr[GPR_RBX] = 0xffd;
	expect_exc(e, RUN(e, MOV_EAX_FS_EBX), X86_EXC_GP, 0);
	e->c.gpr[GPR_RBX] = 0x1000;
	expect_exc(e, RUN(e, MOV_FS_EBX_AL), X86_EXC_GP, 0);
	e->c.gpr[GPR_RBX] = 0xfff;
	assert_int_equal(RUN(e, MOV_FS_EBX_AL), SOFT_OK);
	/* the same offsets through a flat segment are fine */
	load(e, SEG_FS, 0x3, 0xffffffff, true);
	e->c.gpr[GPR_RBX] = 0xffd;
	assert_int_equal(RUN(e, MOV_EAX_FS_EBX), SOFT_OK);
	/* a 4 GiB segment: an access past offset FFFFFFFFH does not fault
	 * (implementation-specific, SDM 5.3) and the linear address wraps at
	 * 4 GiB: base 0x20000 + 0xfffffffe = 0x1fffe..0x20001 */
	memcpy(e->m.ram + SEGBASE - 2, "\xaa\xbb\xcc\xdd", 4);
	e->c.gpr[GPR_RBX] = 0xfffffffe;
	assert_int_equal(RUN(e, MOV_EAX_FS_EBX), SOFT_OK);
	assert_int_equal(e->c.gpr[GPR_RAX], 0xddccbbaa);
	env_free(e);
}

static void test_limit_expand_down(void **state)
{
	(void)state;
	struct env *e = env_new(SOFT_MODE_32);
	/* expand-down, B=1: valid offsets 0x1000..0xffffffff */
	load(e, SEG_FS, 0x7, 0xfff, true);
	e->c.gpr[GPR_RBX] = 0xfff;
	expect_exc(e, RUN(e, MOV_EAX_FS_EBX), X86_EXC_GP, 0);
	e->c.gpr[GPR_RBX] = 0xffe; /* straddles nothing valid either */
	expect_exc(e, RUN(e, MOV_FS_EBX_AL), X86_EXC_GP, 0);
	e->c.gpr[GPR_RBX] = 0x1000;
	assert_int_equal(RUN(e, MOV_EAX_FS_EBX), SOFT_OK);
	e->c.gpr[GPR_RBX] = 0xd0000;
	assert_int_equal(RUN(e, MOV_FS_EBX_EAX), SOFT_OK);
	/* B=0: the upper bound is 0xffff */
	load(e, SEG_FS, 0x7, 0xfff, false);
	e->c.gpr[GPR_RBX] = 0xfffc;
	assert_int_equal(RUN(e, MOV_EAX_FS_EBX), SOFT_OK);
	e->c.gpr[GPR_RBX] = 0xfffd;
	expect_exc(e, RUN(e, MOV_EAX_FS_EBX), X86_EXC_GP, 0);
	env_free(e);
}

static void test_type_checks(void **state)
{
	(void)state;
	struct env *e = env_new(SOFT_MODE_32);
	e->c.gpr[GPR_RBX] = 0x10;
	/* read-only data: reads fine, writes #GP(0) */
	load(e, SEG_FS, 0x1, 0xffffffff, true);
	assert_int_equal(RUN(e, MOV_EAX_FS_EBX), SOFT_OK);
	expect_exc(e, RUN(e, MOV_FS_EBX_EAX), X86_EXC_GP, 0);
	/* a read-modify-write needs write access too: add fs:[ebx], eax */
	expect_exc(e, RUN(e, "\x64\x01\x03"), X86_EXC_GP, 0);
	/* readable code: reads fine, writes #GP(0) */
	load(e, SEG_FS, 0xa, 0xffffffff, true);
	assert_int_equal(RUN(e, MOV_EAX_FS_EBX), SOFT_OK);
	expect_exc(e, RUN(e, MOV_FS_EBX_EAX), X86_EXC_GP, 0);
	/* execute-only code (the cache a CS override sees): reads #GP(0) */
	load(e, SEG_FS, 0x8, 0xffffffff, true);
	expect_exc(e, RUN(e, MOV_EAX_FS_EBX), X86_EXC_GP, 0);
	/* CS override: CS is execute/read here, writes through it #GP(0) */
	expect_exc(e, RUN(e, "\x2e\x89\x03"), X86_EXC_GP, 0);
	assert_int_equal(RUN(e, "\x2e\x8b\x03"), SOFT_OK);
	/* null selector: any use #GP(0) */
	load(e, SEG_FS, 0x3, 0xffffffff, true);
	e->c.seg[SEG_FS].unusable = 1;
	e->c.seg[SEG_FS].selector = 0;
	soft_cpu_update_mode(&e->c);
	expect_exc(e, RUN(e, MOV_EAX_FS_EBX), X86_EXC_GP, 0);
	env_free(e);
}

static void test_stack_and_ss(void **state)
{
	(void)state;
	struct env *e = env_new(SOFT_MODE_32);
	load(e, SEG_SS, 0x3, 0xfff, true);
	/* push eax with ESP=0x1002: bytes 0xffe..0x1001 cross the limit */
	e->c.gpr[GPR_RSP] = 0x1002;
	expect_exc(e, RUN(e, "\x50"), X86_EXC_SS, 0);
	assert_int_equal(e->c.gpr[GPR_RSP], 0x1002);
	e->c.gpr[GPR_RSP] = 0x1000;
	e->c.gpr[GPR_RAX] = 0xabcdef01;
	assert_int_equal(RUN(e, "\x50"), SOFT_OK);
	assert_int_equal(e->c.gpr[GPR_RSP], 0xffc);
	/* pop past the limit */
	e->c.gpr[GPR_RSP] = 0xffe;
	expect_exc(e, RUN(e, "\x58"), X86_EXC_SS, 0);
	/* an EBP-based operand is SS-relative: #SS(0) */
	e->c.gpr[GPR_RBP] = 0xffe;
	expect_exc(e, RUN(e, "\x8b\x45\x00"), X86_EXC_SS, 0);
	/* call near pushes the return address: #SS before branching */
	e->c.gpr[GPR_RSP] = 0x1002;
	expect_exc(e, RUN(e, "\xe8\x00\x00\x00\x00"), X86_EXC_SS, 0);
	/* expand-down stack (B=1): pushing below the limit faults */
	load(e, SEG_SS, 0x7, 0xfff, true);
	e->c.gpr[GPR_RSP] = 0x1002;
	expect_exc(e, RUN(e, "\x50"), X86_EXC_SS, 0);
	e->c.gpr[GPR_RSP] = 0x1004;
	assert_int_equal(RUN(e, "\x50"), SOFT_OK);
	env_free(e);
}

static void test_strings(void **state)
{
	(void)state;
	struct env *e = env_new(SOFT_MODE_32);
	/* rep stosb through ES limit 0xfff: stops at the first byte outside
	 * with EDI/ECX of that element (restartable) */
	load(e, SEG_ES, 0x3, 0xfff, true);
	e->c.gpr[GPR_RDI] = 0xffc;
	e->c.gpr[GPR_RCX] = 8;
	e->c.gpr[GPR_RAX] = 0x5a;
	expect_exc(e, RUN(e, "\xf3\xaa"), X86_EXC_GP, 0);
	assert_int_equal(e->c.gpr[GPR_RDI], 0x1000);
	assert_int_equal(e->c.gpr[GPR_RCX], 4);
	assert_int_equal(e->m.ram[SEGBASE + 0xfff], 0x5a);
	/* movsd whose source (DS) straddles DS's limit */
	load(e, SEG_ES, 0x3, 0xffffffff, true);
	load(e, SEG_DS, 0x3, 0x7ff, true);
	e->c.gpr[GPR_RSI] = 0x7fe;
	e->c.gpr[GPR_RDI] = 0x100;
	expect_exc(e, RUN(e, "\xa5"), X86_EXC_GP, 0);
	/* a segment override on the source applies to its check */
	e->c.gpr[GPR_RSI] = 0x7fe;
	assert_int_equal(RUN(e, "\x26\xa5"), SOFT_OK);
	env_free(e);
}

/* Operands read in parts (LES: offset, then selector) are checked at each
 * part's offset. */
static void test_multipart_operand(void **state)
{
	(void)state;
	struct env *e = env_new(SOFT_MODE_32);
	load(e, SEG_FS, 0x3, 0xfff, true);
	e->c.gpr[GPR_RBX] = 0xffa; /* 0xffa..0xfff: offset and a null selector */
	assert_int_equal(RUN(e, "\x64\xc4\x03"), SOFT_OK);
	e->c.gpr[GPR_RBX] = 0xffb; /* the selector's second byte is outside */
	expect_exc(e, RUN(e, "\x64\xc4\x03"), X86_EXC_GP, 0);
	env_free(e);
}

static void test_real_mode_and_64(void **state)
{
	(void)state;
	/* real mode: a word at offset 0xffff crosses the 64 KiB limit */
	struct env *e = env_new(SOFT_MODE_16);
	e->c.gpr[GPR_RBX] = 0xffff;
	expect_exc(e, RUN(e, "\x8b\x07"), X86_EXC_GP, 0);  /* mov ax, [bx] */
	e->c.gpr[GPR_RBX] = 0xfffe;
	assert_int_equal(RUN(e, "\x8b\x07"), SOFT_OK);
	e->c.gpr[GPR_RBP] = 0xffff;
	expect_exc(e, RUN(e, "\x8b\x46\x00"), X86_EXC_SS, 0); /* mov ax, [bp] */
	/* real mode has no type checks: writes through CS work */
	e->c.gpr[GPR_RBX] = 0x100;
	assert_int_equal(RUN(e, "\x2e\x89\x07"), SOFT_OK);
	env_free(e);

	/* 64-bit mode ignores limits and types (only canonical checks) */
	e = env_new(SOFT_MODE_64);
	load(e, SEG_FS, 0x1, 0xfff, true);
	e->c.seg[SEG_FS].base = 0;
	e->c.gpr[GPR_RBX] = 0x5000;
	assert_int_equal(RUN(e, MOV_FS_EBX_EAX), SOFT_OK);
	/* compatibility mode (IA-32e, CS.L=0) checks them */
	e->c.seg[SEG_CS].l = 0;
	e->c.seg[SEG_CS].db = 1;
	soft_cpu_update_mode(&e->c);
	assert_int_equal(e->c.mode, SOFT_MODE_32);
	expect_exc(e, RUN(e, MOV_FS_EBX_EAX), X86_EXC_GP, 0);
	env_free(e);
}

static void test_stac_clac(void **state)
{
	(void)state;
	struct env *e = env_new(SOFT_MODE_64);
	assert_int_equal(RUN(e, "\x0f\x01\xcb"), SOFT_OK); /* stac */
	assert_true(e->c.rflags & AC);
	assert_int_equal(RUN(e, "\x0f\x01\xca"), SOFT_OK); /* clac */
	assert_false(e->c.rflags & AC);
	/* POPF at CPL 0 sets AC */
	e->c.gpr[GPR_RSP] = 0x80000;
	memcpy(e->m.ram + 0x80000, "\x02\x00\x04\x00\x00\x00\x00\x00", 8);
	assert_int_equal(RUN(e, "\x9d"), SOFT_OK);
	assert_true(e->c.rflags & AC);
	/* CPL 3: #UD */
	e->c.seg[SEG_CS].selector = 0x33;
	e->c.seg[SEG_CS].dpl = 3;
	soft_cpu_update_mode(&e->c);
	assert_int_equal(e->c.cpl, 3);
	expect_exc(e, RUN(e, "\x0f\x01\xcb"), X86_EXC_UD, 0);
	expect_exc(e, RUN(e, "\x0f\x01\xca"), X86_EXC_UD, 0);
	assert_true(e->c.rflags & AC);
	env_free(e);
}

static void test_pkru(void **state)
{
	(void)state;
	if (!SOFT_MODEL_PKU)
		skip();
	struct env *e = env_new(SOFT_MODE_64);
	/* CR4.PKE=0: #UD */
	e->c.gpr[GPR_RCX] = 0;
	expect_exc(e, RUN(e, "\x0f\x01\xee"), X86_EXC_UD, 0);
	expect_exc(e, RUN(e, "\x0f\x01\xef"), X86_EXC_UD, 0);
	/* MOV CR4 accepts PKE, SMEP and SMAP; CPUID's OSPKE follows PKE */
	e->c.gpr[GPR_RAX] = X86_CR4_PAE | (1ULL << 20) | (1ULL << 21) | (1ULL << 22);
	assert_int_equal(RUN(e, "\x0f\x22\xe0"), SOFT_OK);
	assert_int_equal(e->c.cr4, e->c.gpr[GPR_RAX]);
	e->c.gpr[GPR_RAX] = 7;
	e->c.gpr[GPR_RCX] = 0;
	assert_int_equal(RUN(e, "\x0f\xa2"), SOFT_OK);
	assert_true(e->c.gpr[GPR_RBX] & (1u << 7));  /* SMEP */
	assert_true(e->c.gpr[GPR_RBX] & (1u << 20)); /* SMAP */
	assert_true(e->c.gpr[GPR_RCX] & (1u << 3));  /* PKU */
	assert_true(e->c.gpr[GPR_RCX] & (1u << 4));  /* OSPKE */
	/* WRPKRU / RDPKRU */
	e->c.gpr[GPR_RAX] = 0xffffffff0000000cULL;
	e->c.gpr[GPR_RCX] = 0;
	e->c.gpr[GPR_RDX] = 0xffffffff00000000ULL; /* only EDX counts */
	assert_int_equal(RUN(e, "\x0f\x01\xef"), SOFT_OK);
	assert_int_equal(e->c.pkru, 0xc);
	e->c.gpr[GPR_RAX] = e->c.gpr[GPR_RDX] = ~0ULL;
	assert_int_equal(RUN(e, "\x0f\x01\xee"), SOFT_OK);
	assert_int_equal(e->c.gpr[GPR_RAX], 0xc);
	assert_int_equal(e->c.gpr[GPR_RDX], 0);
	/* ECX != 0: #GP(0); EDX != 0 for WRPKRU: #GP(0) */
	e->c.gpr[GPR_RCX] = 1;
	expect_exc(e, RUN(e, "\x0f\x01\xee"), X86_EXC_GP, 0);
	expect_exc(e, RUN(e, "\x0f\x01\xef"), X86_EXC_GP, 0);
	e->c.gpr[GPR_RCX] = 0;
	e->c.gpr[GPR_RDX] = 1;
	expect_exc(e, RUN(e, "\x0f\x01\xef"), X86_EXC_GP, 0);
	assert_int_equal(e->c.pkru, 0xc);
	/* both work at CPL 3 */
	e->c.seg[SEG_CS].selector = 0x33;
	soft_cpu_update_mode(&e->c);
	e->c.gpr[GPR_RDX] = 0;
	e->c.gpr[GPR_RAX] = 0x55555554;
	assert_int_equal(RUN(e, "\x0f\x01\xef"), SOFT_OK);
	assert_int_equal(e->c.pkru, 0x55555554);
	/* CR4.PKE off: OSPKE clears */
	e->c.seg[SEG_CS].selector = 0x8;
	soft_cpu_update_mode(&e->c);
	e->c.gpr[GPR_RAX] = X86_CR4_PAE;
	assert_int_equal(RUN(e, "\x0f\x22\xe0"), SOFT_OK);
	e->c.gpr[GPR_RAX] = 7;
	e->c.gpr[GPR_RCX] = 0;
	assert_int_equal(RUN(e, "\x0f\xa2"), SOFT_OK);
	assert_false(e->c.gpr[GPR_RCX] & (1u << 4));
	env_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_limit_expand_up),
		cmocka_unit_test(test_limit_expand_down),
		cmocka_unit_test(test_type_checks),
		cmocka_unit_test(test_stack_and_ss),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_multipart_operand),
		cmocka_unit_test(test_real_mode_and_64),
		cmocka_unit_test(test_stac_clac),
		cmocka_unit_test(test_pkru),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
