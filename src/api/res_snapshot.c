/* PUT /snapshot/create and PUT /snapshot/load (Firecracker's swagger:
 * SnapshotCreateParams, SnapshotLoadParams; docs/api.md, docs/snapshot.md).
 * The request bodies are checked here; the work is the program's
 * (fc_vmm_ops.snapshot_create/load). */
#include <string.h>

#include "fc.h"

int fc_res_snapshot_create(struct fc_vmm *fc, json_t *obj, const char *ptr, char *snap,
			   char *mem, bool *diff, char *err, size_t n)
{
	static const char *const fields[] = { "snapshot_type", "snapshot_path", "mem_file_path",
					      "version", NULL };
	char type[16] = "Full", ver[64];
	bool has;
	(void)fc;
	if (fc_json_object(obj, ptr, err, n) < 0 || fc_json_known(obj, ptr, fields, err, n) < 0 ||
	    fc_json_str(obj, ptr, "snapshot_path", true, snap, FC_PATH_LEN, NULL, err, n) < 0 ||
	    fc_json_str(obj, ptr, "mem_file_path", true, mem, FC_PATH_LEN, NULL, err, n) < 0 ||
	    fc_json_str(obj, ptr, "snapshot_type", false, type, sizeof(type), &has, err, n) < 0 ||
	    fc_json_str(obj, ptr, "version", false, ver, sizeof(ver), NULL, err, n) < 0)
		return -1;
	/* A diff needs dirty-page tracking: checked by the VM
	 * (snapshot_create), which knows whether it tracks. */
	*diff = !strcmp(type, "Diff");
	if (!*diff && strcmp(type, "Full"))
		return fc_json_fail(err, n, "%s/snapshot_type: expected \"Full\" or \"Diff\"", ptr);
	if (!snap[0] || !mem[0])
		return fc_json_fail(err, n, "%s/%s: empty path", ptr,
				    snap[0] ? "mem_file_path" : "snapshot_path");
	if (!strcmp(snap, mem))
		return fc_json_fail(err, n, "%s/mem_file_path: the same file as snapshot_path", ptr);
	return 0;
}

int fc_res_snapshot_load(struct fc_vmm *fc, json_t *obj, const char *ptr, char *snap, char *mem,
			 bool *resume, bool *track, char *err, size_t n)
{
	static const char *const fields[] = { "snapshot_path", "mem_file_path", "mem_backend",
					      "enable_diff_snapshots", "track_dirty_pages",
					      "resume_vm", "network_overrides", NULL };
	static const char *const backend_fields[] = { "backend_type", "backend_path", NULL };
	bool has_file = false, diff = false, dirty = false;
	char bptr[300], type[16];
	(void)fc;
	*resume = false;
	if (fc_json_object(obj, ptr, err, n) < 0 || fc_json_known(obj, ptr, fields, err, n) < 0 ||
	    fc_json_str(obj, ptr, "snapshot_path", true, snap, FC_PATH_LEN, NULL, err, n) < 0 ||
	    fc_json_str(obj, ptr, "mem_file_path", false, mem, FC_PATH_LEN, &has_file, err, n) < 0 ||
	    fc_json_bool(obj, ptr, "resume_vm", false, resume, NULL, err, n) < 0 ||
	    fc_json_bool(obj, ptr, "enable_diff_snapshots", false, &diff, NULL, err, n) < 0 ||
	    fc_json_bool(obj, ptr, "track_dirty_pages", false, &dirty, NULL, err, n) < 0)
		return -1;
	json_t *be = json_object_get(obj, "mem_backend");
	if (be && !json_is_null(be)) {
		if (has_file)
			return fc_json_fail(err, n, "%s/mem_backend: give mem_backend or mem_file_path, "
					    "not both", ptr);
		fc_json_ptr(bptr, sizeof(bptr), ptr, "mem_backend");
		if (fc_json_object(be, bptr, err, n) < 0 ||
		    fc_json_known(be, bptr, backend_fields, err, n) < 0 ||
		    fc_json_str(be, bptr, "backend_type", true, type, sizeof(type), NULL, err, n) < 0 ||
		    fc_json_str(be, bptr, "backend_path", true, mem, FC_PATH_LEN, NULL, err, n) < 0)
			return -1;
		if (!strcmp(type, "Uffd"))
			return fc_json_fail(err, n, "%s/backend_type: \"Uffd\" (a userfaultfd page "
					    "server) is not supported by ringvm; use \"File\"", bptr);
		if (strcmp(type, "File"))
			return fc_json_fail(err, n, "%s/backend_type: expected \"File\" or \"Uffd\"", bptr);
	} else if (!has_file) {
		return fc_json_fail(err, n, "%s: mem_backend (or the older mem_file_path) is required",
				    ptr);
	}
	json_t *ov = json_object_get(obj, "network_overrides");
	if (ov && !json_is_null(ov) && !(json_is_array(ov) && json_array_size(ov) == 0))
		return fc_json_fail(err, n, "%s/network_overrides: ringvm snapshots have no network "
				    "interfaces to override", ptr);
	if (!snap[0] || !mem[0])
		return fc_json_fail(err, n, "%s: empty path", ptr);
	/* track_dirty_pages, or its deprecated name enable_diff_snapshots:
	 * the restored VM logs dirty pages, so diff snapshots can be taken of
	 * it (docs/snapshot.md). */
	*track = dirty || diff;
	return 0;
}
