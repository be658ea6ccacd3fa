#!/bin/bash
# Integration test: self-check of the benchmark harness (bench/run --smoke).
# Builds ringbench, runs it natively (short), parses its figures, boots the
# bench initramfs once under QEMU TCG if qemu-system-x86_64 and the guest assets
# (scripts/fetch-guest-assets.sh) are present, writes CSV/SVG to a temp dir and
# checks the table shape. Exits non-zero if parsing or output is broken.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
command -v python3 >/dev/null || { echo "bench-smoke: python3 missing"; exit 77; }
command -v gcc >/dev/null || { echo "bench-smoke: gcc missing, skipping"; exit 77; }
exec timeout 120 python3 "$ROOT/bench/run" --smoke
