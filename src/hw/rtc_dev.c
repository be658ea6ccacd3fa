/* The RTC on the machine: its port window (0x70 index, 0x71 data; a wider
 * access is split into byte accesses, as on the ISA bus), IRQ 8, the CMOS
 * memory-size bytes, and its timer back end: an absolute CLOCK_REALTIME
 * timerfd on the main event loop (the state machine's default clock is
 * CLOCK_REALTIME too), armed only while an interrupt can fire. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "rtc.h"
#include "ringvm/bus.h"
#include "ringvm/aml.h"
#include "ringvm/device.h"
#include "ringvm/log.h"
#include "ringvm/layout.h"
#include "ringvm/vm.h"

struct rtc_dev {
	struct rtc *rtc;
	struct evloop *loop;
	int timer_fd;
	/* Firecracker's "rtc" error_count (a running total, atomic: vCPUs and
	 * the main thread arm the timer): failures to arm it. */
	uint64_t errors;
};

static uint64_t rtc_bus_read(void *opaque, uint64_t offset, unsigned size)
{
	struct rtc_dev *d = opaque;
	uint64_t v = 0;
	for (unsigned i = 0; i < size && i < 8; i++)
		if (offset + i < 2)
			v |= (uint64_t)rtc_read(d->rtc, (unsigned)(offset + i)) << (8 * i);
	return v;
}

static void rtc_bus_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct rtc_dev *d = opaque;
	for (unsigned i = 0; i < size && i < 8; i++)
		if (offset + i < 2)
			rtc_write(d->rtc, (unsigned)(offset + i), (uint8_t)(value >> (8 * i)));
}

static const struct bus_ops rtc_bus_ops = { .read = rtc_bus_read, .write = rtc_bus_write };

/* Called with the rtc's lock held, from a vCPU or the main thread. */
static void rtc_timer_arm(void *opaque, int64_t when_ns)
{
	struct rtc_dev *d = opaque;
	struct itimerspec its;
	memset(&its, 0, sizeof(its));
	if (when_ns >= 0) {
		its.it_value.tv_sec = when_ns / 1000000000LL;
		its.it_value.tv_nsec = when_ns % 1000000000LL;
		if (!its.it_value.tv_sec && !its.it_value.tv_nsec)
			its.it_value.tv_nsec = 1;  /* all zero would disarm */
	}
	if (timerfd_settime(d->timer_fd, TFD_TIMER_ABSTIME, &its, NULL) < 0) {
		__atomic_add_fetch(&d->errors, 1, __ATOMIC_RELAXED);
		pr_debug("rtc: timerfd_settime: %s", strerror(errno));
	}
}

static void rtc_timer_fired(void *opaque, int fd, uint32_t events)
{
	struct rtc_dev *d = opaque;
	uint64_t n;
	(void)events;
	if (read(fd, &n, sizeof(n)) < 0)
		return;  /* EAGAIN: re-armed meanwhile */
	rtc_poll(d->rtc);
}

static void rtc_dev_reset(void *opaque)
{
	struct rtc_dev *d = opaque;
	rtc_reset(d->rtc);
}

static void rtc_dev_destroy(void *opaque)
{
	struct rtc_dev *d = opaque;
	if (d->rtc)
		rtc_set_timer(d->rtc, NULL, NULL);
	if (d->timer_fd >= 0) {
		evloop_del_fd(d->loop, d->timer_fd);
		close(d->timer_fd);
	}
	rtc_free(d->rtc);
	free(d);
}

static long rtc_dev_save(void *opaque, void *buf, size_t cap)
{
	struct rtc_dev *d = opaque;
	return rtc_save(d->rtc, buf, cap);
}

static int rtc_dev_load(void *opaque, const void *buf, size_t len)
{
	struct rtc_dev *d = opaque;
	return rtc_load(d->rtc, buf, len);
}

/* Firecracker's "rtc" group (its PL031 metrics, the same fields): the
 * missed accesses are those with no effect (rtc_missed). */
static void rtc_dev_metrics(void *opaque, struct vm_metrics *m)
{
	struct rtc_dev *d = opaque;
	uint64_t reads, writes;
	rtc_missed(d->rtc, &reads, &writes);
	snprintf(m->group, sizeof(m->group), "rtc");
	vm_metric(m, "error_count", __atomic_load_n(&d->errors, __ATOMIC_RELAXED));
	vm_metric(m, "missed_read_count", reads);
	vm_metric(m, "missed_write_count", writes);
}

static const struct vm_device_ops rtc_dev_ops = {
	.metrics = rtc_dev_metrics,
	.save = rtc_dev_save,
	.load = rtc_dev_load,
	.reset = rtc_dev_reset,
	.destroy = rtc_dev_destroy,
};

static int rtc_create(struct vm *vm)
{
	struct rtc_dev *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->loop = &vm->loop;
	d->timer_fd = -1;
	d->rtc = rtc_new(NULL, &vm->irq);
	if (!d->rtc) {
		free(d);
		return -ENOMEM;
	}
	rtc_cmos_set_machine(d->rtc, vm->mem.ram_size, vm->cfg.cpus);

	int e = 0;
	d->timer_fd = timerfd_create(CLOCK_REALTIME, TFD_CLOEXEC | TFD_NONBLOCK);
	if (d->timer_fd < 0)
		e = -errno;
	else
		e = evloop_add_fd(&vm->loop, d->timer_fd, EPOLLIN, rtc_timer_fired, d);
	if (e < 0) {
		pr_err("rtc: cannot create its timer: %s", strerror(-e));
		if (d->timer_fd >= 0)
			close(d->timer_fd);
		d->timer_fd = -1;
		rtc_dev_destroy(d);
		return e;
	}
	rtc_set_timer(d->rtc, rtc_timer_arm, d);

	e = bus_register(&vm->pio, PORT_RTC, 2, &rtc_bus_ops, d, "rtc");
	if (e < 0) {
		rtc_dev_destroy(d);
		return e;
	}
	e = vm_add_device(vm, "rtc", &rtc_dev_ops, d);
	if (e < 0) {
		bus_unregister(&vm->pio, PORT_RTC);
		rtc_dev_destroy(d);
	}
	return e;
}

VM_DEVICE(rtc, rtc_create);

/* \_SB.RTC_ (PNP0B00) in the DSDT. */
static void rtc_aml(struct aml *a, const struct vm *vm)
{
	(void)vm;
	aml_isa_device(a, "RTC", "PNP0B00", 0, PORT_RTC, 2, IRQ_RTC);
}

ACPI_DSDT_PART(rtc, rtc_aml);
