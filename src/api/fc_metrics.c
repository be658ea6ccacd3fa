/* Metrics as Firecracker writes them (its src/vmm/src/logger/metrics.rs and
 * docs/metrics.md): one line of JSON per flush, {"utc_timestamp_ms": ...,
 * GROUP: {FIELD: N, ...}, ...}, on PUT /actions FlushMetrics and every 60 s.
 *
 * Firecracker's groups and field names are used where ringvm has the
 * concept, with Firecracker's semantics: counters ("SharedIncMetric") are
 * the increase since the previous flush, stored values ("SharedStoreMetric":
 * latencies_us, process_startup_time_us) are the last value.  What only
 * ringvm has goes in the "ringvm" group as running totals: the engine, exits
 * per reason, unclaimed accesses, accesses per device window, and the
 * engine's and devices' own --stats lines.  docs/api.md, "Metrics", lists
 * them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fc.h"
#include "ringvm/clock.h"

/* The request counters Firecracker keeps, by method and resource. */
void fc_metrics_note(struct fc_vmm *fc, const char *method, const char *path, int status)
{
	struct fc_metrics *m = &fc->metrics;
	bool ok = status < 300;
	uint64_t *count = NULL, *fails = NULL;
	if (!strcmp(method, "GET")) {
		if (!strcmp(path, "/"))
			count = &m->get_instance_info;
		else if (!strcmp(path, "/machine-config"))
			count = &m->get_machine_cfg;
		else if (!strcmp(path, "/version"))
			count = &m->get_vmm_version;
		if (count)
			(*count)++;
		return;
	}
	bool put = !strcmp(method, "PUT");
	if (!put && strcmp(method, "PATCH"))
		return;
	struct fc_req_metrics *r = put ? &m->put : &m->patch;
	if (!strcmp(path, "/actions") && put) {
		count = &r->actions_count, fails = &r->actions_fails;
	} else if (!strcmp(path, "/boot-source") && put) {
		count = &r->boot_source_count, fails = &r->boot_source_fails;
	} else if (!strncmp(path, "/drives/", 8)) {
		count = &r->drive_count, fails = &r->drive_fails;
	} else if (!strcmp(path, "/logger") && put) {
		count = &r->logger_count, fails = &r->logger_fails;
	} else if (!strcmp(path, "/machine-config")) {
		count = &r->machine_cfg_count, fails = &r->machine_cfg_fails;
	} else if (!strcmp(path, "/metrics") && put) {
		count = &r->metrics_count, fails = &r->metrics_fails;
	} else if (!strncmp(path, "/network-interfaces/", 20)) {
		count = &r->network_count, fails = &r->network_fails;
	} else if (!strcmp(path, "/vsock") && put) {
		count = &r->vsock_count, fails = &r->vsock_fails;
	}
	if (count) {
		(*count)++;
		if (!ok)
			(*fails)++;
	}
}

static json_t *requests(const struct fc_req_metrics *r, bool put)
{
	json_t *o = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}",
			      "drive_count", (json_int_t)r->drive_count,
			      "drive_fails", (json_int_t)r->drive_fails,
			      "machine_cfg_count", (json_int_t)r->machine_cfg_count,
			      "machine_cfg_fails", (json_int_t)r->machine_cfg_fails,
			      "network_count", (json_int_t)r->network_count,
			      "network_fails", (json_int_t)r->network_fails);
	if (o && put) {
		json_t *p = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
				      "actions_count", (json_int_t)r->actions_count,
				      "actions_fails", (json_int_t)r->actions_fails,
				      "boot_source_count", (json_int_t)r->boot_source_count,
				      "boot_source_fails", (json_int_t)r->boot_source_fails,
				      "logger_count", (json_int_t)r->logger_count,
				      "logger_fails", (json_int_t)r->logger_fails,
				      "metrics_count", (json_int_t)r->metrics_count,
				      "metrics_fails", (json_int_t)r->metrics_fails,
				      "vsock_count", (json_int_t)r->vsock_count,
				      "vsock_fails", (json_int_t)r->vsock_fails);
		json_object_update(o, p);
		json_decref(p);
	}
	return o;
}

/* Every integer member of cur (recursively) becomes cur - prev (0 if it
 * went down, e.g. after a machine reset re-created the counters). */
