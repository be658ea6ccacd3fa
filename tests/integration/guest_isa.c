/* An instruction-set check run in the Linux guest and on the host by
 * linux_isa.py; both must print the same lines.  In the spirit of QEMU's
 * classic tests/tcg test-i386 (written anew for ringvm): every integer ALU
 * operation at 8/16/32/64 bits over a set of edge-case operands and both
 * incoming flag states, shifts and rotates with counts 0..65, multiply and
 * divide (including #DE, caught as SIGFPE), bit tests and scans, exchange
 * forms, SETcc/CMOVcc over every flag combination, string operations with
 * REP prefixes and DF=1, flag moves, sign extensions, ADX/BMI, chains of
 * flag producers and readers with no PUSHF between (lazy flags), then SSE,
 * SSE2, SSSE3, SSE4.1/4.2 and x87 arithmetic under every rounding mode with
 * denormals, NaNs, conversions and the exception flags, and faults in the
 * middle of a block (the signal context must be precise) and a store that
 * rewrites code about to run.
 *
 * Each group prints one line, "isa: GROUP HASH CASES", where HASH folds in
 * every result and the flags the SDM defines for that operation (flags it
 * calls undefined are masked per operation, see the *_mask helpers).  With
 * "-v" every case is printed as well, to find which case differs; with
 * "-g NAME" only the groups whose name contains NAME run.
 *
 * Built with -mno-red-zone: the asm blocks push and pop RFLAGS.
 * Transcendental x87 instructions are left out: Intel and AMD differ in
 * their last bits, so they have no host-independent expected value. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint64_t u64;
typedef uint32_t u32;
typedef uint16_t u16;
typedef uint8_t u8;

#define CF 0x001ull
#define PF 0x004ull
#define AF 0x010ull
#define ZF 0x040ull
#define SF 0x080ull
#define OF 0x800ull
#define ST (CF | PF | AF | ZF | SF | OF) /* the six status flags */

static int verbose;
static const char *only;
static const char *gname;
static u64 ghash;
static unsigned gcount;
static int gon;

static void mix(u64 v)
{
	ghash = (ghash ^ v) * 0x100000001b3ull;
	ghash ^= ghash >> 29;
}

static int begin(const char *name)
{
	gname = name;
	ghash = 0xcbf29ce484222325ull;
	gcount = 0;
	gon = !only || strstr(name, only);
	return gon;
}

static void end(void)
{
	if (gon)
		printf("isa: %s %016llx %u\n", gname, (unsigned long long)ghash, gcount);
	fflush(stdout);
}

/* One case: its name and inputs, its results (already masked). */
static void rec(const char *op, int bits, u64 a, u64 b, u64 c, u64 r1, u64 r2, u64 fl)
{
	mix(r1);
	mix(r2);
	mix(fl);
	gcount++;
	if (verbose)
		printf("%s %s/%d a=%llx b=%llx c=%llx -> %llx %llx fl=%llx\n", gname, op, bits,
		       (unsigned long long)a, (unsigned long long)b, (unsigned long long)c,
		       (unsigned long long)r1, (unsigned long long)r2, (unsigned long long)fl);
}

static u64 trunc_to(u64 v, int bits)
{
	return bits == 64 ? v : v & ((1ull << bits) - 1);
}

static const u64 vals[] = {
	0, 1, 2, 3, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x12345,
	0x7fffffff, 0x80000000, 0xffffffff, 0x100000000ull, 0x7fffffffffffffffull,
	0x8000000000000000ull, 0xffffffffffffffffull, 0xfffffffffffffffeull,
	0x123456789abcdef0ull, 0xfedcba9876543210ull, 0x5555555555555555ull,
	0x00000000c0000001ull, 0x8000000000000001ull,
};
#define NV (int)(sizeof(vals) / sizeof(vals[0]))
static const u64 fins[2] = { 0, ST };

/* ---------------------------------------------------------------- ALU */

/* Register, memory-destination and memory-source forms of a two-operand
 * instruction at one size.  The memory cell sits in a static, addressed
 * through a register: the asm's pushes move RSP. */
#define ALU2(name, mn, T, SFX, RC)                                                        \
	static void name##_r(u64 *pd, u64 s, u64 *pf)                                     \
	{                                                                                 \
		T d = (T)*pd;                                                             \
		u64 f = *pf;                                                              \
		__asm__ volatile("push %[f]\n\tpopfq\n\t" mn SFX " %[s], %[d]\n\tpushfq\n\tpop %[f]" \
				 : [d] "+" RC(d), [f] "+r"(f)                             \
				 : [s] RC((T)s)                                           \
				 : "cc");                                                 \
		*pd = d;                                                                  \
		*pf = f;                                                                  \
	}                                                                                 \
	static void name##_m(u64 *pd, u64 s, u64 *pf)                                     \
	{                                                                                 \
		static T cell;                                                            \
		u64 f = *pf;                                                              \
		cell = (T)*pd;                                                            \
		__asm__ volatile("push %[f]\n\tpopfq\n\t" mn SFX " %[s], (%[p])\n\tpushfq\n\tpop %[f]" \
				 : [f] "+r"(f)                                            \
				 : [s] RC((T)s), [p] "r"(&cell)                           \
				 : "cc", "memory");                                       \
		*pd = cell;                                                               \
		*pf = f;                                                                  \
	}                                                                                 \
	static void name##_l(u64 *pd, u64 s, u64 *pf)                                     \
	{                                                                                 \
		static T cell;                                                            \
		T d = (T)*pd;                                                             \
		u64 f = *pf;                                                              \
		cell = (T)s;                                                              \
		__asm__ volatile("push %[f]\n\tpopfq\n\t" mn SFX " (%[p]), %[d]\n\tpushfq\n\tpop %[f]" \
				 : [d] "+" RC(d), [f] "+r"(f)                             \
				 : [p] "r"(&cell)                                         \
				 : "cc", "memory");                                       \
		*pd = d;                                                                  \
		*pf = f;                                                                  \
	}

