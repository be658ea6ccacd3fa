/* PVH loader: ELF64/ELF32 with the Xen PHYS32_ENTRY note. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "boot_test_util.h"
#include "ringvm/layout.h"

#define SI LAYOUT_ZERO_PAGE

struct pvh_img {
	struct tseg s[3];
	uint8_t note[24];
};

/* One PT_LOAD at 16 MiB (0x2000 file, 0x5000 mem) + a PT_NOTE. */
static void pvh_img_init(struct pvh_img *p, uint64_t entry, unsigned descsz)
{
	memset(p, 0, sizeof(*p));
	size_t nl = mk_pvh_note(p->note, entry, descsz);
	p->s[0] = (struct tseg){ .type = 1, .paddr = 0x1000000, .vaddr = 0xffffffff81000000ULL,
				 .filesz = 0x2000, .memsz = 0x5000, .align = 0x200000 };
	p->s[1] = (struct tseg){ .type = 4, .filesz = nl, .data = p->note, .align = 4 };
}

static int run(struct vm *vm, uint8_t *img, size_t n, const uint8_t *rd, size_t rdsz,
	       struct boot_entry *e)
{
	struct boot_blob k = { .path = "test-vmlinux", .data = img, .size = n };
	struct boot_blob r = { .path = "test-initrd", .data = (uint8_t *)rd, .size = rdsz };
	memset(e, 0, sizeof(*e));
	return boot_pvh(vm, &k, rd ? &r : NULL, e);
}

static void check_pvh(bool is64, unsigned descsz)
{
	struct vm *vm = tvm_new(64 * MiB);
	struct pvh_img p;
	struct boot_entry e;
	size_t n;
	uint8_t rd[5000];

	fill_pat(rd, sizeof(rd), 42);
	pvh_img_init(&p, 0x1000100, descsz);
	uint8_t *img = mk_elf(is64, is64 ? 62 : 3, 0x1000000, p.s, 2, &n);
	gmem_fill(&vm->mem, 0x1000000, 0xaa, 0x10000);
	vm->cfg.cmdline = "root=/dev/vda";
	assert_int_equal(run(vm, img, n, rd, sizeof(rd), &e), 0);
	assert_string_equal(e.format, "pvh");
	assert_true(guest_has_pat(vm, 0x1000000, 0x2000, 1));
	for (uint64_t a = 0x1002000; a < 0x1005000; a += 0x100)
		assert_int_equal(tr8(vm, a), 0);          /* bss zeroed */
	assert_int_equal(tr8(vm, 0x1005000), 0xaa);      /* and no more */
	/* entry state */
	assert_int_equal(e.regs.rip, 0x1000100);
	assert_int_equal(e.regs.gpr[GPR_RBX], SI);
	assert_int_equal(e.sregs.cr0, X86_CR0_PE | X86_CR0_ET);
	assert_int_equal(e.sregs.efer, 0);
	assert_int_equal(e.sregs.seg[SEG_CS].selector, 0x10);
	assert_int_equal(e.sregs.seg[SEG_CS].db, 1);
	assert_int_equal(e.sregs.seg[SEG_CS].g, 1);
	assert_int_equal(e.sregs.seg[SEG_CS].type, 0xb);
	assert_int_equal(e.sregs.seg[SEG_ES].selector, 0x18);
	assert_int_equal(e.sregs.seg[SEG_ES].type, 0x3);
	assert_int_equal(e.sregs.seg[SEG_GS].limit, 0xffffffffu);
	assert_int_equal(e.regs.rflags, 2);
	/* hvm_start_info */
	assert_int_equal(tr32(vm, SI), 0x336ec578);
	assert_int_equal(tr32(vm, SI + 4), 1);
	assert_int_equal(tr32(vm, SI + 12), 1);
	uint64_t cmd = tr64(vm, SI + 24);
	assert_string_equal((const char *)gmem_ptr(&vm->mem, cmd, 14), "root=/dev/vda");
	uint64_t rsdp = tr64(vm, SI + 32);
	assert_memory_equal(gmem_ptr(&vm->mem, rsdp, 8), "RSD PTR ", 8);
	uint64_t mm = tr64(vm, SI + 40);
	uint32_t nmm = tr32(vm, SI + 48);
	struct e820_entry map[E820_MAX];
	unsigned ne = e820_build(vm, map, E820_MAX);
	assert_int_equal(nmm, ne);
	for (unsigned i = 0; i < ne; i++) {
		assert_int_equal(tr64(vm, mm + 24 * i), map[i].addr);
		assert_int_equal(tr64(vm, mm + 24 * i + 8), map[i].size);
		assert_int_equal(tr32(vm, mm + 24 * i + 16), map[i].type);
	}
	uint64_t mod = tr64(vm, SI + 16);
	uint64_t rd_at = tr64(vm, mod);
	assert_int_equal(tr64(vm, mod + 8), sizeof(rd));
	assert_int_equal(rd_at % 4096, 0);
	assert_true(rd_at >= 0x1005000);
	assert_true(guest_has_pat(vm, rd_at, sizeof(rd), 42));
	free(img);
	tvm_free(vm);
}

