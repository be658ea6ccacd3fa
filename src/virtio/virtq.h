/* Split virtqueues (Virtio 1.x, section 2.7), the device side.
 *
 * Knows nothing of the transport or of the device: it walks descriptor
 * chains in guest memory (through gmem only), publishes used buffers and
 * decides whether the driver wants an interrupt.  Everything it reads from
 * the rings is hostile: the rings are checked once when the driver enables
 * the queue (virtq_check), every chain has a hop budget, an avail index that
 * jumps by more than the queue size is refused, and every descriptor
 * (direct or indirect) must name guest RAM.  A violation returns an error;
 * the device then reports DEVICE_NEEDS_RESET (virtio.c) instead of going on.
 *
 * Not thread safe by itself: the owner (struct virtio_dev) serialises pops
 * and pushes with its lock. */
#ifndef RINGVM_VIRTIO_VIRTQ_H
#define RINGVM_VIRTIO_VIRTQ_H

#include <stdbool.h>
#include <stdint.h>

#include "ringvm/gmem.h"

#define VIRTQ_MAX_SIZE        1024   /* largest queue any ringvm device offers */
#define VIRTQ_MAX_SEGS        1024   /* buffers in one chain (direct + indirect) */

/* Descriptor flags (2.7.5). */
#define VIRTQ_DESC_F_NEXT     1
#define VIRTQ_DESC_F_WRITE    2
#define VIRTQ_DESC_F_INDIRECT 4
/* Ring flags (2.7.6, 2.7.8). */
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY     1

/* Why a queue or a chain was refused (for messages and tests). */
enum virtq_err {
	VIRTQ_OK = 0,
	VIRTQ_E_SIZE = 1,        /* size 0, not a power of two or above the maximum */
	VIRTQ_E_ALIGN,           /* ring address not aligned as 2.7 requires */
	VIRTQ_E_RING_RANGE,      /* a ring is not wholly inside guest RAM */
	VIRTQ_E_AVAIL_JUMP,      /* avail idx moved by more than the queue size */
	VIRTQ_E_HEAD,            /* head index >= queue size */
	VIRTQ_E_NEXT,            /* next index >= table size */
	VIRTQ_E_LOOP,            /* hop budget exhausted (a looping chain) */
	VIRTQ_E_BUF_RANGE,       /* a buffer is not wholly inside guest RAM */
	VIRTQ_E_INDIRECT,        /* bad indirect table: length, nested, with NEXT */
	VIRTQ_E_ORDER,           /* a device-readable buffer after a writable one */
	VIRTQ_E_TOO_MANY,        /* more than VIRTQ_MAX_SEGS buffers */
	VIRTQ_E_MEM,             /* a ring read/write failed (RAM went away) */
	VIRTQ_E_USED_ID,         /* pushing an id the device never popped */
	VIRTQ_E_COUNT
};
const char *virtq_err_str(int e);

struct virtq {
	/* Set by the driver through the transport. */
	uint16_t size;           /* queue_size: entries */
	uint16_t max_size;       /* what the device offers */
	bool ready;              /* queue_enable, and virtq_check passed */
	gpa_t desc, avail, used; /* ring addresses */
	uint16_t msix_vector;    /* VIRTIO_MSI_NO_VECTOR (0xffff) for none */
	bool event_idx;          /* VIRTIO_F_EVENT_IDX negotiated */
	/* Device state. */
	uint16_t last_avail;     /* next avail entry to take */
	uint16_t used_idx;       /* our copy of used->idx */
	uint16_t signalled_used; /* used_idx when the driver was last interrupted */
	bool signalled_valid;
	uint16_t in_flight;      /* chains popped, not yet pushed */
	struct gmem *mem;
};

/* One buffer of a chain: a guest-physical range, already checked to be RAM. */
struct virtq_seg {
	gpa_t addr;
	uint32_t len;
};

/* A popped chain: device-readable segments first (out), then writable (in). */
struct virtq_chain {
	uint16_t head;           /* the id to push back */
	uint16_t nr_out, nr_in;
	uint64_t out_len, in_len; /* byte totals */
	struct virtq_seg seg[VIRTQ_MAX_SEGS]; /* out segments then in segments */
};

/* Forget the driver's settings and all state (device reset).  max_size is
 * kept; size goes back to max_size, the vector to none. */
void virtq_reset(struct virtq *q, struct gmem *mem, uint16_t max_size);

/* Check what the driver programmed before the queue is used: size a power of
 * two <= max_size, desc 16-byte, avail 2-byte and used 4-byte aligned, each
 * ring inside guest RAM (never the MMIO hole).  Reads the current indices
 * (a queue enabled after a reset starts at 0 per 2.7.13/2.7.14; a restored
 * one would start at the ring's).  Returns VIRTQ_OK or an enum virtq_err. */
int virtq_check(struct virtq *q);

/* The same checks for a queue loaded from a snapshot (virtio_snap.c), which
 * keeps its indices: the rings in RAM, nothing in flight, the device's used
 * index equal to last_avail and to the ring's, and the ring's avail index
 * at most a queue's size ahead of last_avail.  VIRTQ_OK or an enum
 * virtq_err. */
int virtq_check_restored(struct virtq *q);

/* Take the next available chain.  Returns 1 with *c filled, 0 when the ring
 * is empty, or -enum virtq_err for a driver bug (the chain is not taken; the
 * caller puts the device into DEVICE_NEEDS_RESET). */
int virtq_pop(struct virtq *q, struct virtq_chain *c);

/* Put chain 'head' on the used ring with 'written' bytes written into its
 * device-writable buffers (the entry, then a release barrier, then the
 * index).  0 or -enum virtq_err. */
int virtq_push(struct virtq *q, uint16_t head, uint32_t written);

/* After one or more pushes: does the driver want an interrupt (event index
 * 2.7.10, or the NO_INTERRUPT flag 2.7.7)?  Updates the signalled point. */
bool virtq_should_notify(struct virtq *q);

/* Chains waiting on the avail ring (0 for a queue not ready). */
bool virtq_has_work(struct virtq *q);

/* Copy from the chain's readable segments, starting 'off' bytes into them;
 * returns bytes copied (less than len at the chain's end) or -EFAULT. */
int64_t virtq_chain_read(struct gmem *m, const struct virtq_chain *c, uint64_t off,
			 void *dst, uint64_t len);
/* Copy into the chain's writable segments at 'off'; returns bytes written. */
int64_t virtq_chain_write(struct gmem *m, const struct virtq_chain *c, uint64_t off,
			  const void *src, uint64_t len);

#endif
