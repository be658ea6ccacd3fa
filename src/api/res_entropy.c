/* PUT /entropy, "entropy" in the config file (Firecracker's
 * EntropyDevice): virtio-rng fed from the host's getrandom. */
#include "fc.h"

int fc_res_entropy(struct fc_vmm *fc, json_t *obj, const char *ptr, char *err, size_t n)
{
	static const char *const fields[] = { "rate_limiter", NULL };
	if (fc_json_object(obj, ptr, err, n) < 0 || fc_json_known(obj, ptr, fields, err, n) < 0 ||
	    fc_json_no_rate_limiter(obj, ptr, "rate_limiter", err, n) < 0)
		return -1;
	fc->entropy = true;
	return 0;
}
