/* I/O buses: one for port I/O, one for MMIO, one registration call and one
 * handler type for both (see kvmtool's mmio.c, rust-vmm's vm-device).
 *
 * A device registers a window [base, base+len) with an ops table.  Handlers
 * receive the offset inside the window, the access size (1, 2, 4 or 8) and a
 * value; they never see a vCPU or an engine.  Overlapping registrations are
 * refused.  Accesses to one window are serialised by the bus (each window has
 * its own lock), so simple devices need no locking of their own for state
 * touched only from handlers. */
#ifndef RINGVM_BUS_H
#define RINGVM_BUS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct bus_ops {
	/* Return the value read; bytes beyond size are ignored. */
	uint64_t (*read)(void *opaque, uint64_t offset, unsigned size);
	void (*write)(void *opaque, uint64_t offset, unsigned size, uint64_t value);
};

struct bus_range {
	uint64_t base, len;
	const struct bus_ops *ops;
	void *opaque;
	const char *name;
	pthread_mutex_t lock;
	uint64_t accesses; /* counted under lock, for --stats */
};

enum bus_kind { BUS_PIO, BUS_MMIO };

struct bus {
	enum bus_kind kind;
	uint64_t limit;            /* addresses must be < limit (0x10000 for PIO) */
	pthread_rwlock_t lock;     /* guards the table, not the devices */
	unsigned nr, cap;
	struct bus_range **ranges; /* sorted by base, non-overlapping */
	_Atomic uint64_t unhandled; /* accesses that hit no window */
};

int bus_init(struct bus *b, enum bus_kind kind);
void bus_destroy(struct bus *b);

/* Register a window.  -EINVAL for len 0, overflow or past the bus limit,
 * -EEXIST if it overlaps an existing window (the message names both). */
int bus_register(struct bus *b, uint64_t base, uint64_t len,
		 const struct bus_ops *ops, void *opaque, const char *name);
int bus_unregister(struct bus *b, uint64_t base);
/* Unregister the window registered exactly at [base, base+len) and return
 * its handlers, so a device that must own a larger range around it can
 * forward accesses to it (the PCI host bridge takes the reset control
 * register at 0xCF9 into its CONFIG_ADDRESS dword).  -ENOENT if there is
 * no such window. */
int bus_take(struct bus *b, uint64_t base, uint64_t len,
	     const struct bus_ops **ops, void **opaque);

/* Dispatch an access.  size must be 1, 2, 4 or 8 and the access must fit
 * inside one window.  Returns 0 if handled, -ENOENT if no window claims it
 * (the caller decides the policy: all-ones for PIO, VM error for MMIO),
 * -EINVAL for a bad size or an access straddling a window's end. */
int bus_read(struct bus *b, uint64_t addr, unsigned size, uint64_t *value);
int bus_write(struct bus *b, uint64_t addr, unsigned size, uint64_t value);

/* Name of the window containing addr, or NULL (for diagnostics). */
const char *bus_name_of(struct bus *b, uint64_t addr);

#endif
