/* "ringvm" in the config file and PUT /ringvm: ringvm's own settings, kept
 * out of Firecracker's resources so a Firecracker config stays valid:
 *   engine             "auto" (default), "kvm" or "soft"
 *   soft_tier          the soft engine's tier: "jit" (default) or "interp"
 *   testdev            the test-guest device (guests/, docs/test-guests.md)
 *   cpu_weight         1..10000: the VM's cgroup cpu.weight (docs/api.md,
 *                      "CPU weight"); absent or null: unchanged
 *   cpu_weight_strict  refuse to start where the weight cannot be set
 *   console            "serial" (default) or "virtio": the serial back end
 *                      on virtio-console, the guest's hvc0 (--console)
 *   user_net           null, or {"hostfwd": ["tcp:127.0.0.1:8080-:80", ...]}:
 *                      one more interface on libslirp's user network (--net
 *                      user; Firecracker's network-interfaces are TAP only)
 * GET /ringvm answers these and "engine_running", the engine chosen at
 * InstanceStart ("" before). */
#include <string.h>

#include "fc.h"
#include "ringvm/net.h"

int fc_res_ringvm(struct fc_vmm *fc, json_t *obj, const char *ptr, char *err, size_t n)
{
	static const char *const fields[] = { "engine", "soft_tier", "testdev", "cpu_weight",
					      "cpu_weight_strict", "console", "user_net", NULL };
	char engine[sizeof(fc->engine)], tier[8];
	bool has, has_tier, has_weight;

	if (fc_json_object(obj, ptr, err, n) < 0 || fc_json_known(obj, ptr, fields, err, n) < 0)
		return -1;
	if (json_is_string(json_object_get(obj, "engine")) &&
	    json_string_length(json_object_get(obj, "engine")) >= sizeof(engine))
		return fc_json_fail(err, n, "%s/engine: expected \"auto\", \"kvm\" or \"soft\"", ptr);
	if (fc_json_str(obj, ptr, "engine", false, engine, sizeof(engine), &has, err, n) < 0)
		return -1;
	if (json_is_string(json_object_get(obj, "soft_tier")) &&
	    json_string_length(json_object_get(obj, "soft_tier")) >= sizeof(tier))
		return fc_json_fail(err, n, "%s/soft_tier: expected \"jit\" or \"interp\"", ptr);
	if (fc_json_str(obj, ptr, "soft_tier", false, tier, sizeof(tier), &has_tier, err, n) < 0)
		return -1;
	if (has_tier && strcmp(tier, "jit") && strcmp(tier, "interp"))
		return fc_json_fail(err, n, "%s/soft_tier: expected \"jit\" or \"interp\"", ptr);
	bool testdev = fc->testdev, strict = fc->cpu_weight_strict;
	uint64_t weight = 0;
	if (fc_json_bool(obj, ptr, "testdev", false, &testdev, NULL, err, n) < 0 ||
	    fc_json_uint(obj, ptr, "cpu_weight", false, 1, 10000, &weight, &has_weight, err, n) < 0 ||
	    fc_json_bool(obj, ptr, "cpu_weight_strict", false, &strict, NULL, err, n) < 0)
		return -1;
	if (has && strcmp(engine, "auto") && strcmp(engine, "kvm") && strcmp(engine, "soft"))
		return fc_json_fail(err, n, "%s/engine: expected \"auto\", \"kvm\" or \"soft\"", ptr);
	json_t *con = json_object_get(obj, "console");
	bool console_virtio = fc->console_virtio;
	if (con && !json_is_null(con)) {
		const char *c = json_string_value(con);
		if (!c || (strcmp(c, "serial") && strcmp(c, "virtio")))
			return fc_json_fail(err, n, "%s/console: expected \"serial\" or \"virtio\"", ptr);
		console_virtio = !strcmp(c, "virtio");
	}
	/* user_net: checked whole before anything changes. */
	json_t *un = json_object_get(obj, "user_net");
	static const char *const un_fields[] = { "hostfwd", NULL };
	char unptr[64];
	snprintf(unptr, sizeof(unptr), "%s/user_net", ptr);
	json_t *fwd = un && !json_is_null(un) ? json_object_get(un, "hostfwd") : NULL;
	if (un && !json_is_null(un)) {
		if (fc_json_object(un, unptr, err, n) < 0 || fc_json_known(un, unptr, un_fields, err, n) < 0)
			return -1;
		if (fwd && !json_is_null(fwd) &&
		    (!json_is_array(fwd) || json_array_size(fwd) > VM_MAX_HOSTFWD))
			return fc_json_fail(err, n, "%s/hostfwd: expected an array of at most %d rules",
					    unptr, VM_MAX_HOSTFWD);
		size_t i;
		json_t *rule;
		json_array_foreach(fwd, i, rule) {
			const char *t = json_string_value(rule);
			struct net_hostfwd f;
			char why[128];
			if (!t || strlen(t) >= sizeof(fc->user_hostfwd[0]))
				return fc_json_fail(err, n, "%s/hostfwd/%zu: expected a rule like "
						    "\"tcp:127.0.0.1:8080-:80\"", unptr, i);
			if (net_hostfwd_parse(t, &f, why, sizeof(why)) < 0)
				return fc_json_fail(err, n, "%s/hostfwd/%zu: %s", unptr, i, why);
		}
	}
	if (has)
		memcpy(fc->engine, engine, sizeof(engine));
	fc->console_virtio = console_virtio;
	if (un) {
		fc->user_net = !json_is_null(un);
		fc->nr_user_hostfwd = 0;
		size_t i;
		json_t *rule;
		json_array_foreach(fwd, i, rule)
			snprintf(fc->user_hostfwd[fc->nr_user_hostfwd++], sizeof(fc->user_hostfwd[0]),
				 "%s", json_string_value(rule));
	}
	if (has_tier)
		fc->soft_jit = !strcmp(tier, "jit");
	fc->testdev = testdev;
	if (has_weight)
		fc->cpu_weight = (unsigned)weight;
	fc->cpu_weight_strict = strict;
	return 0;
}

json_t *fc_ringvm_dump(const struct fc_vmm *fc, bool runtime)
{
	json_t *o = json_pack("{s:s, s:s, s:b, s:o, s:b}", "engine", fc->engine,
			      "soft_tier", fc->soft_jit ? "jit" : "interp", "testdev", fc->testdev,
			      "cpu_weight", fc->cpu_weight ? json_integer(fc->cpu_weight) : json_null(),
			      "cpu_weight_strict", fc->cpu_weight_strict);
	json_t *un = json_null();
	if (fc->user_net) {
		json_t *a = json_array();
		for (unsigned i = 0; i < fc->nr_user_hostfwd; i++)
			json_array_append_new(a, json_string(fc->user_hostfwd[i]));
		un = json_pack("{s:o}", "hostfwd", a);
	}
	if (o && runtime)
		json_object_set_new(o, "engine_running", json_string(fc->engine_running));
	if (o) {
		json_object_set_new(o, "console", json_string(fc->console_virtio ? "virtio" : "serial"));
		json_object_set_new(o, "user_net", un);
	} else {
		json_decref(un);
	}
	return o;
}
