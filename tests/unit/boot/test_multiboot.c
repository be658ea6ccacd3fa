/* Multiboot v1 loader: ELF32/ELF64 and a.out-kludge images. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "boot_internal.h"
#include "boot_test_util.h"
#include "ringvm/layout.h"

#define MB_MAGIC 0x1BADB002u
#define AOUT (1u << 16)

static void mb_header(uint8_t *p, uint32_t flags)
{
	wr32(p, MB_MAGIC);
	wr32(p + 4, flags);
	wr32(p + 8, (uint32_t)(0u - MB_MAGIC - flags));
}

static int run(struct vm *vm, uint8_t *img, size_t n, const uint8_t *rd, size_t rdsz,
	       struct boot_entry *e)
{
	struct boot_blob k = { .path = "test-mb", .data = img, .size = n };
	struct boot_blob r = { .path = "/boot/test-initrd.img", .data = (uint8_t *)rd, .size = rdsz };
	memset(e, 0, sizeof(*e));
	return boot_multiboot(vm, &k, rd ? &r : NULL, e);
}

static uint8_t *mb_elf(bool is64, uint32_t flags, uint64_t vaddr, uint64_t entry, size_t *n)
{
	uint8_t data[0x1800];
	fill_pat(data, sizeof(data), 77);
	mb_header(data + 0x20, flags);
	struct tseg s[1] = { { .type = 1, .paddr = 0x100000, .vaddr = vaddr,
			       .filesz = sizeof(data), .memsz = 0x3000, .data = NULL } };
	uint8_t *d = malloc(sizeof(data));
	memcpy(d, data, sizeof(data));
	s[0].data = d;
	uint8_t *img = mk_elf(is64, is64 ? 62 : 3, entry, s, 1, n);
	free(d);
	return img;
}

static void test_mb_elf32(void **state)
{
	struct vm *vm = tvm_new(64 * MiB);
	struct boot_entry e;
	size_t n;
	uint8_t rd[10000];

	fill_pat(rd, sizeof(rd), 11);
	uint8_t *img = mb_elf(false, 3, 0x100000, 0x100040, &n);
	vm->cfg.cmdline = "console=ttyS0";
	assert_int_equal(run(vm, img, n, rd, sizeof(rd), &e), 0);
	assert_string_equal(e.format, "multiboot");
	assert_int_equal(e.regs.rip, 0x100040);
	assert_int_equal(e.regs.gpr[GPR_RAX], 0x2BADB002);
	uint64_t mbi = e.regs.gpr[GPR_RBX];
	assert_int_equal(mbi, LAYOUT_BOOT_INFO);
	assert_int_equal(e.sregs.cr0, X86_CR0_PE | X86_CR0_ET);
	assert_int_equal(e.sregs.seg[SEG_CS].selector, 0x10);
	assert_int_equal(e.sregs.seg[SEG_DS].selector, 0x18);
	assert_int_equal(tr8(vm, 0x100000 + 0x1800), 0);   /* bss */
	assert_int_equal(tr32(vm, 0x100020), MB_MAGIC);

	uint32_t flags = tr32(vm, mbi);
	assert_int_equal(flags, (1u << 0) | (1u << 2) | (1u << 3) | (1u << 6) | (1u << 9));
	assert_int_equal(tr32(vm, mbi + 4), 639);
	assert_int_equal(tr32(vm, mbi + 8), (64 * MiB - MiB) / KiB);
	assert_string_equal((const char *)gmem_ptr(&vm->mem, tr32(vm, mbi + 16), 22),
			    "test-mb console=ttyS0");
	assert_int_equal(tr32(vm, mbi + 20), 1);
	uint32_t mod = tr32(vm, mbi + 24);
	uint32_t ms = tr32(vm, mod), me = tr32(vm, mod + 4);
	assert_int_equal(ms, 0x103000);                   /* after the kernel */
	assert_int_equal(me - ms, sizeof(rd));
	assert_true(guest_has_pat(vm, ms, sizeof(rd), 11));
	assert_string_equal((const char *)gmem_ptr(&vm->mem, tr32(vm, mod + 8), 22),
			    "/boot/test-initrd.img");
	struct e820_entry map[E820_MAX];
	unsigned ne = e820_build(vm, map, E820_MAX);
	assert_int_equal(tr32(vm, mbi + 44), ne * 24);
	uint32_t mm = tr32(vm, mbi + 48);
	for (unsigned i = 0; i < ne; i++) {
		assert_int_equal(tr32(vm, mm + 24 * i), 20);
		assert_int_equal(tr64(vm, mm + 24 * i + 4), map[i].addr);
		assert_int_equal(tr64(vm, mm + 24 * i + 12), map[i].size);
		assert_int_equal(tr32(vm, mm + 24 * i + 20), map[i].type);
	}
	assert_string_equal((const char *)gmem_ptr(&vm->mem, tr32(vm, mbi + 64), 7), "ringvm");
	free(img);
	tvm_free(vm);
}

