/* The test device (src/hw/testdev.c) driven through the buses of a
 * hand-built vm with real guest memory: call port commands, hostile call
 * blocks, the reset count, the MMIO window at every size. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "ringvm/device.h"
#include "ringvm/testdev_abi.h"
#include "ringvm/vm.h"

extern const struct device_desc *const __start_ringvm_devices[] __attribute__((weak));
extern const struct device_desc *const __stop_ringvm_devices[] __attribute__((weak));

#define RAM (16 * MiB)
#define CALL_GPA 0x10000ULL
#define MMIO TESTDEV_MMIO_BASE

/* Create only the testdev, found by name in the device registry. */
static int create_testdev(struct vm *vm)
{
	for (const struct device_desc *const *d = __start_ringvm_devices;
	     d < __stop_ringvm_devices; d++)
		if (!strcmp((*d)->name, "testdev"))
			return (*d)->create(vm);
	fail_msg("testdev is not registered");
	return -1;
}

static struct vm *new_vm(bool testdev)
{
	struct vm *vm = test_calloc(1, sizeof(*vm));
	vm_config_defaults(&vm->cfg);
	vm->cfg.serial = SERIAL_NONE;
	vm->cfg.memory = RAM;
	vm->cfg.testdev = testdev;
	vm->mem.fd = -1;
	struct gmem_opts mo = { .ram_size = RAM };
	assert_int_equal(gmem_init(&vm->mem, &mo), 0);
	assert_int_equal(bus_init(&vm->pio, BUS_PIO), 0);
	assert_int_equal(bus_init(&vm->mmio, BUS_MMIO), 0);
	assert_int_equal(evloop_init(&vm->loop), 0);
	pthread_mutex_init(&vm->exit_lock, NULL);
	atomic_store(&vm->state, VM_RUNNING);
	assert_int_equal(create_testdev(vm), 0);
	return vm;
}

static int setup(void **state)
{
	*state = new_vm(true);
	return 0;
}

static int teardown(void **state)
{
	struct vm *vm = *state;
	vm_devices_destroy(vm);
	evloop_destroy(&vm->loop);
	bus_destroy(&vm->pio);
	bus_destroy(&vm->mmio);
	gmem_destroy(&vm->mem);
	pthread_mutex_destroy(&vm->exit_lock);
	test_free(vm);
	return 0;
}

/* Capture what ringvm logs to stderr while fn(vm) runs. */
static void capture_stderr(struct vm *vm, void (*fn)(struct vm *), char *buf, size_t len)
{
	FILE *f = tmpfile();
	assert_non_null(f);
	fflush(stderr);
	int saved = dup(2);
	assert_true(saved >= 0);
	assert_true(dup2(fileno(f), 2) >= 0);
	fn(vm);
	fflush(stderr);
	assert_true(dup2(saved, 2) >= 0);
	close(saved);
	rewind(f);
	size_t n = fread(buf, 1, len - 1, f);
	buf[n] = 0;
	fclose(f);
}

static void send_call(struct vm *vm)
{
	assert_int_equal(bus_write(&vm->pio, TESTDEV_PORT, 4, CALL_GPA), 0);
}

static bool stopped(struct vm *vm)
{
	return atomic_load(&vm->state) == VM_STOPPING;
}

static uint64_t pin(struct vm *vm, uint16_t port, unsigned size)
{
	uint64_t v = 0;
	assert_int_equal(bus_read(&vm->pio, port, size, &v), 0);
	return v;
}

static void pout(struct vm *vm, uint16_t port, unsigned size, uint64_t v)
{
	assert_int_equal(bus_write(&vm->pio, port, size, v), 0);
}

static uint64_t mrd(struct vm *vm, uint64_t off, unsigned size)
{
	uint64_t v = 0;
	assert_int_equal(bus_read(&vm->mmio, MMIO + off, size, &v), 0);
	return v;
}

