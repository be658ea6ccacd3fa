/* Far control transfers (SDM vol. 3, ch. 5.8; vol. 2 JMP/CALL/RET):
 * far JMP/CALL (direct and indirect) to code segments and through call gates
 * (16/32-bit gates with parameter copying, 64-bit gates), with the TSS stack
 * switch; far RET to the same or an outer level; SYSCALL/SYSRET,
 * SYSENTER/SYSEXIT, SWAPGS.  Task gates and TSS targets switch tasks
 * (sys_task.c). */
#include <stdio.h>
#include <string.h>

#include "sys.h"

/* Target offset check for a new CS: canonical for 64-bit code, else the
 * limit. */
static int target_ok(struct soft_cpu *cpu, const struct x86_segment *cs, uint64_t off)
{
	if (long_mode(cpu) && cs->l)
		return canonical(off) ? SOFT_OK : soft_gp0(cpu);
	return sys_off_ok(cs, off) ? SOFT_OK : soft_gp0(cpu);
}

static int far_real(struct soft_cpu *cpu, const struct x86_insn *in, uint16_t sel, uint64_t off, bool call)
{
	unsigned sz = in->opsize;
	off &= sz == 2 ? 0xffff : 0xffffffff;
	if (off > cpu->seg[SEG_CS].limit)
		return soft_gp0(cpu);
	if (call) {
		struct sys_stack st;
		sys_stack_current(cpu, &st);
		int e;
		if ((e = sys_stack_push(cpu, &st, sz, cpu->seg[SEG_CS].selector)) ||
		    (e = sys_stack_push(cpu, &st, sz, cpu->next_rip)))
			return e;
		sys_stack_commit(cpu, &st);
	}
	struct x86_segment cs = cpu->seg[SEG_CS];
	cs.selector = sel;
	cs.base = (uint64_t)sel << 4;
	sys_set_cs(cpu, &cs);
	cpu->next_rip = off;
	return SOFT_OK;
}

