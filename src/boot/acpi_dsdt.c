/* The DSDT: hand-built AML for what Linux needs from ringvm's machine:
 * \_S5 (soft-off through PM1a_CNT), COM1 and the CMOS RTC as PNP devices,
 * and the PCI host bridge \_SB.PCI0 with its windows and interrupt map. */
#include "aml.h"
#include "boot_internal.h"
#include "ringvm/layout.h"

/* Device(name) { _HID EisaId(hid), _UID uid, _CRS { IO base/len, IRQ } } */
static void dsdt_isa_device(struct aml *a, const char *name, const char *hid,
			    unsigned uid, uint16_t io, uint8_t io_len, unsigned irq)
{
	uint8_t res[16];
	size_t n = 0;

	n += aml_res_io(res + n, io, 1, io_len);
	n += aml_res_irq(res + n, irq);
	n += aml_res_end(res + n);

	aml_device_begin(a, name);
	aml_name(a, "_HID");
	aml_eisaid(a, hid);
	aml_name(a, "_UID");
	aml_integer(a, uid);
	aml_name(a, "_STA");
	aml_integer(a, 0x0f); /* present, enabled, shown, functioning */
	aml_name(a, "_CRS");
	aml_buffer(a, res, n);
	aml_end(a);
}

/* Device(PCI0): the PCI Express root bridge (ACPI 6.4, 6.1.5 and 6.2.13).
 * _CRS: bus numbers 0-255 (ECAM covers them all), the configuration ports
 * (consumed), the I/O and 32-bit memory windows BARs decode in; _PRT: INTA#
 * to INTD# of every slot to the GSIs of the board's interrupt map (a _PRT
 * entry with Source 0 names a GSI, level-triggered active low). */
static void dsdt_pci_root(struct aml *a)
{
	uint8_t res[96];
	size_t n = 0;

	n += aml_res_word(res + n, AML_RES_BUS, 0, 0, LAYOUT_PCI_ECAM_BUSES - 1);
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

size_t acpi_dsdt_build(uint8_t *buf, size_t cap)
{
	struct aml a;

	if (cap < 36)
		return 0;
	aml_init(&a, buf + 36, cap - 36);

	/* Name(\_S5, Package(4) { SLP_TYPa, SLP_TYPb, 0, 0 }) */
	aml_name(&a, "\\_S5");
	aml_package_begin(&a, 4);
	aml_integer(&a, ACPI_SLP_TYP_S5);
	aml_integer(&a, ACPI_SLP_TYP_S5);
	aml_integer(&a, 0);
	aml_integer(&a, 0);
	aml_end(&a);

	aml_scope_begin(&a, "\\_SB");
	dsdt_isa_device(&a, "COM1", "PNP0501", 0, PORT_COM1, 8, IRQ_COM1);
	dsdt_isa_device(&a, "RTC", "PNP0B00", 0, PORT_RTC, 2, IRQ_RTC);
	dsdt_pci_root(&a);
	aml_end(&a);

	if (!aml_ok(&a))
		return 0;
	size_t len = 36 + a.len;
	acpi_header(buf, "DSDT", (uint32_t)len, 2);
	acpi_finish(buf, (uint32_t)len);
	return len;
}
