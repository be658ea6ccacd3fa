/* Helpers for the boot unit tests: a hand-made vm and synthetic images. */
#ifndef BOOT_TEST_UTIL_H
#define BOOT_TEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ringvm/boot.h"

struct vm *tvm_new(uint64_t ram);
void tvm_free(struct vm *vm);

/* Read guest memory (fails the test on a bad address). */
uint8_t tr8(struct vm *vm, uint64_t gpa);
uint16_t tr16(struct vm *vm, uint64_t gpa);
uint32_t tr32(struct vm *vm, uint64_t gpa);
uint64_t tr64(struct vm *vm, uint64_t gpa);

/* Deterministic payload byte at index i, and a check helper. */
static inline uint8_t pat(uint64_t i, uint8_t seed) { return (uint8_t)(i * 7 + seed + (i >> 8)); }
void fill_pat(uint8_t *p, size_t n, uint8_t seed);
bool guest_has_pat(struct vm *vm, uint64_t gpa, size_t n, uint8_t seed);

static inline void wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void wr32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static inline void wr64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static inline uint32_t rd32(const uint8_t *p) { return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

/* A minimal bzImage. */
struct bz_opts {
	uint16_t version;
	uint8_t setup_sects;
	uint8_t loadflags;
	uint16_t xloadflags;
	uint8_t relocatable;
	uint32_t kernel_alignment;
	uint64_t pref_address;
	uint32_t init_size;
	uint32_t initrd_addr_max;
	uint32_t cmdline_size;
	size_t payload;
};
void bz_defaults(struct bz_opts *o);
uint8_t *mk_bzimage(const struct bz_opts *o, size_t *size);

/* A minimal ELF. */
struct tseg {
	uint32_t type;
	uint64_t paddr, vaddr, filesz, memsz, align;
	const uint8_t *data;   /* filesz bytes, or NULL for the pattern */
};
uint8_t *mk_elf(bool is64, uint16_t machine, uint64_t entry, const struct tseg *s,
		unsigned n, size_t *size);
/* Offset of segment i's data in an image made by mk_elf. */
uint64_t elf_seg_off(bool is64, const struct tseg *s, unsigned n, unsigned i);
/* "Xen" PHYS32_ENTRY note with a 4- or 8-byte descriptor into out (>= 24). */
size_t mk_pvh_note(uint8_t *out, uint64_t entry, unsigned descsz);

/* An exact-size heap copy of the first len bytes (so over-reads are caught
 * by ASan/valgrind); free() it. */
uint8_t *dup_prefix(const uint8_t *p, size_t len);

/* Write buf to a fresh temporary file; returns a malloc'd path. */
char *tmp_file(const void *buf, size_t n);

#endif
