/* The jail (`ringvm jail`, docs/sandbox.md): a VM run in new mount, PID,
 * IPC, UTS and network namespaces, pivoted into a directory holding only
 * its files, as an unprivileged user, with resource limits and no new
 * privileges.  After Firecracker's jailer (docs/jailer.md there). */
#ifndef RINGVM_JAIL_H
#define RINGVM_JAIL_H

#include <stdbool.h>
#include <sys/types.h>

struct vm_config;

#define JAIL_MAX_CGROUPS 16

struct jail_opts {
	const char *id;          /* [A-Za-z0-9-]{1,64}: the jail's directory name */
	uid_t uid;
	gid_t gid;
	const char *base;        /* --chroot-base-dir (default /srv/jailer) */
	const char *exec_name;   /* basename of --exec-file (default "ringvm"):
				    the jail is BASE/exec_name/ID/root */
	const char *netns;       /* --netns PATH: join it instead of a new one */
	unsigned long long nofile;   /* RLIMIT_NOFILE (default 2048) */
	bool has_fsize;
	unsigned long long fsize;    /* RLIMIT_FSIZE */
	bool has_memlock;
	unsigned long long memlock;  /* RLIMIT_MEMLOCK */
	bool daemonize;          /* setsid, stdio to /dev/null (the jailer's) */
	bool new_pid_ns;         /* the jailer's --new-pid-ns: ROOT/<exec_name>.pid
				    holds the VMM's pid and the parent exits 0 */
	bool fc_form;            /* Firecracker's arguments after `--`: ROOT/run
				    is made for the API socket */
	const char *cgroups[JAIL_MAX_CGROUPS]; /* --cgroup FILE=VALUE (checked: jail_cgroup_spec_valid) */
	unsigned ncgroups;
	const char *parent_cgroup;  /* --parent-cgroup (default: exec_name) */
	int cgroup_version;      /* 1 (the jailer's default) or 2 */
	bool verbose;
};

#define JAIL_DEFAULT_BASE   "/srv/jailer"
#define JAIL_DEFAULT_NOFILE 2048

/* Jail the VM described by cfg and run it through run(cfg, arg) inside;
 * the files cfg names (kernel, initrd, serial) are bound in and its paths
 * rewritten to the jail's (none in the Firecracker form: the caller put the
 * files into the jail root), and cfg->pagemap_fd is opened before the
 * pivot.  Returns the process exit status: the VM's, 128+N if the jailed
 * process died of signal N, 0 at once with new_pid_ns (the VMM goes on),
 * or 6 after one line when the host refuses a step (namespaces not
 * permitted, ...). */
int jail_run(const struct jail_opts *o, struct vm_config *cfg,
	     int (*run)(struct vm_config *cfg, void *arg), void *arg);

/* /dev in the jail (src/sandbox/jail_dev.c): a small tmpfs on ROOT/dev with
 * kvm and net/tun owned by the jail's user, urandom and null; the nodes the
 * host lacks are left out.  Returns 0 or -1 with errno set and the failing
 * path in failed. */
int jail_make_dev(const char *root, uid_t uid, gid_t gid, char *failed, size_t n);

/* The jail's cgroups (src/sandbox/jail_cgroup.c): each --cgroup value
 * written in PARENT/ID of its controller's hierarchy, and this process moved
 * there (before the fork: the VMM starts in it).  0, or the exit status
 * after one line (2: no hierarchy offers the controller; 6: the host
 * refused). */
int jail_cgroups(const struct jail_opts *o);
/* CONTROLLER.PROPERTY=VALUE, as the jailer's --cgroup. */
bool jail_cgroup_spec_valid(const char *s);
/* A relative cgroup path without . or .. components. */
bool jail_parent_cgroup_valid(const char *s);

/* Whether s is a valid jail id. */
bool jail_id_valid(const char *s);

#endif
