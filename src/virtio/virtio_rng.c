/* virtio-rng (Virtio 1.2 section 5.4): the driver posts writable buffers,
 * the device fills them from the host's getrandom().  GRND_NONBLOCK: the
 * request runs on the vCPU thread that kicked the queue, so it must never
 * wait for the host's entropy pool (a buffer it cannot fill goes back
 * empty and the driver asks again).  At most VIRTIO_RNG_MAX_BYTES per
 * buffer, so one kick does a bounded amount of work. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>

#include "virtio_pci.h"
#include "ringvm/device.h"
#include "ringvm/vm.h"

#define VIRTIO_RNG_MAX_BYTES 4096
#define VIRTIO_RNG_QUEUE_SIZE 64

static void rng_notify(struct virtio_dev *d, unsigned q)
{
	struct virtq_chain *c = d->priv;  /* scratch chain, used under d->lock */
	uint8_t buf[VIRTIO_RNG_MAX_BYTES];
	for (unsigned n = 0; n < VIRTIO_RNG_QUEUE_SIZE; n++) {
		int r = virtio_dev_pop(d, q, c);
		if (r <= 0)
			return;
		atomic_fetch_add(&d->stats.requests, 1);
		uint64_t want = c->in_len < sizeof(buf) ? c->in_len : sizeof(buf);
		ssize_t got = want ? getrandom(buf, want, GRND_NONBLOCK) : 0;
		uint32_t written = 0;
		if (got > 0) {
			int64_t w = virtq_chain_write(d->mem, c, 0, buf, (uint64_t)got);
			written = w > 0 ? (uint32_t)w : 0;
		} else if (got < 0) {
			atomic_fetch_add(&d->stats.errors, 1);
		}
		atomic_fetch_add(&d->stats.bytes_in, written);
		virtio_dev_push(d, q, c->head, written);
	}
}

/* Firecracker's "entropy" group (its rng/metrics.rs). */
static void rng_metrics(struct virtio_dev *d, struct vm_metrics *m)
{
	snprintf(m->group, sizeof(m->group), "entropy");
	vm_metric(m, "entropy_event_count", atomic_load(&d->stats.notifies));
	vm_metric(m, "entropy_bytes", atomic_load(&d->stats.bytes_in));
	vm_metric(m, "host_rng_fails", atomic_load(&d->stats.errors));
}

static void rng_destroy(struct virtio_dev *d)
{
	free(d->priv);
}

static const struct virtio_dev_ops virtio_rng_ops = {
	.name = "virtio-rng",
	.device_id = VIRTIO_ID_RNG,
	.pci_class = 0x00ff00,          /* unclassified device, as QEMU */
	.nr_queues = 1,
	.queue_max = VIRTIO_RNG_QUEUE_SIZE,
	.queue_notify = rng_notify,
	.destroy = rng_destroy,
	.metrics = rng_metrics,
	.snapshot = true,               /* nothing in flight: each kick is served whole */
};

static int virtio_rng_create(struct vm *vm)
{
	if (!vm->cfg.rng)
		return 0;
	struct virtq_chain *c = malloc(sizeof(*c));
	if (!c)
		return -ENOMEM;
	int r = virtio_pci_add(vm, &virtio_rng_ops, c, NULL);
	if (r < 0)
		free(c);
	return r;
}

VM_DEVICE_ORDERED(virtio_rng, virtio_rng_create, 40);
