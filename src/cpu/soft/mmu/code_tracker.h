/* Cross-vCPU code coherence for the soft engine.
 *
 * Each vCPU caches decoded instructions keyed by guest-physical page.  A
 * write by one vCPU to a page another vCPU has decoded (Linux patching its
 * text with text_poke on SMP, a process loading code that another CPU ran
 * before) must reach the other caches before they run that code again.
 * x86 only promises that after the other CPU serialises, which Linux does
 * with an IPI; the soft engine drains this tracker at every slice boundary,
 * before it takes interrupts, which is sooner.
 *
 * Fetches mark RAM pages as code in a VM-wide bitmap; a write to a marked
 * page is published in a ring under an epoch; each vCPU replays the entries
 * it has not seen, or flushes its whole cache if it fell a ring behind.
 * Pages newly marked go to a second ring under the marks counter, from
 * which each vCPU learns which pages to withdraw inline-store rights from
 * (soft_mmu_code_marks_sync). */
#ifndef RINGVM_SOFT_CODE_TRACKER_H
#define RINGVM_SOFT_CODE_TRACKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define SOFT_CODE_RING 256
#define SOFT_CODE_MARK_RING 1024

struct soft_code_tracker {
	_Atomic uint8_t *map;     /* 1 bit per 4 KiB of RAM, by memfd offset */
	uint64_t map_pages;
	pthread_mutex_t lock;     /* writers, and readers replaying the ring */
	_Atomic uint64_t epoch;   /* entries published so far */
	uint64_t ring[SOFT_CODE_RING]; /* guest-physical page addresses */
	_Atomic uint64_t writes;  /* statistics */
	_Atomic uint64_t marks;   /* pages newly marked so far: a vCPU that sees
				   * it move withdraws inline-store rights
				   * (soft_mmu_code_marks_sync); written under lock */
	uint64_t mark_ring[SOFT_CODE_MARK_RING]; /* memfd page numbers, by marks */
};

int soft_code_tracker_init(struct soft_code_tracker *t, uint64_t ram_bytes);
void soft_code_tracker_destroy(struct soft_code_tracker *t);

/* A page was newly marked: into the marks ring (code_tracker.c). */
void soft_code_mark_publish(struct soft_code_tracker *t, uint64_t page);
/* Copy into buf up to max memfd page numbers marked since *seen (a marks
 * count) and advance *seen past them; returns how many (0: none), or -1
 * when *seen fell more than a ring behind (*seen is then brought up to
 * date: the caller treats every page as possibly marked). */
int soft_code_marks_since(struct soft_code_tracker *t, uint64_t *seen, uint64_t *buf, unsigned max);

/* A vCPU fetched code from the RAM page at memfd offset off. */
static inline void soft_code_mark(struct soft_code_tracker *t, uint64_t off)
{
	uint64_t page = off >> 12;
	if (!t || page >= t->map_pages)
		return;
	uint8_t bit = (uint8_t)(1u << (page & 7));
	if (!(atomic_load_explicit(&t->map[page >> 3], memory_order_relaxed) & bit) &&
	    !(atomic_fetch_or_explicit(&t->map[page >> 3], bit, memory_order_acq_rel) & bit))
		soft_code_mark_publish(t, page);
}

static inline bool soft_code_is_marked(const struct soft_code_tracker *t, uint64_t off)
{
	uint64_t page = off >> 12;
	return t && page < t->map_pages &&
	       (atomic_load_explicit(&t->map[page >> 3], memory_order_relaxed) & (1u << (page & 7)));
}

/* A write hit the marked page at memfd offset off: it holds no valid
 * decoded code any more once every vCPU has replayed the publication that
 * follows, so it stops being code until a vCPU fetches from it again
 * (which marks it anew).  Cleared before publishing: a vCPU that decodes
 * the page in between marks it again, and the publication still drops what
 * it decoded before.  Lets a page that once held code (freed kernel init
 * text, a dead process's text) take inline stores again after its first
 * write. */
static inline void soft_code_unmark(struct soft_code_tracker *t, uint64_t off)
{
	uint64_t page = off >> 12;
	if (!t || page >= t->map_pages)
		return;
	atomic_fetch_and_explicit(&t->map[page >> 3], (uint8_t)~(1u << (page & 7)),
				  memory_order_acq_rel);
}

/* A write hit a marked page: publish gpa_page.  *seen is the writer's own
 * epoch: it stays current if it was (the writer invalidates its own cache
 * precisely already). */
void soft_code_publish(struct soft_code_tracker *t, uint64_t gpa_page, uint64_t *seen);

/* Replay what this vCPU has not seen: calls inval(opaque, gpa_page) for each
 * entry and returns 0, or returns -1 when it fell more than a ring behind
 * (the caller flushes its whole cache).  *seen is brought up to date. */
int soft_code_sync(struct soft_code_tracker *t, uint64_t *seen,
		   void (*inval)(void *opaque, uint64_t gpa_page), void *opaque);

static inline bool soft_code_pending(struct soft_code_tracker *t, uint64_t seen)
{
	return t && atomic_load_explicit(&t->epoch, memory_order_acquire) != seen;
}

#endif
