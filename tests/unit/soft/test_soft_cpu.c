/* Soft CPU core: hand-written instruction sequences (snippets.S) with
 * expected registers and flags, exceptions, REP strings in all address
 * sizes, CMPXCHG16B, self-modifying code and icache invalidation, decoder
 * corner cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "src/cpu/soft/cpu.h"
#include "src/cpu/soft/decode.h"
#include "src/cpu/soft/cpuid.h"
#include "src/cpu/soft/flatmem.h"
#include "src/cpu/soft/host_isa.h"
#include "src/cpu/soft/icache.h"
#include "flat_env.h"

#define CODE 0x1000
#define DATA 0x20000
#define MEM (1u << 20)

#define EXTERN_SNIP(n) extern const uint8_t n[], n##_end[]
EXTERN_SNIP(s_alu); EXTERN_SNIP(s_highbyte); EXTERN_SNIP(s_add128); EXTERN_SNIP(s_shift);
EXTERN_SNIP(s_muldiv); EXTERN_SNIP(s_divzero); EXTERN_SNIP(s_divover); EXTERN_SNIP(s_idivover);
EXTERN_SNIP(s_ud2); EXTERN_SNIP(s_bits); EXTERN_SNIP(s_loop); EXTERN_SNIP(s_call);
EXTERN_SNIP(s_enter); EXTERN_SNIP(s_rep64); EXTERN_SNIP(s_atomic); EXTERN_SNIP(s_cx16_misaligned);
EXTERN_SNIP(s_misc); EXTERN_SNIP(s_int); EXTERN_SNIP(s_lock_bad); EXTERN_SNIP(s_push_es);
EXTERN_SNIP(s_vex); EXTERN_SNIP(s_io); EXTERN_SNIP(s_smc); EXTERN_SNIP(s_fresh);
EXTERN_SNIP(s_rep32); EXTERN_SNIP(s_rep16); EXTERN_SNIP(s_flow32); EXTERN_SNIP(s_flow16);

static void load(struct env *e, const uint8_t *start, const uint8_t *end)
{
	memcpy(e->m.ram + CODE, start, (size_t)(end - start));
}

/* Run a snippet to HLT (or an event); returns the final status. */
static int run(struct env *e, const uint8_t *start, const uint8_t *end)
{
	load(e, start, end);
	int r = soft_cpu_run(&e->c, 10000000, NULL);
	return r;
}

#define RUN(e, n) run(e, n, n##_end)
#define FL(c) soft_get_rflags(&(c))
#define ARITH (X86_RFLAGS_CF | X86_RFLAGS_PF | X86_RFLAGS_AF | X86_RFLAGS_ZF | X86_RFLAGS_SF | X86_RFLAGS_OF)

/* Run a snippet both through the icache and instruction-by-instruction and
 * check both reach the same state. */
static struct env *run_both(enum soft_mode mode, const uint8_t *start, const uint8_t *end, int expect)
{
	struct env *a = env_new(mode, true), *b = env_new(mode, false);
	assert_int_equal(run(a, start, end), expect);
	load(b, start, end);
	int r;
	do
		r = soft_cpu_step(&b->c);
	while (r == SOFT_OK);
	assert_int_equal(r, expect);
	assert_memory_equal(a->c.gpr, b->c.gpr, sizeof(a->c.gpr));
	assert_int_equal(a->c.rip, b->c.rip);
	assert_int_equal(FL(a->c), FL(b->c));
	assert_int_equal(a->c.icount, b->c.icount);
	env_free(b);
	return a;
}

static void test_alu_flags(void **state)
{
	struct env *e = run_both(SOFT_MODE_64, s_alu, s_alu_end, SOFT_HLT);
	assert_int_equal(e->c.gpr[GPR_RAX], 0x8000000000000000ULL);
	assert_int_equal(FL(e->c) & ARITH, X86_RFLAGS_OF | X86_RFLAGS_SF | X86_RFLAGS_AF | X86_RFLAGS_PF);
	env_free(e);
}

static void test_highbyte_and_sizes(void **state)
{
	struct env *e = run_both(SOFT_MODE_64, s_highbyte, s_highbyte_end, SOFT_HLT);
	assert_int_equal(e->c.gpr[GPR_RAX] & 0xffff, 0x1246);
	assert_int_equal(e->c.gpr[GPR_RBX], 1);
	assert_int_equal(e->c.gpr[GPR_RCX], 0xffffffffffffff55ULL);
	assert_int_equal(e->c.gpr[GPR_RDX], 0xffffffffffff7777ULL);
	env_free(e);
}

