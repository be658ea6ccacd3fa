/* The CPUID model is honest: for each feature bit with instructions, the
 * bit is set exactly when the instruction executes.  With the bit clear the
 * instruction raises #UD (SDM vol. 2: "#UD If CPUID.(...):...[bit n] = 0"),
 * or, for LZCNT and TZCNT, runs as the legacy encoding (BSR, BSF) as on a CPU
 * without the feature.  With the bit set it must not raise #UD once the OS
 * has done what the SDM requires (CR4.OSFXSR, CR4.OSXSAVE and XCR0,
 * CR4.FSGSBASE, CR4.PKE, CR4.SMXE, CR4.VMXE, EFER.SCE): other faults (#GP for a bad
 * operand, for example) are fine.
 *
 * The test reads the bits from soft_cpuid(), so a branch that implements and
 * advertises a feature keeps it passing; advertising without executing, or
 * executing without advertising, fails it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "src/cpu/soft/cpu.h"
#include "src/cpu/soft/cpuid.h"
#include "src/cpu/soft/decode.h"
#include "src/cpu/soft/flatmem.h"

#define CODE 0x1000
#define DATA 0x8000

enum reg { EAX, EBX, ECX, EDX };

/* What the OS must enable before a present feature can be used.  The XSAVE
 * family and the AVX family are enabled when XSAVE or AVX is present (CR4.OSXSAVE,
 * XCR0), whether or not the particular instruction's own bit is set: XSAVES
 * without CPUID.(EAX=0DH,ECX=1):EAX[3] must #UD even with CR4.OSXSAVE=1. */
enum { NEED_NONE, NEED_OSXSAVE, NEED_AVX, NEED_FSGSBASE, NEED_PKE, NEED_SMXE, NEED_SCE, NEED_VMXE };

struct feature {
	const char *name;
	uint32_t leaf, subleaf;
	enum reg reg;
	unsigned bit;
	unsigned need;
	uint8_t len, bytes[8];
};

