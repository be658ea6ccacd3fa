/* Routing and status codes of Firecracker's API (swagger file
 * src/firecracker/swagger/firecracker.yaml): 204 with no body for a
 * successful PUT/PATCH, 200 with JSON for GET, 400 with
 * {"fault_message": "..."} for anything refused, including unknown paths
 * ("Invalid request method and/or path", as Firecracker answers). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "ringvm_config.h"

char *api_fault_body(const char *msg)
{
	/* JSON strings are UTF-8: a message quoting hostile bytes that are
	 * not is sent with them replaced by '?'. */
	char safe[FC_ERR_LEN + 128];
	json_t *o = json_pack("{s:s}", "fault_message", msg);
	if (!o) {
		size_t i = 0;
		for (; msg[i] && i + 1 < sizeof(safe); i++)
			safe[i] = (unsigned char)msg[i] >= 0x80 ? '?' : msg[i];
		safe[i] = 0;
		o = json_pack("{s:s}", "fault_message", safe);
	}
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return s;
}

static int reply_json(struct api_response *out, int status, json_t *o)
{
	out->status = status;
	out->body = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return 0;
}

static int fault(struct api_response *out, const char *fmt, ...) PRINTF_FMT(2, 3);
static int fault(struct api_response *out, const char *fmt, ...)
{
	char msg[FC_ERR_LEN + 128];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	out->status = 400;
	out->body = api_fault_body(msg);
	return 0;
}

static const char *state_name(enum fc_state s)
{
	return s == FC_NOT_STARTED ? "Not started" : s == FC_PAUSED ? "Paused" : "Running";
}

static const char not_after_boot[] =
	"The requested operation is not supported after starting the microVM.";
static const char not_before_boot[] =
	"The requested operation is not supported before starting the microVM.";

/* A path segment after prefix ("/drives/" -> "rootfs"), or NULL. */
static const char *tail(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);
	if (strncmp(path, prefix, n) || !path[n] || strchr(path + n, '/'))
		return NULL;
	return path + n;
}

static int actions(struct fc_vmm *fc, json_t *body, struct api_response *out)
{
	static const char *const fields[] = { "action_type", NULL };
	char err[FC_ERR_LEN], type[32];
	if (fc_json_object(body, "", err, sizeof(err)) < 0 ||
	    fc_json_known(body, "", fields, err, sizeof(err)) < 0 ||
	    fc_json_str(body, "", "action_type", true, type, sizeof(type), NULL, err, sizeof(err)) < 0)
		return fault(out, "%s", err);
	int (*op)(struct fc_vmm *, char *, size_t) = NULL;
	if (!strcmp(type, "InstanceStart")) {
		if (fc->state != FC_NOT_STARTED)
			return fault(out, "%s", not_after_boot);
		op = fc->ops ? fc->ops->start : NULL;
	} else if (!strcmp(type, "SendCtrlAltDel") || !strcmp(type, "FlushMetrics")) {
		bool cad = type[0] == 'S';
		if (fc->state == FC_NOT_STARTED)
			return fault(out, "%s", not_before_boot);
		if (!cad && !fc->metrics_path[0])
			return fault(out, "FlushMetrics: no metrics file is set (PUT /metrics)");
		op = fc->ops ? (cad ? fc->ops->ctrl_alt_del : fc->ops->flush_metrics) : NULL;
	} else {
		return fault(out, "/action_type: expected \"InstanceStart\", \"SendCtrlAltDel\" or "
			     "\"FlushMetrics\"");
	}
	if (op && op(fc, err, sizeof(err)) < 0)
		return fault(out, "%s", err);
	out->status = 204;
	return 0;
}

static int vm_state(struct fc_vmm *fc, json_t *body, struct api_response *out)
{
	static const char *const fields[] = { "state", NULL };
	char err[FC_ERR_LEN], st[16];
	if (fc_json_object(body, "", err, sizeof(err)) < 0 ||
	    fc_json_known(body, "", fields, err, sizeof(err)) < 0 ||
	    fc_json_str(body, "", "state", true, st, sizeof(st), NULL, err, sizeof(err)) < 0)
		return fault(out, "%s", err);
	bool pause = !strcmp(st, "Paused");
	if (!pause && strcmp(st, "Resumed"))
		return fault(out, "/state: expected \"Paused\" or \"Resumed\"");
	if (fc->state == FC_NOT_STARTED)
		return fault(out, "%s", not_before_boot);
	int (*op)(struct fc_vmm *, char *, size_t) =
		fc->ops ? (pause ? fc->ops->pause : fc->ops->resume) : NULL;
	if (op && op(fc, err, sizeof(err)) < 0)
		return fault(out, "%s", err);
	fc->state = pause ? FC_PAUSED : FC_RUNNING;
	out->status = 204;
	return 0;
}

