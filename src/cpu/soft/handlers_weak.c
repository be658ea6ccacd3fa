/* A weak #UD stub for every handler the opcode tables name.  A strong
 * definition anywhere in the (whole-linked) core library replaces it. */
#include "decode.h"

int soft_exec_weak_ud(struct soft_cpu *cpu, const struct x86_insn *in);
int soft_exec_weak_ud(struct soft_cpu *cpu, const struct x86_insn *in)
{
	(void)in;
	return soft_raise(cpu, X86_EXC_UD, false, 0);
}

#define H(name) int soft_exec_##name(struct soft_cpu *cpu, const struct x86_insn *in) \
	__attribute__((weak, alias("soft_exec_weak_ud")));
#include "handlers.def"
#include "sse_handlers.def"
#include "mmx_handlers.def"
#include "x87_handlers.def"
#undef H
