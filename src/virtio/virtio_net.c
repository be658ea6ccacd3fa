/* virtio-net (Virtio 1.2 section 5.1): one receive and one transmit queue,
 * the MAC address and link status in configuration space, frames to and from
 * a network back end (include/ringvm/net.h: libslirp or TAP).
 *
 * Offered: VIRTIO_NET_F_MAC, VIRTIO_NET_F_STATUS.  No offloads (no CSUM, no
 * GSO) and no MRG_RXBUF: every frame fits one receive chain (Linux then posts
 * buffers of 1518 bytes + the header) and the 12-byte header (5.1.6, with
 * num_buffers since VERSION_1) is all zeros but num_buffers = 1.
 *
 * Threads: the transmit queue is drained on the vCPU thread that notifies
 * it, into the back end's bounded queue (never blocking); frames for the
 * guest arrive on the event loop's thread and are written into receive
 * chains under the device lock.  A frame with no receive chain free waits in
 * the back end until the driver adds buffers (queue 0 notify). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "virtio_pci.h"
#include "ringvm/device.h"
#include "ringvm/net.h"
#include "ringvm/vm.h"

#define VIRTIO_NET_F_MAC    5
#define VIRTIO_NET_F_STATUS 16
#define VIRTIO_NET_S_LINK_UP 1

#define VNET_RXQ 0
#define VNET_TXQ 1
#define VNET_HDR_LEN 12          /* struct virtio_net_hdr with num_buffers */
#define VNET_QUEUE_SIZE 256
#define VNET_CONFIG_SIZE 8       /* mac[6], status (max_virtqueue_pairs needs MQ) */

struct virtio_net {
	struct virtio_dev *dev;
	struct net_backend *be;
	uint8_t mac[6];
	_Atomic uint64_t rx_too_small;   /* frames dropped: receive chain too short */
	_Atomic uint64_t tx_bad;         /* transmit chains without a valid frame */
	_Atomic uint64_t rx_frames, tx_frames, no_rx_buffer, rx_kicks, tx_kicks;  /* metrics */
	char id[64];                     /* the interface's id (metrics: net_<id>) */
	struct virtq_chain rx_chain, tx_chain;   /* under dev->lock */
};

static void vnet_config_read(struct virtio_dev *d, uint32_t off, void *buf, uint32_t len)
{
	struct virtio_net *n = d->priv;
	uint8_t cfg[VNET_CONFIG_SIZE];
	memcpy(cfg, n->mac, 6);
	cfg[6] = VIRTIO_NET_S_LINK_UP;
	cfg[7] = 0;
	memcpy(buf, cfg + off, len); /* the core keeps off + len inside config_size */
}

static void vnet_config_write(struct virtio_dev *d, uint32_t off, const void *buf, uint32_t len)
{
	/* 5.1.4: the MAC is read-only once VIRTIO_NET_F_MAC is offered
	 * (writing it needs VIRTIO_NET_F_CTRL_MAC_ADDR, not offered). */
}

/* The transmit queue: each chain is a header and one frame (5.1.6.2). */
static void vnet_tx(struct virtio_dev *d, struct virtio_net *n)
{
	uint8_t buf[VNET_HDR_LEN + NET_FRAME_MAX];
	struct virtq_chain *c = &n->tx_chain;
	/* Bounded by the queue size: the avail index cannot run further ahead. */
	for (unsigned i = 0; i < VNET_QUEUE_SIZE; i++) {
		if (virtio_dev_pop(d, VNET_TXQ, c) != 1)
			break;
		if (c->out_len <= VNET_HDR_LEN || c->out_len > sizeof(buf)) {
			atomic_fetch_add(&n->tx_bad, 1);
			atomic_fetch_add(&d->stats.errors, 1);
		} else {
			int64_t got = virtq_chain_read(d->mem, c, 0, buf, c->out_len);
			if (got == (int64_t)c->out_len) {
				struct iovec iov = { buf + VNET_HDR_LEN, (size_t)got - VNET_HDR_LEN };
				net_backend_send(n->be, &iov, 1);
				atomic_fetch_add(&d->stats.bytes_out, iov.iov_len);
				atomic_fetch_add(&n->tx_frames, 1);
			} else {
				atomic_fetch_add(&d->stats.errors, 1);
			}
		}
		atomic_fetch_add(&d->stats.requests, 1);
		virtio_dev_push(d, VNET_TXQ, c->head, 0);
	}
}

