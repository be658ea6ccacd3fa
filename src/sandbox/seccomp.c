/* Building and installing the per-thread-kind seccomp-bpf filters with
 * libseccomp, and the SIGSYS handler that names a forbidden call
 * (docs/sandbox.md).  The allowlists are in seccomp_table.c. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ringvm/fatal_metrics.h"
#include "ringvm/log.h"
#include "ringvm/vm.h"
#include "ringvm_config.h"
#include "sandbox_priv.h"

static const char *const kind_names[SANDBOX_KINDS] = {
	[SANDBOX_MAIN] = "main", [SANDBOX_VCPU] = "vcpu", [SANDBOX_WRITER] = "writer",
	[SANDBOX_IO] = "io", [SANDBOX_API] = "api",
};

const char *sandbox_kind_name(enum sandbox_kind kind)
{
	return (unsigned)kind < SANDBOX_KINDS ? kind_names[kind] : "unknown";
}

int sandbox_kind_parse(const char *s)
{
	for (int k = 0; s && k < SANDBOX_KINDS; k++)
		if (!strcmp(s, kind_names[k]))
			return k;
	return -1;
}

bool sandbox_sanitizer_build(void)
{
#if RINGVM_SANITIZER || defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
	return true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
	__has_feature(memory_sanitizer) || __has_feature(undefined_behavior_sanitizer)
	return true;
#else
	return false;
#endif
#else
	return false;
#endif
}

void sandbox_init(struct sandbox *sb, const struct vm_config *cfg, const char *engine)
{
	memset(sb, 0, sizeof(*sb));
	sb->enabled = !cfg->no_seccomp;
	sb->kvm = engine && !strcmp(engine, "kvm");
	sb->respawn = cfg->on_reset == ON_RESET_RESTART;
	sb->stdio = cfg->serial == SERIAL_STDIO;
	sb->blk = cfg->nr_drives > 0;
	for (unsigned i = 0; i < cfg->nr_nets && i < VM_MAX_NETS; i++)
		if (cfg->nets[i].kind == VM_NET_USER)
			sb->slirp = true;
	sb->vsock = cfg->vsock.enabled;
	sb->jit = cfg->soft_jit && engine && !strcmp(engine, "soft");
	sb->netdev = cfg->nr_nets > 0 || sb->vsock;
	sb->snapshot = cfg->snapshots;
	sb->selftest = cfg->seccomp_selftest;
	if (sb->enabled && sandbox_sanitizer_build()) {
		/* The sanitizer runtimes make calls of their own at any time
		 * (LeakSanitizer stops the world with clone and ptrace, reports
		 * read /proc/self/maps): no list could hold them safely. */
		pr_info("seccomp: filters off in this sanitizer build (docs/sandbox.md)");
		sb->enabled = false;
	}
	/* Read the time zone now: glibc opens /etc/localtime on first use
	 * (timegm in the RTC, on a vCPU thread, where open is forbidden). */
	tzset();
}

/* ---- the SIGSYS handler ------------------------------------------------ */

/* The kind of the calling thread, for the handler (thread-local: a thread
 * has one kind; no machine state). */
static _Thread_local int sandbox_thread_kind = -1;

/* System-call names for the handler, resolved before any filter is loaded
 * (libseccomp allocates, which a signal handler must not). */
#define SANDBOX_NAMES 512
static char sandbox_names[SANDBOX_NAMES][24];
static pthread_once_t sandbox_names_once = PTHREAD_ONCE_INIT;

static void sandbox_names_init(void)
{
	for (int nr = 0; nr < SANDBOX_NAMES; nr++) {
		char *n = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
		if (n) {
			snprintf(sandbox_names[nr], sizeof(sandbox_names[nr]), "%s", n);
			free(n);
		}
	}
}

static size_t put_str(char *buf, size_t pos, size_t cap, const char *s)
{
	while (*s && pos + 1 < cap)
		buf[pos++] = *s++;
	return pos;
}

