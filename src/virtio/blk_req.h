/* virtio-blk requests (Virtio 1.2 section 5.2.6): parsing a popped chain
 * into what the back end must do, apart from the device so the parser is
 * unit-tested and fuzzed alone.  The chain is hostile: a header shorter
 * than 16 bytes, a missing status byte, data not a whole number of
 * sectors, sectors beyond the disk, unknown types and bad discard ranges
 * are all answered (IOERR / UNSUPP), never trusted. */
#ifndef RINGVM_VIRTIO_BLK_REQ_H
#define RINGVM_VIRTIO_BLK_REQ_H

#include <stdbool.h>
#include <stdint.h>

#include "virtq.h"

#define VIRTIO_BLK_T_IN           0
#define VIRTIO_BLK_T_OUT          1
#define VIRTIO_BLK_T_FLUSH        4
#define VIRTIO_BLK_T_GET_ID       8
#define VIRTIO_BLK_T_DISCARD      11
#define VIRTIO_BLK_T_WRITE_ZEROES 13

#define VIRTIO_BLK_S_OK     0
#define VIRTIO_BLK_S_IOERR  1
#define VIRTIO_BLK_S_UNSUPP 2

#define VIRTIO_BLK_F_SEG_MAX      2
#define VIRTIO_BLK_F_RO           5
#define VIRTIO_BLK_F_BLK_SIZE     6
#define VIRTIO_BLK_F_FLUSH        9
#define VIRTIO_BLK_F_DISCARD      13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

#define VIRTIO_BLK_ID_BYTES       20
#define VIRTIO_BLK_SECTOR         512ull
#define VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP 1

/* Limits the device advertises (config space) and enforces. */
#define BLK_MAX_DISCARD_SEG       16
#define BLK_MAX_DISCARD_SECTORS   (1u << 22)   /* 2 GiB per range */
#define BLK_MAX_DATA              (256u << 20) /* bytes in one read or write */

struct blk_range {
	uint64_t sector;
	uint32_t nr_sectors;
	uint32_t flags;
};

struct blk_req_info {
	uint32_t type;
	uint64_t sector;
	/* The data: bytes [data_off, data_off + data_len) of the chain's
	 * readable part (OUT) or writable part (IN, GET_ID). */
	uint64_t data_off, data_len;
	bool data_in;                /* the device writes the data */
	gpa_t status_gpa;            /* the last writable byte */
	uint8_t status;              /* != OK: answer at once, no I/O */
	unsigned nr_ranges;          /* DISCARD, WRITE_ZEROES */
	struct blk_range range[BLK_MAX_DISCARD_SEG];
};

/* Parse chain c for a disk of 'sectors' sectors.  Returns 0 with *r filled
 * (r->status says whether the request may run), or -1 when the chain has no
 * writable status byte (nothing can be reported; the caller returns the
 * chain with 0 bytes and counts an error). */
int blk_req_parse(struct gmem *m, const struct virtq_chain *c, uint64_t sectors,
		  bool read_only, struct blk_req_info *r);

#endif
