/* The machine's physical memory map (e820), derived from the guest RAM
 * regions and layout.h.  Every boot protocol's memory map comes from here. */
#include "ringvm/boot.h"
#include "ringvm/layout.h"

static void e820_add(struct e820_entry *out, unsigned max, unsigned *n,
		     uint64_t addr, uint64_t end, uint32_t type)
{
	if (end <= addr || *n >= max)
		return;
	out[*n] = (struct e820_entry){ .addr = addr, .size = end - addr, .type = type };
	(*n)++;
}

unsigned e820_build(const struct vm *vm, struct e820_entry *out, unsigned max)
{
	unsigned n = 0;
	uint64_t low_end = 0, high_start = 0, high_end = 0;

	for (unsigned i = 0; i < vm->mem.nr_regions; i++) {
		const struct gmem_region *r = &vm->mem.regions[i];
		if (r->gpa == 0) {
			low_end = r->size;
		} else if (r->gpa >= LAYOUT_HIGH_RAM_START) {
			high_start = r->gpa;
			high_end = r->gpa + r->size;
		}
	}
	/* Conventional memory, then the EBDA/BIOS area (MP and ACPI tables). */
	e820_add(out, max, &n, 0, low_end < LAYOUT_EBDA_START ? low_end : LAYOUT_EBDA_START,
		 E820_RAM);
	if (low_end > LAYOUT_EBDA_START)
		e820_add(out, max, &n, LAYOUT_EBDA_START, LAYOUT_HIGH_MEMORY, E820_RESERVED);
	e820_add(out, max, &n, LAYOUT_HIGH_MEMORY, low_end, E820_RAM);
	/* The PCIe ECAM window must be reserved for Linux to use MCFG. */
	e820_add(out, max, &n, LAYOUT_PCI_ECAM, LAYOUT_PCI_ECAM + LAYOUT_PCI_ECAM_SIZE,
		 E820_RESERVED);
	e820_add(out, max, &n, high_start, high_end, E820_RAM);
	return n;
}
