/* The vsock host side (include/ringvm/vsock.h): stream connections between
 * the guest and Unix sockets on the host, in Firecracker's convention
 * (docs/vsock.md in Firecracker's repository), with virtio-vsock's credit
 * flow control (Virtio 1.2 section 5.10.6.3).
 *
 * Each connection has a host socket and a pair of ports: local_port on the
 * host's side (CID 2) and peer_port on the guest's.  What the guest should
 * receive is not queued as packets: a connection carries "pending" bits
 * (RESPONSE, REQUEST, RST, SHUTDOWN, CREDIT_UPDATE) and a "readable" flag,
 * and vsock_host_rx() turns them into the next packet, reading host data
 * straight into the guest's buffer only while the guest has credit.  RSTs
 * for packets that match no connection go through a small ring.  So memory
 * per connection is bounded (its handshake line and the bytes the host
 * socket did not take yet, at most the credit ringvm gave the guest). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ringvm/evloop.h"
#include "ringvm/log.h"
#include "ringvm/vsock.h"

#define PEND_REQUEST  1u
#define PEND_RESPONSE 2u
#define PEND_RST      4u
#define PEND_SHUTDOWN 8u
#define PEND_CREDIT   16u

#define HANDSHAKE_MAX 32           /* "CONNECT 4294967295\n" fits */
#define LOCAL_PORT_BASE (1u << 30) /* host ports for host-initiated connections */
#define RST_RING 64

enum vc_state {
	VC_HANDSHAKE,      /* host connected, reading "CONNECT <port>\n" */
	VC_CONNECTING,     /* REQUEST sent to the guest, waiting for RESPONSE */
	VC_ESTABLISHED,
};

struct vsock_conn {
	struct vsock_host *h;
	int fd;
	enum vc_state state;
	uint32_t local_port, peer_port;
	unsigned pending;
	uint32_t shutdown_flags;   /* for PEND_SHUTDOWN */
	bool readable;             /* the host socket may have data (EPOLLIN seen) */
	bool host_eof;
	bool guest_shut_send;      /* the guest will send no more */
	uint32_t events;           /* what the fd is registered for */
	/* Credit (5.10.6.3).  Guest -> host: rx_cnt bytes received, fwd_cnt
	 * written to the host socket, last_fwd the fwd_cnt last told.  Host ->
	 * guest: tx_cnt bytes sent, the guest's buf_alloc and fwd_cnt. */
	uint32_t rx_cnt, fwd_cnt, last_fwd;
	uint32_t tx_cnt, peer_buf_alloc, peer_fwd_cnt;
	uint8_t *out;              /* bytes the host socket did not take yet */
	uint32_t out_len;
	char hs[HANDSHAKE_MAX];
	unsigned hs_len;
};

struct vsock_host {
	pthread_mutex_t lock;
	struct evloop *loop;
	uint32_t guest_cid;
	char path[108];
	int listen_fd;
	vsock_rx_kick_fn kick;
	void *kick_opaque;
	struct vsock_conn *conns[VSOCK_MAX_CONNS];
	unsigned nr_conns;
	unsigned rr;               /* round-robin start for rx */
	uint32_t next_local_port;
	struct vsock_hdr rst[RST_RING];
	unsigned rst_head, rst_count;
	struct vsock_host_stats stats;
};

/* ---- header ------------------------------------------------------------ */

static uint64_t get_le(const uint8_t *b, unsigned n)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)b[i] << (8 * i);
	return v;
}

static void put_le(uint8_t *b, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * i));
}

int vsock_hdr_parse(const uint8_t *b, size_t len, struct vsock_hdr *h)
{
	if (len < VSOCK_HDR_SIZE)
		return -1;
	h->src_cid = get_le(b, 8);
	h->dst_cid = get_le(b + 8, 8);
	h->src_port = (uint32_t)get_le(b + 16, 4);
	h->dst_port = (uint32_t)get_le(b + 20, 4);
	h->len = (uint32_t)get_le(b + 24, 4);
	h->type = (uint16_t)get_le(b + 28, 2);
	h->op = (uint16_t)get_le(b + 30, 2);
	h->flags = (uint32_t)get_le(b + 32, 4);
	h->buf_alloc = (uint32_t)get_le(b + 36, 4);
	h->fwd_cnt = (uint32_t)get_le(b + 40, 4);
	return 0;
}

