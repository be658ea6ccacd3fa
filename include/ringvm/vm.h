/* struct vm: the whole machine.  All state hangs off it; there is no global
 * machine state anywhere in ringvm, so several VMs can live in one process
 * (the manager) and every module can be unit-tested alone. */
#ifndef RINGVM_VM_H
#define RINGVM_VM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ringvm/bus.h"
#include "ringvm/engine.h"
#include "ringvm/evloop.h"
#include "ringvm/gmem.h"
#include "ringvm/irq.h"
#include "ringvm/layout.h"
#include "ringvm/log.h"
#include "ringvm/sandbox.h"
#include "ringvm/x86_state.h"

/* Exit statuses of the ringvm process (docs/DESIGN.md, "Exit status").
 * Odd values come from the guest's debug-exit device: (v << 1) | 1. */
#define RINGVM_EXIT_OK          0 /* guest powered off (or reset with --on-reset=exit) */
#define RINGVM_EXIT_USAGE       2 /* bad command line or configuration */
#define RINGVM_EXIT_GUEST_FAULT 4 /* the guest killed its VM: triple fault,
				    unmapped MMIO, emulation failure, halt forever */
#define RINGVM_EXIT_HOST_ERROR  6 /* a host-side failure (KVM ioctl, I/O error) */
#define RINGVM_EXIT_TEST_FAIL   8 /* a test guest reported a failed assertion */

enum serial_kind { SERIAL_STDIO, SERIAL_FILE, SERIAL_UNIX, SERIAL_NONE };
enum on_reset { ON_RESET_RESTART, ON_RESET_EXIT };

/* Device descriptions shared by the command line and the config file/API.
 * Strings point into argv or into the parsed config; they outlive the VM. */
#define VM_MAX_DRIVES  8
#define VM_MAX_NETS    4
#define VM_MAX_HOSTFWD 8

struct vm_drive {
	const char *path;        /* raw image file */
	const char *id;          /* Firecracker drive_id / QEMU id (NULL: "driveN") */
	const char *serial;      /* VIRTIO_BLK_T_GET_ID answer (NULL: the id) */
	bool read_only;
	bool is_root_device;     /* Firecracker: adds root=/dev/vdX to the cmdline */
};

enum vm_net_kind { VM_NET_USER, VM_NET_TAP };

struct vm_net {
	enum vm_net_kind kind;
	const char *id;          /* Firecracker iface_id (NULL: "netN") */
	const char *ifname;      /* VM_NET_TAP: host TAP device */
	bool has_mac;
	uint8_t mac[6];          /* guest MAC (default: derived from the id) */
	unsigned nr_hostfwd;
	const char *hostfwd[VM_MAX_HOSTFWD]; /* QEMU syntax: tcp:127.0.0.1:8080-:80 */
};

struct vm_vsock {
	bool enabled;
	uint32_t guest_cid;      /* >= 3 */
	const char *uds_path;    /* Firecracker's host-side convention */
};

enum vm_console { VM_CONSOLE_SERIAL, VM_CONSOLE_VIRTIO };

struct vm_config {
	const char *kernel;      /* path, required */
	const char *initrd;      /* path or NULL */
	const char *cmdline;     /* kernel command line ("" if none) */
	uint64_t memory;         /* bytes */
	unsigned cpus;
	const char *engine;      /* "auto", "kvm" or "soft" */
	enum serial_kind serial;
	const char *serial_path; /* for SERIAL_FILE and SERIAL_UNIX */
	bool stats;              /* print exit counters when the VM ends */
	bool verbose;
	bool hugepages;
	bool memory_memfd;       /* --memory-backend memfd: RAM is a memfd, not anonymous */
	bool boot_timer;         /* Firecracker's boot-timer device (--boot-timer) */
	bool debug_exit;         /* isa-debug-exit device present */
	uint16_t debug_exit_port;
	uint8_t debug_exit_size; /* 1, 2 or 4 */
	bool testdev;            /* test-guest call port and MMIO window */
	bool pc_testdev;         /* QEMU's pc-testdev (--pc-testdev; src/hw/pc_testdev.c) */
	enum on_reset on_reset;
	bool triple_fault_resets;   /* --on-triple-fault reset (default: stop) */
	bool strict_mmio;           /* --strict-mmio: unclaimed MMIO stops the VM */
	bool soft_jit;              /* --soft-tier jit: the soft engine translates hot code */
	uint64_t soft_jit_cache;    /* --soft-jit-cache: bytes per vCPU (0: the default, 16 MiB) */
	bool no_seccomp;            /* --no-seccomp: no system-call filters (docs/sandbox.md) */
	int seccomp_selftest;       /* test hook, RINGVM_SECCOMP_SELFTEST: -1 or a sandbox_kind */
	unsigned cpu_weight;        /* --cpu-weight: cgroup cpu.weight 1..10000, 0 unset (src/cli/cpu_weight.c) */
	bool cpu_weight_strict;     /* --cpu-weight-strict: exit 2 where it cannot be set */

