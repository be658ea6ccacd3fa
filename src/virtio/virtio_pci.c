/* The virtio-pci modern transport: common configuration, notification, ISR
 * and device configuration structures in BAR 0, found through vendor
 * capabilities; MSI-X with a configuration vector and one per queue, INTx
 * with the ISR byte as fallback; the PCI configuration access capability
 * (a window into BAR 0 through configuration space) (Virtio 1.2 section
 * 4.1). */
#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "virtio_pci.h"
#include "ringvm/clock.h"
#include "ringvm/device.h"
#include "ringvm/engine.h"
#include "ringvm/evloop.h"
#include "ringvm/pci.h"
#include "ringvm/vm.h"

/* Capability cfg_type values (4.1.4). */
#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2
#define VIRTIO_PCI_CAP_ISR_CFG    3
#define VIRTIO_PCI_CAP_DEVICE_CFG 4
#define VIRTIO_PCI_CAP_PCI_CFG    5
#define VIRTIO_PCI_CFG_CAP_LEN    20   /* struct virtio_pci_cfg_cap */
#define VIRTIO_PCI_CFG_DATA       16   /* pci_cfg_data[4] in it */
#define PCI_CAP_ID_VNDR           0x09

struct virtio_pci {
	struct virtio_dev dev;
	struct pci_device *pci;
	uint8_t caps[5][20];       /* struct virtio_pci_cap (+ notify multiplier) */
	/* VIRTIO_PCI_CAP_PCI_CFG (4.1.4.9): its bytes (cap.bar, cap.offset,
	 * cap.length and pci_cfg_data are the driver's), under dev.lock. */
	uint8_t cfg_cap[VIRTIO_PCI_CFG_CAP_LEN];
	_Atomic uint64_t cfg_window_accesses;
	/* ioeventfd (engine_ops.ioeventfd): one eventfd per queue, watched by
	 * the event loop; -1 when the engine offers none (then every kick
	 * is a BAR write on the vCPU thread). */
	int kick_fd[VIRTIO_MAX_QUEUES];
	struct vp_kick { struct virtio_pci *vp; unsigned q; } kick[VIRTIO_MAX_QUEUES];
	bool ioev_on;              /* assigned at ioev_base (d->lock) */
	uint64_t ioev_base;        /* BAR 0 address they were assigned at */
	_Atomic uint64_t ioev_kicks;
};

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void make_cap(uint8_t *c, uint8_t type, uint32_t off, uint32_t len, uint8_t cap_len)
{
	memset(c, 0, 20);
	c[0] = PCI_CAP_ID_VNDR;
	c[2] = cap_len;
	c[3] = type;
	c[4] = 0;                  /* BAR 0 */
	put_le32(c + 8, off);
	put_le32(c + 12, len);
}

/* ---- signalling ------------------------------------------------------ */

static void vp_raise(struct virtio_pci *vp, uint16_t vector)
{
	if (!vp->pci)
		return;
	/* MSI-X on: the vector (through its irqfd where the engine has one,
	 * without the bus lock), or nothing for NO_VECTOR. */
	if (vector != VIRTIO_MSI_NO_VECTOR ? pci_msix_notify(vp->pci, vector) :
					     pci_msix_enabled(vp->pci))
		return;
	pci_intx_set(vp->pci, true);   /* the ISR read lowers it */
}

/* INTx follows the ISR byte (4.1.4.5): a device reset clears the byte, so
 * the line goes down with it; left up, a line shared with other devices
 * would interrupt for nobody until the next ISR read.  d->lock held. */
static void vp_intx_sync(struct virtio_pci *vp)
{
	if (vp->pci && !vp->dev.isr)
		pci_intx_set(vp->pci, false);
}

static void vp_notify_queue(void *opaque, unsigned q, uint16_t vector)
{
	vp_raise(opaque, vector);
}

static void vp_notify_config(void *opaque, uint16_t vector)
{
	vp_raise(opaque, vector);
}

static bool vp_dma_allowed(void *opaque)
{
	struct virtio_pci *vp = opaque;
	return !vp->pci || pci_bus_master(vp->pci);
}

