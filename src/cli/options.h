/* Command-line parsing for `ringvm run`, kept apart from main() so that it is
 * unit-tested (tests/unit/core/test_options.c). */
#ifndef RINGVM_CLI_OPTIONS_H
#define RINGVM_CLI_OPTIONS_H

#include <stddef.h>
#include <stdint.h>

#include "ringvm/vm.h"

enum cli_result { CLI_OK, CLI_HELP, CLI_ERROR };

/* Parse `run` options (argv[0] is "run").  On CLI_ERROR, err holds one line
 * naming the option and the problem. */
enum cli_result cli_parse_run(int argc, char **argv, struct vm_config *cfg, char *err,
			      size_t errlen);

/* "512M", "2G", "1048576K", "256" (MiB, like QEMU's -m).  Returns 0 or -1. */
int cli_parse_size(const char *s, uint64_t *bytes);

extern const char cli_run_usage[];

/* `ringvm jail` (src/cli/cmd_jail.c): the jail's options up to `--`; on
 * CLI_OK argv[*run_index] is "run" (the run form) or, with o->fc_form, the
 * first of Firecracker's arguments (*run_index == argc: none). */
struct jail_opts;
enum cli_result cli_parse_jail(int argc, char **argv, struct jail_opts *o, int *run_index,
			       char *err, size_t errlen);
extern const char cli_jail_usage[];

#endif
