/* irqfd: a device's MSI bound to an eventfd inside KVM, so that the device
 * signals its interrupt by writing the eventfd from whichever thread
 * completes the work (an I/O worker, the event loop), and KVM injects the
 * message itself: no KVM_SIGNAL_MSI ioctl and no irq router on the VMM's
 * side (KVM API 4.75 KVM_IRQFD; the message is an MSI route of the GSI
 * table, 4.52 KVM_SET_GSI_ROUTING, as QEMU's kvm_irqchip_add_msi_route and
 * kvmtool's irq__add_msix_route do).  Each bound eventfd owns one route at
 * GSI KVM_IRQFD_GSI_BASE + i; changing its message (the driver rewrote the
 * MSI-X table entry) rewrites the table.  Where the host has no irqfd or
 * no routing, the op says -ENOSYS and devices keep sending MSIs the plain
 * way (the irq router's send_msi). */
#include <errno.h>
#include <string.h>

#include "kvm_priv.h"
#include "ringvm/vm.h"

static int find(const struct kvm_vm *kvm, int fd)
{
	for (int i = 0; i < KVM_MAX_IRQFDS; i++)
		if (kvm->irqfds[i].fd == fd)
			return i;
	return -1;
}

static int irqfd_ioctl(struct kvm_vm *kvm, int fd, unsigned i, bool assign)
{
	struct kvm_irqfd req;
	memset(&req, 0, sizeof(req));
	req.fd = (uint32_t)fd;
	req.gsi = KVM_IRQFD_GSI_BASE + i;
	req.flags = assign ? 0 : KVM_IRQFD_FLAG_DEASSIGN;
	return kvm_ioctl(kvm->vm_fd, KVM_IRQFD, &req);
}

int kvm_irqfd_msi(struct vm *vm, int fd, uint64_t addr, uint32_t data, bool assign)
{
	struct kvm_vm *kvm = vm->engine_state;
	if (!kvm || kvm->vm_fd < 0)
		return -ENODEV;
	if (!kvm->has_irqfd)
		return -ENOSYS;
	if (fd < 0)
		return -EBADF;
	/* Only messages the LAPICs take (Intel SDM vol. 3, 11.11.1). */
	if (assign && (addr & ~(LAYOUT_MSI_ADDR_SIZE - 1)) != LAYOUT_MSI_ADDR)
		return -EINVAL;
	pthread_mutex_lock(&kvm->msi_lock);
	int i = find(kvm, fd), r = 0;
	if (!assign) {
		if (i >= 0) {
			r = irqfd_ioctl(kvm, fd, (unsigned)i, false);
			kvm->irqfds[i].fd = -1;
			kvm_set_irq_routing(kvm, NULL);
			atomic_fetch_add(&kvm->irqfds_removed, 1);
		}
		pthread_mutex_unlock(&kvm->msi_lock);
		return r < 0 ? r : 0;
	}
	struct kvm_irq_routing_msi msi = { .address_lo = (uint32_t)addr,
					   .address_hi = (uint32_t)(addr >> 32), .data = data };
	bool fresh = i < 0;
	if (fresh) {
		i = find(kvm, -1);
		if (i < 0) {
			pthread_mutex_unlock(&kvm->msi_lock);
			return -ENOSPC;
		}
	} else if (!memcmp(&kvm->irqfds[i].msi, &msi, sizeof(msi))) {
		pthread_mutex_unlock(&kvm->msi_lock);
		return 0;                  /* the same message: nothing to do */
	}
	struct kvm_irqfd_route old = kvm->irqfds[i];
	kvm->irqfds[i].fd = fd;
	kvm->irqfds[i].msi = msi;
	/* The route first, then the eventfd on it (KVM_IRQFD needs the GSI
	 * routed to inject anything). */
	r = kvm_set_irq_routing(kvm, NULL);
	if (r >= 0 && fresh) {
		r = irqfd_ioctl(kvm, fd, (unsigned)i, true);
		if (r < 0) {
			kvm->irqfds[i].fd = -1;
			kvm_set_irq_routing(kvm, NULL);
		}
	} else if (r < 0) {
		kvm->irqfds[i] = old;
	}
	if (r >= 0)
		atomic_fetch_add(fresh ? &kvm->irqfds_assigned : &kvm->irqfd_route_updates, 1);
	pthread_mutex_unlock(&kvm->msi_lock);
	return r < 0 ? r : 0;
}
