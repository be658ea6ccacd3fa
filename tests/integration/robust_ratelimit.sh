#!/usr/bin/env bash
# A guest that triple-faults on every boot, with --on-triple-fault reset,
# resets the machine hundreds of times a second: ringvm's per-reset warning
# must stay rate-limited (10 per 5 s, then "N ... suppressed"), not one line
# per reset.  Usage: robust_ratelimit.sh path/to/ringvm
set -uo pipefail
ringvm=$1
guest=$(dirname "$ringvm")/guests/guest-mb64.elf
[ -f "$guest" ] || { echo "SKIP: $guest not built"; exit 77; }
err=$(mktemp)
trap 'rm -f "$err"' EXIT
"$ringvm" run --kernel "$guest" --engine soft --serial none --testdev \
	--cmdline test=triple-fault-loop --on-triple-fault reset --stats \
	</dev/null >/dev/null 2>"$err" &
pid=$!
sleep 4
kill -TERM "$pid"
wait "$pid"
status=$?
warnings=$(grep -c 'triple fault: resetting the machine' "$err")
resets=$(sed -n 's/^ringvm stats: .* \([0-9][0-9]*\) resets\?$/\1/p' "$err")
summary=$(grep -E '^ringvm: warning: [0-9]+ machine reset messages suppressed' "$err")
lines=$(grep -c '^ringvm: ' "$err")
echo "status $status, $resets resets, $warnings warnings, $lines ringvm lines; $summary"
fail=0
[ "$status" -eq 143 ] || { echo "FAIL: status $status, want 143 (SIGTERM)"; fail=1; }
[ "${resets:-0}" -ge 50 ] || { echo "FAIL: only ${resets:-0} resets: the guest did not loop"; fail=1; }
[ "$warnings" -ge 1 ] && [ "$warnings" -le 10 ] ||
	{ echo "FAIL: $warnings warnings in 4 s, want 1..10"; fail=1; }
[ -n "$summary" ] || { echo "FAIL: no 'N machine reset messages suppressed' summary"; fail=1; }
suppressed=$(sed -n 's/^ringvm: warning: \([0-9]*\) machine reset.*/\1/p' <<<"$summary")
# Every reset's message is printed or counted (the signal may land between
# a triple fault's message and its reset: one more message than resets).
diff=$((warnings + ${suppressed:-0} - ${resets:-0}))
[ "$diff" -ge 0 ] && [ "$diff" -le 1 ] ||
	{ echo "FAIL: $warnings printed + ${suppressed:-0} suppressed vs $resets resets"; fail=1; }
[ "$lines" -le 15 ] || { echo "FAIL: $lines lines from ringvm"; fail=1; }
[ "$fail" -eq 0 ] && echo PASS
exit "$fail"
