#!/usr/bin/env bash
# The seccomp filters end the VMM on a forbidden system call, with one line
# naming the call and the thread kind, and status 159 (128 + SIGSYS); with
# the filters on, the same guest runs to its end.  The API thread of the
# Firecracker command line likewise, when it handles a request.  The forbidden call comes
# from the host-only test hook RINGVM_SECCOMP_SELFTEST=KIND (docs/sandbox.md).
# With a metrics file, that and the other fatal signals (SIGSEGV, SIGBUS,
# SIGILL, SIGXFSZ, SIGXCPU) leave a last metrics line counting them.
# Usage: sandbox_seccomp.sh path/to/ringvm
set -uo pipefail
ringvm=$1
guest=$(dirname "$ringvm")/guests/guest-mb64.elf
[ -f "$guest" ] || { echo "SKIP: $guest not built"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
engines=soft
if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then engines="soft kvm"; else echo "note: no usable /dev/kvm: soft only"; fi

run() {  # engine, selftest kind ("" for none), extra options...
	local engine=$1 kind=$2
	shift 2
	RINGVM_SECCOMP_SELFTEST=$kind "$ringvm" run --kernel "$guest" --engine "$engine" \
		--memory 32M --testdev --serial "file:$tmp/serial.txt" --cmdline test=hlt-irq \
		--verbose "$@" </dev/null >"$tmp/out.txt" 2>&1
}

run soft ""
if grep -q 'filters off in this sanitizer build' "$tmp/out.txt"; then
	echo "SKIP: this is a sanitizer build, where the filters are off (docs/sandbox.md)"
	exit 77
fi
fail=0
for engine in $engines; do
	run "$engine" ""
	st=$?
	[ "$st" -eq 0 ] || { echo "FAIL: $engine: status $st with the filters on, want 0"; cat "$tmp/out.txt"; fail=1; }
	for case in "vcpu socket" "main execve" "writer execve"; do
		set -- $case
		run "$engine" "$1" --cpus 2
		st=$?
		want="ringvm: seccomp: forbidden system call $2 \\([0-9]+\\) on a $1 thread"
		if [ "$st" -ne 159 ] || ! grep -Eq "$want" "$tmp/out.txt"; then
			echo "FAIL: $engine: a forbidden $2 on a $1 thread: status $st, want 159 and /$want/"
			cat "$tmp/out.txt"
			fail=1
		else
			echo "ok: $engine: $(grep -E "$want" "$tmp/out.txt")"
		fi
	done
	# --no-seccomp: the same forbidden call is let through (and reported).
	run "$engine" vcpu --no-seccomp
	st=$?
	if [ "$st" -ne 0 ] || grep -q 'forbidden system call' "$tmp/out.txt"; then
		echo "FAIL: $engine --no-seccomp: status $st, want 0 and no seccomp line"
		cat "$tmp/out.txt"
		fail=1
	fi
done
# The API thread (Firecracker's command line, docs/api.md): filtered before
# it serves; a forbidden call while it handles a request ends ringvm.
api() {  # selftest kind ("" for none), extra options...; the answer -> $body
	local kind=$1
	shift
	rm -f "$tmp/api.sock"
	RINGVM_SECCOMP_SELFTEST=$kind "$ringvm" --api-sock "$tmp/api.sock" "$@" \
		</dev/null >"$tmp/out.txt" 2>&1 &
	api_pid=$!
	for _ in $(seq 100); do [ -S "$tmp/api.sock" ] && break; sleep 0.05; done
	body=$(curl -s --max-time 10 --unix-socket "$tmp/api.sock" http://localhost/)
}
api_end() {  # wait for ringvm (ended by the hook, or else by SIGTERM) -> $st
	for _ in $(seq 100); do kill -0 "$api_pid" 2>/dev/null || break; sleep 0.05; done
	kill -TERM "$api_pid" 2>/dev/null
	wait "$api_pid"
	st=$?
}
api ""
api_end
if [ "$st" -ne 143 ] || ! grep -q '"state":"Not started"' <<<"$body"; then
	echo "FAIL: api: with the filter on: status $st (want 143, ended by SIGTERM), answer '$body'"
	cat "$tmp/out.txt"
	fail=1
fi
api api
api_end
want="ringvm: seccomp: forbidden system call execve \\([0-9]+\\) on an api thread"
if [ "$st" -ne 159 ] || ! grep -Eq "$want" "$tmp/out.txt" || [ -n "$body" ]; then
	echo "FAIL: api: a forbidden execve on the api thread: status $st, want 159 and /$want/, answer '$body'"
	cat "$tmp/out.txt"
	fail=1
else
	echo "ok: api: $(grep -E "$want" "$tmp/out.txt")"
fi
# Firecracker's seccomp and signals metrics: a fatal signal writes a last
# metrics line with its counter at 1 before the process ends, with the
# status it had before (docs/api.md, "Metrics").
last_metrics() {  # file, group, field -> prints "lines value" of the last line
	python3 - "$@" <<'PY'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
last = json.loads(lines[-1]) if lines else {}
print(len(lines), last.get(sys.argv[2], {}).get(sys.argv[3], "none"))
PY
}
rm -f "$tmp/metrics.json"
api api --metrics-path "$tmp/metrics.json"
api_end
got=$(last_metrics "$tmp/metrics.json" seccomp num_faults)
if [ "$st" -ne 159 ] || [ "$got" != "1 1" ]; then
	echo "FAIL: api: a forbidden call with --metrics-path: status $st (want 159), last line's" \
		"seccomp.num_faults: '$got' (want one line, 1)"
	cat "$tmp/out.txt" "$tmp/metrics.json"
	fail=1
else
	echo "ok: api: the last metrics line says seccomp.num_faults 1"
fi
ulimit -c 0  # the fatal signals below dump no core here
# A running VM (the guest spins), so FlushMetrics writes a line first.
printf '{"boot-source": {"kernel_image_path": "%s", "boot_args": "test=fleet-spin"},
 "machine-config": {"vcpu_count": 1, "mem_size_mib": 32}}\n' "$(realpath "$guest")" >"$tmp/vm.json"
for case in "SEGV sigsegv 139" "BUS sigbus 135" "ILL sigill 132" "XFSZ sigxfsz 153" "XCPU sigxcpu 152"; do
	set -- $case
	rm -f "$tmp/metrics.json"
	api "" --metrics-path "$tmp/metrics.json" --config-file "$tmp/vm.json"
	flush=$(curl -s --max-time 10 --unix-socket "$tmp/api.sock" -X PUT -o /dev/null \
		-w '%{http_code}' -d '{"action_type": "FlushMetrics"}' http://localhost/actions)
	before=$(last_metrics "$tmp/metrics.json" signals "$2")
	kill -"$1" "$api_pid"
	api_end
	got=$(last_metrics "$tmp/metrics.json" signals "$2")
	if [ "$st" -ne "$3" ] || [ "$flush" != 204 ] || [ "$before" != "1 0" ] || [ "$got" != "2 1" ]; then
		echo "FAIL: SIG$1: status $st (want $3), flush $flush, signals.$2 in the last line:" \
			"'$before' before, '$got' after (want '1 0', '2 1': lines, value)"
		cat "$tmp/out.txt" "$tmp/metrics.json"
		fail=1
	else
		echo "ok: SIG$1: status $st, the last metrics line says signals.$2 1"
	fi
done
api api --no-seccomp
api_end
if [ "$st" -ne 143 ] || ! grep -q '"state":"Not started"' <<<"$body" ||
   grep -q 'forbidden system call' "$tmp/out.txt"; then
	echo "FAIL: api --no-seccomp: status $st (want 143), answer '$body'"
	cat "$tmp/out.txt"
	fail=1
fi
# A bad hook value is a usage error (both command lines).
RINGVM_SECCOMP_SELFTEST=bogus "$ringvm" run --kernel "$guest" >/dev/null 2>"$tmp/err.txt"
st=$?
[ "$st" -eq 2 ] && grep -q 'RINGVM_SECCOMP_SELFTEST=bogus' "$tmp/err.txt" ||
	{ echo "FAIL: RINGVM_SECCOMP_SELFTEST=bogus: status $st"; fail=1; }
RINGVM_SECCOMP_SELFTEST=bogus "$ringvm" --api-sock "$tmp/bogus.sock" >/dev/null 2>"$tmp/err.txt"
st=$?
[ "$st" -eq 2 ] && grep -q 'RINGVM_SECCOMP_SELFTEST=bogus' "$tmp/err.txt" && [ ! -e "$tmp/bogus.sock" ] ||
	{ echo "FAIL: --api-sock with RINGVM_SECCOMP_SELFTEST=bogus: status $st"; fail=1; }
[ "$fail" -eq 0 ] && echo "PASS: forbidden system calls end the VMM with their message"
exit "$fail"
