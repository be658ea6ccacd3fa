/* Soft CPU system architecture: descriptor tables, IDT delivery in real,
 * protected and long mode (stack switches, IST, error codes, #DF, triple
 * fault), IRET, SYSCALL/SYSRET, call gates and far returns, control
 * registers, MSRs and the system hooks, the interrupt shadow, the I/O
 * bitmap, LAR/LSL/VERR/VERW, LTR.  The test plays the engine: it runs the
 * core and delivers what it reports (soft_cpu_deliver_exception). */
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
#include "src/cpu/soft/sys.h"
#include "xorshift.h"

#define MEM (1u << 20)
#define GDT 0x800
#define IDT 0x2000
#define TSS 0x4000
#define CODE 0x10000
#define DATA 0x20000
#define IST1 0x50008 /* aligned down to 0x50000 on use */
#define USTACK 0x60000
#define KSTACK 0x70000

#define SYM(n) extern const uint8_t n[]
#define SNIPX(n) extern const uint8_t n[], n##_end[]
SNIPX(s_lm_int); SYM(s_lm_int_ret); SYM(s_lm_int_ud); SYM(s_lm_int_h80); SYM(s_lm_int_hud);
SNIPX(s_lm_pf); SYM(s_lm_pf_fault); SYM(s_lm_pf_h);
SNIPX(s_syscall); SYM(s_syscall_user_ret); SYM(s_syscall_entry);
SNIPX(s_df); SYM(s_df_h);
SNIPX(s_lm_gate); SYM(s_lm_gate_ret); SYM(s_lm_gate_h); SYM(s_lm_gate_hud);
SNIPX(s_pm32); SYM(s_pm32_ret); SYM(s_pm32_int31); SYM(s_pm32_h30); SYM(s_pm32_hgp);
SNIPX(s_gate32); SYM(s_gate32_ret); SYM(s_gate32_h); SYM(s_gate32_hud);
SNIPX(s_real); SYM(s_real_h);

/* guest address of a label inside the snippet starting at base */
#define AT(base, lbl) (CODE + (uint64_t)((const uint8_t *)(lbl) - (const uint8_t *)(base)))

struct hooks {
	unsigned flush_all, flush_nonglobal, flush_page;
	uint64_t last_page;
	uint32_t last_msr;
	uint64_t last_val;
	unsigned cpuid_calls;
	bool accept_all;
};

struct env {
	struct soft_flatmem m;
	struct soft_cpu c;
	struct hooks h;
	struct soft_sys_ops sys;
};

static void h_flush(void *o, enum soft_flush k, uint64_t la)
{
	struct hooks *h = o;
	if (k == SOFT_FLUSH_ALL)
		h->flush_all++;
	else if (k == SOFT_FLUSH_NONGLOBAL)
		h->flush_nonglobal++;
	else {
		h->flush_page++;
		h->last_page = la;
	}
}

static int h_rdmsr(void *o, uint32_t msr, uint64_t *v)
{
	struct hooks *h = o;
	if (msr == 0x4b564d01) {
		*v = h->last_val;
		return 0;
	}
	return -1;
}

static int h_wrmsr(void *o, uint32_t msr, uint64_t v)
{
	struct hooks *h = o;
	if (msr != 0x4b564d01 && !h->accept_all)
		return -1;
	h->last_msr = msr;
	h->last_val = v;
	return 0;
}

static void h_cpuid(void *o, uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	struct hooks *h = o;
	h->cpuid_calls++;
	if (leaf == 1)
		r[1] = (r[1] & 0x00ffffff) | (5u << 24); /* APIC ID 5 */
	if (leaf == 0x40000001)
		r[0] = 0xabcd;
	(void)sub;
}

static void put64(struct env *e, uint64_t a, uint64_t v) { memcpy(e->m.ram + a, &v, 8); }
static void put32(struct env *e, uint64_t a, uint32_t v) { memcpy(e->m.ram + a, &v, 4); }
static void put16(struct env *e, uint64_t a, uint16_t v) { memcpy(e->m.ram + a, &v, 2); }
static uint64_t get64(struct env *e, uint64_t a) { uint64_t v; memcpy(&v, e->m.ram + a, 8); return v; }
static uint32_t get32(struct env *e, uint64_t a) { uint32_t v; memcpy(&v, e->m.ram + a, 4); return v; }

/* GDT layout (both modes):
 * 08 kernel code 64   10 kernel data   18 user code 32   20 user data
 * 28 user code 64     30 TSS (16 bytes in long mode)
 * 48 32-bit call gate (legacy)  50 kernel code 32  58 data DPL0 not present
 * 60 64-bit call gate (16 bytes) */
static void build_gdt(struct env *e, bool lm)
{
	put64(e, GDT + 0x08, 0x00af9a000000ffffULL);
	put64(e, GDT + 0x10, 0x00cf92000000ffffULL);
	put64(e, GDT + 0x18, 0x00cffa000000ffffULL);
	put64(e, GDT + 0x20, 0x00cff2000000ffffULL);
	put64(e, GDT + 0x28, 0x00affa000000ffffULL);
	/* TSS: base TSS, limit 0x68 + 32 bytes of I/O bitmap + 1 */
	uint64_t lim = 0x68 + 32;
	put64(e, GDT + 0x30, (lim & 0xffff) | ((uint64_t)(TSS & 0xffffff) << 16) | (0x89ULL << 40));
	put64(e, GDT + 0x38, 0);
	put64(e, GDT + 0x50, 0x00cf9a000000ffffULL);
	put64(e, GDT + 0x58, 0x00cf12000000ffffULL); /* present bit clear */
	e->c.gdt.base = GDT;
	e->c.gdt.limit = 0x6f;
	/* TSS contents */
	memset(e->m.ram + TSS, 0, 0x68 + 33);
	if (lm) {
		put64(e, TSS + 4, KSTACK);        /* RSP0 */
		put64(e, TSS + 0x24, IST1);       /* IST1 */
	} else {
		put32(e, TSS + 4, KSTACK);        /* ESP0 */
		put16(e, TSS + 8, 0x10);          /* SS0 */
	}
	put16(e, TSS + 0x66, 0x68);               /* I/O bitmap base */
	memset(e->m.ram + TSS + 0x68, 0xff, 33);
	e->m.ram[TSS + 0x68 + 0x80 / 8] &= (uint8_t)~1; /* port 0x80 allowed */
}

static void idt_gate64(struct env *e, unsigned v, uint64_t off, uint16_t sel, unsigned type,
		       unsigned dpl, unsigned ist)
{
	uint64_t lo = (off & 0xffff) | ((uint64_t)sel << 16) | ((uint64_t)ist << 32) |
		      ((uint64_t)type << 40) | ((uint64_t)dpl << 45) | (1ULL << 47) |
		      (((off >> 16) & 0xffff) << 48);
	put64(e, IDT + v * 16, lo);
	put64(e, IDT + v * 16 + 8, off >> 32);
}

