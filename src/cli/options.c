/* `ringvm run` option parsing and validation. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "options.h"
#include "opt_net.h"
#include "opt_drive.h"

const char cli_run_usage[] =
	"Usage: ringvm run --kernel PATH [options]\n"
	"\n"
	"Boot a kernel directly (Linux bzImage, ELF vmlinux with a PVH note, or multiboot).\n"
	"\n"
	"Machine:\n"
	"  -k, --kernel PATH        kernel image (required)\n"
	"  -i, --initrd PATH        initial ramdisk (Linux) or module (multiboot)\n"
	"  -c, --cmdline STR        kernel command line\n"
	"  -m, --memory SIZE        guest RAM: 512M, 2G, ... (a plain number is MiB); default 512M\n"
	"      --cpus N             number of vCPUs, 1-" "64" "; default 1\n"
	"      --hugepages          back guest RAM with 2 MiB huge pages (hugetlbfs)\n"
	"      --memory-backend KIND  guest RAM: anon (default: anonymous memory, transparent\n"
	"                           huge pages where the host allows) or memfd (shared memory)\n"
	"  -e, --engine NAME        auto (default), kvm or soft\n"
	"      --soft-tier TIER     soft engine: jit (default: hot code translated into host\n"
	"                           code) or interp (interpreted only)\n"
	"      --soft-jit-cache SIZE  soft engine with jit: translation cache per vCPU, 64K-1G;\n"
	"                           default 16M\n"
	"\n"
	"Devices:\n"
	"      --serial SPEC        COM1 back end: stdio (default), file:PATH, unix:PATH, none\n"
	"                           (stdio on a terminal: Ctrl-A x quits, Ctrl-A h helps)\n"
	"      --debug-exit PORT[,SIZE]  isa-debug-exit port (default 0xf4,4); a guest write of\n"
	"                           v ends ringvm with status (v << 1) | 1\n"
	"      --no-debug-exit      no debug-exit device\n"
	"      --boot-timer         Firecracker's boot timer: a guest write of the byte 123 to\n"
	"                           0xd0000000 prints the time since the VM was created\n"
	"      --testdev            the test-guest call port and MMIO window, and the PCI\n"
	"                           test device (tests/guest)\n"
	"      --pc-testdev         QEMU's pc-testdev for kvm-unit-tests: port 0xe0 data,\n"
	"                           0x2000-0x2017 IRQ lines, RAM at 0xff000000 (not with --testdev)\n"
	"      --on-reset ACTION    restart (default) or exit when the guest resets the machine\n"
	"      --on-triple-fault ACTION  stop (default: registers dumped, status 4) or reset\n"
	"      --net user[,hostfwd=RULE][,mac=MAC][,id=ID]  a virtio-net NIC on the user-mode\n"
	"                           network (libslirp: DHCP 10.0.2.15, host 10.0.2.2, DNS\n"
	"                           10.0.2.3); RULE is QEMU's [tcp|udp]:[HADDR]:HPORT-[GADDR]:GPORT,\n"
	"                           hostfwd= repeats (up to 8); up to 4 --net\n"
	"      --net tap,ifname=NAME[,mac=MAC][,id=ID]  a virtio-net NIC on a host TAP device\n"
	"      --vsock cid=N,uds=PATH  virtio-vsock, guest CID N (>= 3); the host side is a Unix\n"
	"                           socket at PATH (Firecracker's convention: connect, write\n"
	"                           \"CONNECT <port>\\n\"; the guest reaches listeners at PATH_<port>)\n"
	"      --console serial|virtio  where the serial back end goes: COM1 (default) or a\n"
	"                           virtio-console port (the guest's hvc0)\n"
	"      --strict-mmio        stop the VM (status 4) on an access to an unclaimed MMIO\n"
	"                           address (default: reads all-ones, writes dropped, logged)\n"
	"      --drive path=IMG[,ro=on][,id=NAME][,serial=S]  a virtio-blk disk on a raw image\n"
	"                           (repeatable, up to 8: /dev/vda, vdb, ...); serial is the\n"
	"                           GET_ID answer (at most 20 characters)\n"
	"      --rng                a virtio-rng device fed from the host's getrandom()\n"
	"\n"
	"Sandbox:\n"
	"      --no-seccomp         run without the per-thread system-call filters\n"
	"                           (docs/sandbox.md; `ringvm jail` runs a VM in a jail)\n"
	"\n"
	"Scheduling:\n"
	"      --cpu-weight N       the VM's CPU weight, 1-10000 (cgroup v2 cpu.weight; default\n"
	"                           100): ringvm moves into the cgroup ringvm-run-PID below its\n"
	"                           own; where it cannot, a warning (docs/api.md, \"CPU weight\")\n"
	"      --cpu-weight-strict  exit 2 instead of warning when the weight cannot be set\n"
	"\n"
	"Diagnostics:\n"
	"      --stats              print exit, interrupt and device counters at the end\n"
	"  -v, --verbose            say what ringvm chooses and does\n"
	"  -h, --help               this help\n"
	"\n"
	"Exit status: 0 guest powered off (or test done), 2 bad command line or kernel,\n"
	"4 the guest crashed its VM, 6 host-side failure, 8 a test guest assertion failed,\n"
	"odd values from the debug-exit device, 128+N stopped by signal N (159: a\n"
	"forbidden system call, docs/sandbox.md).\n";

static enum cli_result fail(char *err, size_t len, const char *fmt, ...) PRINTF_FMT(3, 4);
static enum cli_result fail(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return CLI_ERROR;
}

int cli_parse_size(const char *s, uint64_t *bytes)
{
	if (!s || !*s || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	unsigned shift;
	switch (*end) {
	case 0: shift = 20; break; /* MiB, like qemu -m */
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	case 'b': case 'B': shift = 0; end++; break;
	default: return -1;
	}
	if (*end == 'i' && shift)
		end++;
	if ((*end == 'B' || *end == 'b') && shift)
		end++;
	if (*end)
		return -1;
	if (v > (UINT64_MAX >> shift))
		return -1;
	*bytes = (uint64_t)v << shift;
	return 0;
}

