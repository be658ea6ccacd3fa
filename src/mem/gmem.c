/* Guest physical memory: one mapping (anonymous memory, a memfd or a
 * snapshot's memory file), two regions around the 32-bit MMIO hole, every
 * access checked. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ringvm/gmem.h"
#include "ringvm/layout.h"
#include "ringvm/log.h"

#ifndef MFD_HUGETLB
#define MFD_HUGETLB 0x0004U
#endif

/* Huge pages are a fixed pool (/proc/sys/vm/nr_hugepages): a hugetlb page
 * that cannot be allocated when first touched raises SIGBUS in whichever
 * thread touched it (the loader or a vCPU), and MAP_POPULATE does not help
 * with MAP_NORESERVE (it ignores allocation failures).  So allocate every
 * page up front with fallocate(), which fails cleanly (ENOSPC/ENOMEM) when
 * the pool is too small, and say how many pages there are. */
static int gmem_reserve_hugepages(int fd, uint64_t size)
{
	if (fallocate(fd, 0, 0, (off_t)size) == 0)
		return 0;
	int e = errno;
	unsigned long long pool = 0;
	FILE *f = fopen("/proc/sys/vm/nr_hugepages", "re");
	bool known = f && fscanf(f, "%llu", &pool) == 1;
	if (f)
		fclose(f);
	char total[64] = "";
	if (known)
		snprintf(total, sizeof(total), "; the host's pool has %llu in all", pool);
	pr_err("--hugepages: cannot allocate %llu huge pages of 2 MiB for guest RAM: %s "
	       "(free huge pages are too few%s, see /proc/sys/vm/nr_hugepages)",
	       (unsigned long long)(size / (2 * MiB)), strerror(e), total);
	return -e;
}

/* RAM from a snapshot's memory file, copy-on-write: the restore maps it
 * and returns at once; pages are read from the file when the guest first
 * touches them (docs/snapshot.md). */
static int gmem_map_private(struct gmem *m, const struct gmem_opts *opts)
{
	int fd = open(opts->private_file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		pr_err("%s: cannot open the snapshot's memory file: %s", opts->private_file,
		       strerror(e));
		return -e;
	}
	off_t size = lseek(fd, 0, SEEK_END);
	if (size < 0 || (uint64_t)size != opts->ram_size) {
		pr_err("%s: the memory file has %lld bytes, the snapshot's RAM %llu",
		       opts->private_file, (long long)size, (unsigned long long)opts->ram_size);
		close(fd);
		return -EINVAL;
	}
	void *p = mmap(NULL, opts->ram_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE,
		       fd, 0);
	if (p == MAP_FAILED) {
		int e = errno;
		pr_err("%s: cannot map the memory file: %s", opts->private_file, strerror(e));
		close(fd);
		return -e;
	}
	m->fd = fd;
	m->base = p;
	m->private_file = true;
	return 0;
}

/* The default: anonymous private memory, as QEMU's memory-backend-ram and
 * Firecracker's guest memory are.  MADV_HUGEPAGE asks for transparent huge
 * pages (a host with THP "madvise" or "always" gives them; "never" leaves 4
 * KiB pages and the call is harmless): fewer host page faults while the guest
 * touches RAM, and exit frees RAM 2 MiB at a time, where closing a memfd
 * truncates shmem page by page (docs/PERFORMANCE.md, "Power-off to exit";
 * this host's shmem_enabled is "never", so a memfd got no huge pages).  The
 * mapping starts on a 2 MiB boundary (mapped 2 MiB larger and trimmed), so
 * every aligned 2 MiB of guest RAM can be one huge page: kernels before 6.7
 * do not align large anonymous mappings themselves. */
static int gmem_map_anon(struct gmem *m, uint64_t size)
{
	const uint64_t huge = 2 * MiB;
	if (size > UINT64_MAX - huge)
		return -EINVAL;
	uint8_t *p = mmap(NULL, size + huge, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		int e = errno;
		pr_err("cannot map %llu bytes of guest RAM: %s",
		       (unsigned long long)size, strerror(e));
		return -e;
	}
	uint8_t *base = (uint8_t *)(((uintptr_t)p + huge - 1) & ~(uintptr_t)(huge - 1));
	uint64_t head = (uint64_t)(base - p), tail = huge - head;
	if (head)
		munmap(p, head);
	if (tail)
		munmap(base + size, tail);
	/* Advice only: EINVAL on a kernel without THP changes nothing. */
	(void)madvise(base, size, MADV_HUGEPAGE);
	m->base = base;
	m->anon = true;
	return 0;
}