static void mwr(struct vm *vm, uint64_t off, unsigned size, uint64_t v)
{
	assert_int_equal(bus_write(&vm->mmio, MMIO + off, size, v), 0);
}

static void put_call(struct vm *vm, uint64_t gpa, uint32_t cmd, uint32_t line,
		     const char *file, const char *msg)
{
	struct testdev_call c;
	memset(&c, 0, sizeof(c));
	c.cmd = cmd;
	c.line = line;
	c.arg[0] = 0x1234;
	c.arg[1] = 0xabcd;
	memcpy(c.file, file, strnlen(file, sizeof(c.file) - 1));
	memcpy(c.msg, msg, strnlen(msg, sizeof(c.msg) - 1));
	assert_int_equal(gmem_write(&vm->mem, gpa, &c, sizeof(c)), 0);
}

static void test_absent_without_flag(void **state)
{
	(void)state;
	struct vm *vm = new_vm(false);
	uint64_t v;
	assert_int_equal(bus_read(&vm->pio, TESTDEV_PORT, 4, &v), -ENOENT);
	assert_int_equal(bus_read(&vm->mmio, MMIO, 4, &v), -ENOENT);
	assert_int_equal(vm->nr_devices, 0);
	void *s = vm;
	teardown(&s);
}

static void test_sync_keeps_running(void **state)
{
	struct vm *vm = *state;
	put_call(vm, CALL_GPA, TESTDEV_SYNC, 1, "t.c", "progress");
	pout(vm, TESTDEV_PORT, 4, CALL_GPA);
	assert_false(stopped(vm));
}

static void test_done_exits_ok(void **state)
{
	struct vm *vm = *state;
	put_call(vm, CALL_GPA, TESTDEV_DONE, 1, "t.c", "");
	pout(vm, TESTDEV_PORT, 4, CALL_GPA);
	assert_true(stopped(vm));
	assert_int_equal(atomic_load(&vm->exit_status), RINGVM_EXIT_OK);
	assert_string_equal(vm->exit_reason, "test guest done");
}

static void test_assert_exits_test_fail(void **state)
{
	struct vm *vm = *state;
	char log[1024];
	put_call(vm, CALL_GPA, TESTDEV_ASSERT, 42, "tests.c", "a == b");
	capture_stderr(vm, send_call, log, sizeof(log));
	assert_true(stopped(vm));
	assert_int_equal(atomic_load(&vm->exit_status), RINGVM_EXIT_TEST_FAIL);
	assert_non_null(strstr(vm->exit_reason, "tests.c:42"));
	assert_non_null(strstr(log, "guest assertion failed: tests.c:42: a == b "
				    "(0x1234, 0xabcd, 0x0, 0x0)"));
}

/* Unterminated strings, control characters: bounded and sanitised. */
static void test_hostile_strings(void **state)
{
	struct vm *vm = *state;
	struct testdev_call c;
	memset(&c, 'A', sizeof(c));
	c.cmd = TESTDEV_ASSERT;
	c.line = 7;
	c.msg[0] = '\033';
	c.msg[1] = '\n';
	assert_int_equal(gmem_write(&vm->mem, CALL_GPA, &c, sizeof(c)), 0);
	char log[2048];
	capture_stderr(vm, send_call, log, sizeof(log));
	assert_int_equal(atomic_load(&vm->exit_status), RINGVM_EXIT_TEST_FAIL);
	/* One line, printable: the file's 64 'A's, ":7: ", "??" for the
	 * control characters, then msg's remaining 126 'A's, no more. */
	char *nl = strchr(log, '\n');
	assert_non_null(nl);
	assert_null(strchr(nl + 1, '\n'));
	for (const char *r = log; r < nl; r++)
		assert_true(*r >= 0x20 && *r < 0x7f);
	char want[300];
	memset(want, 'A', 64);
	strcpy(want + 64, ":7: ??");
	memset(want + 70, 'A', 126);
	strcpy(want + 196, " (0x4141414141414141");
	assert_non_null(strstr(log, want));
	for (const char *r = vm->exit_reason; *r; r++)
		assert_true(*r >= 0x20 && *r < 0x7f);
	want[64 + 2] = 0; /* the reason: file and line */
	assert_non_null(strstr(vm->exit_reason, want));
}

