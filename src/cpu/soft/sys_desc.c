/* Descriptors and segmentation (SDM vol. 3, ch. 3 and 5): descriptor
 * fetches, segment register loads with every protection check, LGDT LIDT
 * SGDT SIDT LLDT SLDT LTR STR, LAR LSL VERR VERW, ARPL, and the stack and
 * TSS helpers the far-transfer and event code share (sys.h). */
#include <string.h>

#include "align_check.h"
#include "icache.h"
#include "sys.h"

/* ---- implicit supervisor accesses ---- */

int sys_read_sv(struct soft_cpu *cpu, uint64_t la, void *dst, unsigned len)
{
	uint8_t cpl = cpu->cpl;
	cpu->cpl = 0;
	cpu->implicit_sv = 1; /* SMAP checks it whatever EFLAGS.AC says */
	int r = soft_read_lin(cpu, la, dst, len);
	cpu->implicit_sv = 0;
	cpu->cpl = cpl;
	return r;
}

int sys_write_sv(struct soft_cpu *cpu, uint64_t la, const void *src, unsigned len)
{
	uint8_t cpl = cpu->cpl;
	cpu->cpl = 0;
	cpu->implicit_sv = 1;
	int r = soft_write_lin(cpu, la, src, len);
	cpu->implicit_sv = 0;
	cpu->cpl = cpl;
	return r;
}

void sys_tlb_flush(struct soft_cpu *cpu, enum soft_flush kind, uint64_t la)
{
	if (cpu->sys && cpu->sys->tlb_flush)
		cpu->sys->tlb_flush(cpu->sys->opaque, kind, la);
	/* links into global pages survive what keeps global translations;
	 * a PCID switch changes only the space, which the MMU reported
	 * (soft_icache_set_space; docs/soft-cpu.md, "Chains across address
	 * spaces") */
	switch (kind) {
	case SOFT_FLUSH_SWITCH:
		break;
	case SOFT_FLUSH_PAGE:
		soft_cpu_flush_code_page(cpu, la);
		break;
	case SOFT_FLUSH_NONGLOBAL: case SOFT_FLUSH_PCID: case SOFT_FLUSH_ALL_NONGLOBAL:
		soft_cpu_flush_code_tlb_nonglobal(cpu);
		break;
	default:
		soft_cpu_flush_code_tlb(cpu);
		break;
	}
}

/* ---- descriptors ---- */

int sys_fetch_desc(struct soft_cpu *cpu, uint16_t sel, bool wide, unsigned vec,
		   unsigned ext, uint64_t d[2], uint64_t *addr)
{
	uint64_t base;
	uint32_t limit;
	uint32_t err = (sel & 0xfffcu) | ext;
	if (sel & 4) {
		if (cpu->ldt.unusable || !cpu->ldt.present || !(cpu->ldt.selector & 0xfffc))
			return sys_exc(cpu, vec, err);
		base = cpu->ldt.base;
		limit = cpu->ldt.limit;
	} else {
		base = cpu->gdt.base;
		limit = cpu->gdt.limit;
	}
	uint64_t idx = sel & ~7u, last = idx + (wide ? 15 : 7);
	if (last > limit)
		return sys_exc(cpu, vec, err);
	if (!long_mode(cpu))
		base = (uint32_t)base;
	uint64_t la = base + idx;
	if (!long_mode(cpu))
		la = (uint32_t)la;
	d[1] = 0;
	int r = sys_read_sv(cpu, la, d, wide ? 16 : 8);
	if (r)
		return r;
	if (addr)
		*addr = la;
	return SOFT_OK;
}

int sys_set_accessed(struct soft_cpu *cpu, uint64_t addr, uint64_t *d)
{
	if (*d & (1ULL << 40))
		return SOFT_OK;
	uint8_t ab = (uint8_t)((*d >> 40) | 1);
	int r = sys_write_sv(cpu, addr + 5, &ab, 1);
	if (r)
		return r;
	*d |= 1ULL << 40;
	return SOFT_OK;
}

void sys_seg_from_desc(struct x86_segment *s, uint16_t sel, uint64_t d, uint64_t hi)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->base = d_base(d) | ((hi & 0xffffffff) << 32);
	s->g = (d >> 55) & 1;
	s->limit = d_limit(d);
	s->type = (uint8_t)d_type(d);
	s->s = d_s(d);
	s->dpl = (uint8_t)d_dpl(d);
	s->present = d_p(d);
	s->avl = (d >> 52) & 1;
	s->l = d_l(d);
	s->db = d_db(d);
}

