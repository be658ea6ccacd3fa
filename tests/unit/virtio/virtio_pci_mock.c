/* The mock PCI bus and VM hooks of virtio_pci_mock.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "virtio_pci_mock.h"
#include "ringvm/device.h"
#include "ringvm/evloop.h"
#include "src/virtio/virtio_pci.h"

struct pci_device mock_dev[VMOCK_PCI_SLOTS];
unsigned mock_nr;

void vmock_pci_reset(void)
{
	memset(mock_dev, 0, sizeof(mock_dev));
	mock_nr = 0;
}

int pci_device_register(struct vm *vm, const struct pci_device_desc *desc,
			struct pci_device **out)
{
	(void)vm;
	if (mock_nr == VMOCK_PCI_SLOTS)
		return -ENOSPC;
	struct pci_device *d = &mock_dev[mock_nr++];
	memset(d, 0, sizeof(*d));
	d->desc = *desc;
	*out = d;
	return 0;
}

unsigned pci_device_slot(const struct pci_device *d)
{
	return (unsigned)(d - mock_dev);
}

void pci_intx_set(struct pci_device *d, bool level)
{
	if (level && !d->intx)
		d->intx_raised++;
	d->intx = level;
}

bool pci_msix_notify(struct pci_device *d, unsigned vector)
{
	if (!d->msix)
		return false;
	if (vector < 16)
		d->msix_sent[vector]++;
	return true;
}

bool pci_msix_enabled(const struct pci_device *d) { return d->msix; }
/* Snapshots: the mock keeps no MSI-X table. */
size_t pci_msix_state_size(const struct pci_device *d) { (void)d; return 0; }
void pci_msix_state(struct pci_device *d, void *buf, bool save) { (void)d; (void)buf; (void)save; }
bool pci_bus_master(const struct pci_device *d) { return d->master; }

bool pci_bar_base(struct pci_device *d, unsigned n, uint64_t *base)
{
	*base = d->bar0;
	return n == 0 && d->bar0_mapped;
}

int vm_add_device(struct vm *vm, const char *name, const struct vm_device_ops *ops, void *opaque)
{
	struct vm_device *nd = realloc(vm->devices, (vm->nr_devices + 1) * sizeof(*vm->devices));
	if (!nd)
		return -ENOMEM;
	vm->devices = nd;
	vm->devices[vm->nr_devices++] = (struct vm_device){ name, ops, opaque };
	return 0;
}

extern const struct device_desc *const __start_ringvm_devices[];
extern const struct device_desc *const __stop_ringvm_devices[];

int vmock_create(struct vm *vm, const char *name)
{
	for (const struct device_desc *const *p = __start_ringvm_devices; p < __stop_ringvm_devices; p++)
		if (!strcmp((*p)->name, name))
			return (*p)->create(vm);
	return -ENOENT;
}

uint64_t vmock_rd(struct pci_device *d, uint64_t off, unsigned size)
{
	return virtio_pci_bar_read(d->desc.bar[0].opaque, off, size);
}

void vmock_wr(struct pci_device *d, uint64_t off, unsigned size, uint64_t v)
{
	virtio_pci_bar_write(d->desc.bar[0].opaque, off, size, v);
}

static void stop_loop(void *opaque, int fd, uint32_t events)
{
	(void)fd;
	(void)events;
	evloop_stop(opaque);
}

void vmock_pump(struct evloop *loop, int ms)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	struct itimerspec its = { .it_value = { .tv_nsec = (long)ms * 1000000L } };
	timerfd_settime(fd, 0, &its, NULL);
	evloop_add_fd(loop, fd, EPOLLIN, stop_loop, loop);
	__atomic_store_n(&loop->stop, false, __ATOMIC_RELEASE);
	evloop_run(loop, 50);
	evloop_del_fd(loop, fd);
	close(fd);
}
