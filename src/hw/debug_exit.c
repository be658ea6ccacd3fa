/* isa-debug-exit compatible device: a write of v to the port ends the VM
 * with status (v << 1) | 1, truncated to 8 bits as the OS truncates an exit
 * status (QEMU's isa-debug-exit semantics: v = 0 gives 1, v = 0x80 gives 1).
 * Present only with vm->cfg.debug_exit.  Any access size that fits the
 * window works, at any offset in it; reads return 0. */
#include <errno.h>
#include <stdlib.h>

#include "debug_exit.h"
#include "ringvm/bus.h"
#include "ringvm/device.h"
#include "ringvm/log.h"
#include "ringvm/vm.h"

struct debug_exit {
	struct vm *vm;
	uint16_t port;
};

int debug_exit_status(uint64_t value)
{
	return (int)(((value << 1) | 1) & 0xff);
}

static uint64_t debug_exit_read(void *opaque, uint64_t offset, unsigned size)
{
	(void)opaque;
	(void)offset;
	(void)size;
	return 0;
}

static void debug_exit_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct debug_exit *d = opaque;
	(void)offset;
	if (size < 8)
		value &= (1ULL << (8 * size)) - 1;
	vm_request_exit(d->vm, debug_exit_status(value),
			"guest wrote 0x%llx to the debug-exit port",
			(unsigned long long)value);
}

static const struct bus_ops debug_exit_bus_ops = {
	.read = debug_exit_read,
	.write = debug_exit_write,
};

static void debug_exit_destroy(void *opaque)
{
	free(opaque);
}

/* Snapshots: the device has no state. */
static long debug_exit_save(void *opaque, void *buf, size_t cap)
{
	(void)opaque;
	(void)buf;
	(void)cap;
	return 0;
}

static int debug_exit_load(void *opaque, const void *buf, size_t len)
{
	(void)opaque;
	(void)buf;
	return len ? -EINVAL : 0;
}

static const struct vm_device_ops debug_exit_dev_ops = {
	.destroy = debug_exit_destroy, .save = debug_exit_save, .load = debug_exit_load };

static int debug_exit_create(struct vm *vm)
{
	if (!vm->cfg.debug_exit)
		return 0;
	unsigned size = vm->cfg.debug_exit_size;
	if (size != 1 && size != 2 && size != 4) {
		pr_err("debug-exit: size must be 1, 2 or 4 (got %u)", size);
		return -EINVAL;
	}
	/* The user chose the port: a clash with a built-in device is a bad
	 * command line, blamed on --debug-exit and naming the device (this
	 * device is created after all the built-in ones for that). */
	uint16_t port = vm->cfg.debug_exit_port;
	for (unsigned i = 0; i < size; i++) {
		const char *other = bus_name_of(&vm->pio, (uint64_t)port + i);
		if (other) {
			pr_err("--debug-exit 0x%x,%u: port 0x%x is already used by the built-in "
			       "device %s; choose another port",
			       port, size, port + i, other);
			return -EINVAL;
		}
	}
	struct debug_exit *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->vm = vm;
	d->port = vm->cfg.debug_exit_port;
	int r = bus_register(&vm->pio, d->port, size, &debug_exit_bus_ops, d, "debug-exit");
	if (r < 0) {
		free(d);
		return r;
	}
	r = vm_add_device(vm, "debug-exit", &debug_exit_dev_ops, d);
	if (r < 0) {
		bus_unregister(&vm->pio, d->port);
		free(d);
	}
	return r;
}

/* Last (order 90): its port is the user's choice, checked against every
 * built-in device's windows above. */
VM_DEVICE_ORDERED(debug_exit, debug_exit_create, 90);
