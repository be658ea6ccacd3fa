/* The system-call allowlists, one line per system call and condition.
 *
 * Audited with strace -f on the soft engine (a two-vCPU Linux boot to its
 * shell marker) and the kvm engine (the guest suites, reset included); see
 * docs/sandbox.md, "Auditing".  To allow a call: add one line naming it, the
 * thread kinds that make it, when (SB_IF_*) and its argument check.  Kinds
 * for threads other branches add (I/O workers) are here so they can be
 * wired where those threads start.
 *
 * Everything not listed traps (SIGSYS: one line naming the call and the
 * thread kind, then exit).  Threads inherit their creator's filter: after a
 * machine reset the main thread starts the new vCPU threads, so with
 * --on-reset restart the main thread's filter also holds the vCPU lines
 * (each vCPU thread then adds its own, and the two intersect to the vCPU
 * list). */
#include <linux/kvm.h>
#include <seccomp.h>
#include <sys/ioctl.h>

#include "sandbox_priv.h"

#define LIST(n, ...)                                                        \
	static const unsigned long n##_req[] = { __VA_ARGS__ };             \
	static const struct sandbox_ioctl_list n = { #n, sizeof(n##_req) / sizeof(n##_req[0]), n##_req }

/* A running KVM vCPU (src/cpu/kvm: kvm_run.c, kvm_regs.c, kvm_halt.c) and
 * the device interrupt lines raised from device handlers (kvm_vm.c). */
LIST(kvm_vcpu_ioctls,
     KVM_RUN, KVM_GET_REGS, KVM_SET_REGS, KVM_GET_SREGS, KVM_SET_SREGS,
     KVM_GET_FPU, KVM_SET_FPU, KVM_GET_XSAVE, KVM_SET_XSAVE, KVM_GET_MSRS,
     KVM_SET_MSRS, KVM_GET_MP_STATE, KVM_GET_VCPU_EVENTS, KVM_IRQ_LINE,
     KVM_SIGNAL_MSI);
/* Main thread and I/O workers: interrupt lines raised by back-end input
 * (serial) and completed requests. */
LIST(kvm_main_ioctls, KVM_IRQ_LINE, KVM_SIGNAL_MSI);
/* virtio-pci's doorbells (kvm_ioeventfd.c): assigned when the driver sets
 * DRIVER_OK or moves BAR 0 (vCPU thread), removed on a machine reset (main
 * thread); the I/O workers never touch them. */
LIST(kvm_ioeventfd_ioctls, KVM_IOEVENTFD);
/* irqfd (kvm_irqfd.c): MSI-X vectors bound to eventfds, and their MSI
 * routes rewritten, when the driver changes a table entry, a mask, the
 * enable bit or bus mastering (vCPU thread), removed at exit or reset (main
 * thread).  The threads that signal them only write() the eventfd. */
LIST(kvm_irqfd_ioctls, KVM_IRQFD, KVM_SET_GSI_ROUTING);
/* Main thread re-creating the engine VM on reset (kvm_vm.c, kvm_vcpu.c,
 * kvm_cpuid.c; KVM_ENABLE_CAP for the dirty log's manual protect,
 * kvm_dirty.c): the respawned vCPU threads create their vCPUs under the
 * main thread's filter. */
LIST(kvm_setup_ioctls,
     KVM_GET_API_VERSION, KVM_CHECK_EXTENSION, KVM_CREATE_VM, KVM_SET_TSS_ADDR,
     KVM_SET_IDENTITY_MAP_ADDR, KVM_SET_USER_MEMORY_REGION, KVM_CREATE_IRQCHIP,
     KVM_SET_GSI_ROUTING, KVM_CREATE_PIT2, KVM_GET_VCPU_MMAP_SIZE,
     KVM_GET_SUPPORTED_CPUID, KVM_CREATE_VCPU, KVM_SET_CPUID2, KVM_SET_SIGNAL_MASK,
     KVM_REINJECT_CONTROL, KVM_ENABLE_CAP);
/* PUT /snapshot/create on kvm (kvm_snapshot.c, kvm_regs.c): the main thread
 * reads the paused vCPUs' and the VM's state, and the dirty log for a diff
 * snapshot (kvm_dirty.c). */
LIST(kvm_snapshot_ioctls,
     KVM_GET_REGS, KVM_GET_SREGS, KVM_GET_FPU, KVM_GET_XSAVE, KVM_GET_MSRS, KVM_GET_LAPIC,
     KVM_GET_VCPU_EVENTS, KVM_GET_MP_STATE, KVM_GET_XCRS, KVM_GET_TSC_KHZ, KVM_GET_IRQCHIP,
     KVM_GET_PIT2, KVM_GET_DIRTY_LOG, KVM_CLEAR_DIRTY_LOG);
/* Terminal modes of the stdio back end (tcgetattr/tcsetattr, restored at
 * exit: src/backend/term_restore.c). */
LIST(tty_ioctls, TCGETS, TCSETS, TCSETSW, TCSETSF);

#define R(call, kinds, when, arg) { SCMP_SYS(call), #call, kinds, when, arg, NULL }
#define IOCTLS(kinds, when, list) { SCMP_SYS(ioctl), "ioctl", kinds, when, SB_ARG_IOCTL, &list }

const struct sandbox_rule sandbox_rules[] = {
	/* Memory: malloc, thread stacks; never executable. */
	R(brk,              SB_ALL, 0, SB_ARG_ANY),
	R(mmap,             SB_ALL, 0, SB_ARG_NO_EXEC),
	R(mprotect,         SB_ALL, 0, SB_ARG_NO_EXEC),
	R(munmap,           SB_ALL, 0, SB_ARG_ANY),
	R(mremap,           SB_ALL, 0, SB_ARG_ANY),
	R(madvise,          SB_ALL, 0, SB_ARG_ANY),
	/* Locks, time, identity, signals, ending. */
	R(futex,            SB_ALL, 0, SB_ARG_ANY),
	R(clock_gettime,    SB_ALL, 0, SB_ARG_ANY),
	R(clock_nanosleep,  SB_ALL, 0, SB_ARG_ANY),
	R(nanosleep,        SB_ALL, 0, SB_ARG_ANY),
	R(gettimeofday,     SB_ALL, 0, SB_ARG_ANY),
	R(sched_yield,      SB_ALL, 0, SB_ARG_ANY),
	R(getpid,           SB_ALL, 0, SB_ARG_ANY),
	R(gettid,           SB_ALL, 0, SB_ARG_ANY),
	R(tgkill,           SB_ALL, 0, SB_ARG_SELF),     /* kicks: vCPUs, writers */
	R(rt_sigprocmask,   SB_ALL, 0, SB_ARG_ANY),
	R(rt_sigreturn,     SB_ALL, 0, SB_ARG_ANY),
	R(restart_syscall,  SB_ALL, 0, SB_ARG_ANY),
	R(sigaltstack,      SB_ALL, 0, SB_ARG_ANY),      /* signal stacks (sanitizer runtimes) */
	R(exit,             SB_ALL, 0, SB_ARG_ANY),
	R(exit_group,       SB_ALL, 0, SB_ARG_ANY),
	/* Output: log lines, eventfd wake-ups, serial output. */
	R(write,            SB_ALL, 0, SB_ARG_ANY),
	R(writev,           SB_ALL, 0, SB_ARG_ANY),
	R(read,             SB_MAIN | SB_VCPU | SB_IO, 0, SB_ARG_ANY),
	R(close,            SB_MAIN | SB_VCPU | SB_IO | SB_API, 0, SB_ARG_ANY),
	R(getrandom,        SB_MAIN | SB_VCPU | SB_IO, 0, SB_ARG_ANY),
	/* Files are opened after start only by main and only for what its
	 * conditional lines below allow; glibc's malloc looks up
	 * /proc/sys/vm/overcommit_memory the first time it shrinks a thread's
	 * arena (on main too: a vCPU's state freed at teardown) and does
	 * without it when the open fails. */
	R(openat,           SB_ALL, 0, SB_ARG_EACCES),
	/* Writer threads: a blocked write, a socket peer. */
	R(poll,             SB_MAIN | SB_WRITER | SB_IO | SB_API, 0, SB_ARG_ANY),
	R(ppoll,            SB_MAIN | SB_WRITER | SB_IO, 0, SB_ARG_ANY),
	R(sendto,           SB_MAIN | SB_WRITER | SB_API, 0, SB_ARG_ANY),
	R(sendmsg,          SB_MAIN | SB_WRITER | SB_API, 0, SB_ARG_ANY),
	/* vCPU threads: engine timers, the kvm kick. */
	R(timerfd_settime,  SB_MAIN | SB_VCPU, 0, SB_ARG_ANY),
	R(timerfd_gettime,  SB_MAIN | SB_VCPU, 0, SB_ARG_ANY),
	R(timer_settime,    SB_VCPU, SB_IF_KVM, SB_ARG_ANY),
	R(timer_delete,     SB_VCPU, SB_IF_KVM, SB_ARG_ANY),
	R(rt_sigtimedwait,  SB_VCPU, SB_IF_KVM, SB_ARG_ANY),
	IOCTLS(SB_VCPU,     SB_IF_KVM, kvm_vcpu_ioctls),
	IOCTLS(SB_VCPU | SB_MAIN, SB_IF_KVM, kvm_ioeventfd_ioctls),
	IOCTLS(SB_VCPU | SB_MAIN, SB_IF_KVM, kvm_irqfd_ioctls),
	/* The main thread: the event loop, back-end input, unix-socket
	 * clients, the kernel file (read again on reset), --stats.  The API
	 * thread (libmicrohttpd in external epoll mode, api_server.c): poll on
	 * MHD's epoll fd, accept4, recv/send(msg), shutdown, close; futexes
	 * and the eventfd write hand requests to the VM's thread.  MHD sees
	 * the listening socket is AF_UNIX when it starts (on main, unfiltered)
	 * and so makes no setsockopt calls (audited with strace -f). */
	R(epoll_wait,       SB_MAIN | SB_IO | SB_API, 0, SB_ARG_ANY),
	R(epoll_pwait,      SB_MAIN | SB_IO, 0, SB_ARG_ANY),
	R(epoll_ctl,        SB_MAIN | SB_IO | SB_API, 0, SB_ARG_ANY),
	R(accept4,          SB_MAIN | SB_API, 0, SB_ARG_ANY),
	R(recvfrom,         SB_MAIN | SB_API, 0, SB_ARG_ANY),
	R(recvmsg,          SB_MAIN, 0, SB_ARG_ANY),
	R(shutdown,         SB_MAIN | SB_API, 0, SB_ARG_ANY),
	R(fcntl,            SB_MAIN, 0, SB_ARG_ANY),
	R(unlink,           SB_MAIN, 0, SB_ARG_ANY),     /* the unix back end's socket at exit */
	R(unlinkat,         SB_MAIN, 0, SB_ARG_ANY),
	R(fstat,            SB_MAIN, 0, SB_ARG_ANY),
	R(newfstatat,       SB_MAIN, 0, SB_ARG_ANY),
	R(lseek,            SB_MAIN, 0, SB_ARG_ANY),
	R(pread64,          SB_MAIN | SB_IO, 0, SB_ARG_ANY),
	IOCTLS(SB_MAIN,     SB_IF_KVM, kvm_main_ioctls),
	IOCTLS(SB_MAIN,     SB_IF_STDIO, tty_ioctls),
	/* Reset (--on-reset restart): the engine VM and the kernel again,
	 * new vCPU threads, which install their own filter. */
	R(openat,           SB_MAIN, SB_IF_RESPAWN, SB_ARG_OPEN_RO),
	R(access,           SB_MAIN, SB_IF_RESPAWN | SB_IF_KVM, SB_ARG_ANY),  /* the /dev/kvm probe */
	R(clone,            SB_MAIN, SB_IF_RESPAWN, SB_ARG_THREAD),
	R(clone3,           SB_MAIN, SB_IF_RESPAWN, SB_ARG_ENOSYS),
	R(set_robust_list,  SB_MAIN, SB_IF_RESPAWN, SB_ARG_ANY),
	R(rseq,             SB_MAIN, SB_IF_RESPAWN, SB_ARG_ANY),
	R(rt_sigaction,     SB_MAIN, SB_IF_RESPAWN, SB_ARG_ANY),
	R(timer_create,     SB_MAIN, SB_IF_RESPAWN | SB_IF_KVM, SB_ARG_ANY),
	R(prctl,            SB_MAIN, SB_IF_RESPAWN, SB_ARG_PRCTL_SECCOMP),
	R(seccomp,          SB_MAIN, SB_IF_RESPAWN, SB_ARG_ANY),
	IOCTLS(SB_MAIN,     SB_IF_RESPAWN | SB_IF_KVM, kvm_setup_ioctls),
	/* ... and with the translator, each new vCPU's translation cache: one
	 * memfd mapped writable and, separately, executable (never both). */
	R(memfd_create,     SB_MAIN, SB_IF_RESPAWN | SB_IF_JIT, SB_ARG_ANY),
	/* PUT /snapshot/create (src/vmm/snapshot_*.c): the main thread creates
	 * the state and memory files beside their names and renames them. */
	R(openat,           SB_MAIN, SB_IF_SNAPSHOT, SB_ARG_ANY),
	/* PATCH /drives/{id} on a running VM (api/res_drives.c): the new image
	 * is checked (stat, access) and opened on the main thread as well. */
	R(access,           SB_MAIN, SB_IF_SNAPSHOT, SB_ARG_ANY),
	R(faccessat,        SB_MAIN, SB_IF_SNAPSHOT, SB_ARG_ANY),
	R(faccessat2,       SB_MAIN, SB_IF_SNAPSHOT, SB_ARG_ANY),
	R(pwrite64,         SB_MAIN, SB_IF_SNAPSHOT, SB_ARG_ANY),
	R(ftruncate,        SB_MAIN, SB_IF_SNAPSHOT, SB_ARG_ANY),
	R(fsync,            SB_MAIN, SB_IF_SNAPSHOT, SB_ARG_ANY),
	R(fchmod,           SB_MAIN, SB_IF_SNAPSHOT, SB_ARG_ANY),
	R(rename,           SB_MAIN, SB_IF_SNAPSHOT, SB_ARG_ANY),
	R(renameat,         SB_MAIN, SB_IF_SNAPSHOT, SB_ARG_ANY),
	R(renameat2,        SB_MAIN, SB_IF_SNAPSHOT, SB_ARG_ANY),
	IOCTLS(SB_MAIN,     SB_IF_SNAPSHOT | SB_IF_KVM, kvm_snapshot_ioctls),
	R(ftruncate,        SB_MAIN, SB_IF_RESPAWN | SB_IF_JIT, SB_ARG_ANY),
	R(mmap,             SB_MAIN, SB_IF_RESPAWN | SB_IF_JIT, SB_ARG_EXEC_NO_WRITE),
	/* virtio-blk: a vCPU's queue kick submits to io_uring, the event loop
	 * reaps completions; requests io_uring cannot do are run with plain
	 * file I/O on the image's fd (docs/sandbox.md). */
	R(io_uring_enter,   SB_MAIN | SB_VCPU, SB_IF_BLK, SB_ARG_ANY),
	R(preadv,           SB_MAIN | SB_VCPU, SB_IF_BLK, SB_ARG_ANY),
	R(pwritev,          SB_MAIN | SB_VCPU, SB_IF_BLK, SB_ARG_ANY),
	R(fdatasync,        SB_MAIN | SB_VCPU, SB_IF_BLK, SB_ARG_ANY),
	R(fallocate,        SB_MAIN | SB_VCPU, SB_IF_BLK, SB_ARG_ANY),
	/* User networking: libslirp on the event loop opens the guest's
	 * connections as host sockets (IPv4/IPv6 only). */
	R(socket,           SB_MAIN, SB_IF_SLIRP, SB_ARG_INET),
	R(connect,          SB_MAIN, SB_IF_SLIRP, SB_ARG_ANY),
	R(accept,           SB_MAIN, SB_IF_SLIRP, SB_ARG_ANY),   /* host port forwards */
	R(bind,             SB_MAIN, SB_IF_SLIRP, SB_ARG_ANY),
	R(listen,           SB_MAIN, SB_IF_SLIRP, SB_ARG_ANY),
	R(getsockname,      SB_MAIN, SB_IF_SLIRP, SB_ARG_ANY),
	R(getpeername,      SB_MAIN, SB_IF_SLIRP, SB_ARG_ANY),
	R(setsockopt,       SB_MAIN, SB_IF_SLIRP, SB_ARG_ANY),
	R(getsockopt,       SB_MAIN, SB_IF_SLIRP, SB_ARG_ANY),
	/* virtio-net and virtio-vsock: a vCPU's queue kick (un)watches the
	 * back end's fds on the event loop and sends frames to it. */
	R(epoll_ctl,        SB_VCPU, SB_IF_NETDEV, SB_ARG_ANY),
	R(sendto,           SB_VCPU, SB_IF_NETDEV, SB_ARG_ANY),
	R(sendmsg,          SB_VCPU, SB_IF_NETDEV, SB_ARG_ANY),
	R(recvfrom,         SB_VCPU, SB_IF_NETDEV, SB_ARG_ANY),
	R(recvmsg,          SB_VCPU, SB_IF_NETDEV, SB_ARG_ANY),
	R(shutdown,         SB_VCPU, SB_IF_NETDEV, SB_ARG_ANY),
	/* virtio-vsock: a guest connecting to the host reaches <uds>_<port>
	 * (a unix socket opened from the vCPU's queue kick or the event loop). */
	R(socket,           SB_MAIN | SB_VCPU, SB_IF_VSOCK, SB_ARG_UNIX),
	R(connect,          SB_MAIN | SB_VCPU, SB_IF_VSOCK, SB_ARG_ANY),
	R(fcntl,            SB_VCPU, SB_IF_VSOCK, SB_ARG_ANY),
	R(getsockopt,       SB_MAIN | SB_VCPU, SB_IF_VSOCK, SB_ARG_ANY),
	R(setsockopt,       SB_MAIN | SB_VCPU, SB_IF_VSOCK, SB_ARG_ANY),
	/* Block I/O workers (virtio-blk on io_uring): the ring and the image. */
	R(io_uring_enter,   SB_IO, 0, SB_ARG_ANY),
	R(pwrite64,         SB_IO, 0, SB_ARG_ANY),
	R(preadv,           SB_IO, 0, SB_ARG_ANY),
	R(pwritev,          SB_IO, 0, SB_ARG_ANY),
	R(fsync,            SB_IO, 0, SB_ARG_ANY),
	R(fdatasync,        SB_IO, 0, SB_ARG_ANY),
	R(fallocate,        SB_IO, 0, SB_ARG_ANY),       /* discard / write zeroes */
	IOCTLS(SB_IO,       SB_IF_KVM, kvm_main_ioctls), /* a worker completes: the queue's interrupt */
};

const size_t sandbox_nr_rules = sizeof(sandbox_rules) / sizeof(sandbox_rules[0]);