static void delta(json_t *cur, json_t *prev)
{
	const char *k;
	json_t *v;
	json_object_foreach(cur, k, v) {
		json_t *p = json_object_get(prev, k);
		if (json_is_object(v)) {
			delta(v, p);
		} else if (json_is_integer(v) && json_is_integer(p)) {
			json_int_t d = json_integer_value(v) - json_integer_value(p);
			json_integer_set(v, d > 0 ? d : 0);
		}
	}
}

/* A --stats printer's lines, as a JSON array of strings. */
static json_t *lines_of(void (*print)(void *, FILE *), void *arg)
{
	char *buf = NULL;
	size_t len = 0;
	json_t *a = json_array();
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return a;
	print(arg, f);
	fclose(f);
	for (char *s = buf, *nl; s && *s; s = nl ? nl + 1 : NULL) {
		nl = strchr(s, '\n');
		if (nl)
			*nl = 0;
		s += strspn(s, " ");
		if (*s)
			json_array_append_new(a, json_string(s));
	}
	free(buf);
	return a;
}

static void print_engine(void *arg, FILE *f)
{
	struct vm *vm = arg;
	vm->engine->print_stats(vm, f);
}

static void print_device(void *arg, FILE *f)
{
	struct vm_device *d = arg;
	d->ops->print_stats(d->opaque, f);
}

static void add_windows(json_t *o, struct bus *b, const char *kind)
{
	char key[96];
	pthread_rwlock_rdlock(&b->lock);
	for (unsigned i = 0; i < b->nr; i++) {
		struct bus_range *r = b->ranges[i];
		uint64_t n = __atomic_load_n(&r->accesses, __ATOMIC_RELAXED);
		if (!n)
			continue;
		snprintf(key, sizeof(key), "%s:%s@0x%llx", kind, r->name ? r->name : "?",
			 (unsigned long long)r->base);
		json_object_set_new(o, key, json_integer((json_int_t)n));
	}
	pthread_rwlock_unlock(&b->lock);
}

/* The engine's group ("soft_engine"), Firecracker's per-device groups
 * ("block_<id>", "net_<id>", "vsock", "entropy") and the sums Firecracker
 * also writes ("block", "net"), as running totals; fc_metrics_line turns
 * them into increases. */
static void add_device_groups(json_t *line, struct vm *vm)
{
	if (vm->engine && vm->engine->metrics) {
		struct vm_metrics m;
		memset(&m, 0, sizeof(m));
		vm->engine->metrics(vm, &m);
		if (m.n && m.group[0]) {
			json_t *g = json_object();
			for (unsigned k = 0; k < m.n; k++)
				json_object_set_new(g, m.v[k].name, json_integer((json_int_t)m.v[k].value));
			json_object_set_new(line, m.group, g);
		}
	}
	for (unsigned i = 0; i < vm->nr_devices; i++) {
		const struct vm_device *d = &vm->devices[i];
		if (!d->ops || !d->ops->metrics)
			continue;
		struct vm_metrics m;
		memset(&m, 0, sizeof(m));
		d->ops->metrics(d->opaque, &m);
		if (!m.n || !m.group[0] || json_object_get(line, m.group))
			continue;
		json_t *g = json_object(), *sum = NULL;
		if (m.aggregate) {
			sum = json_object_get(line, m.aggregate);
			if (!sum) {
				sum = json_object();
				json_object_set_new(line, m.aggregate, sum);
			}
		}
		for (unsigned k = 0; k < m.n; k++) {
			json_object_set_new(g, m.v[k].name, json_integer((json_int_t)m.v[k].value));
			if (sum) {
				json_t *t = json_object_get(sum, m.v[k].name);
				json_int_t prev = t ? json_integer_value(t) : 0;
				json_object_set_new(sum, m.v[k].name,
						    json_integer(prev + (json_int_t)m.v[k].value));
			}
		}
		json_object_set_new(line, m.group, g);
	}
}

/* The vCPU counters (summed, read without stopping the vCPUs: a snapshot
 * that may be a few exits off) and ringvm's own group. */
