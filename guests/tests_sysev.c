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

/* SWAPGS at CPL 0 (SDM Vol. 2B, SWAPGS: exchange IA32_GS_BASE and
 * IA32_KERNEL_GS_BASE), hot enough for the soft engine to translate (it
 * does it inline there): each GS-relative load right after a SWAPGS reads
 * through the other base, the guest's flags survive it (the carry set
 * before, the compare's ZF before), and the MSRs read back exchanged. */
#define MSR_GS_BASE        0xc0000101u
#define MSR_KERNEL_GS_BASE 0xc0000102u
static void sysev_wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}
static volatile uint64_t swapgs_a[2] = { 0x1111, 0xa1 }, swapgs_b[2] = { 0x2222, 0xb2 };

static void test_swapgs_fast(void)
{
	uint64_t old_gs = rdmsr(MSR_GS_BASE), old_kgs = rdmsr(MSR_KERNEL_GS_BASE);
	sysev_wrmsr(MSR_GS_BASE, (uintptr_t)swapgs_a);
	sysev_wrmsr(MSR_KERNEL_GS_BASE, (uintptr_t)swapgs_b);
	for (unsigned round = 0; round < 200; round++) {
		uint64_t x, y, z;
		uint8_t cf, zf;
		__asm__ volatile("stc\n\t"
				 "swapgs\n\t"
				 "setc %3\n\t"
				 "mov %%gs:0, %0\n\t"
				 "cmp %0, %0\n\t"
				 "swapgs\n\t"
				 "sete %4\n\t"
				 "mov %%gs:8, %1\n\t"
				 "swapgs\n\t"
				 "mov %%gs:0, %2\n\t"
				 : "=&r"(x), "=&r"(y), "=&r"(z), "=&q"(cf), "=&q"(zf)
				 : : "memory", "cc");
		/* three exchanges: the bases are swapped after each round */
		bool odd = round & 1;
		GUEST_ASSERT_EQ(x, odd ? 0x1111 : 0x2222);
		GUEST_ASSERT_EQ(y, odd ? 0xb2 : 0xa1);
		GUEST_ASSERT_EQ(z, odd ? 0x1111 : 0x2222);
		GUEST_ASSERT_EQ(cf, 1);
		GUEST_ASSERT_EQ(zf, 1);
		GUEST_ASSERT_EQ(rdmsr(MSR_GS_BASE), (uintptr_t)(odd ? swapgs_a : swapgs_b));
		GUEST_ASSERT_EQ(rdmsr(MSR_KERNEL_GS_BASE), (uintptr_t)(odd ? swapgs_b : swapgs_a));
	}
	sysev_wrmsr(MSR_GS_BASE, old_gs);
	sysev_wrmsr(MSR_KERNEL_GS_BASE, old_kgs);
	GUEST_DONE();
}
GUEST_TEST("swapgs-fast", test_swapgs_fast);

/* SWAPGS at CPL 1 (SDM Vol. 2B, SWAPGS, 64-bit mode exceptions: #GP(0)
 * if CPL != 0), in a hot block after a MOV: the #GP reports the SWAPGS's
 * RIP with the MOV done and the GS bases not exchanged.  CPL 1 runs on
 * the guest's supervisor-only identity map; a GDT of this test's own adds
 * a 64-bit code and a data segment of DPL 1 and a TSS (RSP0 for the
 * #GP's way back to CPL 0).  The #GP handler resumes at CPL 0. */
struct sysev_dtr {
	uint16_t limit;
	uintptr_t base;
} __attribute__((packed));
static uint64_t cpl1_gdt[10] __attribute__((aligned(16)));
static uint32_t cpl1_tss[26] __attribute__((aligned(16)));
static uint8_t cpl1_stack[4096] __attribute__((aligned(16)));
volatile uint64_t cpl1_rsp;
static volatile uint64_t cpl1_ip, cpl1_err, cpl1_vec, cpl1_rax, cpl1_rdx, cpl1_cs, cpl1_seen;
extern const char cpl1_swapgs[], cpl1_resume[];

static void sysev_cpl1_gp(struct isr_frame *f)
{
	cpl1_seen++;
	cpl1_vec = f->vector;
	cpl1_err = f->error;
	cpl1_ip = f->ip;
	cpl1_cs = f->cs;
	cpl1_rax = f->rax;
	f->ip = (uintptr_t)cpl1_resume;
	f->cs = 0x20;
	(&f->flags)[1] = cpl1_rsp; /* RSP, then SS, after RFLAGS */
	(&f->flags)[2] = 0x18;
}

/* The GDT with the DPL 1 segments and the TSS loaded (and TR); *old the
 * guest's, to load back. */
static void cpl1_gdt_load(struct sysev_dtr *old_out)
{
	struct sysev_dtr old, gdt;
	__asm__ volatile("sgdt %0" : "=m"(old));
	*old_out = old;
	for (unsigned i = 0; i < 5; i++) /* null, unused, code32, data, code64 */
		cpl1_gdt[i] = ((volatile uint64_t *)old.base)[i];
	cpl1_gdt[5] = 0x00afba000000ffffull; /* 0x28: 64-bit code, DPL 1 */
	cpl1_gdt[6] = 0x00cfb2000000ffffull; /* 0x30: data, DPL 1 */
	gdt_set_tss64(&cpl1_gdt[7], cpl1_tss); /* 0x38: 64-bit TSS */
	uint64_t rsp0 = (uintptr_t)(cpl1_stack + sizeof(cpl1_stack));
	cpl1_tss[1] = (uint32_t)rsp0;
	cpl1_tss[2] = (uint32_t)(rsp0 >> 32);
	gdt.base = (uintptr_t)cpl1_gdt;
	gdt.limit = sizeof(cpl1_gdt) - 1;
	__asm__ volatile("lgdt %0; movw $0x38, %%ax; ltr %%ax" : : "m"(gdt) : "eax", "memory");
}

static void test_swapgs_cpl1(void)
{
	struct sysev_dtr old;
	cli();
	cpl1_gdt_load(&old);
	uint64_t gs = rdmsr(MSR_GS_BASE), kgs = rdmsr(MSR_KERNEL_GS_BASE);
	exc_set_handler(13, sysev_cpl1_gp);
	for (unsigned round = 0; round < 64; round++) { /* hot: translated */
		cpl1_seen = 0;
		cpl1_rax = 0;
		__asm__ volatile("mov %%rsp, cpl1_rsp(%%rip)\n\t"
				 "pushq $0x31\n\t"
				 "pushq cpl1_rsp(%%rip)\n\t"
				 "pushfq\n\t"
				 "pushq $0x29\n\t"
				 "lea 1f(%%rip), %%rax\n\t"
				 "pushq %%rax\n\t"
				 "iretq\n"
				 "1: mov $5, %%eax\n"
				 ".globl cpl1_swapgs\n"
				 "cpl1_swapgs: swapgs\n\t"
				 "mov $6, %%eax\n\t"
				 "ud2\n"
				 ".globl cpl1_resume\n"
				 "cpl1_resume:\n\t"
				 : : : "rax", "memory", "cc");
		GUEST_ASSERT_EQ(cpl1_seen, 1);
		GUEST_ASSERT_EQ(cpl1_vec, 13);
		GUEST_ASSERT_EQ(cpl1_err, 0);
		GUEST_ASSERT_EQ(cpl1_ip, (uintptr_t)cpl1_swapgs);
		GUEST_ASSERT_EQ(cpl1_cs, 0x29);
		GUEST_ASSERT_EQ(cpl1_rax, 5);
		GUEST_ASSERT_EQ(rdmsr(MSR_GS_BASE), gs);
		GUEST_ASSERT_EQ(rdmsr(MSR_KERNEL_GS_BASE), kgs);
	}
	exc_set_handler(13, NULL);
	__asm__ volatile("lgdt %0" : : "m"(old) : "memory");
	GUEST_DONE();
}
GUEST_TEST("swapgs-cpl1", test_swapgs_cpl1);