static void idt_gate32(struct env *e, unsigned v, uint32_t off, uint16_t sel, unsigned type, unsigned dpl)
{
	uint64_t lo = (off & 0xffff) | ((uint64_t)sel << 16) | ((uint64_t)type << 40) |
		      ((uint64_t)dpl << 45) | (1ULL << 47) | ((uint64_t)(off >> 16) << 48);
	put64(e, IDT + v * 8, lo);
}

static void load_seg(struct env *e, unsigned seg, uint16_t sel)
{
	uint64_t d;
	memcpy(&d, e->m.ram + GDT + (sel & ~7u), 8);
	sys_seg_from_desc(&e->c.seg[seg], sel, d, 0);
}

static void load_tr(struct env *e)
{
	uint64_t d[2];
	memcpy(d, e->m.ram + GDT + 0x30, 16);
	sys_seg_from_desc(&e->c.tr, 0x30, d[0], d[1]);
	e->c.tr.type = 0xb;
}

static struct env *env_new(void)
{
	struct env *e = calloc(1, sizeof(*e));
	assert_non_null(e);
	assert_int_equal(soft_flatmem_init(&e->m, MEM), 0);
	assert_int_equal(soft_cpu_init(&e->c, &soft_flatmem_ops, &e->m, true), 0);
	e->sys = (struct soft_sys_ops){ .tlb_flush = h_flush, .rdmsr = h_rdmsr, .wrmsr = h_wrmsr,
					.cpuid = h_cpuid, .opaque = &e->h };
	e->c.sys = &e->sys;
	return e;
}

/* Long mode, ring `cpl` (0 or 3), flat segments from the GDT. */
static struct env *env_lm(unsigned cpl)
{
	struct env *e = env_new();
	build_gdt(e, true);
	e->c.idt.base = IDT;
	e->c.idt.limit = 256 * 16 - 1;
	e->c.cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_NE | X86_CR0_PG;
	e->c.cr4 = X86_CR4_PAE | X86_CR4_OSFXSR;
	e->c.efer = X86_EFER_LME | X86_EFER_LMA;
	if (cpl == 3) {
		load_seg(e, SEG_CS, 0x2b);
		for (unsigned s = 0; s < SEG_COUNT; s++)
			if (s != SEG_CS)
				load_seg(e, s, 0x23);
		e->c.gpr[GPR_RSP] = USTACK;
	} else {
		load_seg(e, SEG_CS, 0x08);
		for (unsigned s = 0; s < SEG_COUNT; s++)
			if (s != SEG_CS)
				load_seg(e, s, 0x10);
		e->c.gpr[GPR_RSP] = KSTACK;
	}
	load_tr(e);
	soft_cpu_update_mode(&e->c);
	assert_int_equal(e->c.mode, SOFT_MODE_64);
	assert_int_equal(e->c.cpl, cpl);
	e->c.rip = CODE;
	e->c.rflags = X86_RFLAGS_FIXED | X86_RFLAGS_IF;
	return e;
}

/* 32-bit protected mode, ring `cpl`. */
static struct env *env_pm(unsigned cpl)
{
	struct env *e = env_new();
	build_gdt(e, false);
	/* legacy 32-bit call gate at 0x48: DPL 3, 1 parameter, -> 0x50:handler (set by test) */
	e->c.idt.base = IDT;
	e->c.idt.limit = 256 * 8 - 1;
	e->c.cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_NE;
	load_seg(e, SEG_CS, cpl == 3 ? 0x1b : 0x50);
	for (unsigned s = 0; s < SEG_COUNT; s++)
		if (s != SEG_CS)
			load_seg(e, s, cpl == 3 ? 0x23 : 0x10);
	load_tr(e);
	soft_cpu_update_mode(&e->c);
	assert_int_equal(e->c.mode, SOFT_MODE_32);
	assert_int_equal(e->c.cpl, cpl);
	e->c.gpr[GPR_RSP] = cpl == 3 ? USTACK : KSTACK;
	e->c.rip = CODE;
	e->c.rflags = X86_RFLAGS_FIXED | X86_RFLAGS_IF;
	return e;
}

static void env_free(struct env *e)
{
	soft_cpu_destroy(&e->c);
	soft_flatmem_destroy(&e->m);
	free(e);
}

static void load(struct env *e, const uint8_t *s, const uint8_t *end)
{
	memcpy(e->m.ram + CODE, s, (size_t)(end - s));
}

/* The engine's loop: run, deliver events, until HLT or a stop status. */
static int run_engine(struct env *e)
{
	for (int i = 0; i < 100; i++) {
		int r = soft_cpu_run(&e->c, 100000, NULL);
		if (r != SOFT_EXC)
			return r;
		r = soft_cpu_deliver_exception(&e->c);
		if (r)
			return r;
	}
	return -1;
}

/* Execute raw instruction bytes at CODE (one step). */
static int step_bytes(struct env *e, const uint8_t *b, size_t n)
{
	memcpy(e->m.ram + CODE, b, n);
	e->c.rip = CODE;
	soft_cpu_flush_code_tlb(&e->c);
	soft_cpu_invalidate_code(&e->c, CODE, 16);
	return soft_cpu_step(&e->c);
}
#define STEP(e, ...) step_bytes(e, (const uint8_t[]){ __VA_ARGS__ }, sizeof((const uint8_t[]){ __VA_ARGS__ }))

/* a macro so a failure reports the caller's line */
#define expect_exc(e, r, vec, err)                                   \
	do {                                                         \
		int r_ = (r);                                        \
		assert_int_equal(r_, SOFT_EXC);                      \
		assert_int_equal((e)->c.exc.vector, (vec));          \
		assert_int_equal((e)->c.exc.error_code, (err));      \
	} while (0)

/* ---- long mode ---- */

