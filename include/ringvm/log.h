/* Logging. Messages go to stderr prefixed with "ringvm: ".
 * The verbosity lives in struct vm's config; these helpers take the level
 * explicitly so that code without a vm (loaders, CLI parsing) can log too. */
#ifndef RINGVM_LOG_H
#define RINGVM_LOG_H

#include <pthread.h>
#include <stdint.h>

#include "ringvm/compiler.h"

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Process-wide output threshold: the only mutable logging state, set once by
 * the CLI before any vCPU starts (not guest-visible state). */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
void log_msg(enum log_level level, const char *fmt, ...) PRINTF_FMT(2, 3);
/* An informational line the user asked for by an option (--boot-timer),
 * printed whatever the level. */
void log_requested(const char *fmt, ...) PRINTF_FMT(1, 2);

/* A rate limit for messages whose frequency a guest controls (a reset loop,
 * a device poked in a loop): at most 'burst' lines per 'interval' of host
 * monotonic time; the rest are counted, and the next line printed after
 * them (or log_ratelimit_flush(), when the VM ends) says how many were
 * suppressed.  One per call site or message kind, hanging off the struct vm
 * whose guest triggers it (never global); thread safe. */
struct log_ratelimit {
	pthread_mutex_t lock;
	const char *what;            /* names the kind in the summary */
	unsigned burst;
	uint64_t interval_ns;
	uint64_t window_start_ns;    /* the current interval began here */
	unsigned in_window;          /* lines printed in it */
	enum log_level summary_level; /* of the messages suppressed */
	uint64_t suppressed;         /* since the last summary */
	uint64_t suppressed_total;   /* for --stats */
};

void log_ratelimit_init(struct log_ratelimit *rl, const char *what, unsigned burst,
			unsigned interval_ms);
void log_ratelimit_destroy(struct log_ratelimit *rl);
/* log_msg() unless rl's budget for this interval is spent (then counted). */
void log_msg_ratelimited(struct log_ratelimit *rl, enum log_level level, const char *fmt, ...)
	PRINTF_FMT(3, 4);
/* Print the pending "N ... suppressed" summary, if any. */
void log_ratelimit_flush(struct log_ratelimit *rl);

#define pr_err(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define pr_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define pr_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define pr_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
