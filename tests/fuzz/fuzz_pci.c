/* libFuzzer target: PCI configuration space and the host bridge windows
 * (src/hw/pci/).  A bus with two devices (memory, I/O and 64-bit BARs, a
 * device capability, MSI-X, INTA#) whose interrupts reach the soft engine's
 * IOAPIC and LAPICs, driven by 10-byte records:
 *
 *   op  size  addr[4]  value[4]
 *
 *   op % 8: 0 CONFIG_ADDRESS write (0xCF8, dword), 1 CONFIG_DATA access
 *   (0xCFC + addr & 3), 2 ECAM access (buses 0-1), 3 access in the 32-bit
 *   memory window, 4 access in the I/O window, 5 MSI-X notify (vector
 *   value & 7, device op bit 3), 6 INTx level, 7 bus reset.
 *   size: bits 0-1 log2 of the access size, bit 7 write.
 *
 * Checked besides crashes, UB and leaks: the host bridge's IDs never change;
 * every mapped BAR lies inside its window and no two mapped BARs of a kind
 * overlap; a pending vector is -1 or 0..255. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ringvm/bus.h"
#include "ringvm/layout.h"
#include "ringvm/vm.h"
#include "src/cpu/soft/irqchip/irqchip.h"
#include "src/hw/pci/pci_priv.h"

#define FUZZ_PCI_REC 10
#define FUZZ_PCI_MAX_RECS 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_pci {
	struct vm vm;
	struct board_irqchip *board;
	struct soft_irqchip *chip;
	struct pci_bus *bus;
	struct pci_device *dev[2];
	uint8_t regs[2][64];
	uint64_t now;
};

static uint64_t fp_clock(void *opaque)
{
	return ((struct fuzz_pci *)opaque)->now;
}

static void fp_wake(void *opaque, unsigned cpu)
{
	(void)opaque;
	(void)cpu;
}

static uint64_t fp_read(void *opaque, uint64_t off, unsigned size)
{
	uint8_t *r = opaque;
	uint64_t v = 0;
	for (unsigned i = 0; i < size; i++)
		v |= (uint64_t)r[(off + i) % 64] << (8 * i);
	return v;
}

static void fp_write(void *opaque, uint64_t off, unsigned size, uint64_t v)
{
	uint8_t *r = opaque;
	for (unsigned i = 0; i < size; i++)
		r[(off + i) % 64] = (uint8_t)(v >> (8 * i));
}

static const struct bus_ops fp_ops = { .read = fp_read, .write = fp_write };

static void fp_cap_write(void *opaque, unsigned off, unsigned size, uint32_t value)
{
	if (off < 2 || off + size > 12)  /* the bus keeps writes inside the capability */
		abort();
	(void)opaque;
	(void)value;
}

static const uint8_t fp_cap[12] = { 0, 0, 12, 1, 2, 3, 4, 5, 6, 7, 8, 9 };

static void fp_check(struct fuzz_pci *f)
{
	struct pci_bus *b = f->bus;
	if (pci_bus_cfg_read(b, 0, 0, 0, 4) != 0x29c08086u)
		abort();
	pthread_mutex_lock(&b->lock);
	for (unsigned s = 0; s < PCI_SLOTS; s++) {
		struct pci_device *d = b->slots[s];
		for (unsigned i = 0; d && i < PCI_NUM_BARS; i++) {
			if (!d->bar[i].mapped)
				continue;
			bool io = d->desc.bar[i].kind == PCI_BAR_IO;
			uint64_t lo = io ? LAYOUT_PCI_IO_START : LAYOUT_PCI_MMIO32_START;
			uint64_t hi = io ? LAYOUT_PCI_IO_END : LAYOUT_PCI_MMIO32_END;
			uint64_t base = d->bar[i].base, len = d->desc.bar[i].size;
			if (base < lo || base + len > hi)
				abort();
			for (unsigned t = s; t < PCI_SLOTS; t++) {
				struct pci_device *o = b->slots[t];
				for (unsigned j = (t == s ? i + 1 : 0); o && j < PCI_NUM_BARS; j++) {
					if (!o->bar[j].mapped || (o->desc.bar[j].kind == PCI_BAR_IO) != io)
						continue;
					uint64_t ob = o->bar[j].base, ol = o->desc.bar[j].size;
					if (base < ob + ol && ob < base + len)
						abort();
				}
			}
		}
	}
	pthread_mutex_unlock(&b->lock);
	int v = soft_irqchip_pending(f->chip, 0, true);
	if (v < -1 || v > 255)
		abort();
}

static void fp_access(struct bus *bus, uint64_t addr, unsigned size, bool write, uint32_t val)
{
	uint64_t v = val;
	if (write)
		bus_write(bus, addr, size, v);
	else
		bus_read(bus, addr, size, &v);
}

