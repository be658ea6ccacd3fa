/* The API's HTTP side: libmicrohttpd on a thread of ours, listening on a
 * Unix socket we bind ourselves (MHD_OPTION_LISTEN_SOCKET).  MHD runs in
 * external mode with epoll (no thread of its own): our thread installs the
 * seccomp filter of the API kind (docs/sandbox.md) before it serves
 * anything, then waits on MHD's epoll fd and a wake-up eventfd and calls
 * MHD_run; libmicrohttpd's own threads could not be filtered.  Each request's body
 * is collected (at most max_body bytes: Firecracker answers a larger one
 * with "Request payload with size N is larger than the limit of 51200
 * allowed by server."), then the request is queued for the VM's thread and
 * the HTTP thread waits for its answer.  Requests are thus handled one at a
 * time, in order, on the thread that owns the VM. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <microhttpd.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "api.h"
#include "ringvm/log.h"
#include "ringvm/vm.h"

struct api_request {
	struct api_request *next;
	char method[8];
	char *path;
	char *body;
	size_t len;
	uint64_t declared;      /* Content-Length, or what arrived */
	bool too_big, done;
	struct api_response resp;
};

struct api_server {
	struct MHD_Daemon *mhd;
	int listen_fd, event_fd;
	int wake_fd;            /* written by api_server_stop: the thread ends */
	pthread_t thread;
	struct sandbox sb;      /* the API thread's filter (SANDBOX_API) */
	int started;            /* 0 starting, 1 filtered and serving, <0 -errno */
	size_t max_body;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct api_request *head, **tail;
	bool closing;
};

static void free_request(struct api_request *r)
{
	if (!r)
		return;
	free(r->path);
	free(r->body);
	free(r->resp.body);
	free(r);
}

static enum MHD_Result send_json(struct MHD_Connection *c, int status, char *body)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(body ? strlen(body) : 0,
		body ? body : (char *)"", body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (!resp) {
		free(body);
		return MHD_NO;
	}
	if (body)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	enum MHD_Result r = MHD_queue_response(c, (unsigned)status, resp);
	MHD_destroy_response(resp);
	return r;
}

static enum MHD_Result too_big(struct api_server *s, struct MHD_Connection *c, uint64_t size)
{
	char msg[160];
	snprintf(msg, sizeof(msg),
		 "Request payload with size %llu is larger than the limit of %zu allowed by server.",
		 (unsigned long long)size, s->max_body);
	/* 413 Payload Too Large, as Firecracker's micro_http answers. */
	return send_json(c, 413, api_fault_body(msg));
}

/* Hand r to the VM's thread and wait for its answer. */
static void submit(struct api_server *s, struct api_request *r)
{
	pthread_mutex_lock(&s->lock);
	if (!s->closing) {
		r->next = NULL;
		*s->tail = r;
		s->tail = &r->next;
		uint64_t one = 1;
		if (write(s->event_fd, &one, sizeof(one)) < 0) {
			/* The counter cannot overflow: the queue is drained. */
		}
	}
	while (!r->done && !s->closing)
		pthread_cond_wait(&s->cond, &s->lock);
	if (!r->done) {
		r->resp.status = 503;
		r->resp.body = api_fault_body("the microVM is shutting down");
		r->done = true;
	}
	pthread_mutex_unlock(&s->lock);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *data,
				  size_t *data_size, void **con_cls)
{
	struct api_server *s = cls;
	struct api_request *r = *con_cls;
	(void)version;

	if (!r) {
		/* Test hook: a forbidden call while handling a request. */
		sandbox_selftest(&s->sb, SANDBOX_API);
		r = calloc(1, sizeof(*r));
		if (!r)
			return MHD_NO;
		snprintf(r->method, sizeof(r->method), "%s", method);
		r->path = strdup(url ? url : "");
		*con_cls = r;
		if (!r->path)
			return MHD_NO;
		const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl) {
			unsigned long long n = strtoull(cl, NULL, 10);
			if (n > s->max_body) {
				/* Answered before the body is read: MHD then
				 * closes the connection instead of reading it. */
				r->too_big = true;
				return too_big(s, c, n);
			}
		}
		return MHD_YES;
	}
	if (*data_size) {
		size_t n = *data_size;
		*data_size = 0;
		r->declared += n;
		if (r->too_big || r->len + n > s->max_body) {
			r->too_big = true;
			free(r->body);
			r->body = NULL;
			r->len = 0;
			return MHD_YES;
		}
		if (!r->body && !(r->body = malloc(s->max_body)))
			return MHD_NO;
		memcpy(r->body + r->len, data, n);
		r->len += n;
		return MHD_YES;
	}
	if (r->too_big)
		return too_big(s, c, r->declared);
	submit(s, r);
	char *body = r->resp.body;
	r->resp.body = NULL;
	return send_json(c, r->resp.status, body);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)c;
	(void)toe;
	free_request(*con_cls);
	*con_cls = NULL;
}

/* The API thread: filter itself, say so, then serve until woken by
 * api_server_stop.  It takes no signals (blocked by its creator) but
 * SIGSYS, which sandbox_enter unblocks for the handler's message. */
