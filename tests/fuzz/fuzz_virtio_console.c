/* libFuzzer target: virtio-console (src/virtio/virtio_console.c) as a whole
 * device, through the virtio-pci transport, driven by a hostile driver
 * (fuzz_virtio.h, device level): output chains of any shape and size,
 * input buffers of any size (zero-length ones too) while the host side
 * types, configuration-space reads and writes (the device has none: BAR
 * accesses there must be harmless), resets at any point.  The device has
 * one port and no multiport control queue.
 *
 * The back end is a fake char device (chardev.h's ops; this target
 * defines chardev_open): output is checked, input is kept until the
 * device takes it and offered again on the event loop after the device's
 * wake-up, as the real back ends do.  Checked besides fuzz_virtio.h's
 * checks: every write to the back end is 1..4096 bytes; the device never
 * takes more input than offered; at the end, with the receive queue
 * notified and the loop run, no input waits while the driver has
 * receive buffers available (a live device, bus mastering). */
#define FUZZ_VIRTIO_DEVICE
#include "fuzz_virtio.h"
#include "src/backend/chardev.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FAKE_INPUT 8192

struct fake_chr {
	struct chardev c;
	struct evloop *loop;
	int wake_fd;             /* eventfd: the device has room again */
	size_t pending;
	uint8_t in[FAKE_INPUT];  /* input not taken yet */
};

/* The one char device of the current input (open to destroy). */
static struct fake_chr *fake;

static void fake_offer(struct fake_chr *f)
{
	if (!f->c.fe.receive || !f->pending)
		return;
	size_t took = f->c.fe.receive(f->c.fe.opaque, f->in, f->pending);
	if (took > f->pending)
		abort();
	memmove(f->in, f->in + took, f->pending - took);
	f->pending -= took;
}

static void fake_wake_cb(void *opaque, int fd, uint32_t events)
{
	uint64_t v;
	ssize_t r = read(fd, &v, sizeof(v));
	(void)r;
	(void)events;
	fake_offer(opaque);
}

static void fake_write(struct chardev *c, const uint8_t *buf, size_t len)
{
	(void)buf;
	if (len == 0 || len > 4096)
		abort();
	atomic_fetch_add(&c->tx_bytes, len);
}

/* Any thread (the device calls it under its lock): defer to the loop. */
static void fake_wake_input(struct chardev *c)
{
	struct fake_chr *f = (struct fake_chr *)c;
	uint64_t one = 1;
	ssize_t r = write(f->wake_fd, &one, sizeof(one));
	(void)r;
}

static void fake_destroy(struct chardev *c)
{
	struct fake_chr *f = (struct fake_chr *)c;
	evloop_del_fd(f->loop, f->wake_fd);
	close(f->wake_fd);
	if (f != fake)
		abort();
	fake = NULL;
	free(f);
}

static const struct chardev_ops fake_ops = {
	.kind = "fake", .write = fake_write, .wake_input = fake_wake_input,
	.destroy = fake_destroy,
};

struct chardev *chardev_open(struct vm *vm, const struct chardev_frontend *fe)
{
	struct fake_chr *f = calloc(1, sizeof(*f));
	if (!f)
		abort();
	f->c.ops = &fake_ops;
	if (fe)
		f->c.fe = *fe;
	f->loop = &vm->loop;
	f->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (f->wake_fd < 0 || evloop_add_fd(f->loop, f->wake_fd, EPOLLIN, fake_wake_cb, f) < 0)
		abort();
	fake = f;
	return &f->c;
}

static void vcon_configure(struct vm *vm)
{
	vm->cfg.console = VM_CONSOLE_VIRTIO;
}

/* The host types len bytes: kept (what fits) and offered at once. */
static void vcon_host_send(struct fuzz_vdev *f, const uint8_t *buf, size_t len)
{
	(void)f;
	size_t room = FAKE_INPUT - fake->pending;
	if (len > room)
		len = room;
	memcpy(fake->in + fake->pending, buf, len);
	fake->pending += len;
	fake_offer(fake);
}

static void vcon_finish(struct fuzz_vdev *f)
{
	if (!fuzz_vdev_dma_live(f) || !f->d->vq[0].ready)
		return;
	fuzz_vdev_wr(f, VIRTIO_PCI_NOTIFY_OFF, 2, 0);     /* receive queue */
	fuzz_vdev_loop_turn(f);
	if (fake->pending && fuzz_vdev_waiting(f, 0) && !f->d->broken)
		abort();
}

static const struct fuzz_vdev_target vcon = {
	.device = "virtio_console",
	.drained = 1u << 1,                               /* transmit */
	.configure = vcon_configure,
	.host_send = vcon_host_send,
	.finish = vcon_finish,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_vdev_run(&vcon, data, size);
}
