/* Debug exceptions (#DB, vector 1), SDM vol. 3 ch. 18 and 6.8.3: single-step
 * with TF around POPF, MOV SS, STI, INT3 and REP strings; DR0-DR3
 * instruction and data breakpoints with DR6/DR7 and RF; general detect;
 * ICEBP; MOV DR semantics.  Built for 32- and 64-bit images; in 32-bit code
 * the cases need a real IRET from the interrupt stubs ("iret=1", which the
 * runner passes for the soft engine): the POPF + LRET return would add
 * single-step traps of its own and cannot load RF.
 *
 * The #DB handler records where each #DB left the CPU (the frame's RIP) and
 * DR6, then clears DR6 (its bits are sticky).  Stepping stops at a label:
 * the handler clears TF in the frame when RIP reaches it. */
#include "guest.h"

#ifdef __x86_64__
#define LEA(l, op) "lea " l "(%%rip), " op "\n\t"
#define XSP "%%rsp"
#else
#define LEA(l, op) "mov $" l ", " op "\n\t"
#define XSP "%%esp"
#endif

#define TF (1ul << 8)
#define RF (1ul << 16)
#define DR6_INIT 0xffff0ff0ul
#define DR6_BS (1ul << 14)
#define DR6_BD (1ul << 13)
#define MAX_DB 16

static volatile unsigned db_n, bp_n, gp_n, ud_n;
static volatile uintptr_t db_rip[MAX_DB], db_dr6[MAX_DB], db_dr7[MAX_DB];
static volatile uintptr_t db_stop;     /* clear TF when a #DB lands here */
static volatile bool db_set_rf;        /* resume over instruction breakpoints */
static volatile uint32_t data_var[4] __attribute__((aligned(16)));

