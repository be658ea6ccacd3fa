/* libFuzzer target: Firecracker's config file parser (src/api/fc_config.c
 * and the res_*.c resources) on the input as the file's text, then
 * fc_vmm_build() and GET /vm/config's dump of whatever was accepted.  No ops
 * are set, so no logger or metrics file is opened.  Checked (abort() = a
 * finding):
 *  - an error is one terminated line inside err, starting with '/' (a
 *    JSON pointer) or naming the JSON error;
 *  - an accepted config stays within ringvm's limits (vCPUs, memory, drive
 *    and interface counts, one root device) and its dump is valid JSON. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "src/api/fc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fc_vmm fc;
	char err[FC_ERR_LEN];
	struct vm_config base, cfg;

	fc_vmm_init(&fc);
	memset(err, 0x55, sizeof(err));
	if (fc_config_parse(&fc, (const char *)data, size, err, sizeof(err)) < 0) {
		size_t n = strnlen(err, sizeof(err));
		if (n == sizeof(err) || memchr(err, '\n', n))
			abort();
		if (err[0] != '/' && strncmp(err, "invalid JSON", 12))
			abort();
		return 0;
	}
	if (fc.vcpu_count < 1 || fc.vcpu_count > MAX_VCPUS || fc.mem_size_mib < 1 ||
	    fc.mem_size_mib > FC_MAX_MEM_MIB || fc.nr_drives > VM_MAX_DRIVES || fc.nr_nets > VM_MAX_NETS)
		abort();
	unsigned roots = 0;
	for (unsigned i = 0; i < fc.nr_drives; i++)
		roots += fc.drives[i].is_root_device;
	if (roots > 1)
		abort();
	vm_config_defaults(&base);
	if (fc_vmm_build(&fc, &base, &cfg, err, sizeof(err)) == 0) {
		if (!cfg.kernel || cfg.nr_drives != fc.nr_drives || strlen(cfg.cmdline) >= sizeof(fc.cmdline))
			abort();
		if (cfg.nr_drives && roots && !cfg.drives[0].is_root_device)
			abort();
	}
	json_t *dump = fc_config_dump(&fc);
	char *text = dump ? json_dumps(dump, JSON_COMPACT) : NULL;
	if (!text)
		abort();
	json_t *back = json_loads(text, 0, NULL);
	if (!back)
		abort();
	json_decref(back);
	free(text);
	json_decref(dump);
	return 0;
}
