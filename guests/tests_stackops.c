/* PUSH m64, PUSH imm and LEAVE in a hot block (translated inline on the
 * soft engine: docs/soft-cpu.md, "Stack and indirect branches") and their
 * faults, precise (SDM Vol. 2B, PUSH and LEAVE; Vol. 3A, 6.15: #PF, #SS):
 *
 *   stack-push-fault  PUSH m64 whose source is not present (#PF, read,
 *                     CR2 = the source), whose stack slot is not present
 *                     (#PF, write, CR2 = RSP - 8, the source read first),
 *                     PUSH imm8 onto a not-present slot; each at the PUSH's
 *                     RIP with the MOV before it done and RSP unchanged.
 *                     Then GS-relative PUSH m64 and PUSH imm values.
 *   stack-leave-fault LEAVE with RBP not present (#PF, read, CR2 = RBP)
 *                     and non-canonical (#SS(0)): RSP and RBP unchanged.
 *
 * The faulting stack cannot take the exception frame: #PF and #SS run on
 * IST1 of a TSS of this test's own.  64-bit images only. */
#include "guest.h"

#ifdef __x86_64__

#define STK_BAD 0x1000000000ul          /* 64 GiB: not mapped (lib maps 4 GiB) */
#define STK_NONCANON 0x0000800000000000ul
#define STK_ROUNDS 64                   /* hot: the soft engine translates */
#define MSR_GS_BASE 0xc0000101u

struct stk_dtr {
	uint16_t limit;
	uintptr_t base;
} __attribute__((packed));

static uint64_t stk_gdt[8] __attribute__((aligned(16)));
static uint32_t stk_tss[26] __attribute__((aligned(16)));
static uint8_t stk_ist[8192] __attribute__((aligned(16)));
static struct stk_dtr stk_old_gdt;
/* written by the asm below and the handler */
volatile uint64_t stk_resume, stk_insn, stk_rsp, stk_rbp, stk_rbp_after;
static volatile uint64_t stk_seen, stk_vec, stk_err, stk_ip, stk_cr2, stk_frsp, stk_rax;
static volatile uint64_t stk_src = 0x5eed5eed5eed5eedul, stk_gs[2] = { 0x1111, 0x2222 };

static void stk_exc(struct isr_frame *f)
{
	stk_seen++;
	stk_vec = f->vector;
	stk_err = f->error;
	stk_ip = f->ip;
	stk_cr2 = read_cr2();
	stk_frsp = (&f->flags)[1]; /* RSP, then SS, after RFLAGS */
	stk_rax = f->rax;
	f->ip = stk_resume;
	(&f->flags)[1] = stk_rsp;  /* back on the test's own stack */
}

/* A TSS with IST1 for #SS (12) and #PF (14). */
static void stk_setup(void)
{
	struct stk_dtr gdt, idt;
	cli();
	__asm__ volatile("sgdt %0" : "=m"(stk_old_gdt));
	for (unsigned i = 0; i < 5; i++) /* null, unused, code32, data, code64 */
		stk_gdt[i] = ((volatile uint64_t *)stk_old_gdt.base)[i];
	gdt_set_tss64(&stk_gdt[5], stk_tss); /* 0x28: 64-bit TSS */
	uint64_t ist = (uintptr_t)(stk_ist + sizeof(stk_ist));
	stk_tss[9] = (uint32_t)ist; /* IST1 at offset 36 */
	stk_tss[10] = (uint32_t)(ist >> 32);
	gdt.base = (uintptr_t)stk_gdt;
	gdt.limit = sizeof(stk_gdt) - 1;
	__asm__ volatile("lgdt %0; movw $0x28, %%ax; ltr %%ax" : : "m"(gdt) : "eax", "memory");
	__asm__ volatile("sidt %0" : "=m"(idt));
	((volatile uint8_t *)idt.base)[12 * 16 + 4] = 1; /* the gate's IST field */
	((volatile uint8_t *)idt.base)[14 * 16 + 4] = 1;
	exc_set_handler(12, stk_exc);
	exc_set_handler(14, stk_exc);
}

static void stk_teardown(void)
{
	struct stk_dtr idt;
	exc_set_handler(12, NULL);
	exc_set_handler(14, NULL);
	__asm__ volatile("sidt %0" : "=m"(idt));
	((volatile uint8_t *)idt.base)[12 * 16 + 4] = 0;
	((volatile uint8_t *)idt.base)[14 * 16 + 4] = 0;
	__asm__ volatile("lgdt %0" : : "m"(stk_old_gdt) : "memory");
}

/* Saves RSP and RBP, points stk_resume at label 1 and stk_insn at the
 * instruction (label 3), loads RSP from RSI unless 0 and RBP from RDX,
 * RAX = 5 before the instruction.  Local labels only: the compiler may
 * inline or clone the case functions. */
#define STK_PRE                                    \
	"lea 1f(%%rip), %%rax\n\t"                 \
	"mov %%rax, stk_resume(%%rip)\n\t"         \
	"lea 3f(%%rip), %%rax\n\t"                 \
	"mov %%rax, stk_insn(%%rip)\n\t"           \
	"mov %%rsp, stk_rsp(%%rip)\n\t"            \
	"mov %%rbp, stk_rbp(%%rip)\n\t"            \
	"test %%rsi, %%rsi\n\t"                    \
	"jz 2f\n\t"                                \
	"mov %%rsi, %%rsp\n"                       \
	"2: mov %%rdx, %%rbp\n\t"                  \
	"mov $5, %%eax\n\t"
#define STK_POST                                   \
	"mov $6, %%eax\n"                          \
	"1: mov %%rbp, stk_rbp_after(%%rip)\n\t"   \
	"mov stk_rbp(%%rip), %%rbp\n\t"

