/* The PCI bus's own state, shared by the files of src/hw/pci/ and the unit
 * tests: the host bridge (pci_bus.c), one function's configuration space
 * (pci_config.c), BAR decoding (pci_bar.c) and MSI-X (pci_msix.c).
 *
 * Locking: one mutex per bus (pci_bus.lock) guards every function's
 * configuration space, BAR decode table and MSI-X state.  Device BAR
 * handlers are called without it (they may call pci_msix_notify or
 * pci_intx_set).  MSI messages and INTx levels are sent with it held
 * (the engine's interrupt controllers never call back into the bus). */
#ifndef RINGVM_HW_PCI_PRIV_H
#define RINGVM_HW_PCI_PRIV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "ringvm/irq.h"
#include "ringvm/layout.h"
#include "ringvm/pci.h"

#define PCI_SLOTS            32

/* Type-0 header (PCI Local Bus spec 3.0, 6.1). */
#define PCI_VENDOR_ID        0x00
#define PCI_DEVICE_ID        0x02
#define PCI_COMMAND          0x04
#define PCI_STATUS           0x06
#define PCI_REVISION_ID      0x08
#define PCI_CLASS_PROG       0x09
#define PCI_CACHE_LINE_SIZE  0x0c
#define PCI_LATENCY_TIMER    0x0d
#define PCI_HEADER_TYPE      0x0e
#define PCI_BAR0             0x10
#define PCI_SUBSYSTEM_VENDOR 0x2c
#define PCI_SUBSYSTEM_ID     0x2e
#define PCI_ROM_ADDRESS      0x30
#define PCI_CAP_PTR          0x34
#define PCI_INTERRUPT_LINE   0x3c
#define PCI_INTERRUPT_PIN    0x3d
#define PCI_CAP_START        0x40   /* first capability byte */

#define PCI_COMMAND_IO       0x0001
#define PCI_COMMAND_MEMORY   0x0002
#define PCI_COMMAND_MASTER   0x0004
#define PCI_COMMAND_PARITY   0x0040
#define PCI_COMMAND_SERR     0x0100
#define PCI_COMMAND_INTX_DISABLE 0x0400
/* What a type-0 function of ours lets software set in COMMAND. */
#define PCI_COMMAND_WRITABLE (PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | \
			      PCI_COMMAND_PARITY | PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE)

#define PCI_STATUS_INTERRUPT 0x0008
#define PCI_STATUS_CAP_LIST  0x0010

#define PCI_BAR_SPACE_IO     0x1
#define PCI_BAR_MEM_TYPE_64  0x4
#define PCI_BAR_MEM_PREFETCH 0x8

#define PCI_CAP_ID_MSIX      0x11
#define PCI_CAP_ID_MSI       0x05

/* MSI capability, 64-bit layout (PCI 3.0, 6.8.1): offsets in the capability. */
#define PCI_MSI_ADDR_LO      4
#define PCI_MSI_ADDR_HI      8
#define PCI_MSI_DATA         12
#define PCI_MSI_MASK         16     /* per-vector masking only */
#define PCI_MSI_PENDING      20
#define PCI_MSI_CAP_LEN      16     /* 14 bytes, dword-rounded */
#define PCI_MSI_CAP_LEN_PVM  24
#define PCI_MSI_CTRL_ENABLE  0x0001
#define PCI_MSI_CTRL_MME_MASK 0x0070
#define PCI_MSI_CTRL_64BIT   0x0080
#define PCI_MSI_CTRL_PVM     0x0100
#define PCI_MSI_MAX_VECTORS  32

/* MSI-X capability (PCI 3.0, 6.8.2): control at +2, table at +4, PBA at +8. */
#define PCI_MSIX_CAP_LEN     12
#define PCI_MSIX_CTRL_ENABLE 0x8000
#define PCI_MSIX_CTRL_MASKALL 0x4000
#define PCI_MSIX_ENTRY_SIZE  16
#define PCI_MSIX_ENTRY_CTRL_MASKBIT 0x1
#define PCI_MSIX_MAX_VECTORS 2048

struct pci_bus;

struct pci_bar_state {
	bool mapped;
	uint64_t base;                  /* where it decodes while mapped */
};

struct pci_device {
	struct pci_bus *bus;
	struct pci_device_desc desc;
	unsigned slot;
	uint8_t cfg[PCI_CFG_SPACE_SIZE];   /* values (device caps: see cap_off) */
	uint8_t wmask[PCI_CFG_SPACE_SIZE]; /* bits the guest may change */
	uint8_t cap_off[PCI_MAX_DEVICE_CAPS];
	uint8_t msix_cap;                  /* 0: none */
	uint8_t msi_cap;                   /* 0: none */
	struct pci_bar_state bar[PCI_NUM_BARS];
	uint32_t bar_reset[PCI_NUM_BARS];  /* addresses the board assigned */
	unsigned intx_gsi;                 /* where INTA# goes (interrupt map) */
	/* MSI-X table (16 bytes per vector, little endian) and pending bits. */
	uint8_t *msix_table;
	uint64_t *msix_pba;
	/* irqfd (engine_ops.irqfd_msi): one eventfd per vector, NULL when the
	 * engine offers none.  'live' lets pci_msix_notify write the eventfd
	 * without the bus lock: set only while the vector would be sent now
	 * (enabled, unmasked, bus master) and the engine holds its message. */
	struct pci_msix_irqfd {
		int fd;
		_Atomic bool live;
		bool bound;                /* the engine has fd with addr/data */
		uint64_t addr;
		uint32_t data;
	} *msix_irqfd;
	bool msix_irqfd_off;               /* the engine refused: plain path only */
	bool intx_level;                   /* as the device drives INTA# */
	bool intx_out;                     /* what reaches the line (not disabled) */
};