static int through_gate(struct soft_cpu *cpu, const struct x86_insn *in, uint16_t gsel, const uint64_t g[2],
			bool call)
{
	bool lm = long_mode(cpu);
	unsigned type = d_type(g[0]);
	uint32_t gerr = gsel & 0xfffc;
	if (d_dpl(g[0]) < cpu->cpl || d_dpl(g[0]) < (gsel & 3u))
		return sys_exc(cpu, X86_EXC_GP, gerr);
	if (!d_p(g[0]))
		return sys_exc(cpu, X86_EXC_NP, gerr);
	if (lm && ((g[1] >> 40) & 0x1f))
		return sys_exc(cpu, X86_EXC_GP, gerr);
	uint16_t sel = (uint16_t)(g[0] >> 16);
	uint32_t err = sel & 0xfffc;
	uint64_t off = (g[0] & 0xffff);
	unsigned gsz = lm ? 8 : (type & 8) ? 4 : 2;
	if (gsz >= 4)
		off |= ((g[0] >> 48) & 0xffff) << 16;
	if (lm)
		off |= (g[1] & 0xffffffff) << 32;
	if (!err)
		return soft_gp0(cpu);
	uint64_t d[2], addr;
	int e = sys_fetch_desc(cpu, sel, false, X86_EXC_GP, 0, d, &addr);
	if (e)
		return e;
	uint64_t cd = d[0];
	if (!d_code(cd) || d_dpl(cd) > cpu->cpl)
		return sys_exc(cpu, X86_EXC_GP, err);
	if (lm && (!d_l(cd) || d_db(cd)))
		return sys_exc(cpu, X86_EXC_GP, err);
	if (!call && !d_conforming(cd) && d_dpl(cd) != cpu->cpl)
		return sys_exc(cpu, X86_EXC_GP, err);
	if (!d_p(cd))
		return sys_exc(cpu, X86_EXC_NP, err);
	unsigned new_cpl = d_conforming(cd) ? cpu->cpl : d_dpl(cd);
	struct x86_segment cs;
	sys_seg_from_desc(&cs, (uint16_t)((sel & ~3u) | new_cpl), cd, 0);
	if ((e = target_ok(cpu, &cs, off)))
		return e;
	struct sys_stack st;
	uint16_t old_cs = cpu->seg[SEG_CS].selector, old_ss = cpu->seg[SEG_SS].selector;
	uint64_t old_sp = cpu->gpr[GPR_RSP], ret = cpu->next_rip;
	bool inner = call && new_cpl < cpu->cpl;
	if (inner) {
		uint16_t ss_sel;
		uint64_t sp;
		if ((e = sys_tss_stack(cpu, new_cpl, 0, &ss_sel, &sp)))
			return e;
		memset(&st, 0, sizeof(st));
		if (lm) {
			st.lm = true;
			sys_seg_null(&st.ss, (uint16_t)new_cpl);
			st.ss.type = 3;
			st.ss.s = 1;
			st.ss.present = 1;
		} else if ((e = sys_load_inner_ss(cpu, ss_sel, new_cpl, 0, &st.ss))) {
			return e;
		}
		st.sp = sp;
		st.err = ss_sel & 0xfffc;
		/* parameters from the old stack (legacy gates) */
		unsigned n = lm ? 0 : (unsigned)(g[0] >> 32) & 0x1f;
		uint64_t params[32];
		struct sys_stack old;
		sys_stack_current(cpu, &old);
		for (unsigned i = 0; i < n; i++)
			if ((e = sys_stack_pop(cpu, &old, gsz, &params[i])))
				return e;
		unsigned saved_cpl = cpu->cpl;
		cpu->cpl = (uint8_t)new_cpl;
		if (!(e = sys_stack_push(cpu, &st, gsz, old_ss)) && !(e = sys_stack_push(cpu, &st, gsz, old_sp)))
			for (unsigned i = n; i-- > 0 && !e;)
				e = sys_stack_push(cpu, &st, gsz, params[i]);
		if (!e && !(e = sys_stack_push(cpu, &st, gsz, old_cs)))
			e = sys_stack_push(cpu, &st, gsz, ret);
		if (e) {
			cpu->cpl = (uint8_t)saved_cpl;
			return e;
		}
		cpu->seg[SEG_SS] = st.ss;
		soft_seg_refresh(cpu);
		sys_stack_commit(cpu, &st);
	} else if (call) {
		sys_stack_current(cpu, &st);
		if ((e = sys_stack_push(cpu, &st, gsz, old_cs)) || (e = sys_stack_push(cpu, &st, gsz, ret)))
			return e;
		sys_stack_commit(cpu, &st);
	}
	if ((e = sys_set_accessed(cpu, addr, &cd)))
		return e;
	cs.type |= 1;
	sys_set_cs(cpu, &cs);
	cpu->next_rip = off;
	return SOFT_OK;
}

