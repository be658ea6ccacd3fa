/* The guest memory file of a snapshot (docs/snapshot.md): RAM as one image
 * the size of RAM, written sparsely.  The file is created at RAM's size
 * (ftruncate: a hole throughout) and only non-zero 4 KiB pages are written
 * at their offsets, so untouched RAM costs no disk.  Pages RAM never
 * allocated are skipped without reading them: with anonymous RAM (the
 * default) those neither present nor swapped out in /proc/self/pagemap,
 * with a memfd those SEEK_DATA skips (a read would allocate them).  The
 * pagemap file is opened once, when the VM is created (vm->pagemap_fd),
 * or by the jail before it hides /proc; without it every page is read,
 * which is slower, not wrong.  The file is written beside its final name
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

#include "ringvm/log.h"

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

/* Where RAM may hold data.  Anonymous RAM: /proc/self/pagemap, one 64-bit
 * entry per virtual page (Linux Documentation/admin-guide/mm/pagemap.rst:
 * bit 63 present, bit 62 swapped; a migration entry counts as swapped).  A
 * page of private anonymous memory with neither bit has no page and no swap
 * slot: never touched, or discarded, and it reads as zero, so skipping it is
 * exact; a page the guest zeroed is present and is read (and, being zero,
 * left a hole, as the fresh file already is).  Entries are read 512 at a
 * time. */
#define PM_ENTRIES 512u
#define PM_PRESENT (1ULL << 63)
#define PM_SWAPPED (1ULL << 62)

struct mem_scan {
	const struct gmem *m;
	int pagemap;      /* /proc/self/pagemap, or -1 */
	uint64_t first;   /* RAM page of ent[0]; UINT64_MAX: none read */
	unsigned nr;      /* entries read */
	uint64_t ent[PM_ENTRIES];
};

static void scan_open(struct mem_scan *sc, const struct gmem *m, int pagemap)
{
	sc->m = m;
	sc->first = UINT64_MAX;
	sc->nr = 0;
	sc->pagemap = m->anon ? pagemap : -1;
	if (m->anon && pagemap < 0)
		pr_debug("snapshot: no /proc/self/pagemap: reading all of RAM");
}

/* False only for a page of anonymous RAM pagemap says is not there. */
static bool anon_page_maybe_data(struct mem_scan *sc, uint64_t page)
{
	if (sc->first == UINT64_MAX || page < sc->first || page - sc->first >= sc->nr) {
		uint64_t vpage = (uint64_t)(uintptr_t)sc->m->base / PAGE + page;
		ssize_t r = pread(sc->pagemap, sc->ent, sizeof(sc->ent), (off_t)(vpage * 8));
		if (r < 8)
			return true;  /* cannot tell: read it */
		sc->first = page;
		sc->nr = (unsigned)((size_t)r / 8);
	}
	return sc->ent[page - sc->first] & (PM_PRESENT | PM_SWAPPED);
}

/* The next stretch [*from, *to) at or after pos that may hold data; false
 * when there is none. */
static bool scan_next(struct mem_scan *sc, uint64_t pos, uint64_t *from, uint64_t *to)
{
	const struct gmem *m = sc->m;
	if (pos >= m->ram_size)
		return false;
	if (sc->pagemap >= 0) {
		uint64_t p = pos / PAGE, end = m->ram_size / PAGE;
		while (p < end && !anon_page_maybe_data(sc, p))
			p++;
		if (p == end)
			return false;
		uint64_t q = p + 1;
		while (q < end && anon_page_maybe_data(sc, q))
			q++;
		*from = p * PAGE;
		*to = q * PAGE;
		return true;
	}
	*from = pos;
	*to = m->ram_size;
	if (m->anon || m->private_file || m->fd < 0)
		return true;  /* no way to skip: scan all of it */
	off_t data = lseek(m->fd, (off_t)pos, SEEK_DATA);
	if (data < 0 && errno == ENXIO)
		return false;  /* no data after pos */
	if (data < 0)
		return true;   /* no SEEK_DATA here */
	off_t hole = lseek(m->fd, data, SEEK_HOLE);
	if (hole >= 0 && (uint64_t)hole < m->ram_size)
		*to = ((uint64_t)hole + PAGE - 1) & ~(uint64_t)(PAGE - 1);
	*from = (uint64_t)data & ~(uint64_t)(PAGE - 1);
	if (*to > m->ram_size)
		*to = m->ram_size;
	return *from < *to;
}

/* The non-zero pages of a full snapshot, skipping what RAM never
 * allocated. */
static int write_nonzero(int fd, const struct gmem *m, int pagemap, uint64_t *pages)
{
	struct mem_scan sc;
	scan_open(&sc, m, pagemap);
	int r = 0;
	uint64_t pos = 0, from, to;
	while (r == 0 && scan_next(&sc, pos, &from, &to)) {
		r = write_range(fd, m->base, from, to, pages);
		pos = to;
	}
	return r;
}

int snapshot_mem_write(const struct gmem *m, int pagemap, const char *path,
		       const uint64_t *bits, uint64_t *pages, char *err, size_t n)
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
		r = bits ? write_dirty(fd, m, bits, pages) : write_nonzero(fd, m, pagemap, pages);
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

unsigned snapshot_mem_checks(const struct gmem *m, int pagemap, const uint64_t *bits,
			     bool in_bits, struct snap_page_check *out, unsigned max)
{
	/* One page from each of max equal stretches of RAM where there is
	 * one: spread out, so a base that differs anywhere much is likely
	 * caught.  Pages RAM never allocated are zero: skipped without being
	 * read (scan_next). */
	struct mem_scan sc;
	scan_open(&sc, m, pagemap);
	unsigned nr = 0;
	uint64_t pages = m->ram_size / PAGE, stretch = (pages + max - 1) / max;
	for (unsigned k = 0; k < max && nr < max; k++) {
		uint64_t from = (uint64_t)k * stretch * PAGE, to = from + stretch * PAGE;
		if (to > m->ram_size)
			to = m->ram_size;
		for (uint64_t off = from, dfrom, dto = from; off < to; off += PAGE) {
			if (off >= dto) {
				if (!scan_next(&sc, off, &dfrom, &dto) || dfrom >= to)
					break;
				off = dfrom;
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
