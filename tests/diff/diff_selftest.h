/* Self-test of the native executor against a tiny reference model. */
#ifndef RINGVM_DIFF_SELFTEST_H
#define RINGVM_DIFF_SELFTEST_H

#include "native_exec.h"

/* Returns 0 if the native executor agrees with the model. */
int diff_selftest(struct native_exec *ne);

#endif
