/* Hostile-guest tests: what a guest does to exhaust the VMM or leave it
 * hanging.  The runner checks the VMM's side (exit status, message, peak
 * RSS; tests/guest/cases_hostile.py). */
#include "guest.h"

#define LAPIC_BASE ((uintptr_t)0xFEE00000u)
#define LAPIC_SVR 0xf0
#define LAPIC_ICR_LO 0x300
#define LAPIC_ICR_HI 0x310
#define ICR_DM_INIT (5u << 8)
#define ICR_LEVEL_ASSERT (1u << 14)
#define ICR_ALL_INCL_SELF (2u << 18)

/* init-all: INIT to every vCPU including this one (Intel SDM Vol. 3A,
 * "Interrupt Command Register (ICR)": destination shorthand 10b, "All
 * Including Self").  Afterwards no vCPU can
 * ever run again on ringvm's soft engine (every vCPU waits for a startup
 * IPI), so the VM must stop with status 4 saying why.  The loop gives the
 * INIT time to take effect (the soft engine takes it between slices). */
static void test_init_all(void)
{
	mmio_write32(LAPIC_BASE + LAPIC_SVR, mmio_read32(LAPIC_BASE + LAPIC_SVR) | 0x100);
	GUEST_SYNC("INIT to all including self", 0);
	mmio_write32(LAPIC_BASE + LAPIC_ICR_HI, 0);
	mmio_write32(LAPIC_BASE + LAPIC_ICR_LO, ICR_DM_INIT | ICR_LEVEL_ASSERT | ICR_ALL_INCL_SELF);
	for (volatile uint32_t i = 0; i < 10000000; i++)
		cpu_relax();
	GUEST_FAIL("still running 10M iterations after INIT to self");
}
GUEST_TEST("init-all", test_init_all);

/* exec-every-offset: execute from every byte offset of EVERY_PAGES pages, so
 * that the soft engine decodes a new block at each (up to 64 instructions
 * of NOPs each, up to the next RET, which ends every 128 bytes).  Unbounded,
 * this cost about 11.5 MB of host memory per page; the runner checks the
 * peak RSS stays within the documented budget (docs/memory-budget.md). */
#define EVERY_BASE ((uintptr_t)0x400000u)    /* 4 MiB, well clear of the image */
#define EVERY_PAGES 64u
#define EVERY_RET_SPACING 128u

static void test_exec_every_offset(void)
{
	uint8_t *code = (uint8_t *)EVERY_BASE;
	uint32_t bytes = EVERY_PAGES * 4096u;

	for (uint32_t i = 0; i < bytes; i++)
		code[i] = (i % EVERY_RET_SPACING == EVERY_RET_SPACING - 1) ? 0xc3 /* ret */
									   : 0x90 /* nop */;
	GUEST_SYNC("pages of code", EVERY_PAGES);
	/* Twice: the second pass finds the cache flushed and refills it. */
	for (unsigned pass = 0; pass < 2; pass++)
		for (uint32_t off = 0; off < bytes; off++)
			((void (*)(void))(EVERY_BASE + off))();
	GUEST_SYNC("entry points executed", 2u * bytes);
	GUEST_DONE();
}
GUEST_TEST("exec-every-offset", test_exec_every_offset);
