/* The soft engine's MMU: page walks in every paging mode, permissions, A/D
 * bits, #PF error codes, TLB hits and flushes, MMIO routing. */
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
	struct soft_mmu mmu;
	uint64_t unmapped_gpa;
	unsigned unmapped_calls;
	uint64_t dev_last;
	unsigned local_calls, policy_calls;
	uint32_t local_reg;
};

static void on_unmapped(void *opaque, uint64_t gpa, unsigned size, bool write)
{
	struct fixture *fx = opaque;
	(void)size;
	(void)write;
	fx->unmapped_gpa = gpa;
	fx->unmapped_calls++;
}

static uint64_t dev_read(void *opaque, uint64_t off, unsigned size)
{
	(void)opaque;
	(void)size;
	return 0xabcd0000 + off;
}

static void dev_write(void *opaque, uint64_t off, unsigned size, uint64_t v)
{
	struct fixture *fx = opaque;
	(void)off;
	(void)size;
	fx->dev_last = v;
}

static const struct bus_ops dev_ops = { dev_read, dev_write };

static int setup(void **state)
{
	static struct fixture fx;
	memset(&fx, 0, sizeof(fx));
	struct gmem_opts o = { .ram_size = 16 * MiB };
	if (gmem_init(&fx.mem, &o) || bus_init(&fx.mmio, BUS_MMIO))
		return -1;
	bus_register(&fx.mmio, 0xfe000000, 0x1000, &dev_ops, &fx, "dev");
	struct soft_mmu_hooks h = { .unmapped = on_unmapped, .opaque = &fx };
	soft_mmu_init(&fx.mmu, &fx.cpu, &fx.mem, &fx.mmio, &h);
	*state = &fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	bus_destroy(&fx->mmio);
	gmem_destroy(&fx->mem);
	return 0;
}

static void w64(struct fixture *fx, uint64_t gpa, uint64_t v) { gmem_write_u64(&fx->mem, gpa, v); }
static void w32(struct fixture *fx, uint64_t gpa, uint32_t v) { gmem_write_u32(&fx->mem, gpa, v); }
static uint64_t r64(struct fixture *fx, uint64_t gpa)
{
	uint64_t v = 0;
	gmem_read_u64(&fx->mem, gpa, &v);
	return v;
}

#define P 1ULL
#define W 2ULL
#define U 4ULL
#define A 0x20ULL
#define D 0x40ULL
#define PS 0x80ULL
#define G 0x100ULL
#define XD (1ULL << 63)

/* 4-level tables at 0x100000: PML4 0x100000, PDPT 0x101000, PD 0x102000,
 * PT 0x103000.  la 0x400000 (PD index 2) -> 4 KiB pages via the PT;
 * la 0x200000 (PD index 1) -> a 2 MiB page at 0x600000. */
static void build_4level(struct fixture *fx, uint64_t pt_flags)
{
	gmem_fill(&fx->mem, 0x100000, 0, 0x4000);
	w64(fx, 0x100000, 0x101000 | P | W | U);
	w64(fx, 0x101000, 0x102000 | P | W | U);
	w64(fx, 0x102000 + 8 * 2, 0x103000 | P | W | U);
	w64(fx, 0x102000 + 8 * 1, 0x600000 | P | W | U | PS);
	for (int i = 0; i < 512; i++)
		w64(fx, 0x103000 + 8 * (uint64_t)i, (0x800000 + 0x1000 * (uint64_t)i) | pt_flags);
	fx->cpu.cr3 = 0x100000;
	fx->cpu.cr0 = X86_CR0_PE | X86_CR0_PG | X86_CR0_WP;
	fx->cpu.cr4 = X86_CR4_PAE;
	fx->cpu.efer = X86_EFER_LME | X86_EFER_LMA | X86_EFER_NXE;
	fx->cpu.cpl = 0;
	soft_mmu_flush_all(&fx->mmu);
}

static void test_no_paging_is_identity(void **state)
{
	struct fixture *fx = *state;
	struct soft_walk w;
	struct soft_fault f;
	fx->cpu.cr0 = X86_CR0_PE;
	fx->cpu.efer = 0;
	assert_int_equal(soft_mmu_translate(&fx->mmu, 0x12345, SOFT_ACC_WRITE, &w, &f), 0);
	assert_int_equal(w.gpa, 0x12345);
	uint32_t v = 0x11223344, back = 0;
	uint64_t pa[2];
	assert_int_equal(soft_mmu_ops.write(&fx->mmu, 0x5000, &v, 4, pa, &f), 0);
	assert_int_equal(pa[0], 0x5000);
	assert_int_equal(pa[1], 0x5003);
	assert_int_equal(soft_mmu_ops.read(&fx->mmu, 0x5000, &back, 4, SOFT_ACC_READ, &f), 0);
	assert_int_equal(back, v);
}

