/* The DSDT: \_S5 (soft-off through PM1a_CNT), then Scope(\_SB) with every
 * device's own part (ACPI_DSDT_PART, include/ringvm/aml.h): COM1
 * (uart8250_dev.c), the CMOS RTC (rtc_dev.c), the PCI root bridge
 * (src/hw/pci/pci_acpi.c), ... */
#include "ringvm/aml.h"
#include "boot_internal.h"
#include "ringvm/layout.h"

/* Bounds of the "ringvm_dsdt" section, provided by the linker (empty in
 * programs without devices, such as the loader fuzz targets). */
extern const struct acpi_dsdt_part *const __start_ringvm_dsdt[] __attribute__((weak));
extern const struct acpi_dsdt_part *const __stop_ringvm_dsdt[] __attribute__((weak));

size_t acpi_dsdt_build(const struct vm *vm, uint8_t *buf, size_t cap)
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
	size_t n = (size_t)(__stop_ringvm_dsdt - __start_ringvm_dsdt);
	for (size_t i = 0; i < n; i++)
		__start_ringvm_dsdt[i]->build(&a, vm);
	aml_end(&a);

	if (!aml_ok(&a))
		return 0;
	size_t len = 36 + a.len;
	acpi_header(buf, "DSDT", (uint32_t)len, 2);
	acpi_finish(buf, (uint32_t)len);
	return len;
}
