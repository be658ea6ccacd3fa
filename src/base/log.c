/* Logging to stderr with a "ringvm: " prefix, and rate limits for the
 * messages a guest can trigger. */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "ringvm/clock.h"

#include "ringvm/log.h"

/* The one process-wide setting: how chatty stderr is.  Set by the CLI before
 * any thread starts; not machine state. */
static _Atomic int log_threshold = LOG_WARN;

void log_set_level(enum log_level level) { log_threshold = (int)level; }
enum log_level log_get_level(void) { return (enum log_level)log_threshold; }

static void log_vmsg(enum log_level level, const char *fmt, va_list ap) PRINTF_FMT(2, 0);
static void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	/* Build the line first so concurrent threads do not interleave, and
	 * use \r\n-safe output: stdout may be a raw terminal. */
	char buf[1024];
	int n = snprintf(buf, sizeof(buf), "ringvm: %s",
			 level == LOG_ERROR ? "error: " :
			 level == LOG_WARN ? "warning: " : "");
	if (n >= 0 && (size_t)n < sizeof(buf))
		vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
	fprintf(stderr, "%s\n", buf);
}

void log_requested(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(LOG_INFO, fmt, ap);
	va_end(ap);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	if ((int)level > log_threshold)
		return;
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

/* ---- rate limiting ------------------------------------------------------ */

void log_ratelimit_init(struct log_ratelimit *rl, const char *what, unsigned burst,
			unsigned interval_ms)
{
	memset(rl, 0, sizeof(*rl));
	pthread_mutex_init(&rl->lock, NULL);
	rl->what = what;
	rl->burst = burst ? burst : 1;
	rl->interval_ns = (uint64_t)(interval_ms ? interval_ms : 1) * 1000000ULL;
	rl->window_start_ns = clock_monotonic_ns();
}

void log_ratelimit_destroy(struct log_ratelimit *rl)
{
	if (rl->burst)
		pthread_mutex_destroy(&rl->lock);
	rl->burst = 0;
}

/* Under rl->lock. */
static void log_ratelimit_summary(struct log_ratelimit *rl)
{
	if (!rl->suppressed)
		return;
	log_msg(rl->summary_level, "%llu %s message%s suppressed (rate limit: %u per %llu ms)",
		(unsigned long long)rl->suppressed, rl->what, rl->suppressed == 1 ? "" : "s",
		rl->burst, (unsigned long long)(rl->interval_ns / 1000000ULL));
	rl->suppressed = 0;
}

void log_msg_ratelimited(struct log_ratelimit *rl, enum log_level level, const char *fmt, ...)
{
	if ((int)level > log_threshold)
		return;  /* not shown anyway: costs nothing, counts nothing */
	if (!rl->burst) {
		/* Never initialised (a hand-built struct vm in a unit test):
		 * no limit. */
		va_list ap;
		va_start(ap, fmt);
		log_vmsg(level, fmt, ap);
		va_end(ap);
		return;
	}
	uint64_t now = clock_monotonic_ns();
	pthread_mutex_lock(&rl->lock);
	if (now - rl->window_start_ns >= rl->interval_ns) {
		rl->window_start_ns = now;
		rl->in_window = 0;
	}
	if (rl->in_window >= rl->burst) {
		rl->suppressed++;
		rl->suppressed_total++;
		if (rl->suppressed == 1 || level < rl->summary_level)
			rl->summary_level = level;
		pthread_mutex_unlock(&rl->lock);
		return;
	}
	rl->in_window++;
	log_ratelimit_summary(rl);
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
	pthread_mutex_unlock(&rl->lock);
}

void log_ratelimit_flush(struct log_ratelimit *rl)
{
	if (!rl->burst)
		return;
	pthread_mutex_lock(&rl->lock);
	log_ratelimit_summary(rl);
	pthread_mutex_unlock(&rl->lock);
}
