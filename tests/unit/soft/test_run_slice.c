/* The engine's slices (soft_cpu_run_slice) against soft_cpu_run's exact
 * budget.  A slice may end less than one decoded block past its max, and
 * its tail then runs whole blocks: translated and chained (one entry into
 * translated code per slice), or interpreted as blocks, never stepped one
 * instruction at a time.  soft_cpu_run stops at exactly max instructions,
 * inside a block if need be.  Both on a loop of two blocks of 15 and 21
 * instructions chained to each other, translated and interpreted, the
 * registers checked against the instruction stream at every stop; a kick
 * still ends a slice. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <pthread.h>
#include <time.h>
#include <cmocka.h>

#include "flat_env.h"
#include "src/cpu/soft/icache.h"
#include "src/cpu/soft/jit/jit.h"

/* A: 14 x inc rax; jmp B     (15 instructions at FLAT_ENV_CODE)
 * B: 20 x inc rcx; jmp A     (21 instructions at FLAT_ENV_CODE + 0x100) */
#define A_LEN 15
#define B_LEN 21
#define ROUND (A_LEN + B_LEN)
#define A_RIP FLAT_ENV_CODE
#define B_RIP (FLAT_ENV_CODE + 0x100)

static void put_jmp(uint8_t *p, uint64_t at, uint64_t to)
{
	int32_t rel = (int32_t)(to - (at + 5));
	p[0] = 0xe9;
	memcpy(p + 1, &rel, 4);
}

static struct env *cycle_env(bool jit)
{
	struct env *e = env_new(SOFT_MODE_64, true);
	if (jit) {
		e->c.jit = soft_jit_new(1u << 20, 0); /* translated at first execution */
		assert_non_null(e->c.jit);
	}
	uint8_t *a = e->m.ram + A_RIP, *b = e->m.ram + B_RIP;
	for (unsigned i = 0; i < A_LEN - 1; i++)
		memcpy(a + 3 * i, "\x48\xff\xc0", 3);
	put_jmp(a + 3 * (A_LEN - 1), A_RIP + 3 * (A_LEN - 1), B_RIP);
	for (unsigned i = 0; i < B_LEN - 1; i++)
		memcpy(b + 3 * i, "\x48\xff\xc1", 3);
	put_jmp(b + 3 * (B_LEN - 1), B_RIP + 3 * (B_LEN - 1), A_RIP);
	return e;
}

/* The state after t instructions of the stream A, B, A, B ... */
struct point {
	uint64_t rax, rcx, rip;
	unsigned pos; /* instructions into the current round: 0 and A_LEN are block starts */
};

static struct point stream_at(uint64_t t)
{
	struct point s;
	uint64_t full = t / ROUND;
	unsigned p = (unsigned)(t % ROUND);
	s.pos = p;
	s.rax = (A_LEN - 1) * full + (p < A_LEN - 1 ? p : A_LEN - 1);
	s.rcx = (B_LEN - 1) * full + (p > A_LEN ? p - A_LEN : 0);
	if (p < A_LEN)
		s.rip = A_RIP + 3 * p;
	else
		s.rip = B_RIP + 3 * (p - A_LEN);
	return s;
}

static void check_stream(const struct env *e, uint64_t t)
{
	struct point s = stream_at(t);
	assert_int_equal(e->c.icount, t);
	assert_int_equal(e->c.gpr[GPR_RAX], s.rax);
	assert_int_equal(e->c.gpr[GPR_RCX], s.rcx);
	assert_int_equal(e->c.rip, s.rip);
}

/* Slices of every length from 1000 to 1000 + ROUND (every phase of the
 * loop): each ends at a block start at most one block past its max
 * (fewer than B_LEN instructions over; translated, fewer than ROUND: the
 * loop is one translation, a loop region), with no instruction stepped; the
 * translated tier enters translated code once per slice (the chain runs
 * the tail), the interpreted one runs its blocks whole. */