static void test_4level_walk_sets_accessed_and_dirty(void **state)
{
	struct fixture *fx = *state;
	struct soft_fault f;
	build_4level(fx, P | W);
	uint32_t v = 0xcafe;
	uint64_t pa[2];
	assert_int_equal(soft_mmu_ops.read(&fx->mmu, 0x401234, &v, 4, SOFT_ACC_READ, &f), 0);
	/* A set on every level, D not yet. */
	assert_true(r64(fx, 0x100000) & A);
	assert_true(r64(fx, 0x101000) & A);
	assert_true(r64(fx, 0x102000 + 16) & A);
	assert_true(r64(fx, 0x103000 + 8) & A);
	assert_false(r64(fx, 0x103000 + 8) & D);
	/* The write after a read must still set D (the read slot gave no write). */
	v = 0x5a5a5a5a;
	assert_int_equal(soft_mmu_ops.write(&fx->mmu, 0x401234, &v, 4, pa, &f), 0);
	assert_true(r64(fx, 0x103000 + 8) & D);
	assert_int_equal(pa[0], 0x801234);
	uint32_t phys = 0;
	gmem_read_u32(&fx->mem, 0x801234, &phys);
	assert_int_equal(phys, 0x5a5a5a5a);
	/* 2 MiB page. */
	struct soft_walk w;
	assert_int_equal(soft_mmu_translate(&fx->mmu, 0x2abcde, SOFT_ACC_READ, &w, &f), 0);
	assert_int_equal(w.gpa, 0x6abcde);
	assert_int_equal(w.page_shift, 21);
}

static void test_page_fault_error_codes(void **state)
{
	struct fixture *fx = *state;
	struct soft_fault f;
	struct soft_walk w;
	build_4level(fx, P); /* read-only, supervisor-only 4 KiB pages */
	/* Not present: the PD has no entry for index 3. */
	assert_int_equal(soft_mmu_translate(&fx->mmu, 0x600000, SOFT_ACC_WRITE, &w, &f), -1);
	assert_int_equal(f.vector, X86_EXC_PF);
	assert_int_equal(f.error_code, 0x2); /* W, not P */
	assert_int_equal(f.cr2, 0x600000);
	/* Write to read-only with CR0.WP: P|W. */
	assert_int_equal(soft_mmu_translate(&fx->mmu, 0x400000, SOFT_ACC_WRITE, &w, &f), -1);
	assert_int_equal(f.error_code, 0x3);
	/* Without WP the supervisor may write. */
	fx->cpu.cr0 &= ~X86_CR0_WP;
	assert_int_equal(soft_mmu_translate(&fx->mmu, 0x400000, SOFT_ACC_WRITE, &w, &f), 0);
	fx->cpu.cr0 |= X86_CR0_WP;
	/* User read of a supervisor page: P|U. */
	fx->cpu.cpl = 3;
	assert_int_equal(soft_mmu_translate(&fx->mmu, 0x400000, SOFT_ACC_READ, &w, &f), -1);
	assert_int_equal(f.error_code, 0x5);
	fx->cpu.cpl = 0;
	/* NX fetch: P|I. */
	w64(fx, 0x103000, 0x800000 | P | XD);
	assert_int_equal(soft_mmu_translate(&fx->mmu, 0x400000, SOFT_ACC_FETCH, &w, &f), -1);
	assert_int_equal(f.error_code, 0x11);
	/* XD set while EFER.NXE is clear is a reserved bit: P|RSVD (+I absent). */
	fx->cpu.efer &= ~X86_EFER_NXE;
	assert_int_equal(soft_mmu_translate(&fx->mmu, 0x400000, SOFT_ACC_READ, &w, &f), -1);
	assert_int_equal(f.error_code, 0x9);
	/* Physical address bits above MAXPHYADDR are reserved. */
	fx->cpu.efer |= X86_EFER_NXE;
	w64(fx, 0x103000, (1ULL << 45) | P);
	assert_int_equal(soft_mmu_translate(&fx->mmu, 0x400000, SOFT_ACC_READ, &w, &f), -1);
	assert_int_equal(f.error_code, 0x9);
	/* Non-canonical: #GP(0). */
	assert_int_equal(soft_mmu_translate(&fx->mmu, 0x0000800000000000ULL, SOFT_ACC_READ, &w, &f), -1);
	assert_int_equal(f.vector, X86_EXC_GP);
}

