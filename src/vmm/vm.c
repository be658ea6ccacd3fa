/* VM lifecycle: create, run (with machine resets), stop, destroy. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "ringvm/boot.h"
#include "ringvm/clock.h"
#include "ringvm/device.h"
#include "ringvm/log.h"
#include "ringvm/snapshot.h"
#include "ringvm/vm.h"

bool vm_should_stop(const struct vm *vm)
{
	return atomic_load(&((struct vm *)vm)->state) == VM_STOPPING ||
	       atomic_load(&((struct vm *)vm)->reset_pending);
}

static void kick_all(struct vm *vm)
{
	if (!vm->vcpus)
		return;
	vm_pause_wake_all(vm);  /* parked vCPUs see the stop or reset */
	if (!vm->engine->vcpu_kick)
		return;
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		vm->engine->vcpu_kick(&vm->vcpus[i]);
}

void vm_request_exit(struct vm *vm, int status, const char *fmt, ...)
{
	pthread_mutex_lock(&vm->exit_lock);
	int st = atomic_load(&vm->state);
	if (st != VM_STOPPING && st != VM_STOPPED) {
		atomic_store(&vm->exit_status, status);
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(vm->exit_reason, sizeof(vm->exit_reason), fmt, ap);
		va_end(ap);
		atomic_store(&vm->state, VM_STOPPING);
	}
	pthread_mutex_unlock(&vm->exit_lock);
	kick_all(vm);
	evloop_stop(&vm->loop);
}

int vm_errno_status(int err)
{
	switch (err) {
	case EMFILE: case ENFILE: case ENOMEM: case EIO: case EAGAIN:
	case ENOSPC: case EDQUOT: case ENOBUFS: case EINTR:
		return RINGVM_EXIT_HOST_ERROR;
	default:
		return RINGVM_EXIT_USAGE;
	}
}

void vm_request_reset(struct vm *vm, const char *why)
{
	if (vm->cfg.on_reset == ON_RESET_EXIT) {
		vm_request_exit(vm, RINGVM_EXIT_OK, "guest reset the machine (%s); exiting as --on-reset exit asks", why);
		return;
	}
	vm_log(vm, VM_LOG_RESET, LOG_INFO, "machine reset requested: %s", why);
	atomic_store(&vm->reset_pending, true);
	kick_all(vm);
	evloop_stop(&vm->loop);
}

void vm_request_poweroff(struct vm *vm)
{
	vm_request_exit(vm, RINGVM_EXIT_OK, "guest powered off");
}

/* Budgets for the messages a guest controls (docs/robustness.md): a guest
 * that resets or pokes a device in a loop gets a few lines, then a count. */
static void vm_log_limits_init(struct vm *vm)
{
	log_ratelimit_init(&vm->log_limits[VM_LOG_RESET], "machine reset", 10, 5000);
	log_ratelimit_init(&vm->log_limits[VM_LOG_DEVICE], "device", 10, 5000);
	/* A test-only device whose guests sync in loops: generous. */
	log_ratelimit_init(&vm->log_limits[VM_LOG_TESTDEV], "testdev", 1000, 1000);
}

/* /proc/self/pagemap for full snapshots (src/vmm/snapshot_mem.c), opened
 * now, before any filter: from the jail's descriptor (it hides /proc), else
 * from /proc.  Without it a snapshot reads every page. */
static void vm_pagemap_open(struct vm *vm, const struct vm_config *cfg)
{
	if (cfg->pagemap_fd >= 0)
		vm->pagemap_fd = fcntl(cfg->pagemap_fd, F_DUPFD_CLOEXEC, 3);
	else if (cfg->snapshots)
		vm->pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (vm->pagemap_fd < 0 && (cfg->snapshots || cfg->pagemap_fd >= 0))
		pr_debug("snapshot: no /proc/self/pagemap (%s): a snapshot will read all of RAM",
			 strerror(errno));
}

