/* `ringvm` as `firecracker`: Firecracker's command line (--api-sock,
 * --config-file, --no-api, ...), its config file and its REST API
 * (docs/api.md).  Entered when argv[0]'s basename is "firecracker" or
 * argv[1] is one of Firecracker's flags (src/cli/main.c).
 *
 * Threads: the main thread owns the VM.  Before InstanceStart it waits for
 * API requests (and signals); then it runs the VM (vm_run), whose event
 * loop also watches the API queue, so every request is handled here, never
 * on the HTTP thread. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "../api/api.h"
#include "cpu_weight.h"
#include "fc_main.h"
#include "fleet_registry.h"
#include "ringvm/clock.h"
#include "ringvm/fatal_metrics.h"
#include "ringvm/log.h"
#include "ringvm/sandbox.h"
#include "ringvm/snapshot.h"
#include "ringvm/vm.h"
#include "ringvm_config.h"

const char fc_usage[] =
	"Usage: firecracker [options]      (or: ringvm --api-sock PATH | --config-file PATH ...)\n"
	"\n"
	"ringvm speaking Firecracker's command line, config file and REST API\n"
	"(docs/api.md lists what is supported and where it differs).\n"
	"\n"
	"  --api-sock PATH          the API's Unix socket (default /run/firecracker.socket);\n"
	"                           the path must not exist\n"
	"  --config-file PATH       start a microVM from Firecracker's JSON config at once\n"
	"  --no-api                 no API socket (needs --config-file)\n"
	"  --id ID                  the instance id (GET /), 1-64 of [A-Za-z0-9_-]; also the\n"
	"                           VM's name for ringvm ls|pause|resume|stop (default vm-PID)\n"
	"  --level LEVEL            Error, Warning, Info, Debug, Trace or Off\n"
	"  --log-path PATH          write ringvm's messages to PATH (appended)\n"
	"  --show-level, --show-log-origin  accepted (ringvm's messages have a fixed form)\n"
	"  --metrics-path PATH      metrics as Firecracker's: one JSON line on FlushMetrics\n"
	"                           and every 60 s (docs/api.md, \"Metrics\")\n"
	"  --http-api-max-payload-size N  largest request body (default 51200)\n"
	"  --no-seccomp             do not install the syscall filter\n"
	"  --boot-timer             log the guest's boot time when it writes 123 to 0xd0000000\n"
	"  --start-time-us N, --start-time-cpu-us N, --parent-cpu-time-us N\n"
	"                           accepted from the jailer, unused\n"
	"  --version                print the version\n"
	"  -h, --help               this help\n"
	"\n"
	"ringvm's own settings go in the config file's \"ringvm\" object, e.g.\n"
	"  \"ringvm\": {\"engine\": \"soft\"}    (auto, kvm or soft)\n"
	"  \"ringvm\": {\"cpu_weight\": 400}  (1-10000, cgroup cpu.weight; \"cpu_weight_strict\")\n"
	"\n"
	"Exit status: as ringvm run (0 guest powered off or rebooted, 2 bad flag or\n"
	"config: one line names the flag or the field as a JSON pointer, 4 guest\n"
	"fault, 6 host failure, 128+N signal N).\n";

enum {
	OPT_API_SOCK = 256, OPT_CONFIG, OPT_NO_API, OPT_ID, OPT_LEVEL, OPT_LOG_PATH,
	OPT_METRICS_PATH, OPT_BOOT_TIMER, OPT_NO_SECCOMP, OPT_VERSION, OPT_SHOW_LEVEL,
	OPT_SHOW_ORIGIN, OPT_MAX_PAYLOAD, OPT_JAILER_TIME, OPT_HELP, OPT_UNSUPPORTED,
};

static const struct option fc_options[] = {
	{ "api-sock", required_argument, NULL, OPT_API_SOCK },
	{ "config-file", required_argument, NULL, OPT_CONFIG },
	{ "no-api", no_argument, NULL, OPT_NO_API },
	{ "id", required_argument, NULL, OPT_ID },
	{ "level", required_argument, NULL, OPT_LEVEL },
	{ "log-path", required_argument, NULL, OPT_LOG_PATH },
	{ "metrics-path", required_argument, NULL, OPT_METRICS_PATH },
	{ "boot-timer", no_argument, NULL, OPT_BOOT_TIMER },
	{ "no-seccomp", no_argument, NULL, OPT_NO_SECCOMP },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "show-level", no_argument, NULL, OPT_SHOW_LEVEL },
	{ "show-log-origin", no_argument, NULL, OPT_SHOW_ORIGIN },
	{ "http-api-max-payload-size", required_argument, NULL, OPT_MAX_PAYLOAD },
	{ "start-time-us", required_argument, NULL, OPT_JAILER_TIME },
	{ "start-time-cpu-us", required_argument, NULL, OPT_JAILER_TIME },
	{ "parent-cpu-time-us", required_argument, NULL, OPT_JAILER_TIME },
	{ "seccomp-filter", required_argument, NULL, OPT_UNSUPPORTED },
	{ "mmds-size-limit", required_argument, NULL, OPT_UNSUPPORTED },
	{ "describe-snapshot", required_argument, NULL, OPT_UNSUPPORTED },
	{ "snapshot-version", no_argument, NULL, OPT_UNSUPPORTED },
	{ "enable-pci", no_argument, NULL, OPT_UNSUPPORTED },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

bool fc_is_flag(const char *arg)
{
	if (strncmp(arg, "--", 2) || !strcmp(arg, "--help") || !strcmp(arg, "--version"))
		return false;  /* ringvm's own --help/--version stay ringvm's */
	const char *name = arg + 2;
	size_t len = strcspn(name, "=");
	for (const struct option *o = fc_options; o->name; o++)
		if (strlen(o->name) == len && !strncmp(o->name, name, len))
			return true;
	return false;
}

