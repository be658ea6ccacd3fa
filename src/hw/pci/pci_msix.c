/* MSI-X (PCI Local Bus spec 3.0, 6.8.2): the table (message address, data
 * and vector control per vector) and the pending bit array live in a BAR
 * of the device; the bus serves both.  A vector fires only while MSI-X is
 * enabled, the function is not masked, the vector is not masked and bus
 * mastering is on (an MSI is a memory write by the device); a masked
 * vector's event sets its pending bit instead, and the message is sent when
 * the mask is cleared (6.8.2.8, 6.8.2.9).  Messages go to the engine's irq
 * router (irq_send_msi).  Bus lock held.
 *
 * Where the engine binds eventfds to MSIs (engine_ops.irqfd_msi: KVM's
 * irqfd), each vector has an eventfd whose message the engine holds while
 * the vector can fire (enabled, function and vector unmasked, bus master):
 * the device's notify then only writes the eventfd, from its own thread and
 * without the bus lock.  A masked vector goes the plain way (pending bit,
 * message on unmask); the binding is refreshed whenever the driver changes
 * the entry, a mask, the enable bit or bus mastering. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "pci_priv.h"
#include "ringvm/vm.h"

static uint32_t tbl32(const struct pci_device *d, unsigned v, unsigned field)
{
	const uint8_t *p = d->msix_table + v * PCI_MSIX_ENTRY_SIZE + field;
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static unsigned pba_words(const struct pci_device *d)
{
	return (d->desc.msix_vectors + 63) / 64;
}

int pci_msix_init(struct pci_device *d)
{
	unsigned n = d->desc.msix_vectors;
	if (!n)
		return 0;
	d->msix_table = calloc(n, PCI_MSIX_ENTRY_SIZE);
	d->msix_pba = calloc(pba_words(d), sizeof(uint64_t));
	if (!d->msix_table || !d->msix_pba) {
		pci_msix_free(d);
		return -ENOMEM;
	}
	struct vm *vm = d->bus->vm;
	if (vm && vm->engine && vm->engine->irqfd_msi) {
		d->msix_irqfd = calloc(n, sizeof(*d->msix_irqfd));
		for (unsigned v = 0; d->msix_irqfd && v < n; v++) {
			d->msix_irqfd[v].fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
			if (d->msix_irqfd[v].fd < 0) {
				while (v-- > 0)
					close(d->msix_irqfd[v].fd);
				free(d->msix_irqfd);
				d->msix_irqfd = NULL;    /* the plain path only */
			}
		}
	}
	pci_msix_reset(d);
	return 0;
}

/* Every vector masked, nothing pending (6.8.2.9: mask bit set at reset). */
void pci_msix_reset(struct pci_device *d)
{
	unsigned n = d->desc.msix_vectors;
	if (!n)
		return;
	memset(d->msix_table, 0, (size_t)n * PCI_MSIX_ENTRY_SIZE);
	for (unsigned v = 0; v < n; v++)
		d->msix_table[v * PCI_MSIX_ENTRY_SIZE + 12] = PCI_MSIX_ENTRY_CTRL_MASKBIT;
	memset(d->msix_pba, 0, pba_words(d) * sizeof(uint64_t));
	/* After a machine reset the engine's VM may be a new one: bind again
	 * when the driver enables MSI-X. */
	for (unsigned v = 0; d->msix_irqfd && v < n; v++) {
		atomic_store(&d->msix_irqfd[v].live, false);
		d->msix_irqfd[v].bound = false;
	}
}

void pci_msix_free(struct pci_device *d)
{
	struct vm *vm = d->bus->vm;
	for (unsigned v = 0; d->msix_irqfd && v < d->desc.msix_vectors; v++) {
		if (d->msix_irqfd[v].bound && vm && vm->engine && vm->engine->irqfd_msi)
			vm->engine->irqfd_msi(vm, d->msix_irqfd[v].fd, 0, 0, false);
		close(d->msix_irqfd[v].fd);
	}
	free(d->msix_irqfd);
	d->msix_irqfd = NULL;
	free(d->msix_table);
	free(d->msix_pba);
	d->msix_table = NULL;
	d->msix_pba = NULL;
}

static uint16_t msix_control(const struct pci_device *d)
{
	const uint8_t *p = d->cfg + d->msix_cap + 2;
	return (uint16_t)(p[0] | p[1] << 8);
}

