/* The vsock host side without a virtqueue: the test plays the guest (it
 * hands packets to vsock_host_tx and pulls vsock_host_rx) and the host
 * programs (Unix sockets in Firecracker's convention), with the event loop
 * run for real. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include "ringvm/evloop.h"
#include "ringvm/vsock.h"

#define CID 3

struct env {
	struct evloop loop;
	struct vsock_host *h;
	char dir[64], path[80];
	unsigned kicks;
};

static void on_kick(void *opaque)
{
	struct env *e = opaque;
	e->kicks++;
	evloop_stop(&e->loop);
}

static void on_deadline(void *opaque, int fd, uint32_t events)
{
	(void)fd;
	(void)events;
	evloop_stop(opaque);
}

/* Run the loop until the host side kicks the "device" or ms passed. */
static void run_loop(struct env *e, unsigned ms)
{
	int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	struct itimerspec its = { .it_value = { .tv_sec = ms / 1000,
						.tv_nsec = (long)(ms % 1000) * 1000000 } };
	timerfd_settime(tfd, 0, &its, NULL);
	assert_int_equal(evloop_add_fd(&e->loop, tfd, EPOLLIN, on_deadline, &e->loop), 0);
	e->loop.stop = false;
	evloop_run(&e->loop, 100);
	evloop_del_fd(&e->loop, tfd);
	close(tfd);
}

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	snprintf(e->dir, sizeof(e->dir), "/tmp/ringvm-vsock-XXXXXX");
	assert_non_null(mkdtemp(e->dir));
	snprintf(e->path, sizeof(e->path), "%s/v.sock", e->dir);
	assert_int_equal(evloop_init(&e->loop), 0);
	char err[256];
	e->h = vsock_host_create(&e->loop, CID, e->path, on_kick, e, err, sizeof(err));
	assert_non_null(e->h);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	vsock_host_destroy(e->h);
	evloop_destroy(&e->loop);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", e->dir);
	assert_int_equal(system(cmd), 0);
	free(e);
	return 0;
}

static int host_connect(const char *path)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	struct timeval tv = { .tv_sec = 2 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static void guest_send(struct env *e, uint16_t op, uint32_t src_port, uint32_t dst_port,
		       const char *data, uint32_t buf_alloc, uint32_t fwd_cnt, uint32_t flags)
{
	size_t len = data ? strlen(data) : 0;
	struct vsock_hdr h = { .src_cid = CID, .dst_cid = VSOCK_HOST_CID, .src_port = src_port,
			       .dst_port = dst_port, .len = (uint32_t)len, .type = VSOCK_TYPE_STREAM,
			       .op = op, .flags = flags, .buf_alloc = buf_alloc, .fwd_cnt = fwd_cnt };
	vsock_host_tx(e->h, &h, (const uint8_t *)data, len);
}

static uint8_t payload[VSOCK_MAX_PAYLOAD];

static void expect_rx(struct env *e, struct vsock_hdr *o, uint16_t op)
{
	if (!vsock_host_rx(e->h, o, payload, sizeof(payload))) {
		run_loop(e, 2000);
		assert_int_equal(vsock_host_rx(e->h, o, payload, sizeof(payload)), 1);
	}
	assert_int_equal(o->op, op);
	assert_int_equal(o->src_cid, VSOCK_HOST_CID);
	assert_int_equal(o->dst_cid, CID);
	assert_int_equal(o->type, VSOCK_TYPE_STREAM);
	assert_int_equal(o->buf_alloc, VSOCK_BUF_ALLOC);
}

static void read_exact(int fd, char *buf, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, buf + got, n - got);
		assert_true(r > 0);
		got += (size_t)r;
	}
	buf[n] = 0;
}

static void test_header_round_trip(void **state)
{
	(void)state;
	struct vsock_hdr a = { 0x1122334455667788ULL, 2, 0xaabbccdd, 5000, 17, 1, 5, 3, 65536, 9 };
	struct vsock_hdr b;
	uint8_t wire[VSOCK_HDR_SIZE];
	vsock_hdr_write(wire, &a);
	assert_int_equal(wire[0], 0x88);      /* little-endian */
	assert_int_equal(wire[30], 5);        /* op at offset 30 */
	assert_int_equal(vsock_hdr_parse(wire, sizeof(wire), &b), 0);
	assert_int_equal(a.src_cid, b.src_cid);
	assert_int_equal(a.dst_cid, b.dst_cid);
	assert_int_equal(a.src_port, b.src_port);
	assert_int_equal(a.dst_port, b.dst_port);
	assert_int_equal(a.len, b.len);
	assert_int_equal(a.type, b.type);
	assert_int_equal(a.op, b.op);
	assert_int_equal(a.flags, b.flags);
	assert_int_equal(a.buf_alloc, b.buf_alloc);
	assert_int_equal(a.fwd_cnt, b.fwd_cnt);
	assert_int_equal(vsock_hdr_parse(wire, VSOCK_HDR_SIZE - 1, &b), -1);
}

