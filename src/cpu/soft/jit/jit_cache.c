/* Translation cache (see jit_cache.h). */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "jit_cache.h"

int soft_jit_cache_init(struct soft_jit_cache *c, size_t size)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	if (size < SOFT_JIT_CACHE_MIN)
		size = SOFT_JIT_CACHE_MIN;
	if (size > SOFT_JIT_CACHE_MAX)
		size = SOFT_JIT_CACHE_MAX;
	size = (size + 4095) & ~(size_t)4095;
	int fd = memfd_create("ringvm-jit", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) < 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	void *rw = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (rw == MAP_FAILED) {
		int err = -errno;
		close(fd);
		return err;
	}
	void *rx = mmap(NULL, size, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
	if (rx == MAP_FAILED) {
		int err = -errno;
		munmap(rw, size);
		close(fd);
		return err;
	}
	c->rw = rw;
	c->rx = rx;
	c->size = size;
	c->fd = fd;
	c->gen = 1;
	return 0;
}

void soft_jit_cache_destroy(struct soft_jit_cache *c)
{
	if (c->rw)
		munmap(c->rw, c->size);
	if (c->rx)
		munmap(c->rx, c->size);
	if (c->fd >= 0)
		close(c->fd);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

void soft_jit_cache_flush(struct soft_jit_cache *c)
{
	c->used = c->base;
	c->gen++;
	c->nflush++;
}
