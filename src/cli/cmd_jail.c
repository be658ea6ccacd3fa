/* `ringvm jail`: parse the jail's options and the `run` options after `--`,
 * then run the VM inside the jail (src/sandbox/jail.c, docs/sandbox.md). */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fc_main.h"
#include "options.h"
#include "ringvm/jail.h"

const char cli_jail_usage[] =
	"Usage: ringvm jail --id ID --uid N --gid N [options] -- run RUN-OPTIONS...\n"
	"       ringvm jail --id ID --uid N --gid N [options] [-- FIRECRACKER-OPTIONS...]\n"
	"       (or a symlink named jailer, as Firecracker's jailer)\n"
	"\n"
	"Run a VM in a jail, after Firecracker's jailer: new mount, PID, IPC, UTS and\n"
	"network namespaces; a pivot_root into ROOT = CHROOT-BASE/EXEC-NAME/ID/root\n"
	"(EXEC-NAME: the basename of --exec-file, else ringvm) with /dev holding kvm\n"
	"and net/tun (owned by the jail's user), urandom and null; then user N, group N,\n"
	"resource limits, no inherited descriptors, no new privileges, and the seccomp\n"
	"filters of `ringvm run`.  Needs root.\n"
	"\n"
	"`-- run ...`: ringvm run inside; the VM's files are bound into ROOT (the kernel\n"
	"at /kernel, the initrd at /initrd, a --serial file at /serial.out, a --serial\n"
	"unix socket at /serial.sock).\n"
	"Otherwise, what follows `--` (nothing: Firecracker's defaults) runs ringvm's\n"
	"Firecracker mode inside, as the jailer runs firecracker, given --id ID: the API\n"
	"socket (default /run/firecracker.socket; ROOT/run is made for it) and every\n"
	"path in the config and the API are the jail's; put the VM's files into ROOT.\n"
	"\n"
	"  --id ID                  the jail's name: letters, digits and '-', at most 64\n"
	"  --uid N, --gid N         the unprivileged user and group the VM runs as\n"
	"  --exec-file PATH         the jailer's: must be this ringvm binary (or a link to\n"
	"                           it, e.g. firecracker); nothing is copied or exec'd\n"
	"  --chroot-base-dir DIR    where jails live (absolute; default " JAIL_DEFAULT_BASE ")\n"
	"  --netns PATH             join this network namespace (/var/run/netns/NAME)\n"
	"                           instead of a new, empty one\n"
	"  --resource-limit RES=N   no-file (default 2048), fsize or memlock (bytes);\n"
	"                           repeatable\n"
	"  --daemonize              setsid, stdin/stdout/stderr on /dev/null\n"
	"  --new-pid-ns             the VMM's pid goes to ROOT/EXEC-NAME.pid and ringvm\n"
	"                           jail exits 0 at once (without it, ringvm jail waits\n"
	"                           and exits with the VM's status; the VM has its own PID\n"
	"                           namespace either way)\n"
	"  --cgroup FILE=VALUE      write VALUE to FILE (CONTROLLER.PROPERTY, e.g.\n"
	"                           cpu.shares=512) of the cgroup PARENT/ID, which the\n"
	"                           VMM starts in; repeatable\n"
	"  --parent-cgroup PATH     PARENT (relative; default EXEC-NAME); with cgroup v2\n"
	"                           and no --cgroup, the VMM moves into PATH if it exists\n"
	"  --cgroup-version 1|2     the hierarchy used (default 1, as the jailer)\n"
	"  --node N                 refused: not supported yet\n"
	"  -v, --verbose            say what the jail does\n"
	"  -h, --help               this help\n"
	"\n"
	"Exit status: the VM's (ringvm run --help, firecracker --help); 0 at once with\n"
	"--new-pid-ns; 2 bad options; 6 the host refused a step (namespaces not\n"
	"permitted, not root, ...).\n";

static int parse_id_number(const char *s, unsigned long long *out)
{
	if (!s || !*s || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v > 0xfffffffeULL)
		return -1;
	*out = v;
	return 0;
}

enum {
	OPT_ID = 256, OPT_UID, OPT_GID, OPT_BASE, OPT_NETNS, OPT_RLIMIT, OPT_EXEC_FILE,
	OPT_DAEMONIZE, OPT_NEW_PID_NS, OPT_CGROUP_VERSION, OPT_CGROUP, OPT_PARENT_CGROUP,
	OPT_UNSUPPORTED,
};