void sys_seg_null(struct x86_segment *s, uint16_t sel)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->unusable = 1;
	s->dpl = sel & 3;
}

void sys_seg_flat(struct x86_segment *s, uint16_t sel, bool code, bool l, unsigned dpl)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->limit = 0xffffffff;
	s->g = 1;
	s->s = 1;
	s->present = 1;
	s->dpl = (uint8_t)dpl;
	s->type = code ? 0xb : 0x3;
	s->l = code && l;
	s->db = !(code && l);
}

void sys_set_cs(struct soft_cpu *cpu, const struct x86_segment *cs)
{
	cpu->seg[SEG_CS] = *cs;
	soft_cpu_update_mode(cpu);
	cpu->block_stop = 1;
}

void sys_set_cs64(struct soft_cpu *cpu)
{
	cpu->cpl = cpu->seg[SEG_CS].selector & 3;
	if (cpu->icache)
		soft_icache_set_context(cpu->icache, cpu->cpl, 0);
	cpu->block_stop = 1;
}

/* ---- segment register loads (MOV/POP Sreg, LxS) ---- */

static int load_seg(struct soft_cpu *cpu, unsigned seg, uint16_t sel)
{
	struct x86_segment *s = &cpu->seg[seg];
	if (!prot_mode(cpu) || vm86(cpu)) {
		s->selector = sel;
		s->base = (uint64_t)sel << 4;
		if (vm86(cpu)) {
			s->limit = 0xffff;
			s->type = seg == SEG_CS ? 0xb : 0x3;
			s->s = 1;
			s->dpl = 3;
			s->db = s->g = s->l = 0;
		}
		/* real mode keeps the cached limit/attributes ("unreal" mode) */
		s->present = 1;
		s->unusable = 0;
		return SOFT_OK;
	}
	unsigned rpl = sel & 3, cpl = cpu->cpl;
	uint32_t err = sel & 0xfffc;
	if (!err) {
		/* null: fine for DS ES FS GS; SS only in 64-bit mode at CPL < 3
		 * with RPL = CPL */
		if (seg == SEG_SS && !(cpu->mode == SOFT_MODE_64 && cpl != 3 && rpl == cpl))
			return sys_exc(cpu, X86_EXC_GP, 0);
		/* Intel clears the hidden base on a null load, in 64-bit mode
		 * too (AMD keeps it: Linux's X86_BUG_NULL_SEG) */
		sys_seg_null(s, sel);
		if (seg == SEG_SS) {
			s->dpl = (uint8_t)cpl;
			s->type = 3;
			s->s = 1;
			s->present = 1;
		}
		return SOFT_OK;
	}
	uint64_t d[2], addr;
	int e = sys_fetch_desc(cpu, sel, false, X86_EXC_GP, 0, d, &addr);
	if (e)
		return e;
	uint64_t lo = d[0];
	unsigned dpl = d_dpl(lo);
	if (seg == SEG_SS) {
		if (rpl != cpl || !d_wdata(lo) || dpl != cpl)
			return sys_exc(cpu, X86_EXC_GP, err);
		if (!d_p(lo))
			return sys_exc(cpu, X86_EXC_SS, err);
	} else {
		if (!d_s(lo) || (d_code(lo) && !(d_type(lo) & 2)))
			return sys_exc(cpu, X86_EXC_GP, err);
		if (!d_conforming(lo) && (rpl > dpl || cpl > dpl))
			return sys_exc(cpu, X86_EXC_GP, err);
		if (!d_p(lo))
			return sys_exc(cpu, X86_EXC_NP, err);
	}
	e = sys_set_accessed(cpu, addr, &lo);
	if (e)
		return e;
	sys_seg_from_desc(s, sel, lo, 0);
	return SOFT_OK;
}

int soft_load_seg(struct soft_cpu *cpu, unsigned seg, uint16_t sel);
int soft_load_seg(struct soft_cpu *cpu, unsigned seg, uint16_t sel)
{
	int e = load_seg(cpu, seg, sel);
	soft_seg_refresh(cpu); /* the data-access rights follow the new cache */
	return e;
}

/* ---- descriptor-table registers ---- */

