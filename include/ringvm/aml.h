/* A tiny AML (ACPI Machine Language) builder: just enough opcodes to write
 * ringvm's DSDT by name instead of as an opaque byte array (src/boot/aml.c).
 *
 * Devices describe themselves in the DSDT: a file that has something to
 * say ends with
 *     ACPI_DSDT_PART(com1, com1_aml);
 * and acpi_dsdt_build() calls every part inside Scope(\_SB), so adding a
 * device touches no central table (like VM_DEVICE, include/ringvm/device.h).
 *
 * Usage: aml_init() over a caller buffer, emit terms, nest Scope/Device/
 * Package with *_begin() ... aml_end().  Errors (buffer full, nesting too
 * deep, bad name) are sticky: check aml_ok() once at the end. */
#ifndef RINGVM_AML_H
#define RINGVM_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AML_MAX_DEPTH 8

struct aml {
	uint8_t *buf;
	size_t cap, len;
	bool err;
	unsigned depth;
	size_t open[AML_MAX_DEPTH]; /* offset where each open PkgLength goes */
};

/* Opcodes used (ACPI 6.x, section 20.3). */
#define AML_ZERO_OP      0x00
#define AML_ONE_OP       0x01
#define AML_NAME_OP      0x08
#define AML_BYTE_PREFIX  0x0A
#define AML_WORD_PREFIX  0x0B
#define AML_DWORD_PREFIX 0x0C
#define AML_STRING_PREFIX 0x0D
#define AML_QWORD_PREFIX 0x0E
#define AML_SCOPE_OP     0x10
#define AML_BUFFER_OP    0x11
#define AML_PACKAGE_OP   0x12
#define AML_DUAL_NAME    0x2E
#define AML_MULTI_NAME   0x2F
#define AML_EXT_PREFIX   0x5B
#define AML_DEVICE_OP    0x82 /* after AML_EXT_PREFIX */
#define AML_ROOT_CHAR    0x5C /* '\' */
#define AML_ONES_OP      0xFF

void aml_init(struct aml *a, uint8_t *buf, size_t cap);
static inline bool aml_ok(const struct aml *a) { return !a->err && a->depth == 0; }

void aml_raw(struct aml *a, const void *p, size_t n);
void aml_byte(struct aml *a, uint8_t v);
/* Smallest integer encoding: ZeroOp, OneOp, Byte/Word/DWord/QWordConst. */
void aml_integer(struct aml *a, uint64_t v);
void aml_string(struct aml *a, const char *s);
/* "\_SB.COM1", "_S5", "^FOO": segments padded with '_' to 4 characters. */
void aml_namestring(struct aml *a, const char *name);
/* EisaId("PNP0501") as a DWordConst. */
void aml_eisaid(struct aml *a, const char *id);
/* Compressed EISA id value (exposed for tests); 0 for a malformed id. */
uint32_t aml_eisaid_value(const char *id);

/* Name(name, <next term>): emit NameOp + NameString; the caller emits the
 * value next. */
void aml_name(struct aml *a, const char *name);

/* Structured terms with a PkgLength; close each with aml_end(). */
void aml_scope_begin(struct aml *a, const char *name);
void aml_device_begin(struct aml *a, const char *name);
void aml_package_begin(struct aml *a, uint8_t nelems);
void aml_end(struct aml *a);
/* Buffer(n) { bytes } in one call. */
void aml_buffer(struct aml *a, const uint8_t *bytes, size_t n);

/* Encode a PkgLength for a package whose contents (after the PkgLength)
 * are content_len bytes; returns the number of bytes written to out[4]
 * (1..4), or 0 if too large. */
unsigned aml_pkglength(size_t content_len, uint8_t out[4]);

/* Resource-template descriptors (ACPI 6.4.2), written into a raw buffer
 * for aml_buffer(); each returns the bytes written. */
size_t aml_res_io(uint8_t *p, uint16_t base, uint8_t align, uint8_t len);
size_t aml_res_irq(uint8_t *p, unsigned irq);
size_t aml_res_end(uint8_t *p);
/* Address space descriptors (ACPI 6.4.3.5.2-3) for a bridge's _CRS: a
 * producer range [min, max] with fixed min and max, positive decode, no
 * translation.  type: AML_RES_MEM, AML_RES_IO or AML_RES_BUS; type_flags:
 * for memory bit 0 read/write and bits 2:1 cacheability, for I/O 3 (entire
 * range). */
#define AML_RES_MEM 0
#define AML_RES_IO  1
#define AML_RES_BUS 2
/* Device(name) { _HID EisaId(hid), _UID uid, _STA 0xf, _CRS { IO base/len,
 * IRQ } }: an ISA device with one port range and one IRQ. */
void aml_isa_device(struct aml *a, const char *name, const char *hid, unsigned uid,
		    uint16_t io, uint8_t io_len, unsigned irq);

struct vm;
/* A device's part of the DSDT, emitted inside Scope(\_SB) (the machine
 * description, not its state: parts must not depend on guest actions). */
struct acpi_dsdt_part {
	const char *name;
	void (*build)(struct aml *a, const struct vm *vm);
};
#define ACPI_DSDT_PART(id, fn)                                               \
	static const struct acpi_dsdt_part acpi_dsdt_part_##id = { #id, (fn) }; \
	static const struct acpi_dsdt_part *const acpi_dsdt_ptr_##id         \
	__attribute__((used, section("ringvm_dsdt"))) = &acpi_dsdt_part_##id

size_t aml_res_word(uint8_t *p, uint8_t type, uint8_t type_flags, uint16_t min, uint16_t max);
size_t aml_res_dword(uint8_t *p, uint8_t type, uint8_t type_flags, uint32_t min, uint32_t max);

#endif
