/* Virtual-8086 mode (SDM vol. 3, ch. 20; vol. 2 IRET "RETURN-TO-VIRTUAL-
 * 8086-MODE" and "RETURN-FROM-VIRTUAL-8086-MODE", INT n
 * "INTERRUPT-FROM-VIRTUAL-8086-MODE").
 *
 * EFLAGS.VM=1 in legacy protected mode: soft_cpu_update_mode() then gives
 * 16-bit decoding and CPL 3, segment loads are real-mode style
 * (soft_load_seg), paging applies, I/O goes through the TSS I/O permission
 * bitmap whatever IOPL is (soft_io_allowed), and CLI STI PUSHF POPF INT n
 * and IRET are #GP(0) while IOPL < 3, unless the virtual-8086 mode
 * extensions (CR4.VME, advertised) give them their VIF meaning and send
 * INT n through the TSS's redirection bitmap (SDM 20.3; CR4.PVI's CLI/STI
 * are in exec_misc.c).  Entered by IRET at CPL 0 with VM=1 in the popped
 * EFLAGS, or by a task switch to a task whose EFLAGS have VM=1
 * (sys_task.c); left by an interrupt or exception, which goes to a ring-0
 * handler with GS FS DS ES on its stack (sys_event.c calls the helpers
 * below), or a task switch. */
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
	bool vme = sys_v86_vme(cpu);
	if (sys_v86_iopl_trap(cpu) && (!vme || in->opsize != 2))
		return soft_gp0(cpu); /* trap to the virtual-8086 monitor */
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
	uint64_t nf = (fl & ~keep) | (old & keep);
	if (vme) {
		/* VME, IOPL < 3: the popped IF goes to VIF; #GP(0) if it would
		 * enable interrupts with one pending (VIP) or sets TF */
		if (((fl & RF_IF) && (old & RF_VIP)) || (fl & RF_TF))
			return soft_gp0(cpu);
		nf = (nf & ~(RF_IF | RF_VIF)) | (old & RF_IF) | ((fl & RF_IF) ? RF_VIF : 0);
	}
	sys_stack_commit(cpu, &st);
	soft_set_rflags(cpu, (nf | X86_RFLAGS_FIXED) & ~RF_RF);
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

/* ---- virtual-8086 mode extensions (CR4.VME; SDM 20.3.2, 20.3.3) ---- */

/* FLAGS as a VME program sees them: IF is VIF, IOPL reads 3. */
static uint16_t vme_flags16(struct soft_cpu *cpu)
{
	uint64_t f = soft_get_rflags(cpu);
	f = (f & ~RF_IF) | ((f & RF_VIF) ? RF_IF : 0);
	return (uint16_t)(f | RF_IOPL);
}

int sys_v86_pushf(struct soft_cpu *cpu, unsigned opsize)
{
	if (!sys_v86_vme(cpu) || opsize != 2)
		return soft_gp0(cpu);
	return soft_push(cpu, 2, vme_flags16(cpu));
}

int sys_v86_popf(struct soft_cpu *cpu, unsigned opsize)
{
	if (!sys_v86_vme(cpu) || opsize != 2)
		return soft_gp0(cpu);
	uint64_t v, sp = cpu->gpr[GPR_RSP];
	int e = soft_pop(cpu, 2, &v);
	if (e)
		return e;
	uint64_t old = soft_get_rflags(cpu);
	if (((v & RF_IF) && (old & RF_VIP)) || (v & RF_TF)) {
		cpu->gpr[GPR_RSP] = sp;
		return soft_gp0(cpu);
	}
	/* FLAGS[15:0] but IOPL and IF; VIF <- the popped IF */
	uint64_t mask = 0xffffULL & ~(RF_IOPL | RF_IF);
	uint64_t nf = (old & ~mask & ~RF_VIF) | (v & mask) | ((v & RF_IF) ? RF_VIF : 0);
	soft_set_rflags(cpu, nf | X86_RFLAGS_FIXED);
	return SOFT_OK;
}

/* Bit `vector` of the software interrupt redirection bitmap: the 32 bytes
 * below the I/O map base of a 32-bit TSS.  1 = the IDT handles it, 0 = the
 * 8086 program's IVT; #GP(0) when the TSS cannot hold it. */
static int redirect_bit(struct soft_cpu *cpu, unsigned vector, bool *set)
{
	const struct x86_segment *tr = &cpu->tr;
	if (tr->unusable || !(tr->type & 8) || tr->limit < 0x67)
		return soft_gp0(cpu);
	uint16_t iobase;
	int e = sys_read_sv(cpu, (uint32_t)(tr->base + 0x66), &iobase, 2);
	if (e)
		return e;
	uint64_t off = (uint64_t)iobase + vector / 8;
	if (off < 32 || off - 32 > tr->limit)
		return soft_gp0(cpu);
	uint8_t b;
	if ((e = sys_read_sv(cpu, (uint32_t)(tr->base + off - 32), &b, 1)))
		return e;
	*set = (b >> (vector & 7)) & 1;
	return SOFT_OK;
}

int sys_v86_int(struct soft_cpu *cpu, unsigned vector)
{
	bool iopl3 = !sys_v86_iopl_trap(cpu);
	if (!(cpu->cr4 & SYS_CR4_VME))
		return iopl3 ? SYS_V86_TO_IDT : soft_gp0(cpu); /* methods 1, 2 */
	bool set = true;
	int e = redirect_bit(cpu, vector, &set);
	if (e)
		return e;
	if (set) /* methods 3 (#GP(0) at IOPL < 3) and 4 (the IDT) */
		return iopl3 ? SYS_V86_TO_IDT : soft_gp0(cpu);
	/* methods 5 and 6: a real-mode style call through the IVT at linear
	 * address 0 of the virtual-8086 task (read at CPL 3, through paging) */
	uint32_t ent;
	if ((e = soft_read(cpu, (uint64_t)vector * 4, &ent, 4)))
		return e;
	uint16_t fl = iopl3 ? (uint16_t)soft_get_rflags(cpu) : vme_flags16(cpu);
	struct sys_stack st;
	sys_stack_current(cpu, &st);
	if ((e = sys_stack_push(cpu, &st, 2, fl)) ||
	    (e = sys_stack_push(cpu, &st, 2, cpu->seg[SEG_CS].selector)) ||
	    (e = sys_stack_push(cpu, &st, 2, cpu->next_rip & 0xffff)))
		return e;
	sys_stack_commit(cpu, &st);
	uint64_t f = soft_get_rflags(cpu) & ~(iopl3 ? RF_IF : RF_VIF) & ~RF_TF;
	soft_set_rflags(cpu, f);
	struct x86_segment c;
	sys_seg_v86(&c, (uint16_t)(ent >> 16), true);
	sys_set_cs(cpu, &c);
	cpu->next_rip = ent & 0xffff;
	return SOFT_OK;
}
