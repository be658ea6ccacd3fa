/* Machine configuration defaults. */
#include <string.h>

#include "ringvm/vm.h"

void vm_config_defaults(struct vm_config *c)
{
	memset(c, 0, sizeof(*c));
	c->cmdline = "";
	c->memory = 512 * MiB;
	c->cpus = 1;
	c->engine = "auto";
	c->soft_jit = true;            /* --soft-tier jit */
	c->serial = SERIAL_STDIO;
	c->debug_exit = true;
	c->debug_exit_port = PORT_DEBUG_EXIT_DEFAULT;
	c->debug_exit_size = 4;
	c->on_reset = ON_RESET_RESTART;
	c->pagemap_fd = -1;
	c->seccomp_selftest = -1;
}
