/* SSE floating point where the soft engine's translator keeps the guest's
 * MXCSR in the host's for a run of instructions (docs/soft-cpu.md,
 * "MXCSR"): known answers that depend on state the differential harness
 * does not vary between blocks.
 *
 *  simd-mxcsr-round  one code block, hot enough to be translated, run with
 *                    the rounding mode changed (LDMXCSR, another block)
 *                    between its runs: 1/3 in single precision rounds per
 *                    the mode each time, the sticky PE flag accumulates.
 *  simd-loop-round   a loop onto itself starting with MULSS (its MXCSR
 *                    checked and loaded once, before the body), the
 *                    rounding mode changed between the loop's runs.
 *  simd-xm-precise   the same block with ZM unmasked (CR4.OSXMMEXCPT): its
 *                    DIVSS by zero raises #XM at the DIVSS (precise RIP),
 *                    the ADDPS before it retired, the DIVSS's destination
 *                    untouched, MXCSR.ZE set; masked again, the block runs
 *                    natively once more.
 *
 * The guest's C code uses no XMM registers (-mgeneral-regs-only): the
 * operands live in XMM0-XMM3 between the asm statements. */
#include "guest.h"

#define CR0_MP (1u << 1)
#define CR0_EM (1u << 2)
#define CR0_TS (1u << 3)
#define CR4_OSFXSR (1u << 9)
#define CR4_OSXMMEXCPT (1u << 10)
#define MXCSR_ZE 0x04u
#define MXCSR_PE 0x20u
#define MXCSR_ZM 0x200u
#define MXCSR_RC_SHIFT 13
#define ROUNDS 64
#define F_43046720 0x4c2435d0u
#define F_43046724 0x4c2435d1u
#define F_14348907 0x4b5af26bu
/* more than the translator's threshold (SOFT_JIT_HOT): the blocks the
 * unmasked runs start (at the DIVSS: the one before leaves after the
 * ADDPS whose handler found ZM clear) get translated too */
#define XM_ROUNDS 40

static void sse_on(void)
{
	uintptr_t cr0 = (read_cr0() & ~(uintptr_t)(CR0_EM | CR0_TS)) | CR0_MP;
	__asm__ volatile("mov %0, %%cr0" : : "r"(cr0) : "memory");
	uintptr_t cr4 = read_cr4() | CR4_OSFXSR | CR4_OSXMMEXCPT;
	__asm__ volatile("mov %0, %%cr4" : : "r"(cr4) : "memory");
}

static __attribute__((noinline)) void set_mxcsr(uint32_t v)
{
	__asm__ volatile("ldmxcsr %0" : : "m"(v) : "memory");
}

static __attribute__((noinline)) uint32_t get_mxcsr(void)
{
	uint32_t v;
	__asm__ volatile("stmxcsr %0" : "=m"(v) : : "memory");
	return v;
}

/* The block under test: v[0..3] += w (ADDPS), q /= d (DIVSS at
 * simd_divss), v += w again; the results stored to io.  One asm statement
 * in a noinline function: one copy of the code, so its block gets hot. */
struct simd_io {
	float v[4], w[4];
	float q, d, pad[2];
};

extern const char simd_divss[];

static __attribute__((noinline)) void simd_block(struct simd_io *io)
{
	__asm__ volatile("movups 0(%0), %%xmm0\n\t"
			 "movups 16(%0), %%xmm1\n\t"
			 "movss 32(%0), %%xmm2\n\t"
			 "movss 36(%0), %%xmm3\n\t"
			 "addps %%xmm1, %%xmm0\n\t"
			 ".globl simd_divss\n"
			 "simd_divss:\n\t"
			 "divss %%xmm3, %%xmm2\n\t" /* F3 0F 5E D3: 4 bytes */
			 "addps %%xmm1, %%xmm0\n\t"
			 "movups %%xmm0, 0(%0)\n\t"
			 "movss %%xmm2, 32(%0)"
			 : : "r"(io) : "memory");
}

static uint32_t bits(float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	return u;
}

static void io_init(struct simd_io *io, float q, float d)
{
	static const struct simd_io init = { { 1.0f, 2.0f, 3.0f, 4.0f }, { 0.5f, 0.25f, 8.0f, -1.0f },
					     0, 0, { 0, 0 } };
	*io = init;
	io->q = q;
	io->d = d;
}

static void test_mxcsr_round(void)
{
	sse_on();
	/* 1/3 = 0x3eaaaaaa.aaa... in single precision: nearest and up give
	 * ...ab, down and toward zero ...aa (SDM vol. 1, 4.8.4) */
	static const uint32_t want[4] = { 0x3eaaaaab, 0x3eaaaaaa, 0x3eaaaaab, 0x3eaaaaaa };
	struct simd_io io;
	for (unsigned r = 0; r < ROUNDS; r++) {
		unsigned rc = r & 3;
		set_mxcsr(0x1f80u | rc << MXCSR_RC_SHIFT); /* flags clear, all masked */
		io_init(&io, 1.0f, 3.0f);
		simd_block(&io);
		uint32_t m = get_mxcsr();
		if (bits(io.q) != want[rc])
			GUEST_FAIL("1/3 rounded wrongly", r, rc, bits(io.q));
		if (!(m & MXCSR_PE) || (m & MXCSR_ZE) || ((m >> MXCSR_RC_SHIFT) & 3) != rc)
			GUEST_FAIL("MXCSR after the block", r, m);
		GUEST_ASSERT_EQ(bits(io.v[0]), bits(2.0f));
		GUEST_ASSERT_EQ(bits(io.v[3]), bits(2.0f));
		/* exact: no flag; the PE of the last round must not come back */
		set_mxcsr(0x1f80u | rc << MXCSR_RC_SHIFT);
		io_init(&io, 1.0f, 4.0f);
		simd_block(&io);
		m = get_mxcsr();
		if (bits(io.q) != bits(0.25f) || (m & 0x3f))
			GUEST_FAIL("1/4: exact, no flags", r, bits(io.q), m);
	}
	GUEST_SYNC("1/3 rounded per MXCSR.RC across translated runs", ROUNDS);
	set_mxcsr(0x1f80);
	GUEST_DONE();
}
GUEST_TEST("simd-mxcsr-round", test_mxcsr_round);

