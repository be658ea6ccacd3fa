/* The instruction form tables, one file per family. */
#ifndef RINGVM_DIFF_FORMS_H
#define RINGVM_DIFF_FORMS_H

#include <stddef.h>

#include "diff_gen.h"

const struct diff_form *diff_forms_int_get(size_t *n);
const struct diff_form *diff_forms_fp_get(size_t *n);
const struct diff_form *diff_forms_avx_get(size_t *n);

#endif
