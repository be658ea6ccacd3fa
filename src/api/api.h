/* The REST API (docs/api.md): Firecracker's endpoints over HTTP/1.1 on a
 * Unix socket.  Two halves:
 *   - api_handler.c: one request (method, path, body) in, one response
 *     (status, JSON body) out, against struct fc_vmm.  Runs on the VM's
 *     thread; no I/O of its own, so it is unit-tested and fuzzed directly.
 *   - api_server.c: libmicrohttpd on its own thread, collecting bounded
 *     request bodies and handing each request to the VM's thread through a
 *     queue (an eventfd the VM's event loop watches); the HTTP thread never
 *     touches the VM. */
#ifndef RINGVM_API_API_H
#define RINGVM_API_API_H

#include <stddef.h>

#include "fc.h"
#include "ringvm/sandbox.h"

struct api_response {
	int status;     /* HTTP status: 200, 204, 400, ... */
	char *body;     /* malloc'd JSON text, or NULL for no body */
};

/* Handle one request.  body may be NULL (len 0) and need not be
 * NUL-terminated. */
void api_handle(struct fc_vmm *fc, const char *method, const char *path, const char *body,
		size_t len, struct api_response *out);
/* {"fault_message": msg} */
char *api_fault_body(const char *msg);

struct api_server;
struct api_request;

/* Bind the socket at path (it must not exist, as with Firecracker) and
 * serve on a thread of its own, which installs sb's SANDBOX_API filter
 * before serving (sb NULL: no filter).  max_body: largest accepted body.
 * On failure: NULL, one line in err, *status the exit status (2 for the
 * socket path, 6 for a host failure). */
struct api_server *api_server_start(const char *path, size_t max_body, const struct sandbox *sb,
				    char *err, size_t n, int *status);
/* Readable (EPOLLIN) when requests wait in the queue. */
int api_server_fd(const struct api_server *s);
/* The next queued request, or NULL.  Answer it with api_server_reply. */
struct api_request *api_server_pop(struct api_server *s);
void api_request_get(const struct api_request *r, const char **method, const char **path,
		     const char **body, size_t *len);
/* Takes ownership of resp->body. */
void api_server_reply(struct api_server *s, struct api_request *r, struct api_response *resp);
/* Answer what is queued with an error, stop the thread, remove the socket. */
void api_server_stop(struct api_server *s);

#endif