static const struct virtio_transport_ops vp_transport = {
	.notify_queue = vp_notify_queue,
	.notify_config = vp_notify_config,
	.dma_allowed = vp_dma_allowed,
};

/* ---- ioeventfd ---------------------------------------------------------- */

/* A kick through the eventfd, on the event loop's thread: the same as the
 * notify write on the vCPU thread, under the same device lock. */
static void vp_kick_fd(void *opaque, int fd, uint32_t events)
{
	struct vp_kick *k = opaque;
	uint64_t n;
	(void)events;
	if (read(fd, &n, sizeof(n)) != (ssize_t)sizeof(n))
		return;                    /* EAGAIN: nothing, or taken already */
	struct virtio_dev *d = &k->vp->dev;
	atomic_fetch_add(&k->vp->ioev_kicks, 1);
	pthread_mutex_lock(&d->lock);
	virtio_dev_queue_kick(d, k->q);
	pthread_mutex_unlock(&d->lock);
}

static int vp_ioev_set(struct virtio_pci *vp, uint64_t base, unsigned q, bool assign)
{
	struct vm *vm = vp->dev.vm;
	return vm->engine->ioeventfd(vm, base + VIRTIO_PCI_NOTIFY_OFF +
				     (uint64_t)VIRTIO_PCI_NOTIFY_MULT * q, 2,
				     vp->kick_fd[q], assign);
}

/* Keep the engine's doorbells in step with the device (d->lock held): on
 * only while the driver has set DRIVER_OK and BAR 0 decodes, at the BAR's
 * current address; off after a reset, a BAR move or decode turned off.
 * Where the engine refuses, the notify writes keep exiting to the bus. */
static void vp_ioev_sync(struct virtio_pci *vp)
{
	struct virtio_dev *d = &vp->dev;
	unsigned nq = d->ops->nr_queues;
	uint64_t base = 0;
	if (vp->kick_fd[0] < 0)
		return;
	bool want = virtio_dev_live(d) && vp->pci && pci_bar_base(vp->pci, 0, &base);
	if (vp->ioev_on && (!want || base != vp->ioev_base)) {
		/* Errors ignored: after a machine reset the engine's VM is new
		 * and no longer has them. */
		for (unsigned q = 0; q < nq; q++)
			vp_ioev_set(vp, vp->ioev_base, q, false);
		vp->ioev_on = false;
	}
	if (!want || vp->ioev_on)
		return;
	for (unsigned q = 0; q < nq; q++) {
		int r = vp_ioev_set(vp, base, q, true);
		if (r < 0) {
			while (q-- > 0)
				vp_ioev_set(vp, base, q, false);
			vm_log(d->vm, VM_LOG_DEVICE, LOG_DEBUG,
			       "%s: no ioeventfd (%s): queue kicks exit to the VMM",
			       d->ops->name, strerror(-r));
			return;
		}
	}
	vp->ioev_on = true;
	vp->ioev_base = base;
}

static void vp_bars_changed(void *opaque)
{
	struct virtio_pci *vp = opaque;
	pthread_mutex_lock(&vp->dev.lock);
	vp_ioev_sync(vp);
	pthread_mutex_unlock(&vp->dev.lock);
}

/* At creation, on the main thread: an eventfd per queue on the event loop,
 * if the engine can signal them. */
static int vp_ioev_init(struct virtio_pci *vp, struct vm *vm)
{
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++)
		vp->kick_fd[q] = -1;
	if (!vm->engine || !vm->engine->ioeventfd)
		return 0;
	for (unsigned q = 0; q < vp->dev.ops->nr_queues; q++) {
		int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (fd < 0)
			return -errno;
		vp->kick_fd[q] = fd;
		vp->kick[q] = (struct vp_kick){ vp, q };
		int r = evloop_add_fd(&vm->loop, fd, EPOLLIN, vp_kick_fd, &vp->kick[q]);
		if (r < 0) {
			close(fd);
			vp->kick_fd[q] = -1;
			return r;
		}
	}
	return 0;
}

