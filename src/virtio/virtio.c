/* The virtio device model: status machine, feature negotiation, queue
 * checks and used-buffer signalling, shared by every device and transport
 * (Virtio 1.2 sections 2 and 3). */
#include <inttypes.h>
#include <string.h>

#include "virtio.h"
#include "ringvm/log.h"
#include "ringvm/vm.h"

void virtio_dev_init(struct virtio_dev *d, struct vm *vm, struct gmem *mem,
		     const struct virtio_dev_ops *ops, void *priv)
{
	memset(d, 0, sizeof(*d));
	d->ops = ops;
	d->priv = priv;
	d->vm = vm;
	d->mem = mem;
	pthread_mutex_init(&d->lock, NULL);
	d->host_features = ops->features | (1ull << VIRTIO_F_VERSION_1) |
			   (1ull << VIRTIO_F_INDIRECT_DESC) | (1ull << VIRTIO_F_EVENT_IDX);
	d->config_vector = VIRTIO_MSI_NO_VECTOR;
	for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++)
		virtq_reset(&d->vq[i], mem, i < ops->nr_queues ? ops->queue_max : 0);
}

void virtio_dev_fini(struct virtio_dev *d)
{
	pthread_mutex_destroy(&d->lock);
}

bool virtio_dev_has_feature(const struct virtio_dev *d, unsigned bit)
{
	return bit < 64 && (d->driver_features >> bit) & 1;
}

bool virtio_dev_live(const struct virtio_dev *d)
{
	return (d->status & VIRTIO_STATUS_DRIVER_OK) && !d->broken;
}

void virtio_dev_reset_locked(struct virtio_dev *d)
{
	if (d->ops->reset)
		d->ops->reset(d);
	d->driver_features = 0;
	d->dfselect = d->gfselect = 0;
	d->status = 0;
	d->config_vector = VIRTIO_MSI_NO_VECTOR;
	d->queue_sel = 0;
	d->isr = 0;
	d->broken = false;
	for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		virtq_reset(&d->vq[i], d->mem, i < d->ops->nr_queues ? d->ops->queue_max : 0);
		d->vq_enabled[i] = false;
	}
}

static void log_driver_bug(struct virtio_dev *d, const char *why)
{
	if (d->vm)
		vm_log(d->vm, VM_LOG_DEVICE, LOG_WARN, "%s: driver error, device needs reset: %s",
		       d->ops->name, why);
	else
		log_msg(LOG_DEBUG, "%s: driver error: %s", d->ops->name, why);
}

void virtio_dev_needs_reset(struct virtio_dev *d, const char *why)
{
	atomic_fetch_add(&d->stats.errors, 1);
	if (d->broken)
		return;
	d->broken = true;
	log_driver_bug(d, why);
	/* 2.1.1: before DRIVER_OK the driver reads the status; after it, the
	 * device sends a configuration change notification. */
	d->status |= VIRTIO_STATUS_DEVICE_NEEDS_RESET;
	if (d->status & VIRTIO_STATUS_DRIVER_OK) {
		d->isr |= 2;
		if (d->t && d->t->notify_config)
			d->t->notify_config(d->t_opaque, d->config_vector);
	}
}

void virtio_dev_config_changed(struct virtio_dev *d)
{
	d->config_generation++;
	if (!(d->status & VIRTIO_STATUS_DRIVER_OK))
		return;
	d->isr |= 2;
	if (d->t && d->t->notify_config)
		d->t->notify_config(d->t_opaque, d->config_vector);
}

/* FEATURES_OK (3.1.1 step 5): the driver may only accept offered bits and,
 * over the modern transport, must accept VERSION_1 (a legacy driver is not
 * served). */
static bool features_ok(struct virtio_dev *d)
{
	if (d->driver_features & ~d->host_features)
		return false;
	return virtio_dev_has_feature(d, VIRTIO_F_VERSION_1);
}

