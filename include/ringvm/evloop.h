/* The main thread's event loop (epoll): back ends (stdin, sockets), signals
 * and timers register here; vCPU threads never block in it.  One per vm. */
#ifndef RINGVM_EVLOOP_H
#define RINGVM_EVLOOP_H

#include <stdbool.h>
#include <stdint.h>

typedef void (*evloop_fd_fn)(void *opaque, int fd, uint32_t events);

struct evloop_source;

struct evloop {
	int epfd;
	int wake_fd;           /* eventfd: evloop_wake() from any thread */
	bool stop;
	unsigned nr, cap;
	struct evloop_source **sources;
};

int evloop_init(struct evloop *l);
void evloop_destroy(struct evloop *l);
/* events: EPOLLIN/EPOLLOUT/...; the callback runs on the loop's thread. */
int evloop_add_fd(struct evloop *l, int fd, uint32_t events, evloop_fd_fn fn,
		  void *opaque);
int evloop_mod_fd(struct evloop *l, int fd, uint32_t events);
void evloop_del_fd(struct evloop *l, int fd);
/* Run until evloop_stop(); timeout_ms bounds each wait (-1 = none). */
int evloop_run(struct evloop *l, int timeout_ms);
/* Thread safe: make evloop_run return after the current iteration. */
void evloop_stop(struct evloop *l);
void evloop_wake(struct evloop *l);

#endif
