/* The block forms of REP MOVS/STOS (src/cpu/soft/rep_fast.c) against the
 * architectural element loop: every overlap distance, both directions,
 * every element size. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "src/cpu/soft/rep_fast.h"

#define BUF 600

/* The element loop: each element read whole, then written (SDM vol. 2,
 * MOVS), in ascending order or, with down (DF=1), descending. */
static void ref_copy(uint8_t *dst, const uint8_t *src, size_t len, unsigned sz, bool down)
{
	size_t n = len / sz;
	for (size_t i = 0; i < n; i++) {
		size_t o = (down ? n - 1 - i : i) * sz;
		uint8_t e[8];
		memcpy(e, src + o, sz);
		memcpy(dst + o, e, sz);
	}
}

static void fill_pattern(uint8_t *b, unsigned seed)
{
	for (unsigned i = 0; i < BUF; i++)
		b[i] = (uint8_t)(i * 7 + seed * 13 + (i >> 3));
}

static void check_copy(unsigned sz, bool down, size_t s, size_t d, size_t len)
{
	uint8_t a[BUF], b[BUF];
	fill_pattern(a, (unsigned)(s + d + len));
	memcpy(b, a, BUF);
	soft_rep_copy(a + d, a + s, len, sz, down);
	ref_copy(b + d, b + s, len, sz, down);
	if (memcmp(a, b, BUF))
		fail_msg("copy sz %u %s src %zu dst %zu len %zu differs from the element loop", sz,
			 down ? "down" : "up", s, d, len);
}

/* Every distance from -72 to 72 bytes (overlaps closer than an element,
 * exactly an element, longer), run lengths around the distance. */
static void test_copy_overlaps(void **state)
{
	(void)state;
	static const unsigned sizes[] = { 1, 2, 4, 8 };
	for (unsigned k = 0; k < 4; k++) {
		unsigned sz = sizes[k];
		for (int down = 0; down < 2; down++)
			for (int dist = -72; dist <= 72; dist++)
				for (size_t n = 0; n <= 40; n += (n < 12 ? 1 : 7)) {
					size_t s = 200, d = (size_t)((int)s + dist);
					check_copy(sz, down, s, d, n * sz);
				}
	}
}

/* Long runs: a page-sized copy at far and near distances. */
static void test_copy_long(void **state)
{
	(void)state;
	static const unsigned sizes[] = { 1, 2, 4, 8 };
	for (unsigned k = 0; k < 4; k++)
		for (int down = 0; down < 2; down++) {
			check_copy(sizes[k], down, 0, 300, 296);
			check_copy(sizes[k], down, 300, 0, 296);
			check_copy(sizes[k], down, 8, 24, 560);
			check_copy(sizes[k], down, 24, 8, 560);
			check_copy(sizes[k], down, 5, 8, 584);
			check_copy(sizes[k], down, 8, 5, 584);
		}
}

static void test_fill(void **state)
{
	(void)state;
	static const unsigned sizes[] = { 1, 2, 4, 8 };
	const uint64_t v = 0x8877665544332211ULL;
	for (unsigned k = 0; k < 4; k++) {
		unsigned sz = sizes[k];
		for (size_t n = 0; n < 70; n++) {
			uint8_t a[BUF], b[BUF];
			fill_pattern(a, (unsigned)n);
			memcpy(b, a, BUF);
			soft_rep_fill(a + 3, n * sz, sz, v);
			for (size_t i = 0; i < n; i++)
				memcpy(b + 3 + i * sz, &v, sz); /* little-endian host */
			if (memcmp(a, b, BUF))
				fail_msg("fill sz %u n %zu differs from the element loop", sz, n);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_copy_overlaps),
		cmocka_unit_test(test_copy_long),
		cmocka_unit_test(test_fill),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