	/* Split-driver devices (virtio over PCI), from --drive, --net, --vsock,
	 * --rng and --console, or from a Firecracker config file / API. */
	unsigned nr_drives;
	struct vm_drive drives[VM_MAX_DRIVES];
	unsigned nr_nets;
	struct vm_net nets[VM_MAX_NETS];
	struct vm_vsock vsock;
	bool rng;                   /* virtio-rng from the host's getrandom */
	enum vm_console console;

	/* Restoring a snapshot (src/vmm/snapshot_restore.c): RAM is this memory
	 * file mapped MAP_PRIVATE, and no kernel is loaded (the snapshot
	 * supplies every register).  NULL for a normal boot. */
	const char *restore_mem_file;
	/* The API may take snapshots: the main thread's filter lets it write
	 * files (docs/sandbox.md, docs/snapshot.md). */
	bool snapshots;
	/* /proc/self/pagemap opened by the jail before it hid /proc (owned by
	 * the caller; vm_create takes a copy); -1: vm_create opens it itself
	 * when the VM may snapshot. */
	int pagemap_fd;
	/* Firecracker's track_dirty_pages (--track-dirty-pages): log the
	 * pages written so that diff snapshots can be taken (src/vmm/vm_dirty.c,
	 * docs/snapshot.md). */
	bool track_dirty_pages;
};

void vm_config_defaults(struct vm_config *c);

/* Per-exit-reason counters, kept per vCPU and summed for --stats. */
struct vcpu_stats {
	uint64_t count[VCPU_EXIT_COUNT];
	uint64_t ns[VCPU_EXIT_COUNT];   /* time spent handling, in the VMM */
	uint64_t pio_unhandled;
	uint64_t mmio_unclaimed_reads, mmio_unclaimed_writes;
	uint64_t pio_writes, mmio_writes;   /* of count[PIO], count[MMIO] (metrics) */
};

struct vcpu {
	struct vm *vm;
	unsigned id;
	pthread_t thread;
	/* Owned by the engine.  Atomic: set and cleared on the vCPU's thread,
	 * read by vcpu_kick from any thread (vm_request_exit's kick_all). */
	void *_Atomic engine_state;
	struct vcpu_stats stats;
	/* No-progress detection (vcpu_loop.c): what this vCPU last reported
	 * through VCPU_EXIT_HLT (enum vcpu_stuck), the wake-up generation that
	 * report was judged at, and the current generation, bumped by the engine
	 * (vcpu_note_wake) whenever an event is posted that could wake it.  A
	 * report is current only while the two generations match. */
	_Atomic int stuck;
	_Atomic uint64_t stuck_gen;
	_Atomic uint64_t wake_gen;
};

/* Why a vCPU cannot run until another one acts (VCPU_EXIT_HLT). */
enum vcpu_stuck {
	VCPU_STUCK_NO,
	VCPU_STUCK_HLT,                 /* HLT with IF=0, no NMI/INIT can reach it */
	VCPU_STUCK_WAIT_SIPI,           /* INIT received, waiting for a startup IPI */
};

/* A created device instance, for reset, teardown and snapshots. */
/* One device's counters in Firecracker's metrics terms (docs/api.md,
 * "Metrics"): a group named as Firecracker names it ("block_<drive id>",
 * "net_<iface id>", "vsock", "entropy") with Firecracker's field names where
 * the meaning is the same, as running totals (the metrics writer turns them
 * into increases).  aggregate: the group Firecracker sums devices of this
 * kind into ("block", "net"), or NULL. */
#define VM_METRICS_MAX 24
struct vm_metrics {
	char group[80];
	const char *aggregate;
	unsigned n;
	struct vm_metric { const char *name; uint64_t value; } v[VM_METRICS_MAX];
};
static inline void vm_metric(struct vm_metrics *m, const char *name, uint64_t value)
{
	if (m->n < VM_METRICS_MAX)
		m->v[m->n++] = (struct vm_metric){ name, value };
}

