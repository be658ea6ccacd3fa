/* isa-debug-exit: status computation and the request it makes. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "hw_test_vm.h"
#include "ringvm/device.h"
#include "src/hw/debug_exit.h"

static void test_status(void **state)
{
	(void)state;
	assert_int_equal(debug_exit_status(0), 1);
	assert_int_equal(debug_exit_status(1), 3);
	assert_int_equal(debug_exit_status(0x10), 0x21);
	assert_int_equal(debug_exit_status(0x7f), 0xff);
	assert_int_equal(debug_exit_status(0x80), 1);      /* truncated like exit() */
	assert_int_equal(debug_exit_status(0xffffffff), 0xff);
}

static void run_case(uint16_t port, uint8_t size, unsigned access, uint64_t v, int expect)
{
	struct hw_test_vm t;
	hw_test_vm_init(&t, 128 * MiB);
	t.vm.cfg.debug_exit = true;
	t.vm.cfg.debug_exit_port = port;
	t.vm.cfg.debug_exit_size = size;
	assert_int_equal(vm_devices_create(&t.vm), 0);
	uint64_t r = 1;
	assert_int_equal(bus_read(&t.vm.pio, port, access, &r), 0);
	assert_int_equal(r, 0);
	assert_int_equal(atomic_load(&t.vm.state), VM_RUNNING);
	hw_out(&t, port, access, v);
	assert_int_equal(atomic_load(&t.vm.state), VM_STOPPING);
	assert_int_equal(atomic_load(&t.vm.exit_status), expect);
	assert_non_null(strstr(t.vm.exit_reason, "debug-exit port"));
	hw_test_vm_fini(&t);
}

static void test_exit_requests(void **state)
{
	(void)state;
	run_case(PORT_DEBUG_EXIT_DEFAULT, 4, 4, 0, 1);
	run_case(PORT_DEBUG_EXIT_DEFAULT, 4, 4, 0x31, 0x63);
	run_case(PORT_DEBUG_EXIT_DEFAULT, 4, 1, 0x7f, 0xff);
	run_case(PORT_DEBUG_EXIT_DEFAULT, 4, 2, 0x1234, 0x69);
	run_case(0x501, 1, 1, 2, 5);
	run_case(0x501, 2, 2, 3, 7);
}

static void test_absent_and_bad_size(void **state)
{
	(void)state;
	struct hw_test_vm t;
	hw_test_vm_init(&t, 128 * MiB);
	t.vm.cfg.debug_exit = false;
	assert_int_equal(vm_devices_create(&t.vm), 0);
	uint64_t v;
	assert_int_equal(bus_read(&t.vm.pio, PORT_DEBUG_EXIT_DEFAULT, 1, &v), -ENOENT);
	hw_test_vm_fini(&t);

	hw_test_vm_init(&t, 128 * MiB);
	t.vm.cfg.debug_exit = true;
	t.vm.cfg.debug_exit_size = 3;
	assert_int_equal(vm_devices_create(&t.vm), -EINVAL);
	hw_test_vm_fini(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_exit_requests),
		cmocka_unit_test(test_absent_and_bad_size),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
