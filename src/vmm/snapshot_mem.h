/* The guest memory file of a snapshot (snapshot_mem.c). */
#ifndef RINGVM_SNAPSHOT_MEM_H
#define RINGVM_SNAPSHOT_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ringvm/gmem.h"

struct snap_page_check;

/* Write RAM sparsely to path: bits NULL, every non-zero page (a full
 * snapshot); else the pages marked in bits (gmem_dirty_words words), zero
 * or not (a diff).  pagemap: an open /proc/self/pagemap (vm->pagemap_fd),
 * through which a full snapshot of anonymous RAM skips the pages never
 * touched; -1: every page is read.  *pages: the pages written.  0, or -1
 * with one line in err. */
int snapshot_mem_write(const struct gmem *m, int pagemap, const char *path,
		       const uint64_t *bits, uint64_t *pages, char *err, size_t n);
/* Up to max non-zero pages of RAM, spread over RAM, with their CRC-32
 * (snapshot_sections.h, struct snap_lineage): any (bits NULL), or those
 * marked in bits (in_bits) or not marked; pagemap as for
 * snapshot_mem_write.  Returns how many. */
unsigned snapshot_mem_checks(const struct gmem *m, int pagemap, const uint64_t *bits,
			     bool in_bits, struct snap_page_check *out, unsigned max);

#endif