#define ALU2_ALL(op)                        \
	ALU2(op##8, #op, u8, "b", "q")      \
	ALU2(op##16, #op, u16, "w", "r")    \
	ALU2(op##32, #op, u32, "l", "r")    \
	ALU2(op##64, #op, u64, "q", "r")

ALU2_ALL(add)
ALU2_ALL(adc)
ALU2_ALL(sub)
ALU2_ALL(sbb)
ALU2_ALL(and)
ALU2_ALL(or)
ALU2_ALL(xor)
ALU2_ALL(cmp)
ALU2_ALL(test)

typedef void (*fn2)(u64 *, u64, u64 *);
struct op2 {
	const char *name;
	fn2 f[4][3];
	u64 mask;
	int noload; /* TEST's memory-source form is the same instruction */
};
#define OP2(op, m, nl)                                                                   \
	{ #op,                                                                           \
	  { { op##8_r, op##8_m, op##8_l }, { op##16_r, op##16_m, op##16_l },             \
	    { op##32_r, op##32_m, op##32_l }, { op##64_r, op##64_m, op##64_l } },        \
	  m, nl }

static const struct op2 ops2[] = {
	OP2(add, ST, 0), OP2(adc, ST, 0), OP2(sub, ST, 0), OP2(sbb, ST, 0),
	OP2(and, ST & ~AF, 0), OP2(or, ST & ~AF, 0), OP2(xor, ST & ~AF, 0),
	OP2(cmp, ST, 0), OP2(test, ST & ~AF, 1),
};

static const int sizes[4] = { 8, 16, 32, 64 };

static void test_alu2(void)
{
	static const char *form[3] = { "r", "m", "l" };
	for (unsigned o = 0; o < sizeof(ops2) / sizeof(ops2[0]); o++) {
		char g[32];
		snprintf(g, sizeof(g), "alu-%s", ops2[o].name);
		if (!begin(g))
			continue;
		for (int z = 0; z < 4; z++)
			for (int fm = 0; fm < 3; fm++) {
				if (fm == 2 && ops2[o].noload)
					continue;
				for (int i = 0; i < NV; i++)
					for (int j = 0; j < NV; j++)
						for (int k = 0; k < 2; k++) {
							u64 d = vals[i], f = fins[k] | 2;
							ops2[o].f[z][fm](&d, vals[j], &f);
							rec(form[fm], sizes[z], vals[i], vals[j], fins[k],
							    trunc_to(d, sizes[z]), 0, f & (ops2[o].mask | ST));
						}
			}
		end();
	}
}

/* Immediate forms: the sign-extended imm8 (0x83) and imm32 (0x81) encodings
 * and the accumulator short forms. */
#define ALUI(name, text, T, RC)                                                         \
	static void name(u64 *pd, u64 *pf)                                              \
	{                                                                               \
		T d = (T)*pd;                                                           \
		u64 f = *pf;                                                            \
		__asm__ volatile("push %[f]\n\tpopfq\n\t" text "\n\tpushfq\n\tpop %[f]" \
				 : [d] "+" RC(d), [f] "+r"(f)                           \
				 :                                                      \
				 : "cc");                                               \
		*pd = d;                                                                \
		*pf = f;                                                                \
	}
ALUI(i_add8, "addb $0x7f, %b[d]", u8, "q")
ALUI(i_adc16, "adcw $-2, %w[d]", u16, "r")
ALUI(i_sub16, "subw $0x1234, %w[d]", u16, "r")
ALUI(i_sbb32, "sbbl $-128, %k[d]", u32, "r")
ALUI(i_and32, "andl $0x80000001, %k[d]", u32, "r")
ALUI(i_or64, "orq $-0x80000000, %q[d]", u64, "r")
ALUI(i_xor64, "xorq $0x7f, %q[d]", u64, "r")
ALUI(i_cmp64, "cmpq $-1, %q[d]", u64, "r")
ALUI(i_test8, "testb $0x81, %b[d]", u8, "q")
ALUI(i_test64, "testq $-0x10, %q[d]", u64, "r")
ALUI(i_adda, "addl $0x40000000, %k[d]", u32, "a")
ALUI(i_sbba, "sbbq $0x12345678, %q[d]", u64, "a")
ALUI(i_cmpa8, "cmpb $0x80, %b[d]", u8, "a")

/* One-operand arithmetic. */
#define ALU1(name, mn, T, SFX, RC)                                                      \
	static void name(u64 *pd, u64 *pf)                                              \
	{                                                                               \
		T d = (T)*pd;                                                           \
		u64 f = *pf;                                                            \
		__asm__ volatile("push %[f]\n\tpopfq\n\t" mn SFX " %[d]\n\tpushfq\n\tpop %[f]" \
				 : [d] "+" RC(d), [f] "+r"(f)                           \
				 :                                                      \
				 : "cc");                                               \
		*pd = d;                                                                \
		*pf = f;                                                                \
	}                                                                               \
	static void name##_m(u64 *pd, u64 *pf)                                          \
	{                                                                               \
		static T cell;                                                          \
		u64 f = *pf;                                                            \
		cell = (T)*pd;                                                          \
		__asm__ volatile("push %[f]\n\tpopfq\n\t" mn SFX " (%[p])\n\tpushfq\n\tpop %[f]" \
				 : [f] "+r"(f)                                          \
				 : [p] "r"(&cell)                                       \
				 : "cc", "memory");                                     \
		*pd = cell;                                                             \
		*pf = f;                                                                \
	}
#define ALU1_ALL(op)                     \
	ALU1(op##8, #op, u8, "b", "q")   \
	ALU1(op##16, #op, u16, "w", "r") \
	ALU1(op##32, #op, u32, "l", "r") \
	ALU1(op##64, #op, u64, "q", "r")
ALU1_ALL(inc)
ALU1_ALL(dec)
ALU1_ALL(neg)
ALU1_ALL(not)

typedef void (*fn1)(u64 *, u64 *);
struct op1 {
	const char *name;
	fn1 f[4][2];
	u64 mask;
};
#define OP1(op, m) \
	{ #op, { { op##8, op##8_m }, { op##16, op##16_m }, { op##32, op##32_m }, { op##64, op##64_m } }, m }
static const struct op1 ops1[] = {
	OP1(inc, ST), OP1(dec, ST), OP1(neg, ST), OP1(not, ST),
};

/* One operand and the flags, bits wide: every value with both incoming
 * flag states; form goes into the record (its b). */
static void unary_cases(const char *name, fn1 fn, int bits, u64 form, u64 mask)
{
	for (int i = 0; i < NV; i++)
		for (int k = 0; k < 2; k++) {
			u64 d = vals[i], f = fins[k] | 2;
			fn(&d, &f);
			rec(name, bits, vals[i], form, fins[k], trunc_to(d, bits), 0, f & mask);
		}
}

static void test_alu1(void)
{
	if (begin("alu-unary")) {
		for (unsigned o = 0; o < sizeof(ops1) / sizeof(ops1[0]); o++)
			for (int z = 0; z < 4; z++)
				for (int m = 0; m < 2; m++)
					unary_cases(ops1[o].name, ops1[o].f[z][m], sizes[z], m, ops1[o].mask);
		end();
	}
	if (begin("alu-imm")) {
		static const struct {
			const char *n;
			fn1 f;
			int bits;
			u64 mask;
		} im[] = {
			{ "add8", i_add8, 8, ST }, { "adc16", i_adc16, 16, ST },
			{ "sub16", i_sub16, 16, ST }, { "sbb32", i_sbb32, 32, ST },
			{ "and32", i_and32, 32, ST & ~AF }, { "or64", i_or64, 64, ST & ~AF },
			{ "xor64", i_xor64, 64, ST & ~AF }, { "cmp64", i_cmp64, 64, ST },
			{ "test8", i_test8, 8, ST & ~AF }, { "test64", i_test64, 64, ST & ~AF },
			{ "adda", i_adda, 32, ST }, { "sbba", i_sbba, 64, ST },
			{ "cmpa8", i_cmpa8, 8, ST },
		};
		for (unsigned o = 0; o < sizeof(im) / sizeof(im[0]); o++)
			unary_cases(im[o].n, im[o].f, im[o].bits, 0, im[o].mask);
		end();
	}
}

/* ------------------------------------------------------ shifts, rotates */

#define SH(name, mn, T, SFX, RC)                                                          \
	static void name(u64 *pd, u64 c, u64 *pf)                                         \
	{                                                                                 \
		T d = (T)*pd;                                                             \
		u64 f = *pf;                                                              \
		__asm__ volatile("push %[f]\n\tpopfq\n\t" mn SFX " %%cl, %[d]\n\tpushfq\n\tpop %[f]" \
				 : [d] "+" RC(d), [f] "+r"(f)                             \
				 : "c"((u8)c)                                             \
				 : "cc");                                                 \
		*pd = d;                                                                  \
		*pf = f;                                                                  \
	}                                                                                 \
	static void name##_m(u64 *pd, u64 c, u64 *pf)                                     \
	{                                                                                 \
		static T cell;                                                            \
		u64 f = *pf;                                                              \
		cell = (T)*pd;                                                            \
		__asm__ volatile("push %[f]\n\tpopfq\n\t" mn SFX " %%cl, (%[p])\n\tpushfq\n\tpop %[f]" \
				 : [f] "+r"(f)                                            \
				 : "c"((u8)c), [p] "r"(&cell)                             \
				 : "cc", "memory");                                       \
		*pd = cell;                                                               \
		*pf = f;                                                                  \
	}                                                                                 \
	static void name##_1(u64 *pd, u64 c, u64 *pf)                                     \
	{                                                                                 \
		T d = (T)*pd;                                                             \
		u64 f = *pf;                                                              \
		(void)c;                                                                  \
		__asm__ volatile("push %[f]\n\tpopfq\n\t" mn SFX " $1, %[d]\n\tpushfq\n\tpop %[f]" \
				 : [d] "+" RC(d), [f] "+r"(f)                             \
				 :                                                        \
				 : "cc");                                                 \
		*pd = d;                                                                  \
		*pf = f;                                                                  \
	}                                                                                 \
	static void name##_i(u64 *pd, u64 c, u64 *pf)                                     \
	{                                                                                 \
		T d = (T)*pd;                                                             \
		u64 f = *pf;                                                              \
		(void)c;                                                                  \
		__asm__ volatile("push %[f]\n\tpopfq\n\t" mn SFX " $7, %[d]\n\tpushfq\n\tpop %[f]" \
				 : [d] "+" RC(d), [f] "+r"(f)                             \
				 :                                                        \
				 : "cc");                                                 \
		*pd = d;                                                                  \
		*pf = f;                                                                  \
	}
#define SH_ALL(op)                     \
	SH(op##8, #op, u8, "b", "q")   \
	SH(op##16, #op, u16, "w", "r") \
	SH(op##32, #op, u32, "l", "r") \
	SH(op##64, #op, u64, "q", "r")
SH_ALL(shl)
SH_ALL(shr)
SH_ALL(sar)
SH_ALL(rol)
SH_ALL(ror)
SH_ALL(rcl)
SH_ALL(rcr)

/* The flags the SDM defines after a shift or rotate of `bits` by `count`
 * (SDM vol. 2B SAL/SAR/SHL/SHR, RCL/RCR/ROL/ROR): a masked count of 0
 * changes nothing; OF only for a count of 1; AF undefined after shifts;
 * CF undefined for shifts of the whole operand or more; rotates leave
 * SF/ZF/AF/PF alone. */
static u64 shift_mask(int rot, int bits, unsigned count)
{
	unsigned mc = count & (bits == 64 ? 63 : 31);
	if (mc == 0)
		return ST;
	u64 m = ST;
	if (mc != 1)
		m &= ~OF;
	if (!rot) {
		m &= ~AF;
		if (mc >= (unsigned)bits)
			m &= ~CF;
	}
	return m;
}

struct opsh {
	const char *name;
	fn2 f[4][4];
	int rot;
};
#define OPSH(op, r)                                                                       \
	{ #op,                                                                            \
	  { { op##8, op##8_m, op##8_1, op##8_i }, { op##16, op##16_m, op##16_1, op##16_i }, \
	    { op##32, op##32_m, op##32_1, op##32_i }, { op##64, op##64_m, op##64_1, op##64_i } }, \
	  r }
static const struct opsh opssh[] = {
	OPSH(shl, 0), OPSH(shr, 0), OPSH(sar, 0), OPSH(rol, 1), OPSH(ror, 1), OPSH(rcl, 1), OPSH(rcr, 1),
};

static const u64 shvals[] = {
	0, 1, 0x80, 0x81, 0x8000, 0xc001, 0x80000000, 0x7fffffff, 0xa5a5a5a5,
	0x8000000000000000ull, 0xffffffffffffffffull, 0x123456789abcdef0ull, 0x4000000000000001ull,
};

static void test_shift(void)
{
	for (unsigned o = 0; o < sizeof(opssh) / sizeof(opssh[0]); o++) {
		char g[32];
		snprintf(g, sizeof(g), "shift-%s", opssh[o].name);
		if (!begin(g))
			continue;
		for (int z = 0; z < 4; z++)
			for (int form = 0; form < 4; form++)
				for (unsigned i = 0; i < sizeof(shvals) / sizeof(shvals[0]); i++)
					for (unsigned c = 0; c <= (form < 2 ? 65u : 0u); c++)
						for (int k = 0; k < 2; k++) {
							unsigned cnt = form == 2 ? 1 : form == 3 ? 7 : c;
							u64 d = shvals[i], f = fins[k] | 2;
							opssh[o].f[z][form](&d, c, &f);
							rec(opssh[o].name, sizes[z], shvals[i], cnt, fins[k] | form << 12,
							    trunc_to(d, sizes[z]), 0,
							    f & shift_mask(opssh[o].rot, sizes[z], cnt));
						}
		end();
	}
}

/* SHLD/SHRD: count in CL or an immediate; 16-bit counts of 16 and more give
 * an undefined result and flags (SDM vol. 2B SHLD). */
#define DSH(name, mn, T, SFX)                                                              \
	static void name(u64 *pd, u64 s, u64 c, u64 *pf)                                   \
	{                                                                                  \
		T d = (T)*pd;                                                              \
		u64 f = *pf;                                                               \
		__asm__ volatile("push %[f]\n\tpopfq\n\t" mn SFX " %%cl, %[s], %[d]\n\tpushfq\n\tpop %[f]" \
				 : [d] "+r"(d), [f] "+r"(f)                                \
				 : [s] "r"((T)s), "c"((u8)c)                               \
				 : "cc");                                                  \
		*pd = d;                                                                   \
		*pf = f;                                                                   \
	}                                                                                  \
	static void name##_i(u64 *pd, u64 s, u64 c, u64 *pf)                               \
	{                                                                                  \
		static T cell;                                                             \
		u64 f = *pf;                                                               \
		(void)c;                                                                   \
		cell = (T)*pd;                                                             \
		__asm__ volatile("push %[f]\n\tpopfq\n\t" mn SFX " $5, %[s], (%[p])\n\tpushfq\n\tpop %[f]" \
				 : [f] "+r"(f)                                             \
				 : [s] "r"((T)s), [p] "r"(&cell)                           \
				 : "cc", "memory");                                        \
		*pd = cell;                                                                \
		*pf = f;                                                                   \
	}
DSH(shld16, "shld", u16, "w")
DSH(shld32, "shld", u32, "l")
DSH(shld64, "shld", u64, "q")
DSH(shrd16, "shrd", u16, "w")
DSH(shrd32, "shrd", u32, "l")
DSH(shrd64, "shrd", u64, "q")

static void test_dshift(void)
{
	typedef void (*fn3)(u64 *, u64, u64, u64 *);
	static const struct {
		const char *n;
		fn3 f, fi;
		int bits;
	} t[] = {
		{ "shld", shld16, shld16_i, 16 }, { "shld", shld32, shld32_i, 32 },
		{ "shld", shld64, shld64_i, 64 }, { "shrd", shrd16, shrd16_i, 16 },
		{ "shrd", shrd32, shrd32_i, 32 }, { "shrd", shrd64, shrd64_i, 64 },
	};
	static const u64 sv[] = { 0, 0xffffffffffffffffull, 0x8000000000000001ull, 0x123456789abcdef0ull };
	if (!begin("shift-double"))
		return;
	for (unsigned o = 0; o < sizeof(t) / sizeof(t[0]); o++)
		for (unsigned i = 0; i < sizeof(shvals) / sizeof(shvals[0]); i++)
			for (unsigned j = 0; j < sizeof(sv) / sizeof(sv[0]); j++)
				for (unsigned c = 0; c <= 66; c++)
					for (int k = 0; k < 2; k++) {
						int imm = c == 66;
						unsigned cnt = imm ? 5 : c;
						unsigned mc = cnt & (t[o].bits == 64 ? 63 : 31);
						u64 d = shvals[i], f = fins[k] | 2;
						(imm ? t[o].fi : t[o].f)(&d, sv[j], cnt, &f);
						u64 m = shift_mask(0, t[o].bits, cnt) | (mc ? CF : 0);
						u64 r = trunc_to(d, t[o].bits);
						if (mc >= (unsigned)t[o].bits)
							m = 0, r = 0;
						rec(t[o].n, t[o].bits, shvals[i], sv[j], cnt | (u64)fins[k] << 8, r, 0,
						    f & m);
					}
	end();
}

/* ---------------------------------------------------- multiply, divide */

static sigjmp_buf fpe_jmp;
static volatile int fpe_armed;

static void on_fpe(int sig)
{
	(void)sig;
	if (!fpe_armed)
		abort();
	fpe_armed = 0;
	siglongjmp(fpe_jmp, 1);
}

/* One-operand MUL/IMUL/DIV/IDIV: RDX:RAX (AX for bytes) op source. */
#define MD1(name, text, T, RC)                                                           \
	static void name(u64 *pa, u64 *pdx, u64 s, u64 *pf)                              \
	{                                                                                \
		u64 a = *pa, dx = *pdx, f = *pf;                                         \
		__asm__ volatile("push %[f]\n\tpopfq\n\t" text " %[s]\n\tpushfq\n\tpop %[f]" \
				 : "+a"(a), "+d"(dx), [f] "+r"(f)                        \
				 : [s] RC((T)s)                                          \
				 : "cc");                                                \
		*pa = a;                                                                 \
		*pdx = dx;                                                               \
		*pf = f;                                                                 \
	}
MD1(mul8, "mulb", u8, "q")
MD1(mul16, "mulw", u16, "r")
MD1(mul32, "mull", u32, "r")
MD1(mul64, "mulq", u64, "r")
MD1(imul8, "imulb", u8, "q")
MD1(imul16, "imulw", u16, "r")
MD1(imul32, "imull", u32, "r")
MD1(imul64, "imulq", u64, "r")
MD1(div8, "divb", u8, "q")
MD1(div16, "divw", u16, "r")
MD1(div32, "divl", u32, "r")
MD1(div64, "divq", u64, "r")
MD1(idiv8, "idivb", u8, "q")
MD1(idiv16, "idivw", u16, "r")
MD1(idiv32, "idivl", u32, "r")
MD1(idiv64, "idivq", u64, "r")

/* Two- and three-operand IMUL. */
#define IM2(name, text, T)                                                               \
	static void name(u64 *pd, u64 s, u64 *pf)                                        \
	{                                                                                \
		T d = (T)*pd;                                                            \
		u64 f = *pf;                                                             \
		__asm__ volatile("push %[f]\n\tpopfq\n\t" text "\n\tpushfq\n\tpop %[f]" \
				 : [d] "+r"(d), [f] "+r"(f)                              \
				 : [s] "r"((T)s)                                         \
				 : "cc");                                                \
		*pd = d;                                                                 \
		*pf = f;                                                                 \
	}
IM2(imul2_16, "imulw %[s], %[d]", u16)
IM2(imul2_32, "imull %[s], %[d]", u32)
IM2(imul2_64, "imulq %[s], %[d]", u64)
IM2(imul3b_16, "imulw $-3, %[s], %[d]", u16)
IM2(imul3b_32, "imull $0x7f, %[s], %[d]", u32)
IM2(imul3b_64, "imulq $-128, %[s], %[d]", u64)
IM2(imul3d_16, "imulw $0x1234, %[s], %[d]", u16)
IM2(imul3d_32, "imull $-0x10000, %[s], %[d]", u32)
IM2(imul3d_64, "imulq $0x40000001, %[s], %[d]", u64)

/* Whether DIV (o = 0) or IDIV (o = 1) of hi:lo by d at `bits` raises #DE:
 * a zero divisor or a quotient that does not fit (SDM vol. 2A DIV, IDIV). */
static int div_faults(int o, int bits, u64 hi, u64 lo, u64 d)
{
	if (d == 0)
		return 1;
	unsigned __int128 n = (unsigned __int128)trunc_to(hi, bits) << bits | lo;
	if (o == 0)
		return (n / d) >> bits != 0;
	int sh = 128 - 2 * bits;
	__int128 sn = (__int128)(n << sh) >> sh; /* sign-extend 2*bits to 128 */
	__int128 sd = (__int128)((unsigned __int128)d << (128 - bits)) >> (128 - bits);
	__int128 q = sn / sd; /* |sn| < 2^127: no overflow here */
	__int128 lim = (__int128)1 << (bits - 1);
	return q < -lim || q >= lim;
}

static void test_muldiv(void)
{
	typedef void (*fm)(u64 *, u64 *, u64, u64 *);
	static const struct {
		const char *n;
		fm f[4];
	} m1[] = {
		{ "mul", { mul8, mul16, mul32, mul64 } },
		{ "imul", { imul8, imul16, imul32, imul64 } },
	}, d1[] = {
		{ "div", { div8, div16, div32, div64 } },
		{ "idiv", { idiv8, idiv16, idiv32, idiv64 } },
	};
	static const struct {
		const char *n;
		fn2 f;
		int bits;
	} m2[] = {
		{ "imul2", imul2_16, 16 }, { "imul2", imul2_32, 32 }, { "imul2", imul2_64, 64 },
		{ "imul3b", imul3b_16, 16 }, { "imul3b", imul3b_32, 32 }, { "imul3b", imul3b_64, 64 },
		{ "imul3d", imul3d_16, 16 }, { "imul3d", imul3d_32, 32 }, { "imul3d", imul3d_64, 64 },
	};
	if (begin("mul")) {
		for (int o = 0; o < 2; o++)
			for (int z = 0; z < 4; z++)
				for (int i = 0; i < NV; i++)
					for (int j = 0; j < NV; j++) {
						/* RDX's incoming value is overwritten, except for bytes */
						u64 a = vals[i], dx = 0x1111222233334444ull, f = 2 | ST;
						m1[o].f[z](&a, &dx, vals[j], &f);
						rec(m1[o].n, sizes[z], vals[i], vals[j], 0, z ? trunc_to(a, sizes[z]) : a & 0xffff,
						    z ? trunc_to(dx, sizes[z]) : 0, f & (CF | OF));
					}
		for (unsigned o = 0; o < sizeof(m2) / sizeof(m2[0]); o++)
			for (int i = 0; i < NV; i++)
				for (int j = 0; j < NV; j++) {
					u64 d = vals[i], f = 2;
					m2[o].f(&d, vals[j], &f);
					rec(m2[o].n, m2[o].bits, vals[i], vals[j], 0, trunc_to(d, m2[o].bits), 0,
					    f & (CF | OF));
				}
		end();
	}
	if (begin("div")) {
		/* The high half: zero, the sign extension of the low half (no
		 * overflow but for a divisor of 0 or INT_MIN / -1; for DIV the divisor
		 * less one, the largest that does not overflow), or a value
		 * that overflows small divisors.  Each #DE is a signal, slow in
		 * a guest: only a few dividends take them. */
		for (int o = 0; o < 2; o++)
			for (int z = 0; z < 4; z++)
				for (int h = 0; h < 4; h++)
					for (int i = 0; i < NV; i++)
						for (int j = 0; j < NV; j++) {
							volatile u64 a, dx;
							u64 f = 2, la, ldx;
							int bits = sizes[z];
							u64 lo = trunc_to(vals[i], bits);
							u64 sx = lo >> (bits - 1) ? ~0ull : 0;
							u64 dv = trunc_to(vals[j], bits);
							/* unsigned: divisor - 1 is the largest high half that fits */
							u64 h1 = o == 0 ? (dv ? dv - 1 : 0) : sx;
							u64 hv = h == 0 ? 0 : h == 1 ? h1 : h == 2 ? 1 : 0x7f;
							int de = div_faults(o, bits, hv, lo, dv);
							if (de && (i % 8 || j % 4))
								continue;
							if (z == 0) {
								a = lo | (hv & 0xff) << 8;
								dx = 0;
							} else {
								a = vals[i];
								dx = hv;
							}
							fpe_armed = 1;
							if (sigsetjmp(fpe_jmp, 1)) {
								rec(d1[o].n, sizes[z], a, dx, vals[j], ~0ull, ~0ull, 0);
								continue;
							}
							la = a;
							ldx = dx;
							d1[o].f[z](&la, &ldx, vals[j], &f);
							fpe_armed = 0;
							rec(d1[o].n, sizes[z], a, dx, vals[j],
							    z ? trunc_to(la, sizes[z]) : la & 0xffff, z ? trunc_to(ldx, sizes[z]) : 0, 0);
						}
		end();
	}
}

/* ------------------------------------------------ bit tests and scans */

#define BTR_(name, text, T)                                                               \
	static void name(u64 *pd, u64 s, u64 *pf)                                         \
	{                                                                                 \
		T d = (T)*pd;                                                             \
		u64 f = *pf;                                                              \
		__asm__ volatile("push %[f]\n\tpopfq\n\t" text "\n\tpushfq\n\tpop %[f]"  \
				 : [d] "+r"(d), [f] "+r"(f)                               \
				 : [s] "r"((T)s)                                          \
				 : "cc");                                                 \
		*pd = d;                                                                  \
		*pf = f;                                                                  \
	}
#define BT_ALL(op)                                     \
	BTR_(op##16, #op "w %[s], %[d]", u16)          \
	BTR_(op##32, #op "l %[s], %[d]", u32)          \
	BTR_(op##64, #op "q %[s], %[d]", u64)          \
	BTR_(op##i16, #op "w $13, %[d]", u16)          \
	BTR_(op##i32, #op "l $45, %[d]", u32)          \
	BTR_(op##i64, #op "q $63, %[d]", u64)
BT_ALL(bt)
BT_ALL(bts)
BT_ALL(btr)
BT_ALL(btc)
BTR_(bsf16, "bsfw %[s], %[d]", u16)
BTR_(bsf32, "bsfl %[s], %[d]", u32)
BTR_(bsf64, "bsfq %[s], %[d]", u64)
BTR_(bsr16, "bsrw %[s], %[d]", u16)
BTR_(bsr32, "bsrl %[s], %[d]", u32)
BTR_(bsr64, "bsrq %[s], %[d]", u64)
BTR_(tzcnt16, "tzcntw %[s], %[d]", u16)
BTR_(tzcnt32, "tzcntl %[s], %[d]", u32)
BTR_(tzcnt64, "tzcntq %[s], %[d]", u64)
BTR_(lzcnt16, "lzcntw %[s], %[d]", u16)
BTR_(lzcnt32, "lzcntl %[s], %[d]", u32)
BTR_(lzcnt64, "lzcntq %[s], %[d]", u64)
BTR_(popcnt16, "popcntw %[s], %[d]", u16)
BTR_(popcnt32, "popcntl %[s], %[d]", u32)
BTR_(popcnt64, "popcntq %[s], %[d]", u64)
BTR_(bswap32, "bswapl %[d]", u32)
BTR_(bswap64, "bswapq %[d]", u64)

/* The bit-string forms: a register bit offset reaches outside the addressed
 * operand, forwards and backwards (SDM vol. 2A BT). */
#define BTM(name, mn)                                                                     \
	static void name(u8 *base, u64 off, u64 *pf)                                      \
	{                                                                                 \
		u64 f = *pf;                                                              \
		__asm__ volatile("push %[f]\n\tpopfq\n\t" mn ", (%[p])\n\tpushfq\n\tpop %[f]" \
				 : [f] "+r"(f)                                            \
				 : [o] "r"(off), [p] "r"(base)                            \
				 : "cc", "memory");                                       \
		*pf = f;                                                                  \
	}
BTM(btm64, "btq %q[o]")
BTM(btsm64, "btsq %q[o]")
BTM(btrm32, "btrl %k[o]")
BTM(btcm16, "btcw %w[o]")
BTM(btsm32l, "lock btsl %k[o]")
BTM(btcm64l, "lock btcq %q[o]")

static void test_bits(void)
{
	static const struct {
		const char *n;
		fn2 f[6];
	} bt[] = {
		{ "bt", { bt16, bt32, bt64, bti16, bti32, bti64 } },
		{ "bts", { bts16, bts32, bts64, btsi16, btsi32, btsi64 } },
		{ "btr", { btr16, btr32, btr64, btri16, btri32, btri64 } },
		{ "btc", { btc16, btc32, btc64, btci16, btci32, btci64 } },
	};
	static const u64 offs[] = { 0, 1, 7, 15, 16, 31, 32, 63, 64, 65, 100, 0x7fff, 0x8000 };
	if (begin("bit-test")) {
		for (int o = 0; o < 4; o++)
			for (int z = 0; z < 6; z++)
				for (int i = 0; i < NV; i++)
					for (unsigned j = 0; j < sizeof(offs) / sizeof(offs[0]); j++) {
						int bits = 16 << (z % 3);
						u64 d = vals[i], f = 2 | ST;
						bt[o].f[z](&d, offs[j], &f);
						rec(bt[o].n, bits, vals[i], offs[j], z, trunc_to(d, bits), 0, f & CF);
					}
		static const struct {
			const char *n;
			void (*f)(u8 *, u64, u64 *);
		} bm[] = { { "btm64", btm64 }, { "btsm64", btsm64 }, { "btrm32", btrm32 },
			   { "btcm16", btcm16 }, { "btsm32l", btsm32l }, { "btcm64l", btcm64l } };
		static u8 buf[128] __attribute__((aligned(16)));
		static const int64_t so[] = { 0, 5, 63, 64, 200, 511, -1, -8, -17, -64, -65, -500 };
		for (int o = 0; o < 6; o++)
			for (unsigned j = 0; j < sizeof(so) / sizeof(so[0]); j++) {
				u64 f = 2 | ST, h = 0;
				for (int i = 0; i < 128; i++)
					buf[i] = (u8)(i * 37 + 11);
				bm[o].f(buf + 64, (u64)so[j], &f);
				for (int i = 0; i < 128; i++)
					h = h * 131 + buf[i];
				rec(bm[o].n, 0, (u64)so[j], 0, 0, h, 0, f & CF);
			}
		end();
	}
	if (begin("bit-scan")) {
		static const struct {
			const char *n;
			fn2 f[3];
			u64 mask;
			int undef0; /* destination undefined for a zero source */
		} sc[] = {
			{ "bsf", { bsf16, bsf32, bsf64 }, ZF, 1 },
			{ "bsr", { bsr16, bsr32, bsr64 }, ZF, 1 },
			{ "tzcnt", { tzcnt16, tzcnt32, tzcnt64 }, ZF | CF, 0 },
			{ "lzcnt", { lzcnt16, lzcnt32, lzcnt64 }, ZF | CF, 0 },
			{ "popcnt", { popcnt16, popcnt32, popcnt64 }, ST, 0 },
		};
		for (int o = 0; o < 5; o++)
			for (int z = 0; z < 3; z++)
				for (int i = 0; i < NV; i++)
					for (int k = 0; k < 2; k++) {
						int bits = 16 << z;
						u64 d = 0x5a5a5a5a5a5a5a5aull, f = 2 | fins[k];
						sc[o].f[z](&d, vals[i], &f);
						u64 r = trunc_to(d, bits);
						if (sc[o].undef0 && trunc_to(vals[i], bits) == 0)
							r = 0;
						rec(sc[o].n, bits, vals[i], 0, fins[k], r, 0, f & sc[o].mask);
					}
		for (int i = 0; i < NV; i++) {
			u64 d = vals[i], f = 2;
			bswap32(&d, 0, &f);
			rec("bswap", 32, vals[i], 0, 0, d & 0xffffffff, 0, f);
			d = vals[i];
			bswap64(&d, 0, &f);
			rec("bswap", 64, vals[i], 0, 0, d, 0, f);
		}
		end();
	}
}

/* ------------------------------------------------------ exchange forms */

#define XADD(name, pre, SFX, T, RC)                                                       \
	static void name(u64 *pd, u64 *ps, u64 *pf)                                       \
	{                                                                                 \
		static T cell;                                                            \
		T s = (T)*ps;                                                             \
		u64 f = *pf;                                                              \
		cell = (T)*pd;                                                            \
		__asm__ volatile("push %[f]\n\tpopfq\n\t" pre "xadd" SFX " %[s], (%[p])\n\tpushfq\n\tpop %[f]" \
				 : [s] "+" RC(s), [f] "+r"(f)                             \
				 : [p] "r"(&cell)                                         \
				 : "cc", "memory");                                       \
		*pd = cell;                                                               \
		*ps = s;                                                                  \
		*pf = f;                                                                  \
	}                                                                                 \
	static void name##_r(u64 *pd, u64 *ps, u64 *pf)                                   \
	{                                                                                 \
		T d = (T)*pd, s = (T)*ps;                                                 \
		u64 f = *pf;                                                              \
		__asm__ volatile("push %[f]\n\tpopfq\n\txadd" SFX " %[s], %[d]\n\tpushfq\n\tpop %[f]" \
				 : [s] "+" RC(s), [d] "+" RC(d), [f] "+r"(f)              \
				 :                                                        \
				 : "cc");                                                 \
		*pd = d;                                                                  \
		*ps = s;                                                                  \
		*pf = f;                                                                  \
	}
XADD(xadd8, "", "b", u8, "q")
XADD(xadd16, "lock ", "w", u16, "r")
XADD(xadd32, "", "l", u32, "r")
XADD(xadd64, "lock ", "q", u64, "r")

/* CMPXCHG: the accumulator holds the expected value. */
#define CX(name, pre, SFX, T, RC)                                                         \
	static void name(u64 *pd, u64 *pa, u64 s, u64 *pf)                                \
	{                                                                                 \
		static T cell;                                                            \
		T a = (T)*pa;                                                             \
		u64 f = *pf;                                                              \
		cell = (T)*pd;                                                            \
		__asm__ volatile("push %[f]\n\tpopfq\n\t" pre "cmpxchg" SFX " %[s], (%[p])\n\tpushfq\n\tpop %[f]" \
				 : "+a"(a), [f] "+r"(f)                                   \
				 : [s] RC((T)s), [p] "r"(&cell)                           \
				 : "cc", "memory");                                       \
		*pd = cell;                                                               \
		*pa = a;                                                                  \
		*pf = f;                                                                  \
	}                                                                                 \
	static void name##_r(u64 *pd, u64 *pa, u64 s, u64 *pf)                            \
	{                                                                                 \
		T a = (T)*pa, d = (T)*pd;                                                 \
		u64 f = *pf;                                                              \
		__asm__ volatile("push %[f]\n\tpopfq\n\tcmpxchg" SFX " %[s], %[d]\n\tpushfq\n\tpop %[f]" \
				 : "+a"(a), [d] "+" RC(d), [f] "+r"(f)                    \
				 : [s] RC((T)s)                                           \
				 : "cc");                                                 \
		*pd = d;                                                                  \
		*pa = a;                                                                  \
		*pf = f;                                                                  \
	}
CX(cx8, "lock ", "b", u8, "q")
CX(cx16, "", "w", u16, "r")
CX(cx32, "lock ", "l", u32, "r")
CX(cx64, "", "q", u64, "r")

static void cx16b(u64 mem[2], u64 *rax, u64 *rdx, u64 rbx, u64 rcx, u64 *pf)
{
	u64 f = *pf, a = *rax, d = *rdx;
	__asm__ volatile("push %[f]\n\tpopfq\n\tlock cmpxchg16b (%[p])\n\tpushfq\n\tpop %[f]"
			 : "+a"(a), "+d"(d), [f] "+r"(f)
			 : "b"(rbx), "c"(rcx), [p] "r"(mem)
			 : "cc", "memory");
	*rax = a;
	*rdx = d;
	*pf = f;
}

static void test_xchg(void)
{
	typedef void (*fx)(u64 *, u64 *, u64 *);
	typedef void (*fc)(u64 *, u64 *, u64, u64 *);
	static const fx xa[4][2] = { { xadd8, xadd8_r }, { xadd16, xadd16_r }, { xadd32, xadd32_r },
				     { xadd64, xadd64_r } };
	static const fc cx[4][2] = { { cx8, cx8_r }, { cx16, cx16_r }, { cx32, cx32_r }, { cx64, cx64_r } };
	if (!begin("xchg"))
		return;
	for (int z = 0; z < 4; z++)
		for (int m = 0; m < 2; m++)
			for (int i = 0; i < NV; i += 2)
				for (int j = 0; j < NV; j++) {
					u64 d = vals[i], s = vals[j], f = 2;
					xa[z][m](&d, &s, &f);
					rec("xadd", sizes[z], vals[i], vals[j], m, trunc_to(d, sizes[z]),
					    trunc_to(s, sizes[z]), f & ST);
					for (int eq = 0; eq < 2; eq++) {
						u64 a = eq ? vals[i] : vals[j] ^ 0x10;
						d = vals[i];
						f = 2 | ST;
						cx[z][m](&d, &a, vals[j], &f);
						rec("cmpxchg", sizes[z], vals[i], vals[j], eq | m << 1, trunc_to(d, sizes[z]),
						    trunc_to(a, sizes[z]), f & ST);
					}
				}
	static u64 mem[2] __attribute__((aligned(16)));
	for (int i = 0; i < NV; i++)
		for (int eq = 0; eq < 4; eq++) {
			u64 a = vals[i], d = ~vals[i], f = 2 | (eq & 2 ? ST : 0);
			mem[0] = vals[i];
			mem[1] = eq & 1 ? ~vals[i] : vals[i];
			cx16b(mem, &a, &d, 0x1122334455667788ull, vals[NV - 1 - i], &f);
			rec("cmpxchg16b", 128, vals[i], eq, 0, mem[0] ^ a, mem[1] ^ d * 3, f & ST);
		}
	end();
}

/* ----------------------------------------------------- SETcc, CMOVcc */

#define CC_LIST(X) X(o) X(no) X(b) X(ae) X(e) X(ne) X(be) X(a) X(s) X(ns) X(p) X(np) X(l) X(ge) X(le) X(g)
#define CC_FN(cc)                                                                           \
	static u64 cc_##cc(u64 f, u64 a, u64 b)                                             \
	{                                                                                   \
		u8 s;                                                                       \
		u16 w = (u16)a;                                                             \
		u32 l = (u32)a;                                                             \
		u64 q = a;                                                                  \
		__asm__ volatile("push %[f]\n\tpopfq\n\tset" #cc " %[s]\n\t"               \
				 "cmov" #cc "w %w[b], %w[w]\n\tcmov" #cc "l %k[b], %k[l]\n\t"  \
				 "cmov" #cc "q %q[b], %q[q]"                                \
				 : [s] "=&q"(s), [w] "+r"(w), [l] "+r"(l), [q] "+r"(q)      \
				 : [f] "r"(f), [b] "r"(b)                                   \
				 : "cc");                                                   \
		return (u64)s ^ (u64)w << 1 ^ (u64)l << 17 ^ q * 7;                         \
	}
CC_LIST(CC_FN)
#define CC_ENT(cc) { #cc, cc_##cc },

static u64 cmov_upper(u64 f)
{
	/* A 32-bit CMOV writes its destination (zeroing the upper half) even
	 * when the condition is false (SDM vol. 2A CMOVcc). */
	u64 d = 0xffffffff00000000ull | 0x1234;
	__asm__ volatile("push %[f]\n\tpopfq\n\tcmovzl %k[s], %k[d]" : [d] "+r"(d) : [f] "r"(f), [s] "r"(5ull) : "cc");
	return d;
}

static void test_cc(void)
{
	static const struct {
		const char *n;
		u64 (*f)(u64, u64, u64);
	} cc[] = { CC_LIST(CC_ENT) };
	static const u64 fl[] = { CF, PF, ZF, SF, OF };
	if (!begin("setcc-cmov"))
		return;
	for (int o = 0; o < 16; o++)
		for (int c = 0; c < 32; c++) {
			u64 f = 2;
			for (int b = 0; b < 5; b++)
				if (c & 1 << b)
					f |= fl[b];
			rec(cc[o].n, 0, f, 0, 0, cc[o].f(f, 0x1111222233334444ull, 0xaaaabbbbccccddddull), 0, 0);
		}
	rec("cmov-upper", 32, 0, 0, 0, cmov_upper(2), cmov_upper(2 | ZF), 0);
	end();
}

/* ---------------------------------------------------- string operations */

struct sregs {
	u64 si, di, cx, ax, f;
};
#define STR(name, text)                                                                        \
	static void name(struct sregs *r)                                                      \
	{                                                                                      \
		__asm__ volatile("push %[f]\n\tpopfq\n\t" text "\n\tpushfq\n\tpop %[f]\n\tcld" \
				 : "+S"(r->si), "+D"(r->di), "+c"(r->cx), "+a"(r->ax), [f] "+r"(r->f) \
				 :                                                             \
				 : "cc", "memory");                                            \
	}
#define STR_SZ(op)                                                                                 \
	STR(op##b, #op "b") STR(op##w, #op "w") STR(op##l, #op "l") STR(op##q, #op "q")              \
	STR(rep_##op##b, "rep " #op "b") STR(rep_##op##w, "rep " #op "w")                           \
	STR(rep_##op##l, "rep " #op "l") STR(rep_##op##q, "rep " #op "q")
#define STR_CMP(op)                                                                                \
	STR(op##b, #op "b") STR(op##w, #op "w") STR(op##l, #op "l") STR(op##q, #op "q")              \
	STR(repe_##op##b, "repe " #op "b") STR(repe_##op##w, "repe " #op "w")                       \
	STR(repe_##op##l, "repe " #op "l") STR(repe_##op##q, "repe " #op "q")                       \
	STR(repne_##op##b, "repne " #op "b") STR(repne_##op##w, "repne " #op "w")                   \
	STR(repne_##op##l, "repne " #op "l") STR(repne_##op##q, "repne " #op "q")
STR_SZ(movs)
STR_SZ(stos)
STR_SZ(lods)
STR_CMP(cmps)
STR_CMP(scas)

#define SBUF 4096
static u8 sbuf[2][SBUF] __attribute__((aligned(64)));

static void sfill(int mode)
{
	for (int i = 0; i < SBUF; i++) {
		sbuf[0][i] = (u8)(i * 13 + (i >> 8));
		sbuf[1][i] = mode == 1 ? (u8)~sbuf[0][i] : sbuf[0][i];
	}
	int mid = SBUF / 2;
	if (mode == 0) /* equal but for a few bytes */
		sbuf[1][mid + 13] ^= 1, sbuf[1][mid - 22] ^= 0x80, sbuf[1][mid + 70] ^= 4;
	else if (mode == 1) /* different but for a few bytes */
		memcpy(&sbuf[1][mid + 16], &sbuf[0][mid + 16], 8),
			memcpy(&sbuf[1][mid - 40], &sbuf[0][mid - 40], 8);
}

static u64 shash(void)
{
	u64 h = 0;
	const u64 *w = (const u64 *)sbuf;
	for (unsigned i = 0; i < sizeof(sbuf) / 8; i++)
		h = (h ^ w[i]) * 0x100000001b3ull + i;
	return h;
}

static void test_string(void)
{
	typedef void (*fs)(struct sregs *);
	static const struct {
		const char *n;
		fs f[3][4]; /* no prefix, rep/repe, repne */
		int cmp;
	} so[] = {
		{ "movs", { { movsb, movsw, movsl, movsq }, { rep_movsb, rep_movsw, rep_movsl, rep_movsq } }, 0 },
		{ "stos", { { stosb, stosw, stosl, stosq }, { rep_stosb, rep_stosw, rep_stosl, rep_stosq } }, 0 },
		{ "lods", { { lodsb, lodsw, lodsl, lodsq }, { rep_lodsb, rep_lodsw, rep_lodsl, rep_lodsq } }, 0 },
		{ "cmps", { { cmpsb, cmpsw, cmpsl, cmpsq }, { repe_cmpsb, repe_cmpsw, repe_cmpsl, repe_cmpsq },
			    { repne_cmpsb, repne_cmpsw, repne_cmpsl, repne_cmpsq } }, 1 },
		{ "scas", { { scasb, scasw, scasl, scasq }, { repe_scasb, repe_scasw, repe_scasl, repe_scasq },
			    { repne_scasb, repne_scasw, repne_scasl, repne_scasq } }, 1 },
	};
	static const u64 counts[] = { 0, 1, 3, 17, 200 };
	/* mode 0/1: source buffer 0, destination buffer 1; modes 2..5: both in
	 * buffer 0, the destination 1, -1, 3 or -8 bytes from the source */
	static const int delta[] = { 0, 0, 1, -1, 3, -8 };
	if (!begin("string"))
		return;
	for (int o = 0; o < 5; o++)
		for (int rp = 0; rp < 3; rp++) {
			if (!so[o].f[rp][0])
				continue;
			for (int z = 0; z < 4; z++)
				for (int df = 0; df < 2; df++)
					for (unsigned c = 0; c < sizeof(counts) / sizeof(counts[0]); c++)
						for (int mode = 0; mode < 6; mode++) {
							if (rp == 0 && c > 1)
								continue;
							if (mode >= 2 && so[o].n[0] != 'm')
								continue;
							sfill(mode < 2 ? mode : 0);
							u8 *s = &sbuf[0][SBUF / 2];
							u8 *d = mode < 2 ? &sbuf[1][SBUF / 2] : s + delta[mode];
							struct sregs r = {
								(u64)s, (u64)d, counts[c],
								so[o].n[0] == 's' && so[o].cmp ? 0x5555555555555555ull ^ (u64)d[16 << z]
												: 0xa5a5a5a5a5a5a5a5ull,
								2 | (df ? 0x400 : 0) | (mode & 1 ? ST : 0),
							};
							if (so[o].n[0] == 's' && so[o].cmp && mode == 1)
								memcpy(&r.ax, d + 3 * (1 << z), 8);
							so[o].f[rp][z](&r);
							rec(so[o].n, 8 << z, rp, df | c << 1 | mode << 8, 0,
							    (r.si - (u64)s) ^ (r.di - (u64)d) << 20 ^ r.cx << 40,
							    shash() ^ r.ax, r.f & (ST | 0x400));
						}
		}
	end();
}

/* ---------------------------------------------- flag moves, extensions */

static u64 popf_pushf(u64 v)
{
	u64 out;
	__asm__ volatile("pushfq\n\tpush %[v]\n\tpopfq\n\tpushfq\n\tpop %[o]\n\tpopfq"
			 : [o] "=r"(out)
			 : [v] "r"(v)
			 : "cc", "memory");
	return out;
}

static u64 sahf_lahf(u64 ah, u64 f)
{
	u64 a = ah << 8, r;
	__asm__ volatile("push %[f]\n\tpopfq\n\tsahf\n\tpushfq\n\tpop %[r]\n\tmov $0, %%ah\n\tlahf"
			 : "+a"(a), [r] "=r"(r)
			 : [f] "r"(f)
			 : "cc");
	return r << 16 | (a & 0xff00);
}

static void test_flags(void)
{
	if (!begin("flags"))
		return;
	/* At CPL 3 POPF leaves IF and IOPL alone; bits 1, 3, 5, 15 are fixed;
	 * TF, NT, VM, VIF/VIP, RF are left out: they trap or are kernel state. */
	static const u64 bits[] = { CF, 2, PF, 8, AF, 0x20, ZF, SF, 0x200, 0x400, OF, 0x3000,
				    0x8000, 0x10000, 0x40000, 0x200000, 0x400000, 0x80000000ull };
	u64 base = popf_pushf(2) & 0x200;
	for (unsigned i = 0; i < sizeof(bits) / sizeof(bits[0]); i++) {
		u64 v = 2 | base | bits[i];
		rec("popf", 64, v, 0, 0, popf_pushf(v) & ~0x200ull, 0, 0);
	}
	rec("popf", 64, ~0ull, 0, 0, popf_pushf(0x240ed5 | base) & ~0x200ull, 0, 0);
	for (int ah = 0; ah < 256; ah++)
		for (int k = 0; k < 2; k++)
			rec("sahf", 8, ah, fins[k], 0, sahf_lahf(ah, 2 | fins[k]) & ((ST | 2 | 0x28) << 16 | 0xff00), 0, 0);
	end();
}

static void test_ext(void)
{
	if (!begin("extend"))
		return;
	for (int i = 0; i < NV; i++) {
		u64 v = vals[i], a, d;
		a = v;
		__asm__("cbtw" : "+a"(a));
		rec("cbw", 16, v, 0, 0, a, 0, 0);
		a = v;
		__asm__("cwtl" : "+a"(a));
		rec("cwde", 32, v, 0, 0, a, 0, 0);
		a = v;
		__asm__("cltq" : "+a"(a));
		rec("cdqe", 64, v, 0, 0, a, 0, 0);
		a = v, d = 0x1234567812345678ull;
		__asm__("cwtd" : "+a"(a), "+d"(d));
		rec("cwd", 16, v, 0, 0, a, d, 0);
		a = v, d = 0x1234567812345678ull;
		__asm__("cltd" : "+a"(a), "+d"(d));
		rec("cdq", 32, v, 0, 0, a, d, 0);
		a = v, d = 0x1234567812345678ull;
		__asm__("cqto" : "+a"(a), "+d"(d));
		rec("cqo", 64, v, 0, 0, a, d, 0);
		u64 r[8];
		for (int j = 0; j < 8; j++)
			r[j] = 0xdeadbeefdeadbeefull;
		__asm__("movsbw %b[v], %w0" : "+r"(r[0]) : [v] "q"(v));
		__asm__("movsbl %b[v], %k0" : "+r"(r[1]) : [v] "q"(v));
		__asm__("movsbq %b[v], %q0" : "+r"(r[2]) : [v] "q"(v));
		__asm__("movswl %w[v], %k0" : "+r"(r[3]) : [v] "r"(v));
		__asm__("movswq %w[v], %q0" : "+r"(r[4]) : [v] "r"(v));
		__asm__("movslq %k[v], %q0" : "+r"(r[5]) : [v] "r"(v));
		__asm__("movzbw %b[v], %w0" : "+r"(r[6]) : [v] "q"(v));
		__asm__("movzwq %w[v], %q0" : "+r"(r[7]) : [v] "r"(v));
		for (int j = 0; j < 8; j++)
			rec("movx", j, v, 0, 0, r[j], 0, 0);
		/* high-byte registers */
		a = v;
		u64 b = ~v;
		__asm__("xchgb %%ah, %%bh\n\taddb %%ah, %%al\n\tmovzbl %%bh, %%ecx\n\tmovsbl %%ah, %%edx"
			: "+a"(a), "+b"(b), "=c"(r[0]), "=d"(r[1])
			:
			: "cc");
		rec("hibyte", 8, v, 0, 0, a ^ b * 3, r[0] ^ r[1] * 5, 0);
	}
	end();
}

/* ---------------------------------------------------------- ADX, BMI */

#define ADX(name, text, T)                                                                 \
	static void name(u64 *pd, u64 s, u64 *pf)                                          \
	{                                                                                  \
		T d = (T)*pd;                                                              \
		u64 f = *pf;                                                               \
		__asm__ volatile("push %[f]\n\tpopfq\n\t" text " %[s], %[d]\n\tpushfq\n\tpop %[f]" \
				 : [d] "+r"(d), [f] "+r"(f)                                \
				 : [s] "r"((T)s)                                           \
				 : "cc");                                                  \
		*pd = d;                                                                   \
		*pf = f;                                                                   \
	}
ADX(adcx32, "adcxl", u32)
ADX(adcx64, "adcxq", u64)
ADX(adox32, "adoxl", u32)
ADX(adox64, "adoxq", u64)

#define BMI3(name, text)                                                                    \
	static u64 name(u64 a, u64 b, u64 *pf)                                              \
	{                                                                                   \
		u64 d = 0x0123456789abcdefull, f = *pf;                                     \
		__asm__ volatile("push %[f]\n\tpopfq\n\t" text "\n\tpushfq\n\tpop %[f]"    \
				 : [d] "+r"(d), [f] "+r"(f)                                 \
				 : [a] "r"(a), [b] "r"(b)                                   \
				 : "cc");                                                   \
		*pf = f;                                                                    \
		return d;                                                                   \
	}
BMI3(andn64, "andnq %[b], %[a], %[d]")
BMI3(andn32, "andnl %k[b], %k[a], %k[d]")
BMI3(bextr64, "bextrq %[b], %[a], %[d]")
BMI3(bextr32, "bextrl %k[b], %k[a], %k[d]")
BMI3(blsi64, "blsiq %[a], %[d]")
BMI3(blsmsk32, "blsmskl %k[a], %k[d]")
BMI3(blsr64, "blsrq %[a], %[d]")
BMI3(bzhi64, "bzhiq %[b], %[a], %[d]")
BMI3(bzhi32, "bzhil %k[b], %k[a], %k[d]")
BMI3(pdep64, "pdepq %[b], %[a], %[d]")
BMI3(pext32, "pextl %k[b], %k[a], %k[d]")
BMI3(rorx64, "rorxq $13, %[a], %[d]")
BMI3(sarx64, "sarxq %[b], %[a], %[d]")
BMI3(shlx32, "shlxl %k[b], %k[a], %k[d]")
BMI3(shrx64, "shrxq %[b], %[a], %[d]")
/* MULX: EDX/RDX times the source, low half to the second operand, high to
 * the third; no flags change. */
static u64 mulx32(u64 a, u64 b, u64 *pf)
{
	u64 hi, lo, f = *pf;
	__asm__ volatile("push %[f]\n\tpopfq\n\tmulxl %k[a], %k[lo], %k[hi]\n\tpushfq\n\tpop %[f]"
			 : [hi] "=&r"(hi), [lo] "=&r"(lo), [f] "+r"(f)
			 : [a] "r"(a), "d"(b)
			 : "cc");
	*pf = f;
	return hi << 32 ^ lo * 3;
}

static u64 mulx64(u64 a, u64 b, u64 *pf)
{
	u64 hi, lo, f = *pf;
	__asm__ volatile("push %[f]\n\tpopfq\n\tmulxq %[a], %[lo], %[hi]\n\tpushfq\n\tpop %[f]"
			 : [hi] "=&r"(hi), [lo] "=&r"(lo), [f] "+r"(f)
			 : [a] "r"(a), "d"(b)
			 : "cc");
	*pf = f;
	return hi ^ lo * 3;
}

static void test_adx_bmi(void)
{
	if (!begin("adx-bmi"))
		return;
	static const struct {
		const char *n;
		fn2 f;
		int bits;
		u64 keep; /* the flag it writes */
	} ax[] = { { "adcx", adcx32, 32, CF }, { "adcx", adcx64, 64, CF },
		   { "adox", adox32, 32, OF }, { "adox", adox64, 64, OF } };
	for (int o = 0; o < 4; o++)
		for (int i = 0; i < NV; i++)
			for (int j = 0; j < NV; j++)
				for (int k = 0; k < 4; k++) {
					/* ADCX/ADOX leave the other five status flags alone */
					u64 d = vals[i], f = 2 | (k & 1 ? ax[o].keep : 0) | (k & 2 ? ST & ~ax[o].keep : 0);
					ax[o].f(&d, vals[j], &f);
					rec(ax[o].n, ax[o].bits, vals[i], vals[j], k, trunc_to(d, ax[o].bits), 0, f & ST);
				}
	/* BMI flags: SDM vol. 2A per instruction; AF and PF are undefined. */
	static const struct {
		const char *n;
		u64 (*f)(u64, u64, u64 *);
		u64 mask;
	} bm[] = {
		{ "andn64", andn64, ZF | SF | CF | OF }, { "andn32", andn32, ZF | SF | CF | OF },
		{ "bextr64", bextr64, ZF | CF | OF }, { "bextr32", bextr32, ZF | CF | OF },
		{ "blsi64", blsi64, ZF | SF | CF | OF }, { "blsmsk32", blsmsk32, SF | CF | OF },
		{ "blsr64", blsr64, ZF | SF | CF | OF }, { "bzhi64", bzhi64, ZF | SF | CF | OF },
		{ "bzhi32", bzhi32, ZF | SF | CF | OF }, { "pdep64", pdep64, ST },
		{ "pext32", pext32, ST }, { "rorx64", rorx64, ST }, { "sarx64", sarx64, ST },
		{ "shlx32", shlx32, ST }, { "shrx64", shrx64, ST }, { "mulx32", mulx32, ST },
		{ "mulx64", mulx64, ST },
	};
	static const u64 ctl[] = { 0, 1, 5, 31, 32, 63, 64, 0x0408, 0x2010, 0x4020, 0x0100, 0xff00, 0x1f1f };
	for (unsigned o = 0; o < sizeof(bm) / sizeof(bm[0]); o++)
		for (int i = 0; i < NV; i++)
			for (unsigned j = 0; j < sizeof(ctl) / sizeof(ctl[0]) + 4; j++) {
				u64 b = j < sizeof(ctl) / sizeof(ctl[0]) ? ctl[j] : vals[(j * 7 + i) % NV];
				u64 f = 2 | (j & 1 ? ST : 0);
				u64 r = bm[o].f(vals[i], b, &f);
				rec(bm[o].n, 0, vals[i], b, 0, r, 0, f & bm[o].mask);
			}
	end();
}

/* ------------------------------------------------------------- SSE */

static const u32 mx_default = 0x1f80;

/* xmm0 = a, xmm1 = b, run the instruction under MXCSR *mx, store xmm0 and
 * the MXCSR after; the default MXCSR is back before C code runs again. */
#define SSE(name, text)                                                                          \
	static void name(const void *a, const void *b, void *r, u32 *mx)                         \
	{                                                                                        \
		__asm__ volatile("ldmxcsr %[m]\n\tmovdqu (%[a]), %%xmm0\n\tmovdqu (%[b]), %%xmm1\n\t" \
				 text "\n\tmovdqu %%xmm0, (%[r])\n\tstmxcsr %[m]\n\tldmxcsr %[d]"   \
				 : [m] "+m"(*mx)                                                 \
				 : [a] "r"(a), [b] "r"(b), [r] "r"(r), [d] "m"(mx_default)       \
				 : "xmm0", "xmm1", "xmm2", "rax", "rcx", "rdx", "cc", "memory");  \
	}
#define SSE_FP(op) SSE(op##ss, #op "ss %%xmm1, %%xmm0") SSE(op##sd, #op "sd %%xmm1, %%xmm0") \
	SSE(op##ps, #op "ps %%xmm1, %%xmm0") SSE(op##pd, #op "pd %%xmm1, %%xmm0")
SSE_FP(add)
SSE_FP(sub)
SSE_FP(mul)
SSE_FP(div)
SSE_FP(min)
SSE_FP(max)
SSE_FP(sqrt)
SSE(cmpltps, "cmpltps %%xmm1, %%xmm0")
SSE(cmpunordsd, "cmpunordsd %%xmm1, %%xmm0")
SSE(cmpnleps, "cmpnleps %%xmm1, %%xmm0")
SSE(cmpeqpd, "cmpeqpd %%xmm1, %%xmm0")
SSE(cmpordss, "cmpordss %%xmm1, %%xmm0")
SSE(cmpneqsd, "cmpneqsd %%xmm1, %%xmm0")
SSE(comisd, "comisd %%xmm1, %%xmm0\n\tpushfq\n\tpop %%rax\n\tmovq %%rax, %%xmm0")
SSE(ucomiss, "ucomiss %%xmm1, %%xmm0\n\tpushfq\n\tpop %%rax\n\tmovq %%rax, %%xmm0")
SSE(cvtsd2ss, "cvtsd2ss %%xmm1, %%xmm0")
SSE(cvtss2sd, "cvtss2sd %%xmm1, %%xmm0")
SSE(cvtpd2ps, "cvtpd2ps %%xmm1, %%xmm0")
SSE(cvtps2pd, "cvtps2pd %%xmm1, %%xmm0")
SSE(cvtps2dq, "cvtps2dq %%xmm1, %%xmm0")
SSE(cvttps2dq, "cvttps2dq %%xmm1, %%xmm0")
SSE(cvtpd2dq, "cvtpd2dq %%xmm1, %%xmm0")
SSE(cvttpd2dq, "cvttpd2dq %%xmm1, %%xmm0")
SSE(cvtdq2ps, "cvtdq2ps %%xmm1, %%xmm0")
SSE(cvtdq2pd, "cvtdq2pd %%xmm1, %%xmm0")
SSE(cvtsd2si, "cvtsd2si %%xmm1, %%rax\n\tcvtsd2si %%xmm1, %%ecx\n\tmovq %%rax, %%xmm0\n\tpinsrd $2, %%ecx, %%xmm0")
SSE(cvttsd2si, "cvttsd2si %%xmm1, %%rax\n\tcvttsd2si %%xmm1, %%ecx\n\tmovq %%rax, %%xmm0\n\tpinsrd $2, %%ecx, %%xmm0")
SSE(cvtss2si, "cvtss2si %%xmm1, %%rax\n\tcvtss2si %%xmm1, %%ecx\n\tmovq %%rax, %%xmm0\n\tpinsrd $2, %%ecx, %%xmm0")
SSE(cvttss2si, "cvttss2si %%xmm1, %%rax\n\tcvttss2si %%xmm1, %%ecx\n\tmovq %%rax, %%xmm0\n\tpinsrd $2, %%ecx, %%xmm0")
SSE(cvtsi2sd, "movq %%xmm1, %%rax\n\tcvtsi2sdq %%rax, %%xmm0\n\tcvtsi2sdl %%eax, %%xmm2\n\tunpcklpd %%xmm2, %%xmm0")
SSE(cvtsi2ss, "movq %%xmm1, %%rax\n\tcvtsi2ssq %%rax, %%xmm0\n\tcvtsi2ssl %%eax, %%xmm2\n\tinsertps $0x10, %%xmm2, %%xmm0")
SSE(roundss_m, "roundss $4, %%xmm1, %%xmm0")
SSE(roundsd_n, "roundsd $0, %%xmm1, %%xmm0")
SSE(roundps_d, "roundps $9, %%xmm1, %%xmm0")
SSE(roundpd_u, "roundpd $10, %%xmm1, %%xmm0")
SSE(roundps_z, "roundps $3, %%xmm1, %%xmm0")
SSE(roundpd_m, "roundpd $12, %%xmm1, %%xmm0")
SSE(dpps, "dpps $0xf3, %%xmm1, %%xmm0")
SSE(dppd, "dppd $0x31, %%xmm1, %%xmm0")
SSE(haddps, "haddps %%xmm1, %%xmm0")
SSE(addsubpd, "addsubpd %%xmm1, %%xmm0")

/* Integer SIMD: no MXCSR, but the same frame. */
#define SSE_INT_LIST(X) \
	X(paddsb) X(paddusw) X(psubsw) X(psubusb) X(pmaddwd) X(pmulhw) X(pmulhuw) X(pmuludq) \
	X(psadbw) X(pavgb) X(pavgw) X(pminsw) X(pmaxub) X(packsswb) X(packuswb) X(packssdw) \
	X(punpcklbw) X(punpckhwd) X(punpckhqdq) X(pcmpgtb) X(pcmpeqd) X(pcmpgtq) X(psllw) \
	X(psrad) X(psrlq) X(psraw) X(pslld) X(pshufb) X(pmaddubsw) X(pmulhrsw) X(phaddw) \
	X(phsubsw) X(phaddd) X(psignb) X(psignw) X(psignd) X(pabsb) X(pabsd) X(pmulld) X(pmuldq) \
	X(pminsd) X(pmaxud) X(pminuw) X(pmaxsb) X(packusdw) X(pcmpeqq) X(pmovsxbw) X(pmovzxwq) \
	X(pmovsxdq) X(phminposuw)
#define SSE_INT(op) SSE(op, #op " %%xmm1, %%xmm0")
SSE_INT_LIST(SSE_INT)
SSE(pslldq, "pslldq $5, %%xmm0")
SSE(psrldq, "psrldq $11, %%xmm0")
SSE(pshufd, "pshufd $0x1b, %%xmm1, %%xmm0")
SSE(pshuflw, "pshuflw $0xe4, %%xmm1, %%xmm0\n\tpshufhw $0x4e, %%xmm0, %%xmm0")
SSE(palignr, "palignr $7, %%xmm1, %%xmm0")
SSE(pblendw, "pblendw $0xa5, %%xmm1, %%xmm0")
SSE(blendvps, "movdqa %%xmm0, %%xmm2\n\tmovdqa %%xmm1, %%xmm0\n\tblendvps %%xmm0, %%xmm1, %%xmm2\n\tmovdqa %%xmm2, %%xmm0")
SSE(pblendvb, "movdqa %%xmm0, %%xmm2\n\tmovdqa %%xmm1, %%xmm0\n\tpblendvb %%xmm0, %%xmm2, %%xmm1\n\tmovdqa %%xmm1, %%xmm0")
SSE(insertps, "insertps $0x9c, %%xmm1, %%xmm0")
SSE(mpsadbw, "mpsadbw $5, %%xmm1, %%xmm0")
SSE(pextr, "pextrb $13, %%xmm1, %%eax\n\tpextrw $5, %%xmm1, %%ecx\n\tshl $16, %%rcx\n\tor %%rcx, %%rax\n\tpextrq $1, %%xmm1, %%rcx\n\txor %%rcx, %%rax\n\tpinsrq $1, %%rax, %%xmm0\n\tpinsrb $3, %%eax, %%xmm0")
SSE(extractps, "extractps $2, %%xmm1, %%eax\n\tpinsrd $0, %%eax, %%xmm0")
SSE(ptest, "ptest %%xmm1, %%xmm0\n\tpushfq\n\tpop %%rax\n\tmovq %%rax, %%xmm0")
SSE(pcmpestri, "mov $9, %%eax\n\tmov $13, %%edx\n\tpcmpestri $0x0c, %%xmm1, %%xmm0\n\tpushfq\n\tpop %%rax\n\tmovq %%rax, %%xmm0\n\tpinsrd $2, %%ecx, %%xmm0")
SSE(pcmpistri, "pcmpistri $0x44, %%xmm1, %%xmm0\n\tpushfq\n\tpop %%rax\n\tmovq %%rax, %%xmm0\n\tpinsrd $2, %%ecx, %%xmm0")
SSE(pcmpistrm, "pcmpistrm $0x40, %%xmm1, %%xmm0\n\tpushfq\n\tpop %%rax\n\tpinsrq $1, %%rax, %%xmm0")
SSE(pcmpestrm, "mov $-5, %%eax\n\tmov $16, %%edx\n\tpcmpestrm $0x1a, %%xmm1, %%xmm0\n\tpushfq\n\tpop %%rax\n\tpinsrq $1, %%rax, %%xmm0")
SSE(crc32, "movq %%xmm0, %%rax\n\tmovq %%xmm1, %%rcx\n\tcrc32b %%cl, %%eax\n\tcrc32w %%cx, %%eax\n\tcrc32l %%ecx, %%eax\n\tcrc32q %%rcx, %%rax\n\tmovq %%rax, %%xmm0")
SSE(movmsk, "movmskps %%xmm1, %%eax\n\tmovmskpd %%xmm0, %%ecx\n\tshl $4, %%ecx\n\tor %%ecx, %%eax\n\tpmovmskb %%xmm1, %%ecx\n\tshl $8, %%ecx\n\tor %%ecx, %%eax\n\tmovd %%eax, %%xmm0")

typedef void (*fsse)(const void *, const void *, void *, u32 *);

static const u64 dvals[] = {
	0, 0x8000000000000000ull, 0x3ff0000000000000ull /* 1 */, 0xbff8000000000000ull /* -1.5 */,
	0x3fd5555555555555ull /* 1/3 */, 0x0000000000000001ull /* min denormal */,
	0x000fffffffffffffull /* max denormal */, 0x0010000000000000ull /* DBL_MIN */,
	0x7fefffffffffffffull /* DBL_MAX */, 0x7ff0000000000000ull, 0xfff0000000000000ull,
	0x7ff8000000000000ull /* qNaN */, 0x7ff0000000000001ull /* sNaN */,
	0xfff8000000001234ull /* -qNaN with payload */, 0x43e0000000000000ull /* 2^63 */,
	0xc1e0000000200000ull /* -2^31 - 1 */, 0x4340000000000001ull /* 2^53 + 2 */,
	0x3810000000000000ull /* rounds to a float denormal */, 0x47efffffe0000000ull /* FLT_MAX + */,
	0x41dfffffffc00000ull /* 2^31 - 1 */, 0x4004000000000000ull /* 2.5 */,
};
static const u32 fvals[] = {
	0, 0x80000000, 0x3f800000, 0xbfc00000, 0x3eaaaaab, 0x00000001, 0x007fffff, 0x00800000,
	0x7f7fffff, 0x7f800000, 0xff800000, 0x7fc00000, 0x7f800001, 0xffc01234, 0x5f000000,
	0xcf000001, 0x4b800001, 0x3f000000, 0x40200000, 0x4effffff, 0xc0600000,
};
#define ND (int)(sizeof(dvals) / sizeof(dvals[0]))
#define NF (int)(sizeof(fvals) / sizeof(fvals[0]))

/* MXCSR: the four rounding modes, each with and without FTZ+DAZ. */
static u32 mxcsr_mode(int m)
{
	return 0x1f80 | (u32)(m & 3) << 13 | (m & 4 ? 0x8040 : 0);
}

static void sse_case(const char *n, fsse f, const u64 a[2], const u64 b[2], int mode)
{
	u64 r[2];
	u32 mx = mxcsr_mode(mode);
	f(a, b, r, &mx);
	rec(n, mode, a[0], b[0], a[1] ^ b[1], r[0], r[1], mx);
}

static void test_sse(void)
{
	static const struct {
		const char *n;
		fsse f;
		int d; /* lanes of doubles (1) or floats (0) */
	} fp[] = {
		{ "addss", addss, 0 }, { "addsd", addsd, 1 }, { "addps", addps, 0 }, { "addpd", addpd, 1 },
		{ "subss", subss, 0 }, { "subsd", subsd, 1 }, { "subps", subps, 0 }, { "subpd", subpd, 1 },
		{ "mulss", mulss, 0 }, { "mulsd", mulsd, 1 }, { "mulps", mulps, 0 }, { "mulpd", mulpd, 1 },
		{ "divss", divss, 0 }, { "divsd", divsd, 1 }, { "divps", divps, 0 }, { "divpd", divpd, 1 },
		{ "minss", minss, 0 }, { "minsd", minsd, 1 }, { "minps", minps, 0 }, { "minpd", minpd, 1 },
		{ "maxss", maxss, 0 }, { "maxsd", maxsd, 1 }, { "maxps", maxps, 0 }, { "maxpd", maxpd, 1 },
		{ "sqrtss", sqrtss, 0 }, { "sqrtsd", sqrtsd, 1 }, { "sqrtps", sqrtps, 0 }, { "sqrtpd", sqrtpd, 1 },
		{ "cmpltps", cmpltps, 0 }, { "cmpunordsd", cmpunordsd, 1 }, { "cmpnleps", cmpnleps, 0 },
		{ "cmpeqpd", cmpeqpd, 1 }, { "cmpordss", cmpordss, 0 }, { "cmpneqsd", cmpneqsd, 1 },
		{ "comisd", comisd, 1 }, { "ucomiss", ucomiss, 0 },
		{ "cvtsd2ss", cvtsd2ss, 1 }, { "cvtss2sd", cvtss2sd, 0 }, { "cvtpd2ps", cvtpd2ps, 1 },
		{ "cvtps2pd", cvtps2pd, 0 }, { "cvtps2dq", cvtps2dq, 0 }, { "cvttps2dq", cvttps2dq, 0 },
		{ "cvtpd2dq", cvtpd2dq, 1 }, { "cvttpd2dq", cvttpd2dq, 1 }, { "cvtsd2si", cvtsd2si, 1 },
		{ "cvttsd2si", cvttsd2si, 1 }, { "cvtss2si", cvtss2si, 0 }, { "cvttss2si", cvttss2si, 0 },
		{ "roundss", roundss_m, 0 }, { "roundsd", roundsd_n, 1 }, { "roundps_d", roundps_d, 0 },
		{ "roundpd_u", roundpd_u, 1 }, { "roundps_z", roundps_z, 0 }, { "roundpd_m", roundpd_m, 1 },
		{ "dpps", dpps, 0 }, { "dppd", dppd, 1 }, { "haddps", haddps, 0 }, { "addsubpd", addsubpd, 1 },
	};
	if (begin("sse-fp")) {
		for (unsigned o = 0; o < sizeof(fp) / sizeof(fp[0]); o++)
			for (int i = 0; i < (fp[o].d ? ND : NF); i++)
				for (int j = 0; j < (fp[o].d ? ND : NF); j++)
					for (int m = 0; m < 8; m += (i + j) % 3 ? 3 : 1) {
						u64 a[2], b[2];
						if (fp[o].d) {
							a[0] = dvals[i], a[1] = dvals[(i + 5) % ND];
							b[0] = dvals[j], b[1] = dvals[(j + 7) % ND];
						} else {
							a[0] = fvals[i] | (u64)fvals[(i + 3) % NF] << 32;
							a[1] = fvals[(i + 5) % NF] | (u64)fvals[(i + 11) % NF] << 32;
							b[0] = fvals[j] | (u64)fvals[(j + 2) % NF] << 32;
							b[1] = fvals[(j + 9) % NF] | (u64)fvals[(j + 13) % NF] << 32;
						}
						sse_case(fp[o].n, fp[o].f, a, b, m);
					}
		/* integer to floating point conversions */
		static const struct {
			const char *n;
			fsse f;
		} ic[] = { { "cvtdq2ps", cvtdq2ps }, { "cvtdq2pd", cvtdq2pd }, { "cvtsi2sd", cvtsi2sd },
			   { "cvtsi2ss", cvtsi2ss } };
		for (int o = 0; o < 4; o++)
			for (int i = 0; i < NV; i++)
				for (int m = 0; m < 4; m++) {
					u64 a[2] = { 0x1111111111111111ull, 0x2222222222222222ull };
					u64 b[2] = { vals[i], vals[(i + 3) % NV] };
					sse_case(ic[o].n, ic[o].f, a, b, m);
				}
		end();
	}
	static const struct {
		const char *n;
		fsse f;
	} in[] = {
#define SSE_ENT(op) { #op, op },
		SSE_INT_LIST(SSE_ENT)
		SSE_ENT(pslldq) SSE_ENT(psrldq) SSE_ENT(pshufd) SSE_ENT(pshuflw) SSE_ENT(palignr)
		SSE_ENT(pblendw) SSE_ENT(blendvps) SSE_ENT(pblendvb) SSE_ENT(insertps) SSE_ENT(mpsadbw)
		SSE_ENT(pextr) SSE_ENT(extractps) SSE_ENT(ptest) SSE_ENT(pcmpestri) SSE_ENT(pcmpistri)
		SSE_ENT(pcmpistrm) SSE_ENT(pcmpestrm) SSE_ENT(crc32) SSE_ENT(movmsk)
	};
	if (begin("sse-int")) {
		for (unsigned o = 0; o < sizeof(in) / sizeof(in[0]); o++)
			for (int i = 0; i < NV; i += 2)
				for (int j = 0; j < NV; j++) {
					u64 a[2] = { vals[i], vals[(i + 7) % NV] * 0x9e3779b97f4a7c15ull };
					u64 b[2] = { vals[j], vals[(j + 4) % NV] ^ 0x0102030405060708ull };
					if (j & 1) /* shift counts that stay in range */
						b[0] &= 0x3f;
					if (j % 3 == 0) /* strings with a NUL for the implicit-length compares */
						b[1] &= 0xffffff00ffffffffull;
					u64 r[2];
					u32 mx = 0x1f80;
					in[o].f(a, b, r, &mx);
					u64 fm = in[o].f == ptest ? ZF | CF :
						 in[o].f == pcmpestri || in[o].f == pcmpistri || in[o].f == pcmpistrm ||
								 in[o].f == pcmpestrm ? ST : ~0ull;
					if (fm != ~0ull) { /* keep the defined flags of the RFLAGS image */
						if (in[o].f == pcmpistrm || in[o].f == pcmpestrm)
							r[1] &= fm;
						else
							r[0] &= fm;
					}
					rec(in[o].n, 128, a[0] ^ a[1], b[0] ^ b[1], 0, r[0], r[1], mx);
				}
		end();
	}
}

/* -------------------------------------------------------------- x87 */

struct x87r {
	u8 st[10];
	u16 sw;
};

/* Load a and b (doubles, b first so a is ST0), set the control word, run
 * the operation, store ST0 as an 80-bit value and the status word; the
 * FPU is reset to its default state after. */
#define X87(name, text)                                                                           \
	static void name(const u64 *a, const u64 *b, u16 cw, struct x87r *r)                      \
	{                                                                                         \
		__asm__ volatile("fninit\n\tfldcw %[cw]\n\tfldl (%[b])\n\tfldl (%[a])\n\t" text       \
				 "\n\tfnstsw %[sw]\n\tfstpt (%[r])\n\tfninit"                         \
				 : [sw] "=m"(r->sw)                                               \
				 : [a] "r"(a), [b] "r"(b), [r] "r"(r->st), [cw] "m"(cw)           \
				   : "memory", "cc", "rax", "rcx");                                        \
	}
X87(f_add, "faddp")
X87(f_sub, "fsubp")
X87(f_subr, "fsubrp")
X87(f_mul, "fmulp")
X87(f_div, "fdivp")
X87(f_divr, "fdivrp")
X87(f_sqrt, "fsqrt")
X87(f_rndint, "frndint")
X87(f_prem, "fprem")
X87(f_prem1, "fprem1")
X87(f_scale, "fscale")
X87(f_abs, "fabs\n\tfchs")
X87(f_xtract, "fxtract\n\tfaddp")
X87(f_addm, "faddl (%[b])")
X87(f_divs, "fdivs (%[b])")
X87(f_comi, "fcomi %%st(1), %%st\n\tpushfq\n\tfucomip %%st(1), %%st\n\tpushfq\n\tpop %%rax\n\tand $0x8d5, %%eax\n\tshl $12, %%rax\n\tpop %%rcx\n\tand $0x8d5, %%ecx\n\tor %%rcx, %%rax\n\tpush %%rax\n\tfildq (%%rsp)\n\tpop %%rax")
X87(f_com, "xor %%eax, %%eax\n\tfcom\n\tfnstsw %%ax\n\tshl $16, %%rax\n\tfucom\n\tfnstsw %%ax\n\tshl $16, %%rax\n\tfxam\n\tfnstsw %%ax\n\tpush %%rax\n\tfildq (%%rsp)\n\tpop %%rax")
X87(f_fist, "push $0\n\tfistl (%%rsp)\n\tfistps 4(%%rsp)\n\tfildq (%%rsp)\n\tpop %%rax")
X87(f_fist64, "push %%rax\n\tfistpll (%%rsp)\n\tfildq (%%rsp)\n\tfxch\n\tfisttpll (%%rsp)\n\tfildq (%%rsp)\n\tfaddp\n\tpop %%rax")
X87(f_fsts, "push %%rax\n\tfsts (%%rsp)\n\tfstpl (%%rsp)\n\tfildq (%%rsp)\n\tpop %%rax")
X87(f_const, "fldpi\n\tfaddp\n\tfldl2e\n\tfmulp\n\tfldln2\n\tfaddp")

static void test_x87(void)
{
	static const struct {
		const char *n;
		void (*f)(const u64 *, const u64 *, u16, struct x87r *);
		u16 swmask;
	} xo[] = {
		/* SDM vol. 1 8.1.3: after arithmetic C0, C2, C3 are undefined;
		 * C1 tells a rounding up; FPREM/FPREM1 define all four. */
		{ "fadd", f_add, 0x27f }, { "fsub", f_sub, 0x27f }, { "fsubr", f_subr, 0x27f },
		{ "fmul", f_mul, 0x27f }, { "fdiv", f_div, 0x27f }, { "fdivr", f_divr, 0x27f },
		{ "fsqrt", f_sqrt, 0x27f }, { "frndint", f_rndint, 0x27f }, { "fprem", f_prem, 0x477f },
		{ "fprem1", f_prem1, 0x477f }, { "fscale", f_scale, 0x27f }, { "fabs", f_abs, 0x27f },
		{ "fxtract", f_xtract, 0x7f }, { "faddm", f_addm, 0x27f }, { "fdivs", f_divs, 0x27f },
		{ "fcomi", f_comi, 0x7f }, { "fcom", f_com, 0x7f }, { "fist", f_fist, 0x7f },
		{ "fist64", f_fist64, 0x7f }, { "fsts", f_fsts, 0x7f }, { "fconst", f_const, 0x7f },
	};
	if (!begin("x87"))
		return;
	for (unsigned o = 0; o < sizeof(xo) / sizeof(xo[0]); o++)
		for (int i = 0; i < ND; i++)
			for (int j = 0; j < ND; j++)
				for (int m = 0; m < 12; m += (i + j) % 4 ? 5 : 1) {
					/* rounding control m & 3, precision control 24/53/64 bits */
					static const u16 pc[3] = { 0x000, 0x200, 0x300 };
					u16 cw = (u16)(0x037f & ~0x300) | pc[m / 4] | (u16)(m & 3) << 10;
					struct x87r r;
					u64 a = dvals[i], b = dvals[j];
					if (xo[o].f == f_fist || xo[o].f == f_fist64) /* integers in range too */
						b = 0x41d0000000000000ull + (u64)j * 0x0003000000000000ull;
					memset(&r, 0, sizeof(r));
					xo[o].f(&a, &b, cw, &r);
					u64 lo, hi = 0;
					memcpy(&lo, r.st, 8);
					memcpy(&hi, r.st + 8, 2);
					rec(xo[o].n, m, a, b, cw, lo, hi, r.sw & xo[o].swmask);
				}
	end();
}


/* ------------------------------------------------ flag producer chains */

/* A flag producer (CMP, or POPF of any flag image), then a second
 * instruction that sets some flags and keeps others (INC keeps CF, a shift
 * by 0 keeps everything, BT sets only CF...), then every condition read
 * straight from the flags: SETcc, Jcc, ADC/SBB, CMOVcc, with no PUSHF in
 * between, so a translator's lazy or fused flags are what is checked. */
#define CHAIN_READ                                                                                  \
	"seto 0(%[o])\n\tsetno 1(%[o])\n\tsetb 2(%[o])\n\tsetae 3(%[o])\n\tsete 4(%[o])\n\t"         \
	"setne 5(%[o])\n\tsetbe 6(%[o])\n\tseta 7(%[o])\n\tsets 8(%[o])\n\tsetns 9(%[o])\n\t"        \
	"setp 10(%[o])\n\tsetnp 11(%[o])\n\tsetl 12(%[o])\n\tsetge 13(%[o])\n\tsetle 14(%[o])\n\t"  \
	"setg 15(%[o])\n\tjbe 1f\n\tmovb $1, 16(%[o])\n1:\tjl 2f\n\tmovb $1, 17(%[o])\n2:\t"        \
	"jo 3f\n\tmovb $1, 18(%[o])\n3:\tjp 4f\n\tmovb $1, 19(%[o])\n4:\t"                             \
	"mov $0, %%eax\n\tadc $0, %%eax\n\tmov %%al, 20(%[o])\n\tmov $5, %%eax\n\tsbb $1, %%eax\n\t" \
	"mov %%al, 21(%[o])\n\tmov $7, %%eax\n\tmov $9, %%edx\n\tcmovg %%edx, %%eax\n\tmov %%al, 22(%[o])\n\t" \
	"mov $7, %%eax\n\tcmovae %%edx, %%eax\n\tmov %%al, 23(%[o])"
#define CHAIN(name, p2)                                                                               \
	static void name##_c(u64 a, u64 b, u64 c, u64 d, u8 *o)                                     \
	{                                                                                            \
		__asm__ volatile("cmp %[b], %[a]\n\t" p2 "\n\t" CHAIN_READ                           \
				 : [d] "+r"(d), "+c"(c)                                              \
				 : [a] "r"(a), [b] "r"(b), [o] "r"(o)                                \
				 : "cc", "memory", "rax", "rdx");                                    \
		memcpy(o + 24, &d, 8);                                                               \
	}                                                                                            \
	static void name##_p(u64 a, u64 b, u64 c, u64 d, u8 *o)                                     \
	{                                                                                            \
		(void)b;                                                                             \
		__asm__ volatile("push %[a]\n\tpopfq\n\t" p2 "\n\t" CHAIN_READ                       \
				 : [d] "+r"(d), "+c"(c)                                              \
				 : [a] "r"(a), [o] "r"(o)                                            \
				 : "cc", "memory", "rax", "rdx");                                    \
		memcpy(o + 24, &d, 8);                                                               \
	}
CHAIN(ch_none, "")
CHAIN(ch_inc, "incl %k[d]")
CHAIN(ch_dec, "decq %q[d]")
CHAIN(ch_incb, "incb %b[d]")
CHAIN(ch_neg, "negw %w[d]")
CHAIN(ch_not, "notq %q[d]")
CHAIN(ch_shl, "shlq %%cl, %q[d]")
CHAIN(ch_shr, "shrl %%cl, %k[d]")
CHAIN(ch_sar, "sarb %%cl, %b[d]")
CHAIN(ch_rol, "rolq %%cl, %q[d]")
CHAIN(ch_ror, "rorw %%cl, %w[d]")
CHAIN(ch_rcl, "rcll %%cl, %k[d]")
CHAIN(ch_rcr, "rcrb %%cl, %b[d]")
CHAIN(ch_shl1, "shlq $1, %q[d]")
CHAIN(ch_sar1, "sarl $1, %k[d]")
CHAIN(ch_rol1, "rolb $1, %b[d]")
CHAIN(ch_shld, "shldq %%cl, %q[d], %q[d]")
CHAIN(ch_bt, "btq %%rcx, %q[d]")
CHAIN(ch_bts, "btsl $3, %k[d]")
CHAIN(ch_imul, "imulq %%rcx, %q[d]")
CHAIN(ch_adcx, "adcxq %%rcx, %q[d]")
CHAIN(ch_adox, "adoxl %%ecx, %k[d]")
CHAIN(ch_adc, "adcq %%rcx, %q[d]")
CHAIN(ch_sbb, "sbbw %%cx, %w[d]")
CHAIN(ch_and, "andq %%rcx, %q[d]")
CHAIN(ch_test, "testb %%cl, %b[d]")
CHAIN(ch_lea, "leaq 1(%q[d],%%rcx,2), %q[d]")
CHAIN(ch_popcnt, "popcntq %%rcx, %q[d]")
CHAIN(ch_tzcnt, "tzcntl %%ecx, %k[d]")
CHAIN(ch_bsf, "bsfq %%rcx, %q[d]")
CHAIN(ch_andn, "andnq %%rcx, %q[d], %q[d]")
CHAIN(ch_sarx, "sarxq %%rcx, %q[d], %q[d]")
CHAIN(ch_xadd, "xaddq %%rcx, %q[d]")
CHAIN(ch_cmpxchg, "mov %%rcx, %%rax\n\tcmpxchgl %%ecx, %k[d]")
CHAIN(ch_sahf, "mov %k[d], %%eax\n\tshl $8, %%eax\n\tsahf")

static void test_chain(void)
{
	typedef void (*fch)(u64, u64, u64, u64, u8 *);
	/* which flags each second instruction leaves defined, as a function
	 * of its count (c) for the shifts */
	enum { K_ALL, K_LOGIC, K_SHIFT, K_ROT, K_SHIFT1, K_ROT1, K_DSH, K_BT, K_MUL, K_CFONLY, K_OFONLY,
	       K_BSF, K_ZFCF, K_BMI, K_SAHF };
	static const struct {
		const char *n;
		fch f[2];
		int kind, bits;
	} ch[] = {
#define CH(x, k, b) { #x, { ch_##x##_c, ch_##x##_p }, k, b },
		CH(none, K_ALL, 0) CH(inc, K_ALL, 0) CH(dec, K_ALL, 0) CH(incb, K_ALL, 0) CH(neg, K_ALL, 0)
		CH(not, K_ALL, 0) CH(shl, K_SHIFT, 64) CH(shr, K_SHIFT, 32) CH(sar, K_SHIFT, 8)
		CH(rol, K_ROT, 64) CH(ror, K_ROT, 16) CH(rcl, K_ROT, 32) CH(rcr, K_ROT, 8)
		CH(shl1, K_SHIFT1, 64) CH(sar1, K_SHIFT1, 32) CH(rol1, K_ROT1, 8) CH(shld, K_DSH, 64)
		CH(bt, K_BT, 0) CH(bts, K_BT, 0) CH(imul, K_MUL, 0) CH(adcx, K_CFONLY, 0)
		CH(adox, K_OFONLY, 0) CH(adc, K_ALL, 0) CH(sbb, K_ALL, 0) CH(and, K_LOGIC, 0)
		CH(test, K_LOGIC, 0) CH(lea, K_ALL, 0) CH(popcnt, K_ALL, 0) CH(tzcnt, K_ZFCF, 0)
		CH(bsf, K_BSF, 0) CH(andn, K_BMI, 0) CH(sarx, K_ALL, 0) CH(xadd, K_ALL, 0)
		CH(cmpxchg, K_ALL, 0) CH(sahf, K_SAHF, 0)
	};
	/* the flags each of the 24 readers reads */
	static const u64 rd[24] = { OF, OF, CF, CF, ZF, ZF, CF | ZF, CF | ZF, SF, SF, PF, PF,
				    SF | OF, SF | OF, ZF | SF | OF, ZF | SF | OF, CF | ZF, SF | OF, OF, PF,
				    CF, CF, ZF | SF | OF, CF };
	static const u64 cs[] = { 0, 1, 2, 7, 8, 9, 16, 31, 32, 33, 63, 64, 0x8000000000000000ull };
	if (!begin("flags-chain"))
		return;
	for (unsigned o = 0; o < sizeof(ch) / sizeof(ch[0]); o++)
		for (int pf = 0; pf < 2; pf++)
			for (int i = pf; i < NV; i += pf ? 2 : 3)
				for (int j = 0; j < NV; j += 3)
					for (unsigned k = 0; k < sizeof(cs) / sizeof(cs[0]); k++) {
						u8 out[32];
						memset(out, 0xee, sizeof(out));
						/* POPF form: a = a flag image built from vals[i] */
						u64 a = pf ? ((vals[i] * 0x2545f4914f6cdd1dull) >> 20 & ST) | 2 : vals[i];
						u64 c = cs[k], d = vals[j];
						ch[o].f[pf](a, vals[(i + j) % NV], c, d, out);
						unsigned mc = (unsigned)c & (ch[o].bits == 64 ? 63 : 31);
						u64 def;
						switch (ch[o].kind) {
						case K_LOGIC: def = ST & ~AF; break;
						case K_SHIFT: def = shift_mask(0, ch[o].bits, (unsigned)c); break;
						case K_ROT: def = shift_mask(1, ch[o].bits, (unsigned)c); break;
						case K_SHIFT1: def = ST & ~AF; break;
						case K_ROT1: def = ST; break;
						case K_DSH: def = mc ? shift_mask(0, 64, (unsigned)c) | CF : ST; break;
						case K_BT: def = CF; break;
						case K_MUL: def = CF | OF; break;
						case K_BSF: def = ZF; break;
						case K_ZFCF: def = ZF | CF; break;
						case K_BMI: def = ZF | SF | CF | OF; break;
						case K_SAHF: def = CF | PF | ZF | SF | OF; break;
						default: def = ST; break;
						}
						u64 r1 = 0, r2 = 0;
						for (int x = 0; x < 24; x++) {
							u64 v = (rd[x] & ~def) ? 0xff : out[x];
							if (x < 12)
								r1 = r1 << 5 ^ v;
							else
								r2 = r2 << 5 ^ v;
						}
						u64 res;
						memcpy(&res, out + 24, 8);
						if (ch[o].kind == K_BSF && !(c))
							res = 0;
						rec(ch[o].n, pf, a, d, c, r1 ^ res * 3, r2, 0);
					}
	end();
}


/* ------------------------------------------------------------ faults */

/* A faulting instruction after a few that change registers and flags in
 * the same block: the signal's context must show the state just before
 * the faulting instruction (issue 9 item 2: precise at every fault), with
 * RIP on it (after it for INT3), and a REP string instruction stopped at
 * the faulting element with RCX/RSI/RDI telling its progress.  Alignment
 * checking (#AC: CR0.AM, which Linux sets, with EFLAGS.AC=1 at CPL 3: a
 * SIGBUS, BUS_ADRALN, trap 17) for a misaligned load, store, PUSH and REP
 * MOVS, and the same with AC clear or aligned (no fault).  16-byte SSE
 * moves are left out: AMD checks MOVUPS with AC, Intel does not. */
#include <sys/mman.h>
#include <ucontext.h>

struct fregs {
	u64 rax, rbx, rcx, rdx, rsi, rdi, fl;
};
static u64 flab;
static sigjmp_buf fault_jmp;
static struct {
	int sig, code;
	u64 addr, rip, err, trapno;
	struct fregs r;
} fr;

static void on_fault(int sig, siginfo_t *si, void *ucv)
{
	/* the handler runs with the interrupted AC: clear it first */
	__asm__ volatile("pushfq\n\tandl $~0x40000, (%%rsp)\n\tpopfq" : : : "cc", "memory");
	ucontext_t *uc = ucv;
	greg_t *g = uc->uc_mcontext.gregs;
	fr.sig = sig;
	fr.code = si->si_code;
	fr.addr = (u64)si->si_addr;
	fr.rip = (u64)g[REG_RIP];
	fr.err = (u64)g[REG_ERR];
	fr.trapno = (u64)g[REG_TRAPNO];
	fr.r.rax = (u64)g[REG_RAX];
	fr.r.rbx = (u64)g[REG_RBX];
	fr.r.rcx = (u64)g[REG_RCX];
	fr.r.rdx = (u64)g[REG_RDX];
	fr.r.rsi = (u64)g[REG_RSI];
	fr.r.rdi = (u64)g[REG_RDI];
	fr.r.fl = (u64)g[REG_EFL];
	siglongjmp(fault_jmp, 1);
}

/* label 9 marks the instruction that should fault; a case that does not
 * fault returns its registers normally */
#define FAULT(name, text)                                                                        \
	static void name(struct fregs *r)                                                        \
	{                                                                                        \
		__asm__ volatile("lea 9f(%%rip), %%r8\n\tmov %%r8, %[lab]\n\tpush %[fl]\n\tpopfq\n\t" \
				 text "\n\tpushfq\n\tpop %[fl]\n\tcld\n\tpushfq\n\t"                \
				 "andl $~0x40000, (%%rsp)\n\tpopfq"                                \
				 : "+a"(r->rax), "+b"(r->rbx), "+c"(r->rcx), "+d"(r->rdx),          \
				   "+S"(r->rsi), "+D"(r->rdi), [fl] "+r"(r->fl), [lab] "=m"(flab)   \
				 :                                                                  \
				 : "r8", "r11", "cc", "memory");                                    \
	}
FAULT(f_de, "add $0x11, %%ecx\n\tcmp %%ecx, %%eax\n\tlea 3(%%rax), %%rsi\n9:\tdivl %%ebx\n\tmov $1, %%edi")
FAULT(f_de64, "inc %%rsi\n\tsub $1, %%rdi\n9:\tidivq %%rbx\n\tmov $1, %%edi")
FAULT(f_pfr, "inc %%rcx\n\tshl $3, %%rax\n\tadc %%rax, %%rsi\n9:\tmov (%%rbx), %%rdx\n\tmov $1, %%edi")
FAULT(f_pfw, "add %%rax, %%rcx\n\tsetc %%dl\n\tneg %%rsi\n9:\tmov %%ecx, 0x20(%%rbx)\n\tmov $1, %%edi")
FAULT(f_pfx, "sub %%rax, %%rcx\n\tcall *%%rbx\n9:\tnop")
FAULT(f_movsb, "add $1, %%eax\n9:\trep movsb")
FAULT(f_movsq, "sub $1, %%eax\n9:\trep movsq")
FAULT(f_stosl, "std\n\tinc %%eax\n9:\trep stosl")
FAULT(f_cmpsb, "cmp %%eax, %%ebx\n9:\trepe cmpsb")
FAULT(f_ud2, "add %%rax, %%rbx\n9:\tud2")
FAULT(f_int3, "add %%rax, %%rdx\n\tsbb %%rcx, %%rsi\n9:\tint3\n\tmov $1, %%edi")
FAULT(f_hlt, "rcl $1, %%rax\n9:\thlt")
FAULT(f_noncanon, "sub %%rcx, %%rdx\n9:\tmov (%%rbx), %%rax")
FAULT(f_movaps, "add %%rcx, %%rax\n9:\tmovaps (%%rbx), %%xmm3")
FAULT(f_xm, "inc %%ecx\n\tldmxcsr (%%rsi)\n\tmovss (%%rdi), %%xmm1\n\txorps %%xmm2, %%xmm2\n9:\tdivss %%xmm2, %%xmm1\n\tmov $1, %%edi")
FAULT(f_syscall, "mov $39, %%eax\n\tsyscall\n9:\tmov %%r11, %%rdx\n\tmov $0, %%eax")
/* #AC: AC comes in with fl (cases 17-20) */
FAULT(f_acld, "add $3, %%ecx\n9:\tmov (%%rbx), %%eax\n\tmov $1, %%edi")
FAULT(f_acst, "inc %%rax\n9:\tmov %%rcx, 2(%%rbx)\n\tmov $1, %%edi")
FAULT(f_acpush, "mov %%rsp, %%r8\n\tsub %%rsi, %%rsp\n\ttest %%esi, %%esi\n9:\tpush %%rax\n\tmov %%r8, %%rsp\n\tmov $1, %%edi")
FAULT(f_acmovs, "sub $2, %%eax\n9:\trep movsl")
FAULT(f_smc, "movb $0x48, (%%rbx)\n\tmov $5, %%ecx\n9:\tcall *%%rbx")

static void test_fault(void)
{
	if (!begin("fault"))
		return;
	u8 *pg = mmap(NULL, 5 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	u8 *code = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (pg == MAP_FAILED || code == MAP_FAILED) {
		printf("isa: mmap failed\n");
		exit(1);
	}
	/* pages: 0 none, 1 rw, 2 rw, 3 none, 4 read-only */
	mprotect(pg, 4096, PROT_NONE);
	mprotect(pg + 3 * 4096, 4096, PROT_NONE);
	for (int i = 4096; i < 3 * 4096; i++)
		pg[i] = (u8)(i * 7);
	mprotect(pg + 4 * 4096, 4096, PROT_READ);
	u64 P0 = (u64)pg, P1 = P0 + 4096, P2 = P1 + 4096, P3 = P2 + 4096, P4 = P3 + 4096;
	static u32 mx_zm = 0x1f80 & ~0x200u;
	static float one = 1.0f;
	struct sigaction sa, old[5];
	static const int sigs[5] = { SIGSEGV, SIGILL, SIGTRAP, SIGBUS, SIGFPE };
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_fault;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	for (int i = 0; i < 5; i++)
		sigaction(sigs[i], &sa, &old[i]);
	static const struct {
		const char *n;
		void (*f)(struct fregs *);
	} fc[] = {
		{ "de", f_de }, { "de64", f_de64 }, { "pf-read", f_pfr }, { "pf-write", f_pfw },
		{ "pf-exec", f_pfx }, { "rep-movsb", f_movsb }, { "rep-movsq", f_movsq },
		{ "rep-stosl-df", f_stosl }, { "repe-cmpsb", f_cmpsb }, { "ud2", f_ud2 }, { "int3", f_int3 },
		{ "hlt", f_hlt }, { "noncanonical", f_noncanon }, { "movaps", f_movaps }, { "xm", f_xm },
		{ "syscall", f_syscall }, { "smc", f_smc }, { "ac-load", f_acld }, { "ac-store", f_acst },
		{ "ac-push", f_acpush }, { "ac-movs", f_acmovs },
	};
	for (unsigned o = 0; o < sizeof(fc) / sizeof(fc[0]); o++)
		for (int v = 0; v < 3; v++) {
			u64 base = vals[v * 5 + 3];
			struct fregs r = { base, 0, base ^ 0x55, 0x1234, 0x100, 0x200, 2 | (v & 1 ? ST : 0) };
			volatile u64 reloc = 0; /* addresses reported relative to P0 */
			switch (o) {
			case 0: r.rbx = 0, r.rdx = 0; break;
			case 1: r.rax = 0x8000000000000000ull, r.rdx = ~0ull, r.rbx = ~0ull; break;
			case 2: r.rbx = P3 + 0x10 + (u64)v; reloc = 1; break;
			case 3: r.rbx = P4 + (u64)v * 8; reloc = 1; break;
			case 4: r.rbx = P3 + 0x40; reloc = 1; break;
			case 5: r.rsi = P1 + (u64)v, r.rdi = P2 + 1000, r.rcx = 5000; reloc = 1; break;
			case 6: r.rsi = P2 + 8 * (u64)v, r.rdi = P1, r.rcx = 1000; reloc = 1; break;
			case 7: r.rdi = P1 + 64 + (u64)v * 4, r.rcx = 100; reloc = 1; break;
			case 8: r.rsi = P2 + 4000, r.rdi = P2 + 4000, r.rcx = 500; reloc = 1; break;
			case 12: r.rbx = 0x8000000000000000ull + (u64)v; break;
			case 13: r.rbx = P1 + 8; reloc = 1; break;
			case 14: r.rsi = (u64)&mx_zm, r.rdi = (u64)&one; break;
			/* #AC: v 0 AC set and misaligned, 1 AC clear, 2 aligned */
			case 17: r.rbx = P1 + 0x21 - (v == 2); r.fl |= v == 1 ? 0 : 0x40000; reloc = 1; break;
			case 18: r.rbx = P1 + 0x40 + (v == 2 ? 6 : 0); r.fl |= v == 1 ? 0 : 0x40000; reloc = 1; break;
			case 19: r.rsi = v == 2 ? 0 : 4; r.fl |= v == 1 ? 0 : 0x40000; break;
			case 20: r.rsi = P1 + 0x102 - 2 * (v == 2), r.rdi = P2 + 0x80, r.rcx = 9;
				 r.fl |= v == 1 ? 0 : 0x40000; reloc = 1; break;
			case 16:
				/* a function whose first byte the case rewrites before
				 * calling it: REX.W turns "mov $-1, %eax" into a
				 * 64-bit sign-extended move */
				memcpy(code, "\x90\xc7\xc0\xff\xff\xff\xff\xc3", 8);
				__builtin___clear_cache((char *)code, (char *)code + 8);
				r.rbx = (u64)code;
				{ /* run it once first, so that it is hot/translated */
					u64 x;
					for (int k = 0; k < 100; k++)
						__asm__ volatile("call *%1" : "=a"(x) : "r"(code) : "memory", "cc");
				}
				break;
			}
			memset(&fr, 0, sizeof(fr));
			volatile u64 ok = 0;
			if (sigsetjmp(fault_jmp, 1) == 0) {
				fc[o].f(&r);
				ok = 1;
			} else {
				__asm__ volatile("cld\n\tldmxcsr %0" : : "m"(mx_default) : "cc");
				r = fr.r;
			}
			/* mmap addresses vary from run to run: relative to P0 (or
			 * to the code page); the program's own are fixed (static) */
			u64 rel = o == 16 ? (u64)code : reloc ? P0 : 0;
			u64 sx = fr.addr ? fr.addr - rel : 0;
			if ((fr.sig == SIGFPE || fr.sig == SIGILL || fr.sig == SIGBUS) && fr.addr) /* si_addr: the instruction */
				sx = fr.addr - flab;
			u64 rip = fr.sig ? fr.rip - (o == 4 ? P0 : flab) : 0;
			if (o == 2 || o == 3 || o == 4 || o == 13 || o == 16 || o == 17 || o == 18)
				r.rbx -= rel;
			int sd = (o >= 5 && o <= 8) || o == 20; /* RSI/RDI point into the pages */
			if (o == 14 || o == 15)
				r.fl &= ~0x10000ull;
			u64 rs = r.rsi - (sd && o != 7 ? rel : 0), rd = r.rdi - (sd ? rel : 0);
			if (o == 14) /* pointers to the program's statics */
				rs = rd = 0;
			if (o == 15) /* the syscall's return address and RCX/R11 */
				rs = r.rcx - flab, r.rcx = 0, r.rdx &= ST;
			rec(fc[o].n, v, ok, (u64)fr.sig | (u64)fr.code << 8 | fr.trapno << 16 | (fr.err & 7) << 24,
			    rip ^ sx << 8, r.rax ^ r.rbx * 3 ^ r.rcx * 5 ^ r.rdx * 7,
			    rs ^ rd << 20, r.fl & (ST | 0x400 | 0x40000));
			if (verbose)
				printf("  sig %d code %d addr %llx rip+%lld err %llx trap %llu\n", fr.sig, fr.code,
				       (unsigned long long)sx, (long long)rip, (unsigned long long)fr.err,
				       (unsigned long long)fr.trapno);
		}
	/* A store that rewrites the instruction right after it, in the same
	 * block: "movb $0x48, 0(%rip)" turns the following "nop; mov $-1,
	 * %eax" into "mov $-1, %rax" (SDM vol. 3A 11.6: a write to code about
	 * to run is seen by it).  The byte is put back between calls, so a
	 * translation made of the old bytes (or kept after the store) gives
	 * EAX = 0xffffffff instead. */
	static const u8 smc2[] = { 0xc6, 0x05, 0, 0, 0, 0, 0x48, 0x90, 0xc7, 0xc0, 0xff, 0xff, 0xff, 0xff, 0xc3 };
	for (int round = 0; round < 3; round++) {
		u64 acc = 0;
		memcpy(code, smc2, sizeof(smc2));
		for (int k = 0; k < 200; k++) {
			u64 x;
			code[7] = 0x90;
			__asm__ volatile("call *%1" : "=a"(x) : "r"(code) : "memory", "cc");
			acc = acc * 3 + x;
		}
		rec("smc-next", round, 0, 0, 0, acc, code[7], 0);
	}
	for (int i = 0; i < 5; i++)
		sigaction(sigs[i], &old[i], NULL);
	munmap(pg, 5 * 4096);
	munmap(code, 4096);
	end();
}

/* ------------------------------------------------------------- main */

static void cpuid(u32 leaf, u32 sub, u32 r[4])
{
	__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-v"))
			verbose = 1;
		else if (!strcmp(argv[i], "-g") && i + 1 < argc)
			only = argv[++i];
		else {
			fprintf(stderr, "usage: %s [-v] [-g GROUP]\n", argv[0]);
			return 2;
		}
	}
	/* What the groups need: SSE4.2 and POPCNT (leaf 1), BMI1/2 and ADX
	 * (leaf 7), LZCNT (0x80000001 ECX bit 5). */
	u32 l1[4], l7[4], e1[4];
	cpuid(1, 0, l1);
	cpuid(7, 0, l7);
	cpuid(0x80000001, 0, e1);
	int ok = (l1[2] >> 20 & 1) && (l1[2] >> 23 & 1) && (l1[2] >> 13 & 1) && (l7[1] >> 3 & 1) &&
		 (l7[1] >> 8 & 1) && (l7[1] >> 19 & 1) && (e1[2] >> 5 & 1);
	printf("isa: cpu sse4.2+popcnt+cx16+bmi1+bmi2+adx+lzcnt=%d\n", ok);
	if (!ok)
		return 1;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_fpe;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGFPE, &sa, NULL);

	test_alu2();
	test_alu1();
	test_shift();
	test_dshift();
	test_muldiv();
	test_bits();
	test_xchg();
	test_cc();
	test_chain();
	test_string();
	test_flags();
	test_ext();
	test_adx_bmi();
	test_sse();
	test_x87();
	test_fault();
	printf("isa: done\n");
	return 0;
}
