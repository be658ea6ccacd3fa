/* The PCI host bridge and its bus 0.
 *
 *   00:00.0       host bridge, Intel Q35 IDs (8086:29c0, the 82G33/Q35 MCH
 *                 "DRAM controller" QEMU's q35 board also shows), class 0600
 *   0xCF8 (dword) CONFIG_ADDRESS of configuration mechanism #1 (PCI Local
 *                 Bus spec 3.0, 3.2.2.3.2): enable bit 31, bus 23:16,
 *                 device 15:11, function 10:8, register 7:2; a byte access
 *                 at 0xCF9 is the chipset's reset control register, which
 *                 shares the dword (the ACPI PM device's window is taken
 *                 over and forwarded to)
 *   0xCFC-0xCFF   CONFIG_DATA: byte, word or dword inside the selected dword
 *   ECAM          LAYOUT_PCI_ECAM, 1 MiB per bus, 4 KiB per function (PCIe
 *                 base spec 7.2.2), announced by the MCFG table
 *   windows       LAYOUT_PCI_MMIO32_* and LAYOUT_PCI_IO_*: BARs decode
 *                 there (pci_bar.c); the DSDT's \_SB.PCI0._CRS says so
 *
 * Only bus 0, function 0 of each slot exists; any other function reads
 * all-ones and ignores writes, as a master abort does.  Devices register in
 * the next free slot; their BARs get addresses in the windows as firmware
 * would give them (decode is off until the guest sets COMMAND), and their
 * INTA# goes to the GSI of the board's interrupt map (board_pci_intx_gsi). */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "pci_priv.h"
#include "ringvm/device.h"
#include "ringvm/log.h"
#include "ringvm/vm.h"

#define PCI_HOST_VENDOR 0x8086
#define PCI_HOST_DEVICE 0x29c0
#define PCI_CLASS_HOST_BRIDGE 0x060000

#define CF8_ENABLE      0x80000000u
#define CF8_WRITABLE    0x80fffffcu  /* reserved bits 30:24 and 1:0 read 0 */

/* ---- Configuration access ------------------------------------------------ */

static struct pci_device *fn_at(struct pci_bus *b, unsigned busno, unsigned devfn)
{
	if (busno != 0 || (devfn & 7) != 0)
		return NULL;
	return b->slots[devfn >> 3];
}

uint32_t pci_bus_cfg_read(struct pci_bus *b, unsigned busno, unsigned devfn,
			  unsigned off, unsigned size)
{
	pthread_mutex_lock(&b->lock);
	b->stats_cfg_reads++;
	struct pci_device *d = fn_at(b, busno, devfn);
	const struct pci_cap_desc *cap = d ? pci_config_cap_hook(d, off, size) : NULL;
	if (cap && cap->cap_read) {
		/* A device capability that answers itself (a window into a BAR,
		 * VIRTIO_PCI_CAP_PCI_CFG): called without the bus lock, which
		 * the device's BAR handlers may take.  Devices are never removed
		 * while the VM runs, so d and cap stay valid. */
		unsigned co = off - d->cap_off[cap - d->desc.caps];
		pthread_mutex_unlock(&b->lock);
		uint32_t v = cap->cap_read(cap->opaque, co, size);
		return size < 4 ? v & ((1u << (8 * size)) - 1) : v;
	}
	uint32_t v = d ? pci_config_read(d, off, size) : 0xffffffffu;
	pthread_mutex_unlock(&b->lock);
	if (size < 4)
		v &= (1u << (8 * size)) - 1;
	return v;
}

