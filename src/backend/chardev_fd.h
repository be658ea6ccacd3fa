/* The fd engine under every back end (internal to src/backend/): a pending
 * input buffer with back pressure, a wake eventfd the front end pokes from
 * any thread, and bounded non-blocking output. */
#ifndef RINGVM_BACKEND_CHARDEV_FD_H
#define RINGVM_BACKEND_CHARDEV_FD_H

#include <pthread.h>
#include <signal.h>

#include "chardev.h"

#define CHARDEV_FD_CHUNK 256      /* bytes read from the input fd at once */
#define CHARDEV_OUT_BUF 65536     /* guest output buffered for the writer thread */
#define CHARDEV_OUT_WAIT_MS 100   /* a writer's poll for a full non-blocking peer */
#define CHARDEV_OUT_FLUSH_MS 500  /* longest destroy waits for output to drain */
/* Interrupts a writer stuck in write() when its back end is destroyed
 * (KVM's kick is SIGRTMIN + 4). */
#define CHARDEV_WRITER_SIGNAL (SIGRTMIN + 5)

struct chardev_fd {
	struct chardev base;
	struct evloop *loop;          /* NULL: output only */

	/* Output.  The vCPU thread only copies bytes into a bounded ring
	 * (what does not fit is dropped and counted, as a UART with no
	 * listener loses them) and never touches the fd; a writer thread
	 * per back end writes the ring to out_fd and may block there (a
	 * pipe nobody reads) without holding anything the VM needs.
	 * out_lock guards the ring, out_fd and the writer's state. */
	pthread_mutex_t out_lock;
	pthread_cond_t out_cond;      /* ring, fd or stop changed; writer idle */
	pthread_t writer;
	bool writer_running;
	bool writer_stop;             /* destroy: drain, then exit */
	bool writer_abandon;          /* destroy: the drain timed out, exit now */
	bool writer_busy;             /* writing a snapshot of out_fd, unlocked */
	const struct sandbox *sandbox;/* filter to install on the writer (docs/sandbox.md) */
	bool writer_filtered;
	int out_fd;
	bool out_is_socket;
	size_t out_head, out_len;     /* ring contents */
	uint8_t *out_buf;             /* CHARDEV_OUT_BUF bytes */

	/* Input, touched on the event-loop thread only. */
	int in_fd;
	int wake_fd;                  /* eventfd, -1 without a loop */
	bool in_registered;           /* in_fd is in the event loop */
	bool in_pump;                 /* in_fd cannot be polled: pump via wake_fd */
	bool in_eof;
	bool own_fds;
	size_t pend_off, pend_len;
	uint8_t pend[CHARDEV_FD_CHUNK + 1];

	/* Hooks for the back ends built on this engine. */
	/* Transform raw input into at most n + 1 bytes of out (escape keys). */
	size_t (*filter)(struct chardev_fd *f, const uint8_t *in, size_t n, uint8_t *out);
	void (*on_eof)(struct chardev_fd *f);   /* default: stop reading */
	void (*cleanup)(struct chardev_fd *f);  /* before the engine is torn down */
};

/* Set up f (already zeroed by the caller, base.ops set).  loop may be NULL
 * for output-only back ends. */
int chardev_fd_init(struct chardev_fd *f, struct evloop *loop,
		    const struct chardev_frontend *fe);
/* Start reading fd (event-loop thread, or before the loop runs). */
int chardev_fd_set_input(struct chardev_fd *f, int fd);
/* Stop reading the input fd and forget pending input (does not close it). */
void chardev_fd_drop_input(struct chardev_fd *f);
/* Swap the output fd (thread safe; waits out a write in progress, which is
 * bounded for the non-blocking sockets that are swapped).  Buffered output
 * for the old fd is dropped (counted). */
void chardev_fd_set_output(struct chardev_fd *f, int fd);
void chardev_fd_fini(struct chardev_fd *f);

/* Shared ops for back ends that need nothing else. */
void chardev_fd_write(struct chardev *c, const uint8_t *buf, size_t len);
void chardev_fd_wake_input(struct chardev *c);

#endif
