/* A mock PCI bus and VM for driving virtio-pci devices without the board:
 * the pci_* and vm_add_device functions the transport calls, recording what
 * it asks for (MSI-X messages, the INTx level, bus mastering), and the
 * driver's side of BAR 0.  Linked into the virtio unit tests and the
 * device-level fuzz targets (tests/fuzz/fuzz_virtio.h) instead of the real
 * bus, so they build the virtio sources themselves (meson.build).  No
 * cmocka here: virtio_pci_driver.h has the checked driver sequences. */
#ifndef RINGVM_TESTS_VIRTIO_PCI_MOCK_H
#define RINGVM_TESTS_VIRTIO_PCI_MOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "ringvm/pci.h"
#include "ringvm/vm.h"

#define VMOCK_PCI_SLOTS 4

/* What the mock bus knows of one registered device. */
struct pci_device {
	struct pci_device_desc desc;
	bool msix, master, intx;     /* MSI-X enabled, bus master, INTx level */
	unsigned msix_sent[16];      /* messages per vector (< 16) */
	unsigned intx_raised;        /* low-to-high INTx edges */
	bool bar0_mapped;
	uint64_t bar0;
};

/* The bus: slot n is the n-th registered device. */
extern struct pci_device mock_dev[VMOCK_PCI_SLOTS];
extern unsigned mock_nr;

/* Empty the bus (before each VM). */
void vmock_pci_reset(void);
/* Run the create function of the device registered as 'name' (VM_DEVICE);
 * its result, or -ENOENT if no device has that name. */
int vmock_create(struct vm *vm, const char *name);
/* BAR 0 of a registered virtio-pci device, as the driver sees it. */
uint64_t vmock_rd(struct pci_device *d, uint64_t off, unsigned size);
void vmock_wr(struct pci_device *d, uint64_t off, unsigned size, uint64_t v);
/* Run the event loop for about ms milliseconds. */
void vmock_pump(struct evloop *loop, int ms);

#endif