void vsock_hdr_write(uint8_t b[VSOCK_HDR_SIZE], const struct vsock_hdr *h)
{
	put_le(b, h->src_cid, 8);
	put_le(b + 8, h->dst_cid, 8);
	put_le(b + 16, h->src_port, 4);
	put_le(b + 20, h->dst_port, 4);
	put_le(b + 24, h->len, 4);
	put_le(b + 28, h->type, 2);
	put_le(b + 30, h->op, 2);
	put_le(b + 32, h->flags, 4);
	put_le(b + 36, h->buf_alloc, 4);
	put_le(b + 40, h->fwd_cnt, 4);
}

/* ---- connections ------------------------------------------------------- */

static void on_conn_event(void *opaque, int fd, uint32_t events);
static bool rx_pending_locked(struct vsock_host *h);

static void set_events(struct vsock_conn *c, uint32_t ev)
{
	if (c->fd < 0 || c->events == ev)
		return;
	if (evloop_mod_fd(c->h->loop, c->fd, ev) == 0)
		c->events = ev;
}

/* What the fd should wait for: input while ringvm wants to read it (the
 * handshake, or data the guest has credit for and that is not already
 * known to be there), output while bytes wait for the host socket. */
static void update_events(struct vsock_conn *c)
{
	uint32_t ev = 0;
	if (c->state == VC_HANDSHAKE || (c->state == VC_ESTABLISHED && !c->readable && !c->host_eof))
		ev |= EPOLLIN;
	if (c->out_len)
		ev |= EPOLLOUT;
	/* Without EPOLLIN, a hung-up socket would still report EPOLLHUP at
	 * every turn (level-triggered) while the guest has no credit: edge. */
	if (!(ev & EPOLLIN))
		ev |= EPOLLET;
	set_events(c, ev);
}

static struct vsock_conn *conn_new(struct vsock_host *h, int fd, enum vc_state state)
{
	if (h->nr_conns == VSOCK_MAX_CONNS)
		return NULL;
	struct vsock_conn *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->h = h;
	c->fd = fd;
	c->state = state;
	c->events = EPOLLIN;
	if (evloop_add_fd(h->loop, fd, EPOLLIN, on_conn_event, c) < 0) {
		free(c);
		return NULL;
	}
	h->conns[h->nr_conns++] = c;
	return c;
}

static void conn_free(struct vsock_host *h, struct vsock_conn *c)
{
	for (unsigned i = 0; i < h->nr_conns; i++)
		if (h->conns[i] == c) {
			h->conns[i] = h->conns[--h->nr_conns];
			break;
		}
	if (c->fd >= 0) {
		evloop_del_fd(h->loop, c->fd);
		close(c->fd);
	}
	free(c->out);
	free(c);
}

static struct vsock_conn *conn_find(struct vsock_host *h, uint32_t local, uint32_t peer)
{
	for (unsigned i = 0; i < h->nr_conns; i++) {
		struct vsock_conn *c = h->conns[i];
		if (c->state != VC_HANDSHAKE && c->local_port == local && c->peer_port == peer)
			return c;
	}
	return NULL;
}

/* The host side is finished with c: tell the guest (RST) and close the
 * socket now; the connection stays until the RST is pulled. */
static void conn_close(struct vsock_host *h, struct vsock_conn *c)
{
	if (c->state == VC_HANDSHAKE) {
		conn_free(h, c);
		return;
	}
	if (c->fd >= 0) {
		evloop_del_fd(h->loop, c->fd);
		close(c->fd);
		c->fd = -1;
	}
	c->pending = PEND_RST;
	c->readable = false;
	c->out_len = 0;
}

/* ... because something went wrong (counted for --stats). */
static void conn_reset(struct vsock_host *h, struct vsock_conn *c)
{
	h->stats.resets++;
	conn_close(h, c);
}

