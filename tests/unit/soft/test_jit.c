/* The translation tier (src/cpu/soft/jit/): the emitter's encodings checked
 * against Zydis (decoder + formatter as the oracle), guest instructions
 * re-encoded on host registers decoding to the same instruction, the
 * translation cache (W^X views, flush when full), and translated execution
 * against the interpreter: random register-form integer code in 16, 32 and
 * 64-bit mode, a program larger than the cache, self-modifying code, a
 * loop with memory accesses through a shadow TLB (registers kept across its
 * back edge, shared probes, slow paths, a fault inside it). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <pthread.h>
#include <time.h>
#include <cmocka.h>

#include <Zydis/Zydis.h>

#include "flat_env.h"
#include "src/cpu/soft/decode.h"
#include "src/cpu/soft/icache.h"
#include "src/cpu/soft/mmu/soft_mmu.h"
#include "src/cpu/soft/jit/emit.h"
#include "src/cpu/soft/jit/jit.h"
#include "src/cpu/soft/jit/native.h"
#include "xorshift.h"

static const char *const R64[16] = { "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
				     "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15" };

/* Zydis's Intel-syntax text of the one instruction in b[0..n) (which must
 * be exactly one instruction long). */
static void zfmt(const uint8_t *b, size_t n, char *out, size_t outlen)
{
	ZydisDecoder d;
	ZydisFormatter f;
	ZydisDecodedInstruction in;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	assert_true(ZYAN_SUCCESS(ZydisDecoderInit(&d, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64)));
	assert_true(ZYAN_SUCCESS(ZydisFormatterInit(&f, ZYDIS_FORMATTER_STYLE_INTEL)));
	assert_true(ZYAN_SUCCESS(ZydisFormatterSetProperty(&f, ZYDIS_FORMATTER_PROP_FORCE_SIZE, ZYAN_TRUE)));
	if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&d, b, n, &in, ops))) {
		snprintf(out, outlen, "(invalid)");
		return;
	}
	assert_int_equal(in.length, n);
	assert_true(ZYAN_SUCCESS(ZydisFormatterFormatInstruction(&f, &in, ops, in.operand_count_visible,
								 out, outlen, 0, NULL)));
}

#define CHECK(expect_fmt, ...) do { \
	char want[96], got[96]; \
	snprintf(want, sizeof(want), expect_fmt, __VA_ARGS__); \
	assert_false(e.overflow); \
	zfmt(buf, e.pos, got, sizeof(got)); \
	if (strcmp(want, got)) \
		fail_msg("emitted %s, want %s", got, want); \
	jit_emit_init(&e, buf, sizeof(buf)); \
} while (0)

/* "[r15+0x10]" the way Zydis prints it */
static void mem(char *s, size_t n, unsigned base, int32_t disp)
{
	if (disp == 0)
		snprintf(s, n, "[%s]", R64[base]);
	else if (disp < 0)
		snprintf(s, n, "[%s-0x%02X]", R64[base], (unsigned)-(int64_t)disp);
	else
		snprintf(s, n, "[%s+0x%02X]", R64[base], (unsigned)disp);
}

static void test_emit_encodings(void **state)
{
	(void)state;
	uint8_t buf[64];
	struct jit_emit e;
	jit_emit_init(&e, buf, sizeof(buf));
	static const int32_t disps[] = { 0, 8, -8, 127, 128, -128, -129, 0x1234, -0x12345 };
	for (unsigned r = 0; r < 16; r++) {
		for (unsigned b = 0; b < 16; b++) {
			for (unsigned k = 0; k < sizeof(disps) / sizeof(disps[0]); k++) {
				char m[32];
				int32_t d = disps[k];
				mem(m, sizeof(m), b, d);
				jit_emit_mov_r64_m64(&e, r, b, d);
				CHECK("mov %s, qword ptr %s", R64[r], m);
				jit_emit_mov_m64_r64(&e, b, d, r);
				CHECK("mov qword ptr %s, %s", m, R64[r]);
				jit_emit_cmp_r64_m64(&e, r, b, d);
				CHECK("cmp %s, qword ptr %s", R64[r], m);
				if (r != JR_RSP) { /* [b+r+d]: r as the index */
					char mi[48];
					if (d == 0)
						snprintf(mi, sizeof(mi), "[%s+%s*1]", R64[b], R64[r]);
					else if (d < 0)
						snprintf(mi, sizeof(mi), "[%s+%s*1-0x%02X]", R64[b], R64[r],
							 (unsigned)-(int64_t)d);
					else
						snprintf(mi, sizeof(mi), "[%s+%s*1+0x%02X]", R64[b], R64[r], (unsigned)d);
					jit_emit_cmp_r64_mbi(&e, (r + 3) & 15, b, r, d);
					CHECK("cmp %s, qword ptr %s", R64[(r + 3) & 15], mi);
					jit_emit_mov_r64_mbi(&e, (r + 5) & 15, b, r, d);
					CHECK("mov %s, qword ptr %s", R64[(r + 5) & 15], mi);
				}
				if (r)
					continue;
				jit_emit_add_m64_simm32(&e, b, d, 5);
				CHECK("add qword ptr %s, 0x05", m);
				jit_emit_sub_m64_simm32(&e, b, d, 1000);
				CHECK("sub qword ptr %s, 0x3E8", m);
				jit_emit_cmp_m64_simm32(&e, b, d, 64);
				CHECK("cmp qword ptr %s, 0x40", m);
				jit_emit_cmp_m32_simm32(&e, b, d, 0);
				CHECK("cmp dword ptr %s, 0x00", m);
				jit_emit_cmp_m8_imm8(&e, b, d, 0);
				CHECK("cmp byte ptr %s, 0x00", m);
				jit_emit_mov_m8_imm8(&e, b, d, 0);
				CHECK("mov byte ptr %s, 0x00", m);
				jit_emit_mov_m32_imm32(&e, b, d, 0x12345678);
				CHECK("mov dword ptr %s, 0x12345678", m);
				jit_emit_mov_m64_simm32(&e, b, d, -2);
				CHECK("mov qword ptr %s, 0xFFFFFFFFFFFFFFFE", m);
				jit_emit_jmp_m64(&e, b, d);
				CHECK("jmp qword ptr %s", m);
				jit_emit_call_m64(&e, b, d);
				CHECK("call qword ptr %s", m);
				jit_emit_add_m64_r64(&e, b, d, (b + 3) & 15);
				CHECK("add qword ptr %s, %s", m, R64[(b + 3) & 15]);
				jit_emit_sub_m64_r64(&e, b, d, (b + 9) & 15);
				CHECK("sub qword ptr %s, %s", m, R64[(b + 9) & 15]);
			}
			jit_emit_mov_r64_r64(&e, r, b);
			CHECK("mov %s, %s", R64[r], R64[b]);
			jit_emit_or_r64_r64(&e, r, b);
			CHECK("or %s, %s", R64[r], R64[b]);
		}
		jit_emit_mov_r64_imm(&e, r, 0x12345678);
		CHECK("mov %s, 0x12345678", r < 8 ? (const char *[]){ "eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi" }[r] :
		      (const char *[]){ "r8d", "r9d", "r10d", "r11d", "r12d", "r13d", "r14d", "r15d" }[r - 8]);
		jit_emit_mov_r64_imm(&e, r, 0xffffffffffff0000ULL);
		CHECK("mov %s, 0xFFFFFFFFFFFF0000", R64[r]);
		jit_emit_mov_r64_imm(&e, r, 0x123456789abcULL);
		CHECK("mov %s, 0x123456789ABC", R64[r]);
		jit_emit_and_r64_simm32(&e, r, 0x8d5);
		CHECK("and %s, 0x8D5", R64[r]);
		jit_emit_and_r64_simm32(&e, r, 7);
		CHECK("and %s, 0x07", R64[r]);
		jit_emit_push_r64(&e, r);
		CHECK("push %s", R64[r]);
		jit_emit_pop_r64(&e, r);
		CHECK("pop %s", R64[r]);
		jit_emit_call_r64(&e, r);
		CHECK("call %s", R64[r]);
		/* the flags-in-a-register forms (translate.c) */
		static const char *const R8N[16] = { "al", "cl", "dl", "bl", "spl", "bpl", "sil", "dil",
						     "r8b", "r9b", "r10b", "r11b", "r12b", "r13b", "r14b", "r15b" };
		static const char *const R32N[16] = { "eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi",
						      "r8d", "r9d", "r10d", "r11d", "r12d", "r13d", "r14d", "r15d" };
		jit_emit_setcc_r8(&e, JCC_O, r);
		CHECK("seto %s", R8N[r]);
		jit_emit_setcc_r8(&e, JCC_NE, r);
		CHECK("setnz %s", R8N[r]);
		jit_emit_add_r8_imm8(&e, r, 0x7f);
		CHECK("add %s, 0x7F", R8N[r]);
		jit_emit_bt_r32_imm8(&e, r, 8);
		CHECK("bt %s, 0x08", R32N[r]);
		if (r != JR_RAX) {
			jit_emit_xchg_r64_rax(&e, r);
			CHECK("xchg %s, rax", R64[r]);
		}
		for (unsigned k = 0; k < 3; k++) {
			static const int32_t d8[] = { 0, 0x40, 0x1234 };
			char m[32];
			mem(m, sizeof(m), k == 0 ? JR_R15 : k == 1 ? JR_RSP : JR_R13, d8[k]);
			jit_emit_movzx_r32_m8(&e, r, k == 0 ? JR_R15 : k == 1 ? JR_RSP : JR_R13, d8[k]);
			CHECK("movzx %s, byte ptr %s", R32N[r], m);
		}
	}
	jit_emit_lahf(&e);
	CHECK("%s", "lahf");
	jit_emit_sahf(&e);
	CHECK("%s", "sahf");
	jit_emit_mov_ah_al(&e);
	CHECK("%s", "mov ah, al");
	jit_emit_pushfq(&e);
	CHECK("%s", "pushfq");
	jit_emit_popfq(&e);
	CHECK("%s", "popfq");
	jit_emit_ret(&e);
	CHECK("%s", "ret");
	/* a rel32 branch patched to a later position */
	size_t f = jit_emit_jcc_rel32(&e, JCC_NE);
	jit_emit_ret(&e);
	jit_emit_patch_rel32(&e, f, e.pos);
	assert_int_equal(e.pos, 7);
	assert_int_equal(buf[0], 0x0f);
	assert_int_equal(buf[1], 0x85);
	assert_int_equal(buf[2], 1); /* skips the ret */
	/* the buffer is bounded: overflow is sticky and nothing is written past it */
	uint8_t small[4] = { 0, 0, 0, 0x5a };
	jit_emit_init(&e, small, 3);
	jit_emit_mov_r64_m64(&e, JR_RAX, JR_R15, 0x100);
	assert_true(e.overflow);
	assert_true(e.pos <= 3);
	assert_int_equal(small[3], 0x5a);
	jit_emit_ret(&e);
	assert_true(e.pos <= 3);
}

