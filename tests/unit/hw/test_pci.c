/* PCI bus: configuration space through both mechanisms, header write masks,
 * BAR sizing, moves and overlap refusal, the capability list, MSI-X table,
 * PBA and masks, INTx routing and hostile configuration accesses, on a
 * hand-built vm whose irq router records lines and MSIs. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include <errno.h>
#include <unistd.h>

#include "hw_test_vm.h"
#include "ringvm/bus.h"
#include "ringvm/engine.h"
#include "ringvm/layout.h"
#include "ringvm/pci.h"
#include "src/hw/pci/pci_priv.h"

/* ---- A test device: BAR0 16 KiB MMIO (registers at 0..0xff, MSI-X table
 * at 0x2000, PBA at 0x3000), BAR1 32-byte I/O, BAR2/3 a 64-bit BAR, one
 * vendor capability, INTA#. */
struct tdev {
	uint8_t regs[256];
	unsigned mmio_reads, mmio_writes, io_writes;
	unsigned cap_writes, cap_off, cap_size;
	uint32_t cap_value;
	unsigned resets;
};

static uint64_t tdev_read(void *opaque, uint64_t off, unsigned size)
{
	struct tdev *t = opaque;
	t->mmio_reads++;
	uint64_t v = 0;
	for (unsigned i = 0; i < size && off + i < sizeof(t->regs); i++)
		v |= (uint64_t)t->regs[off + i] << (8 * i);
	return v;
}

static void tdev_write(void *opaque, uint64_t off, unsigned size, uint64_t v)
{
	struct tdev *t = opaque;
	t->mmio_writes++;
	for (unsigned i = 0; i < size && off + i < sizeof(t->regs); i++)
		t->regs[off + i] = (uint8_t)(v >> (8 * i));
}

static void tdev_io_write(void *opaque, uint64_t off, unsigned size, uint64_t v)
{
	struct tdev *t = opaque;
	t->io_writes++;
}

static const struct bus_ops tdev_ops = { .read = tdev_read, .write = tdev_write };
static const struct bus_ops tdev_io_ops = { .read = tdev_read, .write = tdev_io_write };

static void tdev_cap_write(void *opaque, unsigned off, unsigned size, uint32_t value)
{
	struct tdev *t = opaque;
	t->cap_writes++;
	t->cap_off = off;
	t->cap_size = size;
	t->cap_value = value;
}

static void tdev_reset(void *opaque)
{
	struct tdev *t = opaque;
	t->resets++;
}

static const uint8_t tdev_cap_data[8] = { 0, 0, 8, 0xaa, 0xbb, 0xcc, 0xdd, 0xee };

static struct pci_device_desc tdev_desc(struct tdev *t)
{
	return (struct pci_device_desc){
		.name = "tdev", .vendor_id = 0x1af4, .device_id = 0x10ff,
		.subsystem_vendor_id = 0x1af4, .subsystem_id = 0x0001, .revision = 3,
		.class_code = 0xff0000,
		.bar = {
			[0] = { .kind = PCI_BAR_MEM32, .size = 0x4000, .ops = &tdev_ops, .opaque = t },
			[1] = { .kind = PCI_BAR_IO, .size = 32, .ops = &tdev_io_ops, .opaque = t },
			[2] = { .kind = PCI_BAR_MEM64, .size = 0x1000, .prefetchable = true },
		},
		.nr_caps = 1,
		.caps = { { .id = 0x09, .len = 8, .data = tdev_cap_data,
			    .cap_write = tdev_cap_write, .opaque = t } },
		.msix_vectors = 4, .msix_bar = 0,
		.msix_table_offset = 0x2000, .msix_pba_offset = 0x3000,
		.intx = true, .reset = tdev_reset, .opaque = t,
	};
}

struct fx {
	struct hw_test_vm hv;
	struct pci_bus *bus;
	struct tdev t, t2;
	struct pci_device *d, *d2;
};

static int fx_setup(void **state)
{
	struct fx *f = test_calloc(1, sizeof(*f));
	hw_test_vm_init(&f->hv, 64 << 20);
	f->bus = pci_bus_new(&f->hv.vm);
	assert_non_null(f->bus);
	f->hv.vm.pci = f->bus;
	assert_int_equal(pci_bus_attach(f->bus), 0);
	struct pci_device_desc desc = tdev_desc(&f->t);
	assert_int_equal(pci_device_register(&f->hv.vm, &desc, &f->d), 0);
	assert_int_equal(pci_device_slot(f->d), 1);
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;
	if (f->bus)
		pci_bus_free(f->bus);
	hw_test_vm_fini(&f->hv);
	test_free(f);
	return 0;
}

/* Configuration mechanism #1 and ECAM. */
static uint32_t cf8_read(struct fx *f, unsigned dev, unsigned off, unsigned size)
{
	hw_out(&f->hv, PORT_PCI_CONFIG_ADDRESS, 4, 0x80000000u | dev << 11 | (off & 0xfc));
	return (uint32_t)hw_in(&f->hv, (uint16_t)(PORT_PCI_CONFIG_DATA + (off & 3)), size);
}

static void cf8_write(struct fx *f, unsigned dev, unsigned off, unsigned size, uint32_t v)
{
	hw_out(&f->hv, PORT_PCI_CONFIG_ADDRESS, 4, 0x80000000u | dev << 11 | (off & 0xfc));
	hw_out(&f->hv, (uint16_t)(PORT_PCI_CONFIG_DATA + (off & 3)), size, v);
}

static uint64_t ecam_addr(unsigned busno, unsigned dev, unsigned fn, unsigned off)
{
	return LAYOUT_PCI_ECAM + ((uint64_t)busno << 20 | dev << 15 | fn << 12 | off);
}

