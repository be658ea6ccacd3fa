/* PCI: the host bridge and the PCI test device (--testdev), driven the way
 * firmware and a driver would: enumeration through configuration
 * mechanism #1 and ECAM, BAR sizing and placement, MSI-X through the LAPIC,
 * INTx through the IOAPIC pin the board's interrupt map gives, and hostile
 * BAR placements (over RAM, over the LAPIC). */
#include "guest.h"
#include "ringvm/layout.h"
#include "ringvm/testdev_abi.h"

#define CFG_ADDR 0xcf8
#define CFG_DATA 0xcfc
#define ECAM_BASE ((uintptr_t)LAYOUT_PCI_ECAM)
#define LAPIC 0xFEE00000u
#define LAPIC_SVR 0xf0
#define LAPIC_EOI 0xb0
#define IOAPIC 0xFEC00000u

#define MSIX_IRQ 10                    /* vector IRQ_BASE + 10 = 0x2a */
#define INTX_IRQ 11                    /* vector 0x2b */
#define MSI_IRQ 12                     /* vectors 0x2c..0x2f (4-aligned) */
#define BAR0_ADDR 0xC8000000u          /* where the tests place the BARs */
#define BAR1_PORT 0xC100u

static uint32_t cf8_read32(unsigned slot, unsigned off)
{
	outl(CFG_ADDR, 0x80000000u | slot << 11 | (off & 0xfc));
	return inl(CFG_DATA);
}

static uint16_t cf8_read16(unsigned slot, unsigned off)
{
	outl(CFG_ADDR, 0x80000000u | slot << 11 | (off & 0xfc));
	return inw((uint16_t)(CFG_DATA + (off & 2)));
}

static uint8_t cf8_read8(unsigned slot, unsigned off)
{
	outl(CFG_ADDR, 0x80000000u | slot << 11 | (off & 0xfc));
	return inb((uint16_t)(CFG_DATA + (off & 3)));
}

static void cf8_write32(unsigned slot, unsigned off, uint32_t v)
{
	outl(CFG_ADDR, 0x80000000u | slot << 11 | (off & 0xfc));
	outl(CFG_DATA, v);
}

static void cf8_write16(unsigned slot, unsigned off, uint16_t v)
{
	outl(CFG_ADDR, 0x80000000u | slot << 11 | (off & 0xfc));
	outw((uint16_t)(CFG_DATA + (off & 2)), v);
}

static uintptr_t ecam(unsigned slot, unsigned off)
{
	return ECAM_BASE + ((uintptr_t)slot << 15) + off;
}

/* The slot of the test device, found by scanning bus 0. */
static unsigned find_testdev(void)
{
	for (unsigned s = 0; s < 32; s++)
		if (cf8_read32(s, 0) == (PCI_TESTDEV_DEVICE << 16 | PCI_TESTDEV_VENDOR))
			return s;
	GUEST_FAIL("pci test device not found on bus 0");
}

/* Size BAR0 and BAR1, place them, turn decoding and bus mastering on. */
static void setup_bars(unsigned s)
{
	cf8_write32(s, 0x10, 0xffffffffu);
	GUEST_ASSERT_EQ(cf8_read32(s, 0x10), (uint32_t)~(PCI_TESTDEV_BAR0_SIZE - 1));
	cf8_write32(s, 0x14, 0xffffffffu);
	GUEST_ASSERT_EQ(cf8_read32(s, 0x14), (uint32_t)~(PCI_TESTDEV_BAR1_SIZE - 1) | 1);
	cf8_write32(s, 0x10, BAR0_ADDR);
	cf8_write32(s, 0x14, BAR1_PORT);
	cf8_write16(s, 0x04, 0x7);                   /* I/O, memory, bus master */
	GUEST_ASSERT_EQ(mmio_read32(BAR0_ADDR), PCI_TESTDEV_MAGIC);
}

/* pci-enum: both mechanisms see the same functions, absent ones read
 * all-ones; a sized, placed BAR decodes; one placed over RAM or over the
 * LAPIC does not; read-only fields stay. */
