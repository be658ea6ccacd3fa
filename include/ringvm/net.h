/* Network back ends: where a virtual NIC's Ethernet frames go on the host.
 * One small interface for every kind (user-mode networking through libslirp,
 * TAP), so the NIC (virtio-net) does not care which one it has.
 *
 * Threads: the back end lives on the VM's event loop (the main thread).  A
 * NIC hands frames from the guest to net_backend_send() on any thread (a
 * vCPU's, when the guest notifies its transmit queue): the frame is copied
 * into a bounded queue and the loop is woken, so a vCPU never waits for the
 * host network.  Frames for the guest are handed to the NIC's rx callback
 * on the loop's thread; a NIC without free receive buffers refuses the frame,
 * the back end keeps it (up to a bound, then drops and counts) and retries
 * after net_backend_rx_ready(). */
#ifndef RINGVM_NET_H
#define RINGVM_NET_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/uio.h>

struct evloop;
struct vm_net;

/* Largest frame either way: 1514 bytes of Ethernet (MTU 1500) plus a VLAN
 * tag, rounded up.  Longer frames from a guest are dropped and counted. */
#define NET_FRAME_MAX 1536
/* Frames queued each way before the back end drops (and counts) more. */
#define NET_QUEUE_FRAMES 256

/* The user-mode network's fixed addresses (QEMU's, so guides apply). */
#define NET_USER_NETWORK "10.0.2.0"
#define NET_USER_HOST    "10.0.2.2"   /* the host, as the guest sees it */
#define NET_USER_DNS     "10.0.2.3"
#define NET_USER_GUEST   "10.0.2.15"  /* first DHCP address */

/* Runs on the loop's thread with one frame for the guest.  Return false
 * when there is no receive buffer for it (the back end keeps it). */
typedef bool (*net_rx_fn)(void *opaque, const uint8_t *frame, size_t len);

struct net_backend_stats {
	_Atomic uint64_t tx_frames, tx_bytes, tx_dropped;   /* guest -> host */
	_Atomic uint64_t rx_frames, rx_bytes, rx_dropped;   /* host -> guest */
};

struct net_backend;

/* Open the back end cfg describes (cfg->kind) and register it on loop.  On
 * failure returns NULL with one line in err naming the option and reason
 * (e.g. "--net tap,ifname=tap0: /dev/net/tun: Permission denied ..."). */
struct net_backend *net_backend_create(struct evloop *loop, const struct vm_net *cfg,
				       net_rx_fn rx, void *rx_opaque, char *err, size_t errlen);
void net_backend_destroy(struct net_backend *b);

/* Any thread: queue one frame (gathered from iov) for the host side.
 * Returns 0, -EMSGSIZE for a frame longer than NET_FRAME_MAX or empty, or
 * -ENOBUFS when the queue is full; the frame is then dropped and counted. */
int net_backend_send(struct net_backend *b, const struct iovec *iov, unsigned iovcnt);
/* Any thread: the NIC has receive buffers again; frames it refused are
 * offered again on the loop's thread. */
void net_backend_rx_ready(struct net_backend *b);

const struct net_backend_stats *net_backend_stats(const struct net_backend *b);
/* "user" or "tap" (for --stats). */
const char *net_backend_kind(const struct net_backend *b);
void net_backend_print_stats(const struct net_backend *b, FILE *out);

/* QEMU's host-forward syntax, "[tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT"
 * (an empty host address listens on every address, as in QEMU; an empty
 * guest address is the first DHCP address).  Returns 0, or -1 with a
 * reason in err ("host port 0 is out of range", ...). */
struct net_hostfwd {
	bool udp;
	uint32_t host_addr;     /* network byte order; 0 = any */
	uint16_t host_port;
	uint32_t guest_addr;    /* network byte order; 0 = NET_USER_GUEST */
	uint16_t guest_port;
};
int net_hostfwd_parse(const char *s, struct net_hostfwd *fwd, char *err, size_t errlen);

#endif
