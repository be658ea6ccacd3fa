/* `ringvm ls|pause|resume|stop|snapshot`: the user's VMs, found in the
 * runtime directory (fleet_registry.h), driven through their API sockets
 * (docs/api.md, "Several VMs on one host").
 *
 * Exit status: 0 done; 1 the VM refused or did not answer (its
 * fault_message is printed); 2 bad usage or an unknown NAME. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api_client.h"
#include "cmd_fleet.h"
#include "fleet_registry.h"

#define FLEET_TIMEOUT_MS 10000   /* one API request; a pause waits for every vCPU */

const char fleet_usage[] =
	"Usage: ringvm ls [--json]\n"
	"       ringvm pause NAME\n"
	"       ringvm resume NAME\n"
	"       ringvm stop NAME [--force] [--timeout SECONDS]\n"
	"       ringvm snapshot NAME --out DIR [--diff]\n"
	"\n"
	"The user's VMs: every ringvm started with an API socket (ringvm --api-sock\n"
	"PATH [--id NAME], or firecracker ...) registers itself in the runtime\n"
	"directory ($XDG_RUNTIME_DIR/ringvm, /run/user/UID/ringvm or /tmp/ringvm-UID)\n"
	"under its --id (default vm-PID).  `ringvm run` VMs have no API and are not\n"
	"listed.\n"
	"\n"
	"  ls          name, pid, state, engine, vCPUs, memory, uptime (--json: a JSON array)\n"
	"  pause       PATCH /vm {\"state\": \"Paused\"}\n"
	"  resume      PATCH /vm {\"state\": \"Resumed\"}\n"
	"  stop        PUT /actions SendCtrlAltDel (resuming a paused VM first), wait up to\n"
	"              --timeout (default 10 s) for the guest to stop, then SIGTERM, then\n"
	"              SIGKILL; --force skips the guest and sends SIGTERM at once\n"
	"  snapshot    pause, PUT /snapshot/create into DIR (snapshot, mem), resume;\n"
	"              --diff: a diff snapshot (the pages written since the last one;\n"
	"              the VM needs machine-config track_dirty_pages), merged onto the\n"
	"              last one's mem with ringvm snapshot-rebase (docs/snapshot.md)\n"
	"\n"
	"Exit status: 0 done, 1 the VM refused (its fault_message is printed) or did\n"
	"not answer, 2 bad usage or no VM of that NAME.\n";

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "ringvm: error: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	return 2;
}

/* A process that is gone or a zombie (its parent has not reaped it yet). */
static bool pid_gone(pid_t pid)
{
	if (kill(pid, 0) < 0 && errno == ESRCH)
		return true;
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return true;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	const char *rp = strrchr(buf, ')');
	return rp && rp[1] == ' ' && (rp[2] == 'Z' || rp[2] == 'X');
}

static int find(const char *name, struct fleet_entry *e)
{
	if (fleet_lookup(name, e) < 0 || pid_gone(e->pid)) {
		fprintf(stderr, "ringvm: error: %s: no such VM (ringvm ls lists them)\n", name);
		return -1;
	}
	return 0;
}

/* One API call; prints the refusal.  Returns the HTTP status, or -1. */
static int call(const struct fleet_entry *e, const char *method, const char *path,
		const char *body, json_t **answer)
{
	struct api_answer a;
	char err[512];
	if (answer)
		*answer = NULL;
	if (api_call(e->api_sock, method, path, body, FLEET_TIMEOUT_MS, &a, err, sizeof(err)) < 0) {
		fprintf(stderr, "ringvm: error: %s: %s\n", e->name, err);
		return -1;
	}
	if (a.status >= 300) {
		char *m = api_fault_message(a.body);
		fprintf(stderr, "ringvm: error: %s: %s %s: %d %s\n", e->name, method, path, a.status, m);
		free(m);
	} else if (answer) {
		*answer = json_loads(a.body, 0, NULL);
	}
	free(a.body);
	return a.status;
}

static json_t *or_null(json_t *j)
{
	return j ? j : json_null();
}

