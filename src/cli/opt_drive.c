/* --drive and --rng: the virtio-blk and virtio-rng devices on the command
 * line, in QEMU's key=value habit (docs/devices.md, "Virtio"). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "opt_drive.h"

static enum cli_result dfail(char *err, size_t len, const char *fmt, ...) PRINTF_FMT(3, 4);
static enum cli_result dfail(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return CLI_ERROR;
}

/* Values may not contain ',' (the separator) and must not be empty. */
static bool valid_name(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return false;
	return true;
}

/* The option's string is edited in place (',' and '=' become NULs), so the
 * names stored in cfg point into argv and outlive the VM. */
enum cli_result cli_parse_drive(char *spec, struct vm_config *cfg, char *err, size_t len)
{
	char orig[256];
	snprintf(orig, sizeof(orig), "%s", spec);
	if (cfg->nr_drives >= VM_MAX_DRIVES)
		return dfail(err, len, "--drive %s: at most %d drives", orig, VM_MAX_DRIVES);
	struct vm_drive d = { 0 };
	char *save = NULL;
	for (char *kv = strtok_r(spec, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		char *v = strchr(kv, '=');
		if (!v)
			return dfail(err, len, "--drive %s: '%s' is not KEY=VALUE", orig, kv);
		*v++ = 0;
		if (!strcmp(kv, "path") || !strcmp(kv, "file")) {
			if (!*v)
				return dfail(err, len, "--drive %s: path is empty", orig);
			d.path = v;
		} else if (!strcmp(kv, "ro") || !strcmp(kv, "readonly")) {
			if (!strcmp(v, "on") || !strcmp(v, "true") || !strcmp(v, "1"))
				d.read_only = true;
			else if (!strcmp(v, "off") || !strcmp(v, "false") || !strcmp(v, "0"))
				d.read_only = false;
			else
				return dfail(err, len, "--drive %s: ro=%s: expected on or off", orig, v);
		} else if (!strcmp(kv, "id")) {
			if (!valid_name(v, 64))
				return dfail(err, len, "--drive %s: id=%s: 1-64 printable characters", orig, v);
			d.id = v;
		} else if (!strcmp(kv, "serial")) {
			/* VIRTIO_BLK_ID_BYTES: the answer to GET_ID is 20 bytes. */
			if (!valid_name(v, 20))
				return dfail(err, len, "--drive %s: serial=%s: 1-20 printable characters",
					     orig, v);
			d.serial = v;
		} else {
			return dfail(err, len, "--drive %s: unknown key '%s' (path, ro, id, serial)",
				     orig, kv);
		}
	}
	if (!d.path)
		return dfail(err, len, "--drive %s: path=IMAGE is required", orig);
	for (unsigned i = 0; i < cfg->nr_drives; i++)
		if (d.id && cfg->drives[i].id && !strcmp(d.id, cfg->drives[i].id))
			return dfail(err, len, "--drive %s: id %s is used twice", orig, d.id);
	cfg->drives[cfg->nr_drives++] = d;
	return CLI_OK;
}

/* After parsing: each image exists, is a regular file or block device and
 * can be opened as asked (read-write unless ro=on). */
enum cli_result cli_check_drives(const struct vm_config *cfg, char *err, size_t len)
{
	for (unsigned i = 0; i < cfg->nr_drives; i++) {
		const struct vm_drive *d = &cfg->drives[i];
		struct stat st;
		if (stat(d->path, &st) < 0)
			return dfail(err, len, "--drive path=%s: %s", d->path, strerror(errno));
		if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
			return dfail(err, len, "--drive path=%s: not a regular file or block device",
				     d->path);
		if (access(d->path, d->read_only ? R_OK : R_OK | W_OK) < 0)
			return dfail(err, len, "--drive path=%s: %s%s", d->path, strerror(errno),
				     d->read_only ? "" : " (ro=on for a read-only image)");
	}
	return CLI_OK;
}
