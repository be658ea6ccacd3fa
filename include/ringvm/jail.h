/* The jail (`ringvm jail`, docs/sandbox.md): a VM run in new mount, PID,
 * IPC, UTS and network namespaces, pivoted into a directory holding only
 * its files, as an unprivileged user, with resource limits and no new
 * privileges.  After Firecracker's jailer (docs/jailer.md there). */
#ifndef RINGVM_JAIL_H
#define RINGVM_JAIL_H

#include <stdbool.h>
#include <sys/types.h>

struct vm_config;

struct jail_opts {
	const char *id;          /* [A-Za-z0-9-]{1,64}: the jail's directory name */
	uid_t uid;
	gid_t gid;
	const char *base;        /* --chroot-base-dir (default /srv/jailer) */
	const char *netns;       /* --netns PATH: join it instead of a new one */
	unsigned long long nofile;   /* RLIMIT_NOFILE (default 2048) */
	bool has_fsize;
	unsigned long long fsize;    /* RLIMIT_FSIZE */
	bool verbose;
};

#define JAIL_DEFAULT_BASE   "/srv/jailer"
#define JAIL_DEFAULT_NOFILE 2048

/* Jail the VM described by cfg and run it through run() inside; the paths
 * in cfg are rewritten to the jail's.  Returns the process exit status:
 * the VM's, 128+N if the jailed process died of signal N, or 6 after one
 * line when the host refuses a step (namespaces not permitted, ...). */
int jail_run(const struct jail_opts *o, struct vm_config *cfg, int (*run)(struct vm_config *));

/* Whether s is a valid jail id. */
bool jail_id_valid(const char *s);

#endif