static void slices(bool jit)
{
	struct env *e = cycle_env(jit);
	uint64_t done;
	/* warm-up: translation and the chain slots filled */
	assert_int_equal(soft_cpu_run_slice(&e->c, 1000, &done), SOFT_STOP);
	check_stream(e, done);
	uint64_t t = done;
	for (uint64_t max = 1000; max <= 1000 + ROUND; max++) {
		uint64_t stepped = e->c.uncached_insns;
		uint64_t entries = jit ? e->c.jit->stats.entries : 0;
		assert_int_equal(soft_cpu_run_slice(&e->c, max, &done), SOFT_STOP);
		t += done;
		check_stream(e, t);
		/* translated, A and B are one loop region (jit/region.h):
		 * its back edge is the only block boundary it stops at */
		if (done < max || done - max >= (jit ? ROUND : B_LEN))
			fail_msg("slice of %llu ran %llu instructions", (unsigned long long)max,
				 (unsigned long long)done);
		struct point s = stream_at(t);
		assert_true(s.pos == 0 || s.pos == A_LEN); /* ended at a block's start */
		assert_int_equal(e->c.uncached_insns, stepped);
		if (jit)
			assert_int_equal(e->c.jit->stats.entries, entries + 1);
	}
	if (jit)
		assert_true(e->c.jit->stats.translated >= 2);
	env_free(e);
}

static void test_slice_jit(void **state)
{
	(void)state;
	slices(true);
}

static void test_slice_interp(void **state)
{
	(void)state;
	slices(false);
}

/* soft_cpu_run: every run of 1 to 2 * ROUND instructions stops exactly
 * there, inside blocks too, translated and interpreted alike. */
static void runs_exact(struct env *e, uint64_t from, uint64_t to, uint64_t *t)
{
	uint64_t done;
	for (uint64_t max = from; max <= to; max++) {
		assert_int_equal(soft_cpu_run(&e->c, max, &done), SOFT_STOP);
		assert_int_equal(done, max);
		*t += done;
		check_stream(e, *t);
	}
}

static void exact(bool jit)
{
	struct env *e = cycle_env(jit);
	uint64_t t = 0;
	runs_exact(e, 1, 2 * ROUND, &t);
	/* and long runs, which chain translated blocks: exact as well */
	runs_exact(e, 1000, 1000 + ROUND, &t);
	env_free(e);
}

static void test_exact_jit(void **state)
{
	(void)state;
	exact(true);
}

static void test_exact_interp(void **state)
{
	(void)state;
	exact(false);
}

/* A kick ends a slice: one pending before it starts ends it before any
 * instruction; one from another thread ends an unbounded slice at the
 * chain's next exit, at a block start. */
static void *kicker(void *arg)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	nanosleep(&ts, NULL);
	soft_cpu_kick(arg);
	return NULL;
}

static void test_slice_kick(void **state)
{
	(void)state;
	struct env *e = cycle_env(true);
	uint64_t done;
	assert_int_equal(soft_cpu_run_slice(&e->c, 1000, &done), SOFT_STOP);
	uint64_t t = done;
	soft_cpu_kick(&e->c);
	assert_int_equal(soft_cpu_run_slice(&e->c, 1000, &done), SOFT_STOP);
	assert_int_equal(done, 0);
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, kicker, &e->c), 0);
	assert_int_equal(soft_cpu_run_slice(&e->c, ~0ULL, &done), SOFT_STOP);
	pthread_join(th, NULL);
	t += done;
	check_stream(e, t);
	struct point s = stream_at(t);
	assert_true(s.pos == 0 || s.pos == A_LEN);
	/* (no lower bound on done: on a loaded host the kick may come before
	 * the slice starts; a kick that did not end it would hang the test) */
	env_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slice_jit),
		cmocka_unit_test(test_slice_interp),
		cmocka_unit_test(test_exact_jit),
		cmocka_unit_test(test_exact_interp),
		cmocka_unit_test(test_slice_kick),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