static void add_vm(json_t *line, json_t *ringvm, struct vm *vm)
{
	struct vcpu_stats sum = { 0 };
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		const struct vcpu_stats *s = &vm->vcpus[i].stats;
		for (unsigned k = 0; k < VCPU_EXIT_COUNT; k++) {
			sum.count[k] += __atomic_load_n(&s->count[k], __ATOMIC_RELAXED);
			sum.ns[k] += __atomic_load_n(&s->ns[k], __ATOMIC_RELAXED);
		}
		sum.pio_writes += __atomic_load_n(&s->pio_writes, __ATOMIC_RELAXED);
		sum.mmio_writes += __atomic_load_n(&s->mmio_writes, __ATOMIC_RELAXED);
		sum.pio_unhandled += __atomic_load_n(&s->pio_unhandled, __ATOMIC_RELAXED);
		sum.mmio_unclaimed_reads += __atomic_load_n(&s->mmio_unclaimed_reads, __ATOMIC_RELAXED);
		sum.mmio_unclaimed_writes += __atomic_load_n(&s->mmio_unclaimed_writes, __ATOMIC_RELAXED);
	}
	uint64_t pio = sum.count[VCPU_EXIT_PIO], mmio = sum.count[VCPU_EXIT_MMIO];
	json_object_set_new(line, "vcpu", json_pack("{s:I, s:I, s:I, s:I, s:I}",
		"exit_io_in", (json_int_t)(pio - (sum.pio_writes < pio ? sum.pio_writes : pio)),
		"exit_io_out", (json_int_t)sum.pio_writes,
		"exit_mmio_read", (json_int_t)(mmio - (sum.mmio_writes < mmio ? sum.mmio_writes : mmio)),
		"exit_mmio_write", (json_int_t)sum.mmio_writes,
		"failures", (json_int_t)(sum.count[VCPU_EXIT_SHUTDOWN] + sum.count[VCPU_EXIT_INTERNAL])));

	json_t *exits = json_object(), *exit_us = json_object();
	for (unsigned k = 1; k < VCPU_EXIT_COUNT; k++) {
		json_object_set_new(exits, vcpu_exit_name((enum vcpu_exit_reason)k),
				    json_integer((json_int_t)sum.count[k]));
		json_object_set_new(exit_us, vcpu_exit_name((enum vcpu_exit_reason)k),
				    json_integer((json_int_t)(sum.ns[k] / 1000)));
	}
	json_t *windows = json_object();
	add_windows(windows, &vm->pio, "pio");
	add_windows(windows, &vm->mmio, "mmio");
	json_t *devs = json_array();
	for (unsigned i = 0; i < vm->nr_devices; i++)
		if (vm->devices[i].ops && vm->devices[i].ops->print_stats) {
			json_t *l = lines_of(print_device, &vm->devices[i]);
			json_array_extend(devs, l);
			json_decref(l);
		}
	json_object_set_new(ringvm, "engine", json_string(vm->engine ? vm->engine->name : "none"));
	json_object_set_new(ringvm, "vcpus", json_integer(vm->nr_vcpus));
	json_object_set_new(ringvm, "uptime_ms", json_integer(
		vm->start_ns ? (json_int_t)((clock_monotonic_ns() - vm->start_ns) / 1000000) : 0));
	json_object_set_new(ringvm, "resets", json_integer(vm->reset_count));
	json_object_set_new(ringvm, "exits", exits);
	json_object_set_new(ringvm, "exit_handling_us", exit_us);
	json_object_set_new(ringvm, "pio_unclaimed", json_integer((json_int_t)sum.pio_unhandled));
	json_object_set_new(ringvm, "mmio_unclaimed_reads",
			    json_integer((json_int_t)sum.mmio_unclaimed_reads));
	json_object_set_new(ringvm, "mmio_unclaimed_writes",
			    json_integer((json_int_t)sum.mmio_unclaimed_writes));
	json_object_set_new(ringvm, "device_windows", windows);
	json_object_set_new(ringvm, "device_stats", devs);
	json_object_set_new(ringvm, "engine_stats", vm->engine && vm->engine->print_stats ?
			    lines_of(print_engine, vm) : json_array());
}

