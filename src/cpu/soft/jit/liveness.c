/* Arithmetic-flag use and liveness over a decoded block (liveness.h).
 *
 * The per-instruction sets follow the Intel SDM vol. 2 "Flags Affected"
 * sections, with one rule for flags the SDM leaves undefined: an
 * instruction that jit/native.c classes JF_WRITE overwrites all six on the
 * host (its undefined flags get the host CPU's values whatever they were
 * before: the translator already relies on this when it runs such an
 * instruction without loading the guest's flags, and the differential
 * harness checks it against the host); every other undefined flag is
 * taken to pass through (not killed). */
#include "liveness.h"

#include "native.h"
#include "sse.h"
#include "vex.h"

#include "../decode.h"

uint16_t jit_flags_cc(unsigned cc)
{
	switch ((cc & 15) >> 1) {
	case 0: return JIT_FL_OF;                          /* O NO */
	case 1: return JIT_FL_CF;                          /* B AE */
	case 2: return JIT_FL_ZF;                          /* E NE */
	case 3: return JIT_FL_CF | JIT_FL_ZF;              /* BE A */
	case 4: return JIT_FL_SF;                          /* S NS */
	case 5: return JIT_FL_PF;                          /* P NP */
	case 6: return JIT_FL_SF | JIT_FL_OF;              /* L GE */
	default: return JIT_FL_ZF | JIT_FL_SF | JIT_FL_OF; /* LE G */
	}
}

/* A JF_RMW instruction of native.c's whitelist: what it reads and kills. */
static void rmw_use(const struct x86_insn *in, struct jit_flag_use *u)
{
	unsigned op = in->opcode, digit = (in->modrm >> 3) & 7;
	u->reads = JIT_FL_ALL;
	u->kills = 0;
	if (in->map == X86_MAP_1BYTE) {
		if (op < 0x40 || op == 0x80 || op == 0x81 || op == 0x83) {
			/* ADC SBB: CF in, all six out */
			unsigned alu = op < 0x40 ? op >> 3 : digit;
			if (alu == 2 || alu == 3) {
				u->reads = JIT_FL_CF;
				u->kills = JIT_FL_ALL;
			}
			return;
		}
		if ((op == 0xfe || op == 0xff) && digit <= 1) {
			/* INC DEC: OF SF ZF AF PF out, CF unchanged */
			u->reads = 0;
			u->kills = JIT_FL_ALL & ~JIT_FL_CF;
			return;
		}
		if (op == 0xc0 || op == 0xc1 || (op >= 0xd0 && op <= 0xd3)) {
			/* rotates, and shifts by CL or by 0: RCL RCR take CF in;
			 * a zero count changes nothing, so nothing is killed */
			u->reads = (digit == 2 || digit == 3) ? JIT_FL_CF : 0;
			return;
		}
		return;
	}
	if (in->map != X86_MAP_0F)
		return;
	if ((op >= 0x40 && op <= 0x4f) || (op >= 0x90 && op <= 0x9f)) {
		u->reads = jit_flags_cc(op); /* CMOVcc SETcc */
		u->writes = 0;
		return;
	}
	if (op == 0xa3 || op == 0xab || op == 0xb3 || op == 0xbb || op == 0xba) {
		u->reads = 0; /* BT*: CF = the bit; ZF unchanged, the rest undefined */
		u->kills = JIT_FL_CF;
		return;
	}
	if (op == 0xa4 || op == 0xa5 || op == 0xac || op == 0xad)
		u->reads = 0; /* SHLD SHRD: a zero count changes nothing */
}

static bool flag_neutral(const struct x86_insn *in)
{
	if (in->map == X86_MAP_1BYTE)
		return in->opcode == 0x8d || (in->opcode >= 0x50 && in->opcode <= 0x5f); /* LEA PUSH POP */
	if (in->map == X86_MAP_0F)
		return in->opcode == 0x1f || in->opcode == 0x18 || in->opcode == 0x0d; /* NOP, hints */
	return false;
}

/* The host-ISA forms (vex.h), as the translator emits them: 1 when in is
 * one (u filled; observes for a memory operand and for any VEX vector
 * form, which jit_flags_liveness_isa narrows), 0 otherwise. */
static bool isa_use(const struct jit_flag_isa *isa, const struct x86_insn *in,
		    struct jit_flag_use *u)
{
	if (!isa)
		return false;
	bool mem = in->has_modrm && in->mod != 3;
	struct jit_native n;
	struct jit_bmiv bv;
	struct jit_vex v;
	if (isa->bmi_isa && (jit_bmi_plan(isa->bmi_isa, in, &n, false) ||
			     jit_bmi_plan(isa->bmi_isa, in, &n, true))) {
		/* TZCNT LZCNT POPCNT: all six written, the undefined ones the
		 * host's (vex.c) */
		*u = (struct jit_flag_use){ .writes = JIT_FL_ALL, .kills = JIT_FL_ALL, .observes = mem };
		return true;
	}
	if (isa->bmi_isa && jit_bmiv_plan(isa->bmi_isa, in, &bv)) {
		uint16_t w = bv.writes_flags ? JIT_FL_ALL : 0;
		*u = (struct jit_flag_use){ .writes = w, .kills = w, .observes = mem };
		return true;
	}
	if (isa->vex_cpu && jit_vex_plan(isa->vex_cpu, in, &v)) {
		/* VPTEST VTESTPS/PD: all six written (SDM vol. 2) */
		uint16_t w = v.kind == JIT_VEX_FLAGS ? JIT_FL_ALL : 0;
		*u = (struct jit_flag_use){ .writes = w, .kills = w, .observes = true };
		return true;
	}
	return false;
}

