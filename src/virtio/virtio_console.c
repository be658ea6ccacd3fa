/* virtio-console (Virtio 1.2 section 5.3), one port: the guest's hvc0.
 * With `--console virtio` the serial back end (--serial: stdio, file, unix
 * socket) is connected here instead of to COM1, whose output then goes
 * nowhere.  The guest needs console=hvc0 on its command line and the
 * virtio_console driver (a module in Debian's kernel: messages before it
 * loads are not seen; earlyprintk=serial still shows them on COM1 if the
 * user wants them, through no back end).
 *
 * Queues: 0 receiveq (host -> guest), 1 transmitq.  No feature bits (no
 * size, no multiport, no emergency write), so no configuration space.
 *
 * Threads: transmit on the notifying vCPU thread into the back end (which
 * never blocks: chardev.h); receive on the event loop, straight into the
 * driver's buffers; what does not fit stays in the back end, which stops
 * reading until the driver posts buffers (chardev_wake_input).
 *
 * Snapshots (docs/snapshot.md): the queues are the whole state (a transmit
 * chain is written to the back end on the kicking thread, a receive chain
 * filled under one lock hold), so nothing is in flight; while the VM is
 * paused input waits in the back end.  A restore attaches the restoring
 * process's back end; output the old process had taken is its own. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "virtio_pci.h"
#include "../backend/chardev.h"
#include "ringvm/device.h"
#include "ringvm/vm.h"

#define VCON_RXQ 0
#define VCON_TXQ 1
#define VCON_QUEUE_SIZE 64
#define VCON_CHUNK 4096
#define VCON_MAX_CHAIN (64 * 1024)   /* bytes taken from one transmit chain */

struct virtio_console {
	struct virtio_dev *dev;
	struct chardev *chr;
	struct virtq_chain chain;    /* under dev->lock */
	uint8_t buf[VCON_CHUNK];     /* under dev->lock */
};

static void vcon_config_read(struct virtio_dev *d, uint32_t off, void *buf, uint32_t len)
{
	memset(buf, 0, len);
}

static void vcon_config_write(struct virtio_dev *d, uint32_t off, const void *buf, uint32_t len)
{
}

static void vcon_tx(struct virtio_dev *d, struct virtio_console *v)
{
	struct virtq_chain *c = &v->chain;
	for (unsigned i = 0; i < VCON_QUEUE_SIZE; i++) {
		if (virtio_dev_pop(d, VCON_TXQ, c) != 1)
			break;
		atomic_fetch_add(&d->stats.requests, 1);
		/* A chain can name the same RAM many times over: a guest gets
		 * at most 64 KiB written per chain, the rest is dropped. */
		uint64_t total = c->out_len;
		if (total > VCON_MAX_CHAIN) {
			total = VCON_MAX_CHAIN;
			atomic_fetch_add(&d->stats.errors, 1);
		}
		for (uint64_t off = 0; off < total;) {
			uint64_t want = total - off < VCON_CHUNK ? total - off : VCON_CHUNK;
			int64_t n = virtq_chain_read(d->mem, c, off, v->buf, want);
			if (n <= 0) {
				atomic_fetch_add(&d->stats.errors, 1);
				break;
			}
			chardev_write(v->chr, v->buf, (size_t)n);
			atomic_fetch_add(&d->stats.bytes_out, (uint64_t)n);
			off += (uint64_t)n;
		}
		virtio_dev_push(d, VCON_TXQ, c->head, 0);
	}
}

