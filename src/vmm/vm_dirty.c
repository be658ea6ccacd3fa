/* Dirty-page tracking for diff snapshots (docs/snapshot.md, "Diff
 * snapshots"): gmem's bitmap holds what the VMM and the devices write
 * through the gmem API, the engine's log what the vCPUs write
 * (engine_ops.dirty_log_*); a fetch takes both. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ringvm/log.h"
#include "ringvm/vm.h"

int vm_dirty_start(struct vm *vm)
{
	const struct engine_ops *e = vm->engine;
	if (!e->dirty_log_start || !e->dirty_log_fetch) {
		pr_err("track_dirty_pages: the %s engine cannot track dirty pages", e->name);
		return -ENOTSUP;
	}
	if (gmem_dirty_start(&vm->mem) < 0) {
		pr_err("track_dirty_pages: no memory for the dirty-page bitmap");
		return -ENOMEM;
	}
	int r = e->dirty_log_start(vm);
	if (r < 0) {
		pr_err("track_dirty_pages: the %s engine cannot track dirty pages on this host: %s",
		       e->name, strerror(-r));
		gmem_dirty_stop(&vm->mem);
	}
	return r;
}

int vm_dirty_fetch(struct vm *vm, uint64_t *bits)
{
	if (!vm->mem.dirty_bits)
		return -ENOTSUP;
	int r = vm->engine->dirty_log_fetch(vm, bits);
	if (r < 0)
		return r;
	gmem_dirty_fetch_and_clear(&vm->mem, bits);
	return 0;
}

void vm_dirty_before_reset(struct vm *vm)
{
	if (!vm->mem.dirty_bits)
		return;
	uint64_t *bits = calloc(gmem_dirty_words(&vm->mem), sizeof(uint64_t));
	if (!bits || vm->engine->dirty_log_fetch(vm, bits) < 0) {
		/* Not knowing what the vCPUs wrote: every page is dirty. */
		pr_warn("dirty-page log lost at the reset: the next diff snapshot holds all RAM");
		memset(vm->mem.dirty_bits, 0xff, gmem_dirty_words(&vm->mem) * sizeof(uint64_t));
	} else {
		gmem_dirty_merge(&vm->mem, bits);
	}
	free(bits);
}

int vm_dirty_after_reset(struct vm *vm)
{
	return vm->mem.dirty_bits ? vm->engine->dirty_log_start(vm) : 0;
}
