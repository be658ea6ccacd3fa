/* Guest library: resetting the machine the ways a guest can. */
#include "guest.h"

/* Reset by the way 'how' names, taken in turn by the reset-loop tests
 * (tests_hostile_irq.c, tests_hostile_smp.c):
 *   0: the i8042's pulse-reset command (0xfe to port 0x64; 8042 "pulse
 *      output port" command, bit 0 = CPU reset),
 *   1: the ACPI reset register (0x06 to port 0xcf9: full reset + CPU reset,
 *      the PIIX/ICH reset control register the FADT names),
 *   2: a triple fault (an empty IDT, then #UD: no handler, #DF, shutdown).
 * Then waits for the reset with interrupts as they are, without halting:
 * hlt with IF=0 would end the VM instead of resetting it. */
void guest_reset(unsigned how)
{
	switch (how) {
	case 0:
		outb(0x64, 0xfe);
		break;
	case 1:
		outb(0xcf9, 0x06);
		break;
	default: {
		static const struct { uint16_t limit; uintptr_t base; } __attribute__((packed))
			empty = { 0, 0 };
		__asm__ volatile("lidt %0; ud2" : : "m"(empty));
		break;
	}
	}
	for (;;)
		cpu_relax();
}
