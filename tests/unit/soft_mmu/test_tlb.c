/* The shadow TLB's flushes (mmu/tlb.c) and inline-store rights
 * (mmu/code_write.c): a TLB filled, flushed by each path, and what stays
 * and what goes checked against the architecture (SDM vol. 3A 4.10.4):
 * global entries survive non-global flushes, PCIDs are independent,
 * INVLPG drops a page in every PCID and a whole large page, a flush of
 * everything drops globals even when another PCID's lookup finds them;
 * the O(1) mechanisms (space numbers, their floors and wrap, slot windows,
 * the large-page filter, the reverse index of inline-store rights) are
 * checked through their counters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "cpu/soft/mmu/soft_mmu.h"
#include "ringvm/compiler.h"

struct fixture {
	struct gmem mem;
	struct bus mmio;
	struct soft_cpu cpu;
	struct soft_code_tracker code;
	struct soft_mmu mmu;
};

#define P 1ULL
#define W 2ULL
#define U 4ULL
#define PS 0x80ULL
#define G 0x100ULL
#define CR4_PCIDE (1ULL << 17)
#define NOFLUSH (1ULL << 63)

/* 4-level tables: PML4 0x100000, PDPT 0x101000, PD 0x102000, PT 0x103000.
 * la 0x400000-0x5fffff: 4 KiB pages through the PT (PD index 2) to
 * 0x800000 + i * 4 KiB; la 0x200000: a 2 MiB page at 0x600000 (PD index 1);
 * la 0x40000000: a 1 GiB page at 0 (PDPT index 1). */
#define PT 0x103000ULL
#define LA 0x402000ULL
#define PTE(la) (PT + 8 * (((la) >> 12) & 511))

static uint64_t w64(struct fixture *fx, uint64_t gpa, uint64_t v)
{
	gmem_write_u64(&fx->mem, gpa, v);
	return v;
}

static int setup(void **state)
{
	static struct fixture fx;
	memset(&fx, 0, sizeof(fx));
	struct gmem_opts o = { .ram_size = 16 * MiB };
	if (gmem_init(&fx.mem, &o) || bus_init(&fx.mmio, BUS_MMIO) ||
	    soft_code_tracker_init(&fx.code, o.ram_size))
		return -1;
	soft_mmu_init(&fx.mmu, &fx.cpu, &fx.mem, &fx.mmio, NULL);
	fx.mmu.code = &fx.code;
	gmem_fill(&fx.mem, 0x100000, 0, 0x4000);
	w64(&fx, 0x100000, 0x101000 | P | W | U);
	w64(&fx, 0x101000, 0x102000 | P | W | U);
	w64(&fx, 0x101000 + 8, 0 | P | W | PS);
	w64(&fx, 0x102000 + 8 * 2, PT | P | W | U);
	w64(&fx, 0x102000 + 8 * 1, 0x600000 | P | W | PS);
	for (uint64_t i = 0; i < 512; i++) {
		w64(&fx, PT + 8 * i, (0x800000 + 0x1000 * i) | P | W | G);
		gmem_write_u32(&fx.mem, 0x800000 + 0x1000 * i, (uint32_t)(0xa0000 + i));
	}
	fx.cpu.cr3 = 0x100000;
	fx.cpu.cr0 = X86_CR0_PE | X86_CR0_PG | X86_CR0_WP;
	fx.cpu.cr4 = X86_CR4_PAE | X86_CR4_PGE;
	fx.cpu.efer = X86_EFER_LME | X86_EFER_LMA | X86_EFER_NXE;
	soft_mmu_flush_all(&fx.mmu);
	*state = &fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	soft_code_tracker_destroy(&fx->code);
	bus_destroy(&fx->mmio);
	gmem_destroy(&fx->mem);
	return 0;
}

/* The value the guest reads at la (a fault fails the test). */
static uint32_t rd(struct fixture *fx, uint64_t la)
{
	struct soft_fault f;
	uint32_t v = 0;
	assert_int_equal(soft_mmu_ops.read(&fx->mmu, la, &v, 4, SOFT_ACC_READ, &f), 0);
	return v;
}

