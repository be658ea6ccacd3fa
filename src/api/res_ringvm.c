/* "ringvm" in the config file and PUT /ringvm: ringvm's own settings, kept
 * out of Firecracker's resources so a Firecracker config stays valid:
 *   engine   "auto" (default), "kvm" or "soft"
 *   testdev  the test-guest device (guests/, docs/test-guests.md) */
#include <string.h>

#include "fc.h"

int fc_res_ringvm(struct fc_vmm *fc, json_t *obj, const char *ptr, char *err, size_t n)
{
	static const char *const fields[] = { "engine", "testdev", NULL };
	char engine[sizeof(fc->engine)];
	bool has;

	if (fc_json_object(obj, ptr, err, n) < 0 || fc_json_known(obj, ptr, fields, err, n) < 0)
		return -1;
	if (json_is_string(json_object_get(obj, "engine")) &&
	    json_string_length(json_object_get(obj, "engine")) >= sizeof(engine))
		return fc_json_fail(err, n, "%s/engine: expected \"auto\", \"kvm\" or \"soft\"", ptr);
	if (fc_json_str(obj, ptr, "engine", false, engine, sizeof(engine), &has, err, n) < 0)
		return -1;
	bool testdev = fc->testdev;
	if (fc_json_bool(obj, ptr, "testdev", false, &testdev, NULL, err, n) < 0)
		return -1;
	if (has) {
		if (strcmp(engine, "auto") && strcmp(engine, "kvm") && strcmp(engine, "soft"))
			return fc_json_fail(err, n, "%s/engine: expected \"auto\", \"kvm\" or \"soft\"", ptr);
		memcpy(fc->engine, engine, sizeof(engine));
	}
	fc->testdev = testdev;
	return 0;
}
