/* Process-context identifiers and INVPCID (SDM vol. 3A 4.10.1 and
 * 4.10.4, vol. 2 "MOV to CR3/CR4", "INVPCID"): the #GP rules of CR4.PCIDE,
 * CR3 and INVPCID, and what each invalidation must drop.
 *
 * A linear page TEST_VA (above 5 GiB: PDPT entry 5 of head64's map, unused) is
 * mapped through a page directory and a page table at 8 MiB onto one of
 * two data pages, A or B, each holding its own marker.  The test rewrites
 * the page-table entry without invalidating and checks what a read sees
 * after each CR3 write and INVPCID.  Where the SDM requires a fresh
 * translation the check holds on any CPU; where it only permits a stale
 * one (a PCID's entries kept across a no-flush CR3 write, global entries
 * across CR3 writes and INVPCID type 3), the test checks the soft CPU's
 * model, which keeps them while its TLB slot holds them: these checks are
 * marked "model" (the case is soft-only for that reason).
 *
 * The 32-bit images check the one rule they can: CR4.PCIDE cannot be set
 * outside IA-32e mode. */
#include "guest.h"

#define CR4_PCIDE (1ul << 17)
#define CR4_PGE (1ul << 7)

static volatile uintptr_t pc_resume; /* armed by a probe, 0 otherwise */
static volatile unsigned pc_count, pc_vec;
static volatile uintptr_t pc_err;

static void pc_handler(struct isr_frame *f)
{
	if (!pc_resume)
		GUEST_FAIL("unexpected exception (vector, error code, ip)", f->vector, f->error,
			   f->ip);
	pc_vec = (unsigned)f->vector;
	pc_err = f->error;
	pc_count++;
	f->ip = pc_resume;
	pc_resume = 0;
}


#ifdef __x86_64__
#define MOVP "movq"
#else
#define MOVP "movl"
#endif

/* MOV to CR4 / CR3 that may fault: returns the number of faults taken (0/1). */
#define TRY_MOV_CR(name, cr)                                                 \
	static unsigned name(uintptr_t v)                                    \
	{                                                                    \
		unsigned n0 = pc_count;                                      \
		__asm__ volatile(MOVP " $1f, %[fx]\n\tmov %[v], %%" cr "\n1:"  \
				 : [fx] "=m"(pc_resume) : [v] "r"(v) : "memory"); \
		pc_resume = 0;                                               \
		return pc_count - n0;                                        \
	}

TRY_MOV_CR(try_cr4, "cr4")


#ifndef __x86_64__

/* Protected mode without IA-32e: "#GP(0) ... set CR4.PCIDE while not in
 * IA-32e mode" (MOV CR, vol. 2); CR4 stays as it was.  Holds on any CPU. */
static void test_pcid_legacy(void)
{
	cli();
	exc_set_handler(13, pc_handler);
	/* (without PCID the bit is reserved: #GP(0) as well) */
	uintptr_t cr4 = read_cr4();
	GUEST_ASSERT_EQ(try_cr4(cr4 | CR4_PCIDE), 1);
	GUEST_ASSERT_EQ(pc_vec, 13);
	GUEST_ASSERT_EQ(pc_err, 0);
	GUEST_ASSERT_EQ(read_cr4(), cr4);
	exc_set_handler(13, NULL);
	GUEST_SYNC("CR4.PCIDE outside IA-32e mode: #GP(0)", 0);
	GUEST_DONE();
}
GUEST_TEST("pcid-legacy", test_pcid_legacy);

#else

static bool has_pcid(void)
{
	uint32_t r[4];
	cpuid(1, 0, r);
	return r[2] & (1u << 17);
}

TRY_MOV_CR(try_cr3, "cr3")

/* PDPT entry 5, page 0x1f7 of its first table: a TLB slot (page number
 * modulo the TLB's size) no other page the test touches uses */
#define TEST_VA 0x1401f7000ul
#define PT_IDX 0x1f7
#define PD_PA 0x800000ul               /* 8 MiB: free RAM */
#define PT_PA 0x801000ul
#define PAGE_A 0x802000ul
#define PAGE_B 0x803000ul
#define MARK_A 0xa11ce0a1u
#define MARK_B 0xb0b0b0b0u
#define PTE_P_RW 3ul
#define PTE_G (1ul << 8)
#define NOFLUSH (1ul << 63)