/* Point la's PTE at the page that reads 0xa0000 + n (n < 512). */
static void map(struct fixture *fx, uint64_t la, uint64_t n, uint64_t flags)
{
	w64(fx, PTE(la), (0x800000 + 0x1000 * n) | P | W | flags);
}

/* MOV CR3 as exec_sys.c does it: CR3 first, then the flush. */
static void mov_cr3(struct fixture *fx, uint64_t v)
{
	bool keep = (fx->cpu.cr4 & CR4_PCIDE) && (v >> 63);
	fx->cpu.cr3 = v & ~NOFLUSH;
	if (keep)
		soft_mmu_switch_pcid(&fx->mmu);
	else
		soft_mmu_flush_nonglobal(&fx->mmu);
}

static void pcide(struct fixture *fx)
{
	fx->cpu.cr4 |= CR4_PCIDE;
	soft_mmu_flush_all(&fx->mmu);
}

/* Global entries survive MOV CR3 and INVPCID type 3 (model: deterministically,
 * the SDM allows dropping them), non-global ones do not; a flush of
 * everything (INVPCID 2, a CR4 change) drops both. */
static void test_global_and_nonglobal(void **state)
{
	struct fixture *fx = *state;
	uint64_t la_ng = LA + 0x1000;
	map(fx, la_ng, 100, 0);
	mov_cr3(fx, 0x100000);
	assert_int_equal(rd(fx, LA), 0xa0002);
	assert_int_equal(rd(fx, la_ng), 0xa0064);
	map(fx, LA, 7, G);
	map(fx, la_ng, 8, 0);
	assert_int_equal(rd(fx, LA), 0xa0002); /* stale until invalidated */
	mov_cr3(fx, 0x100000);
	assert_int_equal(rd(fx, LA), 0xa0002);     /* global: kept */
	assert_int_equal(rd(fx, la_ng), 0xa0008);  /* non-global: gone */
	soft_mmu_flush_all_nonglobal(&fx->mmu);
	assert_int_equal(rd(fx, LA), 0xa0002);
	soft_mmu_flush_all(&fx->mmu);
	assert_int_equal(rd(fx, LA), 0xa0007);
	/* CR4.PGE cleared: everything goes (exec_sys.c flushes all) */
	map(fx, LA, 9, G);
	fx->cpu.cr4 &= ~(uint64_t)X86_CR4_PGE;
	soft_mmu_flush_all(&fx->mmu);
	assert_int_equal(rd(fx, LA), 0xa0009);
	map(fx, LA, 10, G); /* G ignored without PGE: a CR3 write drops it */
	mov_cr3(fx, 0x100000);
	assert_int_equal(rd(fx, LA), 0xa000a);
	assert_int_equal(fx->mmu.stats.space_wraps, 0);
}

/* A flush of everything must not let a later address space revive a
 * global entry filled before it (the global floor): a lookup that finds a
 * global entry of another space in the slot may move it over only if no
 * flush of everything came in between. */
static void test_global_floor(void **state)
{
	struct fixture *fx = *state;
	pcide(fx);
	mov_cr3(fx, 0x100000 | 1);
	assert_int_equal(rd(fx, LA), 0xa0002);
	map(fx, LA, 5, G);
	/* a flush of PCID 1 gives it a new space: its lookup finds the global
	 * entry of the old one and moves it over */
	mov_cr3(fx, 0x100000 | 1);
	uint64_t retags = fx->mmu.stats.global_retags;
	assert_int_equal(rd(fx, LA), 0xa0002); /* re-tagged into the new space */
	assert_int_equal(fx->mmu.stats.global_retags, retags + 1);
	soft_mmu_flush_all(&fx->mmu); /* INVPCID type 2 */
	assert_int_equal(rd(fx, LA), 0xa0005);
	assert_int_equal(fx->mmu.stats.global_retags, retags + 1);
	/* INVPCID type 3 keeps it: the floor of globals does not move */
	map(fx, LA, 6, G);
	soft_mmu_flush_all_nonglobal(&fx->mmu);
	assert_int_equal(rd(fx, LA), 0xa0005);
	assert_int_equal(fx->mmu.stats.global_retags, retags + 2);
}

