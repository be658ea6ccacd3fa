/* The fd engine shared by the char back ends: input with back pressure on the
 * event loop, bounded output on the caller's (vCPU) thread. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chardev_fd.h"
#include "ringvm/compiler.h"
#include "ringvm/evloop.h"
#include "ringvm/log.h"

static void chardev_fd_kick(struct chardev_fd *f)
{
	uint64_t one = 1;
	if (f->wake_fd >= 0 && write(f->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		pr_debug("chardev: wake: %s", strerror(errno));
}

static void chardev_fd_on_input(void *opaque, int fd, uint32_t events);

static void chardev_fd_unregister(struct chardev_fd *f)
{
	if (f->in_registered) {
		evloop_del_fd(f->loop, f->in_fd);
		f->in_registered = false;
	}
}

static void chardev_fd_register(struct chardev_fd *f)
{
	if (f->in_registered || f->in_pump || f->in_eof || f->in_fd < 0)
		return;
	int r = evloop_add_fd(f->loop, f->in_fd, EPOLLIN, chardev_fd_on_input, f);
	if (r == -EPERM) {
		/* A regular file or /dev/null: epoll cannot watch it, but reads
		 * never block, so pump it through the wake eventfd instead. */
		f->in_pump = true;
		chardev_fd_kick(f);
		return;
	}
	if (r < 0) {
		pr_warn("chardev: cannot watch input fd %d: %s", f->in_fd, strerror(-r));
		f->in_eof = true;
		return;
	}
	f->in_registered = true;
}

/* Offer pending input to the front end; stop reading the fd while the front
 * end is full (removing it from epoll rather than masking events, because a
 * hung-up fd reports EPOLLHUP regardless of the mask). */
static void chardev_fd_deliver(struct chardev_fd *f)
{
	struct chardev_frontend *fe = &f->base.fe;
	while (f->pend_off < f->pend_len && fe->receive) {
		size_t n = fe->receive(fe->opaque, f->pend + f->pend_off,
				       f->pend_len - f->pend_off);
		if (n == 0)
			break;
		if (n > f->pend_len - f->pend_off)
			n = f->pend_len - f->pend_off;
		f->pend_off += n;
		atomic_fetch_add(&f->base.rx_bytes, n);
	}
	if (f->pend_off < f->pend_len) {
		chardev_fd_unregister(f);  /* wait for chardev_wake_input() */
		return;
	}
	f->pend_off = f->pend_len = 0;
	if (f->in_pump && !f->in_eof)
		chardev_fd_kick(f);        /* read the next chunk next iteration */
	else
		chardev_fd_register(f);
}

static void chardev_fd_eof(struct chardev_fd *f)
{
	chardev_fd_unregister(f);
	f->in_eof = true;
	if (f->on_eof)
		f->on_eof(f);
}

/* Read one chunk from the input fd into the (empty) pending buffer. */
static void chardev_fd_read_chunk(struct chardev_fd *f)
{
	uint8_t raw[CHARDEV_FD_CHUNK];
	if (f->pend_off < f->pend_len || f->in_fd < 0 || f->in_eof)
		return;
	ssize_t r = read(f->in_fd, raw, sizeof(raw));
	if (r < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		pr_debug("chardev: input: %s", strerror(errno));
		chardev_fd_eof(f);
		return;
	}
	if (r == 0) {
		chardev_fd_eof(f);  /* EOF is normal: stdin closed, client left */
		return;
	}
	if (f->filter) {
		f->pend_len = f->filter(f, raw, (size_t)r, f->pend);
	} else {
		memcpy(f->pend, raw, (size_t)r);
		f->pend_len = (size_t)r;
	}
	f->pend_off = 0;
	chardev_fd_deliver(f);
}

static void chardev_fd_on_input(void *opaque, int fd, uint32_t events)
{
	struct chardev_fd *f = opaque;
	(void)fd;
	(void)events;
	chardev_fd_read_chunk(f);
}

static void chardev_fd_on_wake(void *opaque, int fd, uint32_t events)
{
	struct chardev_fd *f = opaque;
	uint64_t v;
	(void)events;
	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		pr_debug("chardev: wake read: %s", strerror(errno));
	if (f->pend_off < f->pend_len) {
		chardev_fd_deliver(f);
		return;
	}
	if (f->in_pump)
		chardev_fd_read_chunk(f);
	else
		chardev_fd_register(f);
}