static void vp_ioev_fini(struct virtio_pci *vp)
{
	if (vp->kick_fd[0] < 0)
		return;
	pthread_mutex_lock(&vp->dev.lock);
	if (vp->ioev_on)
		for (unsigned q = 0; q < vp->dev.ops->nr_queues; q++)
			vp_ioev_set(vp, vp->ioev_base, q, false);
	vp->ioev_on = false;
	pthread_mutex_unlock(&vp->dev.lock);
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		if (vp->kick_fd[q] < 0)
			continue;
		evloop_del_fd(&vp->dev.vm->loop, vp->kick_fd[q]);
		close(vp->kick_fd[q]);
		vp->kick_fd[q] = -1;
	}
}

/* ---- common configuration (4.1.4.3) --------------------------------- */

static unsigned nr_vectors(const struct virtio_dev *d)
{
	return d->ops->nr_queues + 1;
}

/* The structure as the driver reads it, little-endian. */
static void common_image(struct virtio_dev *d, uint8_t img[0x40])
{
	memset(img, 0, 0x40);
	uint32_t f = d->dfselect == 0 ? (uint32_t)d->host_features :
		     d->dfselect == 1 ? (uint32_t)(d->host_features >> 32) : 0;
	uint32_t g = d->gfselect == 0 ? (uint32_t)d->driver_features :
		     d->gfselect == 1 ? (uint32_t)(d->driver_features >> 32) : 0;
	uint16_t qs = d->queue_sel;
	const struct virtq *q = qs < d->ops->nr_queues ? &d->vq[qs] : NULL;
	uint16_t w16;
	put_le32(img + 0x00, d->dfselect);
	put_le32(img + 0x04, f);
	put_le32(img + 0x08, d->gfselect);
	put_le32(img + 0x0c, g);
	memcpy(img + 0x10, &d->config_vector, 2);
	w16 = (uint16_t)d->ops->nr_queues;
	memcpy(img + 0x12, &w16, 2);
	img[0x14] = d->status;
	img[0x15] = d->config_generation;
	memcpy(img + 0x16, &qs, 2);
	if (!q)
		return;                    /* queue_size 0: no such queue */
	memcpy(img + 0x18, &q->size, 2);
	memcpy(img + 0x1a, &q->msix_vector, 2);
	w16 = d->vq_enabled[qs];
	memcpy(img + 0x1c, &w16, 2);
	memcpy(img + 0x1e, &qs, 2);        /* queue_notify_off = the index */
	memcpy(img + 0x20, &q->desc, 8);
	memcpy(img + 0x28, &q->avail, 8);
	memcpy(img + 0x30, &q->used, 8);
}

/* A 64-bit ring address written whole or as two 32-bit halves. */
static void set_addr(gpa_t *a, uint64_t off_in_field, unsigned size, uint64_t v)
{
	if (size == 8 && off_in_field == 0)
		*a = v;
	else if (size == 4 && off_in_field == 0)
		*a = (*a & ~0xffffffffull) | (uint32_t)v;
	else if (size == 4 && off_in_field == 4)
		*a = (*a & 0xffffffffull) | (v << 32);
}

