/* Soft CPU debug exceptions (src/cpu/soft/debug.c): single-step with TF
 * (POPF setting and clearing it, MOV SS and STI shadows, INT3, faults, REP
 * string iterations, HLT), DR0-DR3 instruction/data/I/O breakpoints with RF,
 * DR6/DR7 semantics of MOV DR, general detect, ICEBP, and that the decoded
 * block cache does not skip the checks; plus IRET unblocking NMIs even when
 * it faults.  SDM vol. 3, ch. 18 and 6.7.1/6.8.3.  The test plays the
 * engine: it runs the core and looks at what it reports. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "src/cpu/soft/cpu.h"
#include "src/cpu/soft/debug.h"
#include "src/cpu/soft/flatmem.h"
#include "src/cpu/soft/sys.h"
#include "xorshift.h"

#define MEM (1u << 20)
#define GDT 0x800
#define IDT 0x2000
#define CODE 0x10000
#define HANDLER 0x18000
#define DATA 0x20000
#define KSTACK 0x70000
#define USTACK 0x60000

#define DR6_BS (1u << 14)
#define DR6_BD (1u << 13)

struct env {
	struct soft_flatmem m;
	struct soft_cpu c;
};

static void put64(struct env *e, uint64_t a, uint64_t v) { memcpy(e->m.ram + a, &v, 8); }
static uint64_t get64(struct env *e, uint64_t a) { uint64_t v; memcpy(&v, e->m.ram + a, 8); return v; }

static void load_seg(struct env *e, unsigned seg, uint16_t sel)
{
	uint64_t d;
	memcpy(&d, e->m.ram + GDT + (sel & ~7u), 8);
	sys_seg_from_desc(&e->c.seg[seg], sel, d, 0);
}

static void gate64(struct env *e, unsigned v, uint64_t off, unsigned dpl)
{
	uint64_t lo = (off & 0xffff) | (0x08ULL << 16) | (0xeULL << 40) | ((uint64_t)dpl << 45) |
		      (1ULL << 47) | (((off >> 16) & 0xffff) << 48);
	put64(e, IDT + v * 16, lo);
	put64(e, IDT + v * 16 + 8, off >> 32);
}

/* Long mode at CPL cpl: 08 code64 DPL0, 10 data, 23 user data, 2b user code64.
 * Every IDT vector goes to a HLT at HANDLER. */
