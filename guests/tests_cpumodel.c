/* The CPU model seen from a guest: CPUID says exactly what executes.
 *
 * For each feature with an instruction, the guest reads the CPUID bit (as
 * the engine answers it, hook included), turns on what the SDM requires an
 * OS to turn on for a present feature (CR4.OSFXSR, CR4.OSXSAVE, CR4.FSGSBASE,
 * CR4.PKE), runs the instruction and checks: #UD exactly when the bit is
 * clear.  The #UD handler is this file's own: it overwrites IDT gate 6
 * (found with SIDT), counts the #UD and resumes after the instruction.
 * Soft engine only: on hardware, clearing a CPUID bit does not make most
 * instructions #UD.  64-bit images only. */
#include "guest.h"

#ifdef __x86_64__

struct cm_gate {
	uint16_t off0, sel;
	uint8_t ist, type;
	uint16_t off1;
	uint32_t off2, zero;
} __attribute__((packed));

volatile uint64_t cm_ud_hits, cm_ud_skip;
void cm_ud_stub(void);
/* #UD: no error code; RIP is at 0(%rsp).  Resume cm_ud_skip bytes later. */
__asm__(".text\n"
	".globl cm_ud_stub\n"
	"cm_ud_stub:\n"
	"	incq cm_ud_hits(%rip)\n"
	"	pushq %rax\n"
	"	movq cm_ud_skip(%rip), %rax\n"
	"	addq %rax, 8(%rsp)\n"
	"	popq %rax\n"
	"	iretq\n");

/* The instruction under test runs from its own page, followed by RET. */
static uint8_t cm_code[4096] __attribute__((aligned(4096)));
/* Its memory operand ([rax] / [rbx]): FXSAVE/XSAVE need 16/64-byte alignment. */
static uint8_t cm_data[8192] __attribute__((aligned(4096)));

static void cm_install_ud_handler(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) p;
	__asm__ volatile("sidt %0" : "=m"(p));
	GUEST_ASSERT(p.limit >= 7 * sizeof(struct cm_gate) - 1);
	struct cm_gate *g = (struct cm_gate *)p.base + 6;
	uint64_t off = (uint64_t)cm_ud_stub;
	g->off0 = (uint16_t)off;
	g->off1 = (uint16_t)(off >> 16);
	g->off2 = (uint32_t)(off >> 32);
	g->sel = GDT_CODE64;
	g->ist = 0;
	g->type = 0x8e;
	g->zero = 0;
}

static void cm_write_cr4(uint64_t v)
{
	__asm__ volatile("mov %0, %%cr4" : : "r"(v) : "memory");
}

/* Run len bytes at cm_code with RAX = RBX = cm_data, RCX = RDX = 0; returns
 * whether it raised #UD. */
static bool cm_run(const uint8_t *bytes, unsigned len)
{
	memcpy(cm_code, bytes, len);
	cm_code[len] = 0xc3; /* ret */
	cm_ud_skip = len;
	uint64_t before = cm_ud_hits;
	uint64_t a = (uint64_t)cm_data, b = a, c = 0, d = 0;
	__asm__ volatile("call *%[fn]"
			 : "+a"(a), "+b"(b), "+c"(c), "+d"(d)
			 : [fn] "r"((uint64_t)cm_code)
			 : "rsi", "rdi", "r8", "r9", "r10", "r11", "memory", "cc");
	return cm_ud_hits != before;
}

enum { R_EAX, R_EBX, R_ECX, R_EDX };
enum { NEED_NONE, NEED_OSXSAVE, NEED_AVX, NEED_FSGSBASE, NEED_PKE };

/* Sub-leaf 0, except leaf 0xD: sub-leaf 1 (XSAVEOPT, XSAVEC, XSAVES). */
struct cm_feature {
	const char *name;
	uint32_t leaf;
	uint8_t reg, bit, need, len;
	uint8_t bytes[8];
};