static void test_32bit_and_pae_paging(void **state)
{
	struct fixture *fx = *state;
	struct soft_fault f;
	struct soft_walk w;
	/* 32-bit: PD at 0x200000, PT at 0x201000; la 0x00401000 -> 0x900000;
	 * la 0x00800000..: a 4 MiB PSE page at 0x00c00000. */
	gmem_fill(&fx->mem, 0x200000, 0, 0x2000);
	w32(fx, 0x200000 + 4 * 1, 0x201000 | P | W | U);
	w32(fx, 0x201000 + 4 * 1, 0x900000 | P | W | U);
	w32(fx, 0x200000 + 4 * 2, 0x00c00000 | P | W | PS);
	fx->cpu.cr3 = 0x200000;
	fx->cpu.cr0 = X86_CR0_PE | X86_CR0_PG;
	fx->cpu.cr4 = X86_CR4_PSE;
	fx->cpu.efer = 0;
	soft_mmu_flush_all(&fx->mmu);
	assert_int_equal(soft_mmu_translate(&fx->mmu, 0x401abc, SOFT_ACC_WRITE, &w, &f), 0);
	assert_int_equal(w.gpa, 0x900abc);
	uint32_t pte = 0;
	gmem_read_u32(&fx->mem, 0x201004, &pte);
	assert_int_equal(pte & (A | D), A | D);
	assert_int_equal(soft_mmu_translate(&fx->mmu, 0x923456, SOFT_ACC_READ, &w, &f), 0);
	assert_int_equal(w.gpa, 0xd23456);
	/* PSE off: the PS bit is ignored and the entry points to a page table. */
	fx->cpu.cr4 = 0;
	gmem_fill(&fx->mem, 0xc00000, 0, 0x1000);
	w32(fx, 0xc00000, 0x700000 | P);
	assert_int_equal(soft_mmu_translate(&fx->mmu, 0x800000, SOFT_ACC_READ, &w, &f), 0);
	assert_int_equal(w.page_shift, 12);
	assert_int_equal(w.gpa, 0x700000);

	/* PAE: PDPT at 0x300000 (32-byte aligned), PD 0x301000, 2 MiB page. */
	gmem_fill(&fx->mem, 0x300000, 0, 0x2000);
	w64(fx, 0x300000 + 8 * 1, 0x301000 | P); /* PDPTE for 1-2 GiB */
	w64(fx, 0x301000 + 8 * 3, 0x00a00000 | P | W | PS);
	fx->cpu.cr3 = 0x300000;
	fx->cpu.cr4 = X86_CR4_PAE;
	assert_int_equal(soft_mmu_translate(&fx->mmu, 0x40000000 + 0x600000 + 0x1234, SOFT_ACC_READ, &w, &f), 0);
	assert_int_equal(w.gpa, 0xa01234);
	/* Legacy PDPTEs have reserved bits (e.g. R/W). */
	w64(fx, 0x300000 + 8 * 1, 0x301000 | P | W);
	assert_int_equal(soft_mmu_translate(&fx->mmu, 0x40600000, SOFT_ACC_READ, &w, &f), -1);
	assert_int_equal(f.error_code, 0x9);
}

static void test_tlb_hits_and_flushes(void **state)
{
	struct fixture *fx = *state;
	struct soft_fault f;
	uint32_t v;
	build_4level(fx, P | W | G);
	fx->cpu.cr4 |= X86_CR4_PGE;
	soft_mmu_flush_all(&fx->mmu);
	assert_int_equal(soft_mmu_ops.read(&fx->mmu, 0x402000, &v, 4, SOFT_ACC_READ, &f), 0);
	uint64_t misses = fx->mmu.stats.misses;
	assert_int_equal(soft_mmu_ops.read(&fx->mmu, 0x402010, &v, 4, SOFT_ACC_READ, &f), 0);
	assert_int_equal(fx->mmu.stats.misses, misses);
	assert_true(fx->mmu.stats.hits >= 1);
	/* Remap the page in the tables: the TLB may keep the stale translation
	 * until INVLPG, exactly as hardware does... */
	w64(fx, 0x103000 + 8 * 2, 0x900000 | P | W | G);
	gmem_write_u32(&fx->mem, 0x900000, 0x99999999);
	gmem_write_u32(&fx->mem, 0x802000, 0x22222222);
	assert_int_equal(soft_mmu_ops.read(&fx->mmu, 0x402000, &v, 4, SOFT_ACC_READ, &f), 0);
	assert_int_equal(v, 0x22222222);
	/* ...a CR3 write keeps global pages... */
	soft_mmu_flush_nonglobal(&fx->mmu);
	assert_int_equal(soft_mmu_ops.read(&fx->mmu, 0x402000, &v, 4, SOFT_ACC_READ, &f), 0);
	assert_int_equal(v, 0x22222222);
	/* ...and INVLPG drops it. */
	soft_mmu_flush_page(&fx->mmu, 0x402000);
	assert_int_equal(soft_mmu_ops.read(&fx->mmu, 0x402000, &v, 4, SOFT_ACC_READ, &f), 0);
	assert_int_equal(v, 0x99999999);
	/* User and supervisor slots are distinct: a supervisor fill does not
	 * let user mode read a supervisor page. */
	fx->cpu.cpl = 3;
	assert_int_equal(soft_mmu_ops.read(&fx->mmu, 0x402000, &v, 4, SOFT_ACC_READ, &f), -1);
	assert_int_equal(f.error_code, 0x5);
	fx->cpu.cpl = 0;
}

/* Dirty-page tracking (docs/snapshot.md, "Diff snapshots"): a store marks
 * its page when its slot gets write rights, the walker marks the tables
 * whose A/D bits it sets; a store through a slot that has them marks
 * nothing more, until a full flush (the engine's dirty_log_fetch) drops it. */
static unsigned dirty_pages(struct fixture *fx, uint64_t *list, unsigned max)
{
	uint64_t bits[16 * MiB / 4096 / 64];
	unsigned n = 0;
	memset(bits, 0, sizeof(bits));
	gmem_dirty_fetch_and_clear(&fx->mem, bits);
	for (uint64_t p = 0; p < 16 * MiB / 4096; p++)
		if ((bits[p / 64] >> (p % 64)) & 1) {
			if (n < max)
				list[n] = p << 12;
			n++;
		}
	return n;
}

