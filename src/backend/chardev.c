/* Back-end selection, and the two trivial back ends: none and file. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chardev.h"
#include "chardev_fd.h"
#include "ringvm/log.h"
#include "ringvm/vm.h"

/* ---- none: output vanishes, no input ---------------------------------- */

static void chardev_null_write(struct chardev *c, const uint8_t *buf, size_t len)
{
	(void)buf;
	atomic_fetch_add(&c->tx_dropped, len);
}

static void chardev_null_destroy(struct chardev *c)
{
	free(c);
}

static const struct chardev_ops chardev_null_ops = {
	.kind = "none",
	.write = chardev_null_write,
	.destroy = chardev_null_destroy,
};

struct chardev *chardev_null_open(void)
{
	struct chardev *c = calloc(1, sizeof(*c));
	if (c)
		c->ops = &chardev_null_ops;
	else
		errno = ENOMEM;
	return c;
}

/* ---- file: output appended to a file, no input ------------------------ */

struct chardev *chardev_file_open(const char *path)
{
	if (!path || !*path) {
		pr_err("--serial file: needs a path");
		errno = EINVAL;
		return NULL;
	}
	/* O_NONBLOCK: a FIFO with no reader fails at once (ENXIO) instead of
	 * blocking ringvm in open() before the VM starts, and a FIFO or
	 * device that stops taking bytes never blocks a write (the writer
	 * thread waits for it, see chardev_fd.c). */
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
		      0644);
	if (fd < 0) {
		int e = errno;
		if (e == ENXIO)
			pr_err("--serial file:%s: a FIFO with no reader (start its reader first)",
			       path);
		else
			pr_err("--serial file:%s: %s", path, strerror(e));
		errno = e;
		return NULL;
	}
	struct chardev *c = chardev_fd_open(NULL, -1, fd, true, NULL);
	if (!c) {
		int e = errno ? errno : ENOMEM;
		close(fd);
		pr_err("--serial file:%s: cannot set up the back end: %s", path, strerror(e));
		errno = e;
	}
	return c;
}

struct chardev *chardev_open(struct vm *vm, const struct chardev_frontend *fe)
{
	switch (vm->cfg.serial) {
	case SERIAL_STDIO:
		return chardev_stdio_open(vm, fe);
	case SERIAL_FILE:
		return chardev_file_open(vm->cfg.serial_path);
	case SERIAL_UNIX:
		return chardev_unix_open(vm, vm->cfg.serial_path, fe);
	case SERIAL_NONE:
		return chardev_null_open();
	}
	pr_err("--serial: unknown back end %d", (int)vm->cfg.serial);
	errno = EINVAL;
	return NULL;
}
