/* Instruction identities (enum x86_insn_id, generated from decode_table.c by
 * gen_insn_ids.py) and the honest-model rules of the opcode tables:
 *  - every instruction row has an identity with a name, the name is the row's
 *    mnemonic, so one identity per distinct instruction, and every identity
 *    is used by some row;
 *  - decoding known bytes gives the expected identity;
 *  - rows the model does not implement are explicit #UD rows (they keep
 *    their identity), and BOUND, which had only a stub, executes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "src/cpu/soft/cpu.h"
#include "src/cpu/soft/decode.h"
#include "src/cpu/soft/flatmem.h"
#include "flat_env.h"

struct walk {
	unsigned rows;               /* instruction rows visited */
	const char *mnem[X86_I_COUNT]; /* the mnemonic first seen for each id */
	unsigned uses[X86_I_COUNT];
};

static void visit(struct walk *w, const struct x86_opdesc *row, unsigned depth)
{
	assert_true(depth < 8);
	switch (row->type) {
	case ROW_INSN:
	case ROW_X87:
		assert_non_null(row->mnem);
		assert_non_null(row->exec);
		assert_true(row->id > X86_I_INVALID && row->id < X86_I_COUNT);
		/* the identity's name is the row's mnemonic ... */
		assert_string_equal(x86_insn_name(row->id), row->mnem);
		/* ... so rows sharing an id share the mnemonic (and vice versa) */
		if (w->mnem[row->id])
			assert_string_equal(w->mnem[row->id], row->mnem);
		w->mnem[row->id] = row->mnem;
		w->uses[row->id]++;
		w->rows++;
		return;
	case ROW_GROUP:
	case ROW_RM:
		for (int i = 0; i < 8; i++)
			visit(w, &row->sub[i], depth + 1);
		return;
	case ROW_GROUP_MOD:
		for (int i = 0; i < 16; i++)
			visit(w, &row->sub[i], depth + 1);
		return;
	case ROW_PREFIX:
		for (int i = 0; i < 4; i++)
			visit(w, &row->sub[i], depth + 1);
		return;
	case ROW_VEXW:
		for (int i = 0; i < 2; i++)
			visit(w, &row->sub[i], depth + 1);
		return;
	default:
		assert_int_equal(row->id, X86_I_INVALID);
		return;
	}
}

static void test_every_row_has_a_named_identity(void **state)
{
	static struct walk w;
	memset(&w, 0, sizeof(w));
	const struct x86_opdesc *tables[] = { x86_table_1byte, x86_table_0f, x86_table_0f38,
					      x86_table_0f3a, x86_table_vex_0f38, x86_table_vex_0f3a,
					      x86_table_avx_0f, x86_table_avx_0f38, x86_table_avx_0f3a };
	for (unsigned t = 0; t < sizeof(tables) / sizeof(tables[0]); t++)
		for (unsigned i = 0; i < 256; i++)
			visit(&w, &tables[t][i], 0);
	visit(&w, &x86_row_vex, 0);
	visit(&w, &x86_row_movsxd, 0);
	assert_true(w.rows > 800);

	/* names: non-empty, lowercase identifiers, pairwise distinct */
	assert_string_equal(x86_insn_name(X86_I_INVALID), "invalid");
	assert_string_equal(x86_insn_name(X86_I_COUNT), "?");
	for (unsigned i = 1; i < X86_I_COUNT; i++) {
		const char *n = x86_insn_name(i);
		assert_non_null(n);
		assert_true(n[0] >= 'a' && n[0] <= 'z');
		for (unsigned j = 1; j < i; j++)
			assert_string_not_equal(n, x86_insn_name(j));
		/* and every identity names at least one row: no orphans */
		if (!w.uses[i])
			fail_msg("identity %u (%s) has no row", i, n);
	}
}

struct known {
	enum soft_mode mode;
	uint8_t len;
	uint8_t bytes[15];
	unsigned id;
};

