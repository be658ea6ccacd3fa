/* A minimal HTTP/1.1 client for ringvm's (Firecracker's) API socket, used by
 * `ringvm ls|pause|resume|stop|snapshot` (cmd_fleet.c): one request per
 * connection (Connection: close), a bounded answer, a bounded wait. */
#ifndef RINGVM_CLI_API_CLIENT_H
#define RINGVM_CLI_API_CLIENT_H

#include <stddef.h>

#define API_CLIENT_MAX_ANSWER (1024 * 1024)

struct api_answer {
	int status;     /* HTTP status */
	char *body;     /* malloc'd, NUL-terminated ("" if none) */
};

/* Send method path with body (NULL: none) to the Unix socket sock and wait
 * at most timeout_ms for the whole answer.  0, or -1 with a reason in err. */
int api_call(const char *sock, const char *method, const char *path, const char *body,
	     int timeout_ms, struct api_answer *out, char *err, size_t errlen);

/* The fault_message of an error body, else the body itself (static buffer
 * not needed: returns a pointer into a malloc'd copy the caller frees). */
char *api_fault_message(const char *body);

#endif