static void test_bad_gpa_is_guest_fault(void **state)
{
	struct vm *vm = *state;
	pout(vm, TESTDEV_PORT, 4, 0xFD000000u);
	assert_true(stopped(vm));
	assert_int_equal(atomic_load(&vm->exit_status), RINGVM_EXIT_GUEST_FAULT);
	assert_non_null(strstr(vm->exit_reason, "0xfd000000"));
}

static void test_call_straddling_ram_end(void **state)
{
	struct vm *vm = *state;
	pout(vm, TESTDEV_PORT, 4, RAM - sizeof(struct testdev_call) / 2);
	assert_int_equal(atomic_load(&vm->exit_status), RINGVM_EXIT_GUEST_FAULT);
}

static void test_unknown_cmd_is_guest_fault(void **state)
{
	struct vm *vm = *state;
	put_call(vm, CALL_GPA, 99, 1, "t.c", "x");
	pout(vm, TESTDEV_PORT, 4, CALL_GPA);
	assert_int_equal(atomic_load(&vm->exit_status), RINGVM_EXIT_GUEST_FAULT);
	assert_non_null(strstr(vm->exit_reason, "unknown command 99"));
}

static void test_port_wrong_sizes(void **state)
{
	struct vm *vm = *state;
	assert_int_equal(pin(vm, TESTDEV_PORT, 1), 0xff);
	assert_int_equal(pin(vm, TESTDEV_PORT, 2), 0xffff);
	assert_int_equal(pin(vm, TESTDEV_PORT + 1, 1), 0xff);
	put_call(vm, CALL_GPA, TESTDEV_DONE, 1, "t.c", "");
	pout(vm, TESTDEV_PORT, 1, CALL_GPA);
	pout(vm, TESTDEV_PORT, 2, CALL_GPA);
	pout(vm, TESTDEV_PORT + 2, 2, CALL_GPA);
	assert_false(stopped(vm));
}

static void test_reset_count(void **state)
{
	struct vm *vm = *state;
	assert_int_equal(pin(vm, TESTDEV_PORT, 4), 0);
	vm_devices_reset(vm);
	assert_int_equal(pin(vm, TESTDEV_PORT, 4), 1);
	vm_devices_reset(vm);
	assert_int_equal(pin(vm, TESTDEV_PORT, 4), 2);
}

static void test_mmio_magic(void **state)
{
	struct vm *vm = *state;
	assert_int_equal(mrd(vm, 0, 4), TESTDEV_MAGIC);
	assert_int_equal(mrd(vm, 0, 8), TESTDEV_MAGIC);
	assert_int_equal(mrd(vm, 0, 1), 'R');
	assert_int_equal(mrd(vm, 1, 1), 'I');
	assert_int_equal(mrd(vm, 2, 2), 0x474e);
	assert_int_equal(mrd(vm, 1, 4), TESTDEV_MAGIC >> 8);
	mwr(vm, 0, 4, 0);
	mwr(vm, 0, 8, 0);
	assert_int_equal(mrd(vm, 0, 4), TESTDEV_MAGIC);
	assert_int_equal(mrd(vm, 4, 4), 0);
}