static void test_mb_elf64_virtual_entry(void **state)
{
	struct vm *vm = tvm_new(16 * MiB);
	struct boot_entry e;
	size_t n;

	uint8_t *img = mb_elf(true, 2 | 4, 0xffffffff80100000ULL, 0xffffffff80100080ULL, &n);
	assert_int_equal(run(vm, img, n, NULL, 0, &e), 0);
	assert_int_equal(e.regs.rip, 0x100080);
	assert_int_equal(tr32(vm, e.regs.gpr[GPR_RBX]) & (1u << 3), 0); /* no modules */
	assert_string_equal((const char *)gmem_ptr(&vm->mem, LAYOUT_CMDLINE, 8), "test-mb");
	free(img);
	tvm_free(vm);
}

struct aout {
	uint32_t header_addr, load_addr, load_end, bss_end, entry;
};

static uint8_t *mk_aout(const struct aout *a, uint32_t extra_flags, size_t *n)
{
	*n = 0x3000;
	uint8_t *d = malloc(*n);
	fill_pat(d, *n, 21);
	uint8_t *h = d + 0x40;
	mb_header(h, AOUT | 2 | extra_flags);
	wr32(h + 12, a->header_addr);
	wr32(h + 16, a->load_addr);
	wr32(h + 20, a->load_end);
	wr32(h + 24, a->bss_end);
	wr32(h + 28, a->entry);
	return d;
}

static const struct aout good_aout = { 0x200040, 0x200000, 0, 0x205000, 0x200100 };

static void test_mb_aout(void **state)
{
	struct vm *vm = tvm_new(16 * MiB);
	struct boot_entry e;
	size_t n;
	uint8_t rd[100];

	fill_pat(rd, sizeof(rd), 33);
	gmem_fill(&vm->mem, 0x200000, 0xcc, 0x10000);
	uint8_t *img = mk_aout(&good_aout, 0, &n);
	assert_int_equal(run(vm, img, n, rd, sizeof(rd), &e), 0);
	assert_int_equal(e.regs.rip, 0x200100);
	assert_memory_equal(gmem_ptr(&vm->mem, 0x200000, n), img, n);
	assert_int_equal(tr8(vm, 0x203000), 0);
	assert_int_equal(tr8(vm, 0x204fff), 0);
	assert_true(guest_has_pat(vm, 0x205000, sizeof(rd), 33)); /* module */
	assert_int_equal(tr8(vm, 0x205000 + sizeof(rd)), 0xcc);
	assert_int_equal(tr32(vm, tr32(vm, e.regs.gpr[GPR_RBX] + 24)), 0x205000);
	free(img);

	/* load_end_addr limits what is copied; header not at file start */
	struct aout a = { 0x200040, 0x200010, 0x201000, 0, 0x200020 };
	img = mk_aout(&a, 0, &n);
	gmem_fill(&vm->mem, 0x200000, 0xcc, 0x10000);
	assert_int_equal(run(vm, img, n, NULL, 0, &e), 0);
	assert_memory_equal(gmem_ptr(&vm->mem, 0x200010, 0x1000 - 0x10), img + 0x10, 0xff0);
	assert_int_equal(tr8(vm, 0x201000), 0xcc);
	free(img);
	tvm_free(vm);
}

/* Conventional memory below 1 MiB loads as QEMU loads it (test kernels link
 * at 0x8000), around what ringvm places there for multiboot. */
