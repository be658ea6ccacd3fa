/* PVH direct boot (xen/include/public/arch-x86/hvm/start_info.h): an ELF
 * vmlinux whose PT_NOTE holds XEN_ELFNOTE_PHYS32_ENTRY.  Segments load at
 * p_paddr; the kernel starts in 32-bit protected mode, paging off, with
 * EBX = the hvm_start_info at LAYOUT_ZERO_PAGE. */
#include <errno.h>
#include <inttypes.h>

#include "boot_internal.h"
#include "ringvm/layout.h"
#include "ringvm/log.h"

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define HVM_START_MAGIC 0x336ec578u
#define HVM_START_INFO_SIZE 56     /* version 1 */
#define HVM_MODLIST_ENTRY_SIZE 32
#define HVM_MEMMAP_ENTRY_SIZE 24

/* The 32-bit entry point from the note (4- or 8-byte descriptor). */
static int pvh_entry(const struct boot_blob *b, const struct elf_info *e,
		     uint64_t *entry)
{
	uint32_t dsz = 0;
	const uint8_t *desc = elf_find_note(b, e, "Xen", XEN_ELFNOTE_PHYS32_ENTRY, &dsz);

	if (!desc)
		return -ENOEXEC;
	if (dsz == 4) {
		*entry = le32_at(desc);
	} else if (dsz == 8) {
		*entry = le64_at(desc);
	} else {
		pr_err("%s: PVH entry note has a %u-byte descriptor (expected 4 or 8)",
		       b->path, dsz);
		return -EINVAL;
	}
	if (*entry > UINT32_MAX) {
		pr_err("%s: PVH entry point 0x%" PRIx64 " is above 4 GiB", b->path, *entry);
		return -EINVAL;
	}
	return 0;
}

/* memmap + module list in the boot-info area, start info in the zero page. */
static int pvh_start_info(struct vm *vm, const struct boot_blob *b, uint64_t rsdp,
			  uint64_t initrd_gpa, uint64_t initrd_size)
{
	struct e820_entry map[E820_MAX];
	unsigned n = e820_build(vm, map, E820_MAX);
	uint8_t mm[E820_MAX * HVM_MEMMAP_ENTRY_SIZE] = { 0 };
	uint8_t si[HVM_START_INFO_SIZE] = { 0 };
	uint8_t mod[HVM_MODLIST_ENTRY_SIZE] = { 0 };
	struct boot_area area;

	boot_area_init(&area);
	for (unsigned i = 0; i < n; i++) {
		put64(mm + i * HVM_MEMMAP_ENTRY_SIZE, map[i].addr);
		put64(mm + i * HVM_MEMMAP_ENTRY_SIZE + 8, map[i].size);
		put32(mm + i * HVM_MEMMAP_ENTRY_SIZE + 16, map[i].type);
	}
	uint64_t mm_gpa = boot_area_alloc(&area, (uint64_t)n * HVM_MEMMAP_ENTRY_SIZE, 8);
	uint64_t mod_gpa = boot_area_alloc(&area, HVM_MODLIST_ENTRY_SIZE, 8);
	if (!mm_gpa || !mod_gpa)
		return -ENOSPC;

	put32(si + 0, HVM_START_MAGIC);
	put32(si + 4, 1);                       /* version */
	put32(si + 8, 0);                       /* flags */
	put64(si + 24, LAYOUT_CMDLINE);
	put64(si + 32, rsdp);
	put64(si + 40, mm_gpa);
	put32(si + 48, n);
	if (initrd_size) {
		put64(mod + 0, initrd_gpa);
		put64(mod + 8, initrd_size);
		put32(si + 12, 1);              /* nr_modules */
		put64(si + 16, mod_gpa);
	}
	if (gmem_write(&vm->mem, mm_gpa, mm, (uint64_t)n * HVM_MEMMAP_ENTRY_SIZE) < 0 ||
	    gmem_write(&vm->mem, mod_gpa, mod, sizeof(mod)) < 0 ||
	    gmem_fill(&vm->mem, LAYOUT_ZERO_PAGE, 0, 4096) < 0 ||
	    gmem_write(&vm->mem, LAYOUT_ZERO_PAGE, si, sizeof(si)) < 0) {
		pr_err("%s: cannot write the PVH start info", b->path);
		return -EFAULT;
	}
	return 0;
}

int boot_pvh(struct vm *vm, const struct boot_blob *kernel,
	     const struct boot_blob *initrd, struct boot_entry *entry)
{
	struct elf_info e;
	uint64_t pc, kstart, kend, rsdp, initrd_gpa = 0;
	int r;

	r = elf_parse(kernel, &e);
	if (r < 0)
		return r;
	r = pvh_entry(kernel, &e, &pc);
	if (r < 0)
		return r;
	r = elf_load(vm, kernel, &e, "PVH", BOOT_PROTO_PVH, &kstart, &kend);
	if (r < 0)
		return r;
	if (pc < kstart || pc >= kend) {
		pr_err("%s: PVH entry point 0x%" PRIx64 " is outside the loaded "
		       "kernel 0x%" PRIx64 "-0x%" PRIx64, kernel->path, pc, kstart, kend);
		return -EINVAL;
	}
	if (initrd) {
		uint64_t lo = ALIGN_UP(kend, 4096);
		if (boot_place_high(vm, initrd->size, lo, boot_low_ram_end(vm),
				    &initrd_gpa) < 0) {
			pr_err("initrd %s (%zu bytes) does not fit in guest RAM "
			       "(%" PRIu64 " MiB below 4 GiB) above the kernel ending "
			       "at 0x%" PRIx64, initrd->path, initrd->size,
			       (uint64_t)(boot_low_ram_end(vm) / MiB), kend);
			return -ENOMEM;
		}
		if (gmem_write(&vm->mem, initrd_gpa, initrd->data, initrd->size) < 0)
			return -EFAULT;
	}
	r = boot_write_cmdline(vm, boot_cmdline(vm), LAYOUT_CMDLINE_MAX - 1, "PVH");
	if (r < 0)
		return r;
	r = boot_write_acpi(vm, &rsdp);
	if (r < 0)
		return r;
	r = pvh_start_info(vm, kernel, rsdp, initrd_gpa, initrd ? initrd->size : 0);
	if (r < 0)
		return r;

	boot_setup_flat32(vm, entry);
	entry->regs.rip = pc;
	entry->regs.gpr[GPR_RBX] = LAYOUT_ZERO_PAGE;
	entry->format = "pvh";
	return 0;
}