/* RAX = RBX = DATA (16-byte aligned, mapped), RCX = 0, RDX = 0. */
static const struct feature features[] = {
	/* leaf 1 ECX */
	{ "sse3 haddps", 1, 0, ECX, 0, NEED_NONE, 4, { 0xf2, 0x0f, 0x7c, 0xc1 } },
	{ "pclmulqdq", 1, 0, ECX, 1, NEED_NONE, 6, { 0x66, 0x0f, 0x3a, 0x44, 0xc1, 0x00 } },
	{ "monitor", 1, 0, ECX, 3, NEED_NONE, 3, { 0x0f, 0x01, 0xc8 } },
	{ "vmx vmxon", 1, 0, ECX, 5, NEED_VMXE, 5, { 0xf3, 0x0f, 0xc7, 0x30 } },
	{ "smx getsec", 1, 0, ECX, 6, NEED_SMXE, 2, { 0x0f, 0x37 } },
	{ "ssse3 pshufb", 1, 0, ECX, 9, NEED_NONE, 5, { 0x66, 0x0f, 0x38, 0x00, 0xc1 } },
	{ "fma vfmadd213ps", 1, 0, ECX, 12, NEED_AVX, 5, { 0xc4, 0xe2, 0x79, 0xa8, 0xc1 } },
	{ "cx16 cmpxchg16b", 1, 0, ECX, 13, NEED_NONE, 4, { 0x48, 0x0f, 0xc7, 0x08 } },
	{ "sse4.1 ptest", 1, 0, ECX, 19, NEED_NONE, 5, { 0x66, 0x0f, 0x38, 0x17, 0xc1 } },
	{ "sse4.2 crc32", 1, 0, ECX, 20, NEED_NONE, 5, { 0xf2, 0x0f, 0x38, 0xf0, 0xc1 } },
	{ "movbe", 1, 0, ECX, 22, NEED_NONE, 4, { 0x0f, 0x38, 0xf0, 0x00 } },
	{ "popcnt", 1, 0, ECX, 23, NEED_NONE, 4, { 0xf3, 0x0f, 0xb8, 0xc1 } },
	{ "aesenc", 1, 0, ECX, 25, NEED_NONE, 5, { 0x66, 0x0f, 0x38, 0xdc, 0xc1 } },
	{ "xsave xgetbv", 1, 0, ECX, 26, NEED_OSXSAVE, 3, { 0x0f, 0x01, 0xd0 } },
	{ "xsave xsave", 1, 0, ECX, 26, NEED_OSXSAVE, 3, { 0x0f, 0xae, 0x23 } },
	{ "xsaveopt", 0xd, 1, EAX, 0, NEED_OSXSAVE, 3, { 0x0f, 0xae, 0x33 } },
	{ "xsavec", 0xd, 1, EAX, 1, NEED_OSXSAVE, 3, { 0x0f, 0xc7, 0x23 } },
	{ "xsaves", 0xd, 1, EAX, 3, NEED_OSXSAVE, 3, { 0x0f, 0xc7, 0x2b } },
	{ "xrstors", 0xd, 1, EAX, 3, NEED_OSXSAVE, 3, { 0x0f, 0xc7, 0x1b } },
	{ "avx vaddps", 1, 0, ECX, 28, NEED_AVX, 4, { 0xc5, 0xf8, 0x58, 0xc1 } },
	{ "f16c vcvtph2ps", 1, 0, ECX, 29, NEED_AVX, 5, { 0xc4, 0xe2, 0x79, 0x13, 0xc1 } },
	{ "rdrand", 1, 0, ECX, 30, NEED_NONE, 3, { 0x0f, 0xc7, 0xf0 } },
	/* leaf 1 EDX */
	{ "tsc rdtsc", 1, 0, EDX, 4, NEED_NONE, 2, { 0x0f, 0x31 } },
	{ "cx8 cmpxchg8b", 1, 0, EDX, 8, NEED_NONE, 3, { 0x0f, 0xc7, 0x08 } },
	{ "sep sysenter", 1, 0, EDX, 11, NEED_NONE, 2, { 0x0f, 0x34 } },
	{ "cmov", 1, 0, EDX, 15, NEED_NONE, 3, { 0x0f, 0x44, 0xc1 } },
	{ "clflush", 1, 0, EDX, 19, NEED_NONE, 3, { 0x0f, 0xae, 0x38 } },
	{ "mmx paddb", 1, 0, EDX, 23, NEED_NONE, 3, { 0x0f, 0xfc, 0xc1 } },
	{ "fxsr fxsave", 1, 0, EDX, 24, NEED_NONE, 3, { 0x0f, 0xae, 0x00 } },
	{ "sse addps", 1, 0, EDX, 25, NEED_NONE, 3, { 0x0f, 0x58, 0xc1 } },
	{ "sse2 addpd", 1, 0, EDX, 26, NEED_NONE, 4, { 0x66, 0x0f, 0x58, 0xc1 } },
	/* leaf 7.0 EBX */
	{ "fsgsbase rdfsbase", 7, 0, EBX, 0, NEED_FSGSBASE, 5, { 0xf3, 0x48, 0x0f, 0xae, 0xc0 } },
	{ "bmi1 andn", 7, 0, EBX, 3, NEED_NONE, 5, { 0xc4, 0xe2, 0x78, 0xf2, 0xc1 } },
	{ "avx2 vpaddd ymm", 7, 0, EBX, 5, NEED_AVX, 4, { 0xc5, 0xfd, 0xfe, 0xc1 } },
	{ "bmi2 pdep", 7, 0, EBX, 8, NEED_NONE, 5, { 0xc4, 0xe2, 0x7b, 0xf5, 0xc1 } },
	{ "invpcid", 7, 0, EBX, 10, NEED_NONE, 5, { 0x66, 0x0f, 0x38, 0x82, 0x00 } },
	{ "rtm xtest", 7, 0, EBX, 11, NEED_NONE, 3, { 0x0f, 0x01, 0xd6 } },
	{ "rdseed", 7, 0, EBX, 18, NEED_NONE, 3, { 0x0f, 0xc7, 0xf8 } },
	{ "adx adcx", 7, 0, EBX, 19, NEED_NONE, 5, { 0x66, 0x0f, 0x38, 0xf6, 0xc1 } },
	{ "smap stac", 7, 0, EBX, 20, NEED_NONE, 3, { 0x0f, 0x01, 0xcb } },
	{ "clflushopt", 7, 0, EBX, 23, NEED_NONE, 4, { 0x66, 0x0f, 0xae, 0x38 } },
	{ "clwb", 7, 0, EBX, 24, NEED_NONE, 4, { 0x66, 0x0f, 0xae, 0x30 } },
	{ "sha1nexte", 7, 0, EBX, 29, NEED_NONE, 4, { 0x0f, 0x38, 0xc8, 0xc1 } },
	/* leaf 7.0 ECX */
	{ "pku rdpkru", 7, 0, ECX, 3, NEED_PKE, 3, { 0x0f, 0x01, 0xee } },
	{ "gfni gf2p8mulb", 7, 0, ECX, 8, NEED_NONE, 5, { 0x66, 0x0f, 0x38, 0xcf, 0xc1 } },
	{ "rdpid", 7, 0, ECX, 22, NEED_NONE, 4, { 0xf3, 0x0f, 0xc7, 0xf8 } },
	{ "movdiri", 7, 0, ECX, 27, NEED_NONE, 4, { 0x0f, 0x38, 0xf9, 0x00 } },
	{ "movdir64b", 7, 0, ECX, 28, NEED_NONE, 5, { 0x66, 0x0f, 0x38, 0xf8, 0x00 } },
	/* leaf 7.0 EDX */
	{ "serialize", 7, 0, EDX, 14, NEED_NONE, 3, { 0x0f, 0x01, 0xe8 } },
	/* 80000001h */
	{ "lahf_lm lahf", 0x80000001u, 0, ECX, 0, NEED_NONE, 1, { 0x9f } },
	{ "syscall", 0x80000001u, 0, EDX, 11, NEED_SCE, 2, { 0x0f, 0x05 } },
	{ "rdtscp", 0x80000001u, 0, EDX, 27, NEED_NONE, 3, { 0x0f, 0x01, 0xf9 } },
};

