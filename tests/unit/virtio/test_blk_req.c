/* virtio-blk request parsing (src/virtio/blk_req.c) on chains built by the
 * mock driver: good requests and the ones a device must answer with IOERR
 * or UNSUPP (or cannot answer at all). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>

#include "virtio_fixture.h"
#include "src/virtio/blk_req.h"

#define RAM     (16ull << 20)
#define RINGS   0x10000ull
#define HDR     0x100000ull
#define DATA    0x200000ull
#define STATUS  0x300000ull
#define SECTORS 2048ull          /* a 1 MiB disk */

struct env {
	struct gmem m;
	struct mock_q mq;
	struct virtq q;
	struct virtq_chain c;
	struct blk_req_info r;
};

MOCK_QUEUE_FIXTURE(struct env, RAM, RINGS, 16, 16)

static void hdr(struct env *e, uint32_t type, uint64_t sector)
{
	uint8_t h[16] = { 0 };
	memcpy(h, &type, 4);
	memcpy(h + 8, &sector, 8);
	gmem_write(&e->m, HDR, h, 16);
}

/* header (out), data (out or in), status (in) */
static int req3(struct env *e, uint32_t type, uint64_t sector, uint32_t data_len, bool data_in,
		bool ro)
{
	hdr(e, type, sector);
	mock_desc(&e->mq, 0, HDR, 16, VIRTQ_DESC_F_NEXT, 1);
	mock_desc(&e->mq, 1, DATA, data_len,
		  VIRTQ_DESC_F_NEXT | (data_in ? VIRTQ_DESC_F_WRITE : 0), 2);
	mock_desc(&e->mq, 2, STATUS, 1, VIRTQ_DESC_F_WRITE, 0);
	mock_avail(&e->mq, 0);
	assert_int_equal(virtq_pop(&e->q, &e->c), 1);
	return blk_req_parse(&e->m, &e->c, SECTORS, ro, &e->r);
}

static void read_write(void **state)
{
	struct env *e = *state;
	assert_int_equal(req3(e, VIRTIO_BLK_T_IN, 8, 4096, true, false), 0);
	assert_int_equal(e->r.status, VIRTIO_BLK_S_OK);
	assert_true(e->r.data_in);
	assert_int_equal(e->r.sector, 8);
	assert_int_equal(e->r.data_off, 0);
	assert_int_equal(e->r.data_len, 4096);
	assert_int_equal(e->r.status_gpa, STATUS);

	assert_int_equal(req3(e, VIRTIO_BLK_T_OUT, SECTORS - 1, 512, false, false), 0);
	assert_int_equal(e->r.status, VIRTIO_BLK_S_OK);
	assert_false(e->r.data_in);
	assert_int_equal(e->r.data_off, 16);
	assert_int_equal(e->r.data_len, 512);
	/* Read-only disk: reads fine, writes IOERR. */
	assert_int_equal(req3(e, VIRTIO_BLK_T_IN, 0, 512, true, true), 0);
	assert_int_equal(e->r.status, VIRTIO_BLK_S_OK);
	assert_int_equal(req3(e, VIRTIO_BLK_T_OUT, 0, 512, false, true), 0);
	assert_int_equal(e->r.status, VIRTIO_BLK_S_IOERR);
}

static void bounds(void **state)
{
	struct env *e = *state;
	/* Past the end, straddling the end, wrapping sector numbers. */
	assert_int_equal(req3(e, VIRTIO_BLK_T_IN, SECTORS, 512, true, false), 0);
	assert_int_equal(e->r.status, VIRTIO_BLK_S_IOERR);
	assert_int_equal(req3(e, VIRTIO_BLK_T_OUT, SECTORS - 1, 1024, false, false), 0);
	assert_int_equal(e->r.status, VIRTIO_BLK_S_IOERR);
	assert_int_equal(req3(e, VIRTIO_BLK_T_IN, UINT64_MAX, 512, true, false), 0);
	assert_int_equal(e->r.status, VIRTIO_BLK_S_IOERR);
	/* Not a whole number of sectors. */
	assert_int_equal(req3(e, VIRTIO_BLK_T_IN, 0, 100, true, false), 0);
	assert_int_equal(e->r.status, VIRTIO_BLK_S_IOERR);
	/* A zero-length read at the end is fine. */
	assert_int_equal(req3(e, VIRTIO_BLK_T_IN, SECTORS, 0, true, false), 0);
	assert_int_equal(e->r.status, VIRTIO_BLK_S_OK);
}

