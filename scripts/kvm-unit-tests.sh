#!/bin/bash
# Run the external kvm-unit-tests x86 suite on ringvm's soft engine (jit and
# interp tiers) and on QEMU TCG, and print a pass/fail/skip table per test.
#
# A developer tool, NOT part of CI: CI has no network and no kvm-unit-tests
# source tree.  docs/kvm-unit-tests.md says how to get and build the tree.
#
# Usage: scripts/kvm-unit-tests.sh [TEST...]
#   TEST       names from x86/unittests.cfg (default: the applicable list below)
# Environment:
#   KUT_SRC    a built kvm-unit-tests tree (./configure --arch=x86_64 && make);
#              default /work/kut-src
#   KUT_SRC32  a tree built with --arch=i386, for the arch = i386 tests
#              (cmpxchg8b, taskswitch, taskswitch2); they are n/a without it
#   RINGVM     the ringvm binary (default build/ringvm of this checkout)
#   QEMU       the reference (default qemu-system-x86_64); KUT_NO_QEMU=1 skips it
#   KUT_CONFIGS  space-separated subset of "qemu jit interp" (default all three)
#   KUT_TIMEOUT  seconds per run (default 120)
#   KUT_OUT    directory for the logs (default /tmp/kut-results)
#
# How a test is started, per kvm-unit-tests' scripts/arch-run.bash: the .flat
# file is a multiboot kernel; the "environ" file (NR_CPUS, MEMSIZE, ...)
# is its one multiboot module; test_args from unittests.cfg is the command
# line.  The test prints on COM1 and ends through isa-debug-exit at 0xf4
# (status (code << 1) | 1: 1 is a pass, 77 a skip, anything else a failure).
# QEMU, the reference, runs as kvm-unit-tests' own runner starts it: the
# cfg's qemu_params (its -cpu; -cpu max where it names none), pc-testdev
# and pci-testdev.  ringvm runs with its --pc-testdev (QEMU's pc-testdev:
# data port 0xe0, IRQ lines at 0x2000, RAM at 0xff000000) and its environ
# says TEST_DEVICE=1, as with QEMU; ringvm has no pci-testdev.
set -u