/* PCIDs keep separate entries: a switch without flush keeps the PCID's
 * entries, INVPCID type 1 of another PCID drops only that one's, type 3
 * every PCID's; the same address under two PCIDs uses two slots. */
static void test_pcids_independent(void **state)
{
	struct fixture *fx = *state;
	pcide(fx);
	map(fx, LA, 1, 0);
	mov_cr3(fx, 0x100000 | 1);
	assert_int_equal(rd(fx, LA), 0xa0001);
	map(fx, LA, 2, 0);
	mov_cr3(fx, 0x100000 | 2);
	assert_int_equal(rd(fx, LA), 0xa0002);
	map(fx, LA, 3, 0);
	uint64_t misses = fx->mmu.stats.misses;
	mov_cr3(fx, 0x100000 | 1 | NOFLUSH);
	assert_int_equal(rd(fx, LA), 0xa0001); /* PCID 1's entry, no walk */
	mov_cr3(fx, 0x100000 | 2 | NOFLUSH);
	assert_int_equal(rd(fx, LA), 0xa0002);
	assert_int_equal(fx->mmu.stats.misses, misses); /* two slots, no eviction */
	soft_mmu_flush_pcid(&fx->mmu, 1); /* INVPCID type 1, not the current PCID */
	assert_int_equal(rd(fx, LA), 0xa0002);
	mov_cr3(fx, 0x100000 | 1 | NOFLUSH);
	assert_int_equal(rd(fx, LA), 0xa0003);
	map(fx, LA, 4, 0);
	soft_mmu_flush_all_nonglobal(&fx->mmu); /* type 3: PCID 2's too */
	mov_cr3(fx, 0x100000 | 2 | NOFLUSH);
	assert_int_equal(rd(fx, LA), 0xa0004);
	/* MOV CR3 without no-flush to the current PCID drops its entries */
	map(fx, LA, 5, 0);
	assert_int_equal(rd(fx, LA), 0xa0004);
	mov_cr3(fx, 0x100000 | 2);
	assert_int_equal(rd(fx, LA), 0xa0005);
}

/* INVLPG (and INVPCID type 0 of the current PCID) drops the page's global
 * entry whichever PCID filled it, and the current PCID's entry. */
static void test_invlpg_every_pcid(void **state)
{
	struct fixture *fx = *state;
	pcide(fx);
	mov_cr3(fx, 0x100000 | 3);
	assert_int_equal(rd(fx, LA), 0xa0002); /* global, in PCID 3's window */
	map(fx, LA, 20, G);
	mov_cr3(fx, 0x100000 | 5);
	soft_mmu_flush_page(&fx->mmu, LA);
	mov_cr3(fx, 0x100000 | 3 | NOFLUSH);
	assert_int_equal(rd(fx, LA), 0xa0014);
	/* a non-global entry of the current PCID, next to an untouched one */
	uint64_t la = LA + 0x2000;
	map(fx, la, 21, 0);
	map(fx, la + 0x1000, 22, 0);
	assert_int_equal(rd(fx, la), 0xa0015);
	assert_int_equal(rd(fx, la + 0x1000), 0xa0016);
	map(fx, la, 23, 0);
	map(fx, la + 0x1000, 24, 0);
	soft_mmu_flush_page(&fx->mmu, la);
	assert_int_equal(rd(fx, la), 0xa0017);
	assert_int_equal(rd(fx, la + 0x1000), 0xa0016); /* model: kept */
	assert_int_equal(fx->mmu.stats.large_passes, 0); /* no large page: no pass */
}

/* More PCIDs than slot windows: the ninth takes the least recently used
 * window over without a pass, and never sees the old owner's entries. */
