/* The one x86 decoder: a decoded instruction and the opcode-table rows.
 *
 * Used by the interpreter, (later) the translator, MMIO instruction
 * emulation and trace disassembly.  Decoding is pure: bytes in, struct out,
 * no CPU state besides the mode.  The opcode tables (decode_table.c) are
 * written in the Intel manual's notation; how to write a row is documented
 * in ONE place: docs/soft-cpu.md, "Adding an instruction". */
#ifndef RINGVM_SOFT_DECODE_H
#define RINGVM_SOFT_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpu.h"
#ifndef X86_INSN_SCAN
/* enum x86_insn_id, generated from decode_table.c (gen_insn_ids.py) */
#include "src/cpu/soft/x86_insn_id.h"
#endif

#define X86_MAX_INSN_LEN 15

enum x86_map {
	X86_MAP_1BYTE = 0, /* one-byte opcodes */
	X86_MAP_0F = 1,
	X86_MAP_0F38 = 2,
	X86_MAP_0F3A = 3,
	X86_MAP_COUNT
};

/* Legacy-prefix / encoding bits in x86_insn.prefixes. */
enum {
	X86_PFX_66 = 1u << 0,
	X86_PFX_67 = 1u << 1,
	X86_PFX_F2 = 1u << 2,
	X86_PFX_F3 = 1u << 3,
	X86_PFX_LOCK = 1u << 4,
	X86_PFX_SEG = 1u << 5,    /* a segment override (x86_insn.seg_override) */
	X86_PFX_REX = 1u << 6,    /* a REX prefix immediately before the opcode */
	X86_PFX_VEX = 1u << 7,
	X86_PFX_EVEX = 1u << 8,
	X86_PFX_XOP = 1u << 9,
	X86_PFX_ATOMIC = 1u << 10, /* not a prefix: LOCK, or XCHG with memory (implicitly
				    * locked): the memory RMW must be atomic across vCPUs */
};

/* Operand kinds (Intel manual appendix A notation: the letter). */
enum x86_opnd_kind {
	OK_NONE = 0,
	OK_E,    /* ModRM r/m: register or memory */
	OK_G,    /* ModRM reg: general register */
	OK_M,    /* ModRM r/m, memory only */
	OK_R,    /* ModRM r/m, register only */
	OK_I,    /* immediate */
	OK_IS,   /* immediate byte, sign-extended (83 /x, 6A, 6B) */
	OK_J,    /* relative branch offset (sign-extended) */
	OK_O,    /* moffs: offset of address size, no ModRM */
	OK_A,    /* far pointer ptr16:16/32 */
	OK_Z,    /* general register from opcode bits 2:0 (+REX.B) */
	OK_REG,  /* fixed register (size says which: AL/eAX/rAX...) */
	OK_CL, OK_DX, OK_ONE,
	OK_X,    /* string source DS:rSI */
	OK_Y,    /* string destination ES:rDI */
	OK_S,    /* segment register from ModRM.reg */
	OK_C,    /* control register from ModRM.reg */
	OK_D,    /* debug register from ModRM.reg */
	OK_V,    /* XMM from ModRM.reg */
	OK_W,    /* XMM or memory from ModRM r/m */
	OK_U,    /* XMM from ModRM r/m, register only */
	OK_P,    /* MMX from ModRM.reg */
	OK_Q,    /* MMX or memory from ModRM r/m */
	OK_N,    /* MMX from ModRM r/m, register only */
	OK_H,    /* VEX.vvvv register */
	OK_ST,   /* x87 stack register */
	OK_SEG,  /* fixed segment register (size field = enum x86_seg) */
	OK_B,    /* general register from VEX.vvvv (BMI1/BMI2 rows) */
};

/* Operand size suffixes. */
enum x86_opnd_size {
	OS_NONE = 0,
	OS_b,   /* byte */
	OS_w,   /* word */
	OS_d,   /* dword */
	OS_q,   /* qword */
	OS_v,   /* word/dword/qword by effective operand size */
	OS_z,   /* word for 16-bit operand size, else dword */
	OS_y,   /* dword, or qword with 64-bit operand size */
	OS_p,   /* far pointer 32 or 48 bits */
	OS_dq,  /* 128 bits */
	OS_x,   /* 128 (or 256 with VEX.L) */
	OS_ps, OS_pd, OS_ss, OS_sd, OS_pi, OS_si,
	OS_s,   /* 6/10-byte descriptor-table pointer */
	OS_any, /* size irrelevant (LEA, NOP, prefetch, x87 memory) */
};

