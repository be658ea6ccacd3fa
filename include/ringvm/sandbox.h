/* The sandboxed VMM (docs/sandbox.md): seccomp-bpf filters per thread kind,
 * and the jail (`ringvm jail`).
 *
 * Every thread of a running VM installs the filter of its kind on itself
 * before the guest runs, after the files, mappings and threads it needs are
 * set up: the main (event-loop) thread once the vCPU threads are started,
 * each vCPU thread once its engine vCPU exists and holds the boot registers,
 * each back-end writer thread when its device is set up.  A forbidden call
 * ends the process with one line on stderr ("ringvm: seccomp: forbidden
 * system call NAME (NR) on a KIND thread") and status 128 + SIGSYS. */
#ifndef RINGVM_SANDBOX_H
#define RINGVM_SANDBOX_H

#include <stdbool.h>

/* Thread kinds, each with its own allowlist (src/sandbox/seccomp_table.c). */
enum sandbox_kind {
	SANDBOX_MAIN,    /* main thread: event loop, back-end input, signals, reset */
	SANDBOX_VCPU,    /* vCPU threads: the engine, device handlers */
	SANDBOX_WRITER,  /* char back-end writer threads: write a ring to an fd */
	SANDBOX_IO,      /* block I/O workers (virtio-blk with io_uring) */
	SANDBOX_API,     /* the HTTP API thread (libmicrohttpd on a unix socket) */
	SANDBOX_KINDS
};

/* The exit status after a forbidden system call: as if killed by SIGSYS. */
#define SANDBOX_EXIT_FORBIDDEN (128 + 31)

/* What the filters depend on; set up by vm_create (sandbox_init). */
struct sandbox {
	bool enabled;         /* false: --no-seccomp, or a sanitizer build */
	bool kvm;             /* the kvm engine runs (KVM ioctls on vCPU/main) */
	bool respawn;         /* --on-reset restart: the main thread re-creates
				 the engine VM and starts new vCPU threads */
	bool stdio;           /* the serial back end is stdio (terminal ioctls) */
	bool blk;             /* a drive exists (virtio-blk: io_uring, file I/O) */
	bool slirp;           /* a --net user exists (libslirp's sockets on main) */
	bool netdev;          /* virtio-net or virtio-vsock: their back ends' fds
				 are (un)watched on the event loop from vCPU
				 threads (queue kicks) */
	bool vsock;           /* virtio-vsock: unix sockets to the host side */
	bool snapshot;        /* PUT /snapshot/create: the main thread writes the
				 state and memory files (docs/snapshot.md) */
	bool jit;             /* soft engine with --soft-tier jit: a reset makes
				 new translation caches (memfd, an RW and an RX
				 view) on the main thread */
	int selftest;         /* test hook (RINGVM_SECCOMP_SELFTEST=KIND): that
				 kind makes a forbidden call once filtered; -1 none */
};

struct vm_config;

/* Fill sb for a VM: engine is the chosen engine's name.  Prints one line
 * when filters are off because of a sanitizer build (--verbose). */
void sandbox_init(struct sandbox *sb, const struct vm_config *cfg, const char *engine);

/* Install the filter of kind on the calling thread (no-op when disabled).
 * Returns 0 or a negative errno after printing one line. */
int sandbox_enter(const struct sandbox *sb, enum sandbox_kind kind);

/* The test hook (RINGVM_SECCOMP_SELFTEST): when sb's filters are on and its
 * selftest is kind, make a call kind's filter forbids.  sandbox_enter does
 * it for every kind but SANDBOX_API, whose thread calls this when it
 * handles a request. */
void sandbox_selftest(const struct sandbox *sb, enum sandbox_kind kind);

const char *sandbox_kind_name(enum sandbox_kind kind);
/* The kind named by s ("main", "vcpu", ...), or -1. */
int sandbox_kind_parse(const char *s);
/* Whether this build runs under a sanitizer (filters are then off). */
bool sandbox_sanitizer_build(void);

/* For tests: whether the filter of kind, under sb, lets system call nr
 * through with these arguments (builds the filter, loads it in a forked
 * child, makes the call there).  1 it returned (*err: its errno, 0 on
 * success), 0 it trapped, <0 the probe failed. */
int sandbox_probe(const struct sandbox *sb, enum sandbox_kind kind, long nr,
		  const unsigned long args[6], int *err);

#endif