static bool umip_blocks(const struct soft_cpu *cpu)
{
	return (cpu->cr4 & (1u << 11)) && cpu->cpl != 0;
}

static int load_dtable(struct soft_cpu *cpu, const struct x86_insn *in, struct x86_dtable *t)
{
	if (cpu->cpl != 0)
		return soft_gp0(cpu);
	uint64_t la = soft_ea(cpu, in), limit, base;
	int e = mem_read(cpu, la, 2, &limit);
	if (e)
		return e;
	if (cpu->mode == SOFT_MODE_64) {
		e = mem_read(cpu, la + 2, 8, &base);
		if (e)
			return e;
		if (!canonical(base))
			return soft_gp0(cpu);
	} else {
		e = mem_read(cpu, la + 2, 4, &base);
		if (e)
			return e;
		if (in->opsize == 2)
			base &= 0xffffff;
	}
	t->base = base;
	t->limit = (uint16_t)limit;
	return SOFT_OK;
}

static int store_dtable(struct soft_cpu *cpu, const struct x86_insn *in, const struct x86_dtable *t)
{
	if (umip_blocks(cpu))
		return soft_gp0(cpu);
	uint64_t la = soft_ea(cpu, in);
	/* check the whole operand first so a fault leaves memory unchanged */
	uint8_t buf[10];
	unsigned n = cpu->mode == SOFT_MODE_64 ? 10 : 6;
	memcpy(buf, &t->limit, 2);
	uint64_t base = cpu->mode == SOFT_MODE_64 ? t->base : (uint32_t)t->base;
	memcpy(buf + 2, &base, 8);
	return soft_write(cpu, la, buf, n);
}

int soft_exec_lgdt(struct soft_cpu *cpu, const struct x86_insn *in)
{
	return load_dtable(cpu, in, &cpu->gdt);
}

int soft_exec_lidt(struct soft_cpu *cpu, const struct x86_insn *in)
{
	return load_dtable(cpu, in, &cpu->idt);
}

int soft_exec_sgdt(struct soft_cpu *cpu, const struct x86_insn *in)
{
	return store_dtable(cpu, in, &cpu->gdt);
}

int soft_exec_sidt(struct soft_cpu *cpu, const struct x86_insn *in)
{
	return store_dtable(cpu, in, &cpu->idt);
}

/* SLDT / STR: register destinations get the operand size (zero-extended),
 * memory destinations 16 bits. */
static int store_sel(struct soft_cpu *cpu, const struct x86_insn *in, uint16_t sel)
{
	if (!prot_mode(cpu) || vm86(cpu))
		return soft_ud(cpu);
	if (umip_blocks(cpu))
		return soft_gp0(cpu);
	if (in->mod == 3) {
		reg_set(cpu, in->rm, in->opsize == 2 ? 2 : in->opsize == 8 ? 8 : 4, true, sel);
		return SOFT_OK;
	}
	return rm_write(cpu, in, 2, sel);
}

int soft_exec_sldt(struct soft_cpu *cpu, const struct x86_insn *in)
{
	return store_sel(cpu, in, cpu->ldt.selector);
}

int soft_exec_str(struct soft_cpu *cpu, const struct x86_insn *in)
{
	return store_sel(cpu, in, cpu->tr.selector);
}

/* LLDT / LTR: GDT system descriptors, 16 bytes in long mode. */
static int load_sys_desc(struct soft_cpu *cpu, const struct x86_insn *in, bool tr)
{
	if (!prot_mode(cpu) || vm86(cpu))
		return soft_ud(cpu);
	if (cpu->cpl != 0)
		return soft_gp0(cpu);
	uint64_t v;
	int e = rm_read(cpu, in, 2, &v);
	if (e)
		return e;
	uint16_t sel = (uint16_t)v;
	uint32_t err = sel & 0xfffc;
	if (!err) {
		if (tr)
			return soft_gp0(cpu);
		sys_seg_null(&cpu->ldt, sel);
		return SOFT_OK;
	}
	if (sel & 4)
		return sys_exc(cpu, X86_EXC_GP, err);
	bool lm = long_mode(cpu);
	uint64_t d[2], addr;
	e = sys_fetch_desc(cpu, sel, lm, X86_EXC_GP, 0, d, &addr);
	if (e)
		return e;
	unsigned type = d_type(d[0]);
	bool ok = !d_s(d[0]) && (tr ? (type == 9 || (!lm && type == 1)) : type == 2);
	if (!ok)
		return sys_exc(cpu, X86_EXC_GP, err);
	if (lm && (((d[1] >> 40) & 0x1f) != 0 || !canonical(d_base(d[0]) | (d[1] << 32))))
		return sys_exc(cpu, X86_EXC_GP, err);
	if (!d_p(d[0]))
		return sys_exc(cpu, X86_EXC_NP, err);
	if (tr) {
		/* mark busy */
		uint8_t b = (uint8_t)((d[0] >> 40) | 2);
		e = sys_write_sv(cpu, addr + 5, &b, 1);
		if (e)
			return e;
		d[0] |= 2ULL << 40;
		sys_seg_from_desc(&cpu->tr, sel, d[0], lm ? d[1] : 0);
	} else {
		sys_seg_from_desc(&cpu->ldt, sel, d[0], lm ? d[1] : 0);
	}
	return SOFT_OK;
}

