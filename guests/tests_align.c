/* Alignment checking, #AC (SDM vol. 3, 6.15 "Interrupt 17 - Alignment
 * Check Exception"; vol. 1, 4.1.1; AMD APM vol. 2, 8.2.18): with CR0.AM=1,
 * EFLAGS.AC=1 and CPL 3, a word, doubleword or quadword data access not
 * aligned to its size is a fault with error code 0, RIP at the instruction
 * and nothing written.  User code (a user page of its own, entered with
 * SYSRETQ, back with SYSCALL, as tests_sysev.c's sysret-user does) makes
 * misaligned and aligned loads, stores, a read-modify-write, a PUSH with a
 * misaligned RSP and REP string instructions, with AC set by SYSRETQ's R11 or
 * by its own POPF; each case runs many times in a row, so that the soft
 * engine has translated the user code (with AC clear) and the kernel's
 * SYSRETQ before the rounds that must fault.  Also: AC clear, CR0.AM
 * clear, CPL 0 with AC set: no fault; byte accesses are never checked.
 * 64-bit images. */
#include "guest.h"

#ifdef __x86_64__

#define AL_USER_VA 0x1000000ul /* 16 MiB: one 2 MiB page of head64's map */
 /* the same 2 MiB for CPL 0 only: the kernel's own accesses then leave the
  * soft engine's TLB entries of the user's pages alone, so the translated
  * user code's accesses hit the inline TLB probe */
#define AL_ALIAS   0x1200000ul
#define AL_DATA    0x2000ul    /* the data the probes touch (not on the code's 4 KiB page) */
#define AL_STACK   0x3f00ul    /* the user stack's top */
#define AL_ROUNDS  24
#define AL_AC      (1ul << 18)
#define AL_AM      (1ul << 18)

struct al_dtr {
	uint16_t limit;
	uintptr_t base;
} __attribute__((packed));

static uint64_t al_gdt[10] __attribute__((aligned(16)));
static uint32_t al_tss[26] __attribute__((aligned(16)));
static uint8_t al_stack[4096] __attribute__((aligned(16)));
volatile uint64_t al_ksp;
static volatile uint64_t al_ip, al_err, al_vec, al_cs, al_seen;
extern const char al_resume[];

/* The user snippets: RSP = RDX, RCX = R9 (SYSRETQ took RCX), pre, the
 * probe (label al_p_NAME), SYSCALL.  RBX: the address, RCX (RAX for
 * STOS): the value, RSI/RDI: string operands. */
#define AL_SNIP(name, pre, probe)                              \
	__asm__(".text\n"                                      \
		".globl al_s_" #name "\nal_s_" #name ":\n\t"   \
		"mov %rdx, %rsp\n\t"                           \
		"mov %r9, %rcx\n\t"                            \
		pre "\n"                                       \
		".globl al_p_" #name "\nal_p_" #name ":\n\t"   \
		probe "\n\t"                                   \
		"syscall\n"                                    \
		".globl al_e_" #name "\nal_e_" #name ":\n");   \
	extern const char al_s_##name[], al_p_##name[], al_e_##name[]
AL_SNIP(ld8, "", "mov (%rbx), %al");
AL_SNIP(ld16, "", "mov (%rbx), %ax");
AL_SNIP(ld32, "", "mov (%rbx), %eax");
AL_SNIP(ld64, "", "mov (%rbx), %rax");
AL_SNIP(st16, "", "mov %cx, (%rbx)");
AL_SNIP(st32, "", "mov %ecx, (%rbx)");
AL_SNIP(st64, "", "mov %rcx, (%rbx)");
AL_SNIP(rmw32, "", "add %ecx, (%rbx)");
AL_SNIP(push, "mov %rbx, %rsp", "push %rcx");
AL_SNIP(movsl, "mov $3, %ecx", "rep movsl");
AL_SNIP(stosq, "mov %rbx, %rdi\n\tmov $4, %ecx", "rep stosq");
/* AC set by the user code itself: POPF (which ends its block), then the load */
AL_SNIP(popf, "pushfq\n\torl $0x40000, (%rsp)\n\tpopfq", "mov (%rbx), %eax");

static void al_wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}

