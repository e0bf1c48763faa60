#!/usr/bin/env bash
# deploy/bench.sh NAME [ARGS...]: builds if needed, then runs build/bin/NAME_bench ARGS
# ('-' in NAME is read as '_').
# Prints human-readable figures, then a last line "NAME key=value ...".
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BUILD_DIR="${BUILD_DIR:-build}"

if [[ $# -lt 1 || "$1" == -h || "$1" == --help ]]; then
  echo "usage: deploy/bench.sh NAME [ARGS...]   (runs $BUILD_DIR/bin/NAME_bench)" >&2
  echo "benchmarks: $(sed -n 's/^add_executable(\([a-z0-9_]*\)_bench .*/\1/p' bench/CMakeLists.txt | tr '\n' ' ')" >&2
  exit 2
fi
# Benchmark names may use '-' for '_' (deploy/bench.sh psi-ecdh runs psi_ecdh_bench).
NAME="${1//-/_}"
shift
if ! grep -q "^add_executable(${NAME}_bench " bench/CMakeLists.txt; then
  echo "error: no benchmark named '$NAME' (bench/CMakeLists.txt has no ${NAME}_bench)" >&2
  exit 2
fi

deploy/install-deps.sh
export CCACHE_BASEDIR="$ROOT"
if [[ ! -f "$BUILD_DIR/build.ninja" ]]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
# Quiet build; its output is shown only when it fails.
if ! log="$(ninja -C "$BUILD_DIR" -j"${JOBS:-2}" "${NAME}_bench" tdsd tds 2>&1)"; then
  echo "$log" >&2
  echo "error: build of ${NAME}_bench failed" >&2
  exit 1
fi
exec "$BUILD_DIR/bin/${NAME}_bench" "$@"
