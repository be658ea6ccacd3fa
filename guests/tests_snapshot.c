/* Snapshot and restore (tests/integration/snapshot_guest.py): a guest that
 * counts PIT ticks and work, and checks its clocks, for a host test that
 * snapshots it mid-run, kills it, restores it in a new process (on the same
 * or the other engine) and expects it to finish. */
#include "guest.h"

#define TICK_HZ 200u
#define TICKS 1000u          /* 5 s of guest time */
#define SYNC_EVERY 50u       /* a sync line every 250 ms of guest time */

static volatile uint32_t snap_ticks;

static inline uint64_t snap_rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static void snap_wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}

/* IA32_SPEC_CTRL (0x48) where CPUID.(7,0):EDX[26] enumerates it: the guest
 * sets IBRS (bit 0) before the snapshot and expects it back at the end. */
#define SNAP_MSR_SPEC_CTRL 0x48u
static bool snap_has_spec_ctrl(void)
{
	uint32_t r[4];
	cpuid(0, 0, r);
	if (r[0] < 7)
		return false;
	cpuid(7, 0, r);
	return (r[3] >> 26) & 1;
}

static void snap_tick(unsigned irq)
{
	snap_ticks++;
	pic_eoi(irq);
}

/* snapshot-count: PIT channel 0 at 200 Hz; every 50 ticks a sync line with
 * the tick count.  Between ticks it counts work and checks that its TSC
 * never goes backwards and that the TSC time of each 50 ticks stays within
 * 4x of the first 50 (a restore that lost the clock, or a clock that jumped,
 * fails here); the work counter lives in RAM, so a restore that lost memory
 * fails the final check, and IA32_SPEC_CTRL.IBRS, set at the start, must
 * still be set at the end (an MSR the snapshot forgot reads its reset
 * value, 0).  One span of up to 64x is reported instead
 * ("snapshot-count-gap"): where the TSC is the host's (a nested PVM KVM)
 * it counts the time the VM was down, and the host test decides whether
 * that is allowed. */
static void test_snapshot_count(void)
{
	uint32_t next = SYNC_EVERY;
	static volatile uint64_t work;
	uint64_t last_tsc = snap_rdtsc(), mark = last_tsc, ref = 0;
	bool gap = false;
	bool spec_ctrl = snap_has_spec_ctrl();
	if (spec_ctrl)
		snap_wrmsr(SNAP_MSR_SPEC_CTRL, 1);
	irq_set_handler(0, snap_tick);
	pic_init(0xfe, 0xff);                 /* only IRQ0 */
	pit_periodic(TICK_HZ);
	for (;;) {
		cli();
		uint32_t t = snap_ticks;
		uint64_t now = snap_rdtsc();
		if (now < last_tsc)
			GUEST_FAIL("the TSC went backwards", last_tsc, now);
		last_tsc = now;
		work++;
		if (t >= next) {
			uint64_t span = now - mark;
			mark = now;
			if (!ref)
				ref = span;
			else if (span > 4 * ref && span < 64 * ref && !gap) {
				uint32_t k = 4;  /* span / ref without a 64-bit division (32-bit images) */
				while (k < 64 && (uint64_t)(k + 1) * ref <= span)
					k++;
				gap = true;
				GUEST_SYNC("snapshot-count-gap", k);
			} else if (span > 4 * ref || 4 * span < ref) {
				GUEST_FAIL("50 ticks took a TSC span far from the first 50", ref, span);
			}
			GUEST_SYNC("snapshot-count", t);
			next += SYNC_EVERY;
		}
		if (t >= TICKS)
			break;
		sti_hlt();
	}
	outb(0x21, 0xff);
	GUEST_ASSERT(work >= TICKS);
	if (spec_ctrl && snap_has_spec_ctrl() && (rdmsr(SNAP_MSR_SPEC_CTRL) & 1) != 1)
		GUEST_FAIL("IA32_SPEC_CTRL lost IBRS", rdmsr(SNAP_MSR_SPEC_CTRL));
	GUEST_DONE();
}
GUEST_TEST("snapshot-count", test_snapshot_count);

/* snapshot-diff (tests/integration/diffsnap_guest.py, docs/snapshot.md
 * "Diff snapshots"): the pages of a diff snapshot.  Phase 1 fills pages
 * 0-31 of DIFF_AREA; phase 2 rewrites pages 24-47 and clears page 0; each
 * phase reports itself and then waits DIFF_WAIT ticks (the host takes a
 * full snapshot after phase 1 and a diff after phase 2, while the guest
 * only waits: its tick handler and stack are the only other pages it
 * writes).  Then it checks every page: page 0 zero, 1-23 phase 1's, 24-47
 * phase 2's, so a restore from a base merged with the diff (or a rebase
 * that missed a page, or a diff that left out a cleared one) is seen. */
#define DIFF_AREA 0x1000000ull  /* 16 MiB: above the image, identity mapped */
#define DIFF_PAGES 48u
#define DIFF_WAIT 200u          /* 2 s of guest time at 100 Hz */

static uint64_t diff_word(unsigned phase, unsigned page, unsigned i)
{
	return 0x5a00000000000000ull | ((uint64_t)phase << 40) | ((uint64_t)page << 16) | i;
}

static void diff_fill(unsigned phase, unsigned page)
{
	volatile uint64_t *p = (volatile uint64_t *)(uintptr_t)(DIFF_AREA + page * 4096ull);
	for (unsigned i = 0; i < 512; i++)
		p[i] = phase ? diff_word(phase, page, i) : 0;
}

static void diff_wait(void)
{
	uint32_t until = snap_ticks + DIFF_WAIT;
	while (snap_ticks < until)
		sti_hlt();
}

static void test_snapshot_diff(void)
{
	irq_set_handler(0, snap_tick);
	pic_init(0xfe, 0xff);                 /* only IRQ0 */
	pit_periodic(100);
	for (unsigned pg = 0; pg < 32; pg++)
		diff_fill(1, pg);
	GUEST_SYNC("snapshot-diff-area", DIFF_AREA);
	GUEST_SYNC("snapshot-diff", 1);
	diff_wait();
	for (unsigned pg = 24; pg < DIFF_PAGES; pg++)
		diff_fill(2, pg);
	diff_fill(0, 0);
	GUEST_SYNC("snapshot-diff", 2);
	diff_wait();
	cli();
	outb(0x21, 0xff);
	for (unsigned pg = 0; pg < DIFF_PAGES; pg++) {
		unsigned phase = pg == 0 ? 0 : pg < 24 ? 1 : 2;
		const volatile uint64_t *p =
			(const volatile uint64_t *)(uintptr_t)(DIFF_AREA + pg * 4096ull);
		for (unsigned i = 0; i < 512; i++)
			if (p[i] != (phase ? diff_word(phase, pg, i) : 0))
				GUEST_FAIL("a page of the diff area lost its contents", pg, i, p[i]);
	}
	GUEST_SYNC("snapshot-diff", 3);
	GUEST_DONE();
}
GUEST_TEST("snapshot-diff", test_snapshot_diff);
