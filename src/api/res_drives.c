/* PUT/PATCH /drives/{drive_id}, "drives" in the config file (Firecracker's
 * Drive): raw images for virtio-blk (struct vm_drive).  What ringvm does not
 * do (rate limiters, vhost-user sockets) is refused by name. */
#include <string.h>

#include "fc.h"

static struct fc_drive *find(struct fc_vmm *fc, const char *id)
{
	for (unsigned i = 0; i < fc->nr_drives; i++)
		if (!strcmp(fc->drives[i].id, id))
			return &fc->drives[i];
	return NULL;
}

int fc_res_drive(struct fc_vmm *fc, json_t *obj, bool put, const char *path_id, const char *ptr,
		 char *err, size_t n)
{
	static const char *const fields[] = { "drive_id", "path_on_host", "is_root_device",
		"is_read_only", "partuuid", "cache_type", "io_engine", "rate_limiter", "socket", NULL };
	struct fc_drive d;
	char cache[16], engine[16];
	bool has_path, has_cache, has_engine, has_partuuid;

	if (fc_json_object(obj, ptr, err, n) < 0 || fc_json_known(obj, ptr, fields, err, n) < 0 ||
	    fc_json_str(obj, ptr, "drive_id", true, d.id, sizeof(d.id), NULL, err, n) < 0 ||
	    fc_json_id(d.id, ptr, "drive_id", err, n) < 0)
		return -1;
	if (path_id && strcmp(path_id, d.id))
		return fc_json_fail(err, n, "%s/drive_id: '%s' differs from the drive id in the path",
				    ptr, d.id);
	struct fc_drive *old = find(fc, d.id);
	if (!put) {
		/* PATCH: Firecracker updates path_on_host and rate limiters of an
		 * attached drive; only what ringvm can do is accepted. */
		static const char *const pfields[] = { "drive_id", "path_on_host", "rate_limiter", NULL };
		if (!old)
			return fc_json_fail(err, n, "%s/drive_id: no drive '%s' to update", ptr, d.id);
		d = *old;
		if (fc_json_known(obj, ptr, pfields, err, n) < 0 ||
		    fc_json_str(obj, ptr, "path_on_host", false, d.path, sizeof(d.path), &has_path, err, n) < 0 ||
		    fc_json_no_rate_limiter(obj, ptr, "rate_limiter", err, n) < 0 ||
		    (has_path && fc_json_file(d.path, ptr, "path_on_host", err, n) < 0))
			return -1;
		*old = d;
		return 0;
	}
	d.is_root_device = d.is_read_only = d.cache_writeback = d.io_async = false;
	d.partuuid[0] = 0;
	if (fc_json_bool(obj, ptr, "is_root_device", true, &d.is_root_device, NULL, err, n) < 0 ||
	    fc_json_bool(obj, ptr, "is_read_only", false, &d.is_read_only, NULL, err, n) < 0 ||
	    fc_json_str(obj, ptr, "partuuid", false, d.partuuid, sizeof(d.partuuid), &has_partuuid, err, n) < 0 ||
	    fc_json_str(obj, ptr, "cache_type", false, cache, sizeof(cache), &has_cache, err, n) < 0 ||
	    fc_json_str(obj, ptr, "io_engine", false, engine, sizeof(engine), &has_engine, err, n) < 0 ||
	    fc_json_no_rate_limiter(obj, ptr, "rate_limiter", err, n) < 0)
		return -1;
	json_t *sock = json_object_get(obj, "socket");
	if (sock && !json_is_null(sock))
		return fc_json_fail(err, n, "%s/socket: vhost-user block devices are not supported by ringvm", ptr);
	if (fc_json_str(obj, ptr, "path_on_host", true, d.path, sizeof(d.path), NULL, err, n) < 0 ||
	    fc_json_file(d.path, ptr, "path_on_host", err, n) < 0)
		return -1;
	for (const char *c = d.partuuid; *c; c++)
		if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f') || (*c >= 'A' && *c <= 'F') || *c == '-'))
			return fc_json_fail(err, n, "%s/partuuid: expected a UUID (hex digits and '-')", ptr);
	if (has_cache) {
		if (!strcmp(cache, "Writeback"))
			d.cache_writeback = true;
		else if (strcmp(cache, "Unsafe"))
			return fc_json_fail(err, n, "%s/cache_type: expected \"Unsafe\" or \"Writeback\"", ptr);
	}
	if (has_engine) {
		if (!strcmp(engine, "Async"))
			d.io_async = true;
		else if (strcmp(engine, "Sync"))
			return fc_json_fail(err, n, "%s/io_engine: expected \"Sync\" or \"Async\"", ptr);
	}
	if (d.is_root_device)
		for (unsigned i = 0; i < fc->nr_drives; i++)
			if (fc->drives[i].is_root_device && &fc->drives[i] != old)
				return fc_json_fail(err, n, "%s/is_root_device: drive '%s' is already the root device",
						    ptr, fc->drives[i].id);
	if (old) {
		*old = d;
		return 0;
	}
	if (fc->nr_drives >= VM_MAX_DRIVES)
		return fc_json_fail(err, n, "%s: at most %d drives are supported", ptr, VM_MAX_DRIVES);
	fc->drives[fc->nr_drives++] = d;
	return 0;
}

int fc_res_drive_running(struct fc_vmm *fc, json_t *obj, const char *path_id, const char *ptr,
			 char *err, size_t n)
{
	struct fc_drive *d = find(fc, path_id);
	if (!d)
		return fc_res_drive(fc, obj, false, path_id, ptr, err, n);  /* its message */
	struct fc_drive before = *d;
	if (fc_res_drive(fc, obj, false, path_id, ptr, err, n) < 0)
		return -1;
	if (!strcmp(before.path, d->path))
		return 0;
	if (!fc->ops || !fc->ops->drive_update) {
		*d = before;
		return fc_json_fail(err, n, "%s/path_on_host: the VM cannot change its drives", ptr);
	}
	char why[FC_ERR_LEN];
	if (fc->ops->drive_update(fc, d->id, d->path, why, sizeof(why)) < 0) {
		*d = before;
		return fc_json_fail(err, n, "%s/path_on_host: %s", ptr, why);
	}
	return 0;
}
