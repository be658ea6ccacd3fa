/* What a soft vCPU reaches outside its core: ports, MMIO, the LAPIC, the
 * platform MSRs, CPUID adjustments and time. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "ringvm/clock.h"
#include "../cpuid.h"
#include "soft_engine.h"

struct kvmclock_now soft_engine_time(struct soft_vm *svm)
{
	uint64_t now = soft_irqchip_now(svm->chip);
	struct kvmclock_now t = {
		.tsc_hz = svm->chip->tsc_hz,
		.guest_tsc = soft_irqchip_guest_tsc(svm->chip, now),
		.system_ns = soft_irqchip_tsc_to_ns(svm->chip, soft_irqchip_guest_tsc(svm->chip, now)),
		.wall_ns = svm->wall_ns_at_zero,
	};
	return t;
}

static int hook_pio(void *opaque, uint16_t port, unsigned size, bool write, uint32_t *val)
{
	struct soft_vcpu *sv = opaque;
	return vcpu_pio(sv->v, port, size, write, val);
}

/* Device memory goes through the machine's one MMIO policy, as the kvm
 * engine's MMIO exits do (counted, unclaimed reads all-ones, --strict-mmio). */
static int hook_mmio(void *opaque, uint64_t gpa, unsigned size, bool write, uint64_t *val)
{
	struct soft_vcpu *sv = opaque;
	return vcpu_mmio(sv->v, gpa, size, write, val);
}

static uint64_t hook_rdtsc(void *opaque)
{
	struct soft_vcpu *sv = opaque;
	struct soft_irqchip *chip = sv->svm->chip;
	return soft_irqchip_guest_tsc(chip, soft_irqchip_now(chip));
}

/* The LAPIC page is per CPU: it never goes to the bus. */
static int hook_local_mmio(void *opaque, uint64_t gpa, unsigned size, bool write, uint64_t *val)
{
	struct soft_vcpu *sv = opaque;
	struct soft_irqchip *chip = sv->svm->chip;
	uint64_t base = soft_irqchip_lapic_mmio_base(chip, sv->v->id);
	if (base == UINT64_MAX || gpa < base || gpa - base >= 4096)
		return -1;
	if (write)
		soft_lapic_mmio_write(chip, sv->v->id, gpa - base, size, *val);
	else
		*val = soft_lapic_mmio_read(chip, sv->v->id, gpa - base, size);
	return 0;
}

void soft_engine_mmu_hooks(struct soft_vcpu *sv, struct soft_mmu_hooks *h)
{
	memset(h, 0, sizeof(*h));
	h->mmio = hook_mmio;
	h->pio = hook_pio;
	h->rdtsc = hook_rdtsc;
	h->local_mmio = hook_local_mmio;
	h->opaque = sv;
}

static void sys_tlb_flush(void *opaque, enum soft_flush kind, uint64_t la)
{
	struct soft_vcpu *sv = opaque;
	switch (kind) {
	case SOFT_FLUSH_ALL: soft_mmu_flush_all(&sv->mmu); break;
	case SOFT_FLUSH_NONGLOBAL: soft_mmu_flush_nonglobal(&sv->mmu); break;
	case SOFT_FLUSH_PAGE: soft_mmu_flush_page(&sv->mmu, la); break;
	case SOFT_FLUSH_SWITCH: soft_mmu_switch_pcid(&sv->mmu); break;
	case SOFT_FLUSH_PCID: soft_mmu_flush_pcid(&sv->mmu, (unsigned)la); break;
	case SOFT_FLUSH_ALL_NONGLOBAL: soft_mmu_flush_all_nonglobal(&sv->mmu); break;
	}
}

/* The guest TSC is the machine's (soft_irqchip_guest_tsc) plus this vCPU's
 * offset, which IA32_TSC writes set (cpu.h tsc_offset).  The irqchip keeps
 * TSC-deadline values on the machine's scale; the vCPU's MSR holds them on
 * its own, and so does a snapshot (as on kvm): these convert (0, disarmed,
 * stays 0; a deadline before the machine's zero is due at once). */
uint64_t soft_deadline_to_chip(const struct soft_vcpu *sv, uint64_t v)
{
	if (!v)
		return 0;
	int64_t m = (int64_t)(v - sv->cpu.tsc_offset);
	return m > 0 ? (uint64_t)m : 1;
}

