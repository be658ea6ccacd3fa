/* VM-wide kvm state: the KVM VM, guest memory slots, the in-kernel interrupt
 * controllers (PIC, IOAPIC, LAPICs) and PIT, and the irq router devices
 * raise their lines through. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kvm_priv.h"
#include "ringvm/bus.h"
#include "ringvm/log.h"
#include "ringvm/vm.h"


static int kvm_set_level(void *opaque, unsigned gsi, bool level)
{
	struct kvm_vm *kvm = opaque;
	struct kvm_irq_level irq = { .irq = gsi, .level = level ? 1 : 0 };
	int r = kvm_ioctl(kvm->vm_fd, KVM_IRQ_LINE, &irq);

	if (r < 0 && atomic_fetch_add(&kvm->irq_errors, 1) == 0)
		pr_err("kvm: KVM_IRQ_LINE (gsi %u, level %d) failed: %s", gsi, level,
		       strerror(-r));
	return r < 0 ? r : 0;
}

static bool has_cap(struct kvm_vm *kvm, long cap)
{
	return ioctl(kvm->sys_fd, KVM_CHECK_EXTENSION, cap) > 0;
}


/* An MSI: KVM_SIGNAL_MSI, or on hosts without it the message as the one
 * MSI route of the GSI table, pulsed through KVM_IRQ_LINE (serialised:
 * the route is rewritten for every message). */
static int kvm_send_msi(void *opaque, uint64_t addr, uint32_t data)
{
	struct kvm_vm *kvm = opaque;
	int r;

	if ((addr & ~(LAYOUT_MSI_ADDR_SIZE - 1)) != LAYOUT_MSI_ADDR)
		return -EINVAL;
	atomic_fetch_add(&kvm->msis, 1);
	if (kvm->signal_msi) {
		struct kvm_msi msi = { .address_lo = (uint32_t)addr,
				       .address_hi = (uint32_t)(addr >> 32), .data = data };
		r = kvm_ioctl(kvm->vm_fd, KVM_SIGNAL_MSI, &msi);
	} else {
		struct kvm_irq_routing_msi route = { .address_lo = (uint32_t)addr,
						     .address_hi = (uint32_t)(addr >> 32),
						     .data = data };
		pthread_mutex_lock(&kvm->msi_lock);
		r = kvm_set_irq_routing(kvm, &route);
		if (r >= 0) {
			struct kvm_irq_level l = { .irq = KVM_MSI_ROUTE_GSI, .level = 1 };
			r = kvm_ioctl(kvm->vm_fd, KVM_IRQ_LINE, &l);
			l.level = 0;
			if (r >= 0)
				r = kvm_ioctl(kvm->vm_fd, KVM_IRQ_LINE, &l);
		}
		pthread_mutex_unlock(&kvm->msi_lock);
	}
	/* KVM_SIGNAL_MSI returns 0 when no vCPU accepted the message. */
	if (r < 0 && atomic_fetch_add(&kvm->irq_errors, 1) == 0)
		pr_err("kvm: MSI (address 0x%llx, data 0x%x) failed: %s",
		       (unsigned long long)addr, data, strerror(-r));
	return r < 0 ? r : 0;
}

/* Fixed pages for Intel hosts without unrestricted guest; harmless elsewhere. */
static int set_fixed_pages(struct kvm_vm *kvm)
{
	int r;

	if (has_cap(kvm, KVM_CAP_SET_TSS_ADDR)) {
		r = kvm_ioctl(kvm->vm_fd, KVM_SET_TSS_ADDR, (void *)(uintptr_t)KVM_TSS_ADDR);
		if (r < 0) {
			pr_err("kvm: KVM_SET_TSS_ADDR(0x%llx) failed: %s",
			       (unsigned long long)KVM_TSS_ADDR, strerror(-r));
			return r;
		}
	}
	if (has_cap(kvm, KVM_CAP_SET_IDENTITY_MAP_ADDR)) {
		uint64_t addr = KVM_IDENTITY_MAP;
		r = kvm_ioctl(kvm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &addr);
		if (r < 0) {
			pr_err("kvm: KVM_SET_IDENTITY_MAP_ADDR(0x%llx) failed: %s",
			       (unsigned long long)addr, strerror(-r));
			return r;
		}
		kvm->has_identity_map = true;
	}
	return 0;
}

