/* The seccomp filter tables (src/sandbox/seccomp_table.c): each thread
 * kind's filter is loaded in a forked child (sandbox_probe) and real system
 * calls are made under it, with arguments that do no harm were they let
 * through (bad fds, null pointers, signal 0). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ringvm/sandbox.h"
#include "../../../src/sandbox/sandbox_priv.h"

#define SOFT      ((struct sandbox){ .enabled = true, .selftest = -1 })
#define KVM       ((struct sandbox){ .enabled = true, .kvm = true, .selftest = -1 })
#define SOFT_RST  ((struct sandbox){ .enabled = true, .respawn = true, .selftest = -1 })
#define KVM_RST   ((struct sandbox){ .enabled = true, .kvm = true, .respawn = true, .selftest = -1 })
#define KVM_STDIO ((struct sandbox){ .enabled = true, .kvm = true, .stdio = true, .selftest = -1 })

static int probe(struct sandbox sb, enum sandbox_kind k, long nr, unsigned long a0,
		 unsigned long a1, unsigned long a2, int *err)
{
	unsigned long a[6] = { a0, a1, a2, 0, 0, 0 };
	int e = -1;
	int r = sandbox_probe(&sb, k, nr, a, &e);
	assert_true(r >= 0);
	if (err)
		*err = e;
	return r;
}

static void allowed(struct sandbox sb, enum sandbox_kind k, long nr, unsigned long a0,
		    unsigned long a1, unsigned long a2)
{
	if (probe(sb, k, nr, a0, a1, a2, NULL) != 1)
		fail_msg("system call %ld trapped on a %s thread", nr, sandbox_kind_name(k));
}

static void trapped(struct sandbox sb, enum sandbox_kind k, long nr, unsigned long a0,
		    unsigned long a1, unsigned long a2)
{
	if (probe(sb, k, nr, a0, a1, a2, NULL) != 0)
		fail_msg("system call %ld let through on a %s thread", nr, sandbox_kind_name(k));
}

/* Every line names a system call this architecture has, and every ioctl
 * list holds something. */
static void test_table_resolves(void **state)
{
	(void)state;
	assert_true(sandbox_nr_rules > 40);
	for (size_t i = 0; i < sandbox_nr_rules; i++) {
		const struct sandbox_rule *r = &sandbox_rules[i];
		if (r->nr < 0)
			fail_msg("table line %zu: %s is not a system call here", i, r->name);
		assert_true(r->kinds & SB_ALL);
		if (r->arg == SB_ARG_IOCTL)
			assert_true(r->ioctls && r->ioctls->n > 0);
	}
}

/* What every kind needs: time, locks, the log, ending. */
static void test_every_kind_basics(void **state)
{
	(void)state;
	const struct sandbox conds[] = { SOFT, KVM, SOFT_RST, KVM_RST, KVM_STDIO };
	for (size_t c = 0; c < sizeof(conds) / sizeof(conds[0]); c++)
		for (int k = 0; k < SANDBOX_KINDS; k++) {
			allowed(conds[c], k, SYS_getpid, 0, 0, 0);
			allowed(conds[c], k, SYS_write, (unsigned long)-1, 0, 0);
			allowed(conds[c], k, SYS_futex, 0, 0, 0);
			/* tgkill to this process: the kvm guest tests (kicks). */
		}
}

/* Nothing runs another program, traces, or maps executable memory. */
static void test_never(void **state)
{
	(void)state;
	const struct sandbox conds[] = { SOFT, KVM_RST, KVM_STDIO };
	for (size_t c = 0; c < sizeof(conds) / sizeof(conds[0]); c++)
		for (int k = 0; k < SANDBOX_KINDS; k++) {
			trapped(conds[c], k, SYS_execve, 0, 0, 0);
			trapped(conds[c], k, SYS_ptrace, 0 /* PTRACE_TRACEME */, 0, 0);
			trapped(conds[c], k, SYS_mmap, 0, 4096, PROT_READ | PROT_EXEC);
			trapped(conds[c], k, SYS_mprotect, 0, 4096, PROT_READ | PROT_EXEC);
			allowed(conds[c], k, SYS_mmap, 0, 0, PROT_READ);  /* EINVAL, not a trap */
			trapped(conds[c], k, SYS_socket, AF_UNIX, SOCK_STREAM, 0);
			trapped(conds[c], k, SYS_kill, 1, 0, 0);
			trapped(conds[c], k, SYS_tgkill, 1, 1, 0);  /* another process */
		}
}

