/* libFuzzer target: the snapshot state file reader (src/vmm/
 * snapshot_format.c; docs/snapshot.md), since a snapshot file is user input
 * (PUT /snapshot/load).  Checked (abort() = a finding):
 *  - a refusal is one terminated line in err naming the file ("f.snap: ");
 *  - an accepted file's sections lie inside the input, with types in range,
 *    no two alike, and snap_find finds each of them. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ringvm/snapshot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct snap_image img;
	char err[512];
	memset(err, 0x55, sizeof(err));
	if (snap_parse(data, size, "f.snap", &img, err, sizeof(err)) < 0) {
		size_t n = strnlen(err, sizeof(err));
		if (n == sizeof(err) || memchr(err, '\n', n) || strncmp(err, "f.snap: ", 8))
			abort();
		if (img.sections || img.nr_sections)
			abort();
		return 0;
	}
	for (unsigned i = 0; i < img.nr_sections; i++) {
		const struct snap_section *s = &img.sections[i];
		if (s->type == SNAP_SEC_END || s->type >= SNAP_SEC_TYPES)
			abort();
		if (s->data < data || s->data + s->length > data + size)
			abort();
		if (snap_find(&img, s->type, s->instance) != s)
			abort();
	}
	snap_image_free(&img);
	return 0;
}