static volatile uint64_t *pt(void) { return (volatile uint64_t *)PT_PA; }
static uint32_t peek(void) { return *(volatile uint32_t *)TEST_VA; }
/* Point TEST_VA at page pa (flags: P, RW, maybe G), without invalidating. */
static void map_to(uint64_t pa, uint64_t extra) { pt()[PT_IDX] = pa | PTE_P_RW | extra; }

static unsigned try_invpcid(uint64_t type, uint64_t pcid, uint64_t la)
{
	static volatile uint64_t desc[2] __attribute__((aligned(16)));
	desc[0] = pcid;
	desc[1] = la;
	unsigned n0 = pc_count;
	__asm__ volatile("movq $1f, %[fx]\n\tinvpcid %[d], %[t]\n1:"
			 : [fx] "=m"(pc_resume) : [d] "m"(desc), [t] "r"(type) : "memory");
	pc_resume = 0;
	return pc_count - n0;
}

#define EXPECT_GP(call)                                                      \
	do {                                                                 \
		GUEST_ASSERT_EQ((call), 1);                                  \
		GUEST_ASSERT_EQ(pc_vec, 13);                                 \
		GUEST_ASSERT_EQ(pc_err, 0);                                  \
	} while (0)

static void test_pcid(void)
{
	cli();
	exc_set_handler(13, pc_handler);
	uint32_t r[4];
	cpuid(7, 0, r);
	GUEST_ASSERT(has_pcid());
	GUEST_ASSERT(r[1] & (1u << 10)); /* INVPCID */

	uintptr_t cr3 = read_cr3(), cr4 = read_cr4();
	uintptr_t base = cr3 & ~0xffful;
	volatile uint64_t *pml4 = (volatile uint64_t *)base;
	volatile uint64_t *pdpt = (volatile uint64_t *)(uintptr_t)(pml4[0] & 0xffffffffff000ul);
	GUEST_ASSERT_EQ(pdpt[5], 0);
	volatile uint64_t *pd = (volatile uint64_t *)PD_PA;
	for (unsigned i = 0; i < 512; i++)
		pd[i] = pt()[i] = 0;
	pd[0] = PT_PA | PTE_P_RW;
	*(volatile uint32_t *)PAGE_A = MARK_A;
	*(volatile uint32_t *)PAGE_B = MARK_B;
	map_to(PAGE_A, 0);
	pdpt[5] = PD_PA | PTE_P_RW;
	GUEST_ASSERT_EQ(try_cr4(cr4 | CR4_PGE), 0);

	/* CR4.PCIDE=0: bit 63 of CR3 is reserved (#GP); INVPCID types 0 and 1
	 * with a PCID other than 0 are #GP, with PCID 0 they work. */
	EXPECT_GP(try_cr3(base | NOFLUSH));
	GUEST_ASSERT_EQ(read_cr3(), cr3);
	EXPECT_GP(try_invpcid(0, 1, TEST_VA));
	EXPECT_GP(try_invpcid(1, 1, 0));
	GUEST_ASSERT_EQ(try_invpcid(1, 0, 0), 0);
	GUEST_ASSERT_EQ(peek(), MARK_A);

	/* Setting PCIDE with CR3[11:0] != 0 (PWT here): #GP, CR4 unchanged. */
	GUEST_ASSERT_EQ(try_cr3(base | 0x8), 0);
	EXPECT_GP(try_cr4(read_cr4() | CR4_PCIDE));
	GUEST_ASSERT(!(read_cr4() & CR4_PCIDE));
	GUEST_ASSERT_EQ(try_cr3(base), 0);
	GUEST_ASSERT_EQ(try_cr4(read_cr4() | CR4_PCIDE), 0);
	GUEST_ASSERT(read_cr4() & CR4_PCIDE);
	GUEST_SYNC("PCIDE: #GP with CR3[11:0] != 0, set with 0", 0);

	/* INVPCID's own #GP cases: type > 3, descriptor bits 63:12, a
	 * non-canonical address for type 0. */
	EXPECT_GP(try_invpcid(4, 0, 0));
	EXPECT_GP(try_invpcid(1, 0x1000, 0));
	EXPECT_GP(try_invpcid(0, 0, 0x0000800000000000ul));
	GUEST_ASSERT_EQ(try_invpcid(0, 0, 0x0000800000000000ul - 0x1000), 0);

	/* PCID 1 sees A; the entry moves to B without invalidation. */
	GUEST_ASSERT_EQ(try_cr3(base | 1), 0);
	GUEST_ASSERT_EQ(read_cr3(), base | 1);
	GUEST_ASSERT_EQ(peek(), MARK_A);
	map_to(PAGE_B, 0);
	GUEST_ASSERT_EQ(peek(), MARK_A); /* model: stale until invalidated */
	/* PCID 2, loaded with a flush, then back to PCID 1 without: bit 63
	 * is not loaded into CR3, and PCID 1 still translates through its
	 * old entry (model: PCID 2 did not touch TEST_VA, whose TLB slot is
	 * shared by all PCIDs in this TLB). */
	GUEST_ASSERT_EQ(try_cr3(base | 2), 0);
	GUEST_ASSERT_EQ(try_cr3(base | 1 | NOFLUSH), 0);
	GUEST_ASSERT_EQ(read_cr3(), base | 1);
	GUEST_ASSERT_EQ(peek(), MARK_A);
	/* PCID 2 was flushed when loaded and has not used TEST_VA since: it
	 * must see B, even loaded without flush. */
	GUEST_ASSERT_EQ(try_cr3(base | 2 | NOFLUSH), 0);
	GUEST_ASSERT_EQ(peek(), MARK_B);
	GUEST_SYNC("no-flush CR3 keeps a PCID's entries, a flushed PCID walks", 0);

	/* INVPCID type 0 for another PCID leaves PCID 1's entry (model), for
	 * PCID 1 itself it must drop it. */
	map_to(PAGE_A, 0);
	GUEST_ASSERT_EQ(try_cr3(base | 1), 0);
	GUEST_ASSERT_EQ(peek(), MARK_A);
	map_to(PAGE_B, 0);
	GUEST_ASSERT_EQ(try_invpcid(0, 5, TEST_VA), 0);
	GUEST_ASSERT_EQ(peek(), MARK_A);
	GUEST_ASSERT_EQ(try_invpcid(0, 1, TEST_VA), 0);
	GUEST_ASSERT_EQ(peek(), MARK_B);
	/* Type 1: one PCID's non-global entries. */
	map_to(PAGE_A, 0);
	GUEST_ASSERT_EQ(try_invpcid(1, 2, 0), 0);
	GUEST_ASSERT_EQ(peek(), MARK_B); /* model: another PCID's flush */
	GUEST_ASSERT_EQ(try_invpcid(1, 1, 0), 0);
	GUEST_ASSERT_EQ(peek(), MARK_A);
	/* MOV CR3 without bit 63 to the current PCID flushes it. */
	map_to(PAGE_B, 0);
	GUEST_ASSERT_EQ(peek(), MARK_A); /* model */
	GUEST_ASSERT_EQ(try_cr3(base | 1), 0);
	GUEST_ASSERT_EQ(peek(), MARK_B);
	/* Type 3: every PCID's non-global entries, the current one's too. */
	map_to(PAGE_A, 0);
	GUEST_ASSERT_EQ(peek(), MARK_B); /* model */
	GUEST_ASSERT_EQ(try_invpcid(3, 0, 0), 0);
	GUEST_ASSERT_EQ(peek(), MARK_A);
	GUEST_SYNC("INVPCID types 0, 1 and 3; MOV CR3 to the current PCID", 0);

	/* Global entries: kept by CR3 writes and by INVPCID types 1 and 3
	 * (model: in the slot of the PCID that filled them; another PCID
	 * walks its own), dropped by type 2 and by INVLPG. */
	GUEST_ASSERT_EQ(try_cr3(base | 4), 0);
	GUEST_ASSERT_EQ(try_invpcid(2, 0, 0), 0);
	map_to(PAGE_A, PTE_G);
	GUEST_ASSERT_EQ(peek(), MARK_A);
	map_to(PAGE_B, PTE_G);
	GUEST_ASSERT_EQ(try_cr3(base | 4), 0);
	GUEST_ASSERT_EQ(peek(), MARK_A);
	GUEST_ASSERT_EQ(try_invpcid(1, 4, 0), 0);
	GUEST_ASSERT_EQ(peek(), MARK_A);
	GUEST_ASSERT_EQ(try_invpcid(3, 0, 0), 0);
	GUEST_ASSERT_EQ(peek(), MARK_A);
	GUEST_ASSERT_EQ(try_invpcid(2, 0, 0), 0);
	GUEST_ASSERT_EQ(peek(), MARK_B);
	map_to(PAGE_A, PTE_G);
	GUEST_ASSERT_EQ(try_cr3(base | 4), 0);
	GUEST_ASSERT_EQ(peek(), MARK_B); /* model: global, kept */
	/* INVLPG in another PCID drops it too (global entries are every
	 * PCID's) */
	GUEST_ASSERT_EQ(try_cr3(base | 5), 0);
	__asm__ volatile("invlpg (%0)" : : "r"(TEST_VA) : "memory");
	GUEST_ASSERT_EQ(try_cr3(base | 4 | NOFLUSH), 0);
	GUEST_ASSERT_EQ(peek(), MARK_A);
	GUEST_SYNC("global entries: kept across flushes, dropped by type 2 and INVLPG", 0);

	/* Clearing PCIDE (CR3[11:0] = 0 first) drops everything, globals too. */
	GUEST_ASSERT_EQ(try_cr3(base), 0);
	GUEST_ASSERT_EQ(peek(), MARK_A);
	map_to(PAGE_B, PTE_G);
	GUEST_ASSERT_EQ(try_cr3(base), 0);
	GUEST_ASSERT_EQ(peek(), MARK_A); /* model */
	GUEST_ASSERT_EQ(try_cr4(read_cr4() & ~CR4_PCIDE), 0);
	GUEST_ASSERT_EQ(peek(), MARK_B);

	pdpt[5] = 0;
	GUEST_ASSERT_EQ(try_cr4(cr4), 0);
	GUEST_ASSERT_EQ(try_cr3(cr3), 0);
	exc_set_handler(13, NULL);
	GUEST_DONE();
}
GUEST_TEST("pcid", test_pcid);

