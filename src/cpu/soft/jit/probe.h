/* The inline TLB probe of translated memory accesses (probe.c; its use in
 * translate.c, emit_probe_ex, and docs/soft-cpu.md, "Translator"). */
#ifndef RINGVM_SOFT_JIT_PROBE_H
#define RINGVM_SOFT_JIT_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "emit.h"

struct jit_probe {
	unsigned msize;       /* bytes accessed (1..16) */
	bool store;           /* compare tag_fastw (else tag_jread) */
	bool split;           /* leave the addend in RDI (the access is
			       * [RDI+RSI]); else RDI = the host address */
	int32_t memo;         /* offset from R15 of this site's addend memo
			       * (struct soft_cpu, jit_memo[]); 0: none, the
			       * addend loaded from the slot (RINGVM_JIT_NO_MEMO) */
};

/* Emit the probe for the linear address in RSI (R15 = cpu, R14 = class and
 * salt, RBP = cpu->jit_tlb).  Returns the position of the rel32 field of
 * its jump to the slow path (a miss), for the caller to patch.  Clobbers
 * RFLAGS, RDI, R8 and R9; RSI stays the linear address. */
size_t jit_probe_emit(struct jit_emit *e, const struct jit_probe *p);

/* The memo slot for probe number k of the block at rip. */
unsigned jit_probe_memo_index(uint64_t rip, unsigned k);

#endif
