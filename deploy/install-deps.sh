#!/usr/bin/env bash
# Installs every Debian package the build, tests, benchmarks and quickstart need.
# Idempotent: silent and offline when everything is already installed.
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config
  # gRPC and Protobuf
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler libabsl-dev
  # crypto, storage
  libsodium-dev libssl-dev libleveldb-dev libsnappy-dev
  # the enclave sandbox's seccomp-bpf allow-list (compute/enclave)
  libseccomp-dev
  # tcmalloc for tdsd: its gRPC, protobuf and LevelDB paths allocate from many threads
  libgoogle-perftools-dev
  # logging, config, CLI, JSON
  libspdlog-dev libfmt-dev libyaml-cpp-dev libcli11-dev nlohmann-json3-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  # data connectors (the PostgreSQL server is for the connector tests)
  libsqlite3-dev libpq-dev postgresql
  # the Python client (sdk/python): stubs generated with grpc_tools, Ed25519 with PyNaCl
  python3-grpcio python3-grpc-tools python3-protobuf python3-nacl
  # deploy/localnet.sh and deploy/sample/generate.py (sample data, SQLite source)
  python3
  # the TLS tests probe the server with `openssl s_client`
  openssl
  # breast-cancer data for the federated LR test and bench
  python3-sklearn
  # `tds report --pdf` prints report.html with headless Chromium (sdk/cli/report_test.cc)
  chromium
  # the web console's JavaScript tests (node --test; node/console/verify_tests.cmake) and its
  # end-to-end test (playwright-core from npm driving the chromium above). Node.js 20 or later:
  # the machines' nodejs package (NodeSource's build) carries npm; Debian's npm package would
  # conflict with it, so npm is checked below instead of listed.
  nodejs
)
# The scripts also use bash, coreutils, grep, sed and awk: essential on every Debian system.

missing=()
for pkg in "${PACKAGES[@]}"; do
  status="$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)"
  if [[ "$status" != "installed" ]]; then
    missing+=("$pkg")
  fi
done
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# npm packages of the console's end-to-end test (node/console/e2e/package-lock.json), once.
install_npm() {
  local e2e="$ROOT/node/console/e2e"
  [[ -d "$e2e/node_modules/playwright-core" ]] && return 0
  if ! command -v npm >/dev/null; then
    echo "error: npm not found: the console's end-to-end test needs Node.js 20+ with npm" >&2
    exit 1
  fi
  echo "install-deps: npm ci in node/console/e2e" >&2
  npm ci --prefix "$e2e" --no-audit --no-fund --loglevel=error >&2
}
if [[ ${#missing[@]} -eq 0 ]]; then
  install_npm
  exit 0
fi

SUDO=()
if [[ "$(id -u)" -ne 0 ]]; then
  if ! command -v sudo >/dev/null; then
    echo "error: missing packages (${missing[*]}) and not root, and sudo is not available" >&2
    exit 1
  fi
  SUDO=(sudo)
fi

echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
install_npm
echo "install-deps: done" >&2