static struct env *env_lm(unsigned cpl)
{
	struct env *e = calloc(1, sizeof(*e));
	assert_non_null(e);
	assert_int_equal(soft_flatmem_init(&e->m, MEM), 0);
	assert_int_equal(soft_cpu_init(&e->c, &soft_flatmem_ops, &e->m, true), 0);
	put64(e, GDT + 0x08, 0x00af9a000000ffffULL);
	put64(e, GDT + 0x10, 0x00cf92000000ffffULL);
	put64(e, GDT + 0x20, 0x00cff2000000ffffULL);
	put64(e, GDT + 0x28, 0x00affa000000ffffULL);
	e->c.gdt.base = GDT;
	e->c.gdt.limit = 0x2f;
	e->c.idt.base = IDT;
	e->c.idt.limit = 256 * 16 - 1;
	for (unsigned v = 0; v < 32; v++)
		gate64(e, v, HANDLER, 0);
	e->m.ram[HANDLER] = 0xf4;
	e->c.cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_NE | X86_CR0_PG;
	e->c.cr4 = X86_CR4_PAE;
	e->c.efer = X86_EFER_LME | X86_EFER_LMA;
	load_seg(e, SEG_CS, cpl ? 0x2b : 0x08);
	for (unsigned s = 0; s < SEG_COUNT; s++)
		if (s != SEG_CS)
			load_seg(e, s, cpl ? 0x23 : 0x10);
	/* a 64-bit TSS is not needed: no privilege change is delivered */
	soft_cpu_update_mode(&e->c);
	assert_int_equal(e->c.mode, SOFT_MODE_64);
	e->c.gpr[GPR_RSP] = cpl ? USTACK : KSTACK;
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

static void code(struct env *e, const uint8_t *b, size_t n)
{
	memcpy(e->m.ram + CODE, b, n);
	soft_cpu_invalidate_code(&e->c, CODE, n);
	e->c.rip = CODE;
}
#define CODE_BYTES(e, ...) code(e, (const uint8_t[]){ __VA_ARGS__ }, sizeof((const uint8_t[]){ __VA_ARGS__ }))

static void set_dr7(struct env *e, uint64_t v)
{
	e->c.dr[7] = v | 0x400;
	soft_dbg_update(&e->c);
}

/* Run without delivering: collect the offsets (rip - CODE) at which #DB
 * traps were reported until HLT.  Returns the number of traps. */
static unsigned collect_traps(struct env *e, uint64_t *rips, uint32_t *dr6, unsigned max)
{
	unsigned n = 0;
	for (int guard = 0; guard < 100; guard++) {
		int r = soft_cpu_run(&e->c, 1000, NULL);
		if (r == SOFT_HLT)
			return n;
		assert_int_equal(r, SOFT_EXC);
		assert_int_equal(e->c.exc.vector, X86_EXC_DB);
		assert_int_equal(e->c.exc.kind, SOFT_EV_TRAP);
		assert_true(n < max);
		rips[n] = e->c.rip - CODE;
		dr6[n] = (uint32_t)e->c.dr[6];
		e->c.dr[6] = SOFT_DR6_FIXED; /* the handler clears DR6 */
		n++;
	}
	fail_msg("no HLT");
	return n;
}

/* POPF setting TF: the first trap follows the next instruction; POPF
 * clearing TF still traps after itself (kvm-unit-tests' "single step"). */
static void test_single_step_popf(void **state)
{
	struct env *e = env_lm(0);
	CODE_BYTES(e, 0x9c,                                     /* 00 pushfq */
		   0x48, 0x81, 0x0c, 0x24, 0x00, 0x01, 0x00, 0x00, /* 01 orq $0x100,(%rsp) */
		   0x9d,                                        /* 09 popfq: TF=1 */
		   0x90,                                        /* 0a nop: trap at 0b */
		   0x90,                                        /* 0b nop: trap at 0c */
		   0x9c,                                        /* 0c pushfq: 0d */
		   0x48, 0x81, 0x24, 0x24, 0xff, 0xfe, 0xff, 0xff, /* 0d andq $~0x100,(%rsp): 15 */
		   0x9d,                                        /* 15 popfq: TF=0, trap at 16 */
		   0x90,                                        /* 16 nop: no trap */
		   0xf4);                                       /* 17 hlt */
	uint64_t rips[8];
	uint32_t dr6[8];
	unsigned n = collect_traps(e, rips, dr6, 8);
	static const uint64_t want[] = { 0x0b, 0x0c, 0x0d, 0x15, 0x16 };
	assert_int_equal(n, 5);
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(rips[i], want[i]);
		assert_int_equal(dr6[i], 0xffff4ff0);
	}
	assert_int_equal(e->c.rip, CODE + 0x18);
	env_free(e);
}

/* MOV SS holds the #DB back to after the next instruction (one #DB for
 * both); STI's shadow does not. */
static void test_single_step_shadows(void **state)
{
	struct env *e = env_lm(0);
	e->c.gpr[GPR_RAX] = 0x10;
	CODE_BYTES(e, 0x8e, 0xd0,   /* 00 mov %eax,%ss: held */
		   0x90,            /* 02 nop: trap at 03 (both) */
		   0xfa,            /* 03 cli: 04 */
		   0xfb,            /* 04 sti: 05 (STI does not hold #DB back) */
		   0x90,            /* 05 nop: 06 */
		   0x90,            /* 06 nop: 07 */
		   0xf4);           /* 07 hlt: trap at 08 (ends the halt) */
	e->c.rflags |= X86_RFLAGS_TF;
	uint64_t rips[8];
	uint32_t dr6[8];
	unsigned n = 0;
	for (int guard = 0; guard < 20; guard++) {
		int r = soft_cpu_run(&e->c, 1000, NULL);
		assert_int_equal(r, SOFT_EXC);
		assert_int_equal(e->c.exc.kind, SOFT_EV_TRAP);
		rips[n] = e->c.rip - CODE;
		dr6[n] = (uint32_t)e->c.dr[6];
		e->c.dr[6] = SOFT_DR6_FIXED;
		n++;
		if (e->c.rip == CODE + 8)
			break;
	}
	static const uint64_t want[] = { 0x03, 0x04, 0x05, 0x06, 0x07, 0x08 };
	assert_int_equal(n, 6);
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(rips[i], want[i]);
		assert_int_equal(dr6[i], 0xffff4ff0);
	}
	env_free(e);
}