static int far_transfer(struct soft_cpu *cpu, const struct x86_insn *in, uint16_t sel, uint64_t off, bool call)
{
	if (!prot_mode(cpu) || vm86(cpu))
		return far_real(cpu, in, sel, off, call);
	uint32_t err = sel & 0xfffc;
	if (!err)
		return soft_gp0(cpu);
	uint64_t d[2], addr;
	int e = sys_fetch_desc(cpu, sel, false, X86_EXC_GP, 0, d, &addr);
	if (e)
		return e;
	uint64_t lo = d[0];
	if (!d_s(lo)) {
		unsigned type = d_type(lo);
		if (long_mode(cpu)) {
			if (type != 0xc)
				return sys_exc(cpu, X86_EXC_GP, err);
			if ((e = sys_fetch_desc(cpu, sel, true, X86_EXC_GP, 0, d, &addr)))
				return e;
		} else if (type == 5 || type == 1 || type == 9) {
			/* task gate or available TSS (a busy one is #GP below) */
			return sys_task_far(cpu, sel, lo, call);
		} else if (type != 4 && type != 0xc) {
			return sys_exc(cpu, X86_EXC_GP, err);
		}
		return through_gate(cpu, in, sel, d, call);
	}
	if (!d_code(lo))
		return sys_exc(cpu, X86_EXC_GP, err);
	if (d_conforming(lo) ? d_dpl(lo) > cpu->cpl : ((sel & 3u) > cpu->cpl || d_dpl(lo) != cpu->cpl))
		return sys_exc(cpu, X86_EXC_GP, err);
	if (!d_p(lo))
		return sys_exc(cpu, X86_EXC_NP, err);
	if (long_mode(cpu) && d_l(lo) && d_db(lo))
		return sys_exc(cpu, X86_EXC_GP, err);
	struct x86_segment cs;
	sys_seg_from_desc(&cs, (uint16_t)((sel & ~3u) | cpu->cpl), lo, 0);
	if (!(long_mode(cpu) && cs.l))
		off &= in->opsize == 2 ? 0xffff : 0xffffffff;
	if ((e = target_ok(cpu, &cs, off)))
		return e;
	if (call) {
		struct sys_stack st;
		sys_stack_current(cpu, &st);
		if ((e = sys_stack_push(cpu, &st, in->opsize, cpu->seg[SEG_CS].selector)) ||
		    (e = sys_stack_push(cpu, &st, in->opsize, cpu->next_rip)))
			return e;
		sys_stack_commit(cpu, &st);
	}
	if ((e = sys_set_accessed(cpu, addr, &lo)))
		return e;
	cs.type |= 1;
	sys_set_cs(cpu, &cs);
	cpu->next_rip = off;
	return SOFT_OK;
}

int soft_exec_jmp_far(struct soft_cpu *cpu, const struct x86_insn *in)
{
	return far_transfer(cpu, in, (uint16_t)in->imm2, in->imm, false);
}

int soft_exec_call_far(struct soft_cpu *cpu, const struct x86_insn *in)
{
	return far_transfer(cpu, in, (uint16_t)in->imm2, in->imm, true);
}

static int far_mem(struct soft_cpu *cpu, const struct x86_insn *in, bool call)
{
	uint64_t la = soft_ea(cpu, in), off, sel;
	int e = mem_read(cpu, la, in->opsize, &off);
	if (e)
		return e;
	if ((e = mem_read(cpu, la + in->opsize, 2, &sel)))
		return e;
	return far_transfer(cpu, in, (uint16_t)sel, off, call);
}

int soft_exec_jmp_far_m(struct soft_cpu *cpu, const struct x86_insn *in)
{
	return far_mem(cpu, in, false);
}

int soft_exec_call_far_m(struct soft_cpu *cpu, const struct x86_insn *in)
{
	return far_mem(cpu, in, true);
}

static uint64_t sp_add(const struct sys_stack *s, uint64_t imm)
{
	uint64_t m = s->lm ? ~0ULL : s->ss.db ? 0xffffffffULL : 0xffffULL;
	return (s->sp & ~m) | ((s->sp + imm) & m);
}