static void test_pci_enum(void)
{
	unsigned found = 0;
	for (unsigned s = 0; s < 32; s++) {
		uint32_t id = cf8_read32(s, 0);
		GUEST_ASSERT_EQ(id, mmio_read32(ecam(s, 0)));
		if (id != 0xffffffffu)
			found++;
	}
	GUEST_SYNC("functions on bus 0", found);
	GUEST_ASSERT_EQ(cf8_read32(0, 0), 0x29c08086u);       /* host bridge */
	GUEST_ASSERT_EQ(cf8_read32(0, 8) >> 8, 0x060000u);
	GUEST_ASSERT_EQ(mmio_read32(ECAM_BASE + (1u << 20)), 0xffffffffu); /* bus 1 */
	GUEST_ASSERT_EQ(mmio_read32(ecam(0, 0) + (1u << 12)), 0xffffffffu); /* 00:00.1 */
	unsigned s = find_testdev();
	GUEST_SYNC("test device slot", s);
	for (unsigned off = 0; off < 64; off += 4)
		GUEST_ASSERT_EQ(cf8_read32(s, off), mmio_read32(ecam(s, off)));
	GUEST_ASSERT_EQ(cf8_read16(s, 2), PCI_TESTDEV_DEVICE);
	GUEST_ASSERT_EQ(cf8_read8(s, 0x0b), PCI_TESTDEV_CLASS >> 16);
	GUEST_ASSERT_EQ(cf8_read8(s, 0x3d), 1);                /* INTA# */
	/* read-only: IDs, interrupt pin */
	cf8_write32(s, 0, 0);
	mmio_write8(ecam(s, 0x3d), 3);
	GUEST_ASSERT_EQ(cf8_read32(s, 0), PCI_TESTDEV_DEVICE << 16 | PCI_TESTDEV_VENDOR);
	GUEST_ASSERT_EQ(cf8_read8(s, 0x3d), 1);

	setup_bars(s);
	outl(BAR1_PORT + 4, 0x12345678u);
	GUEST_ASSERT_EQ(inl(BAR1_PORT + 4), 0x12345678u);
	/* decode off: nothing there (the window answers all-ones) */
	cf8_write16(s, 0x04, 0);
	GUEST_ASSERT_EQ(mmio_read32(BAR0_ADDR), 0xffffffffu);
	GUEST_ASSERT_EQ(inl(BAR1_PORT + 4), 0xffffffffu);
	cf8_write16(s, 0x04, 0x3);

	/* BAR over RAM (4 MiB: above every image, inside the guest's RAM):
	 * RAM stays RAM */
	volatile uint32_t *ram_page = (volatile uint32_t *)(uintptr_t)0x400000;
	ram_page[0] = 0xcafef00du;
	cf8_write32(s, 0x10, 0x400000);
	GUEST_ASSERT_EQ(ram_page[0], 0xcafef00du);
	GUEST_ASSERT_EQ(mmio_read32(BAR0_ADDR), 0xffffffffu);
	/* BAR over the LAPIC: the LAPIC still answers */
	cf8_write32(s, 0x10, LAPIC);
	GUEST_ASSERT_EQ(mmio_read32(LAPIC + 0x30) & 0xff, 0x14);
	/* back in the window: decodes again */
	cf8_write32(s, 0x10, BAR0_ADDR);
	GUEST_ASSERT_EQ(mmio_read32(BAR0_ADDR), PCI_TESTDEV_MAGIC);
	GUEST_SYNC("pci enum ok", 1);
	GUEST_DONE();
}
GUEST_TEST("pci-enum", test_pci_enum);

static volatile uint32_t msix_irqs, intx_irqs;
static volatile uintptr_t intx_bar;

static void on_msix(unsigned irq)
{
	msix_irqs++;
	mmio_write32(LAPIC + LAPIC_EOI, 0);
}

static void on_intx(unsigned irq)
{
	intx_irqs++;
	mmio_write32(intx_bar + PCI_TESTDEV_INTX, 0);  /* the driver quiets the device */
	mmio_write32(LAPIC + LAPIC_EOI, 0);
}

/* Interrupts on while polling (engines take interrupts between blocks of
 * instructions, so IF must stay set across the loop's back edge). */
static void wait_for(volatile uint32_t *counter, uint32_t want)
{
	sti();
	for (unsigned i = 0; i < 100000 && *counter < want; i++)
		cpu_relax();
	cli();
}

/* The capability with this ID, by walking the list from 0x34. */
static unsigned find_cap(unsigned s, uint8_t id)
{
	unsigned p = cf8_read8(s, 0x34), n = 0;
	while (p && n++ < 48) {
		if (cf8_read8(s, p) == id)
			return p;
		p = cf8_read8(s, p + 1);
	}
	GUEST_FAIL("capability not found", id);
}

/* pci-msix: MSI-X vector 1 of the test device reaches the LAPIC as vector
 * 0x2a; masked, it is pending in the PBA and arrives when unmasked. */
