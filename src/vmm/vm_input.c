/* Input the host sends to the machine as a user would: Ctrl+Alt+Del on its
 * keyboard (Firecracker's PUT /actions SendCtrlAltDel, docs/api.md).  The
 * keys go to the first device that has a keyboard (the i8042); the guest
 * decides what they mean (Linux: reboot, or its init's ctrlaltdel action). */
#include <stdio.h>

#include "ringvm/vm.h"

int vm_send_ctrl_alt_del(struct vm *vm, char *err, size_t errlen)
{
	for (unsigned i = 0; i < vm->nr_devices; i++) {
		const struct vm_device *d = &vm->devices[i];
		if (d->ops && d->ops->ctrl_alt_del)
			return d->ops->ctrl_alt_del(d->opaque, err, errlen);
	}
	snprintf(err, errlen, "the machine has no keyboard to send Ctrl+Alt+Del to");
	return -1;
}
