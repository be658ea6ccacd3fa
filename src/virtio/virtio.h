/* The virtio device model, independent of its transport (Firecracker's
 * devices/virtio/device.rs against transport/, kvmtool's virtio/core.c
 * against pci-modern.c).
 *
 * A device (virtio-blk, -rng, -net, ...) fills a struct virtio_dev_ops and
 * calls virtio_pci_add() (virtio_pci.h) with it; the transport owns the
 * struct virtio_dev, runs feature negotiation and the status machine
 * (Virtio 1.2 section 3.1), programs the queues and calls back:
 *
 *   activate      DRIVER_OK was set: the queues are checked and ready
 *   queue_notify  the driver kicked queue n (on a vCPU thread, or the event
 *                 loop's with the engine's ioeventfd: never block)
 *   reset         status 0 was written (or the machine reset)
 *
 * Devices talk back only through virtio_dev_*(): pop and push chains,
 * signal used buffers, report a config change or a driver bug.  Every call
 * below takes dev->lock itself unless it says otherwise; device callbacks
 * run with it held. */
#ifndef RINGVM_VIRTIO_H
#define RINGVM_VIRTIO_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "virtq.h"

struct vm;
struct vm_metrics;

/* Device status bits (2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE        1
#define VIRTIO_STATUS_DRIVER             2
#define VIRTIO_STATUS_DRIVER_OK          4
#define VIRTIO_STATUS_FEATURES_OK        8
#define VIRTIO_STATUS_DEVICE_NEEDS_RESET 0x40
#define VIRTIO_STATUS_FAILED             0x80

/* Reserved feature bits (6). */
#define VIRTIO_F_INDIRECT_DESC  28
#define VIRTIO_F_EVENT_IDX      29
#define VIRTIO_F_VERSION_1      32
#define VIRTIO_F_ACCESS_PLATFORM 33

/* Device IDs (5). */
#define VIRTIO_ID_NET     1
#define VIRTIO_ID_BLOCK   2
#define VIRTIO_ID_CONSOLE 3
#define VIRTIO_ID_RNG     4
#define VIRTIO_ID_VSOCK   19

#define VIRTIO_MSI_NO_VECTOR 0xffff
#define VIRTIO_MAX_QUEUES    8

struct virtio_dev;

struct virtio_dev_ops {
	const char *name;            /* "virtio-blk": messages, --stats */
	uint16_t device_id;          /* VIRTIO_ID_* */
	uint32_t pci_class;          /* PCI class code for the transport */
	uint64_t features;           /* device-specific bits; the core adds
					VERSION_1, INDIRECT_DESC, EVENT_IDX */
	unsigned nr_queues;          /* <= VIRTIO_MAX_QUEUES */
	uint16_t queue_max;          /* entries per queue, a power of two */
	uint32_t config_size;        /* bytes of device configuration */
	/* Device configuration space (little-endian, the device's own layout).
	 * Reads and writes never straddle config_size (the core checks). */
	void (*config_read)(struct virtio_dev *d, uint32_t off, void *buf, uint32_t len);
	void (*config_write)(struct virtio_dev *d, uint32_t off, const void *buf, uint32_t len);
	int (*activate)(struct virtio_dev *d);       /* 0, or <0: NEEDS_RESET */
	void (*queue_notify)(struct virtio_dev *d, unsigned q);
	void (*reset)(struct virtio_dev *d);         /* back to the initial state */
	void (*print_stats)(struct virtio_dev *d, FILE *out);
	void (*destroy)(struct virtio_dev *d);       /* free the device's priv */
	/* Snapshots (virtio_snap.c, docs/snapshot.md): true when the device's
	 * state is all in the transport, the queues and its config, so a
	 * restore only has to reopen its back end; false: refused.  quiesce
	 * (may be NULL) finishes the back end's requests in flight and pushes
	 * their used entries before the state is taken (d->lock held; the
	 * VM is paused): 0, or -ETIMEDOUT once deadline_ns (monotonic)
	 * passes. */
	bool snapshot;
	int (*quiesce)(struct virtio_dev *d, uint64_t deadline_ns);
	/* The VM runs again after a pause, or for the first time after a
	 * restore (may be NULL; d->lock not held). */
	void (*resumed)(struct virtio_dev *d);
	/* Counters in Firecracker's metrics terms (may be NULL): the group
	 * and fields (vm.h, struct vm_metrics). */
	void (*metrics)(struct virtio_dev *d, struct vm_metrics *m);
	/* The drive's medium changes (vm_device_ops.change_media; may be NULL;
	 * d->lock not held). */
	int (*change_media)(struct virtio_dev *d, const char *id, const char *path, char *err,
			    size_t errlen);
	/* The device's state was just loaded from a snapshot (may be NULL;
	 * d->lock held; the vCPUs do not run yet, so no interrupt). */
	void (*restored)(struct virtio_dev *d);
};

