/* The soft engine's entry in the engine table.  The CPU core is being built
 * (issues 3 and 4); until it can run a machine the engine reports itself
 * unavailable with a clear reason. */
#include <stdio.h>

#include "ringvm/engine.h"

static void soft_probe(struct engine_probe *out)
{
	out->available = false;
	out->runs_kernels_well = false;
	snprintf(out->reason, sizeof(out->reason),
		 "the soft engine is not available yet (its system architecture is still being built)");
}

const struct engine_ops engine_soft_ops = {
	.name = "soft",
	.probe = soft_probe,
};