#define DR_ACCESSORS(n)                                                        \
	static inline __attribute__((unused)) uintptr_t read_dr##n(void)                          \
	{                                                                      \
		uintptr_t v;                                                   \
		__asm__ volatile("mov %%dr" #n ", %0" : "=r"(v));              \
		return v;                                                      \
	}                                                                      \
	static inline void write_dr##n(uintptr_t v)                            \
	{                                                                      \
		__asm__ volatile("mov %0, %%dr" #n : : "r"(v) : "memory");     \
	}
DR_ACCESSORS(0)
DR_ACCESSORS(1)
DR_ACCESSORS(6)
DR_ACCESSORS(7)

static void db_handler(struct isr_frame *f)
{
	unsigned n = db_n;
	if (n < MAX_DB) {
		db_rip[n] = f->ip;
		db_dr6[n] = read_dr6();
		db_dr7[n] = read_dr7();
	}
	db_n = n + 1;
	write_dr6(0);
	if (f->ip == db_stop)
		f->flags &= ~TF;
	if (db_set_rf)
		f->flags |= RF;
	if (n >= 64)
		GUEST_FAIL("runaway #DB (rip, dr6)", f->ip, read_dr6());
}

static void bp_handler(struct isr_frame *f)
{
	bp_n++;
}

/* #GP / #UD from a MOV DR: skip the 3-byte instruction */
static void gp_handler(struct isr_frame *f)
{
	gp_n++;
	f->ip += 3;
}

static void ud_handler(struct isr_frame *f)
{
	ud_n++;
	f->ip += 3;
}

static void db_reset(void)
{
	db_n = bp_n = gp_n = ud_n = 0;
	db_stop = 0;
	db_set_rf = false;
	for (unsigned i = 0; i < MAX_DB; i++)
		db_rip[i] = db_dr6[i] = db_dr7[i] = 0;
	exc_set_handler(1, db_handler);
	exc_set_handler(3, bp_handler);
	exc_set_handler(13, gp_handler);
	exc_set_handler(6, ud_handler);
	write_dr7(0x400);
	write_dr6(0);
}

static void expect_db(unsigned i, uintptr_t rip, uintptr_t dr6)
{
	if (db_rip[i] != rip || db_dr6[i] != dr6)
		GUEST_FAIL("#DB (index, rip, want rip, dr6)", i, db_rip[i], rip, db_dr6[i]);
}

/* POPF setting TF: no trap after it, one after each later instruction,
 * including the POPF that clears TF (kvm-unit-tests x86/debug.c). */
static void test_db_single_step(void)
{
	uintptr_t a1, a2, a3, t;
	db_reset();
	__asm__ volatile(
		LEA("1f", "%0")
		LEA("2f", "%1")
		LEA("3f", "%2")
		"pushf\n\t"
		"pop %3\n\t"
		"or $0x100, %3\n\t"
		"push %3\n\t"
		"popf\n\t"                 /* TF = 1: no trap after this one */
		"and $~0x100, %3\n\t"      /* trap at 1 */
		"1: push %3\n\t"           /* trap at 2 */
		"2: popf\n\t"              /* TF = 0, but it began with TF: trap at 3 */
		"3: nop\n\t"
		: "=&r"(a1), "=&r"(a2), "=&r"(a3), "=&r"(t) : : "memory", "cc");
	GUEST_ASSERT_EQ(db_n, 3);
	expect_db(0, a1, DR6_INIT | DR6_BS);
	expect_db(1, a2, DR6_INIT | DR6_BS);
	expect_db(2, a3, DR6_INIT | DR6_BS);
	GUEST_SYNC("single-step traps", db_n);
	GUEST_DONE();
}
GUEST_TEST("db-single-step", test_db_single_step);

/* MOV SS holds the single-step #DB back to after the next instruction
 * (6.8.3); STI's shadow does not. */
static void test_db_step_shadow(void)
{
	uintptr_t a1, a3, a4, a5;
	db_reset();
	__asm__ volatile(
		LEA("1f", "%0")
		LEA("3f", "%1")
		LEA("4f", "%2")
		LEA("5f", "%3")
		"mov %3, %4\n\t"
		"cli\n\t"
		"pushf\n\t"
		"orl $0x100, (" XSP ")\n\t"
		"popf\n\t"
		"mov %%ss, %%eax\n\t"      /* trap at 1 */
		"1: mov %%eax, %%ss\n\t"   /* held back */
		"2: nop\n\t"               /* one trap at 3 */
		"3: sti\n\t"               /* trap at 4 (STI's shadow does not hold it) */
		"4: cli\n\t"               /* trap at 5: stop */
		"5: nop\n\t"
		: "=&r"(a1), "=&r"(a3), "=&r"(a4), "=&r"(a5), "=m"(db_stop) : : "eax", "memory", "cc");
	GUEST_ASSERT_EQ(db_n, 4);
	expect_db(0, a1, DR6_INIT | DR6_BS);
	expect_db(1, a3, DR6_INIT | DR6_BS);
	expect_db(2, a4, DR6_INIT | DR6_BS);
	expect_db(3, a5, DR6_INIT | DR6_BS);
	GUEST_DONE();
}
GUEST_TEST("db-step-shadow", test_db_step_shadow);

/* INT3 with TF: its delivery clears TF, so no single-step trap follows the
 * INT3; the handler's IRET restores TF and the next instruction traps. */
static void test_db_step_int3(void)
{
	uintptr_t a1, a3;
	db_reset();
	__asm__ volatile(
		LEA("1f", "%0")
		LEA("3f", "%1")
		"mov %1, %2\n\t"
		"pushf\n\t"
		"orl $0x100, (" XSP ")\n\t"
		"popf\n\t"
		"nop\n\t"                  /* trap at 1 */
		"1: int3\n\t"              /* #BP, no trap */
		"2: nop\n\t"               /* trap at 3: stop */
		"3: nop\n\t"
		: "=&r"(a1), "=&r"(a3), "=m"(db_stop) : : "memory", "cc");
	GUEST_ASSERT_EQ(bp_n, 1);
	GUEST_ASSERT_EQ(db_n, 2);
	expect_db(0, a1, DR6_INIT | DR6_BS);
	expect_db(1, a3, DR6_INIT | DR6_BS);
	GUEST_DONE();
}
GUEST_TEST("db-step-int3", test_db_step_int3);

/* REP STOSB with TF: a trap after every iteration, RIP on the instruction
 * until the last one. */
static void test_db_step_rep(void)
{
	uintptr_t a1, a2;
	static volatile uint8_t buf[8];
	uint8_t *p = (uint8_t *)buf;
	db_reset();
	__asm__ volatile(
		LEA("1f", "%0")
		LEA("2f", "%1")
		"mov %1, %3\n\t"
		"mov $3, %%ecx\n\t"
		"mov $0x5a, %%eax\n\t"
		"pushf\n\t"
		"orl $0x100, (" XSP ")\n\t"
		"popf\n\t"
		"1: rep stosb\n\t"         /* traps at 1, 1, 2 */
		"2: nop\n\t"
		: "=&r"(a1), "=&r"(a2), "+D"(p), "=m"(db_stop) : : "eax", "ecx", "memory", "cc");
	GUEST_ASSERT_EQ(db_n, 3);
	GUEST_ASSERT_EQ(buf[2], 0x5a);
	GUEST_ASSERT_EQ(buf[3], 0);
	expect_db(0, a1, DR6_INIT | DR6_BS);
	expect_db(1, a1, DR6_INIT | DR6_BS);
	expect_db(2, a2, DR6_INIT | DR6_BS);
	GUEST_DONE();
}
GUEST_TEST("db-step-rep", test_db_step_rep);

/* An instruction breakpoint is a fault before the instruction; the
 * handler sets RF to go on, and the breakpoint fires on each pass. */
static void test_db_insn_bp(void)
{
	uintptr_t bp;
	db_reset();
	db_set_rf = true;
	__asm__ volatile(LEA("1f", "%0")
			 "jmp 2f\n\t"
			 "1: inc %%ecx\n\t"
			 "ret\n\t"
			 "2:\n\t"
			 : "=r"(bp));
	write_dr0(bp);
	write_dr7(0x402);            /* G0, execute, 1 byte */
	unsigned c = 0;
	for (int i = 0; i < 3; i++)
		__asm__ volatile("call *%1" : "+c"(c) : "r"(bp) : "memory");
	write_dr7(0x400);
	GUEST_ASSERT_EQ(c, 3);
	GUEST_ASSERT_EQ(db_n, 3);
	for (unsigned i = 0; i < 3; i++)
		expect_db(i, bp, DR6_INIT | 1);
	GUEST_DONE();
}
GUEST_TEST("db-insn-bp", test_db_insn_bp);

/* Data breakpoints: traps after the access; write-only (R/W 01) ignores
 * reads, read/write (11) takes both; LEN 4 covers an aligned dword and is
 * hit by any overlapping byte; two breakpoints on one access set B0 and B1. */
static void test_db_data_bp(void)
{
	uintptr_t after[4];
	volatile uint32_t *v = &data_var[1];
	uint32_t tmp;
	db_reset();
	write_dr1((uintptr_t)v);
	write_dr7(0x400 | 0x08 | (1u << 20) | (3u << 22)); /* G1, write, 4 bytes */
	__asm__ volatile(
		"movl (%[v]), %[t]\n\t"        /* read: no hit */
		"movl %[t], 4(%[v])\n\t"       /* next dword: no hit */
		"movb %b[t], 3(%[v])\n\t"      /* last byte of the dword: hit */
		"1: " LEA("1b", "%[a0]")
		"movl %[t], -2(%[v])\n\t"      /* overlaps the first two bytes: hit */
		"2: " LEA("2b", "%[a1]")
		: [t] "=&q"(tmp), [a0] "=&r"(after[0]), [a1] "=&r"(after[1])
		: [v] "r"(v) : "memory");
	GUEST_ASSERT_EQ(db_n, 2);
	expect_db(0, after[0], DR6_INIT | 2);
	expect_db(1, after[1], DR6_INIT | 2);
	/* read/write on DR1 and DR0 over the same dword */
	write_dr0((uintptr_t)v);
	write_dr7(0x400 | 0x0a | (3u << 16) | (3u << 18) | (3u << 20) | (3u << 22));
	__asm__ volatile(
		"movl (%[v]), %[t]\n\t"
		"1: " LEA("1b", "%[a0]")
		: [t] "=&r"(tmp), [a0] "=&r"(after[2]) : [v] "r"(v) : "memory");
	write_dr7(0x400);
	GUEST_ASSERT_EQ(db_n, 3);
	expect_db(2, after[2], DR6_INIT | 3);
	GUEST_DONE();
}
GUEST_TEST("db-data-bp", test_db_data_bp);

/* General detect: with DR7.GD a MOV DR is a #DB fault with BD; entering
 * the handler clears GD, so the MOV then runs. */
static void test_db_general_detect(void)
{
	uintptr_t at, v;
	db_reset();
	write_dr0(0x1234);
	__asm__ volatile(
		LEA("1f", "%0")
		"mov %2, %%dr7\n\t"
		"1: mov %%dr0, %1\n\t"
		: "=&r"(at), "=&r"(v) : "r"((uintptr_t)0x2400) : "memory");
	GUEST_ASSERT_EQ(db_n, 1);
	expect_db(0, at, DR6_INIT | DR6_BD);
	GUEST_ASSERT_EQ(db_dr7[0], 0x400);     /* GD was cleared for the handler */
	GUEST_ASSERT_EQ(v, 0x1234);
	GUEST_ASSERT_EQ(read_dr7(), 0x400);
	GUEST_DONE();
}
GUEST_TEST("db-general-detect", test_db_general_detect);

/* ICEBP (F1): a #DB trap after the instruction; DR6 as it was. */
static void test_db_icebp(void)
{
	uintptr_t after;
	db_reset();
	__asm__ volatile(".byte 0xf1\n\t"
			 "1: " LEA("1b", "%0")
			 : "=r"(after) : : "memory");
	GUEST_ASSERT_EQ(db_n, 1);
	expect_db(0, after, DR6_INIT);
	GUEST_DONE();
}
GUEST_TEST("db-icebp", test_db_icebp);

/* MOV DR: DR6/DR7 fixed bits; bits 63:32 of DR6/DR7 #GP; DR4/DR5 alias
 * DR6/DR7 while CR4.DE=0 and #UD with it. */
static void test_db_mov_dr(void)
{
	db_reset();
	write_dr6(0);
	GUEST_ASSERT_EQ(read_dr6(), DR6_INIT);
	write_dr7(0);
	GUEST_ASSERT_EQ(read_dr7(), 0x400);
#ifdef __x86_64__
	/* fixed registers: the handlers skip exactly 3 bytes */
	__asm__ volatile("mov %%rax, %%dr6" : : "a"(1ul << 32) : "memory");   /* #GP */
	GUEST_ASSERT_EQ(gp_n, 1);
	__asm__ volatile("mov %%rax, %%dr7" : : "a"(1ul << 32) : "memory");   /* #GP */
	GUEST_ASSERT_EQ(gp_n, 2);
	GUEST_ASSERT_EQ(read_dr7(), 0x400);
#endif
	write_dr6(0x1);
	uintptr_t v;
	__asm__ volatile("mov %%dr4, %0" : "=r"(v));
	GUEST_ASSERT_EQ(v, DR6_INIT | 1);
	__asm__ volatile("mov %%dr5, %0" : "=r"(v));
	GUEST_ASSERT_EQ(v, 0x400);
	uintptr_t cr4 = read_cr4();
	__asm__ volatile("mov %0, %%cr4" : : "r"(cr4 | 8) : "memory");   /* CR4.DE */
	v = 0;
	__asm__ volatile("mov %%dr4, %0" : "+a"(v) : : "memory");        /* #UD, skipped */
	GUEST_ASSERT_EQ(v, 0);
	__asm__ volatile("mov %0, %%cr4" : : "r"(cr4) : "memory");
	GUEST_ASSERT_EQ(ud_n, 1);
	GUEST_DONE();
}
GUEST_TEST("db-mov-dr", test_db_mov_dr);
