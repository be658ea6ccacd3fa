/* RDTSC and RDTSCP in translated 64-bit code without the handler path
 * (tscinline.c; docs/soft-cpu.md, "Translator", "RDTSC and RDTSCP"). */
#ifndef RINGVM_SOFT_JIT_TSCINLINE_H
#define RINGVM_SOFT_JIT_TSCINLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "emit.h"

#include "../cpu.h"

/* Is in RDTSC or RDTSCP (no LOCK) in a 64-bit block, which jit_tsc_emit
 * emits inline? */
bool jit_tsc_form(const struct x86_insn *in, unsigned block_mode);

/* Emit in's common case: the CR4.TSD check (a jump to the slow path,
 * whose handler raises #GP(0), when TSD is set and cpu->cpl is not 0;
 * the rel32 field's position in *slow_fix), then a call of the handlers'
 * own rule, soft_tsc_now (exec_misc.c), with RCX and R10 kept (two
 * pushes: RSP stays 16-byte aligned), and its result split into EDX:EAX
 * (each zero-extended); RDTSCP also ECX = IA32_TSC_AUX (zero-extended).
 * The guest flags must not be in the host RFLAGS (clobbered); RBX and
 * R12-R15 are kept by the callee, RSI RDI R8 R9 R11 clobbered. */
void jit_tsc_emit(struct jit_emit *e, bool rdtscp, size_t *slow_fix);

#endif