/* The program's side of struct fc_vmm: the VM and the open files. */
struct fc_prog {
	struct fc_vmm fc;
	struct vm_config base;
	struct vm vm;
	bool vm_created;
	bool start_now;            /* InstanceStart succeeded: run the VM */
	struct api_server *api;
	int metrics_fd;
	int log_fd;                /* the logger's file until it replaces stderr */
	bool serving;              /* past the start-up checks: logs go to log_fd */
	char name[FC_ID_LEN];      /* in the runtime directory (--id, else vm-PID) */
	char entry[FLEET_PATH_LEN + 80];  /* its entry there, "" if none */
	int metrics_timer;         /* timerfd: the periodic flush */
	bool weighted;             /* moved into its cgroup (once per process) */
};

/* ringvm's messages go to stderr; the logger's file takes its place once
 * the start-up checks are done, so a bad flag or config is still reported
 * on the terminal. */
static void apply_logger(struct fc_prog *p)
{
	if (p->log_fd < 0)
		return;
	dup2(p->log_fd, STDERR_FILENO);
	close(p->log_fd);
	p->log_fd = -1;
}

static int level_of(const char *s, enum log_level *out)
{
	static const struct { const char *name; enum log_level l; } map[] = {
		{ "Error", LOG_ERROR }, { "Warning", LOG_WARN }, { "Warn", LOG_WARN },
		{ "Info", LOG_INFO }, { "Debug", LOG_DEBUG }, { "Trace", LOG_DEBUG },
		{ "Off", LOG_ERROR },  /* ringvm always reports errors */
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcasecmp(map[i].name, s)) {
			*out = map[i].l;
			return 0;
		}
	return -1;
}