static bool msix_enabled(const struct pci_device *d)
{
	return d->msix_cap && (msix_control(d) & PCI_MSIX_CTRL_ENABLE);
}

static bool vector_masked(const struct pci_device *d, unsigned v)
{
	return (msix_control(d) & PCI_MSIX_CTRL_MASKALL) ||
	       (d->msix_table[v * PCI_MSIX_ENTRY_SIZE + 12] & PCI_MSIX_ENTRY_CTRL_MASKBIT);
}

static void msix_send(struct pci_device *d, unsigned v)
{
	struct pci_bus *b = d->bus;
	if (!(pci_config_command(d) & PCI_COMMAND_MASTER))
		return;    /* no bus mastering: the write never leaves the device */
	uint64_t addr = tbl32(d, v, 0) | (uint64_t)tbl32(d, v, 4) << 32;
	b->stats_msi++;
	if (b->vm)
		irq_send_msi(&b->vm->irq, addr, tbl32(d, v, 8));
}

/* Send every pending vector that is no longer masked. */
static void msix_flush(struct pci_device *d)
{
	if (!msix_enabled(d) || (msix_control(d) & PCI_MSIX_CTRL_MASKALL))
		return;
	for (unsigned w = 0; w < pba_words(d); w++) {
		uint64_t bits = d->msix_pba[w];
		while (bits) {
			unsigned v = w * 64 + (unsigned)__builtin_ctzll(bits);
			bits &= bits - 1;
			if (vector_masked(d, v))
				continue;
			d->msix_pba[w] &= ~(1ULL << (v % 64));
			msix_send(d, v);
		}
	}
}

void pci_msix_irqfd_sync(struct pci_device *d)
{
	if (!d->msix_irqfd)
		return;
	struct vm *vm = d->bus->vm;
	bool on = msix_enabled(d) && !(msix_control(d) & PCI_MSIX_CTRL_MASKALL) &&
		  (pci_config_command(d) & PCI_COMMAND_MASTER) && !d->msix_irqfd_off;
	for (unsigned v = 0; v < d->desc.msix_vectors; v++) {
		struct pci_msix_irqfd *q = &d->msix_irqfd[v];
		bool want = on && !vector_masked(d, v);
		uint64_t addr = tbl32(d, v, 0) | (uint64_t)tbl32(d, v, 4) << 32;
		uint32_t data = tbl32(d, v, 8);
		if (want && (!q->bound || q->addr != addr || q->data != data)) {
			int r = vm->engine->irqfd_msi(vm, q->fd, addr, data, true);
			if (r == 0) {
				q->bound = true;
				q->addr = addr;
				q->data = data;
			} else {
				/* -ENOSYS: never here; otherwise (an address
				 * outside the MSI range, no route left) this
				 * vector goes the plain way. */
				want = false;
				if (r == -ENOSYS)
					d->msix_irqfd_off = true;
			}
		}
		atomic_store(&q->live, want);
	}
}

void pci_msix_control_changed(struct pci_device *d)
{
	msix_flush(d);
	pci_msix_irqfd_sync(d);
}

static bool in_table(const struct pci_device *d, uint64_t off, unsigned size)
{
	uint64_t t = d->desc.msix_table_offset;
	return off >= t && off + size <= t + (uint64_t)d->desc.msix_vectors * PCI_MSIX_ENTRY_SIZE;
}

static bool in_pba(const struct pci_device *d, uint64_t off, unsigned size)
{
	uint64_t p = d->desc.msix_pba_offset;
	return off >= p && off + size <= p + pba_words(d) * 8ULL;
}

static bool touches(uint64_t off, unsigned size, uint64_t start, uint64_t len)
{
	return off < start + len && start < off + size;
}

