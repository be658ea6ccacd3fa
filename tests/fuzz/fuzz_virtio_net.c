/* libFuzzer target: virtio-net (src/virtio/virtio_net.c) as a whole device,
 * through the virtio-pci transport, driven by a hostile driver
 * (fuzz_virtio.h, device level): transmit chains of any shape (header and
 * frame split anywhere, zero and huge lengths, writable where readable is
 * expected), receive buffers of any size while the back end pushes frames
 * of 0 to 4095 bytes, resets at any point.
 *
 * The back end is net_backend.c itself (its queues, eventfd and retries)
 * with a fake kind: this target links neither libslirp's nor the TAP code
 * and defines both kinds' ops (net_internal.h) as the fake, which checks
 * every frame the guest sends and hands frames to the guest on request.
 * Checked besides fuzz_virtio.h's checks: every frame reaching the back
 * end's kind is 1..NET_FRAME_MAX bytes; at the end, with the receive
 * queue notified and the loop run, the back end holds no frame while the
 * driver has receive buffers available (a live device, bus mastering). */
#define FUZZ_VIRTIO_DEVICE
#include "fuzz_virtio.h"
#include "src/net/net_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The one back end of the current input (open to close). */
static struct net_backend *fake_be;

static int fake_open(struct net_backend *b, const struct vm_net *cfg, char *err, size_t errlen)
{
	(void)cfg;
	(void)err;
	(void)errlen;
	fake_be = b;
	return 0;
}

static void fake_transmit(struct net_backend *b, const uint8_t *frame, size_t len)
{
	(void)b;
	(void)frame;
	if (len == 0 || len > NET_FRAME_MAX)
		abort();
}

static void fake_close(struct net_backend *b)
{
	if (b != fake_be)
		abort();
	fake_be = NULL;
}

const struct net_backend_ops net_slirp_ops = {
	.kind = "fake", .open = fake_open, .transmit = fake_transmit, .close = fake_close,
};
const struct net_backend_ops net_tap_ops = {
	.kind = "fake", .open = fake_open, .transmit = fake_transmit, .close = fake_close,
};

static void vnet_configure(struct vm *vm)
{
	vm->cfg.nr_nets = 1;
	vm->cfg.nets[0] = (struct vm_net){ .kind = VM_NET_USER };
}

/* A frame from the host side (the event loop's thread in ringvm). */
static void vnet_host_send(struct fuzz_vdev *f, const uint8_t *buf, size_t len)
{
	(void)f;
	net_backend_receive(fake_be, buf, len);
}

static void vnet_finish(struct fuzz_vdev *f)
{
	if (!fuzz_vdev_dma_live(f) || !f->d->vq[0].ready)
		return;
	fuzz_vdev_wr(f, VIRTIO_PCI_NOTIFY_OFF, 2, 0);     /* receive queue */
	fuzz_vdev_loop_turn(f);
	if (fake_be->rxq.count && fuzz_vdev_waiting(f, 0) && !f->d->broken)
		abort();
}

static const struct fuzz_vdev_target vnet = {
	.device = "virtio_net",
	.drained = 1u << 1,                               /* transmit */
	.configure = vnet_configure,
	.host_send = vnet_host_send,
	.finish = vnet_finish,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_vdev_run(&vnet, data, size);
}
