/* Event delivery (SDM vol. 3, ch. 6): real-mode IVT, protected-mode
 * interrupt/trap gates with the TSS stack switch, long-mode 16-byte gates
 * with IST; exception classes, #DF and triple fault; IRET in every mode;
 * the interrupt shadow.  Task gates go to sys_task.c; events from
 * virtual-8086 mode and IRET to or in it use the helpers of sys_v86.c. */
#include <stdio.h>
#include <string.h>

#include "debug.h"
#include "sys.h"

bool soft_cpu_interruptible(const struct soft_cpu *cpu)
{
	return (cpu->rflags & X86_RFLAGS_IF) && !cpu->shadow;
}

/* EXT bit of error codes: set unless the event is a software interrupt
 * (INT n, INT3, INTO); INT1 counts as a hardware event. */
static unsigned ext_bit(unsigned kind)
{
	return kind == SOFT_EV_SOFTINT || kind == SOFT_EV_INT3 || kind == SOFT_EV_INTO ? 0 : 1;
}

static bool soft_int(unsigned kind)
{
	return kind == SOFT_EV_SOFTINT || kind == SOFT_EV_INT3 || kind == SOFT_EV_INTO;
}

/* RFLAGS image pushed: RF set for fault-class exceptions (but #DB). */
static uint64_t pushed_flags(struct soft_cpu *cpu, unsigned vector, unsigned kind)
{
	uint64_t f = soft_get_rflags(cpu);
	if (kind == SOFT_EV_FAULT && vector != X86_EXC_DB)
		f |= RF_RF;
	return f;
}

/* ---- real mode ---- */

static int deliver_real(struct soft_cpu *cpu, unsigned vector, unsigned kind)
{
	uint64_t off = (uint64_t)vector * 4;
	if (off + 3 > cpu->idt.limit)
		return sys_exc(cpu, X86_EXC_GP, 0);
	uint32_t ent;
	int e = sys_read_sv(cpu, (uint32_t)(cpu->idt.base + off), &ent, 4);
	if (e)
		return e;
	struct sys_stack st;
	sys_stack_current(cpu, &st);
	uint64_t fl = pushed_flags(cpu, vector, kind) & ~RF_RF;
	if ((e = sys_stack_push(cpu, &st, 2, fl)) ||
	    (e = sys_stack_push(cpu, &st, 2, cpu->seg[SEG_CS].selector)) ||
	    (e = sys_stack_push(cpu, &st, 2, cpu->rip & 0xffff)))
		return e;
	sys_stack_commit(cpu, &st);
	soft_set_rflags(cpu, fl & ~(RF_IF | RF_TF | RF_AC | RF_RF));
	struct x86_segment cs = cpu->seg[SEG_CS];
	cs.selector = (uint16_t)(ent >> 16);
	cs.base = (uint64_t)cs.selector << 4;
	sys_set_cs(cpu, &cs);
	cpu->rip = ent & 0xffff;
	return SOFT_OK;
}

/* The code segment of a gate: checks common to protected and long mode.
 * Returns the descriptor in d; *new_cpl. */
static int gate_cs(struct soft_cpu *cpu, uint16_t sel, unsigned ext, bool lm, uint64_t *d,
		   uint64_t *addr, unsigned *new_cpl)
{
	uint32_t err = (sel & 0xfffc) | ext;
	if (!(sel & 0xfffc))
		return sys_exc(cpu, X86_EXC_GP, ext);
	uint64_t dd[2];
	int e = sys_fetch_desc(cpu, sel, false, X86_EXC_GP, ext, dd, addr);
	if (e)
		return e;
	uint64_t lo = dd[0];
	if (!d_code(lo) || d_dpl(lo) > cpu->cpl)
		return sys_exc(cpu, X86_EXC_GP, err);
	if (lm && (!d_l(lo) || d_db(lo)))
		return sys_exc(cpu, X86_EXC_GP, err);
	if (!d_p(lo))
		return sys_exc(cpu, X86_EXC_NP, err);
	*new_cpl = d_conforming(lo) ? cpu->cpl : d_dpl(lo);
	*d = lo;
	return SOFT_OK;
}

/* ---- protected mode (legacy) ---- */

