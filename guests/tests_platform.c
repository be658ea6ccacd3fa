/* Platform corners: unclaimed MMIO, CLFLUSH and friends on device memory,
 * the LAPIC's global disable, x2APIC reserved bits and mode transitions, a
 * LAPIC relocated onto RAM, and images loaded below 1 MiB.
 * tests/guest/cases_platform.py says what each must produce. */
#include "guest.h"

#define UNCLAIMED ((uintptr_t)0xFD000000u) /* in the MMIO hole, claimed by no one */
#define TESTDEV_MMIO ((uintptr_t)TESTDEV_MMIO_BASE)
#define APIC_DEFAULT 0xFEE00000u
#define MSR_APIC_BASE 0x1b
#define APICBASE_EXTD 0x400u
#define APICBASE_EN 0x800u
#define APIC_REG_ID 0x20
#define APIC_REG_VER 0x30
#define APIC_REG_TPR 0x80
#define APIC_REG_SVR 0xf0

struct cpuid_regs {
	uint32_t eax, ebx, ecx, edx;
};

static struct cpuid_regs pf_cpuid(uint32_t leaf, uint32_t sub)
{
	uint32_t r[4];
	cpuid(leaf, sub, r);
	return (struct cpuid_regs){ r[0], r[1], r[2], r[3] };
}

static void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32))
			 : "memory");
}

/* ---- Faults a test expects -------------------------------------------- */
/* The instruction that may fault is followed by label 1; the handler
 * resumes there and records what happened. */
static volatile uintptr_t resume_ip;
static volatile unsigned fault_vector;
static volatile uintptr_t fault_error;

static void on_expected_fault(struct isr_frame *f)
{
	if (!resume_ip)
		GUEST_FAIL("unexpected exception (vector, error code, ip)", f->vector, f->error,
			   f->ip);
	fault_vector = (unsigned)f->vector;
	fault_error = f->error;
	f->ip = resume_ip;
	resume_ip = 0;
}

static void expect_faults(void)
{
	exc_set_handler(6, on_expected_fault);   /* #UD */
	exc_set_handler(13, on_expected_fault);  /* #GP */
	exc_set_handler(14, on_expected_fault);  /* #PF */
}

#define NO_FAULT 0xffu

/* WRMSR that may #GP: returns the vector taken, or NO_FAULT. */
static unsigned wrmsr_safe(uint32_t msr, uint64_t v)
{
	uintptr_t tmp;
	fault_vector = NO_FAULT;
	__asm__ volatile("mov $1f, %0\n\t"
			 "mov %0, %1\n\t"
			 "wrmsr\n"
			 "1:"
			 : "=&r"(tmp), "=m"(resume_ip)
			 : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32))
			 : "memory");
	resume_ip = 0;
	return fault_vector;
}

static unsigned rdmsr_safe(uint32_t msr, uint64_t *v)
{
	uintptr_t tmp;
	uint32_t lo = 0, hi = 0;
	fault_vector = NO_FAULT;
	__asm__ volatile("mov $1f, %0\n\t"
			 "mov %0, %1\n\t"
			 "rdmsr\n"
			 "1:"
			 : "=&r"(tmp), "=m"(resume_ip), "+a"(lo), "+d"(hi)
			 : "c"(msr)
			 : "memory");
	resume_ip = 0;
	*v = lo | (uint64_t)hi << 32;
	return fault_vector;
}

/* ---- Unclaimed MMIO ---------------------------------------------------- */
/* mmio-unclaimed: absent devices read all-ones and ignore writes; the VM
 * goes on.  4 reads and 2 writes at 4 addresses, then 64 reads at 64 more
 * addresses: only the first 16 addresses are logged. */