uint64_t soft_deadline_to_vcpu(const struct soft_vcpu *sv, uint64_t m)
{
	return m ? m + sv->cpu.tsc_offset : 0;
}

/* The time kvmclock publishes for this vCPU: its own TSC. */
static struct kvmclock_now vcpu_time(const struct soft_vcpu *sv)
{
	struct kvmclock_now t = soft_engine_time(sv->svm);
	t.guest_tsc += sv->cpu.tsc_offset;
	return t;
}

static int sys_rdmsr(void *opaque, uint32_t msr, uint64_t *val)
{
	struct soft_vcpu *sv = opaque;
	int r = soft_irqchip_rdmsr(sv->svm->chip, sv->v->id, msr, val);
	if (r == 0 && msr == MSR_IA32_TSC_DEADLINE)
		*val = soft_deadline_to_vcpu(sv, *val);
	if (r == 0)
		return 0;
	if (r == -EINVAL)
		return -1;
	if (kvmclock_rdmsr(&sv->kvmclock, msr, val) == 0)
		return 0;
	return -1;
}

static int sys_wrmsr(void *opaque, uint32_t msr, uint64_t val)
{
	struct soft_vcpu *sv = opaque;
	int r = soft_irqchip_wrmsr(sv->svm->chip, sv->v->id, msr,
				   msr == MSR_IA32_TSC_DEADLINE ? soft_deadline_to_chip(sv, val) : val);
	if (r == 0 && msr == MSR_IA32_APICBASE) {
		/* The xAPIC page moved, appeared or went away: it is device
		 * memory for this vCPU only, over RAM too. */
		soft_mmu_set_local_page(&sv->mmu,
					soft_irqchip_lapic_mmio_base(sv->svm->chip, sv->v->id));
		soft_cpu_flush_code_tlb(&sv->cpu);
	}
	if (r == 0)
		return 0;
	if (r == -EINVAL)
		return -1;
	struct kvmclock_now now = vcpu_time(sv);
	r = kvmclock_wrmsr(&sv->kvmclock, &sv->v->vm->mem, msr, val, &now);
	return r == -ENOENT ? -1 : 0;
}

/* The guest wrote IA32_TSC (old: the offset before): an armed TSC deadline
 * keeps its value on the vCPU's TSC, so it moves on the machine's (the
 * timer fires when the vCPU's TSC reaches it, SDM vol. 3, 10.5.4.1), and
 * kvmclock's time info is published again with the new TSC, as KVM does
 * (KVM_REQ_CLOCK_UPDATE on a TSC write). */
static void sys_tsc_written(void *opaque, uint64_t old)
{
	struct soft_vcpu *sv = opaque;
	uint64_t m;
	if (soft_irqchip_rdmsr(sv->svm->chip, sv->v->id, MSR_IA32_TSC_DEADLINE, &m) == 0 && m) {
		uint64_t v = m + old;
		soft_irqchip_wrmsr(sv->svm->chip, sv->v->id, MSR_IA32_TSC_DEADLINE,
				   soft_deadline_to_chip(sv, v));
	}
	struct kvmclock_now now = vcpu_time(sv);
	kvmclock_refresh(&sv->kvmclock, &sv->v->vm->mem, &now);
}

static uint64_t sys_cr8_read(void *opaque)
{
	struct soft_vcpu *sv = opaque;
	return soft_irqchip_get_cr8(sv->svm->chip, sv->v->id);
}

static void sys_cr8_write(void *opaque, uint64_t cr8)
{
	struct soft_vcpu *sv = opaque;
	soft_irqchip_set_cr8(sv->svm->chip, sv->v->id, cr8);
}

/* KVM's paravirtual features we implement: the clock (old and new MSRs)
 * and its stable bit. */
#define KVM_FEATURE_CLOCKSOURCE          (1u << 0)
#define KVM_FEATURE_CLOCKSOURCE2         (1u << 3)
#define KVM_FEATURE_CLOCKSOURCE_STABLE   (1u << 24)

