/* One function's configuration space: the type-0 header (PCI Local Bus spec
 * 3.0, 6.1-6.2), its BARs (6.2.5.1), the capability list (6.7) with MSI-X
 * (6.8.2), MSI (6.8.1, pci_msi.c) and the device's own capabilities.
 *
 * Every byte has a write mask: a guest write changes only the bits the spec
 * makes read/write, so sizing a BAR is the spec's procedure (write
 * all-ones, read back the size mask with the type bits) and read-only
 * fields (IDs, class, header type, capability pointer and list, interrupt
 * pin, MSI-X table size and offsets) cannot be changed.  The status
 * register has no error bits modelled: it is read-only, with the interrupt
 * status bit showing the device's INTx level.  Called with the bus lock
 * held. */
#include <string.h>

#include "pci_priv.h"

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)v); put16(p + 2, (uint16_t)(v >> 16)); }
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t get32(const uint8_t *p) { return get16(p) | (uint32_t)get16(p + 2) << 16; }

uint16_t pci_config_command(const struct pci_device *d)
{
	return get16(d->cfg + PCI_COMMAND);
}

uint64_t pci_config_bar_addr(const struct pci_device *d, unsigned i)
{
	const struct pci_bar_desc *bd = &d->desc.bar[i];
	uint32_t lo = get32(d->cfg + PCI_BAR0 + 4 * i);
	switch (bd->kind) {
	case PCI_BAR_IO:
		return lo & ~3u;
	case PCI_BAR_MEM32:
		return lo & ~0xfu;
	case PCI_BAR_MEM64:
		return (lo & ~0xfu) | (uint64_t)get32(d->cfg + PCI_BAR0 + 4 * (i + 1)) << 32;
	default:
		return 0;
	}
}

/* The header, BAR type bits and masks, and the capability list as the
 * device described them; BAR addresses and COMMAND are set by reset. */
void pci_config_init(struct pci_device *d)
{
	const struct pci_device_desc *desc = &d->desc;
	uint8_t *c = d->cfg, *w = d->wmask;

	memset(c, 0, sizeof(d->cfg));
	memset(w, 0, sizeof(d->wmask));
	put16(c + PCI_VENDOR_ID, desc->vendor_id);
	put16(c + PCI_DEVICE_ID, desc->device_id);
	put16(w + PCI_COMMAND, PCI_COMMAND_WRITABLE);
	c[PCI_REVISION_ID] = desc->revision;
	c[PCI_CLASS_PROG] = (uint8_t)desc->class_code;
	put16(c + PCI_CLASS_PROG + 1, (uint16_t)(desc->class_code >> 8));
	w[PCI_CACHE_LINE_SIZE] = 0xff;
	c[PCI_HEADER_TYPE] = 0;                    /* type 0, single function */
	put16(c + PCI_SUBSYSTEM_VENDOR, desc->subsystem_vendor_id);
	put16(c + PCI_SUBSYSTEM_ID, desc->subsystem_id);
	w[PCI_INTERRUPT_LINE] = 0xff;
	c[PCI_INTERRUPT_PIN] = desc->intx ? 1 : 0; /* INTA# */

	for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
		const struct pci_bar_desc *bd = &desc->bar[i];
		uint8_t *cb = c + PCI_BAR0 + 4 * i, *wb = w + PCI_BAR0 + 4 * i;
		switch (bd->kind) {
		case PCI_BAR_IO:
			put32(cb, PCI_BAR_SPACE_IO);
			put32(wb, (uint32_t)~(bd->size - 1) & ~3u);
			break;
		case PCI_BAR_MEM32:
			put32(cb, bd->prefetchable ? PCI_BAR_MEM_PREFETCH : 0);
			put32(wb, (uint32_t)~(bd->size - 1) & ~0xfu);
			break;
		case PCI_BAR_MEM64:
			put32(cb, PCI_BAR_MEM_TYPE_64 | (bd->prefetchable ? PCI_BAR_MEM_PREFETCH : 0));
			put32(wb, (uint32_t)~(bd->size - 1) & ~0xfu);
			put32(wb + 4, (uint32_t)(~(bd->size - 1) >> 32));
			i++;                               /* the upper half */
			break;
		default:
			break;
		}
	}

	/* Capability list: MSI-X first, then the device's, dword aligned. */
	unsigned off = PCI_CAP_START;
	uint8_t *prev = c + PCI_CAP_PTR;
	if (desc->msix_vectors) {
		d->msix_cap = (uint8_t)off;
		*prev = (uint8_t)off;
		c[off] = PCI_CAP_ID_MSIX;
		prev = c + off + 1;
		put16(c + off + 2, (uint16_t)(desc->msix_vectors - 1));
		put16(w + off + 2, PCI_MSIX_CTRL_ENABLE | PCI_MSIX_CTRL_MASKALL);
		put32(c + off + 4, desc->msix_table_offset | desc->msix_bar);
		put32(c + off + 8, desc->msix_pba_offset | desc->msix_bar);
		off += PCI_MSIX_CAP_LEN;
	}
	if (desc->msi_vectors) {
		*prev = (uint8_t)off;
		pci_msi_config_init(d, off);
		prev = c + off + 1;
		off += pci_msi_cap_len(desc);
	}
	for (unsigned i = 0; i < desc->nr_caps; i++) {
		const struct pci_cap_desc *cap = &desc->caps[i];
		d->cap_off[i] = (uint8_t)off;
		*prev = (uint8_t)off;
		c[off] = cap->id;
		prev = c + off + 1;
		off += (cap->len + 3u) & ~3u;
	}
	if (c[PCI_CAP_PTR])
		put16(c + PCI_STATUS, PCI_STATUS_CAP_LIST);
}

