/* Corners the kvm-unit-tests x86 suite found (docs/kvm-unit-tests.md), kept
 * fixed here because CI does not run that suite.
 *
 * cr8-tpr (64-bit; kvm-unit-tests apic.flat "apic_disable: *0xfee00080"):
 * CR8 is the local APIC's TPR[7:4] (SDM vol. 3, 10.8.6.1 "Interaction of
 * Task Priorities between CR8 and APIC"): MOV to CR8 sets TPR = CR8 << 4,
 * MOV from CR8 reads TPR[7:4], in xAPIC and x2APIC mode, and the priority
 * it sets holds back a fixed interrupt of the same or a lower class until
 * CR8 is lowered.
 *
 * cpuid-topology (64-bit, run with --cpus 2; kvm-unit-tests apic.flat "x2apic
 * id matches cpuid"): a CPU with x2APIC has CPUID leaf 0BH (SDM vol. 3,
 * 10.12.8.1): EDX is the x2APIC ID, sub-leaf 0 the SMT level, 1 the core
 * level counting every logical processor of the package.
 *
 * dr6-bits (64-bit; kvm-unit-tests debug.flat "Wanted #DB ... DR6 =
 * 0xffff4ff4"): a #DB replaces DR6's B0-B3 with the breakpoints that
 * caused it (SDM vol. 3, 18.2.3: "certain debug exceptions may clear bits
 * 0-3"; what hardware and KVM do), while BD, BS and BT stay sticky.
 *
 * movss-code-bp (64-bit; kvm-unit-tests emulator.flat "no fep: #DB
 * suppressed after MOV SS"): an instruction breakpoint on the instruction
 * right after MOV SS is not triggered on Intel processors (SDM vol. 3,
 * 18.3.1.1), ringvm's CPUID vendor; the same breakpoint without MOV SS
 * before it is. */
#include "guest.h"

#ifdef __x86_64__
#define KUT_APIC 0xFEE00000u
#define KUT_APIC_TPR 0x80
#define KUT_APIC_EOI 0xb0
#define KUT_APIC_SVR 0xf0
#define KUT_APIC_ICR 0x300
#define KUT_MSR_APIC_BASE 0x1b
#define KUT_APICBASE_EXTD 0x400u
#define KUT_VECTOR 0x2f          /* irq_set_handler(15): IRQ_BASE + 15, class 2 */

static volatile unsigned kut_taken;

static inline uint64_t kut_read_cr8(void)
{
	uint64_t v;
	__asm__ volatile("mov %%cr8, %0" : "=r"(v));
	return v;
}

static inline void kut_write_cr8(uint64_t v)
{
	__asm__ volatile("mov %0, %%cr8" : : "r"(v) : "memory");
}

static inline void kut_wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32))
			 : "memory");
}

static void kut_on_ipi(unsigned irq)
{
	(void)irq;
	kut_taken++;
	mmio_write32(KUT_APIC + KUT_APIC_EOI, 0);
}

static void test_cr8_tpr(void)
{
	pic_init(0xff, 0xff);
	mmio_write32(KUT_APIC + KUT_APIC_SVR, 0x1ff);
	/* both directions in xAPIC mode */
	GUEST_ASSERT_EQ(kut_read_cr8(), 0);
	mmio_write32(KUT_APIC + KUT_APIC_TPR, 0x50);
	GUEST_ASSERT_EQ(kut_read_cr8(), 5);
	kut_write_cr8(0xa);
	GUEST_ASSERT_EQ(mmio_read32(KUT_APIC + KUT_APIC_TPR), 0xa0);
	GUEST_ASSERT_EQ(kut_read_cr8(), 0xa);
	mmio_write32(KUT_APIC + KUT_APIC_TPR, 0x3f);  /* TPR[3:0] are not in CR8 */
	GUEST_ASSERT_EQ(kut_read_cr8(), 3);

	/* CR8 = 2 holds back vector 0x2f (class 2); CR8 = 1 lets it in */
	irq_set_handler(15, kut_on_ipi);
	kut_write_cr8(2);
	sti();
	mmio_write32(KUT_APIC + KUT_APIC_ICR, 0x40000 | KUT_VECTOR); /* self, fixed */
	for (unsigned i = 0; i < 1000; i++)
		cpu_relax();
	GUEST_ASSERT_EQ(kut_taken, 0);
	kut_write_cr8(1);
	for (unsigned i = 0; i < 1000 && !kut_taken; i++)
		cpu_relax();
	cli();
	GUEST_ASSERT_EQ(kut_taken, 1);
	kut_write_cr8(0);

	/* x2APIC mode: the TPR MSR 0x808 */
	uint64_t base = rdmsr(KUT_MSR_APIC_BASE);
	kut_wrmsr(KUT_MSR_APIC_BASE, base | KUT_APICBASE_EXTD);
	kut_wrmsr(0x808, 0x70);
	GUEST_ASSERT_EQ(kut_read_cr8(), 7);
	kut_write_cr8(0xc);
	GUEST_ASSERT_EQ(rdmsr(0x808), 0xc0);
	kut_write_cr8(0);
	GUEST_SYNC("cr8 is tpr", kut_taken);
	GUEST_DONE();
}
GUEST_TEST("cr8-tpr", test_cr8_tpr);

