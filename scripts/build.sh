#!/usr/bin/env bash
# Configure (once) and build ringvm into build/ (or $BUILD_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
[ -f "$build/build.ninja" ] || meson setup "$build" "$@"
ninja -C "$build"
