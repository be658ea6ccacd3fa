/* Hand-written edge cases for the differential harness. */
#ifndef RINGVM_DIFF_EDGES_H
#define RINGVM_DIFF_EDGES_H

#include <stddef.h>
#include <stdint.h>

#include "diff_state.h"

struct diff_edge {
	const char *name;
	const char *enc;      /* literal bytes in hex (diff_gen template) */
	uint32_t undef;       /* RFLAGS bits undefined for this case */
	uint8_t opsize;
	uint8_t count;        /* shift count, for the record */
	struct {
		uint8_t reg;
		uint64_t v;
	} set[4];             /* GPRs to set over the random background */
	uint8_t nset;
	uint64_t rflags;      /* arithmetic flags to start with */
};

const struct diff_edge *diff_edges_get(size_t *n);

#endif
