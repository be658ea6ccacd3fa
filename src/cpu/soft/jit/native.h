/* Which guest instructions the translator emits as host instructions, and
 * how (native.c).  A whitelist by opcode map, opcode byte and ModRM digit:
 * everything not listed is executed by the interpreter's handler. */
#ifndef RINGVM_SOFT_JIT_NATIVE_H
#define RINGVM_SOFT_JIT_NATIVE_H

#include <stdbool.h>
#include <stdint.h>

#include "emit.h"

struct x86_insn;

/* How an instruction uses the guest's arithmetic flags (CF PF AF ZF SF OF). */
enum jit_flags_use {
	JF_NONE = 0,  /* neither reads nor writes them */
	JF_WRITE,     /* overwrites all six, whatever they were */
	JF_RMW,       /* reads some or leaves some unchanged: the guest's flags
		       * must be in the host's RFLAGS before it runs */
};

/* A guest register operand: guest register number and whether it is the
 * high byte (AH CH DH BH: legacy byte encodings 4-7 without REX). */
struct jit_gop {
	int8_t g;      /* -1: none */
	bool high;
};

struct jit_native {
	uint8_t flags;          /* enum jit_flags_use */
	bool writeback;         /* store the registers back (not for CMP TEST BT) */
	bool modrm;             /* emits a ModRM byte (register form, mod = 3) */
	bool digit_form;        /* ModRM.reg is an opcode extension (digit) */
	bool z_form;            /* register in the opcode's low three bits */
	bool nop;               /* emits nothing (NOP) */
	bool mem;               /* r/m is memory, accessed through the TLB fast
				 * path: emitted as [RDI+RSI], the host page and
				 * the page offset */
	bool store;             /* ... and written (store or read-modify-write):
				 * the probe needs the slot's inline-store right */
	uint8_t msize;          /* bytes accessed in memory */
	struct jit_gop reg, rm, z;
	uint16_t implicit;      /* guest registers used implicitly (bit n: GPR n) */
	uint8_t pfx;            /* a mandatory prefix emitted first (F3: TZCNT
				 * LZCNT POPCNT, jit_bmi_plan in vex.c), or 0 */
};

/* Can in run as a host instruction?  Fills *n when it can. */
bool jit_native_plan(const struct x86_insn *in, struct jit_native *n);
/* Can in, which reads or writes one memory operand (not a bit string, not
 * locked) in 64-bit mode, run as a host instruction on the operand's host
 * address?  The translator then emits the TLB fast path before it;
 * n->store says whether it writes the operand. */
bool jit_native_plan_mem(const struct x86_insn *in, struct jit_native *n);

/* Does n name AH, CH, DH or BH?  Then it is encoded without REX and every
 * register it uses must be one of host RAX..RBX. */
static inline bool jit_native_legacy(const struct jit_native *n)
{
	return n->reg.high || n->rm.high || n->z.high;
}

/* Emit in as a host instruction with guest register g in host register
 * host[g] (RAX RCX RDX RBX, or R12/R13 through REX.R/REX.B: never both
 * with an AH..BH operand, jit_native_legacy).  The bytes are built only
 * from the whitelisted opcode, the decoded operand size, the host register
 * numbers and the decoded immediate. */
void jit_native_emit(struct jit_emit *e, const struct x86_insn *in, const struct jit_native *n,
		     const int8_t host[16]);

#endif
