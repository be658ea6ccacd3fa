/* SYSCALL and SYSRETQ inline in translated 64-bit code (sysinline.c; see
 * docs/soft-cpu.md, "Translator", "SYSCALL and SYSRETQ"). */
#ifndef RINGVM_SOFT_JIT_SYSINLINE_H
#define RINGVM_SOFT_JIT_SYSINLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "emit.h"

#include "../cpu.h"

/* The jumps to the instruction's slow path (its handler), as rel32 field
 * positions for the caller to patch. */
#define JIT_SYS_FIX_MAX 8
struct jit_sys_fix {
	size_t at[JIT_SYS_FIX_MAX];
	unsigned n;
};

/* Is in SYSCALL or SYSRETQ (REX.W: back to 64-bit code) in a 64-bit block
 * of a CPU with an icache, which jit_sys_emit emits inline? */
bool jit_sys_form(const struct soft_cpu *cpu, const struct x86_insn *in, unsigned block_mode);

/* Emit in's common case, in a block whose registers and flags are all in
 * cpu (written back, cpu->lf possibly lazy): the checks that send anything
 * unusual to the slow path (before any state changes), then the state
 * change.  star: IA32_STAR now (the CS and SS images are built from it;
 * the code checks it is unchanged).  next_rip: the instruction's end.  On
 * the fall-through R10 = the guest RIP to go on at (IA32_LSTAR, or RCX).
 * Uses RAX RCX RDX R8 R9 R10 R11 and the host flags. */
void jit_sys_emit(struct jit_emit *e, const struct x86_insn *in, uint64_t star, uint64_t next_rip,
		  struct jit_sys_fix *slow);

#endif
