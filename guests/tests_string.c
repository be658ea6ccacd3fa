/* REP MOVS / REP STOS as the architecture defines them when they stop
 * midway (SDM vol. 2, "REP/REPE/REPZ/REPNE/REPNZ": a fault or an interrupt
 * between iterations leaves rSI, rDI and rCX at the element reached, RIP
 * at the string instruction, and executing it again finishes the string):
 *
 *   rep-movs-fault   a REP MOVSB whose destination runs into a not-present
 *                    page, and a REP MOVSQ whose source does: #PF with CR2
 *                    at the page, the registers of the elements before it,
 *                    exactly those bytes written; after mapping the page the
 *                    same instruction with those registers completes.
 *   rep-movs-timer   a 4 MiB REP MOVSB under a 50 us periodic LAPIC timer:
 *                    an interrupt lands on the instruction with rCX
 *                    partly counted down, and the copy is exact.
 *
 * The soft engine copies page by page (src/cpu/soft/exec_string.c); these
 * cases check its fault and slice boundaries from inside a guest.  64-bit
 * images only. */
#include "guest.h"

#ifdef __x86_64__

#define TEST_VA 0x180000000ul          /* PDPT entry 6: unused by head64's map */
#define PD_PA 0x900000ul               /* free RAM above the image */
#define PT_PA 0x901000ul
#define PAGE0 0x902000ul
#define PAGE1 0x903000ul
#define PAGE2 0x904000ul
#define SRC 0xc00000ul                 /* 12 MiB, identity-mapped */
#define DST 0x1400000ul                /* 20 MiB */
#define BIG (4ul << 20)
#define PTE_P_RW 3ul

static volatile uintptr_t rs_resume;   /* armed by a probe, 0 otherwise */
static volatile unsigned rs_count, rs_vec;
static volatile uintptr_t rs_err, rs_cr2;

static void rs_pf(struct isr_frame *f)
{
	if (!rs_resume)
		GUEST_FAIL("unexpected exception (vector, error code, ip)", f->vector, f->error,
			   f->ip);
	rs_vec = (unsigned)f->vector;
	rs_err = f->error;
	rs_cr2 = read_cr2();
	rs_count++;
	f->ip = rs_resume;
	rs_resume = 0;
}

struct sregs {
	uint64_t rsi, rdi, rcx;
};

/* REP MOVSB / REP MOVSQ with r's registers, which it updates; returns the
 * faults taken (0 or 1).  One body, the instruction its only difference. */
#define TRY_REP(name, insn)                                                        \
	static unsigned name(struct sregs *r)                                      \
	{                                                                          \
		unsigned n0 = rs_count;                                            \
		__asm__ volatile("movq $1f, %[fx]\n\t" insn "\n1:"                  \
				 : [fx] "=m"(rs_resume), "+S"(r->rsi), "+D"(r->rdi), \
				   "+c"(r->rcx)                                      \
				 : : "memory");                                      \
		rs_resume = 0;                                                     \
		return rs_count - n0;                                              \
	}

TRY_REP(try_movsb, "rep movsb")
TRY_REP(try_movsq, "rep movsq")

static volatile uint64_t *pt(void) { return (volatile uint64_t *)PT_PA; }


static uint8_t pattern(uintptr_t i) { return (uint8_t)(i * 131 + (i >> 8) * 7 + 1); }