static void test_adc_sbb_inc(void **state)
{
	struct env *e = run_both(SOFT_MODE_64, s_add128, s_add128_end, SOFT_HLT);
	assert_int_equal(e->c.gpr[GPR_RAX], 0);
	assert_int_equal(e->c.gpr[GPR_RDX], 4);
	assert_int_equal(e->c.gpr[GPR_R9], 2);
	assert_int_equal(e->c.gpr[GPR_R10], 1);
	assert_true(FL(e->c) & X86_RFLAGS_CF); /* INC preserved the STC */
	assert_false(FL(e->c) & X86_RFLAGS_ZF);
	env_free(e);
}

static void test_shifts(void **state)
{
	struct env *e = run_both(SOFT_MODE_64, s_shift, s_shift_end, SOFT_HLT);
	assert_int_equal(e->c.gpr[GPR_RAX], 0);
	assert_int_equal(e->c.gpr[GPR_RBX], (uint64_t)-4);
	assert_int_equal(e->c.gpr[GPR_RCX] & 0xff, 8);
	assert_int_equal(e->c.gpr[GPR_RDX] & 0xff, 0x80);
	assert_int_equal(e->c.gpr[GPR_RSI] & 0xffff, 0x234a);
	assert_int_equal(e->c.gpr[GPR_R8], 0xf0123456);
	assert_int_equal(e->c.gpr[GPR_R10], 5);
	env_free(e);
	/* flags of the first SHL: run only up to it */
	e = env_new(SOFT_MODE_64, false);
	load(e, s_shift, s_shift_end);
	assert_int_equal(soft_cpu_step(&e->c), SOFT_OK);
	assert_int_equal(soft_cpu_step(&e->c), SOFT_OK);
	assert_int_equal(FL(e->c) & (X86_RFLAGS_CF | X86_RFLAGS_OF | X86_RFLAGS_ZF),
			 X86_RFLAGS_CF | X86_RFLAGS_OF | X86_RFLAGS_ZF);
	env_free(e);
}

static void test_muldiv(void **state)
{
	struct env *e = run_both(SOFT_MODE_64, s_muldiv, s_muldiv_end, SOFT_HLT);
	assert_int_equal(e->c.gpr[GPR_R8], 0xfffffffffffffffeULL);
	assert_int_equal(e->c.gpr[GPR_R9], 1);
	assert_int_equal(e->c.gpr[GPR_R10], (uint64_t)-3);
	assert_int_equal(e->c.gpr[GPR_R11], (uint64_t)-1);
	assert_int_equal(e->c.gpr[GPR_R12], (uint32_t)-300);
	assert_int_equal(e->c.gpr[GPR_R13] & 0xffff, 0x100);
	assert_int_equal(e->c.gpr[GPR_R14], 1000000);
	env_free(e);
}

static void expect_exc(const uint8_t *s, const uint8_t *end, unsigned vector, uint64_t rip_off)
{
	struct env *e = env_new(SOFT_MODE_64, true);
	assert_int_equal(run(e, s, end), SOFT_EXC);
	assert_int_equal(e->c.exc.vector, vector);
	assert_int_equal(e->c.exc.kind, SOFT_EV_FAULT);
	assert_int_equal(e->c.rip, CODE + rip_off);
	env_free(e);
}

static void test_divide_errors(void **state)
{
	expect_exc(s_divzero, s_divzero_end, X86_EXC_DE, 7);   /* xor(2) mov(5) */
	expect_exc(s_divover, s_divover_end, X86_EXC_DE, 7 + 2 + 7);
	expect_exc(s_idivover, s_idivover_end, X86_EXC_DE, 5 + 1 + 5);
}

static void test_invalid_opcodes(void **state)
{
	expect_exc(s_ud2, s_ud2_end, X86_EXC_UD, 1);
	expect_exc(s_lock_bad, s_lock_bad_end, X86_EXC_UD, 0);
	expect_exc(s_push_es, s_push_es_end, X86_EXC_UD, 0);
	expect_exc(s_vex, s_vex_end, X86_EXC_UD, 0);
	expect_exc(s_cx16_misaligned, s_cx16_misaligned_end, X86_EXC_GP, 7);
}