static const struct cm_feature cm_features[] = {
	{ "sse3 haddps", 1, R_ECX, 0, NEED_NONE, 4, { 0xf2, 0x0f, 0x7c, 0xc1 } },
	{ "pclmulqdq", 1, R_ECX, 1, NEED_NONE, 6, { 0x66, 0x0f, 0x3a, 0x44, 0xc1, 0x00 } },
	{ "ssse3 pshufb", 1, R_ECX, 9, NEED_NONE, 5, { 0x66, 0x0f, 0x38, 0x00, 0xc1 } },
	{ "fma", 1, R_ECX, 12, NEED_AVX, 5, { 0xc4, 0xe2, 0x79, 0xa8, 0xc1 } },
	{ "cx16", 1, R_ECX, 13, NEED_NONE, 4, { 0x48, 0x0f, 0xc7, 0x08 } },
	{ "sse4.1 ptest", 1, R_ECX, 19, NEED_NONE, 5, { 0x66, 0x0f, 0x38, 0x17, 0xc1 } },
	{ "sse4.2 crc32", 1, R_ECX, 20, NEED_NONE, 5, { 0xf2, 0x0f, 0x38, 0xf0, 0xc1 } },
	{ "movbe", 1, R_ECX, 22, NEED_NONE, 4, { 0x0f, 0x38, 0xf0, 0x00 } },
	{ "popcnt", 1, R_ECX, 23, NEED_NONE, 4, { 0xf3, 0x0f, 0xb8, 0xc1 } },
	{ "aesenc", 1, R_ECX, 25, NEED_NONE, 5, { 0x66, 0x0f, 0x38, 0xdc, 0xc1 } },
	{ "xgetbv", 1, R_ECX, 26, NEED_OSXSAVE, 3, { 0x0f, 0x01, 0xd0 } },
	{ "xsave", 1, R_ECX, 26, NEED_OSXSAVE, 3, { 0x0f, 0xae, 0x23 } },
	{ "xsaveopt", 0xd, R_EAX, 0, NEED_OSXSAVE, 3, { 0x0f, 0xae, 0x33 } },
	{ "xsavec", 0xd, R_EAX, 1, NEED_OSXSAVE, 3, { 0x0f, 0xc7, 0x23 } },
	{ "xsaves", 0xd, R_EAX, 3, NEED_OSXSAVE, 3, { 0x0f, 0xc7, 0x2b } },
	{ "avx vaddps", 1, R_ECX, 28, NEED_AVX, 4, { 0xc5, 0xf8, 0x58, 0xc1 } },
	{ "f16c", 1, R_ECX, 29, NEED_AVX, 5, { 0xc4, 0xe2, 0x79, 0x13, 0xc1 } },
	{ "rdrand", 1, R_ECX, 30, NEED_NONE, 3, { 0x0f, 0xc7, 0xf0 } },
	{ "tsc rdtsc", 1, R_EDX, 4, NEED_NONE, 2, { 0x0f, 0x31 } },
	{ "cx8", 1, R_EDX, 8, NEED_NONE, 3, { 0x0f, 0xc7, 0x08 } },
	{ "cmov", 1, R_EDX, 15, NEED_NONE, 3, { 0x0f, 0x44, 0xc1 } },
	{ "clflush", 1, R_EDX, 19, NEED_NONE, 3, { 0x0f, 0xae, 0x38 } },
	{ "mmx paddb", 1, R_EDX, 23, NEED_NONE, 3, { 0x0f, 0xfc, 0xc1 } },
	{ "fxsave", 1, R_EDX, 24, NEED_NONE, 3, { 0x0f, 0xae, 0x00 } },
	{ "sse addps", 1, R_EDX, 25, NEED_NONE, 3, { 0x0f, 0x58, 0xc1 } },
	{ "sse2 addpd", 1, R_EDX, 26, NEED_NONE, 4, { 0x66, 0x0f, 0x58, 0xc1 } },
	{ "rdfsbase", 7, R_EBX, 0, NEED_FSGSBASE, 5, { 0xf3, 0x48, 0x0f, 0xae, 0xc0 } },
	{ "bmi1 andn", 7, R_EBX, 3, NEED_NONE, 5, { 0xc4, 0xe2, 0x78, 0xf2, 0xc1 } },
	{ "avx2 vpaddd", 7, R_EBX, 5, NEED_AVX, 4, { 0xc5, 0xfd, 0xfe, 0xc1 } },
	{ "bmi2 pdep", 7, R_EBX, 8, NEED_NONE, 5, { 0xc4, 0xe2, 0x7b, 0xf5, 0xc1 } },
	{ "rtm xtest", 7, R_EBX, 11, NEED_NONE, 3, { 0x0f, 0x01, 0xd6 } },
	{ "rdseed", 7, R_EBX, 18, NEED_NONE, 3, { 0x0f, 0xc7, 0xf8 } },
	{ "adx adcx", 7, R_EBX, 19, NEED_NONE, 5, { 0x66, 0x0f, 0x38, 0xf6, 0xc1 } },
	{ "clflushopt", 7, R_EBX, 23, NEED_NONE, 4, { 0x66, 0x0f, 0xae, 0x38 } },
	{ "clwb", 7, R_EBX, 24, NEED_NONE, 4, { 0x66, 0x0f, 0xae, 0x30 } },
	{ "sha1nexte", 7, R_EBX, 29, NEED_NONE, 4, { 0x0f, 0x38, 0xc8, 0xc1 } },
	{ "pku rdpkru", 7, R_ECX, 3, NEED_PKE, 3, { 0x0f, 0x01, 0xee } },
	{ "gfni", 7, R_ECX, 8, NEED_NONE, 5, { 0x66, 0x0f, 0x38, 0xcf, 0xc1 } },
	{ "rdpid", 7, R_ECX, 22, NEED_NONE, 4, { 0xf3, 0x0f, 0xc7, 0xf8 } },
	{ "movdiri", 7, R_ECX, 27, NEED_NONE, 4, { 0x0f, 0x38, 0xf9, 0x00 } },
	{ "movdir64b", 7, R_ECX, 28, NEED_NONE, 5, { 0x66, 0x0f, 0x38, 0xf8, 0x00 } },
	{ "serialize", 7, R_EDX, 14, NEED_NONE, 3, { 0x0f, 0x01, 0xe8 } },
	{ "lahf", 0x80000001u, R_ECX, 0, NEED_NONE, 1, { 0x9f } },
	{ "rdtscp", 0x80000001u, R_EDX, 27, NEED_NONE, 3, { 0x0f, 0x01, 0xf9 } },
};