static void kut_cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
			 : "a"(leaf), "c"(sub));
}

static void test_cpuid_topology(void)
{
	uint32_t r[4];
	kut_cpuid(0, 0, r);
	GUEST_ASSERT(r[0] >= 0xb);
	kut_cpuid(1, 0, r);
	GUEST_ASSERT(r[2] & (1u << 21));                 /* x2APIC */
	unsigned n = (r[1] >> 16) & 0xff;               /* logical processors */
	GUEST_ASSERT_EQ(n, 2);
	kut_cpuid(0xb, 0, r);                            /* SMT level */
	GUEST_ASSERT_EQ(r[1] & 0xffff, 1);
	GUEST_ASSERT_EQ(r[2] & 0xffff, 0x100);
	kut_cpuid(0xb, 1, r);                            /* core level */
	GUEST_ASSERT_EQ(r[0] & 0x1f, 1);
	GUEST_ASSERT_EQ(r[1] & 0xffff, n);
	GUEST_ASSERT_EQ(r[2] & 0xffff, 0x201);
	kut_cpuid(0xb, 2, r);                            /* invalid level */
	GUEST_ASSERT_EQ(r[1] & 0xffff, 0);
	GUEST_ASSERT_EQ(r[2] & 0xffff, 2);
	/* EDX is the x2APIC ID, as the APIC itself reports it */
	uint64_t base = rdmsr(KUT_MSR_APIC_BASE);
	kut_wrmsr(KUT_MSR_APIC_BASE, base | KUT_APICBASE_EXTD);
	GUEST_ASSERT_EQ(r[3], rdmsr(0x802));
	GUEST_SYNC("x2apic id in cpuid 0xb", r[3]);
	GUEST_DONE();
}
GUEST_TEST("cpuid-topology", test_cpuid_topology);

static volatile uint64_t kut_db_dr6, kut_db_count;

static void kut_on_db(struct isr_frame *f)
{
	uint64_t v;
	__asm__ volatile("mov %%dr6, %0" : "=r"(v));
	kut_db_dr6 = v;
	kut_db_count++;
	__asm__ volatile("mov %0, %%dr7" : : "r"(0x400ul));  /* breakpoint off */
	(void)f;
}

static void test_dr6_bits(void)
{
	exc_set_handler(1, kut_on_db);
	uintptr_t bp;
	__asm__ volatile("lea 1f(%%rip), %0\n\t"
			 "mov %0, %%dr0\n\t"
			 "mov %1, %%dr6\n\t"              /* B1 and BS set beforehand */
			 "mov %2, %%dr7\n\t"              /* L0: execute */
			 "1: nop\n\t"
			 : "=&r"(bp) : "r"(0x4002ul), "r"(0x401ul) : "memory");
	GUEST_ASSERT_EQ(kut_db_count, 1);
	/* B0 set, B1 cleared, BS kept, reserved bits as 1 */
	GUEST_ASSERT_EQ(kut_db_dr6, 0xffff4ff1ul);
	GUEST_SYNC("dr6 after an instruction breakpoint", kut_db_dr6);
	GUEST_DONE();
}
GUEST_TEST("dr6-bits", test_dr6_bits);

