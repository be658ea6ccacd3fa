/* ISA extensions: XSAVE family with XCR0 (XGETBV/XSETBV, XSAVE, XSAVEOPT,
 * XSAVEC, XRSTOR), BMI1/BMI2/ADX/LZCNT known answers, RDRAND/RDSEED,
 * RDTSCP/RDPID, and the CPUID model that advertises them.
 *
 * Built 32- and 64-bit: operands are 32-bit in both (the 64-bit forms are
 * covered differentially in tests/diff).  Faults the tests expect are
 * caught with exc_expect() (lib/idt.c): the handler records the vector and
 * error code and skips the instruction (its length is set by the test). */
#include "guest.h"

#define CR0_MP (1u << 1)
#define CR0_EM (1u << 2)
#define CR0_NE (1u << 5)
#define CR4_OSFXSR (1u << 9)
#define CR4_OSXMMEXCPT (1u << 10)
#define CR4_OSXSAVE (1u << 18)
#define MSR_TSC_AUX 0xc0000103u

struct cpuid_regs {
	uint32_t a, b, c, d;
};

static struct cpuid_regs cpuid2(uint32_t leaf, uint32_t sub)
{
	struct cpuid_regs r;
	__asm__ volatile("cpuid" : "=a"(r.a), "=b"(r.b), "=c"(r.c), "=d"(r.d) : "a"(leaf), "c"(sub));
	return r;
}

static void write_cr0(uintptr_t v)
{
	__asm__ volatile("mov %0, %%cr0" : : "r"(v) : "memory");
}

static void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}

/* ---- expected faults (exc_expect, lib/idt.c): #UD and #GP ---- */
#define ISA_FAULTS ((1u << 6) | (1u << 13))

/* Arm the catcher for an instruction of len bytes. */
static void expect_fault(unsigned len)
{
	exc_expect(len, ISA_FAULTS);
}

static void no_fault(void)
{
	exc_expect_none(ISA_FAULTS);
}

