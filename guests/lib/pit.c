/* The 8254's channel 0 as the test guests' timer (IRQ0), programmed
 * through ports 0x40 (channel 0 data) and 0x43 (mode/command). */
#include "guest.h"

#define PIT_CH0 0x40
#define PIT_CMD 0x43

void pit_periodic_count(uint16_t count)
{
	outb(PIT_CMD, 0x34);            /* channel 0, lo/hi byte, mode 2 (rate generator) */
	outb(PIT_CH0, (uint8_t)count);
	outb(PIT_CH0, (uint8_t)(count >> 8));
}

void pit_periodic(uint32_t hz)
{
	pit_periodic_count((uint16_t)(PIT_INPUT_HZ / hz));
}

void pit_stop(void)
{
	outb(PIT_CMD, 0x30);            /* mode 0 with count 0: one shot, 55 ms away, no repeat */
	outb(PIT_CH0, 0);
	outb(PIT_CH0, 0);
}
