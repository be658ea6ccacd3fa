/* Logging to stderr with a "ringvm: " prefix. */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>

#include "ringvm/log.h"

/* The one process-wide setting: how chatty stderr is.  Set by the CLI before
 * any thread starts; not machine state. */
static _Atomic int log_threshold = LOG_WARN;

void log_set_level(enum log_level level) { log_threshold = (int)level; }
enum log_level log_get_level(void) { return (enum log_level)log_threshold; }

void log_msg(enum log_level level, const char *fmt, ...)
{
	if ((int)level > log_threshold)
		return;
	/* Build the line first so concurrent threads do not interleave, and
	 * use \r\n-safe output: stdout may be a raw terminal. */
	char buf[1024];
	int n = snprintf(buf, sizeof(buf), "ringvm: %s",
			 level == LOG_ERROR ? "error: " :
			 level == LOG_WARN ? "warning: " : "");
	va_list ap;
	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < sizeof(buf))
		vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s\n", buf);
}
