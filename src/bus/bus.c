/* PIO and MMIO window tables: a sorted array searched by bisection. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ringvm/bus.h"
#include "ringvm/log.h"

int bus_init(struct bus *b, enum bus_kind kind)
{
	memset(b, 0, sizeof(*b));
	b->kind = kind;
	b->limit = kind == BUS_PIO ? 0x10000 : 0; /* 0: the whole 64-bit space */
	return -pthread_rwlock_init(&b->lock, NULL);
}

void bus_destroy(struct bus *b)
{
	for (unsigned i = 0; i < b->nr; i++) {
		pthread_mutex_destroy(&b->ranges[i]->lock);
		free(b->ranges[i]);
	}
	free(b->ranges);
	pthread_rwlock_destroy(&b->lock);
	memset(b, 0, sizeof(*b));
}

static const char *bus_label(const struct bus *b)
{
	return b->kind == BUS_PIO ? "port" : "MMIO";
}

/* Index of the first window whose end is above addr (caller holds lock). */
static unsigned lower_bound(const struct bus *b, uint64_t addr)
{
	unsigned lo = 0, hi = b->nr;
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		const struct bus_range *r = b->ranges[mid];
		if (r->base + (r->len - 1) < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int bus_register(struct bus *b, uint64_t base, uint64_t len,
		 const struct bus_ops *ops, void *opaque, const char *name)
{
	if (len == 0 || base + (len - 1) < base ||
	    (b->limit && (base >= b->limit || len > b->limit - base))) {
		pr_err("%s: %s window 0x%llx+0x%llx is empty or out of range", name,
		       bus_label(b), (unsigned long long)base, (unsigned long long)len);
		return -EINVAL;
	}
	if (!ops || !ops->read || !ops->write) {
		pr_err("%s: %s window registered without read/write handlers", name, bus_label(b));
		return -EINVAL;
	}
	struct bus_range *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	*r = (struct bus_range){ .base = base, .len = len, .ops = ops,
				 .opaque = opaque, .name = name };
	pthread_mutex_init(&r->lock, NULL);

	pthread_rwlock_wrlock(&b->lock);
	unsigned i = lower_bound(b, base);
	if (i < b->nr && b->ranges[i]->base <= base + (len - 1)) {
		const struct bus_range *o = b->ranges[i];
		pthread_rwlock_unlock(&b->lock);
		pr_err("%s: %s window 0x%llx+0x%llx overlaps %s at 0x%llx+0x%llx", name,
		       bus_label(b), (unsigned long long)base, (unsigned long long)len,
		       o->name, (unsigned long long)o->base, (unsigned long long)o->len);
		pthread_mutex_destroy(&r->lock);
		free(r);
		return -EEXIST;
	}
	if (b->nr == b->cap) {
		unsigned cap = b->cap ? b->cap * 2 : 16;
		struct bus_range **n = realloc(b->ranges, cap * sizeof(*n));
		if (!n) {
			pthread_rwlock_unlock(&b->lock);
			pthread_mutex_destroy(&r->lock);
			free(r);
			return -ENOMEM;
		}
		b->ranges = n;
		b->cap = cap;
	}
	memmove(&b->ranges[i + 1], &b->ranges[i], (b->nr - i) * sizeof(*b->ranges));
	b->ranges[i] = r;
	b->nr++;
	pthread_rwlock_unlock(&b->lock);
	return 0;
}

int bus_unregister(struct bus *b, uint64_t base)
{
	pthread_rwlock_wrlock(&b->lock);
	unsigned i = lower_bound(b, base);
	if (i >= b->nr || b->ranges[i]->base != base) {
		pthread_rwlock_unlock(&b->lock);
		return -ENOENT;
	}
	struct bus_range *r = b->ranges[i];
	memmove(&b->ranges[i], &b->ranges[i + 1], (b->nr - i - 1) * sizeof(*b->ranges));
	b->nr--;
	pthread_rwlock_unlock(&b->lock);
	pthread_mutex_destroy(&r->lock);
	free(r);
	return 0;
}

int bus_take(struct bus *b, uint64_t base, uint64_t len,
	     const struct bus_ops **ops, void **opaque)
{
	pthread_rwlock_wrlock(&b->lock);
	unsigned i = lower_bound(b, base);
	if (i >= b->nr || b->ranges[i]->base != base || b->ranges[i]->len != len) {
		pthread_rwlock_unlock(&b->lock);
		return -ENOENT;
	}
	*ops = b->ranges[i]->ops;
	*opaque = b->ranges[i]->opaque;
	pthread_rwlock_unlock(&b->lock);
	return bus_unregister(b, base);
}

static int bus_access(struct bus *b, uint64_t addr, unsigned size, bool write,
		      uint64_t *value)
{
	if (size != 1 && size != 2 && size != 4 && size != 8)
		return -EINVAL;
	pthread_rwlock_rdlock(&b->lock);
	unsigned i = lower_bound(b, addr);
	if (i >= b->nr || b->ranges[i]->base > addr) {
		b->unhandled++;
		pthread_rwlock_unlock(&b->lock);
		return -ENOENT;
	}
	struct bus_range *r = b->ranges[i];
	uint64_t off = addr - r->base;
	if (size > r->len - off) {
		pthread_rwlock_unlock(&b->lock);
		return -EINVAL;
	}
	pthread_mutex_lock(&r->lock);
	r->accesses++;
	if (write) {
		r->ops->write(r->opaque, off, size, *value);
	} else {
		uint64_t v = r->ops->read(r->opaque, off, size);
		*value = size == 8 ? v : v & ((1ULL << (size * 8)) - 1);
	}
	pthread_mutex_unlock(&r->lock);
	pthread_rwlock_unlock(&b->lock);
	return 0;
}

int bus_read(struct bus *b, uint64_t addr, unsigned size, uint64_t *value)
{
	return bus_access(b, addr, size, false, value);
}

int bus_write(struct bus *b, uint64_t addr, unsigned size, uint64_t value)
{
	return bus_access(b, addr, size, true, &value);
}

const char *bus_name_of(struct bus *b, uint64_t addr)
{
	const char *name = NULL;
	pthread_rwlock_rdlock(&b->lock);
	unsigned i = lower_bound(b, addr);
	if (i < b->nr && b->ranges[i]->base <= addr)
		name = b->ranges[i]->name;
	pthread_rwlock_unlock(&b->lock);
	return name;
}
