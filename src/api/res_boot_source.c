/* PUT /boot-source, "boot-source" in the config file: the kernel, initrd
 * and command line (Firecracker's BootSource). */
#include <string.h>

#include "fc.h"

int fc_res_boot_source(struct fc_vmm *fc, json_t *obj, const char *ptr, char *err, size_t n)
{
	static const char *const fields[] = { "kernel_image_path", "initrd_path", "boot_args", NULL };
	char kernel[FC_PATH_LEN], initrd[FC_PATH_LEN], args[FC_CMDLINE_LEN];
	bool has_initrd, has_args;

	initrd[0] = args[0] = 0;
	if (fc_json_object(obj, ptr, err, n) < 0 || fc_json_known(obj, ptr, fields, err, n) < 0 ||
	    fc_json_str(obj, ptr, "kernel_image_path", true, kernel, sizeof(kernel), NULL, err, n) < 0 ||
	    fc_json_str(obj, ptr, "initrd_path", false, initrd, sizeof(initrd), &has_initrd, err, n) < 0 ||
	    fc_json_str(obj, ptr, "boot_args", false, args, sizeof(args), &has_args, err, n) < 0)
		return -1;
	if (fc_json_file(kernel, ptr, "kernel_image_path", err, n) < 0 ||
	    (has_initrd && fc_json_file(initrd, ptr, "initrd_path", err, n) < 0))
		return -1;
	memcpy(fc->kernel, kernel, sizeof(kernel));
	memcpy(fc->initrd, has_initrd ? initrd : "", has_initrd ? sizeof(initrd) : 1);
	memcpy(fc->boot_args, args, sizeof(args));
	fc->boot_args_set = has_args;
	fc->boot_source_set = true;
	return 0;
}