static void test_bits(void **state)
{
	struct env *e = run_both(SOFT_MODE_64, s_bits, s_bits_end, SOFT_HLT);
	assert_int_equal(e->m.ram[DATA + 12], 0x10);
	assert_int_equal(e->m.ram[DATA + 15], 0x80);
	assert_int_equal(e->c.gpr[GPR_RDX], 8);
	assert_int_equal(e->c.gpr[GPR_RDI], 8);
	assert_int_equal(e->c.gpr[GPR_R9], 8);
	assert_int_equal(e->c.gpr[GPR_R11], 31);
	assert_true(FL(e->c) & X86_RFLAGS_CF);
	env_free(e);
}

static void test_loop_cc(void **state)
{
	struct env *e = run_both(SOFT_MODE_64, s_loop, s_loop_end, SOFT_HLT);
	assert_int_equal(e->c.gpr[GPR_RAX], 5050);
	assert_int_equal(e->c.gpr[GPR_RBX], 1);
	assert_int_equal(e->c.gpr[GPR_RDX], 7);
	assert_int_equal(e->c.gpr[GPR_RSI], 5050);
	env_free(e);
}

static void test_call_ret_stack(void **state)
{
	struct env *e = run_both(SOFT_MODE_64, s_call, s_call_end, SOFT_HLT);
	assert_int_equal(e->c.gpr[GPR_RAX], 3628800);
	assert_int_equal(e->c.gpr[GPR_RSP], 0x80000);
	env_free(e);
	e = run_both(SOFT_MODE_64, s_enter, s_enter_end, SOFT_HLT);
	assert_int_equal(e->c.gpr[GPR_RAX], 0x80000 - 8 - 16);
	assert_int_equal(e->c.gpr[GPR_RBX], 0x80000 - 8);
	assert_int_equal(e->c.gpr[GPR_RBP], 0x1111);
	assert_int_equal(e->c.gpr[GPR_RDX], (uint64_t)-2);
	assert_int_equal(e->c.gpr[GPR_RSP], 0x80000);
	assert_true(e->c.gpr[GPR_RCX] & X86_RFLAGS_FIXED);
	env_free(e);
}

static void test_rep_strings(void **state)
{
	struct env *e = run_both(SOFT_MODE_64, s_rep64, s_rep64_end, SOFT_HLT);
	for (int i = 0; i < 100; i++)
		if (i != 50)
			assert_int_equal(e->m.ram[DATA + 0x1000 + i], 0xab);
	assert_int_equal(e->c.gpr[GPR_R8], 0);
	assert_int_equal(e->c.gpr[GPR_R9], 49);
	assert_int_equal(e->c.gpr[GPR_R10], DATA + 51);
	assert_int_equal(e->c.gpr[GPR_R11], 0);
	assert_int_equal(e->m.ram[DATA + 51 + 48], 0);  /* al was 0 for the addr32 stos */
	assert_int_equal(e->c.gpr[GPR_RSI], DATA + 2);  /* STD lodsb decrements */
	env_free(e);

	e = run_both(SOFT_MODE_32, s_rep32, s_rep32_end, SOFT_HLT);
	for (int i = 0; i < 16; i++)
		assert_int_equal(e->m.ram[DATA + 0x100 + i], 0x5a);
	assert_int_equal(e->c.gpr[GPR_RBX], 0x13);       /* SI advanced by 3 */
	assert_int_equal(e->c.gpr[GPR_RDX], 0x1234);
	env_free(e);

	e = run_both(SOFT_MODE_16, s_rep16, s_rep16_end, SOFT_HLT);
	assert_int_equal(e->c.seg[SEG_ES].base, 0x20000);
	for (int i = 0; i < 8; i++)
		assert_int_equal(e->m.ram[DATA + 0x100 + i], 0x77);
	assert_int_equal(e->c.gpr[GPR_RDX] & 0xff, 0x77);
	assert_int_equal(e->c.gpr[GPR_RCX], 0);
	assert_int_equal(e->c.gpr[GPR_RDI], 0x10b);
	env_free(e);
}

static void test_modes_32_16(void **state)
{
	struct env *e = run_both(SOFT_MODE_32, s_flow32, s_flow32_end, SOFT_HLT);
	assert_int_equal(e->c.gpr[GPR_RAX] & 0xff, 15);
	assert_int_equal((e->c.gpr[GPR_RAX] >> 8) & 0xff, 1);
	assert_int_equal(e->c.gpr[GPR_RBX], 0x77);
	assert_int_equal(e->c.gpr[GPR_RDX], 0x1234);
	assert_int_equal(e->c.gpr[GPR_RSI], 0x80000);
	assert_int_equal(e->c.gpr[GPR_RDI], 1);
	assert_int_equal(e->c.gpr[GPR_RBP], 15);
	env_free(e);

	e = run_both(SOFT_MODE_16, s_flow16, s_flow16_end, SOFT_HLT);
	assert_int_equal(e->c.gpr[GPR_RBX], 55);
	assert_int_equal(e->c.gpr[GPR_RDX], 0x1234);
	assert_int_equal(e->c.gpr[GPR_RDI], 0x12345678);
	assert_int_equal(e->c.gpr[GPR_RSI], 0x8000);
	env_free(e);
}