static void test_lm_int80_iretq(void **state)
{
	struct env *e = env_lm(3);
	load(e, s_lm_int, s_lm_int_end);
	idt_gate64(e, 0x80, AT(s_lm_int, s_lm_int_h80), 0x08, 0xe, 3, 0);
	idt_gate64(e, 6, AT(s_lm_int, s_lm_int_hud), 0x08, 0xe, 0, 0);
	assert_int_equal(run_engine(e), SOFT_HLT);
	struct soft_cpu *c = &e->c;
	assert_int_equal(c->gpr[GPR_R8], AT(s_lm_int, s_lm_int_ret)); /* RIP after INT */
	assert_int_equal(c->gpr[GPR_R9], 0x2b);
	assert_true(c->gpr[GPR_R10] & X86_RFLAGS_IF);
	assert_int_equal(c->gpr[GPR_R11], USTACK);
	assert_int_equal(c->gpr[GPR_R12], 0x23);
	assert_int_equal(c->gpr[GPR_R13], KSTACK - 40);
	assert_false(c->gpr[GPR_RBP] & X86_RFLAGS_IF); /* interrupt gate cleared IF */
	assert_int_equal(c->gpr[GPR_RBX], 101);         /* back in ring 3 after IRETQ */
	/* #UD from ring 3: frame on RSP0 */
	assert_int_equal(c->gpr[GPR_R14], KSTACK - 40);
	assert_int_equal(get64(e, KSTACK - 40), AT(s_lm_int, s_lm_int_ud));
	assert_int_equal(get64(e, KSTACK - 32), 0x2b);
	assert_int_equal(get64(e, KSTACK - 16), USTACK);
	assert_int_equal(get64(e, KSTACK - 8), 0x23);
	assert_int_equal(c->cpl, 0);
	assert_int_equal(c->seg[SEG_CS].selector, 0x08);
	assert_int_equal(c->seg[SEG_SS].selector, 0);
	env_free(e);

	/* INT 0x80 through a DPL-0 gate from ring 3: #GP(0x80*8+2) */
	e = env_lm(3);
	load(e, s_lm_int, s_lm_int_end);
	idt_gate64(e, 0x80, AT(s_lm_int, s_lm_int_h80), 0x08, 0xe, 0, 0);
	idt_gate64(e, 13, AT(s_lm_int, s_lm_int_hud), 0x08, 0xe, 0, 0);
	assert_int_equal(run_engine(e), SOFT_HLT);
	assert_int_equal(get64(e, KSTACK - 48), 0x80 * 8 + 2);           /* error code */
	assert_int_equal(get64(e, KSTACK - 40), AT(s_lm_int, s_lm_int_ret) - 2); /* the INT (a fault) */
	env_free(e);
}

static void test_lm_pf_ist(void **state)
{
	struct env *e = env_lm(0);
	load(e, s_lm_pf, s_lm_pf_end);
	idt_gate64(e, 14, AT(s_lm_pf, s_lm_pf_h), 0x08, 0xe, 0, 1);
	assert_int_equal(run_engine(e), SOFT_HLT);
	struct soft_cpu *c = &e->c;
	assert_int_equal(c->gpr[GPR_R13], (IST1 & ~15ULL) - 48);
	assert_int_equal(c->gpr[GPR_R8], 0);                       /* error code: read, not present */
	assert_int_equal(c->gpr[GPR_R9], AT(s_lm_pf, s_lm_pf_fault)); /* faulting instruction */
	assert_int_equal(c->gpr[GPR_R10], 0x10000000);             /* CR2 */
	assert_int_equal(get64(e, (IST1 & ~15ULL) - 8), 0x10);     /* old SS */
	assert_int_equal(get64(e, (IST1 & ~15ULL) - 16), KSTACK);  /* old RSP */
	assert_true(get64(e, (IST1 & ~15ULL) - 24) & (1u << 16));  /* RF in a fault's image */
	env_free(e);
}

static void test_syscall_sysret(void **state)
{
	struct env *e = env_lm(0);
	load(e, s_syscall, s_syscall_end);
	e->c.seg[SEG_GS].base = 0x777;
	assert_int_equal(run_engine(e), SOFT_HLT);
	struct soft_cpu *c = &e->c;
	assert_int_equal(c->gpr[GPR_R14], AT(s_syscall, s_syscall_user_ret));
	assert_int_equal(c->gpr[GPR_R15] & 0x200, 0x200);      /* user RFLAGS.IF saved in R11 */
	assert_int_equal(c->gpr[GPR_R13] & 0x200, 0);          /* SFMASK cleared IF */
	assert_int_equal(c->gpr[GPR_RDI], 42);
	assert_int_equal(c->seg[SEG_CS].selector, 0x08);
	assert_int_equal(c->seg[SEG_SS].selector, 0x10);
	assert_int_equal(c->cpl, 0);
	assert_int_equal(c->mode, SOFT_MODE_64);
	assert_int_equal(c->gpr[GPR_RSP], USTACK);             /* SYSCALL keeps RSP */
	assert_int_equal(c->seg[SEG_GS].base, 0x1234000);      /* SWAPGS */
	assert_int_equal(c->kernel_gs_base, 0x777);
	env_free(e);

	/* SYSCALL with EFER.SCE=0: #UD; SYSRET at CPL 3: #GP */
	e = env_lm(0);
	expect_exc(e, STEP(e, 0x0f, 0x05), X86_EXC_UD, 0);
	e->c.efer |= X86_EFER_SCE;
	env_free(e);
	e = env_lm(3);
	e->c.efer |= X86_EFER_SCE;
	expect_exc(e, STEP(e, 0x48, 0x0f, 0x07), X86_EXC_GP, 0);
	expect_exc(e, STEP(e, 0x0f, 0x01, 0xf8), X86_EXC_GP, 0); /* SWAPGS at CPL 3 */
	env_free(e);
}

static void test_double_and_triple_fault(void **state)
{
	struct env *e = env_lm(0);
	load(e, s_df, s_df_end);
	idt_gate64(e, 8, AT(s_df, s_df_h), 0x08, 0xe, 0, 0);
	/* #UD's gate missing -> #NP(6*8+2+1); #NP's gate missing -> #DF(0) */
	assert_int_equal(run_engine(e), SOFT_HLT);
	assert_int_equal(e->c.gpr[GPR_R8], 0);          /* #DF error code */
	assert_int_equal(e->c.gpr[GPR_R9], CODE);       /* the ud2 */
	env_free(e);

	e = env_lm(0);
	load(e, s_df, s_df_end);
	assert_int_equal(run_engine(e), SOFT_SHUTDOWN);
	assert_non_null(strstr(e->c.error, "triple fault"));
	env_free(e);

	/* IDT limit too small for the #GP gate: still a shutdown, no host access */
	e = env_lm(0);
	load(e, s_df, s_df_end);
	e->c.idt.limit = 15;
	assert_int_equal(run_engine(e), SOFT_SHUTDOWN);
	env_free(e);
}

static void test_lm_call_gate(void **state)
{
	struct env *e = env_lm(3);
	load(e, s_lm_gate, s_lm_gate_end);
	uint64_t h = AT(s_lm_gate, s_lm_gate_h);
	/* 64-bit call gate at 0x60, DPL 3 -> 0x08:h */
	put64(e, GDT + 0x60, (h & 0xffff) | (0x08ULL << 16) | (0xcULL << 40) | (3ULL << 45) | (1ULL << 47) |
			     (((h >> 16) & 0xffff) << 48));
	put64(e, GDT + 0x68, h >> 32);
	idt_gate64(e, 6, AT(s_lm_gate, s_lm_gate_hud), 0x08, 0xe, 0, 0);
	assert_int_equal(run_engine(e), SOFT_HLT);
	struct soft_cpu *c = &e->c;
	assert_int_equal(c->gpr[GPR_R8], AT(s_lm_gate, s_lm_gate_ret));
	assert_int_equal(c->gpr[GPR_R9], 0x2b);
	assert_int_equal(c->gpr[GPR_R10], USTACK);
	assert_int_equal(c->gpr[GPR_R11], 0x23);
	assert_int_equal(c->gpr[GPR_R13], KSTACK - 32);
	assert_int_equal(c->gpr[GPR_RBX], USTACK);     /* back in ring 3 with its stack */
	env_free(e);
}