/* What invalidations must drop, and nothing the SDM only permits (so it
 * holds on any CPU; the soft TLB does these without a pass over its table,
 * docs/soft-cpu.md "Kernel events"):
 * - MOV to CR4 changing PGE invalidates everything, global entries too
 *   (vol. 3A 4.10.4.1), both ways;
 * - INVLPG of one address in a 2 MiB page drops the whole page ("for a
 *   page larger than 4 KiBytes ... all of them", vol. 2 INVLPG), from any
 *   PCID when the page is global;
 * - more PCIDs than the soft TLB has slot windows (8): a PCID loaded with a
 *   flush, or flushed by INVPCID type 1 wherever its entries are, walks. */
#define BIG_VA 0x140200000ul   /* PD entry 1 of the table at 8 MiB */
#define BIG_R1 0x1400000ul     /* 20 MiB and 22 MiB: free RAM, 2 MiB aligned */
#define BIG_R2 0x1600000ul
#define PTE_PS (1ul << 7)

static uint32_t peek_big(void) { return *(volatile uint32_t *)(BIG_VA + 0x1ff000); }

static void test_tlb_invalidate(void)
{
	cli();
	exc_set_handler(13, pc_handler);
	uintptr_t cr3 = read_cr3(), cr4 = read_cr4();
	uintptr_t base = cr3 & ~0xffful;
	volatile uint64_t *pml4 = (volatile uint64_t *)base;
	volatile uint64_t *pdpt = (volatile uint64_t *)(uintptr_t)(pml4[0] & 0xffffffffff000ul);
	GUEST_ASSERT_EQ(pdpt[5], 0);
	GUEST_ASSERT(!(cr4 & (CR4_PGE | CR4_PCIDE)));
	volatile uint64_t *pd = (volatile uint64_t *)PD_PA;
	for (unsigned i = 0; i < 512; i++)
		pd[i] = pt()[i] = 0;
	pd[0] = PT_PA | PTE_P_RW;
	*(volatile uint32_t *)PAGE_A = MARK_A;
	*(volatile uint32_t *)PAGE_B = MARK_B;
	*(volatile uint32_t *)(BIG_R1 + 0x1ff000) = MARK_A;
	*(volatile uint32_t *)(BIG_R2 + 0x1ff000) = MARK_B;
	map_to(PAGE_A, PTE_G);
	pdpt[5] = PD_PA | PTE_P_RW;

	/* CR4.PGE set: a global entry; cleared: it goes; set again: the
	 * entry filled while PGE was 0 goes too. */
	GUEST_ASSERT_EQ(try_cr4(cr4 | CR4_PGE), 0);
	GUEST_ASSERT_EQ(peek(), MARK_A);
	map_to(PAGE_B, PTE_G);
	GUEST_ASSERT_EQ(try_cr4(cr4), 0);
	GUEST_ASSERT_EQ(peek(), MARK_B);
	map_to(PAGE_A, PTE_G);
	GUEST_ASSERT_EQ(try_cr4(cr4 | CR4_PGE), 0);
	GUEST_ASSERT_EQ(peek(), MARK_A);
	GUEST_SYNC("CR4.PGE cleared and set: global entries dropped", 0);

	/* INVLPG of the first 4 KiB of a 2 MiB page, global or not. */
	for (unsigned g = 0; g < 2; g++) {
		pd[1] = BIG_R1 | PTE_P_RW | PTE_PS | (g ? PTE_G : 0);
		__asm__ volatile("invlpg (%0)" : : "r"(BIG_VA) : "memory");
		GUEST_ASSERT_EQ(peek_big(), MARK_A);
		(void)*(volatile uint32_t *)BIG_VA;
		pd[1] = BIG_R2 | PTE_P_RW | PTE_PS | (g ? PTE_G : 0);
		__asm__ volatile("invlpg (%0)" : : "r"(BIG_VA) : "memory");
		GUEST_ASSERT_EQ(peek_big(), MARK_B);
	}
	GUEST_SYNC("INVLPG in a 2 MiB page drops the whole page", 0);

	uint32_t r[4];
	cpuid(7, 0, r);
	if (!has_pcid() || !(r[1] & (1u << 10))) {
		GUEST_SYNC("no PCID/INVPCID: PCID part skipped", 0);
	} else {
		GUEST_ASSERT_EQ(try_cr3(base), 0);
		GUEST_ASSERT_EQ(try_cr4(read_cr4() | CR4_PCIDE), 0);
		/* (setting PCIDE invalidates nothing: TEST_VA's global entry) */
		__asm__ volatile("invlpg (%0)" : : "r"(TEST_VA) : "memory");
		/* a global 2 MiB page filled in PCID 1, INVLPG in PCID 2 */
		GUEST_ASSERT_EQ(try_cr3(base | 1), 0);
		pd[1] = BIG_R1 | PTE_P_RW | PTE_PS | PTE_G;
		__asm__ volatile("invlpg (%0)" : : "r"(BIG_VA) : "memory");
		GUEST_ASSERT_EQ(peek_big(), MARK_A);
		pd[1] = BIG_R2 | PTE_P_RW | PTE_PS | PTE_G;
		GUEST_ASSERT_EQ(try_cr3(base | 2), 0);
		__asm__ volatile("invlpg (%0)" : : "r"(BIG_VA) : "memory");
		GUEST_ASSERT_EQ(try_cr3(base | 1 | NOFLUSH), 0);
		GUEST_ASSERT_EQ(peek_big(), MARK_B);
		/* twelve PCIDs, each loaded with a flush onto a new mapping */
		for (unsigned pcid = 1; pcid <= 12; pcid++) {
			map_to(pcid & 1 ? PAGE_A : PAGE_B, 0);
			GUEST_ASSERT_EQ(try_cr3(base | pcid), 0);
			GUEST_ASSERT_EQ(peek(), pcid & 1 ? MARK_A : MARK_B);
		}
		/* each flushed by INVPCID type 1 from PCID 12, then entered
		 * without flush: it walks */
		for (unsigned pcid = 1; pcid <= 11; pcid++) {
			map_to(pcid & 1 ? PAGE_B : PAGE_A, 0);
			GUEST_ASSERT_EQ(try_cr3(base | 12 | NOFLUSH), 0);
			GUEST_ASSERT_EQ(try_invpcid(1, pcid, 0), 0);
			GUEST_ASSERT_EQ(try_cr3(base | pcid | NOFLUSH), 0);
			GUEST_ASSERT_EQ(peek(), pcid & 1 ? MARK_B : MARK_A);
		}
		GUEST_ASSERT_EQ(try_cr3(base), 0);
		GUEST_ASSERT_EQ(try_cr4(read_cr4() & ~CR4_PCIDE), 0);
		GUEST_SYNC("twelve PCIDs: flushed ones walk, INVLPG reaches other PCIDs' globals", 0);
	}

	pdpt[5] = 0;
	GUEST_ASSERT_EQ(try_cr4(cr4), 0);
	GUEST_ASSERT_EQ(try_cr3(cr3), 0);
	exc_set_handler(13, NULL);
	GUEST_DONE();
}
GUEST_TEST("tlb-invalidate", test_tlb_invalidate);

