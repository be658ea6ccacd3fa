/* --drive (virtio-blk) parsing, kept apart from options.c. */
#ifndef RINGVM_CLI_OPT_DRIVE_H
#define RINGVM_CLI_OPT_DRIVE_H

#include <stddef.h>

#include "options.h"

/* path=IMG[,ro=on|off][,id=NAME][,serial=S]; spec is edited in place. */
enum cli_result cli_parse_drive(char *spec, struct vm_config *cfg, char *err, size_t len);
/* Every drive's image exists and opens as configured. */
enum cli_result cli_check_drives(const struct vm_config *cfg, char *err, size_t len);

#endif
