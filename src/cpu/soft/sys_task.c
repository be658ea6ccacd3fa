/* Hardware task switching (SDM vol. 3, ch. 7 "Task Management"; vol. 2
 * JMP, CALL, IRET and INT n "TASK-GATE"/"TASK-STATE-SEGMENT"/"TASK-RETURN"
 * and "SWITCH-TASKS").  Legacy protected mode only: in IA-32e mode task
 * gates and TSS targets are #GP (sys_far.c, sys_event.c) and IRET with NT=1
 * is #GP(0).
 *
 * A switch runs in three phases:
 *   1. checks and reads that fault in the context of the old task: the
 *      callers' descriptor checks (present, busy, DPL), the new TSS limit
 *      (#TS), the old TSS limit, the whole new TSS read (so its page faults
 *      come first) and the old task's state written to the old TSS;
 *   2. the commit: busy bits, back link, TR loaded, CR0.TS set;
 *   3. the new task's state loaded: CR3, EFLAGS, EIP, the GPRs, the LDT and
 *      the segment registers with every check.  A fault here is raised in
 *      the new task's context (SDM 7.3, step 12): cpu->task_switched tells
 *      the event code not to roll the state back.
 * Then the error code of an exception through a task gate is pushed on the
 * new task's stack, EIP is checked against the new CS limit and, if the
 * new TSS's T bit is set, a #DB trap is raised with DR6.BT. */
#include <string.h>

#include "sys.h"

/* 32-bit TSS offsets (SDM vol. 3, figure 7-2) */
enum {
	TSS32_LINK = 0x00, TSS32_CR3 = 0x1c, TSS32_EIP = 0x20, TSS32_EFLAGS = 0x24,
	TSS32_GPR = 0x28, TSS32_SEG = 0x48, TSS32_LDT = 0x60, TSS32_T = 0x64,
	TSS32_SIZE = 0x68,
};
/* 16-bit TSS offsets (SDM vol. 3, figure 7-11) */
enum {
	TSS16_LINK = 0x00, TSS16_IP = 0x0e, TSS16_FLAGS = 0x10, TSS16_GPR = 0x12,
	TSS16_SEG = 0x22, TSS16_LDT = 0x2a, TSS16_SIZE = 0x2c,
};

/* The segment registers in TSS order: ES CS SS DS FS GS. */
static const unsigned tss_segs[6] = { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS };

#define DR6_BT (1ULL << 15)
#define DR7_LOCAL 0x155ULL /* L0 L1 L2 L3 LE */

/* The state a switch loads. */
struct task_state {
	uint32_t eip, eflags, cr3;
	uint32_t gpr[8];
	uint16_t sel[6]; /* ES CS SS DS FS GS */
	uint16_t ldt;
	bool t;
};

static uint16_t rd16(const uint8_t *b, unsigned off)
{
	uint16_t v;
	memcpy(&v, b + off, 2);
	return v;
}

static uint32_t rd32(const uint8_t *b, unsigned off)
{
	uint32_t v;
	memcpy(&v, b + off, 4);
	return v;
}

static void wr16(uint8_t *b, unsigned off, uint16_t v)
{
	memcpy(b + off, &v, 2);
}

static void wr32(uint8_t *b, unsigned off, uint32_t v)
{
	memcpy(b + off, &v, 4);
}

static void parse_tss(const uint8_t *b, bool t32, struct task_state *ts)
{
	memset(ts, 0, sizeof(*ts));
	if (t32) {
		ts->cr3 = rd32(b, TSS32_CR3);
		ts->eip = rd32(b, TSS32_EIP);
		ts->eflags = rd32(b, TSS32_EFLAGS);
		for (unsigned i = 0; i < 8; i++)
			ts->gpr[i] = rd32(b, TSS32_GPR + 4 * i);
		for (unsigned i = 0; i < 6; i++)
			ts->sel[i] = rd16(b, TSS32_SEG + 4 * i);
		ts->ldt = rd16(b, TSS32_LDT);
		ts->t = rd16(b, TSS32_T) & 1;
		return;
	}
	ts->eip = rd16(b, TSS16_IP);
	ts->eflags = rd16(b, TSS16_FLAGS);
	for (unsigned i = 0; i < 8; i++)
		ts->gpr[i] = rd16(b, TSS16_GPR + 2 * i);
	for (unsigned i = 0; i < 4; i++) /* ES CS SS DS; no FS GS */
		ts->sel[i] = rd16(b, TSS16_SEG + 2 * i);
	ts->ldt = rd16(b, TSS16_LDT);
}

