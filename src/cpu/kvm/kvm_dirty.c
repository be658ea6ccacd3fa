/* Dirty-page tracking on kvm (engine_ops.dirty_log_*, docs/snapshot.md
 * "Diff snapshots"): KVM_MEM_LOG_DIRTY_PAGES on each memory slot, then
 * KVM_GET_DIRTY_LOG per slot (KVM API 4.35 KVM_SET_USER_MEMORY_REGION,
 * 4.8 KVM_GET_DIRTY_LOG).  Where the host offers
 * KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 (API 7.18) it is enabled: the get then
 * leaves the log and the pages' protection alone, and KVM_CLEAR_DIRTY_LOG
 * (API 4.117) clears exactly the bits that were read and write-protects
 * those pages again, so a page written between the two calls is never
 * lost.  Without it the get clears the log itself.  Slot i is gmem region
 * i (kvm_vm.c); bit j of a slot is the page at region->offset + j * 4 KiB
 * of RAM.  KVM logs only what the vCPUs (and KVM itself: kvmclock, steal
 * time) write: the VMM's and devices' writes are in gmem's own bitmap. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "kvm_priv.h"
#include "ringvm/log.h"
#include "ringvm/vm.h"

static int set_slots(struct vm *vm, uint32_t flags)
{
	struct kvm_vm *kvm = vm->engine_state;
	for (unsigned i = 0; i < vm->mem.nr_regions; i++) {
		const struct gmem_region *g = &vm->mem.regions[i];
		struct kvm_userspace_memory_region r = {
			.slot = i,
			.flags = flags,
			.guest_phys_addr = g->gpa,
			.memory_size = g->size,
			.userspace_addr = (uintptr_t)g->host,
		};
		int e = kvm_ioctl(kvm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r);
		if (e < 0)
			return e;
	}
	return 0;
}

int kvm_dirty_log_start(struct vm *vm)
{
	struct kvm_vm *kvm = vm->engine_state;
	if (!kvm)
		return -EINVAL;
	/* Not KVM_DIRTY_LOG_INITIALLY_SET: the log starts clear, as without
	 * manual protect. */
	int caps = ioctl(kvm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2);
	kvm->dirty_manual = false;
	if (caps > 0 && (caps & KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE)) {
		struct kvm_enable_cap c = { .cap = KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2,
					    .args = { KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE } };
		kvm->dirty_manual = kvm_ioctl(kvm->vm_fd, KVM_ENABLE_CAP, &c) == 0;
	}
	int e = set_slots(vm, KVM_MEM_LOG_DIRTY_PAGES);
	if (e < 0)
		pr_info("kvm: KVM_MEM_LOG_DIRTY_PAGES refused by the host: %s", strerror(-e));
	else
		pr_info("kvm: dirty-page log on (%s)", kvm->dirty_manual ?
			"manual protect: KVM_CLEAR_DIRTY_LOG" : "KVM_GET_DIRTY_LOG clears it");
	return e < 0 ? -ENOTSUP : 0;
}

int kvm_dirty_log_fetch(struct vm *vm, uint64_t *bitmap)
{
	struct kvm_vm *kvm = vm->engine_state;
	if (!kvm)
		return -EINVAL;
	for (unsigned i = 0; i < vm->mem.nr_regions; i++) {
		const struct gmem_region *g = &vm->mem.regions[i];
		uint64_t pages = g->size / 4096, words = (pages + 63) / 64;
		uint64_t *buf = calloc(words, sizeof(uint64_t));
		if (!buf)
			return -ENOMEM;
		struct kvm_dirty_log l = { .slot = i, .dirty_bitmap = buf };
		int e = kvm_ioctl(kvm->vm_fd, KVM_GET_DIRTY_LOG, &l);
		if (e == 0 && kvm->dirty_manual) {
			/* the whole slot: first_page 0, num_pages up to its end */
			struct kvm_clear_dirty_log c = { .slot = i, .num_pages = (uint32_t)pages,
							 .first_page = 0, .dirty_bitmap = buf };
			e = kvm_ioctl(kvm->vm_fd, KVM_CLEAR_DIRTY_LOG, &c);
		}
		if (e < 0) {
			free(buf);
			return e;
		}
		uint64_t first = g->offset / 4096;
		for (uint64_t w = 0; w < words; w++)
			for (uint64_t b = buf[w]; b; b &= b - 1) {
				uint64_t p = first + w * 64 + (uint64_t)__builtin_ctzll(b);
				if (p - first < pages)
					bitmap[p / 64] |= 1ULL << (p % 64);
			}
		free(buf);
	}
	return 0;
}

void kvm_dirty_log_stop(struct vm *vm)
{
	if (vm->engine_state)
		(void)set_slots(vm, 0);
}