here=$(cd "$(dirname "$0")/.." && pwd)
KUT_SRC=${KUT_SRC:-/work/kut-src}
RINGVM=${RINGVM:-$here/build/ringvm}
QEMU=${QEMU:-qemu-system-x86_64}
KUT_TIMEOUT=${KUT_TIMEOUT:-120}
KUT_OUT=${KUT_OUT:-/tmp/kut-results}
KUT_CONFIGS=${KUT_CONFIGS:-qemu jit interp}
[ "${KUT_NO_QEMU:-0}" = 1 ] && KUT_CONFIGS=${KUT_CONFIGS//qemu/}

cfg=$KUT_SRC/x86/unittests.cfg
if [ ! -f "$cfg" ] || ! ls "$KUT_SRC"/x86/*.flat >/dev/null 2>&1; then
	echo "kvm-unit-tests.sh: no built kvm-unit-tests tree at KUT_SRC=$KUT_SRC" >&2
	echo "  (need x86/unittests.cfg and x86/*.flat; see docs/kvm-unit-tests.md:" >&2
	echo "   get the source, ./configure --arch=x86_64 && make).  This is a" >&2
	echo "   developer tool: CI does not run it (no network, no source tree)." >&2
	exit 2
fi
if [ ! -x "$RINGVM" ]; then
	echo "kvm-unit-tests.sh: RINGVM=$RINGVM is not an executable (build ringvm first)" >&2
	exit 2
fi
case " $KUT_CONFIGS " in *" qemu "*)
	if ! command -v "$QEMU" >/dev/null; then
		echo "kvm-unit-tests.sh: QEMU=$QEMU not found (set KUT_NO_QEMU=1 to skip it)" >&2
		exit 2
	fi ;;
esac

# Tests that apply to a machine without fw_cfg, PCI test devices, HPET,
# nested virtualization or a PMU.  The N/A ones and why: docs/kvm-unit-tests.md.
default_tests="emulator tsc msr msr64 smap pku pcid-enabled pcid-disabled
pcid-asymmetric xapic x2apic ioapic smptest smptest3 rmap_chain xsave realmode
taskswitch taskswitch2 debug access umip la57 syscall cmpxchg8b setjmp memory
idt_test eventinj tsc_adjust rdpru tsx-ctrl lam cet pks sieve"
tests=${*:-$default_tests}

# cfg_get TEST KEY: the value of KEY in TEST's section (quotes stripped).
cfg_get() {
	awk -v t="[$1]" -v k="$2" '
		/^\[/ { in_t = ($0 == t); next }
		in_t && $0 ~ "^" k "[ \t]*=" {
			sub("^" k "[ \t]*=[ \t]*", ""); gsub(/^'\''|'\''$/, ""); print; exit }
	' "$cfg"
}

mkdir -p "$KUT_OUT"
declare -A result summary
for t in $tests; do
	file=$(cfg_get "$t" file)
	if [ -z "$file" ]; then
		echo "kvm-unit-tests.sh: no test [$t] in $cfg" >&2
		exit 2
	fi
	smp=$(cfg_get "$t" smp); smp=${smp:-1}
	args=$(cfg_get "$t" test_args)
	qparams=$(cfg_get "$t" qemu_params)
	arch=$(cfg_get "$t" arch)
	case "$qparams" in *-cpu*) ;; *) qparams="-cpu max $qparams" ;; esac
	for c in $KUT_CONFIGS; do
		log=$KUT_OUT/$t.$c.log
		env=$KUT_OUT/$t.$c.env
		flat=$KUT_SRC/x86/$file
		if [ "$arch" = i386 ]; then
			flat=${KUT_SRC32:+$KUT_SRC32/x86/$file}
			if [ -z "$flat" ]; then
				result[$t.$c]="n/a(KUT_SRC32)"; summary[$t.$c]=""; continue
			fi
		fi
		if [ ! -f "$flat" ]; then
			result[$t.$c]="n/a(no $file)"; summary[$t.$c]=""; continue
		fi
		printf 'NR_CPUS=%s\nMEMSIZE=256\n' "$smp" >"$env"
		case $c in
		qemu)
			# shellcheck disable=SC2086
			timeout "$KUT_TIMEOUT" "$QEMU" -nodefaults -machine accel=tcg \
				-device pc-testdev -device isa-debug-exit,iobase=0xf4,iosize=0x4 \
				-display none -serial stdio -device pci-testdev -m 256 \
				-smp "$smp" $qparams -kernel "$flat" \
				-initrd "$env" -append "$args" </dev/null >"$log" 2>&1
			st=$? ;;
		jit|interp)
			echo TEST_DEVICE=1 >>"$env"
			timeout "$KUT_TIMEOUT" "$RINGVM" run --engine soft --soft-tier "$c" \
				--memory 256M --cpus "$smp" --serial stdio --pc-testdev \
				--kernel "$flat" --initrd "$env" \
				--cmdline "$args" </dev/null >"$log" 2>&1
			st=$? ;;
		*)	echo "kvm-unit-tests.sh: unknown config $c (qemu, jit, interp)" >&2
			exit 2 ;;
		esac
		case $st in
		1) r=PASS ;;
		77) r=SKIP ;;
		124) r=TIMEOUT ;;
		*) r="FAIL($st)" ;;
		esac
		result[$t.$c]=$r
		summary[$t.$c]=$(tr -d '\r' <"$log" | grep -a '^SUMMARY:' | tail -1)
	done
done

# The table, then every run's SUMMARY line, then the sub-checks QEMU passes
# that a ringvm tier does not (and those where jit and interp disagree).
printf '%-18s' test; for c in $KUT_CONFIGS; do printf ' %-16s' "$c"; done; echo
for t in $tests; do
	printf '%-18s' "$t"
	for c in $KUT_CONFIGS; do printf ' %-16s' "${result[$t.$c]}"; done; echo
done
echo
for t in $tests; do
	for c in $KUT_CONFIGS; do
		[ -n "${summary[$t.$c]}" ] && printf '%-18s %-7s %s\n' "$t" "$c" "${summary[$t.$c]}"
	done
done
checks() { tr -d '\r' <"$1" 2>/dev/null | grep -a -E '^(PASS|FAIL|XFAIL|XPASS|SKIP): ' | sort -u; }
echo
for t in $tests; do
	for c in jit interp; do
		case " $KUT_CONFIGS " in *" $c "*) ;; *) continue ;; esac
		case " $KUT_CONFIGS " in *" qemu "*)
			comm -23 <(checks "$KUT_OUT/$t.qemu.log" | sed -n 's/^PASS: //p') \
				<(checks "$KUT_OUT/$t.$c.log" | sed -n 's/^PASS: //p') |
				sed "s/^/$t: qemu passes, $c does not: /" ;;
		esac
	done
	case " $KUT_CONFIGS " in *" jit "*" interp "*|*" interp "*" jit "*)
		diff <(checks "$KUT_OUT/$t.jit.log") <(checks "$KUT_OUT/$t.interp.log") |
			sed -n "s/^[<>] /$t: jit\/interp differ: /p" ;;
	esac
done
echo "logs: $KUT_OUT/TEST.CONFIG.log"
