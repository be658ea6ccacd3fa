/* libFuzzer target: the input is a kernel image for boot_bzimage(). */
#include "fuzz_boot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_boot_one(boot_bzimage, data, size);
}
