/* The guest memory file of a snapshot (docs/snapshot.md): RAM as one image
 * the size of RAM, written sparsely.  The file is created at RAM's size
 * (ftruncate: a hole throughout) and only non-zero 4 KiB pages are written
 * at their offsets, so untouched RAM costs no disk.  When RAM is a memfd the
 * pages it never allocated are skipped without reading them (SEEK_DATA: a
 * read would allocate them).  The file is written beside its final name
 * and renamed over it: a VM restored from the old file keeps its private
 * mapping of the old inode.  A diff snapshot's file holds only the pages
 * written since the last snapshot (dirty-page tracking), at their offsets,
 * and is merged onto its base's file before it is loaded
 * (snapshot_rebase.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ringvm/snapshot.h"
#include "ringvm/vm.h"
#include "snapshot_mem.h"
#include "snapshot_sections.h"

#define PAGE 4096u

static bool page_is_zero(const uint8_t *p)
{
	const uint64_t *q = (const uint64_t *)(const void *)p;
	for (unsigned i = 0; i < PAGE / 8; i++)
		if (q[i])
			return false;
	return true;
}

static int write_run(int fd, const uint8_t *p, uint64_t off, uint64_t len)
{
	while (len) {
		ssize_t r = pwrite(fd, p, len, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EIO;
		p += r;
		off += (uint64_t)r;
		len -= (uint64_t)r;
	}
	return 0;
}

/* Write [from, to) of RAM, page by page, merging runs of non-zero pages. */
static int write_range(int fd, const uint8_t *base, uint64_t from, uint64_t to, uint64_t *pages)
{
	uint64_t run = UINT64_MAX;
	for (uint64_t off = from; off < to; off += PAGE) {
		bool z = page_is_zero(base + off);
		if (!z) {
			(*pages)++;
			if (run == UINT64_MAX)
				run = off;
			continue;
		}
		if (run != UINT64_MAX) {
			int r = write_run(fd, base + run, run, off - run);
			if (r < 0)
				return r;
			run = UINT64_MAX;
		}
	}
	if (run != UINT64_MAX)
		return write_run(fd, base + run, run, to - run);
	return 0;
}

static bool dirty(const uint64_t *bits, uint64_t off)
{
	uint64_t p = off / PAGE;
	return (bits[p / 64] >> (p % 64)) & 1;
}

/* A diff: every page marked in bits, zero or not (a page the guest
 * cleared must overwrite the base's), in runs of marked pages. */
static int write_dirty(int fd, const struct gmem *m, const uint64_t *bits, uint64_t *pages)
{
	uint64_t run = UINT64_MAX;
	for (uint64_t off = 0; off <= m->ram_size; off += PAGE) {
		bool d = off < m->ram_size && dirty(bits, off);
		if (d) {
			(*pages)++;
			if (run == UINT64_MAX)
				run = off;
			continue;
		}
		if (run != UINT64_MAX) {
			int r = write_run(fd, m->base + run, run, off - run);
			if (r < 0)
				return r;
			run = UINT64_MAX;
		}
	}
	return 0;
}

/* The non-zero pages of a full snapshot, skipping what the memfd never
 * allocated. */
static int write_nonzero(int fd, const struct gmem *m, uint64_t *pages)
{
	int r = 0;
	off_t pos = 0;
	while (r == 0 && (uint64_t)pos < m->ram_size) {
		off_t data = m->private_file ? pos : lseek(m->fd, pos, SEEK_DATA);
		off_t hole = (off_t)m->ram_size;
		if (data < 0 && errno == ENXIO)
			break;  /* no data after pos */
		if (data < 0)
			data = pos;  /* no SEEK_DATA here: scan all of it */
		else if (!m->private_file)
			hole = lseek(m->fd, data, SEEK_HOLE);
		if (hole < 0 || (uint64_t)hole > m->ram_size)
			hole = (off_t)m->ram_size;
		uint64_t from = (uint64_t)data & ~(uint64_t)(PAGE - 1);
		uint64_t to = ((uint64_t)hole + PAGE - 1) & ~(uint64_t)(PAGE - 1);
		if (to > m->ram_size)
			to = m->ram_size;
		r = write_range(fd, m->base, from, to, pages);
		pos = (off_t)to;
	}
	return r;
}

int snapshot_mem_write(const struct gmem *m, const char *path, const uint64_t *bits,
		       uint64_t *pages, char *err, size_t n)
{
	char tmp[4096];
	*pages = 0;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp-XXXXXX", path) >= sizeof(tmp)) {
		snprintf(err, n, "mem_file_path: the path is too long");
		return -1;
	}
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, n, "%s: cannot create the memory file: %s", path, strerror(errno));
		return -1;
	}
	int r = ftruncate(fd, (off_t)m->ram_size) < 0 ? -errno : 0;
	if (r == 0)
		r = bits ? write_dirty(fd, m, bits, pages) : write_nonzero(fd, m, pages);
	if (r == 0 && (fsync(fd) < 0 || fchmod(fd, 0600) < 0))
		r = -errno;
	close(fd);
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		snprintf(err, n, "%s: cannot write the memory file: %s", path, strerror(-r));
		return -1;
	}
	return 0;
}

unsigned snapshot_mem_checks(const struct gmem *m, const uint64_t *bits, bool in_bits,
			     struct snap_page_check *out, unsigned max)
{
	/* One page from each of max equal stretches of RAM where there is
	 * one: spread out, so a base that differs anywhere much is likely
	 * caught.  Pages the memfd never allocated are zero: skipped by
	 * SEEK_DATA without being read. */
	unsigned nr = 0;
	uint64_t pages = m->ram_size / PAGE, stretch = (pages + max - 1) / max;
	for (unsigned k = 0; k < max && nr < max; k++) {
		uint64_t from = (uint64_t)k * stretch * PAGE, to = from + stretch * PAGE;
		if (to > m->ram_size)
			to = m->ram_size;
		for (uint64_t off = from; off < to; off += PAGE) {
			if (!m->private_file && m->fd >= 0) {
				off_t d = lseek(m->fd, (off_t)off, SEEK_DATA);
				if (d < 0 || (uint64_t)d >= to)
					break;
				if ((uint64_t)d > off)
					off = (uint64_t)d & ~(uint64_t)(PAGE - 1);
			}
			if ((bits && dirty(bits, off) != in_bits) || page_is_zero(m->base + off))
				continue;
			out[nr].offset = off;
			out[nr].crc32 = snap_crc32(0, m->base + off, PAGE);
			out[nr].flags = bits && in_bits ? SNAP_CHECK_IN_DIFF : 0;
			nr++;
			break;
		}
	}
	return nr;
}
