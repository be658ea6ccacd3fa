/* A VM's CPU weight through cgroups (cpu_weight.c, docs/api.md "CPU weight"). */
#ifndef RINGVM_CLI_CPU_WEIGHT_H
#define RINGVM_CLI_CPU_WEIGHT_H

#include <stddef.h>

struct vm_config;

#define CPU_WEIGHT_PATH_LEN 4096

/* Move this process into the cgroup ringvm-NAME below its own and give it
 * weight (1..10000, cgroup v2's cpu.weight scale).  0 with the cgroup and
 * the value set in where; -1 with the reason in err. */
int cpu_weight_apply(const char *name, unsigned weight, char *where, size_t wn, char *err,
		     size_t n);

/* cfg's weight, if any, under cgroup ringvm-NAME: 0 done (or a warning
 * logged), else RINGVM_EXIT_USAGE (--cpu-weight-strict; the error logged). */
int cpu_weight_setup(const struct vm_config *cfg, const char *name);

#endif
