/* Terminal raw mode and its restoration.
 *
 * The one place in ringvm with process-wide mutable state, on purpose: the
 * terminal belongs to the process, not to a machine, and atexit() handlers and
 * signal handlers receive no context pointer, so the saved termios has to be
 * reachable from a static.  Only one back end can own the terminal at a time
 * (term_raw_enter() says -EBUSY to a second one).  Everything a signal handler
 * touches is written before the handler is installed, and it only calls
 * async-signal-safe functions (tcsetattr, sigaction, raise). */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "term_restore.h"
#include "ringvm/compiler.h"

/* Always restore on these (chained: the previous action runs afterwards;
 * with the Firecracker command line that is the handler writing the last
 * metrics line for SIGBUS, SIGSEGV, SIGILL, SIGXCPU and SIGXFSZ,
 * src/api/fc_metrics_fatal.c, which then takes the default action). */
static const int term_fatal_signals[] = { SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL,
					  SIGTRAP, SIGSYS, SIGXCPU, SIGXFSZ };
/* Restore on these only if nobody handles them (default action kills us). */
static const int term_default_signals[] = { SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, SIGINT };

#define TERM_NSIG (ARRAY_SIZE(term_fatal_signals) + ARRAY_SIZE(term_default_signals))

static struct {
	atomic_bool raw;                     /* saved is valid and applied */
	atomic_flag atexit_done;
	int fd;
	struct termios saved;
	int sig[TERM_NSIG];
	bool installed[TERM_NSIG];
	struct sigaction old[TERM_NSIG];
} term_state = { .atexit_done = ATOMIC_FLAG_INIT };

/* Async-signal-safe part: put the terminal back. */
static void term_restore_tty(void)
{
	if (atomic_exchange(&term_state.raw, false))
		tcsetattr(term_state.fd, TCSANOW, &term_state.saved);
}

static void term_signal_handler(int sig)
{
	int saved_errno = errno;
	term_restore_tty();
	/* Put back whatever handled the signal before us and deliver it again
	 * (it is blocked until we return; a fault re-faults anyway). */
	for (unsigned i = 0; i < TERM_NSIG; i++)
		if (term_state.installed[i] && term_state.sig[i] == sig) {
			sigaction(sig, &term_state.old[i], NULL);
			term_state.installed[i] = false;
		}
	raise(sig);
	errno = saved_errno;
}

static void term_atexit(void)
{
	term_restore_tty();
}

static void term_install_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = term_signal_handler;
	sigemptyset(&sa.sa_mask);
	unsigned n = 0;
	for (unsigned i = 0; i < ARRAY_SIZE(term_fatal_signals); i++)
		term_state.sig[n++] = term_fatal_signals[i];
	for (unsigned i = 0; i < ARRAY_SIZE(term_default_signals); i++)
		term_state.sig[n++] = term_default_signals[i];
	for (unsigned i = 0; i < TERM_NSIG; i++) {
		int s = term_state.sig[i];
		bool fatal = i < ARRAY_SIZE(term_fatal_signals);
		struct sigaction cur;
		term_state.installed[i] = false;
		if (sigaction(s, NULL, &cur) < 0)
			continue;
		if (!fatal && cur.sa_handler != SIG_DFL)
			continue;  /* someone else handles (or ignores) it */
		term_state.old[i] = cur;
		if (sigaction(s, &sa, NULL) == 0)
			term_state.installed[i] = true;
	}
}

static void term_uninstall_signals(void)
{
	for (unsigned i = 0; i < TERM_NSIG; i++) {
		if (!term_state.installed[i])
			continue;
		struct sigaction cur;
		/* Only undo our own handler; leave one installed since. */
		if (sigaction(term_state.sig[i], NULL, &cur) == 0 &&
		    cur.sa_handler == term_signal_handler)
			sigaction(term_state.sig[i], &term_state.old[i], NULL);
		term_state.installed[i] = false;
	}
}

int term_raw_enter(int fd)
{
	struct termios t;
	if (atomic_load(&term_state.raw))
		return -EBUSY;
	if (tcgetattr(fd, &t) < 0)
		return -errno;
	term_state.fd = fd;
	term_state.saved = t;
	if (!atomic_flag_test_and_set(&term_state.atexit_done) && atexit(term_atexit) != 0)
		return -ENOMEM;

	t.c_iflag &= ~(tcflag_t)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR |
				 ICRNL | IXON);
	t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
	t.c_cflag &= ~(tcflag_t)(CSIZE | PARENB);
	t.c_cflag |= CS8;
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;

	atomic_store(&term_state.raw, true);
	term_install_signals();
	if (tcsetattr(fd, TCSANOW, &t) < 0) {
		int e = errno;
		atomic_store(&term_state.raw, false);
		term_uninstall_signals();
		return -e;
	}
	return 0;
}

void term_raw_leave(void)
{
	term_restore_tty();
	term_uninstall_signals();
}