void pci_bus_cfg_write(struct pci_bus *b, unsigned busno, unsigned devfn,
		       unsigned off, unsigned size, uint32_t value)
{
	pthread_mutex_lock(&b->lock);
	b->stats_cfg_writes++;
	struct pci_device *d = fn_at(b, busno, devfn);
	const struct pci_cap_desc *cap = d ? pci_config_cap_hook(d, off, size) : NULL;
	if (cap) {
		/* Inside a device capability: its cap_write (or nothing), without
		 * the bus lock as for cap_read above. */
		unsigned co = off - d->cap_off[cap - d->desc.caps];
		pthread_mutex_unlock(&b->lock);
		if (cap->cap_write)
			cap->cap_write(cap->opaque, co, size, value);
		return;
	}
	bool moved = d && pci_config_write(d, off, size, value);
	if (moved)
		pci_bar_update(b);
	pthread_mutex_unlock(&b->lock);
	/* A moved BAR can unmap another device's BAR too: tell every device. */
	for (unsigned s = 0; moved && s < PCI_SLOTS; s++)
		if (b->slots[s] && b->slots[s]->desc.bars_changed)
			b->slots[s]->desc.bars_changed(b->slots[s]->desc.opaque);
}

bool pci_bar_base(struct pci_device *d, unsigned n, uint64_t *base)
{
	if (n >= PCI_NUM_BARS)
		return false;
	pthread_mutex_lock(&d->bus->lock);
	bool mapped = d->bar[n].mapped;
	*base = d->bar[n].base;
	pthread_mutex_unlock(&d->bus->lock);
	return mapped;
}

static uint64_t cf8_read(void *opaque, uint64_t off, unsigned size)
{
	struct pci_bus *b = opaque;
	if (off == 0 && size == 4) {
		pthread_mutex_lock(&b->lock);
		uint32_t v = b->config_address;
		pthread_mutex_unlock(&b->lock);
		return v;
	}
	if (off == 1 && size == 1 && b->cf9_ops)
		return b->cf9_ops->read(b->cf9_opaque, 0, 1);
	return ~0ULL;  /* byte/word accesses elsewhere go to ISA: nothing there */
}

static void cf8_write(void *opaque, uint64_t off, unsigned size, uint64_t value)
{
	struct pci_bus *b = opaque;
	if (off == 0 && size == 4) {
		pthread_mutex_lock(&b->lock);
		b->config_address = (uint32_t)value & CF8_WRITABLE;
		pthread_mutex_unlock(&b->lock);
	} else if (off == 1 && size == 1 && b->cf9_ops) {
		b->cf9_ops->write(b->cf9_opaque, 0, 1, value);
	}
}

const struct bus_ops pci_cf8_ops = { .read = cf8_read, .write = cf8_write };

static bool cfc_target(struct pci_bus *b, uint64_t off, unsigned *busno, unsigned *devfn,
		       unsigned *reg)
{
	pthread_mutex_lock(&b->lock);
	uint32_t a = b->config_address;
	pthread_mutex_unlock(&b->lock);
	if (!(a & CF8_ENABLE))
		return false;
	*busno = (a >> 16) & 0xff;
	*devfn = (a >> 8) & 0xff;
	*reg = (a & 0xfc) + (unsigned)off;
	return true;
}

static uint64_t cfc_read(void *opaque, uint64_t off, unsigned size)
{
	struct pci_bus *b = opaque;
	unsigned busno, devfn, reg;
	if (size > 4 || !cfc_target(b, off, &busno, &devfn, &reg))
		return ~0ULL;
	return pci_bus_cfg_read(b, busno, devfn, reg, size);
}

static void cfc_write(void *opaque, uint64_t off, unsigned size, uint64_t value)
{
	struct pci_bus *b = opaque;
	unsigned busno, devfn, reg;
	if (size <= 4 && cfc_target(b, off, &busno, &devfn, &reg))
		pci_bus_cfg_write(b, busno, devfn, reg, size, (uint32_t)value);
}

static const struct bus_ops pci_cfc_ops = { .read = cfc_read, .write = cfc_write };

/* ECAM: offset = bus << 20 | device << 15 | function << 12 | register.  An
 * access must stay inside one function's 4 KiB; 8-byte accesses are two
 * dwords (PCIe base spec 7.2.2 leaves them undefined). */