static void test_movss_code_bp(void)
{
	exc_set_handler(1, kut_on_db);
	uintptr_t bp, ss;
	/* The breakpoint sits on the XOR right after MOV SS: not triggered. */
	__asm__ volatile("lea 1f(%%rip), %0\n\t"
			 "mov %0, %%dr0\n\t"
			 "mov %2, %%dr7\n\t"              /* L0: execute */
			 "mov %%ss, %1\n\t"
			 "mov %1, %%ss\n\t"
			 "1: xor %0, %0\n\t"
			 : "=&r"(bp), "=&r"(ss) : "r"(0x401ul) : "memory");
	GUEST_ASSERT_EQ(kut_db_count, 0);
	GUEST_ASSERT_EQ(bp, 0);
	__asm__ volatile("mov %0, %%dr7" : : "r"(0x400ul));
	/* Control: the same breakpoint after an ordinary instruction fires. */
	__asm__ volatile("lea 1f(%%rip), %0\n\t"
			 "mov %0, %%dr0\n\t"
			 "mov %2, %%dr7\n\t"
			 "mov %%ss, %1\n\t"
			 "nop\n\t"
			 "1: xor %0, %0\n\t"
			 : "=&r"(bp), "=&r"(ss) : "r"(0x401ul) : "memory");
	GUEST_ASSERT_EQ(kut_db_count, 1);
	GUEST_SYNC("code breakpoints after mov ss, then without", kut_db_count);
	GUEST_DONE();
}
GUEST_TEST("movss-code-bp", test_movss_code_bp);

#define KUT_MSR_GS_BASE 0xc0000101u
struct kut_dtr {
	uint16_t limit;
	uintptr_t base;
} __attribute__((packed));
static uint64_t kut_gdt[10] __attribute__((aligned(16)));
static uint32_t kut_tss[26] __attribute__((aligned(16)));
static uint8_t kut_stack[4096] __attribute__((aligned(16)));
volatile uint64_t kut_rsp;
static volatile uint64_t kut_ud_seen, kut_ud_cs, kut_ud_rax, kut_ud_gsbase;
extern const char kut_resume[];

static void kut_on_ud(struct isr_frame *f)
{
	kut_ud_seen++;
	kut_ud_cs = f->cs;
	kut_ud_rax = f->rax;
	kut_ud_gsbase = rdmsr(KUT_MSR_GS_BASE);
	f->ip = (uintptr_t)kut_resume;
	f->cs = 0x20;
	(&f->flags)[1] = kut_rsp; /* RSP, then SS, after RFLAGS */
	(&f->flags)[2] = 0x18;
}

static void test_iret_null_gs(void)
{
	struct kut_dtr old, gdt;
	cli();
	__asm__ volatile("sgdt %0" : "=m"(old));
	for (unsigned i = 0; i < 5; i++) /* null, unused, code32, data, code64 */
		kut_gdt[i] = ((volatile uint64_t *)old.base)[i];
	kut_gdt[5] = 0x00afba000000ffffull; /* 0x28: 64-bit code, DPL 1 */
	kut_gdt[6] = 0x00cfb2000000ffffull; /* 0x30: data, DPL 1 */
	uint64_t base = (uintptr_t)kut_tss;
	kut_gdt[7] = 0x67 | (base & 0xffffff) << 16 | 0x89ull << 40 | (base >> 24 & 0xff) << 56;
	kut_gdt[8] = base >> 32; /* 0x38: 64-bit TSS */
	uint64_t rsp0 = (uintptr_t)(kut_stack + sizeof(kut_stack));
	kut_tss[1] = (uint32_t)rsp0;
	kut_tss[2] = (uint32_t)(rsp0 >> 32);
	gdt.base = (uintptr_t)kut_gdt;
	gdt.limit = sizeof(kut_gdt) - 1;
	__asm__ volatile("lgdt %0; movw $0x38, %%ax; ltr %%ax" : : "m"(gdt) : "eax", "memory");
	uint64_t old_gs = rdmsr(KUT_MSR_GS_BASE);
	const uint64_t gs_base = 0x123456789000ull;
	exc_set_handler(6, kut_on_ud);
	/* GS = 0x18 (data, DPL 0), then IRETQ to CPL 1: GS becomes null */
	__asm__ volatile("movw $0x18, %%ax; movw %%ax, %%gs" : : : "eax");
	kut_wrmsr(KUT_MSR_GS_BASE, gs_base);
	__asm__ volatile("mov %%rsp, kut_rsp(%%rip)\n\t"
			 "pushq $0x31\n\t"
			 "pushq kut_rsp(%%rip)\n\t"
			 "pushfq\n\t"
			 "pushq $0x29\n\t"
			 "lea 1f(%%rip), %%rax\n\t"
			 "pushq %%rax\n\t"
			 "iretq\n"
			 "1: mov %%gs, %%eax\n\t"
			 "ud2\n"
			 ".globl kut_resume\n"
			 "kut_resume:\n\t"
			 : : : "rax", "memory", "cc");
	exc_set_handler(6, NULL);
	uint16_t gs_now;
	__asm__ volatile("movw %%gs, %0" : "=r"(gs_now));
	__asm__ volatile("movw $0x18, %%ax; movw %%ax, %%gs" : : : "eax");
	kut_wrmsr(KUT_MSR_GS_BASE, old_gs);
	__asm__ volatile("lgdt %0" : : "m"(old) : "memory");
	GUEST_ASSERT_EQ(kut_ud_seen, 1);
	GUEST_ASSERT_EQ(kut_ud_cs, 0x29);
	GUEST_ASSERT_EQ(kut_ud_rax & 0xffff, 0);        /* GS was made null */
	GUEST_ASSERT_EQ(gs_now, 0);
	GUEST_ASSERT_EQ(kut_ud_gsbase, gs_base);         /* its base was kept */
	GUEST_SYNC("gs base kept across iret to cpl 1", 1);
	GUEST_DONE();
}
GUEST_TEST("iret-null-gs", test_iret_null_gs);
#endif