static void test_dirty_log(void **state)
{
	struct fixture *fx = *state;
	struct soft_fault f;
	uint64_t pa[2], got[8];
	uint32_t v = 1;
	build_4level(fx, P | W);
	assert_int_equal(gmem_dirty_start(&fx->mem), 0);
	assert_int_equal(soft_mmu_ops.write(&fx->mmu, 0x401234, &v, 4, pa, &f), 0);
	assert_int_equal(dirty_pages(fx, got, 8), 5);
	assert_int_equal(got[0], 0x100000);   /* A on each level, D in the PT */
	assert_int_equal(got[3], 0x103000);
	assert_int_equal(got[4], 0x801000);   /* the page written */
	/* The slot has write rights: a store costs no mark... */
	assert_int_equal(soft_mmu_ops.write(&fx->mmu, 0x401238, &v, 4, pa, &f), 0);
	assert_int_equal(dirty_pages(fx, got, 8), 0);
	/* ...until the flush that follows a fetch: then it marks again (the
	 * tables' bits are set already: not them). */
	soft_mmu_flush_all(&fx->mmu);
	assert_int_equal(soft_mmu_ops.write(&fx->mmu, 0x40123c, &v, 4, pa, &f), 0);
	assert_int_equal(dirty_pages(fx, got, 8), 1);
	assert_int_equal(got[0], 0x801000);
	/* Reads of a clean page mark nothing; RMW pointers are writes. */
	soft_mmu_flush_all(&fx->mmu);
	assert_int_equal(soft_mmu_ops.read(&fx->mmu, 0x405000, &v, 4, SOFT_ACC_READ, &f), 0);
	assert_int_equal(dirty_pages(fx, got, 8), 1);  /* only the PT (A bit) */
	assert_int_equal(got[0], 0x103000);
	void *host;
	uint64_t rpa;
	assert_int_equal(soft_mmu_ops.rmw_ptr(&fx->mmu, 0x406000, 8, &host, &rpa, &f), 0);
	assert_non_null(host);
	assert_int_equal(dirty_pages(fx, got, 8), 2);  /* the PT (A, D) and the page */
	assert_int_equal(got[1], 0x806000);
	gmem_dirty_stop(&fx->mem);
}

static void test_cross_page_write_checks_both_pages(void **state)
{
	struct fixture *fx = *state;
	struct soft_fault f;
	uint64_t pa[2];
	build_4level(fx, P | W);
	w64(fx, 0x103000 + 8 * 5, 0x805000 | P); /* page 5 read-only */
	gmem_write_u32(&fx->mem, 0x804ffe, 0x11111111);
	uint32_t v = 0xffffffff;
	assert_int_equal(soft_mmu_ops.write(&fx->mmu, 0x404ffe, &v, 4, pa, &f), -1);
	assert_int_equal(f.cr2, 0x405000);
	uint32_t back = 0;
	gmem_read_u32(&fx->mem, 0x804ffe, &back);
	assert_int_equal(back, 0x11111111); /* nothing written */
	/* A read across pages stitches both. */
	gmem_write_u32(&fx->mem, 0x805000, 0x44332211);
	assert_int_equal(soft_mmu_ops.read(&fx->mmu, 0x404ffe, &back, 4, SOFT_ACC_READ, &f), 0);
	assert_int_equal(back, 0x22111111);
}

static void test_mmio_routing(void **state)
{
	struct fixture *fx = *state;
	struct soft_fault f;
	uint64_t pa[2];
	uint32_t v;
	fx->cpu.cr0 = X86_CR0_PE;
	fx->cpu.efer = 0;
	fx->cpu.cr4 = 0;
	soft_mmu_flush_all(&fx->mmu);
	assert_int_equal(soft_mmu_ops.read(&fx->mmu, 0xfe000010, &v, 4, SOFT_ACC_READ, &f), 0);
	assert_int_equal(v, 0xabcd0010);
	v = 0x77;
	assert_int_equal(soft_mmu_ops.write(&fx->mmu, 0xfe000020, &v, 4, pa, &f), 0);
	assert_int_equal(fx->dev_last, 0x77);
	assert_int_equal(pa[0], ~0ULL);
	/* Unmapped: the engine hears of it, the read sees all-ones. */
	assert_int_equal(soft_mmu_ops.read(&fx->mmu, 0xfd000000, &v, 4, SOFT_ACC_READ, &f), 0);
	assert_int_equal(v, 0xffffffff);
	assert_int_equal(fx->unmapped_calls, 1);
	assert_int_equal(fx->unmapped_gpa, 0xfd000000);
}

/* A vCPU-local window (the LAPIC) claiming gpa 0x5000..0x5fff. */
static int local_window(void *opaque, uint64_t gpa, unsigned size, bool write, uint64_t *val)
{
	struct fixture *fx = opaque;
	(void)size;
	if (gpa < 0x5000 || gpa >= 0x6000)
		return -1;
	fx->local_calls++;
	if (write)
		fx->local_reg = (uint32_t)*val;
	else
		*val = 0x50014;
	return 0;
}

static void flat_no_paging(struct fixture *fx)
{
	fx->cpu.cr0 = X86_CR0_PE;
	fx->cpu.efer = 0;
	fx->cpu.cr4 = 0;
	soft_mmu_flush_all(&fx->mmu);
}

/* A local window relocated onto RAM wins over RAM for this MMU (SDM 10.4.5):
 * reads and writes reach the window, RAM below keeps its bytes, and RAM
 * comes back when the window moves away, even for a TLB slot filled before. */
