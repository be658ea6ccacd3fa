/* ioeventfd: a guest write to a device's doorbell (a virtio queue's notify
 * address) signals an eventfd inside KVM instead of a KVM_EXIT_MMIO to the
 * VMM, so the vCPU goes straight back into the guest and the device runs on
 * the event loop (KVM API, 4.59 KVM_IOEVENTFD; kvmtool's ioeventfd.c and
 * QEMU's memory_region_add_eventfd do the same for virtio-pci).  Writes of
 * another length still exit to the bus and reach the device the plain way. */
#include <errno.h>
#include <string.h>

#include "kvm_priv.h"
#include "ringvm/vm.h"

int kvm_ioeventfd(struct vm *vm, uint64_t gpa, unsigned len, int fd, bool assign)
{
	struct kvm_vm *kvm = vm->engine_state;
	if (!kvm || kvm->vm_fd < 0)
		return -ENODEV;
	if (!kvm->has_ioeventfd)
		return -ENOSYS;
	/* 4.59: len 1, 2, 4 or 8 (0 needs KVM_CAP_IOEVENTFD_ANY_LENGTH). */
	if (len != 1 && len != 2 && len != 4 && len != 8)
		return -EINVAL;
	struct kvm_ioeventfd io;
	memset(&io, 0, sizeof(io));
	io.addr = gpa;
	io.len = len;
	io.fd = fd;
	io.flags = assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN;
	int r = kvm_ioctl(kvm->vm_fd, KVM_IOEVENTFD, &io);
	if (r >= 0)
		atomic_fetch_add(assign ? &kvm->ioeventfds_assigned : &kvm->ioeventfds_removed, 1);
	return r < 0 ? r : 0;
}
