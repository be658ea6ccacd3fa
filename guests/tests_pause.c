/* Pause and resume (tests/integration/fc_pause_guest.py): a guest that
 * counts timer ticks, for a host test that pauses it from outside through
 * the API and checks that no burst of catch-up ticks follows the resume. */
#include "guest.h"

#define TICK_HZ 200u
#define TICKS 800u           /* 4 s of guest time */
#define SYNC_EVERY 50u       /* a sync line every 250 ms of guest time */

static volatile uint32_t pause_ticks;

static void pause_tick(unsigned irq)
{
	pause_ticks++;
	pic_eoi(irq);
}

/* pause-ticks: PIT channel 0 at 200 Hz; every 50 ticks a sync line with
 * the count, which the host timestamps. */
static void test_pause_ticks(void)
{
	uint32_t next = SYNC_EVERY;
	irq_set_handler(0, pause_tick);
	pic_init(0xfe, 0xff);                 /* only IRQ0 */
	pit_periodic(TICK_HZ);
	for (;;) {
		cli();
		uint32_t t = pause_ticks;
		if (t >= next) {
			GUEST_SYNC("pause-ticks", t);
			next += SYNC_EVERY;
		}
		if (t >= TICKS)
			break;
		sti_hlt();
	}
	outb(0x21, 0xff);
	GUEST_DONE();
}
GUEST_TEST("pause-ticks", test_pause_ticks);
