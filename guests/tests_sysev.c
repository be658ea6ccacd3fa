/* System events on the soft engine's fast paths (docs/soft-cpu.md, "Kernel
 * events"): the STI interrupt shadow (SDM vol. 3, 6.8.3: "the processor
 * inhibits the recognition of maskable interrupts until after the
 * instruction following STI") with an interrupt already pending when STI
 * runs: it must not be taken before that one instruction ran (and STI;
 * HLT must wake); and a fault inside a straight-line run of code reports
 * the faulting instruction's RIP and error code with everything before it
 * done.  64-bit images (xAPIC MMIO at 0xfee00000). */
#include "guest.h"

#ifdef __x86_64__

#define APIC_BASE 0xfee00000ul
#define APIC_ID   0x20
#define APIC_EOI  0xb0
#define APIC_SVR  0xf0
#define APIC_ICR  0x300
#define APIC_ICR2 0x310
#define SYSEV_VEC 0x2d

/* The interrupt's gate: records the marker and the interrupted RIP, counts,
 * EOIs the local APIC and returns.  Only RAX is used (saved). */
__asm__(".text\n"
	".globl sysev_stub\n"
	"sysev_stub:\n\t"
	"push %rax\n\t"
	"mov sysev_marker(%rip), %eax\n\t"
	"mov %eax, sysev_seen(%rip)\n\t"
	"mov 8(%rsp), %rax\n\t"
	"mov %rax, sysev_ip(%rip)\n\t"
	"incl sysev_count(%rip)\n\t"
	"mov $0xfee000b0, %eax\n\t"
	"movl $0, (%rax)\n\t"
	"pop %rax\n\t"
	"iretq\n");
void sysev_stub(void);
volatile uint32_t sysev_marker, sysev_seen, sysev_count;
volatile uint64_t sysev_ip;
extern const char sysev_after_jmp[], sysev_after_hlt[];

static void apic_w(unsigned reg, uint32_t v)
{
	mmio_write32(APIC_BASE + reg, v);
}

static uint32_t apic_r(unsigned reg)
{
	return mmio_read32(APIC_BASE + reg);
}

/* A fixed interrupt to this vCPU, sent while IF=0: it stays pending. */
static void sysev_pend(void)
{
	cli();
	sysev_marker = sysev_seen = sysev_count = 0;
	sysev_ip = 0;
	apic_w(APIC_SVR, 0x1ff);
	idt_set_gate(SYSEV_VEC, (uintptr_t)sysev_stub, read_cs(), 0x8e);
	apic_w(APIC_ICR2, apic_r(APIC_ID) & 0xff000000u);
	apic_w(APIC_ICR, SYSEV_VEC); /* fixed, physical destination: itself */
	for (unsigned i = 0; i < 1000; i++)
		cpu_relax();
	GUEST_ASSERT_EQ(sysev_count, 0);
}

/* STI; JMP with an interrupt pending: the JMP runs in the shadow, so the
 * interrupt is never taken at the JMP itself; it is taken once (the soft
 * engine takes an interrupt that became pending while IF was 0 at its next
 * event check, not necessarily right after the shadow). */
extern const char sysev_jmp[];
static void test_sti_shadow_irq(void)
{
	sysev_pend();
	__asm__ volatile("sti\n"
			 ".globl sysev_jmp\n"
			 "sysev_jmp: jmp 2f\n\t"
			 "1: ud2\n"
			 "2:\n"
			 ".globl sysev_after_jmp\n"
			 "sysev_after_jmp:\n\t"
			 "movl $1, sysev_marker(%%rip)\n\t"
			 : : : "memory");
	for (unsigned i = 0; i < 1000000 && !sysev_count; i++)
		cpu_relax();
	cli();
	GUEST_ASSERT_EQ(sysev_count, 1);
	GUEST_ASSERT(sysev_ip != (uintptr_t)sysev_jmp);
	GUEST_DONE();
}
GUEST_TEST("sti-shadow-irq", test_sti_shadow_irq);

/* STI; HLT with an interrupt pending: the HLT runs in the shadow and the
 * interrupt wakes it (taken before the HLT, the HLT would wait forever). */
static void test_sti_shadow_hlt(void)
{
	sysev_pend();
	__asm__ volatile("sti\n\t"
			 "hlt\n"
			 ".globl sysev_after_hlt\n"
			 "sysev_after_hlt:\n\t"
			 "cli\n\t"
			 : : : "memory");
	GUEST_ASSERT_EQ(sysev_count, 1);
	GUEST_ASSERT_EQ(sysev_ip, (uintptr_t)sysev_after_hlt);
	GUEST_DONE();
}
GUEST_TEST("sti-shadow-hlt", test_sti_shadow_hlt);

/* A #PF in the middle of a run of stores (a translated block on the soft
 * engine): the handler sees the faulting instruction's RIP, the error code
 * of a not-present write and CR2; the stores before it are done, the ones
 * after it are not (the handler resumes past the block). */
extern const char sysev_pf_insn[], sysev_pf_resume[];
static volatile uint64_t pf_ip, pf_err, pf_cr2, pf_seen;
static volatile uint32_t pf_a, pf_b, pf_c;

static void sysev_pf(struct isr_frame *f)
{
	pf_seen++;
	pf_ip = f->ip;
	pf_err = f->error;
	__asm__ volatile("mov %%cr2, %0" : "=r"(pf_cr2));
	f->ip = (uintptr_t)sysev_pf_resume;
}

static void test_pf_precise(void)
{
	/* a non-canonical-free, unmapped address: the identity map covers the
	 * low 4 GiB only (guests/lib), so 64 GiB is not present */
	volatile uint32_t *bad = (volatile uint32_t *)0x1000000000ul;
	pf_a = pf_b = pf_c = 0;
	pf_seen = 0;
	exc_set_handler(14, sysev_pf);
	for (int round = 0; round < 64; round++) { /* hot: the soft engine translates it */
		pf_a = pf_b = pf_c = 0;
		__asm__ volatile("movl $1, %1\n\t"
				 "movl $2, %2\n\t"
				 ".globl sysev_pf_insn\n"
				 "sysev_pf_insn: movl $7, (%0)\n\t"
				 "movl $3, %3\n\t"
				 ".globl sysev_pf_resume\n"
				 "sysev_pf_resume:\n\t"
				 : : "r"(bad), "m"(pf_a), "m"(pf_b), "m"(pf_c) : "memory");
		GUEST_ASSERT_EQ(pf_ip, (uintptr_t)sysev_pf_insn);
		GUEST_ASSERT_EQ(pf_err, 2);  /* not present, write, supervisor */
		GUEST_ASSERT_EQ(pf_cr2, (uintptr_t)bad);
		GUEST_ASSERT_EQ(pf_a + pf_b * 16 + pf_c * 256, 0x21);
	}
	GUEST_ASSERT_EQ(pf_seen, 64);
	exc_set_handler(14, NULL);
	GUEST_DONE();
}
GUEST_TEST("pf-precise", test_pf_precise);

#endif