#endif

#ifdef __x86_64__
/* Not checks: fixed loads of kernel events for measuring their host cost
 * (valgrind --tool=callgrind ringvm run ... test=kevents; docs/soft-cpu.md,
 * "Kernel events").  kevents: 100000 software interrupts with IRETQ (CS
 * reloads, no CPL change), then 100000 MOV CR3 with PCIDE off (non-global
 * flushes; this image runs with CR4.PGE=0, so a full flush before PCID),
 * each followed by loads from 4 pages.  kevents-pcid: 100000 MOV CR3
 * switching between two PCIDs without flush, each followed by the loads. */
__asm__(".text\n.globl kev_stub\nkev_stub: iretq\n");
void kev_stub(void);

static uint32_t kev_loads(void)
{
	volatile uint32_t *p = (volatile uint32_t *)0x800000ul;
	return p[0] + p[1024] + p[2048] + p[3072];
}

static void test_kevents(void)
{
	cli();
	idt_set_gate(0x2e, (uintptr_t)kev_stub, read_cs(), 0x8e);
	for (unsigned i = 0; i < 100000; i++)
		__asm__ volatile("int $0x2e" : : : "memory");
	uintptr_t cr3 = read_cr3() & ~0xffful;
	uint32_t sum = 0;
	for (unsigned i = 0; i < 100000; i++) {
		__asm__ volatile("mov %0, %%cr3" : : "r"(cr3) : "memory");
		sum += kev_loads();
	}
	GUEST_SYNC("interrupts and CR3 writes done", sum);
	GUEST_DONE();
}
GUEST_TEST("kevents", test_kevents);

static void test_kevents_pcid(void)
{
	cli();
	GUEST_ASSERT(has_pcid());
	uintptr_t cr3 = read_cr3() & ~0xffful, cr4 = read_cr4();
	uint32_t sum = 0;
	__asm__ volatile("mov %0, %%cr4" : : "r"(cr4 | CR4_PCIDE) : "memory");
	for (unsigned i = 0; i < 100000; i++) {
		__asm__ volatile("mov %0, %%cr3" : : "r"(cr3 | (1 + (i & 1)) | NOFLUSH) : "memory");
		sum += kev_loads();
	}
	__asm__ volatile("mov %0, %%cr3" : : "r"(cr3) : "memory");
	__asm__ volatile("mov %0, %%cr4" : : "r"(cr4) : "memory");
	GUEST_SYNC("PCID switches done", sum);
	GUEST_DONE();
}
GUEST_TEST("kevents-pcid", test_kevents_pcid);
#endif