static void test_pci_msix(void)
{
	unsigned s = find_testdev();
	pic_init(0xff, 0xff);
	mmio_write32(LAPIC + LAPIC_SVR, 0x1ff);
	irq_set_handler(MSIX_IRQ, on_msix);
	setup_bars(s);
	unsigned cap = find_cap(s, 0x11);
	GUEST_ASSERT_EQ(cf8_read16(s, cap + 2) & 0x7ff, PCI_TESTDEV_MSIX_VECTORS - 1);
	uint32_t tbl = cf8_read32(s, cap + 4), pba = cf8_read32(s, cap + 8);
	GUEST_ASSERT_EQ(tbl & 7, 0);                    /* BIR 0 */
	uintptr_t t = BAR0_ADDR + (tbl & ~7u), p = BAR0_ADDR + (pba & ~7u);
	/* disabled: the device is told, nothing arrives */
	mmio_write32(BAR0_ADDR + PCI_TESTDEV_NOTIFY, 1);
	GUEST_ASSERT_EQ(mmio_read32(BAR0_ADDR + PCI_TESTDEV_NOTIFY), 0);
	/* vector 1 -> APIC ID 0, fixed, edge, vector 0x2a; still masked */
	mmio_write32(t + 16, LAPIC);
	mmio_write32(t + 20, 0);
	mmio_write32(t + 24, IRQ_BASE + MSIX_IRQ);
	GUEST_ASSERT_EQ(mmio_read32(t + 28), 1);
	cf8_write16(s, cap + 2, 0x8000);                /* MSI-X enable */
	mmio_write32(BAR0_ADDR + PCI_TESTDEV_NOTIFY, 1);
	GUEST_ASSERT_EQ(mmio_read32(BAR0_ADDR + PCI_TESTDEV_NOTIFY), 1);
	wait_for(&msix_irqs, 1);
	GUEST_ASSERT_EQ(msix_irqs, 0);
	GUEST_ASSERT_EQ(mmio_read32(p), 2);             /* pending */
	mmio_write32(t + 28, 0);                        /* unmask: delivered */
	wait_for(&msix_irqs, 1);
	GUEST_ASSERT_EQ(msix_irqs, 1);
	GUEST_ASSERT_EQ(mmio_read32(p), 0);
	/* unmasked: at once */
	mmio_write32(BAR0_ADDR + PCI_TESTDEV_NOTIFY, 1);
	wait_for(&msix_irqs, 2);
	GUEST_ASSERT_EQ(msix_irqs, 2);
	/* function mask */
	cf8_write16(s, cap + 2, 0xc000);
	mmio_write32(BAR0_ADDR + PCI_TESTDEV_NOTIFY, 1);
	wait_for(&msix_irqs, 3);
	GUEST_ASSERT_EQ(msix_irqs, 2);
	cf8_write16(s, cap + 2, 0x8000);
	wait_for(&msix_irqs, 3);
	GUEST_ASSERT_EQ(msix_irqs, 3);
	GUEST_SYNC("msix interrupts", msix_irqs);
	GUEST_DONE();
}
GUEST_TEST("pci-msix", test_pci_msix);

static volatile uint32_t msi_irqs[4];

static void on_msi(unsigned irq)
{
	msi_irqs[irq - MSI_IRQ]++;
	mmio_write32(LAPIC + LAPIC_EOI, 0);
}

static uint32_t msi_total(void)
{
	return msi_irqs[0] + msi_irqs[1] + msi_irqs[2] + msi_irqs[3];
}

static void wait_msi(uint32_t want)
{
	sti();
	for (unsigned i = 0; i < 100000 && msi_total() < want; i++)
		cpu_relax();
	cli();
}

/* pci-msi: the test device's plain MSI capability (PCI 3.0, 6.8.1; 64-bit,
 * per-vector masking) with 4 vectors allocated at base vector 0x2c: vector
 * n arrives as 0x2c + n; a masked vector is pending and arrives on unmask;
 * one vector allocated: only vector 0. */
