/* Probe of the host's optional instruction-set extensions (host_isa.h). */
#include <cpuid.h>
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
	if (__get_cpuid_max(0, NULL) >= 7) {
		__cpuid_count(7, 0, a, b, c, d);
		if (b & (1u << 29))
			f |= SOFT_HOST_SHA;
		if (c & (1u << 8))
			f |= SOFT_HOST_GFNI;
		if (b & (1u << 18))
			f |= SOFT_HOST_RDSEED;
	}
	return f;
}
