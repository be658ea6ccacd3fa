/* Soft CPU: hardware task switching and virtual-8086 mode (sys_task.c,
 * sys_v86.c) on flat memory.  The test plays the engine as in
 * test_soft_sys.c: it steps the core and delivers what it reports. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "src/cpu/soft/cpu.h"
#include "src/cpu/soft/flatmem.h"
#include "src/cpu/soft/sys.h"
#include "xorshift.h"

#define MEM (1u << 20)
#define GDT 0x800
#define LDT 0xc00
#define IDT 0x2000
#define TSSA 0x4000 /* the current task's TSS (with an I/O bitmap) */
#define TSSB 0x4200
#define TSSC 0x4400 /* 16-bit */
#define CODE 0x10000
#define HANDLER 0x3000
#define KSTACK 0x70000
#define BSTACK 0x60000
#define B0STACK 0x78000

/* GDT selectors */
#define CODE0 0x08
#define DATA0 0x10
#define CODE3 0x18
#define DATA3 0x20
#define SEL_A 0x28
#define SEL_B 0x30
#define SEL_C 0x38
#define GATE3 0x40  /* task gate -> B, DPL 3 */
#define SEL_LDT 0x48
#define GATE0 0x50  /* task gate -> B, DPL 0 */
#define DATA_NP 0x58
#define CODE_NP 0x60
#define CODE64 0x68

#define NT (1u << 14)
#define VM (1u << 17)
#define IOPL3 (3u << 12)

struct env {
	struct soft_flatmem m;
	struct soft_cpu c;
	struct soft_sys_ops sys;
	unsigned flushes;
};

static void put64(struct env *e, uint64_t a, uint64_t v) { memcpy(e->m.ram + a, &v, 8); }
static void put32(struct env *e, uint64_t a, uint32_t v) { memcpy(e->m.ram + a, &v, 4); }
static void put16(struct env *e, uint64_t a, uint16_t v) { memcpy(e->m.ram + a, &v, 2); }
static uint64_t get64(struct env *e, uint64_t a) { uint64_t v; memcpy(&v, e->m.ram + a, 8); return v; }
static uint32_t get32(struct env *e, uint64_t a) { uint32_t v; memcpy(&v, e->m.ram + a, 4); return v; }
static uint16_t get16(struct env *e, uint64_t a) { uint16_t v; memcpy(&v, e->m.ram + a, 2); return v; }

static void h_flush(void *o, enum soft_flush k, uint64_t la)
{
	struct env *e = o;
	e->flushes++;
	(void)k;
	(void)la;
}

static uint64_t sysdesc(uint32_t base, uint32_t limit, unsigned type, unsigned dpl, bool p)
{
	return (limit & 0xffff) | ((uint64_t)(base & 0xffffff) << 16) | ((uint64_t)type << 40) |
	       ((uint64_t)dpl << 45) | ((uint64_t)p << 47) | ((uint64_t)((limit >> 16) & 0xf) << 48) |
	       ((uint64_t)(base >> 24) << 56);
}

static uint64_t task_gate(uint16_t tss, unsigned dpl)
{
	return ((uint64_t)tss << 16) | (5ULL << 40) | ((uint64_t)dpl << 45) | (1ULL << 47);
}

static unsigned gdt_type(struct env *e, uint16_t sel)
{
	return (unsigned)(get64(e, GDT + (sel & ~7u)) >> 40) & 0xf;
}

static void load_seg(struct env *e, unsigned seg, uint16_t sel)
{
	sys_seg_from_desc(&e->c.seg[seg], sel, get64(e, GDT + (sel & ~7u)), 0);
}

static void idt_gate32(struct env *e, unsigned v, uint32_t off, uint16_t sel, unsigned type, unsigned dpl)
{
	uint64_t lo = (off & 0xffff) | ((uint64_t)sel << 16) | ((uint64_t)type << 40) |
		      ((uint64_t)dpl << 45) | (1ULL << 47) | ((uint64_t)(off >> 16) << 48);
	put64(e, IDT + v * 8, lo);
}

/* A 32-bit TSS at base for a task at CPL cpl. */
static void tss32(struct env *e, uint32_t base, uint32_t eip, unsigned cpl)
{
	memset(e->m.ram + base, 0, 0x68);
	put32(e, base + 0x04, B0STACK);
	put16(e, base + 0x08, DATA0);
	put32(e, base + 0x1c, 0x9000);            /* CR3 */
	put32(e, base + 0x20, eip);
	put32(e, base + 0x24, 0x2 | 0x1);         /* CF */
	for (unsigned i = 0; i < 8; i++)
		put32(e, base + 0x28 + 4 * i, 0xb0b00000 + i);
	put32(e, base + 0x38, BSTACK);            /* ESP */
	uint16_t cs = cpl ? CODE3 | 3 : CODE0, ds = cpl ? DATA3 | 3 : DATA0;
	put16(e, base + 0x48, ds);                /* ES */
	put16(e, base + 0x4c, cs);
	put16(e, base + 0x50, ds);                /* SS */
	put16(e, base + 0x54, ds);                /* DS */
	put16(e, base + 0x58, 0);                 /* FS: null */
	put16(e, base + 0x5c, ds);                /* GS */
	put16(e, base + 0x60, SEL_LDT);
	put16(e, base + 0x66, 0x68);
}

