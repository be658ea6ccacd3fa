/* Snapshots of the virtio device model (docs/snapshot.md): the status,
 * feature and queue registers as the driver programmed them (Virtio 1.2
 * section 4.1.4.3) and each queue's device-side indices.  A loaded state is
 * user input: it is checked as the driver's own writes would be (offered
 * features only, 3.1.1; queue geometry, 2.7) before a queue is used. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "virtio.h"

int virtio_dev_save(struct virtio_dev *d, struct virtio_snap *s)
{
	memset(s, 0, sizeof(*s));
	s->device_id = d->ops->device_id;
	s->nr_queues = (uint16_t)d->ops->nr_queues;
	s->config_size = d->ops->config_size;
	s->host_features = d->host_features;
	s->driver_features = d->driver_features;
	s->dfselect = d->dfselect;
	s->gfselect = d->gfselect;
	s->status = d->status;
	s->config_generation = d->config_generation;
	s->isr = d->isr;
	s->broken = d->broken;
	s->config_vector = d->config_vector;
	s->queue_sel = d->queue_sel;
	for (unsigned i = 0; i < d->ops->nr_queues; i++) {
		const struct virtq *q = &d->vq[i];
		if (q->in_flight)
			return -EBUSY;
		s->q[i] = (struct virtio_snap_queue){
			.desc = q->desc, .avail = q->avail, .used = q->used, .size = q->size,
			.msix_vector = q->msix_vector, .last_avail = q->last_avail,
			.used_idx = q->used_idx, .signalled_used = q->signalled_used,
			.enabled = d->vq_enabled[i], .ready = q->ready, .event_idx = q->event_idx,
			.signalled_valid = q->signalled_valid };
	}
	return 0;
}

static bool vector_ok(uint16_t v, unsigned nr_vectors)
{
	return v == VIRTIO_MSI_NO_VECTOR || v < nr_vectors;
}

int virtio_dev_load(struct virtio_dev *d, const struct virtio_snap *s, unsigned nr_vectors,
		    char *why, size_t n)
{
	const char *name = d->ops->name;
	if (s->device_id != d->ops->device_id || s->nr_queues != d->ops->nr_queues ||
	    s->config_size != d->ops->config_size) {
		snprintf(why, n, "%s: the snapshot holds another device (id %u, %u queues)", name,
			 s->device_id, s->nr_queues);
		return -1;
	}
	if (s->host_features != d->host_features || (s->driver_features & ~d->host_features)) {
		snprintf(why, n, "%s: features 0x%" PRIx64 "/0x%" PRIx64 " are not this device's",
			 name, s->host_features, s->driver_features);
		return -1;
	}
	if (!vector_ok(s->config_vector, nr_vectors) || s->dfselect > 1 || s->gfselect > 1 || s->isr > 3 || s->broken > 1) {
		snprintf(why, n, "%s: register values out of range", name);
		return -1;
	}
	for (unsigned i = 0; i < s->nr_queues; i++) {
		const struct virtio_snap_queue *sq = &s->q[i];
		struct virtq q;
		virtq_reset(&q, d->mem, d->ops->queue_max);
		q.desc = sq->desc;
		q.avail = sq->avail;
		q.used = sq->used;
		q.size = sq->size;
		q.msix_vector = sq->msix_vector;
		q.last_avail = sq->last_avail;
		q.used_idx = sq->used_idx;
		q.signalled_used = sq->signalled_used;
		q.signalled_valid = sq->signalled_valid;
		q.event_idx = sq->event_idx;
		q.ready = sq->ready;
		if (!vector_ok(sq->msix_vector, nr_vectors) || sq->enabled > 1 || sq->ready > 1 ||
		    (sq->ready && !sq->enabled) || sq->event_idx > 1 || sq->signalled_valid > 1) {
			snprintf(why, n, "%s: queue %u: register values out of range", name, i);
			return -1;
		}
		if (q.size == 0 || q.size > q.max_size || (q.size & (q.size - 1))) {
			snprintf(why, n, "%s: queue %u: %s (size %u)", name, i,
				 virtq_err_str(VIRTQ_E_SIZE), q.size);
			return -1;
		}
		int r = q.ready ? virtq_check_restored(&q) : VIRTQ_OK;
		if (r != VIRTQ_OK) {
			snprintf(why, n, "%s: queue %u: %s (desc 0x%" PRIx64 ", avail 0x%" PRIx64
				 ", used 0x%" PRIx64 ", last_avail %u, used idx %u)", name, i,
				 virtq_err_str(r), q.desc, q.avail, q.used, q.last_avail, q.used_idx);
			return -1;
		}
		d->vq[i] = q;
		d->vq_enabled[i] = sq->enabled;
	}
	d->driver_features = s->driver_features;
	d->dfselect = s->dfselect;
	d->gfselect = s->gfselect;
	d->status = s->status;
	d->config_generation = s->config_generation;
	d->isr = s->isr;
	d->broken = s->broken;
	d->config_vector = s->config_vector;
	d->queue_sel = s->queue_sel;
	return 0;
}
