/* MSI (PCI Local Bus spec 3.0, 6.8.1): the plain message-signalled
 * interrupt capability, for a device that wants it next to (or instead of)
 * MSI-X.  The bus offers the 64-bit layout (6.8.1.1, figure 6-9), with
 * per-vector masking when the device asks for it (figure 6-10):
 *
 *   +0 ID 05h, next   +2 message control   +4 address   +8 upper address
 *   +12 data (16 bits; 14-15 extended data, read-only 0 here)
 *   +16 mask bits     +20 pending bits       (per-vector masking only)
 *
 * The state lives in the function's configuration bytes (the write masks
 * make the capability's read-only fields and the pending bits read-only).
 * Vector n of the 2^MME the driver allocated is sent as the data with its
 * low MME bits replaced by n (6.8.1.6, "Message Data"); a masked vector's
 * event sets its pending bit and is sent when the mask is cleared (6.8.1.7,
 * 6.8.1.8).  Like MSI-X, nothing leaves a function without bus mastering.
 * Messages go to the engine's irq router (irq_send_msi).  Bus lock held
 * unless said otherwise. */
#include <string.h>

#include "pci_priv.h"
#include "ringvm/vm.h"

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t get32(const uint8_t *p) { return get16(p) | (uint32_t)get16(p + 2) << 16; }
static void put32(uint8_t *p, uint32_t v)
{
	for (unsigned i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

unsigned pci_msi_cap_len(const struct pci_device_desc *desc)
{
	if (!desc->msi_vectors)
		return 0;
	return desc->msi_masking ? PCI_MSI_CAP_LEN_PVM : PCI_MSI_CAP_LEN;
}

static unsigned log2_vectors(unsigned n)
{
	unsigned l = 0;
	while ((1u << l) < n)
		l++;
	return l;
}

/* The capability's fixed bits and write masks, at configuration offset off. */
void pci_msi_config_init(struct pci_device *d, unsigned off)
{
	const struct pci_device_desc *desc = &d->desc;
	uint8_t *c = d->cfg + off, *w = d->wmask + off;
	d->msi_cap = (uint8_t)off;
	c[0] = PCI_CAP_ID_MSI;
	uint16_t ctrl = (uint16_t)(log2_vectors(desc->msi_vectors) << 1) | PCI_MSI_CTRL_64BIT;
	if (desc->msi_masking)
		ctrl |= PCI_MSI_CTRL_PVM;
	c[2] = (uint8_t)ctrl;
	c[3] = (uint8_t)(ctrl >> 8);
	w[2] = PCI_MSI_CTRL_ENABLE | PCI_MSI_CTRL_MME_MASK;
	put32(w + PCI_MSI_ADDR_LO, 0xfffffffcu);       /* dword aligned */
	put32(w + PCI_MSI_ADDR_HI, 0xffffffffu);
	w[PCI_MSI_DATA] = 0xff;
	w[PCI_MSI_DATA + 1] = 0xff;
	if (desc->msi_masking) {
		unsigned n = desc->msi_vectors;
		put32(w + PCI_MSI_MASK, n >= 32 ? 0xffffffffu : (1u << n) - 1);
	}
}

/* Machine reset: disabled, one vector, no address or data, nothing masked
 * or pending (6.8.1.3: enable and MME reset to 0; 6.8.1.7: mask bits 0). */
void pci_msi_reset(struct pci_device *d)
{
	if (!d->msi_cap)
		return;
	uint8_t *c = d->cfg + d->msi_cap;
	c[2] &= (uint8_t)~(PCI_MSI_CTRL_ENABLE | PCI_MSI_CTRL_MME_MASK);
	memset(c + PCI_MSI_ADDR_LO, 0, pci_msi_cap_len(&d->desc) - PCI_MSI_ADDR_LO);
}

bool pci_msi_enabled_locked(const struct pci_device *d)
{
	return d->msi_cap && (d->cfg[d->msi_cap + 2] & PCI_MSI_CTRL_ENABLE);
}

/* Vectors the driver allocated (2^MME, never more than the function asked
 * for: a larger MME is software's error, 6.8.1.3, treated as the maximum). */
static unsigned allocated(const struct pci_device *d)
{
	unsigned mme = (d->cfg[d->msi_cap + 2] & PCI_MSI_CTRL_MME_MASK) >> 4;
	unsigned mmc = (d->cfg[d->msi_cap + 2] >> 1) & 7;
	return 1u << (mme < mmc ? mme : mmc);
}

static bool masked(const struct pci_device *d, unsigned v)
{
	return d->desc.msi_masking && (get32(d->cfg + d->msi_cap + PCI_MSI_MASK) >> v & 1);
}

static void set_pending(struct pci_device *d, unsigned v, bool on)
{
	uint8_t *p = d->cfg + d->msi_cap + PCI_MSI_PENDING + v / 8;
	if (on)
		*p |= (uint8_t)(1u << (v % 8));
	else
		*p &= (uint8_t)~(1u << (v % 8));
}

static void msi_send(struct pci_device *d, unsigned v)
{
	struct pci_bus *b = d->bus;
	if (!(pci_config_command(d) & PCI_COMMAND_MASTER))
		return;    /* no bus mastering: the write never leaves the device */
	const uint8_t *c = d->cfg + d->msi_cap;
	uint64_t addr = get32(c + PCI_MSI_ADDR_LO) | (uint64_t)get32(c + PCI_MSI_ADDR_HI) << 32;
	uint32_t data = get16(c + PCI_MSI_DATA);
	data = (data & ~(allocated(d) - 1)) | v;
	b->stats_msi++;
	if (b->vm)
		irq_send_msi(&b->vm->irq, addr, data);
}

/* The capability was written: send what is pending and no longer masked. */
void pci_msi_config_changed(struct pci_device *d)
{
	if (!pci_msi_enabled_locked(d) || !d->desc.msi_masking)
		return;
	uint32_t pend = get32(d->cfg + d->msi_cap + PCI_MSI_PENDING);
	for (unsigned v = 0; v < d->desc.msi_vectors && v < 32; v++) {
		if (!(pend >> v & 1) || masked(d, v))
			continue;
		set_pending(d, v, false);
		if (v < allocated(d))
			msi_send(d, v);
	}
}

/* ---- The device side (include/ringvm/pci.h) ----------------------------- */

bool pci_msi_notify(struct pci_device *d, unsigned vector)
{
	struct pci_bus *b = d->bus;
	pthread_mutex_lock(&b->lock);
	bool on = pci_msi_enabled_locked(d);
	if (on && vector < allocated(d)) {
		if (masked(d, vector))
			set_pending(d, vector, true);
		else
			msi_send(d, vector);
	}
	pthread_mutex_unlock(&b->lock);
	return on;
}

bool pci_msi_enabled(const struct pci_device *d)
{
	struct pci_bus *b = d->bus;
	pthread_mutex_lock(&b->lock);
	bool on = pci_msi_enabled_locked(d);
	pthread_mutex_unlock(&b->lock);
	return on;
}