static int set_memory(struct kvm_vm *kvm, const struct gmem *mem)
{
	for (unsigned i = 0; i < mem->nr_regions; i++) {
		const struct gmem_region *g = &mem->regions[i];
		struct kvm_userspace_memory_region r = {
			.slot = i,
			.guest_phys_addr = g->gpa,
			.memory_size = g->size,
			.userspace_addr = (uintptr_t)g->host,
		};
		int e = kvm_ioctl(kvm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r);
		if (e < 0) {
			pr_err("kvm: KVM_SET_USER_MEMORY_REGION (slot %u, gpa 0x%llx, %llu bytes) failed: %s",
			       i, (unsigned long long)g->gpa, (unsigned long long)g->size,
			       strerror(-e));
			return e;
		}
	}
	return 0;
}

/* GSI routing by the board's interrupt map (include/ringvm/layout.h), as
 * the MADT and MP table describe it: ISA IRQ 0 (the PIT) reaches IOAPIC pin
 * 2; pin 0 and GSI 2 are left to the PIC cascade.  ISA IRQs 0-15 also go to
 * the master/slave PIC pins.  msi: one MSI route at KVM_MSI_ROUTE_GSI (the
 * path for hosts without KVM_CAP_SIGNAL_MSI), or NULL.  Then the MSI route
 * of every bound irqfd (kvm_irqfd.c).  The table is set whole, so the
 * fallback's route is kept while it is being sent. */
int kvm_set_irq_routing(struct kvm_vm *kvm, const struct kvm_irq_routing_msi *msi)
{
	enum { NR_ROUTES = 15 + 23 + 1 + KVM_MAX_IRQFDS };
	/* ~14 KiB: on the heap, not on a vCPU thread's stack */
	struct kvm_irq_routing *rt =
		calloc(1, sizeof(*rt) + NR_ROUTES * sizeof(struct kvm_irq_routing_entry));
	if (!rt)
		return -ENOMEM;
	unsigned n = 0;
	for (unsigned irq = 0; irq < LAYOUT_ISA_IRQS; irq++) {
		if (irq == 2)
			continue; /* the cascade */
		rt->entries[n].gsi = irq;
		rt->entries[n].type = KVM_IRQ_ROUTING_IRQCHIP;
		rt->entries[n].u.irqchip.irqchip = irq < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE;
		rt->entries[n].u.irqchip.pin = irq % 8;
		n++;
	}
	for (unsigned gsi = 0; gsi < LAYOUT_IOAPIC_PINS; gsi++) {
		if (gsi == 2)
			continue;
		rt->entries[n].gsi = gsi;
		rt->entries[n].type = KVM_IRQ_ROUTING_IRQCHIP;
		rt->entries[n].u.irqchip.irqchip = KVM_IRQCHIP_IOAPIC;
		rt->entries[n].u.irqchip.pin = gsi < LAYOUT_ISA_IRQS ? board_isa_irq_gsi(gsi) : gsi;
		n++;
	}
	if (msi) {
		rt->entries[n].gsi = KVM_MSI_ROUTE_GSI;
		rt->entries[n].type = KVM_IRQ_ROUTING_MSI;
		rt->entries[n].u.msi = *msi;
		n++;
	}
	for (unsigned i = 0; i < KVM_MAX_IRQFDS; i++) {
		if (kvm->irqfds[i].fd < 0)
			continue;
		rt->entries[n].gsi = KVM_IRQFD_GSI_BASE + i;
		rt->entries[n].type = KVM_IRQ_ROUTING_MSI;
		rt->entries[n].u.msi = kvm->irqfds[i].msi;
		n++;
	}
	rt->nr = n;
	int r = kvm_ioctl(kvm->vm_fd, KVM_SET_GSI_ROUTING, rt);
	free(rt);
	if (r < 0)
		pr_err("kvm: KVM_SET_GSI_ROUTING failed: %s", strerror(-r));
	return r;
}

