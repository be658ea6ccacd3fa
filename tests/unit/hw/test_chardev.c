/* Char back ends: stdio on a pseudo-terminal (raw mode, escape keys, restore
 * on destroy, exit() and fatal signals), unix socket, file. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "hw_test_vm.h"
#include "src/backend/chardev.h"
#include "src/backend/chardev_fd.h"

/* A front end that takes at most 'room' bytes in total. */
struct sink {
	uint8_t buf[4096];
	size_t len, room;
};

static size_t sink_receive(void *opaque, const uint8_t *buf, size_t len)
{
	struct sink *s = opaque;
	size_t n = len < s->room - s->len ? len : s->room - s->len;
	memcpy(s->buf + s->len, buf, n);
	s->len += n;
	return n;
}

static struct chardev_frontend sink_fe(struct sink *s)
{
	return (struct chardev_frontend){ sink_receive, s };
}

/* ---- stdio on a pty ----------------------------------------------------- */

struct pty {
	int master, slave, saved_stdin;
	struct termios orig;
};

static void pty_open(struct pty *p)
{
	p->master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	assert_true(p->master >= 0);
	assert_int_equal(grantpt(p->master), 0);
	assert_int_equal(unlockpt(p->master), 0);
	p->slave = open(ptsname(p->master), O_RDWR | O_NOCTTY | O_CLOEXEC);
	assert_true(p->slave >= 0);
	assert_int_equal(tcgetattr(p->slave, &p->orig), 0);
	assert_true(p->orig.c_lflag & ICANON);
	p->saved_stdin = dup(STDIN_FILENO);
	assert_int_equal(dup2(p->slave, STDIN_FILENO), STDIN_FILENO);
}

static void pty_close(struct pty *p)
{
	dup2(p->saved_stdin, STDIN_FILENO);
	close(p->saved_stdin);
	close(p->slave);
	close(p->master);
}

static bool pty_is_raw(struct pty *p)
{
	struct termios t;
	assert_int_equal(tcgetattr(p->slave, &t), 0);
	return !(t.c_lflag & (ICANON | ECHO | ISIG));
}

static bool pty_is_restored(struct pty *p)
{
	struct termios t;
	assert_int_equal(tcgetattr(p->slave, &t), 0);
	return t.c_lflag == p->orig.c_lflag && t.c_iflag == p->orig.c_iflag &&
	       t.c_cflag == p->orig.c_cflag;
}

static void test_stdio_escape(void **state)
{
	(void)state;
	struct hw_test_vm t;
	struct pty p;
	struct sink s = { .room = sizeof(s.buf) };
	hw_test_vm_init(&t, 64 * MiB);
	pty_open(&p);
	struct chardev_frontend fe = sink_fe(&s);
	struct chardev *c = chardev_stdio_open(&t.vm, &fe);
	assert_non_null(c);
	assert_true(pty_is_raw(&p));
	/* Ctrl-A Ctrl-A is one Ctrl-A; Ctrl-A h prints help; Ctrl-C is data. */
	const char in1[] = "ab\x01\x01" "c\x03\x01h" "d";
	assert_int_equal(write(p.master, in1, sizeof(in1) - 1), (ssize_t)sizeof(in1) - 1);
	hw_test_run_loop(&t, 50);
	assert_int_equal(s.len, 6);
	assert_memory_equal(s.buf, "ab\x01" "c\x03" "d", 6);
	assert_int_equal(atomic_load(&t.vm.state), VM_RUNNING);
	/* An escape split across reads, then Ctrl-A x quits. */
	assert_int_equal(write(p.master, "\x01", 1), 1);
	hw_test_run_loop(&t, 30);
	assert_int_equal(write(p.master, "x", 1), 1);
	hw_test_run_loop(&t, 30);
	assert_int_equal(atomic_load(&t.vm.state), VM_STOPPING);
	assert_int_equal(atomic_load(&t.vm.exit_status), RINGVM_EXIT_OK);
	assert_string_equal(t.vm.exit_reason, "user quit (Ctrl-A x)");
	assert_int_equal(s.len, 6);
	chardev_destroy(c);
	assert_true(pty_is_restored(&p));
	pty_close(&p);
	hw_test_vm_fini(&t);
}

/* Children: enter raw mode, then leave in some bad way. */
static void child_raw_then(struct pty *p, int how)
{
	struct hw_test_vm t;
	struct sink s = { .room = 16 };
	hw_test_vm_init(&t, 64 * MiB);
	struct chardev_frontend fe = sink_fe(&s);
	struct chardev *c = chardev_stdio_open(&t.vm, &fe);
	if (!c || !pty_is_raw(p))
		_exit(99);
	switch (how) {
	case 0: exit(0);                      /* atexit */
	case 1: abort();                      /* SIGABRT */
	case 2: {                             /* a real fault: SIGSEGV */
		volatile int *page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (page != MAP_FAILED)
			*page = 1;
		break;
	}
	case 3: raise(SIGFPE); break;         /* SIGFPE */
	}
	_exit(98);
}

