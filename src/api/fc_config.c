/* Firecracker's config file (--config-file): one JSON object whose members
 * are the API's resources, parsed by the same res_*.c functions; and its
 * inverse, GET /vm/config.  fc_vmm_build() turns the description into the
 * vm_config the machine is created from. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fc.h"

/* Firecracker's DEFAULT_KERNEL_CMDLINE (src/vmm/src/vmm_config/boot_source.rs). */
static const char fc_default_cmdline[] =
	"reboot=k panic=1 pci=off nomodule 8250.nr_uarts=0 i8042.noaux i8042.nomux "
	"i8042.dumbkbd";

/* Config files are small; this bounds what a hostile file costs. */
#define FC_CONFIG_MAX (1024 * 1024)

void fc_vmm_init(struct fc_vmm *fc)
{
	memset(fc, 0, sizeof(*fc));
	strcpy(fc->id, "anonymous-instance");
	fc->vcpu_count = 1;
	fc->mem_size_mib = FC_DEFAULT_MEM_MIB;
	strcpy(fc->engine, "auto");
	fc->soft_jit = true;
}

static int apply(struct fc_vmm *fc, const char *key, json_t *v, char *err, size_t n)
{
	char ptr[256];
	fc_json_ptr(ptr, sizeof(ptr), "", key);

	if (!strcmp(key, "boot-source"))
		return fc_res_boot_source(fc, v, ptr, err, n);
	if (!strcmp(key, "machine-config"))
		return fc_res_machine_config(fc, v, true, ptr, err, n);
	if (!strcmp(key, "vsock"))
		return json_is_null(v) ? 0 : fc_res_vsock(fc, v, ptr, err, n);
	if (!strcmp(key, "entropy"))
		return json_is_null(v) ? 0 : fc_res_entropy(fc, v, ptr, err, n);
	if (!strcmp(key, "ringvm"))
		return fc_res_ringvm(fc, v, ptr, err, n);
	if (!strcmp(key, "logger")) {
		if (json_is_null(v))
			return 0;
		if (fc_res_logger(fc, v, ptr, err, n) < 0)
			return -1;
		return fc->ops && fc->ops->logger ? fc->ops->logger(fc, err, n) : 0;
	}
	if (!strcmp(key, "metrics")) {
		if (json_is_null(v))
			return 0;
		if (fc_res_metrics(fc, v, ptr, err, n) < 0)
			return -1;
		return fc->ops && fc->ops->metrics ? fc->ops->metrics(fc, err, n) : 0;
	}
	if (!strcmp(key, "drives") || !strcmp(key, "network-interfaces")) {
		bool drives = key[0] == 'd';
		if (json_is_null(v))
			return 0;
		if (!json_is_array(v))
			return fc_json_fail(err, n, "%s: expected an array", ptr);
		size_t i;
		json_t *e;
		json_array_foreach(v, i, e) {
			char p[300];
			snprintf(p, sizeof(p), "%s/%zu", ptr, i);
			/* The config file cannot patch: each entry is a new
			 * device, and a repeated id is an error. */
			const char *id = json_string_value(json_object_get(e, drives ? "drive_id" : "iface_id"));
			bool dup = false;
			for (unsigned k = 0; id && k < (drives ? fc->nr_drives : fc->nr_nets); k++)
				dup |= !strcmp(id, drives ? fc->drives[k].id : fc->nets[k].id);
			if (dup)
				return fc_json_fail(err, n, "%s/%s: '%s' is used twice", p,
						    drives ? "drive_id" : "iface_id", id);
			int r = drives ? fc_res_drive(fc, e, true, NULL, p, err, n)
				       : fc_res_net(fc, e, true, NULL, p, err, n);
			if (r < 0)
				return -1;
		}
		return 0;
	}
	if (!strcmp(key, "balloon"))
		return json_is_null(v) ? 0 : fc_json_fail(err, n, "%s: the balloon device is not supported by ringvm", ptr);
	if (!strcmp(key, "mmds-config"))
		return json_is_null(v) ? 0 : fc_json_fail(err, n, "%s: MMDS (the metadata service) is not supported by ringvm", ptr);
	if (!strcmp(key, "cpu-config"))
		return json_is_null(v) ? 0 : fc_json_fail(err, n, "%s: custom CPU templates are not supported by ringvm", ptr);
	return fc_json_fail(err, n, "%s: unknown field", ptr);
}

