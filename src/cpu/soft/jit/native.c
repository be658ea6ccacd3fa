/* The translator's whitelist of guest instructions emitted as themselves
 * (see native.h).  Only register forms (ModRM.mod = 3, no memory operand),
 * without LOCK/REP/VEX prefixes.  Semantics are the host's own, which are
 * the architecture's (Intel SDM vol. 2) except where the SDM leaves flags
 * undefined: there the guest sees the host CPU's values, as it would
 * running natively. */
#include "native.h"

#include "../decode.h"

static struct jit_gop gop(const struct x86_insn *in, unsigned r, bool byte)
{
	struct jit_gop o = { (int8_t)r, false };
	if (byte && !(in->prefixes & X86_PFX_REX) && r >= 4 && r < 8) {
		o.g = (int8_t)(r - 4);
		o.high = true;
	}
	return o;
}

static const struct jit_gop NOREG = { -1, false };

/* E,G (dir 0) or G,E (dir 1) register form (or memory form, for
 * jit_native_plan_mem: n->mem set beforehand) */
static bool form_eg(const struct x86_insn *in, struct jit_native *n, bool byte)
{
	if (!in->has_modrm || (in->mod == 3) == n->mem)
		return false;
	n->modrm = true;
	n->reg = gop(in, in->reg, byte);
	if (!n->mem)
		n->rm = gop(in, in->rm, byte);
	return true;
}

/* group row: ModRM.reg is a digit, r/m a register (or memory) */
static bool form_e(const struct x86_insn *in, struct jit_native *n, bool byte)
{
	if (!in->has_modrm || (in->mod == 3) == n->mem)
		return false;
	n->modrm = true;
	n->digit_form = true;
	if (!n->mem)
		n->rm = gop(in, in->rm, byte);
	return true;
}

static bool form_z(const struct x86_insn *in, struct jit_native *n, bool byte)
{
	n->z_form = true;
	n->z = gop(in, (in->opcode & 7) | ((in->rex & 1) << 3), byte);
	return true;
}

#define BIT(r) (1u << (r))