static int deliver_prot(struct soft_cpu *cpu, unsigned vector, unsigned kind, bool has_error,
			uint32_t error_code)
{
	unsigned ext = ext_bit(kind);
	uint32_t gerr = vector * 8 + 2 + ext;
	bool from_v86 = vm86(cpu);
	if ((uint64_t)vector * 8 + 7 > cpu->idt.limit)
		return sys_exc(cpu, X86_EXC_GP, gerr);
	uint64_t g;
	int e = sys_read_sv(cpu, (uint32_t)(cpu->idt.base + vector * 8), &g, 8);
	if (e)
		return e;
	unsigned type = (g >> 40) & 0x1f; /* S bit included: must be 0 */
	if (type != 0x05 && type != 0x06 && type != 0x07 && type != 0x0e && type != 0x0f)
		return sys_exc(cpu, X86_EXC_GP, gerr);
	if (soft_int(kind) && d_dpl(g) < cpu->cpl)
		return sys_exc(cpu, X86_EXC_GP, vector * 8 + 2);
	if (!d_p(g))
		return sys_exc(cpu, X86_EXC_NP, gerr);
	if (type == 0x05) /* task gate */
		return sys_task_event(cpu, (uint16_t)(g >> 16), ext, has_error, error_code,
				      pushed_flags(cpu, vector, kind));
	bool g32 = type & 8, trap = type & 1;
	unsigned sz = g32 ? 4 : 2;
	uint16_t sel = (uint16_t)(g >> 16);
	uint64_t off = (g & 0xffff) | (g32 ? ((g >> 48) & 0xffff) << 16 : 0);
	uint64_t cd, caddr;
	unsigned new_cpl;
	if ((e = gate_cs(cpu, sel, ext, false, &cd, &caddr, &new_cpl)))
		return e;
	struct x86_segment cs;
	sys_seg_from_desc(&cs, (uint16_t)((sel & ~3u) | new_cpl), cd, 0);
	if (from_v86 && (e = sys_v86_check_target(cpu, &cs, ext)))
		return e;
	if (!sys_off_ok(&cs, off))
		return sys_exc(cpu, X86_EXC_GP, ext);
	uint64_t fl = pushed_flags(cpu, vector, kind);
	struct sys_stack st;
	uint16_t old_ss = cpu->seg[SEG_SS].selector, old_cs = cpu->seg[SEG_CS].selector;
	uint64_t old_sp = cpu->gpr[GPR_RSP];
	bool inner = new_cpl < cpu->cpl;
	if (inner) {
		uint16_t ss_sel;
		uint64_t sp;
		if ((e = sys_tss_stack(cpu, new_cpl, ext, &ss_sel, &sp)))
			return e;
		memset(&st, 0, sizeof(st));
		if ((e = sys_load_inner_ss(cpu, ss_sel, new_cpl, ext, &st.ss)))
			return e;
		st.sp = sp;
		st.err = (ss_sel & 0xfffc) | ext;
	} else {
		sys_stack_current(cpu, &st);
		st.err = ext;
	}
	cpu->cpl = (uint8_t)new_cpl; /* the frame is written at the new CPL */
	if (from_v86 && (e = sys_v86_push_segs(cpu, &st, sz)))
		return e;
	if (inner && ((e = sys_stack_push(cpu, &st, sz, old_ss)) ||
		      (e = sys_stack_push(cpu, &st, sz, old_sp))))
		return e;
	if ((e = sys_stack_push(cpu, &st, sz, fl)) || (e = sys_stack_push(cpu, &st, sz, old_cs)) ||
	    (e = sys_stack_push(cpu, &st, sz, cpu->rip)))
		return e;
	if (has_error && (e = sys_stack_push(cpu, &st, sz, error_code)))
		return e;
	if ((e = sys_set_accessed(cpu, caddr, &cd)))
		return e;
	if (inner)
		cpu->seg[SEG_SS] = st.ss;
	if (from_v86)
		sys_v86_null_segs(cpu);
	sys_stack_commit(cpu, &st);
	cs.type |= 1;
	fl &= ~(RF_TF | RF_NT | RF_RF | RF_VM);
	if (!trap)
		fl &= ~RF_IF;
	soft_set_rflags(cpu, fl); /* VM cleared before the mode is computed */
	sys_set_cs(cpu, &cs);
	cpu->rip = off;
	return SOFT_OK;
}

/* ---- long mode ---- */

