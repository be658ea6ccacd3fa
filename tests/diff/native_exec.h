/* Run instruction byte strings natively on the host with a full given
 * architectural state and capture the full state after them.
 *
 * A forked child runs a batch: a signal handler loads each case's state
 * into the interrupted ucontext (GPRs, RIP, RFLAGS, the FXSAVE image) and
 * returns, so sigreturn starts the instruction; the int3 after it (or the
 * fault it raises) lands in the same handler, which snapshots the
 * ucontext into shared memory and loads the next case. */
#ifndef RINGVM_DIFF_NATIVE_EXEC_H
#define RINGVM_DIFF_NATIVE_EXEC_H

#include <stddef.h>

#include "diff_state.h"

#define NATIVE_BATCH_MAX 512u

struct native_exec;

struct native_exec *native_exec_create(void);
void native_exec_destroy(struct native_exec *ne);

/* The case buffer the caller fills (NATIVE_BATCH_MAX entries). */
struct diff_case *native_exec_cases(struct native_exec *ne);

/* Run cases[0..n) and return the results array (n entries, valid until
 * the next call).  Returns NULL only if the child could not be started. */
const struct diff_result *native_exec_run(struct native_exec *ne, size_t n);

/* RFLAGS bits a user-mode sigreturn lets us set (kernel FIX_EFLAGS minus
 * TF, AC and RF, which would change how the instruction runs). */
#define NATIVE_RFLAGS_SETTABLE 0xcd5ULL /* CF PF AF ZF SF DF OF */

#endif
