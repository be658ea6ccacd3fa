/* Guest memory: layout around the hole, bounds and overflow checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ringvm/gmem.h"
#include "ringvm/layout.h"

static void test_small_ram_one_region(void **state)
{
	(void)state;
	struct gmem m;
	struct gmem_opts o = { .ram_size = 64 * MiB };
	assert_int_equal(gmem_init(&m, &o), 0);
	assert_int_equal(m.nr_regions, 1);
	assert_true(gmem_is_ram(&m, 0, 64 * MiB));
	assert_false(gmem_is_ram(&m, 0, 64 * MiB + 1));
	assert_false(gmem_is_ram(&m, 64 * MiB, 1));
	assert_true(gmem_is_ram(&m, 64 * MiB, 0)); /* empty range at the end */
	assert_null(gmem_ptr(&m, 64 * MiB - 4, 8));
	assert_non_null(gmem_ptr(&m, 64 * MiB - 8, 8));
	gmem_destroy(&m);
}

static void test_large_ram_splits_around_hole(void **state)
{
	(void)state;
	struct gmem m;
	struct gmem_opts o = { .ram_size = 5 * GiB };
	assert_int_equal(gmem_init(&m, &o), 0);
	assert_int_equal(m.nr_regions, 2);
	assert_int_equal(m.regions[0].size, LAYOUT_MMIO_HOLE_START);
	assert_int_equal(m.regions[1].gpa, LAYOUT_HIGH_RAM_START);
	assert_int_equal(m.regions[1].size, 5 * GiB - LAYOUT_MMIO_HOLE_START);
	/* The hole is not RAM, and a range cannot cross it. */
	assert_false(gmem_is_ram(&m, LAYOUT_MMIO_HOLE_START, 1));
	assert_false(gmem_is_ram(&m, LAYOUT_MMIO_HOLE_START - 4, 8));
	assert_null(gmem_ptr(&m, LAYOUT_LAPIC, 4));
	/* High memory aliases the memfd right after low memory. */
	assert_int_equal(gmem_write_u32(&m, LAYOUT_HIGH_RAM_START, 0xdeadbeef), 0);
	uint32_t v = 0;
	memcpy(&v, m.base + LAYOUT_MMIO_HOLE_START, 4);
	assert_int_equal(v, 0xdeadbeef);
	gmem_destroy(&m);
}

static void test_overflowing_ranges_rejected(void **state)
{
	(void)state;
	struct gmem m;
	struct gmem_opts o = { .ram_size = 16 * MiB };
	uint8_t buf[16];
	assert_int_equal(gmem_init(&m, &o), 0);
	assert_null(gmem_ptr(&m, UINT64_MAX - 3, 8));
	assert_null(gmem_ptr(&m, 8, UINT64_MAX));
	assert_null(gmem_ptr(&m, 16 * MiB - 1, UINT64_MAX - 16 * MiB + 2));
	assert_int_equal(gmem_read(&m, UINT64_MAX, buf, 2), -EFAULT);
	assert_int_equal(gmem_write(&m, 16 * MiB - 8, buf, 16), -EFAULT);
	/* A failed write writes nothing. */
	uint8_t *tail = gmem_ptr(&m, 16 * MiB - 8, 8);
	memset(tail, 0x5a, 8);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(gmem_write(&m, 16 * MiB - 8, buf, 16), -EFAULT);
	for (int i = 0; i < 8; i++)
		assert_int_equal(tail[i], 0x5a);
	gmem_destroy(&m);
}

static void test_bad_sizes(void **state)
{
	(void)state;
	struct gmem m;
	struct gmem_opts o = { .ram_size = 0 };
	assert_int_equal(gmem_init(&m, &o), -EINVAL);
	o.ram_size = 4096 + 1;
	assert_int_equal(gmem_init(&m, &o), -EINVAL);
}

static uint64_t dirty_gpa, dirty_len;
static void record_dirty(void *opaque, gpa_t gpa, uint64_t len)
{
	(void)opaque;
	dirty_gpa = gpa;
	dirty_len = len;
}

static void test_dirty_hook_and_strings(void **state)
{
	(void)state;
	struct gmem m;
	struct gmem_opts o = { .ram_size = 16 * MiB };
	char s[8];
	assert_int_equal(gmem_init(&m, &o), 0);
	gmem_set_dirty_hook(&m, record_dirty, NULL);
	assert_int_equal(gmem_write(&m, 0x1000, "hello", 6), 0);
	assert_int_equal(dirty_gpa, 0x1000);
	assert_int_equal(dirty_len, 6);
	assert_int_equal(gmem_read_str(&m, 0x1000, s, sizeof(s)), 0);
	assert_string_equal(s, "hello");
	assert_int_equal(gmem_write(&m, 0x2000, "0123456789", 10), 0);
	assert_int_equal(gmem_read_str(&m, 0x2000, s, sizeof(s)), -ENAMETOOLONG);
	assert_int_equal(s[sizeof(s) - 1], 0);
	/* An unterminated string at the end of RAM faults, not overreads. */
	assert_int_equal(gmem_fill(&m, 16 * MiB - 4, 'x', 4), 0);
	assert_int_equal(gmem_read_str(&m, 16 * MiB - 4, s, sizeof(s)), -EFAULT);
	gmem_destroy(&m);
}