static void test_mb_low_memory(void **state)
{
	struct vm *vm = tvm_new(16 * MiB);
	struct boot_entry e;
	size_t n;
	uint8_t rd[100];

	fill_pat(rd, sizeof(rd), 33);
	struct aout a = { 0x8040, 0x8000, 0, 0x9000 + 0x3000, 0x8100 };
	uint8_t *img = mk_aout(&a, 0, &n);
	gmem_fill(&vm->mem, 0x8000, 0xcc, 0x5000);
	assert_int_equal(run(vm, img, n, rd, sizeof(rd), &e), 0);
	assert_int_equal(e.regs.rip, 0x8100);
	assert_memory_equal(gmem_ptr(&vm->mem, 0x8000, n), img, n);
	assert_int_equal(tr8(vm, 0xb000), 0);                      /* bss */
	assert_int_equal(tr8(vm, 0xbfff), 0);
	assert_int_equal(tr8(vm, 0xc000), 0xcc);
	/* the module does not follow a low kernel into low memory: from 1 MiB */
	assert_int_equal(tr32(vm, tr32(vm, e.regs.gpr[GPR_RBX] + 24)), LAYOUT_HIGH_MEMORY);
	assert_true(guest_has_pat(vm, LAYOUT_HIGH_MEMORY, sizeof(rd), 33));
	assert_int_equal(e.regs.gpr[GPR_RSP], LAYOUT_BOOT_STACK);
	free(img);
	/* the zero page is not multiboot's: a kernel may use it */
	a = (struct aout){ 0x7040, 0x7000, 0, 0, 0x7100 };
	img = mk_aout(&a, 0, &n);
	assert_int_equal(run(vm, img, n, NULL, 0, &e), 0);
	assert_memory_equal(gmem_ptr(&vm->mem, 0x7000, n), img, n);
	free(img);
	/* ELF: a segment at 0x8000 (file 0x1800, memory 0x3000) */
	uint8_t data[0x1800];
	fill_pat(data, sizeof(data), 77);
	mb_header(data + 0x20, 3);
	struct tseg seg = { .type = 1, .paddr = 0x8000, .vaddr = 0x8000,
			    .filesz = sizeof(data), .memsz = 0x3000, .data = data };
	img = mk_elf(false, 3, 0x8040, &seg, 1, &n);
	gmem_fill(&vm->mem, 0x8000, 0xcc, 0x5000);
	assert_int_equal(run(vm, img, n, NULL, 0, &e), 0);
	assert_int_equal(e.regs.rip, 0x8040);
	assert_memory_equal(gmem_ptr(&vm->mem, 0x8000, sizeof(data)), data, sizeof(data));
	assert_int_equal(tr8(vm, 0xafff), 0);
	assert_int_equal(tr8(vm, 0xb000), 0xcc);
	free(img);
	/* ... but not over the command line */
	seg.paddr = seg.vaddr = 0x1e000;
	img = mk_elf(false, 3, 0x1e040, &seg, 1, &n);
	assert_int_equal(run(vm, img, n, NULL, 0, &e), -EINVAL);
	free(img);
	tvm_free(vm);
}

/* The overlap check itself: every range ringvm places below 1 MiB, at its
 * edges, for the protocols that use it. */