/* Guest register-form instructions (64-bit mode), re-encoded on host
 * registers: Zydis must see the same mnemonic and operand width. */
static void test_native_reencode(void **state)
{
	(void)state;
	static const char *const hex[] = {
		"4801c8", "01d8", "4d01c8", "00e0", "4000f0", "6601c8", "83c005", "4983e803",
		"81f178563412", "48c1e005", "d1f8", "48d3e2", "d2c4", "49f7d8", "f7d1", "48f7e1",
		"49f7e9", "4585c0", "a8ff", "480fafc1", "4c69c078563412", "6b c9 07", "480fb6c4",
		"0fbec7", "440fb7c0", "4863c1", "0f94c0", "410f9fc1", "480f44c8", "0fa3c8",
		"480fbae003", "0fabd8", "480fa4c203", "0fadd0", "48ffc0", "41ffc8", "fec4",
		"86e0", "4887c8", "4991", "90", "4898", "4899", "6699", "b4 12", "41b0ff",
		"49b8efcdab8967452301", "b978563412", "480fc8", "410fcf", "88e5", "8ac4",
		"4c89c0", "4d8bc1", "3c7f", "483d00100000", "0f4ec1", "660f45c8", "f6d8",
		"4180d003", "4c11c0", "4819c8", "c0c803", "48d1c0",
	};
	for (unsigned i = 0; i < sizeof(hex) / sizeof(hex[0]); i++) {
		uint8_t g[16];
		unsigned n = 0;
		for (const char *p = hex[i]; *p;) {
			if (*p == ' ') {
				p++;
				continue;
			}
			unsigned v;
			assert_int_equal(sscanf(p, "%2x", &v), 1);
			g[n++] = (uint8_t)v;
			p += 2;
		}
		struct x86_insn in;
		assert_int_equal(x86_decode(g, n, SOFT_MODE_64, &in), X86_DEC_OK);
		struct jit_native nat;
		if (!jit_native_plan(&in, &nat))
			fail_msg("%s: not emitted natively", hex[i]);
		/* a mapping like the translator's: RAX..RBX identity, others to a free one */
		int8_t host[16];
		memset(host, -1, sizeof(host));
		unsigned used = nat.implicit, taken;
		if (nat.reg.g >= 0)
			used |= 1u << nat.reg.g;
		if (nat.rm.g >= 0)
			used |= 1u << nat.rm.g;
		if (nat.z.g >= 0)
			used |= 1u << nat.z.g;
		taken = used & 15;
		for (unsigned r = 0; r < 16; r++) {
			if (!(used & (1u << r)))
				continue;
			if (r < 4) {
				host[r] = (int8_t)r;
				continue;
			}
			unsigned h = 0;
			while (taken & (1u << h))
				h++;
			assert_true(h < 4);
			taken |= 1u << h;
			host[r] = (int8_t)h;
		}
		uint8_t buf[32];
		struct jit_emit e;
		jit_emit_init(&e, buf, sizeof(buf));
		jit_native_emit(&e, &in, &nat, host);
		assert_false(e.overflow);
		char want[96], got[96];
		zfmt(g, n, want, sizeof(want));
		if (nat.nop) {
			assert_int_equal(e.pos, 0);
			continue;
		}
		zfmt(buf, e.pos, got, sizeof(got));
		/* same mnemonic (up to the first space) and the same register
		 * widths: compare the text with register names mapped */
		size_t wl = strcspn(want, " "), gl = strcspn(got, " ");
		if (wl != gl || strncmp(want, got, wl))
			fail_msg("%s: guest %s, host %s", hex[i], want, got);
		/* when every guest register is one of RAX..RBX the mapping is the
		 * identity: the text must be identical */
		if (!(used & ~15u) && strcmp(want, got))
			fail_msg("%s: guest %s, host %s", hex[i], want, got);
	}
}

/* W^X: the writable view is not executable, the executable view not
 * writable (/proc/self/maps), and they show the same bytes. */
static void test_cache_wx(void **state)
{
	(void)state;
	struct soft_jit_cache c;
	assert_int_equal(soft_jit_cache_init(&c, 100000), 0);
	assert_int_equal(c.size % 4096, 0);
	assert_true(c.size >= 100000);
	c.rw[123] = 0xc3;
	assert_int_equal(c.rx[123], 0xc3);
	FILE *f = fopen("/proc/self/maps", "r");
	assert_non_null(f);
	char line[512];
	int seen = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		char perms[8];
		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3)
			continue;
		if (lo == (unsigned long)(uintptr_t)c.rw) {
			assert_string_equal(perms, "rw-s");
			seen |= 1;
		}
		if (lo == (unsigned long)(uintptr_t)c.rx) {
			assert_string_equal(perms, "r-xs");
			seen |= 2;
		}
	}
	fclose(f);
	assert_int_equal(seen, 3);
	uint64_t gen = c.gen;
	c.used = 4096;
	soft_jit_cache_flush(&c);
	assert_int_equal(c.used, 0);
	assert_true(c.gen != gen);
	assert_int_equal(c.nflush, 1);
	soft_jit_cache_destroy(&c);
	/* sizes are clamped to the documented range */
	assert_int_equal(soft_jit_cache_init(&c, 1), 0);
	assert_int_equal(c.size, SOFT_JIT_CACHE_MIN);
	soft_jit_cache_destroy(&c);
}

/* ---- translated execution against the interpreter ---- */

/* run() below makes its translators without loop regions (jit/region.h)
 * while set: the tests of chained exits between blocks */
static bool no_region;

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd(void)
{
	return xorshift64(&rng_state);
}

/* Run the code at FLAT_ENV_CODE (ending in HLT) in mode, interpreted or
 * translated from the first execution (cache bytes), from the given
 * registers; returns the env for inspection. */
static struct env *run(enum soft_mode mode, const uint8_t *code, size_t len, const uint64_t *gpr,
		       uint64_t rflags, size_t cache, struct env **keep)
{
	struct env *e = env_new(mode, true);
	if (cache) {
		e->c.jit = soft_jit_new(cache, 0);
		assert_non_null(e->c.jit);
		e->c.jit->no_region = no_region;
	}
	memcpy(e->m.ram + FLAT_ENV_CODE, code, len);
	memcpy(e->c.gpr, gpr, sizeof(e->c.gpr));
	e->c.gpr[GPR_RSP] = FLAT_ENV_RSP;
	soft_set_rflags(&e->c, rflags);
	uint64_t done;
	int r = soft_cpu_run(&e->c, 10000000, &done);
	assert_int_equal(r, SOFT_HLT);
	if (keep)
		*keep = e;
	return e;
}