/* RDTSC and RDTSCP and CR4.TSD (SDM Vol. 2B, RDTSC: #GP(0) "if the TSD
 * flag in register CR4 is set and the CPL is greater than 0"), hot enough
 * to be translated (jit/tscinline.c): at CPL 1 with TSD set each faults at
 * itself with RAX and RDX as they were; with TSD clear both run at CPL 1
 * (the UD2 after them brings the test back); at CPL 0 TSD changes nothing
 * and the TSC never goes backwards.  The CPL 1 GDT and TSS are
 * swapgs-cpl1's. */
extern const char tsd_rdtsc[], tsd_rdtscp[], tsd_resume[];

static void tsd_trap(struct isr_frame *f)
{
	cpl1_seen++;
	cpl1_vec = f->vector;
	cpl1_err = f->error;
	cpl1_ip = f->ip;
	cpl1_cs = f->cs;
	cpl1_rax = f->rax;
	cpl1_rdx = f->rdx;
	f->ip = (uintptr_t)tsd_resume;
	f->cs = 0x20;
	(&f->flags)[1] = cpl1_rsp;
	(&f->flags)[2] = 0x18;
}

/* Run at CPL 1: RDTSC (skipped when rdtscp), RDTSCP, then UD2. */
/* noinline: its asm defines global labels, which must exist once */
__attribute__((noinline)) static void tsd_cpl1(bool rdtscp)
{
	uint64_t sel = rdtscp;
	cpl1_seen = 0;
	cpl1_rax = cpl1_rdx = 0;
	__asm__ volatile("mov %%rsp, cpl1_rsp(%%rip)\n\t"
			 "pushq $0x31\n\t"
			 "pushq cpl1_rsp(%%rip)\n\t"
			 "pushfq\n\t"
			 "pushq $0x29\n\t"
			 "lea 1f(%%rip), %%rax\n\t"
			 "pushq %%rax\n\t"
			 "iretq\n"
			 "1: mov $5, %%eax\n\t"
			 "mov $7, %%edx\n\t"
			 "test %%ecx, %%ecx\n\t"
			 "jnz tsd_rdtscp\n"
			 ".globl tsd_rdtsc\n"
			 "tsd_rdtsc: rdtsc\n\t"
			 "mov $5, %%eax\n\t"
			 "mov $7, %%edx\n"
			 ".globl tsd_rdtscp\n"
			 "tsd_rdtscp: rdtscp\n\t"
			 "mov $6, %%eax\n\t"
			 "ud2\n"
			 ".globl tsd_resume\n"
			 "tsd_resume:\n\t"
			 : "+c"(sel) : : "rax", "rdx", "memory", "cc");
}

static inline uint64_t tsd_tsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static void test_rdtsc_tsd(void)
{
	struct sysev_dtr old;
	cli();
	cpl1_gdt_load(&old);
	exc_set_handler(13, tsd_trap);
	exc_set_handler(6, tsd_trap);
	uintptr_t cr4 = read_cr4();
	for (unsigned round = 0; round < 64; round++) { /* hot: translated */
		write_cr4(cr4 | (1u << 2));
		for (unsigned p = 0; p < 2; p++) {
			tsd_cpl1(p);
			GUEST_ASSERT_EQ(cpl1_seen, 1);
			GUEST_ASSERT_EQ(cpl1_vec, 13);
			GUEST_ASSERT_EQ(cpl1_err, 0);
			GUEST_ASSERT_EQ(cpl1_ip, (uintptr_t)(p ? tsd_rdtscp : tsd_rdtsc));
			GUEST_ASSERT_EQ(cpl1_cs, 0x29);
			GUEST_ASSERT_EQ(cpl1_rax, 5);
			GUEST_ASSERT_EQ(cpl1_rdx, 7);
		}
		/* at CPL 0 TSD changes nothing */
		uint64_t a = tsd_tsc(), b = tsd_tsc();
		GUEST_ASSERT(b > a);
		write_cr4(cr4 & ~(uintptr_t)(1u << 2));
		tsd_cpl1(false);
		GUEST_ASSERT_EQ(cpl1_seen, 1);
		GUEST_ASSERT_EQ(cpl1_vec, 6); /* the UD2: both ran */
		GUEST_ASSERT_EQ(cpl1_rax, 6);
	}
	write_cr4(cr4);
	exc_set_handler(13, NULL);
	exc_set_handler(6, NULL);
	__asm__ volatile("lgdt %0" : : "m"(old) : "memory");
	GUEST_DONE();
}
GUEST_TEST("rdtsc-tsd", test_rdtsc_tsd);

/* The TSC in a hot loop (translated) never goes backwards, and advances at
 * the rate CPUID 0x16 states (base MHz; the soft engine's rate is whole
 * MHz) against the ACPI PM timer (3.579545 MHz, port 0x608, 24 bits; both
 * are the machine's clock on the soft engine): over 0.2 s within 1 %,
 * each end one PM read between two RDTSCs (the PIT is no reference here:
 * a loaded host delays and merges its ticks). */
#define PM_TMR 0x608
#define PM_HZ 3579545ull

/* One (TSC, PM) pair: the PM read between two RDTSCs, their midpoint. */
static void rate_sample(uint64_t *tsc, uint32_t *pm)
{
	uint64_t a = tsd_tsc();
	*pm = inl(PM_TMR) & 0xffffff;
	uint64_t b = tsd_tsc();
	GUEST_ASSERT(b > a);
	*tsc = a + (b - a) / 2;
}

static void test_tsc_rate(void)
{
	uint32_t r[4];
	cpuid(0, 0, r);
	GUEST_ASSERT(r[0] >= 0x16);
	cpuid(0x16, 0, r);
	uint64_t mhz = r[0] & 0xffff;
	GUEST_ASSERT(mhz);
	uint64_t t0, t1, last;
	uint32_t p0, p1, n = 0;
	rate_sample(&t0, &p0);
	last = t0;
	for (;;) {
		for (unsigned k = 0; k < 64; k++, n++) { /* hot: translated */
			uint64_t now = tsd_tsc();
			if (now <= last)
				GUEST_FAIL("the TSC did not advance", last, now);
			last = now;
		}
		rate_sample(&t1, &p1);
		if (((p1 - p0) & 0xffffff) >= PM_HZ / 5)
			break;
	}
	GUEST_ASSERT(n > 1000);
	uint64_t pm = (p1 - p0) & 0xffffff, ticks = t1 - t0;
	uint64_t want = pm * mhz * 1000000 / PM_HZ;
	if (ticks < want - want / 100 || ticks > want + want / 100)
		GUEST_FAIL("TSC ticks against the ACPI PM timer", ticks, want, pm);
	GUEST_DONE();
}
GUEST_TEST("tsc-rate", test_tsc_rate);

