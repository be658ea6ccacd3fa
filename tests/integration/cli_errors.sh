#!/usr/bin/env bash
# The ringvm binary's answers to bad command lines: status 2, one line that
# names the problem, never a crash.  Usage: cli_errors.sh path/to/ringvm
set -uo pipefail
ringvm=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf 'not a kernel at all, just text\n' > "$tmp/garbage"
: > "$tmp/empty"
pass=0 fail=0

expect() { # expect STATUS NEEDLE ARGS...
	local want=$1 needle=$2; shift 2
	local out status
	out=$("$ringvm" "$@" 2>&1 </dev/null)
	status=$?
	if [ "$status" -ne "$want" ] || ! grep -qF -- "$needle" <<<"$out"; then
		echo "FAIL: ringvm $*: status $status (want $want), output: $out"
		fail=$((fail + 1))
	else
		pass=$((pass + 1))
	fi
	if [ "$(wc -l <<<"$out")" -gt 1 ] && [ "$want" -eq 2 ] && [ "$1" = run ] && [[ "$*" != *--help* ]]; then
		echo "FAIL: ringvm $*: more than one line of error: $out"
		fail=$((fail + 1))
	fi
}

expect 0 "Usage: ringvm COMMAND" --help
expect 0 "ringvm " --version
expect 0 "--kernel PATH" run --help
expect 2 "unknown command 'frob'" frob
expect 2 "--kernel is required" run
expect 2 "--kernel /nonexistent/vmlinuz: No such file" run --kernel /nonexistent/vmlinuz
expect 2 "is a directory" run --kernel /
expect 2 "file is empty" run --kernel "$tmp/empty"
expect 2 "--initrd /nope: No such file" run --kernel "$tmp/garbage" --initrd /nope
expect 2 "--memory lots: not a size" run --kernel "$tmp/garbage" --memory lots
expect 2 "outside the supported" run --kernel "$tmp/garbage" --memory 1M
expect 2 "at most 64 vCPUs" run --kernel "$tmp/garbage" --cpus 1000
expect 2 "--engine warp: expected auto, kvm or soft" run --kernel "$tmp/garbage" --engine warp
expect 2 "--serial tty0" run --kernel "$tmp/garbage" --serial tty0
expect 2 "unknown option --bogus" run --kernel "$tmp/garbage" --bogus
# A file that is no kernel: either the engine is unavailable here, or the
# loader names the format problem.  Both are status 2 with one clear line.
probe=$("$ringvm" run --kernel "$tmp/garbage" --engine kvm --serial none 2>&1 </dev/null)
if grep -q "engine kvm is not available" <<<"$probe"; then
	echo "note: kvm engine unavailable here; checking the loader's error through it is skipped"
	expect 2 "engine kvm is not available" run --kernel "$tmp/garbage" --engine kvm --serial none
else
	expect 2 "$tmp/garbage: unknown kernel image format" run --kernel "$tmp/garbage" --engine kvm --serial none
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