struct pci_bus {
	struct vm *vm;
	pthread_mutex_t lock;
	uint32_t config_address;           /* port 0xCF8 */
	struct pci_device *slots[PCI_SLOTS];
	unsigned intx_count[LAYOUT_PCI_INTX_PINS]; /* devices asserting each line */
	/* The window that was at 0xCF9 (the chipset reset control register,
	 * which shares the dword with CONFIG_ADDRESS): byte accesses go there. */
	const struct bus_ops *cf9_ops;
	void *cf9_opaque;
	uint64_t alloc_mmio, alloc_io;     /* next free address for assign_bars */
	bool pio_cf8, pio_cfc, mmio_ecam, mmio_win, pio_win;
	uint64_t stats_cfg_reads, stats_cfg_writes, stats_msi, stats_bar_refused;
	_Atomic uint64_t stats_irqfd;      /* MSI-X messages sent through an irqfd */
};

/* pci_bus.c */
struct pci_bus *pci_bus_new(struct vm *vm);   /* no bus windows (unit tests) */
void pci_bus_free(struct pci_bus *b);
int pci_bus_attach(struct pci_bus *b);         /* register the bus windows */
void pci_bus_reset(struct pci_bus *b);         /* machine reset */
/* Configuration access by bus/device/function/offset, as both mechanisms
 * see it: absent functions read all-ones and ignore writes. */
uint32_t pci_bus_cfg_read(struct pci_bus *b, unsigned busno, unsigned devfn,
			  unsigned off, unsigned size);
void pci_bus_cfg_write(struct pci_bus *b, unsigned busno, unsigned devfn,
		       unsigned off, unsigned size, uint32_t value);
extern const struct bus_ops pci_cf8_ops, pci_ecam_ops, pci_mmio_win_ops, pci_io_win_ops;

/* pci_config.c (lock held) */
void pci_config_init(struct pci_device *d);
void pci_config_reset(struct pci_device *d);
uint32_t pci_config_read(struct pci_device *d, unsigned off, unsigned size);
/* The device capability whose data bytes hold all of [off, off+size), or
 * NULL (the bus calls its cap_read/cap_write without its lock). */
const struct pci_cap_desc *pci_config_cap_hook(const struct pci_device *d, unsigned off,
					       unsigned size);
/* Returns true if COMMAND or a BAR changed (decode must be recomputed). */
bool pci_config_write(struct pci_device *d, unsigned off, unsigned size, uint32_t value);
uint16_t pci_config_command(const struct pci_device *d);
/* Address BAR i decodes at (for a 64-bit BAR, i is the low half). */
uint64_t pci_config_bar_addr(const struct pci_device *d, unsigned i);

/* pci_bar.c (lock held) */
void pci_bar_update(struct pci_bus *b);
/* Which BAR of which device decodes addr in space (BUS_PIO/BUS_MMIO); the
 * offset inside it.  NULL if none. */
struct pci_device *pci_bar_lookup(struct pci_bus *b, int kind, uint64_t addr,
				  unsigned *bar, uint64_t *offset);

/* pci_msix.c (lock held) */
int pci_msix_init(struct pci_device *d);
void pci_msix_reset(struct pci_device *d);
void pci_msix_free(struct pci_device *d);
/* Accesses inside the msix BAR: true if offset is the table's or PBA's. */
bool pci_msix_bar_read(struct pci_device *d, uint64_t offset, unsigned size, uint64_t *value);
bool pci_msix_bar_write(struct pci_device *d, uint64_t offset, unsigned size, uint64_t value);
/* MSI-X control changed (enable / function mask): send what is pending. */
void pci_msix_control_changed(struct pci_device *d);
/* Bring the irqfds in step with the table, masks, enable and COMMAND's bus
 * master bit (after any of them changed). */
void pci_msix_irqfd_sync(struct pci_device *d);
void pci_intx_update(struct pci_device *d);

/* pci_msi.c (lock held) */
unsigned pci_msi_cap_len(const struct pci_device_desc *desc);  /* 0: no MSI */
void pci_msi_config_init(struct pci_device *d, unsigned off);
void pci_msi_reset(struct pci_device *d);
bool pci_msi_enabled_locked(const struct pci_device *d);
/* The capability was written (enable, MME, mask bits): send what is pending. */
void pci_msi_config_changed(struct pci_device *d);

#endif
