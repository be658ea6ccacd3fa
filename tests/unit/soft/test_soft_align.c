/* Alignment checking, #AC (src/cpu/soft/align_check.h; SDM vol. 3, 6.15,
 * vol. 1, 4.1.1): the interpreter's rules one instruction at a time, on a
 * flat 64-bit machine at CPL 3 with CR0.AM and EFLAGS.AC: which sizes are
 * checked (2, 4, 8, the x87 80-bit operand as 8; not bytes nor 16-byte SSE
 * moves), the LOCK'd read-modify-write, PUSH, IRETQ's pops, a REP string
 * instruction
 * (flatmem has no page-wise REP path: guests/tests_align.c covers that
 * one), the order against #GP for a
 * non-canonical address, and nothing at CPL 0, with AM or AC clear. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "src/cpu/soft/cpu.h"
#include "src/cpu/soft/flatmem.h"
#include "flat_env.h"

#define CODE FLAT_ENV_CODE
#define DATA 0x20000
#define AC (1ULL << 18)

/* Run one instruction at CODE; returns the soft_cpu_step status. */
static int step1(struct env *e, const char *bytes, size_t n)
{
	memcpy(e->m.ram + CODE, bytes, n);
	e->c.rip = CODE;
	memset(&e->c.exc, 0, sizeof(e->c.exc));
	return soft_cpu_step(&e->c);
}

static void expect_ac(struct env *e, const char *bytes, size_t n)
{
	assert_int_equal(step1(e, bytes, n), SOFT_EXC);
	assert_int_equal(e->c.exc.vector, 17);
	assert_true(e->c.exc.has_error);
	assert_int_equal(e->c.exc.error_code, 0);
	assert_int_equal(e->c.rip, CODE); /* a fault: RIP on the instruction */
}

static void expect_ok(struct env *e, const char *bytes, size_t n)
{
	int r = step1(e, bytes, n);
	if (r)
		print_error("%02x ...: status %d, vector %u\n", (uint8_t)bytes[0], r, e->c.exc.vector);
	assert_int_equal(r, SOFT_OK);
	assert_int_equal(e->c.rip, CODE + n);
}

/* 64-bit, CPL 3 (CS.RPL 3), CR0.AM, EFLAGS.AC, SSE on */
static struct env *user_env(void)
{
	struct env *e = env_new(SOFT_MODE_64, false);
	e->c.seg[SEG_CS].selector = 0x33;
	e->c.seg[SEG_SS].selector = 0x2b;
	e->c.cr0 |= X86_CR0_AM;
	e->c.cr4 |= 1ULL << 9; /* OSFXSR: SSE */
	soft_cpu_update_mode(&e->c);
	assert_int_equal(e->c.cpl, 3);
	soft_set_rflags(&e->c, 0x2 | AC);
	return e;
}

static void test_ac_sizes(void **state)
{
	(void)state;
	struct env *e = user_env();
	for (unsigned i = 0; i < 64; i++)
		e->m.ram[DATA + i] = (uint8_t)(0x40 + i);
	e->c.gpr[GPR_RAX] = 0x1111111111111111ULL;
	e->c.gpr[GPR_RBX] = DATA + 2;
	expect_ac(e, "\x8b\x03", 2);              /* mov eax, [rbx] */
	assert_int_equal(e->c.gpr[GPR_RAX], 0x1111111111111111ULL);
	expect_ac(e, "\x89\x03", 2);              /* mov [rbx], eax: nothing written */
	assert_int_equal(e->m.ram[DATA + 2], 0x42);
	expect_ac(e, "\x48\x8b\x03", 3);          /* mov rax, [rbx] */
	expect_ac(e, "\xf0\x01\x03", 3);          /* lock add [rbx], eax */
	assert_int_equal(e->m.ram[DATA + 2], 0x42);
	expect_ok(e, "\x66\x8b\x03", 3);          /* mov ax, [rbx]: 2-aligned */
	assert_int_equal(e->c.gpr[GPR_RAX] & 0xffff, 0x4342);
	expect_ok(e, "\x8a\x43\x01", 3);          /* mov al, [rbx+1]: bytes never */
	expect_ok(e, "\x0f\x10\x43\x01", 4);      /* movups xmm0, [rbx+1]: not checked */
	expect_ac(e, "\xf3\x0f\x7e\x03", 4);      /* movq xmm0, [rbx] */
	expect_ac(e, "\xdb\x2b", 2);              /* fld tbyte [rbx]: 8 */
	e->c.gpr[GPR_RBX] = DATA + 8;
	expect_ok(e, "\xdb\x2b", 2);
	expect_ok(e, "\x48\x8b\x03", 3);
	/* a non-canonical address: #GP first */
	e->c.gpr[GPR_RBX] = 0x8000000000000002ULL;
	assert_int_equal(step1(e, "\x8b\x03", 2), SOFT_EXC);
	assert_int_equal(e->c.exc.vector, X86_EXC_GP);
	env_free(e);
}