/* ---- 32-bit protected mode ---- */

static void test_pm32_interrupts(void **state)
{
	struct env *e = env_pm(3);
	load(e, s_pm32, s_pm32_end);
	idt_gate32(e, 0x30, (uint32_t)AT(s_pm32, s_pm32_h30), 0x50, 0xe, 3);
	idt_gate32(e, 0x31, (uint32_t)AT(s_pm32, s_pm32_h30), 0x50, 0xe, 0);
	idt_gate32(e, 13, (uint32_t)AT(s_pm32, s_pm32_hgp), 0x50, 0xf, 0);
	assert_int_equal(run_engine(e), SOFT_HLT);
	struct soft_cpu *c = &e->c;
	assert_int_equal(get32(e, DATA), AT(s_pm32, s_pm32_ret));
	assert_int_equal(get32(e, DATA + 4), 0x1b);
	assert_true(get32(e, DATA + 8) & X86_RFLAGS_IF);
	assert_int_equal(get32(e, DATA + 12), USTACK);
	assert_int_equal(get32(e, DATA + 16), 0x23);
	assert_int_equal(get32(e, DATA + 20), KSTACK - 20);
	assert_false(get32(e, DATA + 24) & X86_RFLAGS_IF);
	assert_int_equal(c->gpr[GPR_RBX], 8);                     /* IRET back to ring 3 */
	assert_int_equal(c->gpr[GPR_RDX], 0x31 * 8 + 2);          /* #GP error: IDT, vector 0x31 */
	assert_int_equal(c->gpr[GPR_RSI], AT(s_pm32, s_pm32_int31));
	assert_int_equal(c->gpr[GPR_RDI], KSTACK - 24);
	assert_int_equal(c->seg[SEG_SS].selector, 0x10);
	assert_int_equal(c->seg[SEG_CS].selector, 0x50);
	assert_true(c->rflags & X86_RFLAGS_IF);                   /* trap gate keeps IF */
	env_free(e);
}

static void test_pm32_call_gate(void **state)
{
	struct env *e = env_pm(3);
	load(e, s_gate32, s_gate32_end);
	uint32_t h = (uint32_t)AT(s_gate32, s_gate32_h);
	put64(e, GDT + 0x48, (h & 0xffff) | (0x50ULL << 16) | (1ULL << 32) | (0xcULL << 40) | (3ULL << 45) |
			     (1ULL << 47) | ((uint64_t)(h >> 16) << 48));
	idt_gate32(e, 6, (uint32_t)AT(s_gate32, s_gate32_hud), 0x50, 0xe, 0);
	assert_int_equal(run_engine(e), SOFT_HLT);
	struct soft_cpu *c = &e->c;
	assert_int_equal(c->gpr[GPR_RSI], AT(s_gate32, s_gate32_ret));
	assert_int_equal(c->gpr[GPR_RDX], 0x1b);
	assert_int_equal(c->gpr[GPR_RBX], 0x99);              /* copied parameter */
	assert_int_equal(c->gpr[GPR_RCX], USTACK - 4);        /* old ESP */
	assert_int_equal(c->gpr[GPR_RDI], 0x23);              /* old SS */
	assert_int_equal(get32(e, DATA), KSTACK - 20);
	assert_int_equal(c->gpr[GPR_RBP], USTACK);            /* RETF 4 released the parameter */
	env_free(e);

	/* far call to a non-present gate: #NP(0x48); to a DPL-0 data segment: #GP */
	e = env_pm(3);
	put64(e, GDT + 0x48, (0x50ULL << 16) | (0xcULL << 40) | (3ULL << 45));
	expect_exc(e, STEP(e, 0x9a, 0, 0, 0, 0, 0x4b, 0), X86_EXC_NP, 0x48);
	expect_exc(e, STEP(e, 0x9a, 0, 0, 0, 0, 0x10, 0), X86_EXC_GP, 0x10);
	env_free(e);
}

static void test_segment_loads(void **state)
{
	struct env *e = env_pm(3);
	e->c.gpr[GPR_RAX] = 0x10;
	expect_exc(e, STEP(e, 0x8e, 0xd8), X86_EXC_GP, 0x10);                       /* DS = DPL-0 data */
	e->c.gpr[GPR_RAX] = 0x5b;
	expect_exc(e, STEP(e, 0x8e, 0xd8), X86_EXC_GP, 0x58);                       /* DPL 0 < CPL */
	e->c.gpr[GPR_RAX] = 0x100;
	expect_exc(e, STEP(e, 0x8e, 0xd8), X86_EXC_GP, 0x100);                      /* beyond the GDT */
	e->c.gpr[GPR_RAX] = 0x1b;
	expect_exc(e, STEP(e, 0x8e, 0xd0), X86_EXC_GP, 0x18);                       /* SS = code */
	e->c.gpr[GPR_RAX] = 0;
	assert_int_equal(STEP(e, 0x8e, 0xd8), SOFT_OK);                              /* null DS is fine */
	assert_true(e->c.seg[SEG_DS].unusable);
	expect_exc(e, STEP(e, 0x8e, 0xd0), X86_EXC_GP, 0);                          /* null SS is not */
	env_free(e);

	e = env_pm(0);
	e->c.gpr[GPR_RAX] = 0x58;
	expect_exc(e, STEP(e, 0x8e, 0xd8), X86_EXC_NP, 0x58);                       /* not present */
	expect_exc(e, STEP(e, 0x8e, 0xd0), X86_EXC_SS, 0x58);                       /* SS: #SS */
	e->c.gpr[GPR_RAX] = 0x10;
	assert_int_equal(STEP(e, 0x8e, 0xd0), SOFT_OK);                              /* MOV SS: shadow */
	assert_false(soft_cpu_interruptible(&e->c));
	env_free(e);
}