static uint64_t ecam_read(void *opaque, uint64_t off, unsigned size)
{
	struct pci_bus *b = opaque;
	unsigned reg = (unsigned)(off & 0xfff);
	if (reg + size > PCI_CFG_SPACE_SIZE)
		return ~0ULL;
	unsigned busno = (unsigned)(off >> 20), devfn = (unsigned)(off >> 12) & 0xff;
	if (size == 8)
		return pci_bus_cfg_read(b, busno, devfn, reg, 4) |
		       (uint64_t)pci_bus_cfg_read(b, busno, devfn, reg + 4, 4) << 32;
	return pci_bus_cfg_read(b, busno, devfn, reg, size);
}

static void ecam_write(void *opaque, uint64_t off, unsigned size, uint64_t value)
{
	struct pci_bus *b = opaque;
	unsigned reg = (unsigned)(off & 0xfff);
	if (reg + size > PCI_CFG_SPACE_SIZE)
		return;
	unsigned busno = (unsigned)(off >> 20), devfn = (unsigned)(off >> 12) & 0xff;
	if (size == 8) {
		pci_bus_cfg_write(b, busno, devfn, reg, 4, (uint32_t)value);
		pci_bus_cfg_write(b, busno, devfn, reg + 4, 4, (uint32_t)(value >> 32));
		return;
	}
	pci_bus_cfg_write(b, busno, devfn, reg, size, (uint32_t)value);
}

const struct bus_ops pci_ecam_ops = { .read = ecam_read, .write = ecam_write };

/* ---- The bridge windows: BAR accesses ------------------------------------ */

static uint64_t win_read(struct pci_bus *b, int kind, uint64_t addr, unsigned size)
{
	unsigned bar;
	uint64_t off, v = ~0ULL;
	pthread_mutex_lock(&b->lock);
	struct pci_device *d = pci_bar_lookup(b, kind, addr, &bar, &off);
	if (!d || size > d->desc.bar[bar].size - off) {
		pthread_mutex_unlock(&b->lock);
		return ~0ULL;   /* master abort */
	}
	if (bar == d->desc.msix_bar && pci_msix_bar_read(d, off, size, &v)) {
		pthread_mutex_unlock(&b->lock);
		return v;
	}
	const struct bus_ops *ops = d->desc.bar[bar].ops;
	void *opaque = d->desc.bar[bar].opaque;
	pthread_mutex_unlock(&b->lock);
	return ops ? ops->read(opaque, off, size) : ~0ULL;
}

static void win_write(struct pci_bus *b, int kind, uint64_t addr, unsigned size, uint64_t value)
{
	unsigned bar;
	uint64_t off;
	pthread_mutex_lock(&b->lock);
	struct pci_device *d = pci_bar_lookup(b, kind, addr, &bar, &off);
	if (!d || size > d->desc.bar[bar].size - off) {
		pthread_mutex_unlock(&b->lock);
		return;
	}
	if (bar == d->desc.msix_bar && pci_msix_bar_write(d, off, size, value)) {
		pthread_mutex_unlock(&b->lock);
		return;
	}
	const struct bus_ops *ops = d->desc.bar[bar].ops;
	void *opaque = d->desc.bar[bar].opaque;
	pthread_mutex_unlock(&b->lock);
	if (ops)
		ops->write(opaque, off, size, value);
}

static uint64_t mmio_win_read(void *opaque, uint64_t off, unsigned size)
{
	return win_read(opaque, BUS_MMIO, LAYOUT_PCI_MMIO32_START + off, size);
}

static void mmio_win_write(void *opaque, uint64_t off, unsigned size, uint64_t value)
{
	win_write(opaque, BUS_MMIO, LAYOUT_PCI_MMIO32_START + off, size, value);
}

static uint64_t io_win_read(void *opaque, uint64_t off, unsigned size)
{
	return win_read(opaque, BUS_PIO, LAYOUT_PCI_IO_START + off, size);
}

