/* libFuzzer target: the API request handler (src/api/api_handler.c) on a
 * sequence of requests split from the input: records separated by a 0xff
 * byte, each "METHOD PATH\n" followed by its body.  The ops record instead
 * of running a VM (start succeeds when fc_vmm_build does), so the
 * pre-/post-boot rules and pause/resume are reached.  Checked (abort() = a
 * finding):
 *  - every status is 200, 204 or 400; 204 has no body; 200 and 400 have a
 *    body that is valid JSON, and a 400 body is {"fault_message": string};
 *  - the state only moves forward: Not started -> Running <-> Paused. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "src/api/api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int f_start(struct fc_vmm *fc, char *err, size_t n)
{
	struct vm_config base, cfg;
	vm_config_defaults(&base);
	return fc_vmm_build(fc, &base, &cfg, err, n);
}
static int f_ok(struct fc_vmm *fc, char *err, size_t n)
{
	(void)fc; (void)err; (void)n;
	return 0;
}
static const struct fc_vmm_ops fuzz_ops = { .start = f_start, .pause = f_ok, .resume = f_ok,
					     .ctrl_alt_del = f_ok, .flush_metrics = f_ok };

static void one(struct fc_vmm *fc, const uint8_t *p, size_t len)
{
	const uint8_t *nl = memchr(p, '\n', len);
	size_t head = nl ? (size_t)(nl - p) : len;
	const uint8_t *sp = memchr(p, ' ', head);
	char method[16], path[512];
	size_t ml = sp ? (size_t)(sp - p) : head;
	if (ml >= sizeof(method))
		ml = sizeof(method) - 1;
	memcpy(method, p, ml);
	method[ml] = 0;
	size_t pl = sp ? head - (size_t)(sp + 1 - p) : 0;
	if (pl >= sizeof(path))
		pl = sizeof(path) - 1;
	if (sp)
		memcpy(path, sp + 1, pl);
	path[pl] = 0;
	if (strlen(method) != ml || strlen(path) != pl)
		return;  /* HTTP never hands over a NUL in these */
	/* The body: an exact-size heap copy, so an over-read is an ASan report. */
	size_t bl = nl ? len - head - 1 : 0;
	char *body = malloc(bl ? bl : 1);
	if (!body)
		return;
	if (bl)
		memcpy(body, nl + 1, bl);
	enum fc_state before = fc->state;
	struct api_response r;
	api_handle(fc, method, path, bl ? body : NULL, bl, &r);
	free(body);
	if (r.status != 200 && r.status != 204 && r.status != 400)
		abort();
	if ((r.status == 204) != !r.body)
		abort();
	if (r.body) {
		json_t *j = json_loads(r.body, 0, NULL);
		if (!j)
			abort();
		if (r.status == 400 && !json_is_string(json_object_get(j, "fault_message")))
			abort();
		json_decref(j);
	}
	if (before != FC_NOT_STARTED && fc->state == FC_NOT_STARTED)
		abort();
	free(r.body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fc_vmm fc;
	fc_vmm_init(&fc);
	fc.ops = &fuzz_ops;
	size_t start = 0;
	for (size_t i = 0; i <= size; i++) {
		if (i < size && data[i] != 0xff)
			continue;
		one(&fc, data + start, i - start);
		start = i + 1;
	}
	return 0;
}