static void common_write(struct virtio_dev *d, uint64_t off, unsigned size, uint64_t v)
{
	uint16_t qs = d->queue_sel;
	struct virtq *q = qs < d->ops->nr_queues ? &d->vq[qs] : NULL;
	/* 4.1.4.3.2: queue registers are not changed while the queue is enabled. */
	bool q_writable = q && !d->vq_enabled[qs];
	switch (off) {
	case 0x00: if (size == 4) d->dfselect = (uint32_t)v; break;
	case 0x08: if (size == 4) d->gfselect = (uint32_t)v; break;
	case 0x0c:
		if (size != 4 || (d->status & VIRTIO_STATUS_FEATURES_OK))
			break;
		if (d->gfselect == 0)
			d->driver_features = (d->driver_features & ~0xffffffffull) | (uint32_t)v;
		else if (d->gfselect == 1)
			d->driver_features = (d->driver_features & 0xffffffffull) | (v << 32);
		break;
	case 0x10:
		if (size == 2)
			d->config_vector = v < nr_vectors(d) ? (uint16_t)v : VIRTIO_MSI_NO_VECTOR;
		break;
	case 0x14: if (size == 1) virtio_dev_set_status(d, (uint8_t)v); break;
	case 0x16: if (size == 2) d->queue_sel = (uint16_t)v; break;
	case 0x18: if (size == 2 && q_writable) q->size = (uint16_t)v; break;
	case 0x1a:
		if (size == 2 && q)
			q->msix_vector = v < nr_vectors(d) ? (uint16_t)v : VIRTIO_MSI_NO_VECTOR;
		break;
	case 0x1c:
		/* Only 1 enables; a queue is disabled by a device reset (4.1.4.3.2). */
		if (size == 2 && q && v == 1)
			virtio_dev_queue_enable(d, qs);
		break;
	default:
		if (!q_writable)
			break;
		if (off >= 0x20 && off < 0x28)
			set_addr(&q->desc, off - 0x20, size, v);
		else if (off >= 0x28 && off < 0x30)
			set_addr(&q->avail, off - 0x28, size, v);
		else if (off >= 0x30 && off < 0x38)
			set_addr(&q->used, off - 0x30, size, v);
		break;
	}
}

/* ---- BAR 0 ------------------------------------------------------------ */

uint64_t virtio_pci_bar_read(void *opaque, uint64_t off, unsigned size)
{
	struct virtio_pci *vp = opaque;
	struct virtio_dev *d = &vp->dev;
	uint64_t v = 0;
	if (size == 0 || size > 8)
		return 0;
	pthread_mutex_lock(&d->lock);
	if (off < VIRTIO_PCI_COMMON_OFF + 0x40 && off + size <= 0x40) {
		uint8_t img[0x40];
		common_image(d, img);
		memcpy(&v, img + off, size);
	} else if (off == VIRTIO_PCI_ISR_OFF) {
		/* 4.1.4.5: reading the ISR clears it and deasserts INTx. */
		v = d->isr;
		d->isr = 0;
		if (vp->pci)
			pci_intx_set(vp->pci, false);
	} else if (off >= VIRTIO_PCI_DEVCFG_OFF &&
		   off - VIRTIO_PCI_DEVCFG_OFF + size <= d->ops->config_size) {
		if (d->ops->config_read)
			d->ops->config_read(d, (uint32_t)(off - VIRTIO_PCI_DEVCFG_OFF), &v, size);
	}
	pthread_mutex_unlock(&d->lock);
	return v;
}

void virtio_pci_bar_write(void *opaque, uint64_t off, unsigned size, uint64_t value)
{
	struct virtio_pci *vp = opaque;
	struct virtio_dev *d = &vp->dev;
	if (size == 0 || size > 8)
		return;
	pthread_mutex_lock(&d->lock);
	if (off < VIRTIO_PCI_COMMON_OFF + 0x40) {
		common_write(d, off, size, value);
		if (off == 0x14) {
			vp_ioev_sync(vp);      /* DRIVER_OK or reset */
			vp_intx_sync(vp);
		}
	} else if (off >= VIRTIO_PCI_DEVCFG_OFF &&
		   off - VIRTIO_PCI_DEVCFG_OFF + size <= d->ops->config_size) {
		if (d->ops->config_write)
			d->ops->config_write(d, (uint32_t)(off - VIRTIO_PCI_DEVCFG_OFF), &value, size);
	} else if (off >= VIRTIO_PCI_NOTIFY_OFF &&
		   off < VIRTIO_PCI_NOTIFY_OFF + (uint64_t)VIRTIO_PCI_NOTIFY_MULT * d->ops->nr_queues) {
		/* 4.1.4.4: the queue's index is written at its notify offset. */
		virtio_dev_queue_kick(d, (unsigned)((off - VIRTIO_PCI_NOTIFY_OFF) / VIRTIO_PCI_NOTIFY_MULT));
	}
	pthread_mutex_unlock(&d->lock);
}

struct virtio_dev *virtio_pci_dev(void *opaque)
{
	return &((struct virtio_pci *)opaque)->dev;
}

