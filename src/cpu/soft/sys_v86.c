/* Virtual-8086 mode (SDM vol. 3, ch. 20; vol. 2 IRET "RETURN-TO-VIRTUAL-
 * 8086-MODE" and "RETURN-FROM-VIRTUAL-8086-MODE", INT n
 * "INTERRUPT-FROM-VIRTUAL-8086-MODE").
 *
 * EFLAGS.VM=1 in legacy protected mode: soft_cpu_update_mode() then gives
 * 16-bit decoding and CPL 3, segment loads are real-mode style
 * (soft_load_seg), paging applies, I/O goes through the TSS I/O permission
 * bitmap whatever IOPL is (soft_io_allowed), and CLI STI PUSHF POPF INT n
 * and IRET are #GP(0) while IOPL < 3.  VME (CR4.VME, VIF/VIP, the
 * interrupt redirection bitmap) and PVI are not modelled and not
 * advertised.  Entered by IRET at CPL 0 with VM=1 in the popped EFLAGS, or
 * by a task switch to a task whose EFLAGS have VM=1 (sys_task.c); left by
 * an interrupt or exception, which goes to a ring-0 handler with GS FS DS
 * ES on its stack (sys_event.c calls the helpers below), or a task switch. */
#include <string.h>

#include "sys.h"

void sys_seg_v86(struct x86_segment *s, uint16_t sel, bool code)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->base = (uint64_t)sel << 4;
	s->limit = 0xffff;
	s->type = code ? 0xb : 0x3;
	s->s = 1;
	s->dpl = 3;
	s->present = 1;
}

int sys_v86_iret_to(struct soft_cpu *cpu, struct sys_stack *st, uint64_t ip, uint16_t cs, uint64_t fl)
{
	/* the rest of the frame: ESP SS ES DS FS GS, each 32 bits (#SS(0)
	 * beyond the stack limit) */
	uint64_t v[6];
	for (unsigned i = 0; i < 6; i++) {
		int e = sys_stack_pop(cpu, st, 4, &v[i]);
		if (e)
			return e;
	}
	if (ip > 0xffff) /* not within the virtual-8086 CS limit */
		return soft_gp0(cpu);
	/* EFLAGS <- tempEFLAGS, all of it (CPL is 0); RF is dropped as
	 * everywhere else (instruction breakpoints are not modelled) */
	soft_set_rflags(cpu, (fl | X86_RFLAGS_FIXED) & ~RF_RF);
	sys_seg_v86(&cpu->seg[SEG_SS], (uint16_t)v[1], false);
	sys_seg_v86(&cpu->seg[SEG_ES], (uint16_t)v[2], false);
	sys_seg_v86(&cpu->seg[SEG_DS], (uint16_t)v[3], false);
	sys_seg_v86(&cpu->seg[SEG_FS], (uint16_t)v[4], false);
	sys_seg_v86(&cpu->seg[SEG_GS], (uint16_t)v[5], false);
	cpu->gpr[GPR_RSP] = (uint32_t)v[0];
	struct x86_segment c;
	sys_seg_v86(&c, cs, true);
	sys_set_cs(cpu, &c); /* VM=1: 16-bit, CPL 3 */
	cpu->next_rip = ip;
	cpu->nmi_blocked = 0;
	return SOFT_OK;
}

int sys_v86_iret(struct soft_cpu *cpu, const struct x86_insn *in)
{
	if (sys_v86_iopl_trap(cpu)) /* trap to the virtual-8086 monitor */
		return soft_gp0(cpu);
	unsigned sz = in->opsize == 2 ? 2 : 4;
	struct sys_stack st;
	sys_stack_current(cpu, &st);
	uint64_t ip, cs, fl;
	int e;
	if ((e = sys_stack_pop(cpu, &st, sz, &ip)) || (e = sys_stack_pop(cpu, &st, sz, &cs)) ||
	    (e = sys_stack_pop(cpu, &st, sz, &fl)))
		return e;
	if (ip > 0xffff)
		return soft_gp0(cpu);
	/* VM, IOPL, VIP and VIF are not modified by the pop */
	uint64_t old = soft_get_rflags(cpu);
	uint64_t keep = RF_VM | RF_IOPL | RF_VIP | RF_VIF | RF_RF;
	if (sz == 2)
		keep |= ~0xffffULL;
	sys_stack_commit(cpu, &st);
	soft_set_rflags(cpu, ((fl & ~keep) | (old & keep) | X86_RFLAGS_FIXED) & ~RF_RF);
	struct x86_segment c;
	sys_seg_v86(&c, (uint16_t)cs, true);
	sys_set_cs(cpu, &c);
	cpu->next_rip = ip;
	cpu->nmi_blocked = 0;
	return SOFT_OK;
}

int sys_v86_check_target(struct soft_cpu *cpu, const struct x86_segment *cs, unsigned ext)
{
	bool conforming = (cs->type & 0xc) == 0xc;
	if (conforming || cs->dpl != 0)
		return sys_exc(cpu, X86_EXC_GP, (cs->selector & 0xfffcu) | ext);
	return SOFT_OK;
}

int sys_v86_push_segs(struct soft_cpu *cpu, struct sys_stack *st, unsigned size)
{
	static const unsigned order[4] = { SEG_GS, SEG_FS, SEG_DS, SEG_ES };
	for (unsigned i = 0; i < 4; i++) {
		int e = sys_stack_push(cpu, st, size, cpu->seg[order[i]].selector);
		if (e)
			return e;
	}
	return SOFT_OK;
}

void sys_v86_null_segs(struct soft_cpu *cpu)
{
	sys_seg_null(&cpu->seg[SEG_GS], 0);
	sys_seg_null(&cpu->seg[SEG_FS], 0);
	sys_seg_null(&cpu->seg[SEG_DS], 0);
	sys_seg_null(&cpu->seg[SEG_ES], 0);
}
