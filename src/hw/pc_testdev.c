/* QEMU's x86 ISA test device ("pc-testdev", --pc-testdev), as kvm-unit-tests
 * uses it (lib/x86/apic.c set_irq_line, x86/emulator.c, realmode.c, ioapic.c,
 * lam.c, eventinj.c).  Written from QEMU's hw/misc/pc-testdev.c behaviour:
 *
 *   port 0xe0-0xe3  data register: 32 bits, byte lanes; a write of size n at
 *                   port 0xe0 + k replaces bytes k..k+n-1, a read returns them
 *   port 0xe4-0xe7  "flush page": a write names a guest page QEMU mprotects
 *                   away and back (a KVM shadow-MMU refault).  ringvm has no
 *                   host mapping to flip: the write is accepted and ignored;
 *                   reads return 0
 *   port 0x2000+n   IRQ line n (n < PC_TESTDEV_IRQ_LINES = 24): a write sets
 *                   GSI n to (value != 0), through vm->irq (GSI 0-15 are ISA
 *                   IRQs: the PIC input and its IOAPIC pin; 16-23 IOAPIC
 *                   only; GSI 2 is no line, the router refuses it).  QEMU
 *                   takes ISA IRQs 0-15 only (and aborts beyond); reads
 *                   return 0
 *   MMIO 0xff000000, 64 KiB  RAM ("iomem"): byte addressable, little endian,
 *                   accesses of 1, 2, 4 or 8 bytes at any offset inside it
 *
 * Off by default; it takes port 0xe0, so it cannot be combined with ringvm's
 * own --testdev (options.c refuses).  Every offset and size is checked here
 * even though the bus dispatches only accesses inside a window.  Snapshots:
 * refused (the 64 KiB window does not fit a device section). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pc_testdev.h"
#include "ringvm/bus.h"
#include "ringvm/device.h"
#include "ringvm/irq.h"
#include "ringvm/layout.h"
#include "ringvm/log.h"
#include "ringvm/vm.h"

struct pc_testdev {
	struct vm *vm;
	/* Each field belongs to one bus window, whose lock serialises it. */
	uint32_t data;
	uint8_t iomem[LAYOUT_PC_TESTDEV_IOMEM_SIZE];
	struct irq_line lines[PC_TESTDEV_IRQ_LINES];
	bool pio_registered, irq_registered, mmio_registered;
};

/* ---- port 0xe0-0xe7: data register and flush page --------------------- */

static uint64_t pc_testdev_pio_read(void *opaque, uint64_t offset, unsigned size)
{
	struct pc_testdev *d = opaque;
	uint64_t v = 0;
	if (size > 4 || offset >= PC_TESTDEV_PIO_SIZE || size > PC_TESTDEV_PIO_SIZE - offset)
		return ~0ULL;
	for (unsigned i = 0; i < size; i++) {
		uint64_t off = offset + i;
		if (off < 4)
			v |= (uint64_t)((d->data >> (8 * off)) & 0xff) << (8 * i);
	}
	return v;
}

static void pc_testdev_pio_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct pc_testdev *d = opaque;
	if (size > 4 || offset >= PC_TESTDEV_PIO_SIZE || size > PC_TESTDEV_PIO_SIZE - offset)
		return;
	for (unsigned i = 0; i < size; i++) {
		uint64_t off = offset + i;
		if (off >= 4)
			continue; /* flush page: nothing to flush (see the header) */
		unsigned shift = 8 * (unsigned)off;
		d->data = (d->data & ~(0xffu << shift)) |
			  ((uint32_t)((value >> (8 * i)) & 0xff) << shift);
	}
}

static const struct bus_ops pc_testdev_pio_ops = {
	.read = pc_testdev_pio_read,
	.write = pc_testdev_pio_write,
};

/* ---- port 0x2000-0x2017: IRQ lines ------------------------------------ */

static uint64_t pc_testdev_irq_read(void *opaque, uint64_t offset, unsigned size)
{
	(void)opaque;
	(void)offset;
	(void)size;
	return 0;
}