static bool bit(const uint64_t *b, uint64_t page)
{
	return (b[page / 64] >> (page % 64)) & 1;
}

static unsigned count_bits(const uint64_t *b, uint64_t words)
{
	unsigned n = 0;
	for (uint64_t i = 0; i < words; i++)
		n += (unsigned)__builtin_popcountll(b[i]);
	return n;
}

/* The dirty bitmap (diff snapshots): writes through the API mark exactly
 * their pages, by offset in RAM (above 4 GiB too), fetch-and-clear takes
 * them once, merge gives them back, nothing is marked while not tracking. */
static void test_dirty_bitmap(void **state)
{
	(void)state;
	struct gmem m;
	uint64_t size = LAYOUT_MMIO_HOLE_START + 64 * MiB;
	struct gmem_opts o = { .ram_size = size };
	assert_int_equal(gmem_init(&m, &o), 0);
	uint64_t words = gmem_dirty_words(&m);
	assert_int_equal(words, (size / 4096 + 63) / 64);
	uint64_t *b = calloc(words, 8);
	assert_non_null(b);

	assert_int_equal(gmem_write_u8(&m, 0x5000, 1), 0); /* not tracking yet */
	assert_int_equal(gmem_dirty_start(&m), 0);
	gmem_dirty_fetch_and_clear(&m, b);
	assert_int_equal(count_bits(b, words), 0);

	assert_int_equal(gmem_write_u32(&m, 0x1ffe, 7), 0);          /* crosses: pages 1, 2 */
	assert_int_equal(gmem_fill(&m, 0x10000, 0, 3 * 4096), 0);    /* pages 16-18 */
	gmem_note_write(&m, 0x40000, 1);                             /* page 64 */
	assert_int_equal(gmem_write_u8(&m, LAYOUT_HIGH_RAM_START + 0x3000, 1), 0);
	assert_int_equal(gmem_write_u8(&m, LAYOUT_MMIO_HOLE_START, 1), -EFAULT); /* the hole */
	const struct gmem_region *hi = gmem_region_of(&m, LAYOUT_HIGH_RAM_START);
	assert_non_null(hi);
	uint64_t hi_page = (hi->offset + 0x3000) / 4096;
	gmem_dirty_fetch_and_clear(&m, b);
	assert_true(bit(b, 1) && bit(b, 2) && bit(b, 16) && bit(b, 17) && bit(b, 18));
	assert_true(bit(b, 64) && bit(b, hi_page));
	assert_int_equal(count_bits(b, words), 7);

	/* Cleared: a second fetch adds nothing; a merge gives them back. */
	uint64_t *c = calloc(words, 8);
	assert_non_null(c);
	gmem_dirty_fetch_and_clear(&m, c);
	assert_int_equal(count_bits(c, words), 0);
	gmem_dirty_merge(&m, b);
	gmem_dirty_mark_host(&m, m.base + 5 * 4096 + 7);             /* page 5 by host pointer */
	gmem_dirty_fetch_and_clear(&m, c);
	assert_int_equal(count_bits(c, words), 8);
	assert_true(bit(c, 5));

	gmem_dirty_stop(&m);
	assert_int_equal(gmem_write_u8(&m, 0x7000, 1), 0);           /* no bitmap: no crash */
	free(b);
	free(c);
	gmem_destroy(&m);
}

/* The backends: anonymous memory by default (no fd, 2 MiB aligned so THP can
 * back it, lazily allocated: an untouched page is not resident), a memfd on
 * request (--memory-backend memfd), both zero-filled and written through. */
static void test_backends(void **state)
{
	(void)state;
	struct gmem m;
	struct gmem_opts o = { .ram_size = 64 * MiB };
	assert_int_equal(gmem_init(&m, &o), 0);
	assert_true(m.anon);
	assert_int_equal(m.fd, -1);
	assert_int_equal((uintptr_t)m.base % (2 * MiB), 0);
	assert_int_equal(gmem_write_u64(&m, 40 * MiB, 0x1122334455667788ULL), 0);
	uint64_t v = 1;
	assert_int_equal(gmem_read_u64(&m, 40 * MiB + 8, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(gmem_read_u64(&m, 40 * MiB, &v), 0);
	assert_int_equal(v, 0x1122334455667788ULL);
	unsigned char vec;
	assert_int_equal(mincore(m.base + 8 * MiB, 4096, &vec), 0);
	assert_int_equal(vec & 1, 0);  /* never touched: no page */
	gmem_destroy(&m);
	assert_null(m.base);

	o.memfd = true;
	assert_int_equal(gmem_init(&m, &o), 0);
	assert_false(m.anon);
	assert_true(m.fd >= 0);
	assert_int_equal(gmem_write_u32(&m, 5 * MiB, 0xabcd), 0);
	uint32_t w = 0;
	assert_int_equal(pread(m.fd, &w, 4, 5 * MiB), 4);  /* the mapping is the memfd */
	assert_int_equal(w, 0xabcd);
	gmem_destroy(&m);
	assert_int_equal(m.fd, -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_small_ram_one_region),
		cmocka_unit_test(test_large_ram_splits_around_hole),
		cmocka_unit_test(test_overflowing_ranges_rejected),
		cmocka_unit_test(test_bad_sizes),
		cmocka_unit_test(test_dirty_hook_and_strings),
		cmocka_unit_test(test_dirty_bitmap),
		cmocka_unit_test(test_backends),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