static void test_local_page_over_ram(void **state)
{
	struct fixture *fx = *state;
	struct soft_fault f;
	uint64_t pa[2];
	uint32_t v;
	fx->mmu.hooks.local_mmio = local_window;
	flat_no_paging(fx);
	w32(fx, 0x5030, 0x12345678);
	assert_int_equal(soft_mmu_ops.read(&fx->mmu, 0x5030, &v, 4, SOFT_ACC_READ, &f), 0);
	assert_int_equal(v, 0x12345678);          /* no local page yet: RAM */
	soft_mmu_set_local_page(&fx->mmu, 0x5000);
	assert_int_equal(soft_mmu_ops.read(&fx->mmu, 0x5030, &v, 4, SOFT_ACC_READ, &f), 0);
	assert_int_equal(v, 0x50014);
	v = 0x30;
	assert_int_equal(soft_mmu_ops.write(&fx->mmu, 0x5080, &v, 4, pa, &f), 0);
	assert_int_equal(fx->local_reg, 0x30);
	assert_int_equal(pa[0], ~0ULL);
	assert_int_equal(fx->local_calls, 2);
	/* an atomic RMW gets no host pointer into the window */
	void *host = (void *)1;
	assert_int_equal(soft_mmu_ops.rmw_ptr(&fx->mmu, 0x5080, 4, &host, pa, &f), 0);
	assert_null(host);
	soft_mmu_set_local_page(&fx->mmu, UINT64_MAX);
	assert_int_equal(soft_mmu_ops.read(&fx->mmu, 0x5030, &v, 4, SOFT_ACC_READ, &f), 0);
	assert_int_equal(v, 0x12345678);
	uint32_t ram = 0;
	gmem_read_u32(&fx->mem, 0x5080, &ram);
	assert_int_equal(ram, 0);                 /* the write never reached RAM */
	assert_int_equal(fx->local_calls, 2);
}

static int policy(void *opaque, uint64_t gpa, unsigned size, bool write, uint64_t *val)
{
	struct fixture *fx = opaque;
	(void)size;
	fx->policy_calls++;
	if (gpa >= 0xfe000000 && gpa < 0xfe001000) {
		if (!write)
			*val = 0x600d;
		return 0;
	}
	return -1;
}

/* With the machine's MMIO policy hooked, every device access goes through it
 * (the bus and the unmapped hook are not used); a refused read sees all-ones. */
static void test_mmio_policy_hook(void **state)
{
	struct fixture *fx = *state;
	struct soft_fault f;
	uint32_t v;
	fx->mmu.hooks.mmio = policy;
	flat_no_paging(fx);
	assert_int_equal(soft_mmu_ops.read(&fx->mmu, 0xfe000010, &v, 4, SOFT_ACC_READ, &f), 0);
	assert_int_equal(v, 0x600d);
	v = 0;
	assert_int_equal(soft_mmu_ops.read(&fx->mmu, 0xfd000000, &v, 4, SOFT_ACC_READ, &f), 0);
	assert_int_equal(v, 0xffffffff);
	assert_int_equal(fx->policy_calls, 2);
	assert_int_equal(fx->unmapped_calls, 0);
	assert_int_equal(fx->mmu.stats.mmio_reads, 2);
}

/* probe (CLFLUSH): the translation and its faults, never the data. */
static void test_probe_touches_no_data(void **state)
{
	struct fixture *fx = *state;
	struct soft_fault f;
	fx->mmu.hooks.mmio = policy;
	flat_no_paging(fx);
	assert_int_equal(soft_mmu_ops.probe(&fx->mmu, 0xfd000000, SOFT_ACC_READ, &f), 0);
	assert_int_equal(soft_mmu_ops.probe(&fx->mmu, 0xfe000000, SOFT_ACC_READ, &f), 0);
	assert_int_equal(fx->policy_calls, 0);
	assert_int_equal(fx->mmu.stats.mmio_reads, 0);
	/* paging: a not-present page faults like a read, A is set on success */
	build_4level(fx, P | W);
	w64(fx, 0x103000 + 8 * 3, 0);             /* la 0x403000 not present */
	assert_int_equal(soft_mmu_ops.probe(&fx->mmu, 0x403000, SOFT_ACC_READ, &f), -1);
	assert_int_equal(f.vector, 14);
	assert_int_equal(f.error_code, 0);
	assert_int_equal(f.cr2, 0x403000);
	assert_int_equal(soft_mmu_ops.probe(&fx->mmu, 0x404000, SOFT_ACC_READ, &f), 0);
	assert_true(r64(fx, 0x103000 + 8 * 4) & A);
	assert_false(r64(fx, 0x103000 + 8 * 4) & D);
}

#define SMEP (1ULL << 20)
#define SMAP (1ULL << 21)
#define PKE (1ULL << 22)
#define AC (1ULL << 18)

/* SMEP (SDM vol. 3, 4.6.1): a supervisor fetch from a user page faults
 * with P|I, whatever EFER.NXE says; user fetches and supervisor fetches
 * from supervisor pages are unaffected. */