/* SYSCALL and SYSRET at CPL 0 (SDM Vol. 2B, SYSCALL, SYSRET), hot enough
 * to be translated on the soft engine:
 * - SYSCALL with EFER.SCE clear: #UD at it, nothing changed;
 * - SYSRET with EFER.SCE set and a non-canonical RCX: #GP(0) at it, still
 *   at CPL 0 (the check comes before any state is loaded);
 * - SYSCALL with EFER.SCE set: RCX = the next RIP, R11 = RFLAGS (DF set
 *   here), RIP = IA32_LSTAR, RFLAGS &= ~IA32_FMASK (DF cleared), CS =
 *   STAR[47:32] (the guest's 64-bit code selector), SS = STAR[47:32] + 8. */
#define MSR_EFER  0xc0000080u
#define MSR_STAR  0xc0000081u
#define MSR_LSTAR 0xc0000082u
#define MSR_FMASK 0xc0000084u
#define EFER_SCE  1u
static volatile uint64_t sc_vec, sc_err, sc_ip, sc_seen;

static void sysev_sc_fault(struct isr_frame *f)
{
	sc_seen++;
	sc_vec = f->vector;
	sc_err = f->error;
	sc_ip = f->ip;
	f->ip += 2; /* SYSCALL 0f 05; SYSRETQ is 48 0f 07: see below */
	if (f->vector == 13)
		f->ip++;
}

extern const char sc_syscall_ud[], sc_sysret_gp[], sc_lstar[], sc_after[];
static void test_syscall_cpl0(void)
{
	uint64_t efer = rdmsr(MSR_EFER);
	exc_set_handler(6, sysev_sc_fault);
	exc_set_handler(13, sysev_sc_fault);
	sysev_wrmsr(MSR_STAR, (uint64_t)0x20 << 32);
	sysev_wrmsr(MSR_LSTAR, (uintptr_t)sc_lstar);
	sysev_wrmsr(MSR_FMASK, 1u << 10); /* DF */
	for (unsigned round = 0; round < 64; round++) {
		/* EFER.SCE clear: #UD */
		sysev_wrmsr(MSR_EFER, efer & ~(uint64_t)EFER_SCE);
		sc_seen = 0;
		__asm__ volatile(".globl sc_syscall_ud\n"
				 "sc_syscall_ud: syscall\n\t"
				 : : : "rcx", "r11", "memory");
		GUEST_ASSERT_EQ(sc_seen, 1);
		GUEST_ASSERT_EQ(sc_vec, 6);
		GUEST_ASSERT_EQ(sc_ip, (uintptr_t)sc_syscall_ud);
		/* EFER.SCE set, SYSRETQ to a non-canonical RCX: #GP(0) */
		sysev_wrmsr(MSR_EFER, efer | EFER_SCE);
		sc_seen = 0;
		uint64_t rcx = 0x8000000000001000ull, r11 = 0x202;
		__asm__ volatile(".globl sc_sysret_gp\n"
				 "sc_sysret_gp: sysretq\n\t"
				 : "+c"(rcx), "+r"(r11) : : "memory");
		GUEST_ASSERT_EQ(sc_seen, 1);
		GUEST_ASSERT_EQ(sc_vec, 13);
		GUEST_ASSERT_EQ(sc_err, 0);
		GUEST_ASSERT_EQ(sc_ip, (uintptr_t)sc_sysret_gp);
		GUEST_ASSERT_EQ(rcx, 0x8000000000001000ull);
		GUEST_ASSERT_EQ(read_cs(), 0x20);
		/* EFER.SCE set: SYSCALL to LSTAR, which records and comes back */
		uint64_t got_rcx, got_r11, got_fl;
		uint16_t got_cs, got_ss;
		__asm__ volatile("std\n\t"
				 "syscall\n"
				 ".globl sc_after\n"
				 "sc_after: ud2\n"
				 ".globl sc_lstar\n"
				 "sc_lstar:\n\t"
				 "pushfq\n\t"
				 "pop %2\n\t"
				 "mov %%cs, %w3\n\t"
				 "mov %%ss, %w4\n\t"
				 "mov %%rcx, %0\n\t"
				 "mov %%r11, %1\n\t"
				 "push %%rax\n\t"
				 "mov $0x18, %%eax\n\t"
				 "mov %%eax, %%ss\n\t"
				 "pop %%rax\n\t"
				 "cld\n\t"
				 : "=&r"(got_rcx), "=&r"(got_r11), "=&r"(got_fl), "=&r"(got_cs), "=&r"(got_ss)
				 : : "rcx", "r11", "memory", "cc");
		GUEST_ASSERT_EQ(got_rcx, (uintptr_t)sc_after);
		GUEST_ASSERT(got_r11 & (1u << 10));      /* DF was set */
		GUEST_ASSERT_EQ(got_fl & (1u << 10), 0); /* ... and masked */
		GUEST_ASSERT_EQ(got_cs, 0x20);
		GUEST_ASSERT_EQ(got_ss, 0x28);
	}
	sysev_wrmsr(MSR_EFER, efer);
	exc_set_handler(6, NULL);
	exc_set_handler(13, NULL);
	GUEST_DONE();
}
GUEST_TEST("syscall-cpl0", test_syscall_cpl0);

/* SYSRETQ to CPL 3 and SYSCALL back, the round trip of every Linux system
 * call, hot enough to be translated on the soft engine (SDM Vol. 2B,
 * SYSRET, SYSCALL: both load fixed flat CS and SS values and do not read
 * the GDT):
 * - SYSRETQ at CPL 0: RIP = RCX, RFLAGS = R11 with RF and VM cleared and
 *   bit 1 set, CS = STAR[63:48] + 16 | 3, SS = STAR[63:48] + 8 | 3, CPL 3;
 *   the user code (a user page of its own) reads CS and SS and runs
 *   SYSCALL, whose R11 shows the RFLAGS SYSRET loaded;
 * - SYSCALL from CPL 3: RCX = the next RIP, CS = STAR[47:32], CPL 0;
 * - SYSRETQ at CPL 3: #GP(0) at it, CS still the user one, nothing
 *   loaded (the handler resumes at CPL 0).
 * The GDT is this test's own (a TSS for the #GP's way to CPL 0); its
 * user segments are there only for the #GP frame's sake. */