static void test_low_ranges(void **state)
{
	struct vm *vm = tvm_new(16 * MiB);
	static const struct {
		uint64_t start, end;
		unsigned protos;
	} uses[] = {
		{ LAYOUT_BOOT_GDT, LAYOUT_BOOT_IDT_END, 7 },
		{ LAYOUT_BOOT_STACK_BOTTOM, LAYOUT_BOOT_STACK + 16, 7 },
		{ LAYOUT_ZERO_PAGE, LAYOUT_ZERO_PAGE_END, BOOT_PROTO_BZIMAGE | BOOT_PROTO_PVH },
		{ LAYOUT_PML4, LAYOUT_PD_END, BOOT_PROTO_BZIMAGE },
		{ LAYOUT_CMDLINE, LAYOUT_CMDLINE + LAYOUT_CMDLINE_MAX, 7 },
		{ LAYOUT_BOOT_INFO, LAYOUT_BOOT_INFO_END, BOOT_PROTO_PVH | BOOT_PROTO_MULTIBOOT },
		{ LAYOUT_EBDA_START, LAYOUT_HIGH_MEMORY, 7 },
	};
	for (unsigned i = 0; i < sizeof(uses) / sizeof(uses[0]); i++) {
		for (unsigned p = 1; p <= 4; p <<= 1) {
			int want = (uses[i].protos & p) ? -EINVAL : 0;
			uint64_t s = uses[i].start, e = uses[i].end;
			/* one byte at each end, and a range covering it all */
			if (want == 0)
				continue; /* clear ranges are checked below */
			assert_int_equal(boot_check_load_range(vm, "t", "x", s, 1, p), want);
			assert_int_equal(boot_check_load_range(vm, "t", "x", e - 1, 1, p), want);
			assert_int_equal(boot_check_load_range(vm, "t", "x", s - 1, 2, p), want);
			assert_int_equal(boot_check_load_range(vm, "t", "x", 0, e + 1, p), want);
		}
	}
	/* what multiboot leaves free, PVH too except the zero page */
	const unsigned mb = BOOT_PROTO_MULTIBOOT, pvh = BOOT_PROTO_PVH;
	assert_int_equal(boot_check_load_range(vm, "t", "x", 0, LAYOUT_BOOT_GDT, mb), 0);
	assert_int_equal(boot_check_load_range(vm, "t", "x", LAYOUT_BOOT_IDT_END,
					       LAYOUT_BOOT_STACK_BOTTOM - LAYOUT_BOOT_IDT_END, mb), 0);
	assert_int_equal(boot_check_load_range(vm, "t", "x", 0x7000, 0x20000 - 0x7000, mb), 0);
	assert_int_equal(boot_check_load_range(vm, "t", "x", 0x7000, 0x1000, pvh), -EINVAL);
	assert_int_equal(boot_check_load_range(vm, "t", "x", 0x8000, 0x18000, pvh), 0);
	assert_int_equal(boot_check_load_range(vm, "t", "x", 0x80000, 0x9fc00 - 0x80000, mb), 0);
	assert_int_equal(boot_check_load_range(vm, "t", "x", LAYOUT_HIGH_MEMORY, 15 * MiB, mb), 0);
	/* RAM bounds, wrap-around, empty */
	assert_int_equal(boot_check_load_range(vm, "t", "x", LAYOUT_HIGH_MEMORY, 15 * MiB + 1, mb),
			 -EINVAL);
	assert_int_equal(boot_check_load_range(vm, "t", "x", UINT64_MAX - 10, 100, mb), -EINVAL);
	assert_int_equal(boot_check_load_range(vm, "t", "x", 0x8000, 0, mb), -EINVAL);
	tvm_free(vm);
}

static void test_mb_video_flag(void **state)
{
	struct vm *vm = tvm_new(16 * MiB);
	struct boot_entry e;
	size_t n;
	uint8_t *img = mk_aout(&good_aout, 4, &n);
	assert_int_equal(run(vm, img, n, NULL, 0, &e), 0);
	free(img);
	tvm_free(vm);
}

static void expect_aout_bad(struct vm *vm, struct aout a, int want)
{
	struct boot_entry e;
	size_t n;
	uint8_t *img = mk_aout(&a, 0, &n);
	assert_int_equal(run(vm, img, n, NULL, 0, &e), want);
	free(img);
}