/* INT3 and faults with TF: no single-step trap; delivery clears TF, and the
 * pushed RFLAGS keeps it (the trap resumes after the handler's IRET). */
static void test_single_step_int_and_fault(void **state)
{
	struct env *e = env_lm(0);
	CODE_BYTES(e, 0xcc, 0x0f, 0x0b);   /* int3; ud2 */
	e->c.rflags |= X86_RFLAGS_TF;
	assert_int_equal(soft_cpu_run(&e->c, 1000, NULL), SOFT_EXC);
	assert_int_equal(e->c.exc.vector, X86_EXC_BP);
	assert_int_equal(e->c.exc.kind, SOFT_EV_INT3);
	assert_int_equal(e->c.dr[6], SOFT_DR6_FIXED);
	assert_int_equal(soft_cpu_deliver_exception(&e->c), SOFT_OK);
	assert_false(e->c.rflags & X86_RFLAGS_TF);
	assert_int_equal(e->c.rip, HANDLER);
	assert_true(get64(e, KSTACK - 24) & X86_RFLAGS_TF); /* pushed RFLAGS */
	assert_int_equal(get64(e, KSTACK - 40), CODE + 1);   /* pushed RIP */
	e->c.rip = CODE + 1;
	e->c.rflags |= X86_RFLAGS_TF;
	assert_int_equal(soft_cpu_run(&e->c, 1000, NULL), SOFT_EXC);
	assert_int_equal(e->c.exc.vector, X86_EXC_UD);
	assert_int_equal(e->c.exc.kind, SOFT_EV_FAULT);
	assert_int_equal(e->c.rip, CODE + 1);
	assert_int_equal(e->c.dr[6], SOFT_DR6_FIXED);
	env_free(e);
}

/* REP MOVSB with TF: a trap after every iteration, RIP on the instruction
 * until the last one. */
static void test_single_step_rep(void **state)
{
	struct env *e = env_lm(0);
	CODE_BYTES(e, 0xf3, 0xa4, 0xf4);   /* rep movsb; hlt */
	e->c.gpr[GPR_RSI] = DATA;
	e->c.gpr[GPR_RDI] = DATA + 0x100;
	e->c.gpr[GPR_RCX] = 3;
	e->c.rflags |= X86_RFLAGS_TF;
	/* 3 iterations, then the HLT's own trap */
	static const uint64_t want[] = { 0, 0, 2, 3 };
	static const uint64_t rcx[] = { 2, 1, 0, 0 };
	for (unsigned i = 0; i < 4; i++) {
		assert_int_equal(soft_cpu_run(&e->c, 1000, NULL), SOFT_EXC);
		assert_int_equal(e->c.exc.kind, SOFT_EV_TRAP);
		assert_int_equal(e->c.rip, CODE + want[i]);
		assert_int_equal(e->c.gpr[GPR_RCX], rcx[i]);
		assert_int_equal(e->c.dr[6], 0xffff4ff0);
	}
	env_free(e);
}

/* SYSCALL with TF: the trap follows it (TF was set when it began), at the
 * entry point, although SFMASK clears TF; SYSRET loading TF=1: the first
 * instruction after it traps. */