#define SR_USER_VA 0x1000000ul /* 16 MiB: one 2 MiB page of head64's map */
#define SR_KDS 0x28            /* STAR[47:32] + 8: kernel data */
#define SR_UDS 0x33            /* STAR[63:48] + 8 | 3 */
#define SR_UCS 0x3b            /* STAR[63:48] + 16 | 3 */
static uint64_t sr_gdt[10] __attribute__((aligned(16)));
static uint32_t sr_tss[26] __attribute__((aligned(16)));
static uint8_t sr_stack[4096] __attribute__((aligned(16)));
volatile uint64_t sr_rsp;
static volatile uint64_t sr_ip, sr_err, sr_vec, sr_cs, sr_seen;
extern const char sr_resume[];

static void sr_user_page(bool on)
{
	uintptr_t cr3 = read_cr3();
	volatile uint64_t *pml4 = (uint64_t *)(cr3 & ~0xffful);
	volatile uint64_t *pdpt = (uint64_t *)(uintptr_t)(pml4[0] & 0xffffffffff000ul);
	volatile uint64_t *pd = (uint64_t *)(uintptr_t)(pdpt[0] & 0xffffffffff000ul);
	uint64_t u = 4; /* PTE.U */
	if (on) {
		pml4[0] |= u;
		pdpt[0] |= u;
		pd[SR_USER_VA >> 21] |= u;
	} else {
		pd[SR_USER_VA >> 21] &= ~u;
		pdpt[0] &= ~u;
		pml4[0] &= ~u;
	}
	__asm__ volatile("mov %%cr3, %0; mov %0, %%cr3" : "=r"(cr3) : : "memory");
}

static uint16_t sr_read_ss(void)
{
	uint16_t v;
	__asm__ volatile("mov %%ss, %0" : "=r"(v));
	return v;
}

static void sr_gp(struct isr_frame *f)
{
	sr_seen++;
	sr_vec = f->vector;
	sr_err = f->error;
	sr_ip = f->ip;
	sr_cs = f->cs;
	f->ip = (uintptr_t)sr_resume;
	f->cs = 0x20;
	(&f->flags)[1] = sr_rsp; /* RSP, then SS, after RFLAGS */
	(&f->flags)[2] = 0x18;
}

static void sr_round_trips(unsigned rounds, bool tsc)
{
	struct sysev_dtr old, gdt;
	cli();
	__asm__ volatile("sgdt %0" : "=m"(old));
	for (unsigned i = 0; i < 5; i++) /* null, unused, code32, data, code64 */
		sr_gdt[i] = ((volatile uint64_t *)old.base)[i];
	sr_gdt[5] = 0x00cf92000000ffffull; /* 0x28: data, DPL 0 */
	sr_gdt[6] = 0x00cff2000000ffffull; /* 0x30: data, DPL 3 */
	sr_gdt[7] = 0x00affa000000ffffull; /* 0x38: 64-bit code, DPL 3 */
	gdt_set_tss64(&sr_gdt[8], sr_tss); /* 0x40: 64-bit TSS */
	uint64_t rsp0 = (uintptr_t)(sr_stack + sizeof(sr_stack));
	sr_tss[1] = (uint32_t)rsp0;
	sr_tss[2] = (uint32_t)(rsp0 >> 32);
	gdt.base = (uintptr_t)sr_gdt;
	gdt.limit = sizeof(sr_gdt) - 1;
	__asm__ volatile("lgdt %0; movw $0x40, %%ax; ltr %%ax" : : "m"(gdt) : "eax", "memory");
	/* the user code: mov %cs,%eax; mov %ss,%edx; syscall (at +0), and
	 * sysretq (at +0x100) */
	static const uint8_t user_rt[] = { 0x8c, 0xc8, 0x8c, 0xd2, 0x0f, 0x05 };
	static const uint8_t user_sysret[] = { 0x48, 0x0f, 0x07 };
	volatile uint8_t *u = (volatile uint8_t *)SR_USER_VA;
	for (unsigned i = 0; i < sizeof(user_rt); i++)
		u[i] = user_rt[i];
	for (unsigned i = 0; i < sizeof(user_sysret); i++)
		u[0x100 + i] = user_sysret[i];
	sr_user_page(true);
	uint64_t efer = rdmsr(MSR_EFER);
	sysev_wrmsr(MSR_EFER, efer | EFER_SCE);
	sysev_wrmsr(MSR_STAR, (uint64_t)0x28 << 48 | (uint64_t)0x20 << 32);
	sysev_wrmsr(MSR_FMASK, 1u << 10); /* DF */
	exc_set_handler(13, sr_gp);
	extern const char sr_kentry[];
	sysev_wrmsr(MSR_LSTAR, (uintptr_t)sr_kentry);
	uint64_t tsc_sum = 0;
	for (unsigned round = 0; round < rounds; round++) {
		/* R11: CF PF AF ZF SF DF OF (every other round not CF and
		 * OF), RF and VM; bit 1 and IF clear */
		uint64_t fl = 0x30cd5 ^ (round & 1 ? 0x801 : 0);
		uint64_t rcx = SR_USER_VA, ucs, uss;
		register uint64_t r11 __asm__("r11") = fl;
		__asm__ volatile("sysretq\n"
				 ".globl sr_kentry\n"
				 "sr_kentry:\n\t"
				 : "+c"(rcx), "+r"(r11), "=a"(ucs), "=d"(uss)
				 : : "memory", "cc");
		/* SYSCALL left SS = STAR[47:32] + 8, this GDT's kernel data
		 * (the #GP's frame below returns to 0x18) */
		GUEST_ASSERT_EQ(sr_read_ss(), SR_KDS);
		GUEST_ASSERT_EQ(ucs & 0xffff, SR_UCS);
		GUEST_ASSERT_EQ(uss & 0xffff, SR_UDS);
		GUEST_ASSERT_EQ(rcx, SR_USER_VA + sizeof(user_rt));
		/* RF and VM cleared, bit 1 set, the rest as R11 had it */
		GUEST_ASSERT_EQ(r11, (fl & ~0x30000ull) | 2);
		GUEST_ASSERT_EQ(read_cs(), 0x20);
		if (tsc) { /* as Linux's entry does (its random stack offset) */
			uint32_t lo, hi;
			__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
			tsc_sum += lo;
			continue;
		}
		/* SYSRETQ at CPL 3: #GP(0) */
		sr_seen = 0;
		rcx = SR_USER_VA + 0x100;
		r11 = 0x2;
		__asm__ volatile("mov %%rsp, sr_rsp(%%rip)\n\t"
				 "sysretq\n"
				 ".globl sr_resume\n"
				 "sr_resume:\n\t"
				 : "+c"(rcx), "+r"(r11) : : "rax", "rdx", "rsi", "rdi", "r8", "r9", "r10",
				   "memory", "cc");
		GUEST_ASSERT_EQ(sr_seen, 1);
		GUEST_ASSERT_EQ(sr_vec, 13);
		GUEST_ASSERT_EQ(sr_err, 0);
		GUEST_ASSERT_EQ(sr_ip, SR_USER_VA + 0x100);
		GUEST_ASSERT_EQ(sr_cs, SR_UCS);
		GUEST_ASSERT_EQ(read_cs(), 0x20);
	}
	__asm__ volatile("mov %0, %%ss" : : "r"(0x18u) : "memory");
	sysev_wrmsr(MSR_EFER, efer);
	exc_set_handler(13, NULL);
	sr_user_page(false);
	__asm__ volatile("lgdt %0" : : "m"(old) : "memory");
	if (tsc)
		GUEST_SYNC("round trips done", (uint32_t)tsc_sum);
}

