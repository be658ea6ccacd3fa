/* Block forms of REP MOVS and REP STOS over host memory (rep_fast.c), for
 * the page-wise path of exec_string.c: one run of n elements of sz bytes
 * that lies inside one source and one destination page, given as the host
 * address of its lowest byte, with the result the architecture defines for
 * executing the elements one by one (SDM vol. 2, MOVS/STOS: each element is
 * read, then written, then the pointers move by sz, up with DF=0 and down
 * with DF=1). */
#ifndef RINGVM_SOFT_REP_FAST_H
#define RINGVM_SOFT_REP_FAST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Copy len bytes (a multiple of sz, sz in 1, 2, 4, 8) from src to dst as
 * len / sz elements moved in ascending address order (down = false) or
 * descending (down = true).  The ranges may overlap: where the elements
 * already written are read again (forward with dst above src, backward
 * with dst below src, closer than len) the result repeats the first
 * |dst - src| bytes as the element-wise copy does. */
void soft_rep_copy(uint8_t *dst, const uint8_t *src, size_t len, unsigned sz, bool down);

/* Fill len bytes (a multiple of sz) at dst with the low sz bytes of v,
 * little-endian, one element after another (the order is not visible). */
void soft_rep_fill(uint8_t *dst, size_t len, unsigned sz, uint64_t v);

#endif
