/* A VM's CPU weight (--cpu-weight, "ringvm": {"cpu_weight"}): the process
 * moves into a child cgroup of its own, ringvm-NAME, whose weight the host
 * scheduler uses when VMs compete for CPUs (docs/api.md, "CPU weight").
 *
 *   cgroup v2 (Documentation/admin-guide/cgroup-v2.rst): where the process's
 *     cgroup (the "0::" line of /proc/self/cgroup under the cgroup2 mount)
 *     offers the cpu controller: mkdir ringvm-NAME, move the process there
 *     (cgroup.procs), enable +cpu in the parent's cgroup.subtree_control (the
 *     "no internal processes" rule: this works where the parent is the root
 *     or the process was its only member, i.e. a delegated subtree), write
 *     cpu.weight.
 *   cgroup v1 (a host whose cpu controller is still on a v1 hierarchy, as
 *     this project's CI host): the same under the cpu hierarchy, writing
 *     cpu.shares = weight * 1024 / 100 (systemd's mapping: the default
 *     weight 100 is the default 1024 shares).
 * Done on the main thread before any vCPU thread exists (the whole process
 * moves, so threads made later inherit it) and before the seccomp filters.
 * The directory stays after the VM exits (a cgroup is removed with rmdir
 * once empty, and the filtered process may not): the next VM of that name
 * reuses it, and each start removes the empty ringvm-run-PID and
 * ringvm-vm-PID siblings whose process is gone. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cpu_weight.h"
#include "ringvm/errbuf.h"
#include "ringvm/log.h"
#include "ringvm/vm.h"

static int write_file(const char *dir, const char *file, const char *text)
{
	char path[CPU_WEIGHT_PATH_LEN + 160];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t w = write(fd, text, strlen(text));
	int e = errno;
	close(fd);
	errno = e;
	return w == (ssize_t)strlen(text) ? 0 : -1;
}

static bool has_word(const char *list, const char *word, const char *seps)
{
	size_t wl = strlen(word);
	for (const char *p = list; *p;) {
		size_t l = strcspn(p, seps);
		if (l == wl && !strncmp(p, word, wl))
			return true;
		p += l;
		p += strspn(p, seps);
	}
	return false;
}

/* The mount point of the cgroup2 filesystem (v2) or of the v1 hierarchy
 * carrying the cpu controller (from /proc/self/mountinfo: "... mountpoint
 * ... - fstype source superoptions"). */
static int find_mount(bool v2, char *dst, size_t n)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -1;
	char line[4096];
	int r = -1;
	while (r < 0 && fgets(line, sizeof(line), f)) {
		char root[1024], mnt[1024], fstype[64], super[1024];
		const char *dash = strstr(line, " - ");
		if (!dash || sscanf(line, "%*s %*s %*s %1023s %1023s", root, mnt) != 2 ||
		    sscanf(dash + 3, "%63s %*s %1023s", fstype, super) != 2)
			continue;
		if (strcmp(root, "/"))
			continue;  /* a bind mount of a sub-tree: paths would not match */
		if (v2 ? !strcmp(fstype, "cgroup2") :
			 (!strcmp(fstype, "cgroup") && has_word(super, "cpu", ","))) {
			snprintf(dst, n, "%s", mnt);
			r = 0;
		}
	}
	fclose(f);
	return r;
}

/* The process's cgroup path in the v2 tree ("0::/x") or in the v1 cpu
 * hierarchy ("N:cpu,cpuacct:/x"). */
static int own_path(bool v2, char *dst, size_t n)
{
	FILE *f = fopen("/proc/self/cgroup", "re");
	if (!f)
		return -1;
	char line[4096];
	int r = -1;
	while (r < 0 && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c2 = 0;
		bool match = v2 ? (!strcmp(line, "0:") && c1[1] == 0) : has_word(c1 + 1, "cpu", ",");
		if (match) {
			snprintf(dst, n, "%s", c2 + 1);
			r = 0;
		}
	}
	fclose(f);
	return r;
}

static bool dir_has_controller(const char *dir, const char *ctl)
{
	char path[CPU_WEIGHT_PATH_LEN + 160], buf[512];
	snprintf(path, sizeof(path), "%s/cgroup.controllers", dir);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return false;
	buf[len] = 0;
	return has_word(buf, ctl, " \n");
}

/* Remove parent's ringvm-run-PID / ringvm-vm-PID cgroups left by ended
 * VMs (rmdir refuses a cgroup that still has a process). */
static void sweep(const char *parent)
{
	DIR *d = opendir(parent);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		const char *s = de->d_name;
		if (!strncmp(s, "ringvm-run-", 11))
			s += 11;
		else if (!strncmp(s, "ringvm-vm-", 10))
			s += 10;
		else
			continue;
		char *end;
		long pid = strtol(s, &end, 10);
		if (*end || pid <= 0 || pid == getpid())
			continue;
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;  /* alive (or not ours to judge) */
		char path[CPU_WEIGHT_PATH_LEN + 300];
		snprintf(path, sizeof(path), "%s/%s", parent, de->d_name);
		rmdir(path);
	}
	closedir(d);
}