static const struct bus_ops vp_bar_ops = {
	.read = virtio_pci_bar_read,
	.write = virtio_pci_bar_write,
};

/* ---- VIRTIO_PCI_CAP_PCI_CFG (4.1.4.9) ----------------------------------- */

/* The window's target, or false when the driver's cap.bar, cap.offset and
 * cap.length do not name an access the device makes: BAR 0 only (BAR 1 is
 * the MSI-X table, which the bus serves), length 1, 2 or 4, offset aligned
 * to it (4.1.4.9.1: the driver MUST) and inside the BAR.  Such an access
 * does nothing; reads of pci_cfg_data then return what it holds. dev.lock. */
static bool cfg_window(const struct virtio_pci *vp, uint32_t *off, unsigned *len)
{
	const uint8_t *c = vp->cfg_cap;
	uint32_t o = (uint32_t)c[8] | (uint32_t)c[9] << 8 | (uint32_t)c[10] << 16 |
		     (uint32_t)c[11] << 24;
	uint32_t l = (uint32_t)c[12] | (uint32_t)c[13] << 8 | (uint32_t)c[14] << 16 |
		     (uint32_t)c[15] << 24;
	if (c[4] != 0 || (l != 1 && l != 2 && l != 4) || (o & (l - 1)) ||
	    o > VIRTIO_PCI_BAR_SIZE - l)
		return false;
	*off = o;
	*len = (unsigned)l;
	return true;
}

/* Writes: cap.bar (byte 4), cap.offset (8-11), cap.length (12-15) are the
 * driver's; a write to pci_cfg_data stores it and then writes its first
 * cap.length bytes to the BAR at cap.offset (4.1.4.9.1). */
static void vp_cfg_cap_write(void *opaque, unsigned off, unsigned size, uint32_t value)
{
	struct virtio_pci *vp = opaque;
	uint32_t woff;
	unsigned wlen;
	bool go = false;
	pthread_mutex_lock(&vp->dev.lock);
	for (unsigned i = 0; i < size; i++) {
		unsigned o = off + i;
		if (o == 4 || (o >= 8 && o < VIRTIO_PCI_CFG_CAP_LEN))
			vp->cfg_cap[o] = (uint8_t)(value >> (8 * i));
	}
	if (off + size > VIRTIO_PCI_CFG_DATA)
		go = cfg_window(vp, &woff, &wlen);
	uint32_t data = 0;
	for (unsigned i = 0; i < 4; i++)
		data |= (uint32_t)vp->cfg_cap[VIRTIO_PCI_CFG_DATA + i] << (8 * i);
	pthread_mutex_unlock(&vp->dev.lock);
	if (go) {
		atomic_fetch_add(&vp->cfg_window_accesses, 1);
		virtio_pci_bar_write(vp, woff, wlen, wlen == 4 ? data : data & ((1u << (8 * wlen)) - 1));
	}
}

/* Reads: a read that covers pci_cfg_data first reads cap.length bytes of
 * the BAR at cap.offset into it (4.1.4.9.1). */
static uint32_t vp_cfg_cap_read(void *opaque, unsigned off, unsigned size)
{
	struct virtio_pci *vp = opaque;
	uint32_t woff;
	unsigned wlen;
	pthread_mutex_lock(&vp->dev.lock);
	bool go = off + size > VIRTIO_PCI_CFG_DATA && cfg_window(vp, &woff, &wlen);
	pthread_mutex_unlock(&vp->dev.lock);
	uint64_t got = 0;
	if (go) {
		atomic_fetch_add(&vp->cfg_window_accesses, 1);
		got = virtio_pci_bar_read(vp, woff, wlen);
	}
	uint32_t v = 0;
	pthread_mutex_lock(&vp->dev.lock);
	if (go)
		for (unsigned i = 0; i < wlen; i++)
			vp->cfg_cap[VIRTIO_PCI_CFG_DATA + i] = (uint8_t)(got >> (8 * i));
	for (unsigned i = 0; i < size && off + i < VIRTIO_PCI_CFG_CAP_LEN; i++)
		v |= (uint32_t)vp->cfg_cap[off + i] << (8 * i);
	pthread_mutex_unlock(&vp->dev.lock);
	return v;
}