static void test_atomics(void **state)
{
	struct env *e = run_both(SOFT_MODE_64, s_atomic, s_atomic_end, SOFT_HLT);
	assert_int_equal(e->c.gpr[GPR_R8] & 0xff, 1);
	assert_int_equal(e->c.gpr[GPR_R9], 9);
	assert_int_equal(e->c.gpr[GPR_R10], 9);
	assert_int_equal(e->c.gpr[GPR_R11], 12);
	assert_int_equal(e->c.gpr[GPR_R12] & 0xff, 1);
	assert_int_equal(e->c.gpr[GPR_R13] & 0xff, 0);
	assert_int_equal(e->c.gpr[GPR_RAX], 3);
	assert_int_equal(e->c.gpr[GPR_RDX], 4);
	env_free(e);
}

static void test_misc(void **state)
{
	struct env *e = run_both(SOFT_MODE_64, s_misc, s_misc_end, SOFT_HLT);
	assert_int_equal(e->c.gpr[GPR_R8], 0xffff8000);
	assert_int_equal(e->c.gpr[GPR_R9], 0xffffffff80000000ULL);
	assert_int_equal(e->c.gpr[GPR_R10] & 0xffff, 0xff80);
	assert_int_equal((e->c.gpr[GPR_R11] >> 8) & 0xff, 0x47);
	assert_int_equal(e->m.ram[DATA], 0x78);          /* movbe of the bswapped value */
	assert_int_equal(e->c.gpr[GPR_R12], 0x756e6547);  /* "Genu" */
	env_free(e);
}

static void test_events_and_io(void **state)
{
	struct env *e = env_new(SOFT_MODE_64, true);
	assert_int_equal(RUN(e, s_int), SOFT_EXC);
	assert_int_equal(e->c.exc.vector, 0x80);
	assert_int_equal(e->c.exc.kind, SOFT_EV_SOFTINT);
	assert_int_equal(e->c.rip, CODE + 3);             /* after INT n */
	env_free(e);

	e = env_new(SOFT_MODE_64, true);
	e->m.in_value = 0x99;
	assert_int_equal(RUN(e, s_io), SOFT_HLT);
	assert_int_equal(e->c.gpr[GPR_RAX] & 0xff, 0x99);
	assert_int_equal(e->m.nouts, 5);
	assert_int_equal(e->m.last_out, 0x44);
	assert_int_equal(e->m.last_port, 0x3f8);
	env_free(e);
}

static void test_self_modifying(void **state)
{
	struct env *e = run_both(SOFT_MODE_64, s_smc, s_smc_end, SOFT_HLT);
	assert_int_equal(e->c.gpr[GPR_RAX] & 0xff, 0x42);
	assert_int_equal(e->c.gpr[GPR_RDX] & 0xff, 6);
	env_free(e);
}

static void test_fresh_code(void **state)
{
	struct env *e = env_new(SOFT_MODE_64, true);
	assert_int_equal(RUN(e, s_fresh), SOFT_HLT);
	assert_int_equal(e->c.gpr[GPR_RAX], 1000);
	assert_true(e->c.icache_hits > 900);
	/* the VMM loads new code over it (DMA-like: not through the vCPU) */
	uint8_t *p = memchr(e->m.ram + CODE, 0x83, 32);  /* add $1, %eax -> add $2, %eax */
	assert_non_null(p);
	p[2] = 2;
	soft_cpu_invalidate_code(&e->c, (uint64_t)(p - e->m.ram), 3);
	e->c.rip = CODE;
	assert_int_equal(soft_cpu_run(&e->c, 1000000, NULL), SOFT_HLT);
	assert_int_equal(e->c.gpr[GPR_RAX], 2000);
	env_free(e);
}