static uint64_t ecam_read(struct fx *f, unsigned dev, unsigned off, unsigned size)
{
	uint64_t v = 0;
	assert_int_equal(bus_read(&f->hv.vm.mmio, ecam_addr(0, dev, 0, off), size, &v), 0);
	return v;
}

static void ecam_write(struct fx *f, unsigned dev, unsigned off, unsigned size, uint64_t v)
{
	assert_int_equal(bus_write(&f->hv.vm.mmio, ecam_addr(0, dev, 0, off), size, v), 0);
}

static uint64_t mmio_read(struct fx *f, uint64_t a, unsigned size)
{
	uint64_t v = 0;
	assert_int_equal(bus_read(&f->hv.vm.mmio, a, size, &v), 0);
	return v;
}

static void mmio_write(struct fx *f, uint64_t a, unsigned size, uint64_t v)
{
	assert_int_equal(bus_write(&f->hv.vm.mmio, a, size, v), 0);
}

/* ---- Tests ---------------------------------------------------------------- */

static void test_enumeration(void **state)
{
	struct fx *f = *state;
	assert_int_equal(cf8_read(f, 0, 0, 4), 0x29c08086);
	assert_int_equal(cf8_read(f, 0, 0x08, 4) >> 8, 0x060000);      /* host bridge */
	assert_int_equal(cf8_read(f, 0, 0x0e, 1), 0);                  /* type 0 */
	assert_int_equal(cf8_read(f, 1, 0, 4), 0x10ff1af4);
	assert_int_equal(cf8_read(f, 1, 0x08, 4), 0xff000003);
	assert_int_equal(cf8_read(f, 1, 0x2c, 4), 0x00011af4);
	assert_int_equal(cf8_read(f, 1, 0x02, 2), 0x10ff);
	assert_int_equal(cf8_read(f, 1, 0x03, 1), 0x10);
	/* absent slot, function 1, bus 1: all-ones */
	assert_int_equal(cf8_read(f, 5, 0, 4), 0xffffffffu);
	hw_out(&f->hv, PORT_PCI_CONFIG_ADDRESS, 4, 0x80000100u);      /* 00:00.1 */
	assert_int_equal(hw_in(&f->hv, PORT_PCI_CONFIG_DATA, 4), 0xffffffffu);
	hw_out(&f->hv, PORT_PCI_CONFIG_ADDRESS, 4, 0x80010000u);      /* 01:00.0 */
	assert_int_equal(hw_in(&f->hv, PORT_PCI_CONFIG_DATA, 4), 0xffffffffu);
	assert_int_equal(ecam_read(f, 5, 0, 4), 0xffffffffu);
	uint64_t v;
	assert_int_equal(bus_read(&f->hv.vm.mmio, ecam_addr(1, 1, 0, 0), 4, &v), 0);
	assert_int_equal(v, 0xffffffffu);
	/* enable bit clear: the data port reads all-ones */
	hw_out(&f->hv, PORT_PCI_CONFIG_ADDRESS, 4, 0x00000800u);
	assert_int_equal(hw_in(&f->hv, PORT_PCI_CONFIG_DATA, 4), 0xffffffffu);
	/* CONFIG_ADDRESS keeps only its defined bits */
	hw_out(&f->hv, PORT_PCI_CONFIG_ADDRESS, 4, 0xffffffffu);
	assert_int_equal(hw_in(&f->hv, PORT_PCI_CONFIG_ADDRESS, 4), 0x80fffffcu);
}

static void test_cf8_ecam_equivalence(void **state)
{
	struct fx *f = *state;
	for (unsigned dev = 0; dev < 3; dev++)
		for (unsigned off = 0; off < 256; off += 4)
			assert_int_equal(cf8_read(f, dev, off, 4), ecam_read(f, dev, off, 4));
	for (unsigned off = 0; off < 64; off++)
		assert_int_equal(cf8_read(f, 1, off, 1), ecam_read(f, 1, off, 1));
	/* a write through one is seen through the other */
	ecam_write(f, 1, PCI_INTERRUPT_LINE, 1, 0x5a);
	assert_int_equal(cf8_read(f, 1, PCI_INTERRUPT_LINE, 1), 0x5a);
	cf8_write(f, 1, PCI_CACHE_LINE_SIZE, 1, 0x10);
	assert_int_equal(ecam_read(f, 1, PCI_CACHE_LINE_SIZE, 1), 0x10);
	/* extended space exists through ECAM only, and is empty */
	assert_int_equal(ecam_read(f, 1, 0x100, 4), 0);
	/* an 8-byte ECAM read is two dwords */
	assert_int_equal(ecam_read(f, 1, 0, 8), (uint64_t)cf8_read(f, 1, 4, 4) << 32 | 0x10ff1af4);
}