bool pci_msix_bar_read(struct pci_device *d, uint64_t off, unsigned size, uint64_t *value)
{
	uint64_t v = 0;
	if (!d->desc.msix_vectors)
		return false;
	if (in_table(d, off, size)) {
		const uint8_t *p = d->msix_table + (off - d->desc.msix_table_offset);
		for (unsigned i = 0; i < size; i++)
			v |= (uint64_t)p[i] << (8 * i);
		*value = v;
		return true;
	}
	if (in_pba(d, off, size)) {
		const uint8_t *p = (const uint8_t *)d->msix_pba;  /* little-endian host */
		p += off - d->desc.msix_pba_offset;
		for (unsigned i = 0; i < size; i++)
			v |= (uint64_t)p[i] << (8 * i);
		*value = v;
		return true;
	}
	/* Straddling the edge of the table or PBA: reads as all-ones. */
	uint64_t tl = (uint64_t)d->desc.msix_vectors * PCI_MSIX_ENTRY_SIZE;
	if (touches(off, size, d->desc.msix_table_offset, tl) ||
	    touches(off, size, d->desc.msix_pba_offset, pba_words(d) * 8ULL)) {
		*value = ~0ULL;
		return true;
	}
	return false;
}

bool pci_msix_bar_write(struct pci_device *d, uint64_t off, unsigned size, uint64_t value)
{
	if (!d->desc.msix_vectors)
		return false;
	if (in_table(d, off, size)) {
		uint64_t rel = off - d->desc.msix_table_offset;
		for (unsigned i = 0; i < size; i++) {
			uint64_t o = rel + i;
			uint8_t b = (uint8_t)(value >> (8 * i));
			unsigned field = (unsigned)(o % PCI_MSIX_ENTRY_SIZE);
			if (field == 12)
				b &= PCI_MSIX_ENTRY_CTRL_MASKBIT;  /* the rest is reserved */
			else if (field > 12)
				b = 0;
			d->msix_table[o] = b;
		}
		msix_flush(d);   /* a vector unmasked with its pending bit set */
		pci_msix_irqfd_sync(d);
		return true;
	}
	uint64_t tl = (uint64_t)d->desc.msix_vectors * PCI_MSIX_ENTRY_SIZE;
	/* The PBA is read-only; straddling writes are dropped. */
	return in_pba(d, off, size) ||
	       touches(off, size, d->desc.msix_table_offset, tl) ||
	       touches(off, size, d->desc.msix_pba_offset, pba_words(d) * 8ULL);
}

/* ---- The device side (include/ringvm/pci.h) ----------------------------- */

bool pci_msix_notify(struct pci_device *d, unsigned vector)
{
	struct pci_bus *b = d->bus;
	/* irqfd: the engine injects the message; no lock, no ioctl here. */
	if (d->msix_irqfd && vector < d->desc.msix_vectors &&
	    atomic_load(&d->msix_irqfd[vector].live)) {
		uint64_t one = 1;
		if (write(d->msix_irqfd[vector].fd, &one, sizeof(one)) == (ssize_t)sizeof(one)) {
			atomic_fetch_add(&b->stats_irqfd, 1);
			return true;
		}
		/* EAGAIN (the counter is full): the plain way */
	}
	pthread_mutex_lock(&b->lock);
	bool on = msix_enabled(d);
	if (on && vector < d->desc.msix_vectors) {
		if (vector_masked(d, vector))
			d->msix_pba[vector / 64] |= 1ULL << (vector % 64);
		else
			msix_send(d, vector);
	}
	pthread_mutex_unlock(&b->lock);
	return on;
}

size_t pci_msix_state_size(const struct pci_device *d)
{
	unsigned n = d->desc.msix_vectors;
	return n ? (size_t)n * PCI_MSIX_ENTRY_SIZE + pba_words(d) * sizeof(uint64_t) : 0;
}

void pci_msix_state(struct pci_device *d, void *buf, bool save)
{
	struct pci_bus *b = d->bus;
	unsigned n = d->desc.msix_vectors;
	if (!n)
		return;
	size_t tlen = (size_t)n * PCI_MSIX_ENTRY_SIZE, plen = pba_words(d) * sizeof(uint64_t);
	uint8_t *p = buf;
	pthread_mutex_lock(&b->lock);
	if (save) {
		memcpy(p, d->msix_table, tlen);
		memcpy(p + tlen, d->msix_pba, plen);
	} else {
		memcpy(d->msix_table, p, tlen);
		memcpy(d->msix_pba, p + tlen, plen);
	}
	pthread_mutex_unlock(&b->lock);
}

bool pci_msix_enabled(const struct pci_device *d)
{
	struct pci_bus *b = d->bus;
	pthread_mutex_lock(&b->lock);
	bool on = msix_enabled(d);
	pthread_mutex_unlock(&b->lock);
	return on;
}
