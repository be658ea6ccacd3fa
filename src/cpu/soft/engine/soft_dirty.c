/* Dirty-page tracking on the soft engine (engine_ops.dirty_log_*,
 * docs/snapshot.md "Diff snapshots").
 *
 * A vCPU writes RAM only through a TLB slot with write rights, and the MMU
 * marks a page in gmem's dirty bitmap when it fills a slot with them
 * (mmu/mem_ops.c), or when the page walker sets an accessed or dirty bit in
 * a page table (mmu/page_walk.c).  So the stores themselves, the
 * interpreter's and the translator's inline ones, cost nothing.  The marks
 * are gmem's bitmap, where the VMM's and the devices' writes are too: the
 * fetch has nothing to add to the caller's bitmap; it re-arms the tracking
 * by dropping every slot of every vCPU, so that the next store to any page
 * walks, fills and marks again.  A full flush is the one existing pass that
 * drops every right in every address space (PCIDs, globals), and a fetch
 * happens only at a snapshot, with the vCPUs parked. */
#include <errno.h>

#include "ringvm/vm.h"
#include "soft_engine.h"

int soft_engine_dirty_log_start(struct vm *vm)
{
	/* Slots filled before tracking began carry write rights unmarked. */
	return soft_engine_dirty_log_fetch(vm, NULL);
}

int soft_engine_dirty_log_fetch(struct vm *vm, uint64_t *bitmap)
{
	struct soft_vm *svm = vm->engine_state;
	(void)bitmap; /* the marks are in gmem's bitmap already */
	if (!svm)
		return -EINVAL;
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		struct soft_vcpu *sv = svm->vcpus[i];
		if (sv)
			soft_mmu_flush_all(&sv->mmu);
	}
	return 0;
}
