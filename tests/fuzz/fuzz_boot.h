/* Shared harness for the boot-loader fuzz targets: a fresh small VM per
 * input (no state survives between runs), the input as the kernel image. */
#ifndef RINGVM_FUZZ_BOOT_H
#define RINGVM_FUZZ_BOOT_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ringvm/boot.h"
#include "ringvm/log.h"

#define FUZZ_RAM (16ULL << 20)

typedef int (*fuzz_loader_fn)(struct vm *vm, const struct boot_blob *kernel,
			      const struct boot_blob *initrd, struct boot_entry *entry);

static inline int fuzz_boot_one(fuzz_loader_fn fn, const uint8_t *data, size_t size)
{
	struct vm *vm = calloc(1, sizeof(*vm));
	if (!vm)
		return 0;
	vm->cfg.cpus = 2;
	vm->cfg.cmdline = "console=ttyS0";
	struct gmem_opts o = { .ram_size = FUZZ_RAM };
	if (gmem_init(&vm->mem, &o) == 0) {
		/* An exact-size copy so any over-read hits the sanitizer. */
		uint8_t *copy = malloc(size ? size : 1);
		if (copy) {
			if (size)
				memcpy(copy, data, size);
			struct boot_blob k = { .path = "fuzz-kernel", .data = copy, .size = size };
			static const uint8_t rd_bytes[64] = { 0x30, 0x37, 0x30, 0x37 };
			struct boot_blob rd = { .path = "fuzz-initrd",
						.data = (uint8_t *)rd_bytes,
						.size = sizeof(rd_bytes) };
			struct boot_entry e;
			memset(&e, 0, sizeof(e));
			/* Odd sizes also exercise the initrd placement paths. */
			fn(vm, &k, (size & 1) ? &rd : NULL, &e);
			free(copy);
		}
		gmem_destroy(&vm->mem);
	}
	free(vm);
	return 0;
}

#endif
