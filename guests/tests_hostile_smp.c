/* Hostile-guest tests: self-modifying code across page boundaries, on one
 * vCPU and across vCPUs, and INIT/SIPI abuse.  Cases in
 * tests/guest/cases_hostile.py.
 *
 * The APs run small real-mode programs (hand-assembled below) copied to the
 * page their startup IPI names; they report through a mailbox in low RAM
 * that nothing else uses once the guest runs (0x5000, below the boot
 * stack page). */
#include "guest.h"

#define LAPIC ((uintptr_t)0xFEE00000u)
#define L_SVR 0xf0
#define L_ICR_LO 0x300
#define L_ICR_HI 0x310
#define ICR_INIT_ASSERT 0xc500u    /* INIT, level, assert */
#define ICR_INIT_DEASSERT 0x8500u
#define ICR_SIPI 0x4600u           /* startup, vector in bits 7:0 */
#define ICR_SELF (1u << 18)
#define ICR_ALL_BUT_SELF (3u << 18)

#define MBOX ((volatile uint32_t *)(uintptr_t)0x5000u)
#define MB_STARTS 0     /* incremented by each start of the AP program */
#define MB_CS 1         /* the CS the AP program started with */
#define MB_LOOPS 2      /* the AP program's loop counter */
#define MB_SEEN 4       /* smc-smp: what the rewritten instruction loaded */

static void lapic_wr(unsigned reg, uint32_t v) { mmio_write32(LAPIC + reg, v); }

static void hsmp_ipi(uint32_t apic_id, uint32_t icr)
{
	lapic_wr(L_ICR_HI, apic_id << 24);
	lapic_wr(L_ICR_LO, icr);
}

static void hsmp_init(uint32_t apic_id)
{
	hsmp_ipi(apic_id, ICR_INIT_ASSERT);
	hsmp_ipi(apic_id, ICR_INIT_DEASSERT);
}

/* Wait (bounded) until MBOX[i] == v; false if it never is. */
static bool hsmp_wait_eq(unsigned i, uint32_t v)
{
	for (uint32_t n = 0; n < 100000000u; n++) {
		if (MBOX[i] == v)
			return true;
		cpu_relax();
	}
	return false;
}

static void hsmp_delay(uint32_t n)
{
	for (volatile uint32_t i = 0; i < n; i++)
		cpu_relax();
}

/* ---- One vCPU: an instruction straddling two pages ----------------------- */
#define STRADDLE_PAGE ((uintptr_t)0x901000u)   /* 9 MiB + 4 KiB: free RAM */

/* The code (SDM Vol. 3A 8.1.3, self-modifying code: a write to a code
 * byte takes effect for the next execution; no serialization is needed on
 * the writing processor):
 *   page-35: 32 NOPs, xor %eax,%eax
 *   page-1:  b8 or b9 (mov imm32 into %eax or %ecx), imm32 at page+0..3
 *   page+4:  ret */
static uint32_t hsmp_call(void)
{
	return ((uint32_t (*)(void))(STRADDLE_PAGE - 35))();
}

/* smc-straddle: rewrite the half of the instruction on the second page
 * (plain stores, byte stores, REP MOVSB, XCHG), then the opcode on the
 * first page; every call must run the new bytes. */
