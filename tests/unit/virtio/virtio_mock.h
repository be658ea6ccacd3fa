/* A guest-driver mock for virtio unit tests (rust-vmm virtio-queue's
 * mock.rs habit): lays out a split virtqueue in a guest-memory image and
 * builds descriptor chains in it, good ones and hostile ones. */
#ifndef RINGVM_TESTS_VIRTIO_MOCK_H
#define RINGVM_TESTS_VIRTIO_MOCK_H

#include <stdint.h>
#include <string.h>

#include "ringvm/gmem.h"
#include "src/virtio/virtq.h"

struct mock_q {
	struct gmem *m;
	uint16_t size;
	gpa_t desc, avail, used;
	uint16_t avail_idx;
};

/* Rings at base: descriptors, then avail, then used (4 KiB aligned each). */
static inline void mock_q_init(struct mock_q *mq, struct gmem *m, gpa_t base, uint16_t size)
{
	mq->m = m;
	mq->size = size;
	mq->desc = base;
	mq->avail = base + ((16ull * size + 4095) & ~4095ull);
	mq->used = mq->avail + ((6ull + 2ull * size + 4095) & ~4095ull);
	gmem_fill(m, base, 0, mq->used + 6 + 8ull * size - base);
	mq->avail_idx = 0;
}

/* Point a struct virtq at the mock's rings, as a driver would program it. */
static inline void mock_q_program(const struct mock_q *mq, struct virtq *q, uint16_t max)
{
	virtq_reset(q, mq->m, max);
	q->size = mq->size;
	q->desc = mq->desc;
	q->avail = mq->avail;
	q->used = mq->used;
}

static inline void mock_desc_at(struct gmem *m, gpa_t table, uint16_t i, uint64_t addr,
				uint32_t len, uint16_t flags, uint16_t next)
{
	uint8_t raw[16];
	memcpy(raw, &addr, 8);
	memcpy(raw + 8, &len, 4);
	memcpy(raw + 12, &flags, 2);
	memcpy(raw + 14, &next, 2);
	gmem_write(m, table + 16ull * i, raw, 16);
}

static inline void mock_desc(struct mock_q *mq, uint16_t i, uint64_t addr, uint32_t len,
			     uint16_t flags, uint16_t next)
{
	mock_desc_at(mq->m, mq->desc, i, addr, len, flags, next);
}

/* Make chain 'head' available and publish the new index. */
static inline void mock_avail(struct mock_q *mq, uint16_t head)
{
	gmem_write_u16(mq->m, mq->avail + 4 + 2ull * (mq->avail_idx % mq->size), head);
	mq->avail_idx++;
	gmem_write_u16(mq->m, mq->avail + 2, mq->avail_idx);
}

static inline void mock_set_avail_idx(struct mock_q *mq, uint16_t idx)
{
	mq->avail_idx = idx;
	gmem_write_u16(mq->m, mq->avail + 2, idx);
}

static inline void mock_avail_flags(struct mock_q *mq, uint16_t flags)
{
	gmem_write_u16(mq->m, mq->avail, flags);
}

static inline void mock_used_event(struct mock_q *mq, uint16_t ev)
{
	gmem_write_u16(mq->m, mq->avail + 4 + 2ull * mq->size, ev);
}

static inline uint16_t mock_used_idx(struct mock_q *mq)
{
	uint16_t v = 0;
	gmem_read_u16(mq->m, mq->used + 2, &v);
	return v;
}

static inline void mock_used_elem(struct mock_q *mq, uint16_t i, uint32_t *id, uint32_t *len)
{
	gmem_read_u32(mq->m, mq->used + 4 + 8ull * (i % mq->size), id);
	gmem_read_u32(mq->m, mq->used + 8 + 8ull * (i % mq->size), len);
}

static inline uint16_t mock_avail_event(struct mock_q *mq)
{
	uint16_t v = 0;
	gmem_read_u16(mq->m, mq->used + 4 + 8ull * mq->size, &v);
	return v;
}

#endif