static json_t *describe(const struct fleet_entry *e)
{
	json_t *root = NULL, *cfg = NULL, *rv = NULL;
	struct api_answer a;
	char err[256];
	const char *state = "unreachable";
	if (api_call(e->api_sock, "GET", "/", NULL, 2000, &a, err, sizeof(err)) == 0) {
		root = a.status == 200 ? json_loads(a.body, 0, NULL) : NULL;
		free(a.body);
		if (json_is_string(json_object_get(root, "state")))
			state = json_string_value(json_object_get(root, "state"));
		if (api_call(e->api_sock, "GET", "/vm/config", NULL, 2000, &a, err, sizeof(err)) == 0) {
			cfg = a.status == 200 ? json_loads(a.body, 0, NULL) : NULL;
			free(a.body);
		}
		if (api_call(e->api_sock, "GET", "/ringvm", NULL, 2000, &a, err, sizeof(err)) == 0) {
			rv = a.status == 200 ? json_loads(a.body, 0, NULL) : NULL;
			free(a.body);
		}
	}
	json_t *mc = json_object_get(cfg, "machine-config");
	const char *engine = json_string_value(json_object_get(rv, "engine_running"));
	if (!engine || !*engine)
		engine = json_string_value(json_object_get(json_object_get(cfg, "ringvm"), "engine"));
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	long long up = ((long long)now.tv_sec * 1000 + now.tv_nsec / 1000000 - e->started_ms) / 1000;
	json_t *o = json_pack("{s:s, s:i, s:s, s:s, s:s, s:O, s:O, s:I}", "name", e->name,
			      "pid", (int)e->pid, "api_sock", e->api_sock, "state", state,
			      "engine", engine ? engine : "-",
			      "vcpus", or_null(json_object_get(mc, "vcpu_count")),
			      "mem_size_mib", or_null(json_object_get(mc, "mem_size_mib")),
			      "uptime_s", (json_int_t)(up < 0 ? 0 : up));
	json_decref(root);
	json_decref(cfg);
	json_decref(rv);
	return o;
}

static int cmd_ls(int argc, char **argv)
{
	bool as_json = false;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			as_json = true;
		else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			fputs(fleet_usage, stdout);
			return 0;
		} else
			return usage_error("ls: %s: unknown option (ringvm ls [--json])", argv[i]);
	}
	struct fleet_entry *v;
	char err[512];
	int nr = fleet_list(&v, err, sizeof(err));
	if (nr < 0) {
		fprintf(stderr, "ringvm: error: %s\n", err);
		return 1;
	}
	json_t *all = json_array();
	for (int i = 0; i < nr; i++)
		if (!pid_gone(v[i].pid))
			json_array_append_new(all, describe(&v[i]));
	free(v);
	if (as_json) {
		char *s = json_dumps(all, JSON_INDENT(2));
		puts(s ? s : "[]");
		free(s);
	} else {
		printf("%-20s %8s %-12s %-6s %5s %9s %10s\n", "NAME", "PID", "STATE", "ENGINE",
		       "VCPUS", "MEMORY", "UPTIME");
		size_t i;
		json_t *o;
		json_array_foreach(all, i, o) {
			long long up = json_integer_value(json_object_get(o, "uptime_s"));
			char mem[32], upt[32];
			json_t *m = json_object_get(o, "mem_size_mib");
			snprintf(mem, sizeof(mem), json_is_integer(m) ? "%lld MiB" : "-",
				 (long long)json_integer_value(m));
			snprintf(upt, sizeof(upt), "%lldh%02lldm%02llds", up / 3600, up / 60 % 60, up % 60);
			printf("%-20s %8lld %-12s %-6s %5lld %9s %10s\n",
			       json_string_value(json_object_get(o, "name")),
			       (long long)json_integer_value(json_object_get(o, "pid")),
			       json_string_value(json_object_get(o, "state")),
			       json_string_value(json_object_get(o, "engine")),
			       (long long)json_integer_value(json_object_get(o, "vcpus")), mem, upt);
		}
	}
	json_decref(all);
	return 0;
}

static int set_state(const struct fleet_entry *e, const char *state)
{
	char body[64];
	snprintf(body, sizeof(body), "{\"state\": \"%s\"}", state);
	return call(e, "PATCH", "/vm", body, NULL) == 204 ? 0 : 1;
}

static bool wait_gone(pid_t pid, long long ms)
{
	for (long long t = 0; t < ms; t += 50) {
		if (pid_gone(pid))
			return true;
		struct timespec d = { 0, 50 * 1000000L };
		nanosleep(&d, NULL);
	}
	return pid_gone(pid);
}