/* ---- VM device -------------------------------------------------------- */

static void vp_reset(void *opaque)
{
	struct virtio_pci *vp = opaque;
	pthread_mutex_lock(&vp->dev.lock);
	virtio_dev_reset_locked(&vp->dev);
	vp_ioev_sync(vp);
	vp_intx_sync(vp);
	pthread_mutex_unlock(&vp->dev.lock);
}

static void vp_destroy(void *opaque)
{
	struct virtio_pci *vp = opaque;
	vp_ioev_fini(vp);
	pthread_mutex_lock(&vp->dev.lock);
	if (vp->dev.ops->reset)
		vp->dev.ops->reset(&vp->dev);  /* stop back-end work first */
	pthread_mutex_unlock(&vp->dev.lock);
	if (vp->dev.ops->destroy)
		vp->dev.ops->destroy(&vp->dev);
	virtio_dev_fini(&vp->dev);
	free(vp);
}

static void vp_print_stats(void *opaque, FILE *out)
{
	struct virtio_pci *vp = opaque;
	virtio_dev_print_stats(&vp->dev, out);
	uint64_t win = atomic_load(&vp->cfg_window_accesses);
	if (win)
		fprintf(out, "  %-12s pci_cfg window accesses %" PRIu64 "\n", vp->dev.ops->name, win);
	if (vp->kick_fd[0] >= 0)
		fprintf(out, "  %-12s ioeventfd notifications %" PRIu64 "%s\n", vp->dev.ops->name,
			atomic_load(&vp->ioev_kicks), vp->ioev_on ? "" : " (not assigned now)");
}

/* ---- snapshots (docs/snapshot.md) ---------------------------------------- */

/* The paused VM's device finishes its back end's requests (bounded) and
 * pushes their used entries, so the state holds nothing in flight. */
static int vp_quiesce(void *opaque, char *err, size_t n)
{
	struct virtio_pci *vp = opaque;
	const struct virtio_dev_ops *ops = vp->dev.ops;
	if (!ops->snapshot) {
		snprintf(err, n, "device %s cannot be snapshotted yet: ringvm snapshots the virtio "
			 "devices virtio-blk, virtio-rng, virtio-net, virtio-vsock and virtio-console "
			 "only (docs/snapshot.md)", ops->name);
		return -1;
	}
	int r = 0;
	pthread_mutex_lock(&vp->dev.lock);
	if (ops->quiesce)
		r = ops->quiesce(&vp->dev, clock_monotonic_ns() + 5000000000ULL);
	pthread_mutex_unlock(&vp->dev.lock);
	if (r < 0)
		snprintf(err, n, "device %s: its requests in flight did not finish within 5 s; "
			 "the snapshot is not taken", ops->name);
	return r < 0 ? -1 : 0;
}

/* struct virtio_snap, the device configuration bytes, the PCI
 * configuration access capability, the MSI-X table and PBA. */
static size_t vp_state_size(struct virtio_pci *vp)
{
	return sizeof(struct virtio_snap) + vp->dev.ops->config_size + VIRTIO_PCI_CFG_CAP_LEN +
	       (vp->pci ? pci_msix_state_size(vp->pci) : 0);
}

static void vp_config_bytes(struct virtio_dev *d, uint8_t *out)
{
	memset(out, 0, d->ops->config_size);
	if (d->ops->config_read)
		for (uint32_t off = 0; off < d->ops->config_size; off++)
			d->ops->config_read(d, off, out + off, 1);
}

static long vp_save(void *opaque, void *buf, size_t cap)
{
	struct virtio_pci *vp = opaque;
	struct virtio_dev *d = &vp->dev;
	size_t len = vp_state_size(vp);
	if (cap < len)
		return -ENOSPC;
	uint8_t *p = buf;
	struct virtio_snap s;
	pthread_mutex_lock(&d->lock);
	int r = virtio_dev_save(d, &s);
	if (r == 0) {
		memcpy(p, &s, sizeof(s));
		vp_config_bytes(d, p + sizeof(s));
		memcpy(p + sizeof(s) + d->ops->config_size, vp->cfg_cap, VIRTIO_PCI_CFG_CAP_LEN);
	}
	pthread_mutex_unlock(&d->lock);
	if (r < 0)
		return r;
	if (vp->pci)
		pci_msix_state(vp->pci, p + sizeof(s) + d->ops->config_size + VIRTIO_PCI_CFG_CAP_LEN,
			       true);
	return (long)len;
}

