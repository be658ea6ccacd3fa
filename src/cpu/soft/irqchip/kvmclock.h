/* kvmclock / pvclock for the soft engine: fills the paravirtual clock
 * structures a Linux guest finds through MSR_KVM_SYSTEM_TIME_NEW and
 * MSR_KVM_WALL_CLOCK_NEW (layout from the Linux pvclock ABI), so the guest
 * gets its TSC frequency and time without calibrating against the PIT.
 * Pure functions over guest memory; the engine keeps one kvmclock_vcpu per
 * vCPU and must advertise the KVM CPUID leaves (0x40000000 "KVMKVMKVM",
 * 0x40000001 EAX bit 3 CLOCKSOURCE2 and bit 24 CLOCKSOURCE_STABLE_BIT). */
#ifndef RINGVM_SOFT_KVMCLOCK_H
#define RINGVM_SOFT_KVMCLOCK_H

#include <stdint.h>

#include "ringvm/gmem.h"

#define MSR_KVM_WALL_CLOCK       0x11
#define MSR_KVM_SYSTEM_TIME      0x12
#define MSR_KVM_WALL_CLOCK_NEW   0x4b564d00
#define MSR_KVM_SYSTEM_TIME_NEW  0x4b564d01

#define PVCLOCK_TSC_STABLE_BIT   (1u << 0)
#define PVCLOCK_GUEST_STOPPED    (1u << 1)

struct pvclock_vcpu_time_info {
	uint32_t version;
	uint32_t pad0;
	uint64_t tsc_timestamp;
	uint64_t system_time;
	uint32_t tsc_to_system_mul;
	int8_t tsc_shift;
	uint8_t flags;
	uint8_t pad[2];
} __attribute__((packed));

struct pvclock_wall_clock {
	uint32_t version;
	uint32_t sec;
	uint32_t nsec;
} __attribute__((packed));

_Static_assert(sizeof(struct pvclock_vcpu_time_info) == 32, "pvclock ABI");
_Static_assert(sizeof(struct pvclock_wall_clock) == 12, "pvclock ABI");

/* Time inputs at the moment of the update. */
struct kvmclock_now {
	uint64_t tsc_hz;     /* guest TSC frequency */
	uint64_t guest_tsc;  /* guest TSC now */
	uint64_t system_ns;  /* guest system time now (ns since its zero) */
	uint64_t wall_ns;    /* wall clock (ns since 1970) at system_ns == 0 */
};

struct kvmclock_vcpu {
	uint64_t system_time_msr;  /* last value written (gpa | enable) */
	uint64_t wall_clock_msr;
	uint32_t version;          /* of this vCPU's time info */
	uint32_t wall_version;
};

/* mul and shift such that ns = ((tsc << shift or >> -shift) * mul) >> 32. */
void kvmclock_scale(uint64_t tsc_hz, uint32_t *mul, int8_t *shift);
/* The guest's side of the ABI (what pvclock_clocksource_read computes). */
uint64_t kvmclock_guest_read(const struct pvclock_vcpu_time_info *ti, uint64_t tsc);

/* Write the time info at gpa: version odd, body, version even.
 * -EFAULT if the 32 bytes are not RAM. */
int kvmclock_write_time_info(struct gmem *m, gpa_t gpa, uint32_t *version,
			     const struct kvmclock_now *now);
int kvmclock_write_wall_clock(struct gmem *m, gpa_t gpa, uint32_t *version,
			      const struct kvmclock_now *now);

/* MSR helpers: 0, -ENOENT (not a kvmclock MSR), -EFAULT (bad address:
 * ignored like KVM does; the MSR value is still recorded). */
int kvmclock_wrmsr(struct kvmclock_vcpu *kc, struct gmem *m, uint32_t msr,
		   uint64_t value, const struct kvmclock_now *now);
int kvmclock_rdmsr(const struct kvmclock_vcpu *kc, uint32_t msr, uint64_t *value);
/* Rewrite an enabled time info (after TSC or clock changes). */
int kvmclock_refresh(struct kvmclock_vcpu *kc, struct gmem *m,
		     const struct kvmclock_now *now);

#endif