static void compare_envs(struct env *a, struct env *b, const char *what)
{
	for (unsigned r = 0; r < GPR_COUNT; r++)
		if (a->c.gpr[r] != b->c.gpr[r])
			fail_msg("%s: gpr %u interp %#llx jit %#llx", what, r,
				 (unsigned long long)a->c.gpr[r], (unsigned long long)b->c.gpr[r]);
	assert_int_equal(a->c.rip, b->c.rip);
	assert_int_equal(a->c.icount, b->c.icount);
	assert_memory_equal(a->m.ram + 0x10000, b->m.ram + 0x10000, 0x1000);
}

/* Flags the SDM leaves undefined after some of the generated instructions
 * (shifts, rotates, IMUL/MUL, BT) differ between the interpreter and the
 * host; the generator therefore follows every instruction that leaves
 * undefined flags with one that defines them all (ADD), so the final flags
 * must agree exactly. */
/* The VEX-encoded general-register BMI1/BMI2 instructions and the F3 bit
 * counts (64-bit mode; jit/vex.c emits them as themselves on a host that
 * has them, the handlers run them elsewhere): reg = ModRM.reg, rm =
 * ModRM.rm, v = VEX.vvvv.  Those that leave flags undefined (AF PF, and
 * TZCNT/LZCNT's OF SF) are followed by a flag-defining ADD; SHLX, SARX,
 * SHRX, RORX, PDEP and PEXT touch no flag, so the flags of what ran
 * before them pass through to the SETcc/CMOVcc/ADC/Jcc after them (the
 * liveness pass must know they read none and keep all). */
static size_t gen_bmi(uint8_t *p, unsigned reg, unsigned rm, unsigned v)
{
	static const struct { uint8_t map, pp, op, digit; bool undef, imm; } f[] = {
		{ 2, 1, 0xf7, 8, false, false }, /* SHLX (66) */
		{ 2, 2, 0xf7, 8, false, false }, /* SARX (F3) */
		{ 2, 3, 0xf7, 8, false, false }, /* SHRX (F2) */
		{ 3, 3, 0xf0, 8, false, true },  /* RORX (F2, imm8) */
		{ 2, 3, 0xf5, 8, false, false }, /* PDEP */
		{ 2, 2, 0xf5, 8, false, false }, /* PEXT */
		{ 2, 0, 0xf2, 8, true, false },  /* ANDN */
		{ 2, 0, 0xf5, 8, true, false },  /* BZHI */
		{ 2, 0, 0xf7, 8, true, false },  /* BEXTR */
		{ 2, 0, 0xf3, 1, true, false },  /* BLSR (dst vvvv) */
		{ 2, 0, 0xf3, 2, true, false },  /* BLSMSK */
		{ 2, 0, 0xf3, 3, true, false },  /* BLSI */
		{ 0, 0, 0xbc, 8, true, false },  /* TZCNT */
		{ 0, 0, 0xbd, 8, true, false },  /* LZCNT */
		{ 0, 0, 0xb8, 8, true, false },  /* POPCNT */
	};
	unsigned k = (unsigned)(rnd() % (sizeof(f) / sizeof(f[0])));
	bool w = rnd() & 1;
	size_t n = 0;
	if (f[k].digit != 8)
		reg = f[k].digit;
	if (!f[k].map) {
		p[n++] = 0xf3;
		p[n++] = (uint8_t)(0x40 | (w ? 8 : 0) | ((reg & 8) ? 4 : 0) | ((rm & 8) ? 1 : 0));
		p[n++] = 0x0f;
		p[n++] = f[k].op;
	} else {
		if (f[k].imm)
			v = 0;
		p[n++] = 0xc4;
		p[n++] = (uint8_t)(((reg & 8) ? 0 : 0x80) | 0x40 | ((rm & 8) ? 0 : 0x20) | f[k].map);
		p[n++] = (uint8_t)((w ? 0x80 : 0) | ((~v & 15u) << 3) | f[k].pp);
		p[n++] = f[k].op;
	}
	p[n++] = (uint8_t)(0xc0 | ((reg & 7) << 3) | (rm & 7));
	if (f[k].imm)
		p[n++] = (uint8_t)rnd();
	if (f[k].undef) {
		p[n++] = 0x01; p[n++] = 0xc0; /* add eax, eax */
	}
	return n;
}

static size_t gen_random_n(uint8_t *p, enum soft_mode mode, bool split, unsigned count, bool detour);

static size_t gen_random_ex(uint8_t *p, enum soft_mode mode, bool split)
{
	return gen_random_n(p, mode, split, 40, false);
}

/* count instructions per round; split: blocks end at a JMP or Jcc to the
 * next instruction now and then; detour: a Jcc's fall-through is a JMP
 * block of its own (jcc +2; jmp +0), so the two ways differ */
static size_t gen_random_n(uint8_t *p, enum soft_mode mode, bool split, unsigned count, bool detour)
{
	static const uint8_t alu_ops[] = { 0x00, 0x01, 0x02, 0x03, 0x08, 0x09, 0x10, 0x11, 0x18, 0x19,
					  0x20, 0x21, 0x28, 0x29, 0x30, 0x31, 0x38, 0x39, 0x84, 0x85,
					  0x88, 0x89, 0x8a, 0x8b, 0x86, 0x87 };
	size_t n = 0;
	unsigned nregs = mode == SOFT_MODE_64 ? 16 : 8;
	/* mov ecx-like loop counter in a register we never touch: use RBP */
	p[n++] = 0xbd; p[n++] = 20; p[n++] = 0; /* mov bp/ebp, 20 */
	if (mode != SOFT_MODE_16) { p[n++] = 0; p[n++] = 0; }
	size_t loop = n;
	for (unsigned i = 0; i < count; i++) {
		unsigned a = (unsigned)(rnd() % nregs), b = (unsigned)(rnd() % nregs);
		if (a == 5 || a == 4) a = 0;
		if (b == 5 || b == 4) b = 1;
		if (mode == SOFT_MODE_64 && rnd() % 6 == 0) {
			unsigned c = (unsigned)(rnd() % nregs);
			if (c == 5 || c == 4) c = 2;
			n += gen_bmi(p + n, a, b, c);
			goto split;
		}
		unsigned kind = (unsigned)(rnd() % 10);
		bool w = mode == SOFT_MODE_64 && (rnd() & 1);
		uint8_t rex = (uint8_t)(0x40 | (w ? 8 : 0) | ((b & 8) ? 4 : 0) | ((a & 8) ? 1 : 0));
		bool userex = mode == SOFT_MODE_64 && (rex != 0x40 || (rnd() & 1));
		if (mode == SOFT_MODE_16 && (rnd() & 1) == 0)
			p[n++] = 0x66;
		if (userex)
			p[n++] = rex;
		uint8_t modrm = (uint8_t)(0xc0 | ((b & 7) << 3) | (a & 7));
		switch (kind) {
		case 0: case 1: case 2: case 3:
			p[n++] = alu_ops[rnd() % sizeof(alu_ops)];
			p[n++] = modrm;
			break;
		case 4: /* group 1 imm8 */
			p[n++] = 0x83; p[n++] = (uint8_t)(0xc0 | ((rnd() % 8) << 3) | (a & 7));
			p[n++] = (uint8_t)rnd();
			break;
		case 5: /* shift/rotate by imm, then a flag-defining add */
			p[n++] = 0xc1; p[n++] = (uint8_t)(0xc0 | ((rnd() % 6) << 3) | (a & 7));
			p[n++] = (uint8_t)(rnd() % 40);
			p[n++] = 0x01; p[n++] = 0xc0; /* add eax, eax */
			break;
		case 6: /* imul, then add */
			p[n++] = 0x0f; p[n++] = 0xaf; p[n++] = modrm;
			p[n++] = 0x01; p[n++] = 0xc0;
			break;
		case 7: /* setcc / cmovcc */
			if (rnd() & 1) {
				p[n++] = 0x0f; p[n++] = (uint8_t)(0x90 | (rnd() & 15)); p[n++] = (uint8_t)(0xc0 | (a & 7));
			} else {
				p[n++] = 0x0f; p[n++] = (uint8_t)(0x40 | (rnd() & 15)); p[n++] = modrm;
			}
			break;
		case 8: /* inc/dec/neg/not */
		{
			bool incdec = rnd() & 1;
			unsigned digit = incdec ? (unsigned)(rnd() % 2) : 2 + (unsigned)(rnd() % 2);
			p[n++] = incdec ? 0xff : 0xf7;
			p[n++] = (uint8_t)(0xc0 | (digit << 3) | (a & 7));
			break;
		}
		default: /* movzx / movsx */
			p[n++] = 0x0f; p[n++] = (uint8_t)(0xb6 + (rnd() & 1) * 8 + (rnd() & 1)); p[n++] = modrm;
			break;
		}
	split:
		/* split: end the block here now and then, with a JMP or a Jcc
		 * to the next instruction (a Jcc reads its flags; both of its
		 * exits chain to the same block), so flags cross chained exits */
		if (split && rnd() % 3 == 0) {
			bool jcc = rnd() & 1;
			p[n++] = jcc ? (uint8_t)(0x70 | (rnd() & 15)) : 0xeb;
			p[n++] = jcc && detour ? 2 : 0;
			if (jcc && detour) {
				p[n++] = 0xeb;
				p[n++] = 0;
			}
		}
	}
	/* dec bp/ebp; jnz loop */
	if (mode == SOFT_MODE_64) { p[n++] = 0xff; p[n++] = 0xcd; } else { p[n++] = 0x4d; }
	p[n++] = 0x0f; p[n++] = 0x85;
	int32_t rel = (int32_t)loop - (int32_t)(n + (mode == SOFT_MODE_16 ? 2 : 4));
	p[n++] = (uint8_t)rel; p[n++] = (uint8_t)(rel >> 8);
	if (mode != SOFT_MODE_16) { p[n++] = (uint8_t)(rel >> 16); p[n++] = (uint8_t)(rel >> 24); }
	p[n++] = 0xf4; /* hlt */
	return n;
}

