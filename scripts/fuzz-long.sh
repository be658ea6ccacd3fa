#!/usr/bin/env bash
# Long fuzzing runs (hours) of one libFuzzer target, then the inputs that
# found new coverage are merged into the corpus in the tree.  docs/fuzzing.md.
#   scripts/fuzz-long.sh TARGET HOURS [JOBS] [BUILD_DIR]
# TARGET: any target in tests/fuzz/run-fuzzers.sh's list (fuzz_decode,
# fuzz_soft_step, fuzz_devices, ...).  JOBS parallel fuzzing processes (default 1;
# one per core you can spare).  The working corpus is BUILD_DIR/long-TARGET
# (kept between runs); findings go to BUILD_DIR/findings-TARGET/.  At the
# end, `-merge=1 -use_counters=0` adds to tests/fuzz/corpus/SEEDS only the inputs (up to
# 4 KiB) that reach edges the corpus there does not: review them with
# `git status` and commit them.  Exit status 1 if a finding was written.
set -euo pipefail
cd "$(dirname "$0")/.."
usage() { echo "usage: scripts/fuzz-long.sh TARGET HOURS [JOBS] [BUILD_DIR]" >&2; exit 2; }
[ $# -ge 2 ] || usage
target=$1 hours=$2 jobs=${3:-1} build=${4:-build-fuzz}
# The targets, their seed directories and dictionaries: run-fuzzers.sh's
# list (name:seeds:seconds:dict), so a new target needs no edit here.
entry=$(sed -n '/^all=(/,/^)/p' tests/fuzz/run-fuzzers.sh | tr -d '\t' | grep "^$target:" || true)
[ -n "$entry" ] || { echo "fuzz-long: TARGET: no such target: $target" \
	"(tests/fuzz/run-fuzzers.sh lists them)" >&2; exit 2; }
IFS=: read -r _ seeds _ dict <<<"$entry"
[[ "$hours" =~ ^[0-9]+([.][0-9]+)?$ ]] || { echo "fuzz-long: HOURS: not a number: $hours" >&2; exit 2; }
[[ "$jobs" =~ ^[1-9][0-9]*$ ]] || { echo "fuzz-long: JOBS: not a positive integer: $jobs" >&2; exit 2; }
secs=$(awk -v h="$hours" 'BEGIN { printf "%d", h * 3600 }')
[ "$secs" -gt 0 ] || { echo "fuzz-long: HOURS: must be more than 0" >&2; exit 2; }

[ -f "$build/build.ninja" ] || CC=clang meson setup "$build" -Dfuzz=true \
	-Db_sanitize=address,undefined -Db_lundef=false >/dev/null
ninja -C "$build" "tests/fuzz/$target" >/dev/null
mkdir -p "tests/fuzz/corpus/$seeds"
[ -n "$(ls -A "tests/fuzz/corpus/$seeds")" ] || python3 tests/fuzz/make_seeds.py tests/fuzz/corpus >/dev/null
bin="$build/tests/fuzz/$target"
work="$build/long-$target"
findings="$build/findings-$target"
mkdir -p "$work" "$findings"
echo "fuzz-long: $target for $hours h ($secs s), $jobs job(s); corpus $work, findings $findings/"
# -jobs/-workers: that many fuzzing processes, each with its own log
# (fuzz-N.log in the findings directory); they share the corpus directory.
set +e
(cd "$findings" && "$OLDPWD/$bin" -max_total_time="$secs" -jobs="$jobs" -workers="$jobs" \
	-close_fd_mask=3 ${dict:+-dict="$OLDPWD/$dict"} -print_final_stats=1 \
	"$OLDPWD/$work" "$OLDPWD/tests/fuzz/corpus/$seeds")
set -e
status=0
if ls "$findings" | grep -qE '^(crash|leak|timeout|oom)-'; then
	echo "fuzz-long: findings in $findings/ (rerun one: $bin FILE)"
	status=1
fi
before=$(ls "tests/fuzz/corpus/$seeds" | wc -l)
"$bin" -merge=1 -max_len=4096 -use_counters=0 -close_fd_mask=3 ${dict:+-dict="$dict"} \
	"tests/fuzz/corpus/$seeds" "$work" >/dev/null 2>&1 || true
after=$(ls "tests/fuzz/corpus/$seeds" | wc -l)
echo "fuzz-long: $((after - before)) new input(s) merged into tests/fuzz/corpus/$seeds"
exit $status