static void test_mmio_unclaimed(void)
{
	GUEST_ASSERT_EQ(mmio_read8(UNCLAIMED), 0xff);
	GUEST_ASSERT_EQ(mmio_read16(UNCLAIMED + 2), 0xffff);
	GUEST_ASSERT_EQ(mmio_read32(UNCLAIMED + 4), 0xffffffffu);
	mmio_write32(UNCLAIMED, 0x12345678);
	mmio_write8(UNCLAIMED + 0x100, 0);
	GUEST_ASSERT_EQ(mmio_read32(UNCLAIMED), 0xffffffffu); /* the write went nowhere */
	uint32_t all = 0xffffffffu;
	for (unsigned i = 0; i < 64; i++)
		all &= mmio_read32(UNCLAIMED + 0x1000 + 8 * i);
	GUEST_ASSERT_EQ(all, 0xffffffffu);
	/* a claimed window next to it still works */
	GUEST_ASSERT_EQ(mmio_read32(TESTDEV_MMIO), 0x474e4952);
	GUEST_SYNC("unclaimed mmio reads all-ones", all);
	GUEST_DONE();
}
GUEST_TEST("mmio-unclaimed", test_mmio_unclaimed);

/* ---- CLFLUSH, CLFLUSHOPT, CLWB ------------------------------------------ */
static volatile uint32_t flush_me = 0x5a5a;

static void flush_all_kinds(uintptr_t a, bool opt, bool wb)
{
	__asm__ volatile("clflush (%0)" : : "r"(a) : "memory");
	if (opt)
		__asm__ volatile("clflushopt (%0)" : : "r"(a) : "memory");
	if (wb)
		__asm__ volatile("clwb (%0)" : : "r"(a) : "memory");
}

#ifdef __x86_64__
/* CLFLUSH that may fault: returns the vector, or NO_FAULT. */
static unsigned clflush_safe(uintptr_t a)
{
	uintptr_t tmp;
	fault_vector = NO_FAULT;
	__asm__ volatile("mov $1f, %0\n\t"
			 "mov %0, %1\n\t"
			 "clflush (%2)\n"
			 "1:"
			 : "=&r"(tmp), "=m"(resume_ip)
			 : "r"(a)
			 : "memory");
	resume_ip = 0;
	return fault_vector;
}

#endif

/* clflush (run with --strict-mmio): flushing device memory, claimed or not,
 * never reads it; the address is checked like a byte load. */
static void test_clflush(void)
{
	GUEST_ASSERT(pf_cpuid(1, 0).edx & (1u << 19));  /* CLFSH */
	flush_all_kinds((uintptr_t)&flush_me, false, false);
	GUEST_ASSERT_EQ(flush_me, 0x5a5a);
	flush_all_kinds(TESTDEV_MMIO + 8, false, false);
	flush_all_kinds(UNCLAIMED, false, false);    /* a read here would stop the VM */
	flush_all_kinds(UNCLAIMED + 0x40, false, false);
#ifdef __x86_64__
	expect_faults();
	/* non-canonical: #GP(0) */
	GUEST_ASSERT_EQ(clflush_safe(0x8000000000000000ull), 13);
	GUEST_ASSERT_EQ(fault_error, 0);
	/* above the guest's 4 GiB identity map: #PF, not present, read, CPL 0 */
	GUEST_ASSERT_EQ(clflush_safe(0x140000040ull), 14);
	GUEST_ASSERT_EQ(fault_error, 0);
	GUEST_ASSERT_EQ(read_cr2(), 0x140000040ull);
	GUEST_ASSERT_EQ(clflush_safe((uintptr_t)&flush_me), NO_FAULT);
#endif
	GUEST_SYNC("clflush ok", 1);
	GUEST_DONE();
}
GUEST_TEST("clflush", test_clflush);

/* clflush-opt (--strict-mmio): CLFLUSHOPT and CLWB, where CPUID.7:EBX
 * offers them (bits 23, 24), the same way. */
static void test_clflush_opt(void)
{
	struct cpuid_regs l7 = pf_cpuid(7, 0);
	bool opt = l7.ebx & (1u << 23), wb = l7.ebx & (1u << 24);
	GUEST_SYNC("clflushopt, clwb", (opt ? 2 : 0) | (wb ? 1 : 0));
	flush_all_kinds((uintptr_t)&flush_me, opt, wb);
	GUEST_ASSERT_EQ(flush_me, 0x5a5a);
	flush_all_kinds(TESTDEV_MMIO + 8, opt, wb);
	flush_all_kinds(UNCLAIMED, opt, wb);
	GUEST_SYNC("clflush ok", 1);
	GUEST_DONE();
}
GUEST_TEST("clflush-opt", test_clflush_opt);

