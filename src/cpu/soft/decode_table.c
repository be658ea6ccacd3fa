/* Opcode tables in the Intel manual's notation (SDM vol. 2, appendix A).
 *
 * How to write a row (OP/OPA and the sub-table macros, operand notation,
 * flags, explicit #UD rows, the generated instruction identities) is
 * described in one place: docs/soft-cpu.md, "Adding an instruction".
 * gen_insn_ids.py reads this file (see OPA below) at build time. */
#include "decode.h"

#define O(k, s) X86_OPND(OK_##k, OS_##s)
/* general */
#define Eb O(E, b)
#define Ew O(E, w)
#define Ed O(E, d)
#define Eq O(E, q)
#define Ev O(E, v)
#define Ey O(E, y)
#define Gb O(G, b)
#define Gw O(G, w)
#define Gd O(G, d)
#define Gv O(G, v)
#define Gy O(G, y)
#define Gz O(G, z)
#define M O(M, any)
#define Mb O(M, b)
#define Mw O(M, w)
#define Md O(M, d)
#define Mq O(M, q)
#define Mv O(M, v)
#define My O(M, y)
#define Mp O(M, p)
#define Ms O(M, s)
#define Mdq O(M, dq)
#define Mx O(M, x)
#define Rv O(R, v)
#define Ry O(R, y)
#define Rd O(R, d)
#define Ib O(I, b)
#define Iw O(I, w)
#define Iz O(I, z)
#define Iv O(I, v)
#define Ibs O(IS, b)
#define Jb O(J, b)
#define Jz O(J, z)
#define Ob O(O, b)
#define Ov O(O, v)
#define Ap O(A, p)
#define Zb O(Z, b)
#define Zv O(Z, v)
#define Zy O(Z, y)
#define AL O(REG, b)
#define rAX O(REG, v)
#define eAX O(REG, z)
#define CL O(CL, b)
#define DX O(DX, w)
#define One O(ONE, b)
#define Xb O(X, b)
#define Xv O(X, v)
#define Xz O(X, z)
#define Yb O(Y, b)
#define Yv O(Y, v)
#define Yz O(Y, z)
#define Sw O(S, w)
#define Cy O(C, y)
#define Dy O(D, y)
#define By O(B, y)
#define ES X86_OPND(OK_SEG, SEG_ES)
#define CS X86_OPND(OK_SEG, SEG_CS)
#define SS X86_OPND(OK_SEG, SEG_SS)
#define DS X86_OPND(OK_SEG, SEG_DS)
#define FS X86_OPND(OK_SEG, SEG_FS)
#define GS X86_OPND(OK_SEG, SEG_GS)
/* SSE / MMX */
#define Vx O(V, x)
#define Vps O(V, ps)
#define Vpd O(V, pd)
#define Vss O(V, ss)
#define Vsd O(V, sd)
#define Vq O(V, q)
#define Vd O(V, d)
#define Vy O(V, y)
#define Vdq O(V, dq)
#define Wx O(W, x)
#define Wps O(W, ps)
#define Wpd O(W, pd)
#define Wss O(W, ss)
#define Wsd O(W, sd)
#define Wq O(W, q)
#define Wd O(W, d)
#define Wdq O(W, dq)
#define Ux O(U, x)
#define Udq O(U, dq)
#define Pq O(P, q)
#define Pd O(P, d)
#define Qq O(Q, q)
#define Qd O(Q, d)
#define Qpi O(Q, pi)
#define Nq O(N, q)

/* Each expansion of OPA takes the next __COUNTER__ value; gen_insn_ids.py
 * maps that number to the row's identity (X86_ROW_ID_<n>, from the same
 * expansion of this file with -DX86_INSN_SCAN). */
#ifdef X86_INSN_SCAN
#define X86_ROW_ID(n) X86_SCAN_ROW n
#else
#include "src/cpu/soft/decode_table_ids.h"
#define X86_ROW_ID(n) X86_ROW_ID_(n)
#define X86_ROW_ID_(n) X86_ROW_ID_##n
#endif

#define OPA(m, h, fl, a, ...) \
	{ .mnem = (m), .id = X86_ROW_ID(__COUNTER__), .exec = soft_exec_##h, .type = ROW_INSN, \
	  .flags = (fl), .arg = (a), .opnd = { __VA_ARGS__ } }
#define OP(m, h, fl, ...) OPA(m, h, fl, 0, __VA_ARGS__)
#define ___ { .type = ROW_INVALID }
#define GRP(...) { .type = ROW_GROUP, .sub = (const struct x86_opdesc[8]){ __VA_ARGS__ } }
#define GRPM(...) { .type = ROW_GROUP_MOD, .sub = (const struct x86_opdesc[16]){ __VA_ARGS__ } }
#define RMT(...) { .type = ROW_RM, .sub = (const struct x86_opdesc[8]){ __VA_ARGS__ } }
#define PFX(a, b, c, d) { .type = ROW_PREFIX, .sub = (const struct x86_opdesc[4]){ a, b, c, d } }
#define ESC { .type = ROW_ESCAPE }
/* An x87 instruction (D8-DF): the escape's handler decodes the ModRM itself;
 * the row gives the instruction its identity (SDM vol. 2, A.5). */
#define X87(m, h) { .mnem = (m), .id = X86_ROW_ID(__COUNTER__), .exec = soft_exec_##h, \
	.type = ROW_X87, .flags = F_MODRM }

/* ALU ops: arg of the alu_* handlers (= the /reg of group 1). */
enum { A_ADD, A_OR, A_ADC, A_SBB, A_AND, A_SUB, A_XOR, A_CMP };

#define ALU6(m, a) \
	OPA(m, alu_eg, (a) == A_CMP ? 0 : F_LOCK, a, Eb, Gb), \
	OPA(m, alu_eg, (a) == A_CMP ? 0 : F_LOCK, a, Ev, Gv), \
	OPA(m, alu_ge, 0, a, Gb, Eb), OPA(m, alu_ge, 0, a, Gv, Ev), \
	OPA(m, alu_ai, 0, a, AL, Ib), OPA(m, alu_ai, 0, a, rAX, Iz)

#define GRP1(...) GRP(OPA("add", alu_ei, F_LOCK, A_ADD, __VA_ARGS__), OPA("or", alu_ei, F_LOCK, A_OR, __VA_ARGS__), \
	OPA("adc", alu_ei, F_LOCK, A_ADC, __VA_ARGS__), OPA("sbb", alu_ei, F_LOCK, A_SBB, __VA_ARGS__), \
	OPA("and", alu_ei, F_LOCK, A_AND, __VA_ARGS__), OPA("sub", alu_ei, F_LOCK, A_SUB, __VA_ARGS__), \
	OPA("xor", alu_ei, F_LOCK, A_XOR, __VA_ARGS__), OPA("cmp", alu_ei, 0, A_CMP, __VA_ARGS__))

#define GRP2(h, ...) GRP(OPA("rol", h, 0, 0, __VA_ARGS__), OPA("ror", h, 0, 1, __VA_ARGS__), \
	OPA("rcl", h, 0, 2, __VA_ARGS__), OPA("rcr", h, 0, 3, __VA_ARGS__), \
	OPA("shl", h, 0, 4, __VA_ARGS__), OPA("shr", h, 0, 5, __VA_ARGS__), \
	OPA("sal", h, 0, 6, __VA_ARGS__), OPA("sar", h, 0, 7, __VA_ARGS__))

#define CC16(m, h, fl, ...) \
	OPA(m, h, fl, 0, __VA_ARGS__), OPA(m, h, fl, 1, __VA_ARGS__), OPA(m, h, fl, 2, __VA_ARGS__), \
	OPA(m, h, fl, 3, __VA_ARGS__), OPA(m, h, fl, 4, __VA_ARGS__), OPA(m, h, fl, 5, __VA_ARGS__), \
	OPA(m, h, fl, 6, __VA_ARGS__), OPA(m, h, fl, 7, __VA_ARGS__), OPA(m, h, fl, 8, __VA_ARGS__), \
	OPA(m, h, fl, 9, __VA_ARGS__), OPA(m, h, fl, 10, __VA_ARGS__), OPA(m, h, fl, 11, __VA_ARGS__), \
	OPA(m, h, fl, 12, __VA_ARGS__), OPA(m, h, fl, 13, __VA_ARGS__), OPA(m, h, fl, 14, __VA_ARGS__), \
	OPA(m, h, fl, 15, __VA_ARGS__)

