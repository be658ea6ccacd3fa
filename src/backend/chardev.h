/* Character back ends: where a serial port's bytes go and come from.
 *
 * A front end (the 16550A UART) knows nothing about fds, sockets or
 * terminals; it talks to a struct chardev:
 *
 *   output  chardev_write() is called synchronously on the vCPU thread.  It
 *           never blocks for long: bytes the host cannot take within a short
 *           bound are dropped and counted in tx_dropped.
 *   input   the back end reads its fd on the main thread's event loop and
 *           offers bytes to the front end's receive() callback, which returns
 *           how many it accepted.  Bytes that were refused stay in the back
 *           end, which stops reading its fd (back pressure: nothing is
 *           dropped) until the front end calls chardev_wake_input() (any
 *           thread) to say it has room again.
 *
 * Back ends per vm->cfg.serial: stdio (chardev_stdio.c), file (output only),
 * unix socket server (one client at a time), none.  chardev_fd_open() builds
 * one on any pair of fds (pipes, socketpairs: used by the unit tests). */
#ifndef RINGVM_BACKEND_CHARDEV_H
#define RINGVM_BACKEND_CHARDEV_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm;
struct evloop;

/* What the front end offers: called on the event-loop thread only. */
struct chardev_frontend {
	size_t (*receive)(void *opaque, const uint8_t *buf, size_t len);
	void *opaque;
};

struct chardev;

struct chardev_ops {
	const char *kind;
	void (*write)(struct chardev *c, const uint8_t *buf, size_t len);
	void (*wake_input)(struct chardev *c);   /* may be NULL: no input */
	void (*destroy)(struct chardev *c);
};

struct chardev {
	const struct chardev_ops *ops;
	struct chardev_frontend fe;
	_Atomic uint64_t tx_bytes;    /* bytes handed to the host */
	_Atomic uint64_t tx_dropped;  /* bytes dropped (no client, stuck peer, I/O error) */
	_Atomic uint64_t rx_bytes;    /* bytes accepted by the front end */
};

static inline void chardev_write(struct chardev *c, const uint8_t *buf, size_t len)
{
	if (c && len)
		c->ops->write(c, buf, len);
}

/* Thread safe: the front end has room for input again. */
static inline void chardev_wake_input(struct chardev *c)
{
	if (c && c->ops->wake_input)
		c->ops->wake_input(c);
}

static inline void chardev_destroy(struct chardev *c)
{
	if (c)
		c->ops->destroy(c);
}

/* Connect a front end to a back end opened with fe NULL (call before the
 * event loop runs, or on its thread); input waiting in the back end flows. */
static inline void chardev_attach(struct chardev *c, const struct chardev_frontend *fe)
{
	c->fe = *fe;
	chardev_wake_input(c);
}

/* Install the writer-thread filter of sb on c's writer thread, if it has
 * one (docs/sandbox.md); sb must outlive c.  Call once the VM is set up. */
struct sandbox;
void chardev_set_sandbox(struct chardev *c, const struct sandbox *sb);

/* The back end vm->cfg.serial asks for, delivering input to fe.  Returns NULL
 * after printing one line naming the option and the problem, with errno set:
 * a problem with the user's choice (ENOENT, EACCES, ENXIO for a FIFO with no
 * reader, EEXIST, EADDRINUSE, ...) or a host failure (EMFILE, ENFILE, ENOMEM,
 * EIO; vm_errno_status() tells them apart).  The individual openers below
 * follow the same rule. */
struct chardev *chardev_open(struct vm *vm, const struct chardev_frontend *fe);

/* Individual back ends. */
struct chardev *chardev_null_open(void);
struct chardev *chardev_file_open(const char *path);
struct chardev *chardev_stdio_open(struct vm *vm, const struct chardev_frontend *fe);
struct chardev *chardev_unix_open(struct vm *vm, const char *path,
				  const struct chardev_frontend *fe);

/* A back end on an existing pair of fds (in_fd -1: output only; out_fd -1:
 * input only).  With own_fds the fds are closed on destroy. */
struct chardev *chardev_fd_open(struct evloop *loop, int in_fd, int out_fd,
				bool own_fds, const struct chardev_frontend *fe);

#endif
