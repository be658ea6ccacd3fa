#!/usr/bin/env bash
# The whole test suite: build, then every meson test (unit, guest, diff,
# integration).  Guest tests that need /dev/kvm skip with a message without it.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
scripts/build.sh
meson test -C "$build" --print-errorlogs --num-processes 2 "$@"