static void test_pci_msi(void)
{
	unsigned s = find_testdev();
	pic_init(0xff, 0xff);
	mmio_write32(LAPIC + LAPIC_SVR, 0x1ff);
	for (unsigned i = 0; i < 4; i++)
		irq_set_handler(MSI_IRQ + i, on_msi);
	setup_bars(s);
	unsigned c = find_cap(s, 0x05);
	/* 4 vectors capable, 64-bit, per-vector masking, disabled */
	GUEST_ASSERT_EQ(cf8_read16(s, c + 2), 0x184);
	/* disabled: the device is told, nothing arrives */
	mmio_write32(BAR0_ADDR + PCI_TESTDEV_MSI, 0);
	GUEST_ASSERT_EQ(mmio_read32(BAR0_ADDR + PCI_TESTDEV_MSI), 0);
	cf8_write32(s, c + 4, LAPIC);                   /* APIC ID 0, physical */
	cf8_write32(s, c + 8, 0);
	cf8_write16(s, c + 12, IRQ_BASE + MSI_IRQ);     /* fixed, edge, 0x2c */
	cf8_write16(s, c + 2, 0x0001 | 2 << 4);         /* enable, 4 vectors */
	mmio_write32(BAR0_ADDR + PCI_TESTDEV_MSI, 0);
	GUEST_ASSERT_EQ(mmio_read32(BAR0_ADDR + PCI_TESTDEV_MSI), 1);
	wait_msi(1);
	GUEST_ASSERT_EQ(msi_irqs[0], 1);
	mmio_write32(BAR0_ADDR + PCI_TESTDEV_MSI, 3);
	wait_msi(2);
	GUEST_ASSERT_EQ(msi_irqs[3], 1);
	/* vector 2 masked: pending, then delivered when unmasked */
	cf8_write32(s, c + 16, 1u << 2);
	mmio_write32(BAR0_ADDR + PCI_TESTDEV_MSI, 2);
	wait_msi(3);
	GUEST_ASSERT_EQ(msi_total(), 2);
	GUEST_ASSERT_EQ(cf8_read32(s, c + 20), 1u << 2);
	cf8_write32(s, c + 16, 0);
	wait_msi(3);
	GUEST_ASSERT_EQ(msi_irqs[2], 1);
	GUEST_ASSERT_EQ(cf8_read32(s, c + 20), 0);
	/* one vector allocated: vector 1 is dropped, vector 0 arrives */
	cf8_write16(s, c + 2, 0x0001);
	mmio_write32(BAR0_ADDR + PCI_TESTDEV_MSI, 1);
	wait_msi(4);
	GUEST_ASSERT_EQ(msi_total(), 3);
	mmio_write32(BAR0_ADDR + PCI_TESTDEV_MSI, 0);
	wait_msi(4);
	GUEST_ASSERT_EQ(msi_irqs[0], 2);
	GUEST_SYNC("msi interrupts", msi_total());
	GUEST_DONE();
}
GUEST_TEST("pci-msi", test_pci_msi);

static void ioapic_write(unsigned reg, uint32_t v)
{
	mmio_write32(IOAPIC, reg);
	mmio_write32(IOAPIC + 0x10, v);
}

/* pci-intx: INTA# reaches the IOAPIC pin of the interrupt line register
 * (the board's map: GSI 16 + (slot + pin) % 4), level-triggered; the
 * handler quiets the device, so one assertion is one interrupt. */
static void test_pci_intx(void)
{
	unsigned s = find_testdev();
	pic_init(0xff, 0xff);
	mmio_write32(LAPIC + LAPIC_SVR, 0x1ff);
	irq_set_handler(INTX_IRQ, on_intx);
	setup_bars(s);
	intx_bar = BAR0_ADDR;
	unsigned gsi = cf8_read8(s, 0x3c);
	GUEST_ASSERT_EQ(gsi, LAYOUT_PCI_INTX_GSI_BASE + (s % 4));
	/* level, active low, fixed, physical destination 0 */
	ioapic_write(0x11 + 2 * gsi, 0);
	ioapic_write(0x10 + 2 * gsi, (1u << 15) | (1u << 13) | (IRQ_BASE + INTX_IRQ));
	mmio_write32(BAR0_ADDR + PCI_TESTDEV_INTX, 1);
	GUEST_ASSERT(cf8_read16(s, 0x06) & 0x8);        /* interrupt status */
	wait_for(&intx_irqs, 1);
	GUEST_ASSERT_EQ(intx_irqs, 1);
	GUEST_ASSERT_EQ(cf8_read16(s, 0x06) & 0x8, 0);
	/* INTx disable in COMMAND holds the line down */
	cf8_write16(s, 0x04, 0x7 | 0x400);
	mmio_write32(BAR0_ADDR + PCI_TESTDEV_INTX, 1);
	wait_for(&intx_irqs, 2);
	GUEST_ASSERT_EQ(intx_irqs, 1);
	cf8_write16(s, 0x04, 0x7);                      /* and lets it through again */
	wait_for(&intx_irqs, 2);
	GUEST_ASSERT_EQ(intx_irqs, 2);
	GUEST_SYNC("intx interrupts", intx_irqs);
	GUEST_DONE();
}
GUEST_TEST("pci-intx", test_pci_intx);

/* boot-timer (--boot-timer): Firecracker's boot-timer page above the PCI
 * memory window.  Writes that are not the byte 123 at offset 0 say nothing;
 * the first 123 prints "Guest-boot-time = ...", later ones do not (one line
 * per boot); reads return 0. */
static void test_boot_timer(void)
{
	mmio_write8(LAYOUT_BOOT_TIMER, 122);
	mmio_write8(LAYOUT_BOOT_TIMER + 1, 123);
	mmio_write32(LAYOUT_BOOT_TIMER, 123);
	GUEST_SYNC("boot timer before", mmio_read32(LAYOUT_BOOT_TIMER));
	for (unsigned i = 0; i < 100; i++)
		mmio_write8(LAYOUT_BOOT_TIMER, 123);
	GUEST_SYNC("boot timer signalled", mmio_read8(LAYOUT_BOOT_TIMER) + 1);
	GUEST_DONE();
}
GUEST_TEST("boot-timer", test_boot_timer);
