/* boot_load: read the kernel (and initrd), detect the image format and
 * dispatch to its loader, then write the MP table.  Also the small helpers
 * every loader shares (files, command line, placement, boot-info area). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot_internal.h"
#include "ringvm/layout.h"
#include "ringvm/log.h"

int boot_blob_read(struct boot_blob *b, const char *what, const char *path,
		   uint64_t max_size)
{
	struct stat st;
	int fd, e;

	memset(b, 0, sizeof(*b));
	b->path = path;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		pr_err("%s %s: cannot open: %s", what, path, strerror(e));
		return -e;
	}
	if (fstat(fd, &st) < 0) {
		e = errno;
		pr_err("%s %s: cannot stat: %s", what, path, strerror(e));
		close(fd);
		return -e;
	}
	if (S_ISDIR(st.st_mode)) {
		pr_err("%s %s: is a directory, not an image file", what, path);
		close(fd);
		return -EISDIR;
	}
	if (!S_ISREG(st.st_mode)) {
		pr_err("%s %s: not a regular file", what, path);
		close(fd);
		return -EINVAL;
	}
	if (st.st_size == 0) {
		pr_err("%s %s: file is empty", what, path);
		close(fd);
		return -EINVAL;
	}
	if ((uint64_t)st.st_size > max_size || (uint64_t)st.st_size > SIZE_MAX) {
		pr_err("%s %s: %llu bytes is larger than guest memory (%llu bytes)",
		       what, path, (unsigned long long)st.st_size,
		       (unsigned long long)max_size);
		close(fd);
		return -EFBIG;
	}
	size_t size = (size_t)st.st_size;
	uint8_t *data = malloc(size);
	if (!data) {
		pr_err("%s %s: out of memory reading %zu bytes", what, path, size);
		close(fd);
		return -ENOMEM;
	}
	size_t got = 0;
	while (got < size) {
		ssize_t n = read(fd, data + got, size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			e = n < 0 ? errno : EIO;
			pr_err("%s %s: read failed after %zu of %zu bytes: %s",
			       what, path, got, size, n < 0 ? strerror(e) : "file shrank");
			free(data);
			close(fd);
			return -e;
		}
		got += (size_t)n;
	}
	close(fd);
	b->data = data;
	b->size = size;
	return 0;
}

void boot_blob_free(struct boot_blob *b)
{
	free(b->data);
	b->data = NULL;
	b->size = 0;
}

const char *boot_cmdline(const struct vm *vm)
{
	return vm->cfg.cmdline ? vm->cfg.cmdline : "";
}

int boot_write_cmdline(struct vm *vm, const char *s, uint64_t max_len,
		       const char *proto)
{
	size_t len = strlen(s);

	if (max_len > LAYOUT_CMDLINE_MAX - 1)
		max_len = LAYOUT_CMDLINE_MAX - 1;
	if (len > max_len) {
		pr_err("kernel command line is %zu bytes, longer than the %llu "
		       "bytes %s allows", len, (unsigned long long)max_len, proto);
		return -E2BIG;
	}
	if (gmem_write(&vm->mem, LAYOUT_CMDLINE, s, len + 1) < 0) {
		pr_err("cannot write the command line to guest memory at 0x%llx",
		       (unsigned long long)LAYOUT_CMDLINE);
		return -EFAULT;
	}
	return 0;
}

uint64_t boot_low_ram_end(const struct vm *vm)
{
	for (unsigned i = 0; i < vm->mem.nr_regions; i++)
		if (vm->mem.regions[i].gpa == 0)
			return vm->mem.regions[i].size;
	return 0;
}

int boot_place_high(const struct vm *vm, uint64_t size, uint64_t lo,
		    uint64_t hi, uint64_t *gpa)
{
	bool found = false;

	for (unsigned i = 0; i < vm->mem.nr_regions; i++) {
		const struct gmem_region *r = &vm->mem.regions[i];
		uint64_t start = r->gpa > lo ? r->gpa : lo;
		uint64_t end = r->gpa + r->size < hi ? r->gpa + r->size : hi;
		if (end <= start || size > end - start)
			continue;
		uint64_t at = ALIGN_DOWN(end - size, 4096);
		if (at < start)
			continue;
		if (!found || at > *gpa) {
			*gpa = at;
			found = true;
		}
	}
	return found ? 0 : -ENOMEM;
}

/* What ringvm itself writes in the first MiB (layout.h), and for which
 * protocols.  Kernel segments may go anywhere else in conventional memory,
 * as QEMU loads them (test kernels link at 0x8000 and similar). */