static int deliver_long(struct soft_cpu *cpu, unsigned vector, unsigned kind, bool has_error,
			uint32_t error_code)
{
	unsigned ext = ext_bit(kind);
	uint32_t gerr = vector * 8 + 2 + ext;
	if ((uint64_t)vector * 16 + 15 > cpu->idt.limit)
		return sys_exc(cpu, X86_EXC_GP, gerr);
	uint64_t g[2];
	int e = sys_read_sv(cpu, cpu->idt.base + vector * 16, g, 16);
	if (e)
		return e;
	unsigned type = (g[0] >> 40) & 0x1f;
	if (type != 0x0e && type != 0x0f)
		return sys_exc(cpu, X86_EXC_GP, gerr);
	if (soft_int(kind) && d_dpl(g[0]) < cpu->cpl)
		return sys_exc(cpu, X86_EXC_GP, vector * 8 + 2);
	if (!d_p(g[0]))
		return sys_exc(cpu, X86_EXC_NP, gerr);
	bool trap = type & 1;
	unsigned ist = (g[0] >> 32) & 7;
	uint16_t sel = (uint16_t)(g[0] >> 16);
	uint64_t off = (g[0] & 0xffff) | (((g[0] >> 48) & 0xffff) << 16) | ((g[1] & 0xffffffff) << 32);
	uint64_t cd, caddr;
	unsigned new_cpl;
	if ((e = gate_cs(cpu, sel, ext, true, &cd, &caddr, &new_cpl)))
		return e;
	if (!canonical(off))
		return sys_exc(cpu, X86_EXC_GP, ext);
	uint64_t sp = cpu->gpr[GPR_RSP];
	uint16_t dummy;
	if (new_cpl < cpu->cpl && (e = sys_tss_stack(cpu, new_cpl, ext, &dummy, &sp)))
		return e;
	if (ist && (e = sys_tss_stack(cpu, 3 + ist, ext, &dummy, &sp))) /* IST1 at 0x24 = 4+8*4 */
		return e;
	struct sys_stack st;
	memset(&st, 0, sizeof(st));
	st.lm = true;
	st.sp = sp & ~15ULL;
	st.err = ext;
	uint64_t fl = pushed_flags(cpu, vector, kind);
	uint16_t old_ss = cpu->seg[SEG_SS].selector, old_cs = cpu->seg[SEG_CS].selector;
	uint64_t old_sp = cpu->gpr[GPR_RSP];
	unsigned old_cpl = cpu->cpl;
	cpu->cpl = (uint8_t)new_cpl;
	if ((e = sys_stack_push(cpu, &st, 8, old_ss)) || (e = sys_stack_push(cpu, &st, 8, old_sp)) ||
	    (e = sys_stack_push(cpu, &st, 8, fl)) || (e = sys_stack_push(cpu, &st, 8, old_cs)) ||
	    (e = sys_stack_push(cpu, &st, 8, cpu->rip)))
		return e;
	if (has_error && (e = sys_stack_push(cpu, &st, 8, error_code)))
		return e;
	if ((e = sys_set_accessed(cpu, caddr, &cd)))
		return e;
	if (new_cpl != old_cpl)
		sys_seg_null(&cpu->seg[SEG_SS], (uint16_t)new_cpl);
	struct x86_segment cs;
	sys_seg_from_desc(&cs, (uint16_t)((sel & ~3u) | new_cpl), cd, 0);
	sys_set_cs(cpu, &cs);
	cpu->gpr[GPR_RSP] = st.sp;
	fl &= ~(RF_TF | RF_NT | RF_RF | RF_VM);
	if (!trap)
		fl &= ~RF_IF;
	soft_set_rflags(cpu, fl);
	cpu->rip = off;
	return SOFT_OK;
}

/* ---- dispatch, #DF, triple fault ---- */

static bool contributory(unsigned v)
{
	return v == X86_EXC_DE || (v >= X86_EXC_TS && v <= X86_EXC_GP);
}

struct saved {
	uint64_t rsp, rip, rflags;
	struct x86_segment cs, ss;
	uint8_t cpl, mode;
};

static int deliver_once(struct soft_cpu *cpu, unsigned vector, unsigned kind, bool has_error,
			uint32_t error_code)
{
	if (!prot_mode(cpu))
		return deliver_real(cpu, vector, kind);
	if (long_mode(cpu))
		return deliver_long(cpu, vector, kind, has_error, error_code);
	return deliver_prot(cpu, vector, kind, has_error, error_code);
}