int chardev_fd_init(struct chardev_fd *f, struct evloop *loop,
		    const struct chardev_frontend *fe)
{
	f->loop = loop;
	f->in_fd = f->out_fd = f->wake_fd = -1;
	if (fe)
		f->base.fe = *fe;
	int r = pthread_mutex_init(&f->out_lock, NULL);
	if (r)
		return -r;
	if (!loop)
		return 0;
	f->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (f->wake_fd < 0) {
		r = -errno;
		pthread_mutex_destroy(&f->out_lock);
		return r;
	}
	r = evloop_add_fd(loop, f->wake_fd, EPOLLIN, chardev_fd_on_wake, f);
	if (r < 0) {
		close(f->wake_fd);
		f->wake_fd = -1;
		pthread_mutex_destroy(&f->out_lock);
	}
	return r;
}

int chardev_fd_set_input(struct chardev_fd *f, int fd)
{
	if (!f->loop)
		return -EINVAL;
	chardev_fd_drop_input(f);
	f->in_fd = fd;
	f->in_eof = false;
	f->in_pump = false;
	chardev_fd_register(f);
	return f->in_eof ? -EIO : 0;
}

void chardev_fd_drop_input(struct chardev_fd *f)
{
	chardev_fd_unregister(f);
	f->in_fd = -1;
	f->in_pump = false;
	f->pend_off = f->pend_len = 0;
}

void chardev_fd_set_output(struct chardev_fd *f, int fd)
{
	struct stat st;
	bool sock = fd >= 0 && fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
	pthread_mutex_lock(&f->out_lock);
	f->out_fd = fd;
	f->out_is_socket = sock;
	f->out_stalled = false;
	pthread_mutex_unlock(&f->out_lock);
}

void chardev_fd_wake_input(struct chardev *c)
{
	chardev_fd_kick(container_of(c, struct chardev_fd, base));
}

static ssize_t chardev_fd_write_once(struct chardev_fd *f, const uint8_t *buf, size_t len)
{
	if (f->out_is_socket)
		return send(f->out_fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	return write(f->out_fd, buf, len);
}

void chardev_fd_write(struct chardev *c, const uint8_t *buf, size_t len)
{
	struct chardev_fd *f = container_of(c, struct chardev_fd, base);
	size_t done = 0;

	pthread_mutex_lock(&f->out_lock);
	while (f->out_fd >= 0 && done < len) {
		ssize_t r = chardev_fd_write_once(f, buf + done, len - done);
		if (r > 0) {
			done += (size_t)r;
			f->out_stalled = false;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && !f->out_stalled) {
			/* Give a slow reader a moment, once; a stuck one makes
			 * us drop (and count) instead of stalling the guest. */
			struct pollfd p = { .fd = f->out_fd, .events = POLLOUT };
			if (poll(&p, 1, CHARDEV_OUT_WAIT_MS) > 0 && (p.revents & POLLOUT))
				continue;
			f->out_stalled = true;
		}
		break;  /* stalled, EPIPE, EIO...: drop the rest */
	}
	pthread_mutex_unlock(&f->out_lock);
	atomic_fetch_add(&c->tx_bytes, done);
	atomic_fetch_add(&c->tx_dropped, len - done);
}

void chardev_fd_fini(struct chardev_fd *f)
{
	if (f->cleanup)
		f->cleanup(f);
	int in = f->in_fd, out = f->out_fd;
	chardev_fd_drop_input(f);
	if (f->wake_fd >= 0) {
		evloop_del_fd(f->loop, f->wake_fd);
		close(f->wake_fd);
		f->wake_fd = -1;
	}
	if (f->own_fds) {
		if (in >= 0)
			close(in);
		if (out >= 0 && out != in)
			close(out);
	}
	f->out_fd = -1;
	pthread_mutex_destroy(&f->out_lock);
}

/* ---- the plain fd back end -------------------------------------------- */

static void chardev_fd_destroy(struct chardev *c)
{
	struct chardev_fd *f = container_of(c, struct chardev_fd, base);
	chardev_fd_fini(f);
	free(f);
}

static const struct chardev_ops chardev_fd_ops = {
	.kind = "fd",
	.write = chardev_fd_write,
	.wake_input = chardev_fd_wake_input,
	.destroy = chardev_fd_destroy,
};

struct chardev *chardev_fd_open(struct evloop *loop, int in_fd, int out_fd,
				bool own_fds, const struct chardev_frontend *fe)
{
	struct chardev_fd *f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->base.ops = &chardev_fd_ops;
	if (chardev_fd_init(f, in_fd >= 0 ? loop : NULL, fe) < 0) {
		free(f);
		return NULL;
	}
	f->own_fds = own_fds;
	chardev_fd_set_output(f, out_fd);
	if (in_fd >= 0 && chardev_fd_set_input(f, in_fd) < 0) {
		f->in_fd = in_fd;  /* so fini closes it when owned */
		chardev_fd_fini(f);
		free(f);
		return NULL;
	}
	return &f->base;
}