struct vm_device_ops {
	void (*reset)(void *opaque);
	void (*destroy)(void *opaque);
	void (*print_stats)(void *opaque, FILE *out);  /* --stats; may be NULL */
	/* Press and release Ctrl+Alt+Del on the device's keyboard (i8042);
	 * may be NULL.  0, or -1 with a reason in err. */
	int (*ctrl_alt_del)(void *opaque, char *err, size_t errlen);
	/* Snapshots (docs/snapshot.md): write the device's guest-visible state
	 * into buf (at most cap bytes) and return its length, or -errno; load
	 * it back into a freshly created device (0, or -EINVAL for bytes that
	 * are not a state of this device: the restore is refused).  A device
	 * without save cannot be snapshotted: the snapshot is refused. */
	long (*save)(void *opaque, void *buf, size_t cap);
	/* Before a snapshot of the paused VM (may be NULL): finish the back
	 * end's work in flight, bounded; 0, or -1 with a reason in err (the
	 * snapshot is refused). */
	int (*quiesce)(void *opaque, char *err, size_t errlen);
	/* The VM runs again after a pause (may be NULL): deliver host input
	 * held back while it was paused. */
	void (*resumed)(void *opaque);
	int (*load)(void *opaque, const void *buf, size_t len);
	/* load with the reason for a refusal in err (used instead of load
	 * where set). */
	int (*load_checked)(void *opaque, const void *buf, size_t len, char *err, size_t errlen);
	/* Firecracker-style metrics (may be NULL; m->n left 0: none). */
	void (*metrics)(void *opaque, struct vm_metrics *m);
	/* Replace the medium of the drive named id with the image at path, on
	 * a running VM (Firecracker's PATCH /drives; may be NULL): 1 done, 0
	 * not this device's drive, -1 with the reason in err. */
	int (*change_media)(void *opaque, const char *id, const char *path, char *err,
			    size_t errlen);
};

struct vm_device {
	const char *name;
	const struct vm_device_ops *ops;
	void *opaque;
};

/* Initial register state for the boot vCPU, produced by the loaders. */
struct boot_entry {
	const char *format;             /* "bzImage", "pvh", "multiboot" */
	struct x86_regs regs;
	struct x86_sregs sregs;
};

#define VM_MMIO_LOG_SLOTS 16

/* Kinds of messages a guest can trigger as often as it likes, each with its
 * own rate limit (vm->log_limits, set up by vm_create; docs/robustness.md). */
enum vm_log_kind {
	VM_LOG_RESET,    /* machine resets (triple fault with --on-triple-fault reset, ...) */
	VM_LOG_DEVICE,   /* a device noting what a guest did (unsupported sleep type, ...) */
	VM_LOG_TESTDEV,  /* test-device sync lines (--testdev only) */
	VM_LOG_KINDS
};
#define vm_log(vm, kind, level, ...) \
	log_msg_ratelimited(&(vm)->log_limits[(kind)], (level), __VA_ARGS__)

enum vm_run_state { VM_CREATED, VM_RUNNING, VM_PAUSED, VM_STOPPING, VM_STOPPED };

struct vm {
	struct vm_config cfg;
	struct gmem mem;
	struct bus pio;
	struct bus mmio;
	struct irq_router irq;          /* installed by engine->vm_init or the board */
	/* The board's PIC, PIT and IOAPIC (src/hw/board_irqchip.h), for an
	 * engine without in_kernel_irqchip; NULL otherwise. */
	struct board_irqchip *irqchip;
	struct pci_bus *pci;            /* the host bridge's bus 0 (src/hw/pci) */
	const struct engine_ops *engine;
	void *engine_state;
	struct evloop loop;             /* main-thread event loop (back ends, signals) */
	struct sandbox sandbox;         /* seccomp filters per thread kind */

	unsigned nr_vcpus;
	struct vcpu *vcpus;

	unsigned nr_devices, cap_devices;
	struct vm_device *devices;

	struct boot_entry boot;

