/* I/O buses: registration rules and dispatch. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>

#include "ringvm/bus.h"

struct fake_dev {
	uint64_t last_off, last_val;
	unsigned last_size, writes, reads;
};

static uint64_t fake_read(void *opaque, uint64_t off, unsigned size)
{
	struct fake_dev *d = opaque;
	d->reads++;
	d->last_off = off;
	d->last_size = size;
	return 0x1122334455667788ULL + off;
}

static void fake_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
	struct fake_dev *d = opaque;
	d->writes++;
	d->last_off = off;
	d->last_size = size;
	d->last_val = val;
}

static const struct bus_ops fake_ops = { fake_read, fake_write };

static void test_register_and_dispatch(void **state)
{
	(void)state;
	struct bus b;
	struct fake_dev a = { 0 }, c = { 0 };
	uint64_t v;
	assert_int_equal(bus_init(&b, BUS_MMIO), 0);
	assert_int_equal(bus_register(&b, 0x1000, 0x100, &fake_ops, &a, "a"), 0);
	assert_int_equal(bus_register(&b, 0x3000, 0x10, &fake_ops, &c, "c"), 0);
	assert_int_equal(bus_write(&b, 0x1010, 4, 0xabcd), 0);
	assert_int_equal(a.last_off, 0x10);
	assert_int_equal(a.last_size, 4);
	assert_int_equal(a.last_val, 0xabcd);
	assert_int_equal(bus_read(&b, 0x3008, 2, &v), 0);
	assert_int_equal(c.last_off, 8);
	assert_int_equal(v, (0x1122334455667788ULL + 8) & 0xffff); /* truncated to size */
	assert_int_equal(bus_read(&b, 0x2000, 4, &v), -ENOENT);
	assert_int_equal(bus_read(&b, 0x0fff, 1, &v), -ENOENT);
	assert_int_equal(bus_read(&b, 0x1100, 1, &v), -ENOENT);
	/* Straddling a window's end, and bad sizes. */
	assert_int_equal(bus_read(&b, 0x10fe, 4, &v), -EINVAL);
	assert_int_equal(bus_read(&b, 0x1000, 3, &v), -EINVAL);
	assert_int_equal(a.reads, 0);
	assert_string_equal(bus_name_of(&b, 0x300f), "c");
	assert_null(bus_name_of(&b, 0x2fff));
	bus_destroy(&b);
}

static void test_overlaps_refused(void **state)
{
	(void)state;
	struct bus b;
	struct fake_dev a = { 0 };
	assert_int_equal(bus_init(&b, BUS_PIO), 0);
	assert_int_equal(bus_register(&b, 0x3f8, 8, &fake_ops, &a, "uart"), 0);
	assert_int_equal(bus_register(&b, 0x3ff, 1, &fake_ops, &a, "x"), -EEXIST);
	assert_int_equal(bus_register(&b, 0x3f0, 9, &fake_ops, &a, "x"), -EEXIST);
	assert_int_equal(bus_register(&b, 0x3f0, 0x20, &fake_ops, &a, "x"), -EEXIST);
	assert_int_equal(bus_register(&b, 0x3f0, 8, &fake_ops, &a, "below"), 0);
	assert_int_equal(bus_register(&b, 0x400, 8, &fake_ops, &a, "above"), 0);
	/* Sizes: empty, past the 64 KiB port space, overflowing. */
	assert_int_equal(bus_register(&b, 0x500, 0, &fake_ops, &a, "x"), -EINVAL);
	assert_int_equal(bus_register(&b, 0xfffe, 4, &fake_ops, &a, "x"), -EINVAL);
	assert_int_equal(bus_register(&b, 0x10000, 1, &fake_ops, &a, "x"), -EINVAL);
	assert_int_equal(bus_unregister(&b, 0x3f8), 0);
	assert_int_equal(bus_register(&b, 0x3ff, 1, &fake_ops, &a, "x"), 0);
	assert_int_equal(bus_unregister(&b, 0x1234), -ENOENT);
	bus_destroy(&b);

	assert_int_equal(bus_init(&b, BUS_MMIO), 0);
	assert_int_equal(bus_register(&b, UINT64_MAX - 0xf, 0x20, &fake_ops, &a, "x"), -EINVAL);
	assert_int_equal(bus_register(&b, UINT64_MAX - 0xf, 0x10, &fake_ops, &a, "top"), 0);
	uint64_t v;
	assert_int_equal(bus_read(&b, UINT64_MAX - 7, 8, &v), 0);
	bus_destroy(&b);
}

static void test_many_windows_sorted(void **state)
{
	(void)state;
	struct bus b;
	struct fake_dev d[64] = { 0 };
	assert_int_equal(bus_init(&b, BUS_MMIO), 0);
	/* Insert out of order; bisection must still find each. */
	for (int i = 0; i < 64; i++) {
		int k = (i * 37) % 64;
		assert_int_equal(bus_register(&b, 0x10000 + (uint64_t)k * 0x100, 0x80, &fake_ops,
					      &d[k], "d"), 0);
	}
	for (int k = 0; k < 64; k++) {
		assert_int_equal(bus_write(&b, 0x10000 + (uint64_t)k * 0x100 + 0x7f, 1, (uint64_t)k), 0);
		assert_int_equal(d[k].last_val, (uint64_t)k);
		uint64_t v;
		assert_int_equal(bus_read(&b, 0x10000 + (uint64_t)k * 0x100 + 0x80, 1, &v), -ENOENT);
	}
	bus_destroy(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_register_and_dispatch),
		cmocka_unit_test(test_overlaps_refused),
		cmocka_unit_test(test_many_windows_sorted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
