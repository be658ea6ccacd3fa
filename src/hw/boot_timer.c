/* Firecracker's boot-timer pseudo device (its --boot-timer flag): a guest
 * that has finished booting writes the byte 123 to offset 0 of the page at
 * LAYOUT_BOOT_TIMER (0xd0000000, the first MMIO slot of Firecracker's x86
 * memory map, where the init of Firecracker's test images writes it
 * through /dev/mem), and the VMM logs the time since the VM was created,
 * wall clock and the VMM's CPU time, in Firecracker's words:
 *     Guest-boot-time =   1234 us 1 ms,    567 CPU us 0 CPU ms
 * Other sizes, offsets and values are ignored; reads return 0.  The message
 * is printed for the first signal of each boot only, and at most
 * BOOT_TIMER_BURST times per BOOT_TIMER_WINDOW_NS (a guest that resets and
 * signals in a loop must not flood the log: docs/SECURITY.md's rate-limit
 * rule); the next line printed says how many were left out. */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "ringvm/bus.h"
#include "ringvm/device.h"
#include "ringvm/layout.h"
#include "ringvm/log.h"
#include "ringvm/vm.h"

#define BOOT_TIMER_MAGIC 123
#define BOOT_TIMER_BURST 10
#define BOOT_TIMER_WINDOW_NS 5000000000ULL

struct boot_timer {
	uint64_t start_ns, start_cpu_ns;
	atomic_bool signalled;
	/* the rate limit (vCPU threads only write after the atomic above, one
	 * at a time per boot; resets run with every vCPU stopped) */
	uint64_t window_ns;
	unsigned in_window;
	unsigned long long left_out;
};

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t boot_timer_read(void *opaque, uint64_t offset, unsigned size)
{
	(void)opaque;
	(void)offset;
	(void)size;
	return 0;
}

static void boot_timer_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct boot_timer *t = opaque;
	if (size != 1 || offset != 0 || (value & 0xff) != BOOT_TIMER_MAGIC)
		return;
	if (atomic_exchange(&t->signalled, true))
		return;
	uint64_t now = clock_ns(CLOCK_MONOTONIC);
	if (now - t->window_ns >= BOOT_TIMER_WINDOW_NS) {
		t->window_ns = now;
		t->in_window = 0;
	}
	if (t->in_window >= BOOT_TIMER_BURST) {
		t->left_out++;
		return;
	}
	t->in_window++;
	uint64_t us = (now - t->start_ns) / 1000;
	uint64_t cpu_us = (clock_ns(CLOCK_PROCESS_CPUTIME_ID) - t->start_cpu_ns) / 1000;
	log_requested("Guest-boot-time = %6llu us %llu ms, %6llu CPU us %llu CPU ms",
		      (unsigned long long)us, (unsigned long long)(us / 1000),
		      (unsigned long long)cpu_us, (unsigned long long)(cpu_us / 1000));
	if (t->left_out) {
		log_requested("boot timer: %llu earlier boots' lines left out (rate limit: %u per %llu s)",
			      t->left_out, BOOT_TIMER_BURST, BOOT_TIMER_WINDOW_NS / 1000000000ULL);
		t->left_out = 0;
	}
}

static const struct bus_ops boot_timer_bus_ops = {
	.read = boot_timer_read,
	.write = boot_timer_write,
};

/* A reset starts a new boot: the next signal is reported, timed from the
 * reset. */
static void boot_timer_reset(void *opaque)
{
	struct boot_timer *t = opaque;
	t->start_ns = clock_ns(CLOCK_MONOTONIC);
	t->start_cpu_ns = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
	atomic_store(&t->signalled, false);
}

static void boot_timer_destroy(void *opaque)
{
	free(opaque);
}

/* Snapshots: whether this boot was reported (a restored guest has booted;
 * Firecracker drops the device on restore altogether). */
static long boot_timer_save(void *opaque, void *buf, size_t cap)
{
	struct boot_timer *t = opaque;
	if (cap < 1)
		return -ENOSPC;
	*(uint8_t *)buf = atomic_load(&t->signalled) ? 1 : 0;
	return 1;
}

static int boot_timer_load(void *opaque, const void *buf, size_t len)
{
	struct boot_timer *t = opaque;
	if (len != 1 || *(const uint8_t *)buf > 1)
		return -EINVAL;
	atomic_store(&t->signalled, *(const uint8_t *)buf == 1);
	return 0;
}

static const struct vm_device_ops boot_timer_dev_ops = {
	.reset = boot_timer_reset, .destroy = boot_timer_destroy,
	.save = boot_timer_save, .load = boot_timer_load,
};

static int boot_timer_create(struct vm *vm)
{
	if (!vm->cfg.boot_timer)
		return 0;
	struct boot_timer *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	boot_timer_reset(t);
	int r = bus_register(&vm->mmio, LAYOUT_BOOT_TIMER, LAYOUT_BOOT_TIMER_SIZE, &boot_timer_bus_ops,
			     t, "boot-timer");
	if (r < 0) {
		free(t);
		return r;
	}
	r = vm_add_device(vm, "boot-timer", &boot_timer_dev_ops, t);
	if (r < 0) {
		bus_unregister(&vm->mmio, LAYOUT_BOOT_TIMER);
		free(t);
	}
	return r;
}

VM_DEVICE_ORDERED(boot_timer, boot_timer_create, 20);
