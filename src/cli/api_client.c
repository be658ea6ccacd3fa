/* A minimal HTTP/1.1 client for the API socket (api_client.h).  The answer
 * comes from a process the user runs, but is still read defensively: at most
 * API_CLIENT_MAX_ANSWER bytes, within the timeout. */
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "api_client.h"
#include "ringvm/errbuf.h"

static long long now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Wait for fd to be ready for events until deadline; 0 ready, -1 timeout. */
static int wait_fd(int fd, short events, long long deadline)
{
	for (;;) {
		long long left = deadline - now_ms();
		if (left <= 0)
			return -1;
		struct pollfd p = { fd, events, 0 };
		int r = poll(&p, 1, (int)(left > 60000 ? 60000 : left));
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

int api_call(const char *sock, const char *method, const char *path, const char *body,
	     int timeout_ms, struct api_answer *out, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	long long deadline = now_ms() + timeout_ms;
	out->status = 0;
	out->body = NULL;
	if (strlen(sock) >= sizeof(sa.sun_path))
		return err_set(err, errlen, "%s: socket path too long", sock);
	strcpy(sa.sun_path, sock);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return err_set(err, errlen, "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS) {
		int e = errno;
		close(fd);
		return err_set(err, errlen, "cannot connect to %s: %s", sock, strerror(e));
	}

	size_t blen = body ? strlen(body) : 0;
	char head[512];
	int hlen = snprintf(head, sizeof(head),
			    "%s %s HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n"
			    "Connection: close\r\n%s%s%zu\r\n\r\n", method, path,
			    body ? "Content-Type: application/json\r\n" : "",
			    "Content-Length: ", blen);
	char *req = malloc((size_t)hlen + blen + 1);
	if (hlen < 0 || (size_t)hlen >= sizeof(head) || !req) {
		free(req);
		close(fd);
		return err_set(err, errlen, "%s %s: request too long", method, path);
	}
	memcpy(req, head, (size_t)hlen);
	if (blen)
		memcpy(req + hlen, body, blen);
	size_t total = (size_t)hlen + blen, sent = 0;
	while (sent < total) {
		if (wait_fd(fd, POLLOUT, deadline) < 0)
			break;
		ssize_t w = send(fd, req + sent, total - sent, MSG_NOSIGNAL);
		if (w < 0 && errno != EAGAIN && errno != EINTR)
			break;
		if (w > 0)
			sent += (size_t)w;
	}
	free(req);
	if (sent < total) {
		close(fd);
		return err_set(err, errlen, "%s: cannot send the request (%s)", sock,
			    now_ms() >= deadline ? "timed out" : strerror(errno));
	}

	char *buf = malloc(API_CLIENT_MAX_ANSWER + 1);
	size_t len = 0;
	bool eof = false;
	while (buf && !eof && len < API_CLIENT_MAX_ANSWER) {
		if (wait_fd(fd, POLLIN, deadline) < 0)
			break;
		ssize_t r = recv(fd, buf + len, API_CLIENT_MAX_ANSWER - len, 0);
		if (r == 0)
			eof = true;
		else if (r > 0)
			len += (size_t)r;
		else if (errno != EAGAIN && errno != EINTR)
			break;
	}
	close(fd);
	if (!buf)
		return err_set(err, errlen, "out of memory");
	buf[len] = 0;
	/* "HTTP/1.1 204 No Content\r\n...\r\n\r\nbody"; with Connection: close
	 * the body is everything after the header (Content-Length is not
	 * needed). */
	int status = 0;
	char *hdr_end = strstr(buf, "\r\n\r\n");
	if (!eof || sscanf(buf, "HTTP/1.%*1[01] %3d", &status) != 1 || !hdr_end ||
	    status < 100 || status > 599) {
		free(buf);
		return err_set(err, errlen, "%s: %s", sock, !eof ? "no complete answer (timed out)" :
			    "not an HTTP answer");
	}
	memmove(buf, hdr_end + 4, strlen(hdr_end + 4) + 1);
	out->status = status;
	out->body = buf;
	return 0;
}

char *api_fault_message(const char *body)
{
	json_t *j = json_loads(body ? body : "", 0, NULL);
	const char *m = json_string_value(json_object_get(j, "fault_message"));
	char *s = strdup(m ? m : body ? body : "");
	json_decref(j);
	return s;
}
