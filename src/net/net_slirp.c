/* The user-mode network (`--net user`): a TCP/IP stack in ringvm's process,
 * libslirp, the one QEMU uses.  No privileges: DHCP (10.0.2.15), DNS
 * (10.0.2.3), outbound TCP and UDP through ordinary host sockets, the host
 * at 10.0.2.2, and host port forwards in QEMU's syntax.
 *
 * libslirp is poll()-shaped and not thread safe, so it runs only on the
 * event loop's thread.  Its sockets come and go; instead of adding each to
 * the loop, they live in an epoll set of this back end's own, which the
 * loop watches as one fd (level-triggered: it is readable while any socket
 * is ready).  Each turn: collect the ready sockets from the inner set, let
 * slirp_pollfds_poll() act on them, run due timers, then
 * slirp_pollfds_fill() for the next set (synchronised into the inner epoll)
 * and arm a timerfd for the earliest of slirp's timeout and its timers. */
#include <errno.h>
#include <slirp/libslirp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "net_internal.h"
#include "ringvm/evloop.h"
#include "ringvm/vm.h"

#define SLIRP_MAX_TIMERS 16
#define SLIRP_MAX_POLLFDS 1024   /* sockets watched at once; more wait a turn */

struct slirp_timer {
	bool used, armed;
	SlirpTimerCb cb;
	void *cb_opaque;
	int64_t expire_ms;
};

struct slirp_pollfd {
	int fd;
	int events;        /* SLIRP_POLL_* asked for */
	int revents;       /* SLIRP_POLL_* seen this turn */
};

struct net_slirp {
	struct net_backend *b;
	Slirp *slirp;
	int epfd;          /* the inner epoll set (slirp's sockets) */
	int timer_fd;
	struct slirp_pollfd *fds;
	unsigned nr_fds, cap_fds;
	struct slirp_pollfd *old;  /* last turn's set, to remove what left it */
	unsigned nr_old;
	struct slirp_timer timers[SLIRP_MAX_TIMERS];
	bool in_turn;
};

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- libslirp callbacks ------------------------------------------------ */

static ssize_t cb_send_packet(const void *buf, size_t len, void *opaque)
{
	struct net_slirp *s = opaque;
	net_backend_receive(s->b, buf, len);
	return (ssize_t)len;
}

static void cb_guest_error(const char *msg, void *opaque)
{
	(void)opaque;
	pr_debug("net user: guest error: %s", msg);
}

static int64_t cb_clock_get_ns(void *opaque)
{
	(void)opaque;
	return now_ns();
}

static void *cb_timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
	struct net_slirp *s = opaque;
	for (unsigned i = 0; i < SLIRP_MAX_TIMERS; i++)
		if (!s->timers[i].used) {
			s->timers[i] = (struct slirp_timer){ .used = true, .cb = cb,
							     .cb_opaque = cb_opaque };
			return &s->timers[i];
		}
	pr_err("net user: more than %d slirp timers", SLIRP_MAX_TIMERS);
	abort(); /* libslirp makes one or two; more is a programming error */
}

static void cb_timer_free(void *timer, void *opaque)
{
	(void)opaque;
	if (timer)
		memset(timer, 0, sizeof(struct slirp_timer));
}

static void cb_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
	(void)opaque;
	struct slirp_timer *t = timer;
	t->armed = true;
	t->expire_ms = expire_ms;
}

static void cb_register_poll_fd(int fd, void *opaque)
{
	(void)fd;
	(void)opaque;
}

static void cb_unregister_poll_fd(int fd, void *opaque)
{
	(void)fd;
	(void)opaque;
}

static void net_slirp_turn(struct net_slirp *s);

static void cb_notify(void *opaque)
{
	(void)opaque;
	/* Every turn ends with a fresh slirp_pollfds_fill, which picks up
	 * whatever made slirp call this. */
}

static const SlirpCb slirp_callbacks = {
	.send_packet = cb_send_packet,
	.guest_error = cb_guest_error,
	.clock_get_ns = cb_clock_get_ns,
	.timer_new = cb_timer_new,
	.timer_free = cb_timer_free,
	.timer_mod = cb_timer_mod,
	.register_poll_fd = cb_register_poll_fd,
	.unregister_poll_fd = cb_unregister_poll_fd,
	.notify = cb_notify,
};

/* ---- polling ----------------------------------------------------------- */