/* Set or clear the busy bit (type bit 1) of the TSS descriptor of sel in
 * the GDT. */
static int set_busy(struct soft_cpu *cpu, uint16_t sel, bool busy)
{
	uint64_t la = (uint32_t)(cpu->gdt.base + (sel & ~7u) + 5);
	uint8_t b;
	int e = sys_read_sv(cpu, la, &b, 1);
	if (e)
		return e;
	b = busy ? (uint8_t)(b | 2) : (uint8_t)(b & ~2);
	return sys_write_sv(cpu, la, &b, 1);
}

/* Write the current (old) task's dynamic state into its TSS.  The area is
 * read first so the reserved halves of the selector fields are kept, then
 * written in one access (a fault leaves memory unchanged). */
static int save_old(struct soft_cpu *cpu, uint32_t eip, uint32_t eflags)
{
	const struct x86_segment *tr = &cpu->tr;
	bool t32 = tr->type & 8;
	unsigned off = t32 ? TSS32_EIP : TSS16_IP;
	unsigned len = t32 ? TSS32_LDT - TSS32_EIP : TSS16_LDT - TSS16_IP;
	uint8_t b[TSS32_LDT - TSS32_EIP];
	uint64_t la = (uint32_t)(tr->base + off);
	int e = sys_read_sv(cpu, la, b, len);
	if (e)
		return e;
	if (t32) {
		wr32(b, 0, eip);
		wr32(b, 4, eflags);
		for (unsigned i = 0; i < 8; i++)
			wr32(b, 8 + 4 * i, (uint32_t)cpu->gpr[i]);
		for (unsigned i = 0; i < 6; i++)
			wr16(b, 0x28 + 4 * i, cpu->seg[tss_segs[i]].selector);
	} else {
		wr16(b, 0, (uint16_t)eip);
		wr16(b, 2, (uint16_t)eflags);
		for (unsigned i = 0; i < 8; i++)
			wr16(b, 4 + 2 * i, (uint16_t)cpu->gpr[i]);
		for (unsigned i = 0; i < 4; i++)
			wr16(b, 0x14 + 2 * i, cpu->seg[tss_segs[i]].selector);
	}
	return sys_write_sv(cpu, la, b, len);
}

static int ts_fault(struct soft_cpu *cpu, unsigned vec, uint16_t sel, unsigned ext)
{
	return sys_exc(cpu, vec, (sel & 0xfffcu) | ext);
}

/* LDTR of the new task: null, or an LDT descriptor in the GDT that is
 * present; else #TS(LDT selector). */
static int load_ldt(struct soft_cpu *cpu, uint16_t sel, unsigned ext)
{
	if (!(sel & 0xfffc)) {
		sys_seg_null(&cpu->ldt, sel);
		return SOFT_OK;
	}
	if (sel & 4)
		return ts_fault(cpu, X86_EXC_TS, sel, ext);
	uint64_t d[2];
	int e = sys_fetch_desc(cpu, sel, false, X86_EXC_TS, ext, d, NULL);
	if (e)
		return e;
	if (d_s(d[0]) || d_type(d[0]) != 2 || !d_p(d[0]))
		return ts_fault(cpu, X86_EXC_TS, sel, ext);
	sys_seg_from_desc(&cpu->ldt, sel, d[0], 0);
	return SOFT_OK;
}

/* A data segment register of the new task (SDM table 7-1, checks 14-17). */
static int load_data_seg(struct soft_cpu *cpu, unsigned seg, uint16_t sel, unsigned cpl, unsigned ext)
{
	if (!(sel & 0xfffc)) {
		sys_seg_null(&cpu->seg[seg], sel);
		return SOFT_OK;
	}
	uint64_t d[2], addr;
	int e = sys_fetch_desc(cpu, sel, false, X86_EXC_TS, ext, d, &addr);
	if (e)
		return e;
	uint64_t lo = d[0];
	if (!d_s(lo) || (d_code(lo) && !(d_type(lo) & 2)))
		return ts_fault(cpu, X86_EXC_TS, sel, ext);
	if (!d_conforming(lo) && (d_dpl(lo) < cpl || d_dpl(lo) < (sel & 3u)))
		return ts_fault(cpu, X86_EXC_TS, sel, ext);
	if (!d_p(lo))
		return ts_fault(cpu, X86_EXC_NP, sel, ext);
	if ((e = sys_set_accessed(cpu, addr, &lo)))
		return e;
	sys_seg_from_desc(&cpu->seg[seg], sel, lo, 0);
	return SOFT_OK;
}