static void malformed(void **state)
{
	struct env *e = *state;
	/* Unknown type. */
	assert_int_equal(req3(e, 77, 0, 512, false, false), 0);
	assert_int_equal(e->r.status, VIRTIO_BLK_S_UNSUPP);
	/* Header shorter than 16 bytes. */
	hdr(e, VIRTIO_BLK_T_IN, 0);
	mock_desc(&e->mq, 0, HDR, 8, VIRTQ_DESC_F_NEXT, 2);
	mock_desc(&e->mq, 2, STATUS, 1, VIRTQ_DESC_F_WRITE, 0);
	mock_avail(&e->mq, 0);
	assert_int_equal(virtq_pop(&e->q, &e->c), 1);
	assert_int_equal(blk_req_parse(&e->m, &e->c, SECTORS, false, &e->r), 0);
	assert_int_equal(e->r.status, VIRTIO_BLK_S_IOERR);
	/* No writable byte: nothing to answer in. */
	mock_desc(&e->mq, 0, HDR, 16, 0, 0);
	mock_avail(&e->mq, 0);
	assert_int_equal(virtq_pop(&e->q, &e->c), 1);
	assert_int_equal(blk_req_parse(&e->m, &e->c, SECTORS, false, &e->r), -1);
	/* A header split over two descriptors is fine. */
	mock_desc(&e->mq, 0, HDR, 4, VIRTQ_DESC_F_NEXT, 1);
	mock_desc(&e->mq, 1, HDR + 4, 12, VIRTQ_DESC_F_NEXT, 2);
	mock_desc(&e->mq, 2, STATUS, 1, VIRTQ_DESC_F_WRITE, 0);
	mock_avail(&e->mq, 0);
	assert_int_equal(virtq_pop(&e->q, &e->c), 1);
	assert_int_equal(blk_req_parse(&e->m, &e->c, SECTORS, false, &e->r), 0);
	assert_int_equal(e->r.status, VIRTIO_BLK_S_OK);
	assert_int_equal(e->r.type, VIRTIO_BLK_T_IN);
}

static void flush_get_id(void **state)
{
	struct env *e = *state;
	hdr(e, VIRTIO_BLK_T_FLUSH, 0);
	mock_desc(&e->mq, 0, HDR, 16, VIRTQ_DESC_F_NEXT, 2);
	mock_desc(&e->mq, 2, STATUS, 1, VIRTQ_DESC_F_WRITE, 0);
	mock_avail(&e->mq, 0);
	assert_int_equal(virtq_pop(&e->q, &e->c), 1);
	assert_int_equal(blk_req_parse(&e->m, &e->c, SECTORS, true, &e->r), 0);
	assert_int_equal(e->r.status, VIRTIO_BLK_S_OK);
	assert_int_equal(req3(e, VIRTIO_BLK_T_GET_ID, 0, 512, true, false), 0);
	assert_int_equal(e->r.status, VIRTIO_BLK_S_OK);
	assert_int_equal(e->r.data_len, VIRTIO_BLK_ID_BYTES);
	assert_int_equal(req3(e, VIRTIO_BLK_T_GET_ID, 0, 8, true, false), 0);
	assert_int_equal(e->r.data_len, 8);
}

static void put_range(uint8_t *p, uint64_t sector, uint32_t n, uint32_t flags)
{
	memcpy(p, &sector, 8);
	memcpy(p + 8, &n, 4);
	memcpy(p + 12, &flags, 4);
}

static void discard_zeroes(void **state)
{
	struct env *e = *state;
	uint8_t r[32];
	put_range(r, 0, 8, 0);
	put_range(r + 16, 100, 28, 0);
	gmem_write(&e->m, DATA, r, 32);
	assert_int_equal(req3(e, VIRTIO_BLK_T_DISCARD, 0, 32, false, false), 0);
	assert_int_equal(e->r.status, VIRTIO_BLK_S_OK);
	assert_int_equal(e->r.nr_ranges, 2);
	assert_int_equal(e->r.range[1].sector, 100);
	assert_int_equal(e->r.range[1].nr_sectors, 28);
	/* Read-only. */
	assert_int_equal(req3(e, VIRTIO_BLK_T_DISCARD, 0, 32, false, true), 0);
	assert_int_equal(e->r.status, VIRTIO_BLK_S_IOERR);
	/* The unmap flag: fine on WRITE_ZEROES, unsupported on DISCARD. */
	put_range(r, 0, 8, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
	gmem_write(&e->m, DATA, r, 16);
	assert_int_equal(req3(e, VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, false, false), 0);
	assert_int_equal(e->r.status, VIRTIO_BLK_S_OK);
	assert_int_equal(req3(e, VIRTIO_BLK_T_DISCARD, 0, 16, false, false), 0);
	assert_int_equal(e->r.status, VIRTIO_BLK_S_UNSUPP);
	/* Out of the disk, wrapping, odd length, too many ranges. */
	put_range(r, SECTORS - 4, 8, 0);
	gmem_write(&e->m, DATA, r, 16);
	assert_int_equal(req3(e, VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, false, false), 0);
	assert_int_equal(e->r.status, VIRTIO_BLK_S_IOERR);
	put_range(r, UINT64_MAX - 2, 8, 0);
	gmem_write(&e->m, DATA, r, 16);
	assert_int_equal(req3(e, VIRTIO_BLK_T_DISCARD, 0, 16, false, false), 0);
	assert_int_equal(e->r.status, VIRTIO_BLK_S_IOERR);
	assert_int_equal(req3(e, VIRTIO_BLK_T_DISCARD, 0, 24, false, false), 0);
	assert_int_equal(e->r.status, VIRTIO_BLK_S_IOERR);
	assert_int_equal(req3(e, VIRTIO_BLK_T_DISCARD, 0, 16 * (BLK_MAX_DISCARD_SEG + 1), false,
			      false), 0);
	assert_int_equal(e->r.status, VIRTIO_BLK_S_IOERR);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(read_write, setup, teardown),
		cmocka_unit_test_setup_teardown(bounds, setup, teardown),
		cmocka_unit_test_setup_teardown(malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(flush_get_id, setup, teardown),
		cmocka_unit_test_setup_teardown(discard_zeroes, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
