/* ringvm snapshot-rebase (docs/snapshot.md, "Diff snapshots"): merge a diff
 * snapshot's memory file onto its base's, as Firecracker's rebase-snap
 * does.  A diff file is sparse: the pages it carries are its data extents
 * (SEEK_DATA/SEEK_HOLE, lseek(2)), everything else a hole; each extent is
 * copied to the same offset of the base file, which then holds the RAM of
 * the diff's snapshot.  The base is changed in place. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ringvm/snapshot.h"

static int copy_extent(int from, int to, uint64_t off, uint64_t len, uint8_t *buf, size_t cap)
{
	while (len) {
		size_t want = len < cap ? (size_t)len : cap;
		ssize_t r = pread(from, buf, want, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EIO;
		for (ssize_t done = 0; done < r;) {
			ssize_t w = pwrite(to, buf + done, (size_t)(r - done), (off_t)off + done);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				return w < 0 ? -errno : -EIO;
			done += w;
		}
		off += (uint64_t)r;
		len -= (uint64_t)r;
	}
	return 0;
}

int snapshot_rebase(const char *base_path, const char *diff_path, uint64_t *bytes, char *err,
		    size_t n)
{
	*bytes = 0;
	int diff = open(diff_path, O_RDONLY | O_CLOEXEC);
	if (diff < 0) {
		snprintf(err, n, "--diff-file %s: %s", diff_path, strerror(errno));
		return -1;
	}
	int base = open(base_path, O_RDWR | O_CLOEXEC);
	if (base < 0) {
		snprintf(err, n, "--base-file %s: %s", base_path, strerror(errno));
		close(diff);
		return -1;
	}
	struct stat sd, sb;
	int r = 0;
	if (fstat(diff, &sd) < 0 || fstat(base, &sb) < 0) {
		snprintf(err, n, "%s: %s", diff_path, strerror(errno));
		r = -1;
	} else if (!S_ISREG(sd.st_mode) || !S_ISREG(sb.st_mode)) {
		snprintf(err, n, "--%s-file %s: not a regular file", S_ISREG(sd.st_mode) ? "base" : "diff",
			 S_ISREG(sd.st_mode) ? base_path : diff_path);
		r = -1;
	} else if (sd.st_dev == sb.st_dev && sd.st_ino == sb.st_ino) {
		snprintf(err, n, "--diff-file %s: the same file as --base-file", diff_path);
		r = -1;
	} else if (sd.st_size != sb.st_size) {
		/* Both are RAM images of the same VM: the same size. */
		snprintf(err, n, "--diff-file %s has %lld bytes, --base-file %s %lld: not memory "
			 "files of the same VM", diff_path, (long long)sd.st_size, base_path,
			 (long long)sb.st_size);
		r = -1;
	}
	enum { BUF = 1 << 20 };
	uint8_t *buf = r == 0 ? malloc(BUF) : NULL;
	if (r == 0 && !buf) {
		snprintf(err, n, "out of memory");
		r = -1;
	}
	off_t pos = 0;
	while (r == 0 && pos < sd.st_size) {
		off_t data = lseek(diff, pos, SEEK_DATA);
		if (data < 0 && errno == ENXIO)
			break;  /* no data after pos */
		off_t hole = data < 0 ? -1 : lseek(diff, data, SEEK_HOLE);
		if (data < 0 || hole < 0) {
			snprintf(err, n, "--diff-file %s: cannot find its data (SEEK_DATA): %s",
				 diff_path, strerror(errno));
			r = -1;
			break;
		}
		int e = copy_extent(diff, base, (uint64_t)data, (uint64_t)(hole - data), buf, BUF);
		if (e < 0) {
			snprintf(err, n, "cannot copy %s onto %s: %s", diff_path, base_path, strerror(-e));
			r = -1;
			break;
		}
		*bytes += (uint64_t)(hole - data);
		pos = hole;
	}
	if (r == 0 && fsync(base) < 0) {
		snprintf(err, n, "--base-file %s: %s", base_path, strerror(errno));
		r = -1;
	}
	free(buf);
	close(base);
	close(diff);
	return r;
}