/* 60 random programs (gen_random_ex; split: cut into short blocks) in
 * each mode, translated against interpreted from the same registers and
 * flags: each must end in the same state. */
static void random_programs(bool split)
{
	static const enum soft_mode modes[] = { SOFT_MODE_16, SOFT_MODE_32, SOFT_MODE_64 };
	for (unsigned m = 0; m < 3; m++) {
		for (unsigned t = 0; t < 60; t++) {
			uint8_t code[1024];
			size_t len = gen_random_ex(code, modes[m], split);
			uint64_t gpr[GPR_COUNT];
			for (unsigned r = 0; r < GPR_COUNT; r++)
				gpr[r] = rnd();
			uint64_t fl = 2 | (rnd() & 0x8d5);
			struct env *a, *b;
			run(modes[m], code, len, gpr, fl, 0, &a);
			run(modes[m], code, len, gpr, fl, 1u << 20, &b);
			char what[64];
			snprintf(what, sizeof(what), "mode %u %sprogram %u", modes[m], split ? "split " : "", t);
			compare_envs(a, b, what);
			assert_int_equal(soft_get_rflags(&a->c), soft_get_rflags(&b->c));
			if (split) {
				assert_true(b->c.jit->stats.translated > 5);
				assert_true(b->c.jit->stats.links > 5);
			} else {
				assert_true(b->c.jit->stats.translated > 0);
				assert_true(b->c.jit->stats.native_insns > 30);
			}
			env_free(a);
			env_free(b);
		}
	}
}

static void test_random_vs_interp(void **state)
{
	(void)state;
	random_programs(false);
}

/* The random programs above cut into short blocks (a JMP or Jcc to the
 * next instruction after about every third instruction): chained exits of
 * blocks without handler calls pass the guest flags in R10 to the next
 * block's R10 entry (jit/exits.h), where ADC/SBB, SETcc/CMOVcc, Jcc and
 * INC/DEC (which keep CF) take them; translated against interpreted. */
static void test_random_chained_flags(void **state)
{
	(void)state;
	rng_state = 0x2545f4914f6cdd1dULL; /* programs independent of the tests before */
	no_region = true; /* chained exits, not a region's inner edges */
	random_programs(true);
	no_region = false;
}

/* Exits of short blocks (docs/soft-cpu.md, "Translator": exits with the
 * flags in R10).  gzip's hash-chain loop has this shape: three blocks
 * without handler calls, chained, each ending in a Jcc after a CMP or a
 * DEC.  A chained exit used to merge the six flags into cpu->rflags
 * (PUSHFQ, POP, AND, load, AND, OR, store, lf.op: 8 instructions, 33
 * bytes) and the next block to load them back where it needed them; it now
 * leaves them in R10 (SETO, LAHF, MOV: 7 bytes).  Exit bytes per block
 * (two exits per Jcc): 253 before (this test against the old
 * translate.c), 208 now; bound 225. */
static void test_exit_size(void **state)
{
	(void)state;
	static const uint8_t code[] = {
		0x41, 0xb9, 0xe8, 0x03, 0x00, 0x00, /* mov r9d, 1000 */
		/* A: */
		0x44, 0x89, 0xc2,                   /* mov edx, r8d */
		0x4c, 0x01, 0xda,                   /* add rdx, r11 */
		0x48, 0x39, 0xc2,                   /* cmp rdx, rax */
		0x75, 0x02,                         /* jne B */
		0xeb, 0x11,                         /* jmp out */
		/* B: */
		0x41, 0x81, 0xe0, 0xff, 0x07, 0x00, 0x00, /* and r8d, 0x7ff */
		0x41, 0x39, 0xc8,                   /* cmp r8d, ecx */
		0x72, 0x05,                         /* jb out */
		/* C: */
		0x41, 0xff, 0xc9,                   /* dec r9d */
		0x75, 0xe2,                         /* jne A */
		/* out: */
		0xf4,                               /* hlt */
	};
	uint64_t gpr[GPR_COUNT] = { 0 };
	gpr[GPR_RAX] = 0x12345;
	gpr[GPR_R8] = 0x7f;
	gpr[GPR_R11] = 0x1000;
	gpr[GPR_RCX] = 3;
	struct env *a, *b;
	no_region = true; /* the exits of single blocks */
	run(SOFT_MODE_64, code, sizeof(code), gpr, 2 | 0x801, 0, &a);
	run(SOFT_MODE_64, code, sizeof(code), gpr, 2 | 0x801, 1u << 20, &b);
	no_region = false;
	compare_envs(a, b, "gzip's chain loop");
	assert_int_equal(soft_get_rflags(&a->c), soft_get_rflags(&b->c));
	assert_int_equal(a->c.gpr[GPR_R9], 0);
	struct soft_jit *j = b->c.jit;
	assert_true(j->stats.translated >= 3);
	size_t per = j->stats.bytes[SOFT_JIT_BYTES_EXIT] / j->stats.translated;
	print_message("exit bytes per block: %zu (%llu blocks)\n", per,
		      (unsigned long long)j->stats.translated);
	assert_true(per <= 225);
	env_free(a);
	env_free(b);
}

/* The register cache in a loop region of ten guest registers, five of them
 * only read (RCX R10 R11 R12 R13), with six host registers: a register
 * that is only read is never stored back (it stays clean: loaded at the
 * loop's head as such, and MOV E,G, MOVSXD, ADD E,G, CMP and LEA's
 * address registers write nothing else), and the register to evict is the
 * one needed again last round the loop.  Translated against interpreted,
 * and the body bytes bounded (its four translations, three blocks and the
 * region: 320 bytes before these choices, 290 with them). */
static void test_region_regs(void **state)
{
	(void)state;
	static const uint8_t code[] = {
		/* A: */
		0x44, 0x89, 0xc2,                   /* mov edx, r8d */
		0x48, 0x63, 0xc1,                   /* movsxd rax, ecx */
		0x45, 0x89, 0xd6,                   /* mov r14d, r10d */
		0x4c, 0x01, 0xda,                   /* add rdx, r11 */
		0x4c, 0x39, 0xf2,                   /* cmp rdx, r14 */
		0x75, 0x02,                         /* jne B */
		0xeb, 0x16,                         /* jmp out */
		/* B: */
		0x41, 0x81, 0xe0, 0xff, 0x07, 0x00, 0x00, /* and r8d, 0x7ff */
		0x47, 0x8d, 0x44, 0x45, 0x00,       /* lea r8d, [r13 + r8 * 2] */
		0x45, 0x39, 0xe0,                   /* cmp r8d, r12d */
		0x72, 0x05,                         /* jb out */
		/* C: */
		0x41, 0xff, 0xc9,                   /* dec r9d */
		0x75, 0xd7,                         /* jne A */
		/* out: */
		0xf4,                               /* hlt */
	};
	uint64_t gpr[GPR_COUNT] = { 0 };
	gpr[GPR_RCX] = 0x80000005;
	gpr[GPR_R8] = 0x100;
	gpr[GPR_R9] = 5000;
	gpr[GPR_R10] = 0xffffffff;
	gpr[GPR_R11] = 0x1000;
	gpr[GPR_R13] = 0x10;
	struct env *a, *b;
	run(SOFT_MODE_64, code, sizeof(code), gpr, 2, 0, &a);
	run(SOFT_MODE_64, code, sizeof(code), gpr, 2, 1u << 20, &b);
	compare_envs(a, b, "ten registers round a region");
	assert_int_equal(soft_get_rflags(&a->c), soft_get_rflags(&b->c));
	assert_int_equal(a->c.gpr[GPR_R9], 0);
	struct soft_jit *j = b->c.jit;
	assert_true(j->stats.regions >= 1);
	print_message("body bytes: %llu (%llu translations, %llu regions)\n",
		      (unsigned long long)j->stats.bytes[SOFT_JIT_BYTES_BODY],
		      (unsigned long long)j->stats.translated, (unsigned long long)j->stats.regions);
	assert_true(j->stats.bytes[SOFT_JIT_BYTES_BODY] <= 300);
	env_free(a);
	env_free(b);
}

