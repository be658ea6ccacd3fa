/* `ringvm ls|pause|resume|stop|snapshot` (cmd_fleet.c). */
#ifndef RINGVM_CLI_CMD_FLEET_H
#define RINGVM_CLI_CMD_FLEET_H

#include <stdbool.h>

extern const char fleet_usage[];
bool fleet_is_command(const char *cmd);
/* argv[0] is the command. */
int cmd_fleet(int argc, char **argv);

#endif
