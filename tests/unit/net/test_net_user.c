/* The network back ends without a NIC: the test plays the guest's side,
 * handing raw Ethernet frames to net_backend_send() and reading what the
 * back end delivers, with the event loop run for real.
 *   - hostfwd rules in QEMU's syntax, good and bad;
 *   - the user-mode network answers an ARP request for the host (10.0.2.2);
 *   - a host connection to a forwarded port reaches the guest as a TCP SYN
 *     to the guest port;
 *   - a NIC without receive buffers gets the frame later, after rx_ready;
 *   - TAP option errors name the option. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "ringvm/evloop.h"
#include "ringvm/net.h"
#include "ringvm/vm.h"

static const uint8_t guest_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

struct fake_nic {
	struct evloop *loop;
	bool accept;              /* has receive buffers */
	unsigned refused;
	uint8_t last[NET_FRAME_MAX];
	size_t last_len;
	bool (*want)(const uint8_t *f, size_t len);  /* stop the loop on this frame */
	bool seen;
};

static bool nic_rx(void *opaque, const uint8_t *frame, size_t len)
{
	struct fake_nic *n = opaque;
	if (!n->accept) {
		n->refused++;
		return false;
	}
	memcpy(n->last, frame, len);
	n->last_len = len;
	if (n->want && n->want(frame, len)) {
		n->seen = true;
		evloop_stop(n->loop);
	}
	return true;
}

static void on_deadline(void *opaque, int fd, uint32_t events)
{
	(void)fd;
	(void)events;
	evloop_stop(opaque);
}

/* Run the loop until the NIC saw what it wants or ms passed. */
static void run_loop(struct evloop *l, unsigned ms)
{
	int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	assert_true(tfd >= 0);
	struct itimerspec its = { .it_value = { .tv_sec = ms / 1000,
						.tv_nsec = (long)(ms % 1000) * 1000000 } };
	timerfd_settime(tfd, 0, &its, NULL);
	assert_int_equal(evloop_add_fd(l, tfd, EPOLLIN, on_deadline, l), 0);
	l->stop = false;
	evloop_run(l, 100);
	evloop_del_fd(l, tfd);
	close(tfd);
}

/* ---- frames ------------------------------------------------------------ */

static size_t arp_request(uint8_t *f, const char *target)
{
	memset(f, 0xff, 6);                 /* broadcast */
	memcpy(f + 6, guest_mac, 6);
	f[12] = 0x08, f[13] = 0x06;         /* ARP */
	uint8_t *a = f + 14;
	a[0] = 0, a[1] = 1;                 /* Ethernet */
	a[2] = 0x08, a[3] = 0;              /* IPv4 */
	a[4] = 6, a[5] = 4;
	a[6] = 0, a[7] = 1;                 /* request */
	memcpy(a + 8, guest_mac, 6);
	inet_pton(AF_INET, NET_USER_GUEST, a + 14);
	memset(a + 18, 0, 6);
	inet_pton(AF_INET, target, a + 24);
	return 14 + 28;
}

static bool is_arp_reply_from_host(const uint8_t *f, size_t len)
{
	uint8_t host[4];
	inet_pton(AF_INET, NET_USER_HOST, host);
	return len >= 42 && f[12] == 0x08 && f[13] == 0x06 && f[20] == 0 && f[21] == 2 &&
	       !memcmp(f + 28, host, 4) && !memcmp(f, guest_mac, 6);
}

static bool is_syn_to_port_80(const uint8_t *f, size_t len)
{
	if (len < 14 + 20 + 20 || f[12] != 0x08 || f[13] != 0x00)
		return false;
	const uint8_t *ip = f + 14;
	unsigned ihl = (ip[0] & 15) * 4u;
	if (ip[9] != 6 || len < 14 + ihl + 20)
		return false;
	const uint8_t *tcp = ip + ihl;
	uint8_t dst[4];
	inet_pton(AF_INET, NET_USER_GUEST, dst);
	return !memcmp(ip + 16, dst, 4) && tcp[2] == 0 && tcp[3] == 80 && (tcp[13] & 0x02);
}