static void test_single_step_syscall(void **state)
{
	struct env *e = env_lm(0);
	struct soft_cpu *c = &e->c;
	c->efer |= X86_EFER_SCE;
	c->star = (0x18ULL << 48) | (0x08ULL << 32);
	c->lstar = CODE + 0x40;
	c->sfmask = X86_RFLAGS_TF | X86_RFLAGS_IF;
	CODE_BYTES(e, 0x0f, 0x05);                       /* syscall */
	e->m.ram[CODE + 0x40] = 0x90;                    /* nop */
	memcpy(e->m.ram + CODE + 0x41, (const uint8_t[]){ 0x48, 0x0f, 0x07 }, 3); /* sysretq */
	memcpy(e->m.ram + CODE + 0x80, (const uint8_t[]){ 0x90, 0x90 }, 2);
	c->rflags |= X86_RFLAGS_TF;
	assert_int_equal(soft_cpu_run(c, 100, NULL), SOFT_EXC);
	assert_int_equal(c->exc.kind, SOFT_EV_TRAP);
	assert_int_equal(c->rip, CODE + 0x40);
	assert_false(c->rflags & X86_RFLAGS_TF);
	assert_true(c->gpr[GPR_R11] & X86_RFLAGS_TF);
	assert_int_equal(c->dr[6], 0xffff4ff0);
	/* nop, then SYSRETQ to ring 3 with R11.TF: no trap after SYSRET */
	c->dr[6] = SOFT_DR6_FIXED;
	c->gpr[GPR_RCX] = CODE + 0x80;
	c->gpr[GPR_R11] = X86_RFLAGS_FIXED | X86_RFLAGS_TF;
	assert_int_equal(soft_cpu_step(c), SOFT_OK);     /* nop */
	assert_int_equal(soft_cpu_step(c), SOFT_OK);     /* sysretq */
	assert_int_equal(c->cpl, 3);
	assert_int_equal(c->rip, CODE + 0x80);
	assert_true(c->rflags & X86_RFLAGS_TF);
	assert_int_equal(soft_cpu_step(c), SOFT_EXC);    /* the first user nop */
	assert_int_equal(c->exc.kind, SOFT_EV_TRAP);
	assert_int_equal(c->rip, CODE + 0x81);
	env_free(e);
}

/* Instruction breakpoint: a fault before the instruction, again and again
 * until RF is set; RF is cleared once an instruction completes.  The
 * breakpoint also fires in a loop already in the decoded-block cache. */
static void test_insn_breakpoint(void **state)
{
	struct env *e = env_lm(0);
	/* 00: dec %ecx; 02: jnz 00; 04: nop; 05: hlt */
	CODE_BYTES(e, 0xff, 0xc9, 0x75, 0xfc, 0x90, 0xf4);
	e->c.gpr[GPR_RCX] = 1000;
	assert_int_equal(soft_cpu_run(&e->c, 100000, NULL), SOFT_HLT); /* blocks cached */
	e->c.rip = CODE;
	e->c.gpr[GPR_RCX] = 1000;
	e->c.dr[2] = CODE + 2;       /* the jnz */
	set_dr7(e, 0x30);            /* L2 G2, R/W 00, LEN 00 */
	assert_true(e->c.dbg_armed & SOFT_DBG_INSN);
	unsigned faults = 0;
	for (int guard = 0; guard < 5000; guard++) {
		int r = soft_cpu_run(&e->c, 100000, NULL);
		if (r == SOFT_HLT)
			break;
		assert_int_equal(r, SOFT_EXC);
		assert_int_equal(e->c.exc.vector, X86_EXC_DB);
		assert_int_equal(e->c.exc.kind, SOFT_EV_FAULT);
		assert_int_equal(e->c.rip, CODE + 2);
		assert_int_equal(e->c.dr[6], 0xffff0ff4);
		/* without RF the same breakpoint fires again */
		assert_int_equal(soft_cpu_run(&e->c, 100000, NULL), SOFT_EXC);
		assert_int_equal(e->c.rip, CODE + 2);
		e->c.dr[6] = SOFT_DR6_FIXED;
		e->c.rflags |= SOFT_RFLAGS_RF;   /* the handler's IRET image */
		faults++;
	}
	assert_int_equal(faults, 1000);
	assert_int_equal(e->c.rip, CODE + 6);
	assert_false(e->c.rflags & SOFT_RFLAGS_RF);
	/* delivered: the pushed RFLAGS has RF clear (#DB faults are the
	 * exception to "RF set for faults") */
	e->c.rip = CODE + 2;
	assert_int_equal(soft_cpu_run(&e->c, 10, NULL), SOFT_EXC);
	assert_int_equal(soft_cpu_deliver_exception(&e->c), SOFT_OK);
	assert_false(get64(e, KSTACK - 24) & SOFT_RFLAGS_RF);
	assert_int_equal(get64(e, KSTACK - 40), CODE + 2);
	env_free(e);
}

/* Breakpoint addresses: 64-bit compares in IA-32e mode, compatibility mode
 * included; 32-bit compares in legacy protected mode. */
