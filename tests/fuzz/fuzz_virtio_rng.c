/* libFuzzer target: virtio-rng (src/virtio/virtio_rng.c) as a whole device,
 * through the virtio-pci transport, driven by a hostile driver
 * (fuzz_virtio.h, device level): request chains of any shape (readable
 * buffers where writable ones are expected, zero and huge lengths),
 * resets at any point.  It has no back end (getrandom); op 4 does nothing.
 * Checked: fuzz_virtio.h's checks (its one queue is drained by a notify). */
#define FUZZ_VIRTIO_DEVICE
#include "fuzz_virtio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void vrng_configure(struct vm *vm)
{
	vm->cfg.rng = true;
}

static void vrng_host_send(struct fuzz_vdev *f, const uint8_t *buf, size_t len)
{
	(void)f;
	(void)buf;
	(void)len;
}

static const struct fuzz_vdev_target vrng = {
	.device = "virtio_rng",
	.drained = 1u << 0,
	.configure = vrng_configure,
	.host_send = vrng_host_send,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_vdev_run(&vrng, data, size);
}