static void test_sysret_user(void)
{
	sr_round_trips(64, false); /* 64: hot, translated */
	GUEST_DONE();
}
GUEST_TEST("sysret-user", test_sysret_user);

/* Not a check: a fixed load for measuring the host cost of a system call's
 * SYSRETQ/SYSCALL round trip with one RDTSC (valgrind --tool=callgrind
 * ringvm run ... test=sysret-load; docs/PERFORMANCE.md). */
static void test_sysret_load(void)
{
	sr_round_trips(100000, true);
	GUEST_DONE();
}
GUEST_TEST("sysret-load", test_sysret_load);

/* Not a check: a fixed load for measuring the host cost of STI at CPL 0
 * (100 000 rounds of CLI; STI; NOP with nothing pending: valgrind
 * --tool=callgrind ringvm run ... test=sti-load; docs/PERFORMANCE.md). */
static void test_sti_load(void)
{
	for (unsigned i = 0; i < 100000; i++)
		__asm__ volatile("cli\n\tsti\n\tnop" : : : "memory");
	cli();
	GUEST_DONE();
}
GUEST_TEST("sti-load", test_sti_load);

/* Prompt delivery (issue 9 item 2): an interrupt that became pending while
 * IF was 0 is taken as soon as IF=1 allows it, not some instructions later
 * (the soft engine took it at the end of its 20 000-instruction slice):
 * - STI: right after the one instruction in its shadow (SDM vol. 3, 6.8.3);
 * - IRETQ to IF=1, POPFQ setting IF: before the next instruction;
 * - SYSRETQ with R11.IF=1 (sysret-irq-prompt below): before the first
 *   instruction at CPL 3.
 * Each runs 64 rounds (hot: translated on the soft engine); the gate
 * records the interrupted RIP, which says how many of the INCs after the
 * instruction ran. */
#define SYSEV_SLED "inc %%ecx\n\tinc %%ecx\n\tinc %%ecx\n\tinc %%ecx\n\t" \
		   "inc %%ecx\n\tinc %%ecx\n\tinc %%ecx\n\tinc %%ecx\n\t"
extern const char prompt_sti_at[], prompt_iret_at[], prompt_popf_at[];

static void prompt_check(const char *at, uint32_t ecx, uint32_t want_ecx)
{
	cli();
	GUEST_ASSERT_EQ(sysev_count, 1);
	GUEST_ASSERT_EQ(sysev_ip, (uintptr_t)at);
	GUEST_ASSERT_EQ(ecx, want_ecx); /* the sled ran to its end after the handler */
}

static void test_sti_irq_prompt(void)
{
	for (unsigned round = 0; round < 64; round++) {
		uint32_t ecx = 0;
		sysev_pend();
		__asm__ volatile("sti\n\t"
				 "inc %%ecx\n" /* in the shadow */
				 ".globl prompt_sti_at\n"
				 "prompt_sti_at:\n\t" SYSEV_SLED
				 : "+c"(ecx) : : "memory", "cc");
		prompt_check(prompt_sti_at, ecx, 9);
	}
	GUEST_DONE();
}
GUEST_TEST("sti-irq-prompt", test_sti_irq_prompt);

static void test_iret_irq_prompt(void)
{
	for (unsigned round = 0; round < 64; round++) {
		uint32_t ecx = 0;
		uint64_t tmp;
		sysev_pend();
		__asm__ volatile("mov %%rsp, %1\n\t"
				 "pushq $0x18\n\t"
				 "pushq %1\n\t"
				 "pushfq\n\t"
				 "orq $0x200, (%%rsp)\n\t"
				 "pushq $0x20\n\t"
				 "lea prompt_iret_at(%%rip), %1\n\t"
				 "pushq %1\n\t"
				 "iretq\n"
				 ".globl prompt_iret_at\n"
				 "prompt_iret_at:\n\t" SYSEV_SLED
				 : "+c"(ecx), "=&r"(tmp) : : "memory", "cc");
		prompt_check(prompt_iret_at, ecx, 8);
	}
	GUEST_DONE();
}
GUEST_TEST("iret-irq-prompt", test_iret_irq_prompt);

static void test_popf_irq_prompt(void)
{
	for (unsigned round = 0; round < 64; round++) {
		uint32_t ecx = 0;
		sysev_pend();
		__asm__ volatile("pushfq\n\t"
				 "orq $0x200, (%%rsp)\n\t"
				 "popfq\n"
				 ".globl prompt_popf_at\n"
				 "prompt_popf_at:\n\t" SYSEV_SLED
				 : "+c"(ecx) : : "memory", "cc");
		prompt_check(prompt_popf_at, ecx, 8);
	}
	GUEST_DONE();
}
GUEST_TEST("popf-irq-prompt", test_popf_irq_prompt);

/* SYSRETQ to CPL 3 with R11.IF=1 and an interrupt pending: it is taken
 * before the first instruction at CPL 3 (from CS 0x3b, at RCX).  The
 * CPL 3 code lies on the guest's supervisor-only identity map, so an
 * instruction fetched there first would #PF instead (recorded, a
 * failure).  A GDT of the test's own: STAR[63:48] = 0x28, so SYSRET loads
 * SS 0x33 (a DPL 3 data segment) and CS 0x3b (DPL 3 64-bit code); a TSS
 * gives RSP0 for the delivery from CPL 3.  The gate (sysret_stub) and the
 * #PF handler go back to CPL 0 at prompt_sysret_resume. */
__asm__(".text\n"
	".globl sysret_stub\n"
	"sysret_stub:\n\t"
	"push %rax\n\t"
	"mov 8(%rsp), %rax\n\t"
	"mov %rax, sysev_ip(%rip)\n\t"
	"mov 16(%rsp), %rax\n\t"
	"mov %rax, sysret_cs(%rip)\n\t"
	"incl sysev_count(%rip)\n\t"
	"mov $0xfee000b0, %eax\n\t"
	"movl $0, (%rax)\n\t"
	"lea prompt_sysret_resume(%rip), %rax\n\t"
	"mov %rax, 8(%rsp)\n\t"
	"movq $0x20, 16(%rsp)\n\t"
	"andq $~0x200, 24(%rsp)\n\t"
	"mov cpl1_rsp(%rip), %rax\n\t"
	"mov %rax, 32(%rsp)\n\t"
	"movq $0x18, 40(%rsp)\n\t"
	"pop %rax\n\t"
	"iretq\n");
void sysret_stub(void);
volatile uint64_t sysret_cs;
static volatile uint64_t sysret_pf_seen, sysret_pf_ip;
extern const char prompt_sysret_at[], prompt_sysret_resume[];

