/* virtio-vsock (Virtio 1.2 section 5.10): stream sockets between the guest
 * and host programs, the host side in Firecracker's convention
 * (include/ringvm/vsock.h, src/net/vsock_host.c does the protocol).
 *
 * Queues: 0 rx (packets for the guest), 1 tx (from the guest), 2 event
 * (transport resets: sent once after a snapshot restore).  Configuration:
 * the guest's CID (le64).  Each chain is a 44-byte header and the payload.
 *
 * Snapshots (docs/snapshot.md), as Firecracker does them: the queues are
 * saved and checked like any virtio device's, the connections are not (the
 * host's sockets belong to the old process).  A restored device listens at
 * its socket path again and, before any packet reaches the guest, puts
 * VIRTIO_VSOCK_EVENT_TRANSPORT_RESET in an event buffer (Virtio 1.2
 * 5.10.6.6 "Device Events"): the driver drops its connections and re-reads
 * the guest CID; its listening sockets stay.
 *
 * Threads: tx is handled on the notifying vCPU thread (the host side never
 * blocks: non-blocking sockets, bounded buffers); rx chains are filled under
 * the device lock from there and from the event loop when host data or a
 * connection arrives (the host side's kick). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "virtio_pci.h"
#include "ringvm/device.h"
#include "ringvm/vm.h"
#include "ringvm/vsock.h"

#define VSOCK_RXQ 0
#define VSOCK_TXQ 1
#define VSOCK_EVQ 2
#define VSOCK_QUEUE_SIZE 256
#define VSOCK_EVENT_TRANSPORT_RESET 0   /* struct virtio_vsock_event { le32 id; } */

struct virtio_vsock {
	struct virtio_dev *dev;
	struct vsock_host *host;
	uint64_t guest_cid;
	uint8_t buf[VSOCK_HDR_SIZE + VSOCK_MAX_PAYLOAD]; /* under dev->lock */
	struct virtq_chain chain;                         /* under dev->lock */
	bool reset_pending;          /* restored: the transport reset is not sent yet */
	_Atomic uint64_t resets_sent, event_fails;
	_Atomic uint64_t rx_packets, rx_kicks, tx_kicks;  /* metrics */
};

/* Host-side traffic waits while the guest does not run (vm_guest_takes_input). */
static bool vvsock_held(struct virtio_dev *d)
{
	return d->vm && !vm_guest_takes_input(d->vm);
}

/* The transport reset of a restored device, into the driver's next event
 * buffer; d->lock held.  true once it is sent (or the device is not live:
 * a driver that starts again has no connections to drop). */
static bool vvsock_send_reset(struct virtio_dev *d, struct virtio_vsock *v)
{
	if (!v->reset_pending)
		return true;
	if (!virtio_dev_live(d))
		return false;
	int r = virtio_dev_pop(d, VSOCK_EVQ, &v->chain);
	if (r < 0) {
		v->reset_pending = false;    /* a driver bug: NEEDS_RESET already */
		return true;
	}
	if (r == 0)
		return false;                /* no event buffer yet: sent on the driver's kick */
	static const uint8_t ev[4] = { VSOCK_EVENT_TRANSPORT_RESET, 0, 0, 0 };
	uint32_t written = 0;
	if (virtq_chain_write(d->mem, &v->chain, 0, ev, sizeof(ev)) == (int64_t)sizeof(ev)) {
		written = sizeof(ev);
		atomic_fetch_add(&v->resets_sent, 1);
		v->reset_pending = false;
	} else {
		atomic_fetch_add(&v->event_fails, 1);  /* too small: try the next one */
		atomic_fetch_add(&d->stats.errors, 1);
	}
	virtio_dev_push(d, VSOCK_EVQ, v->chain.head, written);
	return !v->reset_pending;
}

static void vvsock_config_read(struct virtio_dev *d, uint32_t off, void *buf, uint32_t len)
{
	struct virtio_vsock *v = d->priv;
	uint8_t cfg[8];
	for (int i = 0; i < 8; i++)
		cfg[i] = (uint8_t)(v->guest_cid >> (8 * i));
	memcpy(buf, cfg + off, len);
}

static void vvsock_config_write(struct virtio_dev *d, uint32_t off, const void *buf, uint32_t len)
{
	/* guest_cid is read-only (5.10.4) */
}

