/* PCI devices on the board's host bridge: the contract between the PCI bus
 * (src/hw/pci/) and the devices that sit on it (virtio-pci, ...).
 *
 * The bus owns configuration space: both access mechanisms (ports
 * 0xCF8/0xCFC and ECAM, announced by the MCFG table), the standard type-0
 * header, BAR sizing and moves (a BAR decodes, inside the host bridge's
 * PIO or MMIO window, only while its decode bit in COMMAND is set and it
 * lies entirely inside that window), the capability list, INTx (routed to an
 * IOAPIC pin by the board's interrupt map and the DSDT's _PRT) and MSI-X
 * (table and PBA in a BAR chosen by the device, messages delivered through
 * the engine's irq router).  A device describes itself in struct
 * pci_device before pci_device_register() and afterwards only calls the
 * functions below; it never sees a vCPU or an engine.
 *
 * Every value a guest writes into configuration space is hostile: the bus
 * masks read-only bits, refuses BAR addresses that would overlap RAM or
 * another window (the BAR stays unmapped, as on hardware with a bad
 * assignment), and never lets a device capability write outside its bytes. */
#ifndef RINGVM_PCI_H
#define RINGVM_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "ringvm/bus.h"

struct vm;

#define PCI_CFG_SPACE_SIZE   4096   /* PCIe extended space, through ECAM */
#define PCI_CFG_LEGACY_SIZE  256    /* what 0xCF8/0xCFC reaches */
#define PCI_NUM_BARS         6

enum pci_bar_kind {
	PCI_BAR_UNUSED = 0,
	PCI_BAR_IO,          /* port I/O, size 4..256 */
	PCI_BAR_MEM32,       /* MMIO below 4 GiB */
	PCI_BAR_MEM64,       /* 64-bit MMIO BAR (uses two BAR slots: n, n+1) */
};

struct pci_bar_desc {
	enum pci_bar_kind kind;
	uint64_t size;               /* a power of two; >= 4096 for memory BARs */
	bool prefetchable;
	/* Accesses inside the BAR, at the offset from its base.  NULL ops for a
	 * BAR that holds only the MSI-X table/PBA (the bus serves those).
	 * Called without the bus's lock (a handler may call pci_msix_notify
	 * or pci_intx_set), from any vCPU thread; all BAR accesses on the
	 * bridge's MMIO (or PIO) window are serialised by that one bus window. */
	const struct bus_ops *ops;
	void *opaque;
};

/* A vendor-specific or other capability a device adds to its list (virtio's
 * VIRTIO_PCI_CAP_* structures, for one).  The bus links it into the list
 * and serves reads from 'data', or from cap_read where the device gives one
 * (for reads entirely inside bytes 2..len-1); writes to it reach cap_write
 * (NULL: the capability is read-only).  cap_read and cap_write are called
 * without the bus's lock (they may access the device's BARs, whose
 * handlers may call pci_msix_notify).  len includes the 2-byte header (ID,
 * next), which the bus fills in. */
struct pci_cap_desc {
	uint8_t id;
	uint8_t len;
	const uint8_t *data;         /* len bytes; bytes 0-1 are ignored */
	void (*cap_write)(void *opaque, unsigned off_in_cap, unsigned size, uint32_t value);
	uint32_t (*cap_read)(void *opaque, unsigned off_in_cap, unsigned size);
	void *opaque;
};

#define PCI_MAX_DEVICE_CAPS 8

struct pci_device_desc {
	const char *name;            /* for --stats and messages */
	uint16_t vendor_id, device_id;
	uint16_t subsystem_vendor_id, subsystem_id;
	uint8_t revision;
	uint32_t class_code;         /* 24 bits: base class, sub class, prog-if */
	struct pci_bar_desc bar[PCI_NUM_BARS];
	unsigned nr_caps;
	struct pci_cap_desc caps[PCI_MAX_DEVICE_CAPS];
	/* MSI-X: msix_vectors = 0 for none.  The table lives at
	 * msix_table_offset in BAR msix_bar, the PBA at msix_pba_offset in the
	 * same BAR; both areas must not overlap what 'ops' of that BAR serves. */
	unsigned msix_vectors;
	unsigned msix_bar;
	uint32_t msix_table_offset, msix_pba_offset;
	/* Plain MSI (PCI 3.0, 6.8.1; 64-bit addresses): msi_vectors = 0 for
	 * none, else 1, 2, 4, 8, 16 or 32; msi_masking offers per-vector mask
	 * and pending bits.  The capability comes after MSI-X's in the list. */
	unsigned msi_vectors;
	bool msi_masking;
	bool intx;                   /* the device uses INTA# */
	/* Machine reset of the function (the bus has already restored the
	 * header, BARs and MSI-X state): optional. */
	void (*reset)(void *opaque);
	/* A configuration write changed what the BARs decode (COMMAND or a BAR
	 * address): optional, called after the bus's lock is dropped. */
	void (*bars_changed)(void *opaque);
	void *opaque;
};

struct pci_device;               /* owned by the bus */

/* Put a device on bus 0 of the board's host bridge, in the next free slot
 * (or -ENOSPC).  desc is copied; its cap data must outlive the VM.  Called
 * from a device's create function (VM_DEVICE_ORDERED, order > the bus's). */
int pci_device_register(struct vm *vm, const struct pci_device_desc *desc,
			struct pci_device **out);

/* Slot (device number) on bus 0, for messages and tests. */
unsigned pci_device_slot(const struct pci_device *d);

/* INTA#: level-triggered, shared; the bus routes it by the interrupt map. */
void pci_intx_set(struct pci_device *d, bool level);

/* Signal MSI-X vector n: sends its message if MSI-X is enabled, the
 * function is not masked and the vector is not masked; otherwise sets its
 * pending bit (sent when unmasked).  Returns false when MSI-X is not
 * enabled by the driver, so the caller can fall back to INTx. Thread safe. */
bool pci_msix_notify(struct pci_device *d, unsigned vector);
/* Snapshots: the MSI-X table and pending bits, pci_msix_state_size bytes
 * (0 without MSI-X), copied out (save) or in. */
size_t pci_msix_state_size(const struct pci_device *d);
void pci_msix_state(struct pci_device *d, void *buf, bool save);

/* Signal MSI vector n (of the 2^MME the driver allocated): sent unless the
 * vector is masked (then pending, sent on unmask) or out of range (dropped).
 * Returns false when MSI is not enabled.  Thread safe. */
bool pci_msi_notify(struct pci_device *d, unsigned vector);
bool pci_msi_enabled(const struct pci_device *d);

/* MSI-X enabled by the driver (the transport's choice between MSI-X and
 * INTx). */
bool pci_msix_enabled(const struct pci_device *d);

/* Where memory BAR n decodes now: true and *base while it is mapped. */
bool pci_bar_base(struct pci_device *d, unsigned n, uint64_t *base);

/* Bus mastering enabled (COMMAND bit 2): a device must not touch guest
 * memory (DMA) while it is clear. */
bool pci_bus_master(const struct pci_device *d);

#endif
