/* The architectural state the differential harness sets before one
 * instruction and captures after it: the same on the native side
 * (native_exec.c) and on the soft CPU side (soft_exec.c). */
#ifndef RINGVM_DIFF_STATE_H
#define RINGVM_DIFF_STATE_H

#include <stdint.h>

#include "ringvm/x86_state.h"

/* Fixed user addresses in the native child (and the same guest-linear
 * addresses for the soft CPU).  Below 4 GiB so that 0x67 (32-bit address
 * size) forms can reach them. */
#define DIFF_CODE_ADDR 0x10000000ULL
#define DIFF_DATA_ADDR 0x10200000ULL
#define DIFF_MEM_SIZE 8192u /* two 4 KiB pages, nothing mapped around them */
#define DIFF_CODE_MAX 20u

/* vector field values besides 0..31 */
#define DIFF_VEC_NONE (-1)   /* ran to completion */
#define DIFF_VEC_CRASH (-2)  /* native child died / timed out */
#define DIFF_VEC_UNSUPP (-3) /* soft CPU: instruction not implemented */

struct diff_state {
	struct x86_regs regs;
	struct x86_fpu fpu; /* fip/fdp/fop are not compared */
	uint8_t ymmh[16][16]; /* YMM bits 255:128 (compared when the host has AVX) */
	uint8_t avx;          /* XCR0 enables AVX (generated cases; 0: x87|SSE only) */
	uint8_t mem[DIFF_MEM_SIZE];
};

struct diff_case {
	uint8_t code[DIFF_CODE_MAX + 4];
	uint8_t len;
	struct diff_state in;
};

struct diff_result {
	int vector;          /* DIFF_VEC_* or the exception vector */
	uint64_t error_code; /* as reported (native: sigcontext err) */
	uint64_t fault_addr; /* CR2 for #PF */
	struct diff_state out;
};

#endif