static int op_logger(struct fc_vmm *fc, char *err, size_t n)
{
	struct fc_prog *p = fc->opaque;
	enum log_level l;
	if (fc->log_level[0] && level_of(fc->log_level, &l) == 0)
		log_set_level(l);
	if (!fc->log_path[0])
		return 0;
	/* A file or a named pipe, as Firecracker's (read-write, so opening a
	 * FIFO no one reads yet does not fail; non-blocking, so a full one
	 * drops messages instead of stalling ringvm); ringvm's messages go to
	 * stderr, so the log takes stderr's place. */
	int fd = open(fc->log_path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK, 0600);
	if (fd < 0)
		return fc_json_fail(err, n, "/logger/log_path: cannot open '%s': %s", fc->log_path,
				    strerror(errno));
	if (p->log_fd >= 0)
		close(p->log_fd);
	p->log_fd = fd;
	if (p->serving)
		apply_logger(p);
	return 0;
}

static int op_metrics(struct fc_vmm *fc, char *err, size_t n)
{
	struct fc_prog *p = fc->opaque;
	int fd = open(fc->metrics_path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK, 0600);
	if (fd < 0)
		return fc_json_fail(err, n, "/metrics/metrics_path: cannot open '%s': %s",
				    fc->metrics_path, strerror(errno));
	fatal_metrics_arm(fd);  /* a fatal signal's last line goes here from now */
	if (p->metrics_fd >= 0)
		close(p->metrics_fd);
	p->metrics_fd = fd;
	return 0;
}

static int op_start(struct fc_vmm *fc, char *err, size_t n)
{
	struct fc_prog *p = fc->opaque;
	struct vm_config cfg;
	if (fc_vmm_build(fc, &p->base, &cfg, err, n) < 0)
		return -1;
	if (cfg.cpu_weight && !p->weighted) {
		if (cpu_weight_setup(&cfg, p->name))
			return fc_json_fail(err, n, "/ringvm/cpu_weight: the cpu weight cannot be set "
					    "(cpu_weight_strict): the reason is in ringvm's log");
		p->weighted = true;
	}
	if (p->vm_created) {
		vm_destroy(&p->vm);
		p->vm_created = false;
	}
	int st = vm_create(&p->vm, &cfg);
	p->vm_created = true;
	if (st) {
		vm_destroy(&p->vm);
		p->vm_created = false;
		return fc_json_fail(err, n, "cannot start the microVM (status %d): the reason is in "
				    "ringvm's log", st);
	}
	fc->state = FC_RUNNING;
	snprintf(fc->engine_running, sizeof(fc->engine_running), "%s", p->vm.engine->name);
	p->start_now = true;
	return 0;
}

/* Pause and resume, timed for latencies_us.pause_vm / resume_vm. */
static int op_pause(struct fc_vmm *fc, char *err, size_t n)
{
	struct fc_prog *p = fc->opaque;
	uint64_t t0 = clock_monotonic_ns();
	int r = vm_pause(&p->vm, err, n);
	fc->metrics.pause_vm_us = (clock_monotonic_ns() - t0) / 1000;
	return r;
}

static int op_resume(struct fc_vmm *fc, char *err, size_t n)
{
	struct fc_prog *p = fc->opaque;
	uint64_t t0 = clock_monotonic_ns();
	int r = vm_resume(&p->vm, err, n);
	fc->metrics.resume_vm_us = (clock_monotonic_ns() - t0) / 1000;
	return r;
}

static int op_snapshot_create(struct fc_vmm *fc, const char *snap, const char *mem, bool diff,
			      char *err, size_t n)
{
	struct fc_prog *p = fc->opaque;
	uint64_t t0 = clock_monotonic_ns();
	int r = snapshot_create(&p->vm, snap, mem, diff, err, n);
	uint64_t us = (clock_monotonic_ns() - t0) / 1000;
	if (!r)  /* latencies_us.full_create_snapshot / diff_create_snapshot */
		*(diff ? &fc->metrics.diff_create_snapshot_us : &fc->metrics.full_create_snapshot_us) = us;
	return r;
}

/* Firecracker's flow: a fresh process, PUT /snapshot/load, and the VM runs
 * (or waits paused) as it was; the board comes from the snapshot, the engine
 * from "ringvm": {"engine": ...} (any engine: docs/snapshot.md). */
