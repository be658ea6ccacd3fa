/* The PCI host bridge's part of the DSDT: \_SB.PCI0. */
#include "ringvm/aml.h"
#include "ringvm/layout.h"

/* Device(PCI0): the PCI Express root bridge (ACPI 6.4, 6.1.5 and 6.2.13).
 * _CRS: the bus numbers that exist (LAYOUT_PCI_BUSES: bus 0, as MCFG says),
 * the configuration ports (consumed), the I/O and 32-bit memory windows BARs
 * decode in; _PRT: INTA#
 * to INTD# of every slot to the GSIs of the board's interrupt map (a _PRT
 * entry with Source 0 names a GSI, level-triggered active low). */
static void pci_acpi_root(struct aml *a, const struct vm *vm)
{
	(void)vm;
	uint8_t res[96];
	size_t n = 0;

	n += aml_res_word(res + n, AML_RES_BUS, 0, 0, LAYOUT_PCI_BUSES - 1);
	n += aml_res_io(res + n, PORT_PCI_CONFIG_ADDRESS, 1, 8);
	n += aml_res_word(res + n, AML_RES_IO, 3, LAYOUT_PCI_IO_START, LAYOUT_PCI_IO_END - 1);
	n += aml_res_dword(res + n, AML_RES_MEM, 0x01, (uint32_t)LAYOUT_PCI_MMIO32_START,
			   (uint32_t)(LAYOUT_PCI_MMIO32_END - 1));
	n += aml_res_end(res + n);

	aml_device_begin(a, "PCI0");
	aml_name(a, "_HID");
	aml_eisaid(a, "PNP0A08");
	aml_name(a, "_CID");
	aml_eisaid(a, "PNP0A03");
	aml_name(a, "_UID");
	aml_integer(a, 0);
	aml_name(a, "_SEG");
	aml_integer(a, 0);
	aml_name(a, "_BBN");
	aml_integer(a, 0);
	aml_name(a, "_CRS");
	aml_buffer(a, res, n);
	aml_name(a, "_PRT");
	aml_package_begin(a, 32 * LAYOUT_PCI_INTX_PINS);
	for (unsigned slot = 0; slot < 32; slot++) {
		for (unsigned pin = 0; pin < LAYOUT_PCI_INTX_PINS; pin++) {
			aml_package_begin(a, 4);
			aml_integer(a, (uint64_t)slot << 16 | 0xffff); /* any function */
			aml_integer(a, pin);
			aml_integer(a, 0);                              /* Source: GSI */
			aml_integer(a, board_pci_intx_gsi(slot, pin));
			aml_end(a);
		}
	}
	aml_end(a);
	aml_end(a);
}

ACPI_DSDT_PART(pci0, pci_acpi_root);
