/* The PCI test device (--testdev): a function on the host bridge's bus for
 * the guest tests (guests/tests_pci.c), with MSI-X and MSI capabilities, a memory
 * BAR, an I/O BAR and INTA#.  Its guest ABI is in
 * include/ringvm/testdev_abi.h.  Registers are serialised by the device's
 * own lock (the bus calls BAR handlers without its lock, from any vCPU). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ringvm/device.h"
#include "ringvm/pci.h"
#include "ringvm/testdev_abi.h"
#include "ringvm/vm.h"

struct pci_testdev {
	struct pci_device *pci;
	pthread_mutex_t lock;
	uint32_t intx, last_msix, last_msi, count;
	uint32_t io[PCI_TESTDEV_BAR1_SIZE / 4];
};

static uint64_t ptd_mem_read(void *opaque, uint64_t off, unsigned size)
{
	struct pci_testdev *t = opaque;
	uint32_t v = 0;
	pthread_mutex_lock(&t->lock);
	switch (off & ~3ULL) {
	case 0x00: v = PCI_TESTDEV_MAGIC; break;
	case PCI_TESTDEV_NOTIFY: v = t->last_msix; break;
	case PCI_TESTDEV_INTX: v = t->intx; break;
	case PCI_TESTDEV_COUNT: v = t->count; break;
	case PCI_TESTDEV_MSI: v = t->last_msi; break;
	default: break;
	}
	pthread_mutex_unlock(&t->lock);
	return (uint64_t)(v >> (8 * (off & 3)));
}

static void ptd_mem_write(void *opaque, uint64_t off, unsigned size, uint64_t value)
{
	struct pci_testdev *t = opaque;
	if (off == PCI_TESTDEV_NOTIFY) {
		bool sent = pci_msix_notify(t->pci, (unsigned)value);
		pthread_mutex_lock(&t->lock);
		t->last_msix = sent;
		t->count++;
		pthread_mutex_unlock(&t->lock);
	} else if (off == PCI_TESTDEV_MSI) {
		bool sent = pci_msi_notify(t->pci, (unsigned)value);
		pthread_mutex_lock(&t->lock);
		t->last_msi = sent;
		t->count++;
		pthread_mutex_unlock(&t->lock);
	} else if (off == PCI_TESTDEV_INTX) {
		pthread_mutex_lock(&t->lock);
		t->intx = value & 1;
		pthread_mutex_unlock(&t->lock);
		pci_intx_set(t->pci, value & 1);
	}
}

static uint64_t ptd_io_read(void *opaque, uint64_t off, unsigned size)
{
	struct pci_testdev *t = opaque;
	pthread_mutex_lock(&t->lock);
	uint32_t v = t->io[(off / 4) % (PCI_TESTDEV_BAR1_SIZE / 4)];
	pthread_mutex_unlock(&t->lock);
	return (uint64_t)(v >> (8 * (off & 3)));
}

static void ptd_io_write(void *opaque, uint64_t off, unsigned size, uint64_t value)
{
	struct pci_testdev *t = opaque;
	if (size != 4 || (off & 3))
		return;
	pthread_mutex_lock(&t->lock);
	t->io[off / 4] = (uint32_t)value;
	pthread_mutex_unlock(&t->lock);
}

static const struct bus_ops ptd_mem_ops = { .read = ptd_mem_read, .write = ptd_mem_write };
static const struct bus_ops ptd_io_ops = { .read = ptd_io_read, .write = ptd_io_write };

static void ptd_reset(void *opaque)
{
	struct pci_testdev *t = opaque;
	pthread_mutex_lock(&t->lock);
	t->intx = t->last_msix = t->last_msi = t->count = 0;
	for (unsigned i = 0; i < PCI_TESTDEV_BAR1_SIZE / 4; i++)
		t->io[i] = 0;
	pthread_mutex_unlock(&t->lock);
	pci_intx_set(t->pci, false);
}

static void ptd_destroy(void *opaque)
{
	struct pci_testdev *t = opaque;
	pthread_mutex_destroy(&t->lock);
	free(t);
}

/* Snapshots: the registers, BAR 1's words, the MSI-X table and PBA (the
 * configuration space is the bus's). */
