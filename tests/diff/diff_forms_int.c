/* General-purpose integer instruction forms for the differential harness.
 *
 * Undefined-flag masks quote the Intel SDM Vol. 2 "Flags Affected"
 * sections:
 *   AND/OR/XOR/TEST: "The OF and CF flags are cleared; the SF, ZF, and PF
 *     flags are set according to the result. The state of the AF flag is
 *     undefined."
 *   MUL/IMUL: "The SF, ZF, AF, and PF flags are undefined."
 *   DIV/IDIV: "The CF, OF, SF, ZF, AF, and PF flags are undefined."
 *   BT/BTS/BTR/BTC: "The ZF flag is unaffected. The OF, SF, AF, and PF
 *     flags are undefined."
 *   BSF/BSR: "The CF, OF, SF, AF, and PF flags are undefined."
 *   TZCNT/LZCNT: "The OF, SF, PF and AF flags are undefined."
 *   SHL/SHR/SAR: "The OF flag is affected only on 1-bit shifts. For shifts
 *     greater than 1 bit, the OF flag is undefined. ... If the count is 0,
 *     the flags are not affected. For a non-zero count, the AF flag is
 *     undefined."  (FLK_SHIFT)
 *   ROL/ROR/RCL/RCR: "The OF flag is defined only for the 1-bit rotates; it
 *     is undefined in all other cases" (FLK_ROTATE)
 *   SHLD/SHRD: "For a 1-bit shift, the OF flag is set if a sign change
 *     occurred; otherwise, it is cleared. For shifts greater than 1 bit, the
 *     OF flag is undefined. ... For a non-zero count, the AF flag is
 *     undefined."  16-bit forms are left out: "If the count is greater than
 *     the operand size, the result is undefined."
 *   ANDN: "SF and ZF are updated based on result. OF and CF flags are
 *     cleared. AF and PF flags are undefined."
 *   BEXTR: "ZF is updated based on the result. AF, SF, and PF are
 *     undefined. All other flags are cleared."
 *   BLSI: "ZF and SF are updated based on the result. CF is set if the
 *     source is not zero. OF flags are cleared. AF and PF flags are
 *     undefined."  BLSMSK: "SF is updated based on the result. CF is set if
 *     the source if zero. ZF and OF flags are cleared. AF and PF flag are
 *     undefined."  BLSR: "ZF and SF flags are updated based on the result.
 *     CF is set if the source is zero. OF flag is cleared. AF and PF flags
 *     are undefined."
 *   BZHI: "ZF and SF flags are updated based on the result. CF flag is set
 *     as specified in the Operation section. OF flag is cleared. AF and PF
 *     flags are undefined."
 *   MULX, PDEP, PEXT, RORX, SARX, SHLX, SHRX: "None" (flags unaffected:
 *     all compared).  ADCX: "CF is updated based on the result. OF, SF, ZF,
 *     AF and PF flags are unmodified."  ADOX: the same with OF.
 *   RDRAND/RDSEED: "The CF flag is set according to the result ... The OF,
 *     SF, ZF, AF, and PF flags are set to 0." (FLK_RAND: the random value
 *     itself is not compared).  RDPID, RDTSCP: flags unaffected
 *     (FLK_HOSTVAL: the host's TSC and TSC_AUX are not compared).
 *   The VEX forms' #UD cases follow SDM vol. 2, 2.5.1 / Table 2-29: VEX.L
 *     = 1, VEX.vvvv != 1111b where unused, a 66/F2/F3/REX prefix before
 *     VEX, and reserved VEX.pp/opcode-extension combinations.
 */
#include "diff_forms.h"

#define CF 0x1u
#define PF 0x4u
#define AF 0x10u
#define ZF 0x40u
#define SF 0x80u
#define OF 0x800u

#define F(n, e, u) { n, e, u, SETUP_NONE, FLK_STATIC, 0, 0, 0, 0 }
#define FS(n, e, u, s) { n, e, u, s, FLK_STATIC, 0, 0, 0, 0 }
#define FM(n, e, u, s, sz, al) { n, e, u, s, FLK_STATIC, sz, al, 0, 0 }
#define FK(n, e, k) { n, e, 0, SETUP_NONE, k, 0, 0, 0, 0 }
#define FX(n, e, u, s, k) { n, e, u, s, k, 0, 0, 0, 0 }

#define ALU(m, b, u) \
	F(m " Eb,Gb", "67? rex? " b "0 /r B", u), \
	F(m " Ev,Gv", "66? 67? rex? " b "1 /r", u), \
	F(m " Gb,Eb", "67? rex? " b "2 /r B", u), \
	F(m " Gv,Ev", "66? 67? rex? " b "3 /r", u), \
	F(m " AL,Ib", "rex? " b "4 ib B", u), \
	F(m " rAX,Iz", "66? rex? " b "5 iz", u)
