/* The jail (docs/sandbox.md, "The jail"): namespaces, a pivot_root into a
 * directory holding only the VM's files, /dev with only what the VM needs,
 * an unprivileged uid/gid, resource limits, no inherited descriptors and
 * no new privileges; then the VM runs in this same process image (the
 * binary and its libraries are mapped already, so the jail needs no copy of
 * them).  The steps follow Firecracker's jailer (docs/jailer.md there). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ringvm/jail.h"
#include "ringvm/log.h"
#include "ringvm/vm.h"

bool jail_id_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-')
			return false;
	return true;
}

/* One line naming the step and the host's reason; status 6. */
static int jail_fail(const char *step, const char *path)
{
	int e = errno;
	if (path)
		pr_err("jail: %s %s: %s", step, path, strerror(e));
	else
		pr_err("jail: %s: %s", step, strerror(e));
	return RINGVM_EXIT_HOST_ERROR;
}

static int mkdir_p(char *path, mode_t mode)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		int r = mkdir(path, mode);
		*p = '/';
		if (r < 0 && errno != EEXIST)
			return -1;
	}
	return mkdir(path, mode) < 0 && errno != EEXIST ? -1 : 0;
}

/* A file of the VM, bound into the jail at /name (read-only unless
 * writable).  The placeholder is created in the jail directory; the bind
 * lives only in the jail's mount namespace. */
struct jail_file {
	const char **cfg_path;   /* the vm_config field, rewritten */
	const char *name;        /* "/kernel", ... */
	bool writable;
};

static int jail_bind_file(const char *root, const char *src, const char *name, bool writable)
{
	char dst[PATH_MAX];
	if (snprintf(dst, sizeof(dst), "%s%s", root, name) >= (int)sizeof(dst)) {
		errno = ENAMETOOLONG;
		return jail_fail("path", root);
	}
	int fd = open(dst, O_WRONLY | O_CREAT | O_CLOEXEC, 0444);
	if (fd < 0)
		return jail_fail("cannot create", dst);
	close(fd);
	if (mount(src, dst, NULL, MS_BIND, NULL) < 0)
		return jail_fail("cannot bind-mount", src);
	unsigned long ro = writable ? 0 : MS_RDONLY;
	if (mount(NULL, dst, NULL, MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV | ro, NULL) < 0)
		return jail_fail("cannot remount", dst);
	return 0;
}

/* --daemonize: stdin, stdout and stderr on /dev/null (fd: open on it). */
static void jail_stdio_null(int fd)
{
	for (int i = 0; i <= 2; i++)
		if (fd != i)
			dup2(fd, i);
	if (fd > 2)
		close(fd);
}

/* Close every descriptor above stderr except keep (-1: none). */
static void jail_close_fds(int keep)
{
#ifdef SYS_close_range
	bool below = keep <= 3 || syscall(SYS_close_range, 3U, (unsigned)keep - 1, 0U) == 0;
	unsigned from = keep >= 3 ? (unsigned)keep + 1 : 3U;
	if (below && syscall(SYS_close_range, from, ~0U, 0U) == 0)
		return;
#endif
	long max = sysconf(_SC_OPEN_MAX);
	for (long fd = 3; fd < (max > 0 ? max : 1024); fd++)
		if (fd != keep)
			close((int)fd);
}

