/* Split virtqueues, device side: see virtq.h.  Layout and rules from the
 * Virtio 1.2 specification, section 2.7 (Split Virtqueues). */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>

#include "virtq.h"

static const char *const err_names[VIRTQ_E_COUNT] = {
	[VIRTQ_OK] = "ok",
	[VIRTQ_E_SIZE] = "queue size not a power of two or above the maximum",
	[VIRTQ_E_ALIGN] = "ring address misaligned",
	[VIRTQ_E_RING_RANGE] = "ring outside guest RAM",
	[VIRTQ_E_AVAIL_JUMP] = "avail index moved by more than the queue size",
	[VIRTQ_E_HEAD] = "chain head out of range",
	[VIRTQ_E_NEXT] = "descriptor next index out of range",
	[VIRTQ_E_LOOP] = "descriptor chain loops (hop budget exhausted)",
	[VIRTQ_E_BUF_RANGE] = "buffer outside guest RAM",
	[VIRTQ_E_INDIRECT] = "bad indirect descriptor table",
	[VIRTQ_E_ORDER] = "readable buffer after a writable one",
	[VIRTQ_E_TOO_MANY] = "too many buffers in one chain",
	[VIRTQ_E_MEM] = "ring access failed",
	[VIRTQ_E_USED_ID] = "used id out of range",
};

const char *virtq_err_str(int e)
{
	if (e < 0)
		e = -e;
	return e < VIRTQ_E_COUNT ? err_names[e] : "unknown";
}

/* Ring geometry (2.7): descriptor table, avail ring (flags, idx, ring[],
 * used_event), used ring (flags, idx, ring[] of {id, len}, avail_event). */
static uint64_t desc_bytes(uint16_t n) { return 16ull * n; }
static uint64_t avail_bytes(uint16_t n) { return 6ull + 2ull * n; }
static uint64_t used_bytes(uint16_t n) { return 6ull + 8ull * n; }

void virtq_reset(struct virtq *q, struct gmem *mem, uint16_t max_size)
{
	memset(q, 0, sizeof(*q));
	q->mem = mem;
	q->max_size = max_size;
	q->size = max_size;
	q->msix_vector = 0xffff;
}

static int check_geometry(const struct virtq *q)
{
	uint16_t n = q->size;
	if (n == 0 || n > q->max_size || (n & (n - 1)))
		return VIRTQ_E_SIZE;
	if ((q->desc & 15) || (q->avail & 1) || (q->used & 3))
		return VIRTQ_E_ALIGN;
	if (!gmem_is_ram(q->mem, q->desc, desc_bytes(n)) ||
	    !gmem_is_ram(q->mem, q->avail, avail_bytes(n)) ||
	    !gmem_is_ram(q->mem, q->used, used_bytes(n)))
		return VIRTQ_E_RING_RANGE;
	return VIRTQ_OK;
}

int virtq_check(struct virtq *q)
{
	int r = check_geometry(q);
	if (r != VIRTQ_OK)
		return r;
	/* A freshly enabled queue starts at index 0 (2.7.13.1: the driver
	 * zeroes the indices); keep the device's copies in step with it. */
	q->last_avail = 0;
	q->used_idx = 0;
	q->signalled_used = 0;
	q->signalled_valid = false;
	q->in_flight = 0;
	return VIRTQ_OK;
}

int virtq_check_restored(struct virtq *q)
{
	int r = check_geometry(q);
	if (r != VIRTQ_OK)
		return r;
	/* Quiesced before the save: every chain taken was given back. */
	if (q->in_flight || q->used_idx != q->last_avail)
		return VIRTQ_E_USED_ID;
	uint16_t idx, used;
	if (gmem_read_u16(q->mem, q->avail + 2, &idx) < 0 ||
	    gmem_read_u16(q->mem, q->used + 2, &used) < 0)
		return VIRTQ_E_MEM;
	/* What the driver made available beyond what the device took is at
	 * most a ring (2.7.13), and the ring's used index is the device's. */
	if ((uint16_t)(idx - q->last_avail) > q->size || used != q->used_idx)
		return VIRTQ_E_AVAIL_JUMP;
	return VIRTQ_OK;
}