struct env {
	struct soft_flatmem m;
	struct soft_cpu c;
};

static struct env *env_new(void)
{
	struct env *e = calloc(1, sizeof(*e));
	assert_non_null(e);
	assert_int_equal(soft_flatmem_init(&e->m, 1u << 20), 0);
	assert_int_equal(soft_cpu_init(&e->c, &soft_flatmem_ops, &e->m, false), 0);
	return e;
}

/* Reset to 64-bit CPL0 with SSE enabled by the "OS", then, if enable, turn
 * on what the feature needs (only ever for features the model advertises). */
static void prepare(struct env *e, unsigned need, bool enable)
{
	struct soft_cpu *c = &e->c;
	for (int i = 0; i < SEG_COUNT; i++) {
		struct x86_segment *s = &c->seg[i];
		memset(s, 0, sizeof(*s));
		s->limit = 0xffffffff;
		s->type = i == SEG_CS ? 0xb : 0x3;
		s->s = 1;
		s->present = 1;
		s->l = i == SEG_CS;
		s->g = 1;
	}
	c->cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_NE | X86_CR0_MP | X86_CR0_PG;
	c->cr4 = X86_CR4_PAE | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT;
	c->efer = X86_EFER_LME | X86_EFER_LMA;
	c->xcr0 = 3;
	soft_cpu_update_mode(c);
	assert_int_equal(c->mode, SOFT_MODE_64);
	memset(c->gpr, 0, sizeof(c->gpr));
	c->gpr[GPR_RAX] = c->gpr[GPR_RBX] = DATA;
	c->gpr[GPR_RSP] = 0x80000;
	c->lstar = CODE + 0x100;
	if (!enable)
		return;
	switch (need) {
	case NEED_OSXSAVE: c->cr4 |= 1u << 18; break;
	case NEED_AVX: c->cr4 |= 1u << 18; c->xcr0 = 7; break;
	case NEED_FSGSBASE: c->cr4 |= 1u << 16; break;
	case NEED_PKE: c->cr4 |= 1u << 22; break;
	case NEED_SMXE: c->cr4 |= 1u << 14; break;
	case NEED_SCE: c->efer |= X86_EFER_SCE; break;
	case NEED_VMXE: c->cr4 |= 1u << 13; break;
	default: break;
	}
}