static void io_win_write(void *opaque, uint64_t off, unsigned size, uint64_t value)
{
	win_write(opaque, BUS_PIO, LAYOUT_PCI_IO_START + off, size, value);
}

const struct bus_ops pci_mmio_win_ops = { .read = mmio_win_read, .write = mmio_win_write };
const struct bus_ops pci_io_win_ops = { .read = io_win_read, .write = io_win_write };

/* ---- INTx ----------------------------------------------------------------- */

/* What reaches the line: the device's level unless COMMAND.INTX_DISABLE,
 * MSI-X or MSI is on (6.8.1.3, 6.8.2: a function with either enabled does
 * not use INTx).
 * Lines are shared: a GSI is asserted while any device asserts it.  Bus
 * lock held. */
void pci_intx_update(struct pci_device *d)
{
	struct pci_bus *b = d->bus;
	bool msix_on = d->msix_cap && (d->cfg[d->msix_cap + 3] & (PCI_MSIX_CTRL_ENABLE >> 8));
	bool out = d->intx_level && !(pci_config_command(d) & PCI_COMMAND_INTX_DISABLE) &&
		   !msix_on && !pci_msi_enabled_locked(d);
	if (out == d->intx_out || !d->desc.intx)
		return;
	d->intx_out = out;
	unsigned line = d->intx_gsi - LAYOUT_PCI_INTX_GSI_BASE;
	bool was = b->intx_count[line] > 0;
	b->intx_count[line] += out ? 1 : -1u;
	bool now = b->intx_count[line] > 0;
	if (was != now && b->vm && b->vm->irq.set_level)
		b->vm->irq.set_level(b->vm->irq.opaque, d->intx_gsi, now);
}

void pci_intx_set(struct pci_device *d, bool level)
{
	pthread_mutex_lock(&d->bus->lock);
	d->intx_level = level;
	pci_intx_update(d);
	pthread_mutex_unlock(&d->bus->lock);
}

bool pci_bus_master(const struct pci_device *d)
{
	pthread_mutex_lock(&d->bus->lock);
	bool on = pci_config_command(d) & PCI_COMMAND_MASTER;
	pthread_mutex_unlock(&d->bus->lock);
	return on;
}

unsigned pci_device_slot(const struct pci_device *d)
{
	return d->slot;
}

/* ---- Registration ----------------------------------------------------------- */

static bool pow2(uint64_t x) { return x && !(x & (x - 1)); }

/* The description is the device's code, not the guest's; still, one that
 * cannot be modelled is refused with a message naming the field. */
