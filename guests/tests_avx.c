/* AVX state and VEX rules seen from a guest (64-bit images, soft engine):
 *
 *   avx-state: CPUID leaf 0xD for XCR0 = x87|SSE|AVX (component 2: 256 bytes
 *     at 576), XSAVE/XRSTOR/XSAVEC of all 16 YMM registers and XRSTOR's init
 *     of the upper halves (XSTATE_BV[2] = 0), legacy SSE leaving bits 255:128
 *     alone while VEX.128 and VZEROUPPER zero them (SDM vol. 1, 14.1.3), #UD
 *     for a VEX instruction with XCR0.AVX clear and #NM with CR0.TS.
 *   avx-gather: VPGATHERQQ in full, and with its third element at a
 *     non-canonical address: #GP(0) with the elements below it loaded and
 *     their mask elements cleared, the faulting one and its mask untouched
 *     (SDM vol. 2 VPGATHERQQ: "elements closer to the LSB ... will be
 *     completed"), so the instruction can be restarted.
 *
 * Without AVX in CPUID (a host without it) both report "avx absent". */
#include "guest.h"

#ifdef __x86_64__

#define CR0_MP (1u << 1)
#define CR0_EM (1u << 2)
#define CR0_TS (1u << 3)
#define CR0_NE (1u << 5)
#define CR4_OSFXSR (1u << 9)
#define CR4_OSXMMEXCPT (1u << 10)
#define CR4_OSXSAVE (1u << 18)

/* Buffers at 16 MiB + 16 KiB (identity-mapped, outside the image; the
 * isa topic uses 16 MiB .. +8 KiB). */
static uint8_t *const av_pat = (uint8_t *)0x1004000;   /* 16 x 32 bytes */
static uint8_t *const av_out = (uint8_t *)0x1004400;   /* 16 x 32 bytes */
static uint8_t *const av_xs = (uint8_t *)0x1005000;    /* XSAVE area, 64-aligned */
static uint64_t *const av_data = (uint64_t *)0x1006000;

/* Expected faults (exc_expect, lib/idt.c): #UD, #NM and #GP. */
#define AV_FAULTS ((1u << 6) | (1u << 7) | (1u << 13))

static void av_expect(unsigned len)
{
	exc_expect(len, AV_FAULTS);
}

static void av_no_fault(void)
{
	exc_expect_none(AV_FAULTS);
}

/* One failure site for every check (the images at 0x8000 must stay small):
 * the report names the source line. */
static void __attribute__((noinline)) av_check(bool ok, unsigned line)
{
	if (!ok)
		GUEST_FAIL("avx check failed at tests_avx.c line", line);
}
#define AV_CHECK(c) av_check((c), __LINE__)