static void test_bp_address_width(void **state)
{
	struct env *e = env_lm(0);
	struct soft_cpu *c = &e->c;
	put64(e, GDT + 0x18, 0x00cf9a000000ffffULL);   /* 32-bit code */
	load_seg(e, SEG_CS, 0x18);
	soft_cpu_update_mode(c);
	assert_int_equal(c->mode, SOFT_MODE_32);
	CODE_BYTES(e, 0x90, 0x90, 0xf4);
	c->dr[0] = (1ULL << 32) | (CODE + 1);
	set_dr7(e, 0x1);
	assert_int_equal(soft_cpu_run(c, 10, NULL), SOFT_HLT);   /* compat: no match */
	c->dr[0] = CODE + 1;
	c->rip = CODE;
	assert_int_equal(soft_cpu_run(c, 10, NULL), SOFT_EXC);
	assert_int_equal(c->rip, CODE + 1);
	/* legacy protected mode: the upper half is ignored */
	c->efer = 0;
	c->cr0 = X86_CR0_PE | X86_CR0_ET;
	soft_cpu_update_mode(c);
	assert_int_equal(c->mode, SOFT_MODE_32);
	c->dr[0] = (1ULL << 32) | (CODE + 1);
	c->rip = CODE;
	assert_int_equal(soft_cpu_run(c, 10, NULL), SOFT_EXC);
	assert_int_equal(c->exc.kind, SOFT_EV_FAULT);
	assert_int_equal(c->rip, CODE + 1);
	env_free(e);
}

/* Data breakpoints: traps after the access; write-only vs read/write; the
 * range is aligned to LEN and hit by any overlapping byte; several hits set
 * several B bits. */
static void test_data_breakpoints(void **state)
{
	struct env *e = env_lm(0);
	e->c.gpr[GPR_RBX] = DATA;
	CODE_BYTES(e, 0x8b, 0x43, 0x04,   /* 00 mov 4(%rbx),%eax: read, no hit */
		   0x88, 0x43, 0x06,      /* 03 mov %al,6(%rbx): hit DR1 -> 06 */
		   0x88, 0x43, 0x08,      /* 06 mov %al,8(%rbx): outside */
		   0x89, 0x43, 0x02,      /* 09 mov %eax,2(%rbx): overlaps 4..5 -> 0c */
		   0x8a, 0x43, 0x11,      /* 0c mov 0x11(%rbx),%al: DR0 (r/w) and DR3 -> 0f */
		   0xf0, 0xff, 0x43, 0x04, /* 0f lock incl 4(%rbx): DR1 -> 13 */
		   0xf4);
	e->c.dr[1] = DATA + 5;        /* LEN 4: aligned down to DATA+4 */
	e->c.dr[0] = DATA + 0x10;     /* LEN 8, R/W 11 */
	e->c.dr[3] = DATA + 0x11;     /* LEN 1, R/W 11 */
	set_dr7(e, 0x04 | (1u << 20) | (3u << 22) |   /* L1: write, 4 bytes */
		   0x01 | (3u << 16) | (2u << 18) |     /* L0: read/write, 8 bytes */
		   0x80 | (3u << 28) | (0u << 30));     /* G3: read/write, 1 byte */
	assert_true(e->c.dbg_armed & SOFT_DBG_DATA);
	uint64_t rips[8];
	uint32_t dr6[8];
	unsigned n = collect_traps(e, rips, dr6, 8);
	assert_int_equal(n, 4);
	assert_int_equal(rips[3], 0x13);
	assert_int_equal(dr6[3], 0xffff0ff2);
	assert_int_equal(rips[0], 0x06);
	assert_int_equal(dr6[0], 0xffff0ff2);
	assert_int_equal(rips[1], 0x0c);
	assert_int_equal(dr6[1], 0xffff0ff2);
	assert_int_equal(rips[2], 0x0f);
	assert_int_equal(dr6[2], 0xffff0ff9);
	env_free(e);
}