static int create_irqchip(struct kvm_vm *kvm)
{
	int r = kvm_ioctl(kvm->vm_fd, KVM_CREATE_IRQCHIP, NULL);

	if (r < 0) {
		pr_err("kvm: KVM_CREATE_IRQCHIP failed: %s", strerror(-r));
		return r;
	}
	r = kvm_set_irq_routing(kvm, NULL);
	if (r < 0)
		return r;
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	r = kvm_ioctl(kvm->vm_fd, KVM_CREATE_PIT2, &pit);
	if (r < 0) {
		pr_err("kvm: KVM_CREATE_PIT2 failed: %s", strerror(-r));
		return r;
	}
	/* Ticks the guest could not take (its vCPUs parked by a pause, or
	 * descheduled) are dropped, not re-injected in a burst afterwards, as
	 * the soft PIT does (QEMU: lost_tick_policy=discard).  Linux keeps
	 * time from kvmclock, not by counting ticks. */
	struct kvm_reinject_control rc = { .pit_reinject = 0 };
	r = kvm_ioctl(kvm->vm_fd, KVM_REINJECT_CONTROL, &rc);
	if (r < 0)
		pr_warn("kvm: KVM_REINJECT_CONTROL failed (%s): missed PIT ticks are re-injected",
			strerror(-r));
	return 0;
}

/* KVM's in-kernel PIC, PIT (with port 0x61) and IOAPIC take their ports and
 * MMIO before userspace sees an access.  They are put on ringvm's buses as
 * windows that are never called, so that a user's option clashing with one
 * (--debug-exit 0x40) is refused by name, as with the soft engine. */
static uint64_t kvm_inkernel_read(void *opaque, uint64_t offset, unsigned size)
{
	(void)opaque;
	(void)offset;
	return size >= 8 ? ~0ULL : (1ULL << (8 * size)) - 1;
}

static void kvm_inkernel_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	(void)opaque;
	(void)offset;
	(void)size;
	(void)value;
}

static const struct bus_ops kvm_inkernel_ops = { kvm_inkernel_read, kvm_inkernel_write };

static const struct {
	bool mmio;
	uint64_t base, len;
	const char *name;
} kvm_inkernel_windows[] = {
	{ false, PORT_PIC_MASTER, 2, "pic-master (kvm in-kernel)" },
	{ false, PORT_PIC_SLAVE, 2, "pic-slave (kvm in-kernel)" },
	{ false, 0x4d0, 2, "elcr (kvm in-kernel)" },
	{ false, PORT_PIT, 4, "pit (kvm in-kernel)" },
	{ false, 0x61, 1, "port61 (kvm in-kernel)" },
	{ true, LAYOUT_IOAPIC, LAYOUT_IOAPIC_SIZE, "ioapic (kvm in-kernel)" },
};
#define KVM_NR_INKERNEL (sizeof(kvm_inkernel_windows) / sizeof(kvm_inkernel_windows[0]))

static void kvm_inkernel_unregister(struct vm *vm, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		bus_unregister(kvm_inkernel_windows[i].mmio ? &vm->mmio : &vm->pio,
			       kvm_inkernel_windows[i].base);
}

static int kvm_inkernel_register(struct vm *vm)
{
	for (unsigned i = 0; i < KVM_NR_INKERNEL; i++) {
		int r = bus_register(kvm_inkernel_windows[i].mmio ? &vm->mmio : &vm->pio,
				     kvm_inkernel_windows[i].base, kvm_inkernel_windows[i].len,
				     &kvm_inkernel_ops, NULL, kvm_inkernel_windows[i].name);
		if (r < 0) {
			kvm_inkernel_unregister(vm, i);
			return r;
		}
	}
	return 0;
}

