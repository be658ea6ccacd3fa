/* The rate of the soft engine's guest TSC: the host's own TSC rate, so that
 * TSC-cycle figures taken in the guest compare with the same figures taken
 * natively (docs/soft-cpu.md, "Time stamp counter").
 *
 * The guest TSC is not the host's TSC: it is the machine's clock
 * (vm_clock_ns: CLOCK_MONOTONIC, stopped while the VM is paused) scaled to
 * this rate (irqchip.c soft_irqchip_guest_tsc), so it is invariant whatever
 * the host's TSC does, and the rate is what CPUID and kvmclock say.  The
 * host's rate is measured once, when the VM is created: host TSC ticks
 * against CLOCK_MONOTONIC_RAW over 5 ms, each end read between two RDTSCs
 * (the tightest of three pairs), rounded to whole MHz so that runs on one
 * host state the same rate.  A host whose TSC is not constant (no
 * constant_tsc in /proc/cpuinfo) or a result outside 100 MHz .. 10 GHz gives
 * SOFT_TSC_HZ_DEFAULT (1 GHz). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "soft_engine.h"

static uint64_t host_rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static uint64_t raw_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* One (ns, tsc) pair: the clock read between two RDTSCs, the pair with the
 * smallest gap of three. */
static void sample(uint64_t *ns, uint64_t *tsc)
{
	uint64_t best = UINT64_MAX;
	for (int i = 0; i < 3; i++) {
		uint64_t a = host_rdtsc(), t = raw_ns(), b = host_rdtsc();
		if (b - a < best) {
			best = b - a;
			*ns = t;
			*tsc = a + (b - a) / 2;
		}
	}
}

static bool host_tsc_constant(void)
{
	FILE *f = fopen("/proc/cpuinfo", "re");
	if (!f)
		return false;
	char line[8192];
	bool yes = false;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "flags", 5) != 0)
			continue;
		yes = strstr(line, " constant_tsc") != NULL;
		break;
	}
	fclose(f);
	return yes;
}

uint64_t soft_tsc_host_hz(void)
{
	if (!host_tsc_constant())
		return SOFT_TSC_HZ_DEFAULT;
	uint64_t ns0, tsc0, ns1, tsc1;
	sample(&ns0, &tsc0);
	struct timespec d = { 0, 5000000 };
	nanosleep(&d, NULL);
	sample(&ns1, &tsc1);
	if (ns1 <= ns0 || tsc1 <= tsc0)
		return SOFT_TSC_HZ_DEFAULT;
	uint64_t hz = (uint64_t)((unsigned __int128)(tsc1 - tsc0) * 1000000000ULL / (ns1 - ns0));
	hz = (hz + 500000) / 1000000 * 1000000;
	if (hz < 100000000ULL || hz > 10000000000ULL)
		return SOFT_TSC_HZ_DEFAULT;
	return hz;
}
