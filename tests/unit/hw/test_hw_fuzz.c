/* Robustness: random port accesses (any offset, size, value) on every legacy
 * device never crash and never break basic invariants.  Fixed seed, so a
 * failure reproduces. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "hw_test_vm.h"
#include "ringvm/device.h"
#include "src/hw/acpi_pm.h"
#include "src/hw/i8042.h"
#include "src/hw/rtc.h"
#include "src/hw/uart8250.h"

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* xorshift64*: deterministic, test-local. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

static const struct { uint16_t base, len; } windows[] = {
	{ PORT_COM1, 8 },
	{ PORT_I8042_DATA, 1 },
	{ PORT_I8042_CMD, 1 },
	{ PORT_RTC, 2 },
	{ PORT_DEBUG_EXIT_DEFAULT, 4 },
	{ PORT_ACPI_PM_BASE, ACPI_PM_WINDOW },
	{ PORT_ACPI_RESET, 1 },
};

static void test_bus_fuzz(void **state)
{
	(void)state;
	static const unsigned sizes[] = { 1, 2, 4, 8 };
	struct hw_test_vm t;
	hw_test_vm_init(&t, 1 * GiB);
	assert_int_equal(vm_devices_create(&t.vm), 0);
	rng_state = 0x52494e47564d0001ULL;
	unsigned handled = 0;
	for (unsigned i = 0; i < 400000; i++) {
		uint64_t r = rnd();
		unsigned w = (unsigned)(r % ARRAY_SIZE(windows));
		unsigned off = (unsigned)((r >> 8) % (windows[w].len + 2));
		unsigned size = sizes[(r >> 16) & 3];
		uint64_t port = windows[w].base + off;
		uint64_t v = rnd();
		if ((r >> 20) & 1) {
			if (bus_write(&t.vm.pio, port, size, v) == 0)
				handled++;
		} else {
			if (bus_read(&t.vm.pio, port, size, &v) == 0)
				handled++;
		}
		if ((i & 1023) == 0) {
			/* Invariants a driver relies on. */
			uint64_t x;
			assert_int_equal(bus_read(&t.vm.pio, PORT_COM1 + UART_LSR, 1, &x), 0);
			assert_int_not_equal(x, 0xff);
			assert_true(x & UART_LSR_THRE);
			assert_int_equal(bus_read(&t.vm.pio, PORT_COM1 + UART_IIR, 1, &x), 0);
			unsigned id = x & 0x0f;
			assert_true(id == 1 || id == 0 || id == 2 || id == 4 || id == 6 ||
				    id == 0x0c);
			assert_int_equal(bus_read(&t.vm.pio, PORT_I8042_CMD, 1, &x), 0);
			assert_int_not_equal(x, 0xff);
			hw_test_vm_rearm(&t);
		}
		/* Every so often the machine resets, as vm_run would. */
		if ((i % 50000) == 49999)
			vm_devices_reset(&t.vm);
	}
	assert_true(handled > 100000);
	hw_test_vm_fini(&t);
}

/* The state machines directly, with offsets no bus would pass. */
static void test_api_fuzz(void **state)
{
	(void)state;
	rng_state = 0x1234567890abcdefULL;
	struct uart8250 *u = uart8250_new(NULL, 4);
	struct i8042 *k = i8042_new(NULL, NULL);
	struct rtc *r = rtc_new(NULL, NULL);
	struct acpi_pm *pm = acpi_pm_new(NULL, NULL, NULL);
	uint8_t buf[64];
	memset(buf, 0x41, sizeof(buf));
	for (unsigned i = 0; i < 200000; i++) {
		uint64_t x = rnd(), v = rnd();
		unsigned off = (unsigned)(x & 0xff), size = (unsigned)((x >> 8) & 15);
		switch ((x >> 12) % 9) {
		case 0: uart8250_write(u, off, (uint8_t)v); break;
		case 1: uart8250_read(u, off); break;
		case 2: uart8250_enqueue(u, buf, (size_t)(v % sizeof(buf))); break;
		case 3: i8042_write(k, (x >> 16) & 1 ? PORT_I8042_CMD : PORT_I8042_DATA,
				    (uint8_t)v); break;
		case 4: i8042_read(k, (x >> 16) & 1 ? PORT_I8042_CMD : PORT_I8042_DATA); break;
		case 5: rtc_write(r, off, (uint8_t)v); break;
		case 6: rtc_read(r, off); break;
		case 7: acpi_pm_write(pm, off % 16, size, v); break;
		case 8: acpi_pm_read(pm, off % 16, size); acpi_pm_reset_reg_write(pm, (uint8_t)v);
			break;
		}
	}
	assert_true(i8042_reset_requests(k) > 0);
	assert_true(acpi_pm_reset_requests(pm) > 0);
	uart8250_free(u);
	i8042_free(k);
	rtc_free(r);
	acpi_pm_free(pm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bus_fuzz),
		cmocka_unit_test(test_api_fuzz),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
