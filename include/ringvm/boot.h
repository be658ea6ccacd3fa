/* Direct kernel boot (src/boot/): detect the image format and load it, the
 * way `qemu -kernel` does.  Images and initrds are untrusted user input:
 * every header field is validated and every failure is one clear message. */
#ifndef RINGVM_BOOT_H
#define RINGVM_BOOT_H

#include <stddef.h>
#include <stdint.h>

#include "ringvm/vm.h"

/* A file read fully into memory. */
struct boot_blob {
	const char *path;
	uint8_t *data;
	size_t size;
};

/* Load vm->cfg.kernel (+ initrd, cmdline) into guest memory, write the
 * machine tables (e820 / memory maps, ACPI, MP table) and fill *entry with
 * the boot vCPU's registers.  Returns 0, or -errno after printing one line
 * that names the problem (unknown format, too little memory, bad header). */
int boot_load(struct vm *vm, struct boot_entry *entry);

/* Individual loaders: return -ENOEXEC if the image is not theirs. */
int boot_bzimage(struct vm *vm, const struct boot_blob *kernel,
		 const struct boot_blob *initrd, struct boot_entry *entry);
int boot_pvh(struct vm *vm, const struct boot_blob *kernel,
	     const struct boot_blob *initrd, struct boot_entry *entry);
int boot_multiboot(struct vm *vm, const struct boot_blob *kernel,
		   const struct boot_blob *initrd, struct boot_entry *entry);

/* Machine tables, shared by the loaders (src/boot/e820.c, acpi.c, mptable.c). */
#define E820_RAM 1
#define E820_RESERVED 2
#define E820_ACPI 3

struct e820_entry {
	uint64_t addr, size;
	uint32_t type;
} __attribute__((packed));

#define E820_MAX 16
/* The machine's physical memory map as e820 entries; returns the count. */
unsigned e820_build(const struct vm *vm, struct e820_entry *out, unsigned max);

/* Write RSDP/XSDT/FADT/MADT/DSDT into the ACPI area; returns the RSDP's gpa
 * or 0 on failure. */
uint64_t acpi_build(struct vm *vm);

/* Register-state helpers for the entry modes the protocols ask for. */
void boot_setup_flat32(struct vm *vm, struct boot_entry *e);   /* 32-bit PM, paging off */
int boot_setup_long64(struct vm *vm, struct boot_entry *e);    /* long mode, identity map */

#endif