/* ---- LAPIC -------------------------------------------------------------- */
static uint32_t apic_rd(uintptr_t base, unsigned reg) { return mmio_read32(base + reg); }
static void apic_wr(uintptr_t base, unsigned reg, uint32_t v) { mmio_write32(base + reg, v); }

/* apic-disable: IA32_APIC_BASE[11] clear makes a CPU without an APIC
 * (SDM vol. 3, 10.4.3): CPUID.1:EDX.APIC reads 0 and the xAPIC page is no
 * longer there (reads all-ones: nothing else claims it).  Setting it again
 * gives an xAPIC-mode APIC at the same base. */
static void test_apic_disable(void)
{
	uint64_t base = rdmsr(MSR_APIC_BASE);
	uintptr_t page = (uintptr_t)(base & 0xfffff000u);
	GUEST_ASSERT_EQ(page, APIC_DEFAULT);
	GUEST_ASSERT_EQ(base & (APICBASE_EN | APICBASE_EXTD), APICBASE_EN);
	GUEST_ASSERT(pf_cpuid(1, 0).edx & (1u << 9));
	GUEST_ASSERT_EQ(apic_rd(page, APIC_REG_VER) & 0xff, 0x14);
	apic_wr(page, APIC_REG_SVR, 0x1ff);
	apic_wr(page, APIC_REG_TPR, 0x20);
	GUEST_ASSERT_EQ(apic_rd(page, APIC_REG_TPR), 0x20);

	wrmsr(MSR_APIC_BASE, base & ~(uint64_t)APICBASE_EN);
	GUEST_ASSERT_EQ(rdmsr(MSR_APIC_BASE), base & ~(uint64_t)APICBASE_EN);
	GUEST_ASSERT_EQ(pf_cpuid(1, 0).edx & (1u << 9), 0);
	GUEST_ASSERT_EQ(apic_rd(page, APIC_REG_VER), 0xffffffffu);
	apic_wr(page, APIC_REG_TPR, 0x30);          /* goes nowhere */

	wrmsr(MSR_APIC_BASE, base);
	GUEST_ASSERT_EQ(rdmsr(MSR_APIC_BASE), base);
	GUEST_ASSERT(pf_cpuid(1, 0).edx & (1u << 9));
	GUEST_ASSERT_EQ(apic_rd(page, APIC_REG_VER) & 0xff, 0x14);
	/* SDM: the state "may" be lost; the soft engine returns to power-up
	 * state (cases_platform.py checks these values there). */
	GUEST_SYNC("svr after re-enable", apic_rd(page, APIC_REG_SVR));
	GUEST_SYNC("tpr after re-enable", apic_rd(page, APIC_REG_TPR));
	GUEST_DONE();
}
GUEST_TEST("apic-disable", test_apic_disable);

static volatile unsigned self_ipis;

static void on_self_ipi(unsigned irq)
{
	self_ipis++;
	wrmsr(0x80b, 0);                             /* x2APIC EOI */
}

/* x2apic: reserved-bit #GP on x2APIC MSR writes (SDM vol. 3, 10.12.1.3),
 * read-only/write-only/reserved registers, the SELF IPI, and the
 * IA32_APIC_BASE transitions of 10.12.5. */