/* PUT /snapshot/create (a paused VM) and /snapshot/load (before boot), as
 * Firecracker's swagger file says; docs/snapshot.md. */
static int snapshot(struct fc_vmm *fc, const char *path, json_t *body, struct api_response *out)
{
	char err[FC_ERR_LEN];
	char snap[FC_PATH_LEN], mem[FC_PATH_LEN];
	bool create = !strcmp(path, "/snapshot/create"), resume = false, diff = false, track = false;
	int r = create ? fc_res_snapshot_create(fc, body, "", snap, mem, &diff, err, sizeof(err))
		       : fc_res_snapshot_load(fc, body, "", snap, mem, &resume, &track, err,
					      sizeof(err));
	if (r < 0)
		return fault(out, "%s", err);
	if (create && fc->state == FC_NOT_STARTED)
		return fault(out, "%s", not_before_boot);
	if (create && fc->state != FC_PAUSED)
		return fault(out, "the microVM must be paused to take a snapshot (PATCH /vm "
			     "{\"state\": \"Paused\"})");
	if (!create && fc->state != FC_NOT_STARTED)
		return fault(out, "loading a snapshot is only allowed before the microVM starts");
	if (!create)
		fc->track_dirty_pages = track;  /* the loaded VM's (GET /machine-config) */
	int (*op)(struct fc_vmm *, const char *, const char *, bool, char *, size_t) =
		fc->ops ? fc->ops->snapshot_load : NULL;
	if (create ? (fc->ops && fc->ops->snapshot_create &&
		      fc->ops->snapshot_create(fc, snap, mem, diff, err, sizeof(err)) < 0)
		   : (op && op(fc, snap, mem, resume, err, sizeof(err)) < 0))
		return fault(out, "%s", err);
	if (!create)
		fc->state = resume ? FC_RUNNING : FC_PAUSED;
	out->status = 204;
	return 0;
}

/* A resource that may only change before boot. */
static int preboot(struct fc_vmm *fc, int r, const char *err, struct api_response *out)
{
	(void)fc;
	if (r < 0)
		return fault(out, "%s", err);
	out->status = 204;
	return 0;
}