static bool cpuid_bit(const struct soft_cpu *c, uint32_t leaf, uint32_t sub, enum reg r, unsigned bit)
{
	struct soft_cpuid_regs o;
	soft_cpuid(c, leaf, sub, &o);
	uint32_t v = r == EAX ? o.eax : r == EBX ? o.ebx : r == ECX ? o.ecx : o.edx;
	return (v >> bit) & 1;
}

static int step(struct env *e, const uint8_t *code, size_t n)
{
	memcpy(e->m.ram + CODE, code, n);
	e->c.rip = CODE;
	return soft_cpu_step(&e->c);
}

static void test_feature_bits_match_execution(void **state)
{
	struct env *e = env_new();
	unsigned advertised = 0;
	for (unsigned i = 0; i < sizeof(features) / sizeof(features[0]); i++) {
		const struct feature *f = &features[i];
		bool present = cpuid_bit(&e->c, f->leaf, f->subleaf, f->reg, f->bit);
		bool enable = f->need == NEED_OSXSAVE ? cpuid_bit(&e->c, 1, 0, ECX, 26)
			    : f->need == NEED_AVX   ? cpuid_bit(&e->c, 1, 0, ECX, 28)
						    : present;
		prepare(e, f->need, enable);
		int r = step(e, f->bytes, f->len);
		bool ud = r == SOFT_EXC && e->c.exc.vector == X86_EXC_UD;
		if (present && ud)
			fail_msg("%s: advertised (CPUID %#x.%u bit %u) but raises #UD", f->name, f->leaf,
				 f->subleaf, f->bit);
		if (!present && !ud)
			fail_msg("%s: not advertised (CPUID %#x.%u bit %u) but executes (status %d vector %u)",
				 f->name, f->leaf, f->subleaf, f->bit, r, e->c.exc.vector);
		advertised += present;
	}
	/* the baseline the model has always advertised */
	assert_true(advertised >= 20);
	soft_cpu_destroy(&e->c);
	soft_flatmem_destroy(&e->m);
	free(e);
}

/* LZCNT (80000001h:ECX.ABM[5]) and TZCNT (7.0:EBX.BMI1[3]) are F3-prefixed
 * BSR/BSF: without the feature the prefix is ignored, as on older CPUs. */
static void test_lzcnt_tzcnt_follow_cpuid(void **state)
{
	struct env *e = env_new();
	const uint8_t lzcnt[] = { 0xf3, 0x0f, 0xbd, 0xc1 }; /* lzcnt eax, ecx */
	const uint8_t tzcnt[] = { 0xf3, 0x0f, 0xbc, 0xc1 }; /* tzcnt eax, ecx */

	bool abm = cpuid_bit(&e->c, 0x80000001u, 0, ECX, 5);
	prepare(e, NEED_NONE, abm);
	e->c.gpr[GPR_RCX] = 1;
	assert_int_equal(step(e, lzcnt, sizeof(lzcnt)), SOFT_OK);
	assert_int_equal(e->c.gpr[GPR_RAX], abm ? 31 : 0); /* BSR of 1 is 0 */

	bool bmi1 = cpuid_bit(&e->c, 7, 0, EBX, 3);
	prepare(e, NEED_NONE, bmi1);
	e->c.gpr[GPR_RAX] = 0x1234;
	e->c.gpr[GPR_RCX] = 0;
	assert_int_equal(step(e, tzcnt, sizeof(tzcnt)), SOFT_OK);
	/* TZCNT of 0 is the operand size; BSF of 0 leaves the destination (ZF=1) */
	assert_int_equal(e->c.gpr[GPR_RAX], bmi1 ? 32 : 0x1234);
	soft_cpu_destroy(&e->c);
	soft_flatmem_destroy(&e->m);
	free(e);
}

/* IA32_ARCH_CAPABILITIES: enumerated by CPUID.(7,0):EDX[29], readable with
 * RDMSR, read-only (WRMSR is #GP(0)), and it carries RDCL_NO and MDS_NO, the
 * bits that let Linux run without page-table isolation and VERW clearing,
 * ITS_NO, without which Linux sends every RET through one thunk, and
 * IBRS_ALL (enhanced IBRS), without which it uses retpolines. */
