/* Segment register loads for MOV Sreg / POP Sreg / LDS-LSS-LGS and PUSH
 * Sreg.  Real mode (and virtual-8086, later): base = selector << 4.
 * Protected/long mode: the descriptor is read from the GDT/LDT through the
 * memory ops with the checks for data and stack segments (present, type,
 * privilege); system-level transfers (far JMP/CALL/RET, IRET, gates) belong
 * to the system layer. */
#include "exec.h"

int soft_load_seg(struct soft_cpu *cpu, unsigned seg, uint16_t sel);

/* soft_load_seg(): sys_desc.c (every protected-mode check). */

int soft_exec_mov_se(struct soft_cpu *cpu, const struct x86_insn *in)
{
	uint64_t v;
	int e = rm_read(cpu, in, 2, &v);
	if (e)
		return e;
	unsigned seg = (in->modrm >> 3) & 7;
	if (seg == SEG_CS || seg >= SEG_COUNT)
		return soft_ud(cpu);
	e = soft_load_seg(cpu, seg, (uint16_t)v);
	if (!e && seg == SEG_SS)
		cpu->shadow = SOFT_SHADOW_SS; /* MOV SS: interrupt (and #DB) shadow */
	return e;
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
	else if (seg == SEG_SS)
		cpu->shadow = SOFT_SHADOW_SS; /* POP SS: interrupt (and #DB) shadow */
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