static void test_ninth_pcid(void **state)
{
	struct fixture *fx = *state;
	pcide(fx);
	for (unsigned pcid = 1; pcid <= 10; pcid++) {
		map(fx, LA, pcid, 0);
		mov_cr3(fx, 0x100000 | pcid);
		assert_int_equal(rd(fx, LA), 0xa0000 + pcid);
	}
	/* windows: PCID 0 (from the start) and 1-7; 8, 9, 10 took 0, 1, 2's */
	assert_int_equal(fx->mmu.stats.window_recycles, 3);
	assert_int_equal(fx->mmu.stats.space_wraps, 0);
	map(fx, LA, 30, 0);
	/* kept: PCIDs that still have their window (model) */
	for (unsigned pcid = 3; pcid <= 10; pcid++) {
		mov_cr3(fx, 0x100000 | pcid | NOFLUSH);
		assert_int_equal(rd(fx, LA), 0xa0000 + pcid);
	}
	/* PCID 1 lost its window: its entry is out of reach, it walks (and
	 * takes over the window of PCID 3, the least recently used) */
	mov_cr3(fx, 0x100000 | 1 | NOFLUSH);
	assert_int_equal(rd(fx, LA), 0xa001e);
	assert_int_equal(fx->mmu.stats.window_recycles, 4);
	mov_cr3(fx, 0x100000 | 3 | NOFLUSH);
	assert_int_equal(rd(fx, LA), 0xa001e);
	/* the recycled windows keep working after INVPCID type 1 of a PCID
	 * without a window */
	soft_mmu_flush_pcid(&fx->mmu, 2);
	map(fx, LA, 31, 0);
	mov_cr3(fx, 0x100000 | 2 | NOFLUSH);
	assert_int_equal(rd(fx, LA), 0xa001f);
}

/* Space numbers run out after 1023 fresh spaces: the table is cleared
 * once, and no PCID keeps a number that could be handed out again. */
static void test_space_wrap(void **state)
{
	struct fixture *fx = *state;
	pcide(fx);
	map(fx, LA, 1, 0);
	mov_cr3(fx, 0x100000 | 1);
	assert_int_equal(rd(fx, LA), 0xa0001);
	map(fx, LA, 2, 0);
	for (unsigned i = 0; i < SOFT_TLB_SPACES + 5; i++)
		mov_cr3(fx, 0x100000 | 2);
	assert_int_equal(fx->mmu.stats.space_wraps, 1);
	/* fill PCID 2 in spaces handed out after the wrap */
	assert_int_equal(rd(fx, LA), 0xa0002);
	map(fx, LA, 3, 0);
	mov_cr3(fx, 0x100000 | 1 | NOFLUSH);
	assert_int_equal(rd(fx, LA), 0xa0003);
	mov_cr3(fx, 0x100000 | 2 | NOFLUSH);
	assert_int_equal(rd(fx, LA), 0xa0002);
}

/* INVLPG of one address inside a 2 MiB or 1 GiB page drops the slots filled
 * from the whole page; INVLPG elsewhere makes no pass. */
static void test_invlpg_large_pages(void **state)
{
	struct fixture *fx = *state;
	struct soft_fault f;
	uint32_t v;
	gmem_write_u32(&fx->mem, 0x600000 + 0x1ff000, 0x2222);
	gmem_write_u32(&fx->mem, 0xa00000 + 0x1ff000, 0x3333);
	assert_int_equal(rd(fx, 0x200000 + 0x1ff000), 0x2222);
	assert_int_equal(rd(fx, 0x200000), 0);
	w64(fx, 0x102000 + 8 * 1, 0xa00000 | P | W | PS);
	soft_mmu_flush_page(&fx->mmu, LA); /* not in a large page */
	assert_int_equal(fx->mmu.stats.large_passes, 0);
	assert_int_equal(rd(fx, 0x200000 + 0x1ff000), 0x2222);
	soft_mmu_flush_page(&fx->mmu, 0x200000);
	assert_int_equal(fx->mmu.stats.large_passes, 1);
	assert_int_equal(rd(fx, 0x200000 + 0x1ff000), 0x3333);
	/* 1 GiB page: another 2 MiB region of it goes too */
	gmem_write_u32(&fx->mem, 0x900000, 0x4444);
	assert_int_equal(rd(fx, 0x40900000), 0x4444);
	w64(fx, 0x101000 + 8, 0);
	soft_mmu_flush_page(&fx->mmu, 0x40000000);
	assert_int_equal(soft_mmu_ops.read(&fx->mmu, 0x40900000, &v, 4, SOFT_ACC_READ, &f), -1);
	assert_int_equal(f.vector, X86_EXC_PF);
	/* a flush of everything empties the filter */
	soft_mmu_flush_all(&fx->mmu);
	uint64_t passes = fx->mmu.stats.large_passes;
	soft_mmu_flush_page(&fx->mmu, 0x200000);
	assert_int_equal(fx->mmu.stats.large_passes, passes);
}