/* fault_rip: where a fault raised while delivering the event points (the
 * INT instruction for software interrupts, else rip) */
static int deliver(struct soft_cpu *cpu, unsigned vector, unsigned kind, bool has_error,
		   uint32_t error_code, uint64_t fault_rip)
{
	struct saved s = {
		.rsp = cpu->gpr[GPR_RSP], .rip = cpu->rip, .rflags = soft_get_rflags(cpu),
		.cs = cpu->seg[SEG_CS], .ss = cpu->seg[SEG_SS], .cpl = cpu->cpl, .mode = cpu->mode,
	};
	unsigned first = vector;
	vector &= 0xff;
	for (int depth = 0;; depth++) {
		cpu->task_switched = 0;
		int r = deliver_once(cpu, vector, kind, has_error, error_code);
		if (r == SOFT_OK) {
			cpu->shadow = 0;
			/* a #DB held back by MOV SS / POP SS survives a software
			 * interrupt and is taken before the handler's first
			 * instruction (debug.c) */
			soft_dbg_after_event(cpu, kind);
			if (kind == SOFT_EV_NMI)
				cpu->nmi_blocked = 1;
			/* entering a #DB handler clears DR7.GD (SDM vol. 3, 18.2.4) */
			if (vector == X86_EXC_DB && kind != SOFT_EV_SOFTINT)
				cpu->dr[7] &= ~(uint64_t)SOFT_DR7_GD;
			cpu->block_stop = 1;
			return SOFT_OK;
		}
		if (r == SOFT_EXC && cpu->task_switched) {
			/* a task switch passed its commit point: the fault is
			 * raised in the new task's context (sys_task.c) */
			cpu->task_switched = 0;
			s.rsp = cpu->gpr[GPR_RSP];
			s.rflags = soft_get_rflags(cpu);
			s.cs = cpu->seg[SEG_CS];
			s.ss = cpu->seg[SEG_SS];
			s.cpl = cpu->cpl;
			s.mode = cpu->mode;
			fault_rip = cpu->rip;
		} else {
			/* undo partial state: the nested exception is raised in
			 * the context of the interrupted instruction */
			cpu->gpr[GPR_RSP] = s.rsp;
			cpu->rip = fault_rip;
			soft_set_rflags(cpu, s.rflags);
			cpu->seg[SEG_CS] = s.cs;
			cpu->seg[SEG_SS] = s.ss;
			cpu->cpl = s.cpl;
			cpu->mode = s.mode;
		}
		soft_seg_refresh(cpu);
		if (r != SOFT_EXC)
			return r;
		unsigned v2 = cpu->exc.vector;
		if (vector == X86_EXC_DF || depth >= 3) {
			snprintf(cpu->error, sizeof(cpu->error),
				 "triple fault: vector %u, then #%u(%#x) delivering #DF, rip %#llx", first, v2,
				 cpu->exc.error_code, (unsigned long long)cpu->rip);
			return SOFT_SHUTDOWN;
		}
		bool exc = kind == SOFT_EV_FAULT || kind == SOFT_EV_TRAP;
		bool df = exc && ((contributory(vector) && contributory(v2)) ||
				  (vector == X86_EXC_PF && (contributory(v2) || v2 == X86_EXC_PF)));
		if (v2 == X86_EXC_PF)
			cpu->cr2 = cpu->exc.cr2;
		if (df) {
			vector = X86_EXC_DF;
			has_error = true;
			error_code = 0;
		} else {
			vector = v2;
			has_error = cpu->exc.has_error;
			error_code = cpu->exc.error_code;
		}
		kind = SOFT_EV_FAULT;
	}
}

int soft_cpu_deliver(struct soft_cpu *cpu, unsigned vector, unsigned kind, bool has_error,
		     uint32_t error_code)
{
	return deliver(cpu, vector, kind, has_error, error_code, cpu->rip);
}

int soft_cpu_deliver_exception(struct soft_cpu *cpu)
{
	const struct soft_exception *x = &cpu->exc;
	if (x->vector == X86_EXC_PF && x->kind == SOFT_EV_FAULT)
		cpu->cr2 = x->cr2;
	/* real mode pushes no error codes */
	bool he = x->has_error && prot_mode(cpu);
	bool sw = x->kind == SOFT_EV_SOFTINT || x->kind == SOFT_EV_INT3 || x->kind == SOFT_EV_INTO ||
		  x->kind == SOFT_EV_INT1;
	return deliver(cpu, x->vector, x->kind, he, x->error_code, sw ? x->insn_rip : cpu->rip);
}