static int desc_check(const struct pci_device_desc *desc)
{
	const char *n = desc->name ? desc->name : "?";
	unsigned cap_bytes = (desc->msix_vectors ? PCI_MSIX_CAP_LEN : 0) + pci_msi_cap_len(desc);

	for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
		const struct pci_bar_desc *bd = &desc->bar[i];
		switch (bd->kind) {
		case PCI_BAR_UNUSED:
			continue;
		case PCI_BAR_IO:
			if (!pow2(bd->size) || bd->size < 4 || bd->size > 256)
				goto bad_size;
			break;
		case PCI_BAR_MEM64:
			if (i + 1 >= PCI_NUM_BARS || desc->bar[i + 1].kind != PCI_BAR_UNUSED) {
				pr_err("pci: %s: 64-bit BAR %u needs BAR %u free", n, i, i + 1);
				return -EINVAL;
			}
			/* fallthrough */
		case PCI_BAR_MEM32:
			if (!pow2(bd->size) || bd->size < 4096 ||
			    bd->size > (LAYOUT_PCI_MMIO32_END - LAYOUT_PCI_MMIO32_START) / 2)
				goto bad_size;
			break;
		default:
			pr_err("pci: %s: BAR %u has an unknown kind", n, i);
			return -EINVAL;
		}
		if (bd->kind == PCI_BAR_MEM64)
			i++;
		continue;
bad_size:
		pr_err("pci: %s: BAR %u size 0x%" PRIx64 " is not a power of two in range", n, i,
		       bd->size);
		return -EINVAL;
	}
	if (desc->msix_vectors) {
		const struct pci_bar_desc *bd = desc->msix_bar < PCI_NUM_BARS ?
			&desc->bar[desc->msix_bar] : NULL;
		uint64_t tl = (uint64_t)desc->msix_vectors * PCI_MSIX_ENTRY_SIZE;
		uint64_t pl = (desc->msix_vectors + 63) / 64 * 8ULL;
		if (desc->msix_vectors > PCI_MSIX_MAX_VECTORS || !bd ||
		    (bd->kind != PCI_BAR_MEM32 && bd->kind != PCI_BAR_MEM64) ||
		    (desc->msix_table_offset & 7) || (desc->msix_pba_offset & 7) ||
		    desc->msix_table_offset + tl > bd->size || desc->msix_pba_offset + pl > bd->size ||
		    (desc->msix_table_offset < desc->msix_pba_offset + pl &&
		     desc->msix_pba_offset < desc->msix_table_offset + tl)) {
			pr_err("pci: %s: MSI-X vectors/BAR/table/PBA do not fit", n);
			return -EINVAL;
		}
	}
	if (desc->msi_vectors && (desc->msi_vectors > PCI_MSI_MAX_VECTORS || !pow2(desc->msi_vectors))) {
		pr_err("pci: %s: MSI vectors %u is not 1, 2, 4, 8, 16 or 32", n, desc->msi_vectors);
		return -EINVAL;
	}
	if (desc->nr_caps > PCI_MAX_DEVICE_CAPS) {
		pr_err("pci: %s: more than %d capabilities", n, PCI_MAX_DEVICE_CAPS);
		return -EINVAL;
	}
	for (unsigned i = 0; i < desc->nr_caps; i++) {
		if (desc->caps[i].len < 2) {
			pr_err("pci: %s: capability %u is shorter than its header", n, i);
			return -EINVAL;
		}
		cap_bytes += (desc->caps[i].len + 3u) & ~3u;
	}
	if (PCI_CAP_START + cap_bytes > PCI_CFG_LEGACY_SIZE) {
		pr_err("pci: %s: capabilities do not fit in configuration space", n);
		return -EINVAL;
	}
	return 0;
}

/* Give each BAR an address in its window, naturally aligned, as firmware
 * would (0 when the window is full: the guest assigns one). */
static void assign_bars(struct pci_bus *b, struct pci_device *d)
{
	for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
		const struct pci_bar_desc *bd = &d->desc.bar[i];
		uint64_t *next, end;
		if (bd->kind == PCI_BAR_IO) {
			next = &b->alloc_io;
			end = LAYOUT_PCI_IO_END;
		} else if (bd->kind == PCI_BAR_MEM32 || bd->kind == PCI_BAR_MEM64) {
			next = &b->alloc_mmio;
			end = LAYOUT_PCI_MMIO32_END;
		} else {
			continue;
		}
		uint64_t a = (*next + bd->size - 1) & ~(bd->size - 1);
		if (a + bd->size <= end) {
			d->bar_reset[i] = (uint32_t)a;
			*next = a + bd->size;
		}
		if (bd->kind == PCI_BAR_MEM64)
			i++;
	}
}

static int bus_add(struct pci_bus *b, const struct pci_device_desc *desc, unsigned slot,
		   struct pci_device **out)
{
	int r = desc_check(desc);
	if (r < 0)
		return r;
	struct pci_device *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->bus = b;
	d->desc = *desc;
	d->slot = slot;
	d->intx_gsi = board_pci_intx_gsi(slot, 0);
	r = pci_msix_init(d);
	if (r < 0) {
		free(d);
		return r;
	}
	pci_config_init(d);
	assign_bars(b, d);
	pci_config_reset(d);
	pthread_mutex_lock(&b->lock);
	b->slots[slot] = d;
	pthread_mutex_unlock(&b->lock);
	if (out)
		*out = d;
	return 0;
}

