/* x87 FPU instructions (D8..DF, FWAIT), executed by the host's own x87
 * on the guest state: FXRSTOR64 an image of the guest's x87 state, run
 * the very same instruction (register forms byte for byte; memory forms
 * with the operand in a local buffer addressed by RAX), FXSAVE64 the
 * result, then restore the host's own state.  Results, flags, NaN
 * propagation, precision and rounding control are therefore bit-exact
 * with the host.  What stays in C: fault checks (#NM, pending #MF, #UD
 * for invalid encodings), guest memory access, FIP/FDP/FOP bookkeeping
 * and FNSTSW AX / FCOMI's RFLAGS.
 *
 * An unmasked exception raised by the instruction only sets FSW.ES on the
 * host; the next instruction in the stub (FXSAVE64) is non-waiting, so the
 * host never takes #MF, and the guest gets its #MF at its next waiting x87
 * instruction (x87_pending below), as on hardware. */
#include <stdalign.h>
#include <string.h>

#include "sse_common.h"
#include "sse_host.h"
#include "x87_image.h"

struct x87_img {
	alignas(16) uint8_t b[FXIMG_SIZE];
};

/* Stub keys: register forms (op-D8)<<6 | modrm&63; memory forms 512 +
 * (op-D8)<<3 | reg; 16-bit environment forms of FLDENV, FNSTENV, FRSTOR,
 * FNSAVE: 576..579. */
#define X87_KEY_MEM 512
#define X87_KEY_ENV16 576

#define X87_ASM(prefix)                                                       \
	__asm__ volatile("fxsave64 %[h]\n\t"                                  \
			 "fxrstor64 %[g]\n\t"                                 \
			 "sahf\n\t"                                           \
			 prefix ".byte %c[b0], %c[b1]\n\t"                    \
			 "fxsave64 %[g]\n\t"                                  \
			 "fxrstor64 %[h]\n\t"                                 \
			 "lahf"                                               \
			 : [g] "+m"(*g), [h] "=m"(*h), "+a"(rax)              \
			 : [b0] "i"(B0), [b1] "i"(B1)                         \
			 : "memory", "cc")

#define X87_CASE(key, b0, b1)                                                 \
	case (key): {                                                         \
		enum { B0 = (b0), B1 = (b1) };                                \
		X87_ASM("");                                                  \
		break;                                                        \
	}
#define X87_REGCASE(op, m) X87_CASE(((op) << 6) | (m), 0xd8 + (op), 0xc0 + (m))
#define X87_MEMCASE(op, r) X87_CASE(X87_KEY_MEM + (((op) << 3) | (r)), 0xd8 + (op), (r) << 3)
#define X87_ENVCASE(key, b0, r)                                               \
	case (key): {                                                         \
		enum { B0 = (b0), B1 = (r) << 3 };                            \
		X87_ASM(".byte 0x66\n\t");                                    \
		break;                                                        \
	}

/* Run stub `key` with the guest image g and RAX = rax: the memory
 * buffer's address for memory forms, the guest's flags in AH for register
 * forms (SAHF loads them before the instruction: FCMOVcc reads CF ZF PF).
 * Returns AH after the instruction (lahf: SF ZF - AF - PF - CF). */
static uint8_t x87_host_run(struct x87_img *g, uint64_t rax, unsigned key)
{
	struct x87_img hbuf, *h = &hbuf;

	switch (key) {
	SSE_REP64(X87_REGCASE, 0, 0)
	SSE_REP64(X87_REGCASE, 1, 0)
	SSE_REP64(X87_REGCASE, 2, 0)
	SSE_REP64(X87_REGCASE, 3, 0)
	SSE_REP64(X87_REGCASE, 4, 0)
	SSE_REP64(X87_REGCASE, 5, 0)
	SSE_REP64(X87_REGCASE, 6, 0)
	SSE_REP64(X87_REGCASE, 7, 0)
	SSE_REP8(X87_MEMCASE, 0, 0)
	SSE_REP8(X87_MEMCASE, 1, 0)
	SSE_REP8(X87_MEMCASE, 2, 0)
	SSE_REP8(X87_MEMCASE, 3, 0)
	SSE_REP8(X87_MEMCASE, 4, 0)
	SSE_REP8(X87_MEMCASE, 5, 0)
	SSE_REP8(X87_MEMCASE, 6, 0)
	SSE_REP8(X87_MEMCASE, 7, 0)
	X87_ENVCASE(X87_KEY_ENV16 + 0, 0xd9, 4)
	X87_ENVCASE(X87_KEY_ENV16 + 1, 0xd9, 6)
	X87_ENVCASE(X87_KEY_ENV16 + 2, 0xdd, 4)
	X87_ENVCASE(X87_KEY_ENV16 + 3, 0xdd, 6)
	default:
		break;
	}
	return (uint8_t)(rax >> 8);
}