static void test_smep(void **state)
{
	struct fixture *fx = *state;
	struct soft_fault f;
	struct soft_walk w;
	uint8_t b;
	uint64_t pa;
	build_4level(fx, P | W | U); /* 0x400000.. user pages */
	assert_int_equal(soft_mmu_ops.fetch(&fx->mmu, 0x401000, &b, 1, &pa, &f), 0);
	fx->cpu.cr4 |= SMEP;
	fx->cpu.efer &= ~X86_EFER_NXE;
	soft_mmu_flush_all(&fx->mmu);
	assert_int_equal(soft_mmu_ops.fetch(&fx->mmu, 0x401000, &b, 1, &pa, &f), -1);
	assert_int_equal(f.vector, X86_EXC_PF);
	assert_int_equal(f.error_code, 0x11); /* P|I: I/D set by SMEP alone */
	assert_int_equal(f.cr2, 0x401000);
	/* data accesses to the same page are not SMEP's business */
	uint32_t v;
	assert_int_equal(soft_mmu_ops.read(&fx->mmu, 0x401000, &v, 4, SOFT_ACC_READ, &f), 0);
	/* user mode may fetch it, through the same slot's user tag */
	fx->cpu.cpl = 3;
	assert_int_equal(soft_mmu_ops.fetch(&fx->mmu, 0x401000, &b, 1, &pa, &f), 0);
	fx->cpu.cpl = 0;
	assert_int_equal(soft_mmu_ops.fetch(&fx->mmu, 0x401000, &b, 1, &pa, &f), -1);
	/* the supervisor page at 0x600000 (PDE without U) stays executable */
	w64(fx, 0x102000 + 8 * 3, 0xa00000 | P | W | PS);
	assert_int_equal(soft_mmu_translate(&fx->mmu, 0x600000, SOFT_ACC_FETCH, &w, &f), 0);
}

/* SMAP (4.6.1): supervisor data accesses to user pages fault unless
 * EFLAGS.AC=1 and the access is explicit; the TLB keeps the classes apart,
 * so toggling AC or CPL needs no flush and never reuses a wrong slot. */
static void test_smap(void **state)
{
	struct fixture *fx = *state;
	struct soft_fault f;
	uint64_t pa[2];
	uint32_t v = 0x12345678;
	build_4level(fx, P | W | U);
	gmem_write_u32(&fx->mem, 0x801000, 0xfeedf00d);
	/* before SMAP: a supervisor read fills the slot */
	assert_int_equal(soft_mmu_ops.read(&fx->mmu, 0x401000, &v, 4, SOFT_ACC_READ, &f), 0);
	fx->cpu.cr4 |= SMAP;
	soft_mmu_flush_all(&fx->mmu); /* what MOV CR4 does */
	assert_int_equal(soft_mmu_ops.read(&fx->mmu, 0x401000, &v, 4, SOFT_ACC_READ, &f), -1);
	assert_int_equal(f.vector, X86_EXC_PF);
	assert_int_equal(f.error_code, 0x1);
	assert_int_equal(f.cr2, 0x401000);
	assert_int_equal(soft_mmu_ops.write(&fx->mmu, 0x401000, &v, 4, pa, &f), -1);
	assert_int_equal(f.error_code, 0x3);
	/* fetches are SMEP's: still allowed */
	uint8_t b;
	uint64_t fpa;
	assert_int_equal(soft_mmu_ops.fetch(&fx->mmu, 0x401000, &b, 1, &fpa, &f), 0);
	/* AC=1 (STAC): allowed */
	fx->cpu.rflags |= AC;
	assert_int_equal(soft_mmu_ops.read(&fx->mmu, 0x401000, &v, 4, SOFT_ACC_READ, &f), 0);
	assert_int_equal(v, 0xfeedf00d);
	v = 0x600d600d;
	assert_int_equal(soft_mmu_ops.write(&fx->mmu, 0x401000, &v, 4, pa, &f), 0);
	/* an implicit supervisor access ignores AC */
	fx->cpu.implicit_sv = 1;
	assert_int_equal(soft_mmu_ops.read(&fx->mmu, 0x401000, &v, 4, SOFT_ACC_READ, &f), -1);
	assert_int_equal(f.error_code, 0x1);
	fx->cpu.implicit_sv = 0;
	/* AC=0 again (CLAC): the AC=1 slot must not be reused */
	fx->cpu.rflags &= ~AC;
	assert_int_equal(soft_mmu_ops.read(&fx->mmu, 0x401000, &v, 4, SOFT_ACC_READ, &f), -1);
	/* user mode reads its own page whatever SMAP says */
	fx->cpu.cpl = 3;
	assert_int_equal(soft_mmu_ops.read(&fx->mmu, 0x401000, &v, 4, SOFT_ACC_READ, &f), 0);
	assert_int_equal(v, 0x600d600d);
	fx->cpu.cpl = 0;
	/* supervisor pages are not affected */
	w64(fx, 0x102000 + 8 * 3, 0xa00000 | P | W | PS);
	assert_int_equal(soft_mmu_ops.read(&fx->mmu, 0x600000, &v, 4, SOFT_ACC_READ, &f), 0);
	/* with CR0.WP=0 and AC=1 a supervisor write to a read-only user page
	 * is allowed; with AC=0 SMAP blocks it */
	w64(fx, 0x103000 + 8 * 2, 0x802000 | P | U);
	soft_mmu_flush_page(&fx->mmu, 0x402000);
	fx->cpu.cr0 &= ~X86_CR0_WP;
	soft_mmu_flush_all(&fx->mmu);
	assert_int_equal(soft_mmu_ops.write(&fx->mmu, 0x402000, &v, 4, pa, &f), -1);
	assert_int_equal(f.error_code, 0x3);
	fx->cpu.rflags |= AC;
	assert_int_equal(soft_mmu_ops.write(&fx->mmu, 0x402000, &v, 4, pa, &f), 0);
	fx->cpu.rflags &= ~AC;
}

