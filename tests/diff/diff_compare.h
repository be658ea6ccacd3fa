/* Compare a native and a soft result; print a minimal reproduction. */
#ifndef RINGVM_DIFF_COMPARE_H
#define RINGVM_DIFF_COMPARE_H

#include <stdbool.h>
#include <stdio.h>

#include "diff_gen.h"
#include "diff_state.h"

/* RFLAGS bits compared for this case (defined and user-settable). */
uint64_t diff_flags_mask(const struct diff_form *f, const struct diff_gen_info *gi);

enum { DIFF_SAME, DIFF_DIFFERENT, DIFF_KNOWN };

/* DIFF_SAME, DIFF_DIFFERENT, or DIFF_KNOWN (a documented divergence, see
 * diff_known_gap).  When out != NULL and they differ, print the case. */
int diff_compare(const struct diff_form *f, const struct diff_gen_info *gi,
		 const struct diff_case *c, const struct diff_result *nat,
		 const struct diff_result *soft, FILE *out);

void diff_print_case(FILE *out, const struct diff_case *c);
const char *diff_vector_name(int v);

#endif
