/* The Firecracker config parser and API handler (src/api/): what a config
 * becomes in vm_config, the JSON-pointer errors, and the API's status codes,
 * bodies and pre-/post-boot rules, without a VM (ops are recorded). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "src/api/api.h"

static char kernel_path[64], disk_path[64];

static int setup(void **state)
{
	(void)state;
	strcpy(kernel_path, "/tmp/ringvm-test-fcapi-kXXXXXX");
	strcpy(disk_path, "/tmp/ringvm-test-fcapi-dXXXXXX");
	int a = mkstemp(kernel_path), b = mkstemp(disk_path);
	assert_true(a >= 0 && b >= 0);
	close(a);
	close(b);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(kernel_path);
	unlink(disk_path);
	return 0;
}

static int parse(struct fc_vmm *fc, const char *fmt, ...)
{
	char text[4096], err[FC_ERR_LEN];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	fc_vmm_init(fc);
	return fc_config_parse(fc, text, strlen(text), err, sizeof(err));
}

static void expect_error(const char *json, const char *want)
{
	static struct fc_vmm fc;
	char err[FC_ERR_LEN];
	fc_vmm_init(&fc);
	assert_int_equal(fc_config_parse(&fc, json, strlen(json), err, sizeof(err)), -1);
	if (!strstr(err, want))
		fail_msg("error '%s' lacks '%s'", err, want);
	for (const char *c = err; *c; c++) /* one printable line */
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			fail_msg("error '%s' holds control character 0x%02x", err, (unsigned char)*c);
}

