/* Multiboot v1 (spec 0.6.96): header in the first 8 KiB, ELF32/ELF64 or the
 * a.out kludge, info structure at LAYOUT_BOOT_INFO, initrd as one module.
 * Entered in 32-bit protected mode, paging off: EAX = 0x2BADB002, EBX =
 * the info structure. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "boot_internal.h"
#include "ringvm/layout.h"
#include "ringvm/log.h"

#define MB_MAGIC            0x1BADB002u
#define MB_BOOT_MAGIC       0x2BADB002u
#define MB_SEARCH           8192
#define MB_F_PAGE_ALIGN     (1u << 0)
#define MB_F_MEMORY_INFO    (1u << 1)
#define MB_F_VIDEO_MODE     (1u << 2)
#define MB_F_AOUT_KLUDGE    (1u << 16)
#define MB_F_REQUIRED_MASK  0x0000ffffu /* bits 0-15 must be understood */
#define MB_F_KNOWN          (MB_F_PAGE_ALIGN | MB_F_MEMORY_INFO | MB_F_VIDEO_MODE)

/* multiboot_info flags */
#define MBI_MEM             (1u << 0)
#define MBI_CMDLINE         (1u << 2)
#define MBI_MODS            (1u << 3)
#define MBI_MMAP            (1u << 6)
#define MBI_LOADER_NAME     (1u << 9)
#define MBI_SIZE            116
#define MB_LOADER_NAME      "ringvm"

struct mb_hdr {
	size_t off;           /* file offset of the header */
	uint32_t flags;
	uint32_t header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr;
};

/* Find the header: magic on a 4-byte boundary in the first 8 KiB with
 * magic + flags + checksum == 0.  -ENOEXEC when there is none. */
static int mb_find(const struct boot_blob *b, struct mb_hdr *h)
{
	size_t limit = b->size < MB_SEARCH ? b->size : MB_SEARCH;

	for (size_t off = 0; off + 12 <= limit; off += 4) {
		const uint8_t *p = b->data + off;
		if (le32_at(p) != MB_MAGIC)
			continue;
		uint32_t flags = le32_at(p + 4);
		if ((uint32_t)(MB_MAGIC + flags + le32_at(p + 8)) != 0)
			continue;
		memset(h, 0, sizeof(*h));
		h->off = off;
		h->flags = flags;
		if (flags & MB_F_AOUT_KLUDGE) {
			if (off + 32 > limit) {
				pr_err("%s: multiboot header at 0x%zx is cut off by the end "
				       "of the first 8 KiB or of the file", b->path, off);
				return -EINVAL;
			}
			h->header_addr = le32_at(p + 12);
			h->load_addr = le32_at(p + 16);
			h->load_end_addr = le32_at(p + 20);
			h->bss_end_addr = le32_at(p + 24);
			h->entry_addr = le32_at(p + 28);
		}
		return 0;
	}
	return -ENOEXEC;
}

/* a.out kludge: the header's addresses say where the file goes. */
static int mb_load_aout(struct vm *vm, const struct boot_blob *b,
			const struct mb_hdr *h, uint64_t *kend, uint64_t *pc)
{
	if (h->load_addr > h->header_addr ||
	    h->header_addr - h->load_addr > h->off) {
		pr_err("%s: multiboot load_addr 0x%x / header_addr 0x%x put the load "
		       "start before the beginning of the file", b->path,
		       h->load_addr, h->header_addr);
		return -EINVAL;
	}
	uint64_t file_off = h->off - (h->header_addr - h->load_addr);
	uint64_t load_len;
	if (h->load_end_addr == 0) {
		load_len = b->size - file_off;
	} else if (h->load_end_addr <= h->load_addr) {
		pr_err("%s: multiboot load_end_addr 0x%x is not above load_addr 0x%x",
		       b->path, h->load_end_addr, h->load_addr);
		return -EINVAL;
	} else {
		load_len = (uint64_t)h->load_end_addr - h->load_addr;
	}
	if (!boot_range_ok(file_off, load_len, b->size)) {
		pr_err("%s: multiboot load range (0x%" PRIx64 " bytes at file offset "
		       "0x%" PRIx64 ") extends past the end of the file (%zu bytes)",
		       b->path, load_len, file_off, b->size);
		return -EINVAL;
	}
	uint64_t end = h->load_addr + load_len;
	if (h->bss_end_addr) {
		if (h->bss_end_addr < end) {
			pr_err("%s: multiboot bss_end_addr 0x%x is below the end of the "
			       "loaded image 0x%" PRIx64, b->path, h->bss_end_addr, end);
			return -EINVAL;
		}
		end = h->bss_end_addr;
	}
	if (boot_check_load_range(vm, b->path, "multiboot image", h->load_addr,
				  end - h->load_addr, BOOT_PROTO_MULTIBOOT) < 0)
		return -EINVAL;
	if (h->entry_addr < h->load_addr || h->entry_addr >= end) {
		pr_err("%s: multiboot entry_addr 0x%x is outside the image 0x%x-0x%" PRIx64,
		       b->path, h->entry_addr, h->load_addr, end);
		return -EINVAL;
	}
	if (gmem_write(&vm->mem, h->load_addr, b->data + file_off, load_len) < 0 ||
	    gmem_fill(&vm->mem, h->load_addr + load_len, 0,
		      end - h->load_addr - load_len) < 0)
		return -EFAULT;
	*kend = end;
	*pc = h->entry_addr;
	return 0;
}

