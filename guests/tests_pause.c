/* Pause and resume (tests/integration/fc_pause_guest.py): a guest that
 * counts timer ticks, for a host test that pauses it from outside through
 * the API and checks that no burst of catch-up ticks follows the resume. */
#include "guest.h"

#define PIT_HZ 1193182u
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
	uint32_t div = PIT_HZ / TICK_HZ, next = SYNC_EVERY;
	irq_set_handler(0, pause_tick);
	pic_init(0xfe, 0xff);                 /* only IRQ0 */
	outb(0x43, 0x34);                     /* channel 0, lo/hi, mode 2 */
	outb(0x40, (uint8_t)div);
	outb(0x40, (uint8_t)(div >> 8));
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