static void sysev_sysret_pf(struct isr_frame *f)
{
	sysret_pf_seen++;
	sysret_pf_ip = f->ip;
	f->ip = (uintptr_t)prompt_sysret_resume;
	f->cs = 0x20;
	f->flags &= ~0x200ull;
	(&f->flags)[1] = cpl1_rsp;
	(&f->flags)[2] = 0x18;
}

static void test_sysret_irq_prompt(void)
{
	struct sysev_dtr old, gdt;
	cli();
	__asm__ volatile("sgdt %0" : "=m"(old));
	for (unsigned i = 0; i < 5; i++) /* null, unused, code32, data, code64 */
		cpl1_gdt[i] = ((volatile uint64_t *)old.base)[i];
	cpl1_gdt[5] = 0;                     /* 0x28: STAR[63:48] */
	cpl1_gdt[6] = 0x00cff2000000ffffull; /* 0x30: data, DPL 3 */
	cpl1_gdt[7] = 0x00affa000000ffffull; /* 0x38: 64-bit code, DPL 3 */
	gdt_set_tss64(&cpl1_gdt[8], cpl1_tss); /* 0x40: 64-bit TSS */
	uint64_t rsp0 = (uintptr_t)(cpl1_stack + sizeof(cpl1_stack));
	cpl1_tss[1] = (uint32_t)rsp0;
	cpl1_tss[2] = (uint32_t)(rsp0 >> 32);
	gdt.base = (uintptr_t)cpl1_gdt;
	gdt.limit = sizeof(cpl1_gdt) - 1;
	__asm__ volatile("lgdt %0; movw $0x40, %%ax; ltr %%ax" : : "m"(gdt) : "eax", "memory");
	uint64_t efer = rdmsr(MSR_EFER), star = rdmsr(MSR_STAR);
	sysev_wrmsr(MSR_EFER, efer | EFER_SCE);
	sysev_wrmsr(MSR_STAR, (uint64_t)0x28 << 48 | (uint64_t)0x20 << 32);
	exc_set_handler(14, sysev_sysret_pf);
	for (unsigned round = 0; round < 64; round++) {
		sysev_pend();
		idt_set_gate(SYSEV_VEC, (uintptr_t)sysret_stub, read_cs(), 0x8e);
		sysret_cs = 0;
		sysret_pf_seen = 0;
		__asm__ volatile("mov %%rsp, cpl1_rsp(%%rip)\n\t"
				 "lea prompt_sysret_at(%%rip), %%rcx\n\t"
				 "mov $0x202, %%r11d\n\t"
				 "sysretq\n"
				 ".globl prompt_sysret_at\n"
				 "prompt_sysret_at:\n\t"
				 "inc %%eax\n\t"
				 "ud2\n"
				 ".globl prompt_sysret_resume\n"
				 "prompt_sysret_resume:\n\t"
				 : : : "rax", "rcx", "r11", "memory", "cc");
		GUEST_ASSERT_EQ(sysret_pf_seen, 0);
		GUEST_ASSERT_EQ(sysev_count, 1);
		GUEST_ASSERT_EQ(sysev_ip, (uintptr_t)prompt_sysret_at);
		GUEST_ASSERT_EQ(sysret_cs, 0x3b);
	}
	exc_set_handler(14, NULL);
	sysev_wrmsr(MSR_STAR, star);
	sysev_wrmsr(MSR_EFER, efer);
	__asm__ volatile("lgdt %0" : : "m"(old) : "memory");
	GUEST_DONE();
}
GUEST_TEST("sysret-irq-prompt", test_sysret_irq_prompt);

/* SYSCALL and SYSRET run inline in translated code on the soft engine
 * (docs/soft-cpu.md, "SYSCALL and SYSRETQ"); these rounds are hot enough
 * to be translated and change, between rounds of the same instructions,
 * what the inline path takes from the CPU at translation time or sends to
 * the handler.  A GDT of their own (sf_enter): STAR[63:48] = 0x28 or 0x48
 * (SYSRET: SS 0x33/0x53, CS 0x3b/0x5b, or CS 0x2b/0x4b for SYSRETL), a
 * TSS for the way back from CPL 3.  SYSRET's target lies on the guest's
 * supervisor-only identity map, so the first fetch at CPL 3 takes a #PF
 * whose frame shows the state SYSRET loaded (RIP, CS, RFLAGS, SS); the
 * handler goes back to CPL 0 at sf_resume. */
static uint64_t sf_gdt[20] __attribute__((aligned(16)));
static uint32_t sf_tss[26] __attribute__((aligned(16)));
static uint8_t sf_stack[4096] __attribute__((aligned(16)));
volatile uint64_t sf_rsp, sf_resume; /* the CPL 0 RSP and RIP to go back to */
static volatile uint64_t sf_vec, sf_err, sf_ip, sf_cs, sf_fl, sf_ss, sf_seen, sf_dr6;

static void sf_trap(struct isr_frame *f)
{
	sf_seen++;
	sf_vec = f->vector;
	sf_err = f->error;
	sf_ip = f->ip;
	sf_cs = f->cs;
	sf_fl = f->flags;
	sf_ss = (&f->flags)[2];
	if (f->vector == 1) {
		uintptr_t v;
		__asm__ volatile("mov %%dr6, %0" : "=r"(v));
		sf_dr6 = v;
	}
	f->ip = sf_resume;
	f->cs = 0x20;
	f->flags = 2;
	(&f->flags)[1] = sf_rsp; /* RSP, then SS, after RFLAGS */
	(&f->flags)[2] = 0x18;
}

static void sf_enter(struct sysev_dtr *old)
{
	struct sysev_dtr gdt;
	cli();
	__asm__ volatile("sgdt %0" : "=m"(*old));
	for (unsigned i = 0; i < 5; i++) /* null, unused, code32, data, code64 */
		sf_gdt[i] = ((volatile uint64_t *)old->base)[i];
	/* 0x28-0x38 and 0x48-0x58: data DPL 0, data DPL 3, 64-bit code DPL 3
	 * (SYSRET loads them without reading the GDT: they are there for the
	 * #PF frame's way back and SYSCALL's SS); 0x40: 64-bit code DPL 0
	 * (SYSCALL with STAR[47:32] = 0x40) */
	for (unsigned k = 5; k <= 9; k += 4) {
		sf_gdt[k] = 0x00cf92000000ffffull;
		sf_gdt[k + 1] = 0x00cff2000000ffffull;
		sf_gdt[k + 2] = 0x00affa000000ffffull;
	}
	sf_gdt[8] = 0x00af9a000000ffffull;
	gdt_set_tss64(&sf_gdt[16], sf_tss); /* 0x80: 64-bit TSS */
	uint64_t rsp0 = (uintptr_t)(sf_stack + sizeof(sf_stack));
	sf_tss[1] = (uint32_t)rsp0;
	sf_tss[2] = (uint32_t)(rsp0 >> 32);
	gdt.base = (uintptr_t)sf_gdt;
	gdt.limit = sizeof(sf_gdt) - 1;
	__asm__ volatile("lgdt %0; movw $0x80, %%ax; ltr %%ax" : : "m"(gdt) : "eax", "memory");
	exc_set_handler(1, sf_trap);
	exc_set_handler(14, sf_trap);
}