/* Memory operand of each (opcode, reg): size in bytes (0 = #UD), R/W. */
enum { XM_R = 1, XM_W = 2, XM_ENV = 4, XM_SAVE = 8, XM_CTRL = 16 };
struct x87_memop {
	uint8_t size, how;
};

static const struct x87_memop x87_memops[8][8] = {
	/* D8: m32fp arithmetic */
	{ { 4, XM_R }, { 4, XM_R }, { 4, XM_R }, { 4, XM_R }, { 4, XM_R }, { 4, XM_R }, { 4, XM_R }, { 4, XM_R } },
	/* D9: fld, -, fst, fstp, fldenv, fldcw, fnstenv, fnstcw */
	{ { 4, XM_R }, { 0, 0 }, { 4, XM_W }, { 4, XM_W }, { 28, XM_R | XM_ENV | XM_CTRL },
	  { 2, XM_R | XM_CTRL }, { 28, XM_W | XM_ENV | XM_CTRL }, { 2, XM_W | XM_CTRL } },
	/* DA: m32int arithmetic */
	{ { 4, XM_R }, { 4, XM_R }, { 4, XM_R }, { 4, XM_R }, { 4, XM_R }, { 4, XM_R }, { 4, XM_R }, { 4, XM_R } },
	/* DB: fild, fisttp, fist, fistp, -, fld m80, -, fstp m80 */
	{ { 4, XM_R }, { 4, XM_W }, { 4, XM_W }, { 4, XM_W }, { 0, 0 }, { 10, XM_R }, { 0, 0 }, { 10, XM_W } },
	/* DC: m64fp arithmetic */
	{ { 8, XM_R }, { 8, XM_R }, { 8, XM_R }, { 8, XM_R }, { 8, XM_R }, { 8, XM_R }, { 8, XM_R }, { 8, XM_R } },
	/* DD: fld, fisttp, fst, fstp m64, frstor, -, fnsave, fnstsw */
	{ { 8, XM_R }, { 8, XM_W }, { 8, XM_W }, { 8, XM_W }, { 108, XM_R | XM_SAVE | XM_CTRL },
	  { 0, 0 }, { 108, XM_W | XM_SAVE | XM_CTRL }, { 2, XM_W | XM_CTRL } },
	/* DE: m16int arithmetic */
	{ { 2, XM_R }, { 2, XM_R }, { 2, XM_R }, { 2, XM_R }, { 2, XM_R }, { 2, XM_R }, { 2, XM_R }, { 2, XM_R } },
	/* DF: fild m16, fisttp m16, fist m16, fistp m16, fbld, fild m64, fbstp, fistp m64 */
	{ { 2, XM_R }, { 2, XM_W }, { 2, XM_W }, { 2, XM_W }, { 10, XM_R }, { 8, XM_R }, { 10, XM_W }, { 8, XM_W } },
};

/* Register forms that are #UD (everything else, including the
 * undocumented aliases FSTP1, FXCH4/7, FCOM2, FCOMP3/5, FSTP8/9, FFREEP,
 * FNENI/FNDISI/FNSETPM, executes). */
static bool x87_reg_valid(unsigned op, unsigned m)
{
	switch (op) {
	case 1: /* D9 */
		if (m >= 0x11 && m <= 0x17)
			return false;
		return m != 0x22 && m != 0x23 && m != 0x26 && m != 0x27 && m != 0x2f;
	case 2: /* DA */
		return m < 0x20 || m == 0x29;
	case 3: /* DB */
		return !(m >= 0x25 && m <= 0x27) && m < 0x38;
	case 5: /* DD */
		return m < 0x30;
	case 6: /* DE */
		return !(m >= 0x18 && m <= 0x1f) || m == 0x19;
	case 7: /* DF */
		return m < 0x21 || (m >= 0x28 && m < 0x38);
	default:
		return true;
	}
}

struct x87_insn_view {
	unsigned op;   /* 0..7 for D8..DF */
	unsigned modrm;
	bool mem;
	unsigned reg;  /* ModRM.reg */
};

/* Non-waiting forms (no pending-exception check): FNINIT, FNCLEX, FNSTSW,
 * FNSTCW, FNSTENV, FNSAVE, and the legacy FNENI/FNDISI/FNSETPM. */