static void test_stdio_restore_on_exit_paths(void **state)
{
	(void)state;
	static const int expect_sig[] = { 0, SIGABRT, SIGSEGV, SIGFPE };
	for (int how = 0; how < 4; how++) {
		struct pty p;
		pty_open(&p);
		fflush(NULL);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			/* Default dispositions (not cmocka's handlers), and no
			 * core files from the deliberate crashes. */
			struct rlimit rl = { 0, 0 };
			setrlimit(RLIMIT_CORE, &rl);
			signal(SIGSEGV, SIG_DFL);
			signal(SIGABRT, SIG_DFL);
			signal(SIGFPE, SIG_DFL);
			signal(SIGBUS, SIG_DFL);
			signal(SIGILL, SIG_DFL);
			child_raw_then(&p, how);
		}
		int st;
		assert_int_equal(waitpid(pid, &st, 0), pid);
		if (expect_sig[how] && !WIFSIGNALED(st))
			print_message("how %d: status 0x%x\n", how, st);
		if (expect_sig[how]) {
			assert_true(WIFSIGNALED(st));
			assert_int_equal(WTERMSIG(st), expect_sig[how]);
		} else {
			assert_true(WIFEXITED(st));
			assert_int_equal(WEXITSTATUS(st), 0);
		}
		assert_true(pty_is_restored(&p));
		pty_close(&p);
	}
}

static void test_stdio_pipe_no_escape(void **state)
{
	(void)state;
	struct hw_test_vm t;
	struct sink s = { .room = 5 };  /* forces back pressure */
	int fds[2];
	hw_test_vm_init(&t, 64 * MiB);
	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	int saved = dup(STDIN_FILENO);
	dup2(fds[0], STDIN_FILENO);
	struct chardev_frontend fe = sink_fe(&s);
	struct chardev *c = chardev_stdio_open(&t.vm, &fe);
	assert_non_null(c);
	assert_int_equal(write(fds[1], "\x01x12345678", 10), 10);
	close(fds[1]);
	hw_test_run_loop(&t, 30);
	/* Not a terminal: no escapes, and no quit. */
	assert_int_equal(s.len, 5);
	assert_memory_equal(s.buf, "\x01x123", 5);
	assert_int_equal(atomic_load(&t.vm.state), VM_RUNNING);
	s.room = sizeof(s.buf);
	chardev_wake_input(c);
	hw_test_run_loop(&t, 30);
	assert_int_equal(s.len, 10);
	assert_memory_equal(s.buf, "\x01x12345678", 10);
	assert_int_equal(atomic_load(&t.vm.state), VM_RUNNING);  /* EOF is fine */
	chardev_destroy(c);
	dup2(saved, STDIN_FILENO);
	close(saved);
	close(fds[0]);
	hw_test_vm_fini(&t);
}

/* A regular file on stdin cannot be polled: it is pumped, still with back
 * pressure, and /dev/null is just an empty input. */
static void test_stdio_regular_file(void **state)
{
	(void)state;
	struct hw_test_vm t;
	struct sink s = { .room = 100 };
	char path[] = "/tmp/ringvm-stdin-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	uint8_t data[1000];
	for (unsigned i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 13);
	assert_int_equal(write(fd, data, sizeof(data)), (ssize_t)sizeof(data));
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	hw_test_vm_init(&t, 64 * MiB);
	int saved = dup(STDIN_FILENO);
	dup2(fd, STDIN_FILENO);
	struct chardev_frontend fe = sink_fe(&s);
	struct chardev *c = chardev_stdio_open(&t.vm, &fe);
	assert_non_null(c);
	hw_test_run_loop(&t, 30);
	assert_int_equal(s.len, 100);           /* stopped at the front end's limit */
	s.room = sizeof(s.buf);
	chardev_wake_input(c);
	hw_test_run_loop(&t, 30);
	assert_int_equal(s.len, sizeof(data));
	assert_memory_equal(s.buf, data, sizeof(data));
	chardev_destroy(c);

	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	dup2(null, STDIN_FILENO);
	close(null);
	s.len = 0;
	c = chardev_stdio_open(&t.vm, &fe);
	assert_non_null(c);
	hw_test_run_loop(&t, 20);
	assert_int_equal(s.len, 0);
	chardev_destroy(c);

	dup2(saved, STDIN_FILENO);
	close(saved);
	close(fd);
	unlink(path);
	hw_test_vm_fini(&t);
}

/* ---- unix socket ---------------------------------------------------------- */

