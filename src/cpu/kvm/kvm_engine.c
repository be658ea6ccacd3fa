/* Placeholder until the kvm engine lands. */
#include <stdio.h>

#include "ringvm/engine.h"

static void kvm_probe(struct engine_probe *out)
{
	out->available = false;
	snprintf(out->reason, sizeof(out->reason), "not built yet");
}

const struct engine_ops engine_kvm_ops = {
	.name = "kvm",
	.probe = kvm_probe,
};
