/* Cross-vCPU code coherence: see code_tracker.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "code_tracker.h"

int soft_code_tracker_init(struct soft_code_tracker *t, uint64_t ram_bytes)
{
	memset(t, 0, sizeof(*t));
	t->map_pages = (ram_bytes + 4095) >> 12;
	t->map = calloc((t->map_pages + 7) / 8, 1);
	if (!t->map)
		return -ENOMEM;
	pthread_mutex_init(&t->lock, NULL);
	return 0;
}

void soft_code_tracker_destroy(struct soft_code_tracker *t)
{
	if (!t->map)
		return;
	free((void *)t->map);
	pthread_mutex_destroy(&t->lock);
	memset(t, 0, sizeof(*t));
}

void soft_code_publish(struct soft_code_tracker *t, uint64_t gpa_page, uint64_t *seen)
{
	pthread_mutex_lock(&t->lock);
	uint64_t e = atomic_load_explicit(&t->epoch, memory_order_relaxed);
	t->ring[e % SOFT_CODE_RING] = gpa_page;
	atomic_store_explicit(&t->epoch, e + 1, memory_order_release);
	if (*seen == e)
		*seen = e + 1;
	pthread_mutex_unlock(&t->lock);
	atomic_fetch_add_explicit(&t->writes, 1, memory_order_relaxed);
}

int soft_code_sync(struct soft_code_tracker *t, uint64_t *seen,
		   void (*inval)(void *opaque, uint64_t gpa_page), void *opaque)
{
	int r = 0;
	pthread_mutex_lock(&t->lock);
	uint64_t now = atomic_load_explicit(&t->epoch, memory_order_relaxed);
	if (now - *seen > SOFT_CODE_RING) {
		r = -1;
	} else {
		for (uint64_t e = *seen; e != now; e++)
			inval(opaque, t->ring[e % SOFT_CODE_RING]);
	}
	*seen = now;
	pthread_mutex_unlock(&t->lock);
	return r;
}

void soft_code_mark_publish(struct soft_code_tracker *t, uint64_t page)
{
	pthread_mutex_lock(&t->lock);
	uint64_t e = atomic_load_explicit(&t->marks, memory_order_relaxed);
	t->mark_ring[e % SOFT_CODE_MARK_RING] = page;
	atomic_store_explicit(&t->marks, e + 1, memory_order_release);
	pthread_mutex_unlock(&t->lock);
}

int soft_code_marks_since(struct soft_code_tracker *t, uint64_t *seen, uint64_t *buf, unsigned max)
{
	int n = 0;
	pthread_mutex_lock(&t->lock);
	uint64_t now = atomic_load_explicit(&t->marks, memory_order_relaxed);
	if (now - *seen > SOFT_CODE_MARK_RING) {
		*seen = now;
		n = -1;
	} else {
		while (*seen != now && (unsigned)n < max)
			buf[n++] = t->mark_ring[(*seen)++ % SOFT_CODE_MARK_RING];
	}
	pthread_mutex_unlock(&t->lock);
	return n;
}