int soft_exec_lldt(struct soft_cpu *cpu, const struct x86_insn *in)
{
	return load_sys_desc(cpu, in, false);
}

int soft_exec_ltr(struct soft_cpu *cpu, const struct x86_insn *in)
{
	return load_sys_desc(cpu, in, true);
}

/* ---- LAR LSL VERR VERW: never fault on the selector, report in ZF ---- */

/* Fetch and privilege-check the descriptor for LAR/LSL/VERR/VERW.
 * Returns 1 (usable, d filled), 0 (ZF=0), or a fault from the table read. */
static int probe_desc(struct soft_cpu *cpu, uint16_t sel, uint64_t d[2], int which)
{
	if (!(sel & 0xfffc))
		return 0;
	uint64_t limit = cpu->gdt.limit;
	if (sel & 4) {
		if (cpu->ldt.unusable || !cpu->ldt.present || !(cpu->ldt.selector & 0xfffc))
			return 0;
		limit = cpu->ldt.limit;
	}
	if ((uint64_t)(sel & ~7u) + 7 > limit)
		return 0;
	int e = sys_fetch_desc(cpu, sel, false, X86_EXC_GP, 0, d, NULL);
	if (e)
		return -e;
	uint64_t lo = d[0];
	unsigned type = d_type(lo), rpl = sel & 3;
	bool lm = long_mode(cpu);
	if (!d_s(lo)) {
		if (which >= 2) /* VERR/VERW: never a system descriptor */
			return 0;
		static const uint16_t lar_legacy = (1u << 1) | (1u << 2) | (1u << 3) | (1u << 4) |
						    (1u << 5) | (1u << 9) | (1u << 0xb) | (1u << 0xc);
		static const uint16_t lsl_legacy = (1u << 1) | (1u << 2) | (1u << 3) | (1u << 9) | (1u << 0xb);
		static const uint16_t lar_lm = (1u << 2) | (1u << 9) | (1u << 0xb) | (1u << 0xc);
		static const uint16_t lsl_lm = (1u << 2) | (1u << 9) | (1u << 0xb);
		uint16_t okmask = which == 0 ? (lm ? lar_lm : lar_legacy) : (lm ? lsl_lm : lsl_legacy);
		if (!(okmask & (1u << type)))
			return 0;
	} else if (which == 2 && d_code(lo) && !(type & 2)) {
		return 0; /* VERR: execute-only code */
	} else if (which == 3 && !d_wdata(lo)) {
		return 0; /* VERW: writable data only */
	}
	if (!d_conforming(lo) && (d_dpl(lo) < cpu->cpl || d_dpl(lo) < rpl))
		return 0;
	return 1;
}

static int lar_lsl(struct soft_cpu *cpu, const struct x86_insn *in, int which)
{
	if (!prot_mode(cpu) || vm86(cpu))
		return soft_ud(cpu);
	uint64_t v, d[2];
	int e = rm_read(cpu, in, 2, &v);
	if (e)
		return e;
	int ok = probe_desc(cpu, (uint16_t)v, d, which);
	if (ok < 0)
		return -ok;
	uint64_t fl = soft_get_rflags(cpu);
	if (!ok) {
		soft_set_rflags(cpu, fl & ~X86_RFLAGS_ZF);
		return SOFT_OK;
	}
	soft_set_rflags(cpu, fl | X86_RFLAGS_ZF);
	if (which == 0) {
		uint64_t ar = d[0] >> 32 & (in->opsize == 2 ? 0xff00 : 0x00f0ff00);
		reg_set(cpu, in->reg, in->opsize, true, ar);
	} else if (which == 1) {
		reg_set(cpu, in->reg, in->opsize, true, d_limit(d[0]));
	}
	return SOFT_OK;
}

