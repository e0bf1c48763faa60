#!/usr/bin/env bash
# Quickstart: builds TDS, starts an embedded single-validator node in a temporary directory and
# walks through the data space:
#   1. evidence: anchors the sample documents in deploy/samples/, fetches each receipt and
#      verifies every receipt offline against the genesis file;
#   2. catalog: a provider publishes two products (deploy/samples/products/, one of level 5),
#      a bank searches, a stranger cannot see the level-5 one;
#   3. contract: the bank requests terms, the provider counters, the bank accepts (ACTIVE);
#   4. usage: signed requests, strict reservations and metered records, one breaking the
#      terms (flagged, not billed);
#   5. billing statement, data-asset valuation, and a governance vote admitting a new member;
# then prints a summary and stops the node.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BUILD_DIR="${BUILD_DIR:-build}"

say() { printf '\n== %s\n' "$*"; }

say "Installing dependencies (only what is missing)"
deploy/install-deps.sh

say "Building tds and tdsd (Release)"
export CCACHE_BASEDIR="$ROOT"
if [[ ! -f "$BUILD_DIR/build.ninja" ]]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
ninja -C "$BUILD_DIR" -j"${JOBS:-2}" tds tdsd
TDS="$ROOT/$BUILD_DIR/bin/tds"
TDSD="$ROOT/$BUILD_DIR/bin/tdsd"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/tds-quickstart.XXXXXX")"
TDSD_PID=""
cleanup() {
  local rc=$?
  if [[ $rc -ne 0 && -s "$WORK/tdsd.log" ]]; then
    echo "quickstart failed; last lines of the tdsd log:" >&2
    tail -n 20 "$WORK/tdsd.log" >&2
  fi
  if [[ -n "$TDSD_PID" ]] && kill -0 "$TDSD_PID" 2>/dev/null; then
    kill -TERM "$TDSD_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$TDSD_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$TDSD_PID" 2>/dev/null || true
    wait "$TDSD_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "Creating identities in $WORK"
NODE_PUB="$("$TDS" keygen --out "$WORK/node-1.key")"
BANK_PUB="$("$TDS" keygen --out "$WORK/eastbridge-bank.key")"
PROV_PUB="$("$TDS" keygen --out "$WORK/zj-tax-data.key")"
AUDIT_PUB="$("$TDS" keygen --out "$WORK/audit-firm.key")"
LEASE_PUB="$("$TDS" keygen --out "$WORK/cityfin-leasing.key")"
printf '  %-16s %-10s %s\n' node-1 validator "$NODE_PUB" eastbridge-bank consumer "$BANK_PUB" \
  zj-tax-data provider "$PROV_PUB" audit-firm auditor "$AUDIT_PUB" \
  cityfin-leasing consumer "$LEASE_PUB"

say "Writing the genesis file (the data space's root of trust)"
"$TDS" genesis --origin quickstart.tds.example \
  --member "node-1:validator:$NODE_PUB" \
  --member "eastbridge-bank:consumer:$BANK_PUB" \
  --member "zj-tax-data:provider:$PROV_PUB" \
  --member "audit-firm:auditor:$AUDIT_PUB" \
  --member "cityfin-leasing:consumer:$LEASE_PUB" \
  --out "$WORK/genesis.json" >/dev/null

say "Starting tdsd (embedded validator, plaintext on 127.0.0.1 for this demo)"
"$TDSD" --data "$WORK/node-1" --genesis "$WORK/genesis.json" --key "$WORK/node-1.key" \
  --listen 127.0.0.1:0 --insecure-dev --ready-file "$WORK/ready" --log-level warn \
  >"$WORK/tdsd.log" 2>&1 &
TDSD_PID=$!
for _ in $(seq 300); do
  [[ -s "$WORK/ready" ]] && break
  if ! kill -0 "$TDSD_PID" 2>/dev/null; then
    echo "error: tdsd exited during startup; its log:" >&2
    cat "$WORK/tdsd.log" >&2
    exit 1
  fi
  sleep 0.1
done
if [[ ! -s "$WORK/ready" ]]; then
  echo "error: tdsd not ready after 30 s; its log:" >&2
  cat "$WORK/tdsd.log" >&2
  exit 1
fi
NODE="$(head -n1 "$WORK/ready")"
echo "  tdsd pid $TDSD_PID serving on $NODE"

# Who anchors what: the provider anchors its own offer terms and gateway log; the bank the rest.
signer_of() {
  case "$(basename "$1")" in
    data-product-terms* | gateway-audit*) echo zj-tax-data ;;
    *) echo eastbridge-bank ;;
  esac
}
doc_type_of() {
  case "$(basename "$1")" in
    *contract*) echo contract ;;
    *terms*) echo terms ;;
    *.log) echo log ;;
    *.csv) echo report ;;
    *.json) echo record ;;
    *) echo document ;;
  esac
}

