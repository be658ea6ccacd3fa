/* GET/PUT/PATCH /machine-config, "machine-config" in the config file
 * (Firecracker's MachineConfiguration).  PUT needs vcpu_count and
 * mem_size_mib and resets the optional fields; PATCH changes what it names. */
#include <string.h>

#include "fc.h"

int fc_res_machine_config(struct fc_vmm *fc, json_t *obj, bool put, const char *ptr, char *err,
			  size_t n)
{
	static const char *const fields[] = { "vcpu_count", "mem_size_mib", "smt",
		"track_dirty_pages", "huge_pages", "cpu_template", NULL };
	uint64_t vcpus = fc->vcpu_count, mem = fc->mem_size_mib;
	bool smt = put ? false : fc->smt, dirty = put ? false : fc->track_dirty_pages;
	bool huge = put ? false : fc->huge_pages_2m, has_huge, has_tmpl;
	char hp[8], tmpl[32];

	if (fc_json_object(obj, ptr, err, n) < 0 || fc_json_known(obj, ptr, fields, err, n) < 0 ||
	    fc_json_uint(obj, ptr, "vcpu_count", put, 1, MAX_VCPUS, &vcpus, NULL, err, n) < 0 ||
	    fc_json_uint(obj, ptr, "mem_size_mib", put, 1, FC_MAX_MEM_MIB, &mem, NULL, err, n) < 0 ||
	    fc_json_bool(obj, ptr, "smt", false, &smt, NULL, err, n) < 0 ||
	    fc_json_bool(obj, ptr, "track_dirty_pages", false, &dirty, NULL, err, n) < 0 ||
	    fc_json_str(obj, ptr, "huge_pages", false, hp, sizeof(hp), &has_huge, err, n) < 0 ||
	    fc_json_str(obj, ptr, "cpu_template", false, tmpl, sizeof(tmpl), &has_tmpl, err, n) < 0)
		return -1;
	/* Firecracker allows SMT only with 1 or an even number of vCPUs; ringvm
	 * does not model sibling threads at all. */
	if (smt)
		return fc_json_fail(err, n, "%s/smt: SMT (sibling hyperthreads) is not supported by "
				    "ringvm; use false", ptr);
	if (has_huge) {
		if (!strcmp(hp, "None"))
			huge = false;
		else if (!strcmp(hp, "2M"))
			huge = true;
		else
			return fc_json_fail(err, n, "%s/huge_pages: expected \"None\" or \"2M\"", ptr);
	}
	if (has_tmpl && strcmp(tmpl, "None"))
		return fc_json_fail(err, n, "%s/cpu_template: CPU templates are not supported by "
				    "ringvm (only \"None\"): the guest sees the engine's own CPU model",
				    ptr);
	fc->vcpu_count = (unsigned)vcpus;
	fc->mem_size_mib = (unsigned)mem;
	fc->smt = smt;
	fc->track_dirty_pages = dirty;
	fc->huge_pages_2m = huge;
	return 0;
}

json_t *fc_machine_config_dump(const struct fc_vmm *fc)
{
	return json_pack("{s:I, s:I, s:b, s:b, s:s}", "vcpu_count", (json_int_t)fc->vcpu_count,
			 "mem_size_mib", (json_int_t)fc->mem_size_mib, "smt", fc->smt,
			 "track_dirty_pages", fc->track_dirty_pages, "huge_pages",
			 fc->huge_pages_2m ? "2M" : "None");
}
