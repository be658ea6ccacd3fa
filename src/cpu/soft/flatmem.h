/* A flat, bounds-checked memory for the soft CPU core: linear address ==
 * physical address == offset into one host buffer.  Used by unit tests, the
 * interpreter benchmark and the differential harness; never by a real VM
 * (part 2's MMU implements struct soft_mem_ops over guest memory). */
#ifndef RINGVM_SOFT_FLATMEM_H
#define RINGVM_SOFT_FLATMEM_H

#include <stddef.h>
#include <stdint.h>

#include "cpu.h"

struct soft_flatmem {
	uint8_t *ram;
	uint64_t size;
	uint64_t tsc;            /* returned (and incremented) by rdtsc */
	/* port I/O log / source for tests */
	uint16_t last_port;
	uint32_t last_out;
	unsigned nouts;
	uint32_t in_value;
};

extern const struct soft_mem_ops soft_flatmem_ops;

/* Allocate size bytes (zeroed).  Returns 0 or -ENOMEM. */
int soft_flatmem_init(struct soft_flatmem *m, uint64_t size);
void soft_flatmem_destroy(struct soft_flatmem *m);

#endif