static void test_smc_straddle(void)
{
	volatile uint8_t *p = (volatile uint8_t *)STRADDLE_PAGE;
	uintptr_t first = STRADDLE_PAGE - 35;
	for (unsigned i = 0; i < 32; i++)
		mmio_write8(first + i, 0x90);
	mmio_write8(STRADDLE_PAGE - 3, 0x31);
	mmio_write8(STRADDLE_PAGE - 2, 0xc0);   /* xor %eax, %eax */
	mmio_write8(STRADDLE_PAGE - 1, 0xb8);   /* mov $imm32, %eax */
	p[4] = 0xc3;                            /* ret */
	for (uint32_t k = 1; k <= 2000; k++) {
		uint32_t v = k * 0x9e3779b9u;
		switch (k % 4) {
		case 0:
			*(volatile uint32_t *)p = v;
			break;
		case 1:
			for (unsigned b = 0; b < 4; b++)
				p[b] = (uint8_t)(v >> (8 * b));
			break;
		case 2: {
			uintptr_t si = (uintptr_t)&v, di = STRADDLE_PAGE, cx = 4;
			__asm__ volatile("cld; rep movsb" : "+S"(si), "+D"(di), "+c"(cx) : : "memory");
			break;
		}
		default:
			(void)__atomic_exchange_n((uint32_t *)STRADDLE_PAGE, v, __ATOMIC_SEQ_CST);
			break;
		}
		uint32_t got = hsmp_call();
		if (got != v)
			GUEST_FAIL("stale code after a write to the second page (k, got, want)",
				   k, got, v);
		/* The first page: mov into %ecx instead, so %eax stays 0. */
		mmio_write8(STRADDLE_PAGE - 1, 0xb9);
		got = hsmp_call();
		if (got != 0)
			GUEST_FAIL("stale code after a write to the first page (k, got)", k, got);
		mmio_write8(STRADDLE_PAGE - 1, 0xb8);
	}
	GUEST_SYNC("straddling instruction rewritten", 2000);
	GUEST_DONE();
}
GUEST_TEST("smc-straddle", test_smc_straddle);

/* ---- Two vCPUs: one rewrites code the other is executing ---------------- */
/* The AP's real-mode program at 0x8000 (SIPI vector 8) jumps to a loop at
 * 0x8ffe whose first instruction straddles the page boundary:
 *   8ffe: 66 b8 imm32      movl $imm32, %eax   (imm32 at 0x9000..0x9003)
 *   9004: 66 a3 10 50      movl %eax, 0x5010   (MB_SEEN)
 *   9008: 66 ff 06 08 50   incl 0x5008         (MB_LOOPS)
 *   900d: eb ef            jmp 0x8ffe */
static const uint8_t hsmp_ap_entry[] = {
	0xfa,                               /* cli */
	0x31, 0xc0,                         /* xor %ax, %ax */
	0x8e, 0xd8,                         /* mov %ax, %ds */
	0x8c, 0x0e, 0x04, 0x50,             /* mov %cs, 0x5004 (MB_CS) */
	0xf0, 0x66, 0xff, 0x06, 0x00, 0x50, /* lock incl 0x5000 (MB_STARTS) */
	0xea, 0xfe, 0x8f, 0x00, 0x00,       /* ljmp $0, $0x8ffe */
};
static const uint8_t hsmp_ap_loop[] = {
	0x66, 0xb8, 0, 0, 0, 0,
	0x66, 0xa3, 0x10, 0x50,
	0x66, 0xff, 0x06, 0x08, 0x50,
	0xeb, 0xef,
};

/* smc-smp (--cpus 2): the BSP rewrites the immediate on the loop's second
 * page 500 times; the AP must load each new value (Intel SDM Vol. 3A
 * 8.1.3, cross-modifying code: ringvm's soft engine publishes writes to
 * code pages, the other vCPUs drop their decoded blocks between slices). */
static void test_smc_smp(void)
{
	memset((void *)MBOX, 0, 64);
	memcpy((void *)(uintptr_t)0x8000, hsmp_ap_entry, sizeof(hsmp_ap_entry));
	memcpy((void *)(uintptr_t)0x8ffe, hsmp_ap_loop, sizeof(hsmp_ap_loop));
	lapic_wr(L_SVR, 0x1ff);
	hsmp_init(1);
	hsmp_ipi(1, ICR_SIPI | 0x08);
	if (!hsmp_wait_eq(MB_STARTS, 1))
		GUEST_FAIL("the AP did not start", MBOX[MB_STARTS]);
	GUEST_ASSERT_EQ(MBOX[MB_CS], 0x800);
	volatile uint32_t *imm = (volatile uint32_t *)(uintptr_t)0x9000;
	for (uint32_t k = 1; k <= 500; k++) {
		uint32_t v = k * 0x9e3779b9u;
		if (k & 1)
			*imm = v;
		else
			(void)__atomic_exchange_n((uint32_t *)(uintptr_t)0x9000, v, __ATOMIC_SEQ_CST);
		if (!hsmp_wait_eq(MB_SEEN, v))
			GUEST_FAIL("the AP runs stale code (k, seen, want)", k, MBOX[MB_SEEN], v);
	}
	GUEST_SYNC("rewrites seen by the other vCPU", 500);
	GUEST_SYNC("the AP's loop ran", MBOX[MB_LOOPS] > 500);
	GUEST_DONE();
}
GUEST_TEST("smc-smp", test_smc_smp);

