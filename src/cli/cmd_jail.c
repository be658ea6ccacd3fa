/* `ringvm jail`: parse the jail's options and the `run` options after `--`,
 * then run the VM inside the jail (src/sandbox/jail.c, docs/sandbox.md). */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "options.h"
#include "ringvm/jail.h"

const char cli_jail_usage[] =
	"Usage: ringvm jail --id ID --uid N --gid N [options] -- run RUN-OPTIONS...\n"
	"\n"
	"Run a VM in a jail, after Firecracker's jailer: new mount, PID, IPC, UTS and\n"
	"network namespaces; a pivot_root into CHROOT-BASE/ringvm/ID/root holding only\n"
	"the VM's files (the kernel at /kernel, the initrd at /initrd, a --serial file\n"
	"at /serial.out, a --serial unix socket at /serial.sock) and /dev/kvm,\n"
	"/dev/urandom, /dev/null; then user N, group N, resource limits, no inherited\n"
	"descriptors, no new privileges, and the seccomp filters of `ringvm run`.\n"
	"Needs root.\n"
	"\n"
	"  --id ID                  the jail's name: letters, digits and '-', at most 64\n"
	"  --uid N, --gid N         the unprivileged user and group the VM runs as\n"
	"  --chroot-base-dir DIR    where jails live (absolute; default " JAIL_DEFAULT_BASE ")\n"
	"  --netns PATH             join this network namespace (/var/run/netns/NAME)\n"
	"                           instead of a new, empty one\n"
	"  --resource-limit RES=N   no-file (default 2048) or fsize (bytes); repeatable\n"
	"  -v, --verbose            say what the jail does\n"
	"  -h, --help               this help\n"
	"\n"
	"Exit status: the VM's (ringvm run --help); 2 bad options; 6 the host refused a\n"
	"step (namespaces not permitted, not root, ...).\n";

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

enum { OPT_ID = 256, OPT_UID, OPT_GID, OPT_BASE, OPT_NETNS, OPT_RLIMIT };

static const struct option jail_options[] = {
	{ "id", required_argument, NULL, OPT_ID },
	{ "uid", required_argument, NULL, OPT_UID },
	{ "gid", required_argument, NULL, OPT_GID },
	{ "chroot-base-dir", required_argument, NULL, OPT_BASE },
	{ "netns", required_argument, NULL, OPT_NETNS },
	{ "resource-limit", required_argument, NULL, OPT_RLIMIT },
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
		return jfail(err, len, "--resource-limit %s: expected no-file=N or fsize=N", s);
	if (!strncmp(s, "no-file=", 8)) {
		if (v < 16)
			return jfail(err, len, "--resource-limit %s: no-file must be at least 16", s);
		o->nofile = v;
	} else if (!strncmp(s, "fsize=", 6)) {
		o->has_fsize = true;
		o->fsize = v;
	} else {
		return jfail(err, len, "--resource-limit %s: expected no-file=N or fsize=N", s);
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
	optind = 0;
	opterr = 0;
	/* '+': stop at the first non-option (the `--` and `run` after it). */
	while ((c = getopt_long(argc, argv, "+:vh", jail_options, NULL)) != -1) {
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
	if (optind >= argc || strcmp(argv[optind - 1], "--") || strcmp(argv[optind], "run"))
		return jfail(err, errlen, "expected `-- run RUN-OPTIONS...` after the jail's options");
	*run_index = optind;
	return CLI_OK;
}