/* CS and SS of the new task (protected mode), then the data segments. */
static int load_prot_segs(struct soft_cpu *cpu, const struct task_state *ts, unsigned ext)
{
	uint16_t cs_sel = ts->sel[1], ss_sel = ts->sel[2];
	unsigned cpl = cs_sel & 3;
	uint64_t cd[2], sd[2], caddr, saddr;
	int e;
	/* CS valid and DPL vs RPL: #TS(CS) */
	if (!(cs_sel & 0xfffc))
		return ts_fault(cpu, X86_EXC_TS, 0, ext);
	if ((e = sys_fetch_desc(cpu, cs_sel, false, X86_EXC_TS, ext, cd, &caddr)))
		return e;
	if (!d_code(cd[0]) || (d_conforming(cd[0]) ? d_dpl(cd[0]) > cpl : d_dpl(cd[0]) != cpl))
		return ts_fault(cpu, X86_EXC_TS, cs_sel, ext);
	/* SS valid, a writable data segment with RPL = DPL = CPL: #TS(SS);
	 * present: #SS(SS) */
	if (!(ss_sel & 0xfffc))
		return ts_fault(cpu, X86_EXC_TS, 0, ext);
	if ((e = sys_fetch_desc(cpu, ss_sel, false, X86_EXC_TS, ext, sd, &saddr)))
		return e;
	if (!d_wdata(sd[0]) || d_dpl(sd[0]) != cpl || (ss_sel & 3u) != cpl)
		return ts_fault(cpu, X86_EXC_TS, ss_sel, ext);
	if (!d_p(sd[0]))
		return ts_fault(cpu, X86_EXC_SS, ss_sel, ext);
	/* SS is checked: it is loaded, so a fault from here on has a stack */
	if ((e = sys_set_accessed(cpu, saddr, &sd[0])))
		return e;
	sys_seg_from_desc(&cpu->seg[SEG_SS], ss_sel, sd[0], 0);
	/* CS present: #NP(CS) */
	if (!d_p(cd[0]))
		return ts_fault(cpu, X86_EXC_NP, cs_sel, ext);
	if ((e = sys_set_accessed(cpu, caddr, &cd[0])))
		return e;
	struct x86_segment cs;
	sys_seg_from_desc(&cs, cs_sel, cd[0], 0);
	sys_set_cs(cpu, &cs);
	static const unsigned data_idx[4] = { 0, 3, 4, 5 }; /* ES DS FS GS */
	for (unsigned i = 0; i < 4; i++) {
		unsigned k = data_idx[i];
		if ((e = load_data_seg(cpu, tss_segs[k], ts->sel[k], cpl, ext)))
			return e;
	}
	return SOFT_OK;
}

