#!/usr/bin/env bash
# Build the libFuzzer targets and run each for a bounded time on generated
# seeds.  Any crash, leak or sanitizer report fails the run.
#   tests/fuzz/run-fuzzers.sh [BUILD_DIR] [SECONDS_PER_TARGET]
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build-fuzz}
secs=${2:-30}
targets=(fuzz_bzimage:bzimage fuzz_pvh:pvh fuzz_multiboot:multiboot)

[ -f "$build/build.ninja" ] || CC=clang meson setup "$build" -Dfuzz=true \
	-Db_sanitize=address,undefined -Db_lundef=false >/dev/null
# Only the fuzz targets: the rest of the tree is built and tested elsewhere.
ninja -C "$build" $(printf 'tests/fuzz/%s ' "${targets[@]%%:*}") >/dev/null
python3 tests/fuzz/make_seeds.py "$build/seeds" >/dev/null
for t in "${targets[@]}"; do
	name=${t%%:*} seeds=${t##*:}
	corpus="$build/corpus-$seeds"
	mkdir -p "$corpus"
	echo "fuzz: $name for ${secs}s"
	"$build/tests/fuzz/$name" -max_total_time="$secs" -close_fd_mask=2 \
		-dict=tests/fuzz/boot.dict -print_final_stats=1 "$corpus" "$build/seeds/$seeds" 2>&1 |
		grep -E "^(stat::number_of_executed_units|Done|==[0-9]+==ERROR|SUMMARY)" || true
	[ "${PIPESTATUS[0]}" -eq 0 ] || { echo "fuzz: $name FAILED"; exit 1; }
done
echo "fuzz: all targets ran clean"