/* A program of 3000 blocks (add; jmp to the next) run twice through a 64 KiB
 * cache: the cache flushes when full and the results still agree. */
static void test_flush_when_full(void **state)
{
	(void)state;
	static uint8_t code[3000 * 8 + 64];
	size_t n = 0;
	code[n++] = 0xbe; code[n++] = 2; code[n++] = 0; code[n++] = 0; code[n++] = 0; /* mov esi, 2 */
	size_t top = n;
	for (unsigned i = 0; i < 3000; i++) {
		code[n++] = 0x48; code[n++] = 0x83; code[n++] = 0xc0; code[n++] = (uint8_t)(i & 0x7f); /* add rax, i */
		code[n++] = 0xeb; code[n++] = 0; /* jmp next */
	}
	code[n++] = 0xff; code[n++] = 0xce; /* dec esi */
	code[n++] = 0x0f; code[n++] = 0x85;
	int32_t rel = (int32_t)top - (int32_t)(n + 4);
	memcpy(code + n, &rel, 4);
	n += 4;
	code[n++] = 0xf4;
	uint64_t gpr[GPR_COUNT] = { 0 };
	struct env *a, *b;
	run(SOFT_MODE_64, code, n, gpr, 2, 0, &a);
	run(SOFT_MODE_64, code, n, gpr, 2, 64u << 10, &b);
	compare_envs(a, b, "3000 blocks");
	assert_true(b->c.jit->cache.nflush > 0);
	assert_true(b->c.jit->stats.translated > 3000);
	env_free(a);
	env_free(b);
}

/* Translation size (docs/soft-cpu.md, "The cache": the shared stubs).
 * 400 blocks of `add rax, i; mov [rdi], eax; jmp next`, where the store
 * is a handler call (no TLB here): each translation is its body, one
 * handler call and one chained exit after a handler; the frame, the
 * run-loop checks after a handler, the handler's RIP stores and its
 * fault and stop exits are shared stubs at the start of the cache, which
 * a flush keeps.  Before the stubs such a block took 495 host bytes
 * (this test against the old translate.c); the bound is 200 (176 now). */
static void test_translation_size(void **state)
{
	(void)state;
	static uint8_t code[400 * 8 + 64];
	size_t n = 0;
	code[n++] = 0xbe; code[n++] = 2; code[n++] = 0; code[n++] = 0; code[n++] = 0; /* mov esi, 2 */
	size_t top = n;
	for (unsigned i = 0; i < 400; i++) {
		code[n++] = 0x48; code[n++] = 0x83; code[n++] = 0xc0; code[n++] = (uint8_t)(i & 0x7f); /* add rax, i */
		code[n++] = 0x89; code[n++] = 0x07; /* mov [rdi], eax */
		code[n++] = 0xeb; code[n++] = 0; /* jmp next */
	}
	code[n++] = 0xff; code[n++] = 0xce; /* dec esi */
	code[n++] = 0x0f; code[n++] = 0x85;
	int32_t rel = (int32_t)top - (int32_t)(n + 4);
	memcpy(code + n, &rel, 4);
	n += 4;
	code[n++] = 0xf4;
	uint64_t gpr[GPR_COUNT] = { 0 };
	gpr[GPR_RDI] = 0x10000;
	struct env *a, *b;
	run(SOFT_MODE_64, code, n, gpr, 2, 0, &a);
	run(SOFT_MODE_64, code, n, gpr, 2, 1u << 20, &b);
	compare_envs(a, b, "400 blocks with handler calls");
	struct soft_jit *j = b->c.jit;
	assert_int_equal(j->cache.nflush, 0);
	assert_true(j->stats.translated >= 400);
	assert_true(j->cache.base > 0);
	size_t per = (j->cache.used - j->cache.base) / j->stats.translated;
	print_message("translation size: %zu host bytes per block (%llu blocks)\n", per,
		      (unsigned long long)j->stats.translated);
	assert_true(per <= 200);
	/* the stubs survive a flush */
	uint8_t stubs[4096];
	assert_true(j->cache.base <= sizeof(stubs));
	memcpy(stubs, j->cache.rw, j->cache.base);
	soft_jit_flush(&b->c);
	assert_int_equal(j->cache.used, j->cache.base);
	assert_memory_equal(stubs, j->cache.rw, j->cache.base);
	env_free(a);
	env_free(b);
}

/* Self-modifying code: a translated loop rewrites the immediate of an
 * instruction in its own block (a store executed by a handler); the
 * translation dies with the block and the new immediate takes effect on
 * the next iteration, as in the interpreter. */
static void test_smc(void **state)
{
	(void)state;
	/*   mov ecx, 10
	 * top:
	 *   add rax, imm32 (at +2: imm)        48 05 imm32
	 *   mov dword [rip + (imm - next)], ecx   89 0d rel32
	 *   dec ecx
	 *   jnz top
	 *   hlt */
	uint8_t code[64];
	size_t n = 0;
	code[n++] = 0xb9; code[n++] = 10; code[n++] = 0; code[n++] = 0; code[n++] = 0;
	size_t top = n;
	code[n++] = 0x48; code[n++] = 0x05;
	size_t imm = n;
	code[n++] = 1; code[n++] = 0; code[n++] = 0; code[n++] = 0;
	code[n++] = 0x89; code[n++] = 0x0d;
	int32_t rel = (int32_t)imm - (int32_t)(n + 4);
	memcpy(code + n, &rel, 4);
	n += 4;
	code[n++] = 0xff; code[n++] = 0xc9;
	code[n++] = 0x0f; code[n++] = 0x85;
	rel = (int32_t)top - (int32_t)(n + 4);
	memcpy(code + n, &rel, 4);
	n += 4;
	code[n++] = 0xf4;
	uint64_t gpr[GPR_COUNT] = { 0 };
	struct env *a, *b;
	run(SOFT_MODE_64, code, n, gpr, 2, 0, &a);
	run(SOFT_MODE_64, code, n, gpr, 2, 1u << 20, &b);
	/* 1 + 10 + 9 + ... + 2 = 55 */
	assert_int_equal(a->c.gpr[GPR_RAX], 55);
	compare_envs(a, b, "self-modifying loop");
	assert_true(b->c.jit->stats.translated >= 2);
	env_free(a);
	env_free(b);
}

/* A translated loop that never exits by itself (inc rax; jmp back) returns
 * within the run loop's budget, and promptly after a kick from another
 * thread: interrupts are taken at block boundaries. */
static void *kicker(void *arg)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	nanosleep(&ts, NULL);
	soft_cpu_kick(arg);
	return NULL;
}

static void test_budget_and_kick(void **state)
{
	(void)state;
	static const uint8_t code[] = { 0x48, 0xff, 0xc0, 0xeb, 0xfb }; /* 1: inc rax; jmp 1b */
	struct env *e = env_new(SOFT_MODE_64, true);
	e->c.jit = soft_jit_new(1u << 20, 0);
	assert_non_null(e->c.jit);
	memcpy(e->m.ram + FLAT_ENV_CODE, code, sizeof(code));
	uint64_t done = 0;
	assert_int_equal(soft_cpu_run(&e->c, 1000, &done), SOFT_STOP);
	assert_true(done <= 1000 && done >= 1000 - 64);
	assert_int_equal(e->c.gpr[GPR_RAX], (done + 1) / 2); /* inc, jmp, inc, jmp ... */
	assert_true(e->c.rip == FLAT_ENV_CODE || e->c.rip == FLAT_ENV_CODE + 3);
	assert_true(e->c.jit->stats.translated >= 1);
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, kicker, &e->c), 0);
	assert_int_equal(soft_cpu_run(&e->c, ~0ULL, &done), SOFT_STOP);
	pthread_join(th, NULL);
	assert_true(done > 1000);
	env_free(e);
}


/* Two blocks chained into each other (not a loop onto itself):
 *   0: inc rax; jmp 8    8: inc rbx; jmp 0
 * A chained exit leaves cpu->rip to the stub that leaves (the slot holds
 * the target: jit/stubs.c, SOFT_JIT_STUB_OK_LINK): at a budget end, after
 * any count, and after a kick, cpu->rip, the registers and the count are
 * the interpreter's. */