static bool plan_1byte(const struct x86_insn *in, struct jit_native *n)
{
	unsigned op = in->opcode, digit = (in->modrm >> 3) & 7;
	if (op < 0x40 && (op & 7) < 6) {
		/* ADD OR ADC SBB AND SUB XOR CMP: Eb,Gb Ev,Gv Gb,Eb Gv,Ev AL,Ib rAX,Iz */
		unsigned alu = op >> 3, form = op & 7;
		n->flags = (alu == 2 || alu == 3) ? JF_RMW : JF_WRITE;
		n->writeback = alu != 7;
		if (form >= 4) {
			n->implicit = BIT(0);
			return true;
		}
		return form_eg(in, n, form == 0 || form == 2);
	}
	switch (op) {
	case 0x63: /* MOVSXD Gv,Ed (64-bit mode; ARPL elsewhere) */
		if (in->mode != SOFT_MODE_64)
			return false;
		return form_eg(in, n, false);
	case 0x69: case 0x6b: /* IMUL Gv,Ev,Iz/Ib */
		n->flags = JF_WRITE;
		return form_eg(in, n, false);
	case 0x80: case 0x81: case 0x83: /* group 1 E,I */
		n->flags = (digit == 2 || digit == 3) ? JF_RMW : JF_WRITE;
		n->writeback = digit != 7;
		return form_e(in, n, op == 0x80);
	case 0x84: case 0x85: /* TEST E,G */
		n->flags = JF_WRITE;
		return form_eg(in, n, op == 0x84);
	case 0x86: case 0x87: case 0x88: case 0x89: case 0x8a: case 0x8b: /* XCHG, MOV */
		return form_eg(in, n, !(op & 1));
	case 0x90: case 0x91: case 0x92: case 0x93: case 0x94: case 0x95: case 0x96: case 0x97:
		if (op == 0x90 && !(in->rex & 1)) {
			n->nop = true; /* NOP (F3 90 PAUSE was refused earlier) */
			n->writeback = false;
			return true;
		}
		n->implicit = BIT(0);
		return form_z(in, n, false);
	case 0x98: /* CBW CWDE CDQE */
		n->implicit = BIT(0);
		return true;
	case 0x99: /* CWD CDQ CQO */
		n->implicit = BIT(0) | BIT(2);
		return true;
	case 0xa8: case 0xa9: /* TEST AL/rAX, imm */
		n->flags = JF_WRITE;
		n->writeback = false;
		n->implicit = BIT(0);
		return true;
	case 0xb0: case 0xb1: case 0xb2: case 0xb3: case 0xb4: case 0xb5: case 0xb6: case 0xb7:
		return form_z(in, n, true);
	case 0xb8: case 0xb9: case 0xba: case 0xbb: case 0xbc: case 0xbd: case 0xbe: case 0xbf:
		return form_z(in, n, false);
	case 0xc0: case 0xc1: case 0xd0: case 0xd1: case 0xd2: case 0xd3: { /* group 2 */
		if (digit == 6)
			return false;
		bool byte = !(op & 1);
		/* SHL SHR SAR with a known non-zero (masked) count write all six
		 * flags; rotates write only CF/OF, and a zero count none */
		unsigned mask = in->opsize == 8 && !byte ? 63 : 31;
		unsigned count = op <= 0xc1 ? (unsigned)(in->imm & mask) : op <= 0xd1 ? 1 : 0;
		n->flags = (digit >= 4 && count) ? JF_WRITE : JF_RMW;
		if (op >= 0xd2)
			n->implicit = BIT(1);
		return form_e(in, n, byte);
	}
	case 0xc6: case 0xc7: /* MOV Eb,Ib / Ev,Iz (C6/C7 /7 are XABORT/XBEGIN) */
		if (digit != 0)
			return false;
		return form_e(in, n, op == 0xc6);
	case 0xf6: case 0xf7: /* group 3 */
		switch (digit) {
		case 0: n->flags = JF_WRITE; n->writeback = false; break;  /* TEST E,I */
		case 2: break;                                                /* NOT */
		case 3: n->flags = JF_WRITE; break;                           /* NEG */
		case 4: case 5:                                               /* MUL IMUL */
			n->flags = JF_WRITE;
			n->implicit = op == 0xf6 ? BIT(0) : BIT(0) | BIT(2);
			break;
		default: return false; /* DIV IDIV (#DE) and the /1 alias */
		}
		return form_e(in, n, op == 0xf6);
	case 0xfe: case 0xff: /* INC DEC: CF is preserved */
		if (digit > 1)
			return false;
		n->flags = JF_RMW;
		return form_e(in, n, op == 0xfe);
	default:
		return false;
	}
}

static bool plan_0f(const struct x86_insn *in, struct jit_native *n)
{
	unsigned op = in->opcode, digit = (in->modrm >> 3) & 7;
	if (op >= 0x40 && op <= 0x4f) { /* CMOVcc Gv,Ev */
		n->flags = JF_RMW;
		return form_eg(in, n, false);
	}
	if (op >= 0x90 && op <= 0x9f) { /* SETcc Eb */
		n->flags = JF_RMW;
		return form_e(in, n, true);
	}
	if (op >= 0xc8 && op <= 0xcf) { /* BSWAP (16-bit operand size undefined) */
		if (in->opsize == 2)
			return false;
		return form_z(in, n, false);
	}
	switch (op) {
	case 0xa3: case 0xab: case 0xb3: case 0xbb: /* BT BTS BTR BTC Ev,Gv */
		n->flags = JF_RMW;
		n->writeback = op != 0xa3;
		return form_eg(in, n, false);
	case 0xba: /* BT BTS BTR BTC Ev,Ib */
		if (digit < 4)
			return false;
		n->flags = JF_RMW;
		n->writeback = digit != 4;
		return form_e(in, n, false);
	case 0xa4: case 0xac: /* SHLD SHRD Ev,Gv,Ib */
		n->flags = JF_RMW;
		return form_eg(in, n, false);
	case 0xa5: case 0xad: /* SHLD SHRD Ev,Gv,CL */
		n->flags = JF_RMW;
		n->implicit = BIT(1);
		return form_eg(in, n, false);
	case 0xaf: /* IMUL Gv,Ev */
		n->flags = JF_WRITE;
		return form_eg(in, n, false);
	case 0xb6: case 0xbe: /* MOVZX MOVSX Gv,Eb */
		if (!form_eg(in, n, false))
			return false;
		n->rm = gop(in, in->rm, true);
		return true;
	case 0xb7: case 0xbf: /* MOVZX MOVSX Gv,Ew */
		return form_eg(in, n, false);
	default:
		return false;
	}
}