/* Event loop: host input.  Returns the bytes taken (the rest waits). */
static size_t vcon_receive(void *opaque, const uint8_t *buf, size_t len)
{
	struct virtio_console *v = opaque;
	struct virtio_dev *d = v->dev;
	size_t done = 0;
	/* Nothing reaches the guest while it does not run (paused, or a
	 * restore's vCPUs still loading): the input waits in the back end
	 * (vcon_resumed). */
	if (!d || (d->vm && !vm_guest_takes_input(d->vm)))
		return 0;
	pthread_mutex_lock(&d->lock);
	while (done < len) {
		if (!virtio_dev_live(d) || !virtq_has_work(&d->vq[VCON_RXQ]))
			break;
		if (virtio_dev_pop(d, VCON_RXQ, &v->chain) != 1)
			break;
		uint64_t room = v->chain.in_len;
		size_t n = len - done < room ? len - done : (size_t)room;
		int64_t w = virtq_chain_write(d->mem, &v->chain, 0, buf + done, n);
		if (w < 0)
			w = 0;
		virtio_dev_push(d, VCON_RXQ, v->chain.head, (uint32_t)w);
		if (w == 0) {
			atomic_fetch_add(&d->stats.errors, 1);  /* a zero-length buffer */
			continue;
		}
		done += (size_t)w;
		atomic_fetch_add(&d->stats.bytes_in, (uint64_t)w);
	}
	pthread_mutex_unlock(&d->lock);
	return done;
}

static void vcon_queue_notify(struct virtio_dev *d, unsigned q)
{
	struct virtio_console *v = d->priv;
	if (q == VCON_TXQ)
		vcon_tx(d, v);
	else if (q == VCON_RXQ)
		chardev_wake_input(v->chr);   /* buffers for input: resume reading */
}

static int vcon_activate(struct virtio_dev *d)
{
	struct virtio_console *v = d->priv;
	chardev_wake_input(v->chr);
	return 0;
}

static void vcon_reset(struct virtio_dev *d)
{
}

/* Input held back while the VM was paused, or waiting since a restore. */
static void vcon_resumed(struct virtio_dev *d)
{
	struct virtio_console *v = d->priv;
	chardev_wake_input(v->chr);
}

static void vcon_print_stats(struct virtio_dev *d, FILE *out)
{
	struct virtio_console *v = d->priv;
	fprintf(out, "  console %-8s out %" PRIu64 " bytes, %" PRIu64 " dropped; in %" PRIu64
		" bytes\n", v->chr->ops->kind, atomic_load(&v->chr->tx_bytes),
		atomic_load(&v->chr->tx_dropped), atomic_load(&v->chr->rx_bytes));
}

static void vcon_destroy(struct virtio_dev *d)
{
	struct virtio_console *v = d->priv;
	chardev_destroy(v->chr);
	free(v);
}

static const struct virtio_dev_ops virtio_console_ops = {
	.name = "virtio-console",
	.device_id = VIRTIO_ID_CONSOLE,
	.pci_class = 0x078000,       /* simple communication controller, other */
	.features = 0,
	.nr_queues = 2,
	.queue_max = VCON_QUEUE_SIZE,
	.config_size = 0,
	.config_read = vcon_config_read,
	.config_write = vcon_config_write,
	.activate = vcon_activate,
	.queue_notify = vcon_queue_notify,
	.reset = vcon_reset,
	.print_stats = vcon_print_stats,
	.destroy = vcon_destroy,
	.snapshot = true,
	.resumed = vcon_resumed,
};

static int virtio_console_create(struct vm *vm)
{
	if (vm->cfg.console != VM_CONSOLE_VIRTIO)
		return 0;
	struct virtio_console *v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	/* Opened detached; attached once the device exists (input waits). */
	v->chr = chardev_open(vm, NULL);
	if (!v->chr) {
		int e = errno ? errno : EINVAL;  /* chardev_open printed why */
		free(v);
		return -e;
	}
	int r = virtio_pci_add(vm, &virtio_console_ops, v, &v->dev);
	if (r < 0) {
		pr_err("--console virtio: cannot add the virtio-console device: %s", strerror(-r));
		chardev_destroy(v->chr);
		free(v);
		return r;
	}
	struct chardev_frontend fe = { .receive = vcon_receive, .opaque = v };
	chardev_attach(v->chr, &fe);
	return 0;
}

VM_DEVICE_ORDERED(virtio_console, virtio_console_create, 30);