static int op_snapshot_load(struct fc_vmm *fc, const char *snap, const char *mem, bool resume,
			    char *err, size_t n)
{
	struct fc_prog *p = fc->opaque;
	struct vm_config base = p->base;
	base.engine = fc->engine;
	base.track_dirty_pages = fc->track_dirty_pages;
	base.soft_jit = fc->soft_jit;
	base.on_reset = ON_RESET_EXIT;  /* as fc_vmm_build: Firecracker exits on reboot */
	if (p->vm_created) {
		vm_destroy(&p->vm);
		p->vm_created = false;
	}
	uint64_t t0 = clock_monotonic_ns();
	if (snapshot_restore(&p->vm, &base, snap, mem, resume, err, n))
		return -1;
	fc->metrics.load_snapshot_us = (clock_monotonic_ns() - t0) / 1000;  /* latencies_us */
	p->vm_created = true;
	p->start_now = true;
	return 0;
}

/* Firecracker's SendCtrlAltDel: the keys on the i8042's keyboard; the
 * guest decides (Linux reboots, and ringvm exits as Firecracker does). */
static int op_drive_update(struct fc_vmm *fc, const char *id, const char *path, char *err,
			   size_t n)
{
	struct fc_prog *p = fc->opaque;
	if (!p->vm_created)
		return fc_json_fail(err, n, "the microVM is not running");
	return vm_change_media(&p->vm, id, path, err, n);
}

static int op_ctrl_alt_del(struct fc_vmm *fc, char *err, size_t n)
{
	struct fc_prog *p = fc->opaque;
	char why[256];
	if (vm_send_ctrl_alt_del(&p->vm, why, sizeof(why)) < 0)
		return fc_json_fail(err, n, "SendCtrlAltDel: %s", why);
	return 0;
}

/* FlushMetrics: one line of Firecracker's metrics (src/api/fc_metrics.c),
 * written on the VM's thread, never a vCPU's. */
static int op_flush_metrics(struct fc_vmm *fc, char *err, size_t n)
{
	struct fc_prog *p = fc->opaque;
	return fc_metrics_write(fc, p->metrics_fd, p->vm_created ? &p->vm : NULL, err, n);
}

/* Every 60 s (Firecracker's period; RINGVM_METRICS_INTERVAL_MS for tests)
 * while the VM runs, if a metrics file is set; a line that cannot be
 * written is dropped and counted (logger.missed_metrics_count). */
static void on_metrics_timer(void *opaque, int fd, uint32_t events)
{
	struct fc_prog *p = opaque;
	uint64_t ticks;
	char err[FC_ERR_LEN];
	(void)events;
	if (read(fd, &ticks, sizeof(ticks)) != sizeof(ticks))
		return;
	if (p->metrics_fd >= 0 && p->vm_created)
		fc_metrics_write(&p->fc, p->metrics_fd, &p->vm, err, sizeof(err));
}

static const struct fc_vmm_ops fc_prog_ops = {
	.start = op_start, .pause = op_pause, .resume = op_resume,
	.ctrl_alt_del = op_ctrl_alt_del, .flush_metrics = op_flush_metrics,
	.logger = op_logger, .metrics = op_metrics,
	.snapshot_create = op_snapshot_create, .snapshot_load = op_snapshot_load,
	.drive_update = op_drive_update,
};

/* Answer every queued request (the VM's thread). */
static void serve_queue(struct fc_prog *p)
{
	struct api_request *r;
	while (!p->start_now && (r = api_server_pop(p->api))) {
		const char *method, *path, *body;
		size_t len;
		struct api_response resp;
		api_request_get(r, &method, &path, &body, &len);
		api_handle(&p->fc, method, path, body, len, &resp);
		api_server_reply(p->api, r, &resp);
		free(resp.body);
	}
}

static void on_api(void *opaque, int fd, uint32_t events)
{
	(void)fd;
	(void)events;
	serve_queue(opaque);
}

