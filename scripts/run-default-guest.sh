#!/bin/bash
# Boot ringvm's default guest (Debian 12 cloud kernel + busybox initramfs) on the
# serial console.
#
#   scripts/run-default-guest.sh [--append "more cmdline"] [--cmdline "whole cmdline"]
#                                [--memory 512M] [any other ringvm run arguments...]
#
# Runs scripts/fetch-guest-assets.sh first (cheap when everything is cached).
# Environment: RINGVM=path/to/ringvm (default build/ringvm),
#              RINGVM_TSC_KHZ=N adds tsc_early_khz=N (skips TSC calibration).
# Examples:
#   scripts/run-default-guest.sh --engine soft
#   scripts/run-default-guest.sh --append ringvm.test=poweroff     # boot, print marker, power off
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RINGVM=${RINGVM:-$ROOT/build/ringvm}

# Default command line for a 16550 UART console:
#  - earlyprintk on the same UART so a failure before the console driver is visible;
#  - panic=-1: reboot at once on panic instead of hanging (the VMM sees the reset);
#  - tsc=reliable no_timer_check: skip the clocksource watchdog and the timer IRQ
#    sanity check, which misfire when the guest's clocks are emulated (see
#    shared FACTS: TCG -M microvm hung after "Marking TSC unstable" without them);
#  - i8042.*: do not wait on a PS/2 controller a minimal VMM may not model fully.
DEFAULT_CMDLINE="console=ttyS0 earlyprintk=serial,ttyS0,115200 panic=-1 tsc=reliable no_timer_check i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd"
if [ -n "${RINGVM_TSC_KHZ:-}" ]; then
    DEFAULT_CMDLINE+=" tsc_early_khz=$RINGVM_TSC_KHZ"
fi

cmdline=$DEFAULT_CMDLINE
memory=512M
pass=()
while [ $# -gt 0 ]; do
    case "$1" in
    --cmdline) cmdline=$2; shift 2 ;;
    --cmdline=*) cmdline=${1#*=}; shift ;;
    --append) cmdline+=" $2"; shift 2 ;;
    --append=*) cmdline+=" ${1#*=}"; shift ;;
    --memory) memory=$2; shift 2 ;;
    --memory=*) memory=${1#*=}; shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) pass+=("$1"); shift ;;
    esac
done

"$ROOT/scripts/fetch-guest-assets.sh" --quiet >&2
if [ ! -x "$RINGVM" ]; then
    echo "run-default-guest: $RINGVM not found; build it first (meson setup build && ninja -C build)" >&2
    exit 127
fi
serial=(--serial stdio)
for a in ${pass[@]+"${pass[@]}"}; do
    case "$a" in --serial|--serial=*) serial=() ;; esac
done
set -x
exec "$RINGVM" run --kernel "$ROOT/.cache/guest/vmlinuz" --initrd "$ROOT/.cache/guest/initramfs.cpio.gz" \
    --cmdline "$cmdline" --memory "$memory" ${serial[@]+"${serial[@]}"} ${pass[@]+"${pass[@]}"}
