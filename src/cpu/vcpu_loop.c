/* The shared vCPU loop: one thread per vCPU runs the engine and dispatches
 * every exit to the buses.  Engine-neutral: it sees only struct vcpu_exit. */
#include <inttypes.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "ringvm/clock.h"
#include "ringvm/log.h"
#include "ringvm/snapshot.h"
#include "ringvm/vm.h"

static const char *const exit_names[VCPU_EXIT_COUNT] = {
	[VCPU_EXIT_NONE] = "none",
	[VCPU_EXIT_PIO] = "pio",
	[VCPU_EXIT_MMIO] = "mmio",
	[VCPU_EXIT_HLT] = "hlt",
	[VCPU_EXIT_SHUTDOWN] = "shutdown",
	[VCPU_EXIT_INTERRUPTED] = "interrupted",
	[VCPU_EXIT_INTERNAL] = "internal",
};

const char *vcpu_exit_name(enum vcpu_exit_reason r)
{
	return (unsigned)r < VCPU_EXIT_COUNT && exit_names[r] ? exit_names[r] : "?";
}

/* Stop the VM because of the guest, with the vCPU's registers on stderr. */
static void guest_fault(struct vcpu *v, const char *what)
{
	struct vm *vm = v->vm;
	struct x86_regs r;
	struct x86_sregs s;
	bool have_r = vm->engine->get_regs && vm->engine->get_regs(v, &r) == 0;
	bool have_s = vm->engine->get_sregs && vm->engine->get_sregs(v, &s) == 0;

	/* Only the first fault is reported: later ones are consequences. */
	if (vm_should_stop(vm))
		return;
	pr_err("vCPU %u: %s", v->id, what);
	if (have_r || have_s) {
		fprintf(stderr, "ringvm: guest registers of vCPU %u:\n", v->id);
		x86_state_dump(stderr, have_r ? &r : NULL, have_s ? &s : NULL);
	}
	vm_request_exit(vm, RINGVM_EXIT_GUEST_FAULT, "vCPU %u: %s", v->id, what);
}

static uint64_t guest_rip(struct vcpu *v)
{
	struct x86_regs r;
	if (v->vm->engine->get_regs && v->vm->engine->get_regs(v, &r) == 0)
		return r.rip;
	return ~0ULL;
}

int vcpu_pio(struct vcpu *v, uint16_t port, unsigned size, bool write, uint32_t *val)
{
	uint64_t t0 = clock_monotonic_ns();
	uint64_t x = *val;
	int r = write ? bus_write(&v->vm->pio, port, size, x) : bus_read(&v->vm->pio, port, size, &x);

	if (r < 0) {
		x = ~0ULL; /* unclaimed ports float high */
		/* Guests probe ports freely; that is not an error. */
		if (v->stats.pio_unhandled++ < 8)
			pr_debug("vCPU %u: unhandled port %s 0x%04x size %u", v->id,
				 write ? "write" : "read", port, size);
	}
	if (!write)
		*val = (uint32_t)x;
	v->stats.count[VCPU_EXIT_PIO]++;
	v->stats.pio_writes += write;
	v->stats.ns[VCPU_EXIT_PIO] += clock_monotonic_ns() - t0;
	return r < 0 ? -1 : 0;
}

/* Log an unclaimed MMIO address once; at most VM_MMIO_LOG_SLOTS addresses
 * are remembered, then one last message: a guest cannot flood the log. */
static bool mmio_log_first(struct vm *vm, uint64_t gpa)
{
	uint64_t key = gpa + 1;
	for (unsigned i = 0; i < VM_MMIO_LOG_SLOTS; i++) {
		uint64_t cur = atomic_load(&vm->mmio_logged[i]);
		if (cur == key)
			return false;
		if (cur == 0) {
			if (atomic_compare_exchange_strong(&vm->mmio_logged[i], &cur, key))
				return true;
			if (cur == key)
				return false;
		}
	}
	if (!atomic_exchange(&vm->mmio_log_full, true))
		pr_warn("more than %u unclaimed MMIO addresses: no more are logged",
			VM_MMIO_LOG_SLOTS);
	return false;
}

void vcpu_mmio_unmapped(struct vcpu *v, uint64_t gpa, unsigned size, bool write, int why)
{
	char msg[200];
	if (write)
		v->stats.mmio_unclaimed_writes++;
	else
		v->stats.mmio_unclaimed_reads++;
	bool strict = v->vm->cfg.strict_mmio;
	if (!strict && !mmio_log_first(v->vm, gpa))
		return;
	snprintf(msg, sizeof(msg),
		 "%u-byte MMIO %s at unclaimed guest-physical address 0x%" PRIx64
		 " (rip 0x%" PRIx64 ")%s",
		 size, write ? "write" : "read", gpa, guest_rip(v),
		 why == -EINVAL ? ": access straddles a device window" : "");
	if (strict)
		guest_fault(v, msg);  /* --strict-mmio: stop, as a debugging aid */
	else
		pr_warn("vCPU %u: %s: %s", v->id, msg,
			write ? "dropped" : "reads all-ones");
}