int vm_create(struct vm *vm, const struct vm_config *cfg)
{
	char why[512];
	int r;

	memset(vm, 0, sizeof(*vm));
	vm->cfg = *cfg;
	pthread_mutex_init(&vm->exit_lock, NULL);
	pthread_mutex_init(&vm->pause_lock, NULL);
	pthread_cond_init(&vm->pause_cond, NULL);
	vm_log_limits_init(vm);
	atomic_store(&vm->state, VM_CREATED);
	vm->mem.fd = -1;
	vm->pagemap_fd = -1;
	if (bus_init(&vm->pio, BUS_PIO) || bus_init(&vm->mmio, BUS_MMIO) ||
	    evloop_init(&vm->loop)) {
		pr_err("cannot set up buses or the event loop");
		return RINGVM_EXIT_HOST_ERROR;
	}

	if (cfg->cpus < 1 || cfg->cpus > MAX_VCPUS) {
		pr_err("--cpus %u: must be between 1 and %u", cfg->cpus, MAX_VCPUS);
		return RINGVM_EXIT_USAGE;
	}
	vm->engine = engine_select(cfg->engine, cfg->verbose, why, sizeof(why));
	if (!vm->engine) {
		pr_err("%s", why);
		return RINGVM_EXIT_USAGE;
	}
	sandbox_init(&vm->sandbox, cfg, vm->engine->name);
	vm_pagemap_open(vm, cfg);
	struct gmem_opts mo = { .ram_size = cfg->memory, .hugepages = cfg->hugepages,
				.memfd = cfg->memory_memfd,
				.private_file = cfg->restore_mem_file };
	if (gmem_init(&vm->mem, &mo) < 0)
		return RINGVM_EXIT_HOST_ERROR;
	vm->nr_vcpus = cfg->cpus;
	vm->vcpus = calloc(vm->nr_vcpus, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return RINGVM_EXIT_HOST_ERROR;
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		vm->vcpus[i].vm = vm;
		vm->vcpus[i].id = i;
	}
	r = vm_irqchip_create(vm);
	if (r == 0)
		r = vm->engine->vm_init(vm);
	if (r < 0) {
		pr_err("engine %s: cannot create the VM: %s", vm->engine->name, strerror(-r));
		vm_irqchip_destroy(vm);
		vm->engine = NULL; /* nothing to tear down */
		return RINGVM_EXIT_HOST_ERROR;
	}
	/* Before anything writes RAM: a diff snapshot without a parent holds
	 * every page written since RAM was all zero. */
	if (cfg->track_dirty_pages && vm_dirty_start(vm) < 0)
		return RINGVM_EXIT_USAGE;
	r = vm_devices_create(vm);
	if (r < 0)
		return vm_errno_status(-r);
	if (cfg->restore_mem_file)
		return 0;  /* a snapshot supplies the state (snapshot_restore.c) */
	r = boot_load(vm, &vm->boot);
	if (r < 0) {
		/* The loaders use ENOMEM for "guest RAM too small" (the user's
		 * --memory); only a host that ran out of descriptors or failed
		 * to read the file is a host failure. */
		return (r == -EMFILE || r == -ENFILE || r == -EIO) ? RINGVM_EXIT_HOST_ERROR
								  : RINGVM_EXIT_USAGE;
	}
	pr_info("loaded %s kernel %s (%llu MiB RAM, %u vCPU%s, engine %s)", vm->boot.format,
		cfg->kernel, (unsigned long long)(cfg->memory / MiB), cfg->cpus,
		cfg->cpus > 1 ? "s" : "", vm->engine->name);
	return 0;
}

/* Signals arrive through a signalfd on the event loop. */
static void on_signal(void *opaque, int fd, uint32_t events)
{
	struct vm *vm = opaque;
	struct signalfd_siginfo si;
	(void)events;
	if (read(fd, &si, sizeof(si)) != sizeof(si))
		return;
	if (si.ssi_signo == SIGHUP)
		vm->sighup_count++;  /* the event loop's thread, as the metrics writer */
	vm_request_exit(vm, 128 + (int)si.ssi_signo, "stopped by signal %s",
			strsignal((int)si.ssi_signo));
}

static int start_vcpus(struct vm *vm)
{
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		atomic_store(&v->stuck, VCPU_STUCK_NO);
		int r = pthread_create(&v->thread, NULL, vcpu_thread, v);
		if (r) {
			vm_request_exit(vm, RINGVM_EXIT_HOST_ERROR, "cannot start vCPU %u thread: %s", i,
					strerror(r));
			for (unsigned j = 0; j < i; j++)
				pthread_join(vm->vcpus[j].thread, NULL);
			return -r;
		}
	}
	return 0;
}

static void join_vcpus(struct vm *vm)
{
	kick_all(vm);
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		pthread_join(vm->vcpus[i].thread, NULL);
}

/* Reset: the engine VM is rebuilt from scratch, devices are reset, the kernel
 * is loaded again.  Guest RAM and back ends persist. */