static int apply_v2(const char *parent, const char *child, unsigned weight, char *err, size_t n)
{
	char text[32];
	if (mkdir(child, 0755) < 0 && errno != EEXIST)
		return err_set(err, n, "cannot create cgroup %s: %s", child, strerror(errno));
	if (write_file(child, "cgroup.procs", "0") < 0)
		return err_set(err, n, "cannot move ringvm into cgroup %s: %s", child, strerror(errno));
	if (write_file(parent, "cgroup.subtree_control", "+cpu") < 0 && errno != EEXIST) {
		int e = errno;
		write_file(parent, "cgroup.procs", "0");  /* back where it was */
		return err_set(err, n, "cannot enable the cpu controller below %s: %s%s", parent,
			    strerror(e), e == EBUSY ? " (other processes share ringvm's cgroup: "
			    "run ringvm in a delegated cgroup of its own)" : "");
	}
	snprintf(text, sizeof(text), "%u", weight);
	if (write_file(child, "cpu.weight", text) < 0)
		return err_set(err, n, "cannot write %s/cpu.weight: %s", child, strerror(errno));
	return 0;
}

static int apply_v1(const char *child, unsigned weight, char *err, size_t n)
{
	char text[32];
	unsigned long shares = (unsigned long)weight * 1024 / 100;
	if (shares < 2)
		shares = 2;
	if (mkdir(child, 0755) < 0 && errno != EEXIST)
		return err_set(err, n, "cannot create cgroup %s: %s", child, strerror(errno));
	snprintf(text, sizeof(text), "%lu", shares);
	if (write_file(child, "cpu.shares", text) < 0)
		return err_set(err, n, "cannot write %s/cpu.shares: %s", child, strerror(errno));
	if (write_file(child, "cgroup.procs", "0") < 0)
		return err_set(err, n, "cannot move ringvm into cgroup %s: %s", child, strerror(errno));
	return 0;
}

int cpu_weight_apply(const char *name, unsigned weight, char *where, size_t wn, char *err,
		     size_t n)
{
	char mnt[1024], own[2048], parent[CPU_WEIGHT_PATH_LEN], child[CPU_WEIGHT_PATH_LEN + 80];
	if (weight < 1 || weight > 10000)
		return err_set(err, n, "cpu weight %u: expected 1 to 10000", weight);
	/* cgroup v2 first, where the cpu controller is offered to our cgroup. */
	if (find_mount(true, mnt, sizeof(mnt)) == 0 && own_path(true, own, sizeof(own)) == 0) {
		snprintf(parent, sizeof(parent), "%s%s", mnt, strcmp(own, "/") ? own : "");
		if (dir_has_controller(parent, "cpu")) {
			sweep(parent);
			snprintf(child, sizeof(child), "%s/ringvm-%s", parent, name);
			if (apply_v2(parent, child, weight, err, n) < 0)
				return -1;
			snprintf(where, wn, "%s (cpu.weight %u)", child, weight);
			return 0;
		}
	}
	if (find_mount(false, mnt, sizeof(mnt)) == 0 && own_path(false, own, sizeof(own)) == 0) {
		snprintf(parent, sizeof(parent), "%s%s", mnt, strcmp(own, "/") ? own : "");
		sweep(parent);
		snprintf(child, sizeof(child), "%s/ringvm-%s", parent, name);
		if (apply_v1(child, weight, err, n) < 0)
			return -1;
		snprintf(where, wn, "%s (cgroup v1 cpu.shares %u)", child,
			 weight * 1024 / 100 < 2 ? 2 : weight * 1024 / 100);
		return 0;
	}
	return err_set(err, n, "no cgroup cpu controller is available to ringvm (cgroup v2 without the "
		    "cpu controller delegated to its cgroup, and no cgroup v1 cpu hierarchy)");
}

int cpu_weight_setup(const struct vm_config *cfg, const char *name)
{
	char where[CPU_WEIGHT_PATH_LEN + 64], err[CPU_WEIGHT_PATH_LEN + 256];
	if (!cfg->cpu_weight)
		return 0;
	if (cpu_weight_apply(name, cfg->cpu_weight, where, sizeof(where), err, sizeof(err)) == 0) {
		pr_info("cpu weight %u: %s", cfg->cpu_weight, where);
		return 0;
	}
	if (cfg->cpu_weight_strict) {
		pr_err("cpu weight %u cannot be set: %s", cfg->cpu_weight, err);
		return RINGVM_EXIT_USAGE;
	}
	pr_warn("cpu weight %u not set, the VM runs with the default weight: %s", cfg->cpu_weight, err);
	return 0;
}
