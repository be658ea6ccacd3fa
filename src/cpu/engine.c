/* Engine registry and the "auto" choice. */
#include <stdio.h>
#include <string.h>

#include "ringvm/engine.h"
#include "ringvm/log.h"

static const struct engine_ops *const engines[] = { &engine_kvm_ops, &engine_soft_ops };

const struct engine_ops *engine_find(const char *name)
{
	for (size_t i = 0; i < sizeof(engines) / sizeof(engines[0]); i++)
		if (!strcmp(engines[i]->name, name))
			return engines[i];
	return NULL;
}

const struct engine_ops *engine_select(const char *name, bool verbose, char *why,
				       size_t why_len)
{
	struct engine_probe p;

	if (strcmp(name, "auto") != 0) {
		const struct engine_ops *e = engine_find(name);
		if (!e) {
			snprintf(why, why_len, "unknown engine '%s' (expected auto, kvm or soft)", name);
			return NULL;
		}
		memset(&p, 0, sizeof(p));
		e->probe(&p);
		if (!p.available) {
			snprintf(why, why_len, "engine %s is not available: %s", name, p.reason);
			return NULL;
		}
		if (verbose)
			pr_info("engine: %s (requested): %s", name, p.reason);
		return e;
	}

	/* auto: kvm only if it really runs guest kernels at speed. */
	memset(&p, 0, sizeof(p));
	engine_kvm_ops.probe(&p);
	if (p.available && p.runs_kernels_well) {
		if (verbose)
			pr_info("engine: auto chose kvm: %s", p.reason);
		return &engine_kvm_ops;
	}
	struct engine_probe s;
	memset(&s, 0, sizeof(s));
	engine_soft_ops.probe(&s);
	if (s.available) {
		if (verbose)
			pr_info("engine: auto chose soft: kvm %s", p.reason);
		return &engine_soft_ops;
	}
	if (p.available) {
		if (verbose)
			pr_info("engine: auto chose kvm although it is slow (%s); soft: %s",
				p.reason, s.reason);
		return &engine_kvm_ops;
	}
	snprintf(why, why_len, "no engine can run here: kvm: %s; soft: %s", p.reason, s.reason);
	return NULL;
}