/* 32-bit protected mode at CPL 0, TR = A (busy). */
static struct env *env_pm(void)
{
	struct env *e = calloc(1, sizeof(*e));
	assert_non_null(e);
	assert_int_equal(soft_flatmem_init(&e->m, MEM), 0);
	assert_int_equal(soft_cpu_init(&e->c, &soft_flatmem_ops, &e->m, true), 0);
	e->sys = (struct soft_sys_ops){ .tlb_flush = h_flush, .opaque = e };
	e->c.sys = &e->sys;
	put64(e, GDT + CODE0, 0x00cf9a000000ffffULL);
	put64(e, GDT + DATA0, 0x00cf92000000ffffULL);
	put64(e, GDT + CODE3, 0x00cffa000000ffffULL);
	put64(e, GDT + DATA3, 0x00cff2000000ffffULL);
	put64(e, GDT + SEL_A, sysdesc(TSSA, 0x68 + 32, 0xb, 0, true));
	put64(e, GDT + SEL_B, sysdesc(TSSB, 0x67, 0x9, 0, true));
	put64(e, GDT + SEL_C, sysdesc(TSSC, 0x2b, 0x1, 0, true));
	put64(e, GDT + GATE3, task_gate(SEL_B, 3));
	put64(e, GDT + SEL_LDT, sysdesc(LDT, 0x17, 0x2, 0, true));
	put64(e, GDT + GATE0, task_gate(SEL_B, 0));
	put64(e, GDT + DATA_NP, 0x00cf12000000ffffULL);
	put64(e, GDT + CODE_NP, 0x00cf1a000000ffffULL);
	put64(e, GDT + CODE64, 0x00af9a000000ffffULL);
	e->c.gdt.base = GDT;
	e->c.gdt.limit = 0x6f;
	e->c.idt.base = IDT;
	e->c.idt.limit = 256 * 8 - 1;
	/* TSS A: ring-0 stack, I/O bitmap allowing only port 0x80 */
	memset(e->m.ram + TSSA, 0, 0x68 + 33);
	put32(e, TSSA + 4, KSTACK);
	put16(e, TSSA + 8, DATA0);
	put16(e, TSSA + 0x66, 0x68);
	memset(e->m.ram + TSSA + 0x68, 0xff, 33);
	e->m.ram[TSSA + 0x68 + 0x80 / 8] &= (uint8_t)~1;
	tss32(e, TSSB, 0x11000, 3);
	e->c.cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_NE;
	load_seg(e, SEG_CS, CODE0);
	for (unsigned s = 0; s < SEG_COUNT; s++)
		if (s != SEG_CS)
			load_seg(e, s, DATA0);
	sys_seg_from_desc(&e->c.tr, SEL_A, get64(e, GDT + SEL_A), 0);
	sys_seg_null(&e->c.ldt, 0);
	soft_cpu_update_mode(&e->c);
	assert_int_equal(e->c.mode, SOFT_MODE_32);
	assert_int_equal(e->c.cpl, 0);
	e->c.gpr[GPR_RSP] = KSTACK;
	e->c.rip = CODE;
	e->c.rflags = X86_RFLAGS_FIXED;
	return e;
}

static void env_free(struct env *e)
{
	soft_cpu_destroy(&e->c);
	soft_flatmem_destroy(&e->m);
	free(e);
}

/* Execute raw instruction bytes at linear address la, with rip = ip. */
static int step_at(struct env *e, uint64_t la, uint64_t ip, const uint8_t *b, size_t n)
{
	memcpy(e->m.ram + la, b, n);
	e->c.rip = ip;
	soft_cpu_flush_code_tlb(&e->c);
	soft_cpu_invalidate_code(&e->c, la, 16);
	return soft_cpu_step(&e->c);
}
#define BYTES(...) (const uint8_t[]){ __VA_ARGS__ }, sizeof((const uint8_t[]){ __VA_ARGS__ })
#define STEP(e, ...) step_at(e, CODE, CODE, BYTES(__VA_ARGS__))

#define expect_exc(e, r, vec, err)                                   \
	do {                                                         \
		int r_ = (r);                                        \
		assert_int_equal(r_, SOFT_EXC);                      \
		assert_int_equal((e)->c.exc.vector, (vec));          \
		assert_int_equal((e)->c.exc.error_code, (err));      \
	} while (0)

/* ---- JMP to a TSS: the old state saved, the new one loaded ---- */

static void test_jmp_tss(void **state)
{
	struct env *e = env_pm();
	e->c.cr0 |= X86_CR0_PG; /* flat memory ignores paging; CR3 is loaded */
	e->c.dr[7] = 0x3;       /* L0 is task-local, G0 is not */
	for (unsigned i = 0; i < 8; i++)
		if (i != GPR_RSP)
			e->c.gpr[i] = 0xa0a00000 + i;
	unsigned fl0 = e->flushes;
	int r = STEP(e, 0xea, 0x78, 0x56, 0x34, 0x12, SEL_B, 0x00); /* jmp 0x30:0x12345678 */
	assert_int_equal(r, SOFT_OK);
	/* new task */
	assert_int_equal(e->c.tr.selector, SEL_B);
	assert_int_equal(e->c.tr.type, 0xb);
	assert_int_equal(e->c.rip, 0x11000);
	assert_int_equal(e->c.cpl, 3);
	assert_int_equal(e->c.mode, SOFT_MODE_32);
	assert_int_equal(e->c.gpr[GPR_RAX], 0xb0b00000);
	assert_int_equal(e->c.gpr[GPR_RDI], 0xb0b00007);
	assert_int_equal(e->c.gpr[GPR_RSP], BSTACK);
	assert_true(soft_get_rflags(&e->c) & X86_RFLAGS_CF);
	assert_false(soft_get_rflags(&e->c) & NT);
	assert_int_equal(e->c.seg[SEG_CS].selector, CODE3 | 3);
	assert_int_equal(e->c.seg[SEG_SS].selector, DATA3 | 3);
	assert_false(e->c.seg[SEG_DS].unusable);
	assert_true(e->c.seg[SEG_FS].unusable);
	assert_int_equal(e->c.ldt.selector, SEL_LDT);
	assert_int_equal(e->c.ldt.base, LDT);
	assert_int_equal(e->c.cr3, 0x9000);
	assert_true(e->flushes > fl0);
	assert_true(e->c.cr0 & X86_CR0_TS);
	assert_int_equal(e->c.dr[7], 0x2);
	/* old task saved: EIP after the JMP, the GPRs, the selectors */
	assert_int_equal(get32(e, TSSA + 0x20), CODE + 7);
	assert_int_equal(get32(e, TSSA + 0x28), 0xa0a00000);
	assert_int_equal(get32(e, TSSA + 0x38), KSTACK);
	assert_int_equal(get16(e, TSSA + 0x4c), CODE0);
	assert_int_equal(get16(e, TSSA + 0x50), DATA0);
	/* busy bits: JMP frees the old task; no back link */
	assert_int_equal(gdt_type(e, SEL_A), 0x9);
	assert_int_equal(gdt_type(e, SEL_B), 0xb);
	assert_int_equal(get16(e, TSSB), 0);
	env_free(e);
}

