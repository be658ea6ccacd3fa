/* Inline-store rights and code pages (see soft_mmu.h, tag_fastw).
 *
 * Translated code stores to guest RAM through the TLB without calling the
 * memory ops, so it cannot check each store against the pages holding
 * decoded code.  Instead the right to store inline is withheld on those
 * pages, as QEMU withholds it on pages holding translation blocks: a slot's
 * tag_fastw is granted only for a RAM page the code tracker has not marked,
 * and taken away from every slot when a page becomes code.  A store without
 * the right takes the slow path (the interpreter's handler through the
 * memory ops), which publishes the write and drops exactly the decoded
 * blocks (and with them the translations) of the page it touches. */
#include "soft_mmu.h"

uint64_t soft_mmu_fastw_tag(const struct soft_mmu *m, const uint8_t *host, uint64_t tag)
{
	/* without a tracker nothing tells which pages hold code: never */
	if (!host || !m->code || soft_code_is_marked(m->code, (uint64_t)(host - m->mem->base)))
		return ~0ULL;
	return tag;
}

void soft_mmu_fastw_regrant(struct soft_mmu *m, struct soft_tlb_entry *e)
{
	if (e->tag_write != ~0ULL)
		e->tag_fastw = soft_mmu_fastw_tag(m, e->host, e->tag_write);
}

void soft_mmu_code_marks_sync(struct soft_mmu *m)
{
	struct soft_code_tracker *t = m->code;
	if (!t)
		return;
	uint64_t now = atomic_load_explicit(&t->marks, memory_order_acquire);
	if (now == m->marks_seen)
		return;
	m->marks_seen = now; /* before the scan: a later mark is seen next time */
	for (unsigned i = 0; i < SOFT_TLB_SIZE; i++) {
		struct soft_tlb_entry *e = &m->tlb[i];
		if (e->tag_fastw == ~0ULL)
			continue;
		e->tag_fastw = ~0ULL;
		/* Translated code may have stored to this page after another
		 * vCPU decoded it and before this point, without publishing:
		 * publish it now (at worst a needless invalidation elsewhere). */
		if (e->host && soft_code_is_marked(t, (uint64_t)(e->host - m->mem->base)))
			soft_code_publish(t, e->gpa, &m->code_seen);
	}
}
