/* The guest's x87/SSE state as an FXSAVE image (the 512-byte legacy area
 * of FXSAVE/XSAVE), used by FXSAVE/FXRSTOR/XSAVE/XRSTOR (fxsave.c) and to
 * run x87 instructions on the host (x87.c). */
#ifndef RINGVM_SOFT_X87_IMAGE_H
#define RINGVM_SOFT_X87_IMAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu.h"

#define FXIMG_FCW 0
#define FXIMG_FSW 2
#define FXIMG_FTW 4
#define FXIMG_FOP 6
#define FXIMG_FIP 8
#define FXIMG_FDP 16
#define FXIMG_MXCSR 24
#define FXIMG_MXCSR_MASK 28
#define FXIMG_ST 32
#define FXIMG_XMM 160
#define FXIMG_SIZE 512

/* What ringvm reports in MXCSR_MASK (no misaligned-SSE mode). */
#define X87_MXCSR_MASK 0xffffu

static inline unsigned x87_top(const struct soft_cpu *cpu)
{
	return (cpu->fpu.fsw >> 11) & 7;
}

/* x87 part (bytes 0..159): FCW FSW FTW FOP FIP FDP and ST0..ST7 in stack
 * order, 64-bit pointer format (FXSAVE64).  Reserved bytes are zeroed. */
void x87_image_put_x87(const struct soft_cpu *cpu, uint8_t *img);
/* MXCSR, MXCSR_MASK and XMM0..15 (bytes 24..31, 160..415). */
void x87_image_put_sse(const struct soft_cpu *cpu, uint8_t *img);
/* Load the x87 part back (FIP/FDP/FOP included). */
void x87_image_get_x87(struct soft_cpu *cpu, const uint8_t *img);
/* Load XMM0..15 (MXCSR is checked and loaded by the caller). */
void x87_image_get_xmm(struct soft_cpu *cpu, const uint8_t *img);

/* x87 state after FNINIT / the XSAVE init configuration. */
void x87_state_init(struct soft_cpu *cpu);

#endif