/* movss-db-int (64-bit; kvm-unit-tests debug.flat "MOV SS + watchpoint +
 * int $1" and "+ INT3"): a data breakpoint hit by MOV SS is held back one
 * instruction (SDM vol. 3, 6.8.3); when that instruction is INT3 or INT n,
 * the held #DB is pending at the boundary after the software interrupt's
 * delivery: the #DB handler runs first, returning to the first
 * instruction of the INT handler, which then runs once. */
#ifdef __x86_64__
volatile uint64_t kut_ss_seq, kut_ss_db_rip, kut_ss_db_dr6, kut_ss_bp_rip;
volatile uint32_t kut_ss_value;
extern const char kut_ss_db_entry[], kut_ss_bp_entry[], kut_ss_after1[], kut_ss_after2[];
/* each handler shifts its id into kut_ss_seq: the order they ran in */
__asm__(".text\n"
	"kut_ss_db_entry:\n\t"
	"push %rax\n\t"
	"mov 8(%rsp), %rax\n\t"
	"mov %rax, kut_ss_db_rip(%rip)\n\t"
	"mov %dr6, %rax\n\t"
	"mov %rax, kut_ss_db_dr6(%rip)\n\t"
	"pop %rax\n\t"
	"shlq $4, kut_ss_seq(%rip)\n\t"
	"orq $1, kut_ss_seq(%rip)\n\t"
	"iretq\n"
	"kut_ss_bp_entry:\n\t"
	"push %rax\n\t"
	"mov 8(%rsp), %rax\n\t"
	"mov %rax, kut_ss_bp_rip(%rip)\n\t"
	"pop %rax\n\t"
	"shlq $4, kut_ss_seq(%rip)\n\t"
	"orq $3, kut_ss_seq(%rip)\n\t"
	"iretq\n");

