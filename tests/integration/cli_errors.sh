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
expect 2 "--soft-tier fast: expected interp or jit" run --kernel "$tmp/garbage" --soft-tier fast
expect 2 "--soft-jit-cache 1K: expected a size from 64K to 1G" run --kernel "$tmp/garbage" --soft-jit-cache 1K
expect 2 "--serial tty0" run --kernel "$tmp/garbage" --serial tty0
expect 2 "unknown option --bogus" run --kernel "$tmp/garbage" --bogus
expect 2 "--net bridge: expected user" run --kernel "$tmp/garbage" --net bridge
expect 2 "--net hostfwd=tcp::80-80: guest side needs ADDR:PORT" run --kernel "$tmp/garbage" --net user,hostfwd=tcp::80-80
expect 2 "--net mac=zz:54:00:12:34:56: expected six hex bytes" run --kernel "$tmp/garbage" --net user,mac=zz:54:00:12:34:56
expect 2 "tap needs ifname=NAME" run --kernel "$tmp/garbage" --net tap
expect 2 "--vsock cid=1: a number from 3" run --kernel "$tmp/garbage" --vsock cid=1,uds=/tmp/x
expect 2 "--console tty: expected serial or virtio" run --kernel "$tmp/garbage" --console tty
# Virtio options: a missing image named, each bad --drive value named.
expect 2 "--drive path=/nonexistent/disk.img: No such file" run --kernel "$tmp/garbage" --drive path=/nonexistent/disk.img
expect 2 "ro=yes: expected on or off" run --kernel "$tmp/garbage" --drive "path=$tmp/garbage,ro=yes"
expect 2 "unknown key 'format'" run --kernel "$tmp/garbage" --drive "path=$tmp/garbage,format=raw"
expect 2 "path=IMAGE is required" run --kernel "$tmp/garbage" --drive id=x
expect 2 "unknown option --rng=on" run --kernel "$tmp/garbage" --rng=on
# snapshot-rebase (docs/snapshot.md, "Diff snapshots")
expect 0 "--base-file BASE_MEM --diff-file DIFF_MEM" snapshot-rebase --help
expect 2 "snapshot-rebase: --base-file is required" snapshot-rebase
expect 2 "snapshot-rebase: --diff-file is required" snapshot-rebase --base-file "$tmp/empty"
expect 2 "snapshot-rebase: --base-file needs a path" snapshot-rebase --base-file
expect 2 "unexpected argument '--bogus'" snapshot-rebase --bogus
expect 2 "--diff-file /nope: No such file" snapshot-rebase --base-file "$tmp/empty" --diff-file /nope
expect 2 "not memory files of the same VM" snapshot-rebase "$tmp/empty" "$tmp/garbage"
expect 2 "the same file as --base-file" snapshot-rebase "$tmp/garbage" "$tmp/garbage"
expect 2 "--out and --diff are options of snapshot" pause x --diff
# Options that clash with built-in devices: status 2, one line naming the
# option and the device actually in the way.  The guests are built beside
# ringvm (build/guests/); the soft engine runs everywhere.
guest=$(dirname "$ringvm")/guests/guest-mb64.elf
if [ -f "$guest" ]; then
	g=(run --kernel "$guest" --engine soft --serial none --testdev)
	expect 2 "--debug-exit 0x3f8,4: port 0x3f8 is already used by the built-in device uart8250" "${g[@]}" --debug-exit 0x3f8
	expect 2 "--debug-exit 0x600,4: port 0x600 is already used by the built-in device acpi-pm" "${g[@]}" --debug-exit 0x600
	expect 2 "--debug-exit 0xcf8,2: port 0xcf8 is already used by the built-in device pci-cf8" "${g[@]}" --debug-exit 0xcf8,2
	expect 2 "--debug-exit 0xcfe,1: port 0xcfe is already used by the built-in device pci-cfc" "${g[@]}" --debug-exit 0xcfe,1
	expect 2 "--debug-exit 0xc000,4: port 0xc000 is already used by the built-in device pci-io" "${g[@]}" --debug-exit 0xc000
	expect 2 "--debug-exit 0x70,1: port 0x70 is already used by the built-in device rtc" "${g[@]}" --debug-exit 0x70,1
	expect 2 "--debug-exit 0xde,4: port 0xe0 is already used by the built-in device testdev" "${g[@]}" --debug-exit 0xde
	expect 2 "--pc-testdev: port 0xe0 is also --testdev's call port; use one of them" "${g[@]}" --pc-testdev
	expect 2 "--debug-exit 0x2010,1: port 0x2010 is already used by the built-in device pc-testdev-irq" run --kernel "$guest" --engine soft --serial none --pc-testdev --debug-exit 0x2010,1
	# kvm's in-kernel PIT is a built-in device too (where kvm runs).
	if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
		expect 2 "--debug-exit 0x40,4: port 0x40 is already used by the built-in device pit (kvm in-kernel)" "${g[@]}" --engine kvm --debug-exit 0x40
	fi
	# Serial back-end problems: one line naming --serial.
	expect 2 "--serial file:/nonexistent-dir/out: No such file or directory" "${g[@]}" --serial file:/nonexistent-dir/out
	mkfifo "$tmp/fifo"
	expect 2 "--serial file:$tmp/fifo: a FIFO with no reader" "${g[@]}" --serial "file:$tmp/fifo"
	: > "$tmp/notsock"
	expect 2 "--serial unix:$tmp/notsock: file exists and is not a socket" "${g[@]}" --serial "unix:$tmp/notsock"
	# Out of file descriptors is a host failure (6), not a bad command line,
	# whether it strikes the kernel, a back end or a device: one line each.
	expect_fd() { # expect_fd NEEDLE ARGS...: some fd limit gives status 6 with NEEDLE
		local needle=$1; shift
		local n out status
		for n in 4 5 6 7 8 9 10 11 12; do
			out=$(ulimit -n "$n"; "$ringvm" "$@" 2>&1 </dev/null)
			status=$?
			if grep -qF -- "$needle" <<<"$out"; then
				if [ "$status" -ne 6 ] || [ "$(wc -l <<<"$out")" -ne 1 ]; then
					echo "FAIL: ulimit -n $n: ringvm $*: status $status (want 6, one line): $out"
					fail=$((fail + 1))
				else
					pass=$((pass + 1))
				fi
				return
			fi
		done
		echo "FAIL: no fd limit made ringvm $* say '$needle'"
		fail=$((fail + 1))
	}
	expect_fd "--kernel $guest: cannot open: Too many open files" "${g[@]}" --cmdline test=uart
	expect_fd "--serial file:$tmp/out: Too many open files" "${g[@]}" --cmdline test=uart --serial "file:$tmp/out"
else
	echo "note: $guest not built; option/device clash cases skipped"
fi
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
