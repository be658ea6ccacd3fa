/* QEMU's pc-testdev (--pc-testdev, src/hw/pc_testdev.c): the data register's
 * byte lanes, the flush-page port, the IRQ line ports driving GSIs, the MMIO
 * RAM window, and the handlers' own bounds checks against hostile offsets
 * and sizes (called directly, past what the bus would dispatch). */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "hw_test_vm.h"
#include "ringvm/bus.h"
#include "ringvm/device.h"
#include "ringvm/layout.h"
#include "src/hw/pc_testdev.h"

static int setup(void **state)
{
	struct hw_test_vm *t = hw_test_vm_new(128 * MiB);
	t->vm.cfg.pc_testdev = true;
	assert_int_equal(vm_devices_create(&t->vm), 0);
	*state = t;
	return 0;
}

static void test_absent_by_default(void **state)
{
	(void)state;
	struct hw_test_vm t;
	hw_test_vm_init(&t, 128 * MiB);
	assert_int_equal(vm_devices_create(&t.vm), 0);
	uint64_t v;
	assert_int_equal(bus_read(&t.vm.pio, PORT_PC_TESTDEV_IRQ, 1, &v), -ENOENT);
	assert_int_equal(bus_read(&t.vm.mmio, LAYOUT_PC_TESTDEV_IOMEM, 4, &v), -ENOENT);
	hw_test_vm_fini(&t);
}

/* realmode.flat: out/in of al, ax and eax at 0xe0 read back what was
 * written; a narrow write replaces only its own bytes. */
static void test_data_register(void **state)
{
	struct hw_test_vm *t = *state;
	assert_int_equal(hw_in(t, PORT_PC_TESTDEV, 4), 0);
	hw_out(t, PORT_PC_TESTDEV, 4, 0x11223344);
	assert_int_equal(hw_in(t, PORT_PC_TESTDEV, 4), 0x11223344);
	hw_out(t, PORT_PC_TESTDEV, 1, 0xaa);
	assert_int_equal(hw_in(t, PORT_PC_TESTDEV, 4), 0x112233aa);
	hw_out(t, PORT_PC_TESTDEV + 2, 2, 0xbbcc);
	assert_int_equal(hw_in(t, PORT_PC_TESTDEV, 4), 0xbbcc33aa);
	assert_int_equal(hw_in(t, PORT_PC_TESTDEV + 1, 2), 0xcc33);
	assert_int_equal(hw_in(t, PORT_PC_TESTDEV + 3, 1), 0xbb);
	/* the flush-page port takes a page address and changes nothing */
	hw_out(t, PORT_PC_TESTDEV + 4, 4, 0xdeadf000);
	assert_int_equal(hw_in(t, PORT_PC_TESTDEV + 4, 4), 0);
	assert_int_equal(hw_in(t, PORT_PC_TESTDEV, 4), 0xbbcc33aa);
}

/* ioapic.flat: a byte write to 0x2000 + n sets GSI n to (value != 0). */
static void test_irq_lines(void **state)
{
	struct hw_test_vm *t = *state;
	hw_out(t, PORT_PC_TESTDEV_IRQ + 0x0e, 1, 1);
	assert_true(t->irq.level[0x0e]);
	assert_int_equal(t->irq.raises[0x0e], 1);
	hw_out(t, PORT_PC_TESTDEV_IRQ + 0x0e, 1, 0x80);   /* any non-zero is high */
	assert_true(t->irq.level[0x0e]);
	hw_out(t, PORT_PC_TESTDEV_IRQ + 0x0e, 1, 0);
	assert_false(t->irq.level[0x0e]);
	assert_int_equal(t->irq.lowers[0x0e], 1);
	hw_out(t, PORT_PC_TESTDEV_IRQ + 23, 1, 1);         /* the last IOAPIC pin */
	assert_true(t->irq.level[23]);
	/* a word write is two byte writes: lines 16 and 17 */
	hw_out(t, PORT_PC_TESTDEV_IRQ + 16, 2, 0x0100);
	assert_false(t->irq.level[16]);
	assert_true(t->irq.level[17]);
	assert_int_equal(hw_in(t, PORT_PC_TESTDEV_IRQ + 0x0e, 1), 0);
	/* past line 23 there is no window */
	uint64_t v;
	assert_int_equal(bus_write(&t->vm.pio, PORT_PC_TESTDEV_IRQ + PC_TESTDEV_IRQ_LINES, 1, 1),
			 -ENOENT);
	assert_int_equal(bus_read(&t->vm.pio, PORT_PC_TESTDEV_IRQ + PC_TESTDEV_IRQ_LINES, 1, &v),
			 -ENOENT);
}