static void test_decoder_rules(void **state)
{
	struct x86_insn in;
	uint8_t b[20];
	/* 15 bytes is fine, 16 is #GP */
	memset(b, 0x66, sizeof(b));
	b[14] = 0x90;
	assert_int_equal(x86_decode(b, sizeof(b), SOFT_MODE_64, &in), X86_DEC_OK);
	assert_int_equal(in.len, 15);
	b[14] = 0x66;
	b[15] = 0x90;
	assert_int_equal(x86_decode(b, sizeof(b), SOFT_MODE_64, &in), X86_DEC_GP);
	/* REX not immediately before the opcode is ignored */
	const uint8_t r1[] = { 0x48, 0x66, 0x01, 0xc3 };
	assert_int_equal(x86_decode(r1, sizeof(r1), SOFT_MODE_64, &in), X86_DEC_OK);
	assert_int_equal(in.opsize, 2);
	assert_int_equal(in.rex, 0);
	const uint8_t r2[] = { 0x66, 0x48, 0x01, 0xc3 };
	assert_int_equal(x86_decode(r2, sizeof(r2), SOFT_MODE_64, &in), X86_DEC_OK);
	assert_int_equal(in.opsize, 8);
	/* last segment override wins; F3 vs F2: the last one */
	const uint8_t r3[] = { 0x26, 0x64, 0xf2, 0xf3, 0xa4 };
	assert_int_equal(x86_decode(r3, sizeof(r3), SOFT_MODE_32, &in), X86_DEC_OK);
	assert_int_equal(in.seg_override, SEG_FS);
	assert_int_equal(in.rep, 0xf3);
	/* 16-bit addressing: [bp+di+0x12] uses SS */
	const uint8_t r4[] = { 0x8b, 0x43, 0x12 };
	assert_int_equal(x86_decode(r4, sizeof(r4), SOFT_MODE_16, &in), X86_DEC_OK);
	assert_int_equal(in.base, GPR_RBP);
	assert_int_equal(in.index, GPR_RDI);
	assert_int_equal(in.seg, SEG_SS);
	assert_int_equal(in.disp, 0x12);
	/* moffs, far pointer, ENTER */
	const uint8_t r5[] = { 0xa1, 1, 2, 3, 4, 5, 6, 7, 8 };
	assert_int_equal(x86_decode(r5, sizeof(r5), SOFT_MODE_64, &in), X86_DEC_OK);
	assert_int_equal(in.len, 9);
	assert_int_equal(in.disp, 0x0807060504030201LL);
	const uint8_t r6[] = { 0xea, 0x78, 0x56, 0x34, 0x12, 0x08, 0x00 };
	assert_int_equal(x86_decode(r6, sizeof(r6), SOFT_MODE_32, &in), X86_DEC_OK);
	assert_int_equal(in.imm, 0x12345678);
	assert_int_equal(in.imm2, 8);
	assert_int_equal(x86_decode(r6, sizeof(r6), SOFT_MODE_64, &in), X86_DEC_UD);
	const uint8_t r7[] = { 0xc8, 0x10, 0x00, 0x02 };
	assert_int_equal(x86_decode(r7, sizeof(r7), SOFT_MODE_64, &in), X86_DEC_OK);
	assert_int_equal(in.imm, 0x10);
	assert_int_equal(in.imm2, 2);
	/* RIP-relative and MOV r64, imm64 */
	const uint8_t r8[] = { 0x48, 0x8b, 0x05, 0x10, 0, 0, 0 };
	assert_int_equal(x86_decode(r8, sizeof(r8), SOFT_MODE_64, &in), X86_DEC_OK);
	assert_true(in.rip_rel);
	const uint8_t r9[] = { 0x49, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8 };
	assert_int_equal(x86_decode(r9, sizeof(r9), SOFT_MODE_64, &in), X86_DEC_OK);
	assert_int_equal(in.len, 10);
	/* partial buffer */
	assert_int_equal(x86_decode(r9, 5, SOFT_MODE_64, &in), X86_DEC_MORE);
	/* AAA invalid in 64-bit, fine in 32-bit */
	const uint8_t r10[] = { 0x37 };
	assert_int_equal(x86_decode(r10, 1, SOFT_MODE_64, &in), X86_DEC_UD);
	assert_int_equal(x86_decode(r10, 1, SOFT_MODE_32, &in), X86_DEC_OK);
	/* EVEX decoded for length */
	const uint8_t r11[] = { 0x62, 0xf1, 0x7c, 0x48, 0x58, 0x40, 0x01 };
	assert_int_equal(x86_decode(r11, sizeof(r11), SOFT_MODE_64, &in), X86_DEC_OK);
	assert_int_equal(in.len, 7);
	assert_true(in.prefixes & X86_PFX_EVEX);
	/* trace formatting */
	char txt[96];
	const uint8_t r12[] = { 0xf0, 0x48, 0x0f, 0xb1, 0x54, 0x8b, 0xf8 };
	assert_int_equal(x86_decode(r12, sizeof(r12), SOFT_MODE_64, &in), X86_DEC_OK);
	x86_insn_format(&in, txt, sizeof(txt));
	assert_string_equal(txt, "lock cmpxchg [rbx+rcx*4-0x8], rdx");
	const uint8_t r13[] = { 0x75, 0xfe };
	assert_int_equal(x86_decode(r13, sizeof(r13), SOFT_MODE_64, &in), X86_DEC_OK);
	x86_insn_format(&in, txt, sizeof(txt));
	assert_string_equal(txt, "jne $+0");
}