static void test_descriptor_insns(void **state)
{
	struct env *e = env_pm(0);
	struct soft_cpu *c = &e->c;
	/* SGDT / SIDT / LIDT (32-bit) */
	c->gpr[GPR_RAX] = DATA;
	assert_int_equal(STEP(e, 0x0f, 0x01, 0x00), SOFT_OK);
	assert_int_equal(get32(e, DATA) & 0xffff, 0x6f);
	assert_int_equal(get32(e, DATA + 2), GDT);
	put16(e, DATA + 16, 0x123);
	put32(e, DATA + 18, 0x45678);
	c->gpr[GPR_RAX] = DATA + 16;
	assert_int_equal(STEP(e, 0x0f, 0x01, 0x18), SOFT_OK);
	assert_int_equal(c->idt.limit, 0x123);
	assert_int_equal(c->idt.base, 0x45678);
	/* LTR marks the TSS busy; a busy TSS cannot be loaded again */
	c->tr.selector = 0;
	c->gpr[GPR_RAX] = 0x30;
	assert_int_equal(STEP(e, 0x0f, 0x00, 0xd8), SOFT_OK);
	assert_int_equal(e->m.ram[GDT + 0x35] & 0xf, 0xb);
	assert_int_equal(c->tr.base, TSS);
	expect_exc(e, STEP(e, 0x0f, 0x00, 0xd8), X86_EXC_GP, 0x30);
	assert_int_equal(STEP(e, 0x0f, 0x00, 0xc9), SOFT_OK); /* STR ecx */
	assert_int_equal(c->gpr[GPR_RCX], 0x30);
	/* LAR / LSL / VERR / VERW */
	c->gpr[GPR_RAX] = 0x1b;
	assert_int_equal(STEP(e, 0x0f, 0x02, 0xd8), SOFT_OK); /* lar eax -> ebx */
	assert_true(soft_get_rflags(c) & X86_RFLAGS_ZF);
	assert_int_equal(c->gpr[GPR_RBX], 0x00c0fa00);        /* limit 19:16 masked out */
	assert_int_equal(STEP(e, 0x0f, 0x03, 0xd8), SOFT_OK); /* lsl */
	assert_int_equal(c->gpr[GPR_RBX], 0xffffffff);
	assert_int_equal(STEP(e, 0x0f, 0x00, 0xe0), SOFT_OK); /* verr: code readable */
	assert_true(soft_get_rflags(c) & X86_RFLAGS_ZF);
	assert_int_equal(STEP(e, 0x0f, 0x00, 0xe8), SOFT_OK); /* verw: code never */
	assert_false(soft_get_rflags(c) & X86_RFLAGS_ZF);
	c->gpr[GPR_RAX] = 0x400;                              /* beyond the limit: ZF=0, no fault */
	assert_int_equal(STEP(e, 0x0f, 0x02, 0xd8), SOFT_OK);
	assert_false(soft_get_rflags(c) & X86_RFLAGS_ZF);
	env_free(e);

	/* ring 3: LGDT #GP, LAR on a DPL-0 segment: ZF=0 */
	e = env_pm(3);
	c = &e->c;
	c->gpr[GPR_RAX] = DATA;
	expect_exc(e, STEP(e, 0x0f, 0x01, 0x10), X86_EXC_GP, 0);
	c->gpr[GPR_RAX] = 0x10;
	assert_int_equal(STEP(e, 0x0f, 0x02, 0xd8), SOFT_OK);
	assert_false(soft_get_rflags(c) & X86_RFLAGS_ZF);
	env_free(e);

	/* long mode LGDT takes a 10-byte operand */
	e = env_lm(0);
	c = &e->c;
	put16(e, DATA, 0xfff);
	put64(e, DATA + 2, 0xffff800000001000ULL);
	c->gpr[GPR_RAX] = DATA;
	assert_int_equal(STEP(e, 0x0f, 0x01, 0x10), SOFT_OK);
	assert_int_equal(c->gdt.base, 0xffff800000001000ULL);
	put64(e, DATA + 2, 0x0000800000001000ULL);            /* non-canonical base: #GP */
	expect_exc(e, STEP(e, 0x0f, 0x01, 0x10), X86_EXC_GP, 0);
	env_free(e);
}

/* ---- real mode ---- */

static void test_real_mode_int(void **state)
{
	struct env *e = env_new();
	struct soft_cpu *c = &e->c;
	for (unsigned s = 0; s < SEG_COUNT; s++) {
		c->seg[s].selector = 0;
		c->seg[s].base = 0;
		c->seg[s].limit = 0xffff;
	}
	c->seg[SEG_CS].selector = CODE >> 4;
	c->seg[SEG_CS].base = CODE;
	c->rip = 0;
	c->gpr[GPR_RSP] = 0x8000;
	c->idt.base = 0;
	c->idt.limit = 0x3ff;
	soft_cpu_update_mode(c);
	load(e, s_real, s_real_end);
	put16(e, 0x10 * 4, (uint16_t)(AT(s_real, s_real_h) - CODE));
	put16(e, 0x10 * 4 + 2, CODE >> 4);
	assert_int_equal(run_engine(e), SOFT_HLT);
	assert_int_equal(c->gpr[GPR_RBX] & 0xffff, 0x1235);
	assert_int_equal(c->gpr[GPR_RCX] & X86_RFLAGS_IF, 0);   /* IF cleared in the handler */
	assert_int_equal(c->gpr[GPR_RDX] & 0xffff, 0x8000 - 6); /* FLAGS CS IP */
	assert_int_equal(c->gpr[GPR_RSP] & 0xffff, 0x8000);
	assert_true(soft_get_rflags(c) & X86_RFLAGS_IF);         /* IRET restored it */
	env_free(e);
}

/* ---- control registers, MSRs, hooks ---- */

static void test_control_registers(void **state)
{
	struct env *e = env_lm(0);
	struct soft_cpu *c = &e->c;
	c->gpr[GPR_RAX] = c->cr4 | X86_CR4_PGE;
	assert_int_equal(STEP(e, 0x0f, 0x22, 0xe0), SOFT_OK);  /* mov rax, cr4 */
	assert_int_equal(e->h.flush_all, 1);
	assert_int_equal(STEP(e, 0x0f, 0x22, 0xd8), SOFT_OK);  /* mov rax, cr3 */
	assert_int_equal(e->h.flush_nonglobal, 1);
	c->gpr[GPR_RAX] = 0x5000;
	assert_int_equal(STEP(e, 0x0f, 0x01, 0x38), SOFT_OK);  /* invlpg (rax) */
	assert_int_equal(e->h.flush_page, 1);
	assert_int_equal(e->h.last_page, 0x5000);
	c->gpr[GPR_RAX] = c->cr4 | (1u << 17);                 /* PCIDE: not supported */
	expect_exc(e, STEP(e, 0x0f, 0x22, 0xe0), X86_EXC_GP, 0);
	c->gpr[GPR_RAX] = c->cr4 & ~X86_CR4_PAE;               /* PAE off in long mode */
	expect_exc(e, STEP(e, 0x0f, 0x22, 0xe0), X86_EXC_GP, 0);
	c->gpr[GPR_RAX] = c->cr0 & ~X86_CR0_PG;                /* paging off in 64-bit mode */
	expect_exc(e, STEP(e, 0x0f, 0x22, 0xc0), X86_EXC_GP, 0);
	c->gpr[GPR_RAX] = 1ULL << 63;                          /* CR3 reserved bits */
	expect_exc(e, STEP(e, 0x0f, 0x22, 0xd8), X86_EXC_GP, 0);
	c->gpr[GPR_RAX] = 0x10;                                /* CR8 > 15 */
	expect_exc(e, STEP(e, 0x44, 0x0f, 0x22, 0xc0), X86_EXC_GP, 0);
	c->gpr[GPR_RAX] = 7;
	assert_int_equal(STEP(e, 0x44, 0x0f, 0x22, 0xc0), SOFT_OK);
	assert_int_equal(c->cr8, 7);
	env_free(e);

	/* entering long mode: PE -> PAE -> EFER.LME -> PG activates LMA */
	e = env_pm(0);
	c = &e->c;
	c->gpr[GPR_RAX] = c->cr0 | X86_CR0_PG;
	c->efer = X86_EFER_LME;
	expect_exc(e, STEP(e, 0x0f, 0x22, 0xc0), X86_EXC_GP, 0);  /* LME without PAE */
	c->cr4 = X86_CR4_PAE;
	assert_int_equal(STEP(e, 0x0f, 0x22, 0xc0), SOFT_OK);
	assert_true(c->efer & X86_EFER_LMA);
	assert_int_equal(c->mode, SOFT_MODE_32);                  /* compatibility mode until a far jump */
	assert_true(e->h.flush_all >= 1);
	c->gpr[GPR_RAX] = X86_CR0_PG | X86_CR0_ET;                /* PG without PE */
	expect_exc(e, STEP(e, 0x0f, 0x22, 0xc0), X86_EXC_GP, 0);
	env_free(e);

	/* CPL 3: MOV CR #GP, HLT #GP, CLTS #GP */
	e = env_lm(3);
	expect_exc(e, STEP(e, 0x0f, 0x20, 0xc0), X86_EXC_GP, 0);
	expect_exc(e, STEP(e, 0xf4), X86_EXC_GP, 0);
	expect_exc(e, STEP(e, 0x0f, 0x06), X86_EXC_GP, 0);
	expect_exc(e, STEP(e, 0x0f, 0x09), X86_EXC_GP, 0);        /* WBINVD */
	expect_exc(e, STEP(e, 0x0f, 0x32), X86_EXC_GP, 0);        /* RDMSR */
	env_free(e);
}

