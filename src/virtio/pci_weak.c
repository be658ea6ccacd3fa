/* Stand-ins for the PCI bus (include/ringvm/pci.h) until the board's bus
 * (src/hw/pci/, branch h-pci) is linked in: weak symbols, so the real ones
 * replace them without an edit here.  Without a bus, virtio devices are
 * refused with -ENODEV and a message; delete this file once the bus is in
 * main. */
#include <errno.h>

#include "ringvm/log.h"
#include "ringvm/pci.h"

__attribute__((weak)) int pci_device_register(struct vm *vm, const struct pci_device_desc *desc,
					      struct pci_device **out)
{
	pr_err("%s: this build has no PCI bus", desc->name);
	return -ENODEV;
}

__attribute__((weak)) unsigned pci_device_slot(const struct pci_device *d) { return 0; }
__attribute__((weak)) void pci_intx_set(struct pci_device *d, bool level) {}
__attribute__((weak)) bool pci_msix_notify(struct pci_device *d, unsigned vector) { return false; }
__attribute__((weak)) bool pci_msix_enabled(const struct pci_device *d) { return false; }
__attribute__((weak)) bool pci_bus_master(const struct pci_device *d) { return false; }
