/* Private helpers shared by the boot loaders (src/boot/ only). */
#ifndef RINGVM_BOOT_INTERNAL_H
#define RINGVM_BOOT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ringvm/boot.h"
#include "ringvm/layout.h"

/* ---- little-endian field access inside a host buffer ------------------ */
static inline uint16_t le16_at(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static inline uint32_t le32_at(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline uint64_t le64_at(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static inline void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static inline void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static inline void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

/* True when [off, off+len) lies inside a buffer of size bytes (no overflow). */
static inline bool boot_range_ok(uint64_t off, uint64_t len, uint64_t size)
{
	return off <= size && len <= size - off;
}

/* ---- loader.c ----------------------------------------------------------- */
/* Read a whole regular file (what = "kernel" / "initrd" for messages). */
int boot_blob_read(struct boot_blob *b, const char *what, const char *path,
		   uint64_t max_size);
void boot_blob_free(struct boot_blob *b);

/* The command line the VM was configured with ("" when none). */
const char *boot_cmdline(const struct vm *vm);
/* Write s (NUL-terminated) at LAYOUT_CMDLINE after checking its length
 * against max_len (excluding the NUL); proto names the limit's origin. */
int boot_write_cmdline(struct vm *vm, const char *s, uint64_t max_len,
		       const char *proto);

/* Place [size] bytes of initrd as high as possible inside [lo, hi) of one
 * RAM region, 4 KiB aligned.  Returns 0 and *gpa, or -ENOMEM. */
int boot_place_high(const struct vm *vm, uint64_t size, uint64_t lo,
		    uint64_t hi, uint64_t *gpa);

/* Low RAM end (first region), i.e. min(RAM, start of the MMIO hole). */
uint64_t boot_low_ram_end(const struct vm *vm);

/* Protocols, for what each one writes in the first MiB. */
#define BOOT_PROTO_BZIMAGE   0x1u
#define BOOT_PROTO_PVH       0x2u
#define BOOT_PROTO_MULTIBOOT 0x4u

/* Check that [start, start + len) (len > 0) of a kernel image may be loaded
 * for protocol proto: inside low RAM and, below 1 MiB, clear of everything
 * ringvm itself places there for that protocol.  Prints a message naming
 * the range (what: "PVH segment 2", "multiboot image") and returns -EINVAL
 * if not. */
int boot_check_load_range(const struct vm *vm, const char *path, const char *what,
			  uint64_t start, uint64_t len, unsigned proto);

/* A bump allocator over [LAYOUT_BOOT_INFO, LAYOUT_BOOT_INFO_END). */
struct boot_area {
	uint64_t next, end;
};
void boot_area_init(struct boot_area *a);
/* Reserve len bytes aligned to align; 0 when it does not fit. */
uint64_t boot_area_alloc(struct boot_area *a, uint64_t len, uint64_t align);

/* Write machine tables common to every protocol (ACPI); *rsdp gets the
 * RSDP's address.  Prints and returns -errno on failure. */
int boot_write_acpi(struct vm *vm, uint64_t *rsdp);

/* ---- elf.c -------------------------------------------------------------- */
struct elf_info {
	bool is64;
	uint16_t machine;
	uint64_t entry;
	uint64_t phoff;
	uint16_t phnum;
	uint16_t phentsize;
};

struct elf_phdr {
	uint32_t type;
	uint64_t offset, vaddr, paddr, filesz, memsz;
};

#define ELF_PT_LOAD 1
#define ELF_PT_NOTE 4

/* -ENOEXEC if not ELF, -EINVAL (with message) if ELF but malformed. */
int elf_parse(const struct boot_blob *b, struct elf_info *out);
/* Program header i (checked against the file size by elf_parse). */
void elf_phdr_get(const struct boot_blob *b, const struct elf_info *e,
		  unsigned i, struct elf_phdr *out);
/* Find the first note (name, type) in PT_NOTE segments; returns its
 * descriptor pointer and size, or NULL. */
const uint8_t *elf_find_note(const struct boot_blob *b, const struct elf_info *e,
			     const char *name, uint32_t type, uint32_t *descsz);
/* Validate and copy every PT_LOAD to its p_paddr (zeroing bss).  *end gets
 * the highest loaded address (exclusive). */
int elf_load(struct vm *vm, const struct boot_blob *b, const struct elf_info *e,
	     const char *fmt_name, unsigned proto, uint64_t *start, uint64_t *end);
/* Translate a virtual entry point to physical through the PT_LOADs. */
uint64_t elf_entry_phys(const struct boot_blob *b, const struct elf_info *e);

/* ---- mptable.c ---------------------------------------------------------- */
int mptable_build(struct vm *vm);

/* ---- acpi helpers (acpi.c, acpi_dsdt.c) ---------------------------------- */
/* Fill a standard 36-byte ACPI header; the checksum is set by acpi_finish. */
void acpi_header(uint8_t *t, const char *sig, uint32_t len, uint8_t rev);
void acpi_finish(uint8_t *t, uint32_t len);
uint8_t acpi_sum(const uint8_t *p, size_t len);
/* Write the DSDT (header + AML) into buf; returns its length or 0. */
size_t acpi_dsdt_build(const struct vm *vm, uint8_t *buf, size_t cap);

/* I/O APIC id used in the MADT and the MP table: the board's, which the
 * soft IOAPIC also resets to (KVM's in-kernel IOAPIC resets to 0 too).  On
 * xAPIC systems IOAPIC and local APIC IDs are separate name spaces, so it
 * may equal vCPU 0's APIC ID, as on QEMU's boards. */
static inline uint8_t boot_ioapic_id(const struct vm *vm)
{
	(void)vm;
	return LAYOUT_IOAPIC_ID;
}

#endif