static struct soft_tlb_entry *slot_of(struct fixture *fx, uint64_t la)
{
	return &fx->mmu.tlb[((la >> 12) + fx->mmu.slot_off) & (SOFT_TLB_SIZE - 1)];
}

/* The translator's fields (soft_tlb_entry_jit): on a RAM page tag_jread
 * is tag_read and the addend takes the linear address to the host one,
 * also after a global entry moved into another space; on a page that is
 * not RAM tag_jread is ~0, so translated loads never hit it inline (the
 * probe has no MMIO test of its own), and neither do stores. */
static void test_jit_fields(void **state)
{
	struct fixture *fx = *state;
	pcide(fx);
	mov_cr3(fx, 0x100000 | 1);
	assert_int_equal(rd(fx, LA + 0x10), 0);
	struct soft_tlb_entry *e = slot_of(fx, LA);
	assert_int_not_equal(e->tag_jread, ~0ULL);
	assert_int_equal(e->tag_jread, e->tag_read);
	assert_ptr_equal((uint8_t *)(uintptr_t)(LA + 0x10 + e->addend),
			 gmem_ptr(&fx->mem, 0x802010, 4));
	mov_cr3(fx, 0x100000 | 1); /* a fresh space: the global entry moves over */
	uint64_t retags = fx->mmu.stats.global_retags;
	assert_int_equal(rd(fx, LA), 0xa0002);
	assert_int_equal(fx->mmu.stats.global_retags, retags + 1);
	assert_int_equal(e->tag_jread, e->tag_read);
	/* a page past the end of RAM: device memory (unclaimed: all-ones) */
	w64(fx, PTE(LA + 0x3000), 0x2000000 | P | W);
	assert_int_equal(rd(fx, LA + 0x3000), 0xffffffffu);
	e = slot_of(fx, LA + 0x3000);
	assert_int_not_equal(e->tag_read, ~0ULL);
	assert_int_equal(e->tag_jread, ~0ULL);
	assert_int_equal(e->tag_fastw, ~0ULL);
	/* INVLPG clears it */
	e = slot_of(fx, LA);
	soft_mmu_flush_page(&fx->mmu, LA);
	assert_int_equal(e->tag_jread, ~0ULL);
}

static void wr(struct fixture *fx, uint64_t la, uint32_t v)
{
	struct soft_fault f;
	uint64_t pa[2];
	assert_int_equal(soft_mmu_ops.write(&fx->mmu, la, &v, 4, pa, &f), 0);
}

/* A page that becomes code loses its inline-store right in exactly its
 * slots, found through the reverse index, and the drop is published (a
 * store through it may have skipped the tracker); pages that stay data
 * keep theirs. */
