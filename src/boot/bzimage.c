/* Linux bzImage (Documentation/arch/x86/boot.rst), boot protocol >= 2.06.
 * The protected-mode kernel is loaded at pref_address (relocatable kernels
 * that fit there) or 1 MiB, boot_params is built in the zero page, and the
 * kernel is entered at its 64-bit entry (load + 0x200) in long mode, or at
 * its 32-bit entry when XLF_KERNEL_64 is not set. */
#include <errno.h>
#include <inttypes.h>

#include "boot_internal.h"
#include "ringvm/layout.h"
#include "ringvm/log.h"

/* Setup-header offsets inside the image and inside boot_params. */
#define HDR_SETUP_SECTS      0x1f1
#define HDR_BOOT_FLAG        0x1fe
#define HDR_JUMP             0x200
#define HDR_HEADER           0x202
#define HDR_VERSION          0x206
#define HDR_TYPE_OF_LOADER   0x210
#define HDR_LOADFLAGS        0x211
#define HDR_CODE32_START     0x214
#define HDR_RAMDISK_IMAGE    0x218
#define HDR_RAMDISK_SIZE     0x21c
#define HDR_HEAP_END_PTR     0x224
#define HDR_CMD_LINE_PTR     0x228
#define HDR_INITRD_ADDR_MAX  0x22c
#define HDR_KERNEL_ALIGNMENT 0x230
#define HDR_RELOCATABLE      0x234
#define HDR_XLOADFLAGS       0x236
#define HDR_CMDLINE_SIZE     0x238
#define HDR_SETUP_DATA       0x250
#define HDR_PREF_ADDRESS     0x258
#define HDR_INIT_SIZE        0x260

/* boot_params (zero page) fields outside the setup header. */
#define BP_ACPI_RSDP_ADDR    0x070
#define BP_EXT_RAMDISK_IMAGE 0x0c0
#define BP_EXT_RAMDISK_SIZE  0x0c4
#define BP_EXT_CMD_LINE_PTR  0x0c8
#define BP_E820_ENTRIES      0x1e8
#define BP_E820_TABLE        0x2d0
#define BP_E820_MAX          128
#define BP_SIZE              4096

#define LOADED_HIGH          0x01
#define CAN_USE_HEAP         0x80
#define XLF_KERNEL_64        0x01
#define XLF_CAN_BE_LOADED_ABOVE_4G 0x02

struct bz_hdr {
	uint16_t version;
	uint8_t loadflags;
	uint16_t xloadflags;
	uint64_t setup_size;     /* real-mode part incl. boot sector */
	uint64_t kernel_size;    /* protected-mode part */
	uint32_t initrd_addr_max;
	uint32_t kernel_alignment;
	bool relocatable;
	uint32_t cmdline_size;
	uint64_t pref_address;
	uint64_t init_size;
	size_t hdr_end;          /* end of the setup header in the image */
};

