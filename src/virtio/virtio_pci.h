/* The virtio-pci modern transport (Virtio 1.2 section 4.1) on the board's
 * PCI bus (include/ringvm/pci.h).  One call puts a device on the bus. */
#ifndef RINGVM_VIRTIO_PCI_H
#define RINGVM_VIRTIO_PCI_H

#include "virtio.h"

#define VIRTIO_PCI_VENDOR        0x1af4
#define VIRTIO_PCI_DEVICE_BASE   0x1040 /* + device ID (4.1.2.1) */

/* BAR 0 (32-bit memory, 16 KiB): the virtio structures; BAR 1 (4 KiB):
 * the MSI-X table and PBA, served by the bus. */
#define VIRTIO_PCI_BAR_SIZE      0x4000
#define VIRTIO_PCI_COMMON_OFF    0x0000
#define VIRTIO_PCI_COMMON_LEN    0x38   /* struct virtio_pci_common_cfg */
#define VIRTIO_PCI_ISR_OFF       0x1000
#define VIRTIO_PCI_DEVCFG_OFF    0x2000
#define VIRTIO_PCI_NOTIFY_OFF    0x3000
#define VIRTIO_PCI_NOTIFY_MULT   4

/* Create the transport for a device, register it on the PCI bus and with
 * the VM (reset, destroy, --stats).  On success *out (if given) is the
 * device's struct virtio_dev, which lives until the VM is destroyed, and
 * ops->destroy frees priv then.  On failure priv is the caller's. */
int virtio_pci_add(struct vm *vm, const struct virtio_dev_ops *ops, void *priv,
		   struct virtio_dev **out);

/* The BAR 0 register handlers, for unit tests driving the transport
 * without a PCI bus. */
uint64_t virtio_pci_bar_read(void *opaque, uint64_t off, unsigned size);
void virtio_pci_bar_write(void *opaque, uint64_t off, unsigned size, uint64_t value);
/* The device model behind a BAR 0 opaque, for tests and fuzz targets that
 * check its state (queues, NEEDS_RESET) after driving the registers. */
struct virtio_dev *virtio_pci_dev(void *opaque);

#endif