static void test_header_masks(void **state)
{
	struct fx *f = *state;
	uint32_t before[64];
	for (unsigned i = 0; i < 64; i++)
		before[i] = cf8_read(f, 1, 4 * i, 4);
	/* read-only fields do not move */
	cf8_write(f, 1, 0x00, 4, 0);                  /* IDs */
	cf8_write(f, 1, 0x08, 4, 0);                  /* revision, class */
	cf8_write(f, 1, 0x0e, 1, 0xff);               /* header type */
	cf8_write(f, 1, 0x2c, 4, 0);                  /* subsystem */
	cf8_write(f, 1, 0x30, 4, 0xffffffffu);        /* no expansion ROM */
	cf8_write(f, 1, PCI_CAP_PTR, 1, 0x80);
	cf8_write(f, 1, PCI_INTERRUPT_PIN, 1, 4);
	cf8_write(f, 1, PCI_STATUS, 2, 0xffff);
	assert_int_equal(cf8_read(f, 1, 0x00, 4), before[0]);
	assert_int_equal(cf8_read(f, 1, 0x08, 4), before[2]);
	assert_int_equal(cf8_read(f, 1, 0x0c, 4) >> 16, before[3] >> 16);
	assert_int_equal(cf8_read(f, 1, 0x2c, 4), before[11]);
	assert_int_equal(cf8_read(f, 1, 0x30, 4), 0);
	assert_int_equal(cf8_read(f, 1, PCI_CAP_PTR, 1), PCI_CAP_START);
	assert_int_equal(cf8_read(f, 1, PCI_INTERRUPT_PIN, 1), 1);
	assert_int_equal(cf8_read(f, 1, PCI_STATUS, 2), PCI_STATUS_CAP_LIST);
	/* COMMAND: only the modelled bits stick */
	cf8_write(f, 1, PCI_COMMAND, 2, 0xffff);
	assert_int_equal(cf8_read(f, 1, PCI_COMMAND, 2), PCI_COMMAND_WRITABLE);
	cf8_write(f, 1, PCI_COMMAND, 2, 0);
	/* interrupt line: read/write */
	cf8_write(f, 1, PCI_INTERRUPT_LINE, 1, 0x0b);
	assert_int_equal(cf8_read(f, 1, PCI_INTERRUPT_LINE, 1), 0x0b);
	/* the host bridge has no BARs and no interrupt pin */
	for (unsigned off = PCI_BAR0; off < PCI_BAR0 + 24; off += 4) {
		cf8_write(f, 0, off, 4, 0xffffffffu);
		assert_int_equal(cf8_read(f, 0, off, 4), 0);
	}
	assert_int_equal(cf8_read(f, 0, PCI_INTERRUPT_PIN, 1), 0);
}

static void test_capability_list(void **state)
{
	struct fx *f = *state;
	unsigned p = cf8_read(f, 1, PCI_CAP_PTR, 1), ids[4], n = 0;
	while (p && n < 4) {
		assert_int_equal(p & 3, 0);
		ids[n++] = cf8_read(f, 1, p, 1);
		p = cf8_read(f, 1, p + 1, 1);
	}
	assert_int_equal(n, 2);
	assert_int_equal(ids[0], PCI_CAP_ID_MSIX);
	assert_int_equal(ids[1], 0x09);
	unsigned msix = PCI_CAP_START, vc = PCI_CAP_START + PCI_MSIX_CAP_LEN;
	assert_int_equal(cf8_read(f, 1, msix + 2, 2), 3);           /* 4 vectors */
	assert_int_equal(cf8_read(f, 1, msix + 4, 4), 0x2000);      /* BIR 0 */
	assert_int_equal(cf8_read(f, 1, msix + 8, 4), 0x3000);
	/* the device's capability: data served from its bytes, header by the bus */
	assert_int_equal(cf8_read(f, 1, vc + 2, 2), 0xaa08);
	assert_int_equal(cf8_read(f, 1, vc + 4, 4), 0xeeddccbb);
	/* writes inside it reach cap_write with the offset in the capability */
	cf8_write(f, 1, vc + 4, 2, 0x1234);
	assert_int_equal(f->t.cap_writes, 1);
	assert_int_equal(f->t.cap_off, 4);
	assert_int_equal(f->t.cap_size, 2);
	assert_int_equal(f->t.cap_value, 0x1234);
	/* its header and the MSI-X table offsets are read-only */
	cf8_write(f, 1, vc, 2, 0);
	assert_int_equal(cf8_read(f, 1, vc, 1), 0x09);
	cf8_write(f, 1, msix + 4, 4, 0xffffffffu);
	assert_int_equal(cf8_read(f, 1, msix + 4, 4), 0x2000);
	cf8_write(f, 1, msix + 2, 2, 0x07ff);
	assert_int_equal(cf8_read(f, 1, msix + 2, 2), 3);
	/* a write straddling the end of the capability is dropped, not passed on */
	ecam_write(f, 1, vc + 6, 4, 0xffffffffu);
	assert_int_equal(f->t.cap_writes, 1);
}

static void test_bar_sizing(void **state)
{
	struct fx *f = *state;
	uint32_t orig[6];
	for (unsigned i = 0; i < 6; i++) {
		orig[i] = cf8_read(f, 1, PCI_BAR0 + 4 * i, 4);
		cf8_write(f, 1, PCI_BAR0 + 4 * i, 4, 0xffffffffu);
	}
	assert_int_equal(cf8_read(f, 1, 0x10, 4), 0xffffc000u);    /* 16 KiB mem32 */
	assert_int_equal(cf8_read(f, 1, 0x14, 4), 0xffffffe1u);    /* 32 B I/O */
	assert_int_equal(cf8_read(f, 1, 0x18, 4), 0xfffff00cu);    /* 4 KiB mem64 prefetch */
	assert_int_equal(cf8_read(f, 1, 0x1c, 4), 0xffffffffu);    /* its upper half */
	assert_int_equal(cf8_read(f, 1, 0x20, 4), 0);              /* unused */
	assert_int_equal(cf8_read(f, 1, 0x24, 4), 0);
	/* the board assigned addresses inside the windows */
	assert_true(orig[0] >= LAYOUT_PCI_MMIO32_START && orig[0] < LAYOUT_PCI_MMIO32_END);
	assert_int_equal(orig[0] & 0x3fff, 0);
	assert_true(orig[1] >= LAYOUT_PCI_IO_START && (orig[1] & 1));
	for (unsigned i = 0; i < 6; i++)
		cf8_write(f, 1, PCI_BAR0 + 4 * i, 4, orig[i]);
	for (unsigned i = 0; i < 6; i++)
		assert_int_equal(cf8_read(f, 1, PCI_BAR0 + 4 * i, 4), orig[i]);
	/* byte-wide sizing writes work too (low byte of BAR0 is type bits only) */
	cf8_write(f, 1, 0x11, 1, 0xff);
	assert_int_equal(cf8_read(f, 1, 0x10, 4) & 0xff00, 0xc000);
	cf8_write(f, 1, 0x10, 4, orig[0]);
}