static void test_rep_movs_fault(void)
{
	cli();
	exc_set_handler(14, rs_pf);
	volatile uint64_t *pml4 = (volatile uint64_t *)(read_cr3() & ~0xffful);
	volatile uint64_t *pdpt = (volatile uint64_t *)(uintptr_t)(pml4[0] & 0xffffffffff000ul);
	GUEST_ASSERT_EQ(pdpt[6], 0);
	volatile uint64_t *pd = (volatile uint64_t *)PD_PA;
	for (unsigned i = 0; i < 512; i++)
		pd[i] = pt()[i] = 0;
	pd[0] = PT_PA | PTE_P_RW;
	pt()[0] = PAGE0 | PTE_P_RW;
	pt()[1] = PAGE1 | PTE_P_RW;
	pdpt[6] = PD_PA | PTE_P_RW;
	volatile uint8_t *src = (volatile uint8_t *)SRC, *v = (volatile uint8_t *)TEST_VA;
	for (uintptr_t i = 0; i < 3 * 4096; i++)
		src[i] = pattern(i);
	for (uintptr_t i = 0; i < 3 * 4096; i++)
		((volatile uint8_t *)PAGE0)[i] = 0;

	/* Destination runs into the not-present third page: #PF (W, not
	 * present) at its first byte, after exactly the bytes before it. */
	const uint64_t start = 100, len = 3 * 4096 - start - 28;
	struct sregs r = { SRC, TEST_VA + start, len };
	GUEST_ASSERT_EQ(try_movsb(&r), 1);
	GUEST_ASSERT_EQ(rs_vec, 14);
	GUEST_ASSERT_EQ(rs_err, 2);
	GUEST_ASSERT_EQ(rs_cr2, TEST_VA + 8192);
	GUEST_ASSERT_EQ(r.rdi, TEST_VA + 8192);
	GUEST_ASSERT_EQ(r.rsi, SRC + 8192 - start);
	GUEST_ASSERT_EQ(r.rcx, len - (8192 - start));
	for (uintptr_t i = 0; i < 8192; i++)
		GUEST_ASSERT_EQ(v[i], i < start ? 0 : pattern(i - start));
	/* The page appears: the same instruction with those registers ends
	 * the string. */
	pt()[2] = PAGE2 | PTE_P_RW;
	invlpg(TEST_VA + 8192);
	GUEST_ASSERT_EQ(try_movsb(&r), 0);
	GUEST_ASSERT_EQ(r.rcx, 0);
	GUEST_ASSERT_EQ(r.rdi, TEST_VA + start + len);
	for (uintptr_t i = 0; i < 3 * 4096; i++)
		GUEST_ASSERT_EQ(v[i], i < start || i >= start + len ? 0 : pattern(i - start));
	GUEST_SYNC("rep movsb: #PF at the destination's missing page, resumed", r.rcx);

	/* Source runs into a missing page: #PF (read, not present), the
	 * quadwords before it copied. */
	pt()[1] = 0;
	invlpg(TEST_VA + 4096);
	uint64_t *dst = (uint64_t *)DST;
	for (unsigned i = 0; i < 1000; i++)
		dst[i] = 0;
	struct sregs q = { TEST_VA + 16, DST, 1000 };
	GUEST_ASSERT_EQ(try_movsq(&q), 1);
	GUEST_ASSERT_EQ(rs_vec, 14);
	GUEST_ASSERT_EQ(rs_err, 0);
	GUEST_ASSERT_EQ(rs_cr2, TEST_VA + 4096);
	GUEST_ASSERT_EQ(q.rsi, TEST_VA + 4096);
	GUEST_ASSERT_EQ(q.rdi, DST + 4096 - 16);
	GUEST_ASSERT_EQ(q.rcx, 1000 - (4096 - 16) / 8);
	for (unsigned i = 0; i < 1000; i++)
		GUEST_ASSERT_EQ(dst[i], i < 510 ? ((volatile uint64_t *)TEST_VA)[2 + i] : 0);
	GUEST_SYNC("rep movsq: #PF at the source's missing page", q.rcx);

	pdpt[6] = 0;
	invlpg(TEST_VA);
	invlpg(TEST_VA + 8192);
	exc_set_handler(14, NULL);
	GUEST_DONE();
}
GUEST_TEST("rep-movs-fault", test_rep_movs_fault);

/* ---- interrupted by the LAPIC timer ------------------------------------ */
#define LAPIC ((uintptr_t)0xFEE00000u)
#define L_EOI 0xb0
#define L_SVR 0xf0
#define L_LVT_TIMER 0x320
#define L_TMICT 0x380
#define L_TDCR 0x3e0
/* below IRQ_BASE so the handler sees the frame (exc_set_handler); a LAPIC
 * accepts any vector from 16 */
#define V_TIMER 0x1f

extern const char rs_rep_insn[];
static volatile unsigned rs_ticks, rs_mid;
static volatile uint64_t rs_mid_rcx;

static void rs_tick(struct isr_frame *f)
{
	rs_ticks++;
	if (f->ip == (uintptr_t)rs_rep_insn) {
		rs_mid++;
		rs_mid_rcx = f->rcx;
	}
	mmio_write32(LAPIC + L_EOI, 0);
}

static __attribute__((noinline)) void big_movsb(uint64_t s, uint64_t d, uint64_t n)
{
	__asm__ volatile(".globl rs_rep_insn\nrs_rep_insn:\n\trep movsb"
			 : "+S"(s), "+D"(d), "+c"(n) : : "memory");
}

static void test_rep_movs_timer(void)
{
	cli();
	volatile uint64_t *s = (volatile uint64_t *)SRC, *d = (volatile uint64_t *)DST;
	for (uint64_t i = 0; i < BIG / 8; i++)
		s[i] = i * 0x9e3779b97f4a7c15ull;
	uint32_t r[4];
	cpuid(0x15, 0, r);
	uint32_t hz = r[2] ? r[2] : 100000000u;  /* the LAPIC timer's clock */
	exc_set_handler(V_TIMER, rs_tick);
	mmio_write32(LAPIC + L_SVR, 0x1ff);
	mmio_write32(LAPIC + L_TDCR, 0xb);       /* divide by 1 */
	mmio_write32(LAPIC + L_LVT_TIMER, (1u << 17) | V_TIMER); /* periodic */
	mmio_write32(LAPIC + L_TMICT, hz / 20000); /* 50 us */
	sti();
	unsigned tries = 0;
	for (; tries < 50 && !rs_mid; tries++) {
		for (uint64_t i = 0; i < BIG / 8; i++)
			d[i] = 0;
		big_movsb(SRC, DST, BIG);
	}
	cli();
	mmio_write32(LAPIC + L_TMICT, 0);
	mmio_write32(LAPIC + L_LVT_TIMER, 1u << 16);
	exc_set_handler(V_TIMER, NULL);
	GUEST_SYNC("timer ticks during the copies", rs_ticks);
	GUEST_ASSERT(rs_mid > 0);
	GUEST_ASSERT(rs_mid_rcx > 0 && rs_mid_rcx < BIG);
	for (uint64_t i = 0; i < BIG / 8; i++)
		if (d[i] != i * 0x9e3779b97f4a7c15ull)
			GUEST_FAIL("copy differs (quadword, value)", i, d[i]);
	GUEST_SYNC("rep movsb interrupted mid-string, rcx left", rs_mid_rcx);
	GUEST_DONE();
}
GUEST_TEST("rep-movs-timer", test_rep_movs_timer);

#endif