static void *api_thread(void *arg)
{
	struct api_server *s = arg;
	int e = sandbox_enter(&s->sb, SANDBOX_API);
	pthread_mutex_lock(&s->lock);
	s->started = e < 0 ? e : 1;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	if (e < 0)
		return NULL;
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	int epfd = info ? info->epoll_fd : -1;
	for (;;) {
		MHD_UNSIGNED_LONG_LONG ms;
		int timeout = -1;
		if (MHD_get_timeout(s->mhd, &ms) == MHD_YES)
			timeout = ms > INT_MAX ? INT_MAX : (int)ms;
		struct pollfd fds[2] = { { s->wake_fd, POLLIN, 0 }, { epfd, POLLIN, 0 } };
		if (poll(fds, 2, timeout) < 0 && errno != EINTR) {
			pr_err("api: poll: %s; the API stops answering", strerror(errno));
			break;
		}
		if (fds[0].revents)
			break;
		MHD_run(s->mhd);
	}
	/* MHD is used from this thread only: it closes its connections here,
	 * under this thread's filter (close, shutdown, epoll_ctl). */
	MHD_stop_daemon(s->mhd);
	s->mhd = NULL;
	return NULL;
}

struct api_server *api_server_start(const char *path, size_t max_body, const struct sandbox *sb,
				    char *err, size_t n, int *status)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	*status = RINGVM_EXIT_USAGE;
	if (!path[0] || strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, n, "--api-sock %s: a socket path must have 1 to %zu characters", path,
			 sizeof(sa.sun_path) - 1);
		return NULL;
	}
	struct api_server *s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, n, "out of memory");
		*status = RINGVM_EXIT_HOST_ERROR;
		return NULL;
	}
	s->max_body = max_body;
	s->tail = &s->head;
	s->event_fd = -1;
	s->wake_fd = -1;
	if (sb)
		s->sb = *sb;  /* else: zeroed, filters off */
	strcpy(s->path, path);
	strcpy(sa.sun_path, path);
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->listen_fd < 0 || bind(s->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		/* Like Firecracker: an existing path is an error, not removed. */
		snprintf(err, n, "--api-sock %s: cannot bind the API socket: %s", path, strerror(errno));
		goto fail;
	}
	if (listen(s->listen_fd, 16) < 0 ||
	    (s->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0 ||
	    (s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
		snprintf(err, n, "--api-sock %s: %s", path, strerror(errno));
		unlink(path);
		goto fail;
	}
	/* External mode: no MHD_USE_INTERNAL_POLLING_THREAD; api_thread polls
	 * MHD's epoll fd and calls MHD_run. */
	s->mhd = MHD_start_daemon(MHD_USE_EPOLL, 0, NULL, NULL,
				  on_request, s,
				  MHD_OPTION_LISTEN_SOCKET, s->listen_fd,
				  MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
				  MHD_OPTION_CONNECTION_LIMIT, (unsigned)64,
				  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
				  MHD_OPTION_END);
	if (!s->mhd) {
		snprintf(err, n, "--api-sock %s: cannot start the HTTP server", path);
		unlink(path);
		goto fail;
	}
	s->listen_fd = -1;  /* MHD's now: MHD_stop_daemon closes it */
	/* The HTTP thread takes no signals: the VM's thread handles them. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int e = pthread_create(&s->thread, NULL, api_thread, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e) {
		snprintf(err, n, "--api-sock %s: cannot start the API thread: %s", path, strerror(e));
		goto fail_host;
	}
	pthread_mutex_lock(&s->lock);
	while (!s->started)
		pthread_cond_wait(&s->cond, &s->lock);
	e = s->started < 0 ? -s->started : 0;
	pthread_mutex_unlock(&s->lock);
	if (e) {
		/* sandbox_enter printed why. */
		pthread_join(s->thread, NULL);
		snprintf(err, n, "--api-sock %s: the API thread cannot install its seccomp filter "
			 "(--no-seccomp runs without)", path);
		goto fail_host;
	}
	return s;
fail_host:
	*status = RINGVM_EXIT_HOST_ERROR;
	MHD_stop_daemon(s->mhd);
	unlink(path);
fail:
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	if (s->event_fd >= 0)
		close(s->event_fd);
	if (s->wake_fd >= 0)
		close(s->wake_fd);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
	free(s);
	return NULL;
}

int api_server_fd(const struct api_server *s)
{
	return s->event_fd;
}

struct api_request *api_server_pop(struct api_server *s)
{
	pthread_mutex_lock(&s->lock);
	struct api_request *r = s->head;
	if (r) {
		s->head = r->next;
		if (!s->head)
			s->tail = &s->head;
	}
	if (!s->head) {
		uint64_t v;
		if (read(s->event_fd, &v, sizeof(v)) < 0) {
			/* EAGAIN: already clear */
		}
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}

void api_request_get(const struct api_request *r, const char **method, const char **path,
		     const char **body, size_t *len)
{
	*method = r->method;
	*path = r->path;
	*body = r->body;
	*len = r->len;
}

void api_server_reply(struct api_server *s, struct api_request *r, struct api_response *resp)
{
	pthread_mutex_lock(&s->lock);
	r->resp = *resp;
	resp->body = NULL;
	r->done = true;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

void api_server_stop(struct api_server *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	s->closing = true;
	s->head = NULL;   /* the waiting HTTP handlers answer 503 themselves */
	s->tail = &s->head;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	uint64_t one = 1;
	if (write(s->wake_fd, &one, sizeof(one)) < 0) {
		/* Cannot fail: a fresh eventfd counter. */
	}
	pthread_join(s->thread, NULL);  /* it stops MHD (and its socket) on its way out */
	close(s->wake_fd);
	close(s->event_fd);
	unlink(s->path);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
	free(s);
}
