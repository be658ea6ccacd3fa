/* libFuzzer target: the virtio-blk request parser (src/virtio/blk_req.c) on
 * chains popped from a fuzzed guest-memory image (header: fuzz_virtio.h;
 * flags bit 1 makes the disk read-only, bits 2-7 give its size: 97 sectors
 * per step, 0 to 6111).  Checked: a request that may run lies on
 * the disk, is a whole number of sectors, and its status byte is in RAM. */
#include "fuzz_virtio.h"
#include "src/virtio/blk_req.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct virtq_chain c;
	struct blk_req_info r;
	struct fuzz_virtio f;
	if (fuzz_virtio_setup(&f, data, size) < 0)
		return 0;
	uint64_t sectors = (uint64_t)(data[2] >> 2) * 97;
	bool ro = data[2] & 2;
	for (unsigned i = 0; i < f.pops; i++) {
		if (virtq_pop(&f.q, &c) <= 0)
			break;
		fuzz_virtio_check_chain(&f, &c);
		if (blk_req_parse(&f.m, &c, sectors, ro, &r) < 0) {
			if (c.in_len)
				abort();     /* a status byte existed */
			continue;
		}
		if (!gmem_is_ram(&f.m, r.status_gpa, 1))
			abort();
		if (r.status == VIRTIO_BLK_S_OK) {
			if (r.type == VIRTIO_BLK_T_IN || r.type == VIRTIO_BLK_T_OUT) {
				if (r.data_len % 512 || r.sector > sectors ||
				    r.data_len / 512 > sectors - r.sector || r.data_len > BLK_MAX_DATA)
					abort();
				if (ro && r.type == VIRTIO_BLK_T_OUT)
					abort();
			}
			for (unsigned k = 0; k < r.nr_ranges; k++)
				if (r.range[k].sector > sectors ||
				    r.range[k].nr_sectors > sectors - r.range[k].sector)
					abort();
		}
		virtq_push(&f.q, c.head, 1);
	}
	gmem_destroy(&f.m);
	return 0;
}
