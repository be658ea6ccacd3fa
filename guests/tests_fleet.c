/* Several VMs on one host (tests/integration/fleet_*.py): a guest that only
 * burns CPU, for the host tests that list, pause, stop and weigh VMs from
 * outside.  It never finishes: the host test stops it. */
#include "guest.h"

#define SPIN_SYNC_EVERY (1u << 20)

/* fleet-spin: count forever; every 2^20 iterations (about 0.1 s on soft) a sync line with the
 * number of lines so far, so the host can compare progress. */
static void test_fleet_spin(void)
{
	volatile uint32_t n = 0;
	for (uint32_t lines = 1;; lines++) {
		for (uint32_t i = 0; i < SPIN_SYNC_EVERY; i++)
			n++;
		GUEST_SYNC("fleet-spin", lines);
	}
}
GUEST_TEST("fleet-spin", test_fleet_spin);
