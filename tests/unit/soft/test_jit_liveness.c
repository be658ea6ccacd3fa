/* The translator's flag use table and liveness pass (jit/liveness.c):
 * per-instruction read/write/kill sets of decoded instructions, and live
 * flags after each instruction of small blocks (a load between a CMP and
 * a Jcc, INC's kept CF, ADC's carry, SETcc, shifts by CL). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <stdlib.h>

#include "src/cpu/soft/cpu.h"
#include "src/cpu/soft/decode.h"
#include "src/cpu/soft/host_isa.h"
#include "src/cpu/soft/jit/liveness.h"

#define ALL JIT_FL_ALL
#define CF JIT_FL_CF
#define ZF JIT_FL_ZF
#define SF JIT_FL_SF
#define OF JIT_FL_OF

/* Decode the bytes of up to 8 instructions (64-bit mode) into insn[]. */
static unsigned decode(const uint8_t *code, size_t len, struct x86_insn *insn)
{
	unsigned n = 0;
	for (size_t off = 0; off < len; n++) {
		assert_true(n < 8);
		assert_int_equal(x86_decode(code + off, len - off, SOFT_MODE_64, &insn[n]), X86_DEC_OK);
		off += insn[n].len;
	}
	return n;
}

static struct jit_flag_use use_of(const uint8_t *code, size_t len)
{
	struct x86_insn in[8];
	assert_int_equal(decode(code, len, in), 1);
	struct jit_flag_use u;
	jit_flags_use(&in[0], &u);
	return u;
}

#define USE(...) use_of((const uint8_t[]){ __VA_ARGS__ }, sizeof((const uint8_t[]){ __VA_ARGS__ }))

static void test_cc(void **state)
{
	(void)state;
	assert_int_equal(jit_flags_cc(0x4), ZF);              /* E */
	assert_int_equal(jit_flags_cc(0x5), ZF);              /* NE */
	assert_int_equal(jit_flags_cc(0x2), CF);              /* B */
	assert_int_equal(jit_flags_cc(0x7), CF | ZF);         /* A */
	assert_int_equal(jit_flags_cc(0xc), SF | OF);         /* L */
	assert_int_equal(jit_flags_cc(0xf), ZF | SF | OF);    /* G */
	assert_int_equal(jit_flags_cc(0x0), OF);              /* O */
	assert_int_equal(jit_flags_cc(0xa), JIT_FL_PF);       /* P */
}

static void test_use(void **state)
{
	(void)state;
	struct jit_flag_use u;
	u = USE(0x48, 0x01, 0xd8);            /* add rax, rbx */
	assert_int_equal(u.reads, 0);
	assert_int_equal(u.kills, ALL);
	assert_false(u.observes);
	u = USE(0x48, 0x11, 0xd8);            /* adc rax, rbx */
	assert_int_equal(u.reads, CF);
	assert_int_equal(u.kills, ALL);
	u = USE(0x48, 0xff, 0xc1);            /* inc rcx */
	assert_int_equal(u.reads, 0);
	assert_int_equal(u.kills, ALL & ~CF);
	u = USE(0x0f, 0x94, 0xc0);            /* sete al */
	assert_int_equal(u.reads, ZF);
	assert_int_equal(u.writes, 0);
	assert_int_equal(u.kills, 0);
	u = USE(0x48, 0x0f, 0x4c, 0xc1);      /* cmovl rax, rcx */
	assert_int_equal(u.reads, SF | OF);
	assert_int_equal(u.writes, 0);
	u = USE(0x48, 0x0f, 0xa3, 0xc8);      /* bt rax, rcx */
	assert_int_equal(u.kills, CF);
	assert_int_equal(u.reads, 0);
	u = USE(0x48, 0xd3, 0xe0);            /* shl rax, cl: a zero count keeps all */
	assert_int_equal(u.kills, 0);
	assert_int_equal(u.reads, 0);
	u = USE(0x48, 0xc1, 0xe0, 0x03);      /* shl rax, 3 */
	assert_int_equal(u.kills, ALL);
	u = USE(0x48, 0xd1, 0xd0);            /* rcl rax, 1 */
	assert_int_equal(u.reads & CF, CF);
	u = USE(0x48, 0x8b, 0x03);            /* mov rax, [rbx]: may fault */
	assert_true(u.observes);
	assert_int_equal(u.writes, 0);
	u = USE(0x48, 0x33, 0x03);            /* xor rax, [rbx] */
	assert_true(u.observes);
	assert_int_equal(u.kills, ALL);
	u = USE(0x48, 0x8d, 0x04, 0x98);      /* lea rax, [rax + rbx*4] */
	assert_false(u.observes);
	assert_int_equal(u.reads | u.writes, 0);
	u = USE(0x75, 0x00);                  /* jne */
	assert_int_equal(u.reads, ZF);
	assert_true(u.observes);
	u = USE(0xf3, 0xa4);                  /* rep movsb: a handler, conservative */
	assert_int_equal(u.reads, ALL);
	assert_int_equal(u.kills, 0);
	assert_true(u.observes);
}

