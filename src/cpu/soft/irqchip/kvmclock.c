/* kvmclock / pvclock structures (see kvmclock.h). */
#include <errno.h>
#include <stddef.h>

#include "kvmclock.h"

void kvmclock_scale(uint64_t tsc_hz, uint32_t *mul, int8_t *shift)
{
	/* Want mul * 2^(shift - 32) == 1e9 / tsc_hz with mul < 2^32 as large
	 * as possible: the smallest shift that keeps mul in 32 bits. */
	if (tsc_hz == 0)
		tsc_hz = 1;
	for (int s = -31; s <= 31; s++) {
		unsigned __int128 num = (unsigned __int128)1000000000ULL;
		unsigned __int128 m;
		if (32 - s >= 0)
			m = (num << (32 - s)) / tsc_hz;
		else
			m = (num >> (s - 32)) / tsc_hz;
		if (m <= 0xffffffffULL) {
			*mul = (uint32_t)m;
			*shift = (int8_t)s;
			return;
		}
	}
	*mul = 0xffffffff;
	*shift = 31;
}

uint64_t kvmclock_guest_read(const struct pvclock_vcpu_time_info *ti, uint64_t tsc)
{
	uint64_t delta = tsc - ti->tsc_timestamp;
	if (ti->tsc_shift < 0)
		delta >>= -ti->tsc_shift;
	else
		delta <<= ti->tsc_shift;
	return ti->system_time +
	       (uint64_t)(((unsigned __int128)delta * ti->tsc_to_system_mul) >> 32);
}

int kvmclock_write_time_info(struct gmem *m, gpa_t gpa, uint32_t *version,
			     const struct kvmclock_now *now)
{
	if (!gmem_is_ram(m, gpa, sizeof(struct pvclock_vcpu_time_info)))
		return -EFAULT;
	struct pvclock_vcpu_time_info ti = { 0 };
	uint32_t mul;
	int8_t shift;
	kvmclock_scale(now->tsc_hz, &mul, &shift);
	ti.tsc_to_system_mul = mul;
	ti.tsc_shift = shift;
	ti.tsc_timestamp = now->guest_tsc;
	ti.system_time = now->system_ns;
	ti.flags = PVCLOCK_TSC_STABLE_BIT;
	/* Odd while updating so a reader retries; even when consistent. */
	if (!(*version & 1))
		(*version)++;
	gmem_write_u32(m, gpa, *version);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	gmem_write(m, gpa + 4, (const uint8_t *)&ti + 4, sizeof(ti) - 4);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	(*version)++;
	gmem_write_u32(m, gpa, *version);
	return 0;
}

int kvmclock_write_wall_clock(struct gmem *m, gpa_t gpa, uint32_t *version,
			      const struct kvmclock_now *now)
{
	if (!gmem_is_ram(m, gpa, sizeof(struct pvclock_wall_clock)))
		return -EFAULT;
	if (!(*version & 1))
		(*version)++;
	gmem_write_u32(m, gpa, *version);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	gmem_write_u32(m, gpa + 4, (uint32_t)(now->wall_ns / 1000000000ULL));
	gmem_write_u32(m, gpa + 8, (uint32_t)(now->wall_ns % 1000000000ULL));
	__atomic_thread_fence(__ATOMIC_RELEASE);
	(*version)++;
	gmem_write_u32(m, gpa, *version);
	return 0;
}

int kvmclock_wrmsr(struct kvmclock_vcpu *kc, struct gmem *m, uint32_t msr,
		   uint64_t value, const struct kvmclock_now *now)
{
	switch (msr) {
	case MSR_KVM_SYSTEM_TIME:
	case MSR_KVM_SYSTEM_TIME_NEW:
		kc->system_time_msr = value;
		if (!(value & 1))
			return 0;
		return kvmclock_write_time_info(m, value & ~1ULL, &kc->version, now);
	case MSR_KVM_WALL_CLOCK:
	case MSR_KVM_WALL_CLOCK_NEW:
		kc->wall_clock_msr = value;
		return kvmclock_write_wall_clock(m, value, &kc->wall_version, now);
	default:
		return -ENOENT;
	}
}

int kvmclock_rdmsr(const struct kvmclock_vcpu *kc, uint32_t msr, uint64_t *value)
{
	switch (msr) {
	case MSR_KVM_SYSTEM_TIME:
	case MSR_KVM_SYSTEM_TIME_NEW:
		*value = kc->system_time_msr;
		return 0;
	case MSR_KVM_WALL_CLOCK:
	case MSR_KVM_WALL_CLOCK_NEW:
		*value = kc->wall_clock_msr;
		return 0;
	default:
		return -ENOENT;
	}
}

int kvmclock_refresh(struct kvmclock_vcpu *kc, struct gmem *m,
		     const struct kvmclock_now *now)
{
	if (!(kc->system_time_msr & 1))
		return 0;
	return kvmclock_write_time_info(m, kc->system_time_msr & ~1ULL, &kc->version, now);
}
