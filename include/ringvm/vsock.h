/* vsock: the packet format of virtio-vsock (Virtio 1.2 section 5.10) and
 * its host side in Firecracker's convention (Firecracker docs/vsock.md):
 *
 *   - ringvm listens on a Unix socket at uds_path.  A host program connects
 *     and writes "CONNECT <port>\n"; ringvm opens a stream to the guest's
 *     port and answers "OK <host port>\n" once the guest accepts (the
 *     connection is closed if it refuses).  Then bytes flow both ways.
 *   - A guest connecting to CID 2 (the host), port P, reaches a Unix socket
 *     listening at "<uds_path>_<P>"; nobody listening: the guest gets RST.
 *
 * The host side is a protocol engine without a virtqueue: the device
 * (src/virtio/virtio_vsock.c) hands it each packet the guest transmits and
 * pulls the packets the guest should receive, so it is unit-tested and
 * fuzzed alone.  Stream sockets only; credit flow control both ways (the
 * guest is refused with RST if it sends beyond the credit ringvm gave it);
 * every header field is hostile.  Thread safe (one lock). */
#ifndef RINGVM_VSOCK_H
#define RINGVM_VSOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct evloop;

#define VSOCK_HOST_CID       2
#define VSOCK_HDR_SIZE       44
#define VSOCK_TYPE_STREAM    1
/* Operations (5.10.6). */
#define VSOCK_OP_INVALID        0
#define VSOCK_OP_REQUEST        1
#define VSOCK_OP_RESPONSE       2
#define VSOCK_OP_RST            3
#define VSOCK_OP_SHUTDOWN       4
#define VSOCK_OP_RW             5
#define VSOCK_OP_CREDIT_UPDATE  6
#define VSOCK_OP_CREDIT_REQUEST 7
#define VSOCK_SHUTDOWN_RCV   1
#define VSOCK_SHUTDOWN_SEND  2

/* Payload bytes in one packet, either way (Linux sends at most 64 KiB). */
#define VSOCK_MAX_PAYLOAD    65536
/* Receive buffer ringvm advertises per connection (buf_alloc). */
#define VSOCK_BUF_ALLOC      (256 * 1024)
/* Connections at once; more requests are refused with RST. */
#define VSOCK_MAX_CONNS      256

/* struct virtio_vsock_hdr, in host byte order. */
struct vsock_hdr {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port;
	uint32_t len;
	uint16_t type, op;
	uint32_t flags;
	uint32_t buf_alloc, fwd_cnt;
};

/* Little-endian wire format <-> struct (len bytes available at b). */
int vsock_hdr_parse(const uint8_t *b, size_t len, struct vsock_hdr *h);
void vsock_hdr_write(uint8_t b[VSOCK_HDR_SIZE], const struct vsock_hdr *h);

struct vsock_host;

/* Called (on the event loop's thread, no lock held) when packets for the
 * guest are waiting: the device should pull them with vsock_host_rx(). */
typedef void (*vsock_rx_kick_fn)(void *opaque);

/* Listen at uds_path (an existing socket file there is replaced).  NULL
 * with one line in err on failure. */
struct vsock_host *vsock_host_create(struct evloop *loop, uint32_t guest_cid,
				     const char *uds_path, vsock_rx_kick_fn kick, void *opaque,
				     char *err, size_t errlen);
/* Close every connection and the listener (and unlink uds_path). */
void vsock_host_destroy(struct vsock_host *h);
/* The guest reset its device: every connection is closed. */
void vsock_host_reset(struct vsock_host *h);

/* Any thread: one packet the guest transmitted (payload: len bytes, the
 * device checked hdr->len == len).  Never blocks. */
void vsock_host_tx(struct vsock_host *h, const struct vsock_hdr *hdr, const uint8_t *payload,
		   size_t len);
/* Any thread: the next packet for the guest, with at most max payload
 * bytes (data is read from the host socket straight into payload).
 * Returns 1 with *hdr filled (hdr->len = payload bytes), 0 if none. */
int vsock_host_rx(struct vsock_host *h, struct vsock_hdr *hdr, uint8_t *payload, size_t max);
/* Any packets waiting for the guest? */
bool vsock_host_rx_pending(struct vsock_host *h);

struct vsock_host_stats {
	uint64_t conns_host, conns_guest, resets, tx_bytes, rx_bytes, bad_packets;
};
void vsock_host_get_stats(struct vsock_host *h, struct vsock_host_stats *s);

#endif
