/* The fd engine shared by the char back ends: input with back pressure on the
 * event loop; output through a bounded ring drained by a writer thread, so a
 * vCPU never waits on a peer. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "chardev_fd.h"
#include "ringvm/compiler.h"
#include "ringvm/evloop.h"
#include "ringvm/log.h"
#include "ringvm/sandbox.h"

static void chardev_fd_kick(struct chardev_fd *f)
{
	uint64_t one = 1;
	if (f->wake_fd >= 0 && write(f->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		pr_debug("chardev: wake: %s", strerror(errno));
}

static void chardev_fd_on_input(void *opaque, int fd, uint32_t events);
static int chardev_fd_writer_start(struct chardev_fd *f);
static void chardev_fd_writer_stop(struct chardev_fd *f);
static void chardev_fd_out_release(struct chardev_fd *f);

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
	int r = chardev_fd_writer_start(f);
	if (r < 0)
		return r;
	if (!loop)
		return 0;
	f->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (f->wake_fd < 0) {
		r = -errno;
		chardev_fd_writer_stop(f);
		chardev_fd_out_release(f);
		return r;
	}
	r = evloop_add_fd(loop, f->wake_fd, EPOLLIN, chardev_fd_on_wake, f);
	if (r < 0) {
		close(f->wake_fd);
		f->wake_fd = -1;
		chardev_fd_writer_stop(f);
		chardev_fd_out_release(f);
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
	while (f->writer_busy)
		pthread_cond_wait(&f->out_cond, &f->out_lock);
	if (f->out_fd != fd) {
		/* What was meant for the old peer is not the new one's. */
		atomic_fetch_add(&f->base.tx_dropped, f->out_len);
		f->out_head = f->out_len = 0;
	}
	f->out_fd = fd;
	f->out_is_socket = sock;
	pthread_cond_broadcast(&f->out_cond);
	pthread_mutex_unlock(&f->out_lock);
}

void chardev_fd_wake_input(struct chardev *c)
{
	chardev_fd_kick(container_of(c, struct chardev_fd, base));
}

/* One write of up to len bytes to fd, on the writer thread with out_lock
 * released: > 0 bytes written, 0 retry (interrupted, or a full non-blocking
 * peer polled for a while), < 0 -errno (EPIPE, EIO: the bytes are lost).
 * CHARDEV_WRITER_SIGNAL interrupts a blocked write() or poll() (EINTR). */
static ssize_t chardev_fd_write_once(int fd, bool sock, const uint8_t *buf, size_t len)
{
	ssize_t r;
	if (sock)
		r = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	else
		r = write(fd, buf, len);  /* may block: a blocking pipe or terminal */
	int e = errno;
	if (r < 0 && (e == EAGAIN || e == EWOULDBLOCK)) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		if (poll(&p, 1, CHARDEV_OUT_WAIT_MS) < 0 && errno != EINTR)
			e = errno;
		else
			r = 0, e = 0;
	}
	if (r < 0 && e == EINTR)
		return 0;
	return r < 0 ? -e : r;
}