static int handle(struct fc_vmm *fc, const char *method, const char *path, const char *body,
		  size_t len, struct api_response *out)
{
	char err[FC_ERR_LEN], ptr[300];
	bool get = !strcmp(method, "GET"), put = !strcmp(method, "PUT"),
	     patch = !strcmp(method, "PATCH");
	const char *id;

	out->status = 400;
	out->body = NULL;
	err[0] = 0;

	/* Reads first: they take no body. */
	if (get && !strcmp(path, "/")) {
		return reply_json(out, 200, json_pack("{s:s, s:s, s:s, s:s}", "id", fc->id,
			"state", state_name(fc->state), "vmm_version", RINGVM_VERSION,
			"app_name", "ringvm"));
	}
	if (get && !strcmp(path, "/version"))
		return reply_json(out, 200, json_pack("{s:s}", "firecracker_version", RINGVM_VERSION));
	if (get && !strcmp(path, "/machine-config"))
		return reply_json(out, 200, fc_machine_config_dump(fc));
	if (get && !strcmp(path, "/vm/config"))
		return reply_json(out, 200, fc_config_dump(fc));
	if (get && !strcmp(path, "/ringvm"))
		return reply_json(out, 200, fc_ringvm_dump(fc, true));

	/* Paths ringvm knows it does not support (yet), with a clear reason. */
	if (!strcmp(path, "/balloon") || !strncmp(path, "/balloon/", 9))
		return fault(out, "the balloon device is not supported by ringvm");
	if (!strcmp(path, "/mmds") || !strncmp(path, "/mmds/", 6))
		return fault(out, "MMDS (the metadata service) is not supported by ringvm");
	if (!strcmp(path, "/cpu-config") && put)
		return fault(out, "custom CPU templates are not supported by ringvm");

	bool known = (put && (!strcmp(path, "/boot-source") || !strcmp(path, "/vsock") ||
			      !strcmp(path, "/entropy") || !strcmp(path, "/logger") ||
			      !strcmp(path, "/metrics") || !strcmp(path, "/actions") ||
			      !strcmp(path, "/ringvm"))) ||
		     ((put || patch) && (!strcmp(path, "/machine-config") ||
					 tail(path, "/drives/") || tail(path, "/network-interfaces/"))) ||
		     (patch && !strcmp(path, "/vm")) ||
		     (put && (!strcmp(path, "/snapshot/create") || !strcmp(path, "/snapshot/load")));
	if (!known) {
		/* Firecracker's words; the path is hostile: printable ASCII only,
		 * at most 128 characters. */
		char p[140];
		size_t i = 0;
		for (const unsigned char *c = (const unsigned char *)path; *c && i < 128; c++)
			p[i++] = (*c < 0x20 || *c >= 0x7f || *c == '"' || *c == '\\') ? '?' : (char)*c;
		p[i] = 0;
		return fault(out, "Invalid request method and/or path: %.8s %s%s.", method, p,
			     path[i] ? "..." : "");
	}

	if (!body || len == 0)
		return fault(out, "%s %s: the request needs a JSON body", method, path);
	json_error_t je;
	json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
	if (!j) {
		char msg[FC_ERR_LEN];
		fc_json_parse_fail(msg, sizeof(msg), &je);
		return fault(out, "%s", msg);
	}

	if (!strcmp(path, "/actions")) {
		actions(fc, j, out);
	} else if (!strcmp(path, "/snapshot/create") || !strcmp(path, "/snapshot/load")) {
		snapshot(fc, path, j, out);
	} else if (!strcmp(path, "/vm")) {
		vm_state(fc, j, out);
	} else if (fc->state != FC_NOT_STARTED && !(patch && (tail(path, "/drives/") ||
							       tail(path, "/network-interfaces/")))) {
		fault(out, "%s", not_after_boot);
	} else if (!strcmp(path, "/boot-source")) {
		preboot(fc, fc_res_boot_source(fc, j, "/boot-source", err, sizeof(err)), err, out);
	} else if (!strcmp(path, "/machine-config")) {
		preboot(fc, fc_res_machine_config(fc, j, put, "/machine-config", err, sizeof(err)), err, out);
	} else if (!strcmp(path, "/vsock")) {
		preboot(fc, fc_res_vsock(fc, j, "/vsock", err, sizeof(err)), err, out);
	} else if (!strcmp(path, "/entropy")) {
		preboot(fc, fc_res_entropy(fc, j, "/entropy", err, sizeof(err)), err, out);
	} else if (!strcmp(path, "/ringvm")) {
		preboot(fc, fc_res_ringvm(fc, j, "/ringvm", err, sizeof(err)), err, out);
	} else if (!strcmp(path, "/logger")) {
		int r = fc_res_logger(fc, j, "/logger", err, sizeof(err));
		if (r == 0 && fc->ops && fc->ops->logger)
			r = fc->ops->logger(fc, err, sizeof(err));
		preboot(fc, r, err, out);
	} else if (!strcmp(path, "/metrics")) {
		int r = fc_res_metrics(fc, j, "/metrics", err, sizeof(err));
		if (r == 0 && fc->ops && fc->ops->metrics)
			r = fc->ops->metrics(fc, err, sizeof(err));
		preboot(fc, r, err, out);
	} else if ((id = tail(path, "/drives/"))) {
		fc_json_ptr(ptr, sizeof(ptr), "/drives", id);
		if (patch && fc->state == FC_NOT_STARTED)
			fault(out, "%s", not_before_boot);
		else if (patch)
			preboot(fc, fc_res_drive_running(fc, j, id, ptr, err, sizeof(err)), err, out);
		else
			preboot(fc, fc_res_drive(fc, j, put, id, ptr, err, sizeof(err)), err, out);
	} else if ((id = tail(path, "/network-interfaces/"))) {
		fc_json_ptr(ptr, sizeof(ptr), "/network-interfaces", id);
		if (patch && fc->state == FC_NOT_STARTED)
			fault(out, "%s", not_before_boot);
		else
			preboot(fc, fc_res_net(fc, j, put, id, ptr, err, sizeof(err)), err, out);
	}
	json_decref(j);
	return 0;
}

void api_handle(struct fc_vmm *fc, const char *method, const char *path, const char *body,
		size_t len, struct api_response *out)
{
	handle(fc, method, path, body, len, out);
	fc_metrics_note(fc, method, path, out->status);
}