static void test_bar_decode_and_moves(void **state)
{
	struct fx *f = *state;
	uint32_t bar0 = cf8_read(f, 1, 0x10, 4), bar1 = cf8_read(f, 1, 0x14, 4) & ~3u;
	/* decode off: master abort */
	assert_int_equal(mmio_read(f, bar0, 4), 0xffffffffu);
	assert_int_equal(f->t.mmio_reads, 0);
	cf8_write(f, 1, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_IO);
	mmio_write(f, bar0 + 8, 4, 0xdeadbeef);
	assert_int_equal(mmio_read(f, bar0 + 8, 4), 0xdeadbeef);
	assert_int_equal(f->t.mmio_writes, 1);
	hw_out(&f->hv, (uint16_t)bar1, 2, 7);
	assert_int_equal(f->t.io_writes, 1);
	/* an access straddling the BAR's end is a master abort */
	assert_int_equal(mmio_read(f, bar0 + 0x4000 - 2, 4), 0xffffffffu);
	/* move: the old place stops decoding, the new one starts */
	uint32_t nb = (uint32_t)LAYOUT_PCI_MMIO32_START + 0x100000;
	cf8_write(f, 1, 0x10, 4, nb);
	assert_int_equal(mmio_read(f, bar0 + 8, 4), 0xffffffffu);
	assert_int_equal(mmio_read(f, nb + 8, 4), 0xdeadbeef);
	/* over RAM, the LAPIC, the IOAPIC, ECAM, above ECAM, at 0: never decodes */
	static const uint32_t bad[] = { 0x00100000u, (uint32_t)LAYOUT_LAPIC,
					(uint32_t)LAYOUT_IOAPIC, (uint32_t)LAYOUT_PCI_ECAM,
					0xf0000000u, 0 };
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cf8_write(f, 1, 0x10, 4, bad[i]);
		assert_false(f->d->bar[0].mapped);
		assert_int_equal(mmio_read(f, nb + 8, 4), 0xffffffffu);
		uint64_t v;
		assert_int_equal(bus_read(&f->hv.vm.mmio, bad[i] + 8ULL, 4, &v),
				 bad[i] >= LAYOUT_PCI_MMIO32_START && bad[i] < LAYOUT_PCI_ECAM + LAYOUT_PCI_ECAM_SIZE ? 0 : -ENOENT);
	}
	/* an I/O BAR outside the I/O window (over the legacy ports) stays off */
	cf8_write(f, 1, 0x14, 4, 0x3f8);
	assert_false(f->d->bar[1].mapped);
	/* decode bit off again: unmapped */
	cf8_write(f, 1, 0x10, 4, nb);
	assert_true(f->d->bar[0].mapped);
	cf8_write(f, 1, PCI_COMMAND, 2, 0);
	assert_false(f->d->bar[0].mapped);
}

