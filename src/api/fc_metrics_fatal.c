/* The last metrics line of a process ended by a fatal signal
 * (include/ringvm/fatal_metrics.h, docs/api.md "Metrics").  After
 * Firecracker's signal handlers (src/vmm/src/signal_handler.rs there): the
 * signal's counter is 1 in a last line written just before the process
 * ends.  The line holds utc_timestamp_ms and Firecracker's "seccomp" and
 * "signals" groups only: the other groups' increases would need the JSON
 * writer and the VM's locks, which a signal handler must not touch.
 *
 * Everything the handler reads is written before it can run (the bodies
 * by fatal_metrics_install, before the handlers are installed) or is an
 * atomic (the file).  The handler calls only async-signal-safe functions:
 * clock_gettime, write, raise. */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ringvm/compiler.h"
#include "ringvm/fatal_metrics.h"
#include "ringvm/sandbox.h"

/* The signals with a counter, in the order of the bodies. */
static const int fatal_signals[] = { SIGSYS, SIGBUS, SIGSEGV, SIGXFSZ, SIGXCPU, SIGILL };
#define FATAL_NSIG ARRAY_SIZE(fatal_signals)

static struct {
	atomic_int fd;                   /* the metrics file, -1: none */
	atomic_flag written;             /* one last line per process */
	atomic_bool ready;               /* bodies formatted */
	char body[FATAL_NSIG][256];      /* the line after the timestamp */
	size_t len[FATAL_NSIG];
} fatal_state = { .fd = -1, .written = ATOMIC_FLAG_INIT };

/* The line's groups with the counter of signal i at 1, Firecracker's
 * layout (fc_metrics.c writes the same groups, at 0, in every line). */
static void fatal_bodies_format(void)
{
	if (atomic_load(&fatal_state.ready))
		return;
	for (unsigned i = 0; i < FATAL_NSIG; i++) {
		int s = fatal_signals[i];
		int n = snprintf(fatal_state.body[i], sizeof(fatal_state.body[i]),
				 ",\"seccomp\":{\"num_faults\":%d},\"signals\":{\"sigbus\":%d,"
				 "\"sigsegv\":%d,\"sigxfsz\":%d,\"sigxcpu\":%d,\"sigpipe\":0,"
				 "\"sighup\":0,\"sigill\":%d}}\n",
				 s == SIGSYS, s == SIGBUS, s == SIGSEGV, s == SIGXFSZ, s == SIGXCPU,
				 s == SIGILL);
		fatal_state.len[i] = n > 0 && (size_t)n < sizeof(fatal_state.body[i]) ? (size_t)n : 0;
	}
	atomic_store(&fatal_state.ready, true);
}

void fatal_metrics_arm(int fd)
{
	fatal_bodies_format();
	atomic_store(&fatal_state.fd, fd);
}

static size_t put_u64(char *buf, size_t pos, uint64_t v)
{
	char tmp[24];
	int n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		buf[pos++] = tmp[--n];
	return pos;
}

void fatal_metrics_write(int sig)
{
	int fd = atomic_load(&fatal_state.fd);
	if (fd < 0 || !atomic_load(&fatal_state.ready))
		return;
	unsigned i = 0;
	while (i < FATAL_NSIG && fatal_signals[i] != sig)
		i++;
	if (i == FATAL_NSIG || !fatal_state.len[i] || atomic_flag_test_and_set(&fatal_state.written))
		return;
	int saved_errno = errno;
	char line[320];
	static const char head[] = "{\"utc_timestamp_ms\":";
	size_t p = sizeof(head) - 1;
	memcpy(line, head, p);
	struct timespec now;
	if (clock_gettime(CLOCK_REALTIME, &now) < 0)
		now.tv_sec = now.tv_nsec = 0;
	p = put_u64(line, p, (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000);
	memcpy(line + p, fatal_state.body[i], fatal_state.len[i]);
	p += fatal_state.len[i];
	/* One write, as every metrics line (the file is O_NONBLOCK: a full
	 * pipe loses it rather than hold up the end). */
	ssize_t w = write(fd, line, p);
	(void)w;
	errno = saved_errno;
}

static void fatal_handler(int sig, siginfo_t *si, void *uc)
{
	(void)si;
	(void)uc;
	int saved_errno = errno;
	fatal_metrics_write(sig);
	/* SA_RESETHAND has put the default action back: the signal, sent
	 * again (pending until this returns), ends the process as it would
	 * have without the handler; a fault would also fault again. */
	raise(sig);
	errno = saved_errno;
}

int fatal_metrics_install(void)
{
	fatal_bodies_format();
	/* The sanitizer runtimes handle SIGSEGV and SIGBUS themselves (their
	 * reports): leave them theirs, as the filters are left off there. */
	if (sandbox_sanitizer_build())
		return 0;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = fatal_handler;
	sa.sa_flags = SA_SIGINFO | SA_RESETHAND;
	sigfillset(&sa.sa_mask);
	for (unsigned i = 0; i < FATAL_NSIG; i++) {
		if (fatal_signals[i] == SIGSYS)
			continue;  /* the seccomp handler's */
		if (sigaction(fatal_signals[i], &sa, NULL) < 0)
			return -errno;
	}
	return 0;
}
