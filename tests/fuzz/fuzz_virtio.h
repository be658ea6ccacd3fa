/* Shared harness of the virtio libFuzzer targets: the queue level
 * (fuzz_virtq, fuzz_blk_req) and, with FUZZ_VIRTIO_DEVICE defined, the
 * device level (fuzz_vnet, fuzz_vcon, fuzz_vrng; below).
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

/* A fresh FUZZ_VIRTIO_RAM of guest RAM holding the image (at most its
 * size) at guest-physical 0.  0, or -1 when the RAM cannot be made. */
static inline int fuzz_virtio_ram(struct gmem *m, const uint8_t *img, size_t n)
{
	struct gmem_opts o = { .ram_size = FUZZ_VIRTIO_RAM };
	if (gmem_init(m, &o) < 0)
		return -1;
	gmem_write(m, 0, img, n < FUZZ_VIRTIO_RAM ? n : FUZZ_VIRTIO_RAM);
	return 0;
}

/* 0 with the queue checked and ready, -1 when the input is too short, the
 * RAM cannot be made, or virtq_check refuses the queue (a clean outcome). */
static inline int fuzz_virtio_setup(struct fuzz_virtio *f, const uint8_t *data, size_t size)
{
	if (size < FUZZ_VIRTIO_HDR)
		return -1;
	memset(f, 0, sizeof(*f));
	if (fuzz_virtio_ram(&f->m, data + FUZZ_VIRTIO_HDR, size - FUZZ_VIRTIO_HDR) < 0)
		return -1;
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

#ifdef FUZZ_VIRTIO_DEVICE
/* ---- Device level ----------------------------------------------------------
 * A whole virtio device (its VM_DEVICE create function, the virtio-pci
 * transport, the device model) on the mock PCI bus of
 * tests/unit/virtio/virtio_pci_mock.c, its back end replaced by the
 * target's fake, driven by a hostile driver through BAR 0 and guest RAM.
 *
 * Input: the 16-byte header above, read as
 *   u16 queue size (every queue), u8 flags, u8 records,
 *   u32 desc, avail, used   (queue q's rings at these + q * 0x400)
 * flags: bit 0 accept EVENT_IDX, bit 1 bus mastering off, bit 2 MSI-X on,
 * bit 3 no driver initialisation before the records;
 * then 'records' 8-byte records (u8 op, u8 a, u16 b, u32 value), then the
 * guest-memory image.  Ops (op % 10):
 *   0 driver initialisation: reset, ACKNOWLEDGE|DRIVER, features low word
 *     'value' (high word VERSION_1, none with a bit 0), FEATURES_OK, every
 *     queue programmed and enabled, DRIVER_OK
 *   1 BAR 0 write: offset b & 0x3fff, size 1 << (a & 3), value
 *   2 BAR 0 read: the same
 *   3 notify queue a % (queues + 1) (the last: no such queue)
 *   4 the fake back end sends value & 0xfff bytes (pattern a) to the guest
 *   5 one event-loop turn (back-end wake-ups, deferred deliveries)
 *   6 the driver writes 1 << (a & 3) bytes of b at value % (RAM + 4 KiB)
 *   7 the driver publishes b % 512 more chains on queue a % queues
 *   8 bus mastering (a bit 0) and MSI-X (a bit 1) set as given
 *   9 machine reset (a bit 0) or device reset (status 0)
 * Checked after every record (abort() is a finding): a chain the device
 * popped was pushed back (the devices here are synchronous) unless the
 * device is broken; a broken device shows DEVICE_NEEDS_RESET; notifying a
 * queue the device drains (the target's 'drained' bits) on a live device
 * with bus mastering leaves nothing available on it, or the device broken;
 * no MSI-X message on a vector the device does not have; INTx is asserted
 * only while the ISR byte has a reason for it. */
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "ringvm/evloop.h"
#include "ringvm/vm.h"
#include "src/virtio/virtio_pci.h"
#include "tests/unit/virtio/virtio_pci_mock.h"

#define FUZZ_VDEV_REC 8

struct fuzz_vdev;

/* What a device target supplies. */
struct fuzz_vdev_target {
	const char *device;      /* its VM_DEVICE name */
	unsigned drained;        /* bit q: queue q is emptied by its notify */
	/* vm->cfg for the device, before it is created. */
	void (*configure)(struct vm *vm);
	/* op 4: the fake back end sends len bytes to the guest. */
	void (*host_send)(struct fuzz_vdev *f, const uint8_t *buf, size_t len);
	/* After the last record: settle and check the end state (may be NULL). */
	void (*finish)(struct fuzz_vdev *f);
};

struct fuzz_vdev {
	const struct fuzz_vdev_target *t;
	struct vm *vm;
	struct pci_device *pd;
	struct virtio_dev *d;
	unsigned nq;
	uint16_t size;
	bool event_idx;
	gpa_t desc, avail, used;
	int stopper;             /* always readable: ends an event-loop turn */
};

static inline uint16_t fuzz_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static void fuzz_vdev_stop(void *opaque, int fd, uint32_t events)
{
	(void)fd;
	(void)events;
	evloop_stop(opaque);
}

/* One batch of ready event sources (the stopper is always one of them). */
static inline void fuzz_vdev_loop_turn(struct fuzz_vdev *f)
{
	f->vm->loop.stop = false;
	evloop_run(&f->vm->loop, 0);
}

static inline void fuzz_vdev_wr(struct fuzz_vdev *f, uint64_t off, unsigned size, uint64_t v)
{
	vmock_wr(f->pd, off, size, v);
}

/* Op 0 and the start: the driver's initialisation (3.1.1) with the
 * header's rings; any step may fail, as the device decides. */
static inline void fuzz_vdev_driver_init(struct fuzz_vdev *f, uint32_t feat_lo, bool v1)
{
	fuzz_vdev_wr(f, 0x14, 1, 0);
	fuzz_vdev_wr(f, 0x14, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	fuzz_vdev_wr(f, 0x08, 4, 0);
	fuzz_vdev_wr(f, 0x0c, 4, feat_lo);
	fuzz_vdev_wr(f, 0x08, 4, 1);
	fuzz_vdev_wr(f, 0x0c, 4, v1 ? 1 : 0);
	fuzz_vdev_wr(f, 0x14, 1, 0x0b);
	fuzz_vdev_wr(f, 0x10, 2, 0);
	for (unsigned q = 0; q < f->nq; q++) {
		fuzz_vdev_wr(f, 0x16, 2, q);
		fuzz_vdev_wr(f, 0x18, 2, f->size);
		fuzz_vdev_wr(f, 0x1a, 2, q + 1);
		fuzz_vdev_wr(f, 0x20, 8, f->desc + 0x400ull * q);
		fuzz_vdev_wr(f, 0x28, 8, f->avail + 0x400ull * q);
		fuzz_vdev_wr(f, 0x30, 8, f->used + 0x400ull * q);
		fuzz_vdev_wr(f, 0x1c, 2, 1);
	}
	fuzz_vdev_wr(f, 0x14, 1, 0x0f);
}

static inline bool fuzz_vdev_dma_live(const struct fuzz_vdev *f)
{
	return virtio_dev_live(f->d) && f->pd->master;
}

/* Chains available on queue q and not taken (0 for a queue not ready). */
static inline uint16_t fuzz_vdev_waiting(struct fuzz_vdev *f, unsigned q)
{
	const struct virtq *vq = &f->d->vq[q];
	uint16_t idx;
	if (!vq->ready || gmem_read_u16(&f->vm->mem, vq->avail + 2, &idx) < 0)
		return 0;
	return (uint16_t)(idx - vq->last_avail);
}

/* The checks after every record. */
static inline void fuzz_vdev_check(struct fuzz_vdev *f)
{
	struct virtio_dev *d = f->d;
	if (d->broken && !(d->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET))
		abort();
	for (unsigned q = 0; q < f->nq; q++)
		if (d->vq[q].in_flight && !d->broken)
			abort();
	for (unsigned v = f->nq + 1; v < 16; v++)    /* vectors: one per queue + config */
		if (f->pd->msix_sent[v])
			abort();
	if (f->pd->intx && !d->isr)
		abort();
}

static inline void fuzz_vdev_record(struct fuzz_vdev *f, const uint8_t *r)
{
	static uint8_t pattern[4096];
	uint8_t a = r[1];
	uint16_t b = fuzz_le16(r + 2);
	uint32_t v = fuzz_le32(r + 4);
	switch (r[0] % 10) {
	case 0:
		fuzz_vdev_driver_init(f, v, !(a & 1));
		break;
	case 1:
		fuzz_vdev_wr(f, b & 0x3fff, 1u << (a & 3), v);
		break;
	case 2:
		vmock_rd(f->pd, b & 0x3fff, 1u << (a & 3));
		break;
	case 3: {
		unsigned q = a % (f->nq + 1);
		bool drains = (f->t->drained >> q) & 1 && q < f->nq && f->d->vq[q].ready &&
			      fuzz_vdev_dma_live(f);
		fuzz_vdev_wr(f, VIRTIO_PCI_NOTIFY_OFF + VIRTIO_PCI_NOTIFY_MULT * q, 2, q);
		if (drains && !f->d->broken && fuzz_vdev_waiting(f, q))
			abort();
		break;
	}
	case 4: {
		size_t len = v & 0xfff;
		for (size_t i = 0; i < len; i++)
			pattern[i] = (uint8_t)(a + i);
		f->t->host_send(f, pattern, len);
		break;
	}
	case 5:
		fuzz_vdev_loop_turn(f);
		break;
	case 6: {
		uint8_t bytes[8];
		for (unsigned i = 0; i < 8; i++)
			bytes[i] = (uint8_t)(b >> (8 * (i & 1)));
		gmem_write(&f->vm->mem, v % (FUZZ_VIRTIO_RAM + 4096), bytes, 1u << (a & 3));
		break;
	}
	case 7: {
		unsigned q = a % f->nq;
		gpa_t idx_at = f->d->vq[q].avail + 2;
		uint16_t idx;
		if (gmem_read_u16(&f->vm->mem, idx_at, &idx) == 0)
			gmem_write_u16(&f->vm->mem, idx_at, (uint16_t)(idx + b % 512));
		break;
	}
	case 8:
		f->pd->master = a & 1;
		f->pd->msix = a & 2;
		break;
	case 9:
		if (a & 1)
			f->vm->devices[0].ops->reset(f->vm->devices[0].opaque);
		else
			fuzz_vdev_wr(f, 0x14, 1, 0);
		break;
	}
	fuzz_vdev_check(f);
}

/* The whole run for one input; 0 always (findings abort). */
static inline int fuzz_vdev_run(const struct fuzz_vdev_target *t, const uint8_t *data,
				size_t size)
{
	if (size < FUZZ_VIRTIO_HDR)
		return 0;
	size_t nrec = data[3];
	if (nrec * FUZZ_VDEV_REC > size - FUZZ_VIRTIO_HDR)
		nrec = (size - FUZZ_VIRTIO_HDR) / FUZZ_VDEV_REC;
	const uint8_t *rec = data + FUZZ_VIRTIO_HDR;
	const uint8_t *img = rec + nrec * FUZZ_VDEV_REC;
	struct fuzz_vdev f = {
		.t = t,
		.size = fuzz_le16(data),
		.event_idx = data[2] & 1,
		.desc = fuzz_le32(data + 4),
		.avail = fuzz_le32(data + 8),
		.used = fuzz_le32(data + 12),
		.stopper = -1,
	};
	f.vm = calloc(1, sizeof(*f.vm));
	if (!f.vm)
		abort();
	vmock_pci_reset();
	if (fuzz_virtio_ram(&f.vm->mem, img, (size_t)(data + size - img)) < 0)
		abort();
	if (evloop_init(&f.vm->loop) < 0)
		abort();
	log_ratelimit_init(&f.vm->log_limits[VM_LOG_DEVICE], "device", 100, 1000);
	f.stopper = eventfd(1, EFD_NONBLOCK | EFD_CLOEXEC);
	if (f.stopper < 0 || evloop_add_fd(&f.vm->loop, f.stopper, EPOLLIN, fuzz_vdev_stop,
					   &f.vm->loop) < 0)
		abort();
	t->configure(f.vm);
	if (vmock_create(f.vm, t->device) != 0 || mock_nr != 1 || f.vm->nr_devices != 1)
		abort();
	f.pd = &mock_dev[0];
	f.d = virtio_pci_dev(f.pd->desc.bar[0].opaque);
	f.nq = f.d->ops->nr_queues;
	f.pd->master = !(data[2] & 2);
	f.pd->msix = data[2] & 4;
	if (!(data[2] & 8)) {
		uint32_t offered = (uint32_t)vmock_rd(f.pd, 0x04, 4);  /* dfselect 0 */
		if (!f.event_idx)
			offered &= ~(1u << VIRTIO_F_EVENT_IDX);
		fuzz_vdev_driver_init(&f, offered, true);
		fuzz_vdev_check(&f);
	}
	for (size_t i = 0; i < nrec; i++)
		fuzz_vdev_record(&f, rec + i * FUZZ_VDEV_REC);
	if (t->finish)
		t->finish(&f);
	static FILE *null_out;                       /* --stats lines go nowhere */
	if (!null_out && !(null_out = fopen("/dev/null", "w")))
		abort();
	f.vm->devices[0].ops->print_stats(f.vm->devices[0].opaque, null_out);
	for (unsigned i = f.vm->nr_devices; i-- > 0;)
		f.vm->devices[i].ops->destroy(f.vm->devices[i].opaque);
	free(f.vm->devices);
	evloop_del_fd(&f.vm->loop, f.stopper);
	close(f.stopper);
	evloop_destroy(&f.vm->loop);
	gmem_destroy(&f.vm->mem);
	free(f.vm);
	return 0;
}
#endif /* FUZZ_VIRTIO_DEVICE */

#endif