/* ---- INIT/SIPI abuse ------------------------------------------------------ */
/* The AP program for sipi-abuse: note CS, count the start, then spin on a
 * counter (running, never halted):
 *   fa 31 c0 8e d8          cli; xor %ax,%ax; mov %ax,%ds
 *   8c 0e 04 50             mov %cs, 0x5004
 *   f0 66 ff 06 00 50       lock incl 0x5000
 *   66 ff 06 08 50          incl 0x5008
 *   eb f9                   jmp (the incl) */
static const uint8_t hsmp_ap_spin[] = {
	0xfa, 0x31, 0xc0, 0x8e, 0xd8,
	0x8c, 0x0e, 0x04, 0x50,
	0xf0, 0x66, 0xff, 0x06, 0x00, 0x50,
	0x66, 0xff, 0x06, 0x08, 0x50,
	0xeb, 0xf9,
};

/* The AP's loop counter moves (it runs) or stands still (it waits) over one
 * window of the BSP's time. */
static bool hsmp_ap_running(void)
{
	uint32_t a = MBOX[MB_LOOPS];
	hsmp_delay(200000);
	return MBOX[MB_LOOPS] != a;
}

/* The AP is seen running (or stopped) within a bounded number of windows.
 * One window is not enough: each vCPU is a host thread, and on a loaded
 * host the AP's thread can be off the CPU for a whole window (it then looks
 * stopped), or be put back on it in the window after an INIT and finish the
 * instruction it was in before it sees the INIT (it then looks running). */
static bool hsmp_ap_is(bool running)
{
	for (unsigned k = 0; k < 64; k++)
		if (hsmp_ap_running() == running)
			return true;
	return false;
}

/* Start the AP with vector vec (the program copied to vec << 12) and wait
 * for its start number n. */
static void hsmp_start(uint32_t vec, uint32_t n)
{
	memcpy((void *)(uintptr_t)(vec << 12), hsmp_ap_spin, sizeof(hsmp_ap_spin));
	hsmp_ipi(1, ICR_SIPI | vec);
	if (!hsmp_wait_eq(MB_STARTS, n))
		GUEST_FAIL("the AP did not start (vector, starts, expected)", vec,
			   MBOX[MB_STARTS], n);
	GUEST_ASSERT_EQ(MBOX[MB_CS], vec << 8);
}

/* sipi-abuse (--cpus 2): SIPIs to a running AP are ignored (SDM Vol. 3A
 * 8.4.4.1 / 10.6.1: a SIPI is only taken in the wait-for-SIPI state);
 * storms of SIPIs start a waiting AP exactly once; vectors 0, 0xa0
 * (reserved by the SDM) and 0xff start it at 0, 0xa0000 and 0xff000;
 * INIT, SIPI and NMI with the 'self' shorthand are invalid and ignored
 * (SDM table 10-3); a storm of INIT/SIPI pairs leaves an AP that still
 * starts. */
