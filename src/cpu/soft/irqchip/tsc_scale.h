/* Nanoseconds of the chip clock to guest TSC ticks, without a 128-bit
 * division (it was __udivti3 on every RDTSC: docs/PERFORMANCE.md, "getppid,
 * where the rest goes").
 *
 * The model (docs/soft-cpu.md, "Time stamp counter"): guest TSC =
 * floor(ns * hz / 1e9), saturating at UINT64_MAX.  With ns = q * 1e9 + r
 * (r < 1e9) that is q * hz + floor(r * hz / 1e9), exactly, because q * hz
 * is a whole number; r * hz fits 64 bits while hz < 2^34 (17 GHz: every
 * rate the engine states is below 10 GHz), and both divisions are by the
 * constant 1e9, which the compiler turns into a multiply and a shift.  A
 * larger rate (only a hand-made snapshot can state one) takes the 128-bit
 * path.  tests/unit/irqchip/test_tsc_scale.c checks it against that path. */
#ifndef RINGVM_SOFT_TSC_SCALE_H
#define RINGVM_SOFT_TSC_SCALE_H

#include <stdint.h>

#define SOFT_TSC_SCALE_MAX_HZ (1ULL << 34)

/* The reference: floor(a * b / c), saturating. */
static inline uint64_t soft_tsc_muldiv_ref(uint64_t a, uint64_t b, uint64_t c)
{
	unsigned __int128 r = (unsigned __int128)a * b / c;
	return r > UINT64_MAX ? UINT64_MAX : (uint64_t)r;
}

static inline uint64_t soft_ns_to_tsc(uint64_t ns, uint64_t hz)
{
	if (hz >= SOFT_TSC_SCALE_MAX_HZ)
		return soft_tsc_muldiv_ref(ns, hz, 1000000000ULL);
	uint64_t q = ns / 1000000000ULL, r = ns % 1000000000ULL;
	uint64_t hi;
	if (__builtin_mul_overflow(q, hz, &hi))
		return UINT64_MAX;
	uint64_t lo = r * hz / 1000000000ULL;
	return hi + lo < hi ? UINT64_MAX : hi + lo;
}

#endif
