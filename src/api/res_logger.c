/* PUT /logger, "logger" in the config file (Firecracker's Logger): where
 * ringvm's messages go and how many.  The file is opened by ops->logger
 * (the program), not here: parsing has no side effects. */
#include <string.h>
#include <strings.h>

#include "fc.h"

static const char *const levels[] = { "Error", "Warning", "Info", "Debug", "Trace", "Off", NULL };

int fc_res_logger(struct fc_vmm *fc, json_t *obj, const char *ptr, char *err, size_t n)
{
	static const char *const fields[] = { "log_path", "level", "show_level", "show_log_origin",
		"module", NULL };
	char path[FC_PATH_LEN], level[16], module[64];
	bool has_path, has_level, has_module, show_level = false, show_origin = false;

	if (fc_json_object(obj, ptr, err, n) < 0 || fc_json_known(obj, ptr, fields, err, n) < 0 ||
	    fc_json_str(obj, ptr, "log_path", false, path, sizeof(path), &has_path, err, n) < 0 ||
	    fc_json_str(obj, ptr, "level", false, level, sizeof(level), &has_level, err, n) < 0 ||
	    fc_json_bool(obj, ptr, "show_level", false, &show_level, NULL, err, n) < 0 ||
	    fc_json_bool(obj, ptr, "show_log_origin", false, &show_origin, NULL, err, n) < 0 ||
	    fc_json_str(obj, ptr, "module", false, module, sizeof(module), &has_module, err, n) < 0)
		return -1;
	if (has_module)
		return fc_json_fail(err, n, "%s/module: filtering by module is not supported by ringvm", ptr);
	if (has_level) {
		const char *const *l = levels;
		while (*l && strcasecmp(*l, level))
			l++;
		if (!*l)
			return fc_json_fail(err, n, "%s/level: expected Error, Warning, Info, Debug, Trace or Off", ptr);
		strcpy(fc->log_level, *l);
	}
	if (has_path) {
		if (!path[0])
			return fc_json_fail(err, n, "%s/log_path: empty path", ptr);
		memcpy(fc->log_path, path, sizeof(path));
	}
	fc->show_level = show_level;
	fc->show_log_origin = show_origin;
	fc->logger_set = true;
	return 0;
}