static int cb_add_poll(int fd, int events, void *opaque)
{
	struct net_slirp *s = opaque;
	if (s->nr_fds == s->cap_fds) {
		if (s->cap_fds >= SLIRP_MAX_POLLFDS)
			return -1; /* slirp treats -1 as "not polled this turn" */
		unsigned cap = s->cap_fds ? s->cap_fds * 2 : 16;
		struct slirp_pollfd *n = realloc(s->fds, cap * sizeof(*n));
		if (!n)
			return -1;
		s->fds = n;
		s->cap_fds = cap;
	}
	s->fds[s->nr_fds] = (struct slirp_pollfd){ .fd = fd, .events = events };
	return (int)s->nr_fds++;
}

static int cb_get_revents(int idx, void *opaque)
{
	struct net_slirp *s = opaque;
	if (idx < 0 || (unsigned)idx >= s->nr_fds)
		return 0;
	return s->fds[idx].revents;
}

static uint32_t to_epoll(int ev)
{
	uint32_t e = 0;
	if (ev & SLIRP_POLL_IN)
		e |= EPOLLIN;
	if (ev & SLIRP_POLL_OUT)
		e |= EPOLLOUT;
	if (ev & SLIRP_POLL_PRI)
		e |= EPOLLPRI;
	return e;
}

static int from_epoll(uint32_t e)
{
	int ev = 0;
	if (e & EPOLLIN)
		ev |= SLIRP_POLL_IN;
	if (e & EPOLLOUT)
		ev |= SLIRP_POLL_OUT;
	if (e & EPOLLPRI)
		ev |= SLIRP_POLL_PRI;
	if (e & EPOLLERR)
		ev |= SLIRP_POLL_ERR;
	if (e & EPOLLHUP)
		ev |= SLIRP_POLL_HUP;
	return ev;
}

/* Make the inner epoll set watch exactly s->fds (duplicates merged).  A fd
 * slirp closed and reopened under the same number is no longer in the set
 * (closing removes it), so MOD fails with ENOENT and it is added again. */
static void sync_epoll(struct net_slirp *s)
{
	for (unsigned i = 0; i < s->nr_fds; i++) {
		uint32_t ev = 0;
		bool first = true;
		for (unsigned j = 0; j < s->nr_fds; j++)
			if (s->fds[j].fd == s->fds[i].fd) {
				if (j < i)
					first = false;
				ev |= to_epoll(s->fds[j].events);
			}
		if (!first)
			continue;
		struct epoll_event e = { .events = ev, .data.fd = s->fds[i].fd };
		if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, s->fds[i].fd, &e) < 0 && errno == ENOENT)
			epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->fds[i].fd, &e);
	}
	for (unsigned i = 0; i < s->nr_old; i++) {
		bool kept = false;
		for (unsigned j = 0; j < s->nr_fds && !kept; j++)
			kept = s->fds[j].fd == s->old[i].fd;
		if (!kept)
			epoll_ctl(s->epfd, EPOLL_CTL_DEL, s->old[i].fd, NULL);
	}
	free(s->old);
	s->old = NULL;
	s->nr_old = 0;
	if (s->nr_fds) {
		s->old = malloc(s->nr_fds * sizeof(*s->old));
		if (s->old) {
			memcpy(s->old, s->fds, s->nr_fds * sizeof(*s->old));
			s->nr_old = s->nr_fds;
		}
	}
}

static void arm_timer(struct net_slirp *s, uint32_t timeout_ms)
{
	int64_t now_ms = now_ns() / 1000000;
	int64_t due = now_ms + timeout_ms;
	for (unsigned i = 0; i < SLIRP_MAX_TIMERS; i++)
		if (s->timers[i].used && s->timers[i].armed && s->timers[i].expire_ms < due)
			due = s->timers[i].expire_ms;
	int64_t delta = due - now_ms;
	if (delta < 1)
		delta = 1;
	struct itimerspec its = {
		.it_value = { .tv_sec = delta / 1000, .tv_nsec = (delta % 1000) * 1000000 },
	};
	timerfd_settime(s->timer_fd, 0, &its, NULL);
}

static void run_timers(struct net_slirp *s)
{
	int64_t now_ms = now_ns() / 1000000;
	for (unsigned i = 0; i < SLIRP_MAX_TIMERS; i++) {
		struct slirp_timer *t = &s->timers[i];
		if (t->used && t->armed && t->expire_ms <= now_ms) {
			t->armed = false;
			t->cb(t->cb_opaque);
		}
	}
}

/* One turn: act on ready sockets and due timers, then ask slirp what to
 * watch next. */