static void live(const uint8_t *code, size_t len, const uint16_t *want, unsigned nwant)
{
	struct x86_insn in[8];
	unsigned n = decode(code, len, in);
	assert_int_equal(n, nwant);
	uint16_t got[8];
	memset(got, 0xff, sizeof(got));
	jit_flags_liveness(in, n, got);
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(got[i], want[i]);
}

#define LIVE(code, ...)                                                                  \
	live(code, sizeof(code), (const uint16_t[]){ __VA_ARGS__ },                            \
	     sizeof((const uint16_t[]){ __VA_ARGS__ }) / sizeof(uint16_t))

static void test_liveness(void **state)
{
	(void)state;
	/* add; inc; add: INC's kept CF dies at the second ADD; the end is live */
	static const uint8_t a[] = { 0x48, 0x01, 0xd8, 0x48, 0xff, 0xc1, 0x48, 0x01, 0xf2 };
	LIVE(a, 0, 0, ALL);
	/* add; inc; jne: CF of the ADD passes INC to the block's end */
	static const uint8_t b[] = { 0x48, 0x01, 0xd8, 0x48, 0xff, 0xc1, 0x75, 0x00 };
	LIVE(b, CF, ALL, ALL);
	/* cmp; load; jne: the load may fault, where every flag is seen */
	static const uint8_t c[] = { 0x48, 0x39, 0xd8, 0x48, 0x8b, 0x0b, 0x75, 0x00 };
	LIVE(c, ALL, ALL, ALL);
	/* cmp; sete al; xor: only ZF of the CMP is read */
	static const uint8_t d[] = { 0x48, 0x39, 0xd8, 0x0f, 0x94, 0xc0, 0x48, 0x31, 0xc9 };
	LIVE(d, ZF, 0, ALL);
	/* add; adc; sub: the ADC reads the ADD's CF only */
	static const uint8_t e[] = { 0x48, 0x01, 0xd8, 0x48, 0x11, 0xca, 0x48, 0x29, 0xd0 };
	LIVE(e, CF, 0, ALL);
	/* add; shl rax,cl; sub: a shift by CL may keep them all, until the SUB */
	static const uint8_t f[] = { 0x48, 0x01, 0xd8, 0x48, 0xd3, 0xe0, 0x48, 0x29, 0xd0 };
	LIVE(f, 0, 0, ALL);
	/* add; lea; mov; cmp: LEA and MOV pass them through */
	static const uint8_t g[] = { 0x48, 0x01, 0xd8, 0x48, 0x8d, 0x04, 0x98, 0x48, 0x89, 0xc1,
				     0x48, 0x39, 0xd8 };
	LIVE(g, 0, 0, 0, ALL);
	/* store between ADD and ADC: the store may fault */
	static const uint8_t h[] = { 0x48, 0x01, 0xd8, 0x48, 0x89, 0x0b, 0x48, 0x11, 0xca, 0x48,
				     0x29, 0xd0 };
	LIVE(h, ALL, CF, 0, ALL);
}