static void test_x2apic(void)
{
	GUEST_ASSERT(pf_cpuid(1, 0).ecx & (1u << 21));  /* x2APIC */
	expect_faults();
	pic_init(0xff, 0xff);
	uint64_t base = rdmsr(MSR_APIC_BASE), v = 0;
	GUEST_ASSERT_EQ(rdmsr_safe(0x802, &v), 13);  /* not in x2APIC mode yet */
	GUEST_ASSERT_EQ(wrmsr_safe(MSR_APIC_BASE, base | APICBASE_EXTD), NO_FAULT);
	GUEST_ASSERT_EQ(rdmsr_safe(0x802, &v), NO_FAULT);
	GUEST_ASSERT_EQ(v, 0);                       /* vCPU 0's x2APIC ID */
	GUEST_ASSERT_EQ(rdmsr_safe(0x803, &v), NO_FAULT);
	GUEST_ASSERT_EQ(v & 0xff, 0x14);
	GUEST_ASSERT_EQ(apic_rd(APIC_DEFAULT, APIC_REG_VER), 0xffffffffu); /* no MMIO */
	/* reserved bits */
	GUEST_ASSERT_EQ(wrmsr_safe(0x83f, 0x100 | 0x2f), 13);   /* SELF IPI */
	GUEST_ASSERT_EQ(wrmsr_safe(0x830, 0x2000 | 0x2f), 13);  /* ICR bit 13 */
	GUEST_ASSERT_EQ(wrmsr_safe(0x830, 0x100000 | 0x2f), 13);/* ICR bit 20 */
	GUEST_ASSERT_EQ(wrmsr_safe(0x80b, 1), 13);              /* EOI non-zero */
	GUEST_ASSERT_EQ(wrmsr_safe(0x808, 0x100), 13);          /* TPR */
	GUEST_ASSERT_EQ(wrmsr_safe(0x80f, 0x1000 | 0x1ff), 13); /* SVR bit 12 */
	GUEST_ASSERT_EQ(wrmsr_safe(0x808, 1ull << 32), 13);     /* 32-bit register */
	/* read-only, write-only, reserved */
	GUEST_ASSERT_EQ(wrmsr_safe(0x802, 0), 13);
	GUEST_ASSERT_EQ(wrmsr_safe(0x803, 0), 13);
	GUEST_ASSERT_EQ(wrmsr_safe(0x80d, 0), 13);
	GUEST_ASSERT_EQ(rdmsr_safe(0x80b, &v), 13);
	GUEST_ASSERT_EQ(rdmsr_safe(0x83f, &v), 13);
	GUEST_ASSERT_EQ(rdmsr_safe(0x801, &v), 13);
	GUEST_ASSERT_EQ(wrmsr_safe(0x801, 0), 13);
	GUEST_ASSERT_EQ(rdmsr_safe(0x840, &v), 13);
	/* valid writes */
	GUEST_ASSERT_EQ(wrmsr_safe(0x80f, 0x1ff), NO_FAULT);
	GUEST_ASSERT_EQ(wrmsr_safe(0x808, 0x10), NO_FAULT);
	GUEST_ASSERT_EQ(rdmsr(0x808), 0x10);
	GUEST_ASSERT_EQ(wrmsr_safe(0x808, 0), NO_FAULT);
	/* the refused SELF IPI and ICR writes sent nothing; a valid one does */
	irq_set_handler(15, on_self_ipi);            /* vector 0x2f */
	sti();
	for (unsigned i = 0; i < 100; i++)
		cpu_relax();
	GUEST_ASSERT_EQ(self_ipis, 0);
	GUEST_ASSERT_EQ(wrmsr_safe(0x83f, 0x2f), NO_FAULT);
	for (unsigned i = 0; i < 100 && !self_ipis; i++)
		cpu_relax();
	cli();
	GUEST_ASSERT_EQ(self_ipis, 1);
	/* transitions */
	GUEST_ASSERT_EQ(wrmsr_safe(MSR_APIC_BASE, base), 13);   /* x2APIC -> xAPIC */
	GUEST_ASSERT_EQ(wrmsr_safe(MSR_APIC_BASE, (base & ~(uint64_t)APICBASE_EN) |
				   APICBASE_EXTD), 13);            /* invalid state */
	GUEST_ASSERT_EQ(wrmsr_safe(MSR_APIC_BASE, base & ~(uint64_t)APICBASE_EN), NO_FAULT);
	GUEST_ASSERT_EQ(wrmsr_safe(MSR_APIC_BASE, base | APICBASE_EXTD), 13); /* disabled -> x2 */
	GUEST_ASSERT_EQ(wrmsr_safe(MSR_APIC_BASE, base), NO_FAULT);
	GUEST_ASSERT_EQ(rdmsr(MSR_APIC_BASE), base);
	GUEST_ASSERT_EQ(apic_rd(APIC_DEFAULT, APIC_REG_VER) & 0xff, 0x14);
	GUEST_ASSERT_EQ(apic_rd(APIC_DEFAULT, APIC_REG_ID), 0); /* xAPIC format: ID in 31:24 */
	GUEST_SYNC("x2apic ok", self_ipis);
	GUEST_DONE();
}
GUEST_TEST("x2apic", test_x2apic);