static void test_sipi_abuse(void)
{
	memset((void *)MBOX, 0, 64);
	lapic_wr(L_SVR, 0x1ff);
	hsmp_init(1);
	hsmp_start(0x08, 1);
	GUEST_ASSERT(hsmp_ap_is(true));

	/* SIPI storms at the running AP, directly and by shorthand. */
	for (unsigned i = 0; i < 200; i++) {
		hsmp_ipi(1, ICR_SIPI | 0x09);
		lapic_wr(L_ICR_LO, ICR_ALL_BUT_SELF | ICR_SIPI | 0x0a);
	}
	hsmp_delay(200000);
	GUEST_ASSERT_EQ(MBOX[MB_STARTS], 1);
	GUEST_ASSERT_EQ(MBOX[MB_CS], 0x800);
	GUEST_ASSERT(hsmp_ap_is(true));
	GUEST_SYNC("400 SIPIs to a running AP ignored", MBOX[MB_STARTS]);

	/* INIT: the AP stops and waits; a SIPI storm starts it once. */
	hsmp_init(1);
	hsmp_delay(200000);
	GUEST_ASSERT(hsmp_ap_is(false));
	memcpy((void *)(uintptr_t)0xb000, hsmp_ap_spin, sizeof(hsmp_ap_spin));
	for (unsigned i = 0; i < 200; i++)
		hsmp_ipi(1, ICR_SIPI | 0x0b);
	if (!hsmp_wait_eq(MB_STARTS, 2))
		GUEST_FAIL("no start after a SIPI storm", MBOX[MB_STARTS]);
	hsmp_delay(200000);
	GUEST_ASSERT_EQ(MBOX[MB_STARTS], 2);
	GUEST_ASSERT_EQ(MBOX[MB_CS], 0xb00);

	/* Odd vectors. */
	const uint32_t vecs[] = { 0x00, 0xa0, 0xff };
	for (unsigned i = 0; i < 3; i++) {
		hsmp_init(1);
		hsmp_start(vecs[i], 3 + i);
	}
	GUEST_SYNC("started at vectors 0, 0xa0, 0xff", MBOX[MB_STARTS]);

	/* Invalid: INIT, SIPI and NMI to self by shorthand; nothing happens
	 * to this vCPU (an INIT would leave it waiting for SIPI and stop the
	 * VM; an NMI would reach the IDT's report). */
	lapic_wr(L_ICR_LO, ICR_SELF | ICR_INIT_ASSERT);
	lapic_wr(L_ICR_LO, ICR_SELF | ICR_SIPI | 0x08);
	lapic_wr(L_ICR_LO, ICR_SELF | 0x4400u);
	hsmp_delay(200000);
	GUEST_SYNC("self INIT/SIPI/NMI ignored", 0);

	/* INIT/SIPI pairs as fast as the BSP can send them. */
	memcpy((void *)(uintptr_t)0x8000, hsmp_ap_spin, sizeof(hsmp_ap_spin));
	for (unsigned i = 0; i < 300; i++) {
		hsmp_init(1);
		hsmp_ipi(1, ICR_SIPI | 0x08);
	}
	uint32_t after = MBOX[MB_STARTS];
	hsmp_init(1);
	hsmp_delay(200000);
	uint32_t base = MBOX[MB_STARTS];
	GUEST_ASSERT(base >= after);
	hsmp_start(0x08, base + 1);
	GUEST_ASSERT(hsmp_ap_is(true));
	GUEST_SYNC("AP starts after 300 INIT/SIPI pairs", base + 1);
	GUEST_DONE();
}
GUEST_TEST("sipi-abuse", test_sipi_abuse);

/* ---- Resets while another vCPU runs ---------------------------------------- */
#define SMP_RESETS 12u

/* reset-smp (--cpus 2 --on-triple-fault reset): on every boot the BSP
 * starts the AP, which spins, and then resets the machine while the AP
 * runs, by the i8042, the ACPI reset register and a triple fault in turn;
 * the VMM joins both vCPU threads and starts again each time
 * (docs/DESIGN.md, "Threads").  After SMP_RESETS resets the guest passes. */
static void test_reset_smp(void)
{
	uint32_t n = testdev_reset_count();
	GUEST_SYNC("reset count", n);
	if (n >= SMP_RESETS)
		GUEST_DONE();
	memset((void *)MBOX, 0, 64);
	lapic_wr(L_SVR, 0x1ff);
	hsmp_init(1);
	hsmp_start(0x08, 1);
	GUEST_ASSERT(hsmp_ap_is(true));
	guest_reset(n % 3);
}
GUEST_TEST("reset-smp", test_reset_smp);