void virtio_dev_set_status(struct virtio_dev *d, uint8_t s)
{
	if (s == 0) {
		virtio_dev_reset_locked(d);
		return;
	}
	/* The device owns NEEDS_RESET; bits the driver set stay set (a driver
	 * clears them only by a reset). */
	uint8_t keep = d->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET;
	uint8_t added = (uint8_t)(s & ~d->status);
	s = (uint8_t)((s & ~VIRTIO_STATUS_DEVICE_NEEDS_RESET) | keep);
	if ((added & VIRTIO_STATUS_FEATURES_OK) && !features_ok(d))
		s &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;   /* the driver reads it back */
	if ((added & VIRTIO_STATUS_DRIVER_OK) && !(s & VIRTIO_STATUS_FEATURES_OK)) {
		d->status = s;
		virtio_dev_needs_reset(d, "DRIVER_OK without FEATURES_OK");
		return;
	}
	d->status = s;
	if (!(added & VIRTIO_STATUS_DRIVER_OK) || d->broken)
		return;
	bool ev = virtio_dev_has_feature(d, VIRTIO_F_EVENT_IDX);
	for (unsigned i = 0; i < d->ops->nr_queues; i++)
		d->vq[i].event_idx = ev;
	if (d->ops->activate && d->ops->activate(d) < 0) {
		virtio_dev_needs_reset(d, "device could not start");
		return;
	}
	/* Buffers made available before DRIVER_OK are looked at now. */
	for (unsigned i = 0; i < d->ops->nr_queues; i++)
		if (d->vq[i].ready && virtq_has_work(&d->vq[i]) && d->ops->queue_notify)
			d->ops->queue_notify(d, i);
}

void virtio_dev_queue_enable(struct virtio_dev *d, unsigned q)
{
	if (q >= d->ops->nr_queues || d->vq_enabled[q])
		return;
	d->vq_enabled[q] = true;
	struct virtq *vq = &d->vq[q];
	vq->event_idx = virtio_dev_has_feature(d, VIRTIO_F_EVENT_IDX);
	int r = virtq_check(vq);
	if (r != VIRTQ_OK) {
		char why[96];
		snprintf(why, sizeof(why), "queue %u enabled with %s (size %u, desc 0x%" PRIx64 ")",
			 q, virtq_err_str(r), vq->size, vq->desc);
		virtio_dev_needs_reset(d, why);
		return;
	}
	vq->ready = true;
}

void virtio_dev_queue_kick(struct virtio_dev *d, unsigned q)
{
	atomic_fetch_add(&d->stats.notifies, 1);
	if (q >= d->ops->nr_queues || !d->vq[q].ready || !virtio_dev_live(d))
		return;
	if (d->ops->queue_notify)
		d->ops->queue_notify(d, q);
}

int virtio_dev_pop(struct virtio_dev *d, unsigned q, struct virtq_chain *c)
{
	if (q >= d->ops->nr_queues || !virtio_dev_live(d))
		return 0;
	/* No DMA without bus mastering (PCI COMMAND bit 2). */
	if (d->t && d->t->dma_allowed && !d->t->dma_allowed(d->t_opaque))
		return 0;
	int r = virtq_pop(&d->vq[q], c);
	if (r < 0) {
		char why[96];
		snprintf(why, sizeof(why), "queue %u: %s", q, virtq_err_str(r));
		virtio_dev_needs_reset(d, why);
	}
	return r;
}

void virtio_dev_push(struct virtio_dev *d, unsigned q, uint16_t head, uint32_t written)
{
	if (q >= d->ops->nr_queues || d->broken)
		return;
	struct virtq *vq = &d->vq[q];
	int r = virtq_push(vq, head, written);
	if (r < 0) {
		virtio_dev_needs_reset(d, virtq_err_str(r));
		return;
	}
	if (virtq_should_notify(vq)) {
		atomic_fetch_add(&d->stats.irqs, 1);
		d->isr |= 1;
		if (d->t && d->t->notify_queue)
			d->t->notify_queue(d->t_opaque, q, vq->msix_vector);
	}
}

void virtio_dev_print_stats(struct virtio_dev *d, FILE *out)
{
	fprintf(out, "  %-12s requests %" PRIu64 ", in %" PRIu64 " bytes, out %" PRIu64
		" bytes, errors %" PRIu64 ", kicks %" PRIu64 ", interrupts %" PRIu64 "\n",
		d->ops->name, atomic_load(&d->stats.requests), atomic_load(&d->stats.bytes_in),
		atomic_load(&d->stats.bytes_out), atomic_load(&d->stats.errors),
		atomic_load(&d->stats.notifies), atomic_load(&d->stats.irqs));
	if (d->ops->print_stats)
		d->ops->print_stats(d, out);
}