static void test_vcpu(void **state)
{
	(void)state;
	int err;
	/* kvm: the run loop's ioctls; soft: none at all. */
	allowed(KVM, SANDBOX_VCPU, SYS_ioctl, (unsigned long)-1, KVM_RUN, 0);
	allowed(KVM, SANDBOX_VCPU, SYS_ioctl, (unsigned long)-1, KVM_GET_SREGS, 0);
	allowed(KVM, SANDBOX_VCPU, SYS_ioctl, (unsigned long)-1, KVM_IRQ_LINE, 0);
	trapped(KVM, SANDBOX_VCPU, SYS_ioctl, (unsigned long)-1, KVM_CREATE_VM, 0);
	/* irqfd: bound and re-routed when the driver writes the MSI-X table */
	allowed(KVM, SANDBOX_VCPU, SYS_ioctl, (unsigned long)-1, KVM_IRQFD, 0);
	allowed(KVM, SANDBOX_VCPU, SYS_ioctl, (unsigned long)-1, KVM_SET_GSI_ROUTING, 0);
	allowed(KVM, SANDBOX_MAIN, SYS_ioctl, (unsigned long)-1, KVM_IRQFD, 0);
	trapped(SOFT, SANDBOX_VCPU, SYS_ioctl, (unsigned long)-1, KVM_IRQFD, 0);
	trapped(KVM, SANDBOX_IO, SYS_ioctl, (unsigned long)-1, KVM_IRQFD, 0);
	trapped(KVM, SANDBOX_IO, SYS_ioctl, (unsigned long)-1, KVM_SET_GSI_ROUTING, 0);
	allowed(KVM, SANDBOX_IO, SYS_write, 0, 0, 0);   /* signalling one */
	trapped(KVM, SANDBOX_VCPU, SYS_ioctl, (unsigned long)-1, KVM_SET_USER_MEMORY_REGION, 0);
	trapped(KVM, SANDBOX_VCPU, SYS_ioctl, (unsigned long)-1, TIOCSTI, 0);
	trapped(SOFT, SANDBOX_VCPU, SYS_ioctl, (unsigned long)-1, KVM_RUN, 0);
	/* No new files: refused with EACCES (glibc's malloc copes). */
	assert_int_equal(probe(SOFT, SANDBOX_VCPU, SYS_openat, (unsigned long)AT_FDCWD,
			       (unsigned long)"/etc/passwd", O_RDONLY, &err), 1);
	assert_int_equal(err, EACCES);
	trapped(SOFT, SANDBOX_VCPU, SYS_clone, CLONE_THREAD, 0, 0);
	trapped(SOFT, SANDBOX_VCPU, SYS_accept4, 0, 0, 0);
	trapped(KVM, SANDBOX_VCPU, SYS_unlink, 0, 0, 0);
	allowed(KVM, SANDBOX_VCPU, SYS_rt_sigtimedwait, 0, 0, 0);
	allowed(SOFT, SANDBOX_VCPU, SYS_timerfd_settime, (unsigned long)-1, 0, 0);
}

