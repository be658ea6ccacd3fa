/* Pause and resume in the shared loop's terms (src/vmm/vm_pause.c): fake
 * vCPU threads that spin until kicked, as an engine's vcpu_run does, and
 * park through vcpu_park_if_paused(); the machine's clock stops while
 * paused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "ringvm/clock.h"
#include "ringvm/vm.h"

#define NR 3

static _Atomic bool kicked[NR];
static _Atomic uint64_t runs[NR];

static void fake_kick(struct vcpu *v)
{
	atomic_store(&kicked[v->id], true);
}

static const struct engine_ops fake_engine = { .name = "fake", .vcpu_kick = fake_kick };

/* The shared loop's shape: park if asked, then "run" until kicked. */
static void *fake_vcpu(void *arg)
{
	struct vcpu *v = arg;
	while (!vm_should_stop(v->vm)) {
		vcpu_park_if_paused(v);
		while (!atomic_exchange(&kicked[v->id], false) && !vm_should_stop(v->vm))
			atomic_fetch_add(&runs[v->id], 1);
	}
	return NULL;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static void test_pause_resume(void **state)
{
	static struct vm vm;
	struct vcpu vcpus[NR];
	char err[128];
	(void)state;
	memset(&vm, 0, sizeof(vm));
	memset(vcpus, 0, sizeof(vcpus));
	pthread_mutex_init(&vm.pause_lock, NULL);
	pthread_cond_init(&vm.pause_cond, NULL);
	pthread_mutex_init(&vm.exit_lock, NULL);
	vm.engine = &fake_engine;
	vm.vcpus = vcpus;
	vm.nr_vcpus = NR;
	atomic_store(&vm.state, VM_CREATED);
	assert_int_equal(vm_pause(&vm, err, sizeof(err)), -1);  /* not running */
	atomic_store(&vm.state, VM_RUNNING);
	for (unsigned i = 0; i < NR; i++) {
		vcpus[i].vm = &vm;
		vcpus[i].id = i;
		assert_int_equal(pthread_create(&vcpus[i].thread, NULL, fake_vcpu, &vcpus[i]), 0);
	}
	sleep_ms(20);
	assert_int_equal(vm_pause(&vm, err, sizeof(err)), 0);
	assert_int_equal(atomic_load(&vm.state), VM_PAUSED);
	assert_int_equal(vm.nr_parked, NR);
	/* Parked: nobody runs, and the machine's clock stands still. */
	uint64_t r0[NR], c0 = vm_clock_ns(&vm), h0 = clock_monotonic_ns();
	for (unsigned i = 0; i < NR; i++)
		r0[i] = atomic_load(&runs[i]);
	sleep_ms(50);
	for (unsigned i = 0; i < NR; i++)
		assert_true(atomic_load(&runs[i]) == r0[i]);
	assert_true(vm_clock_ns(&vm) == c0);
	assert_int_equal(vm_pause(&vm, err, sizeof(err)), 0);  /* again: fine */
	assert_int_equal(vm_resume(&vm, err, sizeof(err)), 0);
	assert_int_equal(atomic_load(&vm.state), VM_RUNNING);
	/* It continues from where it stopped, not from host time. */
	uint64_t c1 = vm_clock_ns(&vm), h1 = clock_monotonic_ns();
	assert_true(c1 >= c0);
	assert_true(c1 - c0 < (h1 - h0) - 40000000ULL);
	sleep_ms(20);
	for (unsigned i = 0; i < NR; i++)
		assert_true(atomic_load(&runs[i]) > r0[i]);
	assert_int_equal(vm_resume(&vm, err, sizeof(err)), 0);  /* running: fine */
	/* A stop releases parked vCPUs. */
	assert_int_equal(vm_pause(&vm, err, sizeof(err)), 0);
	atomic_store(&vm.state, VM_STOPPING);
	vm_pause_wake_all(&vm);
	for (unsigned i = 0; i < NR; i++)
		pthread_join(vcpus[i].thread, NULL);
	assert_int_equal(vm.nr_parked, 0);
	assert_int_equal(vm_resume(&vm, err, sizeof(err)), -1);
	pthread_mutex_destroy(&vm.pause_lock);
	pthread_cond_destroy(&vm.pause_cond);
	pthread_mutex_destroy(&vm.exit_lock);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pause_resume),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
