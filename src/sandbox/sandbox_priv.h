/* Internals of the seccomp filters: the allowlist table and how its lines
 * become libseccomp rules (docs/sandbox.md). */
#ifndef RINGVM_SANDBOX_PRIV_H
#define RINGVM_SANDBOX_PRIV_H

#include <stddef.h>

#include "ringvm/sandbox.h"

/* Thread-kind bits for a table line. */
#define SB_MAIN   (1u << SANDBOX_MAIN)
#define SB_VCPU   (1u << SANDBOX_VCPU)
#define SB_WRITER (1u << SANDBOX_WRITER)
#define SB_IO     (1u << SANDBOX_IO)
#define SB_API    (1u << SANDBOX_API)
#define SB_ALL    (SB_MAIN | SB_VCPU | SB_WRITER | SB_IO | SB_API)

/* When a line applies (all bits given must hold; 0: always). */
enum {
	SB_IF_KVM     = 1u << 0,  /* the kvm engine runs */
	SB_IF_RESPAWN = 1u << 1,  /* --on-reset restart: main rebuilds the VM */
	SB_IF_STDIO   = 1u << 2,  /* serial on stdio: terminal modes */
	SB_IF_BLK     = 1u << 3,  /* a drive (virtio-blk) */
	SB_IF_SLIRP   = 1u << 4,  /* user networking (libslirp on the event loop) */
	SB_IF_NETDEV  = 1u << 5,  /* virtio-net or virtio-vsock (event-loop fds) */
	SB_IF_VSOCK   = 1u << 6,  /* virtio-vsock: unix sockets to the host side */
	SB_IF_JIT     = 1u << 7,  /* the soft engine translates (--soft-tier jit) */
	SB_IF_SNAPSHOT = 1u << 8, /* the API may write snapshots (docs/snapshot.md) */
};

/* Argument checks. */
enum sandbox_arg {
	SB_ARG_ANY,          /* no check */
	SB_ARG_NO_EXEC,      /* mmap/mprotect: arg 2 (prot) without PROT_EXEC */
	SB_ARG_IOCTL,        /* ioctl: arg 1 (request) one of the line's list */
	SB_ARG_OPEN_RO,      /* openat: read-only (read-write too with kvm: /dev/kvm) */
	SB_ARG_SELF,         /* tgkill: arg 0 is this process */
	SB_ARG_THREAD,       /* clone: arg 0 (flags) has CLONE_THREAD */
	SB_ARG_ENOSYS,       /* clone3: fail with ENOSYS, so glibc uses clone
				(whose flags a filter can see) */
	SB_ARG_PRCTL_SECCOMP,/* prctl: only what installing a filter needs */
	SB_ARG_EACCES,       /* refused with EACCES, not trapped: for a library's
				optional look-ups that cope with a failure */
	SB_ARG_INET,         /* socket: arg 0 (domain) AF_INET or AF_INET6 */
	SB_ARG_UNIX,         /* socket: arg 0 (domain) AF_UNIX */
	SB_ARG_EXEC_NO_WRITE,/* mmap: PROT_EXEC only without PROT_WRITE (the
				translation cache's executable view) */
};

struct sandbox_ioctl_list {
	const char *name;
	size_t n;
	const unsigned long *req;
};

struct sandbox_rule {
	int nr;                  /* SCMP_SYS(name) */
	const char *name;
	unsigned kinds;          /* SB_MAIN | ... */
	unsigned when;           /* SB_IF_* */
	enum sandbox_arg arg;
	const struct sandbox_ioctl_list *ioctls;  /* SB_ARG_IOCTL */
};

extern const struct sandbox_rule sandbox_rules[];
extern const size_t sandbox_nr_rules;

#endif
