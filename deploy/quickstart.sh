#!/usr/bin/env bash
# Quickstart: builds TDS, starts an embedded single-validator node in a temporary directory,
# anchors the sample documents in deploy/samples/, fetches each receipt, verifies every receipt
# offline against the genesis file, prints a summary and stops the node.
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
printf '  %-16s %-10s %s\n' node-1 validator "$NODE_PUB" eastbridge-bank consumer "$BANK_PUB" \
  zj-tax-data provider "$PROV_PUB"

say "Writing the genesis file (the data space's root of trust)"
"$TDS" genesis --origin quickstart.tds.example \
  --member "node-1:validator:$NODE_PUB" \
  --member "eastbridge-bank:consumer:$BANK_PUB" \
  --member "zj-tax-data:provider:$PROV_PUB" \
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

say "Stopping tdsd"
kill -TERM "$TDSD_PID"
wait "$TDSD_PID" 2>/dev/null || true
TDSD_PID=""
if [[ $failures -ne 0 ]]; then
  echo "quickstart: $failures check(s) failed" >&2
  exit 1
fi
echo "quickstart: all $(wc -l <"$WORK/summary") documents anchored and verified offline"