static void test_pvh_elf64(void **state) { check_pvh(true, 8); }
static void test_pvh_elf32(void **state) { check_pvh(false, 4); }
static void test_pvh_elf64_desc4(void **state) { check_pvh(true, 4); }

static void test_pvh_no_initrd(void **state)
{
	struct vm *vm = tvm_new(32 * MiB);
	struct pvh_img p;
	struct boot_entry e;
	size_t n;

	pvh_img_init(&p, 0x1000000, 8);
	uint8_t *img = mk_elf(true, 62, 0, p.s, 2, &n);
	assert_int_equal(run(vm, img, n, NULL, 0, &e), 0);
	assert_int_equal(tr32(vm, SI + 12), 0);
	assert_int_equal(tr64(vm, SI + 16), 0);
	free(img);
	tvm_free(vm);
}

static void test_pvh_not_ours(void **state)
{
	struct vm *vm = tvm_new(32 * MiB);
	struct pvh_img p;
	struct boot_entry e;
	size_t n;

	pvh_img_init(&p, 0x1000000, 8);
	p.note[8] = 17; /* a different note type */
	uint8_t *img = mk_elf(true, 62, 0, p.s, 2, &n);
	assert_int_equal(run(vm, img, n, NULL, 0, &e), -ENOEXEC);
	img[0] = 0;     /* not ELF */
	assert_int_equal(run(vm, img, n, NULL, 0, &e), -ENOEXEC);
	free(img);
	tvm_free(vm);
}

/* Each mutation must be refused with -EINVAL/-ENOMEM, never crash. */
static void expect_bad(struct vm *vm, bool is64, void (*mut)(struct pvh_img *),
		       void (*mut_img)(uint8_t *, size_t), int want)
{
	struct pvh_img p;
	struct boot_entry e;
	size_t n;

	pvh_img_init(&p, 0x1000100, 8);
	if (mut)
		mut(&p);
	uint8_t *img = mk_elf(is64, is64 ? 62 : 3, 0, p.s, 2, &n);
	if (mut_img)
		mut_img(img, n);
	assert_int_equal(run(vm, img, n, NULL, 0, &e), want);
	free(img);
}

static void m_filesz(struct pvh_img *p) { p->s[0].memsz = 0x1000; }
static void m_past_ram(struct pvh_img *p) { p->s[0].paddr = 32 * MiB - 0x1000; }
/* below 1 MiB over the zero page (start info), the command line, the boot
 * info: refused; the entry is inside the segment, so the overlap is why */
