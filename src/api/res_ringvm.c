/* "ringvm" in the config file and PUT /ringvm: ringvm's own settings, kept
 * out of Firecracker's resources so a Firecracker config stays valid:
 *   engine             "auto" (default), "kvm" or "soft"
 *   testdev            the test-guest device (guests/, docs/test-guests.md)
 *   cpu_weight         1..10000: the VM's cgroup cpu.weight (docs/api.md,
 *                      "CPU weight"); absent or null: unchanged
 *   cpu_weight_strict  refuse to start where the weight cannot be set
 *   soft_tier          "interp" (default) or "jit": the soft engine's tier
 *                      (ringvm run --soft-tier)
 * GET /ringvm answers these and "engine_running", the engine chosen at
 * InstanceStart ("" before). */
#include <string.h>

#include "fc.h"

int fc_res_ringvm(struct fc_vmm *fc, json_t *obj, const char *ptr, char *err, size_t n)
{
	static const char *const fields[] = { "engine", "testdev", "cpu_weight",
					      "cpu_weight_strict", "soft_tier", NULL };
	char engine[sizeof(fc->engine)];
	char tier[8];
	bool has, has_weight, has_tier;

	if (fc_json_object(obj, ptr, err, n) < 0 || fc_json_known(obj, ptr, fields, err, n) < 0)
		return -1;
	if (json_is_string(json_object_get(obj, "engine")) &&
	    json_string_length(json_object_get(obj, "engine")) >= sizeof(engine))
		return fc_json_fail(err, n, "%s/engine: expected \"auto\", \"kvm\" or \"soft\"", ptr);
	if (fc_json_str(obj, ptr, "engine", false, engine, sizeof(engine), &has, err, n) < 0)
		return -1;
	bool testdev = fc->testdev, strict = fc->cpu_weight_strict;
	uint64_t weight = 0;
	if (fc_json_bool(obj, ptr, "testdev", false, &testdev, NULL, err, n) < 0 ||
	    fc_json_uint(obj, ptr, "cpu_weight", false, 1, 10000, &weight, &has_weight, err, n) < 0 ||
	    fc_json_bool(obj, ptr, "cpu_weight_strict", false, &strict, NULL, err, n) < 0)
		return -1;
	if (json_is_string(json_object_get(obj, "soft_tier")) &&
	    json_string_length(json_object_get(obj, "soft_tier")) >= sizeof(tier))
		return fc_json_fail(err, n, "%s/soft_tier: expected \"interp\" or \"jit\"", ptr);
	if (fc_json_str(obj, ptr, "soft_tier", false, tier, sizeof(tier), &has_tier, err, n) < 0)
		return -1;
	if (has_tier && strcmp(tier, "interp") && strcmp(tier, "jit"))
		return fc_json_fail(err, n, "%s/soft_tier: expected \"interp\" or \"jit\"", ptr);
	if (has) {
		if (strcmp(engine, "auto") && strcmp(engine, "kvm") && strcmp(engine, "soft"))
			return fc_json_fail(err, n, "%s/engine: expected \"auto\", \"kvm\" or \"soft\"", ptr);
		memcpy(fc->engine, engine, sizeof(engine));
	}
	fc->testdev = testdev;
	if (has_weight)
		fc->cpu_weight = (unsigned)weight;
	fc->cpu_weight_strict = strict;
	if (has_tier)
		fc->soft_jit = !strcmp(tier, "jit");
	return 0;
}

json_t *fc_ringvm_dump(const struct fc_vmm *fc, bool runtime)
{
	json_t *o = json_pack("{s:s, s:b, s:o, s:b}", "engine", fc->engine, "testdev", fc->testdev,
			      "cpu_weight", fc->cpu_weight ? json_integer(fc->cpu_weight) : json_null(),
			      "cpu_weight_strict", fc->cpu_weight_strict);
	if (o && runtime)
		json_object_set_new(o, "engine_running", json_string(fc->engine_running));
	if (o)
		json_object_set_new(o, "soft_tier", json_string(fc->soft_jit ? "jit" : "interp"));
	return o;
}
