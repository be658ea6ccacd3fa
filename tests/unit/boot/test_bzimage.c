/* bzImage loader: placement, boot_params, entry state, malformed headers. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "boot_test_util.h"
#include "ringvm/layout.h"

#define ZP LAYOUT_ZERO_PAGE

static int load_bz(struct vm *vm, const struct bz_opts *o, const uint8_t *rd,
		   size_t rdsz, struct boot_entry *e)
{
	size_t n;
	uint8_t *img = mk_bzimage(o, &n);
	struct boot_blob k = { .path = "test-bzImage", .data = img, .size = n };
	struct boot_blob r = { .path = "test-initrd", .data = (uint8_t *)rd, .size = rdsz };
	memset(e, 0, sizeof(*e));
	int ret = boot_bzimage(vm, &k, rd ? &r : NULL, e);
	free(img);
	return ret;
}

static void test_bz_basic(void **state)
{
	struct vm *vm = tvm_new(64 * MiB);
	struct bz_opts o;
	struct boot_entry e;

	bz_defaults(&o);
	vm->cfg.cmdline = "console=ttyS0 quiet";
	assert_int_equal(load_bz(vm, &o, NULL, 0, &e), 0);
	assert_string_equal(e.format, "bzImage");
	/* kernel at pref_address */
	assert_true(guest_has_pat(vm, 0x1000000, o.payload, 3));
	assert_int_equal(e.regs.rip, 0x1000200);
	assert_int_equal(e.regs.gpr[GPR_RSI], ZP);
	assert_int_equal(e.regs.rflags, 2);
	/* long mode, flat 0x10/0x18 */
	assert_true(e.sregs.cr0 & X86_CR0_PG);
	assert_true(e.sregs.cr0 & X86_CR0_PE);
	assert_true(e.sregs.cr4 & X86_CR4_PAE);
	assert_int_equal(e.sregs.efer, X86_EFER_LME | X86_EFER_LMA);
	assert_int_equal(e.sregs.cr3, LAYOUT_PML4);
	assert_int_equal(e.sregs.seg[SEG_CS].selector, 0x10);
	assert_int_equal(e.sregs.seg[SEG_CS].l, 1);
	assert_int_equal(e.sregs.seg[SEG_CS].db, 0);
	assert_int_equal(e.sregs.seg[SEG_DS].selector, 0x18);
	assert_int_equal(e.sregs.seg[SEG_SS].selector, 0x18);
	assert_int_equal(e.sregs.tr.type, 11);
	assert_int_equal(e.sregs.tr.present, 1);
	/* GDT in memory matches */
	assert_int_equal(e.sregs.gdt.base, LAYOUT_BOOT_GDT);
	assert_int_equal(tr64(vm, LAYOUT_BOOT_GDT + 0x10), 0x00af9b000000ffffULL);
	assert_int_equal(tr64(vm, LAYOUT_BOOT_GDT + 0x18), 0x00cf93000000ffffULL);
	/* identity map: PML4 -> PDPT -> PD, 2 MiB pages up to 4 GiB */
	assert_int_equal(tr64(vm, LAYOUT_PML4) & ~0xfffULL, LAYOUT_PDPT);
	assert_int_equal(tr64(vm, LAYOUT_PDPT + 3 * 8) & ~0xfffULL, LAYOUT_PD + 3 * 4096);
	assert_int_equal(tr64(vm, LAYOUT_PD + 8), 0x200000 | 0x83);
	assert_int_equal(tr64(vm, LAYOUT_PD + 2047 * 8), 0xffe00000ULL | 0x83);
	/* boot_params */
	assert_memory_equal(gmem_ptr(&vm->mem, ZP + 0x202, 4), "HdrS", 4);
	assert_int_equal(tr16(vm, ZP + 0x206), 0x20f);
	assert_int_equal(tr8(vm, ZP + 0x210), 0xff);
	assert_int_equal(tr8(vm, ZP + 0x211), 0x81);
	assert_int_equal(tr32(vm, ZP + 0x214), 0x1000000);
	assert_int_equal(tr32(vm, ZP + 0x228), LAYOUT_CMDLINE);
	assert_string_equal((const char *)gmem_ptr(&vm->mem, LAYOUT_CMDLINE, 20),
			    "console=ttyS0 quiet");
	assert_int_equal(tr32(vm, ZP + 0x218), 0);
	assert_int_equal(tr8(vm, ZP + 0x1ef), 0); /* sentinel */
	uint64_t rsdp = tr64(vm, ZP + 0x070);
	assert_true(rsdp >= LAYOUT_ACPI_START && rsdp < LAYOUT_ACPI_END);
	assert_memory_equal(gmem_ptr(&vm->mem, rsdp, 8), "RSD PTR ", 8);
	unsigned n = tr8(vm, ZP + 0x1e8);
	assert_true(n >= 3);
	assert_int_equal(tr64(vm, ZP + 0x2d0), 0);                 /* addr */
	assert_int_equal(tr64(vm, ZP + 0x2d8), LAYOUT_EBDA_START); /* size */
	assert_int_equal(tr32(vm, ZP + 0x2e0), E820_RAM);
	tvm_free(vm);
}