	_Atomic int state;              /* enum vm_run_state */
	_Atomic int exit_status;
	_Atomic bool reset_pending;
	_Atomic unsigned nr_stuck;      /* vCPUs whose stuck != VCPU_STUCK_NO */
	unsigned reset_count;           /* machine resets since start */
	uint64_t sighup_count;          /* SIGHUPs taken (metrics: signals.sighup) */
	/* Set by the caller just before vm_destroy when the process exits right
	 * after it: teardown may then leave to the kernel memory that only the
	 * exit frees (heap caches), never data (docs/DESIGN.md "Exit"). */
	bool process_exiting;
	uint64_t start_ns;              /* CLOCK_MONOTONIC at vm_run */
	/* Unclaimed MMIO addresses already logged (gpa + 1, 0 = free slot):
	 * each is logged once, at most VM_MMIO_LOG_SLOTS of them. */
	_Atomic uint64_t mmio_logged[VM_MMIO_LOG_SLOTS];
	_Atomic bool mmio_log_full;
	char exit_reason[512];          /* set once, under exit_lock */
	struct log_ratelimit log_limits[VM_LOG_KINDS];
	pthread_mutex_t exit_lock;
	/* Pause/resume (src/vmm/vm_pause.c): vCPUs park at the top of the
	 * shared loop while pause_req is set; nr_parked counts them. */
	pthread_mutex_t pause_lock;
	pthread_cond_t pause_cond;
	_Atomic bool pause_req;
	unsigned nr_parked;
	/* The machine's clock is host CLOCK_MONOTONIC minus the time spent
	 * paused (vm_clock_ns); frozen_at is the host time it stopped at
	 * while paused or while a restore loads (0 while running).  Both change only while every vCPU
	 * is parked. */
	_Atomic uint64_t clock_offset_ns;
	_Atomic uint64_t clock_frozen_at;
	/* A snapshot being restored (src/vmm/snapshot_restore.c): the vCPU
	 * threads load their state from it instead of the boot registers
	 * (until a machine reset boots the kernel again). */
	struct snapshot_restore *restore;
	/* Diff snapshots: the id of the last snapshot taken or loaded, which a
	 * diff snapshot names as its parent (all zero: none, RAM as booted). */
	uint8_t snap_last_id[16];
	/* /proc/self/pagemap, through which a full snapshot skips RAM never
	 * touched (src/vmm/snapshot_mem.c); -1 where the VM cannot snapshot
	 * or there is no /proc.  Opened by vm_create (or handed over by the
	 * jail: cfg.pagemap_fd), closed by vm_destroy. */
	int pagemap_fd;
};

/* Dirty-page tracking for diff snapshots (src/vmm/vm_dirty.c): start it
 * (gmem's bitmap and the engine's log; 0, or -errno with a message
 * logged: -ENOTSUP where the engine or host cannot); fetch ORs every page
 * written since the start or the last fetch into bits (gmem_dirty_words
 * words) and clears them, with every vCPU parked (0 or -errno); around a
 * machine reset (which rebuilds the engine's VM) save the engine's log
 * into gmem's bitmap and restart it. */
int vm_dirty_start(struct vm *vm);
int vm_dirty_fetch(struct vm *vm, uint64_t *bits);
void vm_dirty_before_reset(struct vm *vm);
int vm_dirty_after_reset(struct vm *vm);

/* Lifecycle (src/vmm/vm.c). */
int vm_create(struct vm *vm, const struct vm_config *cfg);
int vm_run(struct vm *vm);                  /* returns the process exit status */
void vm_destroy(struct vm *vm);

/* Ask the VM to stop with a status; the first request wins.  Thread safe. */
void vm_request_exit(struct vm *vm, int status, const char *fmt, ...)
	PRINTF_FMT(3, 4);
/* Guest asked for a reset (i8042 0xFE, ACPI reset register, triple fault
 * when configured): restart or exit per cfg.on_reset.  Thread safe. */
void vm_request_reset(struct vm *vm, const char *why);
/* The exit status for a setup step that failed with errno err (after it
 * printed its line): a host failure (out of descriptors or memory, I/O
 * error: RINGVM_EXIT_HOST_ERROR) or a problem with the user's options or
 * files (anything else: RINGVM_EXIT_USAGE). */
int vm_errno_status(int err);
/* Guest powered off (ACPI S5). */
void vm_request_poweroff(struct vm *vm);
bool vm_should_stop(const struct vm *vm);

/* Pause and resume (src/vmm/vm_pause.c), from the thread that runs the VM's
 * event loop (never a vCPU).  vm_pause returns once every vCPU is parked at
 * an instruction boundary, outside the engine; the machine's clock
 * (vm_clock_ns) stops until vm_resume.  Return 0, or -1 with a reason. */
