/* BAR decoding: which BAR answers an address inside the host bridge's
 * windows (LAYOUT_PCI_MMIO32_* on the MMIO bus, LAYOUT_PCI_IO_* on the PIO
 * bus).
 *
 * The host bridge forwards its two windows to bus 0 like a real bridge
 * forwards its apertures, so a BAR is "mapped" in the bridge's own decode
 * table, never as a separate window on vm->mmio or vm->pio: a BAR is moved
 * by a configuration write, which arrives through a bus window (0xCFC or
 * ECAM) while that bus's table lock is held, so registering a window from
 * there would deadlock, and BARs outside the bridge windows must not decode
 * anyway.  A BAR decodes while its decode bit in COMMAND is set and it lies
 * entirely inside its window; one that overlaps a BAR already decoding
 * stays unmapped (an address conflict on hardware is undefined; here the
 * BAR that was there first keeps the range), and is mapped later when the
 * other one moves away.  RAM, the LAPIC, the IOAPIC and ECAM are all outside
 * the windows, so a BAR placed over them never decodes.  Bus lock held. */
#include "pci_priv.h"
#include "ringvm/bus.h"
#include "ringvm/log.h"
#include "ringvm/vm.h"

/* Where BAR i of d would decode now, or false. */
static bool bar_wanted(const struct pci_device *d, unsigned i, uint64_t *base)
{
	const struct pci_bar_desc *bd = &d->desc.bar[i];
	uint16_t cmd = pci_config_command(d);
	uint64_t lo, hi, a = pci_config_bar_addr(d, i);

	if (bd->kind == PCI_BAR_IO) {
		if (!(cmd & PCI_COMMAND_IO))
			return false;
		lo = LAYOUT_PCI_IO_START;
		hi = LAYOUT_PCI_IO_END;
	} else if (bd->kind == PCI_BAR_MEM32 || bd->kind == PCI_BAR_MEM64) {
		if (!(cmd & PCI_COMMAND_MEMORY))
			return false;
		lo = LAYOUT_PCI_MMIO32_START;
		hi = LAYOUT_PCI_MMIO32_END;
	} else {
		return false;
	}
	if (a < lo || a >= hi || bd->size > hi - a)
		return false;
	*base = a;
	return true;
}

static bool is_io(const struct pci_device *d, unsigned i)
{
	return d->desc.bar[i].kind == PCI_BAR_IO;
}

static bool overlaps_mapped(struct pci_bus *b, bool io, uint64_t base, uint64_t size)
{
	for (unsigned s = 0; s < PCI_SLOTS; s++) {
		struct pci_device *o = b->slots[s];
		if (!o)
			continue;
		for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
			if (!o->bar[i].mapped || is_io(o, i) != io)
				continue;
			uint64_t ob = o->bar[i].base, os = o->desc.bar[i].size;
			if (base < ob + os && ob < base + size)
				return true;
		}
	}
	return false;
}

void pci_bar_update(struct pci_bus *b)
{
	uint64_t base;

	/* Drop what no longer decodes where it did. */
	for (unsigned s = 0; s < PCI_SLOTS; s++) {
		struct pci_device *d = b->slots[s];
		if (!d)
			continue;
		for (unsigned i = 0; i < PCI_NUM_BARS; i++)
			if (d->bar[i].mapped && (!bar_wanted(d, i, &base) || base != d->bar[i].base))
				d->bar[i].mapped = false;
	}
	/* Map the rest where they do not collide, in slot order. */
	for (unsigned s = 0; s < PCI_SLOTS; s++) {
		struct pci_device *d = b->slots[s];
		if (!d)
			continue;
		for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
			if (d->bar[i].mapped || !bar_wanted(d, i, &base))
				continue;
			if (overlaps_mapped(b, is_io(d, i), base, d->desc.bar[i].size)) {
				b->stats_bar_refused++;
				vm_log(b->vm, VM_LOG_DEVICE, LOG_WARN,
				       "pci: %02x.0 %s BAR %u at 0x%llx overlaps another BAR: left unmapped",
				       s, d->desc.name, i, (unsigned long long)base);
				continue;
			}
			d->bar[i].mapped = true;
			d->bar[i].base = base;
		}
	}
}

struct pci_device *pci_bar_lookup(struct pci_bus *b, int kind, uint64_t addr,
				  unsigned *bar, uint64_t *offset)
{
	bool io = kind == BUS_PIO;
	for (unsigned s = 0; s < PCI_SLOTS; s++) {
		struct pci_device *d = b->slots[s];
		if (!d)
			continue;
		for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
			if (!d->bar[i].mapped || is_io(d, i) != io)
				continue;
			uint64_t off = addr - d->bar[i].base;
			if (addr >= d->bar[i].base && off < d->desc.bar[i].size) {
				*bar = i;
				*offset = off;
				return d;
			}
		}
	}
	return NULL;
}
