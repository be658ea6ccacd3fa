/* err_set: include/ringvm/errbuf.h. */
#include <stdarg.h>
#include <stdio.h>

#include "ringvm/errbuf.h"

int err_set(char *err, size_t n, const char *fmt, ...)
{
	if (err && n) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, n, fmt, ap);
		va_end(ap);
	}
	return -1;
}