static int machine_reset(struct vm *vm)
{
	vm->reset_count++;
	snapshot_restore_done(vm);  /* a reset boots the kernel again */
	vm_dirty_before_reset(vm);
	vm->engine->vm_destroy(vm);
	vm_irqchip_reset(vm);
	int r = vm->engine->vm_init(vm);
	if (r == 0)
		r = vm_dirty_after_reset(vm);
	if (r < 0) {
		vm_request_exit(vm, RINGVM_EXIT_HOST_ERROR, "reset: engine %s cannot re-create the VM: %s",
				vm->engine->name, strerror(-r));
		return r;
	}
	vm_devices_reset(vm);
	r = boot_load(vm, &vm->boot);
	if (r < 0) {
		vm_request_exit(vm, RINGVM_EXIT_HOST_ERROR, "reset: cannot reload the kernel");
		return r;
	}
	atomic_store(&vm->nr_stuck, 0);
	atomic_store(&vm->reset_pending, false);
	__atomic_store_n(&vm->loop.stop, false, __ATOMIC_RELEASE);
	return 0;
}

int vm_run(struct vm *vm)
{
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	/* Blocked in every thread (vCPU threads inherit this mask); delivered
	 * to the event loop through a signalfd. */
	pthread_sigmask(SIG_BLOCK, &set, &old);
	int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0 || evloop_add_fd(&vm->loop, sfd, EPOLLIN, on_signal, vm) < 0) {
		pr_err("cannot set up signal handling");
		if (sfd >= 0)
			close(sfd);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		return RINGVM_EXIT_HOST_ERROR;
	}

	vm->start_ns = clock_monotonic_ns();
	bool main_filtered = false;
	for (;;) {
		/* A restored VM may start paused (snapshot_restore). */
		atomic_store(&vm->state, atomic_load(&vm->pause_req) ? VM_PAUSED : VM_RUNNING);
		if (start_vcpus(vm) < 0)
			break;
		/* Everything the main thread needs is open and mapped now; the
		 * vCPU threads install their own filters (docs/sandbox.md). */
		if (!main_filtered) {
			main_filtered = true;
			if (sandbox_enter(&vm->sandbox, SANDBOX_MAIN) < 0)
				vm_request_exit(vm, RINGVM_EXIT_HOST_ERROR,
						"seccomp: cannot filter the main thread");
		}
		evloop_run(&vm->loop, -1);
		join_vcpus(vm);
		if (atomic_load(&vm->state) == VM_STOPPING || !atomic_load(&vm->reset_pending))
			break;
		if (machine_reset(vm) < 0)
			break;
	}
	atomic_store(&vm->state, VM_STOPPED);

	evloop_del_fd(&vm->loop, sfd);
	close(sfd);
	pthread_sigmask(SIG_SETMASK, &old, NULL);

	for (unsigned k = 0; k < VM_LOG_KINDS; k++)
		log_ratelimit_flush(&vm->log_limits[k]);
	int status = atomic_load(&vm->exit_status);
	if (vm->exit_reason[0]) {
		if (status == RINGVM_EXIT_OK || (status & 1))
			pr_info("%s", vm->exit_reason);
		else
			pr_err("%s", vm->exit_reason);
	}
	if (vm->cfg.stats)
		vm_print_stats(vm, stderr);
	return status;
}

void vm_destroy(struct vm *vm)
{
	vm_devices_destroy(vm);
	snapshot_restore_free(vm);  /* after the devices: their config strings point into it */
	if (vm->engine && vm->engine->vm_destroy)
		vm->engine->vm_destroy(vm);
	vm_irqchip_destroy(vm);  /* after the engine: it disconnects its LAPICs */
	free(vm->vcpus);
	vm->vcpus = NULL;
	evloop_destroy(&vm->loop);
	bus_destroy(&vm->pio);
	bus_destroy(&vm->mmio);
	gmem_destroy(&vm->mem);
	if (vm->pagemap_fd >= 0)
		close(vm->pagemap_fd);
	vm->pagemap_fd = -1;
	pthread_mutex_destroy(&vm->exit_lock);
	pthread_mutex_destroy(&vm->pause_lock);
	pthread_cond_destroy(&vm->pause_cond);
	for (unsigned k = 0; k < VM_LOG_KINDS; k++)
		log_ratelimit_destroy(&vm->log_limits[k]);
}