static void wrmsr_val(struct env *e, uint32_t msr, uint64_t v)
{
	e->c.gpr[GPR_RCX] = msr;
	e->c.gpr[GPR_RAX] = (uint32_t)v;
	e->c.gpr[GPR_RDX] = v >> 32;
}

static void test_msrs_and_hooks(void **state)
{
	struct env *e = env_lm(0);
	struct soft_cpu *c = &e->c;
	/* EFER: LMA read-only, LME locked while paging, reserved bits #GP */
	wrmsr_val(e, MSR_EFER, X86_EFER_LME | X86_EFER_SCE | X86_EFER_NXE);
	assert_int_equal(STEP(e, 0x0f, 0x30), SOFT_OK);
	assert_true(c->efer & X86_EFER_LMA);
	assert_true(c->efer & X86_EFER_NXE);
	wrmsr_val(e, MSR_EFER, X86_EFER_SCE);
	expect_exc(e, STEP(e, 0x0f, 0x30), X86_EXC_GP, 0);
	wrmsr_val(e, MSR_EFER, X86_EFER_LME | (1u << 2));
	expect_exc(e, STEP(e, 0x0f, 0x30), X86_EXC_GP, 0);
	/* PAT validation */
	wrmsr_val(e, MSR_IA32_CR_PAT, 0x0007040600070402ULL);
	expect_exc(e, STEP(e, 0x0f, 0x30), X86_EXC_GP, 0);
	wrmsr_val(e, MSR_IA32_CR_PAT, 0x0007010600070106ULL);
	assert_int_equal(STEP(e, 0x0f, 0x30), SOFT_OK);
	assert_int_equal(c->pat, 0x0007010600070106ULL);
	/* MTRRs */
	c->gpr[GPR_RCX] = 0xfe;
	assert_int_equal(STEP(e, 0x0f, 0x32), SOFT_OK);
	assert_int_equal(c->gpr[GPR_RAX] & 0xff, 8);
	wrmsr_val(e, 0x200, 0x80000006);
	assert_int_equal(STEP(e, 0x0f, 0x30), SOFT_OK);
	wrmsr_val(e, 0x200, 0x80000002);                  /* bad type */
	expect_exc(e, STEP(e, 0x0f, 0x30), X86_EXC_GP, 0);
	wrmsr_val(e, 0x201, 1ULL << 45);                  /* beyond MAXPHYADDR */
	expect_exc(e, STEP(e, 0x0f, 0x30), X86_EXC_GP, 0);
	wrmsr_val(e, 0x2ff, 0xc06);
	assert_int_equal(STEP(e, 0x0f, 0x30), SOFT_OK);
	/* canonical checks */
	wrmsr_val(e, MSR_LSTAR, 0x0000800000000000ULL);
	expect_exc(e, STEP(e, 0x0f, 0x30), X86_EXC_GP, 0);
	/* TSC offset: WRMSR 0x10 then RDTSC */
	wrmsr_val(e, MSR_IA32_TSC, 1000000);
	assert_int_equal(STEP(e, 0x0f, 0x30), SOFT_OK);
	assert_int_equal(STEP(e, 0x0f, 0x31), SOFT_OK);
	uint64_t t = (c->gpr[GPR_RDX] << 32) | (uint32_t)c->gpr[GPR_RAX];
	assert_true(t >= 1000000 && t < 1000100);
	/* unknown MSRs go to the hooks; -1 there is #GP */
	wrmsr_val(e, 0x4b564d01, 0x1234567);
	assert_int_equal(STEP(e, 0x0f, 0x30), SOFT_OK);
	assert_int_equal(e->h.last_val, 0x1234567);
	c->gpr[GPR_RCX] = 0x4b564d01;
	assert_int_equal(STEP(e, 0x0f, 0x32), SOFT_OK);
	assert_int_equal(c->gpr[GPR_RAX], 0x1234567);
	c->gpr[GPR_RCX] = 0x12345;
	expect_exc(e, STEP(e, 0x0f, 0x32), X86_EXC_GP, 0);
	/* a core MSR's #GP never falls through to a hook that takes anything */
	e->h.accept_all = true;
	assert_int_equal(soft_cpu_wrmsr(c, MSR_IA32_CR_PAT, 0x0202020202020202ULL), -1);
	assert_int_equal(c->pat, 0x0007010600070106ULL);
	assert_int_equal(soft_cpu_wrmsr(c, MSR_EFER, 1ULL << 40), -1);
	assert_int_equal(soft_cpu_wrmsr(c, 0x4b564d02, 5), 0);
	uint64_t v;
	assert_int_equal(soft_cpu_rdmsr(c, MSR_STAR, &v), 0);
	e->h.accept_all = false;
	/* CPUID: the model, then the hook (the requested leaf) */
	c->gpr[GPR_RAX] = 1;
	c->gpr[GPR_RCX] = 0;
	assert_int_equal(STEP(e, 0x0f, 0xa2), SOFT_OK);
	assert_int_equal(c->gpr[GPR_RBX] >> 24, 5);
	assert_true(c->gpr[GPR_RDX] & (1u << 16));                 /* PAT */
	assert_true(c->gpr[GPR_RDX] & (1u << 12));                 /* MTRR */
	assert_false(c->gpr[GPR_RCX] & (1u << 3));                 /* no MONITOR */
	c->gpr[GPR_RAX] = 0x40000001;
	assert_int_equal(STEP(e, 0x0f, 0xa2), SOFT_OK);
	assert_int_equal(c->gpr[GPR_RAX], 0xabcd);
	c->gpr[GPR_RAX] = 0x80000007;
	assert_int_equal(STEP(e, 0x0f, 0xa2), SOFT_OK);
	assert_true(c->gpr[GPR_RDX] & (1u << 8));                  /* invariant TSC */
	/* VMCALL / VMMCALL: -KVM_ENOSYS */
	c->gpr[GPR_RAX] = 1;
	assert_int_equal(STEP(e, 0x0f, 0x01, 0xc1), SOFT_OK);
	assert_int_equal(c->gpr[GPR_RAX], (uint64_t)-1000);
	c->gpr[GPR_RAX] = 1;
	assert_int_equal(STEP(e, 0x0f, 0x01, 0xd9), SOFT_OK);
	assert_int_equal(c->gpr[GPR_RAX], (uint64_t)-1000);
	/* MONITOR/MWAIT #UD, RDPMC #GP, XGETBV #UD without CR4.OSXSAVE */
	expect_exc(e, STEP(e, 0x0f, 0x01, 0xc8), X86_EXC_UD, 0);
	expect_exc(e, STEP(e, 0x0f, 0x01, 0xc9), X86_EXC_UD, 0);
	expect_exc(e, STEP(e, 0x0f, 0x33), X86_EXC_GP, 0);
	expect_exc(e, STEP(e, 0x0f, 0x01, 0xd0), X86_EXC_UD, 0);
	/* MOV DR7 */
	c->gpr[GPR_RAX] = 0;
	assert_int_equal(STEP(e, 0x0f, 0x23, 0xf8), SOFT_OK);
	assert_int_equal(c->dr[7], 0x400);
	env_free(e);
}

