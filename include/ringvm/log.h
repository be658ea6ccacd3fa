/* Logging. Messages go to stderr prefixed with "ringvm: ".
 * The verbosity lives in struct vm's config; these helpers take the level
 * explicitly so that code without a vm (loaders, CLI parsing) can log too. */
#ifndef RINGVM_LOG_H
#define RINGVM_LOG_H

#include "ringvm/compiler.h"

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Process-wide output threshold: the only mutable logging state, set once by
 * the CLI before any vCPU starts (not guest-visible state). */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
void log_msg(enum log_level level, const char *fmt, ...) PRINTF_FMT(2, 3);

#define pr_err(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define pr_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define pr_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define pr_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