static void al_write_cr0(uintptr_t v)
{
	__asm__ volatile("mov %0, %%cr0" : : "r"(v) : "memory");
}

static void al_user_page(bool on)
{
	uintptr_t cr3 = read_cr3();
	volatile uint64_t *pml4 = (uint64_t *)(cr3 & ~0xffful);
	volatile uint64_t *pdpt = (uint64_t *)(uintptr_t)(pml4[0] & 0xffffffffff000ul);
	volatile uint64_t *pd = (uint64_t *)(uintptr_t)(pdpt[0] & 0xffffffffff000ul);
	uint64_t u = 4; /* PTE.U */
	static uint64_t saved;
	if (on) {
		pml4[0] |= u;
		pdpt[0] |= u;
		pd[AL_USER_VA >> 21] |= u;
		saved = pd[AL_ALIAS >> 21];
		pd[AL_ALIAS >> 21] = pd[AL_USER_VA >> 21] & ~u;
	} else {
		pd[AL_ALIAS >> 21] = saved;
		pd[AL_USER_VA >> 21] &= ~u;
		pdpt[0] &= ~u;
		pml4[0] &= ~u;
	}
	__asm__ volatile("mov %%cr3, %0; mov %0, %%cr3" : "=r"(cr3) : : "memory");
}

/* #AC (and anything else): record, resume at CPL 0 after the SYSRETQ */
static void al_fault(struct isr_frame *f)
{
	al_seen++;
	al_vec = f->vector;
	al_err = f->error;
	al_ip = f->ip;
	al_cs = f->cs;
	f->ip = (uintptr_t)al_resume;
	f->cs = 0x20;
	f->flags &= ~AL_AC;
	(&f->flags)[1] = al_ksp; /* RSP, then SS, after RFLAGS */
	(&f->flags)[2] = 0x18;
}

struct al_regs {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi;
};

/* Run the user code at AL_USER_VA with RFLAGS = fl and the registers r
 * (updated with what the user code left, at its SYSCALL or its fault).
 * Not inlined: its labels must exist once. */
static __attribute__((noinline)) void al_enter(uint64_t fl, struct al_regs *r)
{
	uint64_t rcx = AL_USER_VA;
	register uint64_t r11 __asm__("r11") = fl;
	register uint64_t r9 __asm__("r9") = r->rcx;
	uint64_t rax = r->rax, rbx = r->rbx, rdx = r->rdx, rsi = r->rsi, rdi = r->rdi;
	__asm__ volatile("mov %%rsp, al_ksp(%%rip)\n\t"
			 "sysretq\n"
			 ".globl al_kentry\n"
			 "al_kentry:\n\t"
			 "mov al_ksp(%%rip), %%rsp\n"
			 ".globl al_resume\n"
			 "al_resume:\n\t"
			 : "+c"(rcx), "+r"(r11), "+r"(r9), "+a"(rax), "+b"(rbx), "+d"(rdx), "+S"(rsi),
			   "+D"(rdi)
			 :
			 : "r8", "r10", "r12", "r13", "r14", "r15", "memory", "cc");
	r->rax = rax;
	r->rbx = rbx;
	r->rdx = rdx;
	r->rsi = rsi;
	r->rdi = rdi;
}

static volatile uint8_t *al_u(uint64_t off)
{
	return (volatile uint8_t *)(AL_ALIAS + off);
}

static void al_fill(void)
{
	for (unsigned i = 0; i < 0x100; i++)
		al_u(AL_DATA)[i] = (uint8_t)(0xa5 ^ i * 7);
}

static uint64_t al_load(uint64_t off, unsigned n)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)al_u(off)[i] << (8 * i);
	return v;
}

static bool al_data_intact(void)
{
	for (unsigned i = 0; i < 0x100; i++)
		if (al_u(AL_DATA)[i] != (uint8_t)(0xa5 ^ i * 7))
			return false;
	return true;
}

enum { K_LOAD, K_STORE, K_RMW, K_PUSH, K_MOVS, K_STOS, K_POPF };
struct al_case {
	const char *s, *p, *e;
	unsigned kind, size; /* size of the access */
};

/* One case, AL_ROUNDS times in a row: the access at AL_DATA + off, with
 * RFLAGS.AC = ac (SYSRETQ's R11); fault: #AC(0) expected at the probe. */
