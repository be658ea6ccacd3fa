/* Translated code across remapped code pages (docs/soft-cpu.md, "Chains
 * across address spaces"): chains and indirect-branch table entries are
 * followed without a TLB lookup, and must die exactly when the mapping of
 * their target may change.  Each check calls code at a linear page that
 * first ran hot (so it is translated and chained) and asserts the value the
 * code now mapped there returns.
 *
 * A stub page at JM_VA holds `call JM_VA + 0x1000; ret` (a direct call: a
 * chain slot) and the page after it, the callee, one of three code pages
 * returning their own marker (`mov eax, imm32; ret`).  Each check calls
 * the stub (direct chain into the callee) and the callee itself (an
 * indirect call: the IBTC), a hundred times each.  The mapping goes through
 * PDPT entry 5 of head64's map (unused) onto a page directory and a page
 * table at 8 MiB; a second address space (a copy of the PML4 and the PDPT)
 * maps the callee to page B.
 *
 * What the SDM requires (vol. 3A 4.10.4): a fresh translation after INVLPG
 * of the page, after MOV CR3 for a non-global page, in a PCID first used,
 * and for a PCID whose entries were flushed; a global page's translation
 * may survive MOV CR3.  Checks marked "model" test the soft CPU's model
 * where the SDM only permits stale translations (a global entry kept across
 * MOV CR3, a PCID's entries kept across a no-flush switch): the case is
 * soft-only for that reason. */
#include "guest.h"

#ifdef __x86_64__

#define JM_VA 0x1401f7000ul
#define JM_IDX 0x1f7                   /* the stub's entry; the callee's is next */
#define PD_PA 0x800000ul               /* 8 MiB: free RAM */
#define PT_PA 0x801000ul
#define PD2_PA 0x802000ul              /* the second space's tables */
#define PT2_PA 0x803000ul
#define PDPT2_PA 0x804000ul
#define PML4_2_PA 0x805000ul
#define STUB_PA 0x806000ul
#define CODE_A 0x807000ul
#define CODE_B 0x808000ul
#define CODE_C 0x809000ul
#define MARK_A 0xa1a1a1a1u
#define MARK_B 0xb2b2b2b2u
#define MARK_C 0xc3c3c3c3u
#define PTE_P_RW 3ul
#define PTE_G (1ul << 8)
#define NOFLUSH (1ul << 63)
#define CR4_PGE (1ul << 7)
#define CR4_PCIDE (1ul << 17)
#define ROUNDS 100
#define PTE_PS (1ul << 7)
#define BIG_VA 0x140200000ul           /* PD entry 1 of JM_VA's directory */
#define BIG_A 0xa00000ul               /* 2 MiB pages of code (10 and 12 MiB) */
#define BIG_B 0xc00000ul


static volatile uint64_t *pt(void) { return (volatile uint64_t *)PT_PA; }
/* Point the callee's page at pa in the first space, without invalidating. */
static void map_callee(uint64_t pa, uint64_t extra) { pt()[JM_IDX + 1] = pa | PTE_P_RW | extra; }
/* The same, then INVLPG of the callee's page. */
static void remap_invlpg(uint64_t pa, uint64_t extra)
{
	map_callee(pa, extra);
	invlpg(JM_VA + 0x1000);
}

/* INVPCID type, pcid (linear address 0): single-context or all-context
 * (types 1 and 3, SDM vol. 2 INVPCID). */
static void invpcid(uint64_t type, uint64_t pcid)
{
	static volatile uint64_t desc[2] __attribute__((aligned(16)));
	desc[0] = pcid;
	desc[1] = 0;
	__asm__ volatile("invpcid %0, %1" : : "m"(desc), "r"(type) : "memory");
}

static void put_code(uint64_t pa, uint32_t mark)
{
	volatile uint8_t *p = (volatile uint8_t *)pa;
	p[0] = 0xb8; /* mov eax, imm32 */
	for (unsigned i = 0; i < 4; i++)
		p[1 + i] = (uint8_t)(mark >> (8 * i));
	p[5] = 0xc3; /* ret */
}

/* Run the stub and the callee ROUNDS times each; every call must return
 * want (the first other value fails the test, at the caller's line). */
static uint32_t run(uint32_t want)
{
	uint32_t (*stub)(void) = (uint32_t (*)(void))JM_VA;
	uint32_t (*callee)(void) = (uint32_t (*)(void))(JM_VA + 0x1000);
	for (unsigned i = 0; i < ROUNDS; i++) {
		uint32_t a = stub(), b = callee();
		if (a != want)
			return a;
		if (b != want)
			return b;
	}
	return want;
}