static void sf_leave(const struct sysev_dtr *old)
{
	exc_set_handler(1, NULL);
	exc_set_handler(14, NULL);
	__asm__ volatile("lgdt %0" : : "m"(*old) : "memory");
}

/* SYSRETQ and SYSRETL, rounds alternating STAR[63:48] (0x28, 0x48) and
 * the flags in R11 (arithmetic flags, DF, AC, IOPL, NT, IF clear, plus RF
 * and VM, which SYSRET clears): RIP = RCX (SYSRETL: ECX, the upper half
 * of RCX set here), CS = STAR[63:48] + 16 | 3 (SYSRETL: STAR[63:48] | 3),
 * SS = STAR[63:48] + 8 | 3, RFLAGS = R11 & 0x3c7fd7 | 2, CPL 3 (the #PF's
 * error code: a user-mode access to a present supervisor page).  SYSRETQ
 * and SYSRETL sit in two hot blocks side by side: SYSRETL, which the
 * translator leaves to its handler, must keep its own CS and 32-bit RIP
 * (checked to fail when the inline path takes it). */
/* SYSRET's targets: supervisor code, never run at CPL 3 (the fetch faults) */
__asm__(".text\n.globl sf_ret64\nsf_ret64: ud2\n.globl sf_ret32\nsf_ret32: ud2\n");
extern const char sf_ret64[], sf_ret32[];
static void test_sysret_state(void)
{
	struct sysev_dtr old;
	sf_enter(&old);
	uint64_t efer = rdmsr(MSR_EFER), star = rdmsr(MSR_STAR);
	sysev_wrmsr(MSR_EFER, efer | EFER_SCE);
	for (unsigned round = 0; round < 96; round++) {
		uint64_t sel = round & 1 ? 0x48 : 0x28;
		sysev_wrmsr(MSR_STAR, sel << 48 | (uint64_t)0x20 << 32);
		uint64_t fl = (round & 2 ? 0x308d5ull : 0x47cc4ull) ^ (round & 4 ? 0x4000 : 0);
		bool compat = round % 3 == 2;
		uint64_t hi = round % 6 == 2 ? 0xabcd000000000000ull : 0; /* SYSRETL ignores it */
		uint64_t rcx = compat ? hi | (uintptr_t)sf_ret32 : (uintptr_t)sf_ret64;
		sf_seen = 0;
		register uint64_t r11 __asm__("r11") = fl;
		__asm__ volatile("lea 2f(%%rip), %%rax\n\t"
				 "mov %%rax, sf_resume(%%rip)\n\t"
				 "mov %%rsp, sf_rsp(%%rip)\n\t"
				 "test %[c], %[c]\n\t"
				 "jnz 1f\n\t"
				 "sysretq\n"
				 "1: sysretl\n"
				 "2:\n\t"
				 : "+c"(rcx), "+r"(r11) : [c] "r"((uint64_t)compat)
				 : "rax", "rdx", "rsi", "rdi", "r8", "r9", "r10", "memory", "cc");
		GUEST_ASSERT_EQ(sf_seen, 1);
		GUEST_ASSERT_EQ(sf_vec, 14);
		GUEST_ASSERT_EQ(sf_err & 7, 5); /* P, U/S, a read */
		GUEST_ASSERT_EQ(sf_ip, compat ? (uint32_t)(uintptr_t)sf_ret32 : (uintptr_t)sf_ret64);
		GUEST_ASSERT_EQ(sf_cs, compat ? (sel | 3) : ((sel + 16) | 3));
		GUEST_ASSERT_EQ(sf_ss, (sel + 8) | 3);
		GUEST_ASSERT_EQ(sf_fl & ~0x10000ull, (fl & 0x3c7fd7) | 2); /* RF: a fault's */
		GUEST_ASSERT_EQ(read_cs(), 0x20);
	}
	sysev_wrmsr(MSR_STAR, star);
	sysev_wrmsr(MSR_EFER, efer);
	sf_leave(&old);
	GUEST_DONE();
}
GUEST_TEST("sysret-state", test_sysret_state);

/* SYSRETQ with TF in R11 (SDM vol. 3, 17.3.1.4: the single-step trap comes
 * after the first instruction that starts with TF set): the first CPL 3
 * instruction (a NOP on a user page) runs, then #DB with DR6.BS at the
 * next one, CS the user one.  Rounds without TF in between keep the block
 * hot and take the inline path; a TF round must not lose the trap. */
static void test_sysret_tf(void)
{
	struct sysev_dtr old;
	sf_enter(&old);
	volatile uint8_t *u = (volatile uint8_t *)(SR_USER_VA + 0x300);
	u[0] = 0x90; /* nop */
	u[1] = 0x90;
	u[2] = 0x0f; /* ud2: a round without TF faults here (#UD, vector 6) */
	u[3] = 0x0b;
	exc_set_handler(6, sf_trap);
	sr_user_page(true);
	uint64_t efer = rdmsr(MSR_EFER), star = rdmsr(MSR_STAR);
	sysev_wrmsr(MSR_EFER, efer | EFER_SCE);
	sysev_wrmsr(MSR_STAR, (uint64_t)0x28 << 48 | (uint64_t)0x20 << 32);
	for (unsigned round = 0; round < 80; round++) {
		bool tf = round >= 40 && (round & 1);
		__asm__ volatile("mov %0, %%dr6" : : "r"((uintptr_t)0xffff0ff0) : "memory");
		sf_seen = 0;
		uint64_t rcx = SR_USER_VA + 0x300;
		register uint64_t r11 __asm__("r11") = tf ? 0x102 : 0x2;
		__asm__ volatile("lea 1f(%%rip), %%rax\n\t"
				 "mov %%rax, sf_resume(%%rip)\n\t"
				 "mov %%rsp, sf_rsp(%%rip)\n\t"
				 "sysretq\n"
				 "1:\n\t"
				 : "+c"(rcx), "+r"(r11) : : "rax", "rdx", "rsi", "rdi", "r8", "r9", "r10",
				   "memory", "cc");
		GUEST_ASSERT_EQ(sf_seen, 1);
		GUEST_ASSERT_EQ(sf_cs, 0x3b);
		if (tf) {
			GUEST_ASSERT_EQ(sf_vec, 1);
			GUEST_ASSERT_EQ(sf_ip, SR_USER_VA + 0x301);
			GUEST_ASSERT(sf_dr6 & (1u << 14)); /* BS */
		} else {
			GUEST_ASSERT_EQ(sf_vec, 6);
			GUEST_ASSERT_EQ(sf_ip, SR_USER_VA + 0x302);
		}
	}
	sysev_wrmsr(MSR_STAR, star);
	sysev_wrmsr(MSR_EFER, efer);
	exc_set_handler(6, NULL);
	sr_user_page(false);
	sf_leave(&old);
	GUEST_DONE();
}
GUEST_TEST("sysret-tf", test_sysret_tf);

