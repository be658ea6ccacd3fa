/* The last metrics line of a process ended by a fatal signal
 * (src/api/fc_metrics_fatal.c, docs/api.md "Metrics").
 *
 * Firecracker's signal handlers (src/vmm/src/signal_handler.rs there) set
 * the signal's counter (seccomp.num_faults for a forbidden system call;
 * signals.sigbus, sigsegv, sigxfsz, sigxcpu, sigill), write the metrics
 * once more and end the process.  ringvm does the same in
 * async-signal-safe code: the line's groups are formatted when the metrics
 * file is set (fatal_metrics_arm), the handler adds the time and makes one
 * write(2).  Process-wide on purpose, as the terminal's restoration is
 * (src/backend/term_restore.c): a signal handler gets no context pointer,
 * and the process has one metrics file. */
#ifndef RINGVM_FATAL_METRICS_H
#define RINGVM_FATAL_METRICS_H

/* The metrics file to write the last line to (-1: none, nothing is
 * written).  Call from one thread (the Firecracker front end's main). */
void fatal_metrics_arm(int fd);

/* Async-signal-safe: write the last line for sig (SIGSYS: a forbidden
 * system call) to the armed file, once per process; nothing when none is
 * armed or sig has no counter. */
void fatal_metrics_write(int sig);

/* Install handlers for SIGBUS, SIGSEGV, SIGILL, SIGXFSZ and SIGXCPU that
 * write the line, then end the process with the signal's default action
 * (the exit status, and a core dump where the host makes one, stay as
 * before).  SIGSYS is the seccomp handler's (src/sandbox/seccomp.c), which
 * calls fatal_metrics_write itself.  0 or -errno. */
int fatal_metrics_install(void);

#endif