#define ALU2(m, b, u) \
	F(m " Eb,Gb", "67? rex? " b "8 /r B", u), \
	F(m " Ev,Gv", "66? 67? rex? " b "9 /r", u), \
	F(m " Gb,Eb", "67? rex? " b "a /r B", u), \
	F(m " Gv,Ev", "66? 67? rex? " b "b /r", u), \
	F(m " AL,Ib", "rex? " b "c ib B", u), \
	F(m " rAX,Iz", "66? rex? " b "d iz", u)
#define GRP1(m, n, u) \
	F(m " Eb,Ib", "67? rex? 80 /" n " ib B", u), \
	F(m " Ev,Iz", "66? 67? rex? 81 /" n " iz", u), \
	F(m " Ev,Ib", "66? 67? rex? 83 /" n " ib", u), \
	F("lock " m " Ev,Ib", "f0 66? rex? 83 /" n "m ib", u)
#define SHIFT(m, n, k) \
	FK(m " Eb,1", "67? rex? d0 /" n " one B", k), \
	FK(m " Ev,1", "66? 67? rex? d1 /" n " one", k), \
	FK(m " Eb,CL", "67? rex? d2 /" n " CL B", k), \
	FK(m " Ev,CL", "66? 67? rex? d3 /" n " CL", k), \
	FK(m " Eb,Ib", "67? rex? c0 /" n " cnt B", k), \
	FK(m " Ev,Ib", "66? 67? rex? c1 /" n " cnt", k)