/* ---- CALL to a 16-bit TSS, IRET back with NT ---- */

static void test_call_16bit_tss_iret(void **state)
{
	struct env *e = env_pm();
	memset(e->m.ram + TSSC, 0, 0x2c);
	put16(e, TSSC + 0x0e, 0x2000);           /* IP */
	put16(e, TSSC + 0x10, 0x0002 | 0x40);    /* FLAGS: ZF */
	for (unsigned i = 0; i < 8; i++)
		put16(e, TSSC + 0x12 + 2 * i, (uint16_t)(0x1100 + i));
	put16(e, TSSC + 0x1a, 0xfff0);           /* SP */
	put16(e, TSSC + 0x22, DATA0);            /* ES CS SS DS */
	put16(e, TSSC + 0x24, CODE0);
	put16(e, TSSC + 0x26, DATA0);
	put16(e, TSSC + 0x28, DATA0);
	e->c.gpr[GPR_RBX] = 0x12345678;
	int r = STEP(e, 0x9a, 0, 0, 0, 0, SEL_C, 0x00); /* lcall 0x38:0 */
	assert_int_equal(r, SOFT_OK);
	assert_int_equal(e->c.tr.selector, SEL_C);
	assert_int_equal(e->c.tr.type, 0x3);
	assert_int_equal(e->c.rip, 0x2000);
	assert_int_equal(e->c.gpr[GPR_RBX] & 0xffff, 0x1103);
	assert_int_equal(e->c.gpr[GPR_RSP] & 0xffff, 0xfff0);
	uint64_t fl = soft_get_rflags(&e->c);
	assert_true(fl & NT);
	assert_true(fl & X86_RFLAGS_ZF);
	assert_true(e->c.seg[SEG_FS].unusable); /* a 16-bit TSS has no FS/GS */
	assert_int_equal(get16(e, TSSC), SEL_A); /* back link */
	assert_int_equal(gdt_type(e, SEL_A), 0xb); /* CALL keeps the caller busy */
	assert_int_equal(gdt_type(e, SEL_C), 0x3);
	/* IRET with NT=1: TASK-RETURN to A (and the end of NMI blocking) */
	e->c.nmi_blocked = 1;
	r = step_at(e, 0x2000, 0x2000, BYTES(0xcf));
	assert_int_equal(r, SOFT_OK);
	assert_int_equal(e->c.nmi_blocked, 0);
	assert_int_equal(e->c.tr.selector, SEL_A);
	assert_int_equal(e->c.rip, CODE + 7);
	assert_int_equal(e->c.gpr[GPR_RBX], 0x12345678);
	assert_int_equal(e->c.gpr[GPR_RSP], KSTACK);
	assert_false(soft_get_rflags(&e->c) & NT);
	assert_int_equal(gdt_type(e, SEL_C), 0x1);      /* IRET frees it */
	assert_int_equal(gdt_type(e, SEL_A), 0xb);
	assert_int_equal(get16(e, TSSC + 0x0e), 0x2001); /* 16-bit save */
	assert_false(get16(e, TSSC + 0x10) & NT);        /* saved with NT clear */
	assert_int_equal(get16(e, TSSC + 0x18), 0x1103);
	env_free(e);
}

/* ---- IA-32e mode: no task switches ---- */

static void test_long_mode_no_tasks(void **state)
{
	struct env *e = env_pm();
	e->c.cr0 |= X86_CR0_PG;
	e->c.cr4 |= X86_CR4_PAE;
	e->c.efer = X86_EFER_LME | X86_EFER_LMA;
	e->c.gdt.limit = 0x6f;
	load_seg(e, SEG_CS, CODE64);
	soft_cpu_update_mode(&e->c);
	assert_int_equal(e->c.mode, SOFT_MODE_64);
	/* ljmp *0x20000 with m16:32 = 0x30:0 and 0x40:0 (TSS, task gate) */
	put32(e, 0x20000, 0);
	put16(e, 0x20004, SEL_B);
	expect_exc(e, STEP(e, 0xff, 0x2c, 0x25, 0x00, 0x00, 0x02, 0x00), X86_EXC_GP, SEL_B);
	put16(e, 0x20004, GATE0);
	expect_exc(e, STEP(e, 0xff, 0x2c, 0x25, 0x00, 0x00, 0x02, 0x00), X86_EXC_GP, GATE0);
	/* IRET with NT=1: #GP(0) */
	e->c.rflags |= NT;
	expect_exc(e, STEP(e, 0x48, 0xcf), X86_EXC_GP, 0);
	/* VM=1 does not make long mode virtual-8086 mode */
	e->c.rflags |= VM;
	soft_cpu_update_mode(&e->c);
	assert_int_equal(e->c.mode, SOFT_MODE_64);
	assert_int_equal(e->c.cpl, 0);
	env_free(e);
}

/* ---- the checks, before and after the commit point ---- */

