/* Every guest-physical constant of the ringvm machine, in one place. */
#ifndef RINGVM_LAYOUT_H
#define RINGVM_LAYOUT_H

#include "ringvm/compiler.h"

/* ---- RAM and the 32-bit MMIO hole ------------------------------------- */
#define LAYOUT_MMIO_HOLE_START   0xC0000000ULL /* RAM below stops here */
#define LAYOUT_MMIO_HOLE_END     0x100000000ULL /* RAM resumes at 4 GiB */
#define LAYOUT_HIGH_RAM_START    LAYOUT_MMIO_HOLE_END

/* ---- Low memory (first MiB) ------------------------------------------- */
#define LAYOUT_BOOT_GDT          0x00000500ULL /* boot GDT (flat 0x10/0x18) */
#define LAYOUT_BOOT_IDT          0x00000520ULL /* empty IDT for boot */
#define LAYOUT_BOOT_IDT_END      0x00000528ULL
#define LAYOUT_BOOT_STACK_BOTTOM 0x00006000ULL /* boot stack page (below the zero */
#define LAYOUT_BOOT_STACK        0x00006ff0ULL /*   page): initial RSP */
#define LAYOUT_ZERO_PAGE         0x00007000ULL /* Linux boot_params / PVH start info */
#define LAYOUT_ZERO_PAGE_END     0x00008000ULL
#define LAYOUT_PML4              0x00009000ULL /* boot identity page tables: */
#define LAYOUT_PDPT              0x0000a000ULL /*   PML4, PDPT, 4 PDs (4 GiB */
#define LAYOUT_PD                0x0000b000ULL /*   identity map, 2 MiB pages) */
#define LAYOUT_PD_END            0x0000f000ULL
#define LAYOUT_CMDLINE           0x00020000ULL /* kernel command line */
#define LAYOUT_CMDLINE_MAX       0x00010000ULL
#define LAYOUT_BOOT_INFO         0x00030000ULL /* multiboot info / PVH memmap / modules */
#define LAYOUT_BOOT_INFO_END     0x00080000ULL
#define LAYOUT_EBDA_START        0x0009fc00ULL /* reserved from here to 1 MiB */
#define LAYOUT_MPTABLE           0x0009fc00ULL /* MP floating pointer + table */
#define LAYOUT_ACPI_START        0x000e0000ULL /* RSDP and ACPI tables (BIOS area) */
#define LAYOUT_ACPI_END          0x00100000ULL
#define LAYOUT_HIGH_MEMORY       0x00100000ULL /* 1 MiB: bzImage kernels load at or above;
						  multiboot/PVH segments may load lower, in
						  what the loaders do not use (loader.c) */

/* ---- MMIO hole contents ----------------------------------------------- */
#define LAYOUT_PCI_MMIO32_START  0xC0000000ULL /* PCI memory BARs (host bridge window) */
#define LAYOUT_PCI_MMIO32_END    0xD0000000ULL
#define LAYOUT_BOOT_TIMER        0xD0000000ULL /* Firecracker's first MMIO slot: its boot timer (--boot-timer) */
#define LAYOUT_BOOT_TIMER_SIZE   0x1000ULL
#define LAYOUT_PCI_ECAM          0xE0000000ULL /* PCIe ECAM (MCFG): 1 MiB per bus */
#define LAYOUT_PCI_ECAM_SIZE     0x10000000ULL
#define LAYOUT_PCI_ECAM_BUSES    256
/* Buses announced to the guest (MCFG, \_SB.PCI0._CRS): only bus 0 exists.
 * Announcing ECAM's 256 made Linux scan buses 1-255 for peer host bridges
 * (pcibios_fixup_peer_bridges: 8160 config reads, 16 320 port accesses a boot). */
#define LAYOUT_PCI_BUSES         1
#define LAYOUT_TESTDEV_MMIO      0xFE000000ULL /* test device scratch window */
#define LAYOUT_TESTDEV_MMIO_SIZE 0x1000ULL
#define LAYOUT_IOAPIC            0xFEC00000ULL
#define LAYOUT_IOAPIC_SIZE       0x1000ULL
#define LAYOUT_LAPIC             0xFEE00000ULL
#define LAYOUT_LAPIC_SIZE        0x1000ULL
#define LAYOUT_MSI_ADDR          0xFEE00000ULL /* MSI address range (SDM 11.11.1): */
#define LAYOUT_MSI_ADDR_SIZE     0x100000ULL   /*   0xFEE00000-0xFEEFFFFF */
#define LAYOUT_PC_TESTDEV_IOMEM  0xFF000000ULL /* QEMU pc-testdev's RAM window (--pc-testdev) */
#define LAYOUT_PC_TESTDEV_IOMEM_SIZE 0x10000ULL