#define X86_OPND(kind, size) ((uint16_t)(((kind) << 8) | (size)))
#define X86_OPND_KIND(o) ((o) >> 8)
#define X86_OPND_SIZE(o) ((o) & 0xff)

/* Row types. */
enum x86_row_type {
	ROW_INVALID = 0, /* #UD */
	ROW_INSN,        /* an instruction */
	ROW_GROUP,       /* sub[8] indexed by ModRM.reg */
	ROW_GROUP_MOD,   /* sub[16]: [reg] for memory forms, [8+reg] for mod=3 */
	ROW_RM,          /* sub[8] indexed by ModRM.rm (inside a mod=3 group row) */
	ROW_PREFIX,      /* sub[4]: none, 66, F3, F2 mandatory prefix */
	ROW_ESCAPE,      /* 0F, 0F 38, 0F 3A escapes (decoder handles) */
	ROW_X87,         /* D8..DF: ModRM always, handler decodes the rest */
	ROW_VEXW,        /* sub[2] indexed by VEX.W (x86_table_avx_*: FMA ps/pd ...) */
};

/* Row flags. */
enum {
	F_I64 = 1u << 0,    /* invalid in 64-bit mode */
	F_O64 = 1u << 1,    /* only valid in 64-bit mode */
	F_D64 = 1u << 2,    /* operand size defaults to 64 in 64-bit mode */
	F_F64 = 1u << 3,    /* operand size forced to 64 in 64-bit mode (near branches) */
	F_LOCK = 1u << 4,   /* LOCK legal (with a memory destination) */
	F_MODRM = 1u << 5,  /* has ModRM even if no operand says so */
	F_REP = 1u << 6,    /* string instruction honouring REP/REPE/REPNE */
	F_BRANCH = 1u << 7, /* may change RIP (ends a decoded block) */
	F_STOP = 1u << 8,   /* ends a decoded block (mode changes, HLT, ...) */
	F_SSE = 1u << 9,    /* SSE/MMX row (CR0.EM/TS, CR4.OSFXSR checks) */
	F_NOREX_W = 1u << 10, /* 66/REX.W do not change the size (fixed-size rows) */
	F_OSZ16 = 1u << 11, /* 16-bit operand size only (e.g. MOV Sw forms' memory) */
	F_66OSZ = 1u << 12, /* 66 stays an operand-size prefix (MOVBE, CRC32) */
};

struct x86_opdesc {
	const char *mnem;
	soft_exec_fn exec;
	const struct x86_opdesc *sub;
	uint16_t opnd[4];
	uint16_t flags;
	uint8_t type;   /* enum x86_row_type */
	uint8_t arg;    /* handler constant: ALU op, condition code, ... */
	uint16_t id;    /* enum x86_insn_id (0 = X86_I_INVALID for non-instruction rows) */
};

/* A decoded instruction.  Plain fields, no packing. */
struct x86_insn {
	soft_exec_fn exec;          /* handler (copied from the row) */
	const struct x86_opdesc *op;/* the resolved table row (NULL if invalid) */
	uint8_t len;                /* total length in bytes */
	uint8_t map;                /* enum x86_map */
	uint8_t opcode;             /* opcode byte within the map */
	uint8_t mode;               /* enum soft_mode decoded for */
	uint8_t opsize;             /* effective operand size: 2, 4, 8 */
	uint8_t addrsize;           /* effective address size: 2, 4, 8 */
	uint8_t size;               /* size of the first (destination) operand, bytes */
	uint8_t arg;                /* row arg (copied) */
	uint16_t prefixes;          /* X86_PFX_* */
	uint8_t rep;                /* 0, 0xF2 or 0xF3: the last of F2/F3 */
	uint8_t mandatory;          /* mandatory prefix used for the table: 0,0x66,0xF3,0xF2 */
	uint8_t seg_override;       /* enum x86_seg of the last override (valid with X86_PFX_SEG) */
	uint8_t seg;                /* effective segment of the memory operand */
	uint8_t rex;                /* REX low nibble WRXB (0 without REX) */
	uint8_t nprefixes;          /* legacy prefix bytes (incl. REX) */
	uint16_t id;                /* enum x86_insn_id of the row (set on X86_DEC_OK; else X86_I_INVALID, or VEX) */

