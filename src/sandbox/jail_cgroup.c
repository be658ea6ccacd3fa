/* The jail's cgroups (docs/sandbox.md, "The jail"): Firecracker's jailer's
 * --cgroup FILE=VALUE, --parent-cgroup and --cgroup-version (docs/jailer.md
 * there).  Each FILE (CONTROLLER.PROPERTY) goes to the cgroup PARENT/ID in
 * the hierarchy that has CONTROLLER (cgroup v1: the v1 mount listing it;
 * v2: the unified mount, the controller enabled in every cgroup above),
 * VALUE is written to it, and this process joins the cgroup before the
 * jail forks, so the VMM starts in it.  As with the jailer, the cgroups
 * stay after the VM ends. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <mntent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ringvm/jail.h"
#include "ringvm/log.h"
#include "ringvm/vm.h"

bool jail_cgroup_spec_valid(const char *s)
{
	const char *dot = strchr(s, '.'), *eq = strchr(s, '=');
	if (!dot || !eq || dot == s || dot > eq || eq - dot < 2 || !eq[1] || strlen(s) > 256)
		return false;
	for (const char *p = s; p < eq; p++)
		if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && *p != '_' && *p != '.')
			return false;
	for (const char *p = eq + 1; *p; p++)
		if (!isprint((unsigned char)*p))
			return false;
	return true;
}

bool jail_parent_cgroup_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 256 || s[0] == '/' || s[n - 1] == '/')
		return false;
	for (const char *c = s; *c;) {
		size_t len = strcspn(c, "/");
		if (len == 0 || (len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		for (size_t i = 0; i < len; i++)
			if (!isalnum((unsigned char)c[i]) && c[i] != '-' && c[i] != '_' && c[i] != '.')
				return false;
		c += len;
		if (*c == '/')
			c++;
	}
	return true;
}

static void cg_read(const char *dir, const char *file, char *line, size_t n);

/* The mount point of the hierarchy holding controller (v2: the unified
 * one, which must offer it). */
static int cg_mount(int version, const char *controller, char *dir, size_t n)
{
	FILE *f = setmntent("/proc/mounts", "r");
	if (!f)
		return -1;
	struct mntent *m;
	int found = -1;
	while (found < 0 && (m = getmntent(f))) {
		if (version == 2 && !strcmp(m->mnt_type, "cgroup2")) {
			found = snprintf(dir, n, "%s", m->mnt_dir) < (int)n ? 0 : -1;
		} else if (version == 1 && !strcmp(m->mnt_type, "cgroup")) {
			char opts[512];
			snprintf(opts, sizeof(opts), "%s", m->mnt_opts);
			char *save = NULL;
			for (char *t = strtok_r(opts, ",", &save); t; t = strtok_r(NULL, ",", &save))
				if (!strcmp(t, controller)) {
					found = snprintf(dir, n, "%s", m->mnt_dir) < (int)n ? 0 : -1;
					break;
				}
		}
	}
	endmntent(f);
	if (found == 0 && version == 2 && controller[0]) {  /* cgroup.controllers lists it? */
		char list[1024];
		cg_read(dir, "cgroup.controllers", list, sizeof(list));
		found = -1;
		char *save = NULL;
		for (char *t = strtok_r(list, " ", &save); t; t = strtok_r(NULL, " ", &save))
			if (!strcmp(t, controller))
				found = 0;
	}
	return found;
}

static int cg_write(const char *dir, const char *file, const char *value)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s/%s", dir, file) >= (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t len = strlen(value);
	ssize_t w = write(fd, value, len);
	int e = errno;
	close(fd);
	errno = w < 0 ? e : EIO;
	return w == (ssize_t)len ? 0 : -1;
}

/* This process into the cgroup dir. */
static int cg_join(const char *dir, int version)
{
	char pid[24];
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	return cg_write(dir, version == 2 ? "cgroup.procs" : "tasks", pid);
}

/* The first line of dir/file, "" if there is none. */
static void cg_read(const char *dir, const char *file, char *line, size_t n)
{
	char path[PATH_MAX];
	line[0] = 0;
	if (snprintf(path, sizeof(path), "%s/%s", dir, file) >= (int)sizeof(path))
		return;
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	size_t len = fread(line, 1, n - 1, f);
	fclose(f);
	line[len] = 0;
	line[strcspn(line, "\n")] = 0;
}

/* cgroup v1's cpuset: a new cgroup's cpus and mems start empty, and no
 * task may join it so; they come from the cgroup above (as the jailer's
 * inherit_from_parent). */
static void cg_inherit(const char *dir, const char *file)
{
	char parent[PATH_MAX], line[1024];
	cg_read(dir, file, line, sizeof(line));
	if (line[0])
		return;  /* set already */
	snprintf(parent, sizeof(parent), "%s", dir);
	char *slash = strrchr(parent, '/');
	if (!slash)
		return;
	*slash = 0;
	cg_read(parent, file, line, sizeof(line));
	if (line[0])
		cg_write(dir, file, line);
}