/* The host connects through the Unix socket; the guest accepts; data both
 * ways; credit limits what the host can push; the guest overrunning ringvm's
 * credit loses the connection. */
static void test_host_to_guest(void **state)
{
	struct env *e = *state;
	struct vsock_hdr o;
	int fd = host_connect(e->path);
	const char hs[] = "CONNECT 1234\nhello";
	assert_int_equal(write(fd, hs, sizeof(hs) - 1), (ssize_t)sizeof(hs) - 1);

	expect_rx(e, &o, VSOCK_OP_REQUEST);
	assert_int_equal(o.dst_port, 1234);
	uint32_t local = o.src_port;
	assert_true(local >= (1u << 30));

	guest_send(e, VSOCK_OP_RESPONSE, 1234, local, NULL, 65536, 0, 0);
	char buf[64], want[32];
	snprintf(want, sizeof(want), "OK %u\n", local);
	read_exact(fd, buf, strlen(want));
	assert_string_equal(buf, want);

	/* "hello" was sent right after the CONNECT line: it is the guest's. */
	expect_rx(e, &o, VSOCK_OP_RW);
	assert_int_equal(o.len, 5);
	assert_memory_equal(payload, "hello", 5);
	assert_int_equal(o.dst_port, 1234);

	guest_send(e, VSOCK_OP_RW, 1234, local, "world", 65536, 5, 0);
	read_exact(fd, buf, 5);
	assert_string_equal(buf, "world");

	/* The guest now has room for 10 bytes: the host's 20 arrive in two
	 * pieces, the second after the guest reports it consumed the first. */
	guest_send(e, VSOCK_OP_CREDIT_UPDATE, 1234, local, NULL, 10, 5, 0);
	assert_int_equal(write(fd, "0123456789abcdefghij", 20), 20);
	expect_rx(e, &o, VSOCK_OP_RW);
	assert_int_equal(o.len, 10);
	assert_memory_equal(payload, "0123456789", 10);
	assert_int_equal(vsock_host_rx(e->h, &o, payload, sizeof(payload)), 0);
	guest_send(e, VSOCK_OP_CREDIT_UPDATE, 1234, local, NULL, 10, 15, 0);
	expect_rx(e, &o, VSOCK_OP_RW);
	assert_int_equal(o.len, 10);
	assert_memory_equal(payload, "abcdefghij", 10);

	/* A CREDIT_REQUEST is answered with ringvm's counters. */
	guest_send(e, VSOCK_OP_CREDIT_REQUEST, 1234, local, NULL, 65536, 25, 0);
	expect_rx(e, &o, VSOCK_OP_CREDIT_UPDATE);
	assert_int_equal(o.fwd_cnt, 5);

	/* The guest sends more than the 256 KiB ringvm advertised while the
	 * host reads nothing: the connection is reset and the host sees EOF. */
	static char chunk[VSOCK_MAX_PAYLOAD / 2 + 1];
	memset(chunk, 'x', sizeof(chunk) - 1);
	bool reset = false;
	for (int i = 0; i < 64 && !reset; i++) {
		guest_send(e, VSOCK_OP_RW, 1234, local, chunk, 65536, 25, 0);
		if (vsock_host_rx(e->h, &o, payload, sizeof(payload)) && o.op == VSOCK_OP_RST)
			reset = true;
	}
	assert_true(reset);
	ssize_t r;
	size_t total = 0;
	while ((r = read(fd, payload, sizeof(payload))) > 0)
		total += (size_t)r;
	assert_int_equal(r, 0);                   /* EOF, not a timeout */
	assert_true(total <= VSOCK_BUF_ALLOC + 5); /* never more than the credit */
	struct vsock_host_stats st;
	vsock_host_get_stats(e->h, &st);
	assert_int_equal(st.conns_host, 1);
	assert_true(st.bad_packets >= 1);
	close(fd);
}

