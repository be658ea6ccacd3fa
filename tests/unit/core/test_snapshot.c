/* The snapshot container's reader (src/vmm/snapshot_format.c): a good file
 * round-trips; a wrong magic, a wrong version, a truncated file, a bad CRC,
 * a missing END or trailing bytes are each refused with one line naming
 * the file and the section. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ringvm/snapshot.h"

struct built {
	uint8_t *buf;
	size_t len;
};

/* A two-section file, built through the writer and read back as bytes. */
static struct built build(void)
{
	char path[] = "/tmp/ringvm-snaptest-XXXXXX", err[256];
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	struct snap_writer w;
	snap_writer_init(&w);
	uint64_t a = 0x1122334455667788ULL;
	snap_writer_add(&w, SNAP_SEC_CLOCK, 0, &a, sizeof(a));
	snap_writer_add(&w, SNAP_SEC_VCPU, 3, "hello", 5);
	assert_int_equal(snap_writer_finish(&w, path, err, sizeof(err)), 0);
	snap_writer_free(&w);
	struct snap_image img;
	assert_int_equal(snap_read_file(path, &img, err, sizeof(err)), 0);
	struct built b = { malloc(img.len), img.len };
	memcpy(b.buf, img.buf, img.len);
	snap_image_free(&img);
	unlink(path);
	return b;
}

static void refused(const uint8_t *buf, size_t len, const char *want)
{
	struct snap_image img;
	char err[256] = "";
	assert_int_equal(snap_parse(buf, len, "x.snap", &img, err, sizeof(err)), -1);
	if (!strstr(err, want) || strncmp(err, "x.snap: ", 8))
		fail_msg("message \"%s\" lacks \"%s\" or the file name", err, want);
	assert_null(img.sections);
}

static void test_roundtrip(void **state)
{
	(void)state;
	struct built b = build();
	struct snap_image img;
	char err[256];
	assert_int_equal(snap_parse(b.buf, b.len, "x.snap", &img, err, sizeof(err)), 0);
	assert_int_equal(img.nr_sections, 2);
	const struct snap_section *s = snap_find(&img, SNAP_SEC_VCPU, 3);
	assert_non_null(s);
	assert_int_equal(s->length, 5);
	assert_memory_equal(s->data, "hello", 5);
	assert_null(snap_find(&img, SNAP_SEC_VCPU, 0));
	snap_image_free(&img);
	free(b.buf);
}

static void test_bad_magic_version(void **state)
{
	(void)state;
	struct built b = build();
	uint8_t *c = malloc(b.len);
	memcpy(c, b.buf, b.len);
	c[0] ^= 1;
	refused(c, b.len, "header: not a ringvm snapshot (wrong magic)");
	memcpy(c, b.buf, b.len);
	uint32_t v = SNAP_VERSION + 1;
	memcpy(c + 8, &v, 4);
	refused(c, b.len, "header: unsupported format version 3 (this ringvm reads versions 1 to 2)");
	v = 0;
	memcpy(c + 8, &v, 4);
	refused(c, b.len, "header: unsupported format version 0 (this ringvm reads versions 1 to 2)");
	/* A version-1 file (before the lineage section) is still read. */
	v = 1;
	memcpy(c + 8, &v, 4);
	struct snap_image img;
	char err[256];
	assert_int_equal(snap_parse(c, b.len, "x.snap", &img, err, sizeof(err)), 0);
	assert_int_equal(img.version, 1);
	snap_image_free(&img);
	free(c);
	free(b.buf);
}

static void test_truncated(void **state)
{
	(void)state;
	struct built b = build();
	refused(b.buf, 4, "header: truncated");
	/* every shorter length is refused, none crashes */
	for (size_t n = 0; n < b.len; n++) {
		struct snap_image img;
		char err[256];
		assert_int_equal(snap_parse(b.buf, n, "x.snap", &img, err, sizeof(err)), -1);
	}
	/* cut inside the first section's payload */
	refused(b.buf, 16 + 16 + 3, "section 0 (clock 0): truncated");
	/* cut before the END section */
	refused(b.buf, b.len - 16, "truncated");
	free(b.buf);
}

static void test_bad_crc_and_trailing(void **state)
{
	(void)state;
	struct built b = build();
	uint8_t *c = malloc(b.len + 1);
	memcpy(c, b.buf, b.len);
	c[16 + 16 + 8 + 16 + 2] ^= 0x40;  /* a byte of "hello" */
	refused(c, b.len, "section 1 (vcpu 3): corrupt: CRC mismatch");
	memcpy(c, b.buf, b.len);
	c[b.len] = 0;
	refused(c, b.len + 1, "trailing bytes");
	/* a section length beyond the file */
	memcpy(c, b.buf, b.len);
	uint32_t huge = 0x7fffffff;
	memcpy(c + 16 + 8, &huge, 4);
	refused(c, b.len, "section 0 (clock 0): truncated");
	free(c);
	free(b.buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_bad_magic_version),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_bad_crc_and_trailing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
