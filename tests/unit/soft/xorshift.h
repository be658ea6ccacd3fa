/* Reproducible random numbers for the soft CPU's unit tests: xorshift64
 * (G. Marsaglia, "Xorshift RNGs", J. Stat. Softw. 8(14), 2003; shifts 13,
 * 7, 17).  The state must not be 0. */
#ifndef RINGVM_TEST_XORSHIFT_H
#define RINGVM_TEST_XORSHIFT_H

#include <stdint.h>

static inline uint64_t xorshift64(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

#endif