/* The host-ISA forms (jit/vex.c) as the translator emits them: a vCPU
 * whose host has AVX, AVX2, BMI1, BMI2, LZCNT and POPCNT (only the plan
 * is asked: nothing runs). */
static struct soft_cpu *isa_cpu(struct jit_flag_isa *isa)
{
	struct soft_cpu *cpu = calloc(1, sizeof(*cpu));
	assert_non_null(cpu);
	cpu->host_isa = SOFT_HOST_AVX | SOFT_HOST_AVX2 | SOFT_HOST_BMI1 | SOFT_HOST_BMI2 |
			SOFT_HOST_LZCNT | SOFT_HOST_POPCNT;
	*isa = (struct jit_flag_isa){ cpu, cpu->host_isa };
	return cpu;
}

static struct jit_flag_use use_isa_of(const struct jit_flag_isa *isa, const uint8_t *code,
				      size_t len)
{
	struct x86_insn in[8];
	assert_int_equal(decode(code, len, in), 1);
	struct jit_flag_use u;
	jit_flags_use_isa(isa, &in[0], &u);
	return u;
}

#define USE_ISA(isa, ...) use_isa_of(isa, (const uint8_t[]){ __VA_ARGS__ },                  \
				     sizeof((const uint8_t[]){ __VA_ARGS__ }))

static void test_use_isa(void **state)
{
	(void)state;
	struct jit_flag_isa isa;
	struct soft_cpu *cpu = isa_cpu(&isa);
	struct jit_flag_use u;
	u = USE(0xf3, 0x48, 0x0f, 0xbc, 0xc1);          /* tzcnt rax, rcx: a handler without the isa */
	assert_int_equal(u.reads, ALL);
	assert_true(u.observes);
	u = USE_ISA(&isa, 0xf3, 0x48, 0x0f, 0xbc, 0xc1); /* ... natively: all six written */
	assert_int_equal(u.reads, 0);
	assert_int_equal(u.kills, ALL);
	assert_false(u.observes);
	u = USE_ISA(&isa, 0xf3, 0x48, 0x0f, 0xb8, 0x03); /* popcnt rax, [rbx]: may fault */
	assert_int_equal(u.kills, ALL);
	assert_true(u.observes);
	u = USE_ISA(&isa, 0xc4, 0xe2, 0xe0, 0xf2, 0xc1); /* andn rax, rbx, rcx */
	assert_int_equal(u.reads, 0);
	assert_int_equal(u.kills, ALL);
	assert_false(u.observes);
	u = USE_ISA(&isa, 0xc4, 0xe2, 0xe9, 0xf7, 0xc1); /* shlx rax, rcx, rdx: no flag */
	assert_int_equal(u.reads | u.writes | u.kills, 0);
	assert_false(u.observes);
	u = USE_ISA(&isa, 0xc4, 0xe2, 0xe3, 0xf5, 0x01); /* pdep rax, rbx, [rcx] */
	assert_int_equal(u.reads | u.writes | u.kills, 0);
	assert_true(u.observes);
	u = USE(0xc5, 0xf5, 0xef, 0xc2);                 /* vpxor ymm0, ymm1, ymm2: conservative */
	assert_int_equal(u.reads, ALL);
	u = USE_ISA(&isa, 0xc5, 0xf5, 0xef, 0xc2);       /* ... no flag; its check may fail */
	assert_int_equal(u.reads | u.writes | u.kills, 0);
	assert_true(u.observes);
	u = USE_ISA(&isa, 0xc4, 0xe2, 0x7d, 0x17, 0xc1); /* vptest ymm0, ymm1: all six */
	assert_int_equal(u.reads, 0);
	assert_int_equal(u.kills, ALL);
	isa.bmi_isa = 0;                                  /* RINGVM_JIT_NO_VEX, or no BMI */
	isa.vex_cpu = NULL;
	u = USE_ISA(&isa, 0xc4, 0xe2, 0xe9, 0xf7, 0xc1);
	assert_int_equal(u.reads, ALL);
	assert_true(u.observes);
	free(cpu);
}