static void test_task_checks(void **state)
{
	struct env *e = env_pm();
	/* before the commit point: nothing changes */
	put64(e, GDT + SEL_B, sysdesc(TSSB, 0x67, 0x9, 0, false));
	expect_exc(e, STEP(e, 0xea, 0, 0, 0, 0, SEL_B, 0), X86_EXC_NP, SEL_B);
	put64(e, GDT + SEL_B, sysdesc(TSSB, 0x60, 0x9, 0, true));
	expect_exc(e, STEP(e, 0xea, 0, 0, 0, 0, SEL_B, 0), X86_EXC_TS, SEL_B);
	put64(e, GDT + SEL_B, sysdesc(TSSB, 0x67, 0xb, 0, true));
	expect_exc(e, STEP(e, 0xea, 0, 0, 0, 0, SEL_B, 0), X86_EXC_GP, SEL_B);  /* busy */
	expect_exc(e, STEP(e, 0xea, 0, 0, 0, 0, GATE0, 0), X86_EXC_GP, SEL_B);  /* busy via gate */
	expect_exc(e, STEP(e, 0xea, 0, 0, 0, 0, SEL_B | 4, 0), X86_EXC_GP, SEL_B | 4); /* no LDT */
	put64(e, GDT + SEL_B, sysdesc(TSSB, 0x67, 0x9, 0, true));
	/* IRET with NT to a TSS that is not busy: #TS(link) */
	put16(e, TSSA, SEL_B);
	e->c.rflags |= NT;
	expect_exc(e, STEP(e, 0xcf), X86_EXC_TS, SEL_B);
	put16(e, TSSA, SEL_B | 4);
	expect_exc(e, STEP(e, 0xcf), X86_EXC_TS, SEL_B | 4);
	e->c.rflags &= ~(uint64_t)NT;
	assert_int_equal(e->c.tr.selector, SEL_A);
	assert_int_equal(gdt_type(e, SEL_A), 0xb);
	assert_int_equal(gdt_type(e, SEL_B), 0x9);
	assert_int_equal(e->c.rip, CODE);
	/* at CPL 3: a DPL-0 gate or TSS is #GP, the DPL-3 gate works */
	load_seg(e, SEG_CS, CODE3 | 3);
	load_seg(e, SEG_SS, DATA3 | 3);
	soft_cpu_update_mode(&e->c);
	expect_exc(e, STEP(e, 0xea, 0, 0, 0, 0, GATE0 | 3, 0), X86_EXC_GP, GATE0);
	expect_exc(e, STEP(e, 0xea, 0, 0, 0, 0, SEL_B | 3, 0), X86_EXC_GP, SEL_B);
	assert_int_equal(STEP(e, 0xea, 0, 0, 0, 0, GATE3 | 3, 0), SOFT_OK);
	assert_int_equal(e->c.tr.selector, SEL_B);
	env_free(e);

	/* a task gate in the LDT works; a TSS descriptor in the LDT does not */
	e = env_pm();
	sys_seg_from_desc(&e->c.ldt, SEL_LDT, get64(e, GDT + SEL_LDT), 0);
	put64(e, LDT + 0x08, task_gate(SEL_B, 0));
	put64(e, LDT + 0x10, sysdesc(TSSB, 0x67, 0x9, 0, true));
	expect_exc(e, STEP(e, 0xea, 0, 0, 0, 0, 0x14, 0), X86_EXC_GP, 0x14);
	assert_int_equal(STEP(e, 0xea, 0, 0, 0, 0, 0x0c, 0), SOFT_OK);
	assert_int_equal(e->c.tr.selector, SEL_B);
	assert_int_equal(get16(e, TSSA + 0x60), 0); /* LDTR is not saved */
	env_free(e);

	/* after it: the fault is the new task's (TR, EIP, busy bits switched) */
	static const struct {
		unsigned off;
		uint16_t sel;
		unsigned vec;
		uint16_t err;
	} bad[] = {
		{ 0x50, DATA0, X86_EXC_TS, DATA0 },     /* SS DPL 0 for CPL 3 */
		{ 0x54, SEL_A, X86_EXC_TS, SEL_A },     /* DS: a TSS */
		{ 0x54, DATA_NP | 3, X86_EXC_TS, DATA_NP }, /* DS: DPL 0 < CPL */
		{ 0x4c, CODE_NP | 3, X86_EXC_TS, CODE_NP }, /* CS: DPL 0 != RPL 3 */
		{ 0x60, DATA0, X86_EXC_TS, DATA0 },     /* LDT: not an LDT */
		{ 0x4c, DATA3 | 3, X86_EXC_TS, DATA3 }, /* CS: data */
		{ 0x4c, 0, X86_EXC_TS, 0 },             /* CS: null */
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		e = env_pm();
		put16(e, TSSB + bad[i].off, bad[i].sel);
		expect_exc(e, STEP(e, 0xea, 0, 0, 0, 0, SEL_B, 0), bad[i].vec, bad[i].err);
		assert_int_equal(e->c.task_switched, 1);
		assert_int_equal(e->c.tr.selector, SEL_B);
		assert_int_equal(e->c.rip, 0x11000);
		assert_int_equal(gdt_type(e, SEL_A), 0x9);
		assert_int_equal(gdt_type(e, SEL_B), 0xb);
		assert_int_equal(get32(e, TSSA + 0x20), CODE + 7);
		env_free(e);
	}
	/* CPL 0 task: SS not present is #SS(SS), CS not present #NP(CS) */
	e = env_pm();
	tss32(e, TSSB, 0x11000, 0);
	put16(e, TSSB + 0x50, DATA_NP);
	expect_exc(e, STEP(e, 0xea, 0, 0, 0, 0, SEL_B, 0), X86_EXC_SS, DATA_NP);
	env_free(e);
	e = env_pm();
	tss32(e, TSSB, 0x11000, 0);
	put16(e, TSSB + 0x4c, CODE_NP);
	expect_exc(e, STEP(e, 0xea, 0, 0, 0, 0, SEL_B, 0), X86_EXC_NP, CODE_NP);
	/* the engine delivers it in the new task: handler at CPL 0 on TSS B's
	 * ring-0 stack... here CPL is 0 already, so on B's stack */
	idt_gate32(e, X86_EXC_NP, HANDLER, CODE0, 0xe, 0);
	assert_int_equal(soft_cpu_deliver_exception(&e->c), SOFT_OK);
	assert_int_equal(e->c.rip, HANDLER);
	assert_int_equal(e->c.tr.selector, SEL_B);
	assert_int_equal(e->c.gpr[GPR_RSP], BSTACK - 16);
	assert_int_equal(get32(e, BSTACK - 16), CODE_NP); /* error code */
	assert_int_equal(get32(e, BSTACK - 12), 0x11000); /* EIP of the new task */
	assert_int_equal(e->c.task_switched, 0);
	env_free(e);
}