static size_t put_num(char *buf, size_t pos, size_t cap, long v)
{
	char tmp[24];
	int n = 0;
	unsigned long u = v < 0 ? 0UL - (unsigned long)v : (unsigned long)v;
	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u && n < (int)sizeof(tmp));
	if (v < 0 && pos + 1 < cap)
		buf[pos++] = '-';
	while (n && pos + 1 < cap)
		buf[pos++] = tmp[--n];
	return pos;
}

/* The process ends with exit_group(2) itself: _exit() may be a sanitizer's
 * interceptor (LeakSanitizer's check at exit makes calls of its own). */
static void sandbox_exit(int status)
{
	syscall(SYS_exit_group, status);
	_exit(status);  /* not reached */
}

/* Async-signal-safe: fixed buffers, write(2), clock_gettime, exit_group(2). */
static void sandbox_sigsys(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	char buf[192];
	size_t p = 0, cap = sizeof(buf);
	int nr = si->si_syscall;
	const char *name = nr >= 0 && nr < SANDBOX_NAMES && sandbox_names[nr][0]
				   ? sandbox_names[nr] : "?";
	p = put_str(buf, p, cap, "ringvm: seccomp: forbidden system call ");
	p = put_str(buf, p, cap, name);
	p = put_str(buf, p, cap, " (");
	p = put_num(buf, p, cap, nr);
	const char *kind = sandbox_thread_kind >= 0 ? kind_names[sandbox_thread_kind]
						    : "new (creator's filter)";
	p = put_str(buf, p, cap, kind[0] == 'a' || kind[0] == 'i' ? ") on an " : ") on a ");  /* api, io */
	p = put_str(buf, p, cap, kind);
	p = put_str(buf, p, cap, " thread (docs/sandbox.md: --no-seccomp turns the filters off)\n");
	ssize_t r = write(STDERR_FILENO, buf, p);
	(void)r;
	/* Firecracker's last metrics line, seccomp.num_faults 1 (where a
	 * metrics file is set: the Firecracker command line). */
	fatal_metrics_write(SIGSYS);
	sandbox_exit(SANDBOX_EXIT_FORBIDDEN);
}

static int sandbox_sigsys_install(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = sandbox_sigsys;
	sa.sa_flags = SA_SIGINFO;
	sigfillset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0)
		return -errno;
	/* A SIGSYS that arrives blocked is delivered with the default
	 * action (a core dump, no message): unblock it on this thread. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGSYS);
	return -pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

/* ---- building a filter ------------------------------------------------- */

static bool rule_applies_to(const struct sandbox_rule *r, const struct sandbox *sb,
			    unsigned kinds)
{
	if (!(r->kinds & kinds))
		return false;
	unsigned have = (sb->kvm ? SB_IF_KVM : 0) | (sb->respawn ? SB_IF_RESPAWN : 0) |
			(sb->stdio ? SB_IF_STDIO : 0) | (sb->blk ? SB_IF_BLK : 0) |
			(sb->slirp ? SB_IF_SLIRP : 0) | (sb->netdev ? SB_IF_NETDEV : 0) |
			(sb->vsock ? SB_IF_VSOCK : 0) | (sb->jit ? SB_IF_JIT : 0) |
			(sb->snapshot ? SB_IF_SNAPSHOT : 0);
	return (r->when & have) == r->when;
}

static bool is_refusal(const struct sandbox_rule *r)
{
	return r->arg == SB_ARG_EACCES || r->arg == SB_ARG_ENOSYS;
}

/* A refusal line (an error, not a trap) gives way where the same kind has
 * a line allowing the call under the sandbox's conditions (main's openat:
 * refused by default, allowed read-only with respawn, allowed for
 * snapshots). */
static bool refusal_overridden(const struct sandbox_rule *r, const struct sandbox *sb,
			       unsigned kinds)
{
	for (size_t i = 0; i < sandbox_nr_rules; i++)
		if (&sandbox_rules[i] != r && sandbox_rules[i].nr == r->nr &&
		    !is_refusal(&sandbox_rules[i]) && rule_applies_to(&sandbox_rules[i], sb, kinds))
			return true;
	return false;
}