static void test_bz_initrd_high(void **state)
{
	struct vm *vm = tvm_new(64 * MiB);
	struct bz_opts o;
	struct boot_entry e;
	size_t rdsz = 100000;
	uint8_t *rd = malloc(rdsz);

	fill_pat(rd, rdsz, 9);
	bz_defaults(&o);
	o.initrd_addr_max = 0x2ffffff;   /* 48 MiB - 1 */
	assert_int_equal(load_bz(vm, &o, rd, rdsz, &e), 0);
	uint32_t at = tr32(vm, ZP + 0x218);
	assert_int_equal(tr32(vm, ZP + 0x21c), rdsz);
	assert_int_equal(at % 4096, 0);
	assert_true(at + rdsz <= 0x3000000);
	assert_true(at + rdsz > 0x3000000 - 4096);
	assert_true(at >= 0x1000000 + o.init_size);
	assert_int_equal(tr32(vm, ZP + 0xc0), 0);
	assert_true(guest_has_pat(vm, at, rdsz, 9));

	/* default limit: top of RAM */
	o.initrd_addr_max = 0x7fffffff;
	assert_int_equal(load_bz(vm, &o, rd, rdsz, &e), 0);
	at = tr32(vm, ZP + 0x218);
	assert_true(at + rdsz <= 64 * MiB && at + rdsz > 64 * MiB - 4096);
	free(rd);
	tvm_free(vm);
}

static void test_bz_initrd_above_4g(void **state)
{
	struct vm *vm = tvm_new(5 * GiB);
	struct bz_opts o;
	struct boot_entry e;
	size_t rdsz = 3 * MiB;
	uint8_t *rd = malloc(rdsz);

	fill_pat(rd, rdsz, 5);
	bz_defaults(&o);
	/* low window too small -> XLF_CAN_BE_LOADED_ABOVE_4G lets it go high */
	o.initrd_addr_max = 0x1000000 + o.init_size + MiB - 1;
	assert_int_equal(load_bz(vm, &o, rd, rdsz, &e), 0);
	uint64_t at = tr32(vm, ZP + 0x218) | (uint64_t)tr32(vm, ZP + 0xc0) << 32;
	assert_true(at >= 4 * GiB);
	assert_true(at + rdsz <= 4 * GiB + 2 * GiB);
	assert_true(guest_has_pat(vm, at, rdsz, 5));
	/* without the flag it is refused */
	o.xloadflags = 1;
	assert_int_equal(load_bz(vm, &o, rd, rdsz, &e), -ENOMEM);
	free(rd);
	tvm_free(vm);
}

static void test_bz_placement(void **state)
{
	struct vm *vm = tvm_new(12 * MiB);
	struct bz_opts o;
	struct boot_entry e;

	/* pref_address (16 MiB) beyond RAM: 1 MiB aligned up to 2 MiB */
	bz_defaults(&o);
	assert_int_equal(load_bz(vm, &o, NULL, 0, &e), 0);
	assert_true(guest_has_pat(vm, 0x200000, o.payload, 3));
	assert_int_equal(e.regs.rip, 0x200200);
	/* non-relocatable: 1 MiB (it moves itself to pref_address) */
	o.relocatable = 0;
	o.pref_address = 0x100000;
	assert_int_equal(load_bz(vm, &o, NULL, 0, &e), 0);
	assert_true(guest_has_pat(vm, 0x100000, o.payload, 3));
	assert_int_equal(e.regs.rip, 0x100200);
	/* non-relocatable needing pref_address + init_size beyond RAM */
	o.pref_address = 0x1000000;
	assert_int_equal(load_bz(vm, &o, NULL, 0, &e), -ENOMEM);
	tvm_free(vm);
}