/* The guest connects to CID 2 port 5000: ringvm connects to PATH_5000. */
static void test_guest_to_host(void **state)
{
	struct env *e = *state;
	struct vsock_hdr o;
	char lpath[100];
	snprintf(lpath, sizeof(lpath), "%s_5000", e->path);
	int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", lpath);
	assert_int_equal(bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(l, 4), 0);

	guest_send(e, VSOCK_OP_REQUEST, 777, 5000, NULL, 65536, 0, 0);
	expect_rx(e, &o, VSOCK_OP_RESPONSE);
	assert_int_equal(o.src_port, 5000);
	assert_int_equal(o.dst_port, 777);
	int s = accept(l, NULL, NULL);
	assert_true(s >= 0);
	struct timeval tv = { .tv_sec = 2 };
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));

	char buf[16];
	guest_send(e, VSOCK_OP_RW, 777, 5000, "ping", 65536, 0, 0);
	read_exact(s, buf, 4);
	assert_string_equal(buf, "ping");
	assert_int_equal(write(s, "pong", 4), 4);
	expect_rx(e, &o, VSOCK_OP_RW);
	assert_int_equal(o.len, 4);
	assert_memory_equal(payload, "pong", 4);

	/* The host closes: the guest is told both directions are shut; its
	 * RST ends the connection. */
	close(s);
	expect_rx(e, &o, VSOCK_OP_SHUTDOWN);
	assert_int_equal(o.flags, VSOCK_SHUTDOWN_RCV | VSOCK_SHUTDOWN_SEND);
	guest_send(e, VSOCK_OP_RST, 777, 5000, NULL, 65536, 0, 0);
	assert_int_equal(vsock_host_rx(e->h, &o, payload, sizeof(payload)), 0);
	/* The connection is gone: data on it is answered with RST. */
	guest_send(e, VSOCK_OP_RW, 777, 5000, "late", 65536, 0, 0);
	expect_rx(e, &o, VSOCK_OP_RST);

	/* A guest SHUTDOWN of both directions is answered with RST. */
	guest_send(e, VSOCK_OP_REQUEST, 778, 5000, NULL, 65536, 0, 0);
	expect_rx(e, &o, VSOCK_OP_RESPONSE);
	s = accept(l, NULL, NULL);
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	guest_send(e, VSOCK_OP_SHUTDOWN, 778, 5000, NULL, 65536, 0,
		   VSOCK_SHUTDOWN_RCV | VSOCK_SHUTDOWN_SEND);
	expect_rx(e, &o, VSOCK_OP_RST);
	assert_int_equal(o.dst_port, 778);
	assert_int_equal(read(s, buf, sizeof(buf)), 0);   /* the host sees EOF */
	close(s);

	/* Nobody listens on port 5001: RST. */
	guest_send(e, VSOCK_OP_REQUEST, 779, 5001, NULL, 65536, 0, 0);
	expect_rx(e, &o, VSOCK_OP_RST);
	assert_int_equal(o.src_port, 5001);
	assert_int_equal(o.dst_port, 779);
	close(l);
}

/* Hostile packets: dropped or answered with RST, never a crash. */
static void test_hostile(void **state)
{
	struct env *e = *state;
	struct vsock_hdr o, h = { .src_cid = 99, .dst_cid = 2, .src_port = 1, .dst_port = 2,
				  .type = VSOCK_TYPE_STREAM, .op = VSOCK_OP_REQUEST };
	vsock_host_tx(e->h, &h, NULL, 0);                 /* spoofed source CID */
	h.src_cid = CID;
	h.dst_cid = 7;
	vsock_host_tx(e->h, &h, NULL, 0);                 /* not for the host */
	h.dst_cid = 2;
	h.len = 100;
	vsock_host_tx(e->h, &h, payload, 10);             /* length lies */
	assert_int_equal(vsock_host_rx(e->h, &o, payload, sizeof(payload)), 0);
	h.len = 0;
	h.type = 2;                                       /* SEQPACKET */
	vsock_host_tx(e->h, &h, NULL, 0);
	expect_rx(e, &o, VSOCK_OP_RST);
	h.type = VSOCK_TYPE_STREAM;
	h.op = VSOCK_OP_RST;                              /* RST for nothing: silence */
	vsock_host_tx(e->h, &h, NULL, 0);
	h.op = 42;                                        /* unknown op, no connection */
	vsock_host_tx(e->h, &h, NULL, 0);
	expect_rx(e, &o, VSOCK_OP_RST);
	assert_int_equal(vsock_host_rx(e->h, &o, payload, sizeof(payload)), 0);
	/* Many RSTs at once: bounded, the rest dropped. */
	h.op = VSOCK_OP_RW;
	for (int i = 0; i < 1000; i++)
		vsock_host_tx(e->h, &h, NULL, 0);
	unsigned n = 0;
	while (vsock_host_rx(e->h, &o, payload, sizeof(payload)))
		n++;
	assert_true(n > 0 && n <= 64);

	/* A regular file at the socket path is not removed: one line, NULL. */
	char fpath[100], err[256];
	snprintf(fpath, sizeof(fpath), "%s/file", e->dir);
	FILE *f = fopen(fpath, "w");
	assert_non_null(f);
	fclose(f);
	assert_null(vsock_host_create(&e->loop, CID, fpath, NULL, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "--vsock uds="));
	assert_int_equal(access(fpath, F_OK), 0);
	unlink(fpath);

	/* A bad handshake line: the host is disconnected. */
	int fd = host_connect(e->path);
	assert_int_equal(write(fd, "CONNECT x\n", 10), 10);
	run_loop(e, 300);
	char c;
	assert_int_equal(read(fd, &c, 1), 0);
	close(fd);
	fd = host_connect(e->path);
	char junk[100];
	memset(junk, 'A', sizeof(junk));
	assert_int_equal(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	run_loop(e, 300);
	assert_true(read(fd, &c, 1) <= 0);
	close(fd);
	assert_int_equal(vsock_host_rx(e->h, &o, payload, sizeof(payload)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_round_trip),
		cmocka_unit_test_setup_teardown(test_host_to_guest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_guest_to_host, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
