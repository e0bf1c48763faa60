#!/usr/bin/env bash
# The quickstart (deploy/quickstart.sh: every check of the full scenario), then the web console
# in headless Chromium against the data space it leaves running: the bank makes one call for a
# purpose its contract does not allow (a violation to list), the auditor signs in with a
# `tds console login` token, and node/console/e2e/console_e2e.mjs (playwright-core, Debian's
# chromium) walks every page, filters, checks a real and a tampered receipt, and saves a
# screenshot of each page.
#   tests/quickstart_console_test.sh REPO_ROOT BIN_DIR SHOTS_DIR
set -euo pipefail

ROOT="${1:?usage: quickstart_console_test.sh REPO_ROOT BIN_DIR SHOTS_DIR}"
export TDS_BIN_DIR="${2:?usage: quickstart_console_test.sh REPO_ROOT BIN_DIR SHOTS_DIR}"
SHOTS="${3:?usage: quickstart_console_test.sh REPO_ROOT BIN_DIR SHOTS_DIR}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/quickstart-console.XXXXXX")"
L="$ROOT/deploy/localnet.sh"

cleanup() {
  local dir
  for dir in "$WORK"/tds-quickstart.*/localnet; do
    [[ -d "$dir" ]] && TDS_LOCALNET_DIR="$dir" "$L" down --clean >/dev/null 2>&1 || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

[[ -d "$ROOT/node/console/e2e/node_modules/playwright-core" ]] ||
  { echo "FAIL: playwright-core is not installed: run deploy/install-deps.sh" >&2; exit 1; }

TMPDIR="$WORK" "$ROOT/deploy/quickstart.sh" --keep
dirs=("$WORK"/tds-quickstart.*/localnet)
export TDS_LOCALNET_DIR="${dirs[0]}"
[[ -d "$TDS_LOCALNET_DIR" ]] || { echo "FAIL: the quickstart left no data space" >&2; exit 1; }

echo
echo "[console] a call for a purpose the contract does not allow (recorded, flagged)"
contract="$("$L" tds bank contract list -o json | python3 -c '
import json, sys
for c in json.load(sys.stdin):
    if c["product_id"] == "utility-payment-history" and c["product_version"] == 1:
        print(c["id"]); break')"
[[ -n "$contract" ]] || { echo "FAIL: no contract of the bank with the utility" >&2; exit 1; }
"$L" tds bank usage request "$contract" --operation psi --purpose marketing --out "$WORK/call.req"
"$L" tds utility usage record --request "$WORK/call.req" --rows-in 100 --rows-out 40 \
  --compute-ms 50

address="$("$L" tds auditor node status -o json |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["console_address"])')"
[[ -n "$address" ]] || { echo "FAIL: the auditor's node serves no console" >&2; exit 1; }
"$L" tds auditor console login --token-only >"$WORK/token"
echo "[console] https://$address/ as the auditor; screenshots in $SHOTS"
mkdir -p "$SHOTS"
node "$ROOT/node/console/e2e/console_e2e.mjs" "https://$address" "$WORK/token" "$SHOTS"