static int task_switch(struct soft_cpu *cpu, uint16_t sel, uint64_t d, enum sys_task_src src,
		       unsigned ext, uint64_t old_eip, uint64_t old_flags, bool has_error,
		       uint32_t error_code)
{
	bool t32 = d_type(d) & 8;
	/* new TSS limit: at least 0x67 (32-bit) or 0x2b (16-bit), #TS(new TSS) */
	if (d_limit(d) < (t32 ? TSS32_SIZE - 1u : TSS16_SIZE - 1u))
		return ts_fault(cpu, X86_EXC_TS, sel, ext);
	/* the old TSS must hold the state to be saved */
	const struct x86_segment *tr = &cpu->tr;
	if (tr->limit < ((tr->type & 8) ? TSS32_LDT - 1u : TSS16_LDT - 1u))
		return ts_fault(cpu, X86_EXC_TS, tr->selector, ext);
	/* read the whole new TSS before anything is written */
	uint8_t nb[TSS32_SIZE];
	uint32_t nbase = (uint32_t)d_base(d);
	int e = sys_read_sv(cpu, nbase, nb, t32 ? TSS32_SIZE : TSS16_SIZE);
	if (e)
		return e;
	struct task_state ts;
	parse_tss(nb, t32, &ts);

	/* save the old task: EIP of the next instruction (or of the faulting
	 * one), EFLAGS with NT cleared for IRET */
	uint32_t saved_flags = (uint32_t)old_flags;
	if (src == SYS_TASK_IRET)
		saved_flags &= ~(uint32_t)RF_NT;
	if ((e = save_old(cpu, (uint32_t)old_eip, saved_flags)))
		return e;
	uint16_t old_tr = cpu->tr.selector;
	bool nest = src == SYS_TASK_CALL || src == SYS_TASK_INT;
	if (nest) {
		uint16_t link = old_tr;
		if ((e = sys_write_sv(cpu, nbase + TSS32_LINK, &link, 2)))
			return e;
		ts.eflags |= (uint32_t)RF_NT;
	}
	/* busy bits: JMP and IRET free the old task; everything but IRET
	 * marks the new one busy (IRET returns to a task that is still busy) */
	if ((src == SYS_TASK_JMP || src == SYS_TASK_IRET) && (e = set_busy(cpu, old_tr, false)))
		return e;
	if (src != SYS_TASK_IRET) {
		if ((e = set_busy(cpu, sel, true)))
			return e;
		d |= 2ULL << 40;
	}

	/* ---- commit: from here on faults belong to the new task ---- */
	sys_seg_from_desc(&cpu->tr, sel, d, 0);
	cpu->task_switched = 1;
	cpu->cr0 |= X86_CR0_TS;
	if (t32 && (cpu->cr0 & X86_CR0_PG)) {
		cpu->cr3 = ts.cr3;
		sys_tlb_flush(cpu, (cpu->cr4 & X86_CR4_PGE) ? SOFT_FLUSH_NONGLOBAL : SOFT_FLUSH_ALL, 0);
	}
	/* 16-bit TSS: the upper halves of EFLAGS and the GPRs are not loaded.
	 * RF is dropped, as by IRET (sys_event.c): the core does not clear it
	 * after the next instruction, instruction breakpoints not being
	 * modelled. */
	uint64_t fl = t32 ? ts.eflags : ((soft_get_rflags(cpu) & ~0xffffULL & ~RF_VM) | ts.eflags);
	fl &= ~RF_RF;
	soft_set_rflags(cpu, fl | X86_RFLAGS_FIXED);
	for (unsigned i = 0; i < 8; i++)
		cpu->gpr[i] = t32 ? ts.gpr[i] : ((cpu->gpr[i] & ~0xffffULL) | ts.gpr[i]);
	cpu->rip = cpu->next_rip = ts.eip;
	/* local breakpoint enables are task-local (SDM 17.2.4) */
	cpu->dr[7] &= ~DR7_LOCAL;
	/* the selectors are loaded before their descriptors are checked: a
	 * segment that fails stays unusable in the new task */
	for (unsigned i = 0; i < 6; i++)
		if (tss_segs[i] != SEG_CS)
			sys_seg_null(&cpu->seg[tss_segs[i]], ts.sel[i]);
	struct x86_segment cs0 = cpu->seg[SEG_CS];
	cs0.selector = ts.sel[1];
	sys_set_cs(cpu, &cs0); /* CPL from the new CS's RPL (or 3 with VM=1) */
	if ((e = load_ldt(cpu, ts.ldt, ext)))
		return e;
	if (fl & RF_VM) {
		for (unsigned i = 0; i < 6; i++)
			sys_seg_v86(&cpu->seg[tss_segs[i]], ts.sel[i], tss_segs[i] == SEG_CS);
		sys_set_cs(cpu, &cpu->seg[SEG_CS]);
	} else if ((e = load_prot_segs(cpu, &ts, ext))) {
		return e;
	}
	/* an exception's error code goes on the new task's stack */
	if (has_error) {
		struct sys_stack st;
		sys_stack_current(cpu, &st);
		st.err = ext;
		if ((e = sys_stack_push(cpu, &st, t32 ? 4 : 2, error_code)))
			return e;
		sys_stack_commit(cpu, &st);
	}
	if (!sys_off_ok(&cpu->seg[SEG_CS], cpu->rip))
		return src == SYS_TASK_INT ? sys_exc(cpu, X86_EXC_TS, ext) : soft_gp0(cpu);
	if (ts.t) {
		/* T bit: a debug trap before the new task's first instruction
		 * (SDM 17.3.1.5) */
		cpu->dr[6] |= DR6_BT;
		soft_raise(cpu, X86_EXC_DB, false, 0);
		cpu->exc.kind = SOFT_EV_TRAP;
		return SOFT_EXC;
	}
	cpu->task_switched = 0;
	return SOFT_OK;
}