/* A page-crossing instruction executes correctly (through the slow path). */
static void test_page_cross(void **state)
{
	struct env *e = env_new(SOFT_MODE_64, true);
	/* mov $0x1122334455667788, %rax straddling 0x2000; then hlt */
	const uint8_t code[] = { 0x48, 0xb8, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0xf4 };
	memcpy(e->m.ram + 0x2000 - 4, code, sizeof(code));
	e->c.rip = 0x2000 - 4;
	assert_int_equal(soft_cpu_run(&e->c, 100, NULL), SOFT_HLT);
	assert_int_equal(e->c.gpr[GPR_RAX], 0x1122334455667788ULL);
	/* fetch beyond memory: #PF with cr2 */
	e->c.rip = MEM - 2;
	e->m.ram[MEM - 2] = 0x48;
	e->m.ram[MEM - 1] = 0xb8;
	assert_int_equal(soft_cpu_run(&e->c, 100, NULL), SOFT_EXC);
	assert_int_equal(e->c.exc.vector, X86_EXC_PF);
	assert_int_equal(e->c.exc.cr2, MEM);
	env_free(e);
}

/* AES-NI runs on the host's unit: a vCPU whose host lacks it sees the
 * CPUID bit clear and gets #UD (never SIGILL in ringvm); with it, the bit
 * is set and AESENC executes. */
static void test_host_isa_gate(void **state)
{
	struct env *e = env_new(SOFT_MODE_64, false);
	const uint8_t code[] = { 0x66, 0x0f, 0x38, 0xdc, 0xc1, 0xf4 }; /* aesenc %xmm1,%xmm0; hlt */
	memcpy(e->m.ram + CODE, code, sizeof(code));
	e->c.cr4 |= X86_CR4_OSFXSR;
	struct soft_cpuid_regs r;

	e->c.host_isa &= ~(uint32_t)SOFT_HOST_AES;
	soft_cpuid(&e->c, 1, 0, &r);
	assert_int_equal(r.ecx & (1u << 25), 0);
	assert_int_equal(soft_cpu_run(&e->c, 10, NULL), SOFT_EXC);
	assert_int_equal(e->c.exc.vector, X86_EXC_UD);
	assert_int_equal(e->c.rip, CODE);

	if (!(soft_host_isa_probe() & SOFT_HOST_AES)) {
		env_free(e);
		skip(); /* this host has no AES-NI: the positive half cannot run */
	}
	e->c.host_isa |= SOFT_HOST_AES;
	soft_cpuid(&e->c, 1, 0, &r);
	assert_int_not_equal(r.ecx & (1u << 25), 0);
	e->c.rip = CODE;
	assert_int_equal(soft_cpu_run(&e->c, 10, NULL), SOFT_HLT);
	env_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_host_isa_gate),
		cmocka_unit_test(test_alu_flags),
		cmocka_unit_test(test_highbyte_and_sizes),
		cmocka_unit_test(test_adc_sbb_inc),
		cmocka_unit_test(test_shifts),
		cmocka_unit_test(test_muldiv),
		cmocka_unit_test(test_divide_errors),
		cmocka_unit_test(test_invalid_opcodes),
		cmocka_unit_test(test_bits),
		cmocka_unit_test(test_loop_cc),
		cmocka_unit_test(test_call_ret_stack),
		cmocka_unit_test(test_rep_strings),
		cmocka_unit_test(test_modes_32_16),
		cmocka_unit_test(test_atomics),
		cmocka_unit_test(test_misc),
		cmocka_unit_test(test_events_and_io),
		cmocka_unit_test(test_self_modifying),
		cmocka_unit_test(test_fresh_code),
		cmocka_unit_test(test_decoder_rules),
		cmocka_unit_test(test_page_cross),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