/* Protection keys (4.6.2): key from bits 62:59 of the leaf of a user page,
 * AD denies data accesses, WD denies user writes (and supervisor writes
 * with CR0.WP); #PF has PK (bit 5).  Supervisor pages and fetches are not
 * checked. */
static void test_pku(void **state)
{
	struct fixture *fx = *state;
	struct soft_fault f;
	uint64_t pa[2];
	uint32_t v = 0;
	uint8_t b;
	build_4level(fx, P | W | U);
	w64(fx, 0x103000 + 8 * 3, 0x803000 | P | W | U | (5ULL << 59)); /* key 5 */
	w64(fx, 0x102000 + 8 * 1, 0x600000 | P | W | U | PS | (5ULL << 59)); /* 2 MiB, key 5 */
	fx->cpu.pkru = 1u << (2 * 5); /* AD5 */
	/* keys ignored while CR4.PKE=0 */
	assert_int_equal(soft_mmu_ops.read(&fx->mmu, 0x403000, &v, 4, SOFT_ACC_READ, &f), 0);
	fx->cpu.cr4 |= PKE;
	soft_mmu_flush_all(&fx->mmu);
	fx->cpu.cpl = 3;
	assert_int_equal(soft_mmu_ops.read(&fx->mmu, 0x403000, &v, 4, SOFT_ACC_READ, &f), -1);
	assert_int_equal(f.vector, X86_EXC_PF);
	assert_int_equal(f.error_code, 0x25); /* P|U|PK */
	assert_int_equal(soft_mmu_ops.write(&fx->mmu, 0x403000, &v, 4, pa, &f), -1);
	assert_int_equal(f.error_code, 0x27); /* P|W|U|PK */
	assert_int_equal(soft_mmu_ops.read(&fx->mmu, 0x2abcd0, &v, 4, SOFT_ACC_READ, &f), -1);
	assert_int_equal(f.error_code, 0x25); /* the key of a large-page leaf */
	/* fetches are not data accesses */
	uint64_t fpa;
	assert_int_equal(soft_mmu_ops.fetch(&fx->mmu, 0x403000, &b, 1, &fpa, &f), 0);
	/* key 0 pages are untouched */
	assert_int_equal(soft_mmu_ops.read(&fx->mmu, 0x404000, &v, 4, SOFT_ACC_READ, &f), 0);
	/* supervisor accesses to the user page are checked too */
	fx->cpu.cpl = 0;
	assert_int_equal(soft_mmu_ops.read(&fx->mmu, 0x403000, &v, 4, SOFT_ACC_READ, &f), -1);
	assert_int_equal(f.error_code, 0x21);
	/* WD5: reads fine, user writes fault, supervisor writes by CR0.WP */
	fx->cpu.pkru = 2u << (2 * 5);
	soft_mmu_flush_all(&fx->mmu); /* what WRPKRU does */
	fx->cpu.cpl = 3;
	assert_int_equal(soft_mmu_ops.read(&fx->mmu, 0x403000, &v, 4, SOFT_ACC_READ, &f), 0);
	assert_int_equal(soft_mmu_ops.write(&fx->mmu, 0x403000, &v, 4, pa, &f), -1);
	assert_int_equal(f.error_code, 0x27);
	fx->cpu.cpl = 0;
	assert_int_equal(soft_mmu_ops.write(&fx->mmu, 0x403000, &v, 4, pa, &f), -1);
	assert_int_equal(f.error_code, 0x23);
	fx->cpu.cr0 &= ~X86_CR0_WP;
	soft_mmu_flush_all(&fx->mmu);
	assert_int_equal(soft_mmu_ops.write(&fx->mmu, 0x403000, &v, 4, pa, &f), 0);
	fx->cpu.cr0 |= X86_CR0_WP;
	/* a supervisor page with key bits set is not key-checked */
	fx->cpu.pkru = 0xfffffffc;
	w64(fx, 0x103000 + 8 * 6, 0x806000 | P | W | (5ULL << 59));
	soft_mmu_flush_all(&fx->mmu);
	assert_int_equal(soft_mmu_ops.write(&fx->mmu, 0x406000, &v, 4, pa, &f), 0);
	/* a not-present fault never has PK */
	w64(fx, 0x103000 + 8 * 7, 0);
	assert_int_equal(soft_mmu_ops.read(&fx->mmu, 0x407000, &v, 4, SOFT_ACC_READ, &f), -1);
	assert_int_equal(f.error_code, 0x0);
}


/* SMAP and implicit supervisor accesses at CPL 3 (SDM vol. 3, 4.6): a
 * segment load reads the GDT as the system, so with CR4.SMAP a GDT on a
 * user page faults even with EFLAGS.AC=1 (#PF P, not U). */