/* x87 families: D8/DC the eight arithmetic operations (memory: m32fp/m64fp;
 * register: D8 ST(0),ST(i)), DA/DE their integer forms (m32int/m16int). */
#define X87D8(h) X87("fadd", h), X87("fmul", h), X87("fcom", h), X87("fcomp", h), \
	X87("fsub", h), X87("fsubr", h), X87("fdiv", h), X87("fdivr", h)
#define X87DI(h) X87("fiadd", h), X87("fimul", h), X87("ficom", h), X87("ficomp", h), \
	X87("fisub", h), X87("fisubr", h), X87("fidiv", h), X87("fidivr", h)

#define R8(...) __VA_ARGS__, __VA_ARGS__, __VA_ARGS__, __VA_ARGS__, \
	__VA_ARGS__, __VA_ARGS__, __VA_ARGS__, __VA_ARGS__

const struct x86_opdesc x86_table_1byte[256] = {
	[0x00] = ALU6("add", A_ADD),
	[0x06] = OP("push", push_seg, F_I64, ES),
	[0x07] = OP("pop", pop_seg, F_I64 | F_STOP, ES),
	[0x08] = ALU6("or", A_OR),
	[0x0e] = OP("push", push_seg, F_I64, CS),
	[0x0f] = ESC,
	[0x10] = ALU6("adc", A_ADC),
	[0x16] = OP("push", push_seg, F_I64, SS),
	[0x17] = OP("pop", pop_seg, F_I64 | F_STOP, SS),
	[0x18] = ALU6("sbb", A_SBB),
	[0x1e] = OP("push", push_seg, F_I64, DS),
	[0x1f] = OP("pop", pop_seg, F_I64 | F_STOP, DS),
	[0x20] = ALU6("and", A_AND),
	[0x27] = OP("daa", daa, F_I64),
	[0x28] = ALU6("sub", A_SUB),
	[0x2f] = OP("das", das, F_I64),
	[0x30] = ALU6("xor", A_XOR),
	[0x37] = OP("aaa", aaa, F_I64),
	[0x38] = ALU6("cmp", A_CMP),
	[0x3f] = OP("aas", aas, F_I64),
	/* 40-4F: INC/DEC Zv outside 64-bit mode (REX prefixes in 64-bit mode) */
	[0x40] = R8(OP("inc", inc_z, F_I64, Zv)),
	[0x48] = R8(OP("dec", dec_z, F_I64, Zv)),
	[0x50] = R8(OP("push", push_z, F_D64, Zv)),
	[0x58] = R8(OP("pop", pop_z, F_D64, Zv)),
	[0x60] = OP("pusha", pusha, F_I64),
	[0x61] = OP("popa", popa, F_I64),
	[0x62] = OP("bound", bound, F_I64, Gv, M),        /* EVEX in 64-bit mode */
	[0x63] = OP("arpl", arpl, F_I64, Ew, Gw),         /* MOVSXD in 64-bit mode */
	[0x68] = OP("push", push_i, F_D64, Iz),
	[0x69] = OP("imul", imul_gei, 0, Gv, Ev, Iz),
	[0x6a] = OP("push", push_i, F_D64, Ibs),
	[0x6b] = OP("imul", imul_gei, 0, Gv, Ev, Ibs),
	[0x6c] = OP("insb", ins, F_REP, Yb, DX),
	[0x6d] = OP("ins", ins, F_REP, Yz, DX),
	[0x6e] = OP("outsb", outs, F_REP, DX, Xb),
	[0x6f] = OP("outs", outs, F_REP, DX, Xz),
	[0x70] = CC16("jcc", jcc, F_F64 | F_BRANCH, Jb),
	[0x80] = GRP1(Eb, Ib),
	[0x81] = GRP1(Ev, Iz),
	[0x82] = { .type = ROW_GROUP, .flags = F_I64, .sub = (const struct x86_opdesc[8]){
		OPA("add", alu_ei, F_LOCK | F_I64, A_ADD, Eb, Ib), OPA("or", alu_ei, F_LOCK | F_I64, A_OR, Eb, Ib),
		OPA("adc", alu_ei, F_LOCK | F_I64, A_ADC, Eb, Ib), OPA("sbb", alu_ei, F_LOCK | F_I64, A_SBB, Eb, Ib),
		OPA("and", alu_ei, F_LOCK | F_I64, A_AND, Eb, Ib), OPA("sub", alu_ei, F_LOCK | F_I64, A_SUB, Eb, Ib),
		OPA("xor", alu_ei, F_LOCK | F_I64, A_XOR, Eb, Ib), OPA("cmp", alu_ei, F_I64, A_CMP, Eb, Ib) } },
	[0x83] = GRP1(Ev, Ibs),
	[0x84] = OP("test", test_eg, 0, Eb, Gb),
	[0x85] = OP("test", test_eg, 0, Ev, Gv),
	[0x86] = OP("xchg", xchg_eg, F_LOCK, Eb, Gb),
	[0x87] = OP("xchg", xchg_eg, F_LOCK, Ev, Gv),
	[0x88] = OP("mov", mov_eg, 0, Eb, Gb),
	[0x89] = OP("mov", mov_eg, 0, Ev, Gv),
	[0x8a] = OP("mov", mov_ge, 0, Gb, Eb),
	[0x8b] = OP("mov", mov_ge, 0, Gv, Ev),
	[0x8c] = OP("mov", mov_es, 0, Ev, Sw),
	[0x8d] = OP("lea", lea, 0, Gv, M),
	[0x8e] = OP("mov", mov_se, F_STOP, Sw, Ew),
	[0x8f] = GRP(OP("pop", pop_e, F_D64, Ev), ___, ___, ___, ___, ___, ___, ___), /* XOP when reg!=0 */
	[0x90] = PFX(OP("nop", nop90, 0, Zv, rAX), OP("nop", nop90, F_66OSZ, Zv, rAX),
		     OP("pause", nop90, 0, Zv, rAX), OP("nop", nop90, 0, Zv, rAX)),
	[0x91] = OP("xchg", xchg_za, 0, Zv, rAX),
	[0x92] = OP("xchg", xchg_za, 0, Zv, rAX),
	[0x93] = OP("xchg", xchg_za, 0, Zv, rAX),
	[0x94] = OP("xchg", xchg_za, 0, Zv, rAX),
	[0x95] = OP("xchg", xchg_za, 0, Zv, rAX),
	[0x96] = OP("xchg", xchg_za, 0, Zv, rAX),
	[0x97] = OP("xchg", xchg_za, 0, Zv, rAX),
	[0x98] = OP("cbw", cbw, 0, rAX),
	[0x99] = OP("cwd", cwd, 0, rAX),
	[0x9a] = OP("callf", call_far, F_I64 | F_BRANCH | F_STOP, Ap),
	[0x9b] = OP("fwait", fwait, 0),
	[0x9c] = OP("pushf", pushf, F_D64, rAX),
	[0x9d] = OP("popf", popf, F_D64 | F_STOP, rAX),
	[0x9e] = OP("sahf", sahf, 0),
	[0x9f] = OP("lahf", lahf, 0),
	[0xa0] = OP("mov", mov_ao, 0, AL, Ob),
	[0xa1] = OP("mov", mov_ao, 0, rAX, Ov),
	[0xa2] = OP("mov", mov_oa, 0, Ob, AL),
	[0xa3] = OP("mov", mov_oa, 0, Ov, rAX),
	[0xa4] = OP("movsb", movs, F_REP, Yb, Xb),
	[0xa5] = OP("movs", movs, F_REP, Yv, Xv),
	[0xa6] = OP("cmpsb", cmps, F_REP, Xb, Yb),
	[0xa7] = OP("cmps", cmps, F_REP, Xv, Yv),
	[0xa8] = OP("test", test_ai, 0, AL, Ib),
	[0xa9] = OP("test", test_ai, 0, rAX, Iz),
	[0xaa] = OP("stosb", stos, F_REP, Yb, AL),
	[0xab] = OP("stos", stos, F_REP, Yv, rAX),
	[0xac] = OP("lodsb", lods, F_REP, AL, Xb),
	[0xad] = OP("lods", lods, F_REP, rAX, Xv),
	[0xae] = OP("scasb", scas, F_REP, AL, Yb),
	[0xaf] = OP("scas", scas, F_REP, rAX, Yv),
	[0xb0] = R8(OP("mov", mov_zi, 0, Zb, Ib)),
	[0xb8] = R8(OP("mov", mov_zi, 0, Zv, Iv)),
	[0xc0] = GRP2(shift_ib, Eb, Ib),
	[0xc1] = GRP2(shift_ib, Ev, Ib),
	[0xc2] = OP("ret", ret_imm, F_F64 | F_BRANCH, Iw),
	[0xc3] = OP("ret", ret, F_F64 | F_BRANCH),
	[0xc4] = OP("les", lseg, F_I64 | F_STOP, Gz, Mp),  /* VEX3 in 64-bit mode / mod=3 */
	[0xc5] = OP("lds", lseg, F_I64 | F_STOP, Gz, Mp),  /* VEX2 */
	/* XABORT/XBEGIN (and XEND/XTEST in 0F 01): #UD, no RTM in the model (CPUID.7.0:EBX.RTM[11]=0) */
	[0xc6] = GRPM(OP("mov", mov_ei, 0, Eb, Ib), ___, ___, ___, ___, ___, ___, ___,
		      OP("mov", mov_ei, 0, Eb, Ib), ___, ___, ___, ___, ___, ___,
		      RMT(OP("xabort", ud, 0, Ib), ___, ___, ___, ___, ___, ___, ___)),
	[0xc7] = GRPM(OP("mov", mov_ei, 0, Ev, Iz), ___, ___, ___, ___, ___, ___, ___,
		      OP("mov", mov_ei, 0, Ev, Iz), ___, ___, ___, ___, ___, ___,
		      RMT(OP("xbegin", ud, F_D64 | F_BRANCH, Jz), ___, ___, ___, ___, ___, ___, ___)),
	[0xc8] = OP("enter", enter, F_D64, Iw, Ib),
	[0xc9] = OP("leave", leave, F_D64),
	[0xca] = OP("retf", retf, F_BRANCH | F_STOP, Iw),
	[0xcb] = OP("retf", retf, F_BRANCH | F_STOP),
	[0xcc] = OP("int3", int3, F_BRANCH),
	[0xcd] = OP("int", int_ib, F_BRANCH, Ib),
	[0xce] = OP("into", into, F_I64 | F_BRANCH),
	[0xcf] = OP("iret", iret, F_BRANCH | F_STOP),
	[0xd0] = GRP2(shift_1, Eb, One),
	[0xd1] = GRP2(shift_1, Ev, One),
	[0xd2] = GRP2(shift_cl, Eb, CL),
	[0xd3] = GRP2(shift_cl, Ev, CL),
	[0xd4] = OP("aam", aam, F_I64, Ib),
	[0xd5] = OP("aad", aad, F_I64, Ib),
	[0xd6] = OP("salc", salc, F_I64),                 /* undocumented, but decoded by all */
	[0xd7] = OP("xlat", xlat, 0),
	/* x87: GRPM(memory forms by ModRM.reg, register forms by ModRM.reg); the
	 * encodings decode.c's x87_valid() rejects are ___ here too */
	[0xd8] = GRPM(X87D8(x87_d8), X87D8(x87_d8)),
	[0xd9] = GRPM(X87("fld", x87_d9), ___, X87("fst", x87_d9), X87("fstp", x87_d9),
		      X87("fldenv", x87_d9), X87("fldcw", x87_d9), X87("fnstenv", x87_d9), X87("fnstcw", x87_d9),
		      X87("fld", x87_d9), X87("fxch", x87_d9),
		      RMT(X87("fnop", x87_d9), ___, ___, ___, ___, ___, ___, ___),
		      X87("fstp", x87_d9),                   /* D9 D8+i: reserved alias of FSTP */
		      RMT(X87("fchs", x87_d9), X87("fabs", x87_d9), ___, ___,
			  X87("ftst", x87_d9), X87("fxam", x87_d9), ___, ___),
		      RMT(X87("fld1", x87_d9), X87("fldl2t", x87_d9), X87("fldl2e", x87_d9), X87("fldpi", x87_d9),
			  X87("fldlg2", x87_d9), X87("fldln2", x87_d9), X87("fldz", x87_d9), ___),
		      RMT(X87("f2xm1", x87_d9), X87("fyl2x", x87_d9), X87("fptan", x87_d9), X87("fpatan", x87_d9),
			  X87("fxtract", x87_d9), X87("fprem1", x87_d9), X87("fdecstp", x87_d9), X87("fincstp", x87_d9)),
		      RMT(X87("fprem", x87_d9), X87("fyl2xp1", x87_d9), X87("fsqrt", x87_d9), X87("fsincos", x87_d9),
			  X87("frndint", x87_d9), X87("fscale", x87_d9), X87("fsin", x87_d9), X87("fcos", x87_d9))),
	[0xda] = GRPM(X87DI(x87_da),
		      X87("fcmovb", x87_da), X87("fcmove", x87_da), X87("fcmovbe", x87_da), X87("fcmovu", x87_da),
		      ___, RMT(___, X87("fucompp", x87_da), ___, ___, ___, ___, ___, ___), ___, ___),
	[0xdb] = GRPM(X87("fild", x87_db), X87("fisttp", x87_db), X87("fist", x87_db), X87("fistp", x87_db),
		      ___, X87("fld", x87_db), ___, X87("fstp", x87_db),
		      X87("fcmovnb", x87_db), X87("fcmovne", x87_db), X87("fcmovnbe", x87_db), X87("fcmovnu", x87_db),
		      RMT(X87("fneni", x87_db), X87("fndisi", x87_db), X87("fnclex", x87_db), X87("fninit", x87_db),
			  X87("fnsetpm", x87_db), ___, ___, ___),
		      X87("fucomi", x87_db), X87("fcomi", x87_db), ___),
	/* DC register forms: FSUBR/FSUB and FDIVR/FDIV swap places (SDM A.5) */
	[0xdc] = GRPM(X87D8(x87_dc),
		      X87("fadd", x87_dc), X87("fmul", x87_dc), X87("fcom", x87_dc), X87("fcomp", x87_dc),
		      X87("fsubr", x87_dc), X87("fsub", x87_dc), X87("fdivr", x87_dc), X87("fdiv", x87_dc)),
	[0xdd] = GRPM(X87("fld", x87_dd), X87("fisttp", x87_dd), X87("fst", x87_dd), X87("fstp", x87_dd),
		      X87("frstor", x87_dd), ___, X87("fnsave", x87_dd), X87("fnstsw", x87_dd),
		      X87("ffree", x87_dd), X87("fxch", x87_dd), X87("fst", x87_dd), X87("fstp", x87_dd),
		      X87("fucom", x87_dd), X87("fucomp", x87_dd), ___, ___),
	[0xde] = GRPM(X87DI(x87_de),
		      X87("faddp", x87_de), X87("fmulp", x87_de), X87("fcomp", x87_de),
		      RMT(___, X87("fcompp", x87_de), ___, ___, ___, ___, ___, ___),
		      X87("fsubrp", x87_de), X87("fsubp", x87_de), X87("fdivrp", x87_de), X87("fdivp", x87_de)),
	[0xdf] = GRPM(X87("fild", x87_df), X87("fisttp", x87_df), X87("fist", x87_df), X87("fistp", x87_df),
		      X87("fbld", x87_df), X87("fild", x87_df), X87("fbstp", x87_df), X87("fistp", x87_df),
		      X87("ffreep", x87_df), X87("fxch", x87_df), X87("fstp", x87_df), X87("fstp", x87_df),
		      RMT(X87("fnstsw", x87_df), ___, ___, ___, ___, ___, ___, ___),
		      X87("fucomip", x87_df), X87("fcomip", x87_df), ___),
	[0xe0] = OPA("loopne", loop, F_F64 | F_BRANCH, 0, Jb),
	[0xe1] = OPA("loope", loop, F_F64 | F_BRANCH, 1, Jb),
	[0xe2] = OPA("loop", loop, F_F64 | F_BRANCH, 2, Jb),
	[0xe3] = OP("jrcxz", jrcxz, F_F64 | F_BRANCH, Jb),
	[0xe4] = OP("in", in_i, 0, AL, Ib),
	[0xe5] = OP("in", in_i, 0, eAX, Ib),
	[0xe6] = OP("out", out_i, 0, Ib, AL),
	[0xe7] = OP("out", out_i, 0, Ib, eAX),
	[0xe8] = OP("call", call_rel, F_F64 | F_BRANCH, Jz),
	[0xe9] = OP("jmp", jmp_rel, F_F64 | F_BRANCH, Jz),
	[0xea] = OP("jmpf", jmp_far, F_I64 | F_BRANCH | F_STOP, Ap),
	[0xeb] = OP("jmp", jmp_rel, F_F64 | F_BRANCH, Jb),
	[0xec] = OP("in", in_dx, 0, AL, DX),
	[0xed] = OP("in", in_dx, 0, eAX, DX),
	[0xee] = OP("out", out_dx, 0, DX, AL),
	[0xef] = OP("out", out_dx, 0, DX, eAX),
	[0xf1] = OP("int1", int1, F_BRANCH),
	[0xf4] = OP("hlt", hlt, F_STOP),
	[0xf5] = OP("cmc", cmc, 0),
	[0xf6] = GRP(OP("test", test_ei, 0, Eb, Ib), OP("test", test_ei, 0, Eb, Ib),
		     OP("not", not_e, F_LOCK, Eb), OP("neg", neg_e, F_LOCK, Eb),
		     OP("mul", mul_e, 0, Eb), OP("imul", imul_e, 0, Eb),
		     OP("div", div_e, 0, Eb), OP("idiv", idiv_e, 0, Eb)),
	[0xf7] = GRP(OP("test", test_ei, 0, Ev, Iz), OP("test", test_ei, 0, Ev, Iz),
		     OP("not", not_e, F_LOCK, Ev), OP("neg", neg_e, F_LOCK, Ev),
		     OP("mul", mul_e, 0, Ev), OP("imul", imul_e, 0, Ev),
		     OP("div", div_e, 0, Ev), OP("idiv", idiv_e, 0, Ev)),
	[0xf8] = OP("clc", clc, 0),
	[0xf9] = OP("stc", stc, 0),
	[0xfa] = OP("cli", cli, 0),
	[0xfb] = OP("sti", sti, F_STOP),
	[0xfc] = OP("cld", cld, 0),
	[0xfd] = OP("std", std, 0),
	[0xfe] = GRP(OP("inc", inc_e, F_LOCK, Eb), OP("dec", dec_e, F_LOCK, Eb),
		     ___, ___, ___, ___, ___, ___),
	[0xff] = GRP(OP("inc", inc_e, F_LOCK, Ev), OP("dec", dec_e, F_LOCK, Ev),
		     OP("call", call_e, F_F64 | F_BRANCH, Ev), OP("callf", call_far_m, F_BRANCH | F_STOP, Mp),
		     OP("jmp", jmp_e, F_F64 | F_BRANCH, Ev), OP("jmpf", jmp_far_m, F_BRANCH | F_STOP, Mp),
		     OP("push", push_e, F_D64, Ev), ___),
};