static void test_mmio_scratch_sizes(void **state)
{
	struct vm *vm = *state;
	const uint64_t r0 = TESTDEV_SCRATCH;
	for (unsigned i = 0; i < TESTDEV_NR_SCRATCH; i++)
		assert_int_equal(mrd(vm, r0 + 8 * i, 8), 0);
	mwr(vm, r0, 8, 0x0123456789abcdefULL);
	assert_int_equal(mrd(vm, r0, 8), 0x0123456789abcdefULL);
	assert_int_equal(mrd(vm, r0, 4), 0x89abcdef);
	assert_int_equal(mrd(vm, r0 + 4, 4), 0x01234567);
	assert_int_equal(mrd(vm, r0 + 6, 2), 0x0123);
	assert_int_equal(mrd(vm, r0 + 7, 1), 0x01);
	mwr(vm, r0 + 1, 1, 0x5a);
	mwr(vm, r0 + 4, 2, 0xbeef);
	assert_int_equal(mrd(vm, r0, 8), 0x0123beef89ab5aefULL);
	mwr(vm, r0 + 8, 4, 0xdeadbeef);
	assert_int_equal(mrd(vm, r0 + 8, 8), 0xdeadbeefULL);

	for (unsigned i = 0; i < TESTDEV_NR_SCRATCH; i++)
		mwr(vm, r0 + 8 * i, 8, 0x1111111111111111ULL * (i + 1));
	for (unsigned i = 0; i < TESTDEV_NR_SCRATCH; i++)
		assert_int_equal(mrd(vm, r0 + 8 * i, 8), 0x1111111111111111ULL * (i + 1));
}

static void test_mmio_unaligned_and_reserved(void **state)
{
	struct vm *vm = *state;
	const uint64_t r0 = TESTDEV_SCRATCH;
	/* Straddles r0 and r1. */
	mwr(vm, r0 + 6, 4, 0xcafef00d);
	assert_int_equal(mrd(vm, r0 + 6, 4), 0xcafef00d);
	assert_int_equal(mrd(vm, r0, 8), 0xf00d000000000000ULL);
	assert_int_equal(mrd(vm, r0 + 8, 8), 0xcafe);
	/* Straddles the last register's end: the bytes past it read zero. */
	const uint64_t last = r0 + 8 * (TESTDEV_NR_SCRATCH - 1);
	mwr(vm, last + 4, 8, 0x1122334455667788ULL);
	assert_int_equal(mrd(vm, last + 4, 8), 0x55667788ULL);
	/* Reserved area, including the window's last bytes. */
	mwr(vm, 0x100, 8, ~0ULL);
	assert_int_equal(mrd(vm, 0x100, 8), 0);
	assert_int_equal(mrd(vm, TESTDEV_MMIO_SIZE - 8, 8), 0);
	assert_int_equal(mrd(vm, TESTDEV_MMIO_SIZE - 1, 1), 0);
	uint64_t v;
	assert_int_equal(bus_read(&vm->mmio, MMIO + TESTDEV_MMIO_SIZE - 4, 8, &v), -EINVAL);
	/* Magic is read-only even when a write straddles into scratch. */
	mwr(vm, 4, 8, 0xffffffffffffffffULL);
	assert_int_equal(mrd(vm, 0, 4), TESTDEV_MAGIC);
	assert_int_equal(mrd(vm, r0, 4), 0xffffffff);
}

static void test_reset_clears_scratch(void **state)
{
	struct vm *vm = *state;
	mwr(vm, TESTDEV_SCRATCH, 8, 42);
	vm_devices_reset(vm);
	assert_int_equal(mrd(vm, TESTDEV_SCRATCH, 8), 0);
	assert_int_equal(mrd(vm, 0, 4), TESTDEV_MAGIC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_absent_without_flag),
		cmocka_unit_test_setup_teardown(test_sync_keeps_running, setup, teardown),
		cmocka_unit_test_setup_teardown(test_done_exits_ok, setup, teardown),
		cmocka_unit_test_setup_teardown(test_assert_exits_test_fail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_strings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_gpa_is_guest_fault, setup, teardown),
		cmocka_unit_test_setup_teardown(test_call_straddling_ram_end, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_cmd_is_guest_fault, setup, teardown),
		cmocka_unit_test_setup_teardown(test_port_wrong_sizes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_count, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mmio_magic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mmio_scratch_sizes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mmio_unaligned_and_reserved, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_clears_scratch, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