static void queue_rst(struct vsock_host *h, const struct vsock_hdr *in)
{
	h->stats.resets++;
	if (in->op == VSOCK_OP_RST || h->rst_count == RST_RING)
		return; /* never answer an RST; a full ring drops */
	struct vsock_hdr *r = &h->rst[(h->rst_head + h->rst_count++) % RST_RING];
	*r = (struct vsock_hdr){ .src_cid = VSOCK_HOST_CID, .dst_cid = h->guest_cid,
				 .src_port = in->dst_port, .dst_port = in->src_port,
				 .type = VSOCK_TYPE_STREAM, .op = VSOCK_OP_RST,
				 .buf_alloc = VSOCK_BUF_ALLOC };
}

/* Write what is buffered for the host socket; count what it took. */
static void flush_out(struct vsock_host *h, struct vsock_conn *c)
{
	while (c->out_len && c->fd >= 0) {
		ssize_t n = send(c->fd, c->out, c->out_len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				break;
			conn_reset(h, c);
			return;
		}
		memmove(c->out, c->out + n, c->out_len - (size_t)n);
		c->out_len -= (uint32_t)n;
		c->fwd_cnt += (uint32_t)n;
		h->stats.tx_bytes += (uint64_t)n;
	}
	if (!c->out_len && c->guest_shut_send && c->fd >= 0)
		shutdown(c->fd, SHUT_WR);
	/* Tell the guest about freed space once a quarter of it is back. */
	if (c->fwd_cnt - c->last_fwd >= VSOCK_BUF_ALLOC / 4)
		c->pending |= PEND_CREDIT;
	update_events(c);
}

/* ---- the host's Unix sockets ------------------------------------------- */

/* "CONNECT <port>\n", read one byte at a time so that data the host sends
 * after the line stays in the socket for the guest. */
static void handshake(struct vsock_host *h, struct vsock_conn *c)
{
	for (;;) {
		char ch;
		ssize_t n = recv(c->fd, &ch, 1, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
		if (n <= 0) {
			conn_free(h, c);
			return;
		}
		if (ch != '\n') {
			if (c->hs_len + 1 >= HANDSHAKE_MAX) {
				conn_free(h, c);
				return;
			}
			c->hs[c->hs_len++] = ch;
			continue;
		}
		c->hs[c->hs_len] = 0;
		char *end;
		if (strncmp(c->hs, "CONNECT ", 8) || c->hs[8] < '0' || c->hs[8] > '9') {
			conn_free(h, c);
			return;
		}
		unsigned long port = strtoul(c->hs + 8, &end, 10);
		if (*end || port > UINT32_MAX) {
			conn_free(h, c);
			return;
		}
		/* A host port not in use by another connection. */
		uint32_t local;
		bool used;
		do {
			local = h->next_local_port++;
			if (h->next_local_port < LOCAL_PORT_BASE)
				h->next_local_port = LOCAL_PORT_BASE;
			used = false;
			for (unsigned i = 0; i < h->nr_conns; i++)
				used |= h->conns[i]->state != VC_HANDSHAKE &&
					h->conns[i]->local_port == local;
		} while (used);
		c->local_port = local;
		c->peer_port = (uint32_t)port;
		c->state = VC_CONNECTING;
		c->pending = PEND_REQUEST;
		h->stats.conns_host++;
		update_events(c);
		return;
	}
}

static void on_conn_event(void *opaque, int fd, uint32_t events)
{
	struct vsock_conn *c = opaque;
	struct vsock_host *h = c->h;
	(void)fd;
	pthread_mutex_lock(&h->lock);
	if (c->state == VC_HANDSHAKE) {
		handshake(h, c);
	} else {
		if (events & EPOLLOUT)
			flush_out(h, c);
		if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && c->fd >= 0 &&
		    c->state == VC_ESTABLISHED) {
			c->readable = true;     /* vsock_host_rx reads it */
			update_events(c);
		} else if ((events & (EPOLLHUP | EPOLLERR)) && c->state == VC_CONNECTING) {
			conn_reset(h, c);       /* host gave up before the guest answered */
		}
	}
	bool kick = rx_pending_locked(h);
	pthread_mutex_unlock(&h->lock);
	if (kick && h->kick)
		h->kick(h->kick_opaque);
}