static void test_mb_bad(void **state)
{
	struct vm *vm = tvm_new(16 * MiB);
	struct boot_entry e;
	size_t n;
	struct aout a;

	a = good_aout; a.load_addr = 0x200050;            /* after the header */
	expect_aout_bad(vm, a, -EINVAL);
	a = good_aout; a.load_addr = 0x100000;            /* before the file */
	expect_aout_bad(vm, a, -EINVAL);
	a = good_aout; a.load_end = 0x200000;             /* empty */
	expect_aout_bad(vm, a, -EINVAL);
	a = good_aout; a.load_end = 0x210000;             /* past EOF */
	expect_aout_bad(vm, a, -EINVAL);
	a = good_aout; a.bss_end = 0x201000;              /* below load end */
	expect_aout_bad(vm, a, -EINVAL);
	a = good_aout; a.entry = 0x300000;                /* outside */
	expect_aout_bad(vm, a, -EINVAL);
	a = good_aout; a.bss_end = 0xffffffff;            /* past RAM */
	expect_aout_bad(vm, a, -EINVAL);
	/* below 1 MiB, over what ringvm places there (the file is 0x3000 bytes) */
	a = (struct aout){ 0x0040, 0x0000, 0, 0, 0x0100 };    /* boot GDT at 0x500 */
	expect_aout_bad(vm, a, -EINVAL);
	a = (struct aout){ 0x5040, 0x5000, 0, 0, 0x5100 };    /* boot stack 0x6000 */
	expect_aout_bad(vm, a, -EINVAL);
	a = (struct aout){ 0x1e040, 0x1e000, 0, 0, 0x1e100 }; /* command line 0x20000 */
	expect_aout_bad(vm, a, -EINVAL);
	a = (struct aout){ 0x8040, 0x8000, 0, 0x20001, 0x8100 }; /* bss into it */
	expect_aout_bad(vm, a, -EINVAL);
	a = (struct aout){ 0x7f040, 0x7f000, 0, 0, 0x7f100 }; /* boot info to 0x80000 */
	expect_aout_bad(vm, a, -EINVAL);
	a = (struct aout){ 0x9e040, 0x9e000, 0, 0, 0x9e100 }; /* EBDA 0x9fc00 */
	expect_aout_bad(vm, a, -EINVAL);
	a = (struct aout){ 0xff040, 0xff000, 0, 0, 0xff100 }; /* BIOS area into 1 MiB */
	expect_aout_bad(vm, a, -EINVAL);
	a = (struct aout){ 0xffffff40, 0xffffff00, 0, 0, 0xffffff10 };
	expect_aout_bad(vm, a, -EINVAL);

	/* unsupported required flag */
	uint8_t *img = mk_aout(&good_aout, 8, &n);
	assert_int_equal(run(vm, img, n, NULL, 0, &e), -ENOTSUP);
	/* bad checksum: not a multiboot image */
	wr32(img + 0x48, 0);
	assert_int_equal(run(vm, img, n, NULL, 0, &e), -ENOEXEC);
	free(img);

	/* header past the first 8 KiB */
	n = 0x4000;
	img = calloc(1, n);
	mb_header(img + 8192, 0);
	assert_int_equal(run(vm, img, n, NULL, 0, &e), -ENOEXEC);
	/* header at the end of the 8 KiB window, a.out fields cut off */
	mb_header(img + 8192 - 16, AOUT);
	assert_int_equal(run(vm, img, n, NULL, 0, &e), -EINVAL);
	/* neither ELF nor a.out kludge */
	memset(img, 0, n);
	mb_header(img + 4, 0);
	assert_int_equal(run(vm, img, n, NULL, 0, &e), -EINVAL);
	free(img);

	/* initrd too big for RAM after the kernel */
	uint8_t *rd = calloc(1, 15 * MiB);
	img = mk_aout(&good_aout, 0, &n);
	assert_int_equal(run(vm, img, n, rd, 15 * MiB, &e), -ENOMEM);
	/* every truncation of a.out and ELF images */
	for (size_t len = 0; len < n; len++) {
		uint8_t *t = dup_prefix(img, len);
		int r = run(vm, t, len, NULL, 0, &e);
		assert_true(r == -ENOEXEC || r == -EINVAL || r == 0);
		free(t);
	}
	free(img);
	img = mb_elf(false, 3, 0x100000, 0x100040, &n);
	for (size_t len = 0; len < n; len++) {
		uint8_t *t = dup_prefix(img, len);
		int r = run(vm, t, len, NULL, 0, &e);
		assert_true(r == -ENOEXEC || r == -EINVAL);
		free(t);
	}
	free(img);
	free(rd);
	tvm_free(vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mb_elf32),
		cmocka_unit_test(test_mb_elf64_virtual_entry),
		cmocka_unit_test(test_mb_aout),
		cmocka_unit_test(test_mb_video_flag),
		cmocka_unit_test(test_mb_low_memory),
		cmocka_unit_test(test_low_ranges),
		cmocka_unit_test(test_mb_bad),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