int vcpu_mmio(struct vcpu *v, uint64_t gpa, unsigned size, bool write, uint64_t *val)
{
	uint64_t t0 = clock_monotonic_ns();
	int r = write ? bus_write(&v->vm->mmio, gpa, size, *val)
		      : bus_read(&v->vm->mmio, gpa, size, val);
	if (r < 0) {
		/* Nothing answers: the bus floats high, a write goes nowhere. */
		if (!write)
			*val = ~0ULL;
		vcpu_mmio_unmapped(v, gpa, size, write, r);
	}
	v->stats.count[VCPU_EXIT_MMIO]++;
	v->stats.mmio_writes += write;
	v->stats.ns[VCPU_EXIT_MMIO] += clock_monotonic_ns() - t0;
	return r < 0 ? -1 : 0;
}

static void handle_pio(struct vcpu *v, struct vcpu_exit *e)
{
	unsigned size = e->pio.size;

	if (size != 1 && size != 2 && size != 4) {
		guest_fault(v, "port I/O with an invalid size");
		return;
	}
	for (uint32_t i = 0; i < e->pio.count; i++) {
		uint8_t *p = e->pio.data + (size_t)i * size;
		uint32_t val = 0;
		if (e->pio.write)
			memcpy(&val, p, size);
		vcpu_pio(v, e->pio.port, size, e->pio.write, &val);
		if (!e->pio.write)
			memcpy(p, &val, size);
	}
}

static void handle_mmio(struct vcpu *v, struct vcpu_exit *e)
{
	unsigned size = e->mmio.size;
	uint64_t val = 0;

	if (size != 1 && size != 2 && size != 4 && size != 8) {
		guest_fault(v, "MMIO access with an invalid size");
		return;
	}
	if (e->mmio.write)
		memcpy(&val, e->mmio.data, size);
	vcpu_mmio(v, e->mmio.gpa, size, e->mmio.write, &val);
	if (!e->mmio.write)
		memcpy(e->mmio.data, &val, size);
}

/* No-progress detection, the same for every engine.  An engine reports a
 * vCPU stuck (VCPU_EXIT_HLT) when only another vCPU could ever wake it: HLT
 * with IF=0 and no NMI/INIT source, or waiting for a startup IPI after INIT.
 * The machine is dead when every vCPU is stuck and every report is current
 * (judged at the vCPU's latest wake-up generation: an event posted to a vCPU
 * after it was judged makes its report stale until it re-reports).  Linux
 * parks secondary CPUs with cli; hlt, and APs wait for SIPI until the BSP
 * starts them, so one stuck vCPU alone means nothing. */
static const char *stuck_what(int why)
{
	return why == VCPU_STUCK_WAIT_SIPI ? "waits for a startup IPI (SIPI)"
					   : "halted with interrupts disabled (cli; hlt)";
}

static bool machine_stuck(struct vm *vm)
{
	if (atomic_load(&vm->nr_stuck) != vm->nr_vcpus)
		return false;
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *o = &vm->vcpus[i];
		if (atomic_load(&o->stuck) == VCPU_STUCK_NO ||
		    atomic_load(&o->stuck_gen) != atomic_load(&o->wake_gen))
			return false;
	}
	return true;
}

static void report_machine_stuck(struct vcpu *v)
{
	struct vm *vm = v->vm;
	char msg[400];
	size_t n;

	if (vm->nr_vcpus == 1) {
		snprintf(msg, sizeof(msg), "%s: the machine cannot continue",
			 stuck_what(atomic_load(&v->stuck)));
		guest_fault(v, msg);
		return;
	}
	n = (size_t)snprintf(msg, sizeof(msg), "no vCPU can make progress:");
	for (unsigned i = 0; i < vm->nr_vcpus && n < sizeof(msg); i++) {
		if (i == 8 && vm->nr_vcpus > 9) {
			snprintf(msg + n, sizeof(msg) - n, " ... (%u vCPUs)", vm->nr_vcpus);
			break;
		}
		n += (size_t)snprintf(msg + n, sizeof(msg) - n, "%s vCPU %u %s", i ? ";" : "", i,
				      stuck_what(atomic_load(&vm->vcpus[i].stuck)));
	}
	guest_fault(v, msg);
}

static void handle_stuck(struct vcpu *v, const struct vcpu_exit *e)
{
	struct vm *vm = v->vm;
	int why = e->hlt.wait_sipi ? VCPU_STUCK_WAIT_SIPI : VCPU_STUCK_HLT;

	/* The generation first: a reader that sees the vCPU stuck sees the
	 * generation of this report. */
	atomic_store(&v->stuck_gen, e->hlt.wake_gen);
	if (atomic_exchange(&v->stuck, why) == VCPU_STUCK_NO)
		atomic_fetch_add(&vm->nr_stuck, 1);
	if (machine_stuck(vm))
		report_machine_stuck(v);
}