static void on_listen(void *opaque, int fd, uint32_t events)
{
	struct vsock_host *h = opaque;
	(void)events;
	for (unsigned n = 0; n < 16; n++) {
		int s = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (s < 0)
			return;
		pthread_mutex_lock(&h->lock);
		if (!conn_new(h, s, VC_HANDSHAKE))
			close(s);   /* too many connections: the host sees EOF */
		pthread_mutex_unlock(&h->lock);
	}
}

/* The guest asked for host port P: connect to "<path>_<P>". */
static void guest_connect(struct vsock_host *h, const struct vsock_hdr *in)
{
	if (conn_find(h, in->dst_port, in->src_port)) {
		queue_rst(h, in);   /* a second REQUEST on a live pair */
		return;
	}
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%u", h->path, in->dst_port);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (n < 0 || (size_t)n >= sizeof(sa.sun_path) || fd < 0 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (fd >= 0)
			close(fd);
		queue_rst(h, in);
		return;
	}
	struct vsock_conn *c = conn_new(h, fd, VC_ESTABLISHED);
	if (!c) {
		close(fd);
		queue_rst(h, in);
		return;
	}
	c->local_port = in->dst_port;
	c->peer_port = in->src_port;
	c->peer_buf_alloc = in->buf_alloc;
	c->peer_fwd_cnt = in->fwd_cnt;
	c->pending = PEND_RESPONSE;
	h->stats.conns_guest++;
}

/* ---- guest -> host ----------------------------------------------------- */

void vsock_host_tx(struct vsock_host *h, const struct vsock_hdr *in, const uint8_t *payload,
		   size_t len)
{
	pthread_mutex_lock(&h->lock);
	if (in->src_cid != h->guest_cid || in->dst_cid != VSOCK_HOST_CID || in->len != len ||
	    len > VSOCK_MAX_PAYLOAD) {
		h->stats.bad_packets++;     /* not for us, or lying about its size: drop */
		goto out;
	}
	if (in->type != VSOCK_TYPE_STREAM) {
		h->stats.bad_packets++;
		queue_rst(h, in);
		goto out;
	}
	struct vsock_conn *c = conn_find(h, in->dst_port, in->src_port);
	if (in->op == VSOCK_OP_REQUEST) {
		if (c)
			conn_reset(h, c);
		else
			guest_connect(h, in);
		goto out;
	}
	if (!c || c->pending & PEND_RST) {
		if (in->op != VSOCK_OP_RST)
			queue_rst(h, in);
		goto out;
	}
	c->peer_buf_alloc = in->buf_alloc;
	c->peer_fwd_cnt = in->fwd_cnt;
	switch (in->op) {
	case VSOCK_OP_RESPONSE:
		if (c->state != VC_CONNECTING) {
			conn_reset(h, c);
			break;
		}
		c->state = VC_ESTABLISHED;
		char ok[24];
		int n = snprintf(ok, sizeof(ok), "OK %u\n", c->local_port);
		if (send(c->fd, ok, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) != n)
			conn_reset(h, c);   /* a fresh socket takes 15 bytes, or the host left */
		else
			update_events(c);
		break;
	case VSOCK_OP_RST:
		conn_free(h, c);
		break;
	case VSOCK_OP_RW:
		if (c->state != VC_ESTABLISHED || c->guest_shut_send) {
			conn_reset(h, c);
			break;
		}
		/* 5.10.6.3.1: the guest may not send beyond the space ringvm
		 * advertised; a guest that does loses the connection. */
		if ((uint64_t)(c->rx_cnt - c->fwd_cnt) + len > VSOCK_BUF_ALLOC) {
			h->stats.bad_packets++;
			conn_reset(h, c);
			break;
		}
		c->rx_cnt += (uint32_t)len;
		if (len) {
			if (!c->out) {
				c->out = malloc(VSOCK_BUF_ALLOC);
				if (!c->out) {
					conn_reset(h, c);
					break;
				}
			}
			memcpy(c->out + c->out_len, payload, len);
			c->out_len += (uint32_t)len;
			flush_out(h, c);
		}
		break;
	case VSOCK_OP_SHUTDOWN:
		if (c->state != VC_ESTABLISHED) {
			conn_reset(h, c);
			break;
		}
		if ((in->flags & (VSOCK_SHUTDOWN_RCV | VSOCK_SHUTDOWN_SEND)) ==
		    (VSOCK_SHUTDOWN_RCV | VSOCK_SHUTDOWN_SEND)) {
			/* Both ways: the guest waits for our RST (Firecracker does
			 * the same); bytes still buffered for the host are lost. */
			conn_close(h, c);
			break;
		}
		if (in->flags & VSOCK_SHUTDOWN_SEND) {
			c->guest_shut_send = true;
			if (!c->out_len)
				shutdown(c->fd, SHUT_WR);
		}
		break;
	case VSOCK_OP_CREDIT_UPDATE:
		update_events(c);   /* more credit: reading may resume */
		break;
	case VSOCK_OP_CREDIT_REQUEST:
		c->pending |= PEND_CREDIT;
		break;
	default:
		h->stats.bad_packets++;
		conn_reset(h, c);
		break;
	}
out:
	pthread_mutex_unlock(&h->lock);
}