/* Before InstanceStart: API requests and signals, nothing else. */
static int wait_for_start(struct fc_prog *p)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		pr_err("cannot set up signal handling: %s", strerror(errno));
		return RINGVM_EXIT_HOST_ERROR;
	}
	int status = -1;
	while (!p->start_now && status < 0) {
		struct pollfd fds[2] = { { api_server_fd(p->api), POLLIN, 0 }, { sfd, POLLIN, 0 } };
		if (poll(fds, 2, -1) < 0 && errno != EINTR) {
			status = RINGVM_EXIT_HOST_ERROR;
			break;
		}
		if (fds[1].revents) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				pr_info("stopped by signal %s before InstanceStart", strsignal((int)si.ssi_signo));
				status = 128 + (int)si.ssi_signo;
			}
		}
		if (fds[0].revents)
			serve_queue(p);
	}
	close(sfd);
	return status;
}

static int run_vm(struct fc_prog *p)
{
	if (p->api && evloop_add_fd(&p->vm.loop, api_server_fd(p->api), EPOLLIN, on_api, p) < 0) {
		pr_err("cannot watch the API socket");
		return RINGVM_EXIT_HOST_ERROR;
	}
	if (p->metrics_timer >= 0 &&
	    evloop_add_fd(&p->vm.loop, p->metrics_timer, EPOLLIN, on_metrics_timer, p) < 0) {
		pr_err("cannot watch the metrics timer");
		return RINGVM_EXIT_HOST_ERROR;
	}
	p->start_now = false;
	if (p->api)
		serve_queue(p);  /* requests that came with InstanceStart's answer */
	int status = vm_run(&p->vm);
	/* One last line as the VM ends, as Firecracker writes when it stops:
	 * the increases since the previous line are not lost. */
	if (p->metrics_fd >= 0) {
		char err[FC_ERR_LEN];
		fc_metrics_write(&p->fc, p->metrics_fd, &p->vm, err, sizeof(err));
	}
	return status;
}

int fc_main(int argc, char **argv)
{
	return fc_main_jailed(argc, argv, false, -1);
}