static int parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
	if (!s || !*s || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || *end || v > max)
		return -1;
	*out = v;
	return 0;
}

static enum cli_result check_file(const char *opt, const char *path, char *err, size_t len)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return fail(err, len, "%s %s: %s", opt, path, strerror(errno));
	if (S_ISDIR(st.st_mode))
		return fail(err, len, "%s %s: is a directory", opt, path);
	if (access(path, R_OK) < 0)
		return fail(err, len, "%s %s: %s", opt, path, strerror(errno));
	if (st.st_size == 0)
		return fail(err, len, "%s %s: file is empty", opt, path);
	return CLI_OK;
}

enum {
	OPT_CPUS = 256, OPT_SERIAL, OPT_DEBUG_EXIT, OPT_NO_DEBUG_EXIT, OPT_TESTDEV,
	OPT_ON_RESET, OPT_STATS, OPT_HUGEPAGES, OPT_ON_TRIPLE_FAULT,
	OPT_SOFT_TIER, OPT_SOFT_JIT_CACHE,
	OPT_STRICT_MMIO,
	OPT_NET, OPT_VSOCK, OPT_CONSOLE,
	OPT_DRIVE,
	OPT_RNG,
	OPT_NO_SECCOMP,
	OPT_CPU_WEIGHT, OPT_CPU_WEIGHT_STRICT,
	OPT_BOOT_TIMER,
	OPT_MEMORY_BACKEND,
	OPT_PC_TESTDEV,
};

