/* /dev in the jail (docs/sandbox.md, "The jail"): a small tmpfs holding
 * only the device nodes a VM uses.  As Firecracker's jailer (docs/jailer.md
 * there, "Jailer Operation"): kvm and net/tun are owned by the jail's user,
 * so the VMM opens them after it has dropped root; urandom and null are
 * world-usable.  /dev/userfaultfd, which the jailer also makes, is left out:
 * ringvm has no userfaultfd memory back end (a "Uffd" snapshot load is
 * refused, src/api/res_snapshot.c). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ringvm/jail.h"

static const struct jail_node {
	const char *name;    /* below /dev, on the host and in the jail */
	mode_t mode;
	bool own;            /* owned by the jail's user */
} jail_nodes[] = {
	{ "kvm", 0660, true },       /* the kvm engine */
	{ "net/tun", 0660, true },   /* --net tap / network-interfaces (src/net/net_tap.c) */
	{ "urandom", 0666, false },
	{ "null", 0666, false },
};

static int jail_dev_path(char *dst, size_t n, const char *root, const char *name)
{
	if (snprintf(dst, n, "%s/dev%s%s", root, name[0] ? "/" : "", name) >= (int)n) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int jail_make_dev(const char *root, uid_t uid, gid_t gid, char *failed, size_t n)
{
	char dev[PATH_MAX], node[PATH_MAX];
	snprintf(failed, n, "%s/dev", root);
	if (jail_dev_path(dev, sizeof(dev), root, "") < 0)
		return -1;
	if (mkdir(dev, 0755) < 0 && errno != EEXIST)
		return -1;
	if (mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k") < 0)
		return -1;
	for (size_t i = 0; i < sizeof(jail_nodes) / sizeof(jail_nodes[0]); i++) {
		const struct jail_node *d = &jail_nodes[i];
		char host[64];
		struct stat st;
		snprintf(host, sizeof(host), "/dev/%s", d->name);
		/* The host's own node gives the numbers; a host without it
		 * (no /dev/kvm: the soft engine only) gets none in the jail. */
		if (stat(host, &st) < 0 || !S_ISCHR(st.st_mode))
			continue;
		if (jail_dev_path(node, sizeof(node), root, d->name) < 0)
			return -1;
		snprintf(failed, n, "%s", node);
		const char *slash = strchr(d->name, '/');
		if (slash) {  /* net/tun: its directory first */
			char sub[16], dir[PATH_MAX];
			snprintf(sub, sizeof(sub), "%.*s", (int)(slash - d->name), d->name);
			if (jail_dev_path(dir, sizeof(dir), root, sub) < 0 ||
			    (mkdir(dir, 0755) < 0 && errno != EEXIST))
				return -1;
		}
		if (mknod(node, S_IFCHR | d->mode, st.st_rdev) < 0)
			return -1;
		if (chmod(node, d->mode) < 0 || (d->own && chown(node, uid, gid) < 0))
			return -1;
	}
	return 0;
}