/* ---- events through IDT task gates ---- */

static void test_idt_task_gate(void **state)
{
	struct env *e = env_pm();
	tss32(e, TSSB, 0x11000, 0);
	put64(e, IDT + X86_EXC_GP * 8, task_gate(SEL_B, 0));
	e->c.rflags |= X86_RFLAGS_IF;
	int r = soft_cpu_deliver(&e->c, X86_EXC_GP, SOFT_EV_FAULT, true, 0x1234);
	assert_int_equal(r, SOFT_OK);
	assert_int_equal(e->c.tr.selector, SEL_B);
	assert_int_equal(e->c.rip, 0x11000);
	assert_true(soft_get_rflags(&e->c) & NT);
	assert_int_equal(get16(e, TSSB), SEL_A);               /* back link */
	assert_int_equal(e->c.gpr[GPR_RSP], BSTACK - 4);
	assert_int_equal(get32(e, BSTACK - 4), 0x1234);       /* error code on the new stack */
	assert_int_equal(get32(e, TSSA + 0x20), CODE);         /* the faulting instruction */
	assert_true(get32(e, TSSA + 0x24) & (1u << 16));       /* RF in the saved image */
	assert_true(get32(e, TSSA + 0x24) & X86_RFLAGS_IF);
	assert_int_equal(gdt_type(e, SEL_A), 0xb);
	assert_int_equal(gdt_type(e, SEL_B), 0xb);
	/* a second #GP while B is busy: #GP(B | EXT) delivered through the
	 * same gate is #DF-class: contributory twice -> #DF, with no #DF gate
	 * a #GP again ... -> shutdown */
	r = soft_cpu_deliver(&e->c, X86_EXC_GP, SOFT_EV_FAULT, true, 0);
	assert_int_equal(r, SOFT_SHUTDOWN);
	env_free(e);

	/* INT n from CPL 3 through a DPL-0 task gate: #GP(n*8+2), which goes
	 * through #GP's task gate with that error code */
	e = env_pm();
	tss32(e, TSSB, 0x11000, 0);
	put64(e, IDT + 0x40 * 8, task_gate(SEL_B, 0));
	put64(e, IDT + X86_EXC_GP * 8, task_gate(SEL_B, 0));
	load_seg(e, SEG_CS, CODE3 | 3);
	load_seg(e, SEG_SS, DATA3 | 3);
	soft_cpu_update_mode(&e->c);
	r = STEP(e, 0xcd, 0x40);
	assert_int_equal(r, SOFT_EXC);
	assert_int_equal(soft_cpu_deliver_exception(&e->c), SOFT_OK);
	assert_int_equal(e->c.tr.selector, SEL_B);
	assert_int_equal(get32(e, BSTACK - 4), 0x40 * 8 + 2);
	assert_int_equal(get32(e, TSSA + 0x20), CODE);          /* points at the INT */
	assert_int_equal(get16(e, TSSA + 0x4c), CODE3 | 3);
	env_free(e);
}

/* ---- virtual-8086 mode ---- */

static void enter_v86(struct env *e, uint32_t eflags)
{
	uint32_t frame[9] = { 0, 0x1000, eflags | VM | 0x2, 0xfffe, 0x2000, 0x3000, 0x4000, 0x5000, 0x6000 };
	memcpy(e->m.ram + KSTACK - 36, frame, 36);
	e->c.gpr[GPR_RSP] = KSTACK - 36;
	assert_int_equal(STEP(e, 0xcf), SOFT_OK); /* iretd at CPL 0 */
	assert_int_equal(e->c.mode, SOFT_MODE_16);
	assert_int_equal(e->c.cpl, 3);
	assert_int_equal(e->c.rip, 0);
	assert_int_equal(e->c.seg[SEG_CS].base, 0x10000);
	assert_int_equal(e->c.seg[SEG_SS].base, 0x20000);
	assert_int_equal(e->c.seg[SEG_DS].base, 0x40000);
	assert_int_equal(e->c.seg[SEG_GS].base, 0x60000);
	assert_int_equal(e->c.seg[SEG_DS].limit, 0xffff);
	assert_int_equal(e->c.gpr[GPR_RSP], 0xfffe);
	assert_true(e->c.rflags & VM);
}
#define V86(e, ...) step_at(e, 0x10000, 0, BYTES(__VA_ARGS__))

