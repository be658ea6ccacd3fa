/* Device registry walk and per-VM device list. */
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>

#include "ringvm/device.h"
#include "ringvm/log.h"

/* Bounds of the "ringvm_devices" section, provided by the linker. */
extern const struct device_desc *const __start_ringvm_devices[] __attribute__((weak));
extern const struct device_desc *const __stop_ringvm_devices[] __attribute__((weak));

int vm_add_device(struct vm *vm, const char *name, const struct vm_device_ops *ops,
		  void *opaque)
{
	if (vm->nr_devices == vm->cap_devices) {
		unsigned cap = vm->cap_devices ? vm->cap_devices * 2 : 16;
		struct vm_device *n = realloc(vm->devices, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		vm->devices = n;
		vm->cap_devices = cap;
	}
	vm->devices[vm->nr_devices++] = (struct vm_device){ name, ops, opaque };
	return 0;
}

int vm_devices_create(struct vm *vm)
{
	size_t n = (size_t)(__stop_ringvm_devices - __start_ringvm_devices);
	/* Walk in 'order', stable within equal orders (n is small). */
	int done_order = -1000000;
	for (;;) {
		int next = 1000000;
		for (size_t i = 0; i < n; i++) {
			int o = __start_ringvm_devices[i]->order;
			if (o > done_order && o < next)
				next = o;
		}
		if (next == 1000000)
			return 0;
		for (size_t i = 0; i < n; i++) {
			const struct device_desc *d = __start_ringvm_devices[i];
			if (d->order != next)
				continue;
			int r = d->create(vm);
			if (r < 0) {
				/* A create function prints one line naming the
				 * option or problem itself, except when an
				 * allocation fails. */
				if (r == -ENOMEM)
					pr_err("cannot create device %s: out of memory", d->name);
				return r;
			}
		}
		done_order = next;
	}
}

void vm_devices_reset(struct vm *vm)
{
	for (unsigned i = 0; i < vm->nr_devices; i++)
		if (vm->devices[i].ops && vm->devices[i].ops->reset)
			vm->devices[i].ops->reset(vm->devices[i].opaque);
}

int vm_change_media(struct vm *vm, const char *id, const char *path, char *err, size_t n)
{
	for (unsigned i = 0; i < vm->nr_devices; i++) {
		const struct vm_device_ops *o = vm->devices[i].ops;
		int r = o && o->change_media ? o->change_media(vm->devices[i].opaque, id, path, err, n) : 0;
		if (r)
			return r < 0 ? -1 : 0;
	}
	snprintf(err, n, "no drive '%s' in the running VM", id);
	return -1;
}

void vm_devices_destroy(struct vm *vm)
{
	for (unsigned i = vm->nr_devices; i-- > 0;)
		if (vm->devices[i].ops && vm->devices[i].ops->destroy)
			vm->devices[i].ops->destroy(vm->devices[i].opaque);
	free(vm->devices);
	vm->devices = NULL;
	vm->nr_devices = vm->cap_devices = 0;
}