static void test_decode_gives_identity(void **state)
{
	static const struct known k[] = {
		{ SOFT_MODE_64, 3, { 0x48, 0x01, 0xd8 }, X86_I_ADD },             /* add rax, rbx */
		{ SOFT_MODE_64, 3, { 0x48, 0x03, 0xc3 }, X86_I_ADD },             /* add rax, rbx (G,E) */
		{ SOFT_MODE_64, 4, { 0x48, 0x83, 0xc0, 0x01 }, X86_I_ADD },       /* add rax, 1 */
		{ SOFT_MODE_64, 4, { 0x48, 0x83, 0xe8, 0x01 }, X86_I_SUB },       /* 83 /5 */
		{ SOFT_MODE_64, 3, { 0x0f, 0x28, 0xc1 }, X86_I_MOVAPS },
		{ SOFT_MODE_64, 4, { 0x66, 0x0f, 0x28, 0xc1 }, X86_I_MOVAPD },     /* mandatory 66 */
		{ SOFT_MODE_64, 4, { 0xf3, 0x0f, 0x58, 0xc1 }, X86_I_ADDSS },
		{ SOFT_MODE_64, 2, { 0x75, 0xfe }, X86_I_JCC },
		{ SOFT_MODE_64, 3, { 0x0f, 0x94, 0xc0 }, X86_I_SETCC },
		{ SOFT_MODE_64, 4, { 0x48, 0x0f, 0x44, 0xc1 }, X86_I_CMOVCC },
		{ SOFT_MODE_64, 3, { 0x0f, 0x1f, 0x00 }, X86_I_NOP },
		{ SOFT_MODE_64, 1, { 0x90 }, X86_I_NOP },
		{ SOFT_MODE_64, 2, { 0xf3, 0x90 }, X86_I_PAUSE },
		{ SOFT_MODE_64, 3, { 0x48, 0x63, 0xc1 }, X86_I_MOVSXD },           /* 64-bit: MOVSXD */
		{ SOFT_MODE_32, 2, { 0x63, 0xc1 }, X86_I_ARPL },                   /* elsewhere: ARPL */
		{ SOFT_MODE_64, 5, { 0x66, 0x0f, 0x73, 0xd9, 0x04 }, X86_I_PSRLDQ },
		{ SOFT_MODE_64, 6, { 0x66, 0x0f, 0x3a, 0x15, 0xc0, 0x01 }, X86_I_PEXTRW },
		{ SOFT_MODE_64, 4, { 0xf3, 0x0f, 0xb8, 0xc1 }, X86_I_POPCNT },
		{ SOFT_MODE_64, 5, { 0xc4, 0xe2, 0x78, 0xf2, 0xc1 }, X86_I_ANDN },  /* VEX row */
		{ SOFT_MODE_64, 6, { 0xc4, 0xe3, 0x7b, 0xf0, 0xc1, 0x05 }, X86_I_RORX },
		/* x87: one identity per instruction, memory and register forms */
		{ SOFT_MODE_64, 2, { 0xd9, 0xc0 }, X86_I_FLD },                   /* fld st(0) */
		{ SOFT_MODE_64, 2, { 0xd9, 0x00 }, X86_I_FLD },                   /* fld m32fp */
		{ SOFT_MODE_64, 2, { 0xdb, 0x28 }, X86_I_FLD },                   /* fld m80fp */
		{ SOFT_MODE_64, 2, { 0xd8, 0xc1 }, X86_I_FADD },
		{ SOFT_MODE_64, 2, { 0xdc, 0xe9 }, X86_I_FSUB },                  /* DC E8+i: FSUB st(i),st */
		{ SOFT_MODE_64, 2, { 0xdc, 0xe1 }, X86_I_FSUBR },
		{ SOFT_MODE_64, 2, { 0xde, 0xd9 }, X86_I_FCOMPP },
		{ SOFT_MODE_64, 2, { 0xdf, 0xe0 }, X86_I_FNSTSW },
		{ SOFT_MODE_64, 2, { 0xdd, 0x38 }, X86_I_FNSTSW },                /* m2byte */
		{ SOFT_MODE_64, 2, { 0xd9, 0xee }, X86_I_FLDZ },
		{ SOFT_MODE_64, 2, { 0xdb, 0xe3 }, X86_I_FNINIT },
		{ SOFT_MODE_64, 2, { 0xda, 0x00 }, X86_I_FIADD },
		{ SOFT_MODE_64, 2, { 0xd9, 0xef }, X86_I_INVALID },               /* reserved */
		{ SOFT_MODE_64, 2, { 0xd9, 0x08 }, X86_I_INVALID },               /* D9 /1 memory */
		{ SOFT_MODE_64, 4, { 0xc5, 0xf8, 0x58, 0xc1 }, X86_I_VADDPS },     /* AVX row */
		{ SOFT_MODE_64, 5, { 0xc4, 0xe2, 0xf1, 0xb8, 0xc2 }, X86_I_VFMADD231PD }, /* VEX.W1 row */
		{ SOFT_MODE_64, 6, { 0x62, 0xf1, 0x7c, 0x48, 0x58, 0xc1 }, X86_I_VEX }, /* EVEX vaddps zmm */
		{ SOFT_MODE_64, 2, { 0x0f, 0x0b }, X86_I_UD2 },
		{ SOFT_MODE_64, 3, { 0x0f, 0xc7, 0xf0 }, X86_I_RDRAND },           /* explicit #UD row */
		{ SOFT_MODE_64, 5, { 0xf3, 0x48, 0x0f, 0xae, 0xc0 }, X86_I_RDFSBASE },
		{ SOFT_MODE_64, 3, { 0x0f, 0x01, 0xcb }, X86_I_STAC },
		{ SOFT_MODE_32, 2, { 0x62, 0x03 }, X86_I_BOUND },
		{ SOFT_MODE_64, 2, { 0xf0, 0x90 }, X86_I_INVALID },                /* LOCK NOP: #UD */
	};
	for (unsigned i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
		struct x86_insn in;
		int st = x86_decode(k[i].bytes, k[i].len, k[i].mode, &in);
		if (k[i].id == X86_I_INVALID) {
			assert_int_equal(st, X86_DEC_UD);
		} else {
			if (st != X86_DEC_OK)
				fail_msg("case %u: decode status %d", i, st);
			assert_int_equal(in.len, k[i].len);
		}
		if (in.id != k[i].id)
			fail_msg("case %u: id %u (%s), want %u (%s)", i, in.id, x86_insn_name(in.id), k[i].id,
				 x86_insn_name(k[i].id));
	}
	/* traces name instructions by identity */
	char txt[96];
	struct x86_insn in;
	const uint8_t jne[] = { 0x75, 0xfe }, setl[] = { 0x0f, 0x9c, 0xc0 };
	assert_int_equal(x86_decode(jne, sizeof(jne), SOFT_MODE_64, &in), X86_DEC_OK);
	x86_insn_format(&in, txt, sizeof(txt));
	assert_string_equal(txt, "jne $+0");
	assert_int_equal(x86_decode(setl, sizeof(setl), SOFT_MODE_64, &in), X86_DEC_OK);
	x86_insn_format(&in, txt, sizeof(txt));
	assert_string_equal(txt, "setl al");
}

