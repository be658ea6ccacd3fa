/* Optional: boot_load the real Debian kernels if another script has put
 * them in .cache/guest/ (RINGVM_GUEST_CACHE).  Skipped when absent. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "boot_test_util.h"
#include "ringvm/layout.h"

static const char *cache_file(char *buf, size_t n, const char *name)
{
	const char *dir = getenv("RINGVM_GUEST_CACHE");
	if (!dir)
		return NULL;
	snprintf(buf, n, "%s/%s", dir, name);
	return access(buf, R_OK) == 0 ? buf : NULL;
}

static void test_real_bzimage(void **state)
{
	char k[4096], rd[4096];
	if (!cache_file(k, sizeof(k), "vmlinuz"))
		skip();
	struct vm *vm = tvm_new(256 * MiB);
	struct boot_entry e;
	vm->cfg.kernel = k;
	vm->cfg.initrd = cache_file(rd, sizeof(rd), "initramfs.cpio.gz");
	vm->cfg.cmdline = "console=ttyS0";
	assert_int_equal(boot_load(vm, &e), 0);
	assert_string_equal(e.format, "bzImage");
	assert_true(e.sregs.efer & X86_EFER_LMA);
	assert_int_equal(e.regs.rip & 0xfff, 0x200);
	assert_true(tr16(vm, LAYOUT_ZERO_PAGE + 0x206) >= 0x20c);
	if (vm->cfg.initrd)
		assert_int_not_equal(tr32(vm, LAYOUT_ZERO_PAGE + 0x218), 0);
	tvm_free(vm);
}

static void test_real_pvh(void **state)
{
	char k[4096];
	if (!cache_file(k, sizeof(k), "vmlinux"))
		skip();
	struct vm *vm = tvm_new(256 * MiB);
	struct boot_entry e;
	vm->cfg.kernel = k;
	assert_int_equal(boot_load(vm, &e), 0);
	assert_string_equal(e.format, "pvh");
	assert_int_equal(e.regs.gpr[GPR_RBX], LAYOUT_ZERO_PAGE);
	assert_int_equal(tr32(vm, LAYOUT_ZERO_PAGE), 0x336ec578);
	tvm_free(vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_bzimage),
		cmocka_unit_test(test_real_pvh),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
