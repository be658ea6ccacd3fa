/* NMIs from the local APIC (SDM vol. 3, 6.7 and 10.6.1): ICR delivery mode
 * NMI to the sending vCPU by its APIC ID and by the "all including self"
 * shorthand; "all excluding self" does not reach it.  While an NMI handler
 * runs, further NMIs are blocked until its IRET, and one is latched: two
 * sent from inside the handler give exactly one more NMI.  A latched NMI
 * wakes HLT with IF=0.  64-bit images (xAPIC MMIO at 0xfee00000). */
#include "guest.h"

#ifdef __x86_64__

#define APIC_BASE 0xfee00000ul
#define APIC_ID   0x20
#define APIC_SVR  0xf0
#define APIC_ICR  0x300
#define APIC_ICR2 0x310
#define ICR_NMI   0x400
#define ICR_SELF  (1u << 18)
#define ICR_ALL   (2u << 18)
#define ICR_OTHERS (3u << 18)
#define SPIN      200000

static volatile unsigned nmi_n, nmi_nested, nmi_resend;

static void apic_w(unsigned reg, uint32_t v)
{
	mmio_write32(APIC_BASE + reg, v);
}

static uint32_t apic_r(unsigned reg)
{
	return mmio_read32(APIC_BASE + reg);
}

static void nmi_send(uint32_t icr)
{
	apic_w(APIC_ICR2, apic_r(APIC_ID) & 0xff000000u);
	apic_w(APIC_ICR, icr);
}

/* Wait (bounded) until nmi_n reaches want; returns nmi_n. */
static unsigned nmi_wait(unsigned want)
{
	for (unsigned i = 0; i < SPIN && nmi_n < want; i++)
		cpu_relax();
	return nmi_n;
}

static void nmi_handler(struct isr_frame *f)
{
	unsigned n = ++nmi_n;
	if (nmi_resend) {
		nmi_resend--;
		/* two more while this one is handled: blocked, one latched */
		nmi_send(ICR_NMI);
		nmi_send(ICR_NMI);
		for (unsigned i = 0; i < SPIN / 4; i++)
			cpu_relax();
		if (nmi_n != n)
			nmi_nested++;
	}
}

static void nmi_setup(void)
{
	nmi_n = nmi_nested = nmi_resend = 0;
	exc_set_handler(2, nmi_handler);
	apic_w(APIC_SVR, 0x1ff);           /* software-enable, spurious 0xff */
}

static void test_nmi_ipi(void)
{
	nmi_setup();
	nmi_send(ICR_NMI);                 /* physical destination: own ID */
	GUEST_ASSERT_EQ(nmi_wait(1), 1);
	nmi_send(ICR_NMI | ICR_ALL);
	GUEST_ASSERT_EQ(nmi_wait(2), 2);
	nmi_send(ICR_NMI | ICR_OTHERS);    /* nobody else here */
	GUEST_ASSERT_EQ(nmi_wait(3), 2);
	GUEST_SYNC("nmis", nmi_n);
	GUEST_DONE();
}
GUEST_TEST("nmi-ipi", test_nmi_ipi);

/* The "self" shorthand is valid only with fixed delivery (table 10-3):
 * an NMI sent that way goes nowhere.  (KVM's in-kernel LAPIC delivers it,
 * so this case is soft-only.) */
static void test_nmi_self_shorthand(void)
{
	nmi_setup();
	nmi_send(ICR_NMI | ICR_SELF);
	GUEST_ASSERT_EQ(nmi_wait(1), 0);
	nmi_send(ICR_NMI);
	GUEST_ASSERT_EQ(nmi_wait(1), 1);
	GUEST_DONE();
}
GUEST_TEST("nmi-self-shorthand", test_nmi_self_shorthand);

static void test_nmi_latch(void)
{
	nmi_setup();
	nmi_resend = 1;
	nmi_send(ICR_NMI);
	GUEST_ASSERT_EQ(nmi_wait(2), 2);   /* the latched one, after the IRET */
	GUEST_ASSERT_EQ(nmi_wait(3), 2);   /* the third was dropped */
	GUEST_ASSERT_EQ(nmi_nested, 0);    /* none inside the handler */
	GUEST_DONE();
}
GUEST_TEST("nmi-latch", test_nmi_latch);

/* HLT with IF=0 is woken by an NMI: the handler leaves one latched, and
 * "cli; hlt" returns once it is delivered (a vCPU halted with IF=0 and no
 * NMI coming would stop the VM). */
static void test_nmi_hlt(void)
{
	nmi_setup();
	nmi_resend = 1;
	cli();
	nmi_send(ICR_NMI);
	for (unsigned i = 0; i < 4 && nmi_n < 2; i++)
		__asm__ volatile("hlt" : : : "memory");
	GUEST_ASSERT_EQ(nmi_n, 2);
	GUEST_DONE();
}
GUEST_TEST("nmi-hlt", test_nmi_hlt);

/* "An execution of the IRET instruction unblocks NMIs even if the
 * instruction causes a fault" (6.7.1).  The NMI handler runs an IRETQ with
 * a null CS (#GP(0)); the #GP handler, still inside the NMI handler, sends
 * itself an NMI and must receive it; it then resumes past the bad frame. */
extern const char nmi_bad_iret[], nmi_bad_iret_resume[];
static volatile unsigned gp_seen, nmi_in_gp;

static __attribute__((noinline)) void bad_iret(void)
{
	__asm__ volatile(
		"mov %%rsp, %%rax\n\t"
		"pushq $0\n\t"                 /* SS */
		"pushq %%rax\n\t"              /* RSP */
		"pushfq\n\t"                   /* RFLAGS */
		"pushq $0\n\t"                 /* CS: null, #GP(0) */
		"lea 1f(%%rip), %%rcx\n\t"
		"pushq %%rcx\n\t"              /* RIP */
		".globl nmi_bad_iret\n"
		"nmi_bad_iret: iretq\n\t"
		".globl nmi_bad_iret_resume\n"
		"nmi_bad_iret_resume: add $40, %%rsp\n\t"
		"1:\n\t"
		: : : "rax", "rcx", "memory", "cc");
}

static void iret_fault_gp(struct isr_frame *f)
{
	if (f->ip != (uintptr_t)nmi_bad_iret)
		GUEST_FAIL("unexpected #GP (ip, error)", f->ip, f->error);
	gp_seen++;
	unsigned n = nmi_n;
	nmi_send(ICR_NMI);
	nmi_in_gp = nmi_wait(n + 1) - n;
	f->ip = (uintptr_t)nmi_bad_iret_resume;
}

static void iret_fault_nmi(struct isr_frame *f)
{
	if (++nmi_n == 1)
		bad_iret();
}

static void test_nmi_iret_fault(void)
{
	nmi_setup();
	gp_seen = nmi_in_gp = 0;
	exc_set_handler(2, iret_fault_nmi);
	exc_set_handler(13, iret_fault_gp);
	nmi_send(ICR_NMI);
	GUEST_ASSERT_EQ(nmi_wait(2), 2);
	GUEST_ASSERT_EQ(gp_seen, 1);
	GUEST_ASSERT_EQ(nmi_in_gp, 1);      /* taken inside the #GP handler */
	GUEST_DONE();
}
GUEST_TEST("nmi-iret-fault", test_nmi_iret_fault);

#endif
