/* Inline-store rights and code pages (see soft_mmu.h, tag_fastw).
 *
 * Translated code stores to guest RAM through the TLB without calling the
 * memory ops, so it cannot check each store against the pages holding
 * decoded code.  Instead the right to store inline is withheld on those
 * pages, as QEMU withholds it on pages holding translation blocks: a slot's
 * tag_fastw is granted only for a RAM page the code tracker has not marked,
 * and taken away from the slots of a page when it becomes code.  A store
 * without the right takes the slow path (the interpreter's handler through
 * the memory ops), which publishes the write and drops exactly the decoded
 * blocks (and with them the translations) of the page it touches.
 *
 * Finding the slots of a page that becomes code: slots are indexed by
 * linear address, so each vCPU keeps a reverse index by physical page of
 * the slots it granted the right to (fastw_rev: one bucket per slot, the
 * memfd page number hashed, SOFT_MMU_FASTW_WAYS slots per bucket).  Entries
 * are checked when used (the slot still has the right, on that page), so
 * refilling or clearing a slot needs no unlinking.  A grant that finds its
 * bucket full withdraws the right of the older slot there (it takes the
 * slow path until refilled): the invariant is that every slot holding the
 * right is in its page's bucket.  The code tracker publishes the pages it
 * marks in a ring (code_tracker.h); each vCPU replays the ring and looks
 * each page up: O(ways) per newly marked page, where a pass over the whole
 * table used to run on every mark.  A vCPU that fell a ring behind passes
 * over the table once. */
#include "soft_mmu.h"

static unsigned rev_bucket(uint64_t page)
{
	return (unsigned)((page * 0x9e3779b97f4a7c15ULL) >> (64 - SOFT_TLB_BITS));
}

/* memfd page number of a RAM slot */
static uint64_t slot_page(const struct soft_mmu *m, const struct soft_tlb_entry *e)
{
	return (uint64_t)(e->host - m->mem->base) >> 12;
}

/* Does way value v (slot + 1) hold the right on a page of bucket b? */
static bool rev_live(const struct soft_mmu *m, uint16_t v, unsigned b)
{
	if (!v)
		return false;
	const struct soft_tlb_entry *e = &m->tlb[v - 1];
	return e->tag_fastw != ~0ULL && e->host && rev_bucket(slot_page(m, e)) == b;
}

void soft_mmu_fastw_drop(struct soft_mmu *m, struct soft_tlb_entry *e)
{
	if (e->tag_fastw == ~0ULL)
		return;
	e->tag_fastw = ~0ULL;
	/* Translated code may have stored to this page after another vCPU
	 * decoded it and before this point, without publishing: publish it
	 * now (at worst a needless invalidation elsewhere). */
	if (e->host && m->code && soft_code_is_marked(m->code, (uint64_t)(e->host - m->mem->base)))
		soft_code_publish(m->code, e->gpa, &m->code_seen);
}

uint64_t soft_mmu_fastw_grant(struct soft_mmu *m, struct soft_tlb_entry *e, uint64_t tag)
{
	/* without a tracker nothing tells which pages hold code: never */
	if (!e->host || !m->code || soft_code_is_marked(m->code, (uint64_t)(e->host - m->mem->base)))
		return ~0ULL;
	unsigned b = rev_bucket(slot_page(m, e));
	uint16_t *way = m->fastw_rev[b];
	uint16_t v = (uint16_t)(e - m->tlb + 1);
	for (unsigned i = 0; i < SOFT_MMU_FASTW_WAYS; i++)
		if (way[i] == v)
			return tag;
	/* newest in way 0: the first way not in use takes the shift, or the
	 * last (oldest) one, which then loses its right */
	unsigned last = SOFT_MMU_FASTW_WAYS - 1, free = 0;
	while (free < last && rev_live(m, way[free], b))
		free++;
	if (free == last && rev_live(m, way[last], b)) {
		soft_mmu_fastw_drop(m, &m->tlb[way[last] - 1]);
		m->stats.fastw_revokes++;
	}
	for (unsigned i = free; i > 0; i--)
		way[i] = way[i - 1];
	way[0] = v;
	return tag;
}

/* memfd page 'page' became code: withdraw the right from its slots. */
static void revoke_page(struct soft_mmu *m, uint64_t page)
{
	unsigned b = rev_bucket(page);
	uint16_t *way = m->fastw_rev[b];
	for (unsigned i = 0; i < SOFT_MMU_FASTW_WAYS; i++) {
		if (!rev_live(m, way[i], b) || slot_page(m, &m->tlb[way[i] - 1]) != page)
			continue;
		soft_mmu_fastw_drop(m, &m->tlb[way[i] - 1]);
		way[i] = 0;
		m->stats.fastw_revokes++;
	}
}

void soft_mmu_fastw_regrant(struct soft_mmu *m, struct soft_tlb_entry *e)
{
	if (e->tag_write != ~0ULL)
		e->tag_fastw = soft_mmu_fastw_grant(m, e, e->tag_write);
}

void soft_mmu_code_marks_sync(struct soft_mmu *m)
{
	struct soft_code_tracker *t = m->code;
	if (!t || atomic_load_explicit(&t->marks, memory_order_acquire) == m->marks_seen)
		return;
	uint64_t pages[64];
	for (;;) {
		int n = soft_code_marks_since(t, &m->marks_seen, pages, 64);
		if (n < 0) {
			/* fell a ring behind: every slot */
			for (unsigned i = 0; i < SOFT_TLB_SIZE; i++)
				soft_mmu_fastw_drop(m, &m->tlb[i]);
			m->stats.mark_passes++;
			return;
		}
		if (n == 0)
			return;
		for (int i = 0; i < n; i++)
			revoke_page(m, pages[i]);
	}
}