int soft_exec_lar(struct soft_cpu *cpu, const struct x86_insn *in) { return lar_lsl(cpu, in, 0); }
int soft_exec_lsl(struct soft_cpu *cpu, const struct x86_insn *in) { return lar_lsl(cpu, in, 1); }
int soft_exec_verr(struct soft_cpu *cpu, const struct x86_insn *in) { return lar_lsl(cpu, in, 2); }
int soft_exec_verw(struct soft_cpu *cpu, const struct x86_insn *in) { return lar_lsl(cpu, in, 3); }

int soft_exec_arpl(struct soft_cpu *cpu, const struct x86_insn *in)
{
	if (!prot_mode(cpu) || vm86(cpu))
		return soft_ud(cpu);
	uint64_t dst;
	int e = rm_read(cpu, in, 2, &dst);
	if (e)
		return e;
	unsigned src_rpl = cpu->gpr[in->reg] & 3;
	if ((dst & 3) < src_rpl) {
		e = rm_write(cpu, in, 2, (dst & ~3ULL) | src_rpl);
		if (e)
			return e;
		flags_put(cpu, X86_RFLAGS_ZF, X86_RFLAGS_ZF);
	} else {
		flags_put(cpu, X86_RFLAGS_ZF, 0);
	}
	return SOFT_OK;
}

/* ---- stacks for privilege changes ---- */

void sys_stack_current(const struct soft_cpu *cpu, struct sys_stack *s)
{
	s->ss = cpu->seg[SEG_SS];
	s->sp = cpu->gpr[GPR_RSP];
	s->lm = cpu->mode == SOFT_MODE_64;
	s->err = 0;
}

static uint64_t stk_mask(const struct sys_stack *s)
{
	return s->lm ? ~0ULL : s->ss.db ? 0xffffffffULL : 0xffffULL;
}

/* limit check of [off, off+size) in SS (expand-up or expand-down) */
static bool stk_ok(const struct sys_stack *s, uint64_t off, unsigned size)
{
	if (s->lm)
		return true;
	uint64_t last = off + size - 1;
	if (s->ss.type & 4) { /* expand-down */
		uint64_t top = s->ss.db ? 0xffffffffULL : 0xffffULL;
		return off > s->ss.limit && last <= top;
	}
	return last <= s->ss.limit;
}

static uint64_t stk_la(const struct sys_stack *s, uint64_t off)
{
	return s->lm ? off : (uint32_t)(s->ss.base + off);
}

int sys_stack_push(struct soft_cpu *cpu, struct sys_stack *s, unsigned size, uint64_t v)
{
	uint64_t sp = (s->sp - size) & stk_mask(s);
	if (!stk_ok(s, sp, size))
		return sys_exc(cpu, X86_EXC_SS, s->err);
	uint64_t la = stk_la(s, sp);
	if (s->lm && (!canonical(la) || !canonical(la + size - 1)))
		return sys_exc(cpu, X86_EXC_SS, s->err);
	int e = soft_write_lin(cpu, la, &v, size); /* limit checked above */
	if (e)
		return e;
	s->sp = (s->sp & ~stk_mask(s)) | sp;
	return SOFT_OK;
}

int sys_stack_pop(struct soft_cpu *cpu, struct sys_stack *s, unsigned size, uint64_t *v)
{
	uint64_t sp = s->sp & stk_mask(s);
	if (!stk_ok(s, sp, size))
		return sys_exc(cpu, X86_EXC_SS, s->err);
	uint64_t la = stk_la(s, sp);
	if (s->lm && (!canonical(la) || !canonical(la + size - 1)))
		return sys_exc(cpu, X86_EXC_SS, s->err);
	/* IRET and far RET at CPL 3 pop from the user's stack: #AC there as
	 * for any CPL-3 stack access (align_check.h; an AMD Zen 3 host faults
	 * a user IRETQ on a misaligned stack) */
	if (unlikely(cpu->seg_slow[SEG_SS] & SOFT_SEG_AC)) {
		int a = soft_ac_check(cpu, la, size);
		if (a)
			return a;
	}
	*v = 0;
	int e = soft_read_lin(cpu, la, v, size);
	if (e)
		return e;
	s->sp = (s->sp & ~stk_mask(s)) | ((sp + size) & stk_mask(s));
	return SOFT_OK;
}