static void test_bar_overlap(void **state)
{
	struct fx *f = *state;
	struct pci_device_desc desc = tdev_desc(&f->t2);
	assert_int_equal(pci_device_register(&f->hv.vm, &desc, &f->d2), 0);
	assert_int_equal(pci_device_slot(f->d2), 2);
	uint32_t a1 = cf8_read(f, 1, 0x10, 4), a2 = cf8_read(f, 2, 0x10, 4);
	assert_int_not_equal(a1, a2);
	cf8_write(f, 1, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	cf8_write(f, 2, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	assert_true(f->d->bar[0].mapped && f->d2->bar[0].mapped);
	/* device 2's BAR moved onto device 1's: refused, device 1 keeps it */
	cf8_write(f, 2, 0x10, 4, a1 + 0x0);
	assert_false(f->d2->bar[0].mapped);
	assert_true(f->d->bar[0].mapped);
	mmio_read(f, a1, 4);
	assert_int_equal(f->t.mmio_reads, 1);
	assert_int_equal(f->t2.mmio_reads, 0);
	assert_true(f->bus->stats_bar_refused >= 1);
	/* device 1 moves away: device 2 gets the range */
	cf8_write(f, 1, 0x10, 4, a2);
	assert_true(f->d2->bar[0].mapped);
	assert_true(f->d->bar[0].mapped);    /* a2 was free: the two swapped */
	mmio_read(f, a1, 4);
	assert_int_equal(f->t2.mmio_reads, 1);
}

static void test_msix(void **state)
{
	struct fx *f = *state;
	struct hw_test_irq *irq = &f->hv.irq;
	uint32_t bar0 = cf8_read(f, 1, 0x10, 4);
	uint64_t tbl = bar0 + 0x2000, pba = bar0 + 0x3000;
	unsigned mc = PCI_CAP_START + 2;

	cf8_write(f, 1, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	/* reset state: every vector masked, nothing pending */
	for (unsigned v = 0; v < 4; v++)
		assert_int_equal(mmio_read(f, tbl + 16 * v + 12, 4), 1);
	assert_int_equal(mmio_read(f, pba, 8), 0);
	/* disabled: notify says so, nothing sent, nothing pending */
	assert_false(pci_msix_notify(f->d, 0));
	assert_false(pci_msix_enabled(f->d));
	assert_int_equal(irq->nr_msi, 0);
	/* program vector 1, enable MSI-X */
	mmio_write(f, tbl + 16, 4, 0xfee01000u);
	mmio_write(f, tbl + 20, 4, 0);
	mmio_write(f, tbl + 24, 4, 0x4041);
	assert_int_equal(mmio_read(f, tbl + 16, 8), 0xfee01000u);
	cf8_write(f, 1, mc, 2, PCI_MSIX_CTRL_ENABLE);
	assert_true(pci_msix_enabled(f->d));
	/* masked vector: the event is pending */
	assert_true(pci_msix_notify(f->d, 1));
	assert_int_equal(irq->nr_msi, 0);
	assert_int_equal(mmio_read(f, pba, 8), 2);
	/* PBA is read-only */
	mmio_write(f, pba, 8, 0);
	assert_int_equal(mmio_read(f, pba, 8), 2);
	/* unmask (reserved bits of vector control ignored): sent, pending cleared */
	mmio_write(f, tbl + 28, 4, 0xfffffffeu);
	assert_int_equal(mmio_read(f, tbl + 28, 4), 0);
	assert_int_equal(irq->nr_msi, 1);
	assert_int_equal(irq->msi_addr, 0xfee01000u);
	assert_int_equal(irq->msi_data, 0x4041);
	assert_int_equal(mmio_read(f, pba, 8), 0);
	/* unmasked: sent at once */
	assert_true(pci_msix_notify(f->d, 1));
	assert_int_equal(irq->nr_msi, 2);
	/* function mask: pending, then sent when cleared */
	cf8_write(f, 1, mc, 2, PCI_MSIX_CTRL_ENABLE | PCI_MSIX_CTRL_MASKALL);
	assert_true(pci_msix_notify(f->d, 1));
	assert_int_equal(irq->nr_msi, 2);
	assert_int_equal(mmio_read(f, pba, 4), 2);
	cf8_write(f, 1, mc, 2, PCI_MSIX_CTRL_ENABLE);
	assert_int_equal(irq->nr_msi, 3);
	assert_int_equal(mmio_read(f, pba, 4), 0);
	/* bus mastering off: the message never leaves the device */
	cf8_write(f, 1, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	assert_true(pci_msix_notify(f->d, 1));
	assert_int_equal(irq->nr_msi, 3);
	cf8_write(f, 1, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	/* out-of-range vector: ignored */
	assert_true(pci_msix_notify(f->d, 4));
	assert_true(pci_msix_notify(f->d, 1000000));
	assert_int_equal(irq->nr_msi, 3);
	/* the rest of BAR0 still goes to the device */
	mmio_write(f, bar0 + 4, 4, 0x11223344);
	assert_int_equal(f->t.mmio_writes, 1);
	/* accesses straddling the table's end are dropped, never the device's */
	assert_int_equal(mmio_read(f, tbl + 4 * 16 - 4, 8), ~0ULL);
	mmio_write(f, tbl + 4 * 16 - 4, 8, 0);
	assert_int_equal(f->t.mmio_writes, 1);
	/* machine reset: disabled, masked, pending cleared */
	cf8_write(f, 1, PCI_CAP_START + 2, 2, PCI_MSIX_CTRL_ENABLE | PCI_MSIX_CTRL_MASKALL);
	pci_msix_notify(f->d, 1);
	assert_int_equal(mmio_read(f, pba, 4), 2);
	pci_bus_reset(f->bus);
	assert_false(pci_msix_enabled(f->d));
	cf8_write(f, 1, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	assert_int_equal(mmio_read(f, pba, 4), 0);
	assert_int_equal(mmio_read(f, tbl + 28, 4), 1);
}

static void test_intx(void **state)
{
	struct fx *f = *state;
	struct hw_test_irq *irq = &f->hv.irq;
	unsigned gsi = board_pci_intx_gsi(1, 0);
	assert_int_equal(cf8_read(f, 1, PCI_INTERRUPT_LINE, 1), gsi);
	pci_intx_set(f->d, true);
	assert_true(irq->level[gsi]);
	assert_true(cf8_read(f, 1, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	/* INTX_DISABLE masks the line, not the status */
	cf8_write(f, 1, PCI_COMMAND, 2, PCI_COMMAND_INTX_DISABLE);
	assert_false(irq->level[gsi]);
	assert_true(cf8_read(f, 1, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	cf8_write(f, 1, PCI_COMMAND, 2, 0);
	assert_true(irq->level[gsi]);
	/* MSI-X enabled: INTx is not used */
	cf8_write(f, 1, PCI_CAP_START + 2, 2, PCI_MSIX_CTRL_ENABLE);
	assert_false(irq->level[gsi]);
	cf8_write(f, 1, PCI_CAP_START + 2, 2, 0);
	assert_true(irq->level[gsi]);
	/* a shared line stays up while any device drives it (slots 1 and 5
	 * share INTA#'s GSI by the swizzle) */
	struct pci_device_desc desc = tdev_desc(&f->t2);
	struct pci_device *d[4];
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(pci_device_register(&f->hv.vm, &desc, &d[i]), 0);
	assert_int_equal(pci_device_slot(d[3]), 5);
	assert_int_equal(board_pci_intx_gsi(5, 0), gsi);
	pci_intx_set(d[3], true);
	pci_intx_set(f->d, false);
	assert_true(irq->level[gsi]);
	pci_intx_set(d[3], false);
	assert_false(irq->level[gsi]);
	assert_int_equal(irq->raises[gsi], 3);
}

static void test_reset(void **state)
{
	struct fx *f = *state;
	uint32_t bar0 = cf8_read(f, 1, 0x10, 4);
	cf8_write(f, 1, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	cf8_write(f, 1, 0x10, 4, (uint32_t)LAYOUT_PCI_MMIO32_START + 0x800000);
	cf8_write(f, 1, PCI_CAP_START + 2, 2, PCI_MSIX_CTRL_ENABLE);
	hw_out(&f->hv, PORT_PCI_CONFIG_ADDRESS, 4, 0x80000000u);
	pci_bus_reset(f->bus);   /* the bus's hook for vm_devices_reset */
	assert_int_equal(cf8_read(f, 1, PCI_COMMAND, 2), 0);
	assert_int_equal(cf8_read(f, 1, 0x10, 4), bar0);
	assert_int_equal(cf8_read(f, 1, PCI_CAP_START + 2, 2), 3);
	assert_false(f->d->bar[0].mapped);
	assert_int_equal(f->t.resets, 1);
}

static void test_hostile_config(void **state)
{
	struct fx *f = *state;
	/* every offset and size through ECAM, including ones that straddle the
	 * end of a function's space or of a capability: no crash, IDs intact */
	for (unsigned off = 0; off < PCI_CFG_SPACE_SIZE; off += 1) {
		static const unsigned sizes[] = { 1, 2, 4, 8 };
		for (unsigned s = 0; s < 4; s++) {
			uint64_t v;
			bus_read(&f->hv.vm.mmio, ecam_addr(0, 1, 0, off), sizes[s], &v);
			if (off != PCI_COMMAND && off != PCI_COMMAND + 1 && off != 0x03)
				bus_write(&f->hv.vm.mmio, ecam_addr(0, 1, 0, off), sizes[s],
					  0xa5a5a5a5a5a5a5a5ULL);
		}
	}
	assert_int_equal(cf8_read(f, 1, 0, 4), 0x10ff1af4);
	assert_int_equal(cf8_read(f, 1, PCI_CAP_PTR, 1), PCI_CAP_START);
	assert_int_equal(cf8_read(f, 0, 0, 4), 0x29c08086);
	/* the last dword of the function's space read as 8 bytes: master abort */
	assert_int_equal(ecam_read(f, 1, 0xffc, 8), ~0ULL);
	/* byte and word accesses to 0xCF8 are not CONFIG_ADDRESS */
	hw_out(&f->hv, PORT_PCI_CONFIG_ADDRESS, 4, 0x80000800u);
	hw_out(&f->hv, PORT_PCI_CONFIG_ADDRESS, 1, 0xff);
	hw_out(&f->hv, PORT_PCI_CONFIG_ADDRESS + 2, 2, 0xffff);
	assert_int_equal(hw_in(&f->hv, PORT_PCI_CONFIG_ADDRESS, 4), 0x80000800u);
	/* config data at every byte/word offset */
	for (unsigned o = 0; o < 4; o++)
		for (unsigned s = 1; s <= 4 - o; s *= 2)
			(void)hw_in(&f->hv, (uint16_t)(PORT_PCI_CONFIG_DATA + o), s);
}

static void test_reset_register_forwarded(void **state)
{
	(void)state;
	/* A window at 0xCF9 (the ACPI reset register) before the bus attaches:
	 * byte accesses at 0xCF9 still reach it, dwords at 0xCF8 are the bus's. */
	struct hw_test_vm hv;
	struct tdev t = { 0 };
	hw_test_vm_init(&hv, 64 << 20);
	assert_int_equal(bus_register(&hv.vm.pio, 0xcf9, 1, &tdev_ops, &t, "rcr"), 0);
	struct pci_bus *b = pci_bus_new(&hv.vm);
	hv.vm.pci = b;
	assert_int_equal(pci_bus_attach(b), 0);
	hw_out(&hv, 0xcf9, 1, 0x02);
	assert_int_equal(t.mmio_writes, 1);
	assert_int_equal(t.regs[0], 0x02);
	assert_int_equal(hw_in(&hv, 0xcf9, 1), 0x02);
	hw_out(&hv, PORT_PCI_CONFIG_ADDRESS, 4, 0x80000000u);
	assert_int_equal(hw_in(&hv, PORT_PCI_CONFIG_DATA, 4), 0x29c08086);
	assert_int_equal(t.mmio_writes, 1);
	pci_bus_free(b);
	/* given back when the bus goes */
	hw_out(&hv, 0xcf9, 1, 0x04);
	assert_int_equal(t.regs[0], 0x04);
	hw_test_vm_fini(&hv);
}

/* Plain MSI (6.8.1) on a second function (slot 2) with MSI-X too: the
 * capability after MSI-X's, its read-only fields, vector numbers in the
 * data, per-vector masks and pending bits, INTx off while enabled. */
static void test_msi(void **state)
{
	struct fx *f = *state;
	struct hw_test_irq *irq = &f->hv.irq;
	struct pci_device_desc desc = tdev_desc(&f->t2);
	desc.msi_vectors = 4;
	desc.msi_masking = true;
	assert_int_equal(pci_device_register(&f->hv.vm, &desc, &f->d2), 0);
	unsigned s = pci_device_slot(f->d2);
	unsigned c = cf8_read(f, s, PCI_CAP_START + 1, 1);      /* MSI-X's next */
	assert_int_equal(c, PCI_CAP_START + PCI_MSIX_CAP_LEN);
	assert_int_equal(cf8_read(f, s, c, 1), PCI_CAP_ID_MSI);
	assert_int_equal(cf8_read(f, s, c + 1, 1), c + PCI_MSI_CAP_LEN_PVM); /* the vendor cap */
	/* 4 vectors capable (MMC 2), 64-bit, per-vector masking; disabled */
	assert_int_equal(cf8_read(f, s, c + 2, 2), 0x184);
	/* read-only bits stay; MME above MMC is stored but counts as MMC */
	cf8_write(f, s, c + 2, 2, 0xfffe);
	assert_int_equal(cf8_read(f, s, c + 2, 2), 0x1f4);
	cf8_write(f, s, c + 2, 2, 0);
	cf8_write(f, s, c + 4, 4, 0xfee01003u);                 /* low 2 bits RO */
	assert_int_equal(cf8_read(f, s, c + 4, 4), 0xfee01000u);
	cf8_write(f, s, c + 8, 4, 0);
	cf8_write(f, s, c + 12, 4, 0xffff4040u);                /* 14-15 RO 0 */
	assert_int_equal(cf8_read(f, s, c + 12, 4), 0x4040);
	cf8_write(f, s, c + 20, 4, 0xf);                        /* pending: RO */
	assert_int_equal(cf8_read(f, s, c + 20, 4), 0);
	cf8_write(f, s, c + 16, 4, 0xffffffffu);                /* 4 mask bits */
	assert_int_equal(cf8_read(f, s, c + 16, 4), 0xf);
	cf8_write(f, s, c + 16, 4, 0);
	/* disabled: nothing */
	cf8_write(f, s, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	assert_false(pci_msi_notify(f->d2, 0));
	assert_false(pci_msi_enabled(f->d2));
	assert_int_equal(irq->nr_msi, 0);
	/* INTx asserted, then MSI enabled with 4 vectors: INTx goes quiet */
	pci_intx_set(f->d2, true);
	unsigned gsi = cf8_read(f, s, PCI_INTERRUPT_LINE, 1);
	assert_true(irq->level[gsi]);
	cf8_write(f, s, c + 2, 2, PCI_MSI_CTRL_ENABLE | 2 << 4);
	assert_false(irq->level[gsi]);
	pci_intx_set(f->d2, false);
	assert_true(pci_msi_enabled(f->d2));
	/* vector n in the data's low MME bits */
	assert_true(pci_msi_notify(f->d2, 0));
	assert_int_equal(irq->nr_msi, 1);
	assert_int_equal(irq->msi_addr, 0xfee01000u);
	assert_int_equal(irq->msi_data, 0x4040);
	assert_true(pci_msi_notify(f->d2, 3));
	assert_int_equal(irq->msi_data, 0x4043);
	assert_int_equal(irq->nr_msi, 2);
	/* beyond what was allocated: dropped */
	assert_true(pci_msi_notify(f->d2, 4));
	assert_true(pci_msi_notify(f->d2, 1000000));
	assert_int_equal(irq->nr_msi, 2);
	/* masked: pending, sent on unmask, pending cleared */
	cf8_write(f, s, c + 16, 4, 0x2);
	assert_true(pci_msi_notify(f->d2, 1));
	assert_int_equal(irq->nr_msi, 2);
	assert_int_equal(cf8_read(f, s, c + 20, 4), 0x2);
	cf8_write(f, s, c + 16, 4, 0);
	assert_int_equal(irq->nr_msi, 3);
	assert_int_equal(irq->msi_data, 0x4041);
	assert_int_equal(cf8_read(f, s, c + 20, 4), 0);
	/* one vector allocated: only vector 0, data unchanged */
	cf8_write(f, s, c + 2, 2, PCI_MSI_CTRL_ENABLE);
	assert_true(pci_msi_notify(f->d2, 1));
	assert_int_equal(irq->nr_msi, 3);
	cf8_write(f, s, c + 12, 2, 0x4043);
	assert_true(pci_msi_notify(f->d2, 0));
	assert_int_equal(irq->msi_data, 0x4043);
	/* bus mastering off: nothing leaves */
	cf8_write(f, s, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	assert_true(pci_msi_notify(f->d2, 0));
	assert_int_equal(irq->nr_msi, 4);
	/* machine reset: disabled, address, data and masks cleared */
	cf8_write(f, s, c + 16, 4, 1);
	pci_bus_reset(f->bus);
	assert_false(pci_msi_enabled(f->d2));
	assert_int_equal(cf8_read(f, s, c + 2, 2), 0x184);
	assert_int_equal(cf8_read(f, s, c + 4, 4), 0);
	assert_int_equal(cf8_read(f, s, c + 16, 4), 0);
}

/* irqfd with a fake engine: the bus binds a vector's eventfd while the
 * vector can fire, re-binds when the driver changes the message, and a
 * notify then only writes the eventfd; masked vectors and an engine that
 * says -ENOSYS keep the plain path. */
static struct {
	int fd, ret;
	unsigned assigns, removes;
	uint64_t addr;
	uint32_t data;
} fake_irqfd;

static int fake_irqfd_msi(struct vm *vm, int fd, uint64_t addr, uint32_t data, bool assign)
{
	if (fake_irqfd.ret)
		return fake_irqfd.ret;
	if (!assign) {
		fake_irqfd.removes++;
		return 0;
	}
	fake_irqfd.assigns++;
	fake_irqfd.fd = fd;
	fake_irqfd.addr = addr;
	fake_irqfd.data = data;
	return 0;
}

static const struct engine_ops fake_engine = { .name = "fake", .irqfd_msi = fake_irqfd_msi };

static uint64_t eventfd_count(int fd)
{
	uint64_t n = 0;
	if (read(fd, &n, sizeof(n)) != (ssize_t)sizeof(n))
		return 0;   /* EAGAIN: nothing written */
	return n;
}

static void test_msix_irqfd(void **state)
{
	struct fx *f = *state;
	struct hw_test_irq *irq = &f->hv.irq;
	memset(&fake_irqfd, 0, sizeof(fake_irqfd));
	f->hv.vm.engine = &fake_engine;
	struct pci_device_desc desc = tdev_desc(&f->t2);
	assert_int_equal(pci_device_register(&f->hv.vm, &desc, &f->d2), 0);
	unsigned s = pci_device_slot(f->d2);
	uint64_t tbl = (cf8_read(f, s, 0x10, 4) & ~0xfu) + 0x2000;
	cf8_write(f, s, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	mmio_write(f, tbl + 16, 4, 0xfee00000u);
	mmio_write(f, tbl + 24, 4, 0x41);
	cf8_write(f, s, PCI_CAP_START + 2, 2, PCI_MSIX_CTRL_ENABLE);
	assert_int_equal(fake_irqfd.assigns, 0);           /* vector 1 still masked */
	mmio_write(f, tbl + 28, 4, 0);                      /* unmask: bound */
	assert_int_equal(fake_irqfd.assigns, 1);
	assert_int_equal(fake_irqfd.addr, 0xfee00000u);
	assert_int_equal(fake_irqfd.data, 0x41);
	int fd = fake_irqfd.fd;
	assert_true(fd >= 0);
	/* notify: the eventfd, not the router */
	assert_true(pci_msix_notify(f->d2, 1));
	assert_true(pci_msix_notify(f->d2, 1));
	assert_int_equal(eventfd_count(fd), 2);
	assert_int_equal(irq->nr_msi, 0);
	/* a new message: bound again with it */
	mmio_write(f, tbl + 24, 4, 0x42);
	assert_int_equal(fake_irqfd.assigns, 2);
	assert_int_equal(fake_irqfd.data, 0x42);
	/* masked: the plain path (pending, sent through the router on unmask) */
	mmio_write(f, tbl + 28, 4, 1);
	assert_true(pci_msix_notify(f->d2, 1));
	assert_int_equal(eventfd_count(fd), 0);
	assert_int_equal(irq->nr_msi, 0);
	mmio_write(f, tbl + 28, 4, 0);
	assert_int_equal(irq->nr_msi, 1);
	assert_int_equal(irq->msi_data, 0x42);
	assert_int_equal(fake_irqfd.assigns, 2);            /* same message: no call */
	/* bus mastering off: nothing at all */
	cf8_write(f, s, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	assert_true(pci_msix_notify(f->d2, 1));
	assert_int_equal(eventfd_count(fd), 0);
	assert_int_equal(irq->nr_msi, 1);
	/* the engine cannot (-ENOSYS): the plain path from then on */
	cf8_write(f, s, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	fake_irqfd.ret = -ENOSYS;
	mmio_write(f, tbl + 24, 4, 0x43);
	assert_true(pci_msix_notify(f->d2, 1));
	assert_int_equal(eventfd_count(fd), 0);
	assert_int_equal(irq->nr_msi, 2);
	assert_int_equal(irq->msi_data, 0x43);
	/* teardown removes what was bound */
	fake_irqfd.ret = 0;
	pci_bus_free(f->bus);
	f->bus = NULL;
	assert_int_equal(fake_irqfd.removes, 1);
	f->hv.vm.engine = NULL;
}

static void test_bad_descriptions(void **state)
{
	struct fx *f = *state;
	struct pci_device_desc d = tdev_desc(&f->t2);
	d.bar[0].size = 0x3000;                           /* not a power of two */
	assert_int_equal(pci_device_register(&f->hv.vm, &d, NULL), -EINVAL);
	d = tdev_desc(&f->t2);
	d.msix_table_offset = 0x3ff0;                     /* table past the BAR */
	assert_int_equal(pci_device_register(&f->hv.vm, &d, NULL), -EINVAL);
	d = tdev_desc(&f->t2);
	d.msix_bar = 1;                                   /* an I/O BAR */
	assert_int_equal(pci_device_register(&f->hv.vm, &d, NULL), -EINVAL);
	d = tdev_desc(&f->t2);
	d.bar[5].kind = PCI_BAR_MEM64;                    /* no BAR 6 */
	d.bar[5].size = 4096;
	assert_int_equal(pci_device_register(&f->hv.vm, &d, NULL), -EINVAL);
	d = tdev_desc(&f->t2);
	d.nr_caps = PCI_MAX_DEVICE_CAPS;
	for (unsigned i = 0; i < PCI_MAX_DEVICE_CAPS; i++)
		d.caps[i] = (struct pci_cap_desc){ .id = 9, .len = 40 };
	assert_int_equal(pci_device_register(&f->hv.vm, &d, NULL), -EINVAL);
	d = tdev_desc(&f->t2);
	d.msi_vectors = 3;                                /* not a power of two */
	assert_int_equal(pci_device_register(&f->hv.vm, &d, NULL), -EINVAL);
	d.msi_vectors = 64;                               /* more than 32 */
	assert_int_equal(pci_device_register(&f->hv.vm, &d, NULL), -EINVAL);
	/* the bus fills up at 31 devices */
	d = tdev_desc(&f->t2);
	d.msix_vectors = 0;
	for (unsigned i = 0; i < 30; i++)
		assert_int_equal(pci_device_register(&f->hv.vm, &d, NULL), 0);
	assert_int_equal(pci_device_register(&f->hv.vm, &d, NULL), -ENOSPC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_enumeration, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_cf8_ecam_equivalence, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_header_masks, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_capability_list, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_bar_sizing, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_bar_decode_and_moves, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_bar_overlap, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_msix, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_intx, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_reset, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_hostile_config, fx_setup, fx_teardown),
		cmocka_unit_test(test_reset_register_forwarded),
		cmocka_unit_test_setup_teardown(test_bad_descriptions, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_msi, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_msix_irqfd, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