static void al_run(const struct al_case *c, uint64_t off, bool ac, bool fault)
{
	uint64_t a = AL_USER_VA + AL_DATA + off;
	for (unsigned round = 0; round < AL_ROUNDS; round++) {
		al_fill();
		struct al_regs r = { .rax = 0x1122334455667788ull, .rbx = a,
				     .rcx = 0x0102030405060708ull,
				     .rdx = AL_USER_VA + AL_STACK,
				     .rsi = a, .rdi = AL_USER_VA + AL_DATA + 0xc0 };
		if (c->kind == K_PUSH)
			r.rbx = a + 8; /* PUSH writes 8 bytes below */
		if (c->kind == K_STOS)
			r.rax = r.rcx;
		uint64_t before = al_load(AL_DATA + off, c->size);
		al_seen = 0;
		al_enter(0x2 | (ac ? AL_AC : 0), &r);
		if (fault) {
			GUEST_ASSERT_EQ(al_seen, 1);
			GUEST_ASSERT_EQ(al_vec, 17);
			GUEST_ASSERT_EQ(al_err, 0);
			GUEST_ASSERT_EQ(al_ip, AL_USER_VA + (uint64_t)(c->p - c->s));
			GUEST_ASSERT_EQ(al_cs & 3, 3);
			GUEST_ASSERT(al_data_intact());
			if (c->kind == K_MOVS) /* nothing done: RSI and RDI as they were */
				GUEST_ASSERT_EQ(r.rsi, a);
			continue;
		}
		GUEST_ASSERT_EQ(al_seen, 0);
		uint64_t m = c->size == 8 ? ~0ull : (1ull << (8 * c->size)) - 1;
		switch (c->kind) {
		case K_LOAD:
		case K_POPF:
			GUEST_ASSERT_EQ(r.rax & m, before);
			break;
		case K_STORE:
		case K_STOS:
			GUEST_ASSERT_EQ(al_load(AL_DATA + off, c->size), 0x0102030405060708ull & m);
			break;
		case K_RMW:
			GUEST_ASSERT_EQ(al_load(AL_DATA + off, c->size), (before + 0x05060708ull) & m);
			break;
		case K_PUSH:
			GUEST_ASSERT_EQ(al_load(AL_DATA + off, 8), 0x0102030405060708ull);
			break;
		case K_MOVS:
			GUEST_ASSERT_EQ(al_load(AL_DATA + 0xc0, 4), before);
			GUEST_ASSERT_EQ(r.rsi, a + 12);
			break;
		}
	}
}

#define AL_CASE(name, kind, size) { al_s_##name, al_p_##name, al_e_##name, kind, size }
static const struct al_case al_cases[] = {
	AL_CASE(ld16, K_LOAD, 2),   AL_CASE(ld32, K_LOAD, 4),    AL_CASE(ld64, K_LOAD, 8),
	AL_CASE(st16, K_STORE, 2),  AL_CASE(st32, K_STORE, 4),   AL_CASE(st64, K_STORE, 8),
	AL_CASE(rmw32, K_RMW, 4),   AL_CASE(push, K_PUSH, 8),    AL_CASE(movsl, K_MOVS, 4),
	AL_CASE(stosq, K_STOS, 8),  AL_CASE(popf, K_POPF, 4),
};

static void al_copy(const struct al_case *c)
{
	for (const char *p = c->s; p < c->e; p++)
		al_u(0)[p - c->s] = (uint8_t)*p;
}