/* ---- execution: explicit #UD rows and BOUND ---- */

#define CODE 0x1000
#define DATA 0x8000

/* Execute one instruction at CODE; returns the status. */
static int step(struct env *e, const uint8_t *code, size_t n)
{
	memcpy(e->m.ram + CODE, code, n);
	e->c.rip = CODE;
	return soft_cpu_step(&e->c);
}

static void test_unmodelled_rows_raise_ud(void **state)
{
	static const struct {
		uint8_t len, bytes[8];
	} ud[] = {
		{ 5, { 0xf3, 0x48, 0x0f, 0xae, 0xc0 } },         /* rdfsbase rax */
		{ 5, { 0xf3, 0x48, 0x0f, 0xae, 0xd0 } },         /* wrfsbase rax */
		{ 2, { 0x0f, 0x37 } },                           /* getsec */
		{ 2, { 0x0f, 0xaa } },                           /* rsm */
		{ 3, { 0x0f, 0x01, 0xc2 } },                     /* vmlaunch */
		{ 4, { 0xf3, 0x0f, 0xc7, 0x30 } },               /* vmxon [rax] */
		{ 2, { 0x0f, 0x0b } },                           /* ud2 */
	};
	struct env *e = env_new(SOFT_MODE_64, false);
	e->c.gpr[GPR_RAX] = DATA;
	for (unsigned i = 0; i < sizeof(ud) / sizeof(ud[0]); i++) {
		int r = step(e, ud[i].bytes, ud[i].len);
		if (r != SOFT_EXC || e->c.exc.vector != X86_EXC_UD)
			fail_msg("case %u: status %d vector %u, want #UD", i, r, e->c.exc.vector);
		assert_int_equal(e->c.rip, CODE); /* a fault: RIP on the instruction */
	}
	/* --stats counts them by identity; undefined encodings at X86_I_INVALID */
	assert_non_null(e->c.ud_by_insn);
	assert_int_equal(e->c.ud_by_insn[X86_I_GETSEC], 1);
	assert_int_equal(e->c.ud_by_insn[X86_I_RSM], 1);
	assert_int_equal(e->c.ud_by_insn[X86_I_UD2], 1);
	assert_int_equal(e->c.ud_by_insn[X86_I_INVALID], 0);
	/* EVEX vaddps zmm0, zmm0, zmm1: AVX-512 is not modelled */
	const uint8_t lock_nop[] = { 0xf0, 0x90 }, vaddps[] = { 0x62, 0xf1, 0x7c, 0x48, 0x58, 0xc1 };
	assert_int_equal(step(e, lock_nop, sizeof(lock_nop)), SOFT_EXC);
	assert_int_equal(step(e, vaddps, sizeof(vaddps)), SOFT_EXC);
	assert_int_equal(e->c.exc.vector, X86_EXC_UD);
	assert_int_equal(e->c.ud_by_insn[X86_I_INVALID], 1);
	assert_int_equal(e->c.ud_by_insn[X86_I_VEX], 1);
	/* the legacy encodings the model does have still execute: clflush [rax] */
	const uint8_t clflush[] = { 0x0f, 0xae, 0x38 };
	assert_int_equal(step(e, clflush, sizeof(clflush)), SOFT_OK);
	assert_int_equal(e->c.rip, CODE + 3);
	env_free(e);
}