static void test_ac_stack_string(void **state)
{
	(void)state;
	struct env *e = user_env();
	e->c.gpr[GPR_RSP] = DATA + 0x104;
	expect_ac(e, "\x50", 1);                  /* push rax */
	assert_int_equal(e->c.gpr[GPR_RSP], DATA + 0x104);
	e->c.gpr[GPR_RSP] = DATA + 0x100;
	expect_ok(e, "\x50", 1);
	assert_int_equal(e->c.gpr[GPR_RSP], DATA + 0xf8);
	/* rep movsd from a misaligned source: the first element faults */
	e->c.gpr[GPR_RSI] = DATA + 0x201;
	e->c.gpr[GPR_RDI] = DATA + 0x400;
	e->c.gpr[GPR_RCX] = 100;
	expect_ac(e, "\xf3\xa5", 2);
	assert_int_equal(e->c.gpr[GPR_RCX], 100);
	assert_int_equal(e->c.gpr[GPR_RSI], DATA + 0x201);
	/* rep stosq / rep movsq to a misaligned destination: the same */
	e->c.gpr[GPR_RDI] = DATA + 0x404;
	e->c.gpr[GPR_RCX] = 100;
	expect_ac(e, "\xf3\x48\xab", 3);
	assert_int_equal(e->c.gpr[GPR_RCX], 100);
	e->c.gpr[GPR_RSI] = DATA + 0x200;
	expect_ac(e, "\xf3\x48\xa5", 3);
	assert_int_equal(e->c.gpr[GPR_RCX], 100);
	/* rep stosq to an aligned destination runs */
	e->c.gpr[GPR_RDI] = DATA + 0x400;
	e->c.gpr[GPR_RCX] = 100;
	expect_ok(e, "\xf3\x48\xab", 3);
	assert_int_equal(e->c.gpr[GPR_RCX], 0);
	/* IRETQ at CPL 3 pops from a misaligned stack: #AC, nothing loaded */
	e->c.gpr[GPR_RSP] = DATA + 0x304;
	expect_ac(e, "\x48\xcf", 2);
	assert_int_equal(e->c.gpr[GPR_RSP], DATA + 0x304);
	assert_int_equal(e->c.cpl, 3);
	/* aligned: whatever the frame holds, not #AC */
	e->c.gpr[GPR_RSP] = DATA + 0x300;
	int r = step1(e, "\x48\xcf", 2);
	assert_true(r == SOFT_OK || e->c.exc.vector != 17);
	env_free(e);
}

static void test_ac_off(void **state)
{
	(void)state;
	struct env *e = user_env();
	e->c.gpr[GPR_RBX] = DATA + 2;
	/* AC clear */
	soft_set_rflags(&e->c, 0x2);
	expect_ok(e, "\x8b\x03", 2);
	soft_set_rflags(&e->c, 0x2 | AC);
	expect_ac(e, "\x8b\x03", 2);
	/* CR0.AM clear (as a set_sregs would: the mode is recomputed) */
	e->c.cr0 &= ~X86_CR0_AM;
	soft_cpu_update_mode(&e->c);
	expect_ok(e, "\x8b\x03", 2);
	e->c.cr0 |= X86_CR0_AM;
	soft_cpu_update_mode(&e->c);
	expect_ac(e, "\x8b\x03", 2);
	/* CPL 0 */
	e->c.seg[SEG_CS].selector = 0x10;
	soft_cpu_update_mode(&e->c);
	assert_int_equal(e->c.cpl, 0);
	expect_ok(e, "\x8b\x03", 2);
	e->c.gpr[GPR_RSP] = DATA + 0x104;
	expect_ok(e, "\x50", 1);
	env_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ac_sizes),
		cmocka_unit_test(test_ac_stack_string),
		cmocka_unit_test(test_ac_off),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