static const uint8_t chain2_code[] = { 0x48, 0xff, 0xc0, 0xeb, 0x03, 0x90, 0x90, 0x90,
				       0x48, 0xff, 0xc3, 0xeb, 0xf3 };

static void run_chain2(struct env *e, bool jit, uint64_t max, uint64_t *done)
{
	if (jit) {
		e->c.jit = soft_jit_new(1u << 20, 0);
		assert_non_null(e->c.jit);
	}
	memcpy(e->m.ram + FLAT_ENV_CODE, chain2_code, sizeof(chain2_code));
	assert_int_equal(soft_cpu_run(&e->c, max, done), SOFT_STOP);
}

static void test_chain_exit_rip(void **state)
{
	(void)state;
	static const uint64_t maxes[] = { 1, 3, 64, 65, 127, 998, 999, 1000, 1001, 4097 };
	for (unsigned k = 0; k < sizeof(maxes) / sizeof(maxes[0]); k++) {
		struct env *a = env_new(SOFT_MODE_64, true), *b = env_new(SOFT_MODE_64, true);
		uint64_t da = 0, db = 0;
		run_chain2(a, false, maxes[k], &da);
		run_chain2(b, true, maxes[k], &db);
		for (unsigned round = 0; round < 3; round++) {
			/* the second and third rounds run on filled chains */
			assert_int_equal(da, db);
			assert_int_equal(a->c.rip, b->c.rip);
			assert_int_equal(a->c.icount, b->c.icount);
			assert_int_equal(a->c.gpr[GPR_RAX], b->c.gpr[GPR_RAX]);
			assert_int_equal(a->c.gpr[GPR_RBX], b->c.gpr[GPR_RBX]);
			assert_int_equal(soft_cpu_run(&a->c, maxes[k] + 7 * round, &da), SOFT_STOP);
			assert_int_equal(soft_cpu_run(&b->c, maxes[k] + 7 * round, &db), SOFT_STOP);
		}
		if (maxes[k] > 100)
			assert_true(b->c.jit->stats.links >= 1);
		env_free(a);
		env_free(b);
	}
	/* a kick from another thread: the chain stops at a block boundary,
	 * cpu->rip that of the block whose turn it is */
	struct env *e = env_new(SOFT_MODE_64, true);
	uint64_t done = 0;
	run_chain2(e, true, 1000, &done);
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, kicker, &e->c), 0);
	assert_int_equal(soft_cpu_run(&e->c, ~0ULL, &done), SOFT_STOP);
	pthread_join(th, NULL);
	uint64_t ax = e->c.gpr[GPR_RAX], bx = e->c.gpr[GPR_RBX];
	assert_true(e->c.rip == FLAT_ENV_CODE ? ax == bx : e->c.rip == FLAT_ENV_CODE + 8 && ax == bx + 1);
	assert_int_equal(e->c.icount, 2 * (ax + bx));
	assert_true(e->c.jit->stats.links >= 1);
	/* the two blocks are a loop region (jit/region.h): the kick is seen
	 * at its back edge */
	assert_true(e->c.jit->stats.regions >= 1);
	env_free(e);
}

/* Translated exits count instructions in the budget alone, and the
 * epilogue stores cpu->icount (jit/jit.c, soft_jit_run): a handler that
 * retires its own instruction (HLT: exec_branch.c) and a REP string one
 * that charges its bytes (exec_string.c) count as interpreted.
 *   0: inc rax; mov ecx, 4096; rep stosb; inc rax; hlt; jmp 0 */
static void test_icount_after_handlers(void **state)
{
	(void)state;
	static const uint8_t code[] = { 0x48, 0xff, 0xc0, 0xb9, 0x00, 0x10, 0x00, 0x00, 0xf3, 0xaa,
					0x48, 0xff, 0xc0, 0xf4, 0xeb, 0xf0 };
	struct env *a = env_new(SOFT_MODE_64, true), *b = env_new(SOFT_MODE_64, true);
	b->c.jit = soft_jit_new(1u << 20, 0);
	assert_non_null(b->c.jit);
	memcpy(a->m.ram + FLAT_ENV_CODE, code, sizeof(code));
	memcpy(b->m.ram + FLAT_ENV_CODE, code, sizeof(code));
	a->c.gpr[GPR_RDI] = b->c.gpr[GPR_RDI] = 0x20000;
	for (unsigned round = 0; round < 6; round++) {
		uint64_t da = 0, db = 0;
		int ra = soft_cpu_run(&a->c, 100000, &da), rb = soft_cpu_run(&b->c, 100000, &db);
		assert_int_equal(ra, rb);
		assert_int_equal(da, db);
		assert_int_equal(a->c.icount, b->c.icount);
		assert_int_equal(a->c.rip, b->c.rip);
		assert_int_equal(a->c.gpr[GPR_RAX], b->c.gpr[GPR_RAX]);
		a->c.gpr[GPR_RDI] = b->c.gpr[GPR_RDI] = 0x20000;
	}
	assert_true(b->c.jit->stats.translated >= 1);
	env_free(a);
	env_free(b);
}

/* ---- memory through the inline TLB fast path, in loops ---- */

/* A shadow TLB over the flat memory as the MMU would fill it at CPL 0
 * (pages mapped 1:1); pages in [ro_lo, ro_hi) without the inline-store
 * right (as pages holding code), so their stores take the slow path. */
static struct soft_tlb_entry *flat_tlb(struct env *e, unsigned ro_lo, unsigned ro_hi)
{
	struct soft_tlb_entry *tlb = calloc(SOFT_TLB_SIZE, sizeof(*tlb));
	assert_non_null(tlb);
	for (unsigned p = 0; p < SOFT_TLB_SIZE; p++) {
		bool ram = p < FLAT_ENV_MEM / 4096;
		tlb[p].tag_read = tlb[p].tag_write = ram ? (uint64_t)p << 2 : ~0ULL;
		tlb[p].tag_fastw = ram && !(p >= ro_lo && p < ro_hi) ? (uint64_t)p << 2 : ~0ULL;
		tlb[p].tag_fetch = ~0ULL;
		tlb[p].host = ram ? e->m.ram + 4096 * p : NULL;
		soft_tlb_entry_jit(&tlb[p], (uint64_t)p << 12);
	}
	e->c.jit_tlb = tlb;
	return tlb;
}

/* A loop onto itself over nine guest registers (more than the register
 * cache holds: evictions inside the loop, a fix-up at its back edge) with
 * consecutive accesses to the same bytes (one probe for two: load-load,
 * load-store, store-read-modify-write), walking RSI up by 8:
 *   1: mov (%rsi),%rax; add (%rsi),%r9; add %rax,%rdx; mov %rdx,(%rsi);
 *      add %r9,(%rsi); add $8,%rsi; mov %r9,%r10; xor %r11,%r10;
 *      lea 1(%r12),%r12; add %r12,%r13; mov %r10,%r11; dec %ecx; jnz 1b; hlt
 * Run interpreted and translated from the same state: the same status,
 * registers, flags, instruction count and memory, also when the walk runs
 * off the end of memory (a #PF inside the loop: exact state at the fault)
 * or through pages whose stores take the slow path. */
static const uint8_t loop_mem_code[] = {
	0x48, 0x8b, 0x06, 0x4c, 0x03, 0x0e, 0x48, 0x01, 0xc2, 0x48, 0x89, 0x16,
	0x4c, 0x01, 0x0e, 0x48, 0x83, 0xc6, 0x08, 0x4d, 0x89, 0xca, 0x4d, 0x31, 0xda,
	0x4d, 0x8d, 0x64, 0x24, 0x01, 0x4d, 0x01, 0xe5, 0x4d, 0x89, 0xd3, 0xff, 0xc9,
	0x75, 0xd8, 0xf4,
};

static int run_loop_mem(struct env *e, bool jit, bool lahf, uint64_t rsi, uint32_t count,
			unsigned ro_lo, unsigned ro_hi, uint64_t seed)
{
	struct soft_tlb_entry *tlb = NULL;
	if (jit) {
		e->c.jit = soft_jit_new(1u << 20, 0);
		assert_non_null(e->c.jit);
		e->c.jit->lahf = e->c.jit->lahf && lahf; /* false: the PUSHFQ/POPFQ path */
		tlb = flat_tlb(e, ro_lo, ro_hi);
	}
	memcpy(e->m.ram + FLAT_ENV_CODE, loop_mem_code, sizeof(loop_mem_code));
	uint64_t x = seed;
	for (unsigned i = 0x10000; i < FLAT_ENV_MEM; i += 8) {
		x ^= x << 13; x ^= x >> 7; x ^= x << 17;
		memcpy(e->m.ram + i, &x, 8);
	}
	for (unsigned r = 0; r < GPR_COUNT; r++)
		e->c.gpr[r] = seed * (r + 3);
	e->c.gpr[GPR_RSP] = FLAT_ENV_RSP;
	e->c.gpr[GPR_RSI] = rsi;
	e->c.gpr[GPR_RCX] = count;
	uint64_t done;
	int r = soft_cpu_run(&e->c, 100000000, &done);
	e->c.jit_tlb = NULL;
	free(tlb);
	return r;
}

