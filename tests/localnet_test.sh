#!/usr/bin/env bash
# deploy/localnet.sh against the built binaries (one validator; tests/bft_localnet_test.sh runs
# four): refuses bad options, brings up five nodes that serve and replicate, lets members act
# through `localnet.sh tds`, kills and starts one node, stops them all, restarts the same data
# space with its history, and removes only its own state directory.
#   tests/localnet_test.sh REPO_ROOT BIN_DIR
set -euo pipefail

ROOT="${1:?usage: localnet_test.sh REPO_ROOT BIN_DIR}"
export TDS_BIN_DIR="${2:?usage: localnet_test.sh REPO_ROOT BIN_DIR}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/localnet-test.XXXXXX")"
export TDS_LOCALNET_DIR="$WORK/state"
L="$ROOT/deploy/localnet.sh"

cleanup() {
  "$L" down --clean >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}
# expect_output DESCRIPTION PATTERN COMMAND...: the command's stdout+stderr matches PATTERN.
expect_output() {
  local what="$1" pattern="$2" out
  shift 2
  out="$("$@" 2>&1)" || true
  grep -qE -- "$pattern" <<<"$out" || fail "$what: no /$pattern/ in: $out"
}

# A validator count that is not a positive number is refused before anything is created.
if out="$("$L" up --no-build --validators 0 2>&1)"; then
  fail "--validators 0 was accepted"
fi
grep -qF "'0' is not a positive number" <<<"$out" || fail "--validators 0: $out"
[[ ! -e "$TDS_LOCALNET_DIR" ]] || fail "a refused up created $TDS_LOCALNET_DIR"

"$L" up --no-build >"$WORK/up.log" 2>&1 || { cat "$WORK/up.log" >&2; exit 1; }
"$L" status >"$WORK/status.log" || fail "status after up: $(cat "$WORK/status.log")"
[[ "$(grep -c ' serving$' "$WORK/status.log")" == 5 ]] ||
  fail "five nodes should serve: $(cat "$WORK/status.log")"
grep -qE '^operator +validator +validator ' "$WORK/status.log" || fail "operator row"
grep -qE '^bank +consumer +follower ' "$WORK/status.log" || fail "bank row"

# shellcheck disable=SC1091
source "$TDS_LOCALNET_DIR/addresses.env"
[[ "$TDS_NODE_BANK" =~ ^127\.0\.0\.1:[0-9]+$ ]] || fail "addresses.env: TDS_NODE_BANK=$TDS_NODE_BANK"
[[ "$TDS_NODE_OPERATOR" != "$TDS_NODE_BANK" ]] || fail "two nodes share an address"
[[ -f "$TDS_GENESIS" ]] || fail "addresses.env: no genesis at $TDS_GENESIS"
for m in operator credit-bureau utility bank auditor; do
  [[ -d "$TDS_LOCALNET_DIR/nodes/$m/data" ]] || fail "$m has no data directory"
  [[ "$(stat -c %a "$TDS_LOCALNET_DIR/keys/$m.key")" == 600 ]] || fail "$m's key is not 0600"
done
grep -q "kind: csv" "$TDS_LOCALNET_DIR/nodes/credit-bureau/config.yaml" || fail "bureau source"
grep -q "kind: sqlite" "$TDS_LOCALNET_DIR/nodes/utility/config.yaml" || fail "utility source"
[[ "$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(
  "select count(*) from utility_payments").fetchone()[0])' \
  "$TDS_LOCALNET_DIR/sample/utility_payments.db")" == 1000 ]] || fail "utility SQLite rows"

# Members act through their own nodes; the auditor's replica sees the providers' products.
"$L" tds credit-bureau product publish "$ROOT/deploy/sample/products/bureau-credit-scores.yaml" \
  >/dev/null || fail "the bureau cannot publish"
"$L" tds utility product publish "$ROOT/deploy/sample/products/utility-payment-history.yaml" \
  >/dev/null || fail "the utility cannot publish"
expect_output "a consumer cannot publish" "member 'bank' lacks role 'provider'" \
  "$L" tds bank product publish "$ROOT/deploy/sample/products/bureau-credit-scores.yaml"
for _ in $(seq 100); do
  n="$("$L" tds auditor product list -o csv 2>/dev/null | tail -n +2 | wc -l)"
  [[ "$n" == 2 ]] && break
  sleep 0.1
done
[[ "$n" == 2 ]] || fail "the auditor's node lists $n products, not 2"
expect_output "unknown member" "unknown member 'nobody'" "$L" tds nobody ledger status
expect_output "a second validator in a one-validator space" "unknown member 'validator-2'" \
  "$L" kill validator-2