int soft_exec_retf(struct soft_cpu *cpu, const struct x86_insn *in)
{
	unsigned sz = in->opsize;
	uint64_t imm = in->opcode == 0xca ? (in->imm & 0xffff) : 0;
	struct sys_stack st;
	sys_stack_current(cpu, &st);
	uint64_t ip, csv;
	int e;
	if ((e = sys_stack_pop(cpu, &st, sz, &ip)) || (e = sys_stack_pop(cpu, &st, sz, &csv)))
		return e;
	uint16_t sel = (uint16_t)csv;
	if (!prot_mode(cpu) || vm86(cpu)) {
		ip &= sz == 2 ? 0xffff : 0xffffffff;
		if (ip > cpu->seg[SEG_CS].limit)
			return soft_gp0(cpu);
		st.sp = sp_add(&st, imm);
		sys_stack_commit(cpu, &st);
		struct x86_segment cs = cpu->seg[SEG_CS];
		cs.selector = sel;
		cs.base = (uint64_t)sel << 4;
		sys_set_cs(cpu, &cs);
		cpu->next_rip = ip;
		return SOFT_OK;
	}
	uint64_t cd, caddr;
	if ((e = sys_check_return_cs(cpu, sel, long_mode(cpu), &cd, &caddr)))
		return e;
	unsigned rpl = sel & 3, old_cpl = cpu->cpl;
	bool to64 = long_mode(cpu) && d_l(cd);
	struct x86_segment cs, ss = cpu->seg[SEG_SS];
	sys_seg_from_desc(&cs, sel, cd, 0);
	if (!to64)
		ip &= sz == 2 ? 0xffff : 0xffffffff;
	if ((e = target_ok(cpu, &cs, ip)))
		return e;
	st.sp = sp_add(&st, imm);
	uint64_t saddr = ~0ULL, ssv = 0;
	if (rpl > old_cpl) {
		uint64_t sp;
		if ((e = sys_stack_pop(cpu, &st, sz, &sp)) || (e = sys_stack_pop(cpu, &st, sz, &ssv)))
			return e;
		if ((e = sys_check_return_ss(cpu, (uint16_t)ssv, rpl, to64, &ss, &saddr)))
			return e;
		memset(&st, 0, sizeof(st));
		st.ss = ss;
		st.lm = to64;
		st.sp = sp & (sz == 8 ? ~0ULL : sz == 4 ? 0xffffffffULL : 0xffffULL);
		st.sp = sp_add(&st, imm);
	}
	if ((e = sys_set_accessed(cpu, caddr, &cd)))
		return e;
	if (saddr != ~0ULL) {
		uint64_t sd[2];
		if ((e = sys_fetch_desc(cpu, (uint16_t)ssv, false, X86_EXC_GP, 0, sd, NULL)) ||
		    (e = sys_set_accessed(cpu, saddr, &sd[0])))
			return e;
		ss.type |= 1;
	}
	cs.type |= 1;
	if (rpl > old_cpl) {
		cpu->seg[SEG_SS] = ss;
		soft_seg_refresh(cpu);
		if (to64 || cpu->mode == SOFT_MODE_64)
			cpu->gpr[GPR_RSP] = st.sp;
		else
			sys_stack_commit(cpu, &st);
	} else {
		sys_stack_commit(cpu, &st);
	}
	sys_set_cs(cpu, &cs);
	if (rpl > old_cpl)
		sys_null_outer_segs(cpu);
	cpu->next_rip = ip;
	return SOFT_OK;
}

/* ---- SYSCALL / SYSRET (Intel: 64-bit mode only) ---- */

int soft_exec_syscall(struct soft_cpu *cpu, const struct x86_insn *in)
{
	if (!(cpu->efer & X86_EFER_SCE) || cpu->mode != SOFT_MODE_64)
		return soft_ud(cpu);
	uint64_t fl = soft_get_rflags(cpu);
	cpu->gpr[GPR_RCX] = cpu->next_rip;
	cpu->gpr[GPR_R11] = fl & ~RF_RF;
	uint16_t sel = (uint16_t)(cpu->star >> 32);
	/* from 64-bit mode to 64-bit code (CS.L = 1): the CS load is the
	 * fixed flat values and a new CPL (sys_set_cs64) */
	sys_seg_flat64(&cpu->seg[SEG_CS], &cpu->seg[SEG_SS], sel & 0xfffc,
		       (uint16_t)((sel + 8) & 0xfffc), 0);
	sys_set_cs64(cpu);
	soft_set_rflags(cpu, (fl & ~cpu->sfmask & ~RF_RF) | X86_RFLAGS_FIXED);
	cpu->next_rip = cpu->lstar;
	return SOFT_OK;
}

