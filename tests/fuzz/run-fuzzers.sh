#!/usr/bin/env bash
# Build the libFuzzer targets and run each for a bounded time on the
# corpus in the tree (tests/fuzz/corpus/SEEDS: the seeds make_seeds.py
# writes, checked to be in step with it, plus inputs kept from long runs,
# scripts/fuzz-long.sh).  Any crash, leak or sanitizer report fails the run.
#   tests/fuzz/run-fuzzers.sh [BUILD_DIR] [SECONDS_PER_TARGET] [TARGET...]
# Without SECONDS_PER_TARGET (or with "-") each target runs for its default
# below (what CI uses); TARGET names limit the run to those targets.
# Corpora persist in BUILD_DIR/corpus-SEEDS between runs.  docs/fuzzing.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build-fuzz}
secs=${2:--}
shift $(( $# < 2 ? $# : 2 ))
# name:seed-directory:default-seconds:dictionary
all=(
	fuzz_bzimage:bzimage:20:tests/fuzz/boot.dict
	fuzz_pvh:pvh:20:tests/fuzz/boot.dict
	fuzz_multiboot:multiboot:20:tests/fuzz/boot.dict
	fuzz_decode:decode:15:
	fuzz_soft_step:soft_step:15:
	fuzz_devices:devices:15:
	fuzz_cli:cli:15:
	fuzz_vsock:vsock:15:
	fuzz_pci:pci:15:
	fuzz_virtq:virtq:15:
	fuzz_blk_req:virtq:15:
	fuzz_virtio_net:virtio_net:15:
	fuzz_virtio_console:virtio_console:15:
	fuzz_virtio_rng:virtio_rng:15:
	fuzz_fc_config:fc_config:15:
	fuzz_api:fc_api:15:
	fuzz_snapshot:snapshot:15:
)
targets=()
for t in "${all[@]}"; do
	if [ $# -eq 0 ]; then
		targets+=("$t")
	else
		for want in "$@"; do
			[ "${t%%:*}" = "$want" ] && targets+=("$t")
		done
	fi
done
[ ${#targets[@]} -gt 0 ] || { echo "fuzz: no such target: $*"; exit 2; }

[ -f "$build/build.ninja" ] || CC=clang meson setup "$build" -Dfuzz=true \
	-Db_sanitize=address,undefined -Db_lundef=false >/dev/null
# Only the fuzz targets: the rest of the tree is built and tested elsewhere.
ninja -C "$build" $(for t in "${targets[@]}"; do printf 'tests/fuzz/%s ' "${t%%:*}"; done) >/dev/null
# The committed seeds must be what the generator writes today.
rm -rf "$build/seeds"
python3 tests/fuzz/make_seeds.py "$build/seeds" >/dev/null
for d in "$build"/seeds/*/; do
	k=$(basename "$d")
	if [ ! -d "tests/fuzz/corpus/$k" ]; then
		# A target whose seeds are not committed yet: fuzz from the
		# generated ones, and say how to commit them.
		echo "fuzz: warning: no tests/fuzz/corpus/$k: using the generated seeds" \
		     "(run: python3 tests/fuzz/make_seeds.py tests/fuzz/corpus; commit it)"
		continue
	fi
	for f in "$d"seed-*; do
		cmp -s "$f" "tests/fuzz/corpus/$k/$(basename "$f")" || {
			echo "fuzz: tests/fuzz/corpus/$k/$(basename "$f") is not what make_seeds.py writes" \
			     "(run: python3 tests/fuzz/make_seeds.py tests/fuzz/corpus)"
			exit 1
		}
	done
done
for t in "${targets[@]}"; do
	IFS=: read -r name seeds tsecs dict <<<"$t"
	[ "$secs" = "-" ] || tsecs=$secs
	corpus="$build/corpus-$seeds"
	seedsdir="tests/fuzz/corpus/$seeds"
	[ -d "$seedsdir" ] || seedsdir="$build/seeds/$seeds"
	mkdir -p "$corpus"
	echo "fuzz: $name for ${tsecs}s"
	# The fuzzer's status decides (pipefail; the filter's own status is
	# dropped inside the braces: a `|| true` after the whole pipeline
	# would reset PIPESTATUS and hide a crash, as it did until 2026-12-05).
	rc=0
	"$build/tests/fuzz/$name" -max_total_time="$tsecs" -close_fd_mask=2 \
		${dict:+-dict="$dict"} -print_final_stats=1 "$corpus" "$seedsdir" 2>&1 |
		{ grep -E "^(stat::number_of_executed_units|Done|==[0-9]+==ERROR|SUMMARY)" || true; } ||
		rc=$?
	[ "$rc" -eq 0 ] || { echo "fuzz: $name FAILED (status $rc; the input is in ./crash-* or ./leak-*)"; exit 1; }
done
echo "fuzz: all targets ran clean"
