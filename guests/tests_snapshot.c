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
 * fails the final check.  One span of up to 64x is reported instead
 * ("snapshot-count-gap"): where the TSC is the host's (a nested PVM KVM)
 * it counts the time the VM was down, and the host test decides whether
 * that is allowed. */
static void test_snapshot_count(void)
{
	uint32_t next = SYNC_EVERY;
	static volatile uint64_t work;
	uint64_t last_tsc = snap_rdtsc(), mark = last_tsc, ref = 0;
	bool gap = false;
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
	GUEST_DONE();
}
GUEST_TEST("snapshot-count", test_snapshot_count);
