/* The snapshot container (docs/snapshot.md, include/ringvm/snapshot.h):
 * CRC-32, section index and the checks a reader makes before it trusts a
 * byte.  The file is user input: every length is checked against what is
 * left, the section count and sizes are bounded, each payload's CRC must
 * match, and the file must end with the END section. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ringvm/snapshot.h"

uint32_t snap_crc32(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	crc = ~crc;
	while (len--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1)));
	}
	return ~crc;
}

const char *snap_section_name(uint32_t type)
{
	static const char *const names[SNAP_SEC_TYPES] = {
		[SNAP_SEC_END] = "end", [SNAP_SEC_CONFIG] = "config", [SNAP_SEC_CLOCK] = "clock",
		[SNAP_SEC_MEMORY] = "memory", [SNAP_SEC_VCPU] = "vcpu",
		[SNAP_SEC_IRQCHIP] = "irqchip", [SNAP_SEC_DEVICE] = "device",
		[SNAP_SEC_BOARD] = "board", [SNAP_SEC_LINEAGE] = "lineage",
		[SNAP_SEC_STREAMS] = "streams",
	};
	return type < SNAP_SEC_TYPES ? names[type] : "unknown";
}

static int bad(char *err, size_t n, const char *name, const char *fmt, unsigned idx,
	       uint32_t type, uint32_t inst, const char *what)
{
	char sec[96];
	if (idx == ~0u)
		snprintf(sec, sizeof(sec), "header");
	else
		snprintf(sec, sizeof(sec), "section %u (%s %u)", idx, snap_section_name(type), inst);
	snprintf(err, n, "%s: %s: %s%s", name, sec, fmt, what ? what : "");
	return -1;
}

int snap_parse(const uint8_t *buf, size_t len, const char *name, struct snap_image *img,
	       char *err, size_t n)
{
	struct snap_file_header h;
	memset(img, 0, sizeof(*img));
	if (len < sizeof(h))
		return bad(err, n, name, "truncated: the file is shorter than the header", ~0u, 0, 0,
			   NULL);
	memcpy(&h, buf, sizeof(h));
	if (memcmp(h.magic, SNAP_MAGIC, 8))
		return bad(err, n, name, "not a ringvm snapshot (wrong magic)", ~0u, 0, 0, NULL);
	if (h.version < SNAP_VERSION_MIN || h.version > SNAP_VERSION) {
		char v[64];
		snprintf(v, sizeof(v), "%u (this ringvm reads versions %u to %u)", h.version,
			 SNAP_VERSION_MIN, SNAP_VERSION);
		return bad(err, n, name, "unsupported format version ", ~0u, 0, 0, v);
	}
	if (h.nr_sections == 0 || h.nr_sections > SNAP_MAX_SECTIONS)
		return bad(err, n, name, "bad section count", ~0u, 0, 0, NULL);
	img->sections = calloc(h.nr_sections, sizeof(*img->sections));
	if (!img->sections) {
		snprintf(err, n, "%s: out of memory", name);
		return -1;
	}
	img->version = h.version;
	size_t off = sizeof(h);
	for (unsigned i = 0; i < h.nr_sections; i++) {
		struct snap_section_header sh;
		if (len - off < sizeof(sh)) {
			snap_image_free(img);
			return bad(err, n, name, "truncated: the file ends in the section header", i, 0,
				   0, NULL);
		}
		memcpy(&sh, buf + off, sizeof(sh));
		off += sizeof(sh);
		if (sh.type >= SNAP_SEC_TYPES) {
			snap_image_free(img);
			return bad(err, n, name, "unknown section type", i, sh.type, sh.instance, NULL);
		}
		if (sh.length > SNAP_MAX_SECTION_LEN || sh.length > len - off) {
			snap_image_free(img);
			return bad(err, n, name, "truncated: the payload is longer than what is left "
				   "of the file", i, sh.type, sh.instance, NULL);
		}
		if (snap_crc32(0, buf + off, sh.length) != sh.crc32) {
			snap_image_free(img);
			return bad(err, n, name, "corrupt: CRC mismatch", i, sh.type, sh.instance, NULL);
		}
		if (sh.type == SNAP_SEC_END) {
			if (i != h.nr_sections - 1 || sh.length) {
				snap_image_free(img);
				return bad(err, n, name, "END section before the last section", i, sh.type,
					   sh.instance, NULL);
			}
			if (off != len) {
				snap_image_free(img);
				return bad(err, n, name, "trailing bytes after the END section", i,
					   sh.type, sh.instance, NULL);
			}
			img->nr_sections = i;
			return 0;
		}
		for (unsigned j = 0; j < i; j++)
			if (img->sections[j].type == sh.type && img->sections[j].instance == sh.instance) {
				snap_image_free(img);
				return bad(err, n, name, "duplicate section", i, sh.type, sh.instance, NULL);
			}
		img->sections[i] = (struct snap_section){ sh.type, sh.instance, sh.length, buf + off };
		off += sh.length;
	}
	snap_image_free(img);
	return bad(err, n, name, "truncated: no END section", h.nr_sections - 1, 0, 0, NULL);
}

void snap_image_free(struct snap_image *img)
{
	free(img->sections);
	free(img->buf);
	memset(img, 0, sizeof(*img));
}

const struct snap_section *snap_find(const struct snap_image *img, uint32_t type,
				     uint32_t instance)
{
	for (unsigned i = 0; i < img->nr_sections; i++)
		if (img->sections[i].type == type && img->sections[i].instance == instance)
			return &img->sections[i];
	return NULL;
}