static void *chardev_fd_writer(void *arg)
{
	struct chardev_fd *f = arg;
	uint8_t chunk[4096];

	pthread_mutex_lock(&f->out_lock);
	for (;;) {
		while (!f->writer_stop && (f->out_len == 0 || f->out_fd < 0) &&
		       !(f->sandbox && !f->writer_filtered))
			pthread_cond_wait(&f->out_cond, &f->out_lock);
		if (f->sandbox && !f->writer_filtered) {
			/* The VM is set up: filter this thread (one line if not). */
			f->writer_filtered = true;
			pthread_mutex_unlock(&f->out_lock);
			sandbox_enter(f->sandbox, SANDBOX_WRITER);
			pthread_mutex_lock(&f->out_lock);
			continue;
		}
		if (f->out_len == 0 || f->out_fd < 0 || f->writer_abandon)
			break;  /* stopping, and nothing (or nowhere, or no time) to write */
		size_t n = CHARDEV_OUT_BUF - f->out_head;
		if (n > f->out_len)
			n = f->out_len;
		if (n > sizeof(chunk))
			n = sizeof(chunk);
		memcpy(chunk, f->out_buf + f->out_head, n);
		int fd = f->out_fd;
		bool sock = f->out_is_socket;
		f->writer_busy = true;
		pthread_mutex_unlock(&f->out_lock);

		ssize_t r = chardev_fd_write_once(fd, sock, chunk, n);

		pthread_mutex_lock(&f->out_lock);
		f->writer_busy = false;
		pthread_cond_broadcast(&f->out_cond);  /* set_output may wait */
		if (f->out_fd != fd)
			continue;  /* swapped meanwhile: the ring was dropped */
		if (r > 0) {
			f->out_head = (f->out_head + (size_t)r) % CHARDEV_OUT_BUF;
			f->out_len -= (size_t)r;
			atomic_fetch_add(&f->base.tx_bytes, (uint64_t)r);
		} else if (r < 0) {
			/* EPIPE (reader gone), EIO, ENOSPC: what is buffered is
			 * lost; later output is tried again. */
			atomic_fetch_add(&f->base.tx_dropped, f->out_len);
			f->out_head = f->out_len = 0;
		}
	}
	pthread_mutex_unlock(&f->out_lock);
	return NULL;
}

static void chardev_fd_writer_signal_handler(int sig)
{
	(void)sig;  /* only to interrupt a blocked write() with EINTR */
}

/* Install the handler for CHARDEV_WRITER_SIGNAL (no SA_RESTART, so a
 * blocked write() returns EINTR).  Process-wide, like KVM's kick signal;
 * idempotent. */
static void chardev_fd_writer_signal_init(void)
{
	struct sigaction cur;
	if (sigaction(CHARDEV_WRITER_SIGNAL, NULL, &cur) == 0 &&
	    cur.sa_handler == chardev_fd_writer_signal_handler)
		return;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = chardev_fd_writer_signal_handler;
	sigemptyset(&sa.sa_mask);
	if (sigaction(CHARDEV_WRITER_SIGNAL, &sa, NULL) < 0)
		pr_warn("chardev: cannot install the writer's signal handler: %s", strerror(errno));
}

static int chardev_fd_writer_start(struct chardev_fd *f)
{
	f->out_buf = malloc(CHARDEV_OUT_BUF);
	if (!f->out_buf)
		return -ENOMEM;
	int r = pthread_mutex_init(&f->out_lock, NULL);
	if (r) {
		free(f->out_buf);
		f->out_buf = NULL;
		return -r;
	}
	pthread_cond_init(&f->out_cond, NULL);
	chardev_fd_writer_signal_init();
	/* Signals are for the main thread's signalfd: the writer blocks them
	 * all, or SIGTERM could land here and kill the process uncleanly; all
	 * but CHARDEV_WRITER_SIGNAL, which interrupts a write that would never
	 * end (it inherits this mask). */
	sigset_t all, old;
	sigfillset(&all);
	sigdelset(&all, CHARDEV_WRITER_SIGNAL);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&f->writer, NULL, chardev_fd_writer, f);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r) {
		pthread_cond_destroy(&f->out_cond);
		pthread_mutex_destroy(&f->out_lock);
		free(f->out_buf);
		f->out_buf = NULL;
		return -r;
	}
	f->writer_running = true;
	return 0;
}

/* Let the writer drain what is buffered for up to CHARDEV_OUT_FLUSH_MS; a
 * writer still stuck in a write nobody will ever take (a pipe whose reader
 * does not read, a stopped terminal) is then told to abandon the rest and
 * interrupted with CHARDEV_WRITER_SIGNAL until it returns: destroy, and so
 * the exit of ringvm on a signal, never waits on the peer.  (Not
 * pthread_cancel(): a cancelled thread's unwound stack trips ASan.) */