static const struct boot_low_use {
	uint64_t start, end;
	unsigned protos;
	const char *what;
} boot_low_uses[] = {
	{ LAYOUT_BOOT_GDT, LAYOUT_BOOT_IDT_END,
	  BOOT_PROTO_BZIMAGE | BOOT_PROTO_PVH | BOOT_PROTO_MULTIBOOT, "the boot GDT and IDT" },
	{ LAYOUT_BOOT_STACK_BOTTOM, LAYOUT_BOOT_STACK + 16,
	  BOOT_PROTO_BZIMAGE | BOOT_PROTO_PVH | BOOT_PROTO_MULTIBOOT, "the boot stack" },
	{ LAYOUT_ZERO_PAGE, LAYOUT_ZERO_PAGE_END,
	  BOOT_PROTO_BZIMAGE | BOOT_PROTO_PVH, "the zero page (boot_params / hvm_start_info)" },
	{ LAYOUT_PML4, LAYOUT_PD_END, BOOT_PROTO_BZIMAGE, "the boot page tables" },
	{ LAYOUT_CMDLINE, LAYOUT_CMDLINE + LAYOUT_CMDLINE_MAX,
	  BOOT_PROTO_BZIMAGE | BOOT_PROTO_PVH | BOOT_PROTO_MULTIBOOT, "the command line" },
	{ LAYOUT_BOOT_INFO, LAYOUT_BOOT_INFO_END, BOOT_PROTO_PVH | BOOT_PROTO_MULTIBOOT,
	  "the boot information (multiboot info, PVH memory map and modules)" },
	{ LAYOUT_EBDA_START, LAYOUT_HIGH_MEMORY,
	  BOOT_PROTO_BZIMAGE | BOOT_PROTO_PVH | BOOT_PROTO_MULTIBOOT,
	  "the MP and ACPI tables (EBDA and BIOS area)" },
};

int boot_check_load_range(const struct vm *vm, const char *path, const char *what,
			  uint64_t start, uint64_t len, unsigned proto)
{
	uint64_t low = boot_low_ram_end(vm);
	if (len == 0 || !boot_range_ok(start, len, low)) {
		pr_err("%s: %s at 0x%" PRIx64 " (+0x%" PRIx64 ") is outside guest RAM "
		       "below %" PRIu64 " MiB", path, what, start, len, (uint64_t)(low / MiB));
		return -EINVAL;
	}
	for (size_t i = 0; i < sizeof(boot_low_uses) / sizeof(boot_low_uses[0]); i++) {
		const struct boot_low_use *u = &boot_low_uses[i];
		/* start + len cannot wrap: it is at most the end of low RAM */
		if (!(u->protos & proto) || start >= u->end || start + len <= u->start)
			continue;
		pr_err("%s: %s at 0x%" PRIx64 "-0x%" PRIx64 " overlaps %s at 0x%" PRIx64
		       "-0x%" PRIx64 ", which ringvm places there", path, what, start,
		       start + len - 1, u->what, u->start, u->end - 1);
		return -EINVAL;
	}
	return 0;
}

void boot_area_init(struct boot_area *a)
{
	a->next = LAYOUT_BOOT_INFO;
	a->end = LAYOUT_BOOT_INFO_END;
}

uint64_t boot_area_alloc(struct boot_area *a, uint64_t len, uint64_t align)
{
	uint64_t at = ALIGN_UP(a->next, align);
	if (at > a->end || len > a->end - at)
		return 0;
	a->next = at + len;
	return at;
}

int boot_write_acpi(struct vm *vm, uint64_t *rsdp)
{
	*rsdp = acpi_build(vm);
	return *rsdp ? 0 : -EINVAL;
}

int boot_load(struct vm *vm, struct boot_entry *entry)
{
	struct boot_blob kernel = { 0 }, initrd = { 0 };
	const char *cmdline = boot_cmdline(vm);
	uint64_t low = boot_low_ram_end(vm);
	int r;

	if (!vm->cfg.kernel || !vm->cfg.kernel[0]) {
		pr_err("no kernel image given");
		return -EINVAL;
	}
	if (low < LAYOUT_HIGH_MEMORY + 1 * MiB) {
		pr_err("guest memory (%llu KiB) is too small to boot a kernel: "
		       "at least 2 MiB are needed",
		       (unsigned long long)(vm->mem.ram_size / KiB));
		return -ENOMEM;
	}
	if (strlen(cmdline) >= LAYOUT_CMDLINE_MAX) {
		pr_err("kernel command line is %zu bytes; at most %llu are supported",
		       strlen(cmdline), (unsigned long long)LAYOUT_CMDLINE_MAX - 1);
		return -E2BIG;
	}
	r = boot_blob_read(&kernel, "--kernel", vm->cfg.kernel, vm->mem.ram_size);
	if (r < 0)
		return r;
	if (vm->cfg.initrd && vm->cfg.initrd[0]) {
		r = boot_blob_read(&initrd, "--initrd", vm->cfg.initrd, vm->mem.ram_size);
		if (r < 0)
			goto out;
	}
	if (kernel.size + initrd.size > vm->mem.ram_size - LAYOUT_HIGH_MEMORY) {
		pr_err("guest memory (%llu MiB) is too small for kernel %s (%zu bytes)"
		       " and initrd (%zu bytes)",
		       (unsigned long long)(vm->mem.ram_size / MiB), kernel.path,
		       kernel.size, initrd.size);
		r = -ENOMEM;
		goto out;
	}

	memset(entry, 0, sizeof(*entry));
	const struct boot_blob *rd = initrd.data ? &initrd : NULL;
	r = boot_bzimage(vm, &kernel, rd, entry);
	if (r == -ENOEXEC)
		r = boot_pvh(vm, &kernel, rd, entry);
	if (r == -ENOEXEC)
		r = boot_multiboot(vm, &kernel, rd, entry);
	if (r == -ENOEXEC)
		pr_err("%s: unknown kernel image format (expected a Linux bzImage, "
		       "an ELF vmlinux with a PVH note, or a multiboot kernel)",
		       kernel.path);
	if (r == 0)
		r = mptable_build(vm);
	if (r == 0)
		pr_info("boot: %s kernel %s, entry 0x%llx", entry->format,
			kernel.path, (unsigned long long)entry->regs.rip);
out:
	boot_blob_free(&kernel);
	boot_blob_free(&initrd);
	return r;
}
