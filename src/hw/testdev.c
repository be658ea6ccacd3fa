/* The test device (--testdev): the host half of include/ringvm/testdev_abi.h.
 *
 *   port TESTDEV_PORT, 4 bytes   OUT: GPA of a struct testdev_call (SYNC,
 *                                ASSERT, DONE); IN: machine reset count
 *   MMIO TESTDEV_MMIO_BASE, 4 KiB  offset 0 magic (read-only, 32-bit; bytes
 *                                4..7 read as zero), 0x8..0x47 eight 64-bit
 *                                scratch registers, the rest reads as zero
 *                                and ignores writes
 *
 * The MMIO window behaves like byte-addressable storage: every access of
 * size 1/2/4/8 is split into bytes, so unaligned accesses and accesses that
 * straddle two registers are handled, always the same way (little endian).
 * Other sizes or offsets on the call port read as all-ones and are ignored.
 *
 * The call block is hostile guest input: it is copied out with gmem_read()
 * and its strings are bounded and sanitised before printing. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "ringvm/device.h"
#include "ringvm/log.h"
#include "ringvm/testdev_abi.h"
#include "ringvm/vm.h"

#define TESTDEV_REGS_END (TESTDEV_SCRATCH + 8 * TESTDEV_NR_SCRATCH)

struct testdev {
	struct vm *vm;
	/* Bumped by the reset hook (main thread), read by the port (vCPU). */
	_Atomic uint32_t resets;
	/* Scratch registers; handlers are serialised by the bus window lock,
	 * this lock orders them against the reset hook. */
	pthread_mutex_t lock;
	uint64_t scratch[TESTDEV_NR_SCRATCH];
	/* Last SYNC, for harnesses that embed a vm (tests). */
	_Atomic uint64_t nr_syncs;
	_Atomic uint64_t last_sync_arg;
	bool pio_registered, mmio_registered;
};

/* Copy a fixed-size guest char array into dst (size n + 1): stop at the
 * first NUL, replace anything that is not printable ASCII. */
static void testdev_copy_str(char *dst, const char *src, size_t n)
{
	size_t i;
	for (i = 0; i < n && src[i]; i++) {
		unsigned char c = (unsigned char)src[i];
		dst[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	dst[i] = 0;
}

static void testdev_handle_call(struct testdev *td, uint32_t gpa)
{
	struct vm *vm = td->vm;
	struct testdev_call c;
	if (gmem_read(&vm->mem, gpa, &c, sizeof(c)) < 0) {
		vm_request_exit(vm, RINGVM_EXIT_GUEST_FAULT,
				"testdev: call block at 0x%" PRIx32 "+0x%zx is not guest RAM",
				gpa, sizeof(c));
		return;
	}
	char file[sizeof(c.file) + 1], msg[sizeof(c.msg) + 1];
	testdev_copy_str(file, c.file, sizeof(c.file));
	testdev_copy_str(msg, c.msg, sizeof(c.msg));

	switch (c.cmd) {
	case TESTDEV_SYNC:
		td->last_sync_arg = c.arg[0];
		td->nr_syncs++;
		vm_log(vm, VM_LOG_TESTDEV, LOG_INFO, "testdev: sync %s 0x%" PRIx64, msg, c.arg[0]);
		break;
	case TESTDEV_ASSERT:
		pr_err("guest assertion failed: %s:%" PRIu32 ": %s (0x%" PRIx64 ", 0x%" PRIx64
		       ", 0x%" PRIx64 ", 0x%" PRIx64 ")",
		       file, c.line, msg, c.arg[0], c.arg[1], c.arg[2], c.arg[3]);
		/* The full line is above; the exit reason (printed again when
		 * the VM ends) only says where. */
		vm_request_exit(vm, RINGVM_EXIT_TEST_FAIL, "test guest failed at %s:%" PRIu32,
				file, c.line);
		break;
	case TESTDEV_DONE:
		vm_request_exit(vm, RINGVM_EXIT_OK, "test guest done");
		break;
	default:
		vm_request_exit(vm, RINGVM_EXIT_GUEST_FAULT,
				"testdev: unknown command %" PRIu32 " in call block at 0x%" PRIx32,
				c.cmd, gpa);
		break;
	}
}

static uint64_t testdev_pio_read(void *opaque, uint64_t offset, unsigned size)
{
	struct testdev *td = opaque;
	if (offset != 0 || size != 4) {
		pr_debug("testdev: ignored %u-byte read of port 0x%" PRIx64, size,
			 TESTDEV_PORT + offset);
		return ~0ULL;
	}
	return td->resets;
}

static void testdev_pio_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct testdev *td = opaque;
	if (offset != 0 || size != 4) {
		pr_debug("testdev: ignored %u-byte write to port 0x%" PRIx64, size,
			 TESTDEV_PORT + offset);
		return;
	}
	testdev_handle_call(td, (uint32_t)value);
}

/* One byte of the register file; caller holds td->lock. */
static uint8_t testdev_reg_byte(const struct testdev *td, uint64_t off)
{
	if (off < 4)
		return (uint8_t)(TESTDEV_MAGIC >> (8 * off));
	if (off < TESTDEV_SCRATCH || off >= TESTDEV_REGS_END)
		return 0;
	off -= TESTDEV_SCRATCH;
	return (uint8_t)(td->scratch[off / 8] >> (8 * (off % 8)));
}

static uint64_t testdev_mmio_read(void *opaque, uint64_t offset, unsigned size)
{
	struct testdev *td = opaque;
	uint64_t v = 0;
	if (size > 8 || offset >= TESTDEV_MMIO_SIZE || size > TESTDEV_MMIO_SIZE - offset)
		return ~0ULL;
	pthread_mutex_lock(&td->lock);
	for (unsigned i = 0; i < size; i++)
		v |= (uint64_t)testdev_reg_byte(td, offset + i) << (8 * i);
	pthread_mutex_unlock(&td->lock);
	return v;
}

static void testdev_mmio_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct testdev *td = opaque;
	if (size > 8 || offset >= TESTDEV_MMIO_SIZE || size > TESTDEV_MMIO_SIZE - offset)
		return;
	pthread_mutex_lock(&td->lock);
	for (unsigned i = 0; i < size; i++) {
		uint64_t off = offset + i;
		if (off < TESTDEV_SCRATCH || off >= TESTDEV_REGS_END)
			continue; /* magic is read-only, the rest is reserved */
		off -= TESTDEV_SCRATCH;
		unsigned shift = 8 * (unsigned)(off % 8);
		uint64_t *r = &td->scratch[off / 8];
		*r = (*r & ~(0xffULL << shift)) | (((value >> (8 * i)) & 0xff) << shift);
	}
	pthread_mutex_unlock(&td->lock);
}