/* I/O breakpoints need CR4.DE; MOV DR semantics; general detect. */
static void test_io_bp_and_mov_dr(void **state)
{
	struct env *e = env_lm(0);
	CODE_BYTES(e, 0xe6, 0x80, 0xf4);   /* out %al,$0x80; hlt */
	e->c.dr[2] = 0x80;
	set_dr7(e, 0x10 | (2u << 24));      /* L2: I/O, 1 byte */
	assert_int_equal(soft_cpu_run(&e->c, 10, NULL), SOFT_HLT); /* CR4.DE=0: ignored */
	e->c.cr4 |= SOFT_CR4_DE;
	e->c.rip = CODE;
	assert_int_equal(soft_cpu_run(&e->c, 10, NULL), SOFT_EXC);
	assert_int_equal(e->c.exc.kind, SOFT_EV_TRAP);
	assert_int_equal(e->c.rip, CODE + 2);
	assert_int_equal(e->c.dr[6], 0xffff0ff4);
	env_free(e);

}

static int step1(struct env *e, const uint8_t *b, size_t n)
{
	code(e, b, n);
	return soft_cpu_step(&e->c);
}
#define STEP(e, ...) step1(e, (const uint8_t[]){ __VA_ARGS__ }, sizeof((const uint8_t[]){ __VA_ARGS__ }))

static void expect_fault(struct env *e, int r, unsigned vec)
{
	assert_int_equal(r, SOFT_EXC);
	assert_int_equal(e->c.exc.vector, vec);
	assert_int_equal(e->c.exc.kind, SOFT_EV_FAULT);
	assert_int_equal(e->c.rip, CODE);
}

/* MOV DR: fixed bits, #GP for bits 63:32 of DR6/DR7, DR4/DR5 aliases and
 * CR4.DE, CPL, general detect (a fault with BD; delivery clears GD). */
static void test_mov_dr(void **state)
{
	struct env *e = env_lm(0);
	struct soft_cpu *c = &e->c;
	c->gpr[GPR_RAX] = 0;
	assert_int_equal(STEP(e, 0x0f, 0x23, 0xf0), SOFT_OK);        /* mov %rax,%dr6 */
	assert_int_equal(STEP(e, 0x0f, 0x21, 0xf3), SOFT_OK);        /* mov %dr6,%rbx */
	assert_int_equal(c->gpr[GPR_RBX], 0xffff0ff0);
	c->gpr[GPR_RAX] = 0xffffffff;
	assert_int_equal(STEP(e, 0x0f, 0x23, 0xf0), SOFT_OK);
	assert_int_equal(c->dr[6], 0xffffefff);                      /* bit 12 reads 0 */
	c->gpr[GPR_RAX] = 0xffffdfff;                                 /* all but GD */
	assert_int_equal(STEP(e, 0x0f, 0x23, 0xf8), SOFT_OK);        /* mov %rax,%dr7 */
	assert_int_equal(c->dr[7], 0xffff07ff);                      /* 11 12 14 15 read 0 */
	assert_int_equal(c->dbg_armed, SOFT_DBG_DATA);                /* all R/W = 11 */
	c->gpr[GPR_RAX] = 0x01 | 0x10 | (2u << 24);
	assert_int_equal(STEP(e, 0x0f, 0x23, 0xf8), SOFT_OK);
	assert_int_equal(c->dbg_armed, SOFT_DBG_INSN | SOFT_DBG_IO);
	c->gpr[GPR_RAX] = 0x400;
	assert_int_equal(STEP(e, 0x0f, 0x23, 0xf8), SOFT_OK);
	assert_int_equal(c->dbg_armed, 0);
	c->gpr[GPR_RAX] = 1ULL << 32;
	expect_fault(e, STEP(e, 0x0f, 0x23, 0xf0), X86_EXC_GP);       /* DR6 */
	expect_fault(e, STEP(e, 0x0f, 0x23, 0xf8), X86_EXC_GP);       /* DR7 */
	assert_int_equal(STEP(e, 0x0f, 0x23, 0xc0), SOFT_OK);        /* DR0 takes 64 bits */
	assert_int_equal(c->dr[0], 1ULL << 32);
	/* DR4/DR5 alias DR6/DR7 while CR4.DE=0, #UD with it */
	assert_int_equal(STEP(e, 0x0f, 0x21, 0xe3), SOFT_OK);        /* mov %dr4,%rbx */
	assert_int_equal(c->gpr[GPR_RBX], c->dr[6]);
	assert_int_equal(STEP(e, 0x0f, 0x21, 0xeb), SOFT_OK);        /* mov %dr5,%rbx */
	assert_int_equal(c->gpr[GPR_RBX], 0x400);
	c->cr4 |= SOFT_CR4_DE;
	expect_fault(e, STEP(e, 0x0f, 0x21, 0xe3), X86_EXC_UD);
	c->cr4 &= ~SOFT_CR4_DE;
	/* general detect */
	c->dr[7] = 0x2400;
	c->dr[6] = SOFT_DR6_FIXED;
	expect_fault(e, STEP(e, 0x0f, 0x21, 0xc0), X86_EXC_DB);       /* mov %dr0,%rax */
	assert_int_equal(c->dr[6], 0xffff0ff0 | DR6_BD);
	assert_int_equal(soft_cpu_deliver_exception(c), SOFT_OK);
	assert_int_equal(c->dr[7], 0x400);                            /* GD cleared */
	assert_int_equal(get64(e, KSTACK - 40), CODE);                /* a fault */
	assert_false(get64(e, KSTACK - 24) & SOFT_RFLAGS_RF);
	assert_int_equal(STEP(e, 0x0f, 0x21, 0xc0), SOFT_OK);
	env_free(e);

	/* CPL 3: #GP(0) */
	e = env_lm(3);
	expect_fault(e, STEP(e, 0x0f, 0x21, 0xc0), X86_EXC_GP);
	env_free(e);
}

