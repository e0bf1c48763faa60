#!/usr/bin/env bash
# Installs dependencies, builds (Release, ccache when present) and runs the whole test suite.
# Exits non-zero on any build or test failure.
#   BUILD_DIR   build directory (default: build)
#   JOBS        parallel build and test jobs (default: 2)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BUILD_DIR="${BUILD_DIR:-build}"
JOBS="${JOBS:-2}"

deploy/install-deps.sh

export CCACHE_BASEDIR="$ROOT"
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C "$BUILD_DIR" -j"$JOBS"
ctest --test-dir "$BUILD_DIR" --output-on-failure -j"$JOBS"
