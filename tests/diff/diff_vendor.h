/* Results the architecture leaves to the implementation and that differ
 * between CPU vendors or generations, so that the host cannot be the
 * reference for them.  Each rule names the instruction, the condition and
 * the bits left out of the comparison, with its source; everything else
 * is compared exactly.  The soft CPU's own choice for these cases is
 * checked against the SDM elsewhere (diff_edges.c, unit tests).
 * docs/soft-cpu-verification.md lists the rules. */
#ifndef RINGVM_DIFF_VENDOR_H
#define RINGVM_DIFF_VENDOR_H

#include <stdint.h>
#include <stdio.h>

#include "diff_state.h"

/* For the case c and the native result nat, set cmp[i] to the bits of
 * GPR i that are compared (all ones unless a rule applies).  Returns the
 * name of the rule that applied, or NULL. */
const char *diff_vendor_gpr_masks(const struct diff_case *c, const struct diff_result *nat,
				  uint64_t cmp[GPR_COUNT]);

/* Clear, in both memory images (native a, soft b), the x87 pointer
 * fields of a stored x87 environment (FNSTENV, FNSAVE, FXSAVE, XSAVE) that
 * this host's CPU leaves out: Intel cores with CPUID.(7,0):EBX[13] store
 * FCS and FDS as zero, and with EBX[6] update FDP only on unmasked x87
 * exceptions.  The soft CPU models a core with neither (its CPUID says
 * so).  Returns the name of the rule that applied, or NULL. */
const char *diff_vendor_x87_env_mask(const struct diff_case *c, uint8_t *a, uint8_t *b);
/* Non-zero when this host has either bit, i.e. when the mask can apply. */
unsigned diff_vendor_x87_ptr_bits(void);

/* One line naming the host the run is made on (vendor, family/model,
 * XCR0, the extensions that change what the harness can run). */
void diff_vendor_print_host(FILE *out);

#endif