static const struct option run_options[] = {
	{ "kernel", required_argument, NULL, 'k' },
	{ "initrd", required_argument, NULL, 'i' },
	{ "cmdline", required_argument, NULL, 'c' },
	{ "memory", required_argument, NULL, 'm' },
	{ "cpus", required_argument, NULL, OPT_CPUS },
	{ "engine", required_argument, NULL, 'e' },
	{ "serial", required_argument, NULL, OPT_SERIAL },
	{ "debug-exit", required_argument, NULL, OPT_DEBUG_EXIT },
	{ "no-debug-exit", no_argument, NULL, OPT_NO_DEBUG_EXIT },
	{ "boot-timer", no_argument, NULL, OPT_BOOT_TIMER },
	{ "testdev", no_argument, NULL, OPT_TESTDEV },
	{ "pc-testdev", no_argument, NULL, OPT_PC_TESTDEV },
	{ "on-reset", required_argument, NULL, OPT_ON_RESET },
	{ "on-triple-fault", required_argument, NULL, OPT_ON_TRIPLE_FAULT },
	{ "strict-mmio", no_argument, NULL, OPT_STRICT_MMIO },
	{ "soft-tier", required_argument, NULL, OPT_SOFT_TIER },
	{ "soft-jit-cache", required_argument, NULL, OPT_SOFT_JIT_CACHE },
	{ "no-seccomp", no_argument, NULL, OPT_NO_SECCOMP },
	{ "cpu-weight", required_argument, NULL, OPT_CPU_WEIGHT },
	{ "cpu-weight-strict", no_argument, NULL, OPT_CPU_WEIGHT_STRICT },
	{ "net", required_argument, NULL, OPT_NET },
	{ "vsock", required_argument, NULL, OPT_VSOCK },
	{ "console", required_argument, NULL, OPT_CONSOLE },
	{ "stats", no_argument, NULL, OPT_STATS },
	{ "drive", required_argument, NULL, OPT_DRIVE },
	{ "rng", no_argument, NULL, OPT_RNG },
	{ "hugepages", no_argument, NULL, OPT_HUGEPAGES },
	{ "memory-backend", required_argument, NULL, OPT_MEMORY_BACKEND },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static enum cli_result parse_serial(const char *s, struct vm_config *cfg, char *err, size_t len)
{
	if (!strcmp(s, "stdio")) {
		cfg->serial = SERIAL_STDIO;
	} else if (!strcmp(s, "none")) {
		cfg->serial = SERIAL_NONE;
	} else if (!strncmp(s, "file:", 5) && s[5]) {
		cfg->serial = SERIAL_FILE;
		cfg->serial_path = s + 5;
	} else if (!strncmp(s, "unix:", 5) && s[5]) {
		cfg->serial = SERIAL_UNIX;
		cfg->serial_path = s + 5;
		if (strlen(cfg->serial_path) >= 108)
			return fail(err, len, "--serial %s: socket path is longer than 107 bytes", s);
	} else {
		return fail(err, len, "--serial %s: expected stdio, file:PATH, unix:PATH or none", s);
	}
	return CLI_OK;
}

static enum cli_result parse_debug_exit(const char *s, struct vm_config *cfg, char *err,
					size_t len)
{
	char buf[64];
	unsigned long long port, size = 4;
	if (strlen(s) >= sizeof(buf))
		return fail(err, len, "--debug-exit %s: expected PORT[,SIZE]", s);
	strcpy(buf, s);
	char *comma = strchr(buf, ',');
	if (comma)
		*comma++ = 0;
	if (parse_uint(buf, 0xffff, &port) < 0)
		return fail(err, len, "--debug-exit %s: port must be a number from 0 to 0xffff", s);
	if (comma && (parse_uint(comma, 4, &size) < 0 || (size != 1 && size != 2 && size != 4)))
		return fail(err, len, "--debug-exit %s: size must be 1, 2 or 4", s);
	if (port + size > 0x10000)
		return fail(err, len, "--debug-exit %s: window runs past port 0xffff", s);
	cfg->debug_exit = true;
	cfg->debug_exit_port = (uint16_t)port;
	cfg->debug_exit_size = (uint8_t)size;
	return CLI_OK;
}

enum cli_result cli_parse_run(int argc, char **argv, struct vm_config *cfg, char *err,
			      size_t errlen)
{
	unsigned long long n;
	enum cli_result r;
	int c;

	optind = 0; /* reset getopt (also re-entrant for tests) */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":k:i:c:m:e:vh", run_options, NULL)) != -1) {
		switch (c) {
		case 'k': cfg->kernel = optarg; break;
		case 'i': cfg->initrd = optarg; break;
		case 'c': cfg->cmdline = optarg; break;
		case 'm':
			if (cli_parse_size(optarg, &cfg->memory) < 0)
				return fail(err, errlen, "--memory %s: not a size (examples: 512M, 2G)", optarg);
			break;
		case OPT_CPUS:
			if (parse_uint(optarg, 1000000, &n) < 0 || n == 0)
				return fail(err, errlen, "--cpus %s: not a positive whole number", optarg);
			if (n > MAX_VCPUS)
				return fail(err, errlen, "--cpus %llu: at most %d vCPUs are supported", n, MAX_VCPUS);
			cfg->cpus = (unsigned)n;
			break;
		case 'e':
			if (strcmp(optarg, "auto") && strcmp(optarg, "kvm") && strcmp(optarg, "soft"))
				return fail(err, errlen, "--engine %s: expected auto, kvm or soft", optarg);
			cfg->engine = optarg;
			break;
		case OPT_SERIAL:
			if ((r = parse_serial(optarg, cfg, err, errlen)) != CLI_OK)
				return r;
			break;
		case OPT_DEBUG_EXIT:
			if ((r = parse_debug_exit(optarg, cfg, err, errlen)) != CLI_OK)
				return r;
			break;
		case OPT_NO_DEBUG_EXIT: cfg->debug_exit = false; break;
		case OPT_BOOT_TIMER: cfg->boot_timer = true; break;
		case OPT_TESTDEV: cfg->testdev = true; break;
		case OPT_PC_TESTDEV: cfg->pc_testdev = true; break;
		case OPT_STRICT_MMIO: cfg->strict_mmio = true; break;
		case OPT_SOFT_TIER:
			if (strcmp(optarg, "interp") && strcmp(optarg, "jit"))
				return fail(err, errlen, "--soft-tier %s: expected interp or jit", optarg);
			cfg->soft_jit = !strcmp(optarg, "jit");
			break;
		case OPT_SOFT_JIT_CACHE:
			if (cli_parse_size(optarg, &cfg->soft_jit_cache) < 0 ||
			    cfg->soft_jit_cache < (64u << 10) || cfg->soft_jit_cache > (1u << 30))
				return fail(err, errlen, "--soft-jit-cache %s: expected a size from 64K to 1G", optarg);
			break;
		case OPT_NO_SECCOMP: cfg->no_seccomp = true; break;
		case OPT_CPU_WEIGHT:
			if (parse_uint(optarg, 10000, &n) < 0 || n == 0)
				return fail(err, errlen, "--cpu-weight %s: expected a whole number from 1 to 10000", optarg);
			cfg->cpu_weight = (unsigned)n;
			break;
		case OPT_CPU_WEIGHT_STRICT: cfg->cpu_weight_strict = true; break;
		case OPT_ON_RESET:
			if (!strcmp(optarg, "restart"))
				cfg->on_reset = ON_RESET_RESTART;
			else if (!strcmp(optarg, "exit"))
				cfg->on_reset = ON_RESET_EXIT;
			else
				return fail(err, errlen, "--on-reset %s: expected restart or exit", optarg);
			break;
		case OPT_ON_TRIPLE_FAULT:
			if (!strcmp(optarg, "stop"))
				cfg->triple_fault_resets = false;
			else if (!strcmp(optarg, "reset"))
				cfg->triple_fault_resets = true;
			else
				return fail(err, errlen, "--on-triple-fault %s: expected stop or reset", optarg);
			break;
		case OPT_NET:
			if ((r = cli_parse_net(optarg, cfg, err, errlen)) != CLI_OK)
				return r;
			break;
		case OPT_VSOCK:
			if ((r = cli_parse_vsock(optarg, cfg, err, errlen)) != CLI_OK)
				return r;
			break;
		case OPT_CONSOLE:
			if ((r = cli_parse_console(optarg, cfg, err, errlen)) != CLI_OK)
				return r;
			break;
		case OPT_STATS: cfg->stats = true; break;
		case OPT_DRIVE:
			if ((r = cli_parse_drive(optarg, cfg, err, errlen)) != CLI_OK)
				return r;
			break;
		case OPT_RNG: cfg->rng = true; break;
		case OPT_HUGEPAGES: cfg->hugepages = true; break;
		case OPT_MEMORY_BACKEND:
			if (strcmp(optarg, "anon") && strcmp(optarg, "memfd"))
				return fail(err, errlen, "--memory-backend %s: expected anon or memfd",
					    optarg);
			cfg->memory_memfd = !strcmp(optarg, "memfd");
			break;
		case 'v': cfg->verbose = true; break;
		case 'h': return CLI_HELP;
		case ':':
			return fail(err, errlen, "%s needs a value", argv[optind - 1]);
		default:
			return fail(err, errlen, "unknown option %s (see ringvm run --help)",
				    argv[optind - 1]);
		}
	}
	if (optind < argc)
		return fail(err, errlen, "unexpected argument '%s' (see ringvm run --help)", argv[optind]);
	if (!cfg->kernel)
		return fail(err, errlen, "--kernel is required (see ringvm run --help)");
	if ((r = check_file("--kernel", cfg->kernel, err, errlen)) != CLI_OK)
		return r;
	if (cfg->initrd && (r = check_file("--initrd", cfg->initrd, err, errlen)) != CLI_OK)
		return r;
	if ((r = cli_check_drives(cfg, err, errlen)) != CLI_OK)
		return r;
	uint64_t min = 16 * MiB, max = 1ULL << 40;
	if (cfg->memory < min || cfg->memory > max)
		return fail(err, errlen, "--memory: %llu MiB is outside the supported 16 MiB .. 1 TiB",
			    (unsigned long long)(cfg->memory >> 20));
	if (cfg->memory % MiB)
		return fail(err, errlen, "--memory: must be a whole number of MiB");
	if (cfg->hugepages && cfg->memory % (2 * MiB))
		return fail(err, errlen, "--memory: must be a multiple of 2 MiB with --hugepages");
	if (cfg->pc_testdev && cfg->testdev)
		return fail(err, errlen, "--pc-testdev: port 0xe0 is also --testdev's call port; use one of them");
	return CLI_OK;
}
