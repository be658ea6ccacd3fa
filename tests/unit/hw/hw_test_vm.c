/* See hw_test_vm.h. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <cmocka.h>

#include "hw_test_vm.h"
#include "ringvm/device.h"

static int hw_test_set_level(void *opaque, unsigned gsi, bool level)
{
	struct hw_test_irq *irq = opaque;
	assert_true(gsi < HW_TEST_NR_GSI);
	if (level && !irq->level[gsi])
		irq->raises[gsi]++;
	if (!level && irq->level[gsi])
		irq->lowers[gsi]++;
	irq->level[gsi] = level;
	return 0;
}

static int hw_test_send_msi(void *opaque, uint64_t addr, uint32_t data)
{
	struct hw_test_irq *irq = opaque;
	irq->nr_msi++;
	irq->msi_addr = addr;
	irq->msi_data = data;
	return 0;
}

void hw_test_irq_router(struct irq_router *r, struct hw_test_irq *irq)
{
	memset(r, 0, sizeof(*r));
	r->set_level = hw_test_set_level;
	r->send_msi = hw_test_send_msi;
	r->opaque = irq;
}

void hw_test_vm_init(struct hw_test_vm *t, uint64_t ram_size)
{
	memset(t, 0, sizeof(*t));
	struct vm *vm = &t->vm;
	vm_config_defaults(&vm->cfg);
	vm->cfg.serial = SERIAL_NONE;
	vm->cfg.memory = ram_size;
	vm->mem.fd = -1;
	vm->mem.ram_size = ram_size;
	assert_int_equal(bus_init(&vm->pio, BUS_PIO), 0);
	assert_int_equal(bus_init(&vm->mmio, BUS_MMIO), 0);
	assert_int_equal(evloop_init(&vm->loop), 0);
	pthread_mutex_init(&vm->exit_lock, NULL);
	hw_test_irq_router(&vm->irq, &t->irq);
	atomic_store(&vm->state, VM_RUNNING);
}

void hw_test_vm_fini(struct hw_test_vm *t)
{
	vm_devices_destroy(&t->vm);
	evloop_destroy(&t->vm.loop);
	bus_destroy(&t->vm.pio);
	bus_destroy(&t->vm.mmio);
	pthread_mutex_destroy(&t->vm.exit_lock);
}

struct hw_test_vm *hw_test_vm_new(uint64_t ram_size)
{
	struct hw_test_vm *t = calloc(1, sizeof(*t));
	assert_non_null(t);
	hw_test_vm_init(t, ram_size);
	return t;
}

int hw_test_vm_teardown(void **state)
{
	hw_test_vm_fini(*state);
	free(*state);
	return 0;
}

void hw_test_vm_rearm(struct hw_test_vm *t)
{
	atomic_store(&t->vm.state, VM_RUNNING);
	atomic_store(&t->vm.exit_status, 0);
	atomic_store(&t->vm.reset_pending, false);
	t->vm.exit_reason[0] = 0;
	__atomic_store_n(&t->vm.loop.stop, false, __ATOMIC_RELEASE);
}

static void hw_test_stop_loop(void *opaque, int fd, uint32_t events)
{
	struct hw_test_vm *t = opaque;
	uint64_t n;
	(void)events;
	if (read(fd, &n, sizeof(n)) < 0)
		return;
	evloop_stop(&t->vm.loop);
}

void hw_test_run_loop(struct hw_test_vm *t, int ms)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	assert_true(fd >= 0);
	struct itimerspec its = { .it_value = { .tv_sec = ms / 1000,
						.tv_nsec = (long)(ms % 1000) * 1000000L } };
	assert_int_equal(timerfd_settime(fd, 0, &its, NULL), 0);
	assert_int_equal(evloop_add_fd(&t->vm.loop, fd, EPOLLIN, hw_test_stop_loop, t), 0);
	__atomic_store_n(&t->vm.loop.stop, false, __ATOMIC_RELEASE);
	assert_int_equal(evloop_run(&t->vm.loop, 100), 0);
	evloop_del_fd(&t->vm.loop, fd);
	close(fd);
	__atomic_store_n(&t->vm.loop.stop, false, __ATOMIC_RELEASE);
}

uint64_t hw_in(struct hw_test_vm *t, uint16_t port, unsigned size)
{
	uint64_t v = ~0ULL;
	assert_int_equal(bus_read(&t->vm.pio, port, size, &v), 0);
	return v;
}

void hw_out(struct hw_test_vm *t, uint16_t port, unsigned size, uint64_t value)
{
	assert_int_equal(bus_write(&t->vm.pio, port, size, value), 0);
}

uint64_t hw_test_metric(struct hw_test_vm *t, const char *dev, const char *group,
			const char *name)
{
	struct vm_metrics m;
	memset(&m, 0, sizeof(m));
	for (unsigned i = 0; i < t->vm.nr_devices; i++)
		if (!strcmp(t->vm.devices[i].name, dev) && t->vm.devices[i].ops->metrics)
			t->vm.devices[i].ops->metrics(t->vm.devices[i].opaque, &m);
	assert_string_equal(m.group, group);
	for (unsigned i = 0; i < m.n; i++)
		if (!strcmp(m.v[i].name, name))
			return m.v[i].value;
	fail_msg("%s metrics: no %s", group, name);
	return 0;
}