/* A write of any size sets one line per byte it covers, each from its own
 * byte (QEMU allows only byte writes; a wider one here is the same as that
 * many byte writes at consecutive ports). */
static void pc_testdev_irq_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct pc_testdev *d = opaque;
	if (size > 8 || offset >= PC_TESTDEV_IRQ_LINES || size > PC_TESTDEV_IRQ_LINES - offset)
		return;
	for (unsigned i = 0; i < size; i++)
		irq_line_set(&d->lines[offset + i], ((value >> (8 * i)) & 0xff) != 0);
}

static const struct bus_ops pc_testdev_irq_ops = {
	.read = pc_testdev_irq_read,
	.write = pc_testdev_irq_write,
};

/* ---- MMIO 0xff000000: 64 KiB of RAM ----------------------------------- */

static uint64_t pc_testdev_mmio_read(void *opaque, uint64_t offset, unsigned size)
{
	struct pc_testdev *d = opaque;
	uint64_t v = 0;
	if (size > 8 || offset >= sizeof(d->iomem) || size > sizeof(d->iomem) - offset)
		return ~0ULL;
	for (unsigned i = 0; i < size; i++)
		v |= (uint64_t)d->iomem[offset + i] << (8 * i);
	return v;
}

static void pc_testdev_mmio_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct pc_testdev *d = opaque;
	if (size > 8 || offset >= sizeof(d->iomem) || size > sizeof(d->iomem) - offset)
		return;
	for (unsigned i = 0; i < size; i++)
		d->iomem[offset + i] = (uint8_t)(value >> (8 * i));
}

static const struct bus_ops pc_testdev_mmio_ops = {
	.read = pc_testdev_mmio_read,
	.write = pc_testdev_mmio_write,
};

/* ---- device ------------------------------------------------------------ */

static void pc_testdev_destroy(void *opaque)
{
	struct pc_testdev *d = opaque;
	if (d->pio_registered)
		bus_unregister(&d->vm->pio, PORT_PC_TESTDEV);
	if (d->irq_registered)
		bus_unregister(&d->vm->pio, PORT_PC_TESTDEV_IRQ);
	if (d->mmio_registered)
		bus_unregister(&d->vm->mmio, LAYOUT_PC_TESTDEV_IOMEM);
	free(d);
}

/* No .save: a snapshot of a VM with this device is refused by name. */
static const struct vm_device_ops pc_testdev_dev_ops = {
	.destroy = pc_testdev_destroy,
};

static int pc_testdev_create(struct vm *vm)
{
	if (!vm->cfg.pc_testdev)
		return 0;
	struct pc_testdev *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->vm = vm;
	for (unsigned i = 0; i < PC_TESTDEV_IRQ_LINES; i++)
		irq_line_init(&d->lines[i], &vm->irq, i);

	int r = bus_register(&vm->pio, PORT_PC_TESTDEV, PC_TESTDEV_PIO_SIZE, &pc_testdev_pio_ops,
			     d, "pc-testdev");
	if (r < 0)
		goto fail;
	d->pio_registered = true;
	r = bus_register(&vm->pio, PORT_PC_TESTDEV_IRQ, PC_TESTDEV_IRQ_LINES, &pc_testdev_irq_ops,
			 d, "pc-testdev-irq");
	if (r < 0)
		goto fail;
	d->irq_registered = true;
	r = bus_register(&vm->mmio, LAYOUT_PC_TESTDEV_IOMEM, LAYOUT_PC_TESTDEV_IOMEM_SIZE,
			 &pc_testdev_mmio_ops, d, "pc-testdev-iomem");
	if (r < 0)
		goto fail;
	d->mmio_registered = true;
	r = vm_add_device(vm, "pc-testdev", &pc_testdev_dev_ops, d);
	if (r < 0)
		goto fail;
	return 0;
fail:
	pr_err("--pc-testdev: cannot place the device (%s)", strerror(-r));
	pc_testdev_destroy(d);
	return r;
}

VM_DEVICE(pc_testdev, pc_testdev_create);
