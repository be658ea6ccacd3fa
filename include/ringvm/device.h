/* Device self-registration (kvmtool's dev_init habit): a device file ends with
 *     VM_DEVICE(uart8250, uart8250_create);
 * and vm_create() calls every registered create function in order of the
 * 'order' field, so adding a device touches no central list.  The table is
 * constant (code, not state).  A create function reads vm->cfg, returns 0 if
 * the device is not wanted, registers its bus windows and irq lines, and calls
 * vm_add_device() so it is reset and destroyed with the VM. */
#ifndef RINGVM_DEVICE_H
#define RINGVM_DEVICE_H

#include "ringvm/vm.h"

struct device_desc {
	const char *name;
	int order;                         /* lower first: 0 core, 10 legacy, 20 platform */
	int (*create)(struct vm *vm);
};

#define VM_DEVICE_ORDERED(id, fn, ord)                                       \
	static const struct device_desc device_desc_##id = {                 \
		.name = #id, .order = (ord), .create = (fn) };               \
	static const struct device_desc *const device_ptr_##id               \
	__attribute__((used, section("ringvm_devices"))) = &device_desc_##id

#define VM_DEVICE(id, fn) VM_DEVICE_ORDERED(id, fn, 10)

/* Create every registered device (src/vmm/device.c). */
int vm_devices_create(struct vm *vm);
void vm_devices_reset(struct vm *vm);
void vm_devices_destroy(struct vm *vm);

#endif