/* Power-on values of what the guest can write: COMMAND 0, the BARs at the
 * addresses the board assigned (bar_reset), interrupt line the board's GSI,
 * MSI-X disabled. */
void pci_config_reset(struct pci_device *d)
{
	uint8_t *c = d->cfg;
	put16(c + PCI_COMMAND, 0);
	c[PCI_CACHE_LINE_SIZE] = 0;
	for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
		uint8_t *cb = c + PCI_BAR0 + 4 * i;
		const uint8_t *wb = d->wmask + PCI_BAR0 + 4 * i;
		uint32_t v = (get32(cb) & ~get32(wb)) | (d->bar_reset[i] & get32(wb));
		put32(cb, v);
	}
	c[PCI_INTERRUPT_LINE] = d->desc.intx ? (uint8_t)d->intx_gsi : 0xff;
	if (d->msix_cap)
		put16(c + d->msix_cap + 2, (uint16_t)(d->desc.msix_vectors - 1));
	pci_msi_reset(d);
}

/* Index of the device capability whose data bytes hold [off, off+size), or
 * -1; *inside is set when any byte of the access falls in one. */
static int device_cap_at(const struct pci_device *d, unsigned off, unsigned size, bool *inside)
{
	*inside = false;
	for (unsigned i = 0; i < d->desc.nr_caps; i++) {
		unsigned lo = d->cap_off[i] + 2u, hi = d->cap_off[i] + (unsigned)d->desc.caps[i].len;
		if (off + size <= lo || off >= hi)
			continue;
		*inside = true;
		if (off >= lo && off + size <= hi)
			return (int)i;
	}
	return -1;
}

const struct pci_cap_desc *pci_config_cap_hook(const struct pci_device *d, unsigned off,
					       unsigned size)
{
	bool inside;
	if (off >= PCI_CFG_SPACE_SIZE || size > PCI_CFG_SPACE_SIZE - off || size == 0 || size > 4)
		return NULL;
	int ci = device_cap_at(d, off, size, &inside);
	return ci >= 0 ? &d->desc.caps[ci] : NULL;
}

static uint8_t cfg_byte(const struct pci_device *d, unsigned o)
{
	for (unsigned i = 0; i < d->desc.nr_caps; i++) {
		const struct pci_cap_desc *cap = &d->desc.caps[i];
		unsigned co = d->cap_off[i];
		if (o >= co + 2u && o < co + (unsigned)cap->len)
			return cap->data ? cap->data[o - co] : 0;
	}
	uint8_t v = d->cfg[o];
	if (o == PCI_STATUS && d->intx_level)
		v |= PCI_STATUS_INTERRUPT;
	return v;
}

uint32_t pci_config_read(struct pci_device *d, unsigned off, unsigned size)
{
	uint32_t v = 0;
	if (off >= PCI_CFG_SPACE_SIZE || size > PCI_CFG_SPACE_SIZE - off)
		return 0xffffffffu;
	for (unsigned i = 0; i < size && i < 4; i++)
		v |= (uint32_t)cfg_byte(d, off + i) << (8 * i);
	return v;
}

bool pci_config_write(struct pci_device *d, unsigned off, unsigned size, uint32_t value)
{
	if (off >= PCI_CFG_SPACE_SIZE || size > PCI_CFG_SPACE_SIZE - off || size > 4)
		return false;
	bool inside;
	int ci = device_cap_at(d, off, size, &inside);
	if (ci >= 0) {
		/* pci_bus_cfg_write calls the capability's cap_write itself,
		 * without the bus lock; here (unit tests, no bus) likewise. */
		const struct pci_cap_desc *cap = &d->desc.caps[ci];
		if (cap->cap_write)
			cap->cap_write(cap->opaque, off - d->cap_off[ci], size, value);
		return false;
	}
	if (inside)
		return false;   /* straddles a device capability: dropped */

	uint16_t old_cmd = pci_config_command(d);
	uint16_t old_msix = d->msix_cap ? get16(d->cfg + d->msix_cap + 2) : 0;
	bool bar_changed = false;
	for (unsigned i = 0; i < size; i++) {
		unsigned o = off + i;
		uint8_t b = (uint8_t)(value >> (8 * i));
		uint8_t nv = (uint8_t)((d->cfg[o] & ~d->wmask[o]) | (b & d->wmask[o]));
		if (nv != d->cfg[o] && o >= PCI_BAR0 && o < PCI_BAR0 + 4 * PCI_NUM_BARS)
			bar_changed = true;
		d->cfg[o] = nv;
	}
	uint16_t cmd = pci_config_command(d);
	if ((cmd ^ old_cmd) & PCI_COMMAND_INTX_DISABLE)
		pci_intx_update(d);
	if ((cmd ^ old_cmd) & PCI_COMMAND_MASTER)
		pci_msix_irqfd_sync(d);    /* no bus mastering: no irqfd */
	if (d->msix_cap && get16(d->cfg + d->msix_cap + 2) != old_msix) {
		pci_msix_control_changed(d);
		pci_intx_update(d);    /* INTx is not used while MSI-X is enabled */
	}
	if (d->msi_cap && off < d->msi_cap + pci_msi_cap_len(&d->desc) && off + size > d->msi_cap) {
		pci_msi_config_changed(d);
		pci_intx_update(d);    /* nor while MSI is (6.8.1.3) */
	}
	return bar_changed || ((cmd ^ old_cmd) & (PCI_COMMAND_IO | PCI_COMMAND_MEMORY));
}
