/* The error-buffer convention: a function that can fail takes (char *err,
 * size_t n), writes one line saying why into it and returns -1.  err_set
 * does both, so a failure path is one statement:
 *     return err_set(err, n, "%s: cannot open (%s)", path, strerror(errno)); */
#ifndef RINGVM_ERRBUF_H
#define RINGVM_ERRBUF_H

#include <stddef.h>

#include "ringvm/compiler.h"

int err_set(char *err, size_t n, const char *fmt, ...) PRINTF_FMT(3, 4);

#endif
