/* x86_insn_format: a compact Intel-syntax rendering of a decoded
 * instruction for traces and error reports (not a full disassembler:
 * SSE/x87 operands are shown by kind).  Instructions are named by their
 * identity (x86_insn_name), not by the row's handler. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "decode.h"

static const char *const r64[16] = { "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
	"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15" };
static const char *const r32[16] = { "eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi",
	"r8d", "r9d", "r10d", "r11d", "r12d", "r13d", "r14d", "r15d" };
static const char *const r16[16] = { "ax", "cx", "dx", "bx", "sp", "bp", "si", "di",
	"r8w", "r9w", "r10w", "r11w", "r12w", "r13w", "r14w", "r15w" };
static const char *const r8l[16] = { "al", "cl", "dl", "bl", "spl", "bpl", "sil", "dil",
	"r8b", "r9b", "r10b", "r11b", "r12b", "r13b", "r14b", "r15b" };
static const char *const r8h[4] = { "ah", "ch", "dh", "bh" };
static const char *const segs[6] = { "es", "cs", "ss", "ds", "fs", "gs" };

struct out {
	char *buf;
	size_t n, pos;
};

__attribute__((format(printf, 2, 3)))
static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(o->buf + o->pos, o->pos < o->n ? o->n - o->pos : 0, fmt, ap);
	va_end(ap);
	if (k > 0)
		o->pos += (size_t)k;
}

static const char *reg_name(const struct x86_insn *in, unsigned r, unsigned size)
{
	switch (size) {
	case 1:
		if (!(in->prefixes & X86_PFX_REX) && r >= 4 && r < 8)
			return r8h[r - 4];
		return r8l[r & 15];
	case 2: return r16[r & 15];
	case 4: return r32[r & 15];
	default: return r64[r & 15];
	}
}

static void mem(struct out *o, const struct x86_insn *in)
{
	bool any = false;
	if (in->prefixes & X86_PFX_SEG)
		put(o, "%s:", segs[in->seg_override % 6]);
	put(o, "[");
	if (in->rip_rel) {
		put(o, "rip");
		any = true;
	}
	const char *const *names = in->addrsize == 8 ? r64 : in->addrsize == 4 ? r32 : r16;
	if (in->base >= 0) {
		put(o, "%s", names[in->base]);
		any = true;
	}
	if (in->index >= 0) {
		put(o, "%s%s*%u", any ? "+" : "", names[in->index], in->scale);
		any = true;
	}
	if (in->disp || !any)
		put(o, in->disp < 0 && any ? "-%#llx" : (any ? "+%#llx" : "%#llx"),
		    (unsigned long long)(in->disp < 0 && any ? -(uint64_t)in->disp : (uint64_t)in->disp));
	put(o, "]");
}

static unsigned size_of(unsigned s, const struct x86_insn *in)
{
	switch (s) {
	case OS_b: return 1;
	case OS_w: return 2;
	case OS_d: return 4;
	case OS_q: return 8;
	case OS_z: return in->opsize == 2 ? 2 : 4;
	case OS_y: return in->opsize == 8 ? 8 : 4;
	default: return in->opsize;
	}
}

int x86_insn_format(const struct x86_insn *in, char *buf, size_t n)
{
	struct out o = { buf, n, 0 };
	if (n)
		buf[0] = 0;
	if (!in->op || in->id == X86_I_INVALID) {
		put(&o, "(bad)");
		return (int)o.pos;
	}
	if (in->prefixes & X86_PFX_LOCK)
		put(&o, "lock ");
	if (in->rep && in->op->flags & F_REP)
		put(&o, in->rep == 0xf3 ? "rep " : "repne ");
	const char *name = x86_insn_name(in->id);
	if (in->id == X86_I_JCC || in->id == X86_I_SETCC || in->id == X86_I_CMOVCC) {
		/* "jcc" + the row's condition code: "jne" */
		static const char *const cc[16] = { "o", "no", "b", "ae", "e", "ne", "be", "a",
						     "s", "ns", "p", "np", "l", "ge", "le", "g" };
		put(&o, "%.*s%s", (int)strlen(name) - 2, name, cc[in->arg & 15]);
	} else {
		put(&o, "%s", name);
	}
	unsigned imms = 0;
	for (int i = 0; i < 4 && in->op->opnd[i]; i++) {
		unsigned k = X86_OPND_KIND(in->op->opnd[i]), s = X86_OPND_SIZE(in->op->opnd[i]);
		put(&o, i ? ", " : " ");
		switch (k) {
		case OK_G: put(&o, "%s", reg_name(in, in->reg, size_of(s, in))); break;
		case OK_E: case OK_M: case OK_R:
			if (in->mod == 3)
				put(&o, "%s", reg_name(in, in->rm, size_of(s, in)));
			else
				mem(&o, in);
			break;
		case OK_Z: put(&o, "%s", reg_name(in, (in->opcode & 7) | ((in->rex & 1) << 3), size_of(s, in))); break;
		case OK_REG: put(&o, "%s", reg_name(in, 0, size_of(s, in))); break;
		case OK_I: case OK_IS:
			put(&o, "%#llx", (unsigned long long)(imms++ ? in->imm2 : in->imm));
			break;
		case OK_J: put(&o, "$%+lld", (long long)(int64_t)in->imm + in->len); break;
		case OK_O: mem(&o, in); break;
		case OK_A: put(&o, "%#llx:%#llx", (unsigned long long)in->imm2, (unsigned long long)in->imm); break;
		case OK_CL: put(&o, "cl"); break;
		case OK_DX: put(&o, "dx"); break;
		case OK_ONE: put(&o, "1"); break;
		case OK_SEG: put(&o, "%s", segs[s % 6]); break;
		case OK_S: put(&o, "%s", segs[((in->modrm >> 3) & 7) % 6]); break;
		case OK_C: put(&o, "cr%u", in->reg); break;
		case OK_D: put(&o, "dr%u", in->reg); break;
		case OK_B: put(&o, "%s", reg_name(in, in->vex_vvvv, size_of(s, in))); break;
		case OK_V: put(&o, "xmm%u", in->reg); break;
		case OK_U: put(&o, "xmm%u", in->rm); break;
		case OK_W: if (in->mod == 3) put(&o, "xmm%u", in->rm); else mem(&o, in); break;
		case OK_P: put(&o, "mm%u", in->reg & 7); break;
		case OK_N: put(&o, "mm%u", in->rm & 7); break;
		case OK_Q: if (in->mod == 3) put(&o, "mm%u", in->rm & 7); else mem(&o, in); break;
		case OK_X: put(&o, "[rsi]"); break;
		case OK_Y: put(&o, "es:[rdi]"); break;
		default: put(&o, "?"); break;
		}
	}
	return (int)o.pos;
}
