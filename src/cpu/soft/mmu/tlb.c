/* The shadow TLB: linear page -> host page (or MMIO), per access kind. */
#include <string.h>

#include "soft_mmu.h"

static void entry_clear(struct soft_tlb_entry *e)
{
	e->tag_read = e->tag_write = e->tag_fetch = e->tag_fastw = ~0ULL;
	e->host = NULL;
	e->global = false;
}

void soft_mmu_init(struct soft_mmu *m, struct soft_cpu *cpu, struct gmem *mem,
		   struct bus *mmio, const struct soft_mmu_hooks *hooks)
{
	memset(m, 0, sizeof(*m));
	m->cpu = cpu;
	m->mem = mem;
	m->mmio = mmio;
	if (hooks)
		m->hooks = *hooks;
	m->local_page = UINT64_MAX;
	for (unsigned i = 0; i < SOFT_TLB_SIZE; i++)
		entry_clear(&m->tlb[i]);
}

void soft_mmu_flush_all(struct soft_mmu *m)
{
	for (unsigned i = 0; i < SOFT_TLB_SIZE; i++)
		entry_clear(&m->tlb[i]);
	m->large_pages_cached = false;
	m->stats.flushes++;
}

void soft_mmu_flush_nonglobal(struct soft_mmu *m)
{
	for (unsigned i = 0; i < SOFT_TLB_SIZE; i++)
		if (!m->tlb[i].global)
			entry_clear(&m->tlb[i]);
	m->stats.flushes++;
}

void soft_mmu_flush_page(struct soft_mmu *m, uint64_t la)
{
	/* Entries are 4 KiB even for large pages, so INVLPG of an address in a
	 * large page must drop every slot filled from it.  Only when some slot
	 * came from a large page: drop every slot in the same 2 MiB region (1 GiB
	 * pages are rare: their slots are dropped region by region as the guest
	 * invalidates them, and on CR3 writes). */
	struct soft_tlb_entry *e = &m->tlb[(la >> 12) & (SOFT_TLB_SIZE - 1)];
	entry_clear(e);
	for (unsigned i = 0; m->large_pages_cached && i < SOFT_TLB_SIZE; i++) {
		struct soft_tlb_entry *x = &m->tlb[i];
		uint64_t tag = x->tag_read != ~0ULL ? x->tag_read :
			       x->tag_fetch != ~0ULL ? x->tag_fetch : x->tag_write;
		if (tag != ~0ULL && ((tag >> 2) >> 9) == ((la >> 12) >> 9))
			entry_clear(x); /* same 2 MiB region: may come from one large page */
	}
	m->stats.page_flushes++;
}

void soft_mmu_set_local_page(struct soft_mmu *m, uint64_t gpa)
{
	if (gpa != UINT64_MAX)
		gpa &= ~0xfffULL;
	if (gpa == m->local_page)
		return;
	m->local_page = gpa;
	soft_mmu_flush_all(m);
}
