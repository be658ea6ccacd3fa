/* libFuzzer target: the `ringvm run` command-line parser (src/cli/options.c)
 * on an argv split from the input at NUL and newline bytes (argv[0] is
 * "run", at most FUZZ_CLI_MAX_ARGS arguments, each an exact-size heap copy
 * so an over-read is an ASan report).  No VM is started: only
 * cli_parse_run() and cli_parse_size() run.  Checked (abort() = a finding):
 *  - CLI_OK leaves a configuration vm_start would accept: a kernel path,
 *    1..MAX_VCPUS vCPUs, 16 MiB..1 TiB of memory in whole MiB, a debug-exit
 *    window inside the port space;
 *  - CLI_ERROR leaves a one-line, terminated message inside err;
 *  - cli_parse_size() of each argument either fails or gives a size whose
 *    round trip does not overflow. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "src/cli/options.h"

#define FUZZ_CLI_MAX_ARGS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *argv[FUZZ_CLI_MAX_ARGS + 2];
	int argc = 0;
	static char run[] = "run";
	argv[argc++] = run;
	size_t start = 0;
	for (size_t i = 0; i <= size && argc <= FUZZ_CLI_MAX_ARGS; i++) {
		if (i < size && data[i] != 0 && data[i] != '\n')
			continue;
		size_t len = i - start;
		char *a = malloc(len + 1);
		if (!a)
			break;
		memcpy(a, data + start, len);
		a[len] = 0;
		argv[argc++] = a;
		start = i + 1;
	}
	argv[argc] = NULL;

	/* getopt_long permutes argv: keep the pointers to free. */
	char *owned[FUZZ_CLI_MAX_ARGS + 2];
	memcpy(owned, argv, sizeof(argv));

	for (int i = 1; i < argc; i++) {
		uint64_t bytes;
		if (cli_parse_size(argv[i], &bytes) == 0 && bytes == 0 && argv[i][0] == 0)
			abort();   /* the empty string is not a size */
	}

	struct vm_config cfg;
	vm_config_defaults(&cfg);
	char err[200];
	memset(err, 0x5a, sizeof(err));
	/* The last 8 bytes are a canary: the parser is told about 192. */
	enum cli_result r = cli_parse_run(argc, argv, &cfg, err, sizeof(err) - 8);
	for (size_t i = sizeof(err) - 8; i < sizeof(err); i++)
		if (err[i] != 0x5a)
			abort();
	switch (r) {
	case CLI_OK:
		if (!cfg.kernel || cfg.cpus == 0 || cfg.cpus > MAX_VCPUS ||
		    cfg.memory < 16 * MiB || cfg.memory > (1ULL << 40) || cfg.memory % MiB)
			abort();
		if (cfg.debug_exit && (unsigned)cfg.debug_exit_port + cfg.debug_exit_size > 0x10000)
			abort();
		if (strcmp(cfg.engine, "auto") && strcmp(cfg.engine, "kvm") &&
		    strcmp(cfg.engine, "soft"))
			abort();
		break;
	case CLI_HELP:
		break;
	case CLI_ERROR:
		if (!memchr(err, 0, sizeof(err) - 8) || err[0] == 0)
			abort();
		break;
	default:
		abort();
	}
	for (int i = 1; i < argc; i++)
		free(owned[i]);
	return 0;
}
