/* ringvm: the command-line entry point. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include "cmd_fleet.h"
#include "cmd_rebase.h"
#include "cpu_weight.h"
#include "fc_main.h"
#include "options.h"
#include "ringvm/jail.h"
#include "ringvm/log.h"
#include "ringvm/vm.h"
#include "ringvm_config.h"

static const char usage[] =
	"Usage: ringvm COMMAND [options]\n"
	"\n"
	"ringvm is a hosted x86-64 virtual machine monitor with two CPU engines:\n"
	"kvm (hardware-assisted, /dev/kvm) and soft (ringvm's own x86-64 CPU).\n"
	"\n"
	"Commands:\n"
	"  run       boot a kernel (ringvm run --help for its options)\n"
	"  jail      run a VM in a jail: namespaces, chroot, unprivileged user\n"
	"            (ringvm jail --help)\n"
	"  ls        list the user's VMs (those with an API socket); --json\n"
	"  pause, resume, stop, snapshot NAME\n"
	"            act on one of them through its API (ringvm ls --help)\n"
	"  snapshot-rebase --base-file BASE_MEM --diff-file DIFF_MEM\n"
	"            merge a diff snapshot's memory file onto its base's\n"
	"  help      this text\n"
	"  version   print the version\n"
	"\n"
	"Options: -h, --help; -V, --version\n"
	"\n"
	"Firecracker's flags (--api-sock, --config-file, --no-api, ...) run ringvm as a\n"
	"drop-in for the firecracker binary, as does a symlink named firecracker:\n"
	"see firecracker --help and docs/api.md.  A symlink named jailer is `ringvm\n"
	"jail`, taking Firecracker's jailer's command line (ringvm jail --help).\n";

/* Parse `run` options into cfg (and the environment's test hook).  Returns
 * -1 to go on, else the exit status (help shown, or a bad option). */
static int parse_run(int argc, char **argv, struct vm_config *cfg)
{
	char err[512];
	vm_config_defaults(cfg);

	switch (cli_parse_run(argc, argv, cfg, err, sizeof(err))) {
	case CLI_HELP:
		fputs(cli_run_usage, stdout);
		return 0;
	case CLI_ERROR:
		fprintf(stderr, "ringvm: error: %s\n", err);
		return RINGVM_EXIT_USAGE;
	case CLI_OK:
		break;
	}
	/* Test hook (tests/integration/sandbox_seccomp.sh): the named thread
	 * kind makes a forbidden call once filtered.  The host's choice only;
	 * nothing a guest does reaches it. */
	const char *st = getenv("RINGVM_SECCOMP_SELFTEST");
	if (st && *st) {
		cfg->seccomp_selftest = sandbox_kind_parse(st);
		if (cfg->seccomp_selftest < 0) {
			fprintf(stderr, "ringvm: error: RINGVM_SECCOMP_SELFTEST=%s: expected main, vcpu, "
				"writer, io or api\n", st);
			return RINGVM_EXIT_USAGE;
		}
	}
	return -1;
}

static int run_vm(struct vm_config *cfg)
{
	if (cfg->verbose)
		log_set_level(LOG_INFO);
	/* A closed stdout (ringvm ... | head) must not kill the VMM: the serial
	 * back end sees EPIPE and drops output instead. */
	signal(SIGPIPE, SIG_IGN);

	char name[32];
	snprintf(name, sizeof(name), "run-%d", (int)getpid());
	int wst = cpu_weight_setup(cfg, name);
	if (wst)
		return wst;

	static struct vm vm; /* large; one per process for the CLI */
	int status = vm_create(&vm, cfg);
	if (status == 0)
		status = vm_run(&vm);
	vm.process_exiting = true; /* the CLI returns to exit() next */
	vm_destroy(&vm);
	return status;
}

static int run_vm_jailed(struct vm_config *cfg, void *arg)
{
	(void)arg;
	return run_vm(cfg);
}

/* The jail's Firecracker form: argv as the jailer execs firecracker. */
struct jail_fc_args {
	int argc;
	char **argv;
};

static int run_fc_jailed(struct vm_config *cfg, void *arg)
{
	struct jail_fc_args *a = arg;
	return fc_main_jailed(a->argc, a->argv, true, cfg->pagemap_fd);
}

static int cmd_run(int argc, char **argv)
{
	struct vm_config cfg;
	int r = parse_run(argc, argv, &cfg);
	return r >= 0 ? r : run_vm(&cfg);
}

static int cmd_jail(int argc, char **argv)
{
	struct jail_opts o;
	struct vm_config cfg;
	char err[512];
	int run_index;

	switch (cli_parse_jail(argc, argv, &o, &run_index, err, sizeof(err))) {
	case CLI_HELP:
		fputs(cli_jail_usage, stdout);
		return 0;
	case CLI_ERROR:
		fprintf(stderr, "ringvm: error: %s\n", err);
		return RINGVM_EXIT_USAGE;
	case CLI_OK:
		break;
	}
	if (o.fc_form) {
		/* As the jailer: firecracker --id=ID, then what followed `--`
		 * (a later --id there wins, as getopt takes the last). */
		char id_arg[80];
		int n = argc - run_index;
		char **fc_argv = calloc((size_t)n + 3, sizeof(*fc_argv));
		if (!fc_argv) {
			fprintf(stderr, "ringvm: error: out of memory\n");
			return RINGVM_EXIT_HOST_ERROR;
		}
		snprintf(id_arg, sizeof(id_arg), "--id=%s", o.id);
		fc_argv[0] = "firecracker";
		fc_argv[1] = id_arg;
		for (int i = 0; i < n; i++)
			fc_argv[2 + i] = argv[run_index + i];
		fc_argv[2 + n] = NULL;
		struct jail_fc_args a = { 2 + n, fc_argv };
		vm_config_defaults(&cfg);  /* no files to bind: only pagemap_fd is used */
		if (o.verbose)
			log_set_level(LOG_INFO);
		int st = jail_run(&o, &cfg, run_fc_jailed, &a);
		free(fc_argv);
		return st;
	}
	int r = parse_run(argc - run_index, argv + run_index, &cfg);
	if (r >= 0)
		return r;
	if (o.verbose || cfg.verbose)
		log_set_level(LOG_INFO);
	return jail_run(&o, &cfg, run_vm_jailed, NULL);
}

int main(int argc, char **argv)
{
	const char *base = argc > 0 ? strrchr(argv[0], '/') : NULL;
	base = base ? base + 1 : argc > 0 ? argv[0] : "";
	if (!strcmp(base, "jailer"))  /* a symlink named jailer: Firecracker's jailer */
		return cmd_jail(argc, argv);
	if (!strcmp(base, "firecracker") || (argc >= 2 && fc_is_flag(argv[1])))
		return fc_main(argc, argv);
	if (argc < 2) {
		fputs(usage, stderr);
		return RINGVM_EXIT_USAGE;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		fputs(usage, stdout);
		return 0;
	}
	if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
		printf("ringvm %s\n", RINGVM_VERSION);
		return 0;
	}
	if (!strcmp(cmd, "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(cmd, "jail"))
		return cmd_jail(argc - 1, argv + 1);
	if (!strcmp(cmd, "snapshot-rebase"))
		return cmd_snapshot_rebase(argc - 1, argv + 1);
	if (fleet_is_command(cmd))
		return cmd_fleet(argc - 1, argv + 1);
	fprintf(stderr, "ringvm: error: unknown command '%s' (try ringvm --help)\n", cmd);
	return RINGVM_EXIT_USAGE;
}
