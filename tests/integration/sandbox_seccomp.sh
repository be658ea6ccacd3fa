#!/usr/bin/env bash
# The seccomp filters end the VMM on a forbidden system call, with one line
# naming the call and the thread kind, and status 159 (128 + SIGSYS); with
# the filters on, the same guest runs to its end.  The API thread of the
# Firecracker command line likewise, when it handles a request.  The forbidden call comes
# from the host-only test hook RINGVM_SECCOMP_SELFTEST=KIND (docs/sandbox.md).
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