static void av_xsetbv(uint64_t v)
{
	__asm__ volatile("xsetbv" : : "c"(0u), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}

static uint64_t av_get64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

/* x87/SSE usable, CR4.OSXSAVE; XCR0 = x87|SSE|AVX.  false: no AVX. */
static bool av_enable(void)
{
	uint32_t r[4];
	cpuid(1, 0, r);
	if (!(r[2] & (1u << 26)) || !(r[2] & (1u << 28))) {
		GUEST_SYNC("avx absent", r[2]);
		return false;
	}
	__asm__ volatile("mov %0, %%cr0" : : "r"((read_cr0() & ~(uintptr_t)(CR0_EM | CR0_TS)) | CR0_MP | CR0_NE)
			 : "memory");
	__asm__ volatile("mov %0, %%cr4" : : "r"(read_cr4() | CR4_OSFXSR | CR4_OSXMMEXCPT | CR4_OSXSAVE)
			 : "memory");
	av_xsetbv(7);
	return true;
}

/* YMM0-15 from / to 16 x 32 bytes at p */
static void __attribute__((noinline)) ymm_load_all(const uint8_t *p)
{
	__asm__ volatile("vmovdqu 0(%0), %%ymm0\n\tvmovdqu 32(%0), %%ymm1\n\t"
			 "vmovdqu 64(%0), %%ymm2\n\tvmovdqu 96(%0), %%ymm3\n\t"
			 "vmovdqu 128(%0), %%ymm4\n\tvmovdqu 160(%0), %%ymm5\n\t"
			 "vmovdqu 192(%0), %%ymm6\n\tvmovdqu 224(%0), %%ymm7\n\t"
			 "vmovdqu 256(%0), %%ymm8\n\tvmovdqu 288(%0), %%ymm9\n\t"
			 "vmovdqu 320(%0), %%ymm10\n\tvmovdqu 352(%0), %%ymm11\n\t"
			 "vmovdqu 384(%0), %%ymm12\n\tvmovdqu 416(%0), %%ymm13\n\t"
			 "vmovdqu 448(%0), %%ymm14\n\tvmovdqu 480(%0), %%ymm15"
			 : : "r"(p) : "memory");
}

static void __attribute__((noinline)) ymm_store_all(uint8_t *p)
{
	__asm__ volatile("vmovdqu %%ymm0, 0(%0)\n\tvmovdqu %%ymm1, 32(%0)\n\t"
			 "vmovdqu %%ymm2, 64(%0)\n\tvmovdqu %%ymm3, 96(%0)\n\t"
			 "vmovdqu %%ymm4, 128(%0)\n\tvmovdqu %%ymm5, 160(%0)\n\t"
			 "vmovdqu %%ymm6, 192(%0)\n\tvmovdqu %%ymm7, 224(%0)\n\t"
			 "vmovdqu %%ymm8, 256(%0)\n\tvmovdqu %%ymm9, 288(%0)\n\t"
			 "vmovdqu %%ymm10, 320(%0)\n\tvmovdqu %%ymm11, 352(%0)\n\t"
			 "vmovdqu %%ymm12, 384(%0)\n\tvmovdqu %%ymm13, 416(%0)\n\t"
			 "vmovdqu %%ymm14, 448(%0)\n\tvmovdqu %%ymm15, 480(%0)"
			 : : "r"(p) : "memory");
}

#define XOP(insn, buf, mask) \
	__asm__ volatile(insn " (%0)" : : "b"(buf), "a"((uint32_t)(mask)), "d"(0u) : "memory")

static void test_avx_state(void)
{
	if (!av_enable()) {
		GUEST_DONE();
		return;
	}
	uint32_t r[4];
	/* leaf 0xD: XCR0 bits, sizes for XCR0 = 7, component 2 */
	cpuid(0xd, 0, r);
	AV_CHECK((r[0] & 7) == 7 && r[1] == 576 + 256);
	cpuid(0xd, 1, r);
	AV_CHECK((r[1]) == (576 + 256)); /* compacted size, XCR0 | XSS = 7 */
	cpuid(0xd, 2, r);
	AV_CHECK(r[0] == 256 && r[1] == 576 && r[2] == 0 && r[3] == 0);

	/* XSAVE of all 16 registers: low halves in the legacy area, upper
	 * halves at 576, XSTATE_BV = 7 */
	for (unsigned i = 0; i < 512; i++)
		av_pat[i] = (uint8_t)(i * 7 + 1);
	ymm_load_all(av_pat);
	memset(av_xs, 0xaa, 1024);
	memset(av_xs + 512, 0, 64);
	XOP("xsave", av_xs, 7);
	AV_CHECK((av_get64(av_xs + 512)) == (7));
	for (unsigned i = 0; i < 16; i++) {
		AV_CHECK(!memcmp(av_xs + 160 + 16 * i, av_pat + 32 * i, 16));
		AV_CHECK(!memcmp(av_xs + 576 + 16 * i, av_pat + 32 * i + 16, 16));
	}
	AV_CHECK((av_xs[576 + 256]) == (0xaa)); /* nothing past the component */

	/* XRSTOR brings them back after VZEROALL */
	__asm__ volatile("vzeroall" : : : "memory");
	ymm_store_all(av_out);
	for (unsigned i = 0; i < 512; i++)
		AV_CHECK((av_out[i]) == (0));
	XOP("xrstor", av_xs, 7);
	ymm_store_all(av_out);
	AV_CHECK(!memcmp(av_out, av_pat, 512));

	/* XSTATE_BV[2] = 0: the upper halves get their initial value 0, the
	 * SSE component is still loaded */
	av_xs[512] = 3;
	XOP("xrstor", av_xs, 7);
	ymm_store_all(av_out);
	for (unsigned i = 0; i < 16; i++) {
		AV_CHECK(!memcmp(av_out + 32 * i, av_pat + 32 * i, 16));
		for (unsigned j = 16; j < 32; j++)
			AV_CHECK((av_out[32 * i + j]) == (0));
	}
	/* RFBM without bit 2 leaves the upper halves alone */
	ymm_load_all(av_pat);
	av_xs[512] = 3;
	XOP("xrstor", av_xs, 3);
	ymm_store_all(av_out);
	AV_CHECK(!memcmp(av_out, av_pat, 512));

	/* XSAVEC: compacted, AVX right after the header */
	memset(av_xs, 0xaa, 1024);
	XOP("xsavec", av_xs, 7);
	AV_CHECK(av_get64(av_xs + 512) == 7 && av_get64(av_xs + 520) == 0x8000000000000007ull);
	AV_CHECK(!memcmp(av_xs + 576 + 16 * 5, av_pat + 32 * 5 + 16, 16));

	/* legacy SSE keeps bits 255:128; VEX.128 zeroes them */
	ymm_load_all(av_pat);
	__asm__ volatile("addps %%xmm2, %%xmm1\n\t"
			 "vmovdqu %%ymm1, 32(%0)" : : "r"(av_out) : "memory");
	AV_CHECK(!memcmp(av_out + 48, av_pat + 48, 16));
	__asm__ volatile("vaddps %%xmm2, %%xmm1, %%xmm1\n\t"
			 "vmovdqu %%ymm1, 32(%0)" : : "r"(av_out) : "memory");
	for (unsigned j = 48; j < 64; j++)
		AV_CHECK((av_out[j]) == (0));
	/* VZEROUPPER: all upper halves 0, the XMM registers kept */
	ymm_load_all(av_pat);
	__asm__ volatile("vzeroupper" : : : "memory");
	ymm_store_all(av_out);
	for (unsigned i = 0; i < 16; i++) {
		AV_CHECK(!memcmp(av_out + 32 * i, av_pat + 32 * i, 16));
		for (unsigned j = 16; j < 32; j++)
			AV_CHECK((av_out[32 * i + j]) == (0));
	}

	/* XCR0.AVX clear: VEX instructions #UD (vaddps xmm0, xmm0, xmm1: 4 bytes) */
	av_xsetbv(3);
	av_expect(4);
	__asm__ volatile(".byte 0xc5, 0xf8, 0x58, 0xc1" : : : "memory");
	AV_CHECK((exc_caught.vec) == (6));
	av_xsetbv(7);
	/* CR0.TS: #NM (vaddps ymm0, ymm0, ymm1) */
	__asm__ volatile("mov %0, %%cr0" : : "r"(read_cr0() | CR0_TS) : "memory");
	av_expect(4);
	__asm__ volatile(".byte 0xc5, 0xfc, 0x58, 0xc1" : : : "memory");
	AV_CHECK((exc_caught.vec) == (7));
	__asm__ volatile("clts" : : : "memory");
	av_expect(4);
	__asm__ volatile(".byte 0xc5, 0xfc, 0x58, 0xc1" : : : "memory");
	AV_CHECK((exc_caught.vec) == (0xff));
	av_no_fault();
	GUEST_SYNC("avx state done", 0);
	GUEST_DONE();
}
GUEST_TEST("avx-state", test_avx_state);

/* vpgatherqq ymm0, [rax + ymm1], ymm2: c4 e2 ed 91 04 08 (6 bytes) */
#define VPGATHERQQ ".byte 0xc4, 0xe2, 0xed, 0x91, 0x04, 0x08"

static void av_gather(const uint64_t idx[4], uint64_t dst[4], uint64_t mask[4])
{
	static uint64_t io[12];
	memcpy(io, idx, 32);
	memcpy(io + 4, dst, 32);
	memcpy(io + 8, mask, 32);
	__asm__ volatile("vmovdqu 0(%1), %%ymm1\n\t"
			 "vmovdqu 32(%1), %%ymm0\n\t"
			 "vmovdqu 64(%1), %%ymm2\n\t"
			 VPGATHERQQ "\n\t"
			 "vmovdqu %%ymm0, 32(%1)\n\t"
			 "vmovdqu %%ymm2, 64(%1)"
			 : : "a"(av_data), "r"(io) : "memory");
	memcpy(dst, io + 4, 32);
	memcpy(mask, io + 8, 32);
}

static void test_avx_gather(void)
{
	if (!av_enable()) {
		GUEST_DONE();
		return;
	}
	uint32_t r[4];
	cpuid(7, 0, r);
	if (!(r[1] & (1u << 5))) {
		GUEST_SYNC("avx absent", r[1]);
		GUEST_DONE();
		return;
	}
	for (unsigned i = 0; i < 8; i++)
		av_data[i] = 0x1111111111111111ull * (i + 1);
	/* all elements: dst = data[idx/8], mask all 0 */
	uint64_t idx[4] = { 24, 0, 56, 8 };
	uint64_t dst[4] = { 5, 5, 5, 5 }, mask[4] = { ~0ull, ~0ull, 1, ~0ull };
	av_gather(idx, dst, mask);
	AV_CHECK(dst[0] == av_data[3] && dst[1] == av_data[0] && dst[2] == 5 && dst[3] == av_data[1]);
	AV_CHECK((mask[0] | mask[1] | mask[2] | mask[3]) == 0);

	/* element 2 at a non-canonical address: #GP(0), elements 0 and 1
	 * done (mask cleared), element 2 and its mask untouched */
	uint64_t bad[4] = { 8, 16, 0x8000000000000000ull, 32 };
	uint64_t d2[4] = { 7, 7, 7, 7 }, m2[4] = { ~0ull, ~0ull, ~0ull, ~0ull };
	av_expect(6);
	av_gather(bad, d2, m2);
	AV_CHECK((exc_caught.vec) == (13));
	AV_CHECK((exc_caught.err) == (0));
	av_no_fault();
	AV_CHECK(d2[0] == av_data[1] && d2[1] == av_data[2] && d2[2] == 7);
	AV_CHECK(m2[0] == 0 && m2[1] == 0 && m2[2] == ~0ull);
	GUEST_SYNC("avx gather done", 0);
	GUEST_DONE();
}
GUEST_TEST("avx-gather", test_avx_gather);

#endif