int vm_pause(struct vm *vm, char *err, size_t errlen);
int vm_resume(struct vm *vm, char *err, size_t errlen);
/* Ctrl+Alt+Del on the machine's keyboard (src/vmm/vm_input.c, Firecracker's
 * SendCtrlAltDel): 0, or -1 with a reason (no keyboard, its buffer full). */
int vm_send_ctrl_alt_del(struct vm *vm, char *err, size_t errlen);
/* The machine's clock in ns: host CLOCK_MONOTONIC minus the time the VM
 * spent paused.  Timers that must not catch up after a pause use it. */
uint64_t vm_clock_ns(const struct vm *vm);
/* The clock goes on from where it was stopped (clock_frozen_at: vm_pause, a
 * restore), and the devices are told the guest runs again (their resumed
 * op: host input held back goes in).  vm_resume; a restore's last vCPU. */
void vm_clock_thaw(struct vm *vm);
void vm_devices_resumed(struct vm *vm);
/* Whether a device may put host input (console bytes, network frames, vsock
 * packets) into the guest now: not while the VM is paused (a snapshot reads
 * RAM then), nor while a restore's vCPUs still load their state, when an
 * interrupt raised would be overwritten by the local APIC state loaded after
 * it (with VIRTIO_F_EVENT_IDX a lost used-buffer interrupt stalls the
 * queue for good).  The machine clock is frozen exactly then.  Refused input
 * waits in its back end; the device's resumed op offers it again. */
static inline bool vm_guest_takes_input(struct vm *vm)
{
	return atomic_load(&vm->state) != VM_PAUSED && !atomic_load(&vm->clock_frozen_at);
}

/* The board's interrupt controllers (src/vmm/vm_irqchip.c): created for an
 * engine without in_kernel_irqchip (vm->irqchip, vm->irq) before its
 * vm_init; reset with the machine.  get/set: the whole neutral state, the
 * engine's part and the board's (snapshots).  0 or -errno. */
int vm_irqchip_create(struct vm *vm);
void vm_irqchip_reset(struct vm *vm);
void vm_irqchip_destroy(struct vm *vm);
void vm_irqchip_print_stats(struct vm *vm, FILE *out);  /* --stats; nothing without one */
int vm_irqchip_get(struct vm *vm, struct irqchip_state *s);
int vm_irqchip_set(struct vm *vm, const struct irqchip_state *s);
/* The shared loop: park the calling vCPU while a pause is requested. */
void vcpu_park_if_paused(struct vcpu *v);
/* Wake parked vCPUs so they see a stop or reset (vm.c). */
void vm_pause_wake_all(struct vm *vm);

/* The shared vCPU thread body (src/cpu/vcpu_loop.c). */
void *vcpu_thread(void *arg);
/* Engines: an event that may wake vCPU v (interrupt, NMI, INIT, SIPI) was
 * posted; any thread.  Sample vcpu_wake_gen() before checking for pending
 * events and pass it in vcpu_exit.hlt when reporting the vCPU stuck. */
static inline void vcpu_note_wake(struct vcpu *v)
{
	atomic_fetch_add(&v->wake_gen, 1);
}
static inline uint64_t vcpu_wake_gen(struct vcpu *v)
{
	return atomic_load(&v->wake_gen);
}
/* The one policy for port and MMIO accesses, used by the loop for exits and
 * by engines that complete accesses inside an instruction (soft): dispatch
 * to the bus, count and time it.  Unclaimed ports and unclaimed MMIO behave
 * like absent hardware: reads see all-ones, writes are dropped, both are
 * counted (--stats) and an MMIO address is logged once; they return -1.
 * With --strict-mmio an unclaimed MMIO access stops the VM with status 4. */
int vcpu_pio(struct vcpu *v, uint16_t port, unsigned size, bool write, uint32_t *val);
int vcpu_mmio(struct vcpu *v, uint64_t gpa, unsigned size, bool write, uint64_t *val);
void vcpu_mmio_unmapped(struct vcpu *v, uint64_t gpa, unsigned size, bool write, int why);
/* Sum and print exit statistics (src/vmm/stats.c). */
void vm_print_stats(struct vm *vm, FILE *out);

/* Devices (src/vmm/device.c). */
int vm_add_device(struct vm *vm, const char *name,
		  const struct vm_device_ops *ops, void *opaque);
/* The drive named id takes the image at path (the device that has it
 * answers; see change_media).  0, or -1 with the reason in err. */
int vm_change_media(struct vm *vm, const char *id, const char *path, char *err, size_t n);

#endif