/* ICEBP (F1): a trap-like #DB that leaves DR6 alone and is delivered as a
 * hardware event: not subject to the gate's DPL (INT 1 is). */
/* a 64-bit TSS (RSP0 = KSTACK) for ring 3 -> 0 deliveries */
static void add_tss(struct env *e)
{
	struct soft_cpu *c = &e->c;
	put64(e, GDT + 0x30, 0x67 | (0x4000ULL << 16) | (0x89ULL << 40));
	put64(e, GDT + 0x38, 0);
	put64(e, 0x4000 + 4, KSTACK);
	uint64_t d[2];
	memcpy(d, e->m.ram + GDT + 0x30, 16);
	sys_seg_from_desc(&c->tr, 0x30, d[0], d[1]);
	c->tr.type = 0xb;
	c->gdt.limit = 0x3f;
}

static void test_icebp(void **state)
{
	struct env *e = env_lm(3);
	struct soft_cpu *c = &e->c;
	add_tss(e);
	assert_int_equal(STEP(e, 0xf1), SOFT_EXC);
	assert_int_equal(c->exc.vector, X86_EXC_DB);
	assert_int_equal(c->exc.kind, SOFT_EV_INT1);
	assert_int_equal(c->rip, CODE + 1);
	assert_int_equal(c->dr[6], SOFT_DR6_FIXED);
	assert_int_equal(soft_cpu_deliver_exception(c), SOFT_OK);
	assert_int_equal(c->rip, HANDLER);
	assert_int_equal(get64(e, KSTACK - 40), CODE + 1);
	env_free(e);

	e = env_lm(3);
	c = &e->c;
	add_tss(e);
	assert_int_equal(STEP(e, 0xcd, 0x01), SOFT_EXC);             /* int $1 */
	assert_int_equal(c->exc.kind, SOFT_EV_SOFTINT);
	assert_int_equal(soft_cpu_deliver_exception(c), SOFT_OK);     /* -> #GP(1*8+2) */
	assert_int_equal(c->rip, HANDLER);
	assert_int_equal(get64(e, KSTACK - 48), 0x0a);                /* error code */
	assert_int_equal(get64(e, KSTACK - 40), CODE);                /* at the INT */
	env_free(e);
}