int pci_device_register(struct vm *vm, const struct pci_device_desc *desc,
			struct pci_device **out)
{
	struct pci_bus *b = vm->pci;
	if (!b) {
		pr_err("pci: %s: the machine has no PCI bus", desc->name ? desc->name : "?");
		return -ENODEV;
	}
	for (unsigned s = 1; s < PCI_SLOTS; s++) {
		if (b->slots[s])
			continue;
		int r = bus_add(b, desc, s, out);
		if (r == 0)
			log_msg(LOG_DEBUG, "pci: %02x.0 %s (%04x:%04x)", s, desc->name,
				desc->vendor_id, desc->device_id);
		return r;
	}
	pr_err("pci: %s: no free slot on bus 0", desc->name ? desc->name : "?");
	return -ENOSPC;
}

/* ---- The bus as a device of the VM -------------------------------------------- */

struct pci_bus *pci_bus_new(struct vm *vm)
{
	struct pci_bus *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->vm = vm;
	pthread_mutex_init(&b->lock, NULL);
	b->alloc_mmio = LAYOUT_PCI_MMIO32_START;
	b->alloc_io = LAYOUT_PCI_IO_START;
	static const struct pci_device_desc host = {
		.name = "host-bridge",
		.vendor_id = PCI_HOST_VENDOR, .device_id = PCI_HOST_DEVICE,
		.subsystem_vendor_id = PCI_HOST_VENDOR, .subsystem_id = PCI_HOST_DEVICE,
		.class_code = PCI_CLASS_HOST_BRIDGE,
	};
	if (bus_add(b, &host, 0, NULL) < 0) {
		pci_bus_free(b);
		return NULL;
	}
	return b;
}

void pci_bus_free(struct pci_bus *b)
{
	if (!b)
		return;
	struct vm *vm = b->vm;
	if (vm && b->pio_cf8) {
		bus_unregister(&vm->pio, PORT_PCI_CONFIG_ADDRESS);
		/* Give 0xCF9 back to its owner, which unregisters it itself. */
		if (b->cf9_ops)
			bus_register(&vm->pio, PORT_PCI_CONFIG_ADDRESS + 1, 1, b->cf9_ops,
				     b->cf9_opaque, "reset-control");
	}
	if (vm && b->pio_cfc)
		bus_unregister(&vm->pio, PORT_PCI_CONFIG_DATA);
	if (vm && b->pio_win)
		bus_unregister(&vm->pio, LAYOUT_PCI_IO_START);
	if (vm && b->mmio_ecam)
		bus_unregister(&vm->mmio, LAYOUT_PCI_ECAM);
	if (vm && b->mmio_win)
		bus_unregister(&vm->mmio, LAYOUT_PCI_MMIO32_START);
	for (unsigned s = 0; s < PCI_SLOTS; s++) {
		if (!b->slots[s])
			continue;
		pci_msix_free(b->slots[s]);
		free(b->slots[s]);
	}
	if (vm && vm->pci == b)
		vm->pci = NULL;
	pthread_mutex_destroy(&b->lock);
	free(b);
}

