/* libFuzzer target: the vsock host side's packet handling
 * (src/net/vsock_host.c) as the guest drives it through virtio-vsock's
 * transmit queue, with real Unix sockets on the host side.
 *
 * Input: records of one control byte then a 44-byte little-endian
 * virtio_vsock_hdr, then min(hdr.len & 0xff, what is left) payload bytes.
 * Control bits: 0x01 force src_cid/dst_cid to the right values (so most
 * packets reach the protocol, not the CID filter); 0x02 hand the payload
 * length the header claims instead of the real one (a lying header);
 * 0x04 pull up to 4 packets for the guest after this one; 0x08 run one
 * event-loop turn (host sockets readable/writable); 0x10 have the host
 * listener at <uds>_1 accept and write a few bytes.  A listener at <uds>_1
 * exists so guest REQUESTs to port 1 connect for real.
 * Checked (abort() = a finding): every packet pulled for the guest comes
 * from CID 2 to the guest's CID, is a stream packet with a known op, and
 * carries no more payload than was asked for. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ringvm/evloop.h"
#include "ringvm/vsock.h"

#define CID 3

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t payload[VSOCK_MAX_PAYLOAD];

/* An always-readable eventfd whose callback stops the loop: evloop_run then
 * handles exactly one batch of ready sources. */
static void stop_cb(void *opaque, int fd, uint32_t events)
{
	(void)fd;
	(void)events;
	evloop_stop(opaque);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char dir[] = "/tmp/ringvm-fuzz-vsock-XXXXXX";
	if (!mkdtemp(dir))
		abort();
	char path[64], lpath[80];
	snprintf(path, sizeof(path), "%s/v", dir);
	snprintf(lpath, sizeof(lpath), "%s_1", path);
	struct evloop loop;
	if (evloop_init(&loop) < 0)
		abort();
	char err[256];
	struct vsock_host *h = vsock_host_create(&loop, CID, path, NULL, NULL, err, sizeof(err));
	if (!h)
		abort();
	int l = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", lpath);
	if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(l, 16) < 0)
		abort();
	int accepted[16], nacc = 0;
	int stopper = eventfd(1, EFD_NONBLOCK | EFD_CLOEXEC);
	if (stopper < 0 || evloop_add_fd(&loop, stopper, EPOLLIN, stop_cb, &loop) < 0)
		abort();

	size_t off = 0;
	while (off + 1 + VSOCK_HDR_SIZE <= size) {
		uint8_t ctl = data[off];
		struct vsock_hdr hdr;
		vsock_hdr_parse(data + off + 1, VSOCK_HDR_SIZE, &hdr);
		off += 1 + VSOCK_HDR_SIZE;
		size_t len = hdr.len & 0xff;
		if (len > size - off)
			len = size - off;
		const uint8_t *p = data + off;
		off += len;
		if (ctl & 0x01) {
			hdr.src_cid = CID;
			hdr.dst_cid = VSOCK_HOST_CID;
		}
		if (!(ctl & 0x02))
			hdr.len = (uint32_t)len;
		vsock_host_tx(h, &hdr, p, len);
		if (ctl & 0x10 && nacc < 16) {
			int s = accept(l, NULL, NULL);
			if (s >= 0) {
				accepted[nacc++] = s;
				/* The host side may have closed its end already
				 * (a guest RST): no SIGPIPE for the fuzzer. */
				ssize_t w = send(s, "data", 4, MSG_DONTWAIT | MSG_NOSIGNAL);
				(void)w;
			}
		}
		if (ctl & 0x08) {
			loop.stop = false;
			evloop_run(&loop, 0);
		}
		if (ctl & 0x04) {
			for (int i = 0; i < 4; i++) {
				struct vsock_hdr o;
				size_t max = (size_t)(ctl >> 5) * 8;
				if (!vsock_host_rx(h, &o, payload, max))
					break;
				if (o.src_cid != VSOCK_HOST_CID || o.dst_cid != CID ||
				    o.type != VSOCK_TYPE_STREAM || o.op == VSOCK_OP_INVALID ||
				    o.op > VSOCK_OP_CREDIT_REQUEST || o.len > max)
					abort();
			}
		}
	}
	vsock_host_destroy(h);
	for (int i = 0; i < nacc; i++)
		close(accepted[i]);
	close(l);
	unlink(lpath);
	evloop_del_fd(&loop, stopper);
	close(stopper);
	evloop_destroy(&loop);
	rmdir(dir);
	return 0;
}
