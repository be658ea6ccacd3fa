/* The rate limit for guest-triggerable messages (src/base/log.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ringvm/log.h"

/* Run fn with stderr going to a temporary file; return what it printed. */
static char *capture_stderr(void (*fn)(void *), void *arg)
{
	static char buf[8192];
	FILE *tmp = tmpfile();
	assert_non_null(tmp);
	fflush(stderr);
	int saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	assert_true(dup2(fileno(tmp), STDERR_FILENO) >= 0);
	fn(arg);
	fflush(stderr);
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	rewind(tmp);
	size_t n = fread(buf, 1, sizeof(buf) - 1, tmp);
	buf[n] = 0;
	fclose(tmp);
	return buf;
}

static unsigned count_lines(const char *s, const char *needle)
{
	unsigned n = 0;
	for (const char *p = s; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static void burst_of_ten(void *arg)
{
	struct log_ratelimit *rl = arg;
	for (int i = 0; i < 10; i++)
		log_msg_ratelimited(rl, LOG_WARN, "event %d", i);
}

static void one_more(void *arg)
{
	log_msg_ratelimited(arg, LOG_WARN, "event late");
}

static void flush(void *arg)
{
	log_ratelimit_flush(arg);
}

static void test_burst_then_summary(void **state)
{
	(void)state;
	struct log_ratelimit rl;
	log_ratelimit_init(&rl, "test", 3, 1000);  /* wide: a loaded host stalls */
	char *out = capture_stderr(burst_of_ten, &rl);
	/* Three lines, then silence: the other seven are counted. */
	assert_int_equal(count_lines(out, "ringvm: warning: event"), 3);
	assert_non_null(strstr(out, "event 2\n"));
	assert_null(strstr(out, "event 3"));
	assert_int_equal(rl.suppressed, 7);
	assert_int_equal(rl.suppressed_total, 7);
	/* A new interval: the summary comes first, then the message. */
	usleep(1100 * 1000);
	out = capture_stderr(one_more, &rl);
	assert_string_equal(out, "ringvm: warning: 7 test messages suppressed "
				 "(rate limit: 3 per 1000 ms)\n"
				 "ringvm: warning: event late\n");
	assert_int_equal(rl.suppressed, 0);
	/* Flushing with nothing pending prints nothing; with something
	 * pending prints only the summary. */
	assert_string_equal(capture_stderr(flush, &rl), "");
	out = capture_stderr(burst_of_ten, &rl);
	assert_int_equal(count_lines(out, "ringvm: warning: event"), 2);
	assert_string_equal(capture_stderr(flush, &rl),
			    "ringvm: warning: 8 test messages suppressed (rate limit: 3 per 1000 ms)\n");
	assert_int_equal(rl.suppressed_total, 15);
	log_ratelimit_destroy(&rl);
}

static void test_below_threshold_costs_nothing(void **state)
{
	(void)state;
	struct log_ratelimit rl;
	log_ratelimit_init(&rl, "quiet", 1, 1000);
	enum log_level old = log_get_level();
	log_set_level(LOG_WARN);
	for (int i = 0; i < 5; i++)
		log_msg_ratelimited(&rl, LOG_INFO, "not shown %d", i);
	assert_int_equal(rl.suppressed_total, 0);  /* not shown is not suppressed */
	log_set_level(old);
	log_ratelimit_destroy(&rl);
}

static void test_uninitialised_is_unlimited(void **state)
{
	(void)state;
	struct log_ratelimit rl;
	memset(&rl, 0, sizeof(rl));  /* a hand-built struct vm in a unit test */
	char *out = capture_stderr(burst_of_ten, &rl);
	assert_int_equal(count_lines(out, "ringvm: warning: event"), 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_then_summary),
		cmocka_unit_test(test_below_threshold_costs_nothing),
		cmocka_unit_test(test_uninitialised_is_unlimited),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