json_t *fc_metrics_line(struct fc_vmm *fc, struct vm *vm)
{
	struct fc_metrics *m = &fc->metrics;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);

	/* Counters first, as running totals; turned into increases below. */
	json_t *inc = json_object();
	json_object_set_new(inc, "get_api_requests", json_pack("{s:I, s:I, s:I}",
		"instance_info_count", (json_int_t)m->get_instance_info,
		"machine_cfg_count", (json_int_t)m->get_machine_cfg,
		"vmm_version_count", (json_int_t)m->get_vmm_version));
	json_object_set_new(inc, "put_api_requests", requests(&m->put, true));
	json_object_set_new(inc, "patch_api_requests", requests(&m->patch, false));
	json_object_set_new(inc, "logger", json_pack("{s:I, s:I}",
		"missed_metrics_count", (json_int_t)m->missed_metrics_count,
		"metrics_fails", (json_int_t)m->metrics_fails));
	/* Firecracker's "seccomp" and "signals" groups, its layout.  A SIGHUP
	 * stops the VM through the event loop's signalfd (src/vmm/vm.c), and
	 * the last line written as it ends carries it.  The fatal ones (a
	 * forbidden system call: status 159, docs/sandbox.md; SIGBUS, SIGSEGV,
	 * SIGILL, SIGXFSZ, SIGXCPU: the default action) end the process after
	 * a last line of their own with the signal's counter at 1
	 * (fc_metrics_fatal.c); SIGPIPE is ignored.  In these lines they are
	 * 0. */
	json_object_set_new(inc, "seccomp", json_pack("{s:I}", "num_faults", (json_int_t)0));
	json_object_set_new(inc, "signals", json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
		"sigbus", (json_int_t)0, "sigsegv", (json_int_t)0, "sigxfsz", (json_int_t)0,
		"sigxcpu", (json_int_t)0, "sigpipe", (json_int_t)0,
		"sighup", (json_int_t)(vm ? vm->sighup_count : 0), "sigill", (json_int_t)0));
	json_t *ringvm = json_object();
	if (vm) {
		add_vm(inc, ringvm, vm);
		add_device_groups(inc, vm);
	}
	json_t *totals = json_deep_copy(inc);
	if (m->prev)
		delta(inc, m->prev);
	json_decref(m->prev);
	m->prev = totals;

	json_t *line = json_pack("{s:I}", "utc_timestamp_ms",
				 (json_int_t)now.tv_sec * 1000 + now.tv_nsec / 1000000);
	json_object_set_new(line, "api_server", json_pack("{s:I}", "process_startup_time_us",
		(json_int_t)m->startup_us));
	json_object_update(line, inc);
	json_decref(inc);
	json_object_set_new(line, "latencies_us", json_pack("{s:I, s:I, s:I, s:I, s:I}",
		"full_create_snapshot", (json_int_t)m->full_create_snapshot_us,
		"diff_create_snapshot", (json_int_t)m->diff_create_snapshot_us,
		"load_snapshot", (json_int_t)m->load_snapshot_us,
		"pause_vm", (json_int_t)m->pause_vm_us, "resume_vm", (json_int_t)m->resume_vm_us));
	json_object_set_new(line, "ringvm", ringvm);
	return line;
}

void fc_metrics_free(struct fc_vmm *fc)
{
	json_decref(fc->metrics.prev);
	fc->metrics.prev = NULL;
}

int fc_metrics_write(struct fc_vmm *fc, int fd, struct vm *vm, char *err, size_t n)
{
	/* A line that is not written leaves the previous counters in place,
	 * so the next line carries its increases: none are lost. */
	json_t *keep = json_incref(fc->metrics.prev);
	json_t *line = fc_metrics_line(fc, vm);
	char *text = line ? json_dumps(line, JSON_COMPACT) : NULL;
	json_decref(line);
	if (!text) {
		json_decref(keep);
		fc->metrics.metrics_fails++;
		return fc_json_fail(err, n, "FlushMetrics: out of memory");
	}
	size_t len = strlen(text);
	char *buf = realloc(text, len + 2);
	if (!buf) {
		free(text);
		json_decref(keep);
		fc->metrics.metrics_fails++;
		return fc_json_fail(err, n, "FlushMetrics: out of memory");
	}
	buf[len] = '\n';
	/* One non-blocking write (the file is O_NONBLOCK), so a reader of a
	 * named pipe gets whole lines and a full pipe drops the line (counted
	 * as logger.missed_metrics_count) instead of stalling ringvm. */
	ssize_t w = write(fd, buf, len + 1);
	free(buf);
	if (w != (ssize_t)len + 1) {
		json_decref(fc->metrics.prev);
		fc->metrics.prev = keep;
		fc->metrics.missed_metrics_count++;
		return fc_json_fail(err, n, "FlushMetrics: cannot write to '%s'%s", fc->metrics_path,
				    w >= 0 ? " (partial line)" : "");
	}
	json_decref(keep);
	return 0;
}
