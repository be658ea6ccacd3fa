/* Inside the network back ends: the common part (net_backend.c: queues,
 * wake-up, statistics) and what each kind (net_slirp.c, net_tap.c) fills. */
#ifndef RINGVM_NET_INTERNAL_H
#define RINGVM_NET_INTERNAL_H

#include <pthread.h>

#include "ringvm/net.h"

struct net_frame {
	uint16_t len;
	uint8_t data[NET_FRAME_MAX];
};

/* A bounded FIFO of frames (a ring of NET_QUEUE_FRAMES slots). */
struct net_queue {
	struct net_frame *slots;
	unsigned head, count;
};

struct net_backend_ops {
	const char *kind;
	int (*open)(struct net_backend *b, const struct vm_net *cfg, char *err, size_t errlen);
	/* Loop thread: one frame from the guest. */
	void (*transmit)(struct net_backend *b, const uint8_t *frame, size_t len);
	/* Loop thread: the rx queue has room again (TAP resumes reading). */
	void (*rx_resume)(struct net_backend *b);
	void (*close)(struct net_backend *b);
};

struct net_backend {
	const struct net_backend_ops *ops;
	struct evloop *loop;
	net_rx_fn rx;
	void *rx_opaque;
	int kick_fd;                 /* eventfd: tx queued or rx buffers available */
	pthread_mutex_t tx_lock;
	struct net_queue txq;        /* guest -> host, filled on any thread */
	struct net_queue rxq;        /* host -> guest, loop thread only */
	struct net_backend_stats stats;
	void *priv;                  /* the kind's state */
};

extern const struct net_backend_ops net_slirp_ops;
extern const struct net_backend_ops net_tap_ops;

/* Loop thread: a frame for the guest.  Offered to the NIC at once when
 * nothing is queued before it, else queued (dropped and counted when the
 * queue is full). */
void net_backend_receive(struct net_backend *b, const uint8_t *frame, size_t len);
/* Loop thread: how many more frames the rx queue takes. */
unsigned net_backend_rx_room(const struct net_backend *b);

#endif