int gmem_init(struct gmem *m, const struct gmem_opts *opts)
{
	memset(m, 0, sizeof(*m));
	m->fd = -1;
	uint64_t size = opts->ram_size;
	uint64_t align = opts->hugepages ? 2 * MiB : 4 * KiB;

	if (size == 0 || size % align) {
		pr_err("memory size %llu is not a non-zero multiple of %llu bytes",
		       (unsigned long long)size, (unsigned long long)align);
		return -EINVAL;
	}
	if (opts->private_file) {
		int r = gmem_map_private(m, opts);
		if (r < 0)
			return r;
		m->ram_size = size;
		goto regions;
	}
	if (!opts->hugepages && !opts->memfd) {
		int r = gmem_map_anon(m, size);
		if (r < 0)
			return r;
		m->ram_size = size;
		goto regions;
	}
	unsigned flags = MFD_CLOEXEC | (opts->hugepages ? MFD_HUGETLB : 0);
	int fd = memfd_create("ringvm-ram", flags);
	if (fd < 0) {
		int e = errno;
		if (opts->hugepages)
			pr_err("--hugepages: the host cannot create huge-page memory: %s", strerror(e));
		else
			pr_err("memfd_create for guest RAM failed: %s", strerror(e));
		return -e;
	}
	if (ftruncate(fd, (off_t)size) < 0) {
		int e = errno;
		pr_err("%scannot size guest RAM to %llu bytes: %s",
		       opts->hugepages ? "--hugepages: " : "",
		       (unsigned long long)size, strerror(e));
		close(fd);
		return -e;
	}
	if (opts->hugepages && gmem_reserve_hugepages(fd, size) < 0) {
		close(fd);
		return -ENOMEM;
	}
	/* MAP_NORESERVE: RAM is touched lazily; an idle guest costs little.
	 * Huge-page RAM was allocated in full above, so no access can fault
	 * for want of a page (which would be SIGBUS, not an error). */
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
	if (p == MAP_FAILED) {
		int e = errno;
		pr_err("cannot map %llu bytes of guest RAM: %s",
		       (unsigned long long)size, strerror(e));
		close(fd);
		return -e;
	}
	m->fd = fd;
	m->base = p;
	m->ram_size = size;
	m->hugepages = opts->hugepages;

regions:;
	uint64_t low = size < LAYOUT_MMIO_HOLE_START ? size : LAYOUT_MMIO_HOLE_START;
	m->regions[0] = (struct gmem_region){ .gpa = 0, .size = low, .host = m->base, .offset = 0 };
	m->nr_regions = 1;
	if (size > low) {
		m->regions[1] = (struct gmem_region){
			.gpa = LAYOUT_HIGH_RAM_START, .size = size - low,
			.host = m->base + low, .offset = low };
		m->nr_regions = 2;
	}
	return 0;
}

void gmem_destroy(struct gmem *m)
{
	gmem_dirty_stop(m);
	if (m->base)
		munmap(m->base, m->ram_size);
	if (m->fd >= 0)
		close(m->fd);
	memset(m, 0, sizeof(*m));
	m->fd = -1;
}

const struct gmem_region *gmem_region_of(const struct gmem *m, gpa_t gpa)
{
	for (unsigned i = 0; i < m->nr_regions; i++) {
		const struct gmem_region *r = &m->regions[i];
		if (gpa >= r->gpa && gpa - r->gpa < r->size)
			return r;
	}
	return NULL;
}

/* The region holding all of [gpa, gpa+len), or NULL.  Overflow-safe. */
static const struct gmem_region *range_region(const struct gmem *m, gpa_t gpa, uint64_t len)
{
	for (unsigned i = 0; i < m->nr_regions; i++) {
		const struct gmem_region *r = &m->regions[i];
		if (gpa < r->gpa)
			continue;
		uint64_t off = gpa - r->gpa;
		if (off <= r->size && len <= r->size - off)
			return r;
	}
	return NULL;
}

bool gmem_is_ram(const struct gmem *m, gpa_t gpa, uint64_t len)
{
	return range_region(m, gpa, len) != NULL;
}

void *gmem_ptr(const struct gmem *m, gpa_t gpa, uint64_t len)
{
	const struct gmem_region *r = range_region(m, gpa, len);
	return r ? r->host + (gpa - r->gpa) : NULL;
}

int gmem_read(const struct gmem *m, gpa_t gpa, void *dst, uint64_t len)
{
	const void *src = gmem_ptr(m, gpa, len);
	if (!src)
		return -EFAULT;
	memcpy(dst, src, len);
	return 0;
}