int soft_exec_sysret(struct soft_cpu *cpu, const struct x86_insn *in)
{
	if (!(cpu->efer & X86_EFER_SCE) || cpu->mode != SOFT_MODE_64)
		return soft_ud(cpu);
	if (cpu->cpl != 0)
		return soft_gp0(cpu);
	bool to64 = in->opsize == 8;
	uint64_t rip = cpu->gpr[GPR_RCX];
	if (to64 && !canonical(rip))
		return soft_gp0(cpu);
	uint16_t sel = (uint16_t)(cpu->star >> 48);
	/* RFLAGS from R11, RF and VM cleared, bit 1 set */
	soft_load_rflags(cpu, (cpu->gpr[GPR_R11] & 0x3c7fd7) | X86_RFLAGS_FIXED);
	if (to64) {
		/* 64-bit mode to 64-bit code: the fixed values, CPL 3 */
		sys_seg_flat64(&cpu->seg[SEG_CS], &cpu->seg[SEG_SS], (uint16_t)((sel + 16) | 3),
			       (uint16_t)((sel + 8) | 3), 3);
		sys_set_cs64(cpu);
		cpu->next_rip = rip;
		return SOFT_OK;
	}
	struct x86_segment cs;
	sys_seg_flat(&cs, sel | 3, true, false, 3);
	sys_seg_flat(&cpu->seg[SEG_SS], (uint16_t)((sel + 8) | 3), false, false, 3);
	sys_set_cs(cpu, &cs);
	cpu->next_rip = to64 ? rip : (uint32_t)rip;
	return SOFT_OK;
}

/* ---- SYSENTER / SYSEXIT ---- */

int soft_exec_sysenter(struct soft_cpu *cpu, const struct x86_insn *in)
{
	if (!prot_mode(cpu) || !(cpu->sysenter_cs & 0xfffc))
		return soft_gp0(cpu);
	bool lm = long_mode(cpu);
	uint16_t sel = (uint16_t)(cpu->sysenter_cs & 0xfffc);
	uint64_t fl = soft_get_rflags(cpu) & ~(RF_VM | RF_IF | RF_RF);
	soft_set_rflags(cpu, fl);
	struct x86_segment cs;
	sys_seg_flat(&cs, sel, true, lm, 0);
	sys_seg_flat(&cpu->seg[SEG_SS], (uint16_t)(sel + 8), false, false, 0);
	sys_set_cs(cpu, &cs);
	cpu->gpr[GPR_RSP] = lm ? cpu->sysenter_esp : (uint32_t)cpu->sysenter_esp;
	cpu->next_rip = lm ? cpu->sysenter_eip : (uint32_t)cpu->sysenter_eip;
	return SOFT_OK;
}

int soft_exec_sysexit(struct soft_cpu *cpu, const struct x86_insn *in)
{
	if (!prot_mode(cpu) || vm86(cpu) || !(cpu->sysenter_cs & 0xfffc) || cpu->cpl != 0)
		return soft_gp0(cpu);
	bool to64 = in->opsize == 8;
	uint64_t rip = cpu->gpr[GPR_RDX], rsp = cpu->gpr[GPR_RCX];
	if (to64 && (!canonical(rip) || !canonical(rsp)))
		return soft_gp0(cpu);
	uint16_t sel = (uint16_t)cpu->sysenter_cs;
	struct x86_segment cs;
	sys_seg_flat(&cs, (uint16_t)((sel + (to64 ? 32 : 16)) | 3), true, to64, 3);
	sys_seg_flat(&cpu->seg[SEG_SS], (uint16_t)((sel + (to64 ? 40 : 24)) | 3), false, false, 3);
	sys_set_cs(cpu, &cs);
	cpu->gpr[GPR_RSP] = to64 ? rsp : (uint32_t)rsp;
	cpu->next_rip = to64 ? rip : (uint32_t)rip;
	return SOFT_OK;
}

int soft_exec_swapgs(struct soft_cpu *cpu, const struct x86_insn *in)
{
	if (cpu->mode != SOFT_MODE_64)
		return soft_ud(cpu);
	if (cpu->cpl != 0)
		return soft_gp0(cpu);
	uint64_t t = cpu->seg[SEG_GS].base;
	cpu->seg[SEG_GS].base = cpu->kernel_gs_base;
	cpu->kernel_gs_base = t;
	return SOFT_OK;
}
