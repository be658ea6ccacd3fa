/* Raw mode for the controlling terminal, restored on every way out of the
 * process: chardev destroy, exit() (atexit), and fatal signals. */
#ifndef RINGVM_BACKEND_TERM_RESTORE_H
#define RINGVM_BACKEND_TERM_RESTORE_H

/* Put the terminal on fd in raw mode (no echo, no line editing, no signal
 * keys; output post-processing kept so "\n" still returns the carriage).
 * -EBUSY if a terminal is already raw (one per process), -errno otherwise. */
int term_raw_enter(int fd);
/* Restore the saved settings and the previous signal handlers; idempotent. */
void term_raw_leave(void);

#endif