/* IRET unblocks NMIs even when it faults (SDM vol. 3, 6.7.1). */
static void test_iret_unblocks_nmi(void **state)
{
	struct env *e = env_lm(0);
	struct soft_cpu *c = &e->c;
	assert_int_equal(soft_cpu_deliver(c, X86_EXC_NMI, SOFT_EV_NMI, false, 0), SOFT_OK);
	assert_true(c->nmi_blocked);
	/* an IRETQ frame with a null CS: #GP(0) */
	c->rip = CODE;
	put64(e, DATA + 0, CODE + 8);
	put64(e, DATA + 8, 0);
	put64(e, DATA + 16, X86_RFLAGS_FIXED);
	put64(e, DATA + 24, DATA + 0x100);
	put64(e, DATA + 32, 0x10);
	c->gpr[GPR_RSP] = DATA;
	expect_fault(e, STEP(e, 0x48, 0xcf), X86_EXC_GP);
	assert_false(c->nmi_blocked);
	/* a good frame: unblocked, RF loaded from the image */
	assert_int_equal(soft_cpu_deliver(c, X86_EXC_NMI, SOFT_EV_NMI, false, 0), SOFT_OK);
	assert_true(c->nmi_blocked);
	put64(e, DATA + 8, 0x08);
	put64(e, DATA + 16, X86_RFLAGS_FIXED | SOFT_RFLAGS_RF);
	c->gpr[GPR_RSP] = DATA;
	assert_int_equal(STEP(e, 0x48, 0xcf), SOFT_OK);
	assert_false(c->nmi_blocked);
	assert_int_equal(c->rip, CODE + 8);
	assert_true(c->rflags & SOFT_RFLAGS_RF);
	env_free(e);
}

/* Hostile debug state: random DR0-DR7, TF/RF, CR4.DE and random code must
 * end every run in a defined status without hanging or crashing. */
static void test_hostile_debug_state(void **state)
{
	uint64_t st = 0x9e3779b97f4a7c15ULL;
	unsigned dbs = 0, insns = 0;
	for (int iter = 0; iter < 300; iter++) {
		struct env *e = env_lm(0);
		struct soft_cpu *c = &e->c;
		for (unsigned i = 0; i < 256; i++)
			e->m.ram[CODE + i] = (uint8_t)xorshift64(&st);
		e->m.ram[HANDLER] = 0x48;   /* iretq: keep going after each event */
		e->m.ram[HANDLER + 1] = 0xcf;
		for (unsigned i = 0; i < 4; i++)
			c->dr[i] = (xorshift64(&st) & 1) ? CODE + (xorshift64(&st) & 0xff) : xorshift64(&st);
		c->dr[6] = SOFT_DR6_FIXED | (xorshift64(&st) & SOFT_DR6_VOLATILE);
		set_dr7(e, xorshift64(&st) & SOFT_DR7_VOLATILE);
		if (xorshift64(&st) & 1)
			c->rflags |= X86_RFLAGS_TF;
		if (xorshift64(&st) & 1)
			c->rflags |= SOFT_RFLAGS_RF;
		if (xorshift64(&st) & 1)
			c->cr4 |= SOFT_CR4_DE;
		for (unsigned i = 0; i < 16; i++)
			c->gpr[i] = (xorshift64(&st) & 1) ? DATA + (xorshift64(&st) & 0xfff) : xorshift64(&st);
		c->gpr[GPR_RSP] = KSTACK;
		for (int k = 0; k < 20; k++) {
			uint64_t done = 0;
			int r = soft_cpu_run(c, 200, &done);
			insns += (unsigned)done;
			assert_true(r >= SOFT_OK && r <= SOFT_SHUTDOWN);
			if (r == SOFT_EXC && c->exc.vector == X86_EXC_DB)
				dbs++;
			if (r == SOFT_EXC) {
				assert_true(c->exc.vector < 32 || c->exc.kind == SOFT_EV_SOFTINT);
				r = soft_cpu_deliver_exception(c);
			}
			if (r != SOFT_OK && r != SOFT_STOP)
				break;
			assert_true((c->dr[6] & 0xffff0ff0) == 0xffff0ff0);
		}
		env_free(e);
	}
	print_message("hostile debug state: %u instructions, %u #DB\n", insns, dbs);
	assert_true(dbs > 300);   /* the runs did reach the #DB paths */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single_step_popf),
		cmocka_unit_test(test_single_step_shadows),
		cmocka_unit_test(test_single_step_int_and_fault),
		cmocka_unit_test(test_single_step_rep),
		cmocka_unit_test(test_single_step_syscall),
		cmocka_unit_test(test_insn_breakpoint),
		cmocka_unit_test(test_bp_address_width),
		cmocka_unit_test(test_data_breakpoints),
		cmocka_unit_test(test_io_bp_and_mov_dr),
		cmocka_unit_test(test_mov_dr),
		cmocka_unit_test(test_icebp),
		cmocka_unit_test(test_iret_unblocks_nmi),
		cmocka_unit_test(test_hostile_debug_state),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