	/* ModRM, with REX.R / REX.B applied to reg / rm */
	bool has_modrm;
	uint8_t modrm;
	uint8_t mod;                /* 0..3 */
	uint8_t reg;                /* 0..15 */
	uint8_t rm;                 /* 0..15 (register number when mod == 3) */
	bool has_sib;
	uint8_t sib;

	/* memory operand (when has_modrm && mod != 3, or moffs) */
	bool has_mem;
	bool rip_rel;               /* disp is relative to the next instruction */
	int8_t base;                /* GPR number or -1 */
	int8_t index;               /* GPR number or -1 */
	uint8_t scale;              /* 1 2 4 8 */
	uint8_t disp_size;          /* 0 1 2 4 8 */
	int64_t disp;               /* sign-extended (moffs: zero-extended) */

	/* immediates */
	uint8_t imm_size;           /* bytes of the first immediate */
	uint8_t imm2_size;          /* bytes of the second (ENTER, far pointer selector) */
	uint64_t imm;               /* first immediate, extended per its kind */
	uint64_t imm2;

	/* VEX / EVEX / XOP fields.  VEX rows of the x86_table_vex_* tables
	 * (general-register BMI1/BMI2 instructions) and x86_table_avx_* (SIMD)
	 * execute; every other VEX/EVEX/XOP encoding is decoded for length
	 * and executes as #UD. */
	uint8_t vex_vvvv, vex_l, vex_w, vex_pp, vex_mmmmm;
};

enum x86_decode_status {
	X86_DEC_OK = 0,
	X86_DEC_UD = 1,     /* invalid opcode or illegal prefix use: #UD */
	X86_DEC_GP = 2,     /* longer than 15 bytes: #GP(0) */
	X86_DEC_MORE = 3,   /* ran out of the bytes given (< 15 and need more) */
};

/* Decode one instruction from buf[0..avail) in the given mode.  On X86_DEC_OK
 * *in is complete (in->len <= 15).  On X86_DEC_UD in->len is the length as
 * far as it could be determined.  X86_DEC_MORE: call again with more bytes
 * (a fetch that crosses into a not-yet-read page). */
int x86_decode(const uint8_t *buf, size_t avail, enum soft_mode mode,
	       struct x86_insn *in);

/* The top-level opcode tables (decode_table.c). */
extern const struct x86_opdesc x86_table_1byte[256];
extern const struct x86_opdesc x86_table_0f[256];
extern const struct x86_opdesc x86_table_0f38[256];
extern const struct x86_opdesc x86_table_0f3a[256];
/* VEX-encoded rows, by map (VEX.mmmmm 2 = 0F38, 3 = 0F3A); PFX sub-rows
 * are selected by VEX.pp (none, 66, F3, F2), like mandatory prefixes. */
extern const struct x86_opdesc x86_table_vex_0f38[256];
extern const struct x86_opdesc x86_table_vex_0f3a[256];
/* VEX-encoded SIMD rows (AVX, AVX2, FMA, F16C; decode_table_avx.c), by
 * map; VEX.pp selects the PFX sub-row.  Consulted after the GPR rows. */
extern const struct x86_opdesc x86_table_avx_0f[256];
extern const struct x86_opdesc x86_table_avx_0f38[256];
extern const struct x86_opdesc x86_table_avx_0f3a[256];
/* Rows the decoder picks outside the tables: MOVSXD (63 in 64-bit mode) and
 * every VEX/EVEX/XOP encoding (decoded for length). */
extern const struct x86_opdesc x86_row_movsxd;
extern const struct x86_opdesc x86_row_vex;

/* Format "mnemonic" (best effort) for traces: writes at most n bytes. */
int x86_insn_format(const struct x86_insn *in, char *buf, size_t n);

#ifndef X86_INSN_SCAN
/* The name of an instruction identity ("add", "movaps"; "?" if out of range). */
static inline const char *x86_insn_name(unsigned id)
{
	return id < X86_I_COUNT ? x86_insn_names[id] : "?";
}
#endif

/* Prototypes of every handler the tables name: int soft_exec_<name>(...).
 * There is no default: a row naming a handler that nobody defines is a link
 * error.  Rows that must raise #UD name the handler "ud" explicitly. */
#define H(name) int soft_exec_##name(struct soft_cpu *cpu, const struct x86_insn *in);
#include "handlers.def"
#include "sse_handlers.def"
#include "mmx_handlers.def"
#include "x87_handlers.def"
#include "avx_handlers.def"
#define VX(name, ...) H(name)
#include "avx_ops.def"
#undef VX
#undef H

#endif