static int connect_to(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

static void test_unix_socket(void **state)
{
	(void)state;
	struct hw_test_vm t;
	struct sink s = { .room = sizeof(s.buf) };
	char dir[] = "/tmp/ringvm-test-XXXXXX", path[128];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/serial.sock", dir);
	hw_test_vm_init(&t, 64 * MiB);
	struct chardev_frontend fe = sink_fe(&s);
	struct chardev *c = chardev_unix_open(&t.vm, path, &fe);
	assert_non_null(c);

	/* No client: output is dropped and counted. */
	chardev_write(c, (const uint8_t *)"lost", 4);
	assert_int_equal(atomic_load(&c->tx_dropped), 4);

	int cl = connect_to(path);
	hw_test_run_loop(&t, 30);
	chardev_write(c, (const uint8_t *)"hi", 2);
	char buf[16] = { 0 };
	assert_int_equal(read(cl, buf, sizeof(buf)), 2);
	assert_memory_equal(buf, "hi", 2);
	assert_int_equal(write(cl, "typed", 5), 5);
	hw_test_run_loop(&t, 30);
	assert_int_equal(s.len, 5);
	assert_memory_equal(s.buf, "typed", 5);

	/* A second client waits until the first leaves. */
	int cl2 = connect_to(path);
	assert_int_equal(write(cl2, "two", 3), 3);
	hw_test_run_loop(&t, 30);
	assert_int_equal(s.len, 5);
	close(cl);
	hw_test_run_loop(&t, 30);
	hw_test_run_loop(&t, 30);
	assert_int_equal(s.len, 8);
	assert_memory_equal(s.buf + 5, "two", 3);
	chardev_write(c, (const uint8_t *)"B", 1);
	assert_int_equal(read(cl2, buf, sizeof(buf)), 1);
	assert_int_equal(buf[0], 'B');

	/* A client that never reads does not stall output for long. */
	char junk[65536];
	memset(junk, 'j', sizeof(junk));
	for (int i = 0; i < 64; i++)
		chardev_write(c, (const uint8_t *)junk, sizeof(junk));
	assert_true(atomic_load(&c->tx_dropped) > 4);
	close(cl2);
	hw_test_run_loop(&t, 30);

	chardev_destroy(c);
	struct stat st;
	assert_int_equal(stat(path, &st), -1);  /* socket file removed */
	/* A stale socket is replaced; a regular file is refused. */
	int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_null(chardev_unix_open(&t.vm, path, &fe));
	unlink(path);
	rmdir(dir);
	hw_test_vm_fini(&t);
}

/* ---- file ----------------------------------------------------------------- */

static void test_file(void **state)
{
	(void)state;
	char path[] = "/tmp/ringvm-serial-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "old\n", 4), 4);
	close(fd);
	struct chardev *c = chardev_file_open(path);
	assert_non_null(c);
	chardev_write(c, (const uint8_t *)"new", 3);
	chardev_wake_input(c);  /* no input side: harmless */
	chardev_destroy(c);
	char buf[16] = { 0 };
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_int_equal(read(fd, buf, sizeof(buf)), 7);
	assert_string_equal(buf, "old\nnew");
	close(fd);
	unlink(path);
	assert_null(chardev_file_open("/nonexistent-dir/x"));

	struct chardev *n = chardev_null_open();
	chardev_write(n, (const uint8_t *)"zz", 2);
	assert_int_equal(atomic_load(&n->tx_dropped), 2);
	chardev_destroy(n);
}

/* ---- a blocking peer that never reads ------------------------------------- */

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* A blocking pipe (as stdout piped into a program that never reads): the
 * writer thread blocks in write(), but guest output never waits (it is
 * buffered up to a bound, then dropped and counted) and destroy gives up on
 * the peer after a bounded flush. */
static void test_blocking_pipe_never_read(void **state)
{
	(void)state;
	int p[2];
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	static uint8_t junk[1 << 16];
	memset(junk, 'j', sizeof(junk));
	/* Fill the pipe first, so the writer blocks at its first write. */
	int fl = fcntl(p[1], F_GETFL);
	assert_int_equal(fcntl(p[1], F_SETFL, fl | O_NONBLOCK), 0);
	while (write(p[1], junk, sizeof(junk)) > 0)
		;
	assert_int_equal(fcntl(p[1], F_SETFL, fl), 0);
	struct chardev *c = chardev_fd_open(NULL, -1, p[1], false, NULL);
	assert_non_null(c);
	int64_t t0 = now_ms();
	for (int i = 0; i < 64; i++)
		chardev_write(c, junk, sizeof(junk));
	assert_true(now_ms() - t0 < 1000);
	uint64_t dropped = atomic_load(&c->tx_dropped);
	assert_int_equal(dropped, 63 * sizeof(junk));  /* one ring's worth kept */
	t0 = now_ms();
	chardev_destroy(c);
	int64_t dt = now_ms() - t0;
	assert_true(dt >= CHARDEV_OUT_FLUSH_MS - 50);  /* it did try to flush */
	assert_true(dt < 2000);
	close(p[0]);
	close(p[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stdio_escape),
		cmocka_unit_test(test_stdio_restore_on_exit_paths),
		cmocka_unit_test(test_stdio_pipe_no_escape),
		cmocka_unit_test(test_stdio_regular_file),
		cmocka_unit_test(test_unix_socket),
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_blocking_pipe_never_read),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
