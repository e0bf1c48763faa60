#!/usr/bin/env bash
# The quickstart (deploy/quickstart.sh: every check of the full scenario), then the web console
# in headless Chromium against the data space it leaves running: the bank makes one call for a
# purpose its contract does not allow (a violation to list), the auditor signs in with a
# `tds console login` token, and node/console/e2e/console_e2e.mjs (playwright-core, Debian's
# chromium) walks every page, filters, checks a real and a tampered receipt, and saves a
# screenshot of each page. Last, every node's log is searched for key material: the members'
# Ed25519 seeds, the TLS private keys (theirs and the CA's) and the login token.
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
echo "[console] an open membership proposal (only its proposer's vote) for the governance page"
"$L" tds operator member propose set-roles bank --roles consumer,provider --ttl-blocks 100000 \
  --reason "the bank will also publish data products"

address="$("$L" tds auditor node status -o json |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["console_address"])')"
[[ -n "$address" ]] || { echo "FAIL: the auditor's node serves no console" >&2; exit 1; }
"$L" tds auditor console login --token-only >"$WORK/token"
echo "[console] https://$address/ as the auditor; screenshots in $SHOTS"
mkdir -p "$SHOTS"
node "$ROOT/node/console/e2e/console_e2e.mjs" "https://$address" "$WORK/token" "$SHOTS"

echo "[console] no key material in the nodes' logs"
python3 - "$TDS_LOCALNET_DIR" "$WORK/token" <<'PY'
import base64, glob, os, sys
state, token_file = sys.argv[1], sys.argv[2]
secrets = {}
for path in glob.glob(os.path.join(state, "keys", "*.key")):
    for line in open(path):
        if line.startswith("seed "):
            seed = line.split()[1]
            raw = bytes.fromhex(seed)
            for enc in (seed, seed.upper(), base64.b64encode(raw).decode().rstrip("="),
                        base64.urlsafe_b64encode(raw).decode().rstrip("=")):
                secrets[enc] = path
for path in glob.glob(os.path.join(state, "tls", "**", "*.key"), recursive=True):
    body = [l.strip() for l in open(path) if l.strip() and not l.startswith("-----")]
    for line in body:
        if len(line) >= 24:
            secrets[line] = path
token = open(token_file).read().strip()
secrets[token] = "the console login token"
logs = glob.glob(os.path.join(state, "nodes", "*", "node.log"))
assert logs, "no node logs"
assert len(secrets) > 10, "too few secrets found to search for: %d" % len(secrets)
leaks = []
for log in logs:
    text = open(log, errors="replace").read()
    leaks += ["%s holds material of %s" % (log, src) for s, src in secrets.items() if s in text]
if leaks:
    print("FAIL: key material in the logs:\n  " + "\n  ".join(leaks), file=sys.stderr)
    sys.exit(1)
print("    %d secrets, %d logs: none found" % (len(secrets), len(logs)))
PY