/* Event loop: a frame for the guest.  false: no receive chain (retried). */
static bool vnet_rx(void *opaque, const uint8_t *frame, size_t len)
{
	struct virtio_net *n = opaque;
	struct virtio_dev *d = n->dev;
	static const uint8_t hdr[VNET_HDR_LEN] = { [10] = 1 }; /* num_buffers = 1 */
	struct virtq_chain *c = &n->rx_chain;
	/* Nothing reaches the guest while it does not run (paused, or a
	 * restore's vCPUs still loading: vm_guest_takes_input): the frame
	 * waits in the back end, which offers it again when the VM runs
	 * (vnet_resumed). */
	if (d->vm && !vm_guest_takes_input(d->vm))
		return false;
	pthread_mutex_lock(&d->lock);
	int r = virtio_dev_pop(d, VNET_RXQ, c);
	if (r <= 0) {
		/* 0: no buffer, the back end keeps the frame; < 0: a driver
		 * bug, the device is in NEEDS_RESET: drop it. */
		if (r == 0)
			atomic_fetch_add(&n->no_rx_buffer, 1);
		pthread_mutex_unlock(&d->lock);
		return r < 0;
	}
	uint32_t written = 0;
	if (c->in_len < VNET_HDR_LEN + len) {
		atomic_fetch_add(&n->rx_too_small, 1);
		atomic_fetch_add(&d->stats.errors, 1);
	} else if (virtq_chain_write(d->mem, c, 0, hdr, VNET_HDR_LEN) == VNET_HDR_LEN &&
		   virtq_chain_write(d->mem, c, VNET_HDR_LEN, frame, len) == (int64_t)len) {
		written = (uint32_t)(VNET_HDR_LEN + len);
		atomic_fetch_add(&d->stats.bytes_in, len);
		atomic_fetch_add(&n->rx_frames, 1);
	} else {
		atomic_fetch_add(&d->stats.errors, 1);
	}
	virtio_dev_push(d, VNET_RXQ, c->head, written);
	pthread_mutex_unlock(&d->lock);
	return true;
}

static void vnet_queue_notify(struct virtio_dev *d, unsigned q)
{
	struct virtio_net *n = d->priv;
	atomic_fetch_add(q == VNET_TXQ ? &n->tx_kicks : &n->rx_kicks, 1);
	if (q == VNET_TXQ)
		vnet_tx(d, n);
	else if (q == VNET_RXQ)
		net_backend_rx_ready(n->be);
}

static int vnet_activate(struct virtio_dev *d)
{
	struct virtio_net *n = d->priv;
	net_backend_rx_ready(n->be);  /* frames that waited for the driver */
	return 0;
}

/* Frames held back while the VM was paused (vnet_rx). */
static void vnet_resumed(struct virtio_dev *d)
{
	struct virtio_net *n = d->priv;
	net_backend_rx_ready(n->be);
}

static void vnet_reset(struct virtio_dev *d)
{
}

static void vnet_print_stats(struct virtio_dev *d, FILE *out)
{
	struct virtio_net *n = d->priv;
	net_backend_print_stats(n->be, out);
}

/* Firecracker's "net_<iface id>" group (its net/metrics.rs): frames and
 * bytes each way as the guest sees them, malformed transmit chains, frames
 * dropped for a receive chain too short, frames that found no receive
 * chain (they wait in the back end), queue notifications. */
