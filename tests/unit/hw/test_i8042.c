/* i8042: the sequences Linux's i8042 driver uses to probe, and the reset line. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "hw_test_vm.h"
#include "ringvm/device.h"
#include "src/hw/i8042.h"

#define STR_OBF 0x01
#define STR_IBF 0x02
#define STR_SYS 0x04
#define STR_AUXDATA 0x20
#define CTR_KBDINT 0x01
#define CTR_AUXINT 0x02
#define CTR_KBDDIS 0x10
#define CTR_AUXDIS 0x20

static int setup(void **state)
{
	struct hw_test_vm *t = hw_test_vm_new(256 * MiB);
	t->vm.cfg.debug_exit = false;
	assert_int_equal(vm_devices_create(&t->vm), 0);
	*state = t;
	return 0;
}

static uint8_t status(struct hw_test_vm *t)
{
	return (uint8_t)hw_in(t, PORT_I8042_CMD, 1);
}

/* Like Linux's i8042_command(): wait for IBF clear, write the command (and
 * parameter), then collect nresult bytes waiting for OBF each time. */
static void command(struct hw_test_vm *t, uint8_t cmd, int param, uint8_t *res, unsigned nres)
{
	assert_false(status(t) & STR_IBF);
	hw_out(t, PORT_I8042_CMD, 1, cmd);
	if (param >= 0) {
		assert_false(status(t) & STR_IBF);
		hw_out(t, PORT_I8042_DATA, 1, (uint8_t)param);
	}
	for (unsigned i = 0; i < nres; i++) {
		assert_true(status(t) & STR_OBF);
		res[i] = (uint8_t)hw_in(t, PORT_I8042_DATA, 1);
	}
}

static void test_probe(void **state)
{
	struct hw_test_vm *t = *state;
	uint8_t r[2];
	/* i8042_flush(): a present controller never reads 0xff. */
	assert_int_not_equal(status(t), 0xff);
	assert_false(status(t) & STR_OBF);
	command(t, 0xaa, -1, r, 1);
	assert_int_equal(r[0], 0x55);
	assert_true(status(t) & STR_SYS);
	command(t, 0xab, -1, r, 1);
	assert_int_equal(r[0], 0x00);
	command(t, 0xa9, -1, r, 1);
	assert_int_equal(r[0], 0x00);
	assert_false(status(t) & STR_OBF);
}

static void test_command_byte(void **state)
{
	struct hw_test_vm *t = *state;
	uint8_t ctr[2];
	command(t, 0x20, -1, &ctr[0], 1);
	command(t, 0x20, -1, &ctr[1], 1);
	assert_int_equal(ctr[0], ctr[1]);
	command(t, 0x60, 0x47, NULL, 0);
	command(t, 0x20, -1, ctr, 1);
	assert_int_equal(ctr[0], 0x47);
	command(t, 0xad, -1, NULL, 0);
	command(t, 0xa7, -1, NULL, 0);
	command(t, 0x20, -1, ctr, 1);
	assert_int_equal(ctr[0] & (CTR_KBDDIS | CTR_AUXDIS), CTR_KBDDIS | CTR_AUXDIS);
	command(t, 0xae, -1, NULL, 0);
	command(t, 0xa8, -1, NULL, 0);
	command(t, 0x20, -1, ctr, 1);
	assert_int_equal(ctr[0] & (CTR_KBDDIS | CTR_AUXDIS), 0);
	/* Controller RAM beyond the command byte. */
	command(t, 0x65, 0x99, NULL, 0);
	command(t, 0x25, -1, ctr, 1);
	assert_int_equal(ctr[0], 0x99);
}

static void test_irqs_and_aux_loop(void **state)
{
	struct hw_test_vm *t = *state;
	uint8_t r;
	/* Keyboard data raises IRQ 1 only with KBDINT. */
	command(t, 0x60, 0x00, NULL, 0);
	command(t, 0xd2, 0x1c, NULL, 0);
	assert_false(t->irq.level[IRQ_I8042_KBD]);
	assert_int_equal(hw_in(t, PORT_I8042_DATA, 1), 0x1c);
	command(t, 0x60, CTR_KBDINT | CTR_AUXINT, NULL, 0);
	command(t, 0xd2, 0x1c, NULL, 0);
	assert_true(t->irq.level[IRQ_I8042_KBD]);
	assert_false(status(t) & STR_AUXDATA);
	assert_int_equal(hw_in(t, PORT_I8042_DATA, 1), 0x1c);
	assert_false(t->irq.level[IRQ_I8042_KBD]);
	/* AUX loopback (Linux's AUX IRQ test): 0xd3 0xa5 comes back as AUX
	 * data on IRQ 12. */
	command(t, 0xd3, 0xa5, NULL, 0);
	assert_true(t->irq.level[IRQ_I8042_AUX]);
	assert_true(status(t) & STR_AUXDATA);
	assert_int_equal(hw_in(t, PORT_I8042_DATA, 1), 0xa5);
	assert_false(t->irq.level[IRQ_I8042_AUX]);
	/* No mouse: bytes sent to it come back as 0xfe. */
	command(t, 0xd4, 0xff, &r, 1);
	assert_int_equal(r, 0xfe);
	/* Two queued bytes make two edges. */
	unsigned raises = t->irq.raises[IRQ_I8042_KBD];
	command(t, 0xd2, 1, NULL, 0);
	command(t, 0xd2, 2, NULL, 0);
	assert_int_equal(hw_in(t, PORT_I8042_DATA, 1), 1);
	assert_int_equal(hw_in(t, PORT_I8042_DATA, 1), 2);
	assert_int_equal(t->irq.raises[IRQ_I8042_KBD], raises + 2);
	assert_false(status(t) & STR_OBF);
}