static bool x87_nowait(unsigned op, const struct x87_insn_view *v)
{
	if (v->mem)
		return (op == 1 && (v->reg == 6 || v->reg == 7)) ||
		       (op == 5 && (v->reg == 6 || v->reg == 7));
	unsigned m = v->modrm & 0x3f;
	return (op == 3 && (m == 0x20 || m == 0x21 || m == 0x22 || m == 0x23 || m == 0x24)) ||
	       (op == 7 && m == 0x20);
}

/* Register forms that do not update FIP/FOP (control instructions). */
static bool x87_reg_control(unsigned op, unsigned m)
{
	return op == 3 && m >= 0x20 && m <= 0x24; /* fneni fndisi fnclex fninit fnsetpm */
}

/* #NM and pending-#MF checks shared with FWAIT and the MMX handlers. */
static int x87_pending(struct soft_cpu *cpu)
{
	if (cpu->fpu.fsw & ~cpu->fpu.fcw & 0x3f)
		return soft_raise(cpu, X86_EXC_MF, false, 0);
	return SOFT_OK;
}

/* Put the guest's pointer registers into a stored FNSTENV/FNSAVE image
 * (the host stored its own). */
static void x87_patch_env(const struct soft_cpu *cpu, uint8_t *env, bool env16)
{
	const struct soft_fpu_state *f = &cpu->fpu;
	if (env16) {
		uint16_t ip = (uint16_t)f->fip, dp = (uint16_t)f->fdp;
		memcpy(env + 6, &ip, 2);
		memcpy(env + 8, &f->fcs, 2);
		memcpy(env + 10, &dp, 2);
		memcpy(env + 12, &f->fds, 2);
		return;
	}
	uint32_t ip = (uint32_t)f->fip, dp = (uint32_t)f->fdp;
	uint16_t fop = f->fop & 0x7ff;
	memcpy(env + 12, &ip, 4);
	memcpy(env + 16, &f->fcs, 2);
	memcpy(env + 18, &fop, 2);
	memcpy(env + 20, &dp, 4);
	memcpy(env + 24, &f->fds, 2);
}