static void test_fastw_withdrawn(void **state)
{
	struct fixture *fx = *state;
	uint64_t a = 0x410000, b = 0x411000;
	wr(fx, a, 1);
	wr(fx, b, 2);
	assert_int_not_equal(slot_of(fx, a)->tag_fastw, ~0ULL);
	assert_int_not_equal(slot_of(fx, b)->tag_fastw, ~0ULL);
	/* another vCPU fetches from a's page */
	uint64_t epoch = fx->code.epoch;
	soft_code_mark(&fx->code, slot_of(fx, a)->gpa);
	soft_mmu_code_marks_sync(&fx->mmu);
	assert_int_equal(slot_of(fx, a)->tag_fastw, ~0ULL);
	assert_int_not_equal(slot_of(fx, b)->tag_fastw, ~0ULL);
	assert_int_equal(fx->mmu.stats.fastw_revokes, 1);
	assert_int_equal(fx->mmu.stats.mark_passes, 0);
	assert_int_equal(fx->code.epoch, epoch + 1); /* published */
	/* a refill of the slot does not grant it again while the page is code */
	soft_mmu_flush_page(&fx->mmu, a);
	wr(fx, a, 3); /* the slow path: unmarks and publishes */
	assert_int_equal(fx->code.epoch, epoch + 2);
	assert_false(soft_code_is_marked(&fx->code, slot_of(fx, a)->gpa));
	/* ...and once it is data again, the next fill grants it */
	soft_mmu_flush_page(&fx->mmu, a);
	wr(fx, a, 4);
	assert_int_not_equal(slot_of(fx, a)->tag_fastw, ~0ULL);
	/* a slot dropped (INVLPG) after its page became code and before the
	 * sync is published by the drop */
	soft_code_mark(&fx->code, slot_of(fx, b)->gpa);
	soft_mmu_flush_page(&fx->mmu, b);
	assert_int_equal(fx->code.epoch, epoch + 3);
	soft_mmu_code_marks_sync(&fx->mmu);
	assert_int_equal(fx->code.epoch, epoch + 3);
}

/* Every page written becomes code: every right goes without a pass over
 * the table (the reverse index holds every slot with the right, or the
 * right was withdrawn when its bucket overflowed); a vCPU that fell a
 * ring behind passes over the table once. */
static void test_fastw_all_pages(void **state)
{
	struct fixture *fx = *state;
	for (uint64_t i = 0; i < 512; i++)
		wr(fx, 0x400000 + 0x1000 * i, (uint32_t)i);
	unsigned granted = 0;
	for (uint64_t i = 0; i < 512; i++)
		granted += slot_of(fx, 0x400000 + 0x1000 * i)->tag_fastw != ~0ULL;
	assert_true(granted > 400);
	for (uint64_t i = 0; i < 512; i++)
		soft_code_mark(&fx->code, 0x800000 + 0x1000 * i);
	soft_mmu_code_marks_sync(&fx->mmu);
	assert_int_equal(fx->mmu.stats.mark_passes, 0);
	for (uint64_t i = 0; i < 512; i++)
		assert_int_equal(slot_of(fx, 0x400000 + 0x1000 * i)->tag_fastw, ~0ULL);
	/* fell behind: more new marks than the ring holds */
	for (uint64_t i = 0; i < 64; i++)
		soft_code_unmark(&fx->code, 0x800000 + 0x1000 * i);
	soft_mmu_flush_all(&fx->mmu);
	for (uint64_t i = 0; i < 64; i++)
		wr(fx, 0x400000 + 0x1000 * i, (uint32_t)i);
	assert_int_not_equal(slot_of(fx, 0x400000)->tag_fastw, ~0ULL);
	for (uint64_t pg = 0; pg < SOFT_CODE_MARK_RING + 8; pg++)
		soft_code_mark(&fx->code, 0x1000 * pg);
	soft_mmu_code_marks_sync(&fx->mmu);
	assert_int_equal(fx->mmu.stats.mark_passes, 1);
	for (uint64_t i = 0; i < 64; i++)
		assert_int_equal(slot_of(fx, 0x400000 + 0x1000 * i)->tag_fastw, ~0ULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_global_and_nonglobal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_global_floor, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pcids_independent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invlpg_every_pcid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ninth_pcid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_space_wrap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invlpg_large_pages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_jit_fields, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fastw_withdrawn, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fastw_all_pages, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