/* A loop onto itself that starts with a floating-point instruction (the
 * translator checks and loads MXCSR once before the loop's body): x *= 3
 * sixteen times.  3^15 is exact in single precision, 3^16 = 43046721 needs
 * 26 bits: to nearest (and down) 43046720, up 43046724, inexact. */
static __attribute__((noinline)) uint32_t mul3_loop(unsigned n)
{
	static const uint32_t one = 0x3f800000, three = 0x40400000; /* 1.0f, 3.0f */
	uint32_t r;
	__asm__ volatile("movss %1, %%xmm0\n\t"
			 "movss %2, %%xmm1\n"
			 "1:\tmulss %%xmm1, %%xmm0\n\t"
			 "dec %3\n\t"
			 "jnz 1b\n\t"
			 "movss %%xmm0, %0"
			 : "=m"(r) : "m"(one), "m"(three), "r"(n) : "cc", "memory");
	return r;
}

static void test_loop_round(void)
{
	sse_on();
	for (unsigned r = 0; r < ROUNDS; r++) {
		bool up = r & 1;
		set_mxcsr(0x1f80u | (up ? 2u : 0u) << MXCSR_RC_SHIFT);
		uint32_t f = mul3_loop(16);
		uint32_t m = get_mxcsr();
		if (f != (up ? F_43046724 : F_43046720) || !(m & MXCSR_PE))
			GUEST_FAIL("3^16 rounded wrongly in the loop", r, f, m);
		set_mxcsr(0x1f80u | (up ? 2u : 0u) << MXCSR_RC_SHIFT);
		f = mul3_loop(15);
		m = get_mxcsr();
		if (f != F_14348907 || (m & 0x3f))
			GUEST_FAIL("3^15 exact in the loop", r, f, m);
	}
	GUEST_SYNC("3^16 rounded per MXCSR.RC in a translated loop", ROUNDS);
	set_mxcsr(0x1f80);
	GUEST_DONE();
}
GUEST_TEST("simd-loop-round", test_loop_round);

static volatile unsigned xm_count;
static volatile uintptr_t xm_ip;

static void catch_xm(struct isr_frame *f)
{
	xm_count++;
	xm_ip = f->ip;
	f->ip += 4; /* skip the DIVSS */
}

static void test_xm_precise(void)
{
	sse_on();
	exc_set_handler(19, catch_xm);
	struct simd_io io;
	/* hot and translated with every exception masked: 1/0 = +inf, ZE */
	for (unsigned r = 0; r < ROUNDS; r++) {
		set_mxcsr(0x1f80);
		io_init(&io, 1.0f, 0.0f);
		simd_block(&io);
		GUEST_ASSERT_EQ(bits(io.q), 0x7f800000);
		GUEST_ASSERT(get_mxcsr() & MXCSR_ZE);
	}
	GUEST_ASSERT_EQ(xm_count, 0);
	/* ZM unmasked: #XM at the DIVSS; the ADDPS before it retired (v + w,
	 * then the second ADDPS after the handler skipped the DIVSS: v + 2w),
	 * XMM2 keeps the dividend */
	for (unsigned r = 0; r < XM_ROUNDS; r++) {
		set_mxcsr(0x1f80 & ~MXCSR_ZM);
		io_init(&io, 1.0f, 0.0f);
		simd_block(&io);
		uint32_t m = get_mxcsr();
		if (xm_count != r + 1 || xm_ip != (uintptr_t)simd_divss)
			GUEST_FAIL("#XM not at the DIVSS", r, xm_count, xm_ip, (uintptr_t)simd_divss);
		if (bits(io.q) != bits(1.0f) || !(m & MXCSR_ZE))
			GUEST_FAIL("after #XM", r, bits(io.q), m);
		GUEST_ASSERT_EQ(bits(io.v[0]), bits(2.0f));
		GUEST_ASSERT_EQ(bits(io.v[1]), bits(2.5f));
		GUEST_ASSERT_EQ(bits(io.v[2]), bits(19.0f));
		GUEST_ASSERT_EQ(bits(io.v[3]), bits(2.0f));
	}
	/* masked again: no more #XM */
	set_mxcsr(0x1f80);
	io_init(&io, 1.0f, 0.0f);
	simd_block(&io);
	GUEST_ASSERT_EQ(xm_count, XM_ROUNDS);
	GUEST_ASSERT_EQ(bits(io.q), 0x7f800000);
	exc_set_handler(19, NULL);
	GUEST_SYNC("#XM at the DIVSS of a translated block", xm_count);
	GUEST_DONE();
}
GUEST_TEST("simd-xm-precise", test_xm_precise);
