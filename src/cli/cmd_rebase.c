/* ringvm snapshot-rebase: merge a diff snapshot's memory file onto its
 * base's (docs/snapshot.md, "Diff snapshots"), with the flags of
 * Firecracker's rebase-snap tool (--base-file, --diff-file) or the two
 * paths in that order. */
#include <stdio.h>
#include <string.h>

#include "cmd_rebase.h"
#include "ringvm/snapshot.h"
#include "ringvm/vm.h"

static const char usage[] =
	"Usage: ringvm snapshot-rebase --base-file BASE_MEM --diff-file DIFF_MEM\n"
	"       ringvm snapshot-rebase BASE_MEM DIFF_MEM\n"
	"\n"
	"Copy the pages a diff snapshot's memory file holds (its data extents) onto\n"
	"the memory file of the snapshot it was taken after, in place, as Firecracker's\n"
	"rebase-snap does.  Then load the diff's state file with the merged BASE_MEM.\n"
	"Several diffs are merged one after the other, oldest first (docs/snapshot.md).\n"
	"Not onto the memory file of a VM running restored from it: copy it first.\n";

int cmd_snapshot_rebase(int argc, char **argv)
{
	const char *base = NULL, *diff = NULL, *pos[2] = { NULL, NULL };
	unsigned npos = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(usage, stdout);
			return 0;
		}
		const char **slot = !strcmp(a, "--base-file") ? &base :
				    !strcmp(a, "--diff-file") ? &diff : NULL;
		if (slot) {
			if (i + 1 >= argc) {
				fprintf(stderr, "ringvm: error: snapshot-rebase: %s needs a path\n", a);
				return RINGVM_EXIT_USAGE;
			}
			*slot = argv[++i];
			continue;
		}
		if (a[0] == '-' || npos == 2) {
			fprintf(stderr, "ringvm: error: snapshot-rebase: unexpected argument '%s' "
				"(ringvm snapshot-rebase --help)\n", a);
			return RINGVM_EXIT_USAGE;
		}
		pos[npos++] = a;
	}
	if (npos && (base || diff || npos != 2)) {
		fprintf(stderr, "ringvm: error: snapshot-rebase: give --base-file and --diff-file, "
			"or BASE_MEM DIFF_MEM\n");
		return RINGVM_EXIT_USAGE;
	}
	if (npos) {
		base = pos[0];
		diff = pos[1];
	}
	if (!base || !diff) {
		fprintf(stderr, "ringvm: error: snapshot-rebase: %s is required\n",
			base ? "--diff-file" : "--base-file");
		return RINGVM_EXIT_USAGE;
	}
	char err[1024];
	uint64_t bytes;
	if (snapshot_rebase(base, diff, &bytes, err, sizeof(err)) < 0) {
		fprintf(stderr, "ringvm: error: snapshot-rebase: %s\n", err);
		return RINGVM_EXIT_USAGE;
	}
	printf("merged %llu KiB of %s onto %s\n", (unsigned long long)(bytes >> 10), diff, base);
	return 0;
}
