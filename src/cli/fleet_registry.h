/* The runtime directory of a user's VMs (docs/api.md, "Several VMs"): each
 * ringvm serving an API socket registers itself there under its name, so
 * `ringvm ls|pause|resume|stop|snapshot NAME` can find it.
 *
 *   directory: $XDG_RUNTIME_DIR/ringvm, else /run/user/UID/ringvm (when that
 *              exists), else /tmp/ringvm-UID; created mode 0700 and refused
 *              if it is not a directory owned by the user with no access
 *              for others
 *   entry:     NAME.json = {"name", "pid", "api_sock" (absolute), "started_ms"
 *              (CLOCK_REALTIME)}, written to a temporary file and renamed
 *   staleness: an entry whose pid is dead (kill(pid, 0) fails with ESRCH) is
 *              ignored and removed by whoever reads it
 * Names are the API's ids: 1-64 of [A-Za-z0-9_-], so a name is a safe file
 * name. */
#ifndef RINGVM_CLI_FLEET_REGISTRY_H
#define RINGVM_CLI_FLEET_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define FLEET_NAME_LEN 65
#define FLEET_PATH_LEN 4096
#define FLEET_NAME_TAKEN (-2)   /* fleet_register: a live VM has the name */

struct fleet_entry {
	char name[FLEET_NAME_LEN];
	pid_t pid;
	char api_sock[FLEET_PATH_LEN];
	int64_t started_ms;
};

/* The directory (created if missing, checked).  -1 with a reason in err. */
int fleet_dir(char *dst, size_t n, char *err, size_t errlen);

/* Register this process (getpid()) as name, serving api_sock.  Refused
 * (FLEET_NAME_TAKEN, reason in err) when a live process holds the name; -1
 * (reason in err) when the directory or the entry cannot be written.  The entry's path
 * goes to entry (FLEET_PATH_LEN + 80 bytes) for fleet_unregister. */
int fleet_register(const char *name, const char *api_sock, char *entry, char *err, size_t errlen);
/* Remove the entry fleet_register made: one unlink, allowed under the main
 * thread's seccomp filter (no lookups: the VM's threads are filtered by
 * then). */
void fleet_unregister(const char *entry);

/* Look up a live entry: 0 found, -1 no such VM (stale ones removed). */
int fleet_lookup(const char *name, struct fleet_entry *out);
/* Every live entry, sorted by name; *out malloc'd (free it).  Returns the
 * count, or -1 if the directory cannot be read. */
int fleet_list(struct fleet_entry **out, char *err, size_t errlen);

/* Parse an entry's text (a NUL-terminated JSON object); 0 or -1. */
int fleet_entry_parse(const char *text, struct fleet_entry *out);

#endif
