/* Writing and reading snapshot state files (include/ringvm/snapshot.h):
 * the writer builds the container in memory and replaces the file
 * atomically; the reader loads a bounded file and hands it to snap_parse. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ringvm/snapshot.h"

void snap_writer_init(struct snap_writer *w)
{
	memset(w, 0, sizeof(*w));
	struct snap_file_header h = { .version = SNAP_VERSION };
	memcpy(h.magic, SNAP_MAGIC, 8);
	snap_writer_add(w, UINT32_MAX, 0, &h, sizeof(h)); /* raw: no section header */
}

static void put(struct snap_writer *w, const void *p, size_t len)
{
	if (w->error)
		return;
	if (w->len + len > SNAP_MAX_FILE_LEN) {
		w->error = -EFBIG;
		return;
	}
	if (w->len + len > w->cap) {
		size_t cap = w->cap ? w->cap : 4096;
		while (cap < w->len + len)
			cap *= 2;
		uint8_t *b = realloc(w->buf, cap);
		if (!b) {
			w->error = -ENOMEM;
			return;
		}
		w->buf = b;
		w->cap = cap;
	}
	if (len)
		memcpy(w->buf + w->len, p, len);
	w->len += len;
}

void snap_writer_add(struct snap_writer *w, uint32_t type, uint32_t instance,
		     const void *payload, size_t len)
{
	if (type == UINT32_MAX) {  /* the file header, from snap_writer_init */
		put(w, payload, len);
		return;
	}
	if (len > SNAP_MAX_SECTION_LEN) {
		w->error = w->error ? w->error : -EFBIG;
		return;
	}
	struct snap_section_header sh = { type, instance, (uint32_t)len,
					  snap_crc32(0, payload, len) };
	put(w, &sh, sizeof(sh));
	put(w, payload, len);
	w->nr_sections++;
}

int snap_writer_finish(struct snap_writer *w, const char *path, char *err, size_t n)
{
	snap_writer_add(w, SNAP_SEC_END, 0, NULL, 0);
	if (w->error) {
		snprintf(err, n, "%s: cannot build the snapshot: %s", path, strerror(-w->error));
		return -1;
	}
	struct snap_file_header h;
	memcpy(&h, w->buf, sizeof(h));
	h.nr_sections = w->nr_sections;
	memcpy(w->buf, &h, sizeof(h));

	char tmp[4096];
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp-XXXXXX", path) >= sizeof(tmp)) {
		snprintf(err, n, "snapshot_path: the path is too long");
		return -1;
	}
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, n, "%s: cannot create the snapshot file: %s", path, strerror(errno));
		return -1;
	}
	size_t off = 0;
	while (off < w->len) {
		ssize_t r = write(fd, w->buf + off, w->len - off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			snprintf(err, n, "%s: cannot write the snapshot: %s", path,
				 r < 0 ? strerror(errno) : "short write");
			close(fd);
			unlink(tmp);
			return -1;
		}
		off += (size_t)r;
	}
	if (fchmod(fd, 0600) < 0 || fsync(fd) < 0 || close(fd) < 0 || rename(tmp, path) < 0) {
		snprintf(err, n, "%s: cannot write the snapshot: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

void snap_writer_free(struct snap_writer *w)
{
	free(w->buf);
	memset(w, 0, sizeof(*w));
}

int snap_read_file(const char *path, struct snap_image *img, char *err, size_t n)
{
	memset(img, 0, sizeof(*img));
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, n, "%s: cannot open the snapshot: %s", path, strerror(errno));
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, n, "%s: not a regular file", path);
		close(fd);
		return -1;
	}
	if (st.st_size > (off_t)SNAP_MAX_FILE_LEN) {
		snprintf(err, n, "%s: %lld bytes: larger than any ringvm snapshot state file "
			 "(at most %u)", path, (long long)st.st_size, SNAP_MAX_FILE_LEN);
		close(fd);
		return -1;
	}
	size_t len = (size_t)st.st_size;
	uint8_t *buf = malloc(len ? len : 1);
	if (!buf) {
		snprintf(err, n, "%s: out of memory", path);
		close(fd);
		return -1;
	}
	size_t off = 0;
	while (off < len) {
		ssize_t r = read(fd, buf + off, len - off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		off += (size_t)r;
	}
	close(fd);
	if (snap_parse(buf, off, path, img, err, n) < 0) {
		free(buf);
		return -1;
	}
	img->buf = buf;
	img->len = off;
	return 0;
}