static void stk_expect(unsigned vec, uint64_t err, uint64_t cr2, uint64_t rsp,
		       uint64_t rbp)
{
	GUEST_ASSERT_EQ(stk_seen, 1);
	GUEST_ASSERT_EQ(stk_vec, vec);
	GUEST_ASSERT_EQ(stk_err, err);
	GUEST_ASSERT_EQ(stk_ip, stk_insn);
	if (vec == 14)
		GUEST_ASSERT_EQ(stk_cr2, cr2);
	GUEST_ASSERT_EQ(stk_frsp, rsp ? rsp : stk_rsp); /* RSP unchanged */
	GUEST_ASSERT_EQ(stk_rbp_after, rbp);           /* RBP unchanged */
	GUEST_ASSERT_EQ(stk_rax, 5);                   /* the MOV before it retired */
}

static void stk_pushm_case(uint64_t src, uint64_t rsp, uint64_t rbp)
{
	stk_seen = 0;
	__asm__ volatile(STK_PRE
			 "3: pushq (%%rdi)\n\t"
			 STK_POST
			 : : "D"(src), "S"(rsp), "d"(rbp) : "rax", "memory", "cc");
}

static void stk_pushi_case(uint64_t rsp, uint64_t rbp)
{
	stk_seen = 0;
	__asm__ volatile(STK_PRE
			 "3: pushq $-2\n\t"
			 STK_POST
			 : : "S"(rsp), "d"(rbp) : "rax", "memory", "cc");
}

static void stk_leave_case(uint64_t rbp)
{
	stk_seen = 0;
	__asm__ volatile(STK_PRE
			 "3: leave\n\t"
			 STK_POST
			 : : "S"(0ul), "d"(rbp) : "rax", "memory", "cc");
}

static void test_stack_push_fault(void)
{
	stk_setup();
	for (unsigned r = 0; r < STK_ROUNDS; r++) {
		/* the source is not present: a read #PF */
		stk_pushm_case(STK_BAD + 8 * r, 0, 0x77);
		stk_expect(14, 0, STK_BAD + 8 * r, 0, 0x77);
		/* the slot at RSP - 8 is not present: a write #PF */
		stk_pushm_case((uintptr_t)&stk_src, STK_BAD + 8 + 8 * r, 0x78);
		stk_expect(14, 2, STK_BAD + 8 * r, STK_BAD + 8 + 8 * r, 0x78);
		/* both: the source's fault comes first */
		stk_pushm_case(STK_BAD + 0x1000, STK_BAD + 8, 0x79);
		stk_expect(14, 0, STK_BAD + 0x1000, STK_BAD + 8, 0x79);
		stk_pushi_case(STK_BAD + 16, 0x7a);
		stk_expect(14, 2, STK_BAD + 8, STK_BAD + 16, 0x7a);
	}
	/* values: GS-relative PUSH m64, PUSH imm8 / imm32 sign-extended */
	__asm__ volatile("wrmsr" : : "c"(MSR_GS_BASE), "a"((uint32_t)(uintptr_t)stk_gs),
			 "d"((uint32_t)((uintptr_t)stk_gs >> 32)) : "memory");
	uint64_t sum = 0;
	for (unsigned r = 0; r < STK_ROUNDS; r++) {
		uint64_t a, b, c;
		__asm__ volatile("pushq %%gs:8\n\t"
				 "pushq $-3\n\t"
				 "pushq $-0x12345678\n\t"
				 "pop %0\n\t"
				 "pop %1\n\t"
				 "pop %2\n\t"
				 : "=r"(a), "=r"(b), "=r"(c) : : "memory");
		GUEST_ASSERT_EQ(a, 0xffffffffedcba988ul);
		GUEST_ASSERT_EQ(b, 0xfffffffffffffffdul);
		GUEST_ASSERT_EQ(c, 0x2222);
		sum += c;
	}
	GUEST_ASSERT_EQ(sum, 0x2222ul * STK_ROUNDS);
	stk_teardown();
	GUEST_DONE();
}
GUEST_TEST("stack-push-fault", test_stack_push_fault);

static void test_stack_leave_fault(void)
{
	stk_setup();
	for (unsigned r = 0; r < STK_ROUNDS; r++) {
		stk_leave_case(STK_BAD + 24 + 8 * r);
		stk_expect(14, 0, STK_BAD + 24 + 8 * r, 0, STK_BAD + 24 + 8 * r);
		stk_leave_case(STK_NONCANON + 8 * r);
		stk_expect(12, 0, 0, 0, STK_NONCANON + 8 * r);
	}
	/* a good LEAVE: RSP = RBP + 8, RBP = the saved one */
	uint64_t frame[2] = { 0xfeed, 0 }, rsp_after, rbp_after;
	__asm__ volatile("mov %%rsp, %%r8\n\t"
			 "mov %%rbp, %%r9\n\t"
			 "mov %2, %%rbp\n\t"
			 "leave\n\t"
			 "mov %%rsp, %0\n\t"
			 "mov %%rbp, %1\n\t"
			 "mov %%r8, %%rsp\n\t"
			 "mov %%r9, %%rbp\n\t"
			 : "=&r"(rsp_after), "=&r"(rbp_after) : "r"(frame) : "r8", "r9", "memory");
	GUEST_ASSERT_EQ(rsp_after, (uintptr_t)&frame[1]);
	GUEST_ASSERT_EQ(rbp_after, 0xfeed);
	stk_teardown();
	GUEST_DONE();
}
GUEST_TEST("stack-leave-fault", test_stack_leave_fault);

#endif
