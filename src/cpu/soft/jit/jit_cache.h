/* The translation cache: one memfd mapped twice, a writable view where the
 * translator emits and an executable view the CPU runs, so no page is ever
 * writable and executable through the same mapping (W^X).  Space is handed
 * out by a bump pointer and reclaimed only wholesale: when a translation
 * does not fit, the whole cache is flushed (its generation changes, which
 * kills every translation and chain made before; QEMU flushes its TB cache
 * the same way). */
#ifndef RINGVM_SOFT_JIT_CACHE_H
#define RINGVM_SOFT_JIT_CACHE_H

#include <stddef.h>
#include <stdint.h>

#define SOFT_JIT_CACHE_DEFAULT (16u << 20) /* memory-budget.md: measured use and flushes */
#define SOFT_JIT_CACHE_MIN (64u << 10)
#define SOFT_JIT_CACHE_MAX (1u << 30)

struct soft_jit_cache {
	uint8_t *rw;        /* writable view (never executable) */
	uint8_t *rx;        /* executable view (never writable) */
	size_t size, used;
	size_t base;        /* bytes at the start kept across flushes (the
			     * shared stubs: stubs.c) */
	uint64_t gen;       /* bumped by every flush; starts at 1 */
	uint64_t nflush;
	int fd;
};

/* Create a cache of size bytes (rounded up to pages; SOFT_JIT_CACHE_MIN ..
 * SOFT_JIT_CACHE_MAX).  0 or -errno. */
int soft_jit_cache_init(struct soft_jit_cache *c, size_t size);
void soft_jit_cache_destroy(struct soft_jit_cache *c);
/* Room left at the bump pointer. */
static inline size_t soft_jit_cache_room(const struct soft_jit_cache *c)
{
	return c->size - c->used;
}
/* Drop every translation: the bump pointer goes back to base and gen changes. */
void soft_jit_cache_flush(struct soft_jit_cache *c);
/* Executable address of writable-view offset off. */
static inline void *soft_jit_cache_exec_addr(const struct soft_jit_cache *c, size_t off)
{
	return c->rx + off;
}

#endif