static void fp_one(struct fuzz_pci *f, const uint8_t *r)
{
	unsigned op = r[0] & 7, size = 1u << (r[1] & 3);
	bool write = r[1] & 0x80;
	uint32_t addr = (uint32_t)r[2] | (uint32_t)r[3] << 8 | (uint32_t)r[4] << 16 |
			(uint32_t)r[5] << 24;
	uint32_t val = (uint32_t)r[6] | (uint32_t)r[7] << 8 | (uint32_t)r[8] << 16 |
		       (uint32_t)r[9] << 24;
	struct pci_device *d = f->dev[(r[0] >> 3) & 1];

	switch (op) {
	case 0:
		bus_write(&f->vm.pio, PORT_PCI_CONFIG_ADDRESS, 4, val);
		break;
	case 1:
		fp_access(&f->vm.pio, PORT_PCI_CONFIG_DATA + (addr & 3), size > 4 ? 4 : size,
			  write, val);
		break;
	case 2:
		fp_access(&f->vm.mmio, LAYOUT_PCI_ECAM + (addr & 0x1fffff), size, write, val);
		break;
	case 3:
		fp_access(&f->vm.mmio, LAYOUT_PCI_MMIO32_START +
			  (addr & (LAYOUT_PCI_MMIO32_END - LAYOUT_PCI_MMIO32_START - 1)),
			  size, write, val);
		break;
	case 4:
		fp_access(&f->vm.pio, LAYOUT_PCI_IO_START +
			  (addr & (LAYOUT_PCI_IO_END - LAYOUT_PCI_IO_START - 1)),
			  size > 4 ? 4 : size, write, val);
		break;
	case 5:
		pci_msix_notify(d, val & 7);
		break;
	case 6:
		pci_intx_set(d, val & 1);
		break;
	default:
		pci_bus_reset(f->bus);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_pci *f = calloc(1, sizeof(*f));
	if (!f)
		return 0;
	f->now = 1000000000ULL;
	if (bus_init(&f->vm.pio, BUS_PIO) || bus_init(&f->vm.mmio, BUS_MMIO))
		abort();
	struct board_irqchip_config bcfg = { .clock = fp_clock, .clock_opaque = f };
	f->board = board_irqchip_create(&f->vm, &bcfg);
	if (!f->board)
		abort();
	struct soft_irqchip_config cfg = { .nr_vcpus = 1, .clock = fp_clock, .clock_opaque = f,
					   .board = f->board };
	f->chip = soft_irqchip_create_cfg(&f->vm, &cfg);
	if (!f->chip)
		abort();
	soft_irqchip_set_wake(f->chip, fp_wake, f);
	f->vm.irq = *board_irqchip_router(f->board);
	f->bus = pci_bus_new(&f->vm);
	if (!f->bus)
		abort();
	f->vm.pci = f->bus;
	if (pci_bus_attach(f->bus) < 0)
		abort();
	for (unsigned i = 0; i < 2; i++) {
		struct pci_device_desc desc = {
			.name = "fuzz", .vendor_id = 0x1af4, .device_id = (uint16_t)(0x1000 + i),
			.class_code = 0xff0000,
			.bar = {
				[0] = { .kind = PCI_BAR_MEM32, .size = 0x2000, .ops = &fp_ops,
					.opaque = f->regs[i] },
				[1] = { .kind = PCI_BAR_IO, .size = 64, .ops = &fp_ops,
					.opaque = f->regs[i] },
				[2] = { .kind = PCI_BAR_MEM64, .size = 0x4000, .ops = &fp_ops,
					.opaque = f->regs[i] },
			},
			.nr_caps = 1,
			.caps = { { .id = 9, .len = 12, .data = fp_cap, .cap_write = fp_cap_write } },
			.msix_vectors = i ? 8 : 3, .msix_bar = i ? 2 : 0,
			.msi_vectors = i ? 0 : 4, .msi_masking = true,
			.msix_table_offset = 0x1000, .msix_pba_offset = 0x1800,
			.intx = true,
		};
		if (pci_device_register(&f->vm, &desc, &f->dev[i]) < 0)
			abort();
	}

	size_t n = size / FUZZ_PCI_REC;
	if (n > FUZZ_PCI_MAX_RECS)
		n = FUZZ_PCI_MAX_RECS;
	for (size_t i = 0; i < n; i++) {
		fp_one(f, data + i * FUZZ_PCI_REC);
		if ((i & 7) == 7)
			fp_check(f);
	}
	fp_check(f);

	pci_bus_free(f->bus);
	soft_irqchip_destroy(f->chip);
	board_irqchip_destroy(f->board);
	bus_destroy(&f->vm.pio);
	bus_destroy(&f->vm.mmio);
	free(f);
	return 0;
}