static int vp_load(void *opaque, const void *buf, size_t len, char *err, size_t n)
{
	struct virtio_pci *vp = opaque;
	struct virtio_dev *d = &vp->dev;
	const uint8_t *p = buf;
	if (len != vp_state_size(vp)) {
		snprintf(err, n, "%s: the state is %zu bytes, expected %zu", d->ops->name, len,
			 vp_state_size(vp));
		return -EINVAL;
	}
	struct virtio_snap s;
	memcpy(&s, p, sizeof(s));
	uint32_t cfg_len = d->ops->config_size;
	uint8_t cfg[VIRTIO_PCI_NOTIFY_OFF - VIRTIO_PCI_DEVCFG_OFF];
	int r = 0;
	pthread_mutex_lock(&d->lock);
	/* The configuration comes from the rebuilt device (its back end); a
	 * different one (a resized image, another MAC) would change under
	 * the driver's feet. */
	vp_config_bytes(d, cfg);
	if (memcmp(cfg, p + sizeof(s), cfg_len)) {
		snprintf(err, n, "%s: its configuration differs from the snapshot's "
			 "(a resized image?)", d->ops->name);
		r = -1;
	}
	if (r == 0)
		r = virtio_dev_load(d, &s, nr_vectors(d), err, n);
	/* Buffers made available and not yet taken wait for the driver's
	 * next notification: the vCPUs stopped between instructions, so a
	 * kick not yet made is made after the restore.  (Serving them here
	 * would interrupt before the LAPICs are loaded.) */
	if (r == 0) {
		memcpy(vp->cfg_cap, p + sizeof(s) + cfg_len, VIRTIO_PCI_CFG_CAP_LEN);
		if (d->ops->restored)
			d->ops->restored(d);
	}
	pthread_mutex_unlock(&d->lock);
	if (r < 0)
		return -EINVAL;
	if (vp->pci)
		pci_msix_state(vp->pci, (void *)(p + sizeof(s) + cfg_len + VIRTIO_PCI_CFG_CAP_LEN),
			       false);
	return 0;
}

static void vp_resumed(void *opaque)
{
	struct virtio_pci *vp = opaque;
	if (vp->dev.ops->resumed)
		vp->dev.ops->resumed(&vp->dev);
}

static void vp_metrics(void *opaque, struct vm_metrics *m)
{
	struct virtio_pci *vp = opaque;
	if (vp->dev.ops->metrics)
		vp->dev.ops->metrics(&vp->dev, m);
}

static int vp_change_media(void *opaque, const char *id, const char *path, char *err,
			   size_t errlen)
{
	struct virtio_pci *vp = opaque;
	return vp->dev.ops->change_media ?
		vp->dev.ops->change_media(&vp->dev, id, path, err, errlen) : 0;
}

static const struct vm_device_ops vp_vm_ops = {
	.metrics = vp_metrics,
	.change_media = vp_change_media,
	.reset = vp_reset,
	.destroy = vp_destroy,
	.print_stats = vp_print_stats,
	.quiesce = vp_quiesce,
	.resumed = vp_resumed,
	.save = vp_save,
	.load_checked = vp_load,
};

