/* Mode checks: #UD/#NM/#XM of x87, MMX, SSE and XSAVE instructions under
 * CR0.EM/TS/MP and CR4.OSFXSR/OSXMMEXCPT/OSXSAVE, on the soft CPU only
 * (the host cannot change its control registers), against the SDM. */
#ifndef RINGVM_DIFF_MODES_H
#define RINGVM_DIFF_MODES_H

#include "soft_exec.h"

/* Prints one line per check; returns the number of failures. */
int diff_modes_run(struct soft_exec *se);

#endif