say "Anchoring deploy/samples/* (SHA-256 of each document, its type and metadata)"
: >"$WORK/anchored"
for signer in eastbridge-bank zj-tax-data; do
  for type in contract terms log report record document; do
    files=()
    for f in deploy/samples/*; do
      [[ -f "$f" && "$(signer_of "$f")" == "$signer" && "$(doc_type_of "$f")" == "$type" ]] &&
        files+=("$f")
    done
    [[ ${#files[@]} -eq 0 ]] && continue
    "$TDS" --node "$NODE" --key "$WORK/$signer.key" --insecure-dev \
      anchor --type "$type" --meta source=quickstart "${files[@]}" |
      while read -r txid file; do
        echo "$txid $file $signer $type" >>"$WORK/anchored"
        printf '  %s  %-36s by %s\n' "$txid" "$(basename "$file")" "$signer"
      done
  done
done
[[ -s "$WORK/anchored" ]] || { echo "error: nothing was anchored" >&2; exit 1; }

say "Fetching receipts and verifying them offline (nothing but genesis.json)"
mkdir -p "$WORK/receipts"
: >"$WORK/summary"
failures=0
while read -r txid file signer type; do
  receipt="$WORK/receipts/$txid.json"
  "$TDS" --node "$NODE" --insecure-dev receipt "$txid" --out "$receipt" 2>/dev/null
  if line="$("$TDS" verify "$receipt" --genesis "$WORK/genesis.json" 2>&1)"; then
    index="$(sed -n 's/.* at index \([0-9]*\) .*/\1/p' <<<"$line")"
    block="$(sed -n 's/.*(block \([0-9]*\)).*/\1/p' <<<"$line")"
    verdict=OK
  else
    index="-" block="-" verdict="FAILED"
    failures=$((failures + 1))
    echo "  $(basename "$file"): $line" >&2
  fi
  echo "$(basename "$file")|$type|$signer|${txid:0:16}...|$block|$index|$verdict" >>"$WORK/summary"
done <"$WORK/anchored"

# A receipt whose checkpoint is swapped for a forged one must not verify.
first_receipt="$(ls "$WORK"/receipts/*.json | head -n1)"
sed 's/\(— node-1 \)[A-Za-z0-9+\/]\{8\}/\1AAAAAAAA/' "$first_receipt" >"$WORK/tampered.json"
if tamper_line="$("$TDS" verify "$WORK/tampered.json" --genesis "$WORK/genesis.json" 2>&1)"; then
  echo "error: a receipt with a forged checkpoint signature verified" >&2
  failures=$((failures + 1))
fi


# ---------------------------------------------------------------------------------------------
# The data space: catalog, contract, metered usage, billing, valuation, governance.
# ---------------------------------------------------------------------------------------------
# as MEMBER ARGS...: tds signing transactions and queries with MEMBER's key.
as() {
  local who="$1"
  shift
  "$TDS" --node "$NODE" --insecure-dev --key "$WORK/$who.key" "$@"
}
indent() { sed 's/^/  /'; }
# The refusal a command must produce, printed; fails the quickstart if the command succeeds.
expect_refusal() {
  local out
  if out="$("$@" 2>&1)"; then
    echo "error: expected a refusal from: $*" >&2
    failures=$((failures + 1))
  else
    echo "  refused as expected: $out"
  fi
}