int virtio_pci_add(struct vm *vm, const struct virtio_dev_ops *ops, void *priv,
		   struct virtio_dev **out)
{
	if (ops->nr_queues == 0 || ops->nr_queues > VIRTIO_MAX_QUEUES ||
	    ops->queue_max == 0 || ops->queue_max > VIRTQ_MAX_SIZE ||
	    (ops->queue_max & (ops->queue_max - 1)) ||
	    ops->config_size > VIRTIO_PCI_NOTIFY_OFF - VIRTIO_PCI_DEVCFG_OFF)
		return -EINVAL;
	struct virtio_pci *vp = calloc(1, sizeof(*vp));
	if (!vp)
		return -ENOMEM;
	virtio_dev_init(&vp->dev, vm, &vm->mem, ops, priv);
	vp->dev.t = &vp_transport;
	vp->dev.t_opaque = vp;
	int ri = vp_ioev_init(vp, vm);
	if (ri < 0) {
		vp_ioev_fini(vp);
		virtio_dev_fini(&vp->dev);
		free(vp);
		return ri;
	}

	make_cap(vp->caps[0], VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_PCI_COMMON_OFF,
		 VIRTIO_PCI_COMMON_LEN, 16);
	make_cap(vp->caps[1], VIRTIO_PCI_CAP_NOTIFY_CFG, VIRTIO_PCI_NOTIFY_OFF,
		 VIRTIO_PCI_NOTIFY_MULT * ops->nr_queues, 20);
	put_le32(vp->caps[1] + 16, VIRTIO_PCI_NOTIFY_MULT);
	make_cap(vp->caps[2], VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_PCI_ISR_OFF, 1, 16);
	unsigned nr_caps = 3;
	if (ops->config_size)
		make_cap(vp->caps[nr_caps++], VIRTIO_PCI_CAP_DEVICE_CFG, VIRTIO_PCI_DEVCFG_OFF,
			 ops->config_size, 16);
	/* 4.1.4.9: cap.bar, cap.offset, cap.length start at 0 (the driver
	 * sets them before each access). */
	make_cap(vp->cfg_cap, VIRTIO_PCI_CAP_PCI_CFG, 0, 0, VIRTIO_PCI_CFG_CAP_LEN);
	struct pci_device_desc desc = {
		.name = ops->name,
		.vendor_id = VIRTIO_PCI_VENDOR,
		.device_id = (uint16_t)(VIRTIO_PCI_DEVICE_BASE + ops->device_id),
		.subsystem_vendor_id = VIRTIO_PCI_VENDOR,
		.subsystem_id = 0x40,      /* 4.1.2.1: >= 0x40 for modern-only devices */
		.revision = 1,             /* 4.1.2.1: modern-only devices use >= 1 */
		.class_code = ops->pci_class,
		.nr_caps = nr_caps,
		.msix_vectors = nr_vectors(&vp->dev),
		.msix_bar = 1,
		.msix_table_offset = 0,
		.msix_pba_offset = 0x800,
		.intx = true,
		.bars_changed = vp_bars_changed,
		.opaque = vp,
	};
	desc.bar[0] = (struct pci_bar_desc){ .kind = PCI_BAR_MEM32, .size = VIRTIO_PCI_BAR_SIZE,
					     .ops = &vp_bar_ops, .opaque = vp };
	desc.bar[1] = (struct pci_bar_desc){ .kind = PCI_BAR_MEM32, .size = 0x1000 };
	for (unsigned i = 0; i < nr_caps; i++)
		desc.caps[i] = (struct pci_cap_desc){ .id = PCI_CAP_ID_VNDR,
			.len = vp->caps[i][2], .data = vp->caps[i] };
	desc.caps[desc.nr_caps++] = (struct pci_cap_desc){ .id = PCI_CAP_ID_VNDR,
		.len = VIRTIO_PCI_CFG_CAP_LEN, .data = vp->cfg_cap,
		.cap_read = vp_cfg_cap_read, .cap_write = vp_cfg_cap_write, .opaque = vp };

	int r = pci_device_register(vm, &desc, &vp->pci);
	if (r < 0) {
		vp_ioev_fini(vp);
		virtio_dev_fini(&vp->dev);
		free(vp);
		return r;
	}
	r = vm_add_device(vm, ops->name, &vp_vm_ops, vp);
	if (r < 0) {
		/* The bus keeps the registration until it is torn down; the
		 * device stays unusable (no VM teardown hook frees it). */
		return r;
	}
	if (out)
		*out = &vp->dev;
	return 0;
}
