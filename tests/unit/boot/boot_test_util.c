#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "boot_test_util.h"

struct vm *tvm_new(uint64_t ram)
{
	struct vm *vm = calloc(1, sizeof(*vm));
	assert_non_null(vm);
	vm->cfg.cpus = 1;
	vm->cfg.memory = ram;
	vm->cfg.cmdline = "";
	struct gmem_opts o = { .ram_size = ram };
	assert_int_equal(gmem_init(&vm->mem, &o), 0);
	return vm;
}

void tvm_free(struct vm *vm)
{
	gmem_destroy(&vm->mem);
	free(vm);
}

uint8_t tr8(struct vm *vm, uint64_t gpa)
{
	uint8_t v = 0;
	assert_int_equal(gmem_read_u8(&vm->mem, gpa, &v), 0);
	return v;
}

uint16_t tr16(struct vm *vm, uint64_t gpa)
{
	uint16_t v = 0;
	assert_int_equal(gmem_read_u16(&vm->mem, gpa, &v), 0);
	return v;
}

uint32_t tr32(struct vm *vm, uint64_t gpa)
{
	uint32_t v = 0;
	assert_int_equal(gmem_read_u32(&vm->mem, gpa, &v), 0);
	return v;
}

uint64_t tr64(struct vm *vm, uint64_t gpa)
{
	uint64_t v = 0;
	assert_int_equal(gmem_read_u64(&vm->mem, gpa, &v), 0);
	return v;
}

void fill_pat(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = pat(i, seed);
}

bool guest_has_pat(struct vm *vm, uint64_t gpa, size_t n, uint8_t seed)
{
	const uint8_t *p = gmem_ptr(&vm->mem, gpa, n);
	if (!p)
		return false;
	for (size_t i = 0; i < n; i++)
		if (p[i] != pat(i, seed))
			return false;
	return true;
}

void bz_defaults(struct bz_opts *o)
{
	*o = (struct bz_opts){
		.version = 0x20f, .setup_sects = 4, .loadflags = 1, .xloadflags = 0x3,
		.relocatable = 1, .kernel_alignment = 0x200000,
		.pref_address = 0x1000000, .init_size = 0x400000,
		.initrd_addr_max = 0x7fffffff, .cmdline_size = 2047, .payload = 0x3000,
	};
}

uint8_t *mk_bzimage(const struct bz_opts *o, size_t *size)
{
	size_t setup = ((o->setup_sects ? o->setup_sects : 4) + 1u) * 512;
	*size = setup + o->payload;
	uint8_t *d = calloc(1, *size);
	assert_non_null(d);
	d[0x1f1] = o->setup_sects;
	wr16(d + 0x1fe, 0xAA55);
	d[0x200] = 0xeb;
	d[0x201] = 0x6a;           /* header ends at 0x26c */
	memcpy(d + 0x202, "HdrS", 4);
	wr16(d + 0x206, o->version);
	d[0x211] = o->loadflags;
	wr32(d + 0x214, 0x100000);
	wr32(d + 0x22c, o->initrd_addr_max);
	wr32(d + 0x230, o->kernel_alignment);
	d[0x234] = o->relocatable;
	wr16(d + 0x236, o->xloadflags);
	wr32(d + 0x238, o->cmdline_size);
	wr64(d + 0x258, o->pref_address);
	wr32(d + 0x260, o->init_size);
	fill_pat(d + setup, o->payload, 3);
	return d;
}

static size_t ehsz(bool is64) { return is64 ? 64 : 52; }
static size_t phsz(bool is64) { return is64 ? 56 : 32; }

uint64_t elf_seg_off(bool is64, const struct tseg *s, unsigned n, unsigned i)
{
	uint64_t off = ehsz(is64) + phsz(is64) * n;
	for (unsigned j = 0; j < i; j++)
		off += s[j].filesz;
	return off;
}

uint8_t *mk_elf(bool is64, uint16_t machine, uint64_t entry, const struct tseg *s,
		unsigned n, size_t *size)
{
	*size = elf_seg_off(is64, s, n, n);
	uint8_t *d = calloc(1, *size);
	assert_non_null(d);
	memcpy(d, "\x7f" "ELF", 4);
	d[4] = is64 ? 2 : 1;
	d[5] = 1;
	d[6] = 1;
	wr16(d + 16, 2);
	wr16(d + 18, machine);
	wr32(d + 20, 1);
	if (is64) {
		wr64(d + 24, entry);
		wr64(d + 32, 64);
		wr16(d + 52, 64);
		wr16(d + 54, 56);
		wr16(d + 56, (uint16_t)n);
	} else {
		wr32(d + 24, (uint32_t)entry);
		wr32(d + 28, 52);
		wr16(d + 40, 52);
		wr16(d + 42, 32);
		wr16(d + 44, (uint16_t)n);
	}
	for (unsigned i = 0; i < n; i++) {
		uint8_t *p = d + ehsz(is64) + phsz(is64) * i;
		uint64_t off = elf_seg_off(is64, s, n, i);
		if (is64) {
			wr32(p, s[i].type);
			wr32(p + 4, 7);
			wr64(p + 8, off);
			wr64(p + 16, s[i].vaddr);
			wr64(p + 24, s[i].paddr);
			wr64(p + 32, s[i].filesz);
			wr64(p + 40, s[i].memsz);
			wr64(p + 48, s[i].align);
		} else {
			wr32(p, s[i].type);
			wr32(p + 4, (uint32_t)off);
			wr32(p + 8, (uint32_t)s[i].vaddr);
			wr32(p + 12, (uint32_t)s[i].paddr);
			wr32(p + 16, (uint32_t)s[i].filesz);
			wr32(p + 20, (uint32_t)s[i].memsz);
			wr32(p + 24, 7);
			wr32(p + 28, (uint32_t)s[i].align);
		}
		if (s[i].data)
			memcpy(d + off, s[i].data, s[i].filesz);
		else
			fill_pat(d + off, s[i].filesz, (uint8_t)(i + 1));
	}
	return d;
}

size_t mk_pvh_note(uint8_t *out, uint64_t entry, unsigned descsz)
{
	memset(out, 0, 24);
	wr32(out, 4);          /* namesz "Xen\0" */
	wr32(out + 4, descsz);
	wr32(out + 8, 18);     /* XEN_ELFNOTE_PHYS32_ENTRY */
	memcpy(out + 12, "Xen", 4);
	if (descsz == 8)
		wr64(out + 16, entry);
	else
		wr32(out + 16, (uint32_t)entry);
	return 16 + ((descsz + 3u) & ~3u);
}

char *tmp_file(const void *buf, size_t n)
{
	char *path = strdup("/tmp/ringvm-boot-test-XXXXXX");
	assert_non_null(path);
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	if (n)
		assert_int_equal(write(fd, buf, n), (ssize_t)n);
	close(fd);
	return path;
}

uint8_t *dup_prefix(const uint8_t *p, size_t len)
{
	uint8_t *d = malloc(len ? len : 1);
	assert_non_null(d);
	memcpy(d, p, len);
	return d;
}