static void test_v86(void **state)
{
	struct env *e = env_pm();
	idt_gate32(e, X86_EXC_GP, HANDLER, CODE0, 0xe, 0);
	idt_gate32(e, 0x21, HANDLER + 0x100, CODE0, 0xe, 3);
	idt_gate32(e, 0x22, HANDLER + 0x200, CODE3, 0xe, 3);
	enter_v86(e, 0);
	/* IOPL 0: the IOPL-sensitive instructions trap to the monitor */
	expect_exc(e, V86(e, 0xfa), X86_EXC_GP, 0);       /* cli */
	expect_exc(e, V86(e, 0xfb), X86_EXC_GP, 0);       /* sti */
	expect_exc(e, V86(e, 0x9c), X86_EXC_GP, 0);       /* pushf */
	expect_exc(e, V86(e, 0x9d), X86_EXC_GP, 0);       /* popf */
	expect_exc(e, V86(e, 0xcd, 0x21), X86_EXC_GP, 0); /* int 0x21 */
	expect_exc(e, V86(e, 0xcf), X86_EXC_GP, 0);       /* iret */
	expect_exc(e, V86(e, 0xf4), X86_EXC_GP, 0);       /* hlt: CPL 3 */
	expect_exc(e, V86(e, 0x0f, 0x00, 0xd8), X86_EXC_UD, 0); /* ltr: #UD */
	/* INT3 is not IOPL-sensitive */
	assert_int_equal(V86(e, 0xcc), SOFT_EXC);
	assert_int_equal(e->c.exc.kind, SOFT_EV_INT3);
	/* I/O: the TSS bitmap, whatever IOPL */
	assert_int_equal(V86(e, 0xe4, 0x80), SOFT_OK);
	expect_exc(e, V86(e, 0xe4, 0x81), X86_EXC_GP, 0);
	e->c.rflags |= IOPL3;
	expect_exc(e, V86(e, 0xe4, 0x81), X86_EXC_GP, 0);
	/* segment arithmetic: mov ax, [0x10] reads 0x40010 */
	put16(e, 0x40010, 0xbeef);
	assert_int_equal(V86(e, 0xa1, 0x10, 0x00), SOFT_OK);
	assert_int_equal(e->c.gpr[GPR_RAX] & 0xffff, 0xbeef);
	/* IOPL 3: CLI, PUSHF, POPF work; POPF cannot change IOPL or VM */
	assert_int_equal(V86(e, 0xfa), SOFT_OK);
	assert_int_equal(V86(e, 0x9c), SOFT_OK);
	assert_int_equal(get16(e, 0x20000 + 0xfffc) & IOPL3, IOPL3);
	put16(e, 0x20000 + 0xfffc, 0x0002);
	assert_int_equal(V86(e, 0x9d), SOFT_OK);
	assert_int_equal(e->c.rflags & (IOPL3 | VM), IOPL3 | VM);
	/* IRET in v86 at IOPL 3 (16-bit): IOPL and VM kept */
	uint16_t f16[3] = { 0x0042, 0x1000, 0x0002 };
	memcpy(e->m.ram + 0x20000 + 0xfff8, f16, 6);
	e->c.gpr[GPR_RSP] = 0xfff8;
	assert_int_equal(V86(e, 0xcf), SOFT_OK);
	assert_int_equal(e->c.rip, 0x42);
	assert_int_equal(e->c.rflags & (IOPL3 | VM), IOPL3 | VM);
	assert_int_equal(e->c.mode, SOFT_MODE_16);
	/* INT 0x21 through a DPL-3 gate to a ring-0 handler: the v86 frame */
	e->c.gpr[GPR_RSP] = 0xfffe;
	assert_int_equal(V86(e, 0xcd, 0x21), SOFT_EXC);
	assert_int_equal(soft_cpu_deliver_exception(&e->c), SOFT_OK);
	assert_int_equal(e->c.rip, HANDLER + 0x100);
	assert_int_equal(e->c.cpl, 0);
	assert_int_equal(e->c.mode, SOFT_MODE_32);
	assert_false(e->c.rflags & VM);
	assert_int_equal(e->c.gpr[GPR_RSP], KSTACK - 36);
	static const uint32_t want[9] = { 2, 0x1000, 0, 0xfffe, 0x2000, 0x3000, 0x4000, 0x5000, 0x6000 };
	for (unsigned i = 0; i < 9; i++)
		if (i != 2)
			assert_int_equal(get32(e, KSTACK - 36 + 4 * i), want[i]);
	assert_true(get32(e, KSTACK - 36 + 8) & VM);
	assert_true(e->c.seg[SEG_DS].unusable && e->c.seg[SEG_ES].unusable);
	assert_true(e->c.seg[SEG_FS].unusable && e->c.seg[SEG_GS].unusable);
	assert_int_equal(e->c.seg[SEG_SS].selector, DATA0);
	/* IRETD back to v86 from the handler */
	assert_int_equal(step_at(e, HANDLER + 0x100, HANDLER + 0x100, BYTES(0xcf)), SOFT_OK);
	assert_int_equal(e->c.rip, 2);
	assert_int_equal(e->c.cpl, 3);
	assert_int_equal(e->c.seg[SEG_DS].base, 0x40000);
	/* a gate whose code segment is not DPL 0: #GP(selector) */
	assert_int_equal(V86(e, 0xcd, 0x22), SOFT_EXC);
	assert_int_equal(soft_cpu_deliver_exception(&e->c), SOFT_OK);
	assert_int_equal(e->c.rip, HANDLER);
	assert_int_equal(get32(e, e->c.gpr[GPR_RSP]), CODE3);
	env_free(e);

	/* a task switch into a task with VM=1 */
	e = env_pm();
	tss32(e, TSSB, 0x0010, 0);
	put32(e, TSSB + 0x24, VM | 0x2);
	put16(e, TSSB + 0x4c, 0x1234);
	put16(e, TSSB + 0x54, 0x4321);
	put16(e, TSSB + 0x60, 0);
	assert_int_equal(STEP(e, 0xea, 0, 0, 0, 0, SEL_B, 0), SOFT_OK);
	assert_int_equal(e->c.mode, SOFT_MODE_16);
	assert_int_equal(e->c.cpl, 3);
	assert_int_equal(e->c.seg[SEG_CS].base, 0x12340);
	assert_int_equal(e->c.seg[SEG_DS].base, 0x43210);
	assert_int_equal(e->c.rip, 0x10);
	env_free(e);
}