static void test_bz_32bit_entry(void **state)
{
	struct vm *vm = tvm_new(64 * MiB);
	struct bz_opts o;
	struct boot_entry e;

	bz_defaults(&o);
	o.version = 0x206;       /* no xloadflags, no pref_address */
	assert_int_equal(load_bz(vm, &o, NULL, 0, &e), 0);
	assert_int_equal(e.regs.rip, 0x200000);
	assert_int_equal(e.regs.gpr[GPR_RSI], ZP);
	assert_int_equal(e.sregs.cr0 & X86_CR0_PG, 0);
	assert_int_equal(e.sregs.efer, 0);
	assert_int_equal(e.sregs.seg[SEG_CS].db, 1);
	assert_int_equal(e.sregs.seg[SEG_CS].l, 0);
	assert_int_equal(e.sregs.seg[SEG_CS].limit, 0xffffffffu);
	assert_int_equal(tr64(vm, LAYOUT_BOOT_GDT + 0x10), 0x00cf9b000000ffffULL);
	tvm_free(vm);
}

static void test_bz_bad(void **state)
{
	struct vm *vm = tvm_new(64 * MiB);
	struct bz_opts o;
	struct boot_entry e;

	bz_defaults(&o);
	o.version = 0x205;
	assert_int_equal(load_bz(vm, &o, NULL, 0, &e), -EINVAL);
	bz_defaults(&o);
	o.loadflags = 0;
	assert_int_equal(load_bz(vm, &o, NULL, 0, &e), -EINVAL);
	bz_defaults(&o);
	o.kernel_alignment = 0x3000;
	assert_int_equal(load_bz(vm, &o, NULL, 0, &e), -EINVAL);
	bz_defaults(&o);
	o.init_size = 0x7fffffff;
	assert_int_equal(load_bz(vm, &o, NULL, 0, &e), -ENOMEM);
	bz_defaults(&o);
	o.cmdline_size = 10;
	vm->cfg.cmdline = "this is longer than ten bytes";
	assert_int_equal(load_bz(vm, &o, NULL, 0, &e), -E2BIG);
	vm->cfg.cmdline = "";

	/* initrd that cannot fit under initrd_addr_max */
	bz_defaults(&o);
	o.initrd_addr_max = 0x200000;
	uint8_t rd[8192] = { 1 };
	assert_int_equal(load_bz(vm, &o, rd, sizeof(rd), &e), -ENOMEM);

	/* setup_sects claiming more than the file */
	size_t n;
	bz_defaults(&o);
	uint8_t *img = mk_bzimage(&o, &n);
	img[0x1f1] = 255;
	struct boot_blob k = { .path = "bad", .data = img, .size = n };
	assert_int_equal(boot_bzimage(vm, &k, NULL, &e), -EINVAL);
	/* truncated header, at every length */
	img[0x1f1] = 4;
	for (size_t len = 0; len < 0x1000; len++) {
		struct boot_blob t = { .path = "trunc", .data = dup_prefix(img, len), .size = len };
		int r = boot_bzimage(vm, &t, NULL, &e);
		/* valid once a byte of protected-mode kernel follows the setup */
		assert_true(r == -ENOEXEC || r == -EINVAL || (len > 5 * 512 && r == 0));
		free(t.data);
	}
	/* not a bzImage at all */
	img[0x1fe] = 0;
	assert_int_equal(boot_bzimage(vm, &k, NULL, &e), -ENOEXEC);
	img[0x1fe] = 0x55;
	img[0x202] = 'X';
	assert_int_equal(boot_bzimage(vm, &k, NULL, &e), -ENOEXEC);
	free(img);
	tvm_free(vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bz_basic),
		cmocka_unit_test(test_bz_initrd_high),
		cmocka_unit_test(test_bz_initrd_above_4g),
		cmocka_unit_test(test_bz_placement),
		cmocka_unit_test(test_bz_32bit_entry),
		cmocka_unit_test(test_bz_bad),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