/* -ENOEXEC unless the image carries a bzImage setup header. */
static int bz_parse(const struct boot_blob *b, struct bz_hdr *h)
{
	const uint8_t *d = b->data;

	if (b->size < HDR_HEADER + 4 || le16_at(d + HDR_BOOT_FLAG) != 0xAA55 ||
	    memcmp(d + HDR_HEADER, "HdrS", 4) != 0)
		return -ENOEXEC;
	memset(h, 0, sizeof(*h));
	h->hdr_end = 0x202 + (size_t)d[HDR_JUMP + 1];
	if (b->size < HDR_INIT_SIZE + 4 || b->size < h->hdr_end) {
		pr_err("%s: truncated bzImage setup header (%zu bytes)", b->path, b->size);
		return -EINVAL;
	}
	h->version = le16_at(d + HDR_VERSION);
	if (h->version < 0x206) {
		pr_err("%s: Linux boot protocol %u.%02u is too old (2.06 or later "
		       "required)", b->path, h->version >> 8, h->version & 0xff);
		return -EINVAL;
	}
	unsigned sects = d[HDR_SETUP_SECTS] ? d[HDR_SETUP_SECTS] : 4;
	h->setup_size = (sects + 1ULL) * 512;
	if (h->setup_size >= b->size) {
		pr_err("%s: bzImage setup (%" PRIu64 " bytes) leaves no protected-mode "
		       "kernel in a %zu-byte file", b->path, h->setup_size, b->size);
		return -EINVAL;
	}
	h->kernel_size = b->size - h->setup_size;
	h->loadflags = d[HDR_LOADFLAGS];
	if (!(h->loadflags & LOADED_HIGH)) {
		pr_err("%s: zImage kernels (not loaded high) are not supported", b->path);
		return -EINVAL;
	}
	h->initrd_addr_max = le32_at(d + HDR_INITRD_ADDR_MAX);
	h->kernel_alignment = le32_at(d + HDR_KERNEL_ALIGNMENT);
	h->relocatable = d[HDR_RELOCATABLE] != 0;
	h->cmdline_size = le32_at(d + HDR_CMDLINE_SIZE);
	if (h->version >= 0x20c)
		h->xloadflags = le16_at(d + HDR_XLOADFLAGS);
	if (h->version >= 0x20a) {
		h->pref_address = le64_at(d + HDR_PREF_ADDRESS);
		h->init_size = le32_at(d + HDR_INIT_SIZE);
	}
	if (h->relocatable && (h->kernel_alignment == 0 ||
			       (h->kernel_alignment & (h->kernel_alignment - 1)))) {
		pr_err("%s: bad kernel_alignment 0x%x (not a power of two)", b->path,
		       h->kernel_alignment);
		return -EINVAL;
	}
	if (h->init_size < h->kernel_size)
		h->init_size = h->kernel_size;
	return 0;
}

/* Choose the load address: pref_address for a relocatable kernel that fits,
 * else 1 MiB (aligned up to kernel_alignment when relocatable). */
static int bz_place(const struct vm *vm, const struct boot_blob *b,
		    const struct bz_hdr *h, uint64_t *load, uint64_t *end)
{
	uint64_t low = boot_low_ram_end(vm);
	uint64_t pref = h->pref_address;

	if (h->relocatable && pref >= LAYOUT_HIGH_MEMORY &&
	    boot_range_ok(pref, h->init_size, low)) {
		*load = pref;
		*end = pref + h->init_size;
		return 0;
	}
	uint64_t at = LAYOUT_HIGH_MEMORY;
	if (h->relocatable && h->kernel_alignment > at)
		at = ALIGN_UP(at, (uint64_t)h->kernel_alignment);
	/* A non-relocatable kernel moves itself to pref_address (its
	 * LOAD_PHYSICAL_ADDR) and needs init_size from there. */
	uint64_t run = (!h->relocatable && pref > at) ? pref : at;
	if (!boot_range_ok(at, h->kernel_size, low) ||
	    !boot_range_ok(run, h->init_size, low)) {
		pr_err("%s: kernel needs %" PRIu64 " MiB at 0x%" PRIx64 " but guest RAM "
		       "below 4 GiB ends at %" PRIu64 " MiB", b->path,
		       (uint64_t)((h->init_size + MiB - 1) / MiB), run, (uint64_t)(low / MiB));
		return -ENOMEM;
	}
	*load = at;
	*end = run + h->init_size > at + h->kernel_size ? run + h->init_size
							 : at + h->kernel_size;
	return 0;
}

/* Initrd: as high as allowed (initrd_addr_max, RAM end), above the kernel;
 * above 4 GiB only if the kernel says it can cope and low RAM is full. */
static int bz_initrd(struct vm *vm, const struct bz_hdr *h, const struct boot_blob *rd,
		     uint64_t kend, uint64_t *gpa)
{
	uint64_t max = h->initrd_addr_max ? (uint64_t)h->initrd_addr_max + 1 : 0x38000000ULL;
	uint64_t low = boot_low_ram_end(vm);
	uint64_t lo = ALIGN_UP(kend, 4096);

	if (boot_place_high(vm, rd->size, lo, max < low ? max : low, gpa) == 0)
		return 0;
	if ((h->xloadflags & XLF_CAN_BE_LOADED_ABOVE_4G) &&
	    boot_place_high(vm, rd->size, LAYOUT_HIGH_RAM_START, UINT64_MAX, gpa) == 0)
		return 0;
	pr_err("initrd %s (%zu bytes) does not fit in guest RAM between the kernel "
	       "end 0x%" PRIx64 " and the kernel's initrd limit 0x%" PRIx64
	       " (RAM below 4 GiB: %" PRIu64 " MiB)", rd->path, rd->size, kend,
	       max - 1, (uint64_t)(low / MiB));
	return -ENOMEM;
}