void jit_flags_use_isa(const struct jit_flag_isa *isa, const struct x86_insn *in,
		       struct jit_flag_use *u)
{
	u->reads = JIT_FL_ALL;
	u->writes = JIT_FL_ALL;
	u->kills = 0;
	u->observes = true;
	if (!in->op)
		return;
	if (isa_use(isa, in, u))
		return;
	if (in->prefixes & (X86_PFX_VEX | X86_PFX_EVEX | X86_PFX_XOP))
		return;
	struct jit_native n;
	bool reg = jit_native_plan(in, &n);
	if (reg || jit_native_plan_mem(in, &n)) {
		u->observes = !reg; /* a memory operand may fault */
		switch (n.flags) {
		case JF_NONE:
			u->reads = 0;
			u->writes = 0;
			break;
		case JF_WRITE:
			u->reads = 0;
			u->kills = JIT_FL_ALL;
			break;
		default:
			rmw_use(in, u);
			break;
		}
		return;
	}
	if (in->prefixes & (X86_PFX_LOCK | X86_PFX_ATOMIC))
		return;
	/* Jcc (ends the block: observes) */
	if ((in->map == X86_MAP_1BYTE && in->opcode >= 0x70 && in->opcode <= 0x7f) ||
	    (in->map == X86_MAP_0F && in->opcode >= 0x80 && in->opcode <= 0x8f)) {
		u->reads = jit_flags_cc(in->opcode);
		u->writes = 0;
		return;
	}
	/* LEA, PUSH/POP, NOPs and the SSE instructions run as themselves
	 * touch no flag (they may still fault: observes stays) */
	struct jit_sse sp;
	if (flag_neutral(in) || jit_sse_plan(in, &sp)) {
		u->reads = 0;
		u->writes = 0;
		/* LEA computes an address without accessing it; the
		 * multi-byte NOP never faults either */
		u->observes = !(in->map == X86_MAP_1BYTE && in->opcode == 0x8d && in->mod != 3) &&
			      !(in->map == X86_MAP_0F && in->opcode == 0x1f);
	}
}

void jit_flags_use(const struct x86_insn *in, struct jit_flag_use *u)
{
	jit_flags_use_isa(NULL, in, u);
}

/* Instructions that cannot change CR0, CR4 or XCR0, natively or through
 * their handler: the whitelisted data operations (a fault ends the block,
 * so nothing after it runs). */
static bool cr_neutral(const struct jit_flag_isa *isa, const struct x86_insn *in)
{
	struct jit_native n;
	struct jit_sse sp;
	struct jit_bmiv bv;
	struct jit_vex v;
	return in->op && (jit_native_plan(in, &n) || jit_native_plan_mem(in, &n) ||
			  flag_neutral(in) || jit_sse_plan(in, &sp) ||
			  jit_bmi_plan(isa->bmi_isa, in, &n, in->has_modrm && in->mod != 3) ||
			  jit_bmiv_plan(isa->bmi_isa, in, &bv) ||
			  (isa->vex_cpu && jit_vex_plan(isa->vex_cpu, in, &v)));
}

uint16_t jit_flags_liveness_isa(const struct jit_flag_isa *isa, const struct x86_insn *insn,
				unsigned n, uint16_t *live_after)
{
	/* forward: after which instructions the VEX checks are known to pass
	 * (a VEX instruction completed, only cr_neutral ones since) */
	uint64_t checked = 0;
	bool ok = false;
	for (unsigned i = 0; isa && isa->vex_cpu && i < n && i < 64; i++) {
		struct jit_vex v;
		if (ok)
			checked |= 1ull << i;
		if (jit_vex_plan(isa->vex_cpu, &insn[i], &v))
			ok = true;
		else if (!cr_neutral(isa, &insn[i]))
			ok = false;
	}
	uint16_t live = JIT_FL_ALL; /* the block's end: whoever runs next may read any */
	for (unsigned i = n; i-- > 0;) {
		struct jit_flag_use u;
		struct jit_vex v;
		live_after[i] = live;
		jit_flags_use_isa(isa, &insn[i], &u);
		if (u.observes && i < 64 && (checked >> i & 1) && insn[i].has_modrm &&
		    insn[i].mod == 3 && jit_vex_plan(isa->vex_cpu, &insn[i], &v) && !v.fp)
			u.observes = false; /* a register form whose check passes
					     * (floating point: its MXCSR check
					     * may still send it to the handler) */
		live = u.observes ? JIT_FL_ALL : (uint16_t)(u.reads | (live & ~u.kills));
	}
	return live;
}

uint16_t jit_flags_liveness(const struct x86_insn *insn, unsigned n, uint16_t *live_after)
{
	return jit_flags_liveness_isa(NULL, insn, n, live_after);
}