static void test_cpuid_model(void)
{
	uint32_t r[4];
	unsigned present_count = 0;
	cm_install_ud_handler();
	/* what an OS does before it uses SSE: CR0.EM=0, TS=0, MP=1; CR4.OSFXSR/OSXMMEXCPT */
	uintptr_t cr0 = read_cr0();
	__asm__ volatile("mov %0, %%cr0" : : "r"((cr0 & ~(uintptr_t)(4 | 8)) | 2) : "memory");
	cm_write_cr4(read_cr4() | (1u << 9) | (1u << 10));

	cpuid(0, 0, r);
	uint32_t max_basic = r[0];
	/* XSAVE present: the OS sets CR4.OSXSAVE; AVX present: XCR0 = x87|SSE|AVX.
	 * Then XSAVEOPT/XSAVEC/XSAVES and FMA/F16C/AVX2 are tested with their
	 * state enabled, so their own CPUID bits are what decides. */
	cpuid(1, 0, r);
	if (r[R_ECX] & (1u << 26))
		cm_write_cr4(read_cr4() | (1u << 18));
	if ((r[R_ECX] & (1u << 26)) && (r[R_ECX] & (1u << 28)))
		__asm__ volatile("xsetbv" : : "a"(7u), "d"(0u), "c"(0u) : "memory");
	for (unsigned i = 0; i < sizeof(cm_features) / sizeof(cm_features[0]); i++) {
		const struct cm_feature *f = &cm_features[i];
		bool present = false;
		if (f->leaf < 0x80000000u ? f->leaf <= max_basic : true) {
			cpuid(f->leaf, f->leaf == 0xd ? 1 : 0, r);
			present = (r[f->reg] >> f->bit) & 1;
		}
		if (present) {
			present_count++;
			if (f->need == NEED_FSGSBASE)
				cm_write_cr4(read_cr4() | (1u << 16));
			if (f->need == NEED_PKE)
				cm_write_cr4(read_cr4() | (1u << 22));
		}
		bool ud = cm_run(f->bytes, f->len);
		if (present == ud) {
			serial_puts(f->name);
			serial_puts(present ? ": advertised but #UD\n" : ": not advertised but executes\n");
			GUEST_FAIL(present ? "feature advertised but #UD (leaf, reg, bit)"
					   : "feature not advertised but executes (leaf, reg, bit)",
				   f->leaf, f->reg, f->bit);
		}
	}
	GUEST_SYNC("cpuid-model features present", present_count);
	GUEST_ASSERT(present_count >= 15);

	/* #UD that --stats must name: UD2 by its identity (20 times, so it is
	 * the most frequent), and LOCK NOP as an undefined encoding. */
	static const uint8_t ud2[] = { 0x0f, 0x0b }, lock_nop[] = { 0xf0, 0x90 };
	for (int i = 0; i < 20; i++)
		GUEST_ASSERT(cm_run(ud2, sizeof(ud2)));
	GUEST_ASSERT(cm_run(lock_nop, sizeof(lock_nop)));
	GUEST_DONE();
}

GUEST_TEST("cpuid-model", test_cpuid_model);

#endif