static bool rule_applies(const struct sandbox_rule *r, const struct sandbox *sb,
			 enum sandbox_kind kind)
{
	if (rule_applies_to(r, sb, 1u << kind))
		return !is_refusal(r) || !refusal_overridden(r, sb, 1u << kind);
	/* Respawned vCPU threads inherit main's filter: main also holds the
	 * vCPU lines; where a vCPU line refuses a call (an error, not a trap)
	 * and main has lines of its own for it, main's decide (openat). */
	if (kind != SANDBOX_MAIN || !sb->respawn || !rule_applies_to(r, sb, SB_VCPU))
		return false;
	if (r->arg != SB_ARG_EACCES && r->arg != SB_ARG_ENOSYS)
		return true;
	for (size_t i = 0; i < sandbox_nr_rules; i++)
		if (sandbox_rules[i].nr == r->nr && rule_applies_to(&sandbox_rules[i], sb, SB_MAIN))
			return false;
	return true;
}

/* A comparison with every field set (libseccomp's SCMP_A* macros leave
 * datum_b out for plain comparisons, which clang's warnings flag). */
static struct scmp_arg_cmp arg_eq(unsigned arg, scmp_datum_t v)
{
	return (struct scmp_arg_cmp){ .arg = arg, .op = SCMP_CMP_EQ, .datum_a = v, .datum_b = 0 };
}

static struct scmp_arg_cmp arg_masked(unsigned arg, scmp_datum_t mask, scmp_datum_t v)
{
	return (struct scmp_arg_cmp){ .arg = arg, .op = SCMP_CMP_MASKED_EQ, .datum_a = mask, .datum_b = v };
}

static int add_rule(scmp_filter_ctx ctx, const struct sandbox_rule *r, const struct sandbox *sb)
{
	const uint32_t allow = SCMP_ACT_ALLOW;
	int e = 0;
	switch (r->arg) {
	case SB_ARG_ANY:
		return seccomp_rule_add(ctx, allow, r->nr, 0);
	case SB_ARG_NO_EXEC:
		return seccomp_rule_add(ctx, allow, r->nr, 1,
					arg_masked(2, PROT_EXEC, 0));
	case SB_ARG_IOCTL:
		/* The request is 32 bits in the kernel (KVM and tty numbers). */
		for (size_t i = 0; i < r->ioctls->n && !e; i++)
			e = seccomp_rule_add(ctx, allow, r->nr, 1,
					     arg_masked(1, 0xffffffffu, r->ioctls->req[i]));
		return e;
	case SB_ARG_OPEN_RO: {
		const scmp_datum_t mask = O_ACCMODE | O_CREAT | O_TRUNC;
		e = seccomp_rule_add(ctx, allow, r->nr, 1, arg_masked(2, mask, O_RDONLY));
		if (!e && sb->kvm)  /* /dev/kvm, opened again by a reset */
			e = seccomp_rule_add(ctx, allow, r->nr, 1, arg_masked(2, mask, O_RDWR));
		return e;
	}
	case SB_ARG_SELF:
		return seccomp_rule_add(ctx, allow, r->nr, 1,
					arg_eq(0, (scmp_datum_t)getpid()));
	case SB_ARG_THREAD:
		return seccomp_rule_add(ctx, allow, r->nr, 1,
					arg_masked(0, CLONE_THREAD, CLONE_THREAD));
	case SB_ARG_ENOSYS:
		return seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), r->nr, 0);
	case SB_ARG_EACCES:
		return seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), r->nr, 0);
	case SB_ARG_INET:
		e = seccomp_rule_add(ctx, allow, r->nr, 1, arg_eq(0, AF_INET));
		if (!e)
			e = seccomp_rule_add(ctx, allow, r->nr, 1, arg_eq(0, AF_INET6));
		return e;
	case SB_ARG_EXEC_NO_WRITE:
		return seccomp_rule_add(ctx, allow, r->nr, 1,
					arg_masked(2, PROT_WRITE | PROT_EXEC, PROT_EXEC));
	case SB_ARG_UNIX:
		return seccomp_rule_add(ctx, allow, r->nr, 1, arg_eq(0, AF_UNIX));
	case SB_ARG_PRCTL_SECCOMP:
		e = seccomp_rule_add(ctx, allow, r->nr, 1, arg_eq(0, PR_SET_NO_NEW_PRIVS));
		if (!e)
			e = seccomp_rule_add(ctx, allow, r->nr, 1, arg_eq(0, PR_SET_SECCOMP));
		if (!e)
			e = seccomp_rule_add(ctx, allow, r->nr, 1, arg_eq(0, PR_GET_SECCOMP));
		return e;
	}
	return -EINVAL;
}