static int cmd_stop(const struct fleet_entry *e, bool force, long long timeout_ms)
{
	if (!force) {
		/* A paused guest cannot see the keys: let it run first. */
		json_t *root = NULL;
		if (call(e, "GET", "/", NULL, &root) == 200) {
			const char *state = json_string_value(json_object_get(root, "state"));
			if (state && !strcmp(state, "Paused"))
				set_state(e, "Resumed");
		}
		json_decref(root);
		int st = call(e, "PUT", "/actions", "{\"action_type\": \"SendCtrlAltDel\"}", NULL);
		if (st == 204 && wait_gone(e->pid, timeout_ms)) {
			printf("%s: stopped by the guest\n", e->name);
			return 0;
		}
		fprintf(stderr, "ringvm: %s: %s; sending SIGTERM\n", e->name,
			st == 204 ? "the guest did not stop in time" : "the guest was not asked");
	}
	if (kill(e->pid, SIGTERM) < 0 && errno != ESRCH) {
		fprintf(stderr, "ringvm: error: %s: kill: %s\n", e->name, strerror(errno));
		return 1;
	}
	if (!wait_gone(e->pid, 5000)) {
		fprintf(stderr, "ringvm: %s: still running 5 s after SIGTERM; sending SIGKILL\n", e->name);
		kill(e->pid, SIGKILL);
		if (!wait_gone(e->pid, 5000)) {
			fprintf(stderr, "ringvm: error: %s: pid %d does not end\n", e->name, (int)e->pid);
			return 1;
		}
		/* Killed: it could not remove its entry. */
		fleet_lookup(e->name, &(struct fleet_entry){ 0 });
	}
	printf("%s: stopped\n", e->name);
	return 0;
}

static int cmd_snapshot(const struct fleet_entry *e, const char *out, bool diff)
{
	char dir[PATH_MAX], body[2 * PATH_MAX + 128];
	if (mkdir(out, 0700) < 0 && errno != EEXIST)
		return usage_error("snapshot: --out %s: cannot create the directory", out);
	if (!realpath(out, dir))
		return usage_error("snapshot: --out %s: not a directory", out);
	json_t *root = NULL;
	if (call(e, "GET", "/", NULL, &root) != 200)
		return 1;
	const char *state = json_string_value(json_object_get(root, "state"));
	bool was_running = state && !strcmp(state, "Running");
	json_decref(root);
	if (was_running && set_state(e, "Paused"))
		return 1;
	json_t *req = json_pack("{s:s, s:s+, s:s+}", "snapshot_type", diff ? "Diff" : "Full",
				"snapshot_path", dir, "/snapshot", "mem_file_path", dir, "/mem");
	char *s = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	snprintf(body, sizeof(body), "%s", s ? s : "{}");
	free(s);
	int st = call(e, "PUT", "/snapshot/create", body, NULL);
	int r = st == 204 ? 0 : 1;
	if (was_running && set_state(e, "Resumed"))
		r = 1;
	if (r == 0)
		printf("%s: %ssnapshot in %s (snapshot, mem)\n", e->name, diff ? "diff " : "", dir);
	return r;
}

int cmd_fleet(int argc, char **argv)
{
	const char *cmd = argv[0];
	if (!strcmp(cmd, "ls"))
		return cmd_ls(argc, argv);

	static const struct option opts[] = {
		{ "force", no_argument, NULL, 'f' },
		{ "timeout", required_argument, NULL, 't' },
		{ "out", required_argument, NULL, 'o' },
		{ "diff", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool force = false, diff = false;
	long long timeout_ms = 10000;
	const char *out = NULL;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'f': force = true; break;
		case 't': {
			char *end;
			long long s = strtoll(optarg, &end, 10);
			if (*end || end == optarg || s < 0 || s > 3600)
				return usage_error("--timeout %s: expected seconds from 0 to 3600", optarg);
			timeout_ms = s * 1000;
			break;
		}
		case 'o': out = optarg; break;
		case 'd': diff = true; break;
		case 'h':
			fputs(fleet_usage, stdout);
			return 0;
		case ':':
			return usage_error("%s: needs a value", argv[optind - 1]);
		default:
			return usage_error("%s: unknown option (ringvm ls --help)", argv[optind - 1]);
		}
	}
	bool is_stop = !strcmp(cmd, "stop"), is_snap = !strcmp(cmd, "snapshot");
	if ((force || timeout_ms != 10000) && !is_stop)
		return usage_error("%s: --force and --timeout are options of stop", cmd);
	if ((out || diff) && !is_snap)
		return usage_error("%s: --out and --diff are options of snapshot", cmd);
	if (is_snap && !out)
		return usage_error("%s: needs --out DIR", cmd);
	if (optind + 1 != argc)
		return usage_error("%s: expected one VM NAME (ringvm ls lists them)", cmd);
	struct fleet_entry e;
	if (find(argv[optind], &e) < 0)
		return 2;
	if (!strcmp(cmd, "pause"))
		return set_state(&e, "Paused");
	if (!strcmp(cmd, "resume"))
		return set_state(&e, "Resumed");
	if (is_stop)
		return cmd_stop(&e, force, timeout_ms);
	return cmd_snapshot(&e, out, diff);
}

bool fleet_is_command(const char *cmd)
{
	return !strcmp(cmd, "ls") || !strcmp(cmd, "pause") || !strcmp(cmd, "resume") ||
	       !strcmp(cmd, "stop") || !strcmp(cmd, "snapshot");
}