/* ---- I/O ports -------------------------------------------------------- */
#define PORT_PIC_MASTER          0x20
#define PORT_PIT                 0x40
#define PORT_SYSTEM_CONTROL_B    0x61   /* PIT channel 2 gate/output, refresh */
#define PORT_I8042_DATA          0x60
#define PORT_I8042_CMD           0x64
#define PORT_RTC                 0x70   /* index 0x70, data 0x71 */
#define PORT_PIC_SLAVE           0xa0
#define PORT_ELCR                0x4d0  /* edge/level control, 0x4d0-0x4d1 */
#define PORT_DEBUG_EXIT_DEFAULT  0xf4   /* isa-debug-exit compatible */
#define PORT_TESTDEV             0x0e0  /* test-guest call port (--testdev) */
#define PORT_PC_TESTDEV          0x0e0  /* --pc-testdev: data 0xe0-0xe3, flush page 0xe4-0xe7 */
#define PORT_PC_TESTDEV_IRQ      0x2000 /* --pc-testdev: one byte port per GSI 0-23 */
#define PORT_ACPI_PM_BASE        0x600  /* PM1a event (4), control (2), timer (4) */
#define PORT_ACPI_PM1_EVT        (PORT_ACPI_PM_BASE + 0x0)
#define PORT_ACPI_PM1_CNT        (PORT_ACPI_PM_BASE + 0x4)
#define PORT_ACPI_PM_TMR         (PORT_ACPI_PM_BASE + 0x8)
#define PORT_ACPI_RESET          0xcf9  /* FADT reset register: write 0x06 */
#define ACPI_RESET_VALUE         0x06
#define ACPI_SLP_TYP_S5          5      /* DSDT _S5 package value; PM1_CNT bits 10-12 */
#define ACPI_SCI_IRQ             IRQ_ACPI_SCI
#define PORT_PCI_CONFIG_ADDRESS  0xcf8  /* PCI configuration mechanism #1: */
#define PORT_PCI_CONFIG_DATA     0xcfc  /*   dword address, data 0xcfc-0xcff */
#define LAYOUT_PCI_IO_START      0xc000 /* PCI I/O BARs (host bridge window) */
#define LAYOUT_PCI_IO_END        0x10000
#define PORT_COM1                0x3f8
#define PORT_COM2                0x2f8

/* ---- Interrupt lines (GSI / ISA IRQ) ---------------------------------- */
#define IRQ_PIT                  0
#define IRQ_I8042_KBD            1
#define IRQ_COM2                 3
#define IRQ_COM1                 4
#define IRQ_RTC                  8
#define IRQ_ACPI_SCI             9
#define IRQ_I8042_AUX            12

/* ---- The board's interrupt map ---------------------------------------- */
/* One IOAPIC with LAYOUT_IOAPIC_PINS inputs.  GSI n is IOAPIC pin n, except
 * that ISA IRQ 0 (the PIT) is wired to pin 2 (the MADT/MP table interrupt
 * source override) and pin 0 carries the 8259's INTR (ExtINT).  ISA IRQs
 * are edge-triggered, active high, except the ACPI SCI (level, active high,
 * also overridden).  PCI INTA#-INTD# of the host bridge's bus go to GSIs
 * 16-19, level-triggered active low, swizzled by slot (board_pci_intx_gsi);
 * the DSDT's _PRT says the same. */
#define LAYOUT_IOAPIC_ID         0      /* the MADT's, the MP table's and the chip's */
#define LAYOUT_IOAPIC_PINS       24
#define LAYOUT_ISA_IRQS          16
#define LAYOUT_PCI_INTX_GSI_BASE 16
#define LAYOUT_PCI_INTX_PINS     4

/* The GSI (= IOAPIC pin) an ISA IRQ reaches. */
static inline unsigned board_isa_irq_gsi(unsigned isa_irq)
{
	return isa_irq == IRQ_PIT ? 2 : isa_irq;
}

/* The GSI of INTx pin (0 = INTA# .. 3 = INTD#) of bus 0 device 'slot'
 * (the PCI-to-PCI bridge swizzle, PCI Bridge spec 9.1). */
static inline unsigned board_pci_intx_gsi(unsigned slot, unsigned pin)
{
	return LAYOUT_PCI_INTX_GSI_BASE + (slot + pin) % LAYOUT_PCI_INTX_PINS;
}

#define MAX_VCPUS                64

#endif