static void test_config_builds_vm_config(void **state)
{
	static struct fc_vmm fc;
	struct vm_config base, cfg;
	char err[FC_ERR_LEN];
	(void)state;
	vm_config_defaults(&base);
	assert_int_equal(parse(&fc,
		"{\"boot-source\": {\"kernel_image_path\": \"%s\", \"boot_args\": \"console=ttyS0 pci=off reboot=k\"},"
		" \"machine-config\": {\"vcpu_count\": 3, \"mem_size_mib\": 300, \"huge_pages\": \"2M\"},"
		" \"drives\": [{\"drive_id\": \"data\", \"path_on_host\": \"%s\", \"is_root_device\": false, \"is_read_only\": true},"
		"              {\"drive_id\": \"root\", \"path_on_host\": \"%s\", \"is_root_device\": true}],"
		" \"network-interfaces\": [{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap7\", \"guest_mac\": \"06:00:AC:10:00:02\"}],"
		" \"vsock\": {\"guest_cid\": 5, \"uds_path\": \"/tmp/v.sock\"}, \"entropy\": {},"
		" \"ringvm\": {\"engine\": \"soft\"}}", kernel_path, disk_path, disk_path), 0);
	assert_int_equal(fc_vmm_build(&fc, &base, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.kernel, kernel_path);
	assert_null(cfg.initrd);
	assert_int_equal(cfg.cpus, 3);
	assert_true(cfg.memory == 300ULL * MiB);
	assert_true(cfg.hugepages);
	assert_string_equal(cfg.engine, "soft");
	assert_int_equal(cfg.on_reset, ON_RESET_EXIT);
	/* The root device first (/dev/vda), as Firecracker orders them. */
	assert_int_equal(cfg.nr_drives, 2);
	assert_string_equal(cfg.drives[0].id, "root");
	assert_true(cfg.drives[0].is_root_device);
	assert_string_equal(cfg.drives[1].id, "data");
	assert_true(cfg.drives[1].read_only);
	assert_int_equal(cfg.nr_nets, 1);
	assert_int_equal(cfg.nets[0].kind, VM_NET_TAP);
	assert_string_equal(cfg.nets[0].ifname, "tap7");
	assert_true(cfg.nets[0].has_mac && cfg.nets[0].mac[0] == 0x06 && cfg.nets[0].mac[3] == 0x10);
	assert_true(cfg.vsock.enabled && cfg.vsock.guest_cid == 5);
	assert_string_equal(cfg.vsock.uds_path, "/tmp/v.sock");
	assert_true(cfg.rng);
	/* pci=off would hide ringvm's virtio-pci devices; root= is appended. */
	assert_string_equal(cfg.cmdline, "console=ttyS0 reboot=k root=/dev/vda rw");
}

static void test_config_defaults(void **state)
{
	static struct fc_vmm fc;
	struct vm_config base, cfg;
	char err[FC_ERR_LEN];
	(void)state;
	vm_config_defaults(&base);
	assert_int_equal(parse(&fc, "{\"boot-source\": {\"kernel_image_path\": \"%s\", \"initrd_path\": null}}",
			       kernel_path), 0);
	assert_int_equal(fc_vmm_build(&fc, &base, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.cpus, 1);
	assert_true(cfg.memory == 128ULL * MiB);   /* Firecracker's default */
	assert_string_equal(cfg.engine, "auto");
	/* No devices: Firecracker's default command line, pci=off kept. */
	assert_non_null(strstr(cfg.cmdline, "reboot=k panic=1 pci=off"));
	assert_int_equal(cfg.nr_drives, 0);
	assert_false(cfg.rng);

	/* A read-only root with a PARTUUID. */
	assert_int_equal(parse(&fc, "{\"boot-source\": {\"kernel_image_path\": \"%s\", \"boot_args\": \"\"},"
			       " \"drives\": [{\"drive_id\": \"r\", \"path_on_host\": \"%s\", \"is_root_device\": true,"
			       " \"is_read_only\": true, \"partuuid\": \"0eaa91a0-01\"}]}", kernel_path, disk_path), 0);
	assert_int_equal(fc_vmm_build(&fc, &base, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.cmdline, "root=PARTUUID=0eaa91a0-01 ro");

	/* Nothing to boot. */
	assert_int_equal(parse(&fc, "{}"), 0);
	assert_int_equal(fc_vmm_build(&fc, &base, &cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "boot source"));
}

static void test_config_errors(void **state)
{
	(void)state;
	expect_error("{\"machine-config\": {\"vcpu_count\": 65, \"mem_size_mib\": 1}}",
		     "/machine-config/vcpu_count: expected an integer from 1 to 64");
	expect_error("{\"machine-config\": {\"vcpu_count\": true, \"mem_size_mib\": 1}}",
		     "/machine-config/vcpu_count: expected an integer");
	expect_error("{\"machine-config\": {\"vcpu_count\": 1}}", "/machine-config/mem_size_mib: missing");
	expect_error("{\"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 1, \"x~y/z\": 0}}",
		     "/machine-config/x~0y~1z: unknown field");
	expect_error("{\"drives\": [{}]}", "/drives/0/drive_id: missing");
	/* a path quoted in the error, with a newline and a tab (fuzz_fc_config) */
	expect_error("{\"boot-source\": {\"kernel_image_path\": \"/nonexistent\\n\\tx\"}}",
		     "/boot-source/kernel_image_path: cannot read '/nonexistent??x'");
	expect_error("{\"drives\": [{\"drive_id\": \"a\", \"is_root_device\": false}]}",
		     "/drives/0/path_on_host: missing");
	expect_error("{\"network-interfaces\": [{\"iface_id\": \"e\", \"host_dev_name\": \"t\", \"guest_mac\": \"06:00:00:00:00\"}]}",
		     "/network-interfaces/0/guest_mac");
	expect_error("{\"vsock\": {\"guest_cid\": 3}}", "/vsock/uds_path: missing");
	expect_error("{\"boot-source\": {\"kernel_image_path\": \"a\\u0000b\"}}",
		     "/boot-source/kernel_image_path: the string contains a NUL");
	expect_error("{\"logger\": {\"module\": \"vmm\"}}", "/logger/module");
	expect_error("{\"balloon\": {}}", "/balloon: the balloon device is not supported");
	expect_error("{\"\\u0001\": 1}", "/?: unknown field");
	expect_error("{\"a\": 1, \"a\": 2}", "duplicate");
	expect_error("", "invalid JSON");
	expect_error("{\"drives\": []", "invalid JSON");
	/* jansson quotes the input near the error: a raw newline there
	 * (fuzz_fc_config found it) is replaced, the error stays one line */
	expect_error("{\"\\\\\\\nen\": 1}", "invalid JSON at line 2");
}

/* PATCH changes only what it names; a refused request changes nothing. */
static void test_machine_config_patch(void **state)
{
	static struct fc_vmm fc;
	char err[FC_ERR_LEN];
	(void)state;
	assert_int_equal(parse(&fc, "{\"machine-config\": {\"vcpu_count\": 2, \"mem_size_mib\": 256, \"track_dirty_pages\": true}}"), 0);
	json_t *j = json_loads("{\"mem_size_mib\": 512}", 0, NULL);
	assert_int_equal(fc_res_machine_config(&fc, j, false, "/machine-config", err, sizeof(err)), 0);
	json_decref(j);
	assert_int_equal(fc.vcpu_count, 2);
	assert_int_equal(fc.mem_size_mib, 512);
	assert_true(fc.track_dirty_pages);
	j = json_loads("{\"vcpu_count\": 4, \"huge_pages\": \"4M\"}", 0, NULL);
	assert_int_equal(fc_res_machine_config(&fc, j, false, "/machine-config", err, sizeof(err)), -1);
	json_decref(j);
	assert_int_equal(fc.vcpu_count, 2);
	/* PUT resets the optional fields. */
	j = json_loads("{\"vcpu_count\": 1, \"mem_size_mib\": 64}", 0, NULL);
	assert_int_equal(fc_res_machine_config(&fc, j, true, "/machine-config", err, sizeof(err)), 0);
	json_decref(j);
	assert_false(fc.track_dirty_pages);
}

/* The API: ops recorded instead of a VM. */
static int calls_start, calls_pause, calls_resume;

static int rec_start(struct fc_vmm *fc, char *err, size_t n)
{
	calls_start++;
	struct vm_config base, cfg;
	vm_config_defaults(&base);
	if (fc_vmm_build(fc, &base, &cfg, err, n) < 0)
		return -1;
	fc->state = FC_RUNNING;
	return 0;
}
static int rec_pause(struct fc_vmm *fc, char *err, size_t n)
{
	(void)fc; (void)err; (void)n;
	calls_pause++;
	return 0;
}
static int rec_resume(struct fc_vmm *fc, char *err, size_t n)
{
	(void)fc; (void)err; (void)n;
	calls_resume++;
	return 0;
}
static const struct fc_vmm_ops rec_ops = { .start = rec_start, .pause = rec_pause,
					    .resume = rec_resume };

static void call(struct fc_vmm *fc, const char *method, const char *path, const char *body,
		 int status, const char *body_has)
{
	struct api_response r;
	api_handle(fc, method, path, body, body ? strlen(body) : 0, &r);
	if (r.status != status || (body_has && (!r.body || !strstr(r.body, body_has))) ||
	    (status == 204 && r.body))
		fail_msg("%s %s: %d %s (expected %d with '%s')", method, path, r.status,
			 r.body ? r.body : "(no body)", status, body_has ? body_has : "");
	free(r.body);
}

static void test_api_lifecycle(void **state)
{
	static struct fc_vmm fc;
	char body[256];
	(void)state;
	fc_vmm_init(&fc);
	fc.ops = &rec_ops;
	calls_start = calls_pause = calls_resume = 0;
	call(&fc, "GET", "/", NULL, 200, "\"state\":\"Not started\"");
	call(&fc, "PUT", "/actions", "{\"action_type\": \"InstanceStart\"}", 400, "boot source");
	call(&fc, "PATCH", "/vm", "{\"state\": \"Paused\"}", 400, "before starting the microVM");
	snprintf(body, sizeof(body), "{\"kernel_image_path\": \"%s\"}", kernel_path);
	call(&fc, "PUT", "/boot-source", body, 204, NULL);
	call(&fc, "PUT", "/machine-config", "{\"vcpu_count\": 2, \"mem_size_mib\": 64}", 204, NULL);
	call(&fc, "GET", "/machine-config", NULL, 200, "\"vcpu_count\":2");
	snprintf(body, sizeof(body), "{\"drive_id\": \"rootfs\", \"path_on_host\": \"%s\", \"is_root_device\": true}", disk_path);
	call(&fc, "PUT", "/drives/rootfs", body, 204, NULL);
	call(&fc, "PATCH", "/drives/rootfs", "{\"drive_id\": \"rootfs\"}", 400, "before starting");
	call(&fc, "PUT", "/actions", "{\"action_type\": \"InstanceStart\"}", 204, NULL);
	assert_int_equal(calls_start, 2);
	call(&fc, "GET", "/", NULL, 200, "\"state\":\"Running\"");
	call(&fc, "PUT", "/actions", "{\"action_type\": \"InstanceStart\"}", 400, "after starting the microVM");
	call(&fc, "PUT", "/boot-source", body, 400, "after starting the microVM");
	call(&fc, "PUT", "/drives/x", body, 400, "after starting the microVM");
	/* Post-boot PATCH of a drive: only the rate limiter (none) is fine. */
	call(&fc, "PATCH", "/drives/rootfs", "{\"drive_id\": \"rootfs\", \"rate_limiter\": null}", 204, NULL);
	call(&fc, "PATCH", "/drives/nope", "{\"drive_id\": \"nope\"}", 400, "no drive 'nope'");
	call(&fc, "PATCH", "/vm", "{\"state\": \"Paused\"}", 204, NULL);
	call(&fc, "GET", "/", NULL, 200, "\"state\":\"Paused\"");
	call(&fc, "PATCH", "/vm", "{\"state\": \"Resumed\"}", 204, NULL);
	call(&fc, "GET", "/", NULL, 200, "\"state\":\"Running\"");
	assert_int_equal(calls_pause, 1);
	assert_int_equal(calls_resume, 1);
	call(&fc, "PUT", "/actions", "{\"action_type\": \"FlushMetrics\"}", 400, "no metrics file");
	call(&fc, "GET", "/vm/config", NULL, 200, "\"drive_id\":\"rootfs\"");
}

static void test_api_errors(void **state)
{
	static struct fc_vmm fc;
	(void)state;
	fc_vmm_init(&fc);
	call(&fc, "GET", "/nope", NULL, 400, "Invalid request method and/or path: GET /nope.");
	call(&fc, "PUT", "/", "{}", 400, "Invalid request method and/or path: PUT /.");
	call(&fc, "GET", "/a\x01\"b", NULL, 400, "GET /a??b.");
	call(&fc, "G\xe9T\xff", "/", NULL, 400, "path: G?T? /.");  /* not UTF-8 */
	call(&fc, "PUT", "/machine-config", NULL, 400, "needs a JSON body");
	call(&fc, "PUT", "/machine-config", "{", 400, "invalid JSON");
	call(&fc, "PUT", "/machine-config", "{\"vcpu_count\": 1, \"mem_size_mib\": 0}", 400,
	     "/machine-config/mem_size_mib: expected an integer from 1 to");
	call(&fc, "PUT", "/drives/a", "{\"drive_id\": \"b\"}", 400, "differs from the drive id in the path");
	call(&fc, "PUT", "/snapshot/create", "{}", 400, "snapshot_path");
	call(&fc, "PUT", "/snapshot/create", "{\"snapshot_path\": \"s\", \"mem_file_path\": \"m\"}",
	     400, "before starting");
	call(&fc, "PUT", "/snapshot/create", "{\"snapshot_type\": \"Diff\", \"snapshot_path\": \"s\", "
	     "\"mem_file_path\": \"m\"}", 400, "before starting");
	call(&fc, "PUT", "/snapshot/create", "{\"snapshot_type\": \"Incremental\", "
	     "\"snapshot_path\": \"s\", \"mem_file_path\": \"m\"}", 400,
	     "/snapshot_type: expected");
	call(&fc, "PUT", "/snapshot/create", "{\"snapshot_path\": \"s\", \"mem_file_path\": \"s\"}",
	     400, "/mem_file_path: the same file");
	call(&fc, "PUT", "/snapshot/load", "{\"snapshot_path\": \"s\"}", 400, "mem_backend");
	call(&fc, "PUT", "/snapshot/load", "{\"snapshot_path\": \"s\", \"mem_backend\": "
	     "{\"backend_type\": \"Uffd\", \"backend_path\": \"u\"}}", 400, "userfaultfd");
	call(&fc, "PUT", "/snapshot/load", "{\"snapshot_path\": \"s\", \"mem_file_path\": \"m\", "
	     "\"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"m\"}}", 400, "not both");
	call(&fc, "PUT", "/snapshot/load", "{\"snapshot_path\": \"s\", \"mem_file_path\": \"m\", "
	     "\"bogus\": 1}", 400, "bogus");
	call(&fc, "PUT", "/actions", "{\"action_type\": \"SendCtrlAltDel\"}", 400, "before starting");
	call(&fc, "PUT", "/actions", "{\"action_type\": 1}", 400, "/action_type: expected a string");
	/* A body that is not NUL-terminated is read only up to its length. */
	struct api_response r;
	api_handle(&fc, "PUT", "/machine-config", "{\"vcpu_count\": 1, \"mem_size_mib\": 64}XXXX", 37, &r);
	assert_int_equal(r.status, 204);
	free(r.body);
}

static json_int_t metric(json_t *line, const char *group, const char *field)
{
	json_t *v = json_object_get(json_object_get(line, group), field);
	if (!json_is_integer(v))
		fail_msg("metrics: %s.%s missing", group, field);
	return json_integer_value(v);
}

/* Firecracker's metric names, counters as increases since the last flush,
 * stored values (latencies) as the last value. */
static void test_metrics(void **state)
{
	static struct fc_vmm fc;
	(void)state;
	fc_vmm_init(&fc);
	call(&fc, "GET", "/", NULL, 200, NULL);
	call(&fc, "GET", "/", NULL, 200, NULL);
	call(&fc, "GET", "/version", NULL, 200, NULL);
	call(&fc, "PUT", "/machine-config", "{\"vcpu_count\": 1, \"mem_size_mib\": 64}", 204, NULL);
	call(&fc, "PUT", "/machine-config", "{\"vcpu_count\": 0, \"mem_size_mib\": 64}", 400, NULL);
	call(&fc, "PATCH", "/machine-config", "{\"vcpu_count\": 2}", 204, NULL);
	call(&fc, "PUT", "/drives/x", "{}", 400, NULL);
	fc.metrics.pause_vm_us = 17;
	fc.metrics.full_create_snapshot_us = 2300;
	fc.metrics.load_snapshot_us = 900;
	json_t *l1 = fc_metrics_line(&fc, NULL);
	assert_true(json_is_integer(json_object_get(l1, "utc_timestamp_ms")));
	assert_int_equal(metric(l1, "get_api_requests", "instance_info_count"), 2);
	assert_int_equal(metric(l1, "get_api_requests", "vmm_version_count"), 1);
	assert_int_equal(metric(l1, "put_api_requests", "machine_cfg_count"), 2);
	assert_int_equal(metric(l1, "put_api_requests", "machine_cfg_fails"), 1);
	assert_int_equal(metric(l1, "put_api_requests", "drive_fails"), 1);
	assert_int_equal(metric(l1, "patch_api_requests", "machine_cfg_count"), 1);
	assert_int_equal(metric(l1, "latencies_us", "pause_vm"), 17);
	assert_int_equal(metric(l1, "latencies_us", "full_create_snapshot"), 2300);
	assert_int_equal(metric(l1, "latencies_us", "diff_create_snapshot"), 0);
	assert_int_equal(metric(l1, "latencies_us", "load_snapshot"), 900);
	assert_int_equal(metric(l1, "seccomp", "num_faults"), 0);
	assert_int_equal(metric(l1, "signals", "sighup"), 0);
	assert_true(json_is_object(json_object_get(l1, "ringvm")));
	json_decref(l1);
	/* The next flush: only what happened since. */
	call(&fc, "GET", "/", NULL, 200, NULL);
	json_t *l2 = fc_metrics_line(&fc, NULL);
	assert_int_equal(metric(l2, "get_api_requests", "instance_info_count"), 1);
	assert_int_equal(metric(l2, "put_api_requests", "machine_cfg_count"), 0);
	assert_int_equal(metric(l2, "latencies_us", "pause_vm"), 17);
	/* stored values, not increases */
	assert_int_equal(metric(l2, "latencies_us", "full_create_snapshot"), 2300);
	json_decref(l2);
	fc_metrics_free(&fc);
}

/* ringvm's own member: the CPU weight's range, GET /ringvm. */
/* PUT /snapshot/load's track_dirty_pages (or enable_diff_snapshots, its
 * deprecated name) is the loaded VM's machine-config; a refused load
 * changes nothing. */
static void test_snapshot_load_tracking(void **state)
{
	static struct fc_vmm fc;
	(void)state;
	fc_vmm_init(&fc);
	call(&fc, "PUT", "/snapshot/load", "{\"snapshot_path\": \"s\", \"mem_file_path\": \"m\", "
	     "\"enable_diff_snapshots\": 1}", 400, "/enable_diff_snapshots: expected");
	assert_false(fc.track_dirty_pages);
	call(&fc, "PUT", "/snapshot/load", "{\"snapshot_path\": \"s\", \"mem_file_path\": \"m\", "
	     "\"enable_diff_snapshots\": true}", 204, NULL);
	assert_true(fc.track_dirty_pages);
	call(&fc, "GET", "/machine-config", NULL, 200, "\"track_dirty_pages\":true");
	/* Loaded: a second load is refused and leaves the setting. */
	call(&fc, "PUT", "/snapshot/load", "{\"snapshot_path\": \"s\", \"mem_file_path\": \"m\"}",
	     400, "only allowed before");
	assert_true(fc.track_dirty_pages);
}

static void test_ringvm_member(void **state)
{
	static struct fc_vmm fc;
	(void)state;
	fc_vmm_init(&fc);
	call(&fc, "PUT", "/ringvm", "{\"cpu_weight\": 0}", 400, "/ringvm/cpu_weight: expected an integer from 1 to 10000");
	call(&fc, "PUT", "/ringvm", "{\"cpu_weight\": 10001}", 400, "/ringvm/cpu_weight");
	call(&fc, "PUT", "/ringvm", "{\"cpu_weight\": \"x\"}", 400, "/ringvm/cpu_weight");
	call(&fc, "GET", "/ringvm", NULL, 200, "\"cpu_weight\":null");
	call(&fc, "PUT", "/ringvm", "{\"cpu_weight\": 400, \"cpu_weight_strict\": true}", 204, NULL);
	call(&fc, "GET", "/ringvm", NULL, 200, "\"cpu_weight\":400,\"cpu_weight_strict\":true,\"engine_running\":\"\"");
	call(&fc, "GET", "/ringvm", NULL, 200, "\"soft_tier\":\"jit\""); /* the default */
	call(&fc, "PUT", "/ringvm", "{\"soft_tier\": \"interp\"}", 204, NULL);
	call(&fc, "GET", "/ringvm", NULL, 200, "\"soft_tier\":\"interp\"");
	call(&fc, "PUT", "/ringvm", "{\"soft_tier\": \"jit\"}", 204, NULL);
	call(&fc, "GET", "/ringvm", NULL, 200, "\"soft_tier\":\"jit\"");
	call(&fc, "PUT", "/ringvm", "{\"soft_tier\": \"fast\"}", 400, "/soft_tier: expected");
	call(&fc, "GET", "/vm/config", NULL, 200, "\"cpu_weight\":400");
	expect_error("{\"ringvm\": {\"cpu_weight\": -1}}", "/ringvm/cpu_weight");
	struct vm_config base, out;
	char err[FC_ERR_LEN];
	vm_config_defaults(&base);
	assert_int_equal(parse(&fc, "{\"boot-source\": {\"kernel_image_path\": \"%s\"}, "
			       "\"ringvm\": {\"cpu_weight\": 250}}", kernel_path), 0);
	assert_int_equal(fc_vmm_build(&fc, &base, &out, err, sizeof(err)), 0);
	assert_int_equal(out.cpu_weight, 250);
	assert_false(out.cpu_weight_strict);
	assert_int_equal(out.console, VM_CONSOLE_SERIAL);
	assert_int_equal(out.nr_nets, 0);
}

/* ringvm's "console" and "user_net": the virtio console and a libslirp
 * interface for VMs started through the API (docs/api.md). */
static void test_ringvm_console_user_net(void **state)
{
	static struct fc_vmm fc;
	(void)state;
	fc_vmm_init(&fc);
	call(&fc, "PUT", "/ringvm", "{\"console\": \"hvc\"}", 400, "/ringvm/console: expected \\\"serial\\\" or \\\"virtio\\\"");
	call(&fc, "PUT", "/ringvm", "{\"user_net\": 1}", 400, "/ringvm/user_net");
	call(&fc, "PUT", "/ringvm", "{\"user_net\": {\"hostfwd\": \"x\"}}", 400, "/ringvm/user_net/hostfwd: expected an array");
	call(&fc, "PUT", "/ringvm", "{\"user_net\": {\"hostfwd\": [\"tcp:1.2.3.4:80\"]}}", 400, "/ringvm/user_net/hostfwd/0: ");
	call(&fc, "PUT", "/ringvm", "{\"user_net\": {\"mac\": 1}}", 400, "/ringvm/user_net/mac: unknown field");
	call(&fc, "GET", "/ringvm", NULL, 200, "\"console\":\"serial\",\"user_net\":null");
	call(&fc, "PUT", "/ringvm", "{\"console\": \"virtio\", \"user_net\": {\"hostfwd\": "
	     "[\"tcp:127.0.0.1:8080-:80\"]}}", 204, NULL);
	call(&fc, "GET", "/vm/config", NULL, 200, "\"console\":\"virtio\",\"user_net\":{\"hostfwd\":[\"tcp:127.0.0.1:8080-:80\"]}");
	struct vm_config base, out;
	char err[FC_ERR_LEN];
	vm_config_defaults(&base);
	assert_int_equal(parse(&fc, "{\"boot-source\": {\"kernel_image_path\": \"%s\", "
			       "\"boot_args\": \"console=hvc0 pci=off\"}, \"ringvm\": {\"console\": "
			       "\"virtio\", \"user_net\": {}}}", kernel_path), 0);
	assert_int_equal(fc_vmm_build(&fc, &base, &out, err, sizeof(err)), 0);
	assert_int_equal(out.console, VM_CONSOLE_VIRTIO);
	assert_int_equal(out.nr_nets, 1);
	assert_int_equal(out.nets[0].kind, VM_NET_USER);
	assert_int_equal(out.nets[0].nr_hostfwd, 0);
	assert_null(strstr(out.cmdline, "pci=off"));   /* the devices sit on PCI */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_builds_vm_config),
		cmocka_unit_test(test_config_defaults),
		cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_machine_config_patch),
		cmocka_unit_test(test_api_lifecycle),
		cmocka_unit_test(test_api_errors),
		cmocka_unit_test(test_metrics),
		cmocka_unit_test(test_ringvm_member),
		cmocka_unit_test(test_snapshot_load_tracking),
		cmocka_unit_test(test_ringvm_console_user_net),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
