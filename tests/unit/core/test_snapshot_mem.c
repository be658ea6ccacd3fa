/* Diff snapshots' memory files (src/vmm/snapshot_mem.c, snapshot_rebase.c):
 * a full file holds the non-zero pages, a diff exactly the pages marked
 * dirty (a cleared page too), the page checks pick the pages asked for,
 * and snapshot_rebase merges a diff onto its base so the result is RAM as
 * it was at the diff; bad inputs are refused naming the file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <fcntl.h>

#include "ringvm/gmem.h"
#include "ringvm/layout.h"
#include "ringvm/snapshot.h"
#include "snapshot_mem.h"
#include "snapshot_sections.h"

#define RAM (16 * MiB)

/* The data pages of a file (SEEK_DATA/SEEK_HOLE), as a bitmap of RAM's pages;
 * false where the file system does not keep holes. */
static bool data_pages(const char *path, uint64_t *bits)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	int fd = fileno(f);
	off_t pos = 0;
	bool sparse = true;
	memset(bits, 0, RAM / 4096 / 8);
	while (pos < (off_t)RAM) {
		off_t d = lseek(fd, pos, SEEK_DATA);
		if (d < 0)
			break;
		off_t h = lseek(fd, d, SEEK_HOLE);
		if (d == 0 && h == (off_t)RAM)
			sparse = false;
		for (off_t p = d / 4096; p < (h + 4095) / 4096; p++)
			bits[p / 64] |= 1ULL << (p % 64);
		pos = h;
	}
	fclose(f);
	return sparse;
}

/* The memory file at path holds RAM's bytes, all of them. */
static void same_as_ram(const char *path, const struct gmem *m)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	uint8_t *img = malloc(RAM);
	assert_non_null(img);
	assert_int_equal(fread(img, 1, RAM, f), RAM);
	fclose(f);
	assert_memory_equal(img, m->base, RAM);
	free(img);
}

static void fill(struct gmem *m, unsigned page, int byte)
{
	assert_int_equal(gmem_fill(m, page * 4096ull, byte, 4096), 0);
}

static char *tmpfile_path(const char *tag)
{
	static char paths[4][64];
	static unsigned n;
	char *p = paths[n++ % 4];
	snprintf(p, 64, "/tmp/ringvm-memtest-%s-%d", tag, (int)getpid());
	return p;
}