static void vnet_metrics(struct virtio_dev *d, struct vm_metrics *m)
{
	struct virtio_net *n = d->priv;
	snprintf(m->group, sizeof(m->group), "net_%s", n->id);
	m->aggregate = "net";
	vm_metric(m, "rx_bytes_count", atomic_load(&d->stats.bytes_in));
	vm_metric(m, "rx_packets_count", atomic_load(&n->rx_frames));
	vm_metric(m, "rx_fails", atomic_load(&n->rx_too_small));
	vm_metric(m, "no_rx_avail_buffer", atomic_load(&n->no_rx_buffer));
	vm_metric(m, "rx_queue_event_count", atomic_load(&n->rx_kicks));
	vm_metric(m, "tx_bytes_count", atomic_load(&d->stats.bytes_out));
	vm_metric(m, "tx_packets_count", atomic_load(&n->tx_frames));
	vm_metric(m, "tx_malformed_frames", atomic_load(&n->tx_bad));
	vm_metric(m, "tx_queue_event_count", atomic_load(&n->tx_kicks));
}

static void vnet_destroy(struct virtio_dev *d)
{
	struct virtio_net *n = d->priv;
	net_backend_destroy(n->be);
	free(n);
}

static const struct virtio_dev_ops virtio_net_ops = {
	.name = "virtio-net",
	.device_id = VIRTIO_ID_NET,
	.pci_class = 0x020000,       /* network controller, Ethernet */
	.features = (1ULL << VIRTIO_NET_F_MAC) | (1ULL << VIRTIO_NET_F_STATUS),
	.nr_queues = 2,
	.queue_max = VNET_QUEUE_SIZE,
	.config_size = VNET_CONFIG_SIZE,
	.config_read = vnet_config_read,
	.config_write = vnet_config_write,
	.activate = vnet_activate,
	.queue_notify = vnet_queue_notify,
	.reset = vnet_reset,
	.print_stats = vnet_print_stats,
	.metrics = vnet_metrics,
	.destroy = vnet_destroy,
	/* Receive chains are popped and pushed under one lock hold, transmit
	 * chains on the kicking thread: nothing stays in flight.  A restore
	 * gets a fresh back end (docs/snapshot.md). */
	.snapshot = true,
	.resumed = vnet_resumed,
};

/* A stable locally administered MAC from the interface's id, QEMU's
 * 52:54:00 prefix (FNV-1a of the id for the last three bytes). */
static void virtio_net_default_mac(const char *id, uint8_t mac[6])
{
	uint32_t h = 2166136261u;
	for (const char *p = id; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	mac[0] = 0x52, mac[1] = 0x54, mac[2] = 0x00;
	mac[3] = (uint8_t)(h >> 16), mac[4] = (uint8_t)(h >> 8), mac[5] = (uint8_t)h;
}

static int virtio_net_create(struct vm *vm)
{
	for (unsigned i = 0; i < vm->cfg.nr_nets; i++) {
		const struct vm_net *cfg = &vm->cfg.nets[i];
		char id[32], err[256];
		snprintf(id, sizeof(id), "net%u", i);
		struct virtio_net *n = calloc(1, sizeof(*n));
		if (!n)
			return -ENOMEM;
		snprintf(n->id, sizeof(n->id), "%s", cfg->id ? cfg->id : id);
		if (cfg->has_mac)
			memcpy(n->mac, cfg->mac, 6);
		else
			virtio_net_default_mac(cfg->id ? cfg->id : id, n->mac);
		n->be = net_backend_create(&vm->loop, cfg, vnet_rx, n, err, sizeof(err));
		if (!n->be) {
			pr_err("%s", err);
			free(n);
			return -EINVAL;
		}
		int r = virtio_pci_add(vm, &virtio_net_ops, n, &n->dev);
		if (r < 0) {
			pr_err("--net %s: cannot add the virtio-net device: %s",
			       cfg->id ? cfg->id : id, strerror(-r));
			net_backend_destroy(n->be);
			free(n);
			return r;
		}
	}
	return 0;
}

VM_DEVICE_ORDERED(virtio_net, virtio_net_create, 30);
