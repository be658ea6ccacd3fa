/* The decoded-block cache's bound (src/cpu/soft/icache.c): whatever is
 * inserted, the live blocks and page records never exceed the budget; a
 * full cache is flushed wholesale (epoch bumped, old blocks gone, freed at
 * the next reap); invalidation gives the bytes back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "src/cpu/soft/icache.h"

static struct x86_insn nops[SOFT_BLOCK_MAX];

static int setup(void **state)
{
	(void)state;
	memset(nops, 0, sizeof(nops));
	for (unsigned i = 0; i < SOFT_BLOCK_MAX; i++)
		nops[i].len = 1;
	return 0;
}

/* Insert a maximal block at every byte of many pages, as a guest that
 * executes from every offset does: bytes stay within the budget. */
static void test_budget_holds(void **state)
{
	(void)state;
	struct soft_icache *ic = soft_icache_new();
	assert_non_null(ic);
	assert_int_equal(ic->budget, SOFT_ICACHE_BUDGET);
	uint64_t budget = 64 * soft_icache_block_cost(SOFT_BLOCK_MAX);
	soft_icache_set_budget(ic, budget);
	assert_int_equal(ic->budget, budget);

	uint64_t inserted = 0;
	for (uint64_t pa = 0x100000; pa < 0x100000 + 4 * 4096; pa++) {
		struct soft_block *b = soft_icache_insert(ic, pa, pa, 2, nops, SOFT_BLOCK_MAX);
		assert_non_null(b);
		assert_ptr_equal(soft_icache_lookup(ic, pa, 2), b);
		assert_true(ic->bytes <= budget);
		inserted++;
		soft_icache_reap(ic);
	}
	/* each flush leaves room for ~64 blocks: many flushes, few live blocks */
	assert_true(ic->nflush >= inserted / 64 - 1);
	assert_true(ic->nblocks <= 64);
	/* the first block is long gone */
	assert_null(soft_icache_lookup(ic, 0x100000, 2));
	soft_icache_free(ic);
}

/* A flush drops everything, bumps the epoch, clears the filter; the
 * dropped blocks stay allocated until the reap. */
static void test_flush(void **state)
{
	(void)state;
	struct soft_icache *ic = soft_icache_new();
	assert_non_null(ic);
	assert_non_null(soft_icache_insert(ic, 0x2000, 0x2000, 2, nops, 3));
	assert_non_null(soft_icache_insert(ic, 0x5010, 0x5010, 2, nops, 7));
	assert_int_equal(ic->bytes, soft_icache_block_cost(3) + soft_icache_block_cost(7) +
					    2 * sizeof(struct soft_code_page));
	assert_true(soft_icache_maybe_code(ic, 0x5000));
	uint64_t epoch = soft_icache_epoch(ic);
	soft_icache_flush(ic);
	assert_true(soft_icache_epoch(ic) > epoch);
	assert_int_equal(ic->bytes, 0);
	assert_int_equal(ic->nblocks, 0);
	assert_int_equal(ic->nflush, 1);
	assert_null(soft_icache_lookup(ic, 0x2000, 2));
	assert_null(soft_icache_lookup(ic, 0x5010, 2));
	assert_false(soft_icache_maybe_code(ic, 0x5000));
	assert_true(soft_icache_has_dead(ic));
	soft_icache_reap(ic);
	assert_false(soft_icache_has_dead(ic));
	/* usable again */
	assert_non_null(soft_icache_insert(ic, 0x2000, 0x2000, 2, nops, 3));
	assert_non_null(soft_icache_lookup(ic, 0x2000, 2));
	soft_icache_free(ic);
}

/* Invalidating a page gives its blocks' and its record's bytes back. */
/* Link tags (icache.h): a link into a global page survives flushes of
 * non-global translations and switches of the address space, one into a
 * non-global page survives only a switch away and back; a full bump, a CS
 * base change and a code drop kill both; the CPL is part of both. */