/* Fill receive chains while the host side has packets; d->lock held. */
static void vvsock_fill_rx(struct virtio_dev *d, struct virtio_vsock *v)
{
	struct virtq_chain *c = &v->chain;
	/* Nothing reaches the guest while it does not run (paused, as a
	 * snapshot reads RAM then, or a restore's vCPUs still loading;
	 * vvsock_resumed delivers it), nor before the transport
	 * reset of a restored device. */
	if (vvsock_held(d) || !vvsock_send_reset(d, v))
		return;
	for (unsigned i = 0; i < VSOCK_QUEUE_SIZE; i++) {
		if (!virtio_dev_live(d) || !virtq_has_work(&d->vq[VSOCK_RXQ]) ||
		    !vsock_host_rx_pending(v->host))
			return;
		if (virtio_dev_pop(d, VSOCK_RXQ, c) != 1)
			return;
		uint32_t written = 0;
		if (c->in_len >= VSOCK_HDR_SIZE) {
			uint64_t room = c->in_len - VSOCK_HDR_SIZE;
			struct vsock_hdr h;
			if (vsock_host_rx(v->host, &h, v->buf + VSOCK_HDR_SIZE,
					  room < VSOCK_MAX_PAYLOAD ? room : VSOCK_MAX_PAYLOAD)) {
				vsock_hdr_write(v->buf, &h);
				int64_t n = virtq_chain_write(d->mem, c, 0, v->buf, VSOCK_HDR_SIZE + h.len);
				if (n == (int64_t)(VSOCK_HDR_SIZE + h.len)) {
					written = (uint32_t)n;
					atomic_fetch_add(&d->stats.bytes_in, h.len);
					atomic_fetch_add(&v->rx_packets, 1);
				} else {
					atomic_fetch_add(&d->stats.errors, 1);
				}
			}
		} else {
			atomic_fetch_add(&d->stats.errors, 1); /* buffer too small for a header */
		}
		/* An empty used buffer (nothing after all, or too small) is
		 * dropped and re-posted by the driver. */
		virtio_dev_push(d, VSOCK_RXQ, c->head, written);
	}
}

static void vvsock_tx(struct virtio_dev *d, struct virtio_vsock *v)
{
	struct virtq_chain *c = &v->chain;
	for (unsigned i = 0; i < VSOCK_QUEUE_SIZE; i++) {
		if (virtio_dev_pop(d, VSOCK_TXQ, c) != 1)
			break;
		atomic_fetch_add(&d->stats.requests, 1);
		struct vsock_hdr h;
		uint64_t len = c->out_len;
		if (len < VSOCK_HDR_SIZE || len > sizeof(v->buf) ||
		    virtq_chain_read(d->mem, c, 0, v->buf, len) != (int64_t)len ||
		    vsock_hdr_parse(v->buf, len, &h) < 0) {
			atomic_fetch_add(&d->stats.errors, 1);
		} else {
			/* The host side drops a header whose len is not what
			 * the chain carries. */
			vsock_host_tx(v->host, &h, v->buf + VSOCK_HDR_SIZE, len - VSOCK_HDR_SIZE);
			atomic_fetch_add(&d->stats.bytes_out, len - VSOCK_HDR_SIZE);
		}
		virtio_dev_push(d, VSOCK_TXQ, c->head, 0);
	}
	vvsock_fill_rx(d, v);   /* responses, credit updates, RSTs */
}

static void vvsock_queue_notify(struct virtio_dev *d, unsigned q)
{
	struct virtio_vsock *v = d->priv;
	if (q == VSOCK_TXQ || q == VSOCK_RXQ)
		atomic_fetch_add(q == VSOCK_TXQ ? &v->tx_kicks : &v->rx_kicks, 1);
	if (q == VSOCK_TXQ)
		vvsock_tx(d, v);
	else
		vvsock_fill_rx(d, v);  /* rx or event buffers: a pending reset goes first */
}

/* Event loop: the host side has packets for the guest. */
static void vvsock_kick(void *opaque)
{
	struct virtio_vsock *v = opaque;
	if (!v->dev)
		return;
	pthread_mutex_lock(&v->dev->lock);
	vvsock_fill_rx(v->dev, v);
	pthread_mutex_unlock(&v->dev->lock);
}

static int vvsock_activate(struct virtio_dev *d)
{
	struct virtio_vsock *v = d->priv;
	v->reset_pending = false;    /* a driver just started has no connections */
	vvsock_fill_rx(d, v);
	return 0;
}

static void vvsock_reset(struct virtio_dev *d)
{
	struct virtio_vsock *v = d->priv;
	v->reset_pending = false;    /* a driver starting again has no connections */
	vsock_host_reset(v->host);   /* the guest's sockets are gone */
}

/* Loaded from a snapshot (d->lock held, the vCPUs not running yet): the
 * guest's connections are gone with the old process; tell the driver once
 * the VM runs (vvsock_resumed). */