say "Catalog: zj-tax-data publishes two products (deploy/samples/products/)"
as zj-tax-data product publish deploy/samples/products/zj-invoice-features.yaml | indent
as zj-tax-data product publish deploy/samples/products/national-credit-registry.yaml | indent
PRODUCTS="$(as zj-tax-data product list -o csv | tail -n +2 | wc -l)"

say "Catalog search: eastbridge-bank (on the level-5 allow list) and cityfin-leasing (not)"
echo "  eastbridge-bank: tds product search credit"
as eastbridge-bank product search credit 2>/dev/null | indent
echo "  cityfin-leasing: tds product search credit"
as cityfin-leasing product search credit 2>/dev/null | indent
SEEN_BY_BANK="$(as eastbridge-bank product search credit -o csv | tail -n +2 | wc -l)"
SEEN_BY_STRANGER="$(as cityfin-leasing product search credit -o csv | tail -n +2 | wc -l)"
expect_refusal as cityfin-leasing product show national-credit-registry

say "Negotiation: the bank requests terms, the provider counters, the bank accepts"
request_out="$(as eastbridge-bank contract request zj-invoice-features \
  --terms deploy/samples/terms/bank-request.yaml)"
echo "$request_out" | indent
CONTRACT="$(sed -n 's/^result: \(c-[0-9a-f]*\)$/\1/p' <<<"$request_out")"
[[ -n "$CONTRACT" ]] || { echo "error: no contract id in: $request_out" >&2; exit 1; }
expect_refusal as eastbridge-bank contract counter "$CONTRACT" \
  --terms deploy/samples/terms/provider-counter.yaml
as zj-tax-data contract counter "$CONTRACT" --terms deploy/samples/terms/provider-counter.yaml |
  indent
as eastbridge-bank contract accept "$CONTRACT" | indent
as eastbridge-bank contract show "$CONTRACT" | indent
CONTRACT_STATE="$(as eastbridge-bank contract list -o csv | awk -F, -v c="$CONTRACT" '$1 == c { print $6 }')"

say "Usage: the bank signs requests; the provider reserves quota (strict) and records each call"
use() {  # NAME PURPOSE ROWS_OUT COMPUTE_MS [noreserve]
  as eastbridge-bank usage request "$CONTRACT" --operation psi --purpose "$2" \
    --columns tax_id,issued_amount --out "$WORK/$1.req" | head -n 1 | indent
  if [[ "${5:-}" != noreserve ]]; then
    as zj-tax-data usage reserve --request "$WORK/$1.req" | sed -n 's/^result: /reserve: /p' | indent
  fi
  as zj-tax-data usage record --request "$WORK/$1.req" --rows-in 5000 --rows-out "$3" \
    --compute-ms "$4" | sed -n 's/^result: /record:  /p' | indent
}
use call-1 credit_risk 300 2500
use call-2 credit_risk 200 1000
echo "  a call for a purpose the contract does not allow cannot reserve quota:"
as eastbridge-bank usage request "$CONTRACT" --operation psi --purpose marketing \
  --out "$WORK/call-3.req" >/dev/null
expect_refusal as zj-tax-data usage reserve --request "$WORK/call-3.req"
echo "  ...and recorded anyway (as a rogue gateway would) it is flagged as a violation:"
use call-4 marketing 50 100 noreserve
as audit-firm usage list --contract "$CONTRACT" | indent
echo "  violations (the auditor's view):"
as audit-firm usage list --violations | indent
PERIOD="$(as eastbridge-bank usage list -o csv | awk -F, 'NR == 2 { print $3 }')"
CALLS="$(as eastbridge-bank usage list -o csv | tail -n +2 | wc -l)"
VIOLATIONS="$(as eastbridge-bank usage list --violations -o csv | tail -n +2 | wc -l)"

