/* Firecracker's command line (src/cli/fc_main.c, docs/api.md). */
#ifndef RINGVM_CLI_FC_MAIN_H
#define RINGVM_CLI_FC_MAIN_H

#include <stdbool.h>

/* arg is one of Firecracker's top-level flags (other than --help and
 * --version, which stay ringvm's own when given as argv[1]). */
bool fc_is_flag(const char *arg);
/* Run as `firecracker` (argv[0] is the program). */
int fc_main(int argc, char **argv);
/* The same, jailed (`ringvm jail`, src/sandbox/jail.c): not listed in the
 * runtime directory of `ringvm ls`, which the jail hides; pagemap_fd is the
 * /proc/self/pagemap the jail opened before /proc went away (-1: none). */
int fc_main_jailed(int argc, char **argv, bool jailed, int pagemap_fd);
extern const char fc_usage[];

#endif
