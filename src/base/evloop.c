/* epoll-based event loop for the main thread. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "ringvm/evloop.h"
#include "ringvm/log.h"

struct evloop_source {
	int fd;
	evloop_fd_fn fn;
	void *opaque;
	bool dead;
};

int evloop_init(struct evloop *l)
{
	memset(l, 0, sizeof(*l));
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0)
		return -errno;
	l->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->wake_fd < 0) {
		int e = errno;
		close(l->epfd);
		return -e;
	}
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->wake_fd, &ev) < 0) {
		int e = errno;
		close(l->wake_fd);
		close(l->epfd);
		return -e;
	}
	return 0;
}

void evloop_destroy(struct evloop *l)
{
	for (unsigned i = 0; i < l->nr; i++)
		free(l->sources[i]);
	free(l->sources);
	if (l->wake_fd > 0)
		close(l->wake_fd);
	if (l->epfd > 0)
		close(l->epfd);
	memset(l, 0, sizeof(*l));
}

int evloop_add_fd(struct evloop *l, int fd, uint32_t events, evloop_fd_fn fn, void *opaque)
{
	if (l->nr == l->cap) {
		unsigned cap = l->cap ? l->cap * 2 : 8;
		struct evloop_source **n = realloc(l->sources, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		l->sources = n;
		l->cap = cap;
	}
	struct evloop_source *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	*s = (struct evloop_source){ .fd = fd, .fn = fn, .opaque = opaque };
	struct epoll_event ev = { .events = events, .data.ptr = s };
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int e = errno;
		free(s);
		return -e;
	}
	l->sources[l->nr++] = s;
	return 0;
}

static struct evloop_source *find_source(struct evloop *l, int fd, unsigned *idx)
{
	for (unsigned i = 0; i < l->nr; i++)
		if (l->sources[i]->fd == fd) {
			if (idx)
				*idx = i;
			return l->sources[i];
		}
	return NULL;
}

int evloop_mod_fd(struct evloop *l, int fd, uint32_t events)
{
	struct evloop_source *s = find_source(l, fd, NULL);
	if (!s)
		return -ENOENT;
	struct epoll_event ev = { .events = events, .data.ptr = s };
	return epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
}

void evloop_del_fd(struct evloop *l, int fd)
{
	unsigned i;
	struct evloop_source *s = find_source(l, fd, &i);
	if (!s)
		return;
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
	/* Events for s may already be in the current batch: mark it dead and
	 * free it after the batch (evloop_run sweeps). */
	s->dead = true;
	s->fd = -1;
}

static void sweep(struct evloop *l)
{
	unsigned j = 0;
	for (unsigned i = 0; i < l->nr; i++) {
		if (l->sources[i]->dead)
			free(l->sources[i]);
		else
			l->sources[j++] = l->sources[i];
	}
	l->nr = j;
}

int evloop_run(struct evloop *l, int timeout_ms)
{
	struct epoll_event evs[16];
	while (!__atomic_load_n(&l->stop, __ATOMIC_ACQUIRE)) {
		int n = epoll_wait(l->epfd, evs, 16, timeout_ms);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (int i = 0; i < n; i++) {
			struct evloop_source *s = evs[i].data.ptr;
			if (!s) {
				uint64_t v;
				ssize_t r = read(l->wake_fd, &v, sizeof(v));
				(void)r;
				continue;
			}
			if (!s->dead)
				s->fn(s->opaque, s->fd, evs[i].events);
		}
		sweep(l);
	}
	return 0;
}

void evloop_wake(struct evloop *l)
{
	uint64_t one = 1;
	ssize_t r = write(l->wake_fd, &one, sizeof(one));
	(void)r;
}

void evloop_stop(struct evloop *l)
{
	__atomic_store_n(&l->stop, true, __ATOMIC_RELEASE);
	evloop_wake(l);
}