static const struct diff_form diff_forms_int[] = {
	ALU("add", "0", 0), ALU2("or", "0", AF), ALU("adc", "1", 0), ALU2("sbb", "1", 0),
	ALU("and", "2", AF), ALU2("sub", "2", 0), ALU("xor", "3", AF), ALU2("cmp", "3", 0),
	GRP1("add", "0", 0), GRP1("or", "1", AF), GRP1("adc", "2", 0), GRP1("sbb", "3", 0),
	GRP1("and", "4", AF), GRP1("sub", "5", 0), GRP1("xor", "6", AF), GRP1("cmp", "7", 0),
	F("test Eb,Gb", "67? rex? 84 /r B", AF),
	F("test Ev,Gv", "66? 67? rex? 85 /r", AF),
	F("test AL,Ib", "a8 ib B", AF),
	F("test rAX,Iz", "66? rex? a9 iz", AF),
	F("test Eb,Ib", "rex? f6 /0 ib B", AF),
	F("test Ev,Iz", "66? rex? f7 /0 iz", AF),
	F("inc Eb", "67? rex? fe /0 B", 0), F("dec Eb", "67? rex? fe /1 B", 0),
	F("inc Ev", "66? 67? rex? ff /0", 0), F("dec Ev", "66? 67? rex? ff /1", 0),
	F("not Eb", "rex? f6 /2 B", 0), F("not Ev", "66? rex? f7 /2", 0),
	F("neg Eb", "rex? f6 /3 B", 0), F("neg Ev", "66? rex? f7 /3", 0),
	F("mul Eb", "rex? f6 /4 B", SF | ZF | AF | PF),
	F("mul Ev", "66? rex? f7 /4", SF | ZF | AF | PF),
	F("imul Eb", "rex? f6 /5 B", SF | ZF | AF | PF),
	F("imul Ev", "66? rex? f7 /5", SF | ZF | AF | PF),
	F("imul Gv,Ev", "66? rex? 0f af /r", SF | ZF | AF | PF),
	F("imul Gv,Ev,Iz", "66? rex? 69 /r iz", SF | ZF | AF | PF),
	F("imul Gv,Ev,Ib", "66? rex? 6b /r ib", SF | ZF | AF | PF),
	FS("div Eb", "rex? f6 /6 B", CF | OF | SF | ZF | AF | PF, SETUP_DIV),
	FS("div Ev", "66? rex? f7 /6", CF | OF | SF | ZF | AF | PF, SETUP_DIV),
	FS("idiv Eb", "rex? f6 /7 B", CF | OF | SF | ZF | AF | PF, SETUP_DIV),
	FS("idiv Ev", "66? rex? f7 /7", CF | OF | SF | ZF | AF | PF, SETUP_DIV),
	SHIFT("rol", "0", FLK_ROTATE), SHIFT("ror", "1", FLK_ROTATE),
	SHIFT("rcl", "2", FLK_ROTATE), SHIFT("rcr", "3", FLK_ROTATE),
	SHIFT("shl", "4", FLK_SHIFT), SHIFT("shr", "5", FLK_SHIFT),
	SHIFT("sar", "7", FLK_SHIFT),
	FK("shld Ev,Gv,Ib", "67? rex? 0f a4 /r cnt", FLK_SHIFTD),
	FK("shld Ev,Gv,CL", "67? rex? 0f a5 /r CL", FLK_SHIFTD),
	FK("shrd Ev,Gv,Ib", "67? rex? 0f ac /r cnt", FLK_SHIFTD),
	FK("shrd Ev,Gv,CL", "67? rex? 0f ad /r CL", FLK_SHIFTD),
	FS("bt Ev,Gv", "66? 67? rex? 0f a3 /r", OF | SF | AF | PF, SETUP_BITMEM),
	FS("bts Ev,Gv", "66? 67? rex? 0f ab /r", OF | SF | AF | PF, SETUP_BITMEM),
	FS("btr Ev,Gv", "66? 67? rex? 0f b3 /r", OF | SF | AF | PF, SETUP_BITMEM),
	FS("btc Ev,Gv", "66? 67? rex? 0f bb /r", OF | SF | AF | PF, SETUP_BITMEM),
	F("bt Ev,Ib", "66? rex? 0f ba /4 ib", OF | SF | AF | PF),
	F("bts Ev,Ib", "66? rex? 0f ba /5 ib", OF | SF | AF | PF),
	F("btr Ev,Ib", "66? rex? 0f ba /6 ib", OF | SF | AF | PF),
	F("btc Ev,Ib", "66? rex? 0f ba /7 ib", OF | SF | AF | PF),
	F("bsf Gv,Ev", "66? rex? 0f bc /r", CF | OF | SF | AF | PF),
	F("bsr Gv,Ev", "66? rex? 0f bd /r", CF | OF | SF | AF | PF),
	F("tzcnt Gv,Ev", "66? f3 rex? 0f bc /r", OF | SF | AF | PF),
	F("lzcnt Gv,Ev", "66? f3 rex? 0f bd /r", OF | SF | AF | PF),
	F("popcnt Gv,Ev", "66? f3 rex? 0f b8 /r", 0),
	F("cmovcc Gv,Ev", "66? rex? 0f 40 +cc /r", 0),
	F("setcc Eb", "rex? 0f 90 +cc /r B", 0),
	F("mov Eb,Gb", "67? rex? 88 /r B", 0), F("mov Ev,Gv", "66? 67? rex? 89 /r", 0),
	F("mov Gb,Eb", "67? rex? 8a /r B", 0), F("mov Gv,Ev", "66? 67? rex? 8b /r", 0),
	F("mov Eb,Ib", "rex? c6 /0 ib B", 0), F("mov Ev,Iz", "66? rex? c7 /0 iz", 0),
	F("mov Zb,Ib", "rex? b0 +r ib B", 0), F("mov Zv,Iv", "66? rex? b8 +r iv", 0),
	F("mov AL,Ob", "67? rex? a0 moff", 0), F("mov rAX,Ov", "66? 67? rex? a1 moff", 0),
	F("mov Ob,AL", "67? rex? a2 moff", 0), F("mov Ov,rAX", "66? 67? rex? a3 moff", 0),
	F("mov Ev,Sw", "66? rex? 8c /r", 0),
	F("lea Gv,M", "66? 67? rex? 8d /m", 0),
	F("movzx Gv,Eb", "66? rex? 0f b6 /r", 0), F("movzx Gv,Ew", "66? rex? 0f b7 /r", 0),
	F("movsx Gv,Eb", "66? rex? 0f be /r", 0), F("movsx Gv,Ew", "66? rex? 0f bf /r", 0),
	F("movsxd Gv,Ed", "rexw 63 /r", 0),
	F("xchg Eb,Gb", "rex? 86 /r B", 0), F("xchg Ev,Gv", "66? rex? 87 /r", 0),
	F("xchg Zv,rAX", "66? rex? 90 +r", 0),
	F("bswap Zd", "rex0? 0f c8 +r", 0), F("bswap Zq", "rexw 0f c8 +r", 0),
	FS("cmpxchg Eb,Gb", "f0? rex? 0f b0 /r B", 0, SETUP_CMPXCHG),
	FS("cmpxchg Ev,Gv", "f0? 66? rex? 0f b1 /r", 0, SETUP_CMPXCHG),
	FM("cmpxchg8b Mq", "f0? rex0? 0f c7 /1m", 0, SETUP_CMPXCHG8, 8, 0),
	FM("cmpxchg16b Mdq", "f0? rexw 0f c7 /1m", 0, SETUP_CMPXCHG8, 16, 16),
	F("xadd Eb,Gb", "f0? rex? 0f c0 /r B", 0), F("xadd Ev,Gv", "f0? 66? rex? 0f c1 /r", 0),
	F("cbw/cwde/cdqe", "66? rex? 98", 0), F("cwd/cdq/cqo", "66? rex? 99", 0),
	F("lahf", "9f", 0), F("sahf", "9e", 0),
	F("clc", "f8", 0), F("stc", "f9", 0), F("cmc", "f5", 0),
	F("cld", "fc", 0), F("std", "fd", 0),
	FS("xlat", "67? rex? d7", 0, SETUP_XLAT),
	FS("movs Yb,Xb", "rep? 67? rex? a4", 0, SETUP_STRING),
	FS("movs Yv,Xv", "rep? 66? 67? rex? a5", 0, SETUP_STRING),
	FS("cmps Xb,Yb", "rep? 67? rex? a6", 0, SETUP_STRING),
	FS("cmps Xv,Yv", "rep? 66? 67? rex? a7", 0, SETUP_STRING),
	FS("stos Yb,AL", "rep? 67? rex? aa", 0, SETUP_STRING),
	FS("stos Yv,rAX", "rep? 66? 67? rex? ab", 0, SETUP_STRING),
	FS("lods AL,Xb", "rep? 67? rex? ac", 0, SETUP_STRING),
	FS("lods rAX,Xv", "rep? 66? 67? rex? ad", 0, SETUP_STRING),
	FS("scas AL,Yb", "rep? 67? rex? ae", 0, SETUP_STRING),
	FS("scas rAX,Yv", "rep? 66? 67? rex? af", 0, SETUP_STRING),
	/* long runs: the page-wise REP MOVS/STOS path (exec_string.c) */
	FS("rep movs Yb,Xb long", "f3 67? rex? a4", 0, SETUP_STRING_LONG),
	FS("rep movs Yv,Xv long", "f3 66? 67? rex? a5", 0, SETUP_STRING_LONG),
	FS("rep stos Yb,AL long", "f3 67? rex? aa", 0, SETUP_STRING_LONG),
	FS("rep stos Yv,rAX long", "f3 66? 67? rex? ab", 0, SETUP_STRING_LONG),
	FS("push Zv", "66? rex? 50 +r", 0, SETUP_STACK),
	FS("pop Zv", "66? rex? 58 +r", 0, SETUP_STACK),
	FS("push Iz", "66? 68 iz", 0, SETUP_STACK),
	FS("push Ib", "66? 6a ib", 0, SETUP_STACK),
	FS("push Ev", "66? rex? ff /6", 0, SETUP_STACK),
	FS("pop Ev", "66? rex? 8f /0", 0, SETUP_STACK),
	FS("pushf", "66? 9c", 0, SETUP_STACK),
	FS("popf", "66? 9d", 0, SETUP_STACK),
	FS("enter Iw,Ib", "66? c8 iw cnt", 0, SETUP_STACK),
	FS("leave", "66? c9", 0, SETUP_STACK),
	FS("call Jz", "e8 rel32", 0, SETUP_STACK),
	FS("call Ev", "rex? ff /2", 0, SETUP_STACK),
	FS("ret", "c3", 0, SETUP_STACK),
	FS("ret Iw", "c2 iw", 0, SETUP_STACK),
	F("jmp Jb", "eb rel8", 0), F("jmp Jz", "e9 rel32", 0),
	F("jmp Ev", "rex? ff /4", 0),
	F("jcc Jb", "70 +cc rel8", 0), F("jcc Jz", "0f 80 +cc rel32", 0),
	F("loop Jb", "67? e2 rel8", 0), F("loope Jb", "67? e1 rel8", 0),
	F("loopne Jb", "67? e0 rel8", 0), F("jrcxz Jb", "67? e3 rel8", 0),
	F("nop", "90", 0), F("nop Ev", "66? rex? 0f 1f /r", 0),
	/* advertised (CPUID.1:EDX.CLFSH/SSE/SSE2, 80000001h:ECX.PREFETCHW): no
	 * architectural result, but the memory operand must fault like a load */
	F("pause", "f3 90", 0),
	F("clflush Mb", "67? rex? 0f ae /7m", 0),
	F("prefetchw Mb", "67? rex? 0f 0d /1m", 0),
	F("prefetcht0 Mb", "67? rex? 0f 18 /1m", 0),
	F("lfence", "0f ae e8", 0), F("mfence", "0f ae f0", 0), F("sfence", "0f ae f8", 0),
	FM("movbe Gv,Mv", "66? rex? 0f 38 f0 /m", 0, SETUP_NONE, 8, 0),
	FM("movbe Mv,Gv", "66? rex? 0f 38 f1 /m", 0, SETUP_NONE, 8, 0),
	F("crc32 Gd,Eb", "f2 rex? 0f 38 f0 /r", 0),
	F("crc32 Gd,Ev", "66? f2 rex? 0f 38 f1 /r", 0),
	F("adcx Gy,Ey", "66 rex? 0f 38 f6 /r", 0),
	F("adox Gy,Ey", "f3 rex? 0f 38 f6 /r", 0),
	/* BMI1 / BMI2 (VEX-encoded general-register instructions) */
	F("andn Gy,By,Ey", "67? vex.np.0f38.wig f2 /r", AF | PF),
	F("blsr By,Ey", "67? vex.np.0f38.wig f3 /1", AF | PF),
	F("blsmsk By,Ey", "67? vex.np.0f38.wig f3 /2", AF | PF),
	F("blsi By,Ey", "67? vex.np.0f38.wig f3 /3", AF | PF),
	FS("bextr Gy,Ey,By", "67? vex.np.0f38.wig f7 /r", AF | SF | PF, SETUP_VEXCTL),
	FS("bzhi Gy,Ey,By", "67? vex.np.0f38.wig f5 /r", AF | PF, SETUP_VEXCTL),
	F("pdep Gy,By,Ey", "67? vex.f2.0f38.wig f5 /r", 0),
	F("pext Gy,By,Ey", "67? vex.f3.0f38.wig f5 /r", 0),
	F("mulx Gy,By,Ey", "67? vex.f2.0f38.wig f6 /r", 0),
	F("sarx Gy,Ey,By", "67? vex.f3.0f38.wig f7 /r", 0),
	F("shlx Gy,Ey,By", "67? vex.66.0f38.wig f7 /r", 0),
	F("shrx Gy,Ey,By", "67? vex.f2.0f38.wig f7 /r", 0),
	F("rorx Gy,Ey,Ib", "67? vex.f2.0f3a.wig.v0 f0 /r ib", 0),
	F("andn VEX.L=1 (#UD)", "vex.np.0f38.wig.l1 f2 /r", 0),
	F("shlx VEX.L=1 (#UD)", "vex.66.0f38.wig.l1 f7 /r", 0),
	F("rorx VEX.vvvv!=1111b (#UD)", "vex.f2.0f3a.wig.vnz f0 /r ib", 0),
	F("andn 66+VEX (#UD)", "66 vex.np.0f38.wig f2 /r", 0),
	F("andn REX+VEX (#UD)", "rex? 40 vex.np.0f38.wig f2 /r", 0),
	F("blsr /0 (#UD)", "vex.np.0f38.wig f3 /0", 0),
	F("mulx VEX.pp=none (#UD)", "vex.np.0f38.wig f6 /r", 0),
	F("andn VEX.pp=66 (#UD)", "vex.66.0f38.wig f2 /r", 0),
	/* RDRAND / RDSEED / RDPID / RDTSCP */
	FX("rdrand Rv", "66? rex? 0f c7 /6R", 0, SETUP_NONE, FLK_RAND),
	FX("rdseed Rv", "66? rex? 0f c7 /7R", 0, SETUP_NONE, FLK_RAND),
	FX("rdpid Ry", "f3 rex? 0f c7 /7R", 0, SETUP_NONE, FLK_HOSTVAL),
	FX("rdtscp", "0f 01 f9", 0, SETUP_NONE, FLK_HOSTVAL),
	/* CPL3 must fault: */
	F("hlt (#GP)", "f4", 0), F("cli (#GP)", "fa", 0), F("sti (#GP)", "fb", 0),
	F("in AL,Ib (#GP)", "e4 ib", 0), F("out DX,AL (#GP)", "ee", 0),
	F("mov Cd,Rd (#GP)", "0f 22 /R", 0), F("clts (#GP)", "0f 06", 0),
	F("wrmsr (#GP)", "0f 30", 0), F("rdmsr (#GP)", "0f 32", 0),
	F("ud2 (#UD)", "0f 0b", 0), F("lock nop (#UD)", "f0 90", 0),
	F("lock add Ev,Gv reg (#UD)", "f0 66? rex? 01 /R", 0),
};

const struct diff_form *diff_forms_int_get(size_t *n)
{
	*n = sizeof(diff_forms_int) / sizeof(diff_forms_int[0]);
	return diff_forms_int;
}