/* Run with each backend: state points to the memfd flag. */
static void test_full_diff_rebase(void **state)
{
	struct gmem m;
	struct gmem_opts o = { .ram_size = RAM, .memfd = *(bool *)*state };
	char err[512];
	uint64_t pages, bits[RAM / 4096 / 64], ext[RAM / 4096 / 64];
	assert_int_equal(gmem_init(&m, &o), 0);
	assert_int_equal(gmem_dirty_start(&m), 0);
	fill(&m, 1, 0x11);
	fill(&m, 2, 0x22);
	fill(&m, 10, 0xaa);
	char *base = tmpfile_path("base"), *diff = tmpfile_path("diff");
	int pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	assert_int_equal(snapshot_mem_write(&m, pm, base, NULL, &pages, err, sizeof(err)), 0);
	assert_int_equal(pages, 3);
	memset(bits, 0, sizeof(bits));
	gmem_dirty_fetch_and_clear(&m, bits);  /* what a full snapshot does */

	fill(&m, 2, 0x33);   /* rewritten */
	fill(&m, 10, 0);     /* cleared: the diff must carry the zeros */
	fill(&m, 2000, 0x44);  /* new, 8 MiB further */
	memset(bits, 0, sizeof(bits));
	gmem_dirty_fetch_and_clear(&m, bits);
	assert_int_equal(bits[0], (1ULL << 2) | (1ULL << 10));
	assert_int_equal(bits[2000 / 64], 1ULL << (2000 % 64));
	assert_int_equal(snapshot_mem_write(&m, pm, diff, bits, &pages, err, sizeof(err)), 0);
	assert_int_equal(pages, 3);
	struct stat st;
	assert_int_equal(stat(diff, &st), 0);
	assert_int_equal(st.st_size, RAM);
	if (data_pages(diff, ext))  /* the file system keeps holes */
		assert_memory_equal(ext, bits, sizeof(bits));

	/* Checks, one per eighth of RAM: pages the diff carries (non-zero: 2,
	 * 2000), pages it does not (non-zero: 1), any (full: 1 and 2000). */
	struct snap_page_check c[8];
	unsigned n = snapshot_mem_checks(&m, pm, bits, true, c, 8);
	assert_int_equal(n, 2);
	assert_int_equal(c[0].offset, 2 * 4096);
	assert_int_equal(c[0].flags, SNAP_CHECK_IN_DIFF);
	assert_int_equal(c[1].offset, 2000 * 4096);
	assert_int_equal(c[0].crc32, snap_crc32(0, m.base + 2 * 4096, 4096));
	n = snapshot_mem_checks(&m, pm, bits, false, c, 8);
	assert_int_equal(n, 1);
	assert_int_equal(c[0].offset, 4096);
	assert_int_equal(c[0].flags, 0);
	assert_int_equal(snapshot_mem_checks(&m, pm, NULL, false, c, 8), 2);
	if (pm >= 0)
		close(pm);

	/* Merged: RAM as it is now. */
	uint64_t bytes;
	assert_int_equal(snapshot_rebase(base, diff, &bytes, err, sizeof(err)), 0);
	if (data_pages(diff, ext))
		assert_int_equal(bytes, 3 * 4096);
	same_as_ram(base, &m);

	/* Refused, naming the file. */
	assert_int_equal(snapshot_rebase(base, base, &bytes, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "the same file as --base-file"));
	assert_int_equal(truncate(diff, RAM + 4096), 0);
	assert_int_equal(snapshot_rebase(base, diff, &bytes, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not memory files of the same VM"));
	unlink(diff);
	assert_int_equal(snapshot_rebase(base, diff, &bytes, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "--diff-file"));
	assert_non_null(strstr(err, "No such file"));
	unlink(base);
	gmem_destroy(&m);
}

/* Whether any page of RAM's 2 MiB block blk is resident. */
static bool block_resident(const struct gmem *m, unsigned blk)
{
	unsigned char vec[512];
	assert_int_equal(mincore(m->base + blk * 2 * MiB, 2 * MiB, vec), 0);
	for (unsigned i = 0; i < 512; i++)
		if (vec[i] & 1)
			return true;
	return false;
}

/* Anonymous RAM: a full snapshot given /proc/self/pagemap (vm->pagemap_fd,
 * opened when the VM is created, or by the jail before it hides /proc)
 * reads only the pages that are there, so it leaves untouched RAM
 * untouched (reading it would map pages: zero pages, or whole huge ones),
 * yet writes every non-zero page; a page written and zeroed again is read
 * and, being zero, stays a hole.  Without the descriptor (-1, as in a jail
 * before it was handed over) every page is read: the same file, but the
 * untouched blocks become resident, which shows the residency check can
 * tell the two apart. */
static void test_anon_skips_untouched(void **state)
{
	bool with_pagemap = *(bool *)*state;
	struct gmem m;
	struct gmem_opts o = { .ram_size = RAM };
	char err[512];
	uint64_t pages;
	assert_int_equal(gmem_init(&m, &o), 0);
	assert_true(m.anon);
	int pm = -1;
	if (with_pagemap) {
		pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
		if (pm < 0) {
			gmem_destroy(&m);
			skip();  /* no /proc here: nothing to show */
		}
	}
	fill(&m, 3, 0x5a);
	fill(&m, 700, 0x11);
	fill(&m, 700, 0);           /* touched, zero again */
	fill(&m, 4095, 0x77);       /* the last page */
	char *path = tmpfile_path(with_pagemap ? "anon" : "anon-all");
	for (unsigned blk = 2; blk < 7; blk++)  /* 4 MiB .. 14 MiB: never touched */
		assert_false(block_resident(&m, blk));
	/* The checks read nothing more than the snapshot, and find the two
	 * pages. */
	struct snap_page_check c[8];
	assert_int_equal(snapshot_mem_checks(&m, pm, NULL, false, c, 8), 2);
	assert_int_equal(c[0].offset, 3 * 4096);
	assert_int_equal(c[1].offset, 4095ull * 4096);
	assert_int_equal(snapshot_mem_write(&m, pm, path, NULL, &pages, err, sizeof(err)), 0);
	assert_int_equal(pages, 2);
	for (unsigned blk = 2; blk < 7; blk++)
		assert_int_equal(block_resident(&m, blk), !with_pagemap);
	same_as_ram(path, &m);
	unlink(path);
	if (pm >= 0)
		close(pm);
	gmem_destroy(&m);
}

int main(void)
{
	static bool anon = false, memfd = true, pagemap = true, no_pagemap = false;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_prestate(test_full_diff_rebase, &anon),
		cmocka_unit_test_prestate(test_full_diff_rebase, &memfd),
		cmocka_unit_test_prestate(test_anon_skips_untouched, &pagemap),
		cmocka_unit_test_prestate(test_anon_skips_untouched, &no_pagemap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