static void m_low_zero(struct pvh_img *p) { p->s[0].paddr = 0x7000; mk_pvh_note(p->note, 0x7100, 8); }
static void m_low_ok(struct pvh_img *p) { p->s[0].paddr = 0x8000; mk_pvh_note(p->note, 0x8100, 8); }
static void m_low_cmdline(struct pvh_img *p) { p->s[0].paddr = 0x1c000; mk_pvh_note(p->note, 0x1c100, 8); }
static void m_low_info(struct pvh_img *p) { p->s[0].paddr = 0x2c000; mk_pvh_note(p->note, 0x2c100, 8); }
static void m_wrap(struct pvh_img *p) { p->s[0].paddr = 0xfffffffffffff000ULL; }
static void m_hole(struct pvh_img *p) { p->s[0].paddr = 0xfec00000ULL; }
static void m_entry(struct pvh_img *p) { mk_pvh_note(p->note, 0x900000, 8); }
static void m_entry_hi(struct pvh_img *p) { mk_pvh_note(p->note, 0x100000000ULL, 8); }
static void m_desc(struct pvh_img *p) { wr32(p->note + 4, 2); }
static void i_offset(uint8_t *d, size_t n) { wr64(d + 64 + 8, n - 16); }
static void i_phoff(uint8_t *d, size_t n) { wr64(d + 32, n); }
static void i_phnum0(uint8_t *d, size_t n) { wr16(d + 56, 0); }
static void i_phnum_big(uint8_t *d, size_t n) { wr16(d + 56, 0xfffe); }
static void i_phentsize(uint8_t *d, size_t n) { wr16(d + 54, 40); }
static void i_class(uint8_t *d, size_t n) { d[4] = 3; }
static void i_endian(uint8_t *d, size_t n) { d[5] = 2; }
static void i_machine(uint8_t *d, size_t n) { wr16(d + 18, 40); }
static void i_type(uint8_t *d, size_t n) { wr16(d + 16, 1); }
static void i_filesz_huge(uint8_t *d, size_t n) { wr64(d + 64 + 32, 0xffffffffffffff00ULL); wr64(d + 64 + 40, 0xffffffffffffff00ULL); }
static void i_noload(uint8_t *d, size_t n) { wr32(d + 64, 6); }

static void test_pvh_bad(void **state)
{
	struct vm *vm = tvm_new(32 * MiB);

	expect_bad(vm, true, m_filesz, NULL, -EINVAL);
	expect_bad(vm, true, m_past_ram, NULL, -EINVAL);
	expect_bad(vm, false, m_past_ram, NULL, -EINVAL);
	expect_bad(vm, true, m_low_zero, NULL, -EINVAL);
	expect_bad(vm, true, m_low_ok, NULL, 0);      /* 0x8000-0xcfff is free for PVH */
	expect_bad(vm, false, m_low_ok, NULL, 0);
	expect_bad(vm, false, m_low_cmdline, NULL, -EINVAL);
	expect_bad(vm, true, m_low_info, NULL, -EINVAL);
	expect_bad(vm, true, m_wrap, NULL, -EINVAL);
	expect_bad(vm, true, m_hole, NULL, -EINVAL);
	expect_bad(vm, true, m_entry, NULL, -EINVAL);
	expect_bad(vm, true, m_entry_hi, NULL, -EINVAL);
	expect_bad(vm, true, m_desc, NULL, -EINVAL);
	expect_bad(vm, true, NULL, i_offset, -EINVAL);
	expect_bad(vm, true, NULL, i_phoff, -EINVAL);
	expect_bad(vm, true, NULL, i_phnum0, -EINVAL);
	expect_bad(vm, true, NULL, i_phnum_big, -EINVAL);
	expect_bad(vm, true, NULL, i_phentsize, -EINVAL);
	expect_bad(vm, true, NULL, i_class, -EINVAL);
	expect_bad(vm, true, NULL, i_endian, -EINVAL);
	expect_bad(vm, true, NULL, i_machine, -EINVAL);
	expect_bad(vm, true, NULL, i_type, -EINVAL);
	expect_bad(vm, true, NULL, i_filesz_huge, -EINVAL);
	expect_bad(vm, true, NULL, i_noload, -EINVAL);

	/* initrd larger than the RAM left above the kernel */
	struct pvh_img p;
	struct boot_entry e;
	size_t n, rdsz = 20 * MiB;
	uint8_t *rd = calloc(1, rdsz);
	pvh_img_init(&p, 0x1000100, 8);
	uint8_t *img = mk_elf(true, 62, 0, p.s, 2, &n);
	assert_int_equal(run(vm, img, n, rd, rdsz, &e), -ENOMEM);
	/* every truncation of a valid image: an error, never a crash */
	for (size_t len = 0; len < n; len++) {
		uint8_t *t = dup_prefix(img, len);
		int r = run(vm, t, len, NULL, 0, &e);
		assert_true(r == -ENOEXEC || r == -EINVAL);
		free(t);
	}
	free(rd);
	free(img);
	tvm_free(vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pvh_elf64),
		cmocka_unit_test(test_pvh_elf32),
		cmocka_unit_test(test_pvh_elf64_desc4),
		cmocka_unit_test(test_pvh_no_initrd),
		cmocka_unit_test(test_pvh_not_ours),
		cmocka_unit_test(test_pvh_bad),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