/* ---- VME and PVI ---- */

#define VIF (1u << 19)
#define VIP (1u << 20)

static void test_vme(void **state)
{
	struct env *e = env_pm();
	/* advertised and accepted */
	uint32_t regs[4];
	e->c.gpr[GPR_RAX] = 1;
	e->c.gpr[GPR_RCX] = 0;
	assert_int_equal(STEP(e, 0x0f, 0xa2), SOFT_OK);
	regs[3] = (uint32_t)e->c.gpr[GPR_RDX];
	assert_true(regs[3] & 2);
	e->c.gpr[GPR_RAX] = 0x3; /* VME | PVI */
	assert_int_equal(STEP(e, 0x0f, 0x22, 0xe0), SOFT_OK); /* mov cr4, eax */
	assert_int_equal(e->c.cr4 & 3, 3);
	idt_gate32(e, 0x21, HANDLER + 0x100, CODE0, 0xe, 3);
	/* redirection bitmap: the 32 bytes below the I/O map base (moved to
	 * 0x88): vector 0x21 to the IVT (bit clear), 0x22 to the IDT (set) */
	put16(e, TSSA + 0x66, 0x88);
	memset(e->m.ram + TSSA + 0x68, 0xff, 32);
	e->m.ram[TSSA + 0x68 + 0x21 / 8] &= (uint8_t)~(1u << (0x21 & 7));
	put32(e, 0x21 * 4, 0x0500 << 16 | 0x0123); /* IVT[0x21] = 0500:0123 */
	enter_v86(e, VIF);
	/* CLI/STI: VIF, no trap; STI with VIP: #GP */
	assert_int_equal(V86(e, 0xfa), SOFT_OK);
	assert_false(e->c.rflags & VIF);
	assert_int_equal(V86(e, 0xfb), SOFT_OK);
	assert_true(e->c.rflags & VIF);
	assert_false(e->c.rflags & X86_RFLAGS_IF);
	e->c.rflags |= VIP;
	expect_exc(e, V86(e, 0xfb), X86_EXC_GP, 0);
	e->c.rflags &= ~(uint64_t)VIP;
	/* PUSHF: IF = VIF, IOPL = 3; PUSHFD: #GP */
	assert_int_equal(V86(e, 0x9c), SOFT_OK);
	uint16_t img = get16(e, 0x20000 + 0xfffc);
	assert_true(img & X86_RFLAGS_IF);
	assert_int_equal(img & IOPL3, IOPL3);
	expect_exc(e, V86(e, 0x66, 0x9c), X86_EXC_GP, 0);
	/* POPF: IF -> VIF, IOPL kept; TF=1 or IF=1 with VIP: #GP, SP kept */
	put16(e, 0x20000 + 0xfffc, 0x0002 | 0x0001); /* CF, IF=0 */
	assert_int_equal(V86(e, 0x9d), SOFT_OK);
	assert_false(e->c.rflags & VIF);
	assert_true(e->c.rflags & X86_RFLAGS_CF);
	assert_int_equal(e->c.rflags & IOPL3, 0);
	e->c.gpr[GPR_RSP] = 0xfffc;
	put16(e, 0x20000 + 0xfffc, 0x0002 | 0x0100); /* TF */
	expect_exc(e, V86(e, 0x9d), X86_EXC_GP, 0);
	assert_int_equal(e->c.gpr[GPR_RSP], 0xfffc);
	put16(e, 0x20000 + 0xfffc, 0x0202);
	e->c.rflags |= VIP;
	expect_exc(e, V86(e, 0x9d), X86_EXC_GP, 0);
	e->c.rflags &= ~(uint64_t)VIP;
	expect_exc(e, V86(e, 0x66, 0x9d), X86_EXC_GP, 0);
	assert_int_equal(V86(e, 0x9d), SOFT_OK);
	assert_true(e->c.rflags & VIF);
	assert_false(e->c.rflags & X86_RFLAGS_IF);
	/* INT 0x21: redirected through the IVT (method 6) */
	e->c.gpr[GPR_RSP] = 0xfffe;
	assert_int_equal(V86(e, 0xcd, 0x21), SOFT_OK);
	assert_int_equal(e->c.seg[SEG_CS].selector, 0x0500);
	assert_int_equal(e->c.seg[SEG_CS].base, 0x5000);
	assert_int_equal(e->c.rip, 0x0123);
	assert_true(e->c.rflags & VM);
	assert_false(e->c.rflags & VIF);
	assert_int_equal(e->c.gpr[GPR_RSP], 0xfff8);
	assert_int_equal(get16(e, 0x20000 + 0xfff8), 2);      /* IP after the INT */
	assert_int_equal(get16(e, 0x20000 + 0xfffa), 0x1000); /* CS */
	img = get16(e, 0x20000 + 0xfffc);
	assert_true(img & X86_RFLAGS_IF);                     /* VIF was set */
	assert_int_equal(img & IOPL3, IOPL3);
	/* IRET (16-bit) back: the image's IF goes to VIF */
	assert_int_equal(step_at(e, 0x5123, 0x0123, BYTES(0xcf)), SOFT_OK);
	assert_int_equal(e->c.rip, 2);
	assert_int_equal(e->c.seg[SEG_CS].selector, 0x1000);
	assert_true(e->c.rflags & VIF);
	assert_false(e->c.rflags & X86_RFLAGS_IF);
	assert_int_equal(e->c.rflags & IOPL3, 0);
	expect_exc(e, V86(e, 0x66, 0xcf), X86_EXC_GP, 0);     /* IRETD: #GP */
	/* INT 0x22: bit set, IOPL < 3: #GP (method 3) */
	expect_exc(e, V86(e, 0xcd, 0x22), X86_EXC_GP, 0);
	/* IOPL 3: 0x21 redirected with IF cleared (method 5), 0x22 to the IDT */
	e->c.rflags |= IOPL3 | X86_RFLAGS_IF;
	e->c.gpr[GPR_RSP] = 0xfffe;
	assert_int_equal(V86(e, 0xcd, 0x21), SOFT_OK);
	assert_false(e->c.rflags & X86_RFLAGS_IF);
	assert_true(e->c.rflags & VIF); /* untouched */
	assert_int_equal(e->c.rip, 0x0123);
	assert_int_equal(step_at(e, 0x5000, 0, BYTES(0xcd, 0x22)), SOFT_EXC); /* CS = 0x500 now */
	assert_int_equal(e->c.exc.kind, SOFT_EV_SOFTINT);
	assert_int_equal(e->c.exc.vector, 0x22);
	env_free(e);

	/* PVI: CLI/STI at CPL 3 in protected mode change VIF */
	e = env_pm();
	e->c.cr4 |= 2;
	load_seg(e, SEG_CS, CODE3 | 3);
	load_seg(e, SEG_SS, DATA3 | 3);
	soft_cpu_update_mode(&e->c);
	e->c.rflags |= X86_RFLAGS_IF | VIF;
	assert_int_equal(STEP(e, 0xfa), SOFT_OK);
	assert_false(e->c.rflags & VIF);
	assert_true(e->c.rflags & X86_RFLAGS_IF);
	assert_int_equal(STEP(e, 0xfb), SOFT_OK);
	assert_true(e->c.rflags & VIF);
	e->c.cr4 &= ~2ULL;
	expect_exc(e, STEP(e, 0xfa), X86_EXC_GP, 0);
	env_free(e);
}