static const struct bus_ops testdev_pio_ops = {
	.read = testdev_pio_read,
	.write = testdev_pio_write,
};

static const struct bus_ops testdev_mmio_ops = {
	.read = testdev_mmio_read,
	.write = testdev_mmio_write,
};

/* Every machine reset (not the first boot): count it, clear the scratch. */
static void testdev_reset(void *opaque)
{
	struct testdev *td = opaque;
	td->resets++;
	pthread_mutex_lock(&td->lock);
	memset(td->scratch, 0, sizeof(td->scratch));
	pthread_mutex_unlock(&td->lock);
}

static void testdev_destroy(void *opaque)
{
	struct testdev *td = opaque;
	if (td->mmio_registered)
		bus_unregister(&td->vm->mmio, TESTDEV_MMIO_BASE);
	if (td->pio_registered)
		bus_unregister(&td->vm->pio, TESTDEV_PORT);
	pthread_mutex_destroy(&td->lock);
	free(td);
}

/* Snapshots: the scratch registers. */
static long testdev_save(void *opaque, void *buf, size_t cap)
{
	struct testdev *td = opaque;
	if (cap < sizeof(td->scratch))
		return -ENOSPC;
	pthread_mutex_lock(&td->lock);
	memcpy(buf, td->scratch, sizeof(td->scratch));
	pthread_mutex_unlock(&td->lock);
	return (long)sizeof(td->scratch);
}

static int testdev_load(void *opaque, const void *buf, size_t len)
{
	struct testdev *td = opaque;
	if (len != sizeof(td->scratch))
		return -EINVAL;
	pthread_mutex_lock(&td->lock);
	memcpy(td->scratch, buf, len);
	pthread_mutex_unlock(&td->lock);
	return 0;
}

static const struct vm_device_ops testdev_ops = {
	.save = testdev_save,
	.load = testdev_load,
	.reset = testdev_reset,
	.destroy = testdev_destroy,
};

static int testdev_create(struct vm *vm)
{
	if (!vm->cfg.testdev)
		return 0;
	struct testdev *td = calloc(1, sizeof(*td));
	if (!td)
		return -ENOMEM;
	td->vm = vm;
	pthread_mutex_init(&td->lock, NULL);

	int r = bus_register(&vm->pio, TESTDEV_PORT, 4, &testdev_pio_ops, td, "testdev");
	if (r < 0)
		goto fail;
	td->pio_registered = true;
	r = bus_register(&vm->mmio, TESTDEV_MMIO_BASE, TESTDEV_MMIO_SIZE, &testdev_mmio_ops,
			 td, "testdev-mmio");
	if (r < 0)
		goto fail;
	td->mmio_registered = true;
	r = vm_add_device(vm, "testdev", &testdev_ops, td);
	if (r < 0)
		goto fail;
	return 0;
fail:
	testdev_destroy(td);
	return r;
}

VM_DEVICE(testdev, testdev_create);