static void net_slirp_turn(struct net_slirp *s)
{
	if (s->in_turn)
		return;
	s->in_turn = true;
	struct epoll_event evs[64];
	int n = epoll_wait(s->epfd, evs, 64, 0);
	for (unsigned i = 0; i < s->nr_fds; i++)
		s->fds[i].revents = 0;
	for (int k = 0; k < n; k++)
		for (unsigned i = 0; i < s->nr_fds; i++)
			if (s->fds[i].fd == evs[k].data.fd)
				s->fds[i].revents = from_epoll(evs[k].events) &
					(s->fds[i].events | SLIRP_POLL_ERR | SLIRP_POLL_HUP);
	slirp_pollfds_poll(s->slirp, n < 0, cb_get_revents, s);
	run_timers(s);
	s->nr_fds = 0;
	uint32_t timeout = 1000;
	slirp_pollfds_fill(s->slirp, &timeout, cb_add_poll, s);
	sync_epoll(s);
	arm_timer(s, timeout);
	s->in_turn = false;
}

static void on_inner(void *opaque, int fd, uint32_t events)
{
	(void)fd;
	(void)events;
	net_slirp_turn(opaque);
}

static void on_timer(void *opaque, int fd, uint32_t events)
{
	(void)events;
	uint64_t v;
	ssize_t r = read(fd, &v, sizeof(v));
	(void)r;
	net_slirp_turn(opaque);
}

/* ---- the back end ------------------------------------------------------ */

static void net_slirp_transmit(struct net_backend *b, const uint8_t *frame, size_t len)
{
	struct net_slirp *s = b->priv;
	slirp_input(s->slirp, frame, (int)len);
	/* The frame may have opened a socket (a guest's connect, DNS query). */
	net_slirp_turn(s);
}

static void net_slirp_close(struct net_backend *b)
{
	struct net_slirp *s = b->priv;
	if (!s)
		return;
	if (s->slirp)
		slirp_cleanup(s->slirp);
	if (s->timer_fd >= 0) {
		evloop_del_fd(b->loop, s->timer_fd);
		close(s->timer_fd);
	}
	if (s->epfd >= 0) {
		evloop_del_fd(b->loop, s->epfd);
		close(s->epfd);
	}
	free(s->fds);
	free(s->old);
	free(s);
	b->priv = NULL;
}

static int net_slirp_open(struct net_backend *b, const struct vm_net *cfg, char *err,
			  size_t errlen)
{
	struct net_slirp *s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "--net user: out of memory");
		return -1;
	}
	s->b = b;
	s->epfd = s->timer_fd = -1;
	b->priv = s;

	SlirpConfig sc = { .version = 1, .in_enabled = true };
	inet_pton(AF_INET, NET_USER_NETWORK, &sc.vnetwork);
	inet_pton(AF_INET, "255.255.255.0", &sc.vnetmask);
	inet_pton(AF_INET, NET_USER_HOST, &sc.vhost);
	inet_pton(AF_INET, NET_USER_GUEST, &sc.vdhcp_start);
	inet_pton(AF_INET, NET_USER_DNS, &sc.vnameserver);
	sc.vhostname = "ringvm-guest";
	sc.if_mtu = 1500;
	sc.if_mru = 1500;

	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	s->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (s->epfd < 0 || s->timer_fd < 0) {
		snprintf(err, errlen, "--net user: %s", strerror(errno));
		goto fail;
	}
	s->slirp = slirp_new(&sc, &slirp_callbacks, s);
	if (!s->slirp) {
		snprintf(err, errlen, "--net user: libslirp could not start");
		goto fail;
	}
	for (unsigned i = 0; i < cfg->nr_hostfwd; i++) {
		struct net_hostfwd f;
		char why[160];
		if (net_hostfwd_parse(cfg->hostfwd[i], &f, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "--net user,hostfwd=%s: %s", cfg->hostfwd[i], why);
			goto fail;
		}
		struct in_addr ha = { f.host_addr }, ga = { f.guest_addr };
		if (slirp_add_hostfwd(s->slirp, f.udp, ha, f.host_port, ga, f.guest_port) < 0) {
			snprintf(err, errlen, "--net user,hostfwd=%s: cannot listen on host port %u "
				 "(in use, or a privileged port?)", cfg->hostfwd[i], f.host_port);
			goto fail;
		}
	}
	int e = evloop_add_fd(b->loop, s->epfd, EPOLLIN, on_inner, s);
	if (e == 0)
		e = evloop_add_fd(b->loop, s->timer_fd, EPOLLIN, on_timer, s);
	if (e < 0) {
		snprintf(err, errlen, "--net user: event loop: %s", strerror(-e));
		goto fail;
	}
	net_slirp_turn(s);
	return 0;
fail:
	net_slirp_close(b);
	return -1;
}

const struct net_backend_ops net_slirp_ops = {
	.kind = "user",
	.open = net_slirp_open,
	.transmit = net_slirp_transmit,
	.close = net_slirp_close,
};