/* ---- interrupt shadow, CLI/STI, I/O permission ---- */

static void test_shadow_and_io(void **state)
{
	struct env *e = env_lm(0);
	struct soft_cpu *c = &e->c;
	c->rflags &= ~X86_RFLAGS_IF;
	memcpy(e->m.ram + CODE, (const uint8_t[]){ 0xfb, 0x90, 0x90, 0xf4 }, 4); /* sti nop nop hlt */
	assert_false(soft_cpu_interruptible(c));
	assert_int_equal(soft_cpu_run(c, 1, NULL), SOFT_STOP);   /* sti */
	assert_false(soft_cpu_interruptible(c));                 /* shadow */
	assert_int_equal(soft_cpu_run(c, 1, NULL), SOFT_STOP);   /* the shadowed nop */
	assert_true(soft_cpu_interruptible(c));
	assert_int_equal(c->rip, CODE + 2);
	/* external interrupt: delivered through the IDT, IF cleared */
	idt_gate64(e, 0x30, CODE + 3, 0x08, 0xe, 0, 0);
	assert_int_equal(soft_cpu_deliver(c, 0x30, SOFT_EV_EXTINT, false, 0), SOFT_OK);
	assert_int_equal(c->rip, CODE + 3);
	assert_false(soft_cpu_interruptible(c));
	assert_int_equal(get64(e, KSTACK - 40), CODE + 2);
	/* NMI blocking until IRET */
	idt_gate64(e, 2, CODE + 3, 0x08, 0xe, 0, 0);
	assert_int_equal(soft_cpu_deliver(c, 2, SOFT_EV_NMI, false, 0), SOFT_OK);
	assert_true(c->nmi_blocked);
	env_free(e);

	/* sti; hlt: HLT runs in the shadow, interruptible afterwards */
	e = env_lm(0);
	c = &e->c;
	c->rflags &= ~X86_RFLAGS_IF;
	memcpy(e->m.ram + CODE, (const uint8_t[]){ 0xfb, 0xf4 }, 2);
	assert_int_equal(soft_cpu_run(c, 1000, NULL), SOFT_HLT);
	assert_true(soft_cpu_interruptible(c));
	env_free(e);

	/* ring 3, IOPL 0: CLI #GP, port 0x80 allowed by the bitmap, 0x81 not */
	e = env_lm(3);
	expect_exc(e, STEP(e, 0xfa), X86_EXC_GP, 0);
	assert_int_equal(STEP(e, 0xe6, 0x80), SOFT_OK);
	assert_int_equal(e->m.last_port, 0x80);
	expect_exc(e, STEP(e, 0xe6, 0x81), X86_EXC_GP, 0);
	expect_exc(e, STEP(e, 0x66, 0xe7, 0x80), X86_EXC_GP, 0); /* 2 bytes: 0x81 too */
	/* POPF at CPL 3 leaves IF and IOPL alone */
	e->c.gpr[GPR_RSP] = USTACK;
	put64(e, USTACK - 8, 0x3002);
	assert_int_equal(STEP(e, 0x48, 0x83, 0xec, 0x08), SOFT_OK); /* sub $8, rsp */
	assert_int_equal(STEP(e, 0x9d), SOFT_OK);
	assert_true(soft_get_rflags(&e->c) & X86_RFLAGS_IF);
	assert_int_equal(soft_get_rflags(&e->c) & 0x3000, 0);
	env_free(e);
}

/* Same-privilege external interrupts (a ring-0 kernel's timer) and the
 * return: 32-bit IRET and IRETQ (which pops SS:RSP in 64-bit mode). */
static void test_ring0_extint_return(void **state)
{
	struct env *e = env_pm(0);
	struct soft_cpu *c = &e->c;
	idt_gate32(e, 0x20, CODE + 0x100, 0x50, 0xe, 0);
	e->m.ram[CODE + 0x100] = 0xcf; /* iret */
	e->m.ram[CODE] = 0x90;
	c->gpr[GPR_RSP] = KSTACK;
	assert_int_equal(soft_cpu_deliver(c, 0x20, SOFT_EV_EXTINT, false, 0), SOFT_OK);
	assert_int_equal(c->gpr[GPR_RSP], KSTACK - 12);
	assert_int_equal(get32(e, KSTACK - 12), CODE);
	assert_int_equal(get32(e, KSTACK - 8), 0x50);
	assert_true(get32(e, KSTACK - 4) & X86_RFLAGS_IF);
	assert_false(c->rflags & X86_RFLAGS_IF);
	assert_int_equal(soft_cpu_step(c), SOFT_OK);
	assert_int_equal(c->rip, CODE);
	assert_int_equal(c->gpr[GPR_RSP], KSTACK);
	assert_true(c->rflags & X86_RFLAGS_IF);
	env_free(e);

	e = env_lm(0);
	c = &e->c;
	idt_gate64(e, 0x20, CODE + 0x100, 0x08, 0xe, 0, 0);
	e->m.ram[CODE + 0x100] = 0x48;
	e->m.ram[CODE + 0x101] = 0xcf; /* iretq */
	c->gpr[GPR_RSP] = KSTACK - 8;  /* misaligned: the frame is aligned to 16 */
	assert_int_equal(soft_cpu_deliver(c, 0x20, SOFT_EV_EXTINT, false, 0), SOFT_OK);
	assert_int_equal(c->gpr[GPR_RSP], KSTACK - 16 - 40);
	assert_int_equal(get64(e, KSTACK - 16 - 16), KSTACK - 8);
	assert_int_equal(soft_cpu_step(c), SOFT_OK);
	assert_int_equal(c->rip, CODE);
	assert_int_equal(c->gpr[GPR_RSP], KSTACK - 8);
	assert_int_equal(c->seg[SEG_SS].selector, 0x10);
	assert_true(c->rflags & X86_RFLAGS_IF);
	env_free(e);
}