static void test_loop_mem_vs_interp(void **state)
{
	(void)state;
	static const struct {
		uint64_t rsi;
		uint32_t count;
		unsigned ro_lo, ro_hi;
	} cases[] = {
		{ 0x20000, 3000, 0, 0 },                      /* all fast */
		{ 0x20000, 3000, 0x21, 0x22 },                /* a page of slow stores */
		{ FLAT_ENV_MEM - 8 * 500, 1000, 0, 0 },       /* #PF after 500 rounds */
		{ FLAT_ENV_MEM - 8 * 500, 1000, 0xff, 0x100 }, /* ... through slow stores */
	};
	for (unsigned v = 0; v < 2 * sizeof(cases) / sizeof(cases[0]); v++) {
		unsigned k = v / 2;
		struct env *a = env_new(SOFT_MODE_64, true), *b = env_new(SOFT_MODE_64, true);
		int ra = run_loop_mem(a, false, true, cases[k].rsi, cases[k].count, cases[k].ro_lo,
				      cases[k].ro_hi, 0x1234567 + k);
		int rb = run_loop_mem(b, true, v & 1, cases[k].rsi, cases[k].count, cases[k].ro_lo,
				      cases[k].ro_hi, 0x1234567 + k);
		char what[32];
		snprintf(what, sizeof(what), "loop case %u%s", k, v & 1 ? "" : " (PUSHFQ)");
		assert_int_equal(ra, rb);
		if (k < 2)
			assert_int_equal(ra, SOFT_HLT);
		else
			assert_int_not_equal(ra, SOFT_HLT);
		compare_envs(a, b, what);
		assert_int_equal(soft_get_rflags(&a->c), soft_get_rflags(&b->c));
		assert_int_equal(a->c.cr2, b->c.cr2);
		assert_memory_equal(a->m.ram + 0x10000, b->m.ram + 0x10000, FLAT_ENV_MEM - 0x10000);
		assert_true(b->c.jit->stats.fast_stores > 0);
		env_free(a);
		env_free(b);
	}
}

/* ---- loop regions (jit/region.h): a loop of several blocks as one
 * translation, its inner branches side exits ---- */

/* Short random loops cut into blocks, each Jcc's fall-through a detour
 * block of its own (jcc +2; jmp +0): the region follows one way, the
 * other leaves through a side exit (the detour chains back into the
 * loop), both taken as the random flags say; translated (regions made)
 * against interpreted, in 16, 32 and 64-bit mode. */
static void test_region_random(void **state)
{
	(void)state;
	static const enum soft_mode modes[] = { SOFT_MODE_16, SOFT_MODE_32, SOFT_MODE_64 };
	uint64_t regions = 0;
	for (unsigned m = 0; m < 3; m++) {
		for (unsigned t = 0; t < 80; t++) {
			uint8_t code[1024];
			size_t len = gen_random_n(code, modes[m], true, 6 + (unsigned)(rnd() % 14), true);
			uint64_t gpr[GPR_COUNT];
			for (unsigned r = 0; r < GPR_COUNT; r++)
				gpr[r] = rnd();
			uint64_t fl = 2 | (rnd() & 0x8d5);
			struct env *a, *b;
			run(modes[m], code, len, gpr, fl, 0, &a);
			run(modes[m], code, len, gpr, fl, 1u << 20, &b);
			char what[64];
			snprintf(what, sizeof(what), "mode %u region program %u", modes[m], t);
			compare_envs(a, b, what);
			assert_int_equal(soft_get_rflags(&a->c), soft_get_rflags(&b->c));
			regions += b->c.jit->stats.regions;
			env_free(a);
			env_free(b);
		}
	}
	print_message("loop regions translated: %llu\n", (unsigned long long)regions);
	assert_true(regions > 100);
}

/* gzip's hash-chain loop (busybox longest_match; bench/interp LOOP_CHAIN)
 * with data that ends it at each of its three exits in turn: A's JNE
 * falls through (a match), B's JB leaves (the chain ends), C's DEC
 * reaches 0.  R8 shrinks every round, so where it leaves depends on the
 * start values.  Each run stops after max instructions, for every max
 * from 1 to 160, then runs on in slices of 13: RIP, every register, the
 * flags and the count against the interpreter at every stop.
 *   A: mov edx, r8d; add rdx, r11; cmp rdx, rax; jne B; jmp out
 *   B: and r8d, 0x7ff; cmp r8d, ecx; jb out
 *   C: dec r8d; dec r9d; jne A
 *   out: hlt */
static const uint8_t chain_code[] = {
	0x44, 0x89, 0xc2, 0x4c, 0x01, 0xda, 0x48, 0x39, 0xc2, 0x75, 0x02, 0xeb, 0x14,
	0x41, 0x81, 0xe0, 0xff, 0x07, 0x00, 0x00, 0x41, 0x39, 0xc8, 0x72, 0x08,
	0x41, 0xff, 0xc8, 0x41, 0xff, 0xc9, 0x75, 0xdf,
	0xf4,
};

static void chain_start(struct env *e, bool jit, unsigned variant)
{
	if (jit) {
		e->c.jit = soft_jit_new(1u << 20, 0);
		assert_non_null(e->c.jit);
	}
	memcpy(e->m.ram + FLAT_ENV_CODE, chain_code, sizeof(chain_code));
	e->c.gpr[GPR_R8] = 0x100;
	e->c.gpr[GPR_R11] = 0x1000;
	e->c.gpr[GPR_R9] = 40;
	e->c.gpr[GPR_RAX] = 0x1000 + 0x100 + (variant == 0 ? -25 : 1000); /* A leaves at round 26 */
	e->c.gpr[GPR_RCX] = variant == 1 ? 0x100 - 30 : 0;                 /* B leaves at round 32 */
	soft_set_rflags(&e->c, 2 | 0x801);                               /* C leaves at round 40 */
}

static void compare_state(struct env *a, struct env *b, const char *what, uint64_t max)
{
	for (unsigned r = 0; r < GPR_COUNT; r++)
		if (a->c.gpr[r] != b->c.gpr[r])
			fail_msg("%s, max %llu: gpr %u interp %#llx jit %#llx", what, (unsigned long long)max, r,
				 (unsigned long long)a->c.gpr[r], (unsigned long long)b->c.gpr[r]);
	if (a->c.rip != b->c.rip || a->c.icount != b->c.icount ||
	    soft_get_rflags(&a->c) != soft_get_rflags(&b->c))
		fail_msg("%s, max %llu: rip %#llx/%#llx icount %llu/%llu rflags %#llx/%#llx", what,
			 (unsigned long long)max, (unsigned long long)a->c.rip, (unsigned long long)b->c.rip,
			 (unsigned long long)a->c.icount, (unsigned long long)b->c.icount,
			 (unsigned long long)soft_get_rflags(&a->c), (unsigned long long)soft_get_rflags(&b->c));
}

static void test_region_exits(void **state)
{
	(void)state;
	static const uint64_t out_rip = FLAT_ENV_CODE + sizeof(chain_code) - 1;
	for (unsigned v = 0; v < 3; v++) {
		uint64_t regions = 0;
		for (uint64_t max = 1; max <= 160; max++) {
			struct env *a = env_new(SOFT_MODE_64, true), *b = env_new(SOFT_MODE_64, true);
			chain_start(a, false, v);
			chain_start(b, true, v);
			uint64_t da = 0, db = 0;
			int ra = soft_cpu_run(&a->c, max, &da), rb = soft_cpu_run(&b->c, max, &db);
			char what[48];
			snprintf(what, sizeof(what), "chain loop, exit %u", v);
			for (;;) {
				assert_int_equal(ra, rb);
				assert_int_equal(da, db);
				compare_state(a, b, what, max);
				if (ra != SOFT_STOP)
					break;
				ra = soft_cpu_run(&a->c, 13, &da);
				rb = soft_cpu_run(&b->c, 13, &db);
			}
			assert_int_equal(ra, SOFT_HLT);
			assert_int_equal(a->c.rip, out_rip + 1);
			/* where it left: A's match, B's end of chain, C's count */
			assert_int_equal(a->c.gpr[GPR_R9], v == 0 ? 40 - 25 : v == 1 ? 40 - 31 : 0);
			regions += b->c.jit->stats.regions;
			env_free(a);
			env_free(b);
		}
		assert_true(regions > 0);
	}
	/* one long run: the loop's rounds all in one translation (entered a
	 * few times while its blocks are first decoded) */
	struct env *b = env_new(SOFT_MODE_64, true);
	chain_start(b, true, 2);
	b->c.gpr[GPR_R9] = 100000;
	uint64_t done;
	assert_int_equal(soft_cpu_run(&b->c, ~0ULL, &done), SOFT_HLT);
	assert_int_equal(b->c.jit->stats.regions, 1);
	assert_true(b->c.jit->stats.entries <= 8);
	env_free(b);
}

