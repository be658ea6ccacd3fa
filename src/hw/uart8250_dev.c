/* The UART on the machine: COM1's port window (wider accesses are split into
 * byte accesses at consecutive ports, as an 8-bit ISA device sees them), its
 * interrupt line and its char back end (vm->cfg.serial). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "uart8250.h"
#include "ringvm/bus.h"
#include "ringvm/aml.h"
#include "ringvm/device.h"
#include "ringvm/layout.h"
#include "ringvm/vm.h"

static uint64_t uart8250_bus_read(void *opaque, uint64_t offset, unsigned size)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < size && i < 8; i++)
		if (offset + i < UART_NR_REGS)
			v |= (uint64_t)uart8250_read(opaque, (unsigned)(offset + i)) << (8 * i);
	return v;
}

static void uart8250_bus_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	for (unsigned i = 0; i < size && i < 8; i++)
		if (offset + i < UART_NR_REGS)
			uart8250_write(opaque, (unsigned)(offset + i), (uint8_t)(value >> (8 * i)));
}

static const struct bus_ops uart8250_bus_ops = {
	.read = uart8250_bus_read,
	.write = uart8250_bus_write,
};

static void uart8250_dev_reset(void *opaque)
{
	uart8250_reset(opaque);
}

static void uart8250_dev_destroy(void *opaque)
{
	struct uart8250 *u = opaque;
	struct chardev *chr = uart8250_chardev(u);
	uart8250_set_chardev(u, NULL);
	chardev_destroy(chr);
	uart8250_free(u);
}

/* --stats: what the back end took and what it had to drop (no listener, a
 * peer that does not read, an I/O error). */
static void uart8250_dev_print_stats(void *opaque, FILE *out)
{
	struct chardev *chr = uart8250_chardev(opaque);
	if (!chr)
		return;
	fprintf(out, "  serial %-8s out %" PRIu64 " bytes, %" PRIu64 " dropped; in %" PRIu64 " bytes\n",
		chr->ops->kind, atomic_load(&chr->tx_bytes), atomic_load(&chr->tx_dropped),
		atomic_load(&chr->rx_bytes));
}

/* Firecracker's "uart" group (its legacy/serial metrics): bytes the guest
 * wrote that reached the host, bytes dropped on the way, bytes of input
 * taken for the guest.  A UART without a back end (--console virtio) has
 * none. */
static void uart8250_dev_metrics(void *opaque, struct vm_metrics *m)
{
	struct chardev *chr = uart8250_chardev(opaque);
	if (!chr)
		return;
	snprintf(m->group, sizeof(m->group), "uart");
	vm_metric(m, "write_count", atomic_load(&chr->tx_bytes));
	vm_metric(m, "missed_write_count", atomic_load(&chr->tx_dropped));
	vm_metric(m, "read_count", atomic_load(&chr->rx_bytes));
}

static long uart8250_dev_save(void *opaque, void *buf, size_t cap)
{
	return uart8250_save(opaque, buf, cap);
}

static int uart8250_dev_load(void *opaque, const void *buf, size_t len)
{
	/* A restored VM takes host input once it runs (resumed): a byte
	 * arriving while the vCPUs still load their state would raise IRQ 4
	 * into a local APIC about to be overwritten, and the edge would be
	 * lost with the guest's console stuck behind it. */
	uart8250_hold_input(opaque, true);
	return uart8250_load(opaque, buf, len);
}

static void uart8250_dev_resumed(void *opaque)
{
	uart8250_hold_input(opaque, false);
}

static const struct vm_device_ops uart8250_dev_ops = {
	.save = uart8250_dev_save,
	.load = uart8250_dev_load,
	.resumed = uart8250_dev_resumed,
	.reset = uart8250_dev_reset,
	.destroy = uart8250_dev_destroy,
	.print_stats = uart8250_dev_print_stats,
	.metrics = uart8250_dev_metrics,
};

int uart8250_add(struct vm *vm, uint16_t port, unsigned gsi, struct chardev *chr,
		 struct uart8250 **out)
{
	struct uart8250 *u = uart8250_new(&vm->irq, gsi);
	if (!u) {
		chardev_destroy(chr);
		return -ENOMEM;
	}
	struct chardev_frontend fe = uart8250_frontend(u);
	if (chr) {
		chardev_attach(chr, &fe);
	} else {
		chr = chardev_open(vm, &fe);
		if (!chr) {
			int e = errno ? errno : EINVAL;  /* the back end said why */
			uart8250_free(u);
			return -e;
		}
	}
	uart8250_set_chardev(u, chr);
	chardev_set_sandbox(chr, &vm->sandbox);
	int r = bus_register(&vm->pio, port, UART_NR_REGS, &uart8250_bus_ops, u, "uart8250");
	if (r < 0) {
		uart8250_dev_destroy(u);
		return r;
	}
	r = vm_add_device(vm, "uart8250", &uart8250_dev_ops, u);
	if (r < 0) {
		bus_unregister(&vm->pio, port);
		uart8250_dev_destroy(u);
		return r;
	}
	if (out)
		*out = u;
	return 0;
}

/* COM1, always present (with SERIAL_NONE its output goes nowhere; with
 * --console virtio the serial back end belongs to virtio-console and COM1
 * gets none). */
static int uart8250_create(struct vm *vm)
{
	struct chardev *chr = NULL;
	if (vm->cfg.console == VM_CONSOLE_VIRTIO && !(chr = chardev_null_open()))
		return -ENOMEM;
	return uart8250_add(vm, PORT_COM1, IRQ_COM1, chr, NULL);
}

VM_DEVICE(uart8250, uart8250_create);

/* \_SB.COM1 (PNP0501) in the DSDT. */
static void uart8250_aml(struct aml *a, const struct vm *vm)
{
	(void)vm;
	aml_isa_device(a, "COM1", "PNP0501", 0, PORT_COM1, 8, IRQ_COM1);
}

ACPI_DSDT_PART(com1, uart8250_aml);
