/* TAP (`--net tap,ifname=NAME`): frames go to a host TAP device, for users
 * with a bridge.  Opening one needs CAP_NET_ADMIN, or a persistent device
 * created for the user (`ip tuntap add NAME mode tap user USER`).  No
 * virtio-net header on the device (IFF_NO_PI, no IFF_VNET_HDR): the NIC
 * offers no offloads, so frames are plain Ethernet both ways. */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "net_internal.h"
#include "ringvm/evloop.h"
#include "ringvm/vm.h"

struct net_tap {
	int fd;
	bool reading;      /* EPOLLIN armed: the rx queue had room */
};

static void set_reading(struct net_backend *b, bool on)
{
	struct net_tap *t = b->priv;
	if (t->reading == on)
		return;
	if (evloop_mod_fd(b->loop, t->fd, on ? EPOLLIN : 0) == 0)
		t->reading = on;
}

static void on_readable(void *opaque, int fd, uint32_t events)
{
	struct net_backend *b = opaque;
	uint8_t frame[65536];  /* a TAP read returns one frame; longer ones are cut here */
	(void)events;
	/* Bounded per turn; what is left stays readable (level-triggered). */
	for (unsigned n = 0; n < 64; n++) {
		if (net_backend_rx_room(b) == 0) {
			set_reading(b, false);
			return;
		}
		ssize_t r = read(fd, frame, sizeof(frame));
		if (r <= 0)
			return;
		net_backend_receive(b, frame, (size_t)r);
	}
}

static void net_tap_rx_resume(struct net_backend *b)
{
	if (net_backend_rx_room(b))
		set_reading(b, true);
}

static void net_tap_transmit(struct net_backend *b, const uint8_t *frame, size_t len)
{
	struct net_tap *t = b->priv;
	ssize_t r = write(t->fd, frame, len);
	if (r != (ssize_t)len)
		atomic_fetch_add(&b->stats.tx_dropped, 1); /* EAGAIN, link down: like a wire */
}

static void net_tap_close(struct net_backend *b)
{
	struct net_tap *t = b->priv;
	if (!t)
		return;
	if (t->fd >= 0) {
		evloop_del_fd(b->loop, t->fd);
		close(t->fd);
	}
	free(t);
	b->priv = NULL;
}

static int net_tap_open(struct net_backend *b, const struct vm_net *cfg, char *err,
			size_t errlen)
{
	const char *name = cfg->ifname ? cfg->ifname : "";
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
	if (!*name || strlen(name) >= IFNAMSIZ) {
		snprintf(err, errlen, "--net tap,ifname=%s: an interface name of 1 to %d bytes is needed",
			 name, IFNAMSIZ - 1);
		return -1;
	}
	struct net_tap *t = calloc(1, sizeof(*t));
	if (!t) {
		snprintf(err, errlen, "--net tap: out of memory");
		return -1;
	}
	t->fd = -1;
	b->priv = t;
	t->fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (t->fd < 0) {
		snprintf(err, errlen, "--net tap,ifname=%s: /dev/net/tun: %s", name, strerror(errno));
		goto fail;
	}
	memcpy(ifr.ifr_name, name, strlen(name) + 1);
	if (ioctl(t->fd, TUNSETIFF, &ifr) < 0) {
		int e = errno;
		snprintf(err, errlen, "--net tap,ifname=%s: TUNSETIFF: %s%s", name, strerror(e),
			 e == EPERM ? " (needs CAP_NET_ADMIN, or a device made for you: "
				      "ip tuntap add NAME mode tap user $USER)" :
			 e == EBUSY ? " (the device is in use, or is a TUN device)" : "");
		goto fail;
	}
	int e = evloop_add_fd(b->loop, t->fd, EPOLLIN, on_readable, b);
	if (e < 0) {
		snprintf(err, errlen, "--net tap,ifname=%s: event loop: %s", name, strerror(-e));
		goto fail;
	}
	t->reading = true;
	return 0;
fail:
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
	free(t);
	b->priv = NULL;
	return -1;
}

const struct net_backend_ops net_tap_ops = {
	.kind = "tap",
	.open = net_tap_open,
	.transmit = net_tap_transmit,
	.rx_resume = net_tap_rx_resume,
	.close = net_tap_close,
};