/* apic-relocate: the xAPIC page moved onto RAM is the APIC's for this CPU
 * (SDM vol. 3, 10.4.5); RAM below is untouched and comes back when the
 * page moves away. */
#define RELOC 0x00200000u
static void test_apic_relocate(void)
{
	uint64_t base = rdmsr(MSR_APIC_BASE);
	mmio_write32(RELOC + APIC_REG_VER, 0xdeadbeef);
	mmio_write32(RELOC + APIC_REG_TPR, 0x11111111);
	wrmsr(MSR_APIC_BASE, (base & 0xfffu) | RELOC);
	GUEST_ASSERT_EQ(rdmsr(MSR_APIC_BASE), (base & 0xfffu) | RELOC);
	GUEST_ASSERT_EQ(apic_rd(RELOC, APIC_REG_VER) & 0xff, 0x14);
	GUEST_ASSERT_EQ(apic_rd(RELOC, APIC_REG_TPR), 0);
	apic_wr(RELOC, APIC_REG_TPR, 0x30);
	GUEST_ASSERT_EQ(apic_rd(RELOC, APIC_REG_TPR), 0x30);
	GUEST_ASSERT_EQ(apic_rd(APIC_DEFAULT, APIC_REG_VER), 0xffffffffu); /* moved away */
	wrmsr(MSR_APIC_BASE, base);
	GUEST_ASSERT_EQ(mmio_read32(RELOC + APIC_REG_VER), 0xdeadbeef);
	GUEST_ASSERT_EQ(mmio_read32(RELOC + APIC_REG_TPR), 0x11111111);
	GUEST_ASSERT_EQ(apic_rd(APIC_DEFAULT, APIC_REG_TPR), 0x30);
	GUEST_SYNC("apic relocated and back", 1);
	GUEST_DONE();
}
GUEST_TEST("apic-relocate", test_apic_relocate);

/* ---- Loading below 1 MiB ------------------------------------------------ */
extern char __image_start[], __bss_end[];

/* lowload: where the image runs (the -low images link at 0x8000); the
 * multiboot info ringvm wrote is intact (the command line got us here). */
static void test_lowload(void)
{
	GUEST_SYNC("image at", (uintptr_t)__image_start);
	GUEST_SYNC("image end", (uintptr_t)__bss_end);
	GUEST_ASSERT((uintptr_t)__bss_end <= 0x20000); /* below the command line */
	GUEST_DONE();
}
GUEST_TEST("lowload", test_lowload);

/* ---- A relocated LAPIC is the relocating vCPU's only -------------------- */
/* apic-relocate-smp (--cpus 2): the BSP moves its xAPIC page onto RAM at
 * 0x90000 and starts the AP (INIT, SIPI) through it; the AP, in real mode,
 * reads the same address and must see the RAM (its own LAPIC stays at
 * 0xfee00000).  The AP's code is copied to 0x8000 (SIPI vector 8), and it
 * reports at 0x8f00 (flag) and 0x8f04 (what it read). */
#define TRAMP 0x8000u
#define TRAMP_FLAG 0x8f00u
#define TRAMP_SEEN 0x8f04u
#define RELOC_LOW 0x90000u

