/* kvmclock: a guest computing time from the pvclock structure gets the
 * right nanoseconds, for several TSC frequencies. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "kvmclock.h"

/* The guest's side, written independently from the ABI description:
 * pvclock_clocksource_read() with the version retry loop. */
static uint64_t guest_read(const struct gmem *m, gpa_t gpa, uint64_t tsc, uint8_t *flags)
{
	struct pvclock_vcpu_time_info ti;
	uint32_t v1, v2;
	do {
		assert_int_equal(gmem_read_u32(m, gpa, &v1), 0);
		assert_int_equal(gmem_read(m, gpa, &ti, sizeof(ti)), 0);
		assert_int_equal(gmem_read_u32(m, gpa, &v2), 0);
	} while ((v1 & 1) || v1 != v2);
	uint64_t delta = tsc - ti.tsc_timestamp;
	int shift = ti.tsc_shift;
	delta = shift < 0 ? delta >> -shift : delta << shift;
	unsigned __int128 prod = (unsigned __int128)delta * ti.tsc_to_system_mul;
	*flags = ti.flags;
	return ti.system_time + (uint64_t)(prod >> 32);
}

static void check_freq(struct gmem *m, uint64_t hz)
{
	struct kvmclock_vcpu kc = { 0 };
	const gpa_t gpa = 0x3000;
	struct kvmclock_now now = {
		.tsc_hz = hz, .guest_tsc = 123456789ULL, .system_ns = 5000000000ULL,
		.wall_ns = 1700000000ULL * 1000000000ULL + 250,
	};
	assert_int_equal(kvmclock_wrmsr(&kc, m, MSR_KVM_SYSTEM_TIME_NEW, gpa | 1, &now), 0);
	uint32_t ver;
	assert_int_equal(gmem_read_u32(m, gpa, &ver), 0);
	assert_int_equal(ver & 1, 0);
	assert_true(ver >= 2);
	uint64_t msr;
	assert_int_equal(kvmclock_rdmsr(&kc, MSR_KVM_SYSTEM_TIME_NEW, &msr), 0);
	assert_int_equal(msr, gpa | 1);
	/* elapsed guest times from 0 to ~1 day */
	static const uint64_t el_ns[] = { 0, 1, 999, 1000000, 1234567891, 86400000000000ULL };
	for (size_t i = 0; i < sizeof(el_ns) / sizeof(el_ns[0]); i++) {
		uint64_t tsc = now.guest_tsc +
			(uint64_t)((unsigned __int128)el_ns[i] * hz / 1000000000ULL);
		/* the exact time of that TSC value */
		uint64_t exact = now.system_ns +
			(uint64_t)((unsigned __int128)(tsc - now.guest_tsc) * 1000000000ULL / hz);
		uint8_t flags;
		uint64_t got = guest_read(m, gpa, tsc, &flags);
		assert_true(flags & PVCLOCK_TSC_STABLE_BIT);
		int64_t err = (int64_t)(got - exact);
		/* scale precision: < 1 ns per 2^31 ns (0.5 ppb) plus rounding */
		int64_t tol = 2 + (int64_t)(el_ns[i] >> 28);
		if (err < -tol || err > tol)
			fail_msg("hz %lu el %lu: got %lu want %lu", (unsigned long)hz,
				 (unsigned long)el_ns[i], (unsigned long)got, (unsigned long)exact);
	}
	/* a refresh bumps the version by 2 and keeps it even */
	uint32_t ver2;
	now.guest_tsc += hz;
	now.system_ns += 1000000000ULL;
	assert_int_equal(kvmclock_refresh(&kc, m, &now), 0);
	assert_int_equal(gmem_read_u32(m, gpa, &ver2), 0);
	assert_int_equal(ver2, ver + 2);
	/* wall clock */
	assert_int_equal(kvmclock_wrmsr(&kc, m, MSR_KVM_WALL_CLOCK_NEW, 0x4000, &now), 0);
	struct pvclock_wall_clock wc;
	assert_int_equal(gmem_read(m, 0x4000, &wc, sizeof(wc)), 0);
	assert_int_equal(wc.version & 1, 0);
	assert_int_equal(wc.sec, 1700000000u);
	assert_int_equal(wc.nsec, 250);
	/* disabling: no write */
	assert_int_equal(kvmclock_wrmsr(&kc, m, MSR_KVM_SYSTEM_TIME_NEW, gpa, &now), 0);
	assert_int_equal(kvmclock_refresh(&kc, m, &now), 0);
	assert_int_equal(gmem_read_u32(m, gpa, &ver), 0);
	assert_int_equal(ver, ver2);
}

static void test_guest_formula(void **state)
{
	(void)state;
	struct gmem m;
	struct gmem_opts o = { .ram_size = 2 * 1024 * 1024 };
	assert_int_equal(gmem_init(&m, &o), 0);
	static const uint64_t freqs[] = {
		1000000000ULL, 2400000000ULL, 3100000000ULL, 2893412000ULL,
		100000000ULL, 1193182ULL, 5000000000ULL,
	};
	for (size_t i = 0; i < sizeof(freqs) / sizeof(freqs[0]); i++)
		check_freq(&m, freqs[i]);
	gmem_destroy(&m);
}

static void test_scale_and_errors(void **state)
{
	(void)state;
	uint32_t mul;
	int8_t shift;
	kvmclock_scale(1000000000ULL, &mul, &shift);
	/* 1 GHz: 1 ns per tick: mul * 2^(shift-32) == 1 */
	assert_int_equal(shift, 1);
	assert_int_equal(mul, 0x80000000u);
	struct pvclock_vcpu_time_info ti = {
		.tsc_timestamp = 100, .system_time = 7, .tsc_to_system_mul = mul, .tsc_shift = shift,
	};
	assert_int_equal(kvmclock_guest_read(&ti, 1100), 1007);
	struct gmem m;
	struct gmem_opts o = { .ram_size = 2 * 1024 * 1024 };
	assert_int_equal(gmem_init(&m, &o), 0);
	struct kvmclock_vcpu kc = { 0 };
	struct kvmclock_now now = { .tsc_hz = 1000000000ULL };
	/* outside RAM, straddling the end */
	assert_int_equal(kvmclock_wrmsr(&kc, &m, MSR_KVM_SYSTEM_TIME_NEW, 0xfee00001, &now), -EFAULT);
	assert_int_equal(kvmclock_wrmsr(&kc, &m, MSR_KVM_SYSTEM_TIME_NEW,
					2 * 1024 * 1024 - 16 + 1, &now), -EFAULT);
	assert_int_equal(kvmclock_wrmsr(&kc, &m, 0x10, 0, &now), -ENOENT);
	uint64_t v;
	assert_int_equal(kvmclock_rdmsr(&kc, 0x10, &v), -ENOENT);
	gmem_destroy(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_guest_formula),
		cmocka_unit_test(test_scale_and_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