static int avail_idx(struct virtq *q, uint16_t *idx)
{
	if (gmem_read_u16(q->mem, q->avail + 2, idx) < 0)
		return -VIRTQ_E_MEM;
	/* The ring entries below the index are read after the index
	 * (2.7.13.3: the driver writes them before it publishes the index). */
	atomic_thread_fence(memory_order_acquire);
	return 0;
}

bool virtq_has_work(struct virtq *q)
{
	uint16_t idx;
	return q->ready && avail_idx(q, &idx) == 0 && idx != q->last_avail;
}

struct vdesc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

static int read_desc(struct gmem *m, gpa_t table, uint32_t i, struct vdesc *d)
{
	uint8_t raw[16];
	if (gmem_read(m, table + 16ull * i, raw, 16) < 0)
		return -VIRTQ_E_MEM;
	memcpy(&d->addr, raw, 8);
	memcpy(&d->len, raw + 8, 4);
	memcpy(&d->flags, raw + 12, 2);
	memcpy(&d->next, raw + 14, 2);
	return 0;
}

static int add_seg(struct virtq *q, struct virtq_chain *c, const struct vdesc *d)
{
	/* A zero-length buffer carries nothing; it still counts as a hop. */
	if (d->len && !gmem_is_ram(q->mem, d->addr, d->len))
		return -VIRTQ_E_BUF_RANGE;
	unsigned n = c->nr_out + c->nr_in;
	if (n >= VIRTQ_MAX_SEGS)
		return -VIRTQ_E_TOO_MANY;
	if (d->flags & VIRTQ_DESC_F_WRITE) {
		c->nr_in++;
		c->in_len += d->len;
	} else {
		if (c->nr_in)   /* 2.7.4.2: readable buffers come first */
			return -VIRTQ_E_ORDER;
		c->nr_out++;
		c->out_len += d->len;
	}
	c->seg[n].addr = d->addr;
	c->seg[n].len = d->len;
	return 0;
}

/* An indirect table (2.7.5.3): len a non-zero multiple of 16 with at most
 * VIRTQ_MAX_SEGS entries, in RAM; its entries may not be indirect again and
 * the chain inside it is bounded by the table's own entry count. */
static int walk_indirect(struct virtq *q, struct virtq_chain *c, const struct vdesc *ind)
{
	if (ind->len == 0 || (ind->len & 15) || ind->len / 16 > VIRTQ_MAX_SEGS ||
	    (ind->flags & VIRTQ_DESC_F_NEXT))
		return -VIRTQ_E_INDIRECT;
	if (!gmem_is_ram(q->mem, ind->addr, ind->len))
		return -VIRTQ_E_BUF_RANGE;
	uint32_t n = ind->len / 16, i = 0;
	for (uint32_t hops = 0;; hops++) {
		if (hops >= n)
			return -VIRTQ_E_LOOP;
		struct vdesc d;
		int r = read_desc(q->mem, ind->addr, i, &d);
		if (r < 0)
			return r;
		if (d.flags & VIRTQ_DESC_F_INDIRECT)
			return -VIRTQ_E_INDIRECT;
		if ((r = add_seg(q, c, &d)) < 0)
			return r;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		if (d.next >= n)
			return -VIRTQ_E_NEXT;
		i = d.next;
	}
}

int virtq_pop(struct virtq *q, struct virtq_chain *c)
{
	if (!q->ready)
		return 0;
	uint16_t idx;
	int r = avail_idx(q, &idx);
	if (r < 0)
		return r;
	uint16_t pending = (uint16_t)(idx - q->last_avail);
	if (pending == 0)
		return 0;
	/* More than a ring's worth, or more than the ring holds besides what
	 * we already took: the index was not advanced by a driver. */
	if (pending > q->size || (uint32_t)pending + q->in_flight > q->size)
		return -VIRTQ_E_AVAIL_JUMP;
	uint16_t head;
	if (gmem_read_u16(q->mem, q->avail + 4 + 2ull * (q->last_avail % q->size), &head) < 0)
		return -VIRTQ_E_MEM;
	if (head >= q->size)
		return -VIRTQ_E_HEAD;

	c->head = head;
	c->nr_out = c->nr_in = 0;
	c->out_len = c->in_len = 0;
	uint16_t i = head;
	for (unsigned hops = 0;; hops++) {
		if (hops >= q->size)    /* a chain visits each descriptor at most once */
			return -VIRTQ_E_LOOP;
		struct vdesc d;
		if ((r = read_desc(q->mem, q->desc, i, &d)) < 0)
			return r;
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			/* 2.7.5.3.1: an indirect descriptor ends the chain in the
			 * table; INDIRECT with NEXT is refused, as is WRITE. */
			if (d.flags & VIRTQ_DESC_F_WRITE)
				return -VIRTQ_E_INDIRECT;
			if ((r = walk_indirect(q, c, &d)) < 0)
				return r;
			break;
		}
		if ((r = add_seg(q, c, &d)) < 0)
			return r;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			break;
		if (d.next >= q->size)
			return -VIRTQ_E_NEXT;
		i = d.next;
	}
	q->last_avail++;
	q->in_flight++;
	if (q->event_idx) {
		/* avail_event (2.7.10): notify us as soon as anything new comes. */
		gmem_write_u16(q->mem, q->used + 4 + 8ull * q->size, q->last_avail);
	}
	return 1;
}