static void test_sysenter_sysexit(void **state)
{
	struct env *e = env_pm(3);
	struct soft_cpu *c = &e->c;
	expect_exc(e, STEP(e, 0x0f, 0x34), X86_EXC_GP, 0);       /* SYSENTER_CS = 0 */
	c->sysenter_cs = 0x50;
	c->sysenter_esp = 0x7000;
	c->sysenter_eip = 0x12345;
	assert_int_equal(STEP(e, 0x0f, 0x34), SOFT_OK);
	assert_int_equal(c->seg[SEG_CS].selector, 0x50);
	assert_int_equal(c->seg[SEG_SS].selector, 0x58);
	assert_int_equal(c->cpl, 0);
	assert_int_equal(c->rip, 0x12345);
	assert_int_equal(c->gpr[GPR_RSP], 0x7000);
	assert_false(c->rflags & X86_RFLAGS_IF);
	c->gpr[GPR_RCX] = 0x6000;
	c->gpr[GPR_RDX] = 0x11111;
	assert_int_equal(STEP(e, 0x0f, 0x35), SOFT_OK);
	assert_int_equal(c->seg[SEG_CS].selector, 0x63);
	assert_int_equal(c->seg[SEG_SS].selector, 0x6b);
	assert_int_equal(c->cpl, 3);
	assert_int_equal(c->mode, SOFT_MODE_32);
	assert_int_equal(c->rip, 0x11111);
	assert_int_equal(c->gpr[GPR_RSP], 0x6000);
	expect_exc(e, STEP(e, 0x0f, 0x35), X86_EXC_GP, 0);       /* SYSEXIT at CPL 3 */
	env_free(e);
}

/* Hostile tables: random GDT/IDT/TSS/stack contents never crash the core
 * and every outcome is a defined status. */
static void test_hostile_tables(void **state)
{
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	static const uint8_t insns[][3] = {
		{ 0x48, 0xcf, 0x90 }, /* iretq */   { 0xcf, 0x90, 0x90 },       /* iret */
		{ 0x48, 0xcb, 0x90 }, /* lretq */   { 0xcb, 0x90, 0x90 },       /* lret */
		{ 0xff, 0x1c, 0x24 }, /* lcall *(%rsp) */ { 0xff, 0x2c, 0x24 }, /* ljmp *(%rsp) */
		{ 0x8e, 0x1c, 0x24 }, /* mov (%rsp), %ds */ { 0x0f, 0x00, 0x1c }, /* ltr (%rsp) */
	};
	for (int i = 0; i < 3000; i++) {
		unsigned m = xorshift64(&seed) % 4;
		struct env *e = m < 2 ? env_lm(m ? 3 : 0) : env_pm(m == 3 ? 3 : 0);
		for (unsigned a = GDT + 8; a < GDT + 0x70; a += 8)
			if (xorshift64(&seed) & 1)
				put64(e, a, xorshift64(&seed));
		for (unsigned a = IDT; a < IDT + 4096; a += 8)
			put64(e, a, xorshift64(&seed) & (xorshift64(&seed) | 0xffffffff0000ffffULL));
		for (unsigned a = TSS; a < TSS + 0x68; a += 8)
			if (xorshift64(&seed) & 1)
				put64(e, a, xorshift64(&seed));
		if (xorshift64(&seed) & 1)
			e->c.tr.limit = (uint32_t)xorshift64(&seed);
		if (xorshift64(&seed) & 1)
			e->c.idt.limit = (uint16_t)xorshift64(&seed);
		uint64_t sp = e->c.gpr[GPR_RSP] - 64;
		for (unsigned k = 0; k < 8; k++)
			put64(e, sp + 8 * k, (xorshift64(&seed) & 1) ? xorshift64(&seed) : (xorshift64(&seed) & 0x7f));
		e->c.gpr[GPR_RSP] = sp;
		int r;
		if (xorshift64(&seed) & 1) {
			r = soft_cpu_deliver(&e->c, xorshift64(&seed) & 0xff, xorshift64(&seed) % 8, xorshift64(&seed) & 1,
					     (uint32_t)xorshift64(&seed));
		} else {
			unsigned k = xorshift64(&seed) % 8;
			r = step_bytes(e, insns[k], 3);
			if (r == SOFT_EXC)
				r = soft_cpu_deliver_exception(&e->c);
		}
		assert_true(r == SOFT_OK || r == SOFT_SHUTDOWN || r == SOFT_INTERNAL || r == SOFT_EXC);
		env_free(e);
	}
}

static void test_reset_sipi(void **state)
{
	struct env *e = env_lm(0);
	soft_cpu_reset(&e->c);
	assert_ptr_equal(e->c.sys, &e->sys);
	assert_int_equal(e->c.mode, SOFT_MODE_16);
	assert_int_equal(e->c.rip, 0xfff0);
	assert_int_equal(e->c.seg[SEG_CS].base, 0xffff0000);
	soft_cpu_sipi(&e->c, 0x9a);
	assert_int_equal(e->c.seg[SEG_CS].selector, 0x9a00);
	assert_int_equal(e->c.seg[SEG_CS].base, 0x9a000);
	assert_int_equal(e->c.rip, 0);
	env_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lm_int80_iretq),
		cmocka_unit_test(test_lm_pf_ist),
		cmocka_unit_test(test_syscall_sysret),
		cmocka_unit_test(test_double_and_triple_fault),
		cmocka_unit_test(test_lm_call_gate),
		cmocka_unit_test(test_pm32_interrupts),
		cmocka_unit_test(test_pm32_call_gate),
		cmocka_unit_test(test_segment_loads),
		cmocka_unit_test(test_descriptor_insns),
		cmocka_unit_test(test_real_mode_int),
		cmocka_unit_test(test_control_registers),
		cmocka_unit_test(test_msrs_and_hooks),
		cmocka_unit_test(test_shadow_and_io),
		cmocka_unit_test(test_ring0_extint_return),
		cmocka_unit_test(test_sysenter_sysexit),
		cmocka_unit_test(test_hostile_tables),
		cmocka_unit_test(test_reset_sipi),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