/* The same through the 2 MiB page at BIG_VA (an indirect call only). */
static uint32_t run_big(uint32_t want)
{
	uint32_t (*big)(void) = (uint32_t (*)(void))BIG_VA;
	for (unsigned i = 0; i < ROUNDS; i++) {
		uint32_t a = big();
		if (a != want)
			return a;
	}
	return want;
}

/* MOV CR3 to cr3, then the calls must return want (a macro, so that a
 * failure names the caller's line). */
#define CR3_RUN(cr3, want)                                                   \
	do {                                                                 \
		write_cr3(cr3);                                              \
		GUEST_ASSERT_EQ(run(want), want);                            \
	} while (0)

static void test_jitmap(void)
{
	cli();
	uintptr_t cr3 = read_cr3(), cr4 = read_cr4();
	uintptr_t base = cr3 & ~0xffful;
	volatile uint64_t *pml4 = (volatile uint64_t *)base;
	volatile uint64_t *pdpt = (volatile uint64_t *)(uintptr_t)(pml4[0] & 0xffffffffff000ul);
	GUEST_ASSERT_EQ(pdpt[5], 0);
	volatile uint64_t *pd = (volatile uint64_t *)PD_PA, *pd2 = (volatile uint64_t *)PD2_PA;
	volatile uint64_t *pt2 = (volatile uint64_t *)PT2_PA;
	volatile uint64_t *pdpt2 = (volatile uint64_t *)PDPT2_PA;
	volatile uint64_t *pml4_2 = (volatile uint64_t *)PML4_2_PA;
	for (unsigned i = 0; i < 512; i++) {
		pd[i] = pt()[i] = pd2[i] = pt2[i] = 0;
		pdpt2[i] = pdpt[i];
		pml4_2[i] = pml4[i];
	}
	/* stub: call rel32 (to the next page); ret */
	volatile uint8_t *s = (volatile uint8_t *)STUB_PA;
	s[0] = 0xe8;
	s[1] = 0xfb; s[2] = 0x0f; s[3] = 0; s[4] = 0; /* 0x1000 - 5 */
	s[5] = 0xc3;
	put_code(CODE_A, MARK_A);
	put_code(CODE_B, MARK_B);
	put_code(CODE_C, MARK_C);
	pd[0] = PT_PA | PTE_P_RW;
	pt()[JM_IDX] = STUB_PA | PTE_P_RW;
	map_callee(CODE_A, 0);
	pd2[0] = PT2_PA | PTE_P_RW;
	pt2[JM_IDX] = STUB_PA | PTE_P_RW;
	pt2[JM_IDX + 1] = CODE_B | PTE_P_RW;
	pdpt2[5] = PD2_PA | PTE_P_RW;
	pml4_2[0] = PDPT2_PA | (pml4[0] & 0xfff);
	pdpt[5] = PD_PA | PTE_P_RW;
	write_cr4(cr4 | CR4_PGE);
	CR3_RUN(base, MARK_A);

	/* INVLPG of the code page after its entry is rewritten */
	remap_invlpg(CODE_B, 0);
	GUEST_ASSERT_EQ(run(MARK_B), MARK_B);
	/* an entry rewritten, then a MOV CR3 reloading the same tables */
	map_callee(CODE_C, 0);
	CR3_RUN(base, MARK_C);
	GUEST_SYNC("INVLPG and a CR3 reload after a code page's entry is rewritten", 0);

	/* a switch to a space mapping the callee's page to other code, and back */
	map_callee(CODE_A, 0);
	CR3_RUN(base, MARK_A);
	CR3_RUN(PML4_2_PA, MARK_B);
	CR3_RUN(base, MARK_A);
	CR3_RUN(PML4_2_PA, MARK_B);
	write_cr3(base);
	GUEST_SYNC("CR3 switches between spaces mapping the page to other code", 0);

	/* A global page: its translation (and the chains into it) may stay
	 * across MOV CR3; INVLPG drops it.  A non-global one may not. */
	remap_invlpg(CODE_C, PTE_G);
	GUEST_ASSERT_EQ(run(MARK_C), MARK_C);
	map_callee(CODE_A, PTE_G);
	CR3_RUN(base, MARK_C); /* model: the global translation stays */
	invlpg(JM_VA + 0x1000);
	GUEST_ASSERT_EQ(run(MARK_A), MARK_A);
	remap_invlpg(CODE_B, 0);
	GUEST_ASSERT_EQ(run(MARK_B), MARK_B);
	map_callee(CODE_C, 0);
	CR3_RUN(base, MARK_C);
	/* CR4.PGE cleared: global translations dropped */
	remap_invlpg(CODE_A, PTE_G);
	GUEST_ASSERT_EQ(run(MARK_A), MARK_A);
	map_callee(CODE_B, PTE_G);
	write_cr4(cr4 & ~CR4_PGE);
	GUEST_ASSERT_EQ(run(MARK_B), MARK_B);
	write_cr4(cr4 | CR4_PGE);
	GUEST_SYNC("global code page kept across MOV CR3, dropped by INVLPG and CR4.PGE", 0);

	/* A global 2 MiB page of code (at JM_VA's PD entry 1): INVLPG of
	 * another 4 KiB inside it drops the whole page (SDM vol. 3A 4.10.4.1) */
	put_code(BIG_A, MARK_A);
	put_code(BIG_B, MARK_B);
	pd[1] = BIG_A | PTE_P_RW | PTE_PS | PTE_G;
	invlpg(BIG_VA);
	GUEST_ASSERT_EQ(run_big(MARK_A), MARK_A);
	pd[1] = BIG_B | PTE_P_RW | PTE_PS | PTE_G;
	write_cr3(base);
	GUEST_ASSERT_EQ(run_big(MARK_A), MARK_A); /* model: the global translation stays */
	invlpg(BIG_VA + 0x1ff000);
	GUEST_ASSERT_EQ(run_big(MARK_B), MARK_B);
	GUEST_SYNC("global 2 MiB code page dropped by INVLPG of another 4 KiB in it", 0);

	uint32_t r[4];
	__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(1), "c"(0));
	if (!(r[2] & (1u << 17))) {
		GUEST_SYNC("no PCID: PCID part skipped", 0);
		GUEST_DONE();
	}
	/* PCIDs: 1 for the first space, 2 (never used) for the second */
	remap_invlpg(CODE_A, 0);
	write_cr4(read_cr4() | CR4_PCIDE);
	CR3_RUN(base | 1, MARK_A);
	CR3_RUN(PML4_2_PA | 2 | NOFLUSH, MARK_B);
	CR3_RUN(base | 1 | NOFLUSH, MARK_A);
	CR3_RUN(PML4_2_PA | 2 | NOFLUSH, MARK_B);
	/* PCID 1's entry rewritten while PCID 2 runs; back with the no-flush
	 * bit the old translation may stay (model), without it it may not */
	map_callee(CODE_C, 0);
	CR3_RUN(base | 1 | NOFLUSH, MARK_A); /* model: PCID 1's entries kept */
	CR3_RUN(base | 1, MARK_C);
	/* and INVLPG under PCID 1 */
	remap_invlpg(CODE_A, 0);
	GUEST_ASSERT_EQ(run(MARK_A), MARK_A);
	CR3_RUN(PML4_2_PA | 2 | NOFLUSH, MARK_B);
	CR3_RUN(base | 1 | NOFLUSH, MARK_A);
	GUEST_SYNC("PCID switches with and without the no-flush bit", 0);

	/* A flush of one PCID leaves the others' translations: MOV CR3 into
	 * PCID 2 without the no-flush bit while PCID 1's entry was rewritten;
	 * back in PCID 1 with the no-flush bit its old translation may stay
	 * (model).  Then each flush that does concern PCID 1 while PCID 2 runs
	 * (INVPCID type 1 of PCID 1, type 3) must give it the new code when it
	 * comes back with the no-flush bit (SDM vol. 3A 4.10.4.1, vol. 2
	 * INVPCID). */
	map_callee(CODE_C, 0);
	CR3_RUN(PML4_2_PA | 2, MARK_B);
	CR3_RUN(base | 1 | NOFLUSH, MARK_A); /* model: PCID 1's entries kept */
	__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(7), "c"(0));
	if (!(r[1] & (1u << 10))) {
		GUEST_SYNC("no INVPCID: INVPCID part skipped", 0);
		GUEST_DONE();
	}
	CR3_RUN(PML4_2_PA | 2 | NOFLUSH, MARK_B);
	invpcid(1, 1);
	CR3_RUN(base | 1 | NOFLUSH, MARK_C);
	map_callee(CODE_A, 0);
	CR3_RUN(PML4_2_PA | 2 | NOFLUSH, MARK_B);
	invpcid(3, 0);
	CR3_RUN(base | 1 | NOFLUSH, MARK_A);
	GUEST_SYNC("a flush of one PCID keeps the others' chains; INVPCID 1 and 3 drop them", 0);
	GUEST_DONE();
}
GUEST_TEST("jitmap", test_jitmap);

#endif