static bool plan(const struct x86_insn *in, struct jit_native *n, bool mem)
{
	*n = (struct jit_native){ .writeback = true, .reg = NOREG, .rm = NOREG, .z = NOREG, .mem = mem };
	if (!in->op || in->has_mem != mem)
		return false;
	if (in->prefixes & (X86_PFX_LOCK | X86_PFX_ATOMIC | X86_PFX_F2 | X86_PFX_F3 | X86_PFX_VEX |
			    X86_PFX_EVEX | X86_PFX_XOP))
		return false;
	if (in->opsize != 2 && in->opsize != 4 && in->opsize != 8)
		return false;
	if (in->map == X86_MAP_1BYTE)
		return plan_1byte(in, n);
	if (in->map == X86_MAP_0F)
		return plan_0f(in, n);
	return false;
}

bool jit_native_plan(const struct x86_insn *in, struct jit_native *n)
{
	return plan(in, n, false);
}

/* How an instruction's memory operand is accessed: 0 not emitted with a
 * memory operand, MEM_LOAD only read, MEM_STORE written (a store, or a
 * read-modify-write).  Never a bit string (BT* with a register offset
 * addresses memory outside the operand), never an implicitly locked one
 * (XCHG: soft_exec_atomic). */
enum { MEM_LOAD = 1, MEM_STORE = 2 };

static int mem_access(const struct x86_insn *in)
{
	unsigned op = in->opcode, digit = (in->modrm >> 3) & 7;
	if (in->map == X86_MAP_0F) {
		if ((op >= 0x40 && op <= 0x4f) || op == 0xaf || op == 0xb6 || op == 0xb7 ||
		    op == 0xbe || op == 0xbf)
			return MEM_LOAD;          /* CMOVcc IMUL MOVZX MOVSX */
		if (op >= 0x90 && op <= 0x9f)
			return MEM_STORE;         /* SETcc Eb */
		if (op == 0xa4 || op == 0xa5 || op == 0xac || op == 0xad)
			return MEM_STORE;         /* SHLD SHRD */
		if (op == 0xba)                   /* BT / BTS BTR BTC Ev,Ib: offset mod size */
			return digit == 4 ? MEM_LOAD : MEM_STORE;
		return 0;
	}
	if (op < 0x40 && (op & 7) < 4) {
		if ((op & 7) >= 2 || (op >> 3) == 7)
			return MEM_LOAD;          /* G,E forms; CMP E,G */
		return MEM_STORE;                 /* ALU E,G */
	}
	switch (op) {
	case 0x63: case 0x69: case 0x6b: case 0x84: case 0x85: case 0x8a: case 0x8b:
		return MEM_LOAD;
	case 0x88: case 0x89: case 0xc6: case 0xc7:
		return MEM_STORE;
	case 0x80: case 0x81: case 0x83:
		return digit == 7 ? MEM_LOAD : MEM_STORE; /* CMP E,I */
	case 0xc0: case 0xc1: case 0xd0: case 0xd1: case 0xd2: case 0xd3:
		return MEM_STORE;                 /* shifts and rotates */
	case 0xf6: case 0xf7:
		return (digit == 2 || digit == 3) ? MEM_STORE : MEM_LOAD; /* NOT NEG / TEST MUL IMUL */
	case 0xfe: case 0xff:
		return MEM_STORE;                 /* INC DEC (plan refuses the rest) */
	default:
		return 0;
	}
}

