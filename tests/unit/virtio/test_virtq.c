/* Split virtqueue walker (src/virtio/virtq.c) against a mock driver: good
 * chains, indirect tables, event index and interrupt suppression, and
 * hostile rings (loops, buffers outside RAM or in the MMIO hole, zero and
 * huge lengths, bad queue sizes, avail index jumps). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>

#include "virtio_fixture.h"

#define RAM   (16ull << 20)
#define RINGS 0x10000ull
#define BUF   0x100000ull
#define QSZ   8

struct env {
	struct gmem m;
	struct mock_q mq;
	struct virtq q;
	struct virtq_chain c;
};

MOCK_QUEUE_FIXTURE(struct env, RAM, RINGS, QSZ, 16)

static void good_chain(void **state)
{
	struct env *e = *state;
	mock_desc(&e->mq, 3, BUF, 16, VIRTQ_DESC_F_NEXT, 5);
	mock_desc(&e->mq, 5, BUF + 0x100, 100, VIRTQ_DESC_F_NEXT, 1);
	mock_desc(&e->mq, 1, BUF + 0x1000, 513, VIRTQ_DESC_F_WRITE, 0);
	assert_int_equal(virtq_pop(&e->q, &e->c), 0);      /* nothing yet */
	mock_avail(&e->mq, 3);
	assert_true(virtq_has_work(&e->q));
	assert_int_equal(virtq_pop(&e->q, &e->c), 1);
	assert_int_equal(e->c.head, 3);
	assert_int_equal(e->c.nr_out, 2);
	assert_int_equal(e->c.nr_in, 1);
	assert_int_equal(e->c.out_len, 116);
	assert_int_equal(e->c.in_len, 513);
	assert_int_equal(e->c.seg[2].addr, BUF + 0x1000);
	assert_int_equal(virtq_pop(&e->q, &e->c), 0);
	assert_false(virtq_has_work(&e->q));

	/* Reading across segments, writing into the writable one. */
	uint8_t pat[116], got[116];
	for (unsigned i = 0; i < sizeof(pat); i++)
		pat[i] = (uint8_t)i;
	gmem_write(&e->m, BUF, pat, 16);
	gmem_write(&e->m, BUF + 0x100, pat + 16, 100);
	assert_int_equal(virtq_chain_read(&e->m, &e->c, 0, got, sizeof(got)), 116);
	assert_memory_equal(got, pat, 116);
	assert_int_equal(virtq_chain_read(&e->m, &e->c, 10, got, 20), 20);
	assert_memory_equal(got, pat + 10, 20);
	assert_int_equal(virtq_chain_read(&e->m, &e->c, 110, got, 20), 6);
	assert_int_equal(virtq_chain_write(&e->m, &e->c, 0, pat, 116), 116);
	uint8_t back[116];
	gmem_read(&e->m, BUF + 0x1000, back, 116);
	assert_memory_equal(back, pat, 116);

	assert_int_equal(virtq_push(&e->q, 3, 42), 0);
	assert_int_equal(mock_used_idx(&e->mq), 1);
	uint32_t id, len;
	mock_used_elem(&e->mq, 0, &id, &len);
	assert_int_equal(id, 3);
	assert_int_equal(len, 42);
	assert_true(virtq_should_notify(&e->q));
	mock_avail_flags(&e->mq, VIRTQ_AVAIL_F_NO_INTERRUPT);
	assert_int_equal(virtq_push(&e->q, 3, 1), 0);
	assert_false(virtq_should_notify(&e->q));
}

static void ring_wraps(void **state)
{
	struct env *e = *state;
	mock_desc(&e->mq, 0, BUF, 8, 0, 0);
	for (unsigned i = 0; i < 3 * QSZ + 1; i++) {
		mock_avail(&e->mq, 0);
		assert_int_equal(virtq_pop(&e->q, &e->c), 1);
		assert_int_equal(virtq_push(&e->q, 0, 0), 0);
	}
	assert_int_equal(mock_used_idx(&e->mq), 3 * QSZ + 1);
	/* The 16-bit indices wrap. */
	e->q.last_avail = e->q.used_idx = 0xfffe;
	mock_set_avail_idx(&e->mq, 0xfffe);
	for (unsigned i = 0; i < 4; i++) {
		mock_avail(&e->mq, 0);
		assert_int_equal(virtq_pop(&e->q, &e->c), 1);
		assert_int_equal(virtq_push(&e->q, 0, 0), 0);
	}
	assert_int_equal(mock_used_idx(&e->mq), 2);
}