int pci_bus_attach(struct pci_bus *b)
{
	struct vm *vm = b->vm;
	/* The reset control register at 0xCF9 (ACPI PM, if present) shares the
	 * CONFIG_ADDRESS dword: take its window and forward byte accesses. */
	if (bus_take(&vm->pio, PORT_PCI_CONFIG_ADDRESS + 1, 1, &b->cf9_ops, &b->cf9_opaque) < 0)
		b->cf9_ops = NULL;
	int r = bus_register(&vm->pio, PORT_PCI_CONFIG_ADDRESS, 4, &pci_cf8_ops, b, "pci-cf8");
	if (r < 0) {
		if (b->cf9_ops)
			bus_register(&vm->pio, PORT_PCI_CONFIG_ADDRESS + 1, 1, b->cf9_ops,
				     b->cf9_opaque, "reset-control");
		return r;
	}
	b->pio_cf8 = true;
	if ((r = bus_register(&vm->pio, PORT_PCI_CONFIG_DATA, 4, &pci_cfc_ops, b, "pci-cfc")) < 0)
		return r;
	b->pio_cfc = true;
	if ((r = bus_register(&vm->mmio, LAYOUT_PCI_ECAM, LAYOUT_PCI_ECAM_SIZE, &pci_ecam_ops, b,
			      "pci-ecam")) < 0)
		return r;
	b->mmio_ecam = true;
	if ((r = bus_register(&vm->mmio, LAYOUT_PCI_MMIO32_START,
			      LAYOUT_PCI_MMIO32_END - LAYOUT_PCI_MMIO32_START, &pci_mmio_win_ops, b,
			      "pci-mmio")) < 0)
		return r;
	b->mmio_win = true;
	if ((r = bus_register(&vm->pio, LAYOUT_PCI_IO_START,
			      LAYOUT_PCI_IO_END - LAYOUT_PCI_IO_START, &pci_io_win_ops, b,
			      "pci-io")) < 0)
		return r;
	b->pio_win = true;
	return 0;
}

/* Machine reset: every function back to its power-on header (BARs at the
 * board's addresses, decode off, MSI-X off and masked), then the devices'
 * own reset hooks. */
void pci_bus_reset(struct pci_bus *b)
{
	pthread_mutex_lock(&b->lock);
	b->config_address = 0;
	for (unsigned s = 0; s < PCI_SLOTS; s++) {
		struct pci_device *d = b->slots[s];
		if (!d)
			continue;
		pci_config_reset(d);
		pci_msix_reset(d);
		pci_intx_update(d);
	}
	pci_bar_update(b);
	pthread_mutex_unlock(&b->lock);
	for (unsigned s = 0; s < PCI_SLOTS; s++) {
		struct pci_device *d = b->slots[s];
		if (d && d->desc.reset)
			d->desc.reset(d->desc.opaque);
	}
}

static void pci_bus_dev_reset(void *opaque)
{
	pci_bus_reset(opaque);
}

static void pci_bus_destroy(void *opaque)
{
	pci_bus_free(opaque);
}

static void pci_bus_print_stats(void *opaque, FILE *out)
{
	struct pci_bus *b = opaque;
	pthread_mutex_lock(&b->lock);
	unsigned n = 0;
	for (unsigned s = 0; s < PCI_SLOTS; s++)
		n += b->slots[s] != NULL;
	fprintf(out, "pci: %u functions, %" PRIu64 " config reads, %" PRIu64
		" config writes, %" PRIu64 " MSI-X messages, %" PRIu64 " BARs refused\n",
		n, b->stats_cfg_reads, b->stats_cfg_writes, b->stats_msi, b->stats_bar_refused);
	if (b->vm && b->vm->engine && b->vm->engine->irqfd_msi)
		fprintf(out, "pci: %" PRIu64 " MSI-X messages through irqfds\n",
			(uint64_t)atomic_load(&b->stats_irqfd));
	pthread_mutex_unlock(&b->lock);
}

/* Snapshots (docs/snapshot.md): CONFIG_ADDRESS and the configuration space
 * of each function.  A restore replays the saved space through the
 * guest's own write path (pci_bus_cfg_write), so only writable bits take,
 * and BARs are written before the command register that enables their
 * decoding, which maps them as a guest's writes would.  The status
 * register (write-1-to-clear) is not replayed.  Devices with MSI-X or
 * back ends (virtio) refuse snapshots on their own (no save op). */