static void test_arch_capabilities(void **state)
{
	const uint8_t rdmsr[] = { 0x0f, 0x32 }, wrmsr[] = { 0x0f, 0x30 };
	struct env *e = env_new();
	assert_true(cpuid_bit(&e->c, 7, 0, EDX, 29));
	prepare(e, NEED_NONE, false);
	e->c.gpr[GPR_RCX] = 0x10a;
	assert_int_equal(step(e, rdmsr, sizeof(rdmsr)), SOFT_OK);
	uint64_t v = (e->c.gpr[GPR_RDX] << 32) | (uint32_t)e->c.gpr[GPR_RAX];
	assert_true(v & (1u << 0));  /* RDCL_NO */
	assert_true(v & (1u << 5));  /* MDS_NO */
	assert_true(v & (1u << 8));  /* TAA_NO */
	assert_true(v & (1ULL << 62)); /* ITS_NO: no shared return thunk */
	assert_true(v & (1u << 1));  /* IBRS_ALL: no retpolines (needs IA32_SPEC_CTRL) */
	prepare(e, NEED_NONE, false);
	e->c.gpr[GPR_RCX] = 0x10a;
	int r = step(e, wrmsr, sizeof(wrmsr));
	assert_int_equal(r, SOFT_EXC);
	assert_int_equal(e->c.exc.vector, X86_EXC_GP);
	soft_cpu_destroy(&e->c);
	soft_flatmem_destroy(&e->m);
	free(e);
}

static int msr_insn(struct env *e, bool write, uint32_t msr, uint64_t v)
{
	static const uint8_t rdmsr[] = { 0x0f, 0x32 }, wrmsr[] = { 0x0f, 0x30 };
	prepare(e, NEED_NONE, false);
	e->c.gpr[GPR_RCX] = msr;
	e->c.gpr[GPR_RAX] = write ? (uint32_t)v : 0x5a5a5a5a;
	e->c.gpr[GPR_RDX] = write ? v >> 32 : 0x5a5a5a5a;
	e->c.exc.vector = 0xff;
	return step(e, write ? wrmsr : rdmsr, 2);
}

static uint64_t msr_read_ok(struct env *e, uint32_t msr)
{
	assert_int_equal(msr_insn(e, false, msr, 0), SOFT_OK);
	return (e->c.gpr[GPR_RDX] << 32) | (uint32_t)e->c.gpr[GPR_RAX];
}

static void assert_gp(struct env *e, bool write, uint32_t msr, uint64_t v)
{
	assert_int_equal(msr_insn(e, write, msr, v), SOFT_EXC);
	assert_int_equal(e->c.exc.vector, X86_EXC_GP);
}

/* IA32_SPEC_CTRL (MSR 0x48), enumerated with IBPB by CPUID.(7,0):EDX[26]
 * (SDM vol. 4, table 2-2): 0 after reset, IBRS (bit 0) and BHI_DIS_S (bit
 * 10, CPUID.(7,2):EDX[4], with leaf 7.0 EAX counting sub-leaf 2) writable
 * and read back; STIBP (bit 1) and SSBD (bit 2) are not enumerated
 * (EDX[27], EDX[31] clear), so they and every other bit are reserved:
 * #GP(0), value kept.  INIT/RESET clears it again. */
static void test_spec_ctrl(void **state)
{
	struct env *e = env_new();
	struct soft_cpuid_regs o;
	soft_cpuid(&e->c, 7, 0, &o);
	assert_true(o.eax >= 2);
	assert_true(cpuid_bit(&e->c, 7, 0, EDX, 26));
	assert_true(cpuid_bit(&e->c, 7, 2, EDX, 4));
	assert_false(cpuid_bit(&e->c, 7, 0, EDX, 27));
	assert_false(cpuid_bit(&e->c, 7, 0, EDX, 31));
	assert_int_equal(msr_read_ok(e, 0x48), 0);
	assert_int_equal(msr_insn(e, true, 0x48, 1), SOFT_OK);
	assert_int_equal(msr_read_ok(e, 0x48), 1);
	assert_int_equal(msr_insn(e, true, 0x48, 1u << 10 | 1), SOFT_OK);
	assert_int_equal(msr_read_ok(e, 0x48), 1u << 10 | 1);
	assert_gp(e, true, 0x48, 1u << 1);         /* STIBP */
	assert_gp(e, true, 0x48, 1u << 2);         /* SSBD */
	assert_gp(e, true, 0x48, 1u << 6);         /* RRSBA_DIS_S: no RRSBA_CTRL */
	assert_gp(e, true, 0x48, 1ULL << 32 | 1);  /* EDX half */
	assert_int_equal(msr_read_ok(e, 0x48), 1u << 10 | 1);
	assert_int_equal(msr_insn(e, true, 0x48, 1), SOFT_OK);
	assert_int_equal(msr_insn(e, true, 0x48, 0), SOFT_OK);
	assert_int_equal(msr_read_ok(e, 0x48), 0);
	assert_int_equal(msr_insn(e, true, 0x48, 1), SOFT_OK);
	soft_cpu_reset(&e->c);
	assert_int_equal(msr_read_ok(e, 0x48), 0);
	soft_cpu_destroy(&e->c);
	soft_flatmem_destroy(&e->m);
	free(e);
}