static unsigned opnd_size(unsigned s, unsigned opsize)
{
	switch (s) {
	case OS_b: return 1;
	case OS_w: return 2;
	case OS_d: return 4;
	case OS_q: return 8;
	case OS_v: return opsize;
	case OS_y: return opsize == 8 ? 8 : 4;
	case OS_z: return opsize == 2 ? 2 : 4;
	default: return 0;
	}
}

bool jit_native_plan_mem(const struct x86_insn *in, struct jit_native *n)
{
	if (in->mode != SOFT_MODE_64 || in->addrsize != 8 || !in->has_modrm || in->mod == 3 ||
	    !in->op)
		return false;
	int acc = mem_access(in);
	if (!acc || !plan(in, n, true))
		return false;
	if (acc == MEM_STORE) {
		n->store = true;
		n->writeback = false; /* no register is written (XCHG is never here) */
	}
	for (unsigned k = 0; k < 4; k++) {
		unsigned kind = X86_OPND_KIND(in->op->opnd[k]);
		if (kind == OK_E || kind == OK_M) {
			n->msize = (uint8_t)opnd_size(X86_OPND_SIZE(in->op->opnd[k]), in->opsize);
			break;
		}
	}
	return n->msize != 0;
}

static uint8_t henc(const struct jit_gop *o, const int8_t host[16])
{
	return (uint8_t)(host[o->g] + (o->high ? 4 : 0));
}

void jit_native_emit(struct jit_emit *e, const struct x86_insn *in, const struct jit_native *n,
		     const int8_t host[16])
{
	if (n->nop)
		return;
	if (n->pfx)
		jit_emit_u8(e, n->pfx);
	if (in->opsize == 2)
		jit_emit_u8(e, 0x66);
	/* REX (SDM vol. 2, 2.2.1): W for a 64-bit operand size, R and B for
	 * host R12/R13 in ModRM.reg, ModRM.r/m or the opcode's register (with
	 * REX a byte operand 4-7 would be SPL..DIL, but those are never host
	 * registers here, and an AH..BH operand comes with RAX..RBX only) */
	unsigned regh = n->modrm && !n->digit_form && n->reg.g >= 0 ? henc(&n->reg, host) : 0;
	unsigned rmh = n->modrm && !n->mem && n->rm.g >= 0 ? henc(&n->rm, host) : 0;
	unsigned zh = n->z_form ? henc(&n->z, host) : 0;
	uint8_t rex = (uint8_t)((in->opsize == 8 ? 8 : 0) | (regh & 8 ? 4 : 0) |
				((rmh | zh) & 8 ? 1 : 0));
	if (rex)
		jit_emit_u8(e, (uint8_t)(0x40 | rex));
	if (in->map == X86_MAP_0F)
		jit_emit_u8(e, 0x0f);
	uint8_t op = in->opcode;
	if (n->z_form)
		op = (uint8_t)((op & ~7u) | (henc(&n->z, host) & 7u));
	jit_emit_u8(e, op);
	if (n->modrm) {
		unsigned regf = n->digit_form ? ((in->modrm >> 3) & 7u) : henc(&n->reg, host);
		if (n->mem) { /* [rdi+rsi]: mod 00, r/m 100, SIB base RDI index RSI */
			jit_emit_u8(e, (uint8_t)(((regf & 7u) << 3) | 4));
			jit_emit_u8(e, (uint8_t)((JR_RSI << 3) | JR_RDI));
		}
		else
			jit_emit_u8(e, (uint8_t)(0xc0 | ((regf & 7u) << 3) | (henc(&n->rm, host) & 7u)));
	}
	for (unsigned i = 0; i < in->imm_size && i < 8; i++)
		jit_emit_u8(e, (uint8_t)(in->imm >> (8 * i)));
}