/* The TSS selector of a task gate (or of a far JMP/CALL, direct): a GDT
 * selector of an available TSS that is present.  vec: #GP for JMP/CALL and
 * events. */
static int fetch_tss(struct soft_cpu *cpu, uint16_t sel, unsigned ext, uint64_t *d)
{
	if ((sel & 4) || !(sel & 0xfffc))
		return ts_fault(cpu, X86_EXC_GP, sel, ext);
	uint64_t dd[2];
	int e = sys_fetch_desc(cpu, sel, false, X86_EXC_GP, ext, dd, NULL);
	if (e)
		return e;
	unsigned type = d_type(dd[0]);
	if (d_s(dd[0]) || (type != 1 && type != 9))
		return ts_fault(cpu, X86_EXC_GP, sel, ext); /* busy or not a TSS */
	if (!d_p(dd[0]))
		return ts_fault(cpu, X86_EXC_NP, sel, ext);
	*d = dd[0];
	return SOFT_OK;
}

int sys_task_far(struct soft_cpu *cpu, uint16_t sel, uint64_t d, bool call)
{
	unsigned dpl = d_dpl(d), rpl = sel & 3;
	enum sys_task_src src = call ? SYS_TASK_CALL : SYS_TASK_JMP;
	uint64_t fl = soft_get_rflags(cpu);
	int e;
	if (d_type(d) == 5) {
		/* task gate (GDT or LDT) */
		if (dpl < cpu->cpl || dpl < rpl)
			return ts_fault(cpu, X86_EXC_GP, sel, 0);
		if (!d_p(d))
			return ts_fault(cpu, X86_EXC_NP, sel, 0);
		uint16_t tsel = (uint16_t)(d >> 16);
		uint64_t td;
		if ((e = fetch_tss(cpu, tsel, 0, &td)))
			return e;
		return task_switch(cpu, tsel, td, src, 0, cpu->next_rip, fl, false, 0);
	}
	/* an available TSS (the caller sent busy ones to #GP); only in the GDT */
	if (dpl < cpu->cpl || dpl < rpl || (sel & 4))
		return ts_fault(cpu, X86_EXC_GP, sel, 0);
	if (!d_p(d))
		return ts_fault(cpu, X86_EXC_NP, sel, 0);
	return task_switch(cpu, sel, d, src, 0, cpu->next_rip, fl, false, 0);
}

int sys_task_iret(struct soft_cpu *cpu)
{
	/* TASK-RETURN: the back link of the current TSS names a busy TSS in
	 * the GDT */
	uint16_t link;
	int e = sys_read_sv(cpu, (uint32_t)(cpu->tr.base + TSS32_LINK), &link, 2);
	if (e)
		return e;
	if ((link & 4) || !(link & 0xfffc))
		return ts_fault(cpu, X86_EXC_TS, link, 0);
	uint64_t d[2];
	if ((e = sys_fetch_desc(cpu, link, false, X86_EXC_TS, 0, d, NULL)))
		return e;
	unsigned type = d_type(d[0]);
	if (d_s(d[0]) || (type != 3 && type != 0xb))
		return ts_fault(cpu, X86_EXC_TS, link, 0);
	if (!d_p(d[0]))
		return ts_fault(cpu, X86_EXC_NP, link, 0);
	int r = task_switch(cpu, link, d[0], SYS_TASK_IRET, 0, cpu->next_rip, soft_get_rflags(cpu),
			    false, 0);
	if (r == SOFT_OK || cpu->task_switched)
		cpu->nmi_blocked = 0; /* IRET unblocks NMIs, a task return too */
	return r;
}

int sys_task_event(struct soft_cpu *cpu, uint16_t tss_sel, unsigned ext, bool has_error,
		   uint32_t error_code, uint64_t flags)
{
	uint64_t d;
	int e = fetch_tss(cpu, tss_sel, ext, &d);
	if (e)
		return e;
	return task_switch(cpu, tss_sel, d, SYS_TASK_INT, ext, cpu->rip, flags, has_error, error_code);
}