int virtq_push(struct virtq *q, uint16_t head, uint32_t written)
{
	if (!q->ready)
		return 0;    /* reset while the request was in flight: drop it */
	if (head >= q->size)
		return -VIRTQ_E_USED_ID;
	uint8_t e[8];
	uint32_t id = head;
	memcpy(e, &id, 4);
	memcpy(e + 4, &written, 4);
	if (gmem_write(q->mem, q->used + 4 + 8ull * (q->used_idx % q->size), e, 8) < 0)
		return -VIRTQ_E_MEM;
	/* 2.7.14: the entry is visible before the index that publishes it. */
	atomic_thread_fence(memory_order_release);
	q->used_idx++;
	if (gmem_write_u16(q->mem, q->used + 2, q->used_idx) < 0)
		return -VIRTQ_E_MEM;
	if (q->in_flight)
		q->in_flight--;
	return 0;
}

/* vring_need_event (2.7.10): an interrupt is due when used_event lies in
 * [old, new). */
static bool need_event(uint16_t event, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

bool virtq_should_notify(struct virtq *q)
{
	if (!q->ready)
		return false;
	/* The used index we wrote is ordered before the driver's flags or
	 * used_event we read next (the driver does the mirror image). */
	atomic_thread_fence(memory_order_seq_cst);
	if (q->event_idx) {
		uint16_t ev, old = q->signalled_used;
		bool valid = q->signalled_valid;
		q->signalled_used = q->used_idx;
		q->signalled_valid = true;
		if (gmem_read_u16(q->mem, q->avail + 4 + 2ull * q->size, &ev) < 0)
			return true;
		return !valid || need_event(ev, q->used_idx, old);
	}
	uint16_t flags;
	if (gmem_read_u16(q->mem, q->avail, &flags) < 0)
		return true;
	return !(flags & VIRTQ_AVAIL_F_NO_INTERRUPT);
}

int64_t virtq_chain_read(struct gmem *m, const struct virtq_chain *c, uint64_t off,
			 void *dst, uint64_t len)
{
	uint8_t *p = dst;
	uint64_t done = 0;
	for (unsigned i = 0; i < c->nr_out && done < len; i++) {
		uint64_t sl = c->seg[i].len;
		if (off >= sl) {
			off -= sl;
			continue;
		}
		uint64_t n = sl - off < len - done ? sl - off : len - done;
		if (gmem_read(m, c->seg[i].addr + off, p + done, n) < 0)
			return -EFAULT;
		done += n;
		off = 0;
	}
	return (int64_t)done;
}

int64_t virtq_chain_write(struct gmem *m, const struct virtq_chain *c, uint64_t off,
			  const void *src, uint64_t len)
{
	const uint8_t *p = src;
	uint64_t done = 0;
	for (unsigned i = c->nr_out; i < (unsigned)c->nr_out + c->nr_in && done < len; i++) {
		uint64_t sl = c->seg[i].len;
		if (off >= sl) {
			off -= sl;
			continue;
		}
		uint64_t n = sl - off < len - done ? sl - off : len - done;
		if (gmem_write(m, c->seg[i].addr + off, p + done, n) < 0)
			return -EFAULT;
		done += n;
		off = 0;
	}
	return (int64_t)done;
}