say "Billing statement for $PERIOD (violations are listed, not billed)"
as zj-tax-data bill --period "$PERIOD" | indent
BILL_TOTAL="$(as zj-tax-data bill --period "$PERIOD" | sed -n 's/^total: \(.*\) (.*/\1/p' | head -n 1)"

say "Valuation of zj-invoice-features (after declaring a storage cost)"
as zj-tax-data product cost zj-invoice-features --period "$PERIOD" --category storage \
  --amount 120000 --currency CNY --note "encrypted object storage" | head -n 1 | indent
as zj-tax-data value zj-invoice-features | indent
INCOME_VALUE="$(as zj-tax-data value zj-invoice-features | sed -n 's/^  income approach value: //p')"
COST_VALUE="$(as zj-tax-data value zj-invoice-features | sed -n 's/^  cost approach value: *//p')"
expect_refusal as eastbridge-bank value zj-invoice-features

say "Governance: admitting harbor-insurance (needs more than 2/3 of the 5 members)"
HARBOR_PUB="$("$TDS" keygen --out "$WORK/harbor-insurance.key")"
as zj-tax-data member propose add harbor-insurance --roles consumer --public-key "$HARBOR_PUB" \
  --name "Harbor Insurance" --reason "joins for anti-fraud data" | head -n 1 | indent
for voter in eastbridge-bank audit-firm node-1; do
  as "$voter" member vote 1 --approve | head -n 1 | indent
done
as audit-firm member proposals | indent
as audit-firm member list | indent
PROPOSAL_STATUS="$(as audit-firm member proposals -o csv | awk -F, 'NR == 2 { print $4 }')"
MEMBERS="$(as harbor-insurance member list -o csv | tail -n +2 | wc -l)"

say "Ledger status"
"$TDS" --node "$NODE" --insecure-dev ledger status | sed 's/^/  /'

say "Summary"
{
  echo "document|type|anchored by|txid|block|index|offline verify"
  cat "$WORK/summary"
} | awk -F'|' '
  { for (i = 1; i <= NF; i++) { cell[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) } n = NR; nf = NF }
  END {
    for (r = 1; r <= n; r++) {
      line = " "
      for (i = 1; i <= nf; i++) line = line sprintf(" %-" w[i] "s ", cell[r, i])
      print line
      if (r == 1) { line = " "; for (i = 1; i <= nf; i++) { s = ""; for (k = 0; k < w[i]; k++) s = s "-"; line = line " " s " " } print line }
    }
  }'
echo
echo "  forged checkpoint signature: ${tamper_line:-verified (unexpected)}"
echo "  receipts were verified with: tds verify RECEIPT --genesis genesis.json"
echo
printf '  %-34s %s\n' \
  "products published:" "$PRODUCTS (search: the bank sees $SEEN_BY_BANK, cityfin-leasing $SEEN_BY_STRANGER)" \
  "contract $CONTRACT:" "$CONTRACT_STATE after request, counter, accept" \
  "usage records:" "$CALLS ($VIOLATIONS flagged as violation)" \
  "statement $PERIOD:" "$BILL_TOTAL" \
  "valuation (income / cost approach):" "$INCOME_VALUE / $COST_VALUE" \
  "governance proposal 1:" "$PROPOSAL_STATUS; members now $MEMBERS"

say "Stopping tdsd"
kill -TERM "$TDSD_PID"
wait "$TDSD_PID" 2>/dev/null || true
TDSD_PID=""
if [[ $failures -ne 0 ]]; then
  echo "quickstart: $failures check(s) failed" >&2
  exit 1
fi
echo "quickstart: all $(wc -l <"$WORK/summary") documents anchored and verified offline; the data"
echo "space flow (publish, search, negotiate, use, bill, value, vote) completed"