int fc_config_parse(struct fc_vmm *fc, const char *text, size_t len, char *err, size_t n)
{
	json_error_t je;
	/* JSON_REJECT_DUPLICATES: a key given twice is a mistake, not an
	 * override; JSON_ALLOW_NUL: strings are checked for NUL by field. */
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
	if (!root)
		return fc_json_parse_fail(err, n, &je);
	int r = fc_json_object(root, "", err, n);
	const char *key;
	json_t *v;
	if (r == 0)
		json_object_foreach(root, key, v)
			if ((r = apply(fc, key, v, err, n)) < 0)
				break;
	json_decref(root);
	return r;
}

int fc_config_load(struct fc_vmm *fc, const char *path, char *err, size_t n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0)
		return fc_json_fail(err, n, "--config-file %s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > FC_CONFIG_MAX) {
		close(fd);
		return fc_json_fail(err, n, "--config-file %s: not a regular file of at most %d bytes",
				    path, FC_CONFIG_MAX);
	}
	char *buf = malloc((size_t)st.st_size + 1);
	ssize_t got = buf ? read(fd, buf, (size_t)st.st_size) : -1;
	close(fd);
	if (got != st.st_size) {
		free(buf);
		return fc_json_fail(err, n, "--config-file %s: cannot read it", path);
	}
	char inner[FC_ERR_LEN];
	int r = fc_config_parse(fc, buf, (size_t)got, inner, sizeof(inner));
	free(buf);
	if (r < 0)
		return fc_json_fail(err, n, "--config-file %s: %s", path, inner);
	return 0;
}

/* Remove every whole-word occurrence of tok from s. */
static void drop_token(char *s, const char *tok)
{
	size_t tl = strlen(tok);
	char *p = s;
	while ((p = strstr(p, tok))) {
		bool start = p == s || p[-1] == ' ';
		bool end = p[tl] == 0 || p[tl] == ' ';
		if (start && end) {
			size_t skip = tl + (p[tl] == ' ');
			memmove(p, p + skip, strlen(p + skip) + 1);
		} else {
			p += tl;
		}
	}
}

int fc_vmm_build(struct fc_vmm *fc, const struct vm_config *base, struct vm_config *out,
		 char *err, size_t errlen)
{
	if (!fc->boot_source_set)
		return fc_json_fail(err, errlen, "cannot start the microVM without a boot source "
				    "(PUT /boot-source or \"boot-source\" in the config file)");
	*out = *base;
	out->kernel = fc->kernel;
	out->initrd = fc->initrd[0] ? fc->initrd : NULL;
	out->memory = (uint64_t)fc->mem_size_mib * MiB;
	out->cpus = fc->vcpu_count;
	out->hugepages = fc->huge_pages_2m;
	out->track_dirty_pages = fc->track_dirty_pages;
	out->engine = fc->engine;
	out->soft_jit = fc->soft_jit;
	out->testdev = fc->testdev;
	out->cpu_weight = fc->cpu_weight;
	out->cpu_weight_strict = fc->cpu_weight_strict;
	/* Firecracker exits when the guest reboots (reboot=k: the i8042 reset). */
	out->on_reset = ON_RESET_EXIT;

	bool split = fc->nr_drives || fc->nr_nets || fc->vsock_set || fc->entropy ||
		     fc->user_net || fc->console_virtio;
	const struct fc_drive *root = NULL;
	out->nr_drives = 0;
	for (unsigned i = 0; i < fc->nr_drives; i++)
		if (fc->drives[i].is_root_device)
			root = &fc->drives[i];
	/* The root device first, so it is /dev/vda (Firecracker's order). */
	for (int pass = 0; pass < 2; pass++)
		for (unsigned i = 0; i < fc->nr_drives; i++) {
			const struct fc_drive *d = &fc->drives[i];
			if ((pass == 0) != (d == root))
				continue;
			struct vm_drive *vd = &out->drives[out->nr_drives++];
			memset(vd, 0, sizeof(*vd));
			vd->path = d->path;
			vd->id = d->id;
			vd->read_only = d->is_read_only;
			vd->is_root_device = d->is_root_device;
		}
	out->nr_nets = fc->nr_nets;
	for (unsigned i = 0; i < fc->nr_nets; i++) {
		struct vm_net *vn = &out->nets[i];
		memset(vn, 0, sizeof(*vn));
		vn->kind = VM_NET_TAP;
		vn->id = fc->nets[i].id;
		vn->ifname = fc->nets[i].host_dev_name;
		vn->has_mac = fc->nets[i].has_mac;
		memcpy(vn->mac, fc->nets[i].mac, 6);
	}
	/* ringvm's "user_net": one more interface, after Firecracker's. */
	if (fc->user_net) {
		if (out->nr_nets >= VM_MAX_NETS) {
			snprintf(err, errlen, "/ringvm/user_net: at most %d network interfaces in all",
				 VM_MAX_NETS);
			return -1;
		}
		struct vm_net *vn = &out->nets[out->nr_nets++];
		memset(vn, 0, sizeof(*vn));
		vn->kind = VM_NET_USER;
		vn->id = "user_net";
		vn->nr_hostfwd = fc->nr_user_hostfwd;
		for (unsigned i = 0; i < fc->nr_user_hostfwd; i++)
			vn->hostfwd[i] = fc->user_hostfwd[i];
	}
	out->console = fc->console_virtio ? VM_CONSOLE_VIRTIO : VM_CONSOLE_SERIAL;
	out->vsock.enabled = fc->vsock_set;
	out->vsock.guest_cid = fc->vsock_cid;
	out->vsock.uds_path = fc->vsock_set ? fc->vsock_uds : NULL;
	out->rng = fc->entropy;

	snprintf(fc->cmdline, sizeof(fc->cmdline), "%s",
		 fc->boot_args_set ? fc->boot_args : fc_default_cmdline);
	/* ringvm's virtio devices sit on PCI: Firecracker's customary pci=off
	 * would hide them from the guest. */
	if (split)
		drop_token(fc->cmdline, "pci=off");
	if (root) {
		size_t l = strlen(fc->cmdline);
		if (root->partuuid[0])
			snprintf(fc->cmdline + l, sizeof(fc->cmdline) - l, "%sroot=PARTUUID=%s %s",
				 l ? " " : "", root->partuuid, root->is_read_only ? "ro" : "rw");
		else
			snprintf(fc->cmdline + l, sizeof(fc->cmdline) - l, "%sroot=/dev/vda %s",
				 l ? " " : "", root->is_read_only ? "ro" : "rw");
	}
	out->cmdline = fc->cmdline;
	return 0;
}