static void test_main(void **state)
{
	(void)state;
	int err;
	/* Without reset: no files at all; with it, read-only (and /dev/kvm),
	 * anything else still traps. */
	/* (refused with EACCES, as on the vCPU threads: main frees their state
	 * at teardown, and glibc's malloc may then look up overcommit_memory) */
	assert_int_equal(probe(SOFT, SANDBOX_MAIN, SYS_openat, (unsigned long)AT_FDCWD,
			       (unsigned long)"/proc/sys/vm/overcommit_memory", O_RDONLY, &err), 1);
	assert_int_equal(err, EACCES);
	assert_int_equal(probe(KVM, SANDBOX_MAIN, SYS_openat, (unsigned long)AT_FDCWD,
			       (unsigned long)"/etc/passwd", O_RDWR, &err), 1);
	assert_int_equal(err, EACCES);
	allowed(SOFT_RST, SANDBOX_MAIN, SYS_openat, (unsigned long)AT_FDCWD, 0, O_RDONLY);
	trapped(SOFT_RST, SANDBOX_MAIN, SYS_openat, (unsigned long)AT_FDCWD, 0, O_RDWR);
	allowed(KVM_RST, SANDBOX_MAIN, SYS_openat, (unsigned long)AT_FDCWD, 0, O_RDWR);
	trapped(KVM_RST, SANDBOX_MAIN, SYS_openat, (unsigned long)AT_FDCWD, 0, O_WRONLY | O_CREAT);
	trapped(KVM_RST, SANDBOX_MAIN, SYS_openat, (unsigned long)AT_FDCWD, 0, O_RDWR | O_TRUNC);
	/* Threads, never processes; clone3 (flags out of reach) says ENOSYS. */
	trapped(SOFT_RST, SANDBOX_MAIN, SYS_clone, SIGCHLD, 0, 0);
	trapped(SOFT, SANDBOX_MAIN, SYS_clone, CLONE_THREAD, 0, 0);
	assert_int_equal(probe(SOFT_RST, SANDBOX_MAIN, SYS_clone3, 0, 0, 0, &err), 1);
	assert_int_equal(err, ENOSYS);
	/* Terminal modes with stdio only; KVM setup only to rebuild on reset. */
	allowed(KVM_STDIO, SANDBOX_MAIN, SYS_ioctl, (unsigned long)-1, TCSETS, 0);
	trapped(KVM, SANDBOX_MAIN, SYS_ioctl, (unsigned long)-1, TCSETS, 0);
	trapped(KVM_STDIO, SANDBOX_MAIN, SYS_ioctl, (unsigned long)-1, TIOCSTI, 0);
	allowed(KVM, SANDBOX_MAIN, SYS_ioctl, (unsigned long)-1, KVM_IRQ_LINE, 0);
	trapped(KVM, SANDBOX_MAIN, SYS_ioctl, (unsigned long)-1, KVM_RUN, 0);
	trapped(KVM, SANDBOX_MAIN, SYS_ioctl, (unsigned long)-1, KVM_CREATE_VM, 0);
	allowed(KVM_RST, SANDBOX_MAIN, SYS_ioctl, (unsigned long)-1, KVM_CREATE_VM, 0);
	/* Respawned vCPU threads start under main's filter. */
	allowed(KVM_RST, SANDBOX_MAIN, SYS_ioctl, (unsigned long)-1, KVM_RUN, 0);
	allowed(SOFT, SANDBOX_MAIN, SYS_epoll_wait, (unsigned long)-1, 0, 0);
	allowed(SOFT, SANDBOX_MAIN, SYS_accept4, (unsigned long)-1, 0, 0);
	trapped(SOFT, SANDBOX_MAIN, SYS_prctl, 4 /* PR_SET_DUMPABLE */, 0, 0);
}

static void test_writer_io_api(void **state)
{
	(void)state;
	allowed(SOFT, SANDBOX_WRITER, SYS_poll, 0, 0, 0);
	allowed(SOFT, SANDBOX_WRITER, SYS_sendto, (unsigned long)-1, 0, 0);
	trapped(SOFT, SANDBOX_WRITER, SYS_read, (unsigned long)-1, 0, 0);
	trapped(KVM, SANDBOX_WRITER, SYS_ioctl, (unsigned long)-1, KVM_RUN, 0);
	allowed(SOFT, SANDBOX_IO, SYS_io_uring_enter, (unsigned long)-1, 0, 0);
	allowed(SOFT, SANDBOX_IO, SYS_pwrite64, (unsigned long)-1, 0, 0);
	allowed(KVM, SANDBOX_IO, SYS_ioctl, (unsigned long)-1, KVM_IRQ_LINE, 0);
	trapped(KVM, SANDBOX_IO, SYS_ioctl, (unsigned long)-1, KVM_RUN, 0);
	trapped(SOFT, SANDBOX_IO, SYS_accept4, (unsigned long)-1, 0, 0);
	allowed(SOFT, SANDBOX_API, SYS_accept4, (unsigned long)-1, 0, 0);
	/* What libmicrohttpd in external epoll mode does (api_server.c). */
	allowed(SOFT, SANDBOX_API, SYS_poll, 0, 0, 0);
	allowed(SOFT, SANDBOX_API, SYS_epoll_wait, (unsigned long)-1, 0, 0);
	allowed(SOFT, SANDBOX_API, SYS_recvfrom, (unsigned long)-1, 0, 0);
	allowed(SOFT, SANDBOX_API, SYS_sendmsg, (unsigned long)-1, 0, 0);
	allowed(SOFT, SANDBOX_API, SYS_shutdown, (unsigned long)-1, 0, 0);
	/* Nothing else: no reads of files, no socket options, no new sockets. */
	trapped(SOFT, SANDBOX_API, SYS_read, (unsigned long)-1, 0, 0);
	trapped(SOFT, SANDBOX_API, SYS_setsockopt, (unsigned long)-1, 0, 0);
	trapped(SOFT, SANDBOX_API, SYS_socket, AF_UNIX, SOCK_STREAM, 0);
	trapped(SOFT, SANDBOX_API, SYS_fcntl, (unsigned long)-1, 0, 0);
	trapped(SOFT, SANDBOX_API, SYS_io_uring_enter, (unsigned long)-1, 0, 0);
	trapped(KVM, SANDBOX_API, SYS_ioctl, (unsigned long)-1, KVM_RUN, 0);
}