static void test_movss_db_int(void)
{
	uint16_t cs, ss;
	__asm__ volatile("mov %%cs, %0; mov %%ss, %1" : "=r"(cs), "=r"(ss));
	kut_ss_value = ss;
	cli();
	idt_set_gate(1, (uintptr_t)kut_ss_db_entry, cs, 0x8e);
	idt_set_gate(3, (uintptr_t)kut_ss_bp_entry, cs, 0x8e);
	/* DR0: kut_ss_value, 4 bytes, read or write (R/W0 = 11, LEN0 = 11) */
	__asm__ volatile("mov %0, %%dr0; mov %1, %%dr6; mov %2, %%dr7"
			 : : "r"((uintptr_t)&kut_ss_value), "r"(0xffff0ff0ul), "r"(0x000f0401ul)
			 : "memory");
	__asm__ volatile("mov kut_ss_value(%%rip), %%ss\n\t"
			 "int3\n"
			 ".globl kut_ss_after1\n"
			 "kut_ss_after1:" : : : "memory");
	uint64_t seq1 = kut_ss_seq, db1 = kut_ss_db_rip, dr6 = kut_ss_db_dr6;
	uint64_t bp1 = kut_ss_bp_rip;
	kut_ss_seq = 0;
	kut_ss_db_rip = 0;
	__asm__ volatile("mov kut_ss_value(%%rip), %%ss\n\t"
			 "int $3\n"
			 ".globl kut_ss_after2\n"
			 "kut_ss_after2:" : : : "memory");
	__asm__ volatile("mov %0, %%dr7" : : "r"(0x400ul));
	idt_init();
	GUEST_ASSERT_EQ(seq1, 0x13);               /* #DB, then the #BP handler */
	GUEST_ASSERT_EQ(db1, (uintptr_t)kut_ss_bp_entry);
	GUEST_ASSERT_EQ(dr6 & 0xf, 1);               /* B0 */
	GUEST_ASSERT_EQ(bp1, (uintptr_t)kut_ss_after1);
	GUEST_ASSERT_EQ(kut_ss_seq, 0x13);
	GUEST_ASSERT_EQ(kut_ss_db_rip, (uintptr_t)kut_ss_bp_entry);
	GUEST_ASSERT_EQ(kut_ss_bp_rip, (uintptr_t)kut_ss_after2);
	GUEST_SYNC("held #db taken at the int handler's entry", seq1);
	GUEST_DONE();
}
GUEST_TEST("movss-db-int", test_movss_db_int);
#endif

/* nmi-two-pending (64-bit; kvm-unit-tests apic.flat "multiple nmi"): two
 * NMIs that reach a vCPU not blocking NMIs before it takes the first are
 * both taken, one after the other (the second latched while the first is
 * handled, SDM vol. 3, 6.7.1; KVM's process_nmi() allows two pending).
 * Here the two are back-to-back ICR writes to the sender's own APIC ID
 * (physical destination): the soft vCPU takes NMIs between blocks, so
 * both arrive before the first is taken.  A third sent from inside the
 * handler, while NMIs are blocked, still latches only one. */
#ifdef __x86_64__
static volatile unsigned kut_nmi_n, kut_nmi_resend;

static void kut_nmi_icr2(void)
{
	uint32_t id = mmio_read32(KUT_APIC + 0x20);
	mmio_write32(KUT_APIC + 0x310, id & 0xff000000u);
	/* two NMIs to self, nothing between the two stores */
	__asm__ volatile("movl %1, (%0)\n\t"
			 "movl %1, (%0)\n\t"
			 : : "r"((uintptr_t)(KUT_APIC + KUT_APIC_ICR)), "r"(0x400u) : "memory");
}

static void kut_on_nmi(struct isr_frame *f)
{
	(void)f;
	kut_nmi_n++;
	if (kut_nmi_resend) {
		kut_nmi_resend = 0;
		kut_nmi_icr2(); /* blocked: of these two, one is latched */
	}
}

static unsigned kut_nmi_wait(unsigned want)
{
	for (unsigned i = 0; i < 200000 && kut_nmi_n < want; i++)
		cpu_relax();
	return kut_nmi_n;
}

static void test_nmi_two_pending(void)
{
	exc_set_handler(2, kut_on_nmi);
	mmio_write32(KUT_APIC + KUT_APIC_SVR, 0x1ff);
	kut_nmi_icr2();
	GUEST_ASSERT_EQ(kut_nmi_wait(2), 2);
	GUEST_ASSERT_EQ(kut_nmi_wait(3), 2);
	kut_nmi_n = 0;
	kut_nmi_resend = 1;
	kut_nmi_icr2();               /* 2, then 1 of the 2 sent while blocked */
	GUEST_ASSERT_EQ(kut_nmi_wait(3), 3);
	GUEST_ASSERT_EQ(kut_nmi_wait(4), 3);
	GUEST_SYNC("nmis taken of two sent together", 2);
	GUEST_DONE();
}
GUEST_TEST("nmi-two-pending", test_nmi_two_pending);
#endif
