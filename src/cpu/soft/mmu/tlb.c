/* The shadow TLB: linear page -> host page (or MMIO), per access kind, in
 * address spaces by PCID and slot windows (soft_mmu.h).  Every flush is
 * O(1) or touches a bounded number of slots; the table is passed over only
 * when the space numbers run out (once per 1023 flushes) and for an
 * INVLPG inside a large page that filled slots. */
#include <string.h>

#include "soft_mmu.h"
#include "../icache.h"

static void entry_clear(struct soft_mmu *m, struct soft_tlb_entry *e)
{
	soft_mmu_fastw_drop(m, e);
	e->tag_read = e->tag_write = e->tag_fetch = e->tag_jread = ~0ULL;
	e->host = NULL;
	e->global = false;
}

static void set_space(struct soft_mmu *m, unsigned space)
{
	m->salt = (uint64_t)space << SOFT_TLB_SPACE_SHIFT;
	m->cpu->tlb_salt = m->salt;
	if (m->cpu->icache) /* chains into non-global pages are per space */
		soft_icache_set_space(m->cpu->icache, m->salt);
}

static void large_reset(struct soft_mmu *m)
{
	if (!m->nlarge)
		return;
	memset(m->large_filter, 0, sizeof(m->large_filter));
	m->nlarge = 0;
}

/* The filter's bit for the large page of 2^shift bytes holding la. */
static unsigned large_bit(uint64_t la, unsigned shift)
{
	uint64_t k = ((la >> shift) << 5 | shift) * 0x9e3779b97f4a7c15ULL;
	return (unsigned)(k >> 50) & (SOFT_MMU_LARGE_BITS - 1);
}

void soft_mmu_note_large(struct soft_mmu *m, uint64_t la, unsigned shift)
{
	unsigned b = large_bit(la, shift);
	m->large_filter[b / 64] |= 1ULL << (b % 64);
	m->nlarge++;
}

static bool large_seen(const struct soft_mmu *m, uint64_t la, unsigned shift)
{
	unsigned b = large_bit(la, shift);
	return m->large_filter[b / 64] & (1ULL << (b % 64));
}

/* The only full pass: every slot emptied (at start and when the space
 * numbers wrap).  Permitted for global entries too: SDM vol. 3A 4.10.4.3
 * lets a processor drop any entry at any time. */
static void clear_table(struct soft_mmu *m)
{
	for (unsigned i = 0; i < SOFT_TLB_SIZE; i++)
		entry_clear(m, &m->tlb[i]);
	memset(m->fastw_rev, 0, sizeof(m->fastw_rev));
	large_reset(m);
}

/* A space number no reachable entry carries.  Numbers are handed out in
 * order; when they run out, the table is cleared and no PCID keeps its
 * space. */
static unsigned fresh_space(struct soft_mmu *m)
{
	if (m->next_space >= SOFT_TLB_SPACES) {
		clear_table(m);
		memset(m->pcid_space, 0, sizeof(m->pcid_space));
		m->next_space = m->space_floor = m->global_floor = 1;
		m->stats.space_wraps++;
		/* numbers are reused: no chain may keep an old one (icache.h) */
		soft_cpu_flush_code_tlb(m->cpu);
	}
	return m->next_space++;
}

/* pcid's slot window, taking one over (the least recently selected) if it
 * has none: O(windows), no entry touched. */
static unsigned window_of(struct soft_mmu *m, unsigned pcid)
{
	unsigned w = m->pcid_win[pcid];
	if (w) {
		w--;
	} else {
		if (m->nwin < SOFT_MMU_WINDOWS) {
			w = m->nwin++;
		} else {
			w = 0;
			for (unsigned i = 1; i < SOFT_MMU_WINDOWS; i++)
				if (m->win_used[i] < m->win_used[w])
					w = i;
			m->pcid_win[m->win_pcid[w]] = 0;
			m->stats.window_recycles++;
		}
		m->win_pcid[w] = (uint16_t)pcid;
		m->pcid_win[pcid] = (uint8_t)(w + 1);
	}
	m->win_used[w] = ++m->win_clock;
	return w;
}

/* Make the current PCID's space and window current, giving it a fresh
 * space if its own is stale (or fresh is set: its entries are dropped). */
static void select_space(struct soft_mmu *m, bool fresh)
{
	unsigned pcid = soft_mmu_pcid(m->cpu);
	unsigned w = window_of(m, pcid);
	if (fresh || m->pcid_space[pcid] < m->space_floor)
		m->pcid_space[pcid] = (uint16_t)fresh_space(m);
	set_space(m, m->pcid_space[pcid]);
	m->slot_off = soft_mmu_slot_off(w);
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
	m->next_space = m->space_floor = m->global_floor = 1;
	select_space(m, true);
}

/* Everything, global entries too: every space handed out so far becomes
 * stale and no global entry of one is moved into a later space (mem_ops.c,
 * retag_global).  O(1). */
void soft_mmu_flush_all(struct soft_mmu *m)
{
	m->space_floor = m->global_floor = m->next_space;
	large_reset(m);
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

/* Every PCID's non-global entries: their spaces become stale, global
 * entries stay.  O(1). */
void soft_mmu_flush_all_nonglobal(struct soft_mmu *m)
{
	m->space_floor = m->next_space;
	select_space(m, true);
	m->stats.pcid_flushes++;
}

/* Drop every slot holding a page of [first, first + n) (linear page
 * numbers), whatever its space. */
static void drop_pages(struct soft_mmu *m, uint64_t first, uint64_t n)
{
	for (unsigned i = 0; i < SOFT_TLB_SIZE; i++) {
		struct soft_tlb_entry *x = &m->tlb[i];
		uint64_t tag = x->tag_read != ~0ULL ? x->tag_read :
			       x->tag_fetch != ~0ULL ? x->tag_fetch : x->tag_write;
		if (tag != ~0ULL && ((tag & ~SOFT_TLB_SALT_MASK) >> 2) - first < n)
			entry_clear(m, x);
	}
}

void soft_mmu_flush_page(struct soft_mmu *m, uint64_t la)
{
	/* INVLPG must drop the current PCID's entry and the global one, which
	 * any PCID may have filled in its window, and may drop others' (SDM
	 * vol. 3A 4.10.4.1): the page's slot in every window. */
	uint64_t page = la >> 12;
	for (unsigned w = 0; w < SOFT_MMU_WINDOWS; w++)
		entry_clear(m, &m->tlb[(page + soft_mmu_slot_off(w)) & (SOFT_TLB_SIZE - 1)]);
	/* Entries are 4 KiB even for large pages: INVLPG of an address in a
	 * large page drops every slot filled from it, when the filter says
	 * one may have been (2 MiB with PAE, 4 MiB with 32-bit paging, 1 GiB). */
	static const unsigned shifts[] = { 21, 22, 30 };
	for (unsigned i = 0; m->nlarge && i < sizeof(shifts) / sizeof(shifts[0]); i++) {
		if (!large_seen(m, la, shifts[i]))
			continue;
		drop_pages(m, (la >> shifts[i]) << (shifts[i] - 12), 1ULL << (shifts[i] - 12));
		m->stats.large_passes++;
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