/* ---- host -> guest ----------------------------------------------------- */

static uint32_t peer_credit(const struct vsock_conn *c)
{
	uint32_t in_flight = c->tx_cnt - c->peer_fwd_cnt;
	return in_flight >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - in_flight;
}

static bool conn_has_rx(const struct vsock_conn *c)
{
	if (c->pending)
		return true;
	return c->state == VC_ESTABLISHED && c->readable && peer_credit(c) > 0;
}

static bool rx_pending_locked(struct vsock_host *h)
{
	if (h->rst_count)
		return true;
	for (unsigned i = 0; i < h->nr_conns; i++)
		if (conn_has_rx(h->conns[i]))
			return true;
	return false;
}

bool vsock_host_rx_pending(struct vsock_host *h)
{
	pthread_mutex_lock(&h->lock);
	bool r = rx_pending_locked(h);
	pthread_mutex_unlock(&h->lock);
	return r;
}

static void fill_hdr(struct vsock_host *h, struct vsock_conn *c, struct vsock_hdr *o,
		     uint16_t op)
{
	*o = (struct vsock_hdr){ .src_cid = VSOCK_HOST_CID, .dst_cid = h->guest_cid,
				 .src_port = c->local_port, .dst_port = c->peer_port,
				 .type = VSOCK_TYPE_STREAM, .op = op,
				 .buf_alloc = VSOCK_BUF_ALLOC, .fwd_cnt = c->fwd_cnt };
	c->last_fwd = c->fwd_cnt;
}

/* One packet from c, if it has one. */
static bool conn_rx(struct vsock_host *h, struct vsock_conn *c, struct vsock_hdr *o,
		    uint8_t *payload, size_t max)
{
	if (c->pending & PEND_RST) {
		fill_hdr(h, c, o, VSOCK_OP_RST);
		conn_free(h, c);
		return true;
	}
	if (c->pending & PEND_REQUEST) {
		c->pending &= ~PEND_REQUEST;
		fill_hdr(h, c, o, VSOCK_OP_REQUEST);
		return true;
	}
	if (c->pending & PEND_RESPONSE) {
		c->pending &= ~PEND_RESPONSE;
		fill_hdr(h, c, o, VSOCK_OP_RESPONSE);
		return true;
	}
	if (c->state == VC_ESTABLISHED && c->readable && max) {
		uint32_t credit = peer_credit(c);
		if (credit) {
			size_t want = max < credit ? max : credit;
			if (want > VSOCK_MAX_PAYLOAD)
				want = VSOCK_MAX_PAYLOAD;
			ssize_t n = recv(c->fd, payload, want, MSG_DONTWAIT);
			if (n > 0) {
				fill_hdr(h, c, o, VSOCK_OP_RW);
				o->len = (uint32_t)n;
				c->tx_cnt += (uint32_t)n;
				c->pending &= ~PEND_CREDIT;
				h->stats.rx_bytes += (uint64_t)n;
				return true;
			}
			c->readable = false;
			if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
				/* The host closed (or broke) its side: nothing more
				 * will come from the host. */
				c->host_eof = true;
				c->pending |= PEND_SHUTDOWN;
				c->shutdown_flags = VSOCK_SHUTDOWN_RCV | VSOCK_SHUTDOWN_SEND;
			}
			update_events(c);
		}
	}
	if (c->pending & PEND_SHUTDOWN) {
		c->pending &= ~PEND_SHUTDOWN;
		fill_hdr(h, c, o, VSOCK_OP_SHUTDOWN);
		o->flags = c->shutdown_flags;
		return true;
	}
	if (c->pending & PEND_CREDIT) {
		c->pending &= ~PEND_CREDIT;
		fill_hdr(h, c, o, VSOCK_OP_CREDIT_UPDATE);
		return true;
	}
	return false;
}