/* IA32_PRED_CMD (MSR 0x49): write-only; bit 0 (IBPB) is its only bit, any
 * other (SBPB, bit 7, is AMD's) is #GP(0), and RDMSR is #GP(0). */
static void test_pred_cmd(void **state)
{
	struct env *e = env_new();
	assert_int_equal(msr_insn(e, true, 0x49, 1), SOFT_OK);
	assert_int_equal(msr_insn(e, true, 0x49, 0), SOFT_OK);
	assert_gp(e, true, 0x49, 1u << 7);
	assert_gp(e, true, 0x49, 1ULL << 32 | 1);
	assert_gp(e, false, 0x49, 0);
	soft_cpu_destroy(&e->c);
	soft_flatmem_destroy(&e->m);
	free(e);
}

/* CR4 bits of features the model does not advertise are reserved: setting
 * one is #GP(0) (SDM vol. 3A 2.5); advertised ones are accepted. */
static void test_cr4_bits_follow_cpuid(void **state)
{
	static const struct {
		const char *name;
		unsigned cr4_bit;
		uint32_t leaf;
		enum reg reg;
		unsigned bit;
	} bits[] = {
		{ "VME", 0, 1, EDX, 1 }, { "PVI", 1, 1, EDX, 1 }, { "DE", 3, 1, EDX, 2 },
		{ "MCE", 6, 1, EDX, 7 }, { "UMIP", 11, 7, ECX, 2 }, { "LA57", 12, 7, ECX, 16 },
		{ "VMXE", 13, 1, ECX, 5 }, { "SMXE", 14, 1, ECX, 6 }, { "FSGSBASE", 16, 7, EBX, 0 },
		{ "PCIDE", 17, 1, ECX, 17 }, { "OSXSAVE", 18, 1, ECX, 26 }, { "SMEP", 20, 7, EBX, 7 },
		{ "SMAP", 21, 7, EBX, 20 }, { "PKE", 22, 7, ECX, 3 },
	};
	const uint8_t mov_cr4_rax[] = { 0x0f, 0x22, 0xe0 };
	struct env *e = env_new();
	for (unsigned i = 0; i < sizeof(bits) / sizeof(bits[0]); i++) {
		bool present = cpuid_bit(&e->c, bits[i].leaf, 0, bits[i].reg, bits[i].bit);
		prepare(e, NEED_NONE, false);
		e->c.gpr[GPR_RAX] = e->c.cr4 | (1ull << bits[i].cr4_bit);
		int r = step(e, mov_cr4_rax, sizeof(mov_cr4_rax));
		bool gp = r == SOFT_EXC && e->c.exc.vector == X86_EXC_GP;
		if (present == gp)
			fail_msg("CR4.%s: CPUID says %s, MOV CR4 gives status %d vector %u", bits[i].name,
				 present ? "present" : "absent", r, e->c.exc.vector);
	}
	soft_cpu_destroy(&e->c);
	soft_flatmem_destroy(&e->m);
	free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_feature_bits_match_execution),
		cmocka_unit_test(test_lzcnt_tzcnt_follow_cpuid),
		cmocka_unit_test(test_cr4_bits_follow_cpuid),
		cmocka_unit_test(test_arch_capabilities),
		cmocka_unit_test(test_spec_ctrl),
		cmocka_unit_test(test_pred_cmd),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
