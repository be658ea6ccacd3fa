/* soft_ns_to_tsc (tsc_scale.h): the guest TSC from the chip clock without
 * a 128-bit division gives exactly floor(ns * hz / 1e9), saturated, the
 * 128-bit reference, over rates from 1 Hz to past the fast path's limit
 * and nanosecond counts from 0 to the saturation point and beyond. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tsc_scale.h"

static uint64_t xs(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static const uint64_t rates[] = {
	1, 999, 1000000ULL, 100000000ULL, 999999999ULL, 1000000000ULL, 1000000001ULL,
	2445000000ULL, 2900000000ULL, 3999999999ULL, 9999000000ULL, 10000000000ULL,
	(1ULL << 33) + 12345, (1ULL << 34) - 1, 1ULL << 34, (1ULL << 34) + 1,
	1ULL << 40, UINT64_MAX,
};

static void check(uint64_t ns, uint64_t hz)
{
	uint64_t want = soft_tsc_muldiv_ref(ns, hz, 1000000000ULL);
	uint64_t got = soft_ns_to_tsc(ns, hz);
	if (got != want)
		fail_msg("ns %llu hz %llu: %llu, reference %llu", (unsigned long long)ns,
			 (unsigned long long)hz, (unsigned long long)got, (unsigned long long)want);
}

static void test_edges(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
		uint64_t hz = rates[i];
		/* around every multiple of a second and its remainder edges */
		for (uint64_t s = 0; s < 5; s++)
			for (int64_t d = -3; d <= 3; d++)
				check(s * 1000000000ULL + (uint64_t)d, hz);
		check(0, hz);
		check(1, hz);
		check(UINT64_MAX, hz);
		check(UINT64_MAX - 999999999ULL, hz);
		/* around the point where the result saturates */
		unsigned __int128 sat = ((unsigned __int128)UINT64_MAX * 1000000000ULL) / hz;
		if (sat < UINT64_MAX)
			for (int64_t d = -2000; d <= 2000; d++)
				check((uint64_t)sat + (uint64_t)d, hz);
		/* where one tick more is due: ns = ceil(k * 1e9 / hz) */
		for (uint64_t k = 1; k < 2000; k += 7) {
			unsigned __int128 n = ((unsigned __int128)k * 1000000000ULL + hz - 1) / hz;
			if (n > UINT64_MAX)
				break;
			check((uint64_t)n, hz);
			check((uint64_t)n - 1, hz);
		}
	}
}

static void test_random(void **state)
{
	(void)state;
	uint64_t s = 0x9e3779b97f4a7c15ULL;
	for (int i = 0; i < 2000000; i++) {
		uint64_t r = xs(&s);
		uint64_t ns = xs(&s) >> (r & 63);                 /* every magnitude */
		uint64_t hz = (xs(&s) >> ((r >> 6) % 64)) | 1;   /* up to 2^64 - 1 */
		check(ns, hz);
		check(ns, 1000000ULL * (1 + (r >> 20) % 10000));  /* whole MHz, as stated */
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_edges),
		cmocka_unit_test(test_random),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