int fc_main_jailed(int argc, char **argv, bool jailed, int pagemap_fd)
{
	static struct fc_prog prog;  /* large; one per process */
	struct fc_prog *p = &prog;
	const char *api_sock = "/run/firecracker.socket", *config = NULL, *level = NULL;
	const char *log_path = NULL, *metrics_path = NULL;
	bool no_api = false, id_given = false;
	unsigned long long max_body = FC_MAX_BODY;
	char err[FC_ERR_LEN + 256];
	int c;

	memset(p, 0, sizeof(*p));
	p->metrics_fd = -1;
	p->log_fd = -1;
	p->metrics_timer = -1;
	uint64_t t_start = clock_monotonic_ns();
	fc_vmm_init(&p->fc);
	p->fc.ops = &fc_prog_ops;
	p->fc.opaque = p;
	vm_config_defaults(&p->base);
	p->base.debug_exit = false;  /* Firecracker's machine has no isa-debug-exit */
	p->base.snapshots = true;    /* PUT /snapshot/create (docs/snapshot.md) */
	p->base.pagemap_fd = pagemap_fd;  /* opened by the jail before its pivot */

	optind = 1;
	opterr = 0;
	int idx = 0;
	while ((c = getopt_long(argc, argv, ":h", fc_options, &idx)) != -1) {
		switch (c) {
		case OPT_API_SOCK: api_sock = optarg; break;
		case OPT_CONFIG: config = optarg; break;
		case OPT_NO_API: no_api = true; break;
		case OPT_ID:
			if (fc_json_id(optarg, "", "id", err, sizeof(err)) < 0) {
				fprintf(stderr, "ringvm: error: --id %s: expected 1 to 64 of [A-Za-z0-9_-]\n", optarg);
				return RINGVM_EXIT_USAGE;
			}
			strcpy(p->fc.id, optarg);
			id_given = true;
			break;
		case OPT_LEVEL: {
			enum log_level l;
			if (level_of(optarg, &l) < 0) {
				fprintf(stderr, "ringvm: error: --level %s: expected Error, Warning, Info, Debug, Trace or Off\n", optarg);
				return RINGVM_EXIT_USAGE;
			}
			level = optarg;
			break;
		}
		case OPT_LOG_PATH: log_path = optarg; break;
		case OPT_METRICS_PATH: metrics_path = optarg; break;
		case OPT_BOOT_TIMER: p->base.boot_timer = true; break;
		case OPT_NO_SECCOMP: p->base.no_seccomp = true; break;
		case OPT_VERSION:
			printf("ringvm %s (Firecracker-compatible command line and API)\n", RINGVM_VERSION);
			return 0;
		case OPT_SHOW_LEVEL: case OPT_SHOW_ORIGIN: case OPT_JAILER_TIME: break;
		case OPT_MAX_PAYLOAD: {
			char *end;
			errno = 0;
			max_body = strtoull(optarg, &end, 10);
			if (errno || *end || end == optarg || max_body < 1 || max_body > 16 * 1024 * 1024) {
				fprintf(stderr, "ringvm: error: --http-api-max-payload-size %s: expected bytes from 1 to 16777216\n", optarg);
				return RINGVM_EXIT_USAGE;
			}
			break;
		}
		case OPT_HELP: case 'h':
			fputs(fc_usage, stdout);
			return 0;
		case OPT_UNSUPPORTED:
			fprintf(stderr, "ringvm: error: --%s: not supported by ringvm\n", fc_options[idx].name);
			return RINGVM_EXIT_USAGE;
		case ':':
			fprintf(stderr, "ringvm: error: %s: needs a value\n", argv[optind - 1]);
			return RINGVM_EXIT_USAGE;
		default:
			fprintf(stderr, "ringvm: error: %s: unknown option (firecracker --help lists them)\n",
				argv[optind - 1]);
			return RINGVM_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "ringvm: error: %s: unexpected argument\n", argv[optind]);
		return RINGVM_EXIT_USAGE;
	}
	if (no_api && !config) {
		fprintf(stderr, "ringvm: error: --no-api needs --config-file (nothing could start the microVM)\n");
		return RINGVM_EXIT_USAGE;
	}
	signal(SIGPIPE, SIG_IGN);
	/* Fatal signals write a last metrics line first, as Firecracker's
	 * handlers do (src/api/fc_metrics_fatal.c). */
	int fe = fatal_metrics_install();
	if (fe < 0)
		pr_warn("cannot install the fatal-signal handlers: %s (no last metrics line)",
			strerror(-fe));
	if (level) {
		snprintf(p->fc.log_level, sizeof(p->fc.log_level), "%s", level);
		p->fc.logger_set = true;
	}
	if (log_path) {
		snprintf(p->fc.log_path, sizeof(p->fc.log_path), "%s", log_path);
		p->fc.logger_set = true;
	}
	if (p->fc.logger_set && op_logger(&p->fc, err, sizeof(err)) < 0) {
		fprintf(stderr, "ringvm: error: --log-path %s\n", err);
		return RINGVM_EXIT_USAGE;
	}
	if (metrics_path) {
		snprintf(p->fc.metrics_path, sizeof(p->fc.metrics_path), "%s", metrics_path);
		if (op_metrics(&p->fc, err, sizeof(err)) < 0) {
			fprintf(stderr, "ringvm: error: --metrics-path %s\n", err);
			return RINGVM_EXIT_USAGE;
		}
	}
	if (config && fc_config_load(&p->fc, config, err, sizeof(err)) < 0) {
		fprintf(stderr, "ringvm: error: %s\n", err);
		return RINGVM_EXIT_USAGE;
	}

	/* Test hook, as for `ringvm run` (tests/integration/sandbox_seccomp.sh):
	 * the named thread kind makes a forbidden call once filtered. */
	const char *selftest = getenv("RINGVM_SECCOMP_SELFTEST");
	if (selftest && *selftest) {
		p->base.seccomp_selftest = sandbox_kind_parse(selftest);
		if (p->base.seccomp_selftest < 0) {
			fprintf(stderr, "ringvm: error: RINGVM_SECCOMP_SELFTEST=%s: expected main, vcpu, "
				"writer, io or api\n", selftest);
			return RINGVM_EXIT_USAGE;
		}
	}

	/* Signals go to signalfds (here and in vm_run), in every thread. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	int status;

	/* The VM's name: in the runtime directory and its cgroup. */
	if (id_given)
		strcpy(p->name, p->fc.id);
	else
		snprintf(p->name, sizeof(p->name), "vm-%d", (int)getpid());
	if (!no_api) {
		/* The API thread's filter: on unless --no-seccomp or a
		 * sanitizer build (docs/sandbox.md); the VM's own threads get
		 * theirs from vm_create. */
		struct sandbox sb;
		sandbox_init(&sb, &p->base, NULL);
		p->api = api_server_start(api_sock, (size_t)max_body, &sb, err, sizeof(err), &status);
		if (!p->api) {
			fprintf(stderr, "ringvm: error: %s\n", err);
			return status;
		}
		/* The runtime directory of the user's VMs (ringvm ls): a name
		 * taken by a live VM is refused; a failure to register is not. */
		/* In a jail the user's runtime directory is out of sight: a
		 * jailed VM is found through its jail root instead. */
		int reg = jailed ? 0 : fleet_register(p->name, api_sock, p->entry, err, sizeof(err));
		if (reg == FLEET_NAME_TAKEN) {
			fprintf(stderr, "ringvm: error: --id %s: %s\n", p->name, err);
			api_server_stop(p->api);
			return RINGVM_EXIT_USAGE;
		} else if (reg < 0) {
			pr_warn("not listed by ringvm ls: %s", err);
		}
	}
	p->fc.metrics.startup_us = (clock_monotonic_ns() - t_start) / 1000;
	/* The periodic metrics flush: made here, before any filter (the main
	 * thread may arm timers, not make them, once filtered). */
	unsigned long long period_ms = 60000;
	const char *pe = getenv("RINGVM_METRICS_INTERVAL_MS");
	if (pe && *pe) {
		char *end;
		period_ms = strtoull(pe, &end, 10);
		if (*end || period_ms < 10 || period_ms > 3600000) {
			fprintf(stderr, "ringvm: error: RINGVM_METRICS_INTERVAL_MS=%s: expected 10 to "
				"3600000\n", pe);
			status = RINGVM_EXIT_USAGE;
			goto out;
		}
	}
	p->metrics_timer = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (p->metrics_timer >= 0) {
		struct itimerspec its = {
			.it_interval = { (time_t)(period_ms / 1000), (long)(period_ms % 1000) * 1000000L },
			.it_value = { (time_t)(period_ms / 1000), (long)(period_ms % 1000) * 1000000L },
		};
		timerfd_settime(p->metrics_timer, 0, &its, NULL);
	}
	p->serving = true;
	apply_logger(p);
	if (config) {
		/* Firecracker starts a configured microVM at once. */
		if (op_start(&p->fc, err, sizeof(err)) < 0) {
			fprintf(stderr, "ringvm: error: --config-file %s: %s\n", config, err);
			status = RINGVM_EXIT_USAGE;
			goto out;
		}
	} else {
		status = wait_for_start(p);
		if (status >= 0)
			goto out;
	}
	status = run_vm(p);
out:
	if (p->vm_created && p->api)
		evloop_del_fd(&p->vm.loop, api_server_fd(p->api));
	if (p->vm_created && p->metrics_timer >= 0)
		evloop_del_fd(&p->vm.loop, p->metrics_timer);
	api_server_stop(p->api);
	fleet_unregister(p->entry);
	if (p->vm_created)
		vm_destroy(&p->vm);
	fatal_metrics_arm(-1);
	if (p->metrics_fd >= 0)
		close(p->metrics_fd);
	if (p->metrics_timer >= 0)
		close(p->metrics_timer);
	fc_metrics_free(&p->fc);
	if (p->log_fd >= 0)
		close(p->log_fd);
	return status;
}
