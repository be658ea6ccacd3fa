/* Tiny AML builder for the DSDT (see aml.h). */
#include <string.h>

#include "ringvm/aml.h"

void aml_init(struct aml *a, uint8_t *buf, size_t cap)
{
	memset(a, 0, sizeof(*a));
	a->buf = buf;
	a->cap = cap;
}

void aml_raw(struct aml *a, const void *p, size_t n)
{
	if (a->err || n > a->cap - a->len) {
		a->err = true;
		return;
	}
	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

void aml_byte(struct aml *a, uint8_t v)
{
	aml_raw(a, &v, 1);
}

void aml_integer(struct aml *a, uint64_t v)
{
	uint8_t b[9];
	size_t n;

	if (v == 0 || v == 1) {
		aml_byte(a, v ? AML_ONE_OP : AML_ZERO_OP);
		return;
	}
	if (v <= 0xff) {
		b[0] = AML_BYTE_PREFIX;
		n = 1;
	} else if (v <= 0xffff) {
		b[0] = AML_WORD_PREFIX;
		n = 2;
	} else if (v <= 0xffffffffULL) {
		b[0] = AML_DWORD_PREFIX;
		n = 4;
	} else {
		b[0] = AML_QWORD_PREFIX;
		n = 8;
	}
	for (size_t i = 0; i < n; i++)
		b[1 + i] = (uint8_t)(v >> (8 * i));
	aml_raw(a, b, n + 1);
}

void aml_string(struct aml *a, const char *s)
{
	for (const char *c = s; *c; c++) {
		if ((unsigned char)*c < 0x01 || (unsigned char)*c > 0x7f) {
			a->err = true;
			return;
		}
	}
	aml_byte(a, AML_STRING_PREFIX);
	aml_raw(a, s, strlen(s) + 1);
}

static bool aml_lead_char(char c)
{
	return (c >= 'A' && c <= 'Z') || c == '_';
}

static bool aml_name_char(char c)
{
	return aml_lead_char(c) || (c >= '0' && c <= '9');
}

void aml_namestring(struct aml *a, const char *name)
{
	uint8_t segs[8][4];
	unsigned nseg = 0;
	const char *p = name;

	if (*p == '\\') {
		aml_byte(a, AML_ROOT_CHAR);
		p++;
	} else {
		while (*p == '^') {
			aml_byte(a, '^');
			p++;
		}
	}
	while (*p) {
		size_t n = strcspn(p, ".");
		if (n == 0 || n > 4 || nseg == 8 || !aml_lead_char(p[0])) {
			a->err = true;
			return;
		}
		for (size_t i = 0; i < 4; i++) {
			char c = i < n ? p[i] : '_';
			if (!aml_name_char(c)) {
				a->err = true;
				return;
			}
			segs[nseg][i] = (uint8_t)c;
		}
		nseg++;
		p += n;
		if (*p == '.') {
			p++;
			if (!*p) {
				a->err = true;
				return;
			}
		}
	}
	if (nseg == 0) {
		aml_byte(a, 0x00); /* NullName */
		return;
	}
	if (nseg == 2) {
		aml_byte(a, AML_DUAL_NAME);
	} else if (nseg > 2) {
		aml_byte(a, AML_MULTI_NAME);
		aml_byte(a, (uint8_t)nseg);
	}
	aml_raw(a, segs, 4 * (size_t)nseg);
}

uint32_t aml_eisaid_value(const char *id)
{
	if (strlen(id) != 7)
		return 0;
	uint32_t v = 0;
	for (int i = 0; i < 3; i++) {
		if (id[i] < 'A' || id[i] > 'Z')
			return 0;
		v = (v << 5) | (uint32_t)(id[i] - 0x40);
	}
	for (int i = 3; i < 7; i++) {
		char c = id[i];
		uint32_t d;
		if (c >= '0' && c <= '9')
			d = (uint32_t)(c - '0');
		else if (c >= 'A' && c <= 'F')
			d = (uint32_t)(c - 'A' + 10);
		else
			return 0;
		v = (v << 4) | d;
	}
	/* The 32-bit value is stored big endian: byte-swap for a DWordConst. */
	return __builtin_bswap32(v);
}

void aml_eisaid(struct aml *a, const char *id)
{
	uint32_t v = aml_eisaid_value(id);
	if (!v) {
		a->err = true;
		return;
	}
	uint8_t b[5] = { AML_DWORD_PREFIX, (uint8_t)v, (uint8_t)(v >> 8),
			 (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
	aml_raw(a, b, sizeof(b));
}

void aml_name(struct aml *a, const char *name)
{
	aml_byte(a, AML_NAME_OP);
	aml_namestring(a, name);
}

unsigned aml_pkglength(size_t content_len, uint8_t out[4])
{
	for (unsigned n = 1; n <= 4; n++) {
		size_t max = n == 1 ? 0x3f : ((size_t)1 << (4 + 8 * (n - 1))) - 1;
		if (content_len > max - n)
			continue;
		size_t total = content_len + n;
		if (n == 1) {
			out[0] = (uint8_t)total;
		} else {
			out[0] = (uint8_t)(((n - 1) << 6) | (total & 0x0f));
			for (unsigned i = 1; i < n; i++)
				out[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
		}
		return n;
	}
	return 0;
}

/* Remember where the PkgLength of the term being opened goes. */
static void aml_open(struct aml *a)
{
	if (a->depth == AML_MAX_DEPTH) {
		a->err = true;
		return;
	}
	a->open[a->depth++] = a->len;
}

void aml_end(struct aml *a)
{
	if (a->depth == 0) {
		a->err = true;
		return;
	}
	size_t start = a->open[--a->depth];
	if (a->err)
		return;
	uint8_t enc[4];
	unsigned n = aml_pkglength(a->len - start, enc);
	if (n == 0 || n > a->cap - a->len) {
		a->err = true;
		return;
	}
	memmove(a->buf + start + n, a->buf + start, a->len - start);
	memcpy(a->buf + start, enc, n);
	a->len += n;
}

void aml_scope_begin(struct aml *a, const char *name)
{
	aml_byte(a, AML_SCOPE_OP);
	aml_open(a);
	aml_namestring(a, name);
}

void aml_device_begin(struct aml *a, const char *name)
{
	aml_byte(a, AML_EXT_PREFIX);
	aml_byte(a, AML_DEVICE_OP);
	aml_open(a);
	aml_namestring(a, name);
}

void aml_package_begin(struct aml *a, uint8_t nelems)
{
	aml_byte(a, AML_PACKAGE_OP);
	aml_open(a);
	aml_byte(a, nelems);
}

void aml_buffer(struct aml *a, const uint8_t *bytes, size_t n)
{
	aml_byte(a, AML_BUFFER_OP);
	aml_open(a);
	aml_integer(a, n);
	aml_raw(a, bytes, n);
	aml_end(a);
}

/* I/O port descriptor, 16-bit decode, fixed base (small item 0x47). */
size_t aml_res_io(uint8_t *p, uint16_t base, uint8_t align, uint8_t len)
{
	p[0] = 0x47;
	p[1] = 0x01; /* decodes 16 address bits */
	p[2] = (uint8_t)base;
	p[3] = (uint8_t)(base >> 8);
	p[4] = (uint8_t)base;
	p[5] = (uint8_t)(base >> 8);
	p[6] = align;
	p[7] = len;
	return 8;
}

/* IRQNoFlags: edge, active high, exclusive (small item 0x22). */
size_t aml_res_irq(uint8_t *p, unsigned irq)
{
	uint16_t mask = (uint16_t)(irq < 16 ? 1u << irq : 0);
	p[0] = 0x22;
	p[1] = (uint8_t)mask;
	p[2] = (uint8_t)(mask >> 8);
	return 3;
}

size_t aml_res_end(uint8_t *p)
{
	p[0] = 0x79;
	p[1] = 0x00; /* checksum 0: "treat as valid" */
	return 2;
}

/* General flags: producer (bit 0 clear), positive decode, MinFixed (bit 2),
 * MaxFixed (bit 3). */
#define AML_ADDR_FIXED 0x0c

size_t aml_res_word(uint8_t *p, uint8_t type, uint8_t type_flags, uint16_t min, uint16_t max)
{
	uint16_t f[5] = { 0, min, max, 0, (uint16_t)(max - min + 1) };
	p[0] = 0x88;        /* Word Address Space Descriptor */
	p[1] = 13;
	p[2] = 0;
	p[3] = type;
	p[4] = AML_ADDR_FIXED;
	p[5] = type_flags;
	for (unsigned i = 0; i < 5; i++) {
		p[6 + 2 * i] = (uint8_t)f[i];
		p[7 + 2 * i] = (uint8_t)(f[i] >> 8);
	}
	return 16;
}

size_t aml_res_dword(uint8_t *p, uint8_t type, uint8_t type_flags, uint32_t min, uint32_t max)
{
	uint32_t f[5] = { 0, min, max, 0, max - min + 1 };
	p[0] = 0x87;        /* DWord Address Space Descriptor */
	p[1] = 23;
	p[2] = 0;
	p[3] = type;
	p[4] = AML_ADDR_FIXED;
	p[5] = type_flags;
	for (unsigned i = 0; i < 5; i++)
		for (unsigned b = 0; b < 4; b++)
			p[6 + 4 * i + b] = (uint8_t)(f[i] >> (8 * b));
	return 26;
}

void aml_isa_device(struct aml *a, const char *name, const char *hid, unsigned uid,
		    uint16_t io, uint8_t io_len, unsigned irq)
{
	uint8_t res[16];
	size_t n = 0;

	n += aml_res_io(res + n, io, 1, io_len);
	n += aml_res_irq(res + n, irq);
	n += aml_res_end(res + n);

	aml_device_begin(a, name);
	aml_name(a, "_HID");
	aml_eisaid(a, hid);
	aml_name(a, "_UID");
	aml_integer(a, uid);
	aml_name(a, "_STA");
	aml_integer(a, 0x0f); /* present, enabled, shown, functioning */
	aml_name(a, "_CRS");
	aml_buffer(a, res, n);
	aml_end(a);
}
