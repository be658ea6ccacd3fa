/* Network back ends, the common part: the transmit queue filled by vCPU
 * threads, the receive queue drained into the NIC, the eventfd that wakes
 * the event loop, statistics.  The kinds are in net_slirp.c and net_tap.c. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "net_internal.h"
#include "ringvm/evloop.h"
#include "ringvm/vm.h"

static int queue_init(struct net_queue *q)
{
	q->slots = calloc(NET_QUEUE_FRAMES, sizeof(*q->slots));
	q->head = q->count = 0;
	return q->slots ? 0 : -ENOMEM;
}

static struct net_frame *queue_tail(struct net_queue *q)
{
	if (q->count == NET_QUEUE_FRAMES)
		return NULL;
	return &q->slots[(q->head + q->count) % NET_QUEUE_FRAMES];
}

static struct net_frame *queue_head(struct net_queue *q)
{
	return q->count ? &q->slots[q->head] : NULL;
}

static void queue_pop(struct net_queue *q)
{
	q->head = (q->head + 1) % NET_QUEUE_FRAMES;
	q->count--;
}

static void kick(struct net_backend *b)
{
	uint64_t one = 1;
	ssize_t r = write(b->kick_fd, &one, sizeof(one));
	(void)r; /* EAGAIN: the counter is already non-zero, the loop will run */
}

int net_backend_send(struct net_backend *b, const struct iovec *iov, unsigned iovcnt)
{
	size_t len = 0;
	for (unsigned i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len > NET_FRAME_MAX || len + iov[i].iov_len > NET_FRAME_MAX) {
			atomic_fetch_add(&b->stats.tx_dropped, 1);
			return -EMSGSIZE;
		}
		len += iov[i].iov_len;
	}
	if (len == 0) {
		atomic_fetch_add(&b->stats.tx_dropped, 1);
		return -EMSGSIZE;
	}
	pthread_mutex_lock(&b->tx_lock);
	struct net_frame *f = queue_tail(&b->txq);
	if (!f) {
		pthread_mutex_unlock(&b->tx_lock);
		atomic_fetch_add(&b->stats.tx_dropped, 1);
		return -ENOBUFS;
	}
	size_t off = 0;
	for (unsigned i = 0; i < iovcnt; i++) {
		memcpy(f->data + off, iov[i].iov_base, iov[i].iov_len);
		off += iov[i].iov_len;
	}
	f->len = (uint16_t)len;
	b->txq.count++;
	pthread_mutex_unlock(&b->tx_lock);
	kick(b);
	return 0;
}

void net_backend_rx_ready(struct net_backend *b)
{
	kick(b);
}

unsigned net_backend_rx_room(const struct net_backend *b)
{
	return NET_QUEUE_FRAMES - b->rxq.count;
}

/* Offer queued frames to the NIC in order until it refuses one. */
static void deliver(struct net_backend *b)
{
	struct net_frame *f;
	while ((f = queue_head(&b->rxq))) {
		if (!b->rx(b->rx_opaque, f->data, f->len))
			return;
		atomic_fetch_add(&b->stats.rx_frames, 1);
		atomic_fetch_add(&b->stats.rx_bytes, f->len);
		queue_pop(&b->rxq);
	}
}

void net_backend_receive(struct net_backend *b, const uint8_t *frame, size_t len)
{
	if (len == 0 || len > NET_FRAME_MAX) {
		atomic_fetch_add(&b->stats.rx_dropped, 1);
		return;
	}
	if (!b->rxq.count && b->rx(b->rx_opaque, frame, len)) {
		atomic_fetch_add(&b->stats.rx_frames, 1);
		atomic_fetch_add(&b->stats.rx_bytes, len);
		return;
	}
	struct net_frame *f = queue_tail(&b->rxq);
	if (!f) {
		atomic_fetch_add(&b->stats.rx_dropped, 1);
		return;
	}
	memcpy(f->data, frame, len);
	f->len = (uint16_t)len;
	b->rxq.count++;
}

/* The loop's side of the eventfd: push what the guest sent to the host,
 * then offer refused frames to the NIC again. */
