/* Segment register loads for MOV Sreg / POP Sreg / LDS-LSS-LGS and PUSH
 * Sreg.  Real mode (and virtual-8086, later): base = selector << 4.
 * Protected/long mode: the descriptor is read from the GDT/LDT through the
 * memory ops with the checks for data and stack segments (present, type,
 * privilege); system-level transfers (far JMP/CALL/RET, IRET, gates) belong
 * to the system layer. */
#include <string.h>

#include "exec.h"

int soft_load_seg(struct soft_cpu *cpu, unsigned seg, uint16_t sel);

static void seg_from_desc(struct x86_segment *s, uint16_t sel, uint64_t d)
{
	s->selector = sel;
	s->base = ((d >> 16) & 0xffffff) | (((d >> 56) & 0xff) << 24);
	uint32_t limit = (uint32_t)((d & 0xffff) | (((d >> 48) & 0xf) << 16));
	s->g = (d >> 55) & 1;
	s->limit = s->g ? (limit << 12) | 0xfff : limit;
	s->type = (d >> 40) & 0xf;
	s->s = (d >> 44) & 1;
	s->dpl = (d >> 45) & 3;
	s->present = (d >> 47) & 1;
	s->avl = (d >> 52) & 1;
	s->l = (d >> 53) & 1;
	s->db = (d >> 54) & 1;
	s->unusable = 0;
}

int soft_load_seg(struct soft_cpu *cpu, unsigned seg, uint16_t sel)
{
	struct x86_segment *s = &cpu->seg[seg];
	if (!(cpu->cr0 & X86_CR0_PE) || (cpu->rflags & (1u << 17))) {
		s->selector = sel;
		s->base = (uint64_t)sel << 4;
		if (!(cpu->cr0 & X86_CR0_PE)) {
			/* real mode keeps the cached limit/attributes ("unreal" mode) */
			s->present = 1;
			s->unusable = 0;
		}
		return SOFT_OK;
	}
	unsigned rpl = sel & 3;
	if ((sel & ~3u) == 0) {
		/* null selector: fine for DS ES FS GS (and SS at CPL<3 in 64-bit mode) */
		if (seg == SEG_SS && !(cpu->mode == SOFT_MODE_64 && cpu->cpl != 3 && rpl == cpu->cpl))
			return soft_raise(cpu, X86_EXC_GP, true, 0);
		memset(s, 0, sizeof(*s));
		s->selector = sel;
		s->unusable = 1;
		return SOFT_OK;
	}
	const struct x86_dtable *t = &cpu->gdt;
	struct x86_dtable ldt;
	if (sel & 4) {
		if (cpu->ldt.unusable || !cpu->ldt.present)
			return soft_raise(cpu, X86_EXC_GP, true, sel & ~3u);
		ldt.base = cpu->ldt.base;
		ldt.limit = (uint16_t)(cpu->ldt.limit > 0xffff ? 0xffff : cpu->ldt.limit);
		t = &ldt;
	}
	uint32_t idx = sel & ~7u;
	if (idx + 7 > t->limit)
		return soft_raise(cpu, X86_EXC_GP, true, sel & ~3u);
	uint64_t d;
	int e = soft_read(cpu, t->base + idx, &d, 8);
	if (e)
		return e;
	unsigned type = (d >> 40) & 0xf, sbit = (d >> 44) & 1, dpl = (d >> 45) & 3;
	bool code = type & 8, rw = type & 2, conforming = code && (type & 4);
	if (!sbit)
		return soft_raise(cpu, X86_EXC_GP, true, sel & ~3u);
	if (seg == SEG_SS) {
		if (code || !rw || rpl != cpu->cpl || dpl != cpu->cpl)
			return soft_raise(cpu, X86_EXC_GP, true, sel & ~3u);
		if (!((d >> 47) & 1))
			return soft_raise(cpu, X86_EXC_SS, true, sel & ~3u);
	} else {
		if (code && !rw)
			return soft_raise(cpu, X86_EXC_GP, true, sel & ~3u);
		if (!conforming && (rpl > dpl || cpu->cpl > dpl))
			return soft_raise(cpu, X86_EXC_GP, true, sel & ~3u);
		if (!((d >> 47) & 1))
			return soft_raise(cpu, X86_EXC_NP, true, sel & ~3u);
	}
	/* set the accessed bit */
	if (!(type & 1)) {
		uint8_t ab = (uint8_t)(((d >> 40) & 0xff) | 1);
		e = soft_write(cpu, t->base + idx + 5, &ab, 1);
		if (e)
			return e;
		d |= 1ULL << 40;
	}
	seg_from_desc(s, sel, d);
	return SOFT_OK;
}

int soft_exec_mov_se(struct soft_cpu *cpu, const struct x86_insn *in)
{
	uint64_t v;
	int e = rm_read(cpu, in, 2, &v);
	if (e)
		return e;
	return soft_load_seg(cpu, (in->modrm >> 3) & 7, (uint16_t)v);
}

int soft_exec_push_seg(struct soft_cpu *cpu, const struct x86_insn *in)
{
	unsigned seg = X86_OPND_SIZE(in->op->opnd[0]);
	return soft_push(cpu, in->opsize, cpu->seg[seg].selector);
}

int soft_exec_pop_seg(struct soft_cpu *cpu, const struct x86_insn *in)
{
	unsigned seg = X86_OPND_SIZE(in->op->opnd[0]);
	uint64_t v, old = cpu->gpr[GPR_RSP];
	int e = soft_pop(cpu, in->opsize, &v);
	if (e)
		return e;
	e = soft_load_seg(cpu, seg, (uint16_t)v);
	if (e)
		cpu->gpr[GPR_RSP] = old;
	return e;
}

/* LES LDS LSS LFS LGS: Gv <- offset, Sreg <- selector from m16:16/32/64 */
int soft_exec_lseg(struct soft_cpu *cpu, const struct x86_insn *in)
{
	static const uint8_t segs[] = { [0xc4] = SEG_ES, [0xc5] = SEG_DS, [0xb2] = SEG_SS,
					[0xb4] = SEG_FS, [0xb5] = SEG_GS };
	unsigned sz = in->opsize;
	uint64_t la = soft_ea(cpu, in), off, sel;
	int e = mem_read(cpu, la, sz, &off);
	if (e)
		return e;
	e = mem_read(cpu, la + sz, 2, &sel);
	if (e)
		return e;
	e = soft_load_seg(cpu, segs[in->opcode], (uint16_t)sel);
	if (e)
		return e;
	reg_set(cpu, in->reg, sz, true, off);
	return SOFT_OK;
}