/* ---- IRET ---- */

static int iret_real(struct soft_cpu *cpu, const struct x86_insn *in)
{
	unsigned sz = in->opsize == 2 ? 2 : 4;
	struct sys_stack st;
	sys_stack_current(cpu, &st);
	uint64_t ip, cs, fl;
	int e;
	if ((e = sys_stack_pop(cpu, &st, sz, &ip)) || (e = sys_stack_pop(cpu, &st, sz, &cs)) ||
	    (e = sys_stack_pop(cpu, &st, sz, &fl)))
		return e;
	if (sz == 4 && ip > 0xffff && ip > cpu->seg[SEG_CS].limit)
		return soft_gp0(cpu);
	uint64_t old = soft_get_rflags(cpu);
	if (sz == 2)
		fl = (old & ~0xffffULL) | (fl & 0xffff);
	else
		fl = (fl & 0x257fd5) | (old & 0x1a0000);
	sys_stack_commit(cpu, &st);
	soft_load_rflags(cpu, fl | X86_RFLAGS_FIXED); /* IRETD loads RF */
	struct x86_segment c = cpu->seg[SEG_CS];
	c.selector = (uint16_t)cs;
	c.base = (cs & 0xffff) << 4;
	sys_set_cs(cpu, &c);
	cpu->next_rip = ip;
	cpu->nmi_blocked = 0;
	return SOFT_OK;
}

/* Load the RFLAGS image popped by IRET in protected/long mode. */
static void iret_flags(struct soft_cpu *cpu, uint64_t fl, unsigned sz, unsigned old_cpl)
{
	uint64_t old = soft_get_rflags(cpu);
	unsigned iopl = (old >> 12) & 3;
	uint64_t mask = ARITH_FLAGS | RF_TF | X86_RFLAGS_DF | RF_NT | RF_AC | RF_ID;
	if (old_cpl <= iopl)
		mask |= RF_IF;
	if (old_cpl == 0)
		mask |= RF_IOPL | RF_VIF | RF_VIP;
	/* RF is loaded: a debugger's handler sets it in the image to resume
	 * over an instruction breakpoint (SDM vol. 3, 18.3.1.1) */
	mask |= RF_RF;
	if (sz == 2)
		mask &= 0xffff;
	soft_load_rflags(cpu, (old & ~mask) | (fl & mask) | X86_RFLAGS_FIXED);
}

/* Checks of a return CS (IRET, far RET): SDM "RETURN-FROM-PROCEDURE".
 * lm: IA-32e mode (L=1 D=1 is #GP). */
int sys_check_return_cs(struct soft_cpu *cpu, uint16_t sel, bool lm_ok, uint64_t *d, uint64_t *addr)
{
	uint32_t err = sel & 0xfffc;
	if (!err)
		return soft_gp0(cpu);
	uint64_t dd[2];
	int e = sys_fetch_desc(cpu, sel, false, X86_EXC_GP, 0, dd, addr);
	if (e)
		return e;
	uint64_t lo = dd[0];
	unsigned rpl = sel & 3;
	if (!d_code(lo) || rpl < cpu->cpl)
		return sys_exc(cpu, X86_EXC_GP, err);
	if (d_conforming(lo) ? d_dpl(lo) > rpl : d_dpl(lo) != rpl)
		return sys_exc(cpu, X86_EXC_GP, err);
	if (lm_ok && d_l(lo) && d_db(lo))
		return sys_exc(cpu, X86_EXC_GP, err);
	if (!d_p(lo))
		return sys_exc(cpu, X86_EXC_NP, err);
	*d = lo;
	return SOFT_OK;
}

/* Checks of the SS popped by a return to an outer level (or by IRET in
 * 64-bit mode): *ss filled. */
