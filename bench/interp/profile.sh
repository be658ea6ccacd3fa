#!/bin/sh
# Where does interpreter time go?  Runs each benchmark loop under callgrind
# (perf counters are not available in this VM) and prints host instructions
# per guest instruction and the top functions.
#   bench/interp/profile.sh [path/to/bench_interp [interp|jit [loops...]]]
set -eu
BIN=${1:-build-soft/tests/unit/soft/bench_interp}
TIER=${2:-interp}
LOOPS=${3:-integer memory sse crc32 strscan chain}
command -v valgrind >/dev/null || { echo "valgrind not installed"; exit 1; }
ITERS=1   # million iterations
for loop in $LOOPS; do
	case $loop in integer|memory) per=6 ;; sse|rdtsc) per=4 ;; crc32|strscan|avx2scan) per=8 ;; chain) per=12 ;; callret) per=10 ;; esac

	out=$(mktemp)
	# --smc-check=all: translated code is written through another mapping
	valgrind --tool=callgrind --smc-check=all --callgrind-out-file="$out" "$BIN" $ITERS $loop $TIER >/dev/null 2>&1
	total=$(callgrind_annotate "$out" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')
	# the native reference runs 5 x 5 x ITERS million iterations (1 host insn per guest insn)
	native=$((25 * ITERS * 1000000 * per))
	guest=$((ITERS * 1000000 * per))
	echo "$loop ($TIER): $(( (total - native) * 10 / guest )) tenths of a host instruction per guest instruction"
	callgrind_annotate "$out" 2>/dev/null | grep -E "src/cpu/soft/.*:" | head -6 | sed 's/^/    /'
	rm -f "$out"
done