static void on_kick(void *opaque, int fd, uint32_t events)
{
	struct net_backend *b = opaque;
	uint64_t v;
	ssize_t r = read(fd, &v, sizeof(v));
	(void)r;
	(void)events;
	/* Bounded: at most one queue's worth per wake-up, so a guest that
	 * transmits without pause cannot starve the rest of the loop. */
	for (unsigned n = 0; n < NET_QUEUE_FRAMES; n++) {
		struct net_frame f;
		pthread_mutex_lock(&b->tx_lock);
		struct net_frame *h = queue_head(&b->txq);
		if (!h) {
			pthread_mutex_unlock(&b->tx_lock);
			break;
		}
		f.len = h->len;
		memcpy(f.data, h->data, h->len);
		queue_pop(&b->txq);
		bool more = b->txq.count != 0;
		pthread_mutex_unlock(&b->tx_lock);
		atomic_fetch_add(&b->stats.tx_frames, 1);
		atomic_fetch_add(&b->stats.tx_bytes, f.len);
		b->ops->transmit(b, f.data, f.len);
		if (!more)
			break;
		if (n + 1 == NET_QUEUE_FRAMES)
			kick(b); /* the rest on the next turn */
	}
	unsigned before = b->rxq.count;
	deliver(b);
	if (b->rxq.count < before || !b->rxq.count)
		if (b->ops->rx_resume)
			b->ops->rx_resume(b);
}

struct net_backend *net_backend_create(struct evloop *loop, const struct vm_net *cfg,
				       net_rx_fn rx, void *rx_opaque, char *err, size_t errlen)
{
	struct net_backend *b = calloc(1, sizeof(*b));
	if (!b) {
		snprintf(err, errlen, "--net: out of memory");
		return NULL;
	}
	b->ops = cfg->kind == VM_NET_TAP ? &net_tap_ops : &net_slirp_ops;
	b->loop = loop;
	b->rx = rx;
	b->rx_opaque = rx_opaque;
	b->kick_fd = -1;
	pthread_mutex_init(&b->tx_lock, NULL);
	if (queue_init(&b->txq) < 0 || queue_init(&b->rxq) < 0) {
		snprintf(err, errlen, "--net: out of memory");
		goto fail;
	}
	b->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (b->kick_fd < 0) {
		snprintf(err, errlen, "--net: eventfd: %s", strerror(errno));
		goto fail;
	}
	int e = evloop_add_fd(loop, b->kick_fd, EPOLLIN, on_kick, b);
	if (e < 0) {
		snprintf(err, errlen, "--net: event loop: %s", strerror(-e));
		goto fail;
	}
	if (b->ops->open(b, cfg, err, errlen) < 0) {
		evloop_del_fd(loop, b->kick_fd);
		goto fail;
	}
	return b;
fail:
	if (b->kick_fd >= 0)
		close(b->kick_fd);
	free(b->txq.slots);
	free(b->rxq.slots);
	pthread_mutex_destroy(&b->tx_lock);
	free(b);
	return NULL;
}

void net_backend_destroy(struct net_backend *b)
{
	if (!b)
		return;
	b->ops->close(b);
	evloop_del_fd(b->loop, b->kick_fd);
	close(b->kick_fd);
	free(b->txq.slots);
	free(b->rxq.slots);
	pthread_mutex_destroy(&b->tx_lock);
	free(b);
}

const struct net_backend_stats *net_backend_stats(const struct net_backend *b)
{
	return &b->stats;
}

const char *net_backend_kind(const struct net_backend *b)
{
	return b->ops->kind;
}

void net_backend_print_stats(const struct net_backend *b, FILE *out)
{
	const struct net_backend_stats *s = &b->stats;
	fprintf(out, "  net %-5s tx %" PRIu64 " frames %" PRIu64 " bytes %" PRIu64
		" dropped; rx %" PRIu64 " frames %" PRIu64 " bytes %" PRIu64 " dropped\n",
		b->ops->kind, atomic_load(&s->tx_frames), atomic_load(&s->tx_bytes),
		atomic_load(&s->tx_dropped), atomic_load(&s->rx_frames),
		atomic_load(&s->rx_bytes), atomic_load(&s->rx_dropped));
}
