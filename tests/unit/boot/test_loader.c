/* boot_load: files, format detection and dispatch, global size checks. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "boot_test_util.h"
#include "ringvm/layout.h"

static int load_file(struct vm *vm, const void *img, size_t n, const void *rd,
		     size_t rdsz, struct boot_entry *e)
{
	char *kp = tmp_file(img, n);
	char *rp = rd ? tmp_file(rd, rdsz) : NULL;
	vm->cfg.kernel = kp;
	vm->cfg.initrd = rp;
	int r = boot_load(vm, e);
	unlink(kp);
	free(kp);
	if (rp) {
		unlink(rp);
		free(rp);
	}
	vm->cfg.kernel = vm->cfg.initrd = NULL;
	return r;
}

static void test_loader_files(void **state)
{
	struct vm *vm = tvm_new(32 * MiB);
	struct boot_entry e;

	vm->cfg.kernel = NULL;
	assert_int_equal(boot_load(vm, &e), -EINVAL);
	vm->cfg.kernel = "/nonexistent/ringvm-kernel";
	assert_int_equal(boot_load(vm, &e), -ENOENT);
	vm->cfg.kernel = "/tmp";
	assert_int_equal(boot_load(vm, &e), -EISDIR);
	vm->cfg.kernel = "/dev/null";
	assert_int_equal(boot_load(vm, &e), -EINVAL);
	assert_int_equal(load_file(vm, "", 0, NULL, 0, &e), -EINVAL);  /* empty */

	uint8_t junk[4096];
	fill_pat(junk, sizeof(junk), 1);
	assert_int_equal(load_file(vm, junk, sizeof(junk), NULL, 0, &e), -ENOEXEC);

	struct bz_opts o;
	bz_defaults(&o);
	size_t n;
	uint8_t *img = mk_bzimage(&o, &n);
	/* initrd problems */
	char *kp = tmp_file(img, n);
	vm->cfg.kernel = kp;
	vm->cfg.initrd = "/nonexistent/initrd";
	assert_int_equal(boot_load(vm, &e), -ENOENT);
	vm->cfg.initrd = "/tmp";
	assert_int_equal(boot_load(vm, &e), -EISDIR);
	char *rp = tmp_file("", 0);
	vm->cfg.initrd = rp;
	assert_int_equal(boot_load(vm, &e), -EINVAL);
	unlink(rp);
	free(rp);
	unlink(kp);
	free(kp);
	vm->cfg.initrd = NULL;

	/* kernel + initrd larger than RAM */
	size_t big = 31 * MiB;
	uint8_t *rd = calloc(1, big);
	assert_int_equal(load_file(vm, img, n, rd, big, &e), -ENOMEM);
	free(rd);
	/* command line longer than anything supports */
	char *cl = malloc(LAYOUT_CMDLINE_MAX + 10);
	memset(cl, 'x', LAYOUT_CMDLINE_MAX + 9);
	cl[LAYOUT_CMDLINE_MAX + 9] = 0;
	vm->cfg.cmdline = cl;
	assert_int_equal(load_file(vm, img, n, NULL, 0, &e), -E2BIG);
	/* ... or than the kernel's cmdline_size */
	cl[3000] = 0;
	assert_int_equal(load_file(vm, img, n, NULL, 0, &e), -E2BIG);
	vm->cfg.cmdline = "";
	free(cl);
	free(img);
	tvm_free(vm);

	vm = tvm_new(1 * MiB);
	assert_int_equal(load_file(vm, junk, sizeof(junk), NULL, 0, &e), -ENOMEM);
	tvm_free(vm);
}

static void test_loader_dispatch(void **state)
{
	struct vm *vm = tvm_new(64 * MiB);
	struct boot_entry e;
	uint8_t rd[3000];
	size_t n;

	vm->cfg.cpus = 2;
	fill_pat(rd, sizeof(rd), 4);
	struct bz_opts o;
	bz_defaults(&o);
	uint8_t *img = mk_bzimage(&o, &n);
	assert_int_equal(load_file(vm, img, n, rd, sizeof(rd), &e), 0);
	assert_string_equal(e.format, "bzImage");
	assert_memory_equal(gmem_ptr(&vm->mem, LAYOUT_MPTABLE, 4), "_MP_", 4);
	free(img);

	uint8_t note[24];
	size_t nl = mk_pvh_note(note, 0x1000000, 8);
	struct tseg s[2] = {
		{ .type = 1, .paddr = 0x1000000, .filesz = 0x100, .memsz = 0x100 },
		{ .type = 4, .filesz = nl, .data = note, .align = 4 },
	};
	img = mk_elf(true, 62, 0, s, 2, &n);
	assert_int_equal(load_file(vm, img, n, rd, sizeof(rd), &e), 0);
	assert_string_equal(e.format, "pvh");
	free(img);

	/* an ELF with neither note nor multiboot header: unknown */
	img = mk_elf(true, 62, 0x1000000, s, 1, &n);
	assert_int_equal(load_file(vm, img, n, NULL, 0, &e), -ENOEXEC);
	free(img);

	/* an ELF with a multiboot header and no PVH note: multiboot */
	uint8_t data[0x100] = { 0 };
	wr32(data, 0x1BADB002);
	wr32(data + 8, (uint32_t)(0u - 0x1BADB002u));
	s[0].data = data;
	img = mk_elf(false, 3, 0x1000010, s, 1, &n);
	assert_int_equal(load_file(vm, img, n, rd, sizeof(rd), &e), 0);
	assert_string_equal(e.format, "multiboot");
	free(img);
	tvm_free(vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loader_files),
		cmocka_unit_test(test_loader_dispatch),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
