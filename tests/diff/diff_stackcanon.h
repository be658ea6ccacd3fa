/* Non-canonical RSP, checked on the soft CPU only against the SDM.
 *
 * Some hosts refuse to return to user mode with a non-canonical RSP (the
 * sigreturn raises #GP before the instruction runs), so the random
 * generator keeps RSP canonical for the native side (diff_gen.c) and the
 * native executor refuses any other case.  A non-canonical RSP is still a
 * legitimate state for the soft CPU: it faults only when used as an
 * address, with #SS(0) (SDM vol. 2, "64-Bit Mode Exceptions": "#SS(0) If
 * a memory address referencing the SS segment is in a non-canonical
 * form"), and is an ordinary register otherwise. */
#ifndef RINGVM_DIFF_STACKCANON_H
#define RINGVM_DIFF_STACKCANON_H

#include "soft_exec.h"

/* Prints one line per check; returns the number of failures. */
int diff_stackcanon_run(struct soft_exec *se);

#endif