static void test_align_check(void)
{
	struct al_dtr old, gdt;
	cli();
	__asm__ volatile("sgdt %0" : "=m"(old));
	for (unsigned i = 0; i < 5; i++) /* null, unused, code32, data, code64 */
		al_gdt[i] = ((volatile uint64_t *)old.base)[i];
	al_gdt[5] = 0x00cf92000000ffffull; /* 0x28: data, DPL 0 */
	al_gdt[6] = 0x00cff2000000ffffull; /* 0x30: data, DPL 3 */
	al_gdt[7] = 0x00affa000000ffffull; /* 0x38: 64-bit code, DPL 3 */
	uint64_t base = (uintptr_t)al_tss;
	al_gdt[8] = 0x67 | (base & 0xffffff) << 16 | 0x89ull << 40 | (base >> 24 & 0xff) << 56;
	al_gdt[9] = base >> 32; /* 0x40: 64-bit TSS */
	uint64_t rsp0 = (uintptr_t)(al_stack + sizeof(al_stack));
	al_tss[1] = (uint32_t)rsp0;
	al_tss[2] = (uint32_t)(rsp0 >> 32);
	gdt.base = (uintptr_t)al_gdt;
	gdt.limit = sizeof(al_gdt) - 1;
	__asm__ volatile("lgdt %0; movw $0x40, %%ax; ltr %%ax" : : "m"(gdt) : "eax", "memory");
	al_user_page(true);
	uint64_t efer = rdmsr(0xc0000080u);
	al_wrmsr(0xc0000080u, efer | 1); /* EFER.SCE */
	al_wrmsr(0xc0000081u, (uint64_t)0x28 << 48 | (uint64_t)0x20 << 32); /* STAR */
	al_wrmsr(0xc0000084u, (1u << 10) | AL_AC); /* FMASK: DF, AC, as Linux */
	extern const char al_kentry[];
	al_wrmsr(0xc0000082u, (uintptr_t)al_kentry); /* LSTAR */
	for (unsigned v = 0; v < 32; v++)
		exc_set_handler(v, al_fault);
	uintptr_t cr0 = read_cr0();
	al_write_cr0(cr0 | AL_AM);

	/* byte accesses are never checked */
	al_copy(&(struct al_case)AL_CASE(ld8, K_LOAD, 1));
	al_run(&(struct al_case)AL_CASE(ld8, K_LOAD, 1), 1, true, false);
	for (unsigned i = 0; i < sizeof(al_cases) / sizeof(al_cases[0]); i++) {
		const struct al_case *c = &al_cases[i];
		uint64_t mis = c->size == 2 ? 1 : c->size == 4 ? 2 : 4;
		al_copy(c);
		if (c->kind == K_POPF) { /* the user code sets AC */
			al_run(c, 0, false, false); /* aligned: runs (and gets hot) */
			al_run(c, mis, false, true); /* #AC(0) */
			continue;
		}
		al_run(c, mis, false, false); /* AC clear: runs (and gets hot) */
		al_run(c, mis, true, true);   /* AC set: #AC(0) */
		al_run(c, 0, true, false);    /* aligned: runs */
		al_run(c, mis, false, false); /* AC clear again: runs */
		al_run(c, mis, true, true);   /* and faults again */
	}
	/* CR0.AM clear: AC set (by SYSRETQ, by POPF), misaligned: no fault */
	al_write_cr0(cr0 & ~AL_AM);
	al_copy(&al_cases[2]);
	al_run(&al_cases[2], 4, true, false);
	al_copy(&al_cases[10]);
	al_run(&al_cases[10], 2, false, false);
	al_write_cr0(cr0 | AL_AM);
	/* CPL 0 with AC set: no fault (loads, a store, a push) */
	static volatile uint8_t buf[32] __attribute__((aligned(8)));
	for (unsigned round = 0; round < AL_ROUNDS; round++) {
		uint64_t v;
		al_seen = 0;
		__asm__ volatile("pushfq\n\torl $0x40000, (%%rsp)\n\tpopfq\n\t"
				 "mov 1(%1), %0\n\tmovl %k0, 3(%1)\n\t"
				 "sub $4, %%rsp\n\tpush %0\n\tadd $12, %%rsp\n\t"
				 "pushfq\n\tandl $~0x40000, (%%rsp)\n\tpopfq"
				 : "=&r"(v) : "r"(buf) : "memory", "cc");
		GUEST_ASSERT_EQ(al_seen, 0);
	}
	al_write_cr0(cr0);
	for (unsigned v = 0; v < 32; v++)
		exc_set_handler(v, NULL);
	__asm__ volatile("mov %0, %%ss" : : "r"(0x18u) : "memory");
	al_wrmsr(0xc0000080u, efer);
	al_user_page(false);
	__asm__ volatile("lgdt %0" : : "m"(old) : "memory");
	GUEST_DONE();
}
GUEST_TEST("align-check", test_align_check);

#endif
