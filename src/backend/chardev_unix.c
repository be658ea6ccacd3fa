/* The unix-socket back end: ringvm listens on serial_path and serves one
 * client at a time (others wait in the listen backlog until it leaves).
 * Input and output flow over the connection.  Output written while no client
 * is connected is dropped (and counted in tx_dropped); a client that stops
 * reading makes output drop too, rather than stalling the guest.  A stale
 * socket file left by a dead ringvm is replaced; any other existing file is
 * an error.  The socket file is removed on destroy. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "chardev_fd.h"
#include "ringvm/compiler.h"
#include "ringvm/evloop.h"
#include "ringvm/log.h"
#include "ringvm/vm.h"

struct chardev_unix {
	struct chardev_fd core;
	int listen_fd;
	bool listening;        /* listen_fd is in the event loop */
	int client_fd;
	struct sockaddr_un addr;
};

static void chardev_unix_on_accept(void *opaque, int fd, uint32_t events);

static void chardev_unix_listen(struct chardev_unix *u, bool on)
{
	if (on == u->listening)
		return;
	if (on) {
		int r = evloop_add_fd(u->core.loop, u->listen_fd, EPOLLIN,
				      chardev_unix_on_accept, u);
		if (r < 0) {
			pr_warn("serial: cannot watch %s: %s", u->addr.sun_path, strerror(-r));
			return;
		}
	} else {
		evloop_del_fd(u->core.loop, u->listen_fd);
	}
	u->listening = on;
}

static void chardev_unix_disconnect(struct chardev_unix *u)
{
	if (u->client_fd < 0)
		return;
	chardev_fd_set_output(&u->core, -1);  /* waits out a write in progress */
	chardev_fd_drop_input(&u->core);
	close(u->client_fd);
	u->client_fd = -1;
	pr_info("serial: client left %s", u->addr.sun_path);
}

static void chardev_unix_on_eof(struct chardev_fd *f)
{
	struct chardev_unix *u = container_of(f, struct chardev_unix, core);
	chardev_unix_disconnect(u);
	chardev_unix_listen(u, true);
}

static void chardev_unix_on_accept(void *opaque, int fd, uint32_t events)
{
	struct chardev_unix *u = opaque;
	(void)events;
	int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (c < 0) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			pr_warn("serial: accept on %s: %s", u->addr.sun_path, strerror(errno));
		return;
	}
	chardev_unix_disconnect(u);  /* never two at once */
	u->client_fd = c;
	chardev_unix_listen(u, false);
	chardev_fd_set_output(&u->core, c);
	if (chardev_fd_set_input(&u->core, c) < 0) {
		chardev_unix_disconnect(u);
		chardev_unix_listen(u, true);
		return;
	}
	pr_info("serial: client connected to %s", u->addr.sun_path);
}

/* Refuse to clobber anything but a dead socket. */
static int chardev_unix_clear_stale(const struct sockaddr_un *addr)
{
	struct stat st;
	if (lstat(addr->sun_path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	int r = connect(s, (const struct sockaddr *)addr, sizeof(*addr));
	int e = errno;
	close(s);
	if (r == 0)
		return -EADDRINUSE;  /* somebody is serving it */
	if (e != ECONNREFUSED)
		return -e;
	return unlink(addr->sun_path) < 0 ? -errno : 0;
}

static void chardev_unix_cleanup(struct chardev_fd *f)
{
	struct chardev_unix *u = container_of(f, struct chardev_unix, core);
	chardev_unix_disconnect(u);
	chardev_unix_listen(u, false);
	if (u->listen_fd >= 0) {
		close(u->listen_fd);
		unlink(u->addr.sun_path);
		u->listen_fd = -1;
	}
}

static void chardev_unix_destroy(struct chardev *c)
{
	struct chardev_unix *u = container_of(c, struct chardev_unix, core.base);
	chardev_fd_fini(&u->core);
	free(u);
}

static const struct chardev_ops chardev_unix_ops = {
	.kind = "unix",
	.write = chardev_fd_write,
	.wake_input = chardev_fd_wake_input,
	.destroy = chardev_unix_destroy,
};

struct chardev *chardev_unix_open(struct vm *vm, const char *path,
				  const struct chardev_frontend *fe)
{
	if (!path || !*path) {
		pr_err("--serial unix: needs a socket path");
		errno = EINVAL;
		return NULL;
	}
	struct chardev_unix *u = calloc(1, sizeof(*u));
	if (!u) {
		errno = ENOMEM;
		return NULL;
	}
	u->listen_fd = u->client_fd = -1;
	u->addr.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(u->addr.sun_path)) {
		pr_err("--serial unix:%s: socket path too long (max %zu bytes)", path,
		       sizeof(u->addr.sun_path) - 1);
		free(u);
		errno = ENAMETOOLONG;
		return NULL;
	}
	memcpy(u->addr.sun_path, path, strlen(path) + 1);

	int r = chardev_unix_clear_stale(&u->addr);
	if (r < 0) {
		pr_err("--serial unix:%s: %s", path,
		       r == -EEXIST ? "file exists and is not a socket" : strerror(-r));
		free(u);
		errno = -r;
		return NULL;
	}
	u->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (u->listen_fd < 0 ||
	    bind(u->listen_fd, (const struct sockaddr *)&u->addr, sizeof(u->addr)) < 0 ||
	    listen(u->listen_fd, 1) < 0) {
		int e = errno;
		pr_err("--serial unix:%s: cannot listen: %s", path, strerror(e));
		if (u->listen_fd >= 0)
			close(u->listen_fd);
		free(u);
		errno = e;
		return NULL;
	}
	u->core.base.ops = &chardev_unix_ops;
	u->core.on_eof = chardev_unix_on_eof;
	u->core.cleanup = chardev_unix_cleanup;
	r = chardev_fd_init(&u->core, &vm->loop, fe);
	if (r < 0) {
		pr_err("--serial unix:%s: cannot set up: %s", path, strerror(-r));
		close(u->listen_fd);
		unlink(path);
		free(u);
		errno = -r;
		return NULL;
	}
	chardev_unix_listen(u, true);
	if (!u->listening) {
		chardev_fd_fini(&u->core);
		free(u);
		errno = EIO;  /* the loop refused the fd: a host failure, named above */
		return NULL;
	}
	return &u->core.base;
}
