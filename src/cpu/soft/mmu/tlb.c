/* The shadow TLB: linear page -> host page (or MMIO), per access kind, in
 * address spaces by PCID (soft_mmu.h). */
#include <string.h>

#include "soft_mmu.h"

static void entry_clear(struct soft_tlb_entry *e)
{
	e->tag_read = e->tag_write = e->tag_fetch = e->tag_fastw = ~0ULL;
	e->host = NULL;
	e->global = false;
}

static void set_space(struct soft_mmu *m, unsigned space)
{
	m->salt = (uint64_t)space << SOFT_TLB_SPACE_SHIFT;
	m->cpu->tlb_salt = m->salt;
}

static void clear_table(struct soft_mmu *m)
{
	for (unsigned i = 0; i < SOFT_TLB_SIZE; i++)
		entry_clear(&m->tlb[i]);
	m->large_pages_cached = false;
	m->nlive = 0;
}

/* A space number no entry in the table carries.  Numbers are handed out in
 * order; when they run out, the table is cleared (every entry, globals
 * too: permitted, SDM vol. 3A 4.10.4.3 lets a processor drop any entry at
 * any time) and no PCID keeps its space. */
static unsigned fresh_space(struct soft_mmu *m)
{
	if (m->next_space >= SOFT_TLB_SPACES) {
		clear_table(m);
		memset(m->pcid_space, 0, sizeof(m->pcid_space));
		m->next_space = 1;
		m->stats.space_wraps++;
	}
	return m->next_space++;
}

/* Make the current PCID's space current, giving it a fresh one if it has
 * none (or fresh is set: its entries are to be dropped). */
/* Note pcid among the PCIDs whose slots may hold entries; past
 * SOFT_MMU_LIVE_PCIDS the table is cleared (INVLPG could not find their
 * global entries otherwise). */
static void note_live(struct soft_mmu *m, unsigned pcid)
{
	for (unsigned i = 0; i < m->nlive; i++)
		if (m->live[i] == pcid)
			return;
	if (m->nlive == SOFT_MMU_LIVE_PCIDS) {
		clear_table(m);
		memset(m->pcid_space, 0, sizeof(m->pcid_space));
		m->stats.space_wraps++;
	}
	m->live[m->nlive++] = (uint16_t)pcid;
}

static void select_space(struct soft_mmu *m, bool fresh)
{
	unsigned pcid = soft_mmu_pcid(m->cpu);
	note_live(m, pcid);
	if (fresh || !m->pcid_space[pcid])
		m->pcid_space[pcid] = (uint16_t)fresh_space(m);
	note_live(m, pcid); /* (again if fresh_space cleared the table) */
	set_space(m, m->pcid_space[pcid]);
	m->slot_off = soft_mmu_slot_off(pcid);
	m->cpu->tlb_slot_off = m->slot_off;
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
	clear_table(m);
	m->next_space = 1;
	select_space(m, true);
}

void soft_mmu_flush_all(struct soft_mmu *m)
{
	clear_table(m);
	memset(m->pcid_space, 0, sizeof(m->pcid_space));
	m->next_space = 1;
	select_space(m, true);
	m->stats.flushes++;
}

void soft_mmu_flush_nonglobal(struct soft_mmu *m)
{
	select_space(m, true);
	m->stats.flushes++;
}

void soft_mmu_switch_pcid(struct soft_mmu *m)
{
	select_space(m, false);
	m->stats.pcid_switches++;
}

void soft_mmu_flush_pcid(struct soft_mmu *m, unsigned pcid)
{
	pcid &= SOFT_MMU_PCIDS - 1;
	if (pcid == soft_mmu_pcid(m->cpu))
		select_space(m, true);
	else
		m->pcid_space[pcid] = 0; /* a fresh space when next used */
	m->stats.pcid_flushes++;
}

void soft_mmu_flush_all_nonglobal(struct soft_mmu *m)
{
	memset(m->pcid_space, 0, sizeof(m->pcid_space));
	select_space(m, true);
	m->stats.pcid_flushes++;
}

void soft_mmu_flush_page(struct soft_mmu *m, uint64_t la)
{
	/* Entries are 4 KiB even for large pages, so INVLPG of an address in a
	 * large page must drop every slot filled from it.  Only when some slot
	 * came from a large page: drop every slot in the same 2 MiB region (1 GiB
	 * pages are rare: their slots are dropped region by region as the guest
	 * invalidates them, and on CR3 writes).  The page's slot is dropped in
	 * every live PCID's place whatever its space: INVLPG must drop the
	 * current PCID's entry and the global one, which any PCID may have
	 * filled, and may drop others' (SDM vol. 3A 4.10.4.1). */
	for (unsigned i = 0; i < m->nlive; i++)
		entry_clear(&m->tlb[((la >> 12) + soft_mmu_slot_off(m->live[i])) & (SOFT_TLB_SIZE - 1)]);
	for (unsigned i = 0; m->large_pages_cached && i < SOFT_TLB_SIZE; i++) {
		struct soft_tlb_entry *x = &m->tlb[i];
		uint64_t tag = x->tag_read != ~0ULL ? x->tag_read :
			       x->tag_fetch != ~0ULL ? x->tag_fetch : x->tag_write;
		if (tag != ~0ULL && (((tag & ~SOFT_TLB_SALT_MASK) >> 2) >> 9) == ((la >> 12) >> 9))
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
