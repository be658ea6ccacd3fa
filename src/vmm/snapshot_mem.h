/* The guest memory file of a snapshot (snapshot_mem.c). */
#ifndef RINGVM_SNAPSHOT_MEM_H
#define RINGVM_SNAPSHOT_MEM_H

#include <stddef.h>
#include <stdint.h>

#include "ringvm/gmem.h"

/* Write RAM sparsely to path; *pages: the non-zero pages written.  0, or
 * -1 with one line in err. */
int snapshot_mem_write(const struct gmem *m, const char *path, uint64_t *pages, char *err,
		       size_t n);

#endif