static uint8_t kbd_read(struct hw_test_vm *t)
{
	assert_true(status(t) & STR_OBF);
	assert_false(status(t) & STR_AUXDATA);
	return (uint8_t)hw_in(t, PORT_I8042_DATA, 1);
}

/* The keyboard answers what Linux's atkbd asks when it probes. */
static void test_keyboard_probe(void **state)
{
	struct hw_test_vm *t = *state;
	hw_out(t, PORT_I8042_DATA, 1, 0xf2);            /* identify (translated) */
	assert_int_equal(kbd_read(t), 0xfa);
	assert_int_equal(kbd_read(t), 0xab);
	assert_int_equal(kbd_read(t), 0x41);
	hw_out(t, PORT_I8042_DATA, 1, 0xed);            /* LEDs + parameter */
	assert_int_equal(kbd_read(t), 0xfa);
	hw_out(t, PORT_I8042_DATA, 1, 0x07);
	assert_int_equal(kbd_read(t), 0xfa);
	assert_false(status(t) & STR_OBF);
	hw_out(t, PORT_I8042_DATA, 1, 0xff);            /* reset: BAT passed */
	assert_int_equal(kbd_read(t), 0xfa);
	assert_int_equal(kbd_read(t), 0xaa);
	hw_out(t, PORT_I8042_DATA, 1, 0xee);            /* echo */
	assert_int_equal(kbd_read(t), 0xee);
	command(t, 0x60, CTR_KBDINT, NULL, 0);          /* translation off */
	hw_out(t, PORT_I8042_DATA, 1, 0xf0);            /* which scan code set? */
	hw_out(t, PORT_I8042_DATA, 1, 0x00);
	assert_int_equal(kbd_read(t), 0xfa);
	assert_int_equal(kbd_read(t), 0xfa);
	assert_int_equal(kbd_read(t), 0x02);
	hw_out(t, PORT_I8042_DATA, 1, 0xf2);
	assert_int_equal(kbd_read(t), 0xfa);
	assert_int_equal(kbd_read(t), 0xab);
	assert_int_equal(kbd_read(t), 0x83);
	hw_out(t, PORT_I8042_DATA, 1, 0xf4);            /* enable */
	assert_int_equal(kbd_read(t), 0xfa);
}

/* Ctrl+Alt+Del (SendCtrlAltDel): make and break codes in the set the
 * command byte selects, on IRQ 1; refused while the guest cannot take it. */
static void test_ctrl_alt_del(void **state)
{
	struct hw_test_vm *t = *state;
	char err[128];
	static const uint8_t set1[] = { 0x1d, 0x38, 0xe0, 0x53, 0xe0, 0xd3, 0xb8, 0x9d };
	static const uint8_t set2[] = { 0x14, 0x11, 0xe0, 0x71, 0xe0, 0xf0, 0x71, 0xf0, 0x11,
					0xf0, 0x14 };
	assert_int_equal(vm_send_ctrl_alt_del(&t->vm, err, sizeof(err)), 0);  /* XLATE: set 1 */
	assert_true(t->irq.level[IRQ_I8042_KBD]);
	for (unsigned i = 0; i < sizeof(set1); i++)
		assert_int_equal(kbd_read(t), set1[i]);
	assert_false(status(t) & STR_OBF);
	command(t, 0x60, CTR_KBDINT, NULL, 0);          /* translation off: set 2 */
	assert_int_equal(vm_send_ctrl_alt_del(&t->vm, err, sizeof(err)), 0);
	for (unsigned i = 0; i < sizeof(set2); i++)
		assert_int_equal(kbd_read(t), set2[i]);
	/* A guest that does not read: the buffer fills, the keys are refused. */
	assert_int_equal(vm_send_ctrl_alt_del(&t->vm, err, sizeof(err)), 0);
	assert_int_equal(vm_send_ctrl_alt_del(&t->vm, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "buffer full"));
	while (status(t) & STR_OBF)
		hw_in(t, PORT_I8042_DATA, 1);
	command(t, 0x60, CTR_KBDINT | CTR_KBDDIS, NULL, 0);
	assert_int_equal(vm_send_ctrl_alt_del(&t->vm, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "disabled"));
}