static void indirect(void **state)
{
	struct env *e = *state;
	gpa_t tbl = BUF + 0x4000;
	mock_desc_at(&e->m, tbl, 0, BUF, 16, VIRTQ_DESC_F_NEXT, 2);
	mock_desc_at(&e->m, tbl, 2, BUF + 0x200, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
	mock_desc_at(&e->m, tbl, 1, BUF + 0x400, 1, VIRTQ_DESC_F_WRITE, 0);
	mock_desc(&e->mq, 0, tbl, 3 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	mock_avail(&e->mq, 0);
	assert_int_equal(virtq_pop(&e->q, &e->c), 1);
	assert_int_equal(e->c.nr_out, 1);
	assert_int_equal(e->c.nr_in, 2);
	assert_int_equal(e->c.in_len, 513);
	assert_int_equal(e->c.seg[2].addr, BUF + 0x400);

	/* A direct descriptor chained to an indirect one (allowed: the indirect
	 * one ends the chain). */
	mock_desc(&e->mq, 4, BUF + 0x800, 16, VIRTQ_DESC_F_NEXT, 0);
	mock_avail(&e->mq, 4);
	assert_int_equal(virtq_pop(&e->q, &e->c), 1);
	assert_int_equal(e->c.nr_out, 2);
}

static void expect_pop_err(struct env *e, int err)
{
	int r = virtq_pop(&e->q, &e->c);
	if (r != -err)
		fail_msg("virtq_pop returned %d (%s), expected -%d (%s)", r, virtq_err_str(r), err,
			 virtq_err_str(err));
}

static void hostile_indirect(void **state)
{
	struct env *e = *state;
	gpa_t tbl = BUF + 0x4000;
	/* Nested indirect. */
	mock_desc_at(&e->m, tbl, 0, tbl, 16, VIRTQ_DESC_F_INDIRECT, 0);
	mock_desc(&e->mq, 0, tbl, 16, VIRTQ_DESC_F_INDIRECT, 0);
	mock_avail(&e->mq, 0);
	expect_pop_err(e, VIRTQ_E_INDIRECT);
	/* Length not a multiple of 16, zero, or huge. */
	mock_desc(&e->mq, 0, tbl, 24, VIRTQ_DESC_F_INDIRECT, 0);
	expect_pop_err(e, VIRTQ_E_INDIRECT);
	mock_desc(&e->mq, 0, tbl, 0, VIRTQ_DESC_F_INDIRECT, 0);
	expect_pop_err(e, VIRTQ_E_INDIRECT);
	mock_desc(&e->mq, 0, tbl, 0xfffffff0u, VIRTQ_DESC_F_INDIRECT, 0);
	expect_pop_err(e, VIRTQ_E_INDIRECT);
	/* A loop inside the table. */
	mock_desc_at(&e->m, tbl, 0, BUF, 8, VIRTQ_DESC_F_NEXT, 1);
	mock_desc_at(&e->m, tbl, 1, BUF, 8, VIRTQ_DESC_F_NEXT, 0);
	mock_desc(&e->mq, 0, tbl, 32, VIRTQ_DESC_F_INDIRECT, 0);
	expect_pop_err(e, VIRTQ_E_LOOP);
	/* next beyond the table. */
	mock_desc_at(&e->m, tbl, 1, BUF, 8, VIRTQ_DESC_F_NEXT, 2);
	expect_pop_err(e, VIRTQ_E_NEXT);
	/* The table itself in the MMIO hole. */
	mock_desc(&e->mq, 0, 0xfec00000ull, 32, VIRTQ_DESC_F_INDIRECT, 0);
	expect_pop_err(e, VIRTQ_E_BUF_RANGE);
	/* INDIRECT together with NEXT or WRITE. */
	mock_desc(&e->mq, 0, tbl, 32, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_WRITE, 0);
	expect_pop_err(e, VIRTQ_E_INDIRECT);
	/* The refused chain was not taken: last_avail did not move. */
	assert_int_equal(e->q.last_avail, 0);
}

static void hostile_chains(void **state)
{
	struct env *e = *state;
	/* A loop: 0 -> 1 -> 0. */
	mock_desc(&e->mq, 0, BUF, 8, VIRTQ_DESC_F_NEXT, 1);
	mock_desc(&e->mq, 1, BUF, 8, VIRTQ_DESC_F_NEXT, 0);
	mock_avail(&e->mq, 0);
	expect_pop_err(e, VIRTQ_E_LOOP);
	/* A self loop. */
	mock_desc(&e->mq, 0, BUF, 8, VIRTQ_DESC_F_NEXT, 0);
	expect_pop_err(e, VIRTQ_E_LOOP);
	/* next beyond the queue. */
	mock_desc(&e->mq, 0, BUF, 8, VIRTQ_DESC_F_NEXT, QSZ);
	expect_pop_err(e, VIRTQ_E_NEXT);
	/* Buffers: past the end of RAM, in the MMIO hole, wrapping, huge. */
	mock_desc(&e->mq, 0, RAM - 8, 16, 0, 0);
	expect_pop_err(e, VIRTQ_E_BUF_RANGE);
	mock_desc(&e->mq, 0, 0xfee00000ull, 16, 0, 0);
	expect_pop_err(e, VIRTQ_E_BUF_RANGE);
	mock_desc(&e->mq, 0, 0xfffffffffffff000ull, 0x2000, 0, 0);
	expect_pop_err(e, VIRTQ_E_BUF_RANGE);
	mock_desc(&e->mq, 0, BUF, 0xffffffffu, VIRTQ_DESC_F_WRITE, 0);
	expect_pop_err(e, VIRTQ_E_BUF_RANGE);
	/* Readable after writable. */
	mock_desc(&e->mq, 0, BUF, 8, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	mock_desc(&e->mq, 1, BUF, 8, 0, 0);
	expect_pop_err(e, VIRTQ_E_ORDER);
	/* Zero length anywhere is harmless (it carries nothing). */
	mock_desc(&e->mq, 0, 0xfee00000ull, 0, 0, 0);
	assert_int_equal(virtq_pop(&e->q, &e->c), 1);
	assert_int_equal(e->c.out_len, 0);
	/* A head out of range. */
	mock_avail(&e->mq, QSZ + 3);
	expect_pop_err(e, VIRTQ_E_HEAD);
}

static void avail_jump(void **state)
{
	struct env *e = *state;
	mock_desc(&e->mq, 0, BUF, 8, 0, 0);
	mock_set_avail_idx(&e->mq, QSZ + 1);
	expect_pop_err(e, VIRTQ_E_AVAIL_JUMP);
	mock_set_avail_idx(&e->mq, 0x8000);
	expect_pop_err(e, VIRTQ_E_AVAIL_JUMP);
	/* A full ring is fine... */
	mock_set_avail_idx(&e->mq, QSZ);
	for (unsigned i = 0; i < QSZ; i++)
		assert_int_equal(virtq_pop(&e->q, &e->c), 1);
	/* ...but more before the device returned any is not. */
	mock_set_avail_idx(&e->mq, QSZ + 1);
	expect_pop_err(e, VIRTQ_E_AVAIL_JUMP);
	assert_int_equal(virtq_push(&e->q, 0, 0), 0);
	assert_int_equal(virtq_pop(&e->q, &e->c), 1);
	/* Pushing an id the queue does not have. */
	assert_int_equal(virtq_push(&e->q, QSZ, 0), -VIRTQ_E_USED_ID);
}

static void bad_queue_setup(void **state)
{
	struct env *e = *state;
	struct virtq q;
	static const uint16_t bad_sizes[] = { 0, 3, 12, 32, 0xffff };
	for (unsigned i = 0; i < sizeof(bad_sizes) / sizeof(bad_sizes[0]); i++) {
		mock_q_program(&e->mq, &q, 16);
		q.size = bad_sizes[i];
		assert_int_equal(virtq_check(&q), VIRTQ_E_SIZE);
	}
	mock_q_program(&e->mq, &q, 16);
	q.desc += 8;
	assert_int_equal(virtq_check(&q), VIRTQ_E_ALIGN);
	mock_q_program(&e->mq, &q, 16);
	q.avail += 1;
	assert_int_equal(virtq_check(&q), VIRTQ_E_ALIGN);
	mock_q_program(&e->mq, &q, 16);
	q.used += 2;
	assert_int_equal(virtq_check(&q), VIRTQ_E_ALIGN);
	mock_q_program(&e->mq, &q, 16);
	q.used = RAM - 16;       /* the ring runs off the end of RAM */
	assert_int_equal(virtq_check(&q), VIRTQ_E_RING_RANGE);
	mock_q_program(&e->mq, &q, 16);
	q.desc = 0xe0000000ull;  /* the MMIO hole (ECAM) */
	assert_int_equal(virtq_check(&q), VIRTQ_E_RING_RANGE);
	mock_q_program(&e->mq, &q, 16);
	q.avail = 0xfffffffffffffffeull;
	assert_int_equal(virtq_check(&q), VIRTQ_E_RING_RANGE);
	mock_q_program(&e->mq, &q, 16);
	assert_int_equal(virtq_check(&q), VIRTQ_OK);
	/* A queue that is not ready gives nothing. */
	assert_int_equal(virtq_pop(&q, &e->c), 0);
}

static void event_idx(void **state)
{
	struct env *e = *state;
	e->q.event_idx = true;
	mock_desc(&e->mq, 0, BUF, 8, 0, 0);
	/* The first push always interrupts. */
	mock_used_event(&e->mq, 0);
	mock_avail(&e->mq, 0);
	assert_int_equal(virtq_pop(&e->q, &e->c), 1);
	assert_int_equal(mock_avail_event(&e->mq), 1);   /* kick me at the next */
	assert_int_equal(virtq_push(&e->q, 0, 0), 0);
	assert_true(virtq_should_notify(&e->q));
	/* The driver wants an interrupt only when used idx passes 3. */
	mock_used_event(&e->mq, 3);
	for (unsigned i = 1; i <= 4; i++) {
		mock_avail(&e->mq, 0);
		assert_int_equal(virtq_pop(&e->q, &e->c), 1);
		assert_int_equal(virtq_push(&e->q, 0, 0), 0);
		bool n = virtq_should_notify(&e->q);
		/* used idx is now i+1: interrupt when it goes from 3 to 4. */
		if (i + 1 == 4)
			assert_true(n);
		else
			assert_false(n);
	}
	/* With event idx the NO_INTERRUPT flag is ignored. */
	mock_avail_flags(&e->mq, VIRTQ_AVAIL_F_NO_INTERRUPT);
	mock_used_event(&e->mq, 5);
	mock_avail(&e->mq, 0);
	assert_int_equal(virtq_pop(&e->q, &e->c), 1);
	assert_int_equal(virtq_push(&e->q, 0, 0), 0);
	assert_true(virtq_should_notify(&e->q));
}

static void too_many_segments(void **state)
{
	struct env *e = *state;
	/* An indirect table of VIRTQ_MAX_SEGS entries is accepted, one more
	 * entry is refused. */
	gpa_t tbl = 0x200000;
	for (unsigned i = 0; i < VIRTQ_MAX_SEGS; i++)
		mock_desc_at(&e->m, tbl, (uint16_t)i, BUF, 1,
			     i + 1 < VIRTQ_MAX_SEGS ? VIRTQ_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	mock_desc(&e->mq, 0, tbl, VIRTQ_MAX_SEGS * 16, VIRTQ_DESC_F_INDIRECT, 0);
	mock_avail(&e->mq, 0);
	assert_int_equal(virtq_pop(&e->q, &e->c), 1);
	assert_int_equal(e->c.nr_out, VIRTQ_MAX_SEGS);
	mock_desc(&e->mq, 0, tbl, (VIRTQ_MAX_SEGS + 1) * 16, VIRTQ_DESC_F_INDIRECT, 0);
	mock_avail(&e->mq, 0);
	expect_pop_err(e, VIRTQ_E_INDIRECT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(good_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(ring_wraps, setup, teardown),
		cmocka_unit_test_setup_teardown(indirect, setup, teardown),
		cmocka_unit_test_setup_teardown(hostile_indirect, setup, teardown),
		cmocka_unit_test_setup_teardown(hostile_chains, setup, teardown),
		cmocka_unit_test_setup_teardown(avail_jump, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_queue_setup, setup, teardown),
		cmocka_unit_test_setup_teardown(event_idx, setup, teardown),
		cmocka_unit_test_setup_teardown(too_many_segments, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
