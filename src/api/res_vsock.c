/* PUT /vsock, "vsock" in the config file (Firecracker's Vsock): the guest's
 * CID and the host-side Unix socket (Firecracker's hybrid vsock convention). */
#include <string.h>

#include "fc.h"

int fc_res_vsock(struct fc_vmm *fc, json_t *obj, const char *ptr, char *err, size_t n)
{
	static const char *const fields[] = { "guest_cid", "uds_path", "vsock_id", NULL };
	char uds[sizeof(fc->vsock_uds)], id[FC_ID_LEN];
	uint64_t cid;

	if (fc_json_object(obj, ptr, err, n) < 0 || fc_json_known(obj, ptr, fields, err, n) < 0 ||
	    fc_json_uint(obj, ptr, "guest_cid", true, 3, UINT32_MAX - 1, &cid, NULL, err, n) < 0 ||
	    fc_json_str(obj, ptr, "uds_path", true, uds, sizeof(uds), NULL, err, n) < 0 ||
	    fc_json_str(obj, ptr, "vsock_id", false, id, sizeof(id), NULL, err, n) < 0)
		return -1;  /* vsock_id: deprecated in Firecracker, accepted and unused */
	if (!uds[0])
		return fc_json_fail(err, n, "%s/uds_path: empty path", ptr);
	fc->vsock_set = true;
	fc->vsock_cid = (uint32_t)cid;
	memcpy(fc->vsock_uds, uds, sizeof(uds));
	return 0;
}