/* SYSCALL at CPL 0, rounds alternating IA32_FMASK (DF; DF AC; the
 * arithmetic flags; IF DF; none), STAR[47:32] (0x20 or 0x40: SS 0x28 or
 * 0x48) and the arithmetic flags, set by a CMP right before it (the flags
 * in the host when a translated SYSCALL starts): R11 = RFLAGS before,
 * RFLAGS at LSTAR = R11 & ~FMASK, RCX the next RIP, CS and SS from
 * STAR. */
extern const char sf_sc_after[], sf_sc_lstar[];
static void test_syscall_fmask(void)
{
	struct sysev_dtr old;
	sf_enter(&old);
	static const uint64_t masks[5] = { 0x400, 0x40400, 0x8d5, 0x600, 0 };
	uint64_t efer = rdmsr(MSR_EFER), star = rdmsr(MSR_STAR), fmask = rdmsr(MSR_FMASK);
	sysev_wrmsr(MSR_EFER, efer | EFER_SCE);
	sysev_wrmsr(MSR_LSTAR, (uintptr_t)sf_sc_lstar);
	for (unsigned round = 0; round < 100; round++) {
		uint64_t m = masks[round % 5];
		uint64_t cs = round & 2 ? 0x40 : 0x20;
		sysev_wrmsr(MSR_FMASK, m);
		sysev_wrmsr(MSR_STAR, cs << 32);
		uint64_t a = round * 0x9e3779b97f4a7c15ull, b = round & 8 ? a : ~a >> (round & 7);
		uint64_t base = round & 4 ? 0x40402 : 0x402; /* DF (and AC) before the CMP */
		uint64_t before, got_rcx, got_r11, got_fl;
		uint16_t got_cs, got_ss;
		__asm__ volatile("push %[base]\n\t"
				 "popfq\n\t"
				 "cmp %[b], %[a]\n\t"
				 "pushfq\n\t"
				 "pop %[before]\n\t"
				 "cmp %[b], %[a]\n\t"
				 "syscall\n"
				 ".globl sf_sc_after\n"
				 "sf_sc_after: ud2\n"
				 ".globl sf_sc_lstar\n"
				 "sf_sc_lstar:\n\t"
				 "pushfq\n\t"
				 "pop %[fl]\n\t"
				 "mov %%cs, %k[cs]\n\t"
				 "mov %%ss, %k[ss]\n\t"
				 "mov %%rcx, %[rcx]\n\t"
				 "mov %%r11, %[r11]\n\t"
				 "push %%rax\n\t"
				 "mov $0x18, %%eax\n\t"
				 "mov %%eax, %%ss\n\t"
				 "push $0x20\n\t" /* CS back to 0x20 */
				 "lea 1f(%%rip), %%rax\n\t"
				 "push %%rax\n\t"
				 "lretq\n"
				 "1:\n\t"
				 "pop %%rax\n\t"
				 "push $2\n\t"
				 "popfq\n\t"
				 : [before] "=&r"(before), [rcx] "=&r"(got_rcx), [r11] "=&r"(got_r11),
				   [fl] "=&r"(got_fl), [cs] "=&r"(got_cs), [ss] "=&r"(got_ss)
				 : [base] "r"(base), [a] "r"(a), [b] "r"(b)
				 : "rcx", "r11", "memory", "cc");
		GUEST_ASSERT_EQ(got_rcx, (uintptr_t)sf_sc_after);
		GUEST_ASSERT_EQ(got_r11, before);
		GUEST_ASSERT_EQ(got_fl, (before & ~m) | 2);
		GUEST_ASSERT_EQ(got_cs, cs);
		GUEST_ASSERT_EQ(got_ss, cs + 8);
	}
	sysev_wrmsr(MSR_FMASK, fmask);
	sysev_wrmsr(MSR_STAR, star);
	sysev_wrmsr(MSR_EFER, efer);
	sf_leave(&old);
	GUEST_DONE();
}
GUEST_TEST("syscall-fmask", test_syscall_fmask);

/* User code after SYSRETQ must not use the kernel's data access rights:
 * the kernel reads a supervisor page (its TLB entry then holds
 * supervisor rights), SYSRETQ goes to user code that reads the same
 * page: a #PF (present, user, read) at the user instruction, every round
 * (64: hot, translated).  On the soft engine's translator the rights class
 * of translated accesses must follow the CPL that the inline SYSRETQ (and
 * SYSCALL) set; a stale supervisor class let the user read go through.
 * Were the read to succeed, the user code's SYSCALL comes back to the same
 * place with no fault counted. */
static volatile uint64_t sf_secret = 0x5ec7e7;
static void test_sysret_rights(void)
{
	struct sysev_dtr old;
	sf_enter(&old);
	uint64_t efer = rdmsr(MSR_EFER), star = rdmsr(MSR_STAR), lstar = rdmsr(MSR_LSTAR);
	static const uint8_t user_rd[] = { 0x48, 0x8b, 0x07, 0x0f, 0x05 }; /* mov (%rdi),%rax; syscall */
	volatile uint8_t *u = (volatile uint8_t *)(SR_USER_VA + 0x200);
	for (unsigned i = 0; i < sizeof(user_rd); i++)
		u[i] = user_rd[i];
	sr_user_page(true);
	extern const char sf_rights_back[];
	sysev_wrmsr(MSR_EFER, efer | EFER_SCE);
	sysev_wrmsr(MSR_STAR, (uint64_t)0x28 << 48 | (uint64_t)0x40 << 32);
	sysev_wrmsr(MSR_LSTAR, (uintptr_t)sf_rights_back);
	sf_resume = (uintptr_t)sf_rights_back;
	for (unsigned round = 0; round < 64; round++) {
		sf_seen = 0;
		uint64_t rcx = SR_USER_VA + 0x200, rdi = (uintptr_t)&sf_secret;
		register uint64_t r11 __asm__("r11") = 2;
		__asm__ volatile("mov (%%rdi), %%rax\n\t" /* supervisor rights into the TLB */
				 "mov %%rsp, sf_rsp(%%rip)\n\t"
				 "sysretq\n"
				 ".globl sf_rights_back\n"
				 "sf_rights_back:\n\t"
				 : "+c"(rcx), "+r"(r11), "+D"(rdi)
				 : : "rax", "rdx", "rsi", "r8", "r9", "r10", "memory", "cc");
		__asm__ volatile("mov %0, %%ss" : : "r"(0x18u) : "memory");
		GUEST_ASSERT_EQ(sf_seen, 1);
		GUEST_ASSERT_EQ(sf_vec, 14);
		GUEST_ASSERT_EQ(sf_err, 5); /* present, user, read */
		GUEST_ASSERT_EQ(sf_ip, SR_USER_VA + 0x200);
	}
	sysev_wrmsr(MSR_LSTAR, lstar);
	sysev_wrmsr(MSR_STAR, star);
	sysev_wrmsr(MSR_EFER, efer);
	sr_user_page(false);
	sf_leave(&old);
	GUEST_DONE();
}
GUEST_TEST("sysret-rights", test_sysret_rights);

#endif