static void chardev_fd_writer_stop(struct chardev_fd *f)
{
	if (!f->writer_running)
		return;
	pthread_mutex_lock(&f->out_lock);
	f->writer_stop = true;
	pthread_cond_broadcast(&f->out_cond);
	pthread_mutex_unlock(&f->out_lock);
	struct timespec dl;
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_nsec += (long)CHARDEV_OUT_FLUSH_MS * 1000000L;
	dl.tv_sec += dl.tv_nsec / 1000000000L;
	dl.tv_nsec %= 1000000000L;
	if (pthread_timedjoin_np(f->writer, NULL, &dl) != 0) {
		pthread_mutex_lock(&f->out_lock);
		f->writer_abandon = true;
		pthread_mutex_unlock(&f->out_lock);
		/* The signal may land just before the writer enters write():
		 * repeat it until the writer is gone. */
		for (;;) {
			pthread_kill(f->writer, CHARDEV_WRITER_SIGNAL);
			clock_gettime(CLOCK_REALTIME, &dl);
			dl.tv_nsec += 20 * 1000000L;
			dl.tv_sec += dl.tv_nsec / 1000000000L;
			dl.tv_nsec %= 1000000000L;
			if (pthread_timedjoin_np(f->writer, NULL, &dl) == 0)
				break;
		}
		pthread_mutex_lock(&f->out_lock);
		atomic_fetch_add(&f->base.tx_dropped, f->out_len);
		f->out_head = f->out_len = 0;
		pthread_mutex_unlock(&f->out_lock);
	}
	f->writer_running = false;
}

/* After chardev_fd_writer_stop(): free what chardev_fd_writer_start made. */
static void chardev_fd_out_release(struct chardev_fd *f)
{
	if (!f->out_buf)
		return;
	pthread_cond_destroy(&f->out_cond);
	pthread_mutex_destroy(&f->out_lock);
	free(f->out_buf);
	f->out_buf = NULL;
}

/* On the vCPU thread: copy into the ring, never touch the fd. */
void chardev_fd_write(struct chardev *c, const uint8_t *buf, size_t len)
{
	struct chardev_fd *f = container_of(c, struct chardev_fd, base);
	size_t take = 0;

	pthread_mutex_lock(&f->out_lock);
	if (f->out_fd >= 0 && f->writer_running && !f->writer_stop) {
		take = CHARDEV_OUT_BUF - f->out_len;
		if (take > len)
			take = len;
		for (size_t done = 0; done < take;) {
			size_t tail = (f->out_head + f->out_len) % CHARDEV_OUT_BUF;
			size_t n = CHARDEV_OUT_BUF - tail;
			if (n > take - done)
				n = take - done;
			memcpy(f->out_buf + tail, buf + done, n);
			f->out_len += n;
			done += n;
		}
		if (take)
			pthread_cond_signal(&f->out_cond);
	}
	pthread_mutex_unlock(&f->out_lock);
	if (len > take)
		atomic_fetch_add(&c->tx_dropped, len - take);
}

void chardev_fd_fini(struct chardev_fd *f)
{
	/* Drain (bounded) before a back end's cleanup closes its peer. */
	chardev_fd_writer_stop(f);
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
	chardev_fd_out_release(f);
}

void chardev_set_sandbox(struct chardev *c, const struct sandbox *sb)
{
	if (!c || c->ops->write != chardev_fd_write)
		return;  /* no writer thread (the null back end) */
	struct chardev_fd *f = container_of(c, struct chardev_fd, base);
	if (!f->writer_running)
		return;
	pthread_mutex_lock(&f->out_lock);
	f->sandbox = sb;
	pthread_cond_broadcast(&f->out_cond);
	pthread_mutex_unlock(&f->out_lock);
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
