/* The stdio back end: guest output to stdout, stdin to the guest.
 *
 * When stdin is a terminal it is put in raw mode (restored on destroy, exit()
 * and fatal signals, see term_restore.c) and Ctrl-A is an escape key:
 *   Ctrl-A x       quit the VM (exit status 0)
 *   Ctrl-A Ctrl-A  send one Ctrl-A to the guest
 *   Ctrl-A h or ?  print this help on stderr
 *   Ctrl-A other   both bytes go to the guest unchanged
 * When stdin is not a terminal (a pipe, a file, /dev/null) bytes pass through
 * untouched and EOF simply ends input. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chardev_fd.h"
#include "term_restore.h"
#include "ringvm/compiler.h"
#include "ringvm/log.h"
#include "ringvm/vm.h"

#define CHARDEV_ESCAPE 0x01 /* Ctrl-A */

struct chardev_stdio {
	struct chardev_fd core;
	struct vm *vm;
	bool raw;           /* we own the terminal's raw mode */
	bool escape;        /* Ctrl-A seen, waiting for the command key */
	bool quit;          /* Ctrl-A x seen: ignore further input */
};

static void chardev_stdio_help(void)
{
	static const char help[] =
		"\r\nringvm escape keys (Ctrl-A then):\r\n"
		"  x       quit the VM\r\n"
		"  Ctrl-A  send Ctrl-A to the guest\r\n"
		"  h       this help\r\n";
	if (write(STDERR_FILENO, help, sizeof(help) - 1) < 0)
		pr_debug("serial: cannot print help");
}

/* Escape processing: out receives at most n + 1 bytes (a pending Ctrl-A from
 * the previous chunk plus one unknown key). */
static size_t chardev_stdio_filter(struct chardev_fd *f, const uint8_t *in, size_t n,
				   uint8_t *out)
{
	struct chardev_stdio *s = container_of(f, struct chardev_stdio, core);
	size_t o = 0;
	for (size_t i = 0; i < n && !s->quit; i++) {
		uint8_t b = in[i];
		if (!s->escape) {
			if (b == CHARDEV_ESCAPE)
				s->escape = true;
			else
				out[o++] = b;
			continue;
		}
		s->escape = false;
		switch (b) {
		case 'x':
		case 'X':
			s->quit = true;
			vm_request_exit(s->vm, RINGVM_EXIT_OK, "user quit (Ctrl-A x)");
			break;
		case 'h':
		case 'H':
		case '?':
			chardev_stdio_help();
			break;
		case CHARDEV_ESCAPE:
			out[o++] = CHARDEV_ESCAPE;
			break;
		default:
			out[o++] = CHARDEV_ESCAPE;
			out[o++] = b;
			break;
		}
	}
	return o;
}

static void chardev_stdio_cleanup(struct chardev_fd *f)
{
	struct chardev_stdio *s = container_of(f, struct chardev_stdio, core);
	if (s->raw) {
		term_raw_leave();
		s->raw = false;
	}
}

static void chardev_stdio_destroy(struct chardev *c)
{
	struct chardev_stdio *s = container_of(c, struct chardev_stdio, core.base);
	chardev_fd_fini(&s->core);
	free(s);
}

static const struct chardev_ops chardev_stdio_ops = {
	.kind = "stdio",
	.write = chardev_fd_write,
	.wake_input = chardev_fd_wake_input,
	.destroy = chardev_stdio_destroy,
};

struct chardev *chardev_stdio_open(struct vm *vm, const struct chardev_frontend *fe)
{
	struct chardev_stdio *s = calloc(1, sizeof(*s));
	if (!s) {
		errno = ENOMEM;
		return NULL;
	}
	s->vm = vm;
	s->core.base.ops = &chardev_stdio_ops;
	s->core.cleanup = chardev_stdio_cleanup;
	int r = chardev_fd_init(&s->core, &vm->loop, fe);
	if (r < 0) {
		pr_err("--serial stdio: cannot set up: %s", strerror(-r));
		free(s);
		errno = -r;
		return NULL;
	}
	chardev_fd_set_output(&s->core, STDOUT_FILENO);

	bool have_stdin = fcntl(STDIN_FILENO, F_GETFD) >= 0;
	pid_t fg = have_stdin && isatty(STDIN_FILENO) ? tcgetpgrp(STDIN_FILENO) : -1;
	if (fg >= 0 && fg != getpgrp()) {
		/* Started in the background: touching the terminal would stop
		 * us with SIGTTOU/SIGTTIN.  Output only. */
		pr_info("serial: not the terminal's foreground process, stdin not connected");
		have_stdin = false;
	}
	if (have_stdin && isatty(STDIN_FILENO)) {
		r = term_raw_enter(STDIN_FILENO);
		if (r == 0) {
			s->raw = true;
			s->core.filter = chardev_stdio_filter;
		} else if (r == -EBUSY) {
			/* Another VM in this process owns the terminal. */
			pr_warn("serial: terminal already in use, stdin not connected");
			have_stdin = false;
		} else {
			pr_warn("serial: cannot make the terminal raw (%s); "
				"line-buffered input, no escape keys", strerror(-r));
		}
	}
	if (have_stdin && chardev_fd_set_input(&s->core, STDIN_FILENO) < 0)
		pr_warn("serial: stdin cannot be read; guest input disabled");
	return &s->core.base;
}