/* emulator.flat and lam.flat: byte-addressable RAM, little endian. */
static void test_iomem(void **state)
{
	struct hw_test_vm *t = *state;
	const uint64_t base = LAYOUT_PC_TESTDEV_IOMEM;
	uint64_t v = 1;
	assert_int_equal(bus_read(&t->vm.mmio, base, 8, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(bus_write(&t->vm.mmio, base + 3, 8, 0x0807060504030201ull), 0);
	assert_int_equal(bus_read(&t->vm.mmio, base + 4, 4, &v), 0);
	assert_int_equal(v, 0x05040302);
	assert_int_equal(bus_read(&t->vm.mmio, base + 10, 1, &v), 0);
	assert_int_equal(v, 0x08);
	assert_int_equal(bus_write(&t->vm.mmio, base + LAYOUT_PC_TESTDEV_IOMEM_SIZE - 2, 2,
				   0xbeef), 0);
	assert_int_equal(bus_read(&t->vm.mmio, base + LAYOUT_PC_TESTDEV_IOMEM_SIZE - 1, 1, &v), 0);
	assert_int_equal(v, 0xbe);
	/* an access running past the window is not the device's */
	assert_int_not_equal(bus_read(&t->vm.mmio, base + LAYOUT_PC_TESTDEV_IOMEM_SIZE - 4, 8, &v),
			     0);
}

/* The handlers check offset and size themselves. */
static void test_handler_bounds(void **state)
{
	struct hw_test_vm *t = *state;
	const struct bus_ops *ops;
	void *opaque;

	assert_int_equal(bus_take(&t->vm.mmio, LAYOUT_PC_TESTDEV_IOMEM,
				  LAYOUT_PC_TESTDEV_IOMEM_SIZE, &ops, &opaque), 0);
	ops->write(opaque, 0, 8, 0x1122334455667788ull);
	ops->write(opaque, LAYOUT_PC_TESTDEV_IOMEM_SIZE - 4, 8, ~0ull);     /* runs past */
	ops->write(opaque, LAYOUT_PC_TESTDEV_IOMEM_SIZE, 1, ~0ull);
	ops->write(opaque, ~0ull, 8, ~0ull);                                /* wraps */
	ops->write(opaque, 0, 16, ~0ull);                                   /* bad size */
	assert_int_equal(ops->read(opaque, LAYOUT_PC_TESTDEV_IOMEM_SIZE - 4, 8), ~0ull);
	assert_int_equal(ops->read(opaque, ~0ull, 2), ~0ull);
	assert_int_equal(ops->read(opaque, LAYOUT_PC_TESTDEV_IOMEM_SIZE - 4, 4), 0);
	assert_int_equal(ops->read(opaque, 0, 8), 0x1122334455667788ull);
	/* give the window back for teardown */
	assert_int_equal(bus_register(&t->vm.mmio, LAYOUT_PC_TESTDEV_IOMEM,
				      LAYOUT_PC_TESTDEV_IOMEM_SIZE, ops, opaque, "pc-testdev-iomem"), 0);

	assert_int_equal(bus_take(&t->vm.pio, PORT_PC_TESTDEV_IRQ, PC_TESTDEV_IRQ_LINES, &ops,
				  &opaque), 0);
	ops->write(opaque, PC_TESTDEV_IRQ_LINES, 1, 1);          /* line 24: none */
	ops->write(opaque, PC_TESTDEV_IRQ_LINES - 1, 2, 0xffff); /* runs past */
	ops->write(opaque, ~0ull - 1, 4, ~0ull);
	for (unsigned i = 0; i < HW_TEST_NR_GSI; i++)
		assert_false(t->irq.level[i]);
	assert_int_equal(bus_register(&t->vm.pio, PORT_PC_TESTDEV_IRQ, PC_TESTDEV_IRQ_LINES, ops,
				      opaque, "pc-testdev-irq"), 0);

	assert_int_equal(bus_take(&t->vm.pio, PORT_PC_TESTDEV, PC_TESTDEV_PIO_SIZE, &ops, &opaque),
			 0);
	ops->write(opaque, 0, 4, 0x55aa55aa);
	ops->write(opaque, 6, 4, ~0ull);            /* runs past */
	ops->write(opaque, 0, 8, ~0ull);            /* bad size */
	ops->write(opaque, ~0ull, 1, ~0ull);
	assert_int_equal(ops->read(opaque, 0, 4), 0x55aa55aa);
	assert_int_equal(ops->read(opaque, 6, 4), ~0ull);
	assert_int_equal(ops->read(opaque, ~0ull - 1, 4), ~0ull);
	assert_int_equal(bus_register(&t->vm.pio, PORT_PC_TESTDEV, PC_TESTDEV_PIO_SIZE, ops, opaque,
				      "pc-testdev"), 0);
}

/* It cannot share port 0xe0 with --testdev, and debug-exit cannot be moved
 * onto its ports. */
static void test_port_clashes(void **state)
{
	(void)state;
	struct hw_test_vm t;
	hw_test_vm_init(&t, 128 * MiB);
	t.vm.cfg.pc_testdev = true;
	t.vm.cfg.testdev = true;
	assert_int_not_equal(vm_devices_create(&t.vm), 0);
	hw_test_vm_fini(&t);

	hw_test_vm_init(&t, 128 * MiB);
	t.vm.cfg.pc_testdev = true;
	t.vm.cfg.debug_exit = true;
	t.vm.cfg.debug_exit_port = PORT_PC_TESTDEV_IRQ + 4;
	t.vm.cfg.debug_exit_size = 1;
	assert_int_equal(vm_devices_create(&t.vm), -EINVAL);
	hw_test_vm_fini(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_absent_by_default),
		cmocka_unit_test_setup_teardown(test_data_register, setup, hw_test_vm_teardown),
		cmocka_unit_test_setup_teardown(test_irq_lines, setup, hw_test_vm_teardown),
		cmocka_unit_test_setup_teardown(test_iomem, setup, hw_test_vm_teardown),
		cmocka_unit_test_setup_teardown(test_handler_bounds, setup, hw_test_vm_teardown),
		cmocka_unit_test(test_port_clashes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