static void vvsock_restored(struct virtio_dev *d)
{
	struct virtio_vsock *v = d->priv;
	v->reset_pending = true;
}

/* The VM runs (after a pause or a restore): the transport reset, then the
 * packets held back while it was paused. */
static void vvsock_resumed(struct virtio_dev *d)
{
	pthread_mutex_lock(&d->lock);
	vvsock_fill_rx(d, d->priv);
	pthread_mutex_unlock(&d->lock);
}

static void vvsock_print_stats(struct virtio_dev *d, FILE *out)
{
	struct virtio_vsock *v = d->priv;
	struct vsock_host_stats s;
	vsock_host_get_stats(v->host, &s);
	fprintf(out, "  vsock connections %llu from the host, %llu from the guest; %llu resets, "
		"%llu bad packets\n", (unsigned long long)s.conns_host,
		(unsigned long long)s.conns_guest, (unsigned long long)s.resets,
		(unsigned long long)s.bad_packets);
	uint64_t sent = atomic_load(&v->resets_sent);
	if (sent)
		fprintf(out, "  vsock transport resets sent to the guest %llu\n",
			(unsigned long long)sent);
}

/* Firecracker's "vsock" group (its vsock/metrics.rs): packets and payload
 * bytes each way (rx: to the guest), connections opened from either side
 * and reset, malformed packets from the guest, queue notifications. */
static void vvsock_metrics(struct virtio_dev *d, struct vm_metrics *m)
{
	struct virtio_vsock *v = d->priv;
	struct vsock_host_stats s;
	vsock_host_get_stats(v->host, &s);
	snprintf(m->group, sizeof(m->group), "vsock");
	vm_metric(m, "rx_bytes_count", atomic_load(&d->stats.bytes_in));
	vm_metric(m, "rx_packets_count", atomic_load(&v->rx_packets));
	vm_metric(m, "rx_queue_event_count", atomic_load(&v->rx_kicks));
	vm_metric(m, "tx_bytes_count", atomic_load(&d->stats.bytes_out));
	vm_metric(m, "tx_packets_count", atomic_load(&d->stats.requests));
	vm_metric(m, "tx_queue_event_count", atomic_load(&v->tx_kicks));
	vm_metric(m, "conns_added", s.conns_host + s.conns_guest);
	vm_metric(m, "conns_killed", s.resets);
	vm_metric(m, "ev_queue_event_fails", atomic_load(&v->event_fails));
}

static void vvsock_destroy(struct virtio_dev *d)
{
	struct virtio_vsock *v = d->priv;
	vsock_host_destroy(v->host);
	free(v);
}

static const struct virtio_dev_ops virtio_vsock_ops = {
	.name = "virtio-vsock",
	.device_id = VIRTIO_ID_VSOCK,
	.pci_class = 0x088000,       /* other system peripheral */
	.features = 0,               /* stream sockets need no feature bit */
	.nr_queues = 3,
	.queue_max = VSOCK_QUEUE_SIZE,
	.config_size = 8,
	.config_read = vvsock_config_read,
	.config_write = vvsock_config_write,
	.activate = vvsock_activate,
	.queue_notify = vvsock_queue_notify,
	.reset = vvsock_reset,
	.print_stats = vvsock_print_stats,
	.metrics = vvsock_metrics,
	.destroy = vvsock_destroy,
	/* tx chains are served whole on the kicking thread, rx chains popped
	 * and pushed under one lock hold: nothing stays in flight. */
	.snapshot = true,
	.restored = vvsock_restored,
	.resumed = vvsock_resumed,
};

static int virtio_vsock_create(struct vm *vm)
{
	const struct vm_vsock *cfg = &vm->cfg.vsock;
	if (!cfg->enabled)
		return 0;
	struct virtio_vsock *v = calloc(1, sizeof(*v));
	char err[256];
	if (!v)
		return -ENOMEM;
	v->guest_cid = cfg->guest_cid;
	v->host = vsock_host_create(&vm->loop, cfg->guest_cid, cfg->uds_path, vvsock_kick, v,
				    err, sizeof(err));
	if (!v->host) {
		pr_err("%s", err);
		free(v);
		return -EINVAL;
	}
	int r = virtio_pci_add(vm, &virtio_vsock_ops, v, &v->dev);
	if (r < 0) {
		pr_err("--vsock: cannot add the virtio-vsock device: %s", strerror(-r));
		vsock_host_destroy(v->host);
		free(v);
		return r;
	}
	return 0;
}

VM_DEVICE_ORDERED(virtio_vsock, virtio_vsock_create, 30);
