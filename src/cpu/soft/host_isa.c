/* Probe of the host's optional instruction-set extensions (host_isa.h). */
#include <cpuid.h>
#include <stdbool.h>
#include <stddef.h>

#include "host_isa.h"

uint32_t soft_host_isa_probe(void)
{
	unsigned a, b, c, d;
	uint32_t f = 0;
	if (!__get_cpuid(1, &a, &b, &c, &d))
		return 0;
	if (c & (1u << 25))
		f |= SOFT_HOST_AES;
	if (c & (1u << 1))
		f |= SOFT_HOST_PCLMUL;
	if (c & (1u << 30))
		f |= SOFT_HOST_RDRAND;
	if (c & (1u << 23))
		f |= SOFT_HOST_POPCNT;
	bool ymm_os = false;
	if (c & (1u << 27)) { /* OSXSAVE: XGETBV is usable */
		uint32_t lo, hi;
		__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
		ymm_os = (lo & 6) == 6;
	}
	bool avx = ymm_os && (c & (1u << 28));
	if (avx) {
		f |= SOFT_HOST_AVX;
		if (c & (1u << 12))
			f |= SOFT_HOST_FMA;
		if (c & (1u << 29))
			f |= SOFT_HOST_F16C;
	}
	if (__get_cpuid_max(0, NULL) >= 7) {
		__cpuid_count(7, 0, a, b, c, d);
		if (b & (1u << 29))
			f |= SOFT_HOST_SHA;
		if (c & (1u << 8))
			f |= SOFT_HOST_GFNI;
		if (b & (1u << 18))
			f |= SOFT_HOST_RDSEED;
		if (b & (1u << 3))
			f |= SOFT_HOST_BMI1;
		if (b & (1u << 8))
			f |= SOFT_HOST_BMI2;
		if (avx && (b & (1u << 5)))
			f |= SOFT_HOST_AVX2;
	}
	if (__get_cpuid(0x80000001, &a, &b, &c, &d)) {
		if (c & 1u)
			f |= SOFT_HOST_LAHF;
		if (c & (1u << 5))
			f |= SOFT_HOST_LZCNT;
	}
	return f;
}
