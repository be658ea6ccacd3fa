/* kvm vCPU lifetime and kicking.
 *
 * Kick design: KVM_KICK_SIGNAL is blocked on the vCPU thread at all times
 * except inside KVM_RUN (KVM_SET_SIGNAL_MASK installs the run-time mask).  A
 * kick sent while the thread is outside KVM_RUN stays pending, so the next
 * KVM_RUN returns EINTR at once: no kick is ever lost and no handler races
 * with the loop.  After EINTR the pending signal is consumed with
 * sigtimedwait().  The same signal, sent by a per-vCPU POSIX timer every
 * KVM_HALT_TICK_MS, drives halt-forever detection (kvm_halt.c); a flag set by
 * vcpu_kick() tells the two apart. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvm_priv.h"
#include "ringvm/log.h"
#include "ringvm/vm.h"

#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid
#endif

#define MSR_MTRR_DEF_TYPE            0x2ff
#define MTRR_DEF_TYPE_ENABLE_WB      ((1ULL << 11) | 6)
#define MISC_ENABLE_FAST_STRING      1ULL

static void kick_handler(int sig)
{
	(void)sig; /* only interrupts KVM_RUN */
}

/* Idempotent: the handler is stateless and the same for every VM. */
static int install_handler(void)
{
	struct sigaction sa, old;

	if (sigaction(KVM_KICK_SIGNAL, NULL, &old) == 0 && old.sa_handler == kick_handler)
		return 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kick_handler;   /* no SA_RESTART: KVM_RUN must return */
	sigemptyset(&sa.sa_mask);
	if (sigaction(KVM_KICK_SIGNAL, &sa, NULL) < 0) {
		pr_err("kvm: sigaction for the vCPU kick signal failed: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

/* Block the kick signal on this thread; unblock it only inside KVM_RUN. */
static int setup_signal_mask(struct kvm_vcpu *kv)
{
	sigset_t set, cur;
	int r;

	sigemptyset(&set);
	sigaddset(&set, KVM_KICK_SIGNAL);
	r = pthread_sigmask(SIG_BLOCK, &set, &cur);
	if (r) {
		pr_err("kvm: pthread_sigmask failed: %s", strerror(r));
		return -r;
	}
	sigdelset(&cur, KVM_KICK_SIGNAL);

	union {
		struct kvm_signal_mask m;
		/* the header and the kernel's sigset_t: 64 bits */
		uint8_t raw[sizeof(struct kvm_signal_mask) + 8];
	} km;
	km.m.len = 8;
	memcpy(km.m.sigset, &cur, 8);
	r = kvm_ioctl(kv->fd, KVM_SET_SIGNAL_MASK, &km);
	if (r < 0)
		pr_err("kvm: KVM_SET_SIGNAL_MASK failed: %s", strerror(-r));
	return r < 0 ? r : 0;
}

/* Consume kick signals pending on this thread. */
void kvm_vcpu_eat_kicks(void)
{
	sigset_t set;
	struct timespec zero = { 0, 0 };

	sigemptyset(&set);
	sigaddset(&set, KVM_KICK_SIGNAL);
	while (sigtimedwait(&set, NULL, &zero) >= 0)
		;
}

static int start_tick(struct kvm_vcpu *kv)
{
	struct sigevent ev;

	memset(&ev, 0, sizeof(ev));
	ev.sigev_notify = SIGEV_THREAD_ID;
	ev.sigev_signo = KVM_KICK_SIGNAL;
	ev.sigev_notify_thread_id = gettid();
	if (timer_create(CLOCK_MONOTONIC, &ev, &kv->tick) < 0) {
		pr_err("kvm: timer_create for the halt-detection tick failed: %s",
		       strerror(errno));
		return -errno;
	}
	kv->tick_armed = true;
	struct itimerspec its = {
		.it_interval = { 0, KVM_HALT_TICK_MS * 1000000L },
		.it_value = { 0, KVM_HALT_TICK_MS * 1000000L },
	};
	if (timer_settime(kv->tick, 0, &its, NULL) < 0) {
		pr_err("kvm: timer_settime for the halt-detection tick failed: %s",
		       strerror(errno));
		return -errno;
	}
	return 0;
}

/* A clean start for MSRs KVM leaves at zero (as firmware would set them). */
static void init_msrs(struct kvm_vcpu *kv, unsigned id)
{
	union {
		struct kvm_msrs h;
		uint8_t raw[sizeof(struct kvm_msrs) + 2 * sizeof(struct kvm_msr_entry)];
	} m;

	memset(&m, 0, sizeof(m));
	m.h.nmsrs = 2;
	m.h.entries[0].index = MSR_IA32_MISC_ENABLE;
	m.h.entries[0].data = MISC_ENABLE_FAST_STRING;
	m.h.entries[1].index = MSR_MTRR_DEF_TYPE;
	m.h.entries[1].data = MTRR_DEF_TYPE_ENABLE_WB;
	int r = kvm_ioctl(kv->fd, KVM_SET_MSRS, &m);
	if (r != 2)
		pr_debug("kvm: vCPU %u: initial KVM_SET_MSRS set %d of 2 MSRs", id, r);
}

/* Give back the KVM vCPU's fd, kvm_run mapping and tick timer.  Idempotent. */
static void release_vcpu(struct kvm_vcpu *kv)
{
	if (kv->tick_armed) {
		timer_delete(kv->tick);
		kv->tick_armed = false;
	}
	if (kv->run) {
		munmap(kv->run, (size_t)kv->kvm->run_size);
		kv->run = NULL;
	}
	if (kv->fd >= 0) {
		close(kv->fd);
		kv->fd = -1;
	}
}

/* Called by vm_destroy, when no thread can kick any more. */
void kvm_vcpu_free(struct kvm_vcpu *kv)
{
	release_vcpu(kv);
	pthread_mutex_destroy(&kv->lock);
	free(kv);
}

int kvm_vcpu_init(struct vcpu *v)
{
	struct vm *vm = v->vm;
	struct kvm_vm *kvm = vm->engine_state;
	int r;

	if (!kvm) {
		pr_err("kvm: vcpu_init before vm_init");
		return -EINVAL;
	}
	if (v->id >= MAX_VCPUS) {
		pr_err("kvm: vCPU id %u out of range (max %u)", v->id, MAX_VCPUS - 1);
		return -EINVAL;
	}
	if (kvm->vcpus[v->id]) {
		/* KVM keeps a vCPU until its VM is gone. */
		pr_err("kvm: vCPU %u was already created in this VM (re-create the VM first)", v->id);
		return -EEXIST;
	}
	struct kvm_vcpu *kv = calloc(1, sizeof(*kv));
	if (!kv)
		return -ENOMEM;
	kv->kvm = kvm;
	kv->fd = -1;
	kv->thread = pthread_self();
	kv->ctr = &kvm->counters[v->id];
	atomic_init(&kv->kick_requested, false);
	pthread_mutex_init(&kv->lock, NULL);

	kv->fd = kvm_ioctl(kvm->vm_fd, KVM_CREATE_VCPU, (void *)(uintptr_t)v->id);
	if (kv->fd < 0) {
		r = kv->fd;
		pr_err("kvm: KVM_CREATE_VCPU(%u) failed: %s", v->id, strerror(-r));
		goto fail;
	}
	void *run = mmap(NULL, (size_t)kvm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
			 kv->fd, 0);
	if (run == MAP_FAILED) {
		r = -errno;
		pr_err("kvm: mmap of vCPU %u's kvm_run area failed: %s", v->id, strerror(-r));
		goto fail;
	}
	kv->run = run;
	r = kvm_cpuid_setup(kv, v->id, vm->cfg.cpus);
	if (r < 0)
		goto fail;
	init_msrs(kv, v->id);
	r = install_handler();
	if (r < 0)
		goto fail;
	r = setup_signal_mask(kv);
	if (r < 0)
		goto fail;
	r = start_tick(kv);
	if (r < 0)
		goto fail;
	atomic_store(&kvm->halt[v->id], KVM_HALT_RUNNING);
	kv->alive = true;
	kvm->vcpus[v->id] = kv;
	v->engine_state = kv;
	return 0;
fail:
	kvm_vcpu_free(kv);
	kvm_vcpu_eat_kicks();
	return r;
}

/* The memory of kv stays until vm_destroy, so a racing vcpu_kick from
 * another thread never touches freed memory or signals a finished thread. */
void kvm_vcpu_destroy(struct vcpu *v)
{
	struct kvm_vcpu *kv = v->engine_state;

	if (!kv)
		return;
	pthread_mutex_lock(&kv->lock);
	kv->alive = false;
	pthread_mutex_unlock(&kv->lock);
	v->engine_state = NULL;
	kvm_halt_gone(kv->kvm, v->id);
	release_vcpu(kv);
	kvm_vcpu_eat_kicks();
}

void kvm_vcpu_kick(struct vcpu *v)
{
	struct kvm_vcpu *kv = v->engine_state;

	if (!kv)
		return;
	pthread_mutex_lock(&kv->lock);
	if (kv->alive) {
		atomic_store(&kv->kick_requested, true);
		int r = pthread_kill(kv->thread, KVM_KICK_SIGNAL);
		if (r)
			pr_err("kvm: kicking vCPU %u failed: %s", v->id, strerror(r));
	}
	pthread_mutex_unlock(&kv->lock);
}