static void test_link_tags(void **state)
{
	(void)state;
	struct soft_icache *ic = soft_icache_new();
	assert_non_null(ic);
	const uint64_t s1 = 1ULL << 54, s2 = 2ULL << 54;
	soft_icache_set_space(ic, s1);
	uint64_t g = soft_icache_tag(ic, true), l = soft_icache_tag(ic, false);
	assert_true(soft_icache_tag_global(g));
	assert_false(soft_icache_tag_global(l));
	assert_int_not_equal(g, l);
	assert_true(soft_icache_tag_valid(ic, g) && soft_icache_tag_valid(ic, l));
	/* a PCID switch with the no-flush bit and back */
	soft_icache_set_space(ic, s2);
	assert_true(soft_icache_tag_valid(ic, g));
	assert_false(soft_icache_tag_valid(ic, l));
	uint64_t l2 = soft_icache_tag(ic, false);
	soft_icache_set_space(ic, s1);
	assert_true(soft_icache_tag_valid(ic, l));
	assert_false(soft_icache_tag_valid(ic, l2));
	/* another CPL, and back */
	soft_icache_set_context(ic, 3, 0);
	assert_false(soft_icache_tag_valid(ic, g) || soft_icache_tag_valid(ic, l));
	soft_icache_set_context(ic, 0, 0);
	assert_true(soft_icache_tag_valid(ic, g) && soft_icache_tag_valid(ic, l));
	/* MOV CR3 without the no-flush bit: only the global link stays */
	soft_icache_bump_nonglobal(ic);
	assert_true(soft_icache_tag_valid(ic, g));
	assert_false(soft_icache_tag_valid(ic, l));
	/* INVLPG and the like: none stays */
	l = soft_icache_tag(ic, false);
	soft_icache_bump_epoch(ic);
	assert_false(soft_icache_tag_valid(ic, g) || soft_icache_tag_valid(ic, l));
	/* a new CS base, and a dropped page of code */
	g = soft_icache_tag(ic, true);
	soft_icache_set_context(ic, 0, 0x1000);
	assert_false(soft_icache_tag_valid(ic, g));
	g = soft_icache_tag(ic, true);
	assert_non_null(soft_icache_insert(ic, 0x5000, 0x5000, 2, nops, 1));
	assert_true(soft_icache_invalidate(ic, 0x5000, 1));
	assert_false(soft_icache_tag_valid(ic, g));
	/* an empty IBTC entry (~0) is never valid */
	assert_false(soft_icache_tag_valid(ic, ~0ULL));
	soft_icache_reap(ic);
	soft_icache_free(ic);
}

static void test_invalidate_accounting(void **state)
{
	(void)state;
	struct soft_icache *ic = soft_icache_new();
	assert_non_null(ic);
	for (unsigned i = 0; i < 10; i++)
		assert_non_null(soft_icache_insert(ic, 0x7000 + i, 0x7000 + i, 2, nops, i + 1));
	assert_non_null(soft_icache_insert(ic, 0x9000, 0x9000, 2, nops, 5));
	assert_true(soft_icache_invalidate(ic, 0x7123, 1));
	assert_int_equal(ic->bytes, soft_icache_block_cost(5) + sizeof(struct soft_code_page));
	assert_true(soft_icache_invalidate(ic, 0x9000, 4096));
	assert_int_equal(ic->bytes, 0);
	assert_int_equal(ic->nflush, 0);
	soft_icache_free(ic);
}

/* Degenerate inputs: no empty or oversized blocks; a budget below one
 * maximal block is raised to it. */
/* A whole PCID's flush (MOV CR3 without the no-flush bit, INVPCID 1, 3):
 * without an MMU reporting spaces every non-global link dies; with one,
 * the flushed PCID's fresh space alone kills its links, and another
 * PCID's links stay valid for its return. */
static void test_flush_spaces(void **state)
{
	(void)state;
	struct soft_icache *ic = soft_icache_new();
	assert_non_null(ic);
	uint64_t g = soft_icache_tag(ic, true), l = soft_icache_tag(ic, false);
	soft_icache_flush_spaces(ic); /* no spaces reported: lgen moves */
	assert_true(soft_icache_tag_valid(ic, g));
	assert_false(soft_icache_tag_valid(ic, l));
	const uint64_t s1 = 1ULL << 54, s2 = 2ULL << 54, s3 = 3ULL << 54;
	soft_icache_set_space(ic, s1);
	uint64_t l1 = soft_icache_tag(ic, false);
	soft_icache_set_space(ic, s2);
	uint64_t l2 = soft_icache_tag(ic, false);
	/* PCID 2 flushed: the MMU gives it space 3, then the flush */
	soft_icache_set_space(ic, s3);
	soft_icache_flush_spaces(ic);
	assert_false(soft_icache_tag_valid(ic, l2));
	uint64_t l3 = soft_icache_tag(ic, false);
	assert_true(soft_icache_tag_valid(ic, l3));
	soft_icache_set_space(ic, s1); /* back to PCID 1, no-flush */
	assert_true(soft_icache_tag_valid(ic, l1));
	assert_false(soft_icache_tag_valid(ic, l2) || soft_icache_tag_valid(ic, l3));
	/* INVLPG still kills every non-global link */
	soft_icache_flush_page(ic, 0x1000);
	assert_false(soft_icache_tag_valid(ic, l1));
	soft_icache_free(ic);
}