struct ptd_snap {
	uint32_t intx, last_msix, count, pad;
	uint32_t io[PCI_TESTDEV_BAR1_SIZE / 4];
};

static long ptd_save(void *opaque, void *buf, size_t cap)
{
	struct pci_testdev *t = opaque;
	struct ptd_snap s;
	size_t mlen = pci_msix_state_size(t->pci);
	if (cap < sizeof(s) + mlen)
		return -ENOSPC;
	memset(&s, 0, sizeof(s));
	pthread_mutex_lock(&t->lock);
	s.intx = t->intx;
	s.last_msix = t->last_msix;
	s.count = t->count;
	memcpy(s.io, t->io, sizeof(s.io));
	pthread_mutex_unlock(&t->lock);
	memcpy(buf, &s, sizeof(s));
	pci_msix_state(t->pci, (uint8_t *)buf + sizeof(s), true);
	return (long)(sizeof(s) + mlen);
}

static int ptd_load(void *opaque, const void *buf, size_t len)
{
	struct pci_testdev *t = opaque;
	struct ptd_snap s;
	if (len != sizeof(s) + pci_msix_state_size(t->pci))
		return -EINVAL;
	memcpy(&s, buf, sizeof(s));
	pthread_mutex_lock(&t->lock);
	t->intx = s.intx & 1;
	t->last_msix = s.last_msix;
	t->count = s.count;
	memcpy(t->io, s.io, sizeof(t->io));
	pthread_mutex_unlock(&t->lock);
	pci_msix_state(t->pci, (void *)((const uint8_t *)buf + sizeof(s)), false);
	pci_intx_set(t->pci, s.intx & 1);
	return 0;
}

static const struct vm_device_ops ptd_dev_ops = {
	.destroy = ptd_destroy, .save = ptd_save, .load = ptd_load };

static int pci_testdev_create(struct vm *vm)
{
	if (!vm->cfg.testdev)
		return 0;
	struct pci_testdev *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	pthread_mutex_init(&t->lock, NULL);
	const struct pci_device_desc desc = {
		.name = "pci-testdev",
		.vendor_id = PCI_TESTDEV_VENDOR, .device_id = PCI_TESTDEV_DEVICE,
		.subsystem_vendor_id = PCI_TESTDEV_VENDOR, .subsystem_id = PCI_TESTDEV_DEVICE,
		.class_code = PCI_TESTDEV_CLASS,
		.bar = {
			[0] = { .kind = PCI_BAR_MEM32, .size = PCI_TESTDEV_BAR0_SIZE,
				.ops = &ptd_mem_ops, .opaque = t },
			[1] = { .kind = PCI_BAR_IO, .size = PCI_TESTDEV_BAR1_SIZE,
				.ops = &ptd_io_ops, .opaque = t },
		},
		.msix_vectors = PCI_TESTDEV_MSIX_VECTORS, .msix_bar = 0,
		.msix_table_offset = PCI_TESTDEV_MSIX_TABLE,
		.msix_pba_offset = PCI_TESTDEV_MSIX_PBA,
		.msi_vectors = PCI_TESTDEV_MSI_VECTORS, .msi_masking = true,
		.intx = true, .reset = ptd_reset, .opaque = t,
	};
	int r = pci_device_register(vm, &desc, &t->pci);
	if (r == 0)
		r = vm_add_device(vm, "pci-testdev", &ptd_dev_ops, t);
	if (r < 0)
		ptd_destroy(t);
	return r;
}

/* After the bus (order 15). */
VM_DEVICE_ORDERED(pci_testdev, pci_testdev_create, 30);