/* How the device signals the driver: filled by the transport. */
struct virtio_transport_ops {
	void (*notify_queue)(void *opaque, unsigned q, uint16_t vector);
	void (*notify_config)(void *opaque, uint16_t vector);
	bool (*dma_allowed)(void *opaque);           /* PCI bus mastering */
};

/* Counters every device keeps (--stats). */
struct virtio_stats {
	_Atomic uint64_t requests, bytes_in, bytes_out, errors, notifies, irqs;
};

struct virtio_dev {
	const struct virtio_dev_ops *ops;
	void *priv;                  /* the device's own state */
	struct vm *vm;
	struct gmem *mem;
	pthread_mutex_t lock;

	uint64_t host_features;      /* offered */
	uint64_t driver_features;    /* accepted by the driver */
	uint32_t dfselect, gfselect; /* feature select registers */
	uint8_t status;
	uint8_t config_generation;
	uint16_t config_vector;
	uint16_t queue_sel;
	struct virtq vq[VIRTIO_MAX_QUEUES];
	bool vq_enabled[VIRTIO_MAX_QUEUES]; /* queue_enable as the driver wrote it */
	uint8_t isr;                 /* ISR status (INTx): bit 0 queue, bit 1 config */
	bool broken;                 /* NEEDS_RESET reported */

	const struct virtio_transport_ops *t;
	void *t_opaque;
	struct virtio_stats stats;
};

/* Core (virtio.c). */
void virtio_dev_init(struct virtio_dev *d, struct vm *vm, struct gmem *mem,
		     const struct virtio_dev_ops *ops, void *priv);
void virtio_dev_fini(struct virtio_dev *d);
/* Status register write (3.1.1): 0 resets, FEATURES_OK checks the
 * negotiated set, DRIVER_OK checks every enabled queue and activates.
 * Called with d->lock held (the transport's register handler). */
void virtio_dev_set_status(struct virtio_dev *d, uint8_t status);
/* Device reset (status 0 or machine reset); d->lock held. */
void virtio_dev_reset_locked(struct virtio_dev *d);
bool virtio_dev_has_feature(const struct virtio_dev *d, unsigned bit);
/* The driver enabled/kicked a queue; d->lock held. */
void virtio_dev_queue_enable(struct virtio_dev *d, unsigned q);
void virtio_dev_queue_kick(struct virtio_dev *d, unsigned q);

/* For devices; d->lock held (they run inside callbacks or take it first).
 * pop: 1 chain, 0 empty or device not live (no DRIVER_OK, no bus master,
 * broken), <0 a driver bug: the device is already put into NEEDS_RESET. */
int virtio_dev_pop(struct virtio_dev *d, unsigned q, struct virtq_chain *c);
/* Push a used chain and interrupt the driver if it wants one. */
void virtio_dev_push(struct virtio_dev *d, unsigned q, uint16_t head, uint32_t written);
/* The device found the driver misbehaving: DEVICE_NEEDS_RESET and a
 * configuration-change interrupt (2.1.1); messages are rate limited. */
void virtio_dev_needs_reset(struct virtio_dev *d, const char *why);
/* Device configuration changed: bump the generation and interrupt. */
void virtio_dev_config_changed(struct virtio_dev *d);
/* DRIVER_OK set and not broken. */
bool virtio_dev_live(const struct virtio_dev *d);

/* Snapshots (virtio_snap.c): the transport-independent state, fixed
 * width, written as is (its layout is part of the snapshot format). */
struct virtio_snap_queue {
	uint64_t desc, avail, used;
	uint16_t size, msix_vector, last_avail, used_idx, signalled_used;
	uint8_t enabled, ready, event_idx, signalled_valid;
	uint8_t pad[2];
};
struct virtio_snap {
	uint16_t device_id, nr_queues;
	uint32_t config_size;            /* device config bytes after this struct */
	uint64_t host_features, driver_features;
	uint32_t dfselect, gfselect;
	uint8_t status, config_generation, isr, broken;
	uint16_t config_vector, queue_sel;
	struct virtio_snap_queue q[VIRTIO_MAX_QUEUES];
};
/* Take the state (d->lock held); the device must have nothing in flight
 * (-EBUSY otherwise).  0 or -errno. */
int virtio_dev_save(struct virtio_dev *d, struct virtio_snap *s);
/* Load it into a freshly created device (d->lock held), checking it as a
 * driver's writes would be checked: the same device, offered features
 * only, vectors in range, each enabled queue's rings in RAM
 * (virtq_check_restored).  0, or -1 with why (naming the queue). */
int virtio_dev_load(struct virtio_dev *d, const struct virtio_snap *s, unsigned nr_vectors,
		    char *why, size_t n);

/* One --stats line: requests, bytes, errors. */
void virtio_dev_print_stats(struct virtio_dev *d, FILE *out);

#endif
