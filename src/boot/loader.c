/* Placeholder until the loaders land (replaced by the boot work). */
#include <errno.h>

#include "ringvm/boot.h"
#include "ringvm/log.h"

int boot_load(struct vm *vm, struct boot_entry *entry)
{
	(void)entry;
	pr_err("%s: no kernel loaders are built yet", vm->cfg.kernel);
	return -ENOEXEC;
}