struct pci_bus_snap_fn {
	uint32_t slot;
	uint32_t pad;
	uint8_t cfg[PCI_CFG_SPACE_SIZE];
};

static long pci_bus_save(void *opaque, void *buf, size_t cap)
{
	struct pci_bus *b = opaque;
	uint8_t *out = buf;
	size_t len = sizeof(uint32_t);
	if (cap < len)
		return -ENOSPC;
	pthread_mutex_lock(&b->lock);
	memcpy(out, &b->config_address, sizeof(uint32_t));
	for (unsigned s = 0; s < PCI_SLOTS; s++) {
		const struct pci_device *d = b->slots[s];
		if (!d)
			continue;
		struct pci_bus_snap_fn f = { .slot = s };
		if (cap - len < sizeof(f)) {
			pthread_mutex_unlock(&b->lock);
			return -ENOSPC;
		}
		memcpy(f.cfg, d->cfg, sizeof(f.cfg));
		memcpy(out + len, &f, sizeof(f));
		len += sizeof(f);
	}
	pthread_mutex_unlock(&b->lock);
	return (long)len;
}

static int pci_bus_load(void *opaque, const void *buf, size_t len)
{
	struct pci_bus *b = opaque;
	const uint8_t *in = buf;
	if (len < sizeof(uint32_t) || (len - sizeof(uint32_t)) % sizeof(struct pci_bus_snap_fn))
		return -EINVAL;
	size_t nr = (len - sizeof(uint32_t)) / sizeof(struct pci_bus_snap_fn);
	unsigned present = 0;
	for (unsigned s = 0; s < PCI_SLOTS; s++)
		present += b->slots[s] != NULL;
	if (nr != present)
		return -EINVAL;
	struct pci_bus_snap_fn *f = malloc(sizeof(*f));
	if (!f)
		return -ENOMEM;
	for (size_t i = 0; i < nr; i++) {
		memcpy(f, in + sizeof(uint32_t) + i * sizeof(*f), sizeof(*f));
		if (f->slot >= PCI_SLOTS || !b->slots[f->slot]) {
			free(f);
			return -EINVAL;
		}
		unsigned devfn = f->slot << 3;
		for (unsigned off = 0x10; off < PCI_CFG_SPACE_SIZE; off += 4) {
			uint32_t v;
			memcpy(&v, f->cfg + off, 4);
			pci_bus_cfg_write(b, 0, devfn, off, 4, v);
		}
		for (unsigned off = 0x08; off < 0x10; off += 4) {
			uint32_t v;
			memcpy(&v, f->cfg + off, 4);
			pci_bus_cfg_write(b, 0, devfn, off, 4, v);
		}
		uint16_t cmd;
		memcpy(&cmd, f->cfg + 4, 2);
		pci_bus_cfg_write(b, 0, devfn, 4, 2, cmd);
	}
	free(f);
	uint32_t ca;
	memcpy(&ca, in, sizeof(ca));
	pthread_mutex_lock(&b->lock);
	b->config_address = ca;
	pthread_mutex_unlock(&b->lock);
	return 0;
}

static const struct vm_device_ops pci_bus_dev_ops = {
	.save = pci_bus_save,
	.load = pci_bus_load,
	.reset = pci_bus_dev_reset,
	.destroy = pci_bus_destroy,
	.print_stats = pci_bus_print_stats,
};

static int pci_bus_create(struct vm *vm)
{
	struct pci_bus *b = pci_bus_new(vm);
	if (!b)
		return -ENOMEM;
	vm->pci = b;
	int r = pci_bus_attach(b);
	if (r == 0)
		r = vm_add_device(vm, "pci", &pci_bus_dev_ops, b);
	if (r < 0)
		pci_bus_free(b);
	return r;
}

/* After the legacy devices (order 10, the reset register among them),
 * before the PCI devices (order > 15). */
VM_DEVICE_ORDERED(pci, pci_bus_create, 15);