json_t *fc_config_dump(const struct fc_vmm *fc)
{
	json_t *root = json_object();
	json_t *bs = json_null();
	if (fc->boot_source_set) {
		bs = json_pack("{s:s}", "kernel_image_path", fc->kernel);
		if (fc->initrd[0])
			json_object_set_new(bs, "initrd_path", json_string(fc->initrd));
		json_object_set_new(bs, "boot_args",
				    fc->boot_args_set ? json_string(fc->boot_args) : json_null());
	}
	json_object_set_new(root, "boot-source", bs);
	json_object_set_new(root, "machine-config", fc_machine_config_dump(fc));
	json_t *drives = json_array();
	for (unsigned i = 0; i < fc->nr_drives; i++) {
		const struct fc_drive *d = &fc->drives[i];
		json_array_append_new(drives, json_pack("{s:s, s:s, s:b, s:b, s:o, s:s, s:s}",
			"drive_id", d->id, "path_on_host", d->path, "is_root_device", d->is_root_device,
			"is_read_only", d->is_read_only,
			"partuuid", d->partuuid[0] ? json_string(d->partuuid) : json_null(),
			"cache_type", d->cache_writeback ? "Writeback" : "Unsafe",
			"io_engine", d->io_async ? "Async" : "Sync"));
	}
	json_object_set_new(root, "drives", drives);
	json_t *nets = json_array();
	for (unsigned i = 0; i < fc->nr_nets; i++) {
		const struct fc_net *d = &fc->nets[i];
		char mac[18];
		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", d->mac[0], d->mac[1],
			 d->mac[2], d->mac[3], d->mac[4], d->mac[5]);
		json_array_append_new(nets, json_pack("{s:s, s:s, s:o}", "iface_id", d->id,
			"host_dev_name", d->host_dev_name,
			"guest_mac", d->has_mac ? json_string(mac) : json_null()));
	}
	json_object_set_new(root, "network-interfaces", nets);
	json_object_set_new(root, "vsock", fc->vsock_set ?
		json_pack("{s:I, s:s}", "guest_cid", (json_int_t)fc->vsock_cid, "uds_path", fc->vsock_uds) :
		json_null());
	json_object_set_new(root, "entropy", fc->entropy ? json_object() : json_null());
	json_object_set_new(root, "logger", fc->logger_set ?
		json_pack("{s:o, s:s, s:b, s:b}",
			  "log_path", fc->log_path[0] ? json_string(fc->log_path) : json_null(),
			  "level", fc->log_level[0] ? fc->log_level : "Info",
			  "show_level", fc->show_level, "show_log_origin", fc->show_log_origin) :
		json_null());
	json_object_set_new(root, "metrics", fc->metrics_path[0] ?
		json_pack("{s:s}", "metrics_path", fc->metrics_path) : json_null());
	json_object_set_new(root, "balloon", json_null());
	json_object_set_new(root, "mmds-config", json_null());
	json_object_set_new(root, "ringvm", fc_ringvm_dump(fc, false));
	return root;
}