static void test_bound(void **state)
{
	struct env *e = env_new(SOFT_MODE_32, false);
	const uint8_t bound32[] = { 0x62, 0x03 };       /* bound eax, [ebx] */
	const uint8_t bound16[] = { 0x66, 0x62, 0x03 }; /* bound ax, [ebx] */
	int32_t b32[2] = { -5, 100 };
	int16_t b16[2] = { 10, 20 };
	memcpy(e->m.ram + DATA, b32, sizeof(b32));
	memcpy(e->m.ram + DATA + 16, b16, sizeof(b16));
	e->c.gpr[GPR_RBX] = DATA;
	static const struct {
		int64_t idx;
		bool ok;
	} c32[] = { { -5, true }, { 0, true }, { 100, true }, { -6, false }, { 101, false },
		    { (int64_t)0x80000000u, false } /* -2^31 as a signed doubleword */ };
	for (unsigned i = 0; i < sizeof(c32) / sizeof(c32[0]); i++) {
		e->c.gpr[GPR_RAX] = (uint32_t)c32[i].idx;
		int r = step(e, bound32, sizeof(bound32));
		if (c32[i].ok) {
			assert_int_equal(r, SOFT_OK);
			assert_int_equal(e->c.rip, CODE + 2);
		} else {
			assert_int_equal(r, SOFT_EXC);
			assert_int_equal(e->c.exc.vector, X86_EXC_BR);
			assert_int_equal(e->c.rip, CODE); /* #BR is a fault */
		}
	}
	/* 16-bit operand size: word bounds, the upper half of EAX is ignored */
	e->c.gpr[GPR_RBX] = DATA + 16;
	e->c.gpr[GPR_RAX] = 0xffff0014; /* ax = 20 */
	assert_int_equal(step(e, bound16, sizeof(bound16)), SOFT_OK);
	e->c.gpr[GPR_RAX] = 0x00000015; /* ax = 21 */
	assert_int_equal(step(e, bound16, sizeof(bound16)), SOFT_EXC);
	assert_int_equal(e->c.exc.vector, X86_EXC_BR);
	env_free(e);

	/* 62 in 64-bit mode is EVEX, never BOUND */
	struct x86_insn in;
	const uint8_t b[] = { 0x62, 0x03 };
	x86_decode(b, sizeof(b), SOFT_MODE_64, &in);
	assert_int_not_equal(in.id, X86_I_BOUND);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_row_has_a_named_identity),
		cmocka_unit_test(test_decode_gives_identity),
		cmocka_unit_test(test_unmodelled_rows_raise_ud),
		cmocka_unit_test(test_bound),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
