/* Random initial states and instruction encodings for the differential
 * harness.  An instruction form is an encoding template (see diff_gen.c
 * for the token list) plus a shaping kind for state that must be
 * consistent with the encoding (string pointers, stack, divisors...). */
#ifndef RINGVM_DIFF_GEN_H
#define RINGVM_DIFF_GEN_H

#include <stdbool.h>
#include <stdint.h>

#include "diff_state.h"

struct diff_rng {
	uint64_t s;
};

uint64_t diff_rand(struct diff_rng *r);
/* uniform in [0, n) */
static inline uint64_t diff_below(struct diff_rng *r, uint64_t n)
{
	return n ? diff_rand(r) % n : 0;
}

enum diff_setup {
	SETUP_NONE,
	SETUP_STRING,  /* RSI/RDI into the data area, small RCX */
	SETUP_STACK,   /* RSP into the data area */
	SETUP_DIV,     /* dividend mostly in range of the divisor */
	SETUP_CMPXCHG, /* accumulator often equal to the destination */
	SETUP_CMPXCHG8,/* EDX:EAX / RDX:RAX often equal to memory */
	SETUP_BITMEM,  /* BT* reg,mem: small bit offset */
	SETUP_XLAT,    /* RBX into the data area */
	SETUP_MXCSR,   /* a (mostly) valid MXCSR image at the memory operand */
	SETUP_FXIMG,   /* a (mostly) valid FXSAVE image at the memory operand */
	SETUP_XSAVE,   /* EDX:EAX = x87/SSE bits only; a valid XSAVE header */
	SETUP_VEXCTL,  /* the VEX.vvvv register holds a small BEXTR start/length or BZHI index */
	SETUP_STRING_LONG, /* REP MOVS/STOS runs: RCX up to thousands, page crossings, overlaps at any distance */
};

/* How RFLAGS undefinedness depends on the operands. */
enum diff_flagkind {
	FLK_STATIC,    /* form.undef only */
	FLK_SHIFT,     /* SHL/SHR/SAR: count 0 = no change; AF undef if count != 0; OF undef if count > 1 */
	FLK_ROTATE,    /* ROL/ROR/RCL/RCR: OF undef if count > 1 */
	FLK_SHIFTD,    /* SHLD/SHRD: AF undef if count != 0, OF undef if count > 1 */
	FLK_RAND,      /* RDRAND/RDSEED: the destination (ModRM.rm) is random when CF=1 */
	FLK_HOSTVAL,   /* RDPID/RDTSCP: values of the host (TSC, TSC_AUX): low 32 bits of
			* the destinations not compared, their upper halves are */
};

struct diff_form {
	const char *name;
	const char *enc;     /* template */
	uint32_t undef;      /* RFLAGS bits the SDM leaves undefined */
	uint8_t setup;       /* enum diff_setup */
	uint8_t flagkind;    /* enum diff_flagkind */
	uint16_t memsz;      /* bytes the memory operand touches (0 = 16) */
	uint8_t align;       /* memory operand alignment the form requires (0 = any) */
	uint8_t fp;          /* 1: randomise x87/SSE state with FP specials */
	uint8_t fxmask;      /* 1: the memory operand is a stored FXSAVE/XSAVE
			      * image: MXCSR_MASK and (without a pending x87
			      * exception) FOP/FIP/FDP are vendor-dependent and
			      * not compared (diff_compare.c) */
};

/* What the generator decided, needed to judge the result. */
struct diff_gen_info {
	unsigned opsize;     /* 1 2 4 8 */
	unsigned count;      /* shift/rotate count as encoded (imm or CL) before masking */
	bool has_count;
	bool has_mem;
	uint64_t mem_la;     /* intended address of the memory operand */
};

void diff_gen_state(struct diff_rng *r, struct diff_state *s, bool fp);
/* Fill c->code/len and shape c->in for form f.  Returns false if the
 * template is malformed (reported once by the caller). */
bool diff_gen_case(struct diff_rng *r, const struct diff_form *f,
		   struct diff_case *c, struct diff_gen_info *info);

#endif