static void clear_stuck(struct vcpu *v)
{
	if (atomic_exchange(&v->stuck, VCPU_STUCK_NO) != VCPU_STUCK_NO)
		atomic_fetch_sub(&v->vm->nr_stuck, 1);
}

static void vcpu_loop(struct vcpu *v)
{
	struct vm *vm = v->vm;
	const struct engine_ops *eng = vm->engine;
	struct vcpu_exit e;

	/* Zeroed once: after a PIO/MMIO read the engine reads the data the
	 * previous iteration put in e, so e must survive into the next run. */
	memset(&e, 0, sizeof(e));
	while (!vm_should_stop(vm)) {
		/* Pause (vm_pause.c): a kick brought the vCPU here, between
		 * instructions; it waits for vm_resume or a stop. */
		vcpu_park_if_paused(v);
		if (vm_should_stop(vm))
			break;
		e.error[0] = 0;
		int r = eng->vcpu_run(v, &e);
		if (r < 0) {
			vm_request_exit(vm, RINGVM_EXIT_HOST_ERROR, "vCPU %u: engine %s failed to run: %s",
					v->id, eng->name, strerror(-r));
			return;
		}
		uint64_t t0 = clock_monotonic_ns();
		if (e.reason != VCPU_EXIT_HLT)
			clear_stuck(v);
		switch (e.reason) {
		case VCPU_EXIT_PIO:
			handle_pio(v, &e);
			break;
		case VCPU_EXIT_MMIO:
			handle_mmio(v, &e);
			break;
		case VCPU_EXIT_HLT:
			handle_stuck(v, &e);
			break;
		case VCPU_EXIT_SHUTDOWN: {
			char msg[300];
			if (vm->cfg.triple_fault_resets) {
				vm_log(vm, VM_LOG_RESET, LOG_WARN,
				       "vCPU %u: triple fault: resetting the machine (--on-triple-fault reset)",
					v->id);
				vm_request_reset(vm, "triple fault");
				break;
			}
			snprintf(msg, sizeof(msg), "triple fault (shutdown)%s%s",
				 e.error[0] ? ": " : "", e.error);
			guest_fault(v, msg);
			break;
		}
		case VCPU_EXIT_INTERNAL: {
			char msg[300];
			snprintf(msg, sizeof(msg), "engine %s stopped the guest: %s", eng->name,
				 e.error[0] ? e.error : "internal error");
			guest_fault(v, msg);
			break;
		}
		case VCPU_EXIT_INTERRUPTED:
		case VCPU_EXIT_NONE:
		case VCPU_EXIT_COUNT:
			break;
		}
		if ((unsigned)e.reason < VCPU_EXIT_COUNT && e.reason != VCPU_EXIT_PIO &&
		    e.reason != VCPU_EXIT_MMIO) {
			v->stats.count[e.reason]++;
			v->stats.ns[e.reason] += clock_monotonic_ns() - t0;
		}
		if (e.reason == VCPU_EXIT_SHUTDOWN || e.reason == VCPU_EXIT_INTERNAL)
			return; /* a reset, if configured, restarts every vCPU */
	}
}

void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	struct vm *vm = v->vm;
	const struct engine_ops *eng = vm->engine;
	int r = eng->vcpu_init(v);

	if (r < 0) {
		vm_request_exit(vm, RINGVM_EXIT_HOST_ERROR, "vCPU %u: cannot create it on engine %s: %s",
				v->id, eng->name, strerror(-r));
		return NULL;
	}
	if (snapshot_restoring(vm)) {
		r = snapshot_restore_vcpu(vm, v);
		if (r < 0) {
			vm_request_exit(vm, RINGVM_EXIT_HOST_ERROR,
					"vCPU %u: cannot load its state from the snapshot: %s", v->id,
					strerror(-r));
			eng->vcpu_destroy(v);
			return NULL;
		}
	} else if (v->id == 0) {
		r = eng->set_sregs(v, &vm->boot.sregs);
		if (r == 0)
			r = eng->set_regs(v, &vm->boot.regs);
		if (r < 0) {
			vm_request_exit(vm, RINGVM_EXIT_HOST_ERROR,
					"vCPU 0: cannot load the boot register state: %s", strerror(-r));
			eng->vcpu_destroy(v);
			return NULL;
		}
	}
	/* The vCPU exists and holds its registers: only what running it
	 * needs from here on (docs/sandbox.md). */
	if (sandbox_enter(&vm->sandbox, SANDBOX_VCPU) < 0) {
		vm_request_exit(vm, RINGVM_EXIT_HOST_ERROR, "vCPU %u: seccomp: cannot filter its thread",
				v->id);
		eng->vcpu_destroy(v);
		return NULL;
	}
	vcpu_loop(v);
	clear_stuck(v);
	eng->vcpu_destroy(v);
	return NULL;
}