/* XSETBV/XGETBV: 0F 01 D1 / 0F 01 D0, 3 bytes */
static void xsetbv(uint32_t xcr, uint64_t v)
{
	__asm__ volatile("xsetbv" : : "c"(xcr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}

static uint64_t xgetbv(uint32_t xcr)
{
	uint32_t lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(xcr));
	return lo | (uint64_t)hi << 32;
}

/* x87 and SSE usable, with CR4.OSXSAVE */
static void enable_xsave(void)
{
	write_cr0((read_cr0() & ~(uintptr_t)CR0_EM) | CR0_MP | CR0_NE);
	write_cr4(read_cr4() | CR4_OSFXSR | CR4_OSXMMEXCPT | CR4_OSXSAVE);
}

/* The XSAVE areas live at 16 MiB (guest RAM is 32 MiB; identity-mapped by
 * head64, physical in the 32-bit images), outside every image: the low
 * images must end below 0x20000, where ringvm puts the command line.  A
 * standard-format area with PKRU is 2696 bytes (xbig). */
#define XBUF_SIZE 1024
#define XBIG_SIZE 3072
static uint8_t *const xbuf = (uint8_t *)0x1000000;
static uint8_t *const xbuf2 = (uint8_t *)0x1000400;
static uint8_t *const xbig = (uint8_t *)0x1001000;
static const uint8_t xmm_pattern[16] __attribute__((aligned(16))) = {
	0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
	0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xf0, 0x01,
};

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

/* The area's address in EBX/RBX: no REX, no SIB, no displacement, so the
 * instruction is exactly 3 bytes (0F AE /r or 0F C7 /r) for expect_fault(). */
#define XSAVE_OP(insn, buf, mask)                                               \
	__asm__ volatile(insn " (%0)" : : "b"(buf), "a"((uint32_t)(mask)), "d"(0u) : "memory")

/* isa-xsave: host-independent XSAVE behaviour (both engines). */
static void test_isa_xsave(void)
{
	struct cpuid_regs r = cpuid2(1, 0);
	GUEST_ASSERT(r.c & (1u << 26)); /* XSAVE */
	GUEST_ASSERT(!(r.c & (1u << 27))); /* OSXSAVE follows CR4, still clear */
	enable_xsave();
	r = cpuid2(1, 0);
	GUEST_ASSERT(r.c & (1u << 27));

	/* XCR0 = x87|SSE; XGETBV reads it back */
	xsetbv(0, 3);
	GUEST_ASSERT_EQ(xgetbv(0), 3);
	/* #GP: bit 0 clear, a reserved bit (63), ECX = 1 (read-only XCR1) */
	expect_fault(3);
	xsetbv(0, 2);
	GUEST_ASSERT_EQ(exc_caught.vec, 13);
	expect_fault(3);
	xsetbv(0, 3 | (1ull << 63));
	GUEST_ASSERT_EQ(exc_caught.vec, 13);
	expect_fault(3);
	xsetbv(1, 3);
	GUEST_ASSERT_EQ(exc_caught.vec, 13);
	no_fault();
	GUEST_ASSERT_EQ(xgetbv(0), 3);

	/* x87 and SSE state, then XSAVE with RFBM = 3 */
	__asm__ volatile("fninit; fld1; movdqu (%0), %%xmm0" : : "r"(xmm_pattern) : "memory");
	memset(xbuf, 0xaa, XBUF_SIZE);
	memset(xbuf + 512, 0, 64);
	XSAVE_OP("xsave", xbuf, 3);
	GUEST_ASSERT_EQ(get64(xbuf + 512) & 3, 3);           /* XSTATE_BV */
	GUEST_ASSERT_EQ(xbuf[0] | xbuf[1] << 8, 0x37f);      /* FCW */
	GUEST_ASSERT_EQ(get32(xbuf + 24), 0x1f80);           /* MXCSR */
	GUEST_ASSERT(!memcmp(xbuf + 160, xmm_pattern, 16));  /* XMM0 */
	GUEST_ASSERT_EQ(get64(xbuf + 520), 0);               /* XCOMP_BV untouched */

	/* XCR0 = x87 only: RFBM = XCR0 & EDX:EAX = 1, so neither MXCSR nor the
	 * XMM registers are written, and XSTATE_BV[1] stays as it was */
	xsetbv(0, 1);
	memset(xbuf2, 0xaa, XBUF_SIZE);
	memset(xbuf2 + 512, 0, 64);
	XSAVE_OP("xsave", xbuf2, 3);
	GUEST_ASSERT_EQ(get64(xbuf2 + 512), 1);
	GUEST_ASSERT_EQ(get32(xbuf2 + 24), 0xaaaaaaaa);
	GUEST_ASSERT_EQ(get32(xbuf2 + 160), 0xaaaaaaaa);
	GUEST_ASSERT_EQ(xbuf2[0] | xbuf2[1] << 8, 0x37f);
	/* XRSTOR with XSTATE_BV[1] set but XCR0[1] clear: #GP */
	memcpy(xbuf2, xbuf, 576);
	expect_fault(3);
	XSAVE_OP("xrstor", xbuf2, 3);
	GUEST_ASSERT_EQ(exc_caught.vec, 13);
	no_fault();
	xsetbv(0, 3);

	/* XSAVEC: compacted; XCOMP_BV = bit 63 | RFBM */
	memset(xbuf2, 0xaa, XBUF_SIZE);
	XSAVE_OP("xsavec", xbuf2, 3);
	GUEST_ASSERT_EQ(get64(xbuf2 + 520), 0x8000000000000003ull);
	GUEST_ASSERT_EQ(get64(xbuf2 + 512) & 2, 2);
	GUEST_ASSERT(!memcmp(xbuf2 + 160, xmm_pattern, 16));
	/* XSAVEOPT: the same image as XSAVE for the in-use components */
	memset(xbuf2, 0xaa, XBUF_SIZE);
	memset(xbuf2 + 512, 0, 64);
	XSAVE_OP("xsaveopt", xbuf2, 3);
	GUEST_ASSERT(!memcmp(xbuf2 + 160, xmm_pattern, 16));
	GUEST_ASSERT_EQ(get32(xbuf2 + 24), 0x1f80);

	/* XRSTOR with XSTATE_BV[1] = 0: SSE to its initial state (XMM0 = 0) */
	memcpy(xbuf2, xbuf, 576);
	uint64_t bv = 1;
	memcpy(xbuf2 + 512, &bv, 8);
	XSAVE_OP("xrstor", xbuf2, 3);
	uint8_t out[16] __attribute__((aligned(16)));
	memset(out, 0x5a, sizeof(out));
	__asm__ volatile("movdqu %%xmm0, (%0)" : : "r"(out) : "memory");
	for (int i = 0; i < 16; i++)
		GUEST_ASSERT_EQ(out[i], 0);
	/* and back from the full image */
	XSAVE_OP("xrstor", xbuf, 3);
	__asm__ volatile("movdqu %%xmm0, (%0)" : : "r"(out) : "memory");
	GUEST_ASSERT(!memcmp(out, xmm_pattern, 16));

	/* a misaligned XSAVE area: #GP(0) */
	expect_fault(3);
	XSAVE_OP("xsave", xbuf + 16, 3);
	GUEST_ASSERT_EQ(exc_caught.vec, 13);
	no_fault();
	GUEST_SYNC("xsave done", xgetbv(0));
	GUEST_DONE();
}
GUEST_TEST("isa-xsave", test_isa_xsave);

/* isa-xsave-model: the soft CPU's XSAVE model, which a host does not share:
 * CPUID leaf 0xD for XCR0 = x87|SSE|PKRU (and AVX on a host with AVX:
 * tests_avx.c tests that component), XCR0 bit 2 refused without it, XGETBV(1)
 * = XCR0 (XINUSE always set), XSAVES/XRSTORS with an IA32_XSS that has no
 * supervisor component, PKRU (component 9) at 2688 in the standard format
 * and at 576 in the compacted one. */

static void wrpkru(uint32_t v)
{
	__asm__ volatile(".byte 0x0f, 0x01, 0xef" : : "a"(v), "c"(0u), "d"(0u) : "memory");
}

static uint32_t rdpkru(void)
{
	uint32_t a, d;
	__asm__ volatile(".byte 0x0f, 0x01, 0xee" : "=a"(a), "=d"(d) : "c"(0u));
	return a;
}

static void test_isa_xsave_model(void)
{
	struct cpuid_regs r = cpuid2(0, 0);
	GUEST_ASSERT(r.a >= 0xd);
	r = cpuid2(7, 0);
	GUEST_ASSERT(r.c & (1u << 3)); /* PKU, advertised with XSAVE */
	bool avx = (cpuid2(1, 0).c >> 28) & 1;
	/* x87 SSE (AVX) PKRU; 576 for XCR0 = 1, 2688 + 8 with PKRU */
	r = cpuid2(0xd, 0);
	GUEST_ASSERT(r.a == (avx ? 0x207u : 0x203u) && r.b == 576 && r.c == 2696 && r.d == 0);
	/* XSAVEOPT XSAVEC XGETBV1 XSAVES; no IA32_XSS bits */
	r = cpuid2(0xd, 1);
	GUEST_ASSERT(r.a == 0xf && r.b == 576 && (r.c | r.d) == 0);
	r = cpuid2(0xd, 2);
	if (avx) /* YMM_Hi128: 256 bytes at 576, user component */
		GUEST_ASSERT(r.a == 256 && r.b == 576 && (r.c | r.d) == 0);
	else
		GUEST_ASSERT_EQ(r.a | r.b | r.c | r.d, 0); /* no AVX component */
	/* PKRU: 8 bytes at 2688, user component, no 64-byte alignment */
	r = cpuid2(0xd, 9);
	GUEST_ASSERT(r.a == 8 && r.b == 2688 && (r.c | r.d) == 0);
	enable_xsave();
	GUEST_ASSERT_EQ(xgetbv(0), 1); /* reset value */
	expect_fault(3);
	xsetbv(0, 7);
	GUEST_ASSERT_EQ(exc_caught.vec, avx ? 0xffu : 13u);
	xsetbv(0, 5); /* AVX without SSE: #GP either way */
	GUEST_ASSERT_EQ(exc_caught.vec, 13);
	no_fault();
	xsetbv(0, 0x203);
	GUEST_ASSERT_EQ(xgetbv(1), 0x203);
	r = cpuid2(0xd, 0);
	struct cpuid_regs r1 = cpuid2(0xd, 1);
	GUEST_ASSERT(r.b == 2696 && r1.b == 584);
	/* XSAVES at CPL 0: compacted; IA32_XSS enables nothing more */
	GUEST_ASSERT_EQ(rdmsr(0xda0), 0);
	__asm__ volatile("fninit; fld1; movdqu (%0), %%xmm0" : : "r"(xmm_pattern) : "memory");
	memset(xbuf, 0xaa, XBUF_SIZE);
	memset(xbuf + 512, 0, 64);
	XSAVE_OP("xsaves", xbuf, 3);
	GUEST_ASSERT_EQ(get64(xbuf + 520), 0x8000000000000003ull);
	GUEST_ASSERT_EQ(get64(xbuf + 512), 3);
	GUEST_ASSERT(!memcmp(xbuf + 160, xmm_pattern, 16));
	GUEST_ASSERT_EQ(xbuf[576], 0xaa); /* RFBM[9] = 0: PKRU not saved */
	__asm__ volatile("pxor %%xmm0, %%xmm0" : : : "memory");
	XSAVE_OP("xrstors", xbuf, 3);
	uint8_t out[16] __attribute__((aligned(16)));
	__asm__ volatile("movdqu %%xmm0, (%0)" : : "r"(out) : "memory");
	GUEST_ASSERT(!memcmp(out, xmm_pattern, 16));
	/* PKRU (CR4.PKE for RDPKRU/WRPKRU): XSAVES/XRSTORS at 576 */
	write_cr4(read_cr4() | (1u << 22));
	wrpkru(0x0c);
	memset(xbuf, 0xaa, XBUF_SIZE);
	XSAVE_OP("xsaves", xbuf, 0x203);
	GUEST_ASSERT(get64(xbuf + 512) == 0x203 && get64(xbuf + 520) == 0x8000000000000203ull &&
		     get64(xbuf + 576) == 0x0c && xbuf[584] == 0xaa);
	memset(xbuf + 528, 0, 48);
	wrpkru(0);
	XSAVE_OP("xrstors", xbuf, 0x203);
	GUEST_ASSERT_EQ(rdpkru(), 0x0c);
	/* XSAVE: standard format, PKRU at 2688; XRSTOR loads it, or 0 when
	 * XSTATE_BV[9] = 0 */
	memset(xbig, 0xaa, XBIG_SIZE);
	memset(xbig + 512, 0, 64);
	wrpkru(0x30);
	XSAVE_OP("xsave", xbig, 0x203);
	GUEST_ASSERT(get64(xbig + 512) == 0x203 && get64(xbig + 2688) == 0x30 &&
		     xbig[2696] == 0xaa && xbig[576] == 0xaa);
	wrpkru(0x4);
	XSAVE_OP("xrstor", xbig, 0x203);
	uint32_t pk = rdpkru();
	xbig[513] = 0;
	XSAVE_OP("xrstor", xbig, 0x203);
	GUEST_ASSERT(pk == 0x30 && rdpkru() == 0);
	write_cr4(read_cr4() & ~(uintptr_t)(1u << 22));
	/* a supervisor component the model does not have: #GP (WRMSR, 2 bytes) */
	expect_fault(2);
	wrmsr(0xda0, 1u << 8);
	GUEST_ASSERT_EQ(exc_caught.vec, 13);
	/* XGETBV/XSETBV without CR4.OSXSAVE: #UD */
	write_cr4(read_cr4() & ~(uintptr_t)CR4_OSXSAVE);
	expect_fault(3);
	(void)xgetbv(0);
	GUEST_ASSERT_EQ(exc_caught.vec, 6);
	no_fault();
	r = cpuid2(1, 0);
	GUEST_ASSERT(!(r.c & (1u << 27)));
	r = cpuid2(7, 0);
	GUEST_ASSERT_EQ(r.b & ((1u << 3) | (1u << 8) | (1u << 18) | (1u << 19)),
			(1u << 3) | (1u << 8) | (1u << 18) | (1u << 19)); /* BMI1 BMI2 RDSEED ADX */
	GUEST_ASSERT(r.c & (1u << 22)); /* RDPID */
	r = cpuid2(1, 0);
	GUEST_ASSERT(r.c & (1u << 30)); /* RDRAND */
	r = cpuid2(0x80000001u, 0);
	GUEST_ASSERT(r.c & (1u << 5));  /* ABM (LZCNT) */
	GUEST_ASSERT(r.d & (1u << 27)); /* RDTSCP */
	GUEST_DONE();
}
GUEST_TEST("isa-xsave-model", test_isa_xsave_model);

/* isa-bmi: BMI1, BMI2, ADX and LZCNT/TZCNT known answers (32-bit operands),
 * and VEX.L = 1 -> #UD. */
#define BMI3(insn, a, b)                                                          \
	({                                                                        \
		uint32_t d_;                                                      \
		__asm__ volatile(insn " %2, %1, %0" : "=r"(d_) : "r"((uint32_t)(a)), "r"((uint32_t)(b)) : "cc"); \
		d_;                                                               \
	})
#define BMI2OP(insn, a)                                                           \
	({                                                                        \
		uint32_t d_;                                                      \
		__asm__ volatile(insn " %1, %0" : "=r"(d_) : "r"((uint32_t)(a)) : "cc"); \
		d_;                                                               \
	})

static void test_isa_bmi(void)
{
	/* BMI3(insn, a, b) is Intel "insn dest, a, b" (AT&T reverses it) */
	GUEST_ASSERT_EQ(BMI3("andn", 0xff00ff00u, 0x0ff00ff0u), 0x00f000f0u); /* ~src1 & src2 */
	GUEST_ASSERT_EQ(BMI3("bextr", 0x12345678u, 0x0804u), 0x67u);           /* start 4, len 8 */
	GUEST_ASSERT_EQ(BMI3("bextr", 0x12345678u, 0x0820u), 0);               /* start >= 32 */
	GUEST_ASSERT_EQ(BMI3("bzhi", 0xffffffffu, 12u), 0xfffu);
	GUEST_ASSERT_EQ(BMI3("bzhi", 0x80000001u, 40u), 0x80000001u);
	GUEST_ASSERT_EQ(BMI3("pdep", 0x5u, 0xf0f0u), 0x50u);   /* src, mask */
	GUEST_ASSERT_EQ(BMI3("pext", 0x1234u, 0xff00u), 0x12u);
	GUEST_ASSERT_EQ(BMI3("shlx", 1u, 36u), 16u);           /* count masked to 5 bits */
	GUEST_ASSERT_EQ(BMI3("shrx", 0x80000000u, 4u), 0x08000000u);
	GUEST_ASSERT_EQ(BMI3("sarx", 0x80000000u, 4u), 0xf8000000u);
	GUEST_ASSERT_EQ(BMI2OP("blsi", 0x0c0u), 0x040u);
	GUEST_ASSERT_EQ(BMI2OP("blsmsk", 0x0c0u), 0x07fu);
	GUEST_ASSERT_EQ(BMI2OP("blsr", 0x0c0u), 0x080u);
	GUEST_ASSERT_EQ(BMI2OP("tzcnt", 0x0c0u), 6);
	GUEST_ASSERT_EQ(BMI2OP("tzcnt", 0u), 32);
	GUEST_ASSERT_EQ(BMI2OP("lzcnt", 0x0c0u), 24);
	GUEST_ASSERT_EQ(BMI2OP("lzcnt", 0u), 32);
	uint32_t d;
	__asm__ volatile("rorx $8, %1, %0" : "=r"(d) : "r"(0x12345678u));
	GUEST_ASSERT_EQ(d, 0x78123456u);
	uint32_t hi, lo;
	__asm__ volatile("mulx %3, %1, %0" : "=r"(hi), "=r"(lo) : "d"(0x80000000u), "r"(6u));
	GUEST_ASSERT_EQ(hi, 3);
	GUEST_ASSERT_EQ(lo, 0);
	/* ADCX: CF in/out, OF untouched; ADOX: OF in/out, CF untouched.
	 * stc; then 0xffffffff + 0 + CF = 0 with CF=1; OF (cleared by the
	 * xor before) must stay clear. */
	uint32_t a = 0xffffffffu;
	uintptr_t flags;
	__asm__ volatile("xor %%ecx, %%ecx\n\tstc\n\tadcx %%ecx, %0\n\tpushf\n\tpop %1"
			 : "+r"(a), "=r"(flags) : : "ecx", "cc");
	GUEST_ASSERT_EQ(a, 0);
	GUEST_ASSERT_EQ(flags & 0x801, 0x001);
	a = 0x7fffffffu;
	uint32_t one = 1;
	__asm__ volatile("xor %%ecx, %%ecx\n\tstc\n\tadox %2, %0\n\tpushf\n\tpop %1"
			 : "+r"(a), "=r"(flags) : "r"(one) : "ecx", "cc");
	GUEST_ASSERT_EQ(a, 0x80000000u);
	GUEST_ASSERT_EQ(flags & 0x801, 0x001); /* no carry out of 32 bits: OF=0; CF kept */
	/* VEX.L = 1: andn eax, ebx, ecx with L set (c4 e2 64 f2 c1) -> #UD */
	expect_fault(5);
	__asm__ volatile(".byte 0xc4, 0xe2, 0x64, 0xf2, 0xc1" : : : "eax", "memory");
	GUEST_ASSERT_EQ(exc_caught.vec, 6);
	no_fault();
	GUEST_DONE();
}
GUEST_TEST("isa-bmi", test_isa_bmi);

/* isa-rand: RDRAND/RDSEED give CF=1 within a few tries and values that
 * change; RDTSCP and RDPID read IA32_TSC_AUX; the TSC moves forward. */
static bool rdrand32(uint32_t *v, bool seed)
{
	uint8_t ok;
	if (seed)
		__asm__ volatile("rdseed %0; setc %1" : "=r"(*v), "=qm"(ok) : : "cc");
	else
		__asm__ volatile("rdrand %0; setc %1" : "=r"(*v), "=qm"(ok) : : "cc");
	return ok;
}

static void test_isa_rand(void)
{
	for (int seed = 0; seed < 2; seed++) {
		uint32_t vals[8];
		for (int i = 0; i < 8; i++) {
			int tries = 0;
			while (!rdrand32(&vals[i], seed))
				GUEST_ASSERT(++tries < 100);
		}
		bool differ = false;
		for (int i = 1; i < 8; i++)
			differ |= vals[i] != vals[0];
		GUEST_ASSERT(differ);
	}
	wrmsr(MSR_TSC_AUX, 0x1234);
	uint32_t lo, hi, aux, lo2, hi2, aux2;
	__asm__ volatile("rdtscp" : "=a"(lo), "=d"(hi), "=c"(aux));
	GUEST_ASSERT_EQ(aux, 0x1234);
	__asm__ volatile("rdtscp" : "=a"(lo2), "=d"(hi2), "=c"(aux2));
	GUEST_ASSERT(((uint64_t)hi2 << 32 | lo2) > ((uint64_t)hi << 32 | lo));
	uintptr_t pid = 0;
	__asm__ volatile("rdpid %0" : "=r"(pid));
	GUEST_ASSERT_EQ(pid, 0x1234);
	GUEST_DONE();
}
GUEST_TEST("isa-rand", test_isa_rand);