static const struct option jail_options[] = {
	{ "id", required_argument, NULL, OPT_ID },
	{ "uid", required_argument, NULL, OPT_UID },
	{ "gid", required_argument, NULL, OPT_GID },
	{ "chroot-base-dir", required_argument, NULL, OPT_BASE },
	{ "netns", required_argument, NULL, OPT_NETNS },
	{ "resource-limit", required_argument, NULL, OPT_RLIMIT },
	{ "exec-file", required_argument, NULL, OPT_EXEC_FILE },
	{ "daemonize", no_argument, NULL, OPT_DAEMONIZE },
	{ "new-pid-ns", no_argument, NULL, OPT_NEW_PID_NS },
	{ "cgroup-version", required_argument, NULL, OPT_CGROUP_VERSION },
	{ "cgroup", required_argument, NULL, OPT_CGROUP },
	{ "parent-cgroup", required_argument, NULL, OPT_PARENT_CGROUP },
	/* What ringvm does not set up yet: refused, never ignored. */
	{ "node", required_argument, NULL, OPT_UNSUPPORTED },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static enum cli_result jfail(char *err, size_t len, const char *fmt, ...) PRINTF_FMT(3, 4);
static enum cli_result jfail(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return CLI_ERROR;
}

static enum cli_result parse_rlimit(const char *s, struct jail_opts *o, char *err, size_t len)
{
	unsigned long long v;
	const char *eq = strchr(s, '=');
	if (!eq || parse_id_number(eq + 1, &v) < 0)
		return jfail(err, len, "--resource-limit %s: expected no-file=N, fsize=N or memlock=N", s);
	if (!strncmp(s, "no-file=", 8)) {
		if (v < 16)
			return jfail(err, len, "--resource-limit %s: no-file must be at least 16", s);
		o->nofile = v;
	} else if (!strncmp(s, "fsize=", 6)) {
		o->has_fsize = true;
		o->fsize = v;
	} else if (!strncmp(s, "memlock=", 8)) {
		o->has_memlock = true;
		o->memlock = v;
	} else {
		return jfail(err, len, "--resource-limit %s: expected no-file=N, fsize=N or memlock=N", s);
	}
	return CLI_OK;
}

/* --exec-file: the jailer execs it; ringvm runs its own Firecracker mode in
 * the jail instead, so the file must be this very binary (a path or a
 * symlink to it), never another program that would silently not run. */
static enum cli_result parse_exec_file(const char *path, struct jail_opts *o, char *err, size_t len)
{
	struct stat st, self;
	if (stat(path, &st) < 0)
		return jfail(err, len, "--exec-file %s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return jfail(err, len, "--exec-file %s: not a regular file", path);
	if (stat("/proc/self/exe", &self) < 0)
		return jfail(err, len, "--exec-file %s: cannot check it is this ringvm (/proc/self/exe: %s)",
			     path, strerror(errno));
	if (st.st_dev != self.st_dev || st.st_ino != self.st_ino)
		return jfail(err, len, "--exec-file %s: not this ringvm binary (ringvm jail runs its own "
			     "Firecracker mode; it execs no other program)", path);
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	if (!*base || !strcmp(base, ".") || !strcmp(base, ".."))
		return jfail(err, len, "--exec-file %s: no file name", path);
	o->exec_name = base;
	return CLI_OK;
}

/* The Firecracker form's arguments are parsed by the Firecracker mode in
 * the jail; a flag it does not know is caught here first, before anything
 * is made (its values are checked inside, status 2 all the same). */
static enum cli_result check_fc_args(int argc, char **argv, char *err, size_t len)
{
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (strncmp(a, "--", 2) || !strcmp(a, "--help") || !strcmp(a, "--version") ||
		    fc_is_flag(a))
			continue;
		return jfail(err, len, "%s: not a Firecracker flag (after `--`; firecracker --help "
			     "lists them, or use `-- run RUN-OPTIONS...`)", a);
	}
	return CLI_OK;
}

enum cli_result cli_parse_jail(int argc, char **argv, struct jail_opts *o, int *run_index,
			       char *err, size_t errlen)
{
	unsigned long long n;
	bool have_uid = false, have_gid = false;
	enum cli_result r;
	int c;

	memset(o, 0, sizeof(*o));
	o->base = JAIL_DEFAULT_BASE;
	o->nofile = JAIL_DEFAULT_NOFILE;
	o->cgroup_version = 1;  /* the jailer's default */
	optind = 0;
	opterr = 0;
	/* '+': stop at the first non-option (the `--` and `run` after it). */
	int idx = 0;
	while ((c = getopt_long(argc, argv, "+:vh", jail_options, &idx)) != -1) {
		switch (c) {
		case OPT_ID:
			if (!jail_id_valid(optarg))
				return jfail(err, errlen, "--id %s: letters, digits and '-' only, 1 to 64 of them", optarg);
			o->id = optarg;
			break;
		case OPT_UID:
		case OPT_GID:
			if (parse_id_number(optarg, &n) < 0)
				return jfail(err, errlen, "--%s %s: not a user/group number",
					     c == OPT_UID ? "uid" : "gid", optarg);
			if (c == OPT_UID)
				o->uid = (uid_t)n, have_uid = true;
			else
				o->gid = (gid_t)n, have_gid = true;
			break;
		case OPT_BASE:
			if (optarg[0] != '/')
				return jfail(err, errlen, "--chroot-base-dir %s: must be an absolute path", optarg);
			o->base = optarg;
			break;
		case OPT_NETNS: {
			struct stat st;
			if (stat(optarg, &st) < 0)
				return jfail(err, errlen, "--netns %s: %s", optarg, strerror(errno));
			o->netns = optarg;
			break;
		}
		case OPT_RLIMIT:
			if ((r = parse_rlimit(optarg, o, err, errlen)) != CLI_OK)
				return r;
			break;
		case OPT_EXEC_FILE:
			if ((r = parse_exec_file(optarg, o, err, errlen)) != CLI_OK)
				return r;
			break;
		case OPT_DAEMONIZE: o->daemonize = true; break;
		case OPT_NEW_PID_NS: o->new_pid_ns = true; break;
		case OPT_CGROUP_VERSION:
			if (strcmp(optarg, "1") && strcmp(optarg, "2"))
				return jfail(err, errlen, "--cgroup-version %s: expected 1 or 2", optarg);
			o->cgroup_version = optarg[0] - '0';
			break;
		case OPT_CGROUP:
			if (!jail_cgroup_spec_valid(optarg))
				return jfail(err, errlen, "--cgroup %s: expected CONTROLLER.PROPERTY=VALUE "
					     "(e.g. cpu.shares=512)", optarg);
			if (o->ncgroups >= JAIL_MAX_CGROUPS)
				return jfail(err, errlen, "--cgroup %s: at most %d of them", optarg,
					     JAIL_MAX_CGROUPS);
			o->cgroups[o->ncgroups++] = optarg;
			break;
		case OPT_PARENT_CGROUP:
			if (!jail_parent_cgroup_valid(optarg))
				return jfail(err, errlen, "--parent-cgroup %s: expected a relative path of "
					     "[A-Za-z0-9._-] names (no . or ..)", optarg);
			o->parent_cgroup = optarg;
			break;
		case OPT_UNSUPPORTED:
			return jfail(err, errlen, "--%s: not supported yet by ringvm jail (NUMA placement; "
				     "--cgroup cpuset.cpus=... cpuset.mems=... does it by hand)",
				     jail_options[idx].name);
		case 'v': o->verbose = true; break;
		case 'h': return CLI_HELP;
		case ':':
			return jfail(err, errlen, "%s needs a value", argv[optind - 1]);
		default:
			return jfail(err, errlen, "unknown option %s (see ringvm jail --help)",
				     argv[optind - 1]);
		}
	}
	if (!o->id)
		return jfail(err, errlen, "--id is required (see ringvm jail --help)");
	if (!have_uid || !have_gid)
		return jfail(err, errlen, "--uid and --gid are required (see ringvm jail --help)");
	/* After the options: `-- run ...`, `-- FIRECRACKER-OPTIONS...`, or
	 * nothing (the jailer's form with Firecracker's defaults). */
	bool dashdash = optind > 1 && !strcmp(argv[optind - 1], "--");
	if (optind < argc && !dashdash)
		return jfail(err, errlen, "%s: expected `-- run RUN-OPTIONS...` or `-- "
			     "FIRECRACKER-OPTIONS...` after the jail's options", argv[optind]);
	*run_index = optind;
	o->fc_form = optind >= argc || strcmp(argv[optind], "run");
	if (o->fc_form && (r = check_fc_args(argc - optind, argv + optind, err, errlen)) != CLI_OK)
		return r;
	return CLI_OK;
}