/* Self-modifying code and a region: B's loop back to A makes the region
 * [B, A] (B translated when A was already decoded); when ECX reaches 5,
 * A's inner branch leaves the region to W, which rewrites the immediate
 * of A's ADD, the region's second block.  The write drops the page's
 * blocks (the region's head among them) and the next round runs the new
 * immediate, as interpreted: 6 x 1 + 4 x 5 = 26 (10 with the region's
 * stale copy).
 *   mov ecx, 10
 *   A: add rax, imm32; cmp ecx, 5; jne B
 *   W: mov dword [rip + (imm - next)], ecx; jmp B
 *   B: dec ecx; jnz A
 *   hlt */
static void test_region_smc(void **state)
{
	(void)state;
	uint8_t code[64];
	size_t n = 0;
	code[n++] = 0xb9; code[n++] = 10; code[n++] = 0; code[n++] = 0; code[n++] = 0;
	size_t top = n;
	code[n++] = 0x48; code[n++] = 0x05;
	size_t imm = n;
	code[n++] = 1; code[n++] = 0; code[n++] = 0; code[n++] = 0;
	code[n++] = 0x83; code[n++] = 0xf9; code[n++] = 5;
	code[n++] = 0x75;
	size_t jne_at = n++;
	code[n++] = 0x89; code[n++] = 0x0d;
	int32_t rel = (int32_t)imm - (int32_t)(n + 4);
	memcpy(code + n, &rel, 4);
	n += 4;
	code[n++] = 0xeb; code[n++] = 0;
	code[jne_at] = (uint8_t)(n - (jne_at + 1)); /* B */
	code[n++] = 0xff; code[n++] = 0xc9;
	code[n++] = 0x75; code[n] = (uint8_t)(int8_t)((int)top - (int)(n + 1)); n++;
	code[n++] = 0xf4;
	uint64_t gpr[GPR_COUNT] = { 0 };
	struct env *a, *b;
	run(SOFT_MODE_64, code, n, gpr, 2, 0, &a);
	run(SOFT_MODE_64, code, n, gpr, 2, 1u << 20, &b);
	assert_int_equal(a->c.gpr[GPR_RAX], 26);
	compare_envs(a, b, "self-modifying region");
	assert_int_equal(soft_get_rflags(&a->c), soft_get_rflags(&b->c));
	assert_true(b->c.jit->stats.regions >= 1);
	env_free(a);
	env_free(b);
}

/* A fault in a region's second block: DIV ECX with ECX reaching 0 (#DE
 * from the handler the native DIV's check sends it to), RIP, the count,
 * the registers and the flags (DEC's and CMP's) exact.
 *   A: dec ecx; cmp ebx, 7; je out
 *   B: xor edx, edx; mov eax, 100; div ecx; add rbx, rax; jmp A
 *   out: hlt */
static void test_region_fault(void **state)
{
	(void)state;
	static const uint8_t code[] = {
		0xff, 0xc9, 0x83, 0xfb, 0x07, 0x74, 0x0e,
		0x31, 0xd2, 0xb8, 0x64, 0x00, 0x00, 0x00, 0xf7, 0xf1, 0x48, 0x01, 0xc3, 0xeb, 0xeb,
		0xf4,
	};
	struct env *e[2];
	for (unsigned k = 0; k < 2; k++) {
		e[k] = env_new(SOFT_MODE_64, true);
		if (k) {
			e[k]->c.jit = soft_jit_new(1u << 20, 0);
			assert_non_null(e[k]->c.jit);
		}
		memcpy(e[k]->m.ram + FLAT_ENV_CODE, code, sizeof(code));
		e[k]->c.gpr[GPR_RCX] = 40;
		e[k]->c.gpr[GPR_RBX] = 0x100;
		uint64_t done;
		assert_int_equal(soft_cpu_run(&e[k]->c, 100000, &done), SOFT_EXC);
	}
	assert_int_equal(e[0]->c.exc.vector, 0);
	assert_int_equal(e[1]->c.exc.vector, 0);
	assert_int_equal(e[0]->c.rip, FLAT_ENV_CODE + 14); /* the DIV */
	compare_state(e[0], e[1], "#DE in a region", 0);
	assert_true(e[1]->c.jit->stats.regions > 0);
	env_free(e[0]);
	env_free(e[1]);
}

/* A region's side exit taken every other round, chained: H tests bit 0
 * of ECX; the trace [H, F] goes on at F, the odd rounds leave through
 * H's side slot to O, which chains to T and back to H (F's own region
 * [F, H] leaves to O at its last branch).  Run in slices of
 * 500 instructions, the icache epoch bumped every third slice (every
 * chain slot, the side slot among them, dead until filled again): the
 * state against the interpreter at every stop, the side slot linked
 * (more links than without the bumps' refills would need).
 *   H: inc rax; test cl, 1; jnz O
 *   F: add rdx, 3
 *   T: dec ecx; jnz H            (T also a block of its own, from O)
 *      hlt
 *   O: inc rbx; jmp T */
static void test_region_side_links(void **state)
{
	(void)state;
	static const uint8_t code[] = {
		0x48, 0xff, 0xc0, 0xf6, 0xc1, 0x01, 0x75, 0x0a, /* H: 0..7, jnz O (18) */
		0x48, 0x83, 0xc2, 0x03,                         /* F: 8 */
		0xff, 0xc9, 0x75, 0xf0,                         /* T: 12, jnz H (0) */
		0xf4,                                           /* 16 */
		0x90,                                           /* 17 */
		0x48, 0xff, 0xc3, 0xeb, 0xf5,                   /* O: 18, jmp T (12) */
	};
	struct env *e[2];
	for (unsigned k = 0; k < 2; k++) {
		e[k] = env_new(SOFT_MODE_64, true);
		if (k) { /* hot after 2 runs: every block decoded by then */
			e[k]->c.jit = soft_jit_new(1u << 20, 2);
			assert_non_null(e[k]->c.jit);
		}
		memcpy(e[k]->m.ram + FLAT_ENV_CODE, code, sizeof(code));
		e[k]->c.gpr[GPR_RCX] = 3000;
		e[k]->c.gpr[GPR_RDX] = 0; /* (the reset signature) */
	}
	int r[2] = { SOFT_STOP, SOFT_STOP };
	for (unsigned slice = 0; r[0] == SOFT_STOP; slice++) {
		uint64_t d[2];
		for (unsigned k = 0; k < 2; k++)
			r[k] = soft_cpu_run(&e[k]->c, 500, &d[k]);
		assert_int_equal(r[0], r[1]);
		assert_int_equal(d[0], d[1]);
		compare_state(e[0], e[1], "side exits", slice);
		if (slice % 3 == 2)
			soft_icache_bump_epoch(e[1]->c.icache);
	}
	assert_int_equal(r[0], SOFT_HLT);
	assert_int_equal(e[0]->c.gpr[GPR_RBX], 1500); /* the odd rounds */
	assert_int_equal(e[0]->c.gpr[GPR_RDX], 3 * 1500);
	assert_true(e[1]->c.jit->stats.regions >= 1);
	assert_true(e[1]->c.jit->stats.links >= 10);
	env_free(e[0]);
	env_free(e[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_emit_encodings),
		cmocka_unit_test(test_native_reencode),
		cmocka_unit_test(test_cache_wx),
		cmocka_unit_test(test_random_vs_interp),
		cmocka_unit_test(test_flush_when_full),
		cmocka_unit_test(test_translation_size),
		cmocka_unit_test(test_random_chained_flags),
		cmocka_unit_test(test_exit_size),
		cmocka_unit_test(test_smc),
		cmocka_unit_test(test_budget_and_kick),
		cmocka_unit_test(test_chain_exit_rip),
		cmocka_unit_test(test_icount_after_handlers),
		cmocka_unit_test(test_loop_mem_vs_interp),
		cmocka_unit_test(test_region_random),
		cmocka_unit_test(test_region_exits),
		cmocka_unit_test(test_region_smc),
		cmocka_unit_test(test_region_fault),
		cmocka_unit_test(test_region_side_links),
		cmocka_unit_test(test_region_regs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
