/* Pause and resume, the same for every engine: a pause request kicks every
 * vCPU out of its engine; the shared loop parks each one at the top of its
 * next iteration (an instruction boundary: engines return only between
 * instructions, and a pending port or MMIO read is completed when the vCPU
 * runs again), and vm_pause waits until all are parked.
 *
 * Time: the machine's clock (vm_clock_ns) is the host's monotonic clock
 * minus the time spent paused, so timers driven by it (the soft engine's
 * PIT, LAPIC timers, TSC and kvmclock; the ACPI PM timer) stop while paused
 * and resume where they were: no burst of catch-up interrupts, and the
 * guest's monotonic time does not jump.  Its wall-clock time falls behind
 * by the pause (as with QEMU's stop/cont) until the guest re-syncs (NTP);
 * the CMOS RTC keeps host wall-clock time.  See docs/api.md. */
#include <stdio.h>
#include <string.h>

#include "ringvm/clock.h"
#include "ringvm/vm.h"

uint64_t vm_clock_ns(const struct vm *vm)
{
	struct vm *m = (struct vm *)vm;
	uint64_t frozen = atomic_load(&m->clock_frozen_at);
	return (frozen ? frozen : clock_monotonic_ns()) - atomic_load(&m->clock_offset_ns);
}

void vm_clock_thaw(struct vm *vm)
{
	uint64_t frozen = atomic_load(&vm->clock_frozen_at);
	atomic_fetch_add(&vm->clock_offset_ns, clock_monotonic_ns() - frozen);
	atomic_store(&vm->clock_frozen_at, 0);
}

void vm_devices_resumed(struct vm *vm)
{
	for (unsigned i = 0; i < vm->nr_devices; i++)
		if (vm->devices[i].ops && vm->devices[i].ops->resumed)
			vm->devices[i].ops->resumed(vm->devices[i].opaque);
}

void vm_pause_wake_all(struct vm *vm)
{
	pthread_mutex_lock(&vm->pause_lock);
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->pause_lock);
}

void vcpu_park_if_paused(struct vcpu *v)
{
	struct vm *vm = v->vm;
	if (!atomic_load(&vm->pause_req))
		return;
	pthread_mutex_lock(&vm->pause_lock);
	vm->nr_parked++;
	pthread_cond_broadcast(&vm->pause_cond);
	while (atomic_load(&vm->pause_req) && !vm_should_stop(vm))
		pthread_cond_wait(&vm->pause_cond, &vm->pause_lock);
	vm->nr_parked--;
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->pause_lock);
}

static void kick_all(struct vm *vm)
{
	for (unsigned i = 0; vm->engine->vcpu_kick && i < vm->nr_vcpus; i++)
		vm->engine->vcpu_kick(&vm->vcpus[i]);
}

int vm_pause(struct vm *vm, char *err, size_t errlen)
{
	int st = atomic_load(&vm->state);
	if (st == VM_PAUSED)
		return 0;  /* Firecracker: pausing a paused VM succeeds */
	if (st != VM_RUNNING || vm_should_stop(vm)) {
		snprintf(err, errlen, "the VM is not running");
		return -1;
	}
	pthread_mutex_lock(&vm->pause_lock);
	atomic_store(&vm->pause_req, true);
	pthread_mutex_unlock(&vm->pause_lock);
	kick_all(vm);
	pthread_mutex_lock(&vm->pause_lock);
	while (vm->nr_parked < vm->nr_vcpus && !vm_should_stop(vm)) {
		/* A kick can race with a vCPU entering its engine: repeat it
		 * until every vCPU has parked. */
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 10 * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		if (pthread_cond_timedwait(&vm->pause_cond, &vm->pause_lock, &ts)) {
			pthread_mutex_unlock(&vm->pause_lock);
			kick_all(vm);
			pthread_mutex_lock(&vm->pause_lock);
		}
	}
	bool ok = vm->nr_parked == vm->nr_vcpus && !vm_should_stop(vm);
	if (ok) {
		atomic_store(&vm->clock_frozen_at, clock_monotonic_ns());
		atomic_store(&vm->state, VM_PAUSED);
	} else {
		atomic_store(&vm->pause_req, false);
		pthread_cond_broadcast(&vm->pause_cond);
		snprintf(err, errlen, "the VM stopped or reset while pausing");
	}
	pthread_mutex_unlock(&vm->pause_lock);
	return ok ? 0 : -1;
}

int vm_resume(struct vm *vm, char *err, size_t errlen)
{
	int st = atomic_load(&vm->state);
	if (st == VM_RUNNING)
		return 0;  /* Firecracker: resuming a running VM succeeds */
	if (st != VM_PAUSED) {
		snprintf(err, errlen, "the VM is not paused");
		return -1;
	}
	pthread_mutex_lock(&vm->pause_lock);
	/* Every vCPU is parked: nothing reads the clock while it moves. */
	vm_clock_thaw(vm);
	atomic_store(&vm->state, VM_RUNNING);
	atomic_store(&vm->pause_req, false);
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->pause_lock);
	/* Host input held back while paused goes to the guest now. */
	vm_devices_resumed(vm);
	return 0;
}