void sys_stack_commit(struct soft_cpu *cpu, const struct sys_stack *s)
{
	if (s->lm)
		cpu->gpr[GPR_RSP] = s->sp;
	else if (s->ss.db)
		cpu->gpr[GPR_RSP] = (uint32_t)s->sp;
	else
		cpu->gpr[GPR_RSP] = (cpu->gpr[GPR_RSP] & ~0xffffULL) | (s->sp & 0xffff);
}

int sys_tss_stack(struct soft_cpu *cpu, unsigned n, unsigned ext, uint16_t *sel, uint64_t *sp)
{
	const struct x86_segment *tr = &cpu->tr;
	uint32_t err = (tr->selector & 0xfffc) | ext;
	if (tr->unusable || !(tr->selector & 0xfffc))
		return sys_exc(cpu, X86_EXC_TS, err);
	uint64_t v = 0;
	int e;
	if (long_mode(cpu)) {
		uint64_t off = 4 + 8 * (uint64_t)n;
		if (off + 7 > tr->limit)
			return sys_exc(cpu, X86_EXC_TS, err);
		e = sys_read_sv(cpu, tr->base + off, &v, 8);
		*sel = 0;
		*sp = v;
		return e;
	}
	if (tr->type & 8) { /* 32-bit TSS: ESPn at 4+8n, SSn at 8+8n */
		uint64_t off = 4 + 8 * (uint64_t)n;
		if (off + 5 > tr->limit)
			return sys_exc(cpu, X86_EXC_TS, err);
		uint8_t b[6];
		e = sys_read_sv(cpu, (uint32_t)(tr->base + off), b, 6);
		if (e)
			return e;
		uint32_t esp;
		uint16_t ss;
		memcpy(&esp, b, 4);
		memcpy(&ss, b + 4, 2);
		*sp = esp;
		*sel = ss;
		return SOFT_OK;
	}
	uint64_t off = 2 + 4 * (uint64_t)n; /* 16-bit TSS: SPn, SSn */
	if (off + 3 > tr->limit)
		return sys_exc(cpu, X86_EXC_TS, err);
	uint16_t b[2];
	e = sys_read_sv(cpu, (uint32_t)(tr->base + off), b, 4);
	if (e)
		return e;
	*sp = b[0];
	*sel = b[1];
	return SOFT_OK;
}

int sys_load_inner_ss(struct soft_cpu *cpu, uint16_t sel, unsigned cpl, unsigned ext,
		      struct x86_segment *ss)
{
	uint32_t err = (sel & 0xfffc) | ext;
	if (!(sel & 0xfffc))
		return sys_exc(cpu, X86_EXC_TS, ext);
	uint64_t d[2], addr;
	int e = sys_fetch_desc(cpu, sel, false, X86_EXC_TS, ext, d, &addr);
	if (e)
		return e;
	if ((sel & 3) != cpl || d_dpl(d[0]) != cpl || !d_wdata(d[0]))
		return sys_exc(cpu, X86_EXC_TS, err);
	if (!d_p(d[0]))
		return sys_exc(cpu, X86_EXC_SS, err);
	e = sys_set_accessed(cpu, addr, &d[0]);
	if (e)
		return e;
	sys_seg_from_desc(ss, sel, d[0], 0);
	return SOFT_OK;
}

void sys_null_outer_segs(struct soft_cpu *cpu)
{
	static const unsigned segs[] = { SEG_ES, SEG_DS, SEG_FS, SEG_GS };
	for (unsigned i = 0; i < 4; i++) {
		struct x86_segment *s = &cpu->seg[segs[i]];
		if (s->unusable || !(s->selector & 0xfffc))
			continue;
		bool conf = s->s && (s->type & 0xc) == 0xc;
		if (!conf && s->dpl < cpu->cpl) {
			/* SDM vol. 2, IRET/RET: only "SegmentSelector <- 0";
			 * the hidden base stays (what 64-bit FS/GS addressing
			 * uses: IA32_FS_BASE/IA32_GS_BASE keep their values) */
			uint64_t base = s->base;
			sys_seg_null(s, 0);
			s->base = base;
		}
	}
	soft_seg_refresh(cpu);
}