/* Conditions other branches' devices need: drives, user networking. */
static void test_blk_slirp(void **state)
{
	(void)state;
	const struct sandbox blk = { .enabled = true, .blk = true, .selftest = -1 };
	const struct sandbox slirp = { .enabled = true, .slirp = true, .selftest = -1 };
	allowed(blk, SANDBOX_VCPU, SYS_io_uring_enter, (unsigned long)-1, 0, 0);
	allowed(blk, SANDBOX_MAIN, SYS_fdatasync, (unsigned long)-1, 0, 0);
	trapped(SOFT, SANDBOX_VCPU, SYS_io_uring_enter, (unsigned long)-1, 0, 0);
	trapped(SOFT, SANDBOX_MAIN, SYS_fdatasync, (unsigned long)-1, 0, 0);
	allowed(slirp, SANDBOX_MAIN, SYS_socket, AF_INET, SOCK_STREAM, 0);
	allowed(slirp, SANDBOX_MAIN, SYS_socket, AF_INET6, SOCK_DGRAM, 0);
	trapped(slirp, SANDBOX_MAIN, SYS_socket, AF_UNIX, SOCK_STREAM, 0);
	trapped(slirp, SANDBOX_MAIN, SYS_socket, AF_NETLINK, SOCK_RAW, 0);
	trapped(slirp, SANDBOX_VCPU, SYS_socket, AF_INET, SOCK_STREAM, 0);
	trapped(SOFT, SANDBOX_MAIN, SYS_connect, (unsigned long)-1, 0, 0);
}

/* The translator's caches, re-created on the main thread on reset: an
 * executable view is allowed there, never a writable and executable one;
 * vsock and virtio-net: unix sockets and event-loop registrations. */
static void test_jit_netdev_vsock(void **state)
{
	(void)state;
	const struct sandbox jit_rst = { .enabled = true, .jit = true, .respawn = true,
					 .selftest = -1 };
	const struct sandbox jit = { .enabled = true, .jit = true, .selftest = -1 };
	const struct sandbox net = { .enabled = true, .netdev = true, .selftest = -1 };
	const struct sandbox vsock = { .enabled = true, .netdev = true, .vsock = true,
				       .selftest = -1 };
	allowed(jit_rst, SANDBOX_MAIN, SYS_mmap, 0, 0, PROT_READ | PROT_EXEC);
	allowed(jit_rst, SANDBOX_MAIN, SYS_memfd_create, 0, 0, 0);
	trapped(jit_rst, SANDBOX_MAIN, SYS_mmap, 0, 4096, PROT_READ | PROT_WRITE | PROT_EXEC);
	trapped(jit_rst, SANDBOX_MAIN, SYS_mprotect, 0, 4096, PROT_READ | PROT_EXEC);
	trapped(jit_rst, SANDBOX_VCPU, SYS_mmap, 0, 4096, PROT_READ | PROT_EXEC);
	trapped(jit, SANDBOX_MAIN, SYS_mmap, 0, 4096, PROT_READ | PROT_EXEC);
	allowed(net, SANDBOX_VCPU, SYS_epoll_ctl, (unsigned long)-1, 0, 0);
	trapped(SOFT, SANDBOX_VCPU, SYS_epoll_ctl, (unsigned long)-1, 0, 0);
	trapped(net, SANDBOX_VCPU, SYS_socket, AF_UNIX, SOCK_STREAM, 0);
	allowed(vsock, SANDBOX_VCPU, SYS_socket, AF_UNIX, SOCK_STREAM, 0);
	trapped(vsock, SANDBOX_VCPU, SYS_socket, AF_INET, SOCK_STREAM, 0);
}

static void test_kind_names(void **state)
{
	(void)state;
	for (int k = 0; k < SANDBOX_KINDS; k++)
		assert_int_equal(sandbox_kind_parse(sandbox_kind_name(k)), k);
	assert_int_equal(sandbox_kind_parse("vCPU"), -1);
	assert_int_equal(sandbox_kind_parse(""), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_resolves),
		cmocka_unit_test(test_jit_netdev_vsock),
		cmocka_unit_test(test_kind_names),
		cmocka_unit_test(test_every_kind_basics),
		cmocka_unit_test(test_never),
		cmocka_unit_test(test_vcpu),
		cmocka_unit_test(test_main),
		cmocka_unit_test(test_writer_io_api),
		cmocka_unit_test(test_blk_slirp),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
