/* Guest memory: layout around the hole, bounds and overflow checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_small_ram_one_region),
		cmocka_unit_test(test_large_ram_splits_around_hole),
		cmocka_unit_test(test_overflowing_ranges_rejected),
		cmocka_unit_test(test_bad_sizes),
		cmocka_unit_test(test_dirty_hook_and_strings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