/* ---- hostile tables: random TSSs, descriptors and frames ---- */

static void test_hostile_tasks(void **state)
{
	uint64_t seed = 0x243f6a8885a308d3ULL;
	static const uint8_t insns[][7] = {
		{ 0xea, 0, 0, 0, 0, SEL_B, 0 }, { 0x9a, 0, 0, 0, 0, SEL_C, 0 },
		{ 0xea, 0, 0, 0, 0, GATE3 | 3, 0 }, { 0x9a, 0, 0, 0, 0, GATE0, 0 },
		{ 0xcf }, { 0xcd, 0x21 }, { 0xfa }, { 0x9d },
	};
	for (int i = 0; i < 3000; i++) {
		struct env *e = env_pm();
		if (xorshift64(&seed) & 1)
			tss32(e, TSSB, 0x11000, xorshift64(&seed) & 1);
		for (unsigned a = TSSB; a < TSSB + 0x68; a += 4)
			if (!(xorshift64(&seed) & 3))
				put32(e, a, (uint32_t)xorshift64(&seed));
		for (unsigned a = TSSC; a < TSSC + 0x2c; a += 4)
			put32(e, a, (uint32_t)xorshift64(&seed));
		for (unsigned a = GDT + SEL_B; a <= GDT + 0x68; a += 8)
			if (!(xorshift64(&seed) & 3))
				put64(e, a, xorshift64(&seed));
		for (unsigned v = 0; v < 0x30; v++)
			if (xorshift64(&seed) & 1)
				put64(e, IDT + v * 8, (xorshift64(&seed) & 1) ? task_gate(SEL_B, xorshift64(&seed) & 3) : xorshift64(&seed));
		put16(e, TSSA, (uint16_t)xorshift64(&seed));
		if (xorshift64(&seed) & 1)
			e->c.rflags |= NT;
		if (xorshift64(&seed) & 1)
			e->c.cr4 |= xorshift64(&seed) & 3;
		if (!(xorshift64(&seed) & 3)) {
			/* an IRET frame that may enter virtual-8086 mode */
			for (unsigned k = 0; k < 9; k++)
				put32(e, KSTACK - 36 + 4 * k, (uint32_t)xorshift64(&seed) | (k == 2 ? VM : 0));
			e->c.gpr[GPR_RSP] = KSTACK - 36;
		}
		int r;
		for (int k = 0; k < 4; k++) {
			if (xorshift64(&seed) & 1) {
				r = soft_cpu_deliver(&e->c, xorshift64(&seed) & 0x2f, xorshift64(&seed) % 8, xorshift64(&seed) & 1,
						     (uint32_t)xorshift64(&seed));
			} else {
				unsigned n = xorshift64(&seed) % (sizeof(insns) / sizeof(insns[0]));
				uint64_t la = (e->c.seg[SEG_CS].base + CODE) & (MEM - 1);
				if (la > MEM - 16)
					la = CODE;
				r = step_at(e, la, (la - e->c.seg[SEG_CS].base) & 0xffffffff, insns[n], 7);
				if (r == SOFT_EXC)
					r = soft_cpu_deliver_exception(&e->c);
			}
			/* never SOFT_INTERNAL: task switches and virtual-8086 mode
			 * are modelled */
			assert_true(r == SOFT_OK || r == SOFT_SHUTDOWN || r == SOFT_EXC || r == SOFT_HLT);
			assert_true(e->c.cpl <= 3);
			if (r == SOFT_SHUTDOWN)
				break;
		}
		env_free(e);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jmp_tss),
		cmocka_unit_test(test_call_16bit_tss_iret),
		cmocka_unit_test(test_long_mode_no_tasks),
		cmocka_unit_test(test_task_checks),
		cmocka_unit_test(test_idt_task_gate),
		cmocka_unit_test(test_v86),
		cmocka_unit_test(test_vme),
		cmocka_unit_test(test_hostile_tasks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