static int send_frame(struct net_backend *b, const uint8_t *f, size_t len)
{
	struct iovec iov = { (void *)f, len };
	return net_backend_send(b, &iov, 1);
}

/* ---- tests ------------------------------------------------------------- */

static void test_hostfwd_parse(void **state)
{
	(void)state;
	struct net_hostfwd f;
	char err[160];
	assert_int_equal(net_hostfwd_parse("tcp:127.0.0.1:8080-:80", &f, err, sizeof(err)), 0);
	assert_false(f.udp);
	assert_int_equal(f.host_addr, htonl(INADDR_LOOPBACK));
	assert_int_equal(f.host_port, 8080);
	assert_int_equal(f.guest_addr, 0);
	assert_int_equal(f.guest_port, 80);
	assert_int_equal(net_hostfwd_parse("udp::5353-10.0.2.15:53", &f, err, sizeof(err)), 0);
	assert_true(f.udp);
	assert_int_equal(f.host_addr, 0);
	assert_int_equal(f.guest_port, 53);
	assert_int_equal(net_hostfwd_parse("::2222-:22", &f, err, sizeof(err)), 0);
	assert_int_equal(f.host_port, 2222);

	assert_int_equal(net_hostfwd_parse("sctp::1-:2", &f, err, sizeof(err)), -1);
	assert_int_equal(net_hostfwd_parse("tcp::8080:80", &f, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "'-'"));
	assert_int_equal(net_hostfwd_parse("tcp::0-:80", &f, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "host port"));
	assert_int_equal(net_hostfwd_parse("tcp::80-:65536", &f, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "guest port"));
	assert_int_equal(net_hostfwd_parse("tcp:300.1.1.1:80-:80", &f, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "host address"));
	assert_int_equal(net_hostfwd_parse("tcp::80-80", &f, err, sizeof(err)), -1);
	assert_int_equal(net_hostfwd_parse("tcp::80x-:80", &f, err, sizeof(err)), -1);
	assert_int_equal(net_hostfwd_parse("tcp::-:80", &f, err, sizeof(err)), -1);
}

