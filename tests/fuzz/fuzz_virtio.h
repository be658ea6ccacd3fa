/* Shared harness of the virtio libFuzzer targets (fuzz_virtq, fuzz_blk_req).
 *
 * Input: a 16-byte header then a guest-memory image:
 *   u16 queue size, u8 flags (bit 0 EVENT_IDX), u8 pops,
 *   u32 desc, u32 avail, u32 used      (ring addresses, unchecked)
 * The image is copied to guest-physical 0 of a fresh 256 KiB guest RAM, so
 * the input controls every ring byte, descriptor, indirect table and
 * buffer; the addresses may point anywhere (outside RAM, misaligned). */
#ifndef RINGVM_FUZZ_VIRTIO_H
#define RINGVM_FUZZ_VIRTIO_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ringvm/gmem.h"
#include "src/virtio/virtq.h"

#define FUZZ_VIRTIO_RAM (256u << 10)
#define FUZZ_VIRTIO_HDR 16

struct fuzz_virtio {
	struct gmem m;
	struct virtq q;
	unsigned pops;
};

static inline uint32_t fuzz_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* 0 with the queue checked and ready, -1 when the input is too short, the
 * RAM cannot be made, or virtq_check refuses the queue (a clean outcome). */
static inline int fuzz_virtio_setup(struct fuzz_virtio *f, const uint8_t *data, size_t size)
{
	if (size < FUZZ_VIRTIO_HDR)
		return -1;
	struct gmem_opts o = { .ram_size = FUZZ_VIRTIO_RAM };
	memset(f, 0, sizeof(*f));
	if (gmem_init(&f->m, &o) < 0)
		return -1;
	size_t n = size - FUZZ_VIRTIO_HDR;
	if (n > FUZZ_VIRTIO_RAM)
		n = FUZZ_VIRTIO_RAM;
	gmem_write(&f->m, 0, data + FUZZ_VIRTIO_HDR, n);
	virtq_reset(&f->q, &f->m, VIRTQ_MAX_SIZE);
	f->q.size = (uint16_t)(data[0] | data[1] << 8);
	f->q.event_idx = data[2] & 1;
	f->pops = data[3] % 65;
	f->q.desc = fuzz_le32(data + 4);
	f->q.avail = fuzz_le32(data + 8);
	f->q.used = fuzz_le32(data + 12);
	if (virtq_check(&f->q) != VIRTQ_OK) {
		gmem_destroy(&f->m);
		return -1;
	}
	f->q.ready = true;
	return 0;
}

/* Properties of every chain virtq_pop returns (abort() is a finding). */
static inline void fuzz_virtio_check_chain(struct fuzz_virtio *f, const struct virtq_chain *c)
{
	uint64_t out = 0, in = 0;
	unsigned n = (unsigned)c->nr_out + c->nr_in;
	if (n > VIRTQ_MAX_SEGS || c->head >= f->q.size)
		abort();
	for (unsigned i = 0; i < n; i++) {
		if (c->seg[i].len && !gmem_is_ram(&f->m, c->seg[i].addr, c->seg[i].len))
			abort();
		*(i < c->nr_out ? &out : &in) += c->seg[i].len;
	}
	if (out != c->out_len || in != c->in_len)
		abort();
}

#endif