static void free_kvm(struct kvm_vm *kvm)
{
	for (unsigned i = 0; i < MAX_VCPUS; i++)
		if (kvm->vcpus[i])
			kvm_vcpu_free(kvm->vcpus[i]);
	if (kvm->vm_fd >= 0)
		close(kvm->vm_fd);
	if (kvm->sys_fd >= 0)
		close(kvm->sys_fd);
	free(kvm->cpuid);
	pthread_mutex_destroy(&kvm->msi_lock);
	free(kvm);
}

int kvm_vm_init(struct vm *vm)
{
	char why[256];
	struct kvm_vm *kvm = calloc(1, sizeof(*kvm));
	int r;

	if (!kvm)
		return -ENOMEM;
	pthread_mutex_init(&kvm->msi_lock, NULL);
	kvm->vm_fd = -1;
	for (unsigned i = 0; i < KVM_MAX_IRQFDS; i++)
		kvm->irqfds[i].fd = -1;
	r = kvm_open_dev(&kvm->sys_fd, why, sizeof(why));
	if (r < 0) {
		pr_err("kvm: %s", why);
		kvm->sys_fd = -1;
		goto fail;
	}
	if (!kvm_check_caps(kvm->sys_fd, why, sizeof(why))) {
		pr_err("kvm: %s", why);
		r = -ENOTSUP;
		goto fail;
	}
	kvm->pvm = kvm_host_is_pvm();
	kvm->has_xsave = has_cap(kvm, KVM_CAP_XSAVE);
	kvm->run_size = kvm_ioctl(kvm->sys_fd, KVM_GET_VCPU_MMAP_SIZE, NULL);
	if (kvm->run_size < (int)sizeof(struct kvm_run)) {
		r = kvm->run_size < 0 ? kvm->run_size : -EINVAL;
		pr_err("kvm: KVM_GET_VCPU_MMAP_SIZE failed: %s", strerror(-r));
		goto fail;
	}
	kvm->cpuid = kvm_cpuid_supported(kvm->sys_fd);
	if (!kvm->cpuid) {
		r = -EIO;
		goto fail;
	}
	do
		r = ioctl(kvm->sys_fd, KVM_CREATE_VM, 0UL);
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		r = -errno;
		pr_err("kvm: KVM_CREATE_VM failed: %s", strerror(-r));
		goto fail;
	}
	kvm->vm_fd = r;
	r = set_fixed_pages(kvm);
	if (r < 0)
		goto fail;
	r = set_memory(kvm, &vm->mem);
	if (r < 0)
		goto fail;
	r = create_irqchip(kvm);
	if (r < 0)
		goto fail;
	r = kvm_inkernel_register(vm);
	if (r < 0)
		goto fail;
	vm->engine_state = kvm;
	kvm->signal_msi = has_cap(kvm, KVM_CAP_SIGNAL_MSI);
	kvm->has_ioeventfd = has_cap(kvm, KVM_CAP_IOEVENTFD);
	kvm->has_irqfd = has_cap(kvm, KVM_CAP_IRQFD) && has_cap(kvm, KVM_CAP_IRQ_ROUTING);
	vm->irq = (struct irq_router){ .set_level = kvm_set_level, .opaque = kvm,
				       .send_msi = kvm_send_msi };
	return 0;
fail:
	free_kvm(kvm);
	return r;
}

void kvm_vm_destroy(struct vm *vm)
{
	struct kvm_vm *kvm = vm->engine_state;

	if (!kvm)
		return;
	vm->irq = (struct irq_router){ 0 };
	vm->engine_state = NULL;
	kvm_inkernel_unregister(vm, KVM_NR_INKERNEL);
	free_kvm(kvm);
}