static void live_isa(const struct jit_flag_isa *isa, const uint8_t *code, size_t len,
		     const uint16_t *want, unsigned nwant)
{
	struct x86_insn in[8];
	unsigned n = decode(code, len, in);
	assert_int_equal(n, nwant);
	uint16_t got[8];
	memset(got, 0xff, sizeof(got));
	jit_flags_liveness_isa(isa, in, n, got);
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(got[i], want[i]);
}

#define LIVE_ISA(isa, code, ...)                                                         \
	live_isa(isa, code, sizeof(code), (const uint16_t[]){ __VA_ARGS__ },                   \
		 sizeof((const uint16_t[]){ __VA_ARGS__ }) / sizeof(uint16_t))

static void test_liveness_isa(void **state)
{
	(void)state;
	struct jit_flag_isa isa;
	struct soft_cpu *cpu = isa_cpu(&isa);
	/* vpxor; add; vpmovmskb ecx, ymm0; sub: the VPMOVMSKB after a VEX
	 * instruction of the same run cannot fail its check: the ADD's flags
	 * are dead (the SUB overwrites them) */
	static const uint8_t a[] = { 0xc5, 0xf5, 0xef, 0xc2, 0x48, 0x01, 0xd8, 0xc5, 0xfd, 0xd7,
				     0xc8, 0x48, 0x29, 0xf2 };
	LIVE_ISA(&isa, a, 0, 0, 0, ALL);
	LIVE(a, 0, ALL, 0, ALL); /* without the isa: every VEX observes */
	/* add; vpmovmskb; sub: the first VEX of the block checks (observes) */
	static const uint8_t b[] = { 0x48, 0x01, 0xd8, 0xc5, 0xfd, 0xd7, 0xc8, 0x48, 0x29, 0xf2 };
	LIVE_ISA(&isa, b, ALL, 0, ALL);
	/* vpxor; rep movsb; add; vpmovmskb; sub: a handler between them (it
	 * could be one that changes CR0 or XCR0): the check again */
	static const uint8_t c[] = { 0xc5, 0xf5, 0xef, 0xc2, 0xf3, 0xa4, 0x48, 0x01, 0xd8, 0xc5,
				     0xfd, 0xd7, 0xc8, 0x48, 0x29, 0xf2 };
	LIVE_ISA(&isa, c, ALL, 0, ALL, 0, ALL);
	/* cmp; shlx; sete al; sub: SHLX passes the CMP's ZF through */
	static const uint8_t d[] = { 0x48, 0x39, 0xd8, 0xc4, 0xe2, 0xc9, 0xf7, 0xca, 0x0f, 0x94,
				     0xc0, 0x48, 0x29, 0xf2 };
	LIVE_ISA(&isa, d, ZF, ZF, 0, ALL);
	/* add; tzcnt rcx, rdx; jne: TZCNT overwrites all six */
	static const uint8_t f[] = { 0x48, 0x01, 0xd8, 0xf3, 0x48, 0x0f, 0xbc, 0xca, 0x75, 0x00 };
	LIVE_ISA(&isa, f, 0, ALL, ALL);
	LIVE(f, ALL, ALL, ALL);
	free(cpu);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cc),
		cmocka_unit_test(test_use),
		cmocka_unit_test(test_liveness),
		cmocka_unit_test(test_use_isa),
		cmocka_unit_test(test_liveness_isa),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