/* In the jailed child, pid 1 of the new PID namespace. */
static int jail_child(const struct jail_opts *o, const char *root, struct vm_config *cfg,
		      struct jail_file *files, size_t nfiles,
		      int (*run)(struct vm_config *, void *), void *arg)
{
	/* Our mounts stay ours; the host's still propagate in (the jailer's
	 * MS_SLAVE). */
	if (mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL) < 0)
		return jail_fail("cannot make the mounts private", NULL);
	if (mount(root, root, NULL, MS_BIND | MS_NOSUID, NULL) < 0)
		return jail_fail("cannot bind-mount the jail root", root);
	for (size_t i = 0; i < nfiles; i++)
		if (*files[i].cfg_path) {
			int r = jail_bind_file(root, *files[i].cfg_path, files[i].name, files[i].writable);
			if (r)
				return r;
			*files[i].cfg_path = files[i].name;
		}
	char failed[PATH_MAX];
	if (jail_make_dev(root, o->uid, o->gid, failed, sizeof(failed)) < 0)
		return jail_fail("cannot make the jail's /dev:", failed);
	/* The jail's user owns its root (a unix socket goes there). */
	if (chown(root, o->uid, o->gid) < 0)
		return jail_fail("cannot set the owner of", root);
	if (o->fc_form) {
		/* Firecracker's default API socket is /run/firecracker.socket:
		 * its directory, the user's, unless the caller made one. */
		char run_dir[PATH_MAX];
		if (snprintf(run_dir, sizeof(run_dir), "%s/run", root) >= (int)sizeof(run_dir)) {
			errno = ENAMETOOLONG;  /* cannot happen: jail_run leaves room */
			return jail_fail("path", root);
		}
		if (mkdir(run_dir, 0755) == 0) {
			if (chown(run_dir, o->uid, o->gid) < 0)
				return jail_fail("cannot set the owner of", run_dir);
		} else if (errno != EEXIST) {
			return jail_fail("cannot create", run_dir);
		}
	}
	if (sethostname(o->id, strlen(o->id)) < 0)
		return jail_fail("sethostname", NULL);

	/* /proc is gone once the old root is: a snapshot finds the RAM the
	 * guest never touched through this (src/vmm/snapshot_mem.c), opened
	 * now, as the jailer opens /dev/kvm before it enters its jail.  It
	 * shows this process's own mappings only, and without it a snapshot
	 * reads every page (slower, the same file). */
	cfg->pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (cfg->pagemap_fd < 0)
		pr_info("jail: no /proc/self/pagemap (%s): a snapshot will read all of RAM",
			strerror(errno));
	else
		pr_info("jail: /proc/self/pagemap kept open for snapshots");
	if (chdir(root) < 0)
		return jail_fail("chdir", root);
	/* pivot_root(".", "."): the old root ends up under the new one and
	 * is detached at once (pivot_root(2), "NOTES"). */
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return jail_fail("pivot_root into", root);
	if (umount2(".", MNT_DETACH) < 0)
		return jail_fail("cannot detach the old root", NULL);
	if (chdir("/") < 0)
		return jail_fail("chdir", "/");

	struct rlimit nofile = { o->nofile, o->nofile };
	if (setrlimit(RLIMIT_NOFILE, &nofile) < 0)
		return jail_fail("setrlimit RLIMIT_NOFILE", NULL);
	if (o->has_fsize) {
		struct rlimit fsize = { o->fsize, o->fsize };
		if (setrlimit(RLIMIT_FSIZE, &fsize) < 0)
			return jail_fail("setrlimit RLIMIT_FSIZE", NULL);
	}
	if (o->has_memlock) {
		struct rlimit memlock = { o->memlock, o->memlock };
		if (setrlimit(RLIMIT_MEMLOCK, &memlock) < 0)
			return jail_fail("setrlimit RLIMIT_MEMLOCK", NULL);
	}
	jail_close_fds(cfg->pagemap_fd);
	if (setgroups(0, NULL) < 0 || setresgid(o->gid, o->gid, o->gid) < 0)
		return jail_fail("cannot drop to the group", NULL);
	if (setresuid(o->uid, o->uid, o->uid) < 0)
		return jail_fail("cannot drop to the user", NULL);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return jail_fail("PR_SET_NO_NEW_PRIVS", NULL);
	pr_info("jail: %s: running as uid %u gid %u in %s", o->id, (unsigned)o->uid,
		(unsigned)o->gid, root);
	if (o->daemonize) {
		fflush(NULL);
		int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);  /* the jail's */
		if (null_fd < 0)
			return jail_fail("--daemonize: cannot open", "/dev/null");
		jail_stdio_null(null_fd);
	}
	return run(cfg, arg);
}

/* The parent: forward SIGINT, SIGTERM and SIGHUP to the jailed process,
 * return its status. */
static int jail_wait(pid_t child, const sigset_t *set)
{
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(set, &si);
		if (sig < 0) {
			if (errno == EINTR)
				continue;
			return jail_fail("sigwaitinfo", NULL);
		}
		if (sig != SIGCHLD) {
			kill(child, sig);
			continue;
		}
		int st;
		pid_t p = waitpid(child, &st, WNOHANG);
		if (p == child)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	}
}

/* --new-pid-ns, as the jailer: the VMM's pid (as the host sees it) in
 * ROOT/<exec name>.pid, a file that must not exist yet. */