static int mb_load_elf(struct vm *vm, const struct boot_blob *b,
		       uint64_t *kend, uint64_t *pc)
{
	struct elf_info e;
	uint64_t kstart;
	int r = elf_parse(b, &e);

	if (r == -ENOEXEC) {
		pr_err("%s: multiboot kernel is neither ELF nor uses the a.out kludge "
		       "(header flag 16)", b->path);
		return -EINVAL;
	}
	if (r < 0)
		return r;
	r = elf_load(vm, b, &e, "multiboot", BOOT_PROTO_MULTIBOOT, &kstart, kend);
	if (r < 0)
		return r;
	*pc = elf_entry_phys(b, &e);
	if (*pc < kstart || *pc >= *kend) {
		pr_err("%s: multiboot ELF entry 0x%" PRIx64 " is outside the loaded "
		       "image 0x%" PRIx64 "-0x%" PRIx64, b->path, *pc, kstart, *kend);
		return -EINVAL;
	}
	return 0;
}

/* The multiboot info structure and what it points to. */
static int mb_info(struct vm *vm, const struct boot_blob *rd, uint64_t rd_gpa,
		   uint64_t *info_out)
{
	struct boot_area area;
	uint8_t info[MBI_SIZE] = { 0 };
	struct e820_entry map[E820_MAX];
	uint8_t mm[E820_MAX * 24];
	unsigned n = e820_build(vm, map, E820_MAX);
	uint64_t low = boot_low_ram_end(vm);
	uint32_t flags = MBI_MEM | MBI_CMDLINE | MBI_MMAP | MBI_LOADER_NAME;

	boot_area_init(&area);
	uint64_t info_gpa = boot_area_alloc(&area, MBI_SIZE, 8);
	uint64_t mm_gpa = boot_area_alloc(&area, (uint64_t)n * 24, 8);
	uint64_t name_gpa = boot_area_alloc(&area, sizeof(MB_LOADER_NAME), 1);
	if (!info_gpa || !mm_gpa || !name_gpa)
		return -ENOSPC;
	for (unsigned i = 0; i < n; i++) {
		put32(mm + i * 24, 20);          /* size, excluding this field */
		put64(mm + i * 24 + 4, map[i].addr);
		put64(mm + i * 24 + 12, map[i].size);
		put32(mm + i * 24 + 20, map[i].type);
	}
	put32(info + 4, (uint32_t)(LAYOUT_EBDA_START / KiB));       /* mem_lower */
	put32(info + 8, (uint32_t)((low - LAYOUT_HIGH_MEMORY) / KiB)); /* mem_upper */
	put32(info + 16, (uint32_t)LAYOUT_CMDLINE);
	put32(info + 44, n * 24);
	put32(info + 48, (uint32_t)mm_gpa);
	put32(info + 64, (uint32_t)name_gpa);
	if (gmem_write(&vm->mem, mm_gpa, mm, (uint64_t)n * 24) < 0 ||
	    gmem_write(&vm->mem, name_gpa, MB_LOADER_NAME, sizeof(MB_LOADER_NAME)) < 0)
		return -EFAULT;
	if (rd) {
		size_t slen = strlen(rd->path) + 1;
		uint64_t mod_gpa = boot_area_alloc(&area, 16, 8);
		uint64_t str_gpa = boot_area_alloc(&area, slen, 1);
		uint8_t mod[16] = { 0 };
		if (!mod_gpa || !str_gpa) {
			pr_err("initrd path too long for the multiboot info area");
			return -ENAMETOOLONG;
		}
		put32(mod + 0, (uint32_t)rd_gpa);
		put32(mod + 4, (uint32_t)(rd_gpa + rd->size));
		put32(mod + 8, (uint32_t)str_gpa);
		if (gmem_write(&vm->mem, mod_gpa, mod, sizeof(mod)) < 0 ||
		    gmem_write(&vm->mem, str_gpa, rd->path, slen) < 0)
			return -EFAULT;
		flags |= MBI_MODS;
		put32(info + 20, 1);
		put32(info + 24, (uint32_t)mod_gpa);
	}
	put32(info + 0, flags);
	if (gmem_write(&vm->mem, info_gpa, info, sizeof(info)) < 0)
		return -EFAULT;
	*info_out = info_gpa;
	return 0;
}

