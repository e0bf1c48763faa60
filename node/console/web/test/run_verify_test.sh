#!/usr/bin/env bash
# ctest console_verify_js_test: the C++ receipt verifier and web/verify.js must agree.
#
#   run_verify_test.sh BIN_DIR SRC_DIR
#
# Runs BIN_DIR/tds_receipt_vectors into a temporary directory (receipts, genesis files and the
# C++ outcome of each), then `node --test` on web/test/verify_test.mjs with
# TDS_RECEIPT_VECTORS pointing there. Fails (never skips) when node is missing.
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 BIN_DIR SRC_DIR" >&2
  exit 2
fi
BIN_DIR="$1"
SRC_DIR="$2"

if ! command -v node >/dev/null 2>&1; then
  echo "FAIL: 'node' is not installed; the JavaScript receipt verifier cannot be tested." >&2
  echo "      Install Node.js 20+ (deploy/install-deps.sh installs the nodejs package)." >&2
  exit 1
fi
major="$(node -p 'process.versions.node.split(".")[0]')"
if [[ "$major" -lt 20 ]]; then
  echo "FAIL: node $(node --version) is too old; verify.js and its test need Node 20+." >&2
  exit 1
fi

VECTORS="$(mktemp -d "${TMPDIR:-/tmp}/tds-receipt-vectors-XXXXXX")"
trap 'rm -rf "$VECTORS"' EXIT

# The generator's ledger and protobuf log lines are noise unless it fails.
if ! "$BIN_DIR/tds_receipt_vectors" "$VECTORS" >"$VECTORS/generator.log" 2>&1; then
  cat "$VECTORS/generator.log" >&2
  echo "FAIL: tds_receipt_vectors could not write the vectors" >&2
  exit 1
fi
TDS_RECEIPT_VECTORS="$VECTORS" node --test "$SRC_DIR/node/console/web/test/verify_test.mjs"
