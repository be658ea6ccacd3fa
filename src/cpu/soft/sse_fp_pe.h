/* PE for SSE operations with an unmasked overflow/underflow (sse_fp_pe.c). */
#ifndef RINGVM_SOFT_SSE_FP_PE_H
#define RINGVM_SOFT_SSE_FP_PE_H

#include <stdbool.h>

#include "cpu.h"

/* kind = operation | shape; 0 = not recomputed. */
enum {
	PE_ADD = 1, PE_SUB, PE_MUL, PE_DIV, PE_SQRT, PE_HADD, PE_HSUB, PE_ADDSUB, PE_CVT_D2S,
	PE_OP_MASK = 0x0f,
	PE_PS = 0x10, PE_PD = 0x20, PE_SS = 0x30, PE_SD = 0x40,
	PE_SHAPE_MASK = 0xf0,
};

/* Would any lane of op(d, s) be inexact when rounded with an unbounded
 * exponent (guest RC, DAZ)? */
bool sse_pe_unbounded(const struct soft_cpu *cpu, unsigned kind,
		      const union soft_xmm *d, const union soft_xmm *s);

#endif