expect_output "another validator count" "has 1 validator\(s\)" "$L" up --no-build --validators 4
[[ ! -s "$TDS_LOCALNET_DIR/ports" ]] || fail "one validator has fixed ports"

# kill (SIGKILL) and start one node: the bank's follower catches up with what it missed.
"$L" kill bank >/dev/null || fail "kill bank"
if "$L" status >"$WORK/status.log" 2>&1; then fail "status succeeded with the bank killed"; fi
grep -qE '^bank +consumer +- +- .* stopped$' "$WORK/status.log" || fail "killed bank: $(cat "$WORK/status.log")"
echo "written while the bank was down" >"$WORK/doc.txt"
"$L" tds credit-bureau anchor "$WORK/doc.txt" >/dev/null || fail "no anchor while the bank is down"
expect_output "kill of a stopped node" "bank's node is not running" "$L" kill bank
"$L" start bank >/dev/null || fail "start bank"
expect_output "start of a running node" "bank is already running" "$L" start bank
operator_height="$("$L" tds operator ledger status | awk '$1 == "height:" { print $2 }')"
for _ in $(seq 100); do
  bank_height="$("$L" tds bank ledger status | awk '$1 == "height:" { print $2 }')"
  [[ "$bank_height" == "$operator_height" ]] && break
  sleep 0.1
done
[[ "$bank_height" == "$operator_height" ]] ||
  fail "the restarted bank is at height $bank_height, the validator at $operator_height"

# down stops every node; status then fails and shows them stopped.
"$L" down >/dev/null
if "$L" status >"$WORK/status.log" 2>&1; then fail "status succeeded with every node down"; fi
[[ "$(grep -c ' stopped$' "$WORK/status.log")" == 5 ]] || fail "after down: $(cat "$WORK/status.log")"

# up again restarts the same data space, history included.
"$L" up --no-build >"$WORK/up2.log" 2>&1 || { cat "$WORK/up2.log" >&2; exit 1; }
grep -q "restarting the data space" "$WORK/up2.log" || fail "second up did not restart"
n="$("$L" tds bank product list -o csv | tail -n +2 | wc -l)"
[[ "$n" == 2 ]] || fail "after a restart the bank's node lists $n products, not 2"

# A validator that went away: submissions through a follower fail naming it; `up` restarts it
# (on a new port) and the followers with it, and the data space works again.
operator_pid="$(cat "$TDS_LOCALNET_DIR/nodes/operator/pid")"
kill -TERM "$operator_pid"
for _ in $(seq 200); do
  kill -0 "$operator_pid" 2>/dev/null || break
  sleep 0.1
done
expect_output "a submission while the validator is down" "^error: validator: " \
  "$L" tds utility product retire utility-payment-history --reason "validator down"
"$L" up --no-build >"$WORK/up3.log" 2>&1 || { cat "$WORK/up3.log" >&2; exit 1; }
grep -q "restarting bank to follow the validator" "$WORK/up3.log" || fail "followers not restarted"
"$L" tds utility product retire utility-payment-history --reason "obsolete" >/dev/null ||
  fail "no submission after the validator's restart"
"$L" status >/dev/null || fail "status after the validator's restart: $("$L" status 2>&1)"
# `up` while a node is still shutting down (its ready file gone, the process not yet) waits for
# it to exit, then restarts it.
kill -TERM "$(cat "$TDS_LOCALNET_DIR/nodes/operator/pid")"
for _ in $(seq 100); do
  [[ -e "$TDS_LOCALNET_DIR/nodes/operator/ready" ]] || break
  sleep 0.05
done
"$L" up --no-build >"$WORK/up4.log" 2>&1 || { cat "$WORK/up4.log" >&2; exit 1; }
"$L" status >/dev/null || fail "status after an immediate up: $("$L" status 2>&1)"

# down --clean removes the state directory, and refuses a directory that is not one.
"$L" down --clean >/dev/null
[[ ! -e "$TDS_LOCALNET_DIR" ]] || fail "down --clean left $TDS_LOCALNET_DIR"
mkdir -p "$WORK/precious"
touch "$WORK/precious/file"
expect_output "down --clean on a foreign directory" "not a localnet state directory" \
  env TDS_LOCALNET_DIR="$WORK/precious" "$L" down --clean
[[ -f "$WORK/precious/file" ]] || fail "down --clean removed a foreign directory"

if ((failures)); then
  echo "localnet_test: $failures failure(s)" >&2
  exit 1
fi
echo "localnet_test: all checks passed"
