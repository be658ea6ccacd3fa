/* PE for SSE operations with an unmasked overflow/underflow (sse_fp_pe.c). */
#ifndef RINGVM_SOFT_SSE_FP_PE_H
#define RINGVM_SOFT_SSE_FP_PE_H


/* kind = operation | shape; 0 = not recomputed. */
enum {
	PE_ADD = 1, PE_SUB, PE_MUL, PE_DIV, PE_SQRT, PE_HADD, PE_HSUB, PE_ADDSUB, PE_CVT_D2S,
	PE_OP_MASK = 0x0f,
	PE_PS = 0x10, PE_PD = 0x20, PE_SS = 0x30, PE_SD = 0x40,
	PE_SHAPE_MASK = 0xf0,
};

/* sse_pe_fix(cpu, fn, kind, d, s), declared in sse_common.h: the PE
 * flag of op(d, s) when an overflow/underflow exception is unmasked.  Per
 * result lane: lanes with an unmasked overflow/underflow condition report
 * PE of the result rounded with an unbounded exponent, the others their
 * usual PE. */

#endif
