/* The runtime directory of a user's VMs (fleet_registry.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fleet_registry.h"
#include "ringvm/errbuf.h"

static bool name_ok(const char *s)
{
	size_t len = strlen(s);
	if (len < 1 || len > 64)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
			return false;
	return true;
}

/* dir must be a directory of ours that no one else can enter. */
static int check_dir(const char *dir, char *err, size_t n)
{
	struct stat st;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return err_set(err, n, "cannot create the runtime directory %s: %s", dir, strerror(errno));
	if (lstat(dir, &st) < 0)
		return err_set(err, n, "runtime directory %s: %s", dir, strerror(errno));
	if (!S_ISDIR(st.st_mode) || st.st_uid != getuid() || (st.st_mode & 077))
		return err_set(err, n, "runtime directory %s: not a directory of uid %u with mode 0700",
			    dir, (unsigned)getuid());
	return 0;
}

int fleet_dir(char *dst, size_t n, char *err, size_t errlen)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	char run_user[64];
	struct stat st;
	int len;
	snprintf(run_user, sizeof(run_user), "/run/user/%u", (unsigned)getuid());
	if (xdg && xdg[0] == '/')
		len = snprintf(dst, n, "%s/ringvm", xdg);
	else if (stat(run_user, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == getuid())
		len = snprintf(dst, n, "%s/ringvm", run_user);
	else
		len = snprintf(dst, n, "/tmp/ringvm-%u", (unsigned)getuid());
	if (len < 0 || (size_t)len >= n)
		return err_set(err, errlen, "the runtime directory's path is too long");
	return check_dir(dst, err, errlen);
}

static int entry_path(char *dst, size_t n, const char *name, char *err, size_t errlen)
{
	char dir[FLEET_PATH_LEN];
	if (!name_ok(name))
		return err_set(err, errlen, "'%.80s': a VM name is 1-64 of [A-Za-z0-9_-]", name);
	if (fleet_dir(dir, sizeof(dir), err, errlen) < 0)
		return -1;
	if (snprintf(dst, n, "%s/%s.json", dir, name) >= (int)n)
		return err_set(err, errlen, "the runtime directory's path is too long");
	return 0;
}

int fleet_entry_parse(const char *text, struct fleet_entry *out)
{
	json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	const char *name = NULL, *sock = NULL;
	json_int_t pid = 0, started = 0;
	int r = -1;
	memset(out, 0, sizeof(*out));
	if (j && json_unpack(j, "{s:s, s:I, s:s, s:I}", "name", &name, "pid", &pid, "api_sock",
			     &sock, "started_ms", &started) == 0 &&
	    name_ok(name) && pid > 0 && pid <= INT_MAX && sock[0] == '/' &&
	    strlen(sock) < sizeof(out->api_sock)) {
		strcpy(out->name, name);
		strcpy(out->api_sock, sock);
		out->pid = (pid_t)pid;
		out->started_ms = started;
		r = 0;
	}
	json_decref(j);
	return r;
}

static bool pid_alive(pid_t pid)
{
	return kill(pid, 0) == 0 || errno == EPERM;
}

/* Read an entry file: 0 live, -1 missing/unreadable, -2 stale (removed). */
static int read_entry(const char *path, struct fleet_entry *out)
{
	char buf[FLEET_PATH_LEN + 512];
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	ssize_t len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return -1;
	buf[len] = 0;
	if (fleet_entry_parse(buf, out) < 0)
		return -1;
	if (!pid_alive(out->pid)) {
		unlink(path);
		return -2;
	}
	return 0;
}

int fleet_register(const char *name, const char *api_sock, char *entry, char *err, size_t errlen)
{
	char path[FLEET_PATH_LEN + 80], tmp[FLEET_PATH_LEN + 100], sock[PATH_MAX];
	struct fleet_entry old;
	if (entry_path(path, sizeof(path), name, err, errlen) < 0)
		return -1;
	if (read_entry(path, &old) == 0 && old.pid != getpid()) {
		err_set(err, errlen, "a VM named %s is running already (pid %d)", name, (int)old.pid);
		return FLEET_NAME_TAKEN;
	}
	/* The socket's absolute path: a client may run in another directory. */
	char dirbuf[PATH_MAX];
	if (api_sock[0] == '/') {
		snprintf(sock, sizeof(sock), "%s", api_sock);
	} else if (!getcwd(dirbuf, sizeof(dirbuf)) ||
		   snprintf(sock, sizeof(sock), "%s/%s", dirbuf, api_sock) >= (int)sizeof(sock)) {
		return err_set(err, errlen, "cannot resolve the API socket's path %s", api_sock);
	}
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	json_t *j = json_pack("{s:s, s:i, s:s, s:I}", "name", name, "pid", (int)getpid(),
			      "api_sock", sock, "started_ms",
			      (json_int_t)now.tv_sec * 1000 + now.tv_nsec / 1000000);
	char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (!text)
		return err_set(err, errlen, "out of memory");
	snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	size_t len = strlen(text);
	bool ok = fd >= 0 && write(fd, text, len) == (ssize_t)len;
	if (fd >= 0)
		close(fd);
	free(text);
	if (!ok || rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		return err_set(err, errlen, "cannot write %s: %s", path, strerror(e));
	}
	memcpy(entry, path, sizeof(path));
	return 0;
}

void fleet_unregister(const char *entry)
{
	if (entry[0])
		unlink(entry);
}

int fleet_lookup(const char *name, struct fleet_entry *out)
{
	char path[FLEET_PATH_LEN + 80], err[256];
	if (entry_path(path, sizeof(path), name, err, sizeof(err)) < 0)
		return -1;
	return read_entry(path, out) == 0 ? 0 : -1;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct fleet_entry *)a)->name, ((const struct fleet_entry *)b)->name);
}

int fleet_list(struct fleet_entry **out, char *err, size_t errlen)
{
	char dir[FLEET_PATH_LEN], path[FLEET_PATH_LEN + 300];
	*out = NULL;
	if (fleet_dir(dir, sizeof(dir), err, errlen) < 0)
		return -1;
	DIR *d = opendir(dir);
	if (!d)
		return err_set(err, errlen, "cannot read %s: %s", dir, strerror(errno));
	struct fleet_entry *v = NULL;
	int nr = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (len < 6 || strcmp(de->d_name + len - 5, ".json"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		struct fleet_entry e;
		if (read_entry(path, &e) < 0)
			continue;
		if (nr == cap) {
			cap = cap ? cap * 2 : 16;
			struct fleet_entry *nv = realloc(v, (size_t)cap * sizeof(*v));
			if (!nv)
				break;
			v = nv;
		}
		v[nr++] = e;
	}
	closedir(d);
	if (nr)
		qsort(v, (size_t)nr, sizeof(*v), by_name);
	*out = v;
	return nr;
}