static int jail_write_pid(const char *root, const char *exec_name, pid_t child)
{
	char path[PATH_MAX], text[24];
	if (snprintf(path, sizeof(path), "%s/%s.pid", root, exec_name) >= (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return jail_fail("path", root);
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return jail_fail("cannot create the pid file", path);
	int len = snprintf(text, sizeof(text), "%d", (int)child);
	ssize_t w = write(fd, text, (size_t)len);
	int e = errno;
	close(fd);
	if (w != len) {
		errno = w < 0 ? e : EIO;
		return jail_fail("cannot write the pid file", path);
	}
	return 0;
}

int jail_run(const struct jail_opts *o, struct vm_config *cfg,
	     int (*run)(struct vm_config *, void *), void *arg)
{
	char root[PATH_MAX];
	const char *exec_name = o->exec_name ? o->exec_name : "ringvm";
	/* Room is left for the longest name made below it (dev/net/tun, the
	 * pid file, run). */
	if (snprintf(root, sizeof(root), "%s/%s/%s/root", o->base, exec_name, o->id) >=
	    (int)sizeof(root) - 128) {
		pr_err("--chroot-base-dir %s: path too long", o->base);
		return RINGVM_EXIT_USAGE;
	}
	if (mkdir_p(root, 0755) < 0)
		return jail_fail("cannot create the jail directory", root);

	/* A serial file lives outside and is bound in (created for the
	 * jail's user if it does not exist yet). */
	if (cfg->serial == SERIAL_FILE) {
		int fd = open(cfg->serial_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd >= 0) {
			if (fchown(fd, o->uid, o->gid) < 0) {
				close(fd);
				return jail_fail("cannot set the owner of", cfg->serial_path);
			}
			close(fd);
		} else if (errno != EEXIST) {
			return jail_fail("--serial file:", cfg->serial_path);
		}
	}
	if (cfg->serial == SERIAL_UNIX) /* created inside: ROOT/serial.sock */
		cfg->serial_path = "/serial.sock";
	struct jail_file files[] = {
		{ &cfg->kernel, "/kernel", false },
		{ &cfg->initrd, "/initrd", false },
		{ cfg->serial == SERIAL_FILE ? &cfg->serial_path : &(const char *){ NULL },
		  "/serial.out", true },
	};
	/* Disk images from --drive (virtio-blk, when built) go in the same way. */

	/* Cgroups first, as the jailer: the fork below inherits them. */
	int cst = jail_cgroups(o);
	if (cst)
		return cst;

	int netns_fd = -1;
	if (o->netns) {
		netns_fd = open(o->netns, O_RDONLY | O_CLOEXEC);
		if (netns_fd < 0) {
			pr_err("--netns %s: %s", o->netns, strerror(errno));
			return RINGVM_EXIT_USAGE;
		}
	}
	int flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS |
		    (o->netns ? 0 : CLONE_NEWNET);
	if (unshare(flags) < 0) {
		int e = errno;
		if (netns_fd >= 0)
			close(netns_fd);
		errno = e;
		return jail_fail("cannot create namespaces (mount, PID, IPC, UTS, network; needs root)", NULL);
	}
	if (netns_fd >= 0) {
		int r = setns(netns_fd, CLONE_NEWNET);
		int e = errno;
		close(netns_fd);
		errno = e;
		if (r < 0)
			return jail_fail("cannot join the network namespace", o->netns);
	}

	/* --daemonize: a session of our own (no terminal's SIGHUP reaches
	 * the VMM), stdio on /dev/null: here for the waiting parent, in the
	 * child once the jail is built (its errors still reach the caller). */
	int null_fd = -1;
	if (o->daemonize) {
		null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (null_fd < 0)
			return jail_fail("--daemonize: cannot open", "/dev/null");
		if (setsid() < 0) {
			int e = errno;
			close(null_fd);
			errno = e;
			return jail_fail("--daemonize: setsid (a process group leader cannot start a "
					 "session, as with Firecracker's jailer)", NULL);
		}
	}

	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, &old);
	fflush(NULL);
	pid_t child = fork();
	if (child < 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		return jail_fail("fork", NULL);
	}
	if (child == 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		if (null_fd >= 0)
			close(null_fd);  /* the jail's own /dev/null serves the child */
		int st = jail_child(o, root, cfg, files, sizeof(files) / sizeof(files[0]), run, arg);
		fflush(NULL);
		_exit(st);
	}
	if (o->new_pid_ns) {
		/* As the jailer with --new-pid-ns: the pid file, then the
		 * parent is done; the VMM goes on as PID 1 of its namespace. */
		int st = jail_write_pid(root, exec_name, child);
		if (st) {
			kill(child, SIGKILL);  /* no one would know of it */
			waitpid(child, NULL, 0);
		}
		if (null_fd >= 0)
			close(null_fd);
		sigprocmask(SIG_SETMASK, &old, NULL);
		return st;
	}
	if (null_fd >= 0)
		jail_stdio_null(null_fd);
	int st = jail_wait(child, &set);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return st;
}
