/* Robustness of ringvm's host side against guests that misbehave on
 * purpose (docs/robustness.md).  The unbounded ones ("-forever", "-loop")
 * never end by themselves: tests/integration/robust_*.sh run them and end
 * ringvm with a signal or a timeout, checking what ringvm does meanwhile. */
#include "guest.h"

/* 64 bytes a line, the number in the middle so every line differs. */
static void flood_line(uint32_t i)
{
	serial_puts("robust: flood ");
	serial_put_dec(i);
	serial_puts(" the quick brown fox jumps over the lazy dog\n");
}

/* serial-flood: 4096 lines (about 256 KiB, more than the back end's ring
 * and a pipe together) as fast as the UART takes them, then done.  Into a
 * regular file nothing may be lost: the last line must arrive. */
static void test_serial_flood(void)
{
	for (uint32_t i = 0; i < 4096; i++)
		flood_line(i);
	serial_puts("robust: flood end\n");
	GUEST_DONE();
}

/* serial-flood-forever: prints until ringvm is stopped from outside (into
 * a pipe nobody reads, SIGTERM must still end it). */
static void test_serial_flood_forever(void)
{
	GUEST_SYNC("flood forever", 0);
	for (uint32_t i = 0;; i++)
		flood_line(i);
}

/* triple-fault-loop: triple-faults on every boot; with --on-triple-fault
 * reset the machine resets without end, and ringvm's per-reset messages
 * must stay rate-limited. */
static void test_triple_fault_loop(void)
{
	GUEST_SYNC("reset count", testdev_reset_count());
	static const struct { uint16_t limit; uintptr_t base; } __attribute__((packed))
		empty = { 0, 0 };
	__asm__ volatile("lidt %0; ud2" : : "m"(empty));
	GUEST_FAIL("survived a triple fault");
}

GUEST_TEST("serial-flood", test_serial_flood);
GUEST_TEST("serial-flood-forever", test_serial_flood_forever);
GUEST_TEST("triple-fault-loop", test_triple_fault_loop);