int boot_bzimage(struct vm *vm, const struct boot_blob *kernel,
		 const struct boot_blob *initrd, struct boot_entry *entry)
{
	struct bz_hdr h;
	uint64_t load, kend, rsdp, rd_gpa = 0;
	uint8_t bp[BP_SIZE] = { 0 };
	struct e820_entry map[E820_MAX];
	int r;

	r = bz_parse(kernel, &h);
	if (r < 0)
		return r;
	r = bz_place(vm, kernel, &h, &load, &kend);
	if (r < 0)
		return r;
	if (initrd && (r = bz_initrd(vm, &h, initrd, kend, &rd_gpa)) < 0)
		return r;
	r = boot_write_cmdline(vm, boot_cmdline(vm), h.cmdline_size,
			       "the kernel's cmdline_size");
	if (r < 0)
		return r;
	r = boot_write_acpi(vm, &rsdp);
	if (r < 0)
		return r;

	/* boot_params: the image's setup header, then our fields. */
	size_t hdr_end = h.hdr_end < BP_SIZE ? h.hdr_end : BP_SIZE;
	memcpy(bp + HDR_SETUP_SECTS, kernel->data + HDR_SETUP_SECTS,
	       hdr_end - HDR_SETUP_SECTS);
	bp[HDR_TYPE_OF_LOADER] = 0xff;
	bp[HDR_LOADFLAGS] = (uint8_t)(h.loadflags | CAN_USE_HEAP);
	put16(bp + HDR_HEAP_END_PTR, 0xfe00);
	put32(bp + HDR_CODE32_START, (uint32_t)load);
	put32(bp + HDR_CMD_LINE_PTR, (uint32_t)LAYOUT_CMDLINE);
	put32(bp + BP_EXT_CMD_LINE_PTR, 0);
	put64(bp + HDR_SETUP_DATA, 0);
	if (initrd) {
		put32(bp + HDR_RAMDISK_IMAGE, (uint32_t)rd_gpa);
		put32(bp + HDR_RAMDISK_SIZE, (uint32_t)initrd->size);
		put32(bp + BP_EXT_RAMDISK_IMAGE, (uint32_t)(rd_gpa >> 32));
		put32(bp + BP_EXT_RAMDISK_SIZE, (uint32_t)((uint64_t)initrd->size >> 32));
	} else {
		put32(bp + HDR_RAMDISK_IMAGE, 0);
		put32(bp + HDR_RAMDISK_SIZE, 0);
	}
	put64(bp + BP_ACPI_RSDP_ADDR, rsdp);
	unsigned n = e820_build(vm, map, E820_MAX);
	bp[BP_E820_ENTRIES] = (uint8_t)n;
	memcpy(bp + BP_E820_TABLE, map, n * sizeof(map[0]));

	if (gmem_write(&vm->mem, load, kernel->data + h.setup_size, h.kernel_size) < 0 ||
	    (initrd && gmem_write(&vm->mem, rd_gpa, initrd->data, initrd->size) < 0) ||
	    gmem_write(&vm->mem, LAYOUT_ZERO_PAGE, bp, sizeof(bp)) < 0) {
		pr_err("%s: cannot write the kernel to guest memory", kernel->path);
		return -EFAULT;
	}

	if (h.xloadflags & XLF_KERNEL_64) {
		r = boot_setup_long64(vm, entry);
		if (r < 0)
			return r;
		entry->regs.rip = load + 0x200;
	} else {
		boot_setup_flat32(vm, entry);
		entry->regs.rip = load;
	}
	entry->regs.gpr[GPR_RSI] = LAYOUT_ZERO_PAGE;
	entry->format = "bzImage";
	pr_info("bzImage: protocol %u.%02u, kernel at 0x%" PRIx64 " (%" PRIu64
		" bytes, init_size %" PRIu64 "), %s entry", h.version >> 8,
		h.version & 0xff, load, h.kernel_size, h.init_size,
		(h.xloadflags & XLF_KERNEL_64) ? "64-bit" : "32-bit");
	return 0;
}