/* VEX/EVEX-encoded instructions without a row in x86_table_vex_*:
 * decoded for length, executed as #UD. */
const struct x86_opdesc x86_row_vex = OP("vex", vex, F_STOP);

/* MOVSXD replaces ARPL in 64-bit mode (decode.c picks it). */
const struct x86_opdesc x86_row_movsxd = OP("movsxd", movsxd, 0, Gv, Ed);

/* SSE helpers: ps/pd/ss/sd families, MMX+SSE2 integer pairs, 66-only rows. */
#define PSD(x) PFX(OP(#x "ps", x##ps, F_SSE, Vps, Wps), OP(#x "pd", x##pd, F_SSE, Vpd, Wpd), \
		   OP(#x "ss", x##ss, F_SSE, Vss, Wss), OP(#x "sd", x##sd, F_SSE, Vsd, Wsd))
#define PS_PD(x) PFX(OP(#x "ps", x##ps, F_SSE, Vps, Wps), OP(#x "pd", x##pd, F_SSE, Vpd, Wpd), ___, ___)
#define MX(x) PFX(OP(#x, mmx_##x, F_SSE, Pq, Qq), OP(#x, x, F_SSE, Vx, Wx), ___, ___)
#define X66(x, ...) PFX(___, OP(#x, x, F_SSE, __VA_ARGS__), ___, ___)
#define SHIFTI(x) PFX(OP(#x, mmx_##x##_i, F_SSE, Nq, Ib), OP(#x, x##_i, F_SSE, Ux, Ib), ___, ___)
#define NOPE OP("nop", nop, F_MODRM, Ev)

const struct x86_opdesc x86_table_0f[256] = {
	[0x00] = GRP(OP("sldt", sldt, 0, Ev), OP("str", str, 0, Ev), OP("lldt", lldt, 0, Ew),
		     OP("ltr", ltr, 0, Ew), OP("verr", verr, 0, Ew), OP("verw", verw, 0, Ew), ___, ___),
	/* 0F 01 #UD rows: CLAC/STAC (no SMAP: CPUID.7.0:EBX[20]=0), ENCLS/ENCLU (no SGX),
	 * XEND/XTEST (no RTM), RDPKRU/WRPKRU (no PKU: CPUID.7.0:ECX[3]=0) */
	[0x01] = GRPM(OP("sgdt", sgdt, 0, Ms), OP("sidt", sidt, 0, Ms), OP("lgdt", lgdt, 0, Ms),
		      OP("lidt", lidt, 0, Ms), OP("smsw", smsw, 0, Mw), ___,
		      OP("lmsw", lmsw, F_STOP, Mw), OP("invlpg", invlpg, F_STOP, Mb),
		      /* VMCALL/VMMCALL: the KVM hypercall ABI (exec_sys.c); the other VMX
		       * instructions: #UD, no VMX in the model (CPUID.1:ECX.VMX[5]=0) */
		      RMT(___, OP("vmcall", vmx, F_STOP), OP("vmlaunch", ud, F_STOP), OP("vmresume", ud, F_STOP),
			  OP("vmxoff", ud, F_STOP), ___, ___, ___),
		      RMT(OP("monitor", monitor, 0), OP("mwait", mwait, F_STOP), OP("clac", clac, 0), OP("stac", stac, 0),
			  ___, ___, ___, OP("encls", ud, 0)),
		      RMT(OP("xgetbv", xgetbv, 0), OP("xsetbv", xsetbv, F_STOP), ___, ___,
			  OP("vmfunc", ud, 0), OP("xend", ud, 0), OP("xtest", ud, 0), OP("enclu", ud, 0)),
		      RMT(___, OP("vmmcall", vmx, 0), ___, ___, ___, ___, ___, ___),
		      OP("smsw", smsw, 0, Rv),
		      RMT(___, ___, ___, ___, ___, ___, OP("rdpkru", rdpkru, 0), OP("wrpkru", wrpkru, 0)),
		      OP("lmsw", lmsw, F_STOP, Ew),
		      RMT(OP("swapgs", swapgs, F_O64), OP("rdtscp", rdtscp, 0), ___, ___, ___, ___, ___, ___)),
	[0x02] = OP("lar", lar, 0, Gv, Ew),
	[0x03] = OP("lsl", lsl, 0, Gv, Ew),
	[0x05] = OP("syscall", syscall, F_BRANCH | F_STOP),
	[0x06] = OP("clts", clts, 0),
	[0x07] = OP("sysret", sysret, F_BRANCH | F_STOP),
	[0x08] = OP("invd", invd, 0),
	[0x09] = OP("wbinvd", wbinvd, 0),
	[0x0b] = OP("ud2", ud, 0),                         /* UD0/UD1/UD2 raise #UD by definition */
	[0x0d] = GRPM(OP("prefetch", prefetch, 0, Mb), OP("prefetchw", prefetch, 0, Mb),
		      OP("prefetchwt1", prefetch, 0, Mb), OP("prefetch", prefetch, 0, Mb),
		      OP("prefetch", prefetch, 0, Mb), OP("prefetch", prefetch, 0, Mb),
		      OP("prefetch", prefetch, 0, Mb), OP("prefetch", prefetch, 0, Mb),
		      NOPE, NOPE, NOPE, NOPE, NOPE, NOPE, NOPE, NOPE),
	[0x10] = PFX(OP("movups", movups, F_SSE, Vps, Wps), OP("movupd", movupd, F_SSE, Vpd, Wpd),
		     OP("movss", movss, F_SSE, Vx, Wss), OP("movsd", movsd, F_SSE, Vx, Wsd)),
	[0x11] = PFX(OP("movups", movups_st, F_SSE, Wps, Vps), OP("movupd", movupd_st, F_SSE, Wpd, Vpd),
		     OP("movss", movss_st, F_SSE, Wss, Vss), OP("movsd", movsd_st, F_SSE, Wsd, Vsd)),
	[0x12] = PFX(OP("movlps", movlps, F_SSE, Vq, Wq), OP("movlpd", movlpd, F_SSE, Vq, Mq),
		     OP("movsldup", movsldup, F_SSE, Vx, Wx), OP("movddup", movddup, F_SSE, Vx, Wq)),
	[0x13] = PFX(OP("movlps", movlps_st, F_SSE, Mq, Vq), OP("movlpd", movlpd_st, F_SSE, Mq, Vq), ___, ___),
	[0x14] = PS_PD(unpckl),
	[0x15] = PS_PD(unpckh),
	[0x16] = PFX(OP("movhps", movhps, F_SSE, Vq, Wq), OP("movhpd", movhpd, F_SSE, Vq, Mq),
		     OP("movshdup", movshdup, F_SSE, Vx, Wx), ___),
	[0x17] = PFX(OP("movhps", movhps_st, F_SSE, Mq, Vq), OP("movhpd", movhpd_st, F_SSE, Mq, Vq), ___, ___),
	[0x18] = GRPM(OP("prefetchnta", prefetch, 0, Mb), OP("prefetcht0", prefetch, 0, Mb),
		      OP("prefetcht1", prefetch, 0, Mb), OP("prefetcht2", prefetch, 0, Mb),
		      NOPE, NOPE, NOPE, NOPE, NOPE, NOPE, NOPE, NOPE, NOPE, NOPE, NOPE, NOPE),
	[0x19] = NOPE, [0x1a] = NOPE, [0x1b] = NOPE, [0x1c] = NOPE, [0x1d] = NOPE,
	[0x1e] = NOPE, [0x1f] = NOPE,
	[0x20] = OP("mov", mov_cr, F_STOP, Ry, Cy),
	[0x21] = OP("mov", mov_dr, 0, Ry, Dy),
	[0x22] = OP("mov", mov_cr, F_STOP, Cy, Ry),
	[0x23] = OP("mov", mov_dr, F_STOP, Dy, Ry),
	[0x28] = PFX(OP("movaps", movaps, F_SSE, Vps, Wps), OP("movapd", movapd, F_SSE, Vpd, Wpd), ___, ___),
	[0x29] = PFX(OP("movaps", movaps_st, F_SSE, Wps, Vps), OP("movapd", movapd_st, F_SSE, Wpd, Vpd), ___, ___),
	[0x2a] = PFX(OP("cvtpi2ps", cvtpi2ps, F_SSE, Vps, Qpi), OP("cvtpi2pd", cvtpi2pd, F_SSE, Vpd, Qpi),
		     OP("cvtsi2ss", cvtsi2ss, F_SSE, Vss, Ey), OP("cvtsi2sd", cvtsi2sd, F_SSE, Vsd, Ey)),
	[0x2b] = PFX(OP("movntps", movntps, F_SSE, Mx, Vps), OP("movntpd", movntpd, F_SSE, Mx, Vpd), ___, ___),
	[0x2c] = PFX(OP("cvttps2pi", cvttps2pi, F_SSE, Pq, Wps), OP("cvttpd2pi", cvttpd2pi, F_SSE, Pq, Wpd),
		     OP("cvttss2si", cvttss2si, F_SSE, Gy, Wss), OP("cvttsd2si", cvttsd2si, F_SSE, Gy, Wsd)),
	[0x2d] = PFX(OP("cvtps2pi", cvtps2pi, F_SSE, Pq, Wps), OP("cvtpd2pi", cvtpd2pi, F_SSE, Pq, Wpd),
		     OP("cvtss2si", cvtss2si, F_SSE, Gy, Wss), OP("cvtsd2si", cvtsd2si, F_SSE, Gy, Wsd)),
	[0x2e] = PFX(OP("ucomiss", ucomiss, F_SSE, Vss, Wss), OP("ucomisd", ucomisd, F_SSE, Vsd, Wsd), ___, ___),
	[0x2f] = PFX(OP("comiss", comiss, F_SSE, Vss, Wss), OP("comisd", comisd, F_SSE, Vsd, Wsd), ___, ___),
	[0x30] = OP("wrmsr", wrmsr, F_STOP),
	[0x31] = OP("rdtsc", rdtsc, 0),
	[0x32] = OP("rdmsr", rdmsr, 0),
	[0x33] = OP("rdpmc", rdpmc, 0),
	[0x34] = OP("sysenter", sysenter, F_BRANCH | F_STOP),
	[0x35] = OP("sysexit", sysexit, F_BRANCH | F_STOP),
	[0x37] = PFX(OP("getsec", ud, 0), ___, ___, ___),   /* #UD: no SMX in the model (CPUID.1:ECX.SMX=0, CR4.SMXE=0) */
	[0x38] = ESC,
	[0x3a] = ESC,
	[0x40] = CC16("cmovcc", cmov, 0, Gv, Ev),
	[0x50] = PFX(OP("movmskps", movmskps, F_SSE, Gy, Ux), OP("movmskpd", movmskpd, F_SSE, Gy, Ux), ___, ___),
	[0x51] = PSD(sqrt),
	[0x52] = PFX(OP("rsqrtps", rsqrtps, F_SSE, Vps, Wps), ___, OP("rsqrtss", rsqrtss, F_SSE, Vss, Wss), ___),
	[0x53] = PFX(OP("rcpps", rcpps, F_SSE, Vps, Wps), ___, OP("rcpss", rcpss, F_SSE, Vss, Wss), ___),
	[0x54] = PS_PD(and),
	[0x55] = PS_PD(andn),
	[0x56] = PS_PD(or),
	[0x57] = PS_PD(xor),
	[0x58] = PSD(add),
	[0x59] = PSD(mul),
	[0x5a] = PFX(OP("cvtps2pd", cvtps2pd, F_SSE, Vpd, Wps), OP("cvtpd2ps", cvtpd2ps, F_SSE, Vps, Wpd),
		     OP("cvtss2sd", cvtss2sd, F_SSE, Vsd, Wss), OP("cvtsd2ss", cvtsd2ss, F_SSE, Vss, Wsd)),
	[0x5b] = PFX(OP("cvtdq2ps", cvtdq2ps, F_SSE, Vps, Wx), OP("cvtps2dq", cvtps2dq, F_SSE, Vx, Wps),
		     OP("cvttps2dq", cvttps2dq, F_SSE, Vx, Wps), ___),
	[0x5c] = PSD(sub),
	[0x5d] = PSD(min),
	[0x5e] = PSD(div),
	[0x5f] = PSD(max),
	[0x60] = MX(punpcklbw), [0x61] = MX(punpcklwd), [0x62] = MX(punpckldq), [0x63] = MX(packsswb),
	[0x64] = MX(pcmpgtb), [0x65] = MX(pcmpgtw), [0x66] = MX(pcmpgtd), [0x67] = MX(packuswb),
	[0x68] = MX(punpckhbw), [0x69] = MX(punpckhwd), [0x6a] = MX(punpckhdq), [0x6b] = MX(packssdw),
	[0x6c] = X66(punpcklqdq, Vx, Wx),
	[0x6d] = X66(punpckhqdq, Vx, Wx),
	[0x6e] = PFX(OP("movd", mmx_movd_load, F_SSE, Pq, Ey), OP("movd", movd_load, F_SSE, Vx, Ey), ___, ___),
	[0x6f] = PFX(OP("movq", mmx_movq_load, F_SSE, Pq, Qq), OP("movdqa", movdqa, F_SSE, Vx, Wx),
		     OP("movdqu", movdqu, F_SSE, Vx, Wx), ___),
	[0x70] = PFX(OP("pshufw", mmx_pshufw, F_SSE, Pq, Qq, Ib), OP("pshufd", pshufd, F_SSE, Vx, Wx, Ib),
		     OP("pshufhw", pshufhw, F_SSE, Vx, Wx, Ib), OP("pshuflw", pshuflw, F_SSE, Vx, Wx, Ib)),
	[0x71] = GRPM(___, ___, ___, ___, ___, ___, ___, ___,
		      ___, ___, SHIFTI(psrlw), ___, SHIFTI(psraw), ___, SHIFTI(psllw), ___),
	[0x72] = GRPM(___, ___, ___, ___, ___, ___, ___, ___,
		      ___, ___, SHIFTI(psrld), ___, SHIFTI(psrad), ___, SHIFTI(pslld), ___),
	[0x73] = GRPM(___, ___, ___, ___, ___, ___, ___, ___,
		      ___, ___, SHIFTI(psrlq), PFX(___, OP("psrldq", psrldq_i, F_SSE, Ux, Ib), ___, ___), ___, ___, SHIFTI(psllq),
		      PFX(___, OP("pslldq", pslldq_i, F_SSE, Ux, Ib), ___, ___)),
	[0x74] = MX(pcmpeqb), [0x75] = MX(pcmpeqw), [0x76] = MX(pcmpeqd),
	[0x77] = PFX(OP("emms", emms, F_SSE), ___, ___, ___),
	[0x78] = PFX(OP("vmread", ud, 0, Ey, Gy), ___, ___, ___),   /* #UD: no VMX in the model */
	[0x79] = PFX(OP("vmwrite", ud, 0, Gy, Ey), ___, ___, ___),
	[0x7c] = PFX(___, OP("haddpd", haddpd, F_SSE, Vpd, Wpd), ___, OP("haddps", haddps, F_SSE, Vps, Wps)),
	[0x7d] = PFX(___, OP("hsubpd", hsubpd, F_SSE, Vpd, Wpd), ___, OP("hsubps", hsubps, F_SSE, Vps, Wps)),
	[0x7e] = PFX(OP("movd", mmx_movd_store, F_SSE, Ey, Pq), OP("movd", movd_store, F_SSE, Ey, Vx),
		     OP("movq", movq_load, F_SSE, Vx, Wq), ___),
	[0x7f] = PFX(OP("movq", mmx_movq_store, F_SSE, Qq, Pq), OP("movdqa", movdqa_st, F_SSE, Wx, Vx),
		     OP("movdqu", movdqu_st, F_SSE, Wx, Vx), ___),
	[0x80] = CC16("jcc", jcc, F_F64 | F_BRANCH, Jz),
	[0x90] = CC16("setcc", setcc, 0, Eb),
	[0xa0] = OP("push", push_seg, F_D64, FS),
	[0xa1] = OP("pop", pop_seg, F_D64, FS),
	[0xa2] = OP("cpuid", cpuid, 0),
	[0xa3] = OPA("bt", bt_eg, 0, 0, Ev, Gv),
	[0xa4] = OP("shld", shld, 0, Ev, Gv, Ib),
	[0xa5] = OP("shld", shld, 0, Ev, Gv, CL),
	[0xa8] = OP("push", push_seg, F_D64, GS),
	[0xa9] = OP("pop", pop_seg, F_D64, GS),
	[0xaa] = OP("rsm", ud, F_STOP),                    /* #UD: outside SMM (there is no SMM in the model) */
	[0xab] = OPA("bts", bt_eg, F_LOCK, 1, Ev, Gv),
	[0xac] = OP("shrd", shrd, 0, Ev, Gv, Ib),
	[0xad] = OP("shrd", shrd, 0, Ev, Gv, CL),
	[0xae] = GRPM(PFX(OP("fxsave", fxsave, 0, M), ___, ___, ___),
		      PFX(OP("fxrstor", fxrstor, 0, M), ___, ___, ___),
		      PFX(OP("ldmxcsr", ldmxcsr, 0, Md), ___, ___, ___),
		      PFX(OP("stmxcsr", stmxcsr, 0, Md), ___, ___, ___),
		      PFX(OP("xsave", xsave, 0, M), ___, ___, ___),
		      PFX(OP("xrstor", xrstor, 0, M), ___, ___, ___),
		      /* CLWB/CLFLUSHOPT: the CLFLUSH handler (CPUID.7.0:EBX[24]/[23]) */
		      PFX(OP("xsaveopt", xsaveopt, 0, M), OP("clwb", clflush, 0, Mb), ___, ___),
		      PFX(OP("clflush", clflush, 0, Mb), OP("clflushopt", clflush, 0, Mb), ___, ___),
		      /* RD/WR FS/GS BASE: #UD, no FSGSBASE in the model (CPUID.7.0:EBX[0]=0, CR4.FSGSBASE=0) */
		      PFX(___, ___, OP("rdfsbase", ud, F_O64, Ry), ___),
		      PFX(___, ___, OP("rdgsbase", ud, F_O64, Ry), ___),
		      PFX(___, ___, OP("wrfsbase", ud, F_O64, Ry), ___),
		      PFX(___, ___, OP("wrgsbase", ud, F_O64, Ry), ___),
		      ___,
		      PFX(OP("lfence", fence, F_MODRM), ___, ___, ___),
		      PFX(OP("mfence", fence, F_MODRM), ___, ___, ___),
		      PFX(OP("sfence", fence, F_MODRM), ___, ___, ___)),
	[0xaf] = OP("imul", imul_ge, 0, Gv, Ev),
	[0xb0] = OP("cmpxchg", cmpxchg, F_LOCK, Eb, Gb),
	[0xb1] = OP("cmpxchg", cmpxchg, F_LOCK, Ev, Gv),
	[0xb2] = OP("lss", lseg, F_STOP, Gv, Mp),
	[0xb3] = OPA("btr", bt_eg, F_LOCK, 2, Ev, Gv),
	[0xb4] = OP("lfs", lseg, 0, Gv, Mp),
	[0xb5] = OP("lgs", lseg, 0, Gv, Mp),
	[0xb6] = OP("movzx", movzx, 0, Gv, Eb),
	[0xb7] = OP("movzx", movzx, 0, Gv, Ew),
	[0xb8] = PFX(___, ___, OP("popcnt", popcnt, F_66OSZ, Gv, Ev), ___),
	[0xb9] = OP("ud1", ud, 0, Gv, Ev),
	[0xba] = GRP(___, ___, ___, ___, OPA("bt", bt_ei, 0, 0, Ev, Ib), OPA("bts", bt_ei, F_LOCK, 1, Ev, Ib),
		     OPA("btr", bt_ei, F_LOCK, 2, Ev, Ib), OPA("btc", bt_ei, F_LOCK, 3, Ev, Ib)),
	[0xbb] = OPA("btc", bt_eg, F_LOCK, 3, Ev, Gv),
	[0xbc] = PFX(OP("bsf", bsf, F_66OSZ, Gv, Ev), OP("bsf", bsf, F_66OSZ, Gv, Ev), OP("tzcnt", tzcnt, F_66OSZ, Gv, Ev),
		     OP("bsf", bsf, F_66OSZ, Gv, Ev)),
	[0xbd] = PFX(OP("bsr", bsr, F_66OSZ, Gv, Ev), OP("bsr", bsr, F_66OSZ, Gv, Ev), OP("lzcnt", lzcnt, F_66OSZ, Gv, Ev),
		     OP("bsr", bsr, F_66OSZ, Gv, Ev)),
	[0xbe] = OP("movsx", movsx, 0, Gv, Eb),
	[0xbf] = OP("movsx", movsx, 0, Gv, Ew),
	[0xc0] = OP("xadd", xadd, F_LOCK, Eb, Gb),
	[0xc1] = OP("xadd", xadd, F_LOCK, Ev, Gv),
	[0xc2] = PFX(OP("cmpps", cmpps, F_SSE, Vps, Wps, Ib), OP("cmppd", cmppd, F_SSE, Vpd, Wpd, Ib),
		     OP("cmpss", cmpss, F_SSE, Vss, Wss, Ib), OP("cmpsd", cmpsd, F_SSE, Vsd, Wsd, Ib)),
	[0xc3] = PFX(OP("movnti", mov_eg, 0, My, Gy), ___, ___, ___),
	[0xc4] = PFX(OP("pinsrw", mmx_pinsrw, F_SSE, Pq, Ed, Ib), OP("pinsrw", pinsrw, F_SSE, Vdq, Ed, Ib), ___, ___),
	[0xc5] = PFX(OP("pextrw", mmx_pextrw, F_SSE, Gd, Nq, Ib), OP("pextrw", pextrw, F_SSE, Gd, Udq, Ib), ___, ___),
	[0xc6] = PFX(OP("shufps", shufps, F_SSE, Vps, Wps, Ib), OP("shufpd", shufpd, F_SSE, Vpd, Wpd, Ib), ___, ___),
	[0xc7] = GRPM(___, OP("cmpxchg8b", cmpxchg8b, F_LOCK, Mq), ___,
		      PFX(OP("xrstors", xrstors, 0, M), ___, ___, ___),
		      PFX(OP("xsavec", xsavec, 0, M), ___, ___, ___),
		      PFX(OP("xsaves", xsaves, 0, M), ___, ___, ___),
		      /* #UD: no VMX in the model */
		      PFX(OP("vmptrld", ud, 0, Mq), OP("vmclear", ud, 0, Mq), OP("vmxon", ud, 0, Mq), ___),
		      PFX(OP("vmptrst", ud, 0, Mq), ___, ___, ___),
		      ___, ___, ___, ___, ___, ___,
		      /* RDRAND/RDSEED/RDPID (CPUID.1:ECX.RDRAND[30], 7.0:EBX.RDSEED[18],
		       * 7.0:ECX.RDPID[22]; exec_rand.c, exec_misc.c) */
		      PFX(OP("rdrand", rdrand, 0, Rv), OP("rdrand", rdrand, F_66OSZ, Rv), ___, ___),
		      PFX(OP("rdseed", rdseed, 0, Rv), OP("rdseed", rdseed, F_66OSZ, Rv), OP("rdpid", rdpid, F_NOREX_W, Ry), ___)),
	[0xc8] = R8(OP("bswap", bswap, 0, Zy)),
	[0xd0] = PFX(___, OP("addsubpd", addsubpd, F_SSE, Vpd, Wpd), ___, OP("addsubps", addsubps, F_SSE, Vps, Wps)),
	[0xd1] = MX(psrlw), [0xd2] = MX(psrld), [0xd3] = MX(psrlq), [0xd4] = MX(paddq),
	[0xd5] = MX(pmullw),
	[0xd6] = PFX(___, OP("movq", movq_store, F_SSE, Wq, Vq), OP("movq2dq", movq2dq, F_SSE, Vdq, Nq),
		     OP("movdq2q", movdq2q, F_SSE, Pq, Udq)),
	[0xd7] = PFX(OP("pmovmskb", mmx_pmovmskb, F_SSE, Gd, Nq), OP("pmovmskb", pmovmskb, F_SSE, Gd, Ux), ___, ___),
	[0xd8] = MX(psubusb), [0xd9] = MX(psubusw), [0xda] = MX(pminub), [0xdb] = MX(pand),
	[0xdc] = MX(paddusb), [0xdd] = MX(paddusw), [0xde] = MX(pmaxub), [0xdf] = MX(pandn),
	[0xe0] = MX(pavgb), [0xe1] = MX(psraw), [0xe2] = MX(psrad), [0xe3] = MX(pavgw),
	[0xe4] = MX(pmulhuw), [0xe5] = MX(pmulhw),
	[0xe6] = PFX(___, OP("cvttpd2dq", cvttpd2dq, F_SSE, Vx, Wpd), OP("cvtdq2pd", cvtdq2pd, F_SSE, Vx, Wq),
		     OP("cvtpd2dq", cvtpd2dq, F_SSE, Vx, Wpd)),
	[0xe7] = PFX(OP("movntq", mmx_movntq, F_SSE, Mq, Pq), OP("movntdq", movntdq, F_SSE, Mx, Vx), ___, ___),
	[0xe8] = MX(psubsb), [0xe9] = MX(psubsw), [0xea] = MX(pminsw), [0xeb] = MX(por),
	[0xec] = MX(paddsb), [0xed] = MX(paddsw), [0xee] = MX(pmaxsw), [0xef] = MX(pxor),
	[0xf0] = PFX(___, ___, ___, OP("lddqu", lddqu, F_SSE, Vx, Mx)),
	[0xf1] = MX(psllw), [0xf2] = MX(pslld), [0xf3] = MX(psllq), [0xf4] = MX(pmuludq),
	[0xf5] = MX(pmaddwd), [0xf6] = MX(psadbw),
	[0xf7] = PFX(OP("maskmovq", mmx_maskmovq, F_SSE, Pq, Nq), OP("maskmovdqu", maskmovdqu, F_SSE, Vdq, Udq), ___, ___),
	[0xf8] = MX(psubb), [0xf9] = MX(psubw), [0xfa] = MX(psubd), [0xfb] = MX(psubq),
	[0xfc] = MX(paddb), [0xfd] = MX(paddw), [0xfe] = MX(paddd),
	[0xff] = OP("ud0", ud, 0, Gv, Ev),
};

#define P66(x) X66(x, Vx, Wx)

const struct x86_opdesc x86_table_0f38[256] = {
	[0x00] = MX(pshufb), [0x01] = MX(phaddw), [0x02] = MX(phaddd), [0x03] = MX(phaddsw),
	[0x04] = MX(pmaddubsw), [0x05] = MX(phsubw), [0x06] = MX(phsubd), [0x07] = MX(phsubsw),
	[0x08] = MX(psignb), [0x09] = MX(psignw), [0x0a] = MX(psignd), [0x0b] = MX(pmulhrsw),
	[0x10] = P66(pblendvb), [0x14] = P66(blendvps), [0x15] = P66(blendvpd), [0x17] = P66(ptest),
	[0x1c] = MX(pabsb), [0x1d] = MX(pabsw), [0x1e] = MX(pabsd),
	[0x20] = X66(pmovsxbw, Vx, Wq), [0x21] = X66(pmovsxbd, Vx, Wd), [0x22] = X66(pmovsxbq, Vx, Wd),
	[0x23] = X66(pmovsxwd, Vx, Wq), [0x24] = X66(pmovsxwq, Vx, Wd), [0x25] = X66(pmovsxdq, Vx, Wq),
	[0x28] = P66(pmuldq), [0x29] = P66(pcmpeqq), [0x2a] = X66(movntdqa, Vx, Mx), [0x2b] = P66(packusdw),
	[0x30] = X66(pmovzxbw, Vx, Wq), [0x31] = X66(pmovzxbd, Vx, Wd), [0x32] = X66(pmovzxbq, Vx, Wd),
	[0x33] = X66(pmovzxwd, Vx, Wq), [0x34] = X66(pmovzxwq, Vx, Wd), [0x35] = X66(pmovzxdq, Vx, Wq),
	[0x37] = P66(pcmpgtq),
	[0x38] = P66(pminsb), [0x39] = P66(pminsd), [0x3a] = P66(pminuw), [0x3b] = P66(pminud),
	[0x3c] = P66(pmaxsb), [0x3d] = P66(pmaxsd), [0x3e] = P66(pmaxuw), [0x3f] = P66(pmaxud),
	[0x40] = P66(pmulld), [0x41] = P66(phminposuw),
	[0x80] = PFX(___, OP("invept", ud, 0, Gy, Mdq), ___, ___),  /* #UD: no VMX in the model */
	[0x81] = PFX(___, OP("invvpid", ud, 0, Gy, Mdq), ___, ___),
	[0x82] = PFX(___, OP("invpcid", invpcid, F_STOP, Gy, Mdq), ___, ___), /* exec_sys.c; ends the block: the TLB changes */
	[0xc8] = PFX(OP("sha1nexte", sha1nexte, F_SSE, Vdq, Wdq), ___, ___, ___),
	[0xc9] = PFX(OP("sha1msg1", sha1msg1, F_SSE, Vdq, Wdq), ___, ___, ___),
	[0xca] = PFX(OP("sha1msg2", sha1msg2, F_SSE, Vdq, Wdq), ___, ___, ___),
	[0xcb] = PFX(OP("sha256rnds2", sha256rnds2, F_SSE, Vdq, Wdq), ___, ___, ___),
	[0xcc] = PFX(OP("sha256msg1", sha256msg1, F_SSE, Vdq, Wdq), ___, ___, ___),
	[0xcd] = PFX(OP("sha256msg2", sha256msg2, F_SSE, Vdq, Wdq), ___, ___, ___),
	[0xcf] = P66(gf2p8mulb),
	[0xdb] = P66(aesimc), [0xdc] = P66(aesenc), [0xdd] = P66(aesenclast),
	[0xde] = P66(aesdec), [0xdf] = P66(aesdeclast),
	/* MOVBE: 66 is an operand-size prefix here (F_66OSZ); F2 selects CRC32. */
	[0xf0] = PFX(OP("movbe", movbe, F_66OSZ, Gv, Mv), OP("movbe", movbe, F_66OSZ, Gv, Mv),
		     ___, OP("crc32", crc32, F_66OSZ, Gd, Eb)),
	[0xf1] = PFX(OP("movbe", movbe, F_66OSZ, Mv, Gv), OP("movbe", movbe, F_66OSZ, Mv, Gv),
		     ___, OP("crc32", crc32, F_66OSZ, Gd, Ev)),
	/* ADCX/ADOX (CPUID.7.0:EBX.ADX[19]; exec_bmi.c) */
	[0xf6] = PFX(___, OP("adcx", adcx, 0, Gy, Ey), OP("adox", adox, 0, Gy, Ey), ___),
	/* MOVDIRI/MOVDIR64B/ENQCMD(S): #UD, not in the model (CPUID.7.0:ECX[27]/[28]/[29] clear) */
	[0xf8] = PFX(___, OP("movdir64b", ud, 0, Gv, M), OP("enqcmds", ud, 0, Gv, M), OP("enqcmd", ud, 0, Gv, M)),
	[0xf9] = PFX(OP("movdiri", ud, 0, My, Gy), ___, ___, ___),
};

#define I66(x, ...) PFX(___, OP(#x, x, F_SSE, __VA_ARGS__), ___, ___)

const struct x86_opdesc x86_table_0f3a[256] = {
	[0x08] = I66(roundps, Vx, Wx, Ib), [0x09] = I66(roundpd, Vx, Wx, Ib),
	[0x0a] = I66(roundss, Vss, Wss, Ib), [0x0b] = I66(roundsd, Vsd, Wsd, Ib),
	[0x0c] = I66(blendps, Vx, Wx, Ib), [0x0d] = I66(blendpd, Vx, Wx, Ib),
	[0x0e] = I66(pblendw, Vx, Wx, Ib),
	[0x0f] = PFX(OP("palignr", mmx_palignr, F_SSE, Pq, Qq, Ib), OP("palignr", palignr, F_SSE, Vx, Wx, Ib), ___, ___),
	[0x14] = I66(pextrb, Ed, Vdq, Ib), [0x15] = PFX(___, OP("pextrw", pextrw_e, F_SSE, Ed, Vdq, Ib), ___, ___),
	[0x16] = I66(pextrd, Ey, Vdq, Ib), [0x17] = I66(extractps, Ed, Vdq, Ib),
	[0x20] = I66(pinsrb, Vdq, Ed, Ib), [0x21] = I66(insertps, Vdq, Wd, Ib),
	[0x22] = I66(pinsrd, Vdq, Ey, Ib),
	[0x40] = I66(dpps, Vx, Wx, Ib), [0x41] = I66(dppd, Vx, Wx, Ib), [0x42] = I66(mpsadbw, Vx, Wx, Ib),
	[0x44] = I66(pclmulqdq, Vx, Wx, Ib),
	[0x60] = I66(pcmpestrm, Vx, Wx, Ib), [0x61] = I66(pcmpestri, Vx, Wx, Ib),
	[0x62] = I66(pcmpistrm, Vx, Wx, Ib), [0x63] = I66(pcmpistri, Vx, Wx, Ib),
	[0xcc] = PFX(OP("sha1rnds4", sha1rnds4, F_SSE, Vdq, Wdq, Ib), ___, ___, ___),
	[0xce] = I66(gf2p8affineqb, Vx, Wx, Ib), [0xcf] = I66(gf2p8affineinvqb, Vx, Wx, Ib),
	[0xdf] = I66(aeskeygenassist, Vx, Wx, Ib),
};

/* VEX-encoded general-register instructions (SDM vol. 2, Table 2-28):
 * BMI1 and BMI2.  All are VEX.LZ (L=1 is #UD); W1 selects 64-bit operands
 * in 64-bit mode.  B is the general register in VEX.vvvv.  The decoder
 * (decode.c, decode_vex_like) rejects VEX.vvvv != 1111b for rows without a
 * B operand.  Handlers in exec_bmi.c. */
const struct x86_opdesc x86_table_vex_0f38[256] = {
	[0xf2] = PFX(OP("andn", andn, 0, Gy, By, Ey), ___, ___, ___),
	[0xf3] = PFX(GRP(___, OP("blsr", blsr, 0, By, Ey), OP("blsmsk", blsmsk, 0, By, Ey),
			 OP("blsi", blsi, 0, By, Ey), ___, ___, ___, ___), ___, ___, ___),
	[0xf5] = PFX(OP("bzhi", bzhi, 0, Gy, Ey, By), ___, OP("pext", pext, 0, Gy, By, Ey),
		     OP("pdep", pdep, 0, Gy, By, Ey)),
	[0xf6] = PFX(___, ___, ___, OP("mulx", mulx, 0, Gy, By, Ey)),
	[0xf7] = PFX(OP("bextr", bextr, 0, Gy, Ey, By), OP("shlx", shlx, 0, Gy, Ey, By),
		     OP("sarx", sarx, 0, Gy, Ey, By), OP("shrx", shrx, 0, Gy, Ey, By)),
};

const struct x86_opdesc x86_table_vex_0f3a[256] = {
	[0xf0] = PFX(___, ___, ___, OP("rorx", rorx, 0, Gy, Ey, Ib)),
};

#ifndef X86_INSN_SCAN
/* The scan saw exactly the rows this compile sees (same expansions, same order). */
_Static_assert(__COUNTER__ == X86_ROW_COUNT, "decode_table_ids.h is stale: rerun gen_insn_ids.py");
#endif