int vsock_host_rx(struct vsock_host *h, struct vsock_hdr *o, uint8_t *payload, size_t max)
{
	int got = 0;
	pthread_mutex_lock(&h->lock);
	if (h->rst_count) {
		*o = h->rst[h->rst_head];
		h->rst_head = (h->rst_head + 1) % RST_RING;
		h->rst_count--;
		got = 1;
		goto out;
	}
	/* Round robin, so one busy connection cannot starve the others.  A
	 * pass may free connections (RST sent): bounded by the count at start. */
	for (unsigned n = h->nr_conns, i = 0; i < n && h->nr_conns; i++) {
		unsigned k = (h->rr + i) % h->nr_conns;
		struct vsock_conn *c = h->conns[k];
		if (conn_rx(h, c, o, payload, max)) {
			h->rr = k + 1;
			got = 1;
			break;
		}
	}
out:
	pthread_mutex_unlock(&h->lock);
	return got;
}

/* ---- lifetime ---------------------------------------------------------- */

struct vsock_host *vsock_host_create(struct evloop *loop, uint32_t guest_cid,
				     const char *uds_path, vsock_rx_kick_fn kick, void *opaque,
				     char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(uds_path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "--vsock uds=%s: path too long", uds_path);
		return NULL;
	}
	struct vsock_host *h = calloc(1, sizeof(*h));
	if (!h) {
		snprintf(err, errlen, "--vsock: out of memory");
		return NULL;
	}
	pthread_mutex_init(&h->lock, NULL);
	h->loop = loop;
	h->guest_cid = guest_cid;
	h->kick = kick;
	h->kick_opaque = opaque;
	h->next_local_port = LOCAL_PORT_BASE;
	snprintf(h->path, sizeof(h->path), "%s", uds_path);
	memcpy(sa.sun_path, uds_path, strlen(uds_path) + 1);
	h->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (h->listen_fd < 0) {
		snprintf(err, errlen, "--vsock uds=%s: socket: %s", uds_path, strerror(errno));
		goto fail;
	}
	/* A stale socket from an earlier run is replaced (Firecracker asks the
	 * user to remove it); anything else at the path is left alone. */
	struct stat st;
	if (lstat(uds_path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(uds_path);
	if (bind(h->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(h->listen_fd, 64) < 0) {
		snprintf(err, errlen, "--vsock uds=%s: %s", uds_path, strerror(errno));
		goto fail;
	}
	int e = evloop_add_fd(loop, h->listen_fd, EPOLLIN, on_listen, h);
	if (e < 0) {
		snprintf(err, errlen, "--vsock: event loop: %s", strerror(-e));
		unlink(uds_path);
		goto fail;
	}
	return h;
fail:
	if (h->listen_fd >= 0)
		close(h->listen_fd);
	pthread_mutex_destroy(&h->lock);
	free(h);
	return NULL;
}

void vsock_host_reset(struct vsock_host *h)
{
	pthread_mutex_lock(&h->lock);
	while (h->nr_conns)
		conn_free(h, h->conns[h->nr_conns - 1]);
	h->rst_count = 0;
	pthread_mutex_unlock(&h->lock);
}

void vsock_host_destroy(struct vsock_host *h)
{
	if (!h)
		return;
	vsock_host_reset(h);
	evloop_del_fd(h->loop, h->listen_fd);
	close(h->listen_fd);
	unlink(h->path);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

void vsock_host_get_stats(struct vsock_host *h, struct vsock_host_stats *s)
{
	pthread_mutex_lock(&h->lock);
	*s = h->stats;
	pthread_mutex_unlock(&h->lock);
}