extern const uint8_t ap_tramp_start[], ap_tramp_end[];
__asm__(".pushsection .rodata\n"
	".globl ap_tramp_start, ap_tramp_end\n"
	"ap_tramp_start:\n"
	".code16\n"
	"cli\n"
	"xorw %ax, %ax\n"
	"movw %ax, %ds\n"
	"movw $0x9000, %ax\n"
	"movw %ax, %es\n"
	"movl %es:0x30, %eax\n"          /* 0x90030: RAM for this vCPU */
	"movl %eax, 0x8f04\n"
	"movl $1, 0x8f00\n"
	"1: hlt\n"
	"jmp 1b\n"
#ifdef __x86_64__
	".code64\n"
#else
	".code32\n"
#endif
	"ap_tramp_end:\n"
	".popsection\n");

static void test_apic_relocate_smp(void)
{
	volatile uint32_t *flag = (volatile uint32_t *)(uintptr_t)TRAMP_FLAG;
	volatile uint32_t *seen = (volatile uint32_t *)(uintptr_t)TRAMP_SEEN;
	memcpy((void *)(uintptr_t)TRAMP, ap_tramp_start, (size_t)(ap_tramp_end - ap_tramp_start));
	*flag = 0;
	*seen = 0;
	mmio_write32(RELOC_LOW + APIC_REG_VER, 0xdeadbeef);
	uint64_t base = rdmsr(MSR_APIC_BASE);
	wrmsr(MSR_APIC_BASE, (base & 0xfffu) | RELOC_LOW);
	GUEST_ASSERT_EQ(apic_rd(RELOC_LOW, APIC_REG_VER) & 0xff, 0x14);
	apic_wr(RELOC_LOW, APIC_REG_SVR, 0x1ff);
	/* INIT (level, assert), INIT de-assert, SIPI vector 8, to APIC ID 1 */
	apic_wr(RELOC_LOW, 0x310, 1u << 24);
	apic_wr(RELOC_LOW, 0x300, 0xc500);
	apic_wr(RELOC_LOW, 0x310, 1u << 24);
	apic_wr(RELOC_LOW, 0x300, 0x8500);
	apic_wr(RELOC_LOW, 0x310, 1u << 24);
	apic_wr(RELOC_LOW, 0x300, 0x4600 | (TRAMP >> 12));
	for (unsigned i = 0; i < 50000000u && !*flag; i++)
		cpu_relax();
	GUEST_ASSERT_EQ(*flag, 1);
	GUEST_ASSERT_EQ(*seen, 0xdeadbeef);     /* the AP saw RAM, not the BSP's APIC */
	GUEST_ASSERT_EQ(apic_rd(RELOC_LOW, APIC_REG_VER) & 0xff, 0x14); /* the BSP still its APIC */
	wrmsr(MSR_APIC_BASE, base);
	GUEST_ASSERT_EQ(mmio_read32(RELOC_LOW + APIC_REG_VER), 0xdeadbeef);
	GUEST_SYNC("ap saw ram under the bsp's apic", *seen);
	GUEST_DONE();
}
GUEST_TEST("apic-relocate-smp", test_apic_relocate_smp);

/* ---- tsc-write: a guest-written TSC moves the TSC deadline and kvmclock - */
#define MSR_IA32_TSC 0x10
#define MSR_TSC_DEADLINE 0x6e0
#define MSR_KVM_SYSTEM_TIME_NEW 0x4b564d01u
#define APIC_REG_EOI 0xb0
#define APIC_REG_LVT_TIMER 0x320
#define TSCW_VECTOR 0x2e                /* IDT slot of PIC IRQ 14; the PICs are masked */
#define TSCW_AHEAD (1ull << 44)         /* ~1.5 h at 3 GHz */
#define TSCW_WAIT (1ull << 32)          /* ~1.4 s at 3 GHz: the bound of each wait */

static volatile unsigned tscw_fired;

static void tscw_tick(unsigned irq)
{
	(void)irq;
	tscw_fired++;
	apic_wr(APIC_DEFAULT, APIC_REG_EOI, 0);
}

static uint64_t tscw_rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