static void test_smap_implicit_gdt_read(void **state)
{
	struct fixture *fx = *state;
	struct soft_cpu *c = &fx->cpu;
	assert_int_equal(soft_cpu_init(c, &soft_mmu_ops, &fx->mmu, false), 0);
	build_4level(fx, P | W | U);
	for (int i = 0; i < SEG_COUNT; i++) {
		struct x86_segment *s = &c->seg[i];
		memset(s, 0, sizeof(*s));
		s->limit = 0xffffffff;
		s->type = i == SEG_CS ? 0xb : 0x3;
		s->s = s->present = s->g = 1;
		s->dpl = 3;
		s->selector = i == SEG_CS ? 0x33 : 0x2b;
		s->l = i == SEG_CS;
		s->db = i != SEG_CS;
	}
	soft_cpu_update_mode(c);
	assert_int_equal(c->cpl, 3);
	c->gdt.base = 0x400000; /* a user page: phys 0x800000 */
	c->gdt.limit = 0xff;
	w64(fx, 0x800010, 0x00cff3000000ffffULL); /* data RW, DPL 3 */
	gmem_write(&fx->mem, 0x801000, "\x8e\xd8", 2); /* mov ds, ax */
	c->gpr[GPR_RAX] = 0x13;
	c->rflags |= AC;
	c->cr4 |= SMAP;
	soft_mmu_flush_all(&fx->mmu);
	c->rip = 0x401000;
	assert_int_equal(soft_cpu_step(c), SOFT_EXC);
	assert_int_equal(c->exc.vector, X86_EXC_PF);
	assert_int_equal(c->exc.error_code, 0x1); /* P; supervisor read */
	assert_int_equal(c->exc.cr2, 0x400010);
	assert_int_equal(c->rip, 0x401000);
	/* the same load without SMAP works */
	c->cr4 &= ~SMAP;
	soft_mmu_flush_all(&fx->mmu);
	assert_int_equal(soft_cpu_step(c), SOFT_OK);
	assert_int_equal(c->seg[SEG_DS].selector, 0x13);
	soft_cpu_destroy(c);
}


/* SMEP and SMAP apply in every paging mode, not just 4-level (4.6); keys
 * do not exist outside 4-level paging. */
static void test_smep_smap_32bit_paging(void **state)
{
	struct fixture *fx = *state;
	struct soft_fault f;
	struct soft_walk w;
	gmem_fill(&fx->mem, 0x200000, 0, 0x2000);
	w32(fx, 0x200000 + 4 * 1, 0x201000 | P | W | U);
	w32(fx, 0x201000 + 4 * 1, 0x900000 | P | W | U);
	fx->cpu.cr3 = 0x200000;
	fx->cpu.cr0 = X86_CR0_PE | X86_CR0_PG | X86_CR0_WP;
	fx->cpu.cr4 = SMEP | SMAP | PKE;
	fx->cpu.efer = 0;
	fx->cpu.cpl = 0;
	fx->cpu.rflags = 2;
	fx->cpu.pkru = ~0u; /* would deny everything if keys applied */
	soft_mmu_flush_all(&fx->mmu);
	assert_int_equal(soft_mmu_translate(&fx->mmu, 0x401000, SOFT_ACC_READ, &w, &f), -1);
	assert_int_equal(f.error_code, 0x1);
	assert_int_equal(soft_mmu_translate(&fx->mmu, 0x401000, SOFT_ACC_FETCH, &w, &f), -1);
	assert_int_equal(f.error_code, 0x11);
	fx->cpu.rflags |= AC;
	assert_int_equal(soft_mmu_translate(&fx->mmu, 0x401000, SOFT_ACC_WRITE, &w, &f), 0);
	fx->cpu.cpl = 3;
	assert_int_equal(soft_mmu_translate(&fx->mmu, 0x401000, SOFT_ACC_WRITE, &w, &f), 0);
	fx->cpu.cpl = 0;
	fx->cpu.rflags &= ~AC;
	/* PAE paging: same */
	gmem_fill(&fx->mem, 0x300000, 0, 0x2000);
	w64(fx, 0x300000 + 8 * 0, 0x301000 | P);
	w64(fx, 0x301000 + 8 * 2, 0x00a00000 | P | W | U | PS);
	fx->cpu.cr3 = 0x300000;
	fx->cpu.cr4 = X86_CR4_PAE | SMEP | SMAP | PKE;
	soft_mmu_flush_all(&fx->mmu);
	assert_int_equal(soft_mmu_translate(&fx->mmu, 0x400000, SOFT_ACC_READ, &w, &f), -1);
	assert_int_equal(f.error_code, 0x1);
	assert_int_equal(soft_mmu_translate(&fx->mmu, 0x400000, SOFT_ACC_FETCH, &w, &f), -1);
	assert_int_equal(f.error_code, 0x11);
	fx->cpu.cpl = 3;
	assert_int_equal(soft_mmu_translate(&fx->mmu, 0x400000, SOFT_ACC_WRITE, &w, &f), 0);
	fx->cpu.cpl = 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_no_paging_is_identity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_4level_walk_sets_accessed_and_dirty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_page_fault_error_codes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_32bit_and_pae_paging, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tlb_hits_and_flushes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dirty_log, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cross_page_write_checks_both_pages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mmio_routing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_local_page_over_ram, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mmio_policy_hook, setup, teardown),
		cmocka_unit_test_setup_teardown(test_probe_touches_no_data, setup, teardown),
		cmocka_unit_test_setup_teardown(test_smep, setup, teardown),
		cmocka_unit_test_setup_teardown(test_smap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pku, setup, teardown),
		cmocka_unit_test_setup_teardown(test_smap_implicit_gdt_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_smep_smap_32bit_paging, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
