#!/usr/bin/env bash
# --hugepages on a host whose huge-page pool is too small: one clear line
# naming --hugepages and status 6 (a host failure), never SIGBUS (status 135)
# from the loader or a vCPU touching RAM beyond the pages that exist.
# The host's settings are only read, never changed.
# Usage: robust_hugepages.sh path/to/ringvm
set -uo pipefail
ringvm=$1
guest=$(dirname "$ringvm")/guests/guest-mb64.elf
[ -f "$guest" ] || { echo "SKIP: $guest not built"; exit 77; }
pool=$(cat /proc/sys/vm/nr_hugepages 2>/dev/null || echo 0)
free=$(awk '/^HugePages_Free:/ {print $2}' /proc/meminfo 2>/dev/null || echo 0)
size=$(awk '/^Hugepagesize:/ {print $2}' /proc/meminfo 2>/dev/null || echo 2048)
if [ "$size" != 2048 ]; then
	echo "SKIP: default huge page size is ${size} KiB, not 2 MiB"
	exit 77
fi
over=$(cat /proc/sys/vm/nr_overcommit_hugepages 2>/dev/null || echo 0)
if [ "$over" -gt 0 ]; then
	echo "SKIP: the host may allocate $over surplus huge pages, so no request is sure to fail"
	exit 77
fi
# Ask for more 2 MiB pages than are free: 2 MiB more than the free pool, at
# least 64 MiB (the guest needs 16 MiB).
mib=$(( (free + 1) * 2 ))
[ "$mib" -lt 64 ] && mib=64
echo "host pool: $pool pages, $free free; asking for $mib MiB"
out=$("$ringvm" run --kernel "$guest" --engine soft --serial none --testdev \
	--cmdline test=uart --hugepages --memory "${mib}M" 2>&1 </dev/null)
status=$?
echo "status $status: $out"
fail=0
[ "$status" -eq 6 ] || { echo "FAIL: status $status, want 6"; fail=1; }
grep -q -- '--hugepages: cannot allocate' <<<"$out" || { echo "FAIL: no line naming --hugepages"; fail=1; }
[ "$(wc -l <<<"$out")" -eq 1 ] || { echo "FAIL: more than one line"; fail=1; }
[ "$fail" -eq 0 ] && echo "PASS"
exit "$fail"