/* Wait with interrupts on until the deadline fired or TSCW_WAIT cycles of
 * the guest's TSC went by; 1 if it fired. */
static unsigned tscw_wait(void)
{
	uint64_t t0 = tscw_rdtsc();
	sti();
	while (!tscw_fired && tscw_rdtsc() - t0 < TSCW_WAIT)
		cpu_relax();
	cli();
	return tscw_fired;
}

/* pvclock time info (Linux arch/x86/include/asm/pvclock-abi.h). */
struct tscw_pvclock {
	uint32_t version, pad0;
	uint64_t tsc_timestamp, system_time;
	uint32_t mul;
	int8_t shift;
	uint8_t flags, pad[2];
};
static volatile struct tscw_pvclock tscw_clock __attribute__((aligned(64)));

/* kvmclock's nanoseconds now: system_time + scaled (TSC - tsc_timestamp),
 * the 64x32 product in 32-bit halves (no 128-bit type in the 32-bit guest). */
static uint64_t tscw_kvmclock_ns(void)
{
	uint64_t d = tscw_rdtsc() - tscw_clock.tsc_timestamp;
	d = tscw_clock.shift < 0 ? d >> -tscw_clock.shift : d << tscw_clock.shift;
	uint64_t m = tscw_clock.mul;
	return tscw_clock.system_time + (((d & 0xffffffffu) * m) >> 32) + (d >> 32) * m;
}

/* The guest TSC jumps ahead by TSCW_AHEAD: a deadline armed after the jump
 * a few thousand cycles ahead of the new TSC fires (the deadline is on the
 * vCPU's TSC, not the machine's, SDM vol. 3 10.5.4.1) and reads back as
 * written; a deadline armed before a jump that passes it fires at the jump;
 * kvmclock, published again at the write, does not jump with the TSC. */
static void test_tsc_write(void)
{
	pic_init(0xff, 0xff);
	apic_wr(APIC_DEFAULT, APIC_REG_SVR, 0x1ff);
	irq_set_handler(TSCW_VECTOR - IRQ_BASE, tscw_tick);
	apic_wr(APIC_DEFAULT, APIC_REG_LVT_TIMER, (2u << 17) | TSCW_VECTOR); /* TSC-deadline */
	wrmsr(MSR_KVM_SYSTEM_TIME_NEW, (uintptr_t)&tscw_clock | 1u);
	uint64_t ns0 = tscw_kvmclock_ns();

	wrmsr(MSR_IA32_TSC, tscw_rdtsc() + TSCW_AHEAD);
	uint64_t ns1 = tscw_kvmclock_ns();
	GUEST_ASSERT(ns1 >= ns0);
	GUEST_SYNC("kvmclock step at the tsc write under 1 s", ns1 - ns0 < 1000000000ull);

	tscw_fired = 0;
	uint64_t dl = tscw_rdtsc() + 100000;
	wrmsr(MSR_TSC_DEADLINE, dl);
	uint64_t back = rdmsr(MSR_TSC_DEADLINE);
	GUEST_SYNC("deadline reads back as written", back == dl || (back == 0 && tscw_fired));
	GUEST_SYNC("deadline after the tsc write fired", tscw_wait());
	GUEST_ASSERT_EQ(rdmsr(MSR_TSC_DEADLINE), 0);     /* disarmed once it fired */

	tscw_fired = 0;
	wrmsr(MSR_TSC_DEADLINE, tscw_rdtsc() + TSCW_AHEAD / 2);
	GUEST_ASSERT_EQ(tscw_wait(), 0);                 /* not yet: ~45 min away */
	wrmsr(MSR_IA32_TSC, tscw_rdtsc() + TSCW_AHEAD);
	GUEST_SYNC("deadline passed by a tsc write fired", tscw_wait());

	apic_wr(APIC_DEFAULT, APIC_REG_LVT_TIMER, 1u << 16);
	wrmsr(MSR_KVM_SYSTEM_TIME_NEW, 0);
	GUEST_DONE();
}
GUEST_TEST("tsc-write", test_tsc_write);