/* The run loop's jump cache: an entry is found while its tag is current
 * and its block is still at the RIP in the mode; every event that kills a
 * link kills it (a dropped page of code, INVLPG, another space or CPL). */
static void test_jump_cache(void **state)
{
	(void)state;
	struct soft_icache *ic = soft_icache_new();
	assert_non_null(ic);
	bool global = false;
	assert_null(soft_icache_jump_find(ic, 0, 2, &global)); /* empty */
	struct soft_block *b = soft_icache_insert(ic, 0x5000, 0x401000, 2, nops, 1);
	struct soft_block *k = soft_icache_insert(ic, 0x6000, 0xffffffff81000000ULL, 2, nops, 1);
	assert_non_null(b);
	assert_non_null(k);
	soft_icache_set_space(ic, 1ULL << 54);
	soft_icache_jump_note(ic, 0x401000, b, soft_icache_tag(ic, false));
	soft_icache_jump_note(ic, 0xffffffff81000000ULL, k, soft_icache_tag(ic, true));
	assert_ptr_equal(soft_icache_jump_find(ic, 0x401000, 2, &global), b);
	assert_false(global);
	assert_ptr_equal(soft_icache_jump_find(ic, 0xffffffff81000000ULL, 2, &global), k);
	assert_true(global);
	assert_int_equal(ic->jump_hits, 2);
	/* another RIP, another mode, the block moved (rebind) */
	assert_null(soft_icache_jump_find(ic, 0x402000, 2, &global));
	assert_null(soft_icache_jump_find(ic, 0x401000, 1, &global));
	b->rip = 0x501000;
	assert_null(soft_icache_jump_find(ic, 0x401000, 2, &global));
	b->rip = 0x401000;
	/* another CPL, and back */
	soft_icache_set_context(ic, 3, 0);
	assert_null(soft_icache_jump_find(ic, 0x401000, 2, &global));
	soft_icache_set_context(ic, 0, 0);
	assert_non_null(soft_icache_jump_find(ic, 0x401000, 2, &global));
	/* another space: the global entry stays; INVLPG kills the other */
	soft_icache_set_space(ic, 2ULL << 54);
	assert_null(soft_icache_jump_find(ic, 0x401000, 2, &global));
	assert_non_null(soft_icache_jump_find(ic, 0xffffffff81000000ULL, 2, &global));
	soft_icache_set_space(ic, 1ULL << 54);
	soft_icache_flush_page(ic, 0x7000);
	assert_null(soft_icache_jump_find(ic, 0x401000, 2, &global));
	/* a dropped page of code kills every entry (its block is freed) */
	soft_icache_jump_note(ic, 0x401000, b, soft_icache_tag(ic, false));
	assert_true(soft_icache_invalidate(ic, 0x6000, 1));
	assert_null(soft_icache_jump_find(ic, 0xffffffff81000000ULL, 2, &global));
	assert_null(soft_icache_jump_find(ic, 0x401000, 2, &global));
	soft_icache_reap(ic);
	soft_icache_free(ic);
}

static void test_limits(void **state)
{
	(void)state;
	struct soft_icache *ic = soft_icache_new();
	assert_non_null(ic);
	assert_null(soft_icache_insert(ic, 0x1000, 0x1000, 2, nops, 0));
	assert_null(soft_icache_insert(ic, 0x1000, 0x1000, 2, nops, SOFT_BLOCK_MAX + 1));
	soft_icache_set_budget(ic, 1);
	assert_int_equal(ic->budget,
			 soft_icache_block_cost(SOFT_BLOCK_MAX) + sizeof(struct soft_code_page));
	assert_non_null(soft_icache_insert(ic, 0x1000, 0x1000, 2, nops, SOFT_BLOCK_MAX));
	assert_non_null(soft_icache_insert(ic, 0x1001, 0x1001, 2, nops, SOFT_BLOCK_MAX));
	assert_int_equal(ic->nblocks, 1);
	assert_int_equal(ic->nflush, 1);
	soft_icache_free(ic);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_budget_holds),
		cmocka_unit_test(test_flush),
		cmocka_unit_test(test_invalidate_accounting),
		cmocka_unit_test(test_link_tags),
		cmocka_unit_test(test_flush_spaces),
		cmocka_unit_test(test_jump_cache),
		cmocka_unit_test(test_limits),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