static void test_user_arp_and_hostfwd(void **state)
{
	(void)state;
	struct evloop loop;
	assert_int_equal(evloop_init(&loop), 0);

	/* A free host port for the forward. */
	int probe = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	assert_int_equal(bind(probe, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(probe, (struct sockaddr *)&sa, &sl), 0);
	unsigned port = ntohs(sa.sin_port);
	close(probe);
	char rule[64];
	snprintf(rule, sizeof(rule), "tcp:127.0.0.1:%u-:80", port);

	struct vm_net cfg = { .kind = VM_NET_USER, .nr_hostfwd = 1, .hostfwd = { rule } };
	struct fake_nic nic = { .loop = &loop, .accept = true };
	char err[256] = "";
	struct net_backend *b = net_backend_create(&loop, &cfg, nic_rx, &nic, err, sizeof(err));
	assert_non_null(b);
	assert_string_equal(net_backend_kind(b), "user");

	/* The second back end cannot forward the same port: one line naming it. */
	struct evloop loop2;
	assert_int_equal(evloop_init(&loop2), 0);
	assert_null(net_backend_create(&loop2, &cfg, nic_rx, &nic, err, sizeof(err)));
	assert_non_null(strstr(err, "hostfwd=tcp:127.0.0.1:"));
	evloop_destroy(&loop2);

	/* ARP: who has 10.0.2.2?  slirp answers (and learns the guest's MAC). */
	uint8_t f[64];
	nic.want = is_arp_reply_from_host;
	assert_int_equal(send_frame(b, f, arp_request(f, NET_USER_HOST)), 0);
	run_loop(&loop, 2000);
	assert_true(nic.seen);
	assert_true(atomic_load(&net_backend_stats(b)->tx_frames) >= 1);
	assert_true(atomic_load(&net_backend_stats(b)->rx_frames) >= 1);

	/* The host connects to the forwarded port: the guest is offered a SYN
	 * to port 80 from slirp. */
	int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	sa.sin_port = htons((uint16_t)port);
	int r = connect(c, (struct sockaddr *)&sa, sizeof(sa));
	assert_true(r == 0 || errno == EINPROGRESS);
	nic.seen = false;
	nic.want = is_syn_to_port_80;
	run_loop(&loop, 3000);
	assert_true(nic.seen);
	close(c);

	/* A NIC with no receive buffers: the frame waits, then arrives after
	 * rx_ready. */
	nic.accept = false;
	nic.seen = false;
	nic.want = is_arp_reply_from_host;
	assert_int_equal(send_frame(b, f, arp_request(f, NET_USER_HOST)), 0);
	run_loop(&loop, 300);
	assert_true(nic.refused >= 1);
	assert_false(nic.seen);
	nic.accept = true;
	net_backend_rx_ready(b);
	run_loop(&loop, 1000);
	assert_true(nic.seen);

	/* Hostile sizes from the guest are refused and counted. */
	uint64_t dropped = atomic_load(&net_backend_stats(b)->tx_dropped);
	static uint8_t big[NET_FRAME_MAX + 1];
	assert_int_equal(send_frame(b, big, sizeof(big)), -EMSGSIZE);
	assert_int_equal(send_frame(b, big, 0), -EMSGSIZE);
	assert_int_equal(atomic_load(&net_backend_stats(b)->tx_dropped), dropped + 2);

	net_backend_destroy(b);
	evloop_destroy(&loop);
}

static void test_tx_queue_bound(void **state)
{
	(void)state;
	struct evloop loop;
	assert_int_equal(evloop_init(&loop), 0);
	struct vm_net cfg = { .kind = VM_NET_USER };
	struct fake_nic nic = { .loop = &loop, .accept = true };
	char err[256];
	struct net_backend *b = net_backend_create(&loop, &cfg, nic_rx, &nic, err, sizeof(err));
	assert_non_null(b);
	uint8_t f[64];
	size_t len = arp_request(f, "10.0.2.99"); /* nobody: no answer */
	unsigned ok = 0, full = 0;
	for (unsigned i = 0; i < NET_QUEUE_FRAMES + 10; i++) {
		int r = send_frame(b, f, len);
		if (r == 0)
			ok++;
		else if (r == -ENOBUFS)
			full++;
	}
	/* The loop has not run: the queue holds exactly its bound. */
	assert_int_equal(ok, NET_QUEUE_FRAMES);
	assert_int_equal(full, 10);
	run_loop(&loop, 200);
	assert_int_equal(atomic_load(&net_backend_stats(b)->tx_frames), NET_QUEUE_FRAMES);
	assert_int_equal(send_frame(b, f, len), 0);
	net_backend_destroy(b);
	evloop_destroy(&loop);
}

static void test_tap_errors(void **state)
{
	(void)state;
	struct evloop loop;
	assert_int_equal(evloop_init(&loop), 0);
	struct fake_nic nic = { .loop = &loop };
	char err[256];
	struct vm_net cfg = { .kind = VM_NET_TAP, .ifname = "a-name-longer-than-15" };
	assert_null(net_backend_create(&loop, &cfg, nic_rx, &nic, err, sizeof(err)));
	assert_non_null(strstr(err, "--net tap,ifname=a-name-longer-than-15"));
	cfg.ifname = NULL;
	assert_null(net_backend_create(&loop, &cfg, nic_rx, &nic, err, sizeof(err)));
	assert_non_null(strstr(err, "--net tap"));
	evloop_destroy(&loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hostfwd_parse),
		cmocka_unit_test(test_user_arp_and_hostfwd),
		cmocka_unit_test(test_tx_queue_bound),
		cmocka_unit_test(test_tap_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