static int x87_exec(struct soft_cpu *cpu, const struct x86_insn *in, unsigned op)
{
	struct x87_insn_view v = {
		.op = op, .modrm = in->modrm, .mem = in->mod != 3, .reg = (in->modrm >> 3) & 7,
	};
	unsigned m = in->modrm & 0x3f;

	if (cpu->cr0 & (X86_CR0_EM | X86_CR0_TS))
		return soft_raise(cpu, X86_EXC_NM, false, 0);
	struct x87_memop mo = { 0, 0 };
	if (v.mem) {
		mo = x87_memops[op][v.reg];
		if (!mo.size)
			return soft_raise(cpu, X86_EXC_UD, false, 0);
	} else if (!x87_reg_valid(op, m)) {
		return soft_raise(cpu, X86_EXC_UD, false, 0);
	}
	if (!x87_nowait(op, &v)) {
		int r = x87_pending(cpu);
		if (r)
			return r;
	}
	/* FNSTSW AX: the only x87 instruction writing a GPR. */
	if (op == 7 && !v.mem && m == 0x20) {
		cpu->gpr[GPR_RAX] = (cpu->gpr[GPR_RAX] & ~0xffffULL) | cpu->fpu.fsw;
		return SOFT_OK;
	}

	/* 16-bit environment format with 66 unless REX.W overrides it. */
	bool env16 = (mo.how & (XM_ENV | XM_SAVE)) && (in->prefixes & X86_PFX_66) &&
		     !(in->rex & 8);
	unsigned size = mo.size;
	if (env16)
		size = (mo.how & XM_ENV) ? 14 : 94;
	unsigned key;
	if (!v.mem)
		key = (op << 6) | m;
	else if (env16)
		key = X87_KEY_ENV16 + (op == 5 ? 2 : 0) + (v.reg == 6 ? 1 : 0);
	else
		key = X87_KEY_MEM + ((op << 3) | v.reg);

	uint64_t la = 0;
	alignas(16) uint8_t buf[112], buf2[112];
	if (v.mem) {
		la = soft_ea(cpu, in);
		memset(buf, 0, sizeof(buf));
		if (mo.how & XM_R) {
			int r = soft_read(cpu, la, buf, size);
			if (r)
				return r;
		}
	}

	struct x87_img g;
	memset(&g, 0, sizeof(g));
	x87_image_put_x87(cpu, g.b);
	uint32_t mx = 0x1f80;
	memcpy(g.b + FXIMG_MXCSR, &mx, 4);
	struct x87_img g0 = g;
	uint64_t rax = v.mem ? (uint64_t)(uintptr_t)buf : (soft_get_rflags(cpu) & 0xd5) << 8;
	uint8_t ah = x87_host_run(&g, rax, key);

	if (mo.how & XM_W) {
		/* Did the instruction store?  An unmasked exception suppresses
		 * the store: run it again over a different background and see
		 * whether the buffer still agrees. */
		bool stored = true;
		if (!(mo.how & XM_CTRL)) {
			struct x87_img g2 = g0;
			memset(buf2, 0xff, sizeof(buf2));
			x87_host_run(&g2, (uint64_t)(uintptr_t)buf2, key);
			stored = memcmp(buf, buf2, size) == 0;
		}
		if (stored) {
			if (mo.how & (XM_ENV | XM_SAVE))
				x87_patch_env(cpu, buf, env16);
			int r = soft_write(cpu, la, buf, size);
			if (r)
				return r;
		}
	}

	/* Commit the new x87 state; keep the guest's pointer registers. */
	uint16_t fop = cpu->fpu.fop, fcs = cpu->fpu.fcs, fds = cpu->fpu.fds;
	uint64_t fip = cpu->fpu.fip, fdp = cpu->fpu.fdp;
	x87_image_get_x87(cpu, g.b);
	cpu->fpu.fop = fop;
	cpu->fpu.fip = fip;
	cpu->fpu.fdp = fdp;
	cpu->fpu.fcs = fcs;
	cpu->fpu.fds = fds;
	bool control = v.mem ? (mo.how & XM_CTRL) != 0 : x87_reg_control(op, m);
	if ((mo.how & (XM_ENV | XM_SAVE)) && (mo.how & XM_R)) {
		/* FLDENV/FRSTOR loaded the pointers from memory: take them from
		 * the image the host saved -- except FIP/FDP, which the host
		 * re-based; use the values from the guest's memory instead. */
		if (!env16) {
			uint32_t ip, dp;
			memcpy(&ip, buf + 12, 4);
			memcpy(&cpu->fpu.fcs, buf + 16, 2);
			memcpy(&cpu->fpu.fop, buf + 18, 2);
			cpu->fpu.fop &= 0x7ff;
			memcpy(&dp, buf + 20, 4);
			memcpy(&cpu->fpu.fds, buf + 24, 2);
			cpu->fpu.fip = ip;
			cpu->fpu.fdp = dp;
		}
	} else if (op == 3 && !v.mem && m == 0x23) {
		/* FNINIT clears the pointers and opcode. */
		cpu->fpu.fop = 0;
		cpu->fpu.fip = 0;
		cpu->fpu.fdp = 0;
		cpu->fpu.fcs = 0;
		cpu->fpu.fds = 0;
	} else if ((mo.how & XM_SAVE) && (mo.how & XM_W)) {
		/* FNSAVE re-initialises the FPU after storing it. */
		cpu->fpu.fop = 0;
		cpu->fpu.fip = 0;
		cpu->fpu.fdp = 0;
		cpu->fpu.fcs = 0;
		cpu->fpu.fds = 0;
	} else if (!control) {
		cpu->fpu.fop = (uint16_t)(((op & 7) << 8) | in->modrm);
		cpu->fpu.fip = cpu->rip;
		cpu->fpu.fcs = cpu->seg[SEG_CS].selector;
		if (v.mem) {
			cpu->fpu.fdp = la;
			cpu->fpu.fds = cpu->seg[in->seg].selector;
		}
	}

	/* FCOMI/FCOMIP/FUCOMI/FUCOMIP (DB/DF E8..F7): ZF PF CF, OF SF AF = 0. */
	if (!v.mem && (op == 3 || op == 7) && m >= 0x28 && m < 0x38) {
		uint64_t fl = soft_get_rflags(cpu) & ~0x8d5ULL;
		fl |= ah & 0x45;
		soft_set_rflags(cpu, fl);
	}
	return SOFT_OK;
}

#define X87_HANDLER(byte)                                                     \
	int soft_exec_x87_##byte(struct soft_cpu *cpu, const struct x86_insn *in) \
	{ return x87_exec(cpu, in, 0x##byte - 0xd8); }

X87_HANDLER(d8)
X87_HANDLER(d9)
X87_HANDLER(da)
X87_HANDLER(db)
X87_HANDLER(dc)
X87_HANDLER(dd)
X87_HANDLER(de)
X87_HANDLER(df)

/* FWAIT: #NM if CR0.MP and CR0.TS, then pending unmasked exceptions. */
int soft_exec_fwait(struct soft_cpu *cpu, const struct x86_insn *in)
{
	if ((cpu->cr0 & X86_CR0_MP) && (cpu->cr0 & X86_CR0_TS))
		return soft_raise(cpu, X86_EXC_NM, false, 0);
	return x87_pending(cpu);
}
