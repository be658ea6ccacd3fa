/* libFuzzer target: the split virtqueue walker (src/virtio/virtq.c) on a
 * fuzzed guest-memory image (header: fuzz_virtio.h).  Checked: every chain
 * popped has at most VIRTQ_MAX_SEGS buffers, a head inside the queue, byte
 * totals that add up, and every buffer inside guest RAM; copying the whole
 * chain in and out stays inside it; a pop that fails leaves the queue
 * where it was. */
#include "fuzz_virtio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct virtq_chain c;     /* 16 KiB: not on the stack */
	static uint8_t buf[4096];
	struct fuzz_virtio f;
	if (fuzz_virtio_setup(&f, data, size) < 0)
		return 0;
	for (unsigned i = 0; i < f.pops; i++) {
		uint16_t before = f.q.last_avail;
		int r = virtq_pop(&f.q, &c);
		if (r < 0) {
			if (f.q.last_avail != before || !virtq_err_str(r))
				abort();
			break;
		}
		if (r == 0)
			break;
		fuzz_virtio_check_chain(&f, &c);
		int64_t got = virtq_chain_read(&f.m, &c, 0, buf, sizeof(buf));
		if (got < 0 || (uint64_t)got > c.out_len)
			abort();
		got = virtq_chain_write(&f.m, &c, c.in_len / 2, buf, sizeof(buf));
		if (got < 0 || (uint64_t)got > c.in_len)
			abort();
		if (virtq_push(&f.q, c.head, (uint32_t)c.in_len) < 0)
			break;
		virtq_should_notify(&f.q);
	}
	gmem_destroy(&f.m);
	return 0;
}
