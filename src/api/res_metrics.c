/* PUT /metrics, "metrics" in the config file (Firecracker's Metrics): the
 * file or named pipe FlushMetrics appends one JSON line to.  Opened by
 * ops->metrics (the program), not here. */
#include <string.h>

#include "fc.h"

int fc_res_metrics(struct fc_vmm *fc, json_t *obj, const char *ptr, char *err, size_t n)
{
	static const char *const fields[] = { "metrics_path", NULL };
	char path[FC_PATH_LEN];

	if (fc_json_object(obj, ptr, err, n) < 0 || fc_json_known(obj, ptr, fields, err, n) < 0 ||
	    fc_json_str(obj, ptr, "metrics_path", true, path, sizeof(path), NULL, err, n) < 0)
		return -1;
	if (!path[0])
		return fc_json_fail(err, n, "%s/metrics_path: empty path", ptr);
	memcpy(fc->metrics_path, path, sizeof(path));
	return 0;
}