int gmem_write(struct gmem *m, gpa_t gpa, const void *src, uint64_t len)
{
	void *dst = gmem_ptr(m, gpa, len);
	if (!dst)
		return -EFAULT;
	memcpy(dst, src, len);
	gmem_dirty_mark(m, gpa, len);
	if (m->dirty_fn && len)
		m->dirty_fn(m->dirty_opaque, gpa, len);
	return 0;
}

int gmem_fill(struct gmem *m, gpa_t gpa, int byte, uint64_t len)
{
	void *dst = gmem_ptr(m, gpa, len);
	if (!dst)
		return -EFAULT;
	memset(dst, byte, len);
	gmem_dirty_mark(m, gpa, len);
	if (m->dirty_fn && len)
		m->dirty_fn(m->dirty_opaque, gpa, len);
	return 0;
}

/* x86 is little endian, as is the host ringvm runs on: memcpy is the
 * conversion. */
#define GMEM_ACCESSORS(bits)                                                     \
	int gmem_read_u##bits(const struct gmem *m, gpa_t gpa, uint##bits##_t *v) \
	{                                                                        \
		return gmem_read(m, gpa, v, sizeof(*v));                         \
	}                                                                        \
	int gmem_write_u##bits(struct gmem *m, gpa_t gpa, uint##bits##_t v)      \
	{                                                                        \
		return gmem_write(m, gpa, &v, sizeof(v));                        \
	}
GMEM_ACCESSORS(8)
GMEM_ACCESSORS(16)
GMEM_ACCESSORS(32)
GMEM_ACCESSORS(64)

int gmem_read_str(const struct gmem *m, gpa_t gpa, char *dst, size_t max)
{
	if (max == 0)
		return -ENAMETOOLONG;
	for (size_t i = 0; i < max; i++) {
		const char *p = gmem_ptr(m, gpa + i, 1);
		if (!p || gpa + i < gpa)
			return -EFAULT;
		dst[i] = *p;
		if (!*p)
			return 0;
	}
	dst[max - 1] = 0;
	return -ENAMETOOLONG;
}

void gmem_set_dirty_hook(struct gmem *m, gmem_dirty_fn fn, void *opaque)
{
	m->dirty_fn = fn;
	m->dirty_opaque = opaque;
}

void gmem_note_write(struct gmem *m, gpa_t gpa, uint64_t len)
{
	gmem_dirty_mark(m, gpa, len);
	if (m->dirty_fn && len)
		m->dirty_fn(m->dirty_opaque, gpa, len);
}

int gmem_dirty_start(struct gmem *m)
{
	if (m->dirty_bits)
		return 0;
	m->dirty_bits = calloc(gmem_dirty_words(m), sizeof(uint64_t));
	return m->dirty_bits ? 0 : -ENOMEM;
}

void gmem_dirty_stop(struct gmem *m)
{
	free(m->dirty_bits);
	m->dirty_bits = NULL;
}

void gmem_dirty_mark(struct gmem *m, gpa_t gpa, uint64_t len)
{
	if (!m->dirty_bits || !len)
		return;
	/* Only RAM is marked: clip to the region holding gpa (callers wrote
	 * through a checked range, so it lies in one). */
	const struct gmem_region *r = gmem_region_of(m, gpa);
	if (!r)
		return;
	uint64_t off = gpa - r->gpa;
	if (len > r->size - off)
		len = r->size - off;
	uint64_t first = (r->offset + off) >> 12, last = (r->offset + off + len - 1) >> 12;
	for (uint64_t p = first; p <= last; p++)
		__atomic_fetch_or(&m->dirty_bits[p >> 6], 1ULL << (p & 63), __ATOMIC_RELAXED);
}

void gmem_dirty_fetch_and_clear(struct gmem *m, uint64_t *out)
{
	if (!m->dirty_bits)
		return;
	for (uint64_t i = 0, n = gmem_dirty_words(m); i < n; i++)
		if (__atomic_load_n(&m->dirty_bits[i], __ATOMIC_RELAXED))
			out[i] |= __atomic_exchange_n(&m->dirty_bits[i], 0, __ATOMIC_RELAXED);
}

void gmem_dirty_merge(struct gmem *m, const uint64_t *bits)
{
	if (!m->dirty_bits)
		return;
	for (uint64_t i = 0, n = gmem_dirty_words(m); i < n; i++)
		if (bits[i])
			__atomic_fetch_or(&m->dirty_bits[i], bits[i], __ATOMIC_RELAXED);
}