/* The device's Firecracker "i8042" group (vm_device_ops.metrics). */
static uint64_t metric(struct hw_test_vm *t, const char *name)
{
	return hw_test_metric(t, "i8042", "i8042", name);
}

/* Each access counted where it happens: reads and writes at either port, a
 * data read with nothing queued, a command not modelled (a modelled one is
 * not), a byte lost to a full buffer, a reset request. */
static void test_metrics(void **state)
{
	struct hw_test_vm *t = *state;
	static const char *const fields[] = { "error_count", "missed_read_count",
		"missed_write_count", "read_count", "reset_count", "write_count" };
	for (unsigned i = 0; i < 6; i++)
		assert_int_equal(metric(t, fields[i]), 0);
	hw_in(t, PORT_I8042_DATA, 1);                      /* empty: missed */
	hw_out(t, PORT_I8042_CMD, 1, 0xaa);                /* self-test: modelled */
	assert_int_equal(hw_in(t, PORT_I8042_DATA, 1), 0x55);
	hw_out(t, PORT_I8042_CMD, 1, 0xa1);                /* not modelled */
	assert_int_equal(metric(t, "read_count"), 2);
	assert_int_equal(metric(t, "missed_read_count"), 1);
	assert_int_equal(metric(t, "write_count"), 2);
	assert_int_equal(metric(t, "missed_write_count"), 1);
	assert_int_equal(metric(t, "error_count"), 0);
	/* 17 bytes "from the keyboard" (0xd2) into a 16-byte buffer */
	for (unsigned i = 0; i < 17; i++)
		command(t, 0xd2, (int)i, NULL, 0);
	hw_out(t, PORT_I8042_CMD, 1, 0xfe);
	assert_int_equal(metric(t, "error_count"), 1);
	assert_int_equal(metric(t, "reset_count"), 1);
	assert_int_equal(metric(t, "missed_write_count"), 1);
	assert_int_equal(metric(t, "write_count"), 2 + 17 * 2 + 1);
	hw_test_vm_rearm(t);
}

static void test_reset_line(void **state)
{
	struct hw_test_vm *t = *state;
	hw_out(t, PORT_I8042_CMD, 1, 0xfe);
	assert_true(atomic_load(&t->vm.reset_pending));
	hw_test_vm_rearm(t);
	/* Output port write with bit 0 clear also resets. */
	command(t, 0xd1, 0x03, NULL, 0);
	assert_false(atomic_load(&t->vm.reset_pending));
	uint8_t op;
	command(t, 0xd0, -1, &op, 1);
	assert_int_equal(op & 0x03, 0x03);
	command(t, 0xd1, 0x02, NULL, 0);
	assert_true(atomic_load(&t->vm.reset_pending));
	hw_test_vm_rearm(t);
	/* Pulses that leave bit 0 alone do not. */
	hw_out(t, PORT_I8042_CMD, 1, 0xff);
	assert_false(atomic_load(&t->vm.reset_pending));
	/* With --on-reset exit the reset ends the VM. */
	t->vm.cfg.on_reset = ON_RESET_EXIT;
	hw_out(t, PORT_I8042_CMD, 1, 0xfe);
	assert_int_equal(atomic_load(&t->vm.state), VM_STOPPING);
	assert_int_equal(atomic_load(&t->vm.exit_status), RINGVM_EXIT_OK);
	assert_non_null(strstr(t->vm.exit_reason, "i8042 reset line"));
}

static void test_standalone_counts(void **state)
{
	(void)state;
	struct i8042 *k = i8042_new(NULL, NULL);
	assert_non_null(k);
	i8042_write(k, PORT_I8042_CMD, 0xfe);
	i8042_write(k, PORT_I8042_CMD, 0xfc);
	assert_int_equal(i8042_reset_requests(k), 2);
	i8042_write(k, PORT_I8042_CMD, 0xaa);
	assert_int_equal(i8042_read(k, PORT_I8042_DATA), 0x55);
	i8042_reset(k);
	assert_int_equal(i8042_read(k, PORT_I8042_CMD) & STR_OBF, 0);
	i8042_free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_probe, setup, hw_test_vm_teardown),
		cmocka_unit_test_setup_teardown(test_command_byte, setup, hw_test_vm_teardown),
		cmocka_unit_test_setup_teardown(test_irqs_and_aux_loop, setup, hw_test_vm_teardown),
		cmocka_unit_test_setup_teardown(test_reset_line, setup, hw_test_vm_teardown),
		cmocka_unit_test_setup_teardown(test_keyboard_probe, setup, hw_test_vm_teardown),
		cmocka_unit_test_setup_teardown(test_ctrl_alt_del, setup, hw_test_vm_teardown),
		cmocka_unit_test(test_standalone_counts),
		cmocka_unit_test_setup_teardown(test_metrics, setup, hw_test_vm_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