static scmp_filter_ctx sandbox_build(const struct sandbox *sb, enum sandbox_kind kind)
{
	/* Anything not allowed traps into sandbox_sigsys. */
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
	if (!ctx)
		return NULL;
	for (size_t i = 0; i < sandbox_nr_rules; i++) {
		const struct sandbox_rule *r = &sandbox_rules[i];
		if (!rule_applies(r, sb, kind))
			continue;
		int e = add_rule(ctx, r, sb);
		if (e < 0) {
			pr_err("seccomp: cannot add the rule for %s to the %s filter: %s", r->name,
			       kind_names[kind], strerror(-e));
			seccomp_release(ctx);
			return NULL;
		}
	}
	return ctx;
}

/* The test hook: a call this kind may never make, harmless were it let
 * through. */
static void selftest_call(enum sandbox_kind kind)
{
	long r;
	const char *what;
	if (kind == SANDBOX_VCPU) {
		what = "socket";
		r = syscall(SYS_socket, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	} else {
		what = "execve";
		r = syscall(SYS_execve, "/nonexistent/ringvm-seccomp-selftest", NULL, NULL);
	}
	pr_err("seccomp self-test: %s was not stopped on a %s thread (returned %ld)", what,
	       kind_names[kind], r);
	if (r >= 0 && kind == SANDBOX_VCPU)
		close((int)r);
}

static int sandbox_load(const struct sandbox *sb, enum sandbox_kind kind)
{
	pthread_once(&sandbox_names_once, sandbox_names_init);
	int e = sandbox_sigsys_install();
	if (e < 0) {
		pr_err("seccomp: cannot install the SIGSYS handler: %s", strerror(-e));
		return e;
	}
	scmp_filter_ctx ctx = sandbox_build(sb, kind);
	if (!ctx)
		return -ENOMEM;
	e = seccomp_load(ctx);  /* sets no_new_privs first */
	seccomp_release(ctx);
	if (e < 0) {
		pr_err("seccomp: cannot load the %s thread's filter: %s (--no-seccomp runs without)",
		       kind_names[kind], strerror(-e));
		return e;
	}
	sandbox_thread_kind = (int)kind;
	return 0;
}

int sandbox_enter(const struct sandbox *sb, enum sandbox_kind kind)
{
	if (!sb || !sb->enabled)
		return 0;
	if ((unsigned)kind >= SANDBOX_KINDS)
		return -EINVAL;
	int e = sandbox_load(sb, kind);
	/* The API thread makes its call when it handles a request
	 * (api_server.c), to show the filter covers that path. */
	if (e == 0 && kind != SANDBOX_API)
		sandbox_selftest(sb, kind);
	return e;
}

void sandbox_selftest(const struct sandbox *sb, enum sandbox_kind kind)
{
	if (sb && sb->enabled && sb->selftest == (int)kind)
		selftest_call(kind);
}

int sandbox_probe(const struct sandbox *sb, enum sandbox_kind kind, long nr,
		  const unsigned long a[6], int *err)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		struct sandbox s = *sb;
		s.enabled = true;
		s.selftest = -1;
		/* Quiet: the handler's line is expected here. */
		int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (devnull >= 0)
			dup2(devnull, STDERR_FILENO);
		if (sandbox_load(&s, kind) < 0)
			sandbox_exit(130);
		long r = syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
		sandbox_exit(r >= 0 ? 0 : 1 + (errno & 0x7f));  /* below 130: not a trap */
	}
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (WIFEXITED(st) && WEXITSTATUS(st) == SANDBOX_EXIT_FORBIDDEN)
		return 0;
	if (WIFEXITED(st) && WEXITSTATUS(st) < 130) {
		*err = WEXITSTATUS(st) ? WEXITSTATUS(st) - 1 : 0;
		return 1;
	}
	return -EIO;
}