int boot_multiboot(struct vm *vm, const struct boot_blob *kernel,
		   const struct boot_blob *initrd, struct boot_entry *entry)
{
	struct mb_hdr h;
	uint64_t kend, pc, rd_gpa = 0;
	int r = mb_find(kernel, &h);

	if (r < 0)
		return r;
	uint32_t unknown = h.flags & MB_F_REQUIRED_MASK & ~MB_F_KNOWN;
	if (unknown) {
		pr_err("%s: multiboot kernel requires unsupported features (flags 0x%x)",
		       kernel->path, unknown);
		return -ENOTSUP;
	}
	if (h.flags & MB_F_VIDEO_MODE)
		pr_warn("%s: multiboot video mode request ignored (text console only)",
			kernel->path);
	r = (h.flags & MB_F_AOUT_KLUDGE) ? mb_load_aout(vm, kernel, &h, &kend, &pc)
					 : mb_load_elf(vm, kernel, &kend, &pc);
	if (r < 0)
		return r;

	/* Like QEMU: the module goes right after the kernel, page aligned; after
	 * a kernel in conventional memory, from 1 MiB (clear of the boot info). */
	if (initrd) {
		uint64_t low = boot_low_ram_end(vm);
		rd_gpa = ALIGN_UP(kend, 4096);
		if (rd_gpa < LAYOUT_HIGH_MEMORY)
			rd_gpa = LAYOUT_HIGH_MEMORY;
		if (!boot_range_ok(rd_gpa, initrd->size, low)) {
			pr_err("initrd %s (%zu bytes) does not fit in guest RAM (%" PRIu64
			       " MiB below 4 GiB) after the kernel ending at 0x%" PRIx64,
			       initrd->path, initrd->size, (uint64_t)(low / MiB), kend);
			return -ENOMEM;
		}
		if (gmem_write(&vm->mem, rd_gpa, initrd->data, initrd->size) < 0)
			return -EFAULT;
	}

	/* Command line: "<kernel path> <cmdline>", as GRUB and QEMU pass it. */
	const char *args = boot_cmdline(vm);
	size_t len = strlen(kernel->path) + 1 + strlen(args) + 1;
	char *cl = malloc(len);
	if (!cl)
		return -ENOMEM;
	snprintf(cl, len, "%s%s%s", kernel->path, args[0] ? " " : "", args);
	r = boot_write_cmdline(vm, cl, LAYOUT_CMDLINE_MAX - 1, "multiboot");
	free(cl);
	if (r < 0)
		return r;
	uint64_t rsdp;
	r = boot_write_acpi(vm, &rsdp);
	if (r < 0)
		return r;
	uint64_t info;
	r = mb_info(vm, initrd, rd_gpa, &info);
	if (r < 0) {
		if (r != -ENAMETOOLONG)
			pr_err("%s: cannot write the multiboot info", kernel->path);
		return r;
	}

	boot_setup_flat32(vm, entry);
	entry->regs.rip = pc;
	entry->regs.gpr[GPR_RAX] = MB_BOOT_MAGIC;
	entry->regs.gpr[GPR_RBX] = info;
	entry->format = "multiboot";
	return 0;
}