int sys_check_return_ss(struct soft_cpu *cpu, uint16_t sel, unsigned rpl, bool to64,
			struct x86_segment *ss, uint64_t *addr)
{
	uint32_t err = sel & 0xfffc;
	*addr = ~0ULL;
	if (!err) {
		if (!to64 || rpl == 3 || (sel & 3) != rpl)
			return soft_gp0(cpu);
		sys_seg_null(ss, sel);
		ss->type = 3;
		ss->s = 1;
		ss->present = 1;
		return SOFT_OK;
	}
	uint64_t dd[2];
	int e = sys_fetch_desc(cpu, sel, false, X86_EXC_GP, 0, dd, addr);
	if (e)
		return e;
	uint64_t lo = dd[0];
	if ((sel & 3) != rpl || !d_wdata(lo) || d_dpl(lo) != rpl)
		return sys_exc(cpu, X86_EXC_GP, err);
	if (!d_p(lo))
		return sys_exc(cpu, X86_EXC_SS, err);
	sys_seg_from_desc(ss, sel, lo, 0);
	return SOFT_OK;
}

int soft_exec_iret(struct soft_cpu *cpu, const struct x86_insn *in)
{
	/* "An execution of the IRET instruction unblocks NMIs even if the
	 * instruction causes a fault" (SDM vol. 3, 6.7.1) */
	cpu->nmi_blocked = 0;
	if (!prot_mode(cpu))
		return iret_real(cpu, in);
	if (vm86(cpu))
		return sys_v86_iret(cpu, in);
	uint64_t fl0 = soft_get_rflags(cpu);
	if (fl0 & RF_NT) {
		if (long_mode(cpu))
			return soft_gp0(cpu);
		return sys_task_iret(cpu); /* TASK-RETURN */
	}
	unsigned sz = in->opsize;
	struct sys_stack st;
	sys_stack_current(cpu, &st);
	uint64_t ip, csv, fl;
	int e;
	if ((e = sys_stack_pop(cpu, &st, sz, &ip)) || (e = sys_stack_pop(cpu, &st, sz, &csv)) ||
	    (e = sys_stack_pop(cpu, &st, sz, &fl)))
		return e;
	if (sz == 2)
		fl &= 0xffff;
	if ((fl & RF_VM) && cpu->cpl == 0 && sz != 2 && !long_mode(cpu))
		return sys_v86_iret_to(cpu, &st, ip, (uint16_t)csv, fl);
	uint16_t sel = (uint16_t)csv;
	uint64_t cd, caddr;
	if ((e = sys_check_return_cs(cpu, sel, long_mode(cpu), &cd, &caddr)))
		return e;
	unsigned rpl = sel & 3, old_cpl = cpu->cpl;
	bool to64 = long_mode(cpu) && d_l(cd);
	bool pop_ss = rpl > old_cpl || cpu->mode == SOFT_MODE_64;
	struct x86_segment ss = cpu->seg[SEG_SS];
	uint64_t sp = 0, ssv = 0, saddr = ~0ULL;
	if (pop_ss) {
		if ((e = sys_stack_pop(cpu, &st, sz, &sp)) || (e = sys_stack_pop(cpu, &st, sz, &ssv)))
			return e;
		if ((e = sys_check_return_ss(cpu, (uint16_t)ssv, rpl, to64, &ss, &saddr)))
			return e;
	}
	struct x86_segment cs;
	sys_seg_from_desc(&cs, sel, cd, 0);
	if (to64) {
		if (!canonical(ip))
			return soft_gp0(cpu);
	} else {
		ip &= sz == 2 ? 0xffff : 0xffffffff;
		if (!sys_off_ok(&cs, ip))
			return soft_gp0(cpu);
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
	/* commit */
	iret_flags(cpu, fl, sz, old_cpl);
	if (pop_ss) {
		cpu->seg[SEG_SS] = ss;
		soft_seg_refresh(cpu);
		if (to64 || cpu->mode == SOFT_MODE_64)
			cpu->gpr[GPR_RSP] = sz == 8 ? sp : sz == 4 ? (uint32_t)sp : sp & 0xffff;
		else
			cpu->gpr[GPR_RSP] = ss.db ? (uint32_t)sp : ((cpu->gpr[GPR_RSP] & ~0xffffULL) | (sp & 0xffff));
	} else {
		sys_stack_commit(cpu, &st);
	}
	sys_set_cs(cpu, &cs);
	if (rpl > old_cpl)
		sys_null_outer_segs(cpu);
	cpu->next_rip = ip;
	cpu->nmi_blocked = 0;
	return SOFT_OK;
}