/* mkdir -p of base/rel, level by level (each new cpuset level inherits;
 * each v2 level above the last enables controller). */
static int cg_make(const char *base, const char *rel, int version, const char *controller,
		   char *dir, size_t n)
{
	if (snprintf(dir, n, "%s/%s", base, rel) >= (int)n) {
		errno = ENAMETOOLONG;
		return -1;
	}
	char plus[264];
	snprintf(plus, sizeof(plus), "+%s", controller);
	bool enable = version == 2 && controller[0];  /* "": a v2 cgroup with no controller */
	if (enable && cg_write(base, "cgroup.subtree_control", plus) < 0 && errno != EBUSY)
		return -1;
	for (char *p = dir + strlen(base) + 1;; p++) {
		bool end = !*p;
		if (!end && *p != '/')
			continue;
		*p = 0;
		int r = mkdir(dir, 0755);
		if (r < 0 && errno != EEXIST)
			return -1;
		if (version == 1 && !strcmp(controller, "cpuset")) {
			cg_inherit(dir, "cpuset.cpus");
			cg_inherit(dir, "cpuset.mems");
		}
		if (enable && !end && cg_write(dir, "cgroup.subtree_control", plus) < 0)
			return -1;
		if (end)
			return 0;
		*p = '/';
	}
}

int jail_cgroups(const struct jail_opts *o)
{
	const char *parent = o->parent_cgroup ? o->parent_cgroup
			     : o->exec_name ? o->exec_name : "ringvm";
	char joined[JAIL_MAX_CGROUPS][PATH_MAX];
	unsigned njoined = 0;
	for (unsigned i = 0; i < o->ncgroups; i++) {
		const char *spec = o->cgroups[i], *dot = strchr(spec, '.'), *eq = strchr(spec, '=');
		char controller[256], file[256], rel[PATH_MAX], base[PATH_MAX], dir[PATH_MAX];
		snprintf(controller, sizeof(controller), "%.*s", (int)(dot - spec), spec);
		snprintf(file, sizeof(file), "%.*s", (int)(eq - spec), spec);
		if (cg_mount(o->cgroup_version, controller, base, sizeof(base)) < 0) {
			pr_err("--cgroup %s: no cgroup v%d hierarchy offers the %s controller here", spec,
			       o->cgroup_version, controller);
			return RINGVM_EXIT_USAGE;
		}
		snprintf(rel, sizeof(rel), "%s/%s", parent, o->id);  /* both short: checked */
		if (cg_make(base, rel, o->cgroup_version, controller, dir, sizeof(dir)) < 0) {
			pr_err("jail: --cgroup %s: cannot make the cgroup %s/%s: %s", spec, base, rel,
			       strerror(errno));
			return RINGVM_EXIT_HOST_ERROR;
		}
		if (cg_write(dir, file, eq + 1) < 0) {
			pr_err("jail: --cgroup %s: cannot write %s/%s: %s", spec, dir, file, strerror(errno));
			return RINGVM_EXIT_HOST_ERROR;
		}
		bool done = false;
		for (unsigned j = 0; j < njoined; j++)
			done |= !strcmp(joined[j], dir);
		if (done)
			continue;
		if (cg_join(dir, o->cgroup_version) < 0) {
			pr_err("jail: --cgroup %s: cannot join the cgroup %s: %s", spec, dir, strerror(errno));
			return RINGVM_EXIT_HOST_ERROR;
		}
		snprintf(joined[njoined++], PATH_MAX, "%s", dir);
		pr_info("jail: in the cgroup %s", dir);
	}
	if (o->ncgroups == 0 && o->parent_cgroup && o->cgroup_version == 2) {
		/* As the jailer with cgroup v2 (Firecracker PR 4309, its
		 * docs/jailer.md): --parent-cgroup alone moves the VMM into that
		 * cgroup if it exists (made and set up by the caller), not into
		 * a new one below it; if it does not, nothing is done. */
		char base[PATH_MAX], dir[PATH_MAX];
		struct stat st;
		if (cg_mount(2, "", base, sizeof(base)) < 0) {
			pr_err("--parent-cgroup %s: no cgroup v2 hierarchy here", o->parent_cgroup);
			return RINGVM_EXIT_USAGE;
		}
		if (snprintf(dir, sizeof(dir), "%s/%s", base, o->parent_cgroup) >= (int)sizeof(dir) ||
		    stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
			pr_warn("jail: --parent-cgroup %s: no cgroup %s: the VMM stays in this cgroup "
				"(as with the jailer)", o->parent_cgroup, dir);
			return 0;
		}
		if (cg_join(dir, 2) < 0) {
			pr_err("jail: --parent-cgroup %s: cannot join the cgroup %s: %s", o->parent_cgroup,
			       dir, strerror(errno));
			return RINGVM_EXIT_HOST_ERROR;
		}
		pr_info("jail: in the cgroup %s", dir);
	}
	return 0;
}