static void sys_cpuid(void *opaque, uint32_t leaf, uint32_t subleaf, uint32_t regs[4])
{
	struct soft_vcpu *sv = opaque;
	unsigned id = sv->v->id, n = sv->v->vm->nr_vcpus;
	switch (leaf) {
	case 1:
		regs[1] = (regs[1] & 0x0000ffffu) | (id << 24) | ((n > 1 ? n : 1) << 16);
		regs[2] |= (1u << 21) | (1u << 24) | (1u << 31); /* x2APIC, TSC-deadline, hypervisor */
		if (n > 1)
			regs[3] |= 1u << 28; /* HTT: the logical count in EBX is valid */
		/* SDM vol. 3, 10.4.3: with IA32_APIC_BASE[11] clear the processor
		 * is one without an APIC, and CPUID.1:EDX.APIC reads 0. */
		if (soft_irqchip_lapic_disabled(sv->svm->chip, id))
			regs[3] &= ~(1u << 9);
		break;
	case 6:
		regs[0] |= 1u << 2; /* ARAT: the LAPIC timer runs in deep C-states */
		break;
	case 4:
		/* the L3 is shared by every vCPU: EAX[25:14] = sharers - 1 */
		if (subleaf == SOFT_CPUID_L3_SUBLEAF && n > 1)
			regs[0] |= ((n - 1) & 0xfffu) << 14;
		break;
	case 0xb: {
		/* Extended topology (SDM vol. 2 CPUID leaf 0BH, vol. 3 10.12.8.1
		 * "x2APIC ID"): one thread per core, every vCPU a core of one
		 * package; EDX is this vCPU's x2APIC ID (its index) on every
		 * sub-leaf.  Sub-leaf 0 is the SMT level, 1 the core level (EAX:
		 * the ID bits below the package ID), the rest are invalid (ECX
		 * the sub-leaf number, level type 0). */
		unsigned shift = 0;
		while ((1u << shift) < n)
			shift++;
		regs[0] = subleaf == 0 ? 0 : subleaf == 1 ? shift : 0;
		regs[1] = subleaf == 0 ? 1 : subleaf == 1 ? (n > 1 ? n : 1) : 0;
		regs[2] = (subleaf & 0xffu) | (subleaf == 0 ? 1u << 8 : subleaf == 1 ? 2u << 8 : 0);
		regs[3] = id;
		break;
	}
	case 0x15: {
		/* TSC / core crystal clock (SDM vol. 2 CPUID leaf 15H): TSC =
		 * ECX * EBX / EAX.  The "crystal" is the LAPIC timer's input
		 * clock (SOFT_APIC_BUS_HZ; Linux derives its LAPIC timer period
		 * from it), the ratio gives the guest TSC rate (soft_tsc.c),
		 * whole MHz, so EBX/EAX = MHz/1000 is exact. */
		uint64_t mhz = sv->svm->chip->tsc_hz / 1000000;
		regs[0] = (uint32_t)(SOFT_APIC_BUS_HZ / 1000000);
		regs[1] = (uint32_t)mhz;
		regs[2] = (uint32_t)SOFT_APIC_BUS_HZ;
		regs[3] = 0;
		break;
	}
	case 0x16:
		/* Processor frequency (leaf 16H), MHz: base and maximum = the
		 * TSC rate, bus (reference) = the LAPIC timer clock. */
		regs[0] = regs[1] = (uint32_t)(sv->svm->chip->tsc_hz / 1000000);
		regs[2] = (uint32_t)(SOFT_APIC_BUS_HZ / 1000000);
		regs[3] = 0;
		break;
	case 0x40000000:
		regs[0] = 0x40000001;
		memcpy(&regs[1], "KVMK", 4);
		memcpy(&regs[2], "VMKV", 4);
		memcpy(&regs[3], "M\0\0\0", 4);
		break;
	case 0x40000001:
		regs[0] = KVM_FEATURE_CLOCKSOURCE | KVM_FEATURE_CLOCKSOURCE2 |
			  KVM_FEATURE_CLOCKSOURCE_STABLE;
		regs[1] = regs[2] = regs[3] = 0;
		break;
	default:
		break;
	}
}

const struct soft_sys_ops soft_engine_sys_ops = {
	.tlb_flush = sys_tlb_flush,
	.rdmsr = sys_rdmsr,
	.wrmsr = sys_wrmsr,
	.tsc_written = sys_tsc_written,
	.cpuid = sys_cpuid,
	.cr8_read = sys_cr8_read,
	.cr8_write = sys_cr8_write,
};
