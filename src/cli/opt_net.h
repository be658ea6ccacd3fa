/* `ringvm run` options for the network, vsock and console devices
 * (src/cli/opt_net.c).  Each parser fills cfg or returns CLI_ERROR with one
 * line in err naming the option and the value.  The char * ones split their
 * value in place (argv strings are writable) and keep pointers into it. */
#ifndef RINGVM_CLI_OPT_NET_H
#define RINGVM_CLI_OPT_NET_H

#include "options.h"

enum cli_result cli_parse_net(char *s, struct vm_config *cfg, char *err, size_t len);
enum cli_result cli_parse_vsock(char *s, struct vm_config *cfg, char *err, size_t len);
enum cli_result cli_parse_console(const char *s, struct vm_config *cfg, char *err, size_t len);
/* "52:54:00:12:34:56": 0, or -1. */
int cli_parse_mac(const char *s, uint8_t mac[6]);

#endif
