#!/usr/bin/env bash
# Quickstart: the whole data-space scenario on a local data space (deploy/localnet.sh): five
# tdsd processes — the validator (operator), a credit bureau and a utility (providers, serving
# deploy/sample/ from a CSV file and a SQLite database), a bank and an auditor.
#
#   1. install dependencies and build            7. with its own default labels: WOE/IV of the
#   2. start the local data space                   bureau's score under secret sharing (tds run
#   3. the providers publish their products         joint-stats), a split logistic regression
#   4. the bank negotiates two contracts            (lr-train, Paillier) scoring its customers
#   5. the bank runs PSI (tds run psi, the SDK)     (lr-score), checked by its AUC
#   6. the bank runs joint statistics            8. the auditor lists the usage, verifies every
#      (tds run stats)                              receipt offline; evidence of the bank's result
#                                                9. billing statements and a valuation report
#                                               10. stop the data space
#
# Every result is checked against deploy/sample/manifest.json; a summary table ends the run.
# Exits non-zero on any failure.
#   deploy/quickstart.sh [--keep]     --keep leaves the data space running afterwards
#   BUILD_DIR (default build), JOBS (default 2), TDS_BIN_DIR (use these binaries, no build)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BUILD_DIR="${BUILD_DIR:-build}"
KEEP=0
case "${1:-}" in
  --keep) KEEP=1 ;;
  "") ;;
  -h | --help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "quickstart: unknown option $1 (--keep, --help)" >&2; exit 2 ;;
esac

WORK="$(mktemp -d "${TMPDIR:-/tmp}/tds-quickstart.XXXXXX")"
export TDS_LOCALNET_DIR="$WORK/localnet"
L="$ROOT/deploy/localnet.sh"
MANIFEST="$ROOT/deploy/sample/manifest.json"
STEPS=10
STEP=0
STEP_TITLE="starting"

step() {
  STEP=$((STEP + 1))
  STEP_TITLE="$*"
  printf '\n[%d/%d] %s\n' "$STEP" "$STEPS" "$*"
}
indent() { sed 's/^/      /'; }
# as MEMBER[@NODE] ARGS...: tds as MEMBER against its own node (or NODE's).
as() { "$L" tds "$@"; }

cleanup() {
  local rc=$?
  if [[ $rc -ne 0 ]]; then
    echo >&2
    echo "quickstart: FAILED at step $STEP/$STEPS ($STEP_TITLE)" >&2
    for log in "$TDS_LOCALNET_DIR"/nodes/*/node.log; do
      [[ -s "$log" ]] || continue
      echo "--- last lines of $log" >&2
      tail -n 5 "$log" >&2
    done
  fi
  if [[ $KEEP -eq 1 && $rc -eq 0 ]]; then
    echo "quickstart: the data space keeps running in $TDS_LOCALNET_DIR; stop it with"
    echo "  TDS_LOCALNET_DIR=$TDS_LOCALNET_DIR deploy/localnet.sh down --clean"
  else
    "$L" down --clean >/dev/null 2>&1 || true
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- checks and the summary ------------------------------------------------------------------
failures=0
: >"$WORK/summary"
# record WHAT RESULT EXPECTED ACTUAL: one summary row; a mismatch is a failure.
record() {
  local what="$1" result="$2" expected="$3" actual="$4" verdict=OK
  if [[ "$expected" != "$actual" ]]; then
    verdict="FAILED (expected $expected, got $actual)"
    failures=$((failures + 1))
    echo "      CHECK FAILED: $what: expected $expected, got $actual" >&2
  fi
  printf '%s|%s|%s\n' "$what" "$result" "$verdict" >>"$WORK/summary"
}
# expect_refusal WHAT PATTERN COMMAND...: the command must fail with PATTERN in its error.
expect_refusal() {
  local what="$1" pattern="$2" out
  shift 2
  if out="$("$@" 2>&1)"; then
    record "$what" "not refused" refused accepted
  else
    echo "      refused: $out"
    grep -qF -- "$pattern" <<<"$out" && out=refused || out="other error"
    record "$what" "refused: $pattern" refused "$out"
  fi
}
# manifest KEY.KEY...: a value of the manifest, lists space-separated ("\." is a dot in a key).
manifest() { python3 -c 'import json,re,sys; v=json.load(open(sys.argv[1]))
for k in re.split(r"(?<!\\)\.", sys.argv[2]): v=v[k.replace("\\.", ".")]
print(" ".join(map(str,v)) if isinstance(v,list) else v)' "$MANIFEST" "$1"; }
# csv_get FILE KEY_COLUMN KEY VALUE_COLUMN: the first row's VALUE_COLUMN where KEY_COLUMN == KEY.
csv_get() {
  python3 -c 'import csv,sys
for r in csv.DictReader(open(sys.argv[1])):
    if r[sys.argv[2]] == sys.argv[3]: print(r[sys.argv[4]]); break' "$@"
}

# --- 1 --------------------------------------------------------------------------------------
step "Installing dependencies (only what is missing) and building tds and tdsd"
if [[ -n "${TDS_BIN_DIR:-}" ]]; then
  echo "      using the binaries in $TDS_BIN_DIR"
else
  deploy/install-deps.sh
  export CCACHE_BASEDIR="$ROOT"
  if [[ ! -f "$BUILD_DIR/build.ninja" ]]; then
    cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  fi
  ninja -C "$BUILD_DIR" -j"${JOBS:-2}" tds tdsd tds_example_bank_psi | tail -n 1 | indent
  export TDS_BIN_DIR="$ROOT/$BUILD_DIR/bin"
fi
TDS="$TDS_BIN_DIR/tds"

# --- 2 --------------------------------------------------------------------------------------
step "Starting the local data space: operator (validator), credit-bureau, utility, bank, auditor"
"$L" up --no-build | indent
# shellcheck disable=SC1091
source "$TDS_LOCALNET_DIR/addresses.env"
SAMPLE="$TDS_LOCALNET_DIR/sample"
GENESIS="$TDS_GENESIS"
record "nodes serving" "5 tdsd processes, $TDS_TRANSPORT transport" 5 \
  "$("$L" status | grep -c ' serving$' || true)"

# --- 3 --------------------------------------------------------------------------------------
step "The providers publish their products; the bank searches the catalog"
as credit-bureau product publish deploy/sample/products/bureau-credit-scores.yaml | head -n 1 | indent
as utility product publish deploy/sample/products/utility-payment-history.yaml | head -n 1 | indent
as bank product search credit --max-level 3 2>&1 | indent
FOUND="$(as bank product search credit --max-level 3 -o csv | tail -n +2 | wc -l)"
record "catalog" "bureau-credit-scores (CSV), utility-payment-history (SQLite), level 3" 2 "$FOUND"
as credit-bureau node status | grep -E '^(role|sources|replication):' | indent

# --- 4 --------------------------------------------------------------------------------------
step "The bank negotiates: bureau (request, counter, accept; strict), utility (batched)"
contract_id() { sed -n 's/^result: \(c-[0-9a-f]*\)$/\1/p'; }
C_BUREAU="$(as bank contract request bureau-credit-scores \
  --terms deploy/sample/terms/bank-bureau-request.yaml | contract_id)"
[[ -n "$C_BUREAU" ]] || { echo "no contract id from the bank's request" >&2; exit 1; }
echo "      bank requests $C_BUREAU (5.00 CNY/call asked at 4.00)"
as credit-bureau contract counter "$C_BUREAU" --terms deploy/sample/terms/bureau-counter.yaml |
  head -n 1 | indent
as bank contract accept "$C_BUREAU" | grep '^accepted contract' | indent
C_UTILITY="$(as bank contract request utility-payment-history \
  --terms deploy/sample/terms/bank-utility-request.yaml | contract_id)"
[[ -n "$C_UTILITY" ]] || { echo "no contract id from the bank's utility request" >&2; exit 1; }
as utility contract accept "$C_UTILITY" | grep '^accepted contract' | indent
as bank contract list | indent
state_of() { as auditor contract list -o csv | awk -F, -v c="$1" '$1 == c { print $6 }'; }
record "contract with the bureau" "$C_BUREAU strict, after a counter" ACTIVE "$(state_of "$C_BUREAU")"
record "contract with the utility" "$C_UTILITY batched" ACTIVE "$(state_of "$C_UTILITY")"

# --- 5 --------------------------------------------------------------------------------------
step "The bank runs PSI through the providers' metered gateways (tds run psi, C++ SDK)"
BANK_IDS="$SAMPLE/bank_customers.csv"
RECORDS=0       # usage records the runs below leave on the ledger
BUREAU_CALLS=0  # of which billed by the bureau
psi_out="$(as bank@credit-bureau run psi --contract "$C_BUREAU" --input "$BANK_IDS" \
  --column person_id --out "$WORK/matched-bureau.csv" --genesis "$GENESIS" 2>/dev/null)"
echo "      bureau:  $psi_out"
MATCHED="$(sed -n 's/^matched \([0-9]*\) of.*/\1/p' <<<"$psi_out")"
RECORDS=$((RECORDS + 1)) BUREAU_CALLS=$((BUREAU_CALLS + 1))
record "PSI bank x bureau (CSV, strict)" "$MATCHED of 400 ids; receipt verified locally" \
  "$(manifest expected.bank_x_bureau)" "$MATCHED"
record "PSI matched rows written" "matched-bureau.csv" "$(manifest expected.bank_x_bureau)" \
  "$(($(wc -l <"$WORK/matched-bureau.csv") - 1))"
psi_out="$(as bank@utility run psi --contract "$C_UTILITY" --input "$BANK_IDS" \
  --column person_id --purpose anti_fraud 2>/dev/null)"
echo "      utility: $psi_out"
MATCHED_U="$(sed -n 's/^matched \([0-9]*\) of.*/\1/p' <<<"$psi_out")"
RECORDS=$((RECORDS + 1))
record "PSI bank x utility (SQLite, batched)" "$MATCHED_U of 400 ids" \
  "$(manifest expected.bank_x_utility)" "$MATCHED_U"
if [[ -x "$TDS_BIN_DIR/tds_example_bank_psi" ]]; then
  mapfile -t bank_tls < <(if [[ "$TDS_TRANSPORT" == tls ]]; then
    printf '%s\n' --tls-cert "$TDS_LOCALNET_DIR/tls/bank.crt" \
      --tls-key "$TDS_LOCALNET_DIR/tls/bank.key" --tls-ca "$TDS_LOCALNET_DIR/tls/ca/ca.crt"
  else echo --insecure-dev; fi)
  echo "      the bank's own program (sdk/examples/bank_psi.cc):"
  "$TDS_BIN_DIR/tds_example_bank_psi" --node "$TDS_NODE_CREDIT_BUREAU" --key "$TDS_KEY_BANK" \
    "${bank_tls[@]}" --product bureau-credit-scores --ids "$BANK_IDS" --genesis "$GENESIS" \
    >"$WORK/sdk.out" 2>&1 || { cat "$WORK/sdk.out" >&2; exit 1; }
  indent <"$WORK/sdk.out" | sed 's/^      /        /'
  SDK_MATCHED="$(grep -o '[0-9]* of 400' "$WORK/sdk.out" | head -n 1 | cut -d' ' -f1)"
  RECORDS=$((RECORDS + 1)) BUREAU_CALLS=$((BUREAU_CALLS + 1))
  record "PSI through the C++ SDK example" "$SDK_MATCHED of 400 ids" \
    "$(manifest expected.bank_x_bureau)" "$SDK_MATCHED"
fi
echo "      a purpose the contract does not grant:"
expect_refusal "PSI for an ungranted purpose" "'anti_fraud' is not permitted by contract" \
  as bank@credit-bureau run psi --contract "$C_BUREAU" --input "$BANK_IDS" --column person_id \
  --purpose anti_fraud

# --- 6 --------------------------------------------------------------------------------------
step "The bank runs joint statistics over its customers known to the bureau (tds run stats)"
BOUNDS="$(manifest expected.bureau_stats.credit_score_histogram_bounds | tr ' ' ',')"
as bank@credit-bureau run stats --contract "$C_BUREAU" --input "$BANK_IDS" --column person_id \
  --stat credit_score:count --stat credit_score:mean --stat credit_score:sum \
  --stat default_flag_12m:sum --stat "credit_score:histogram:$BOUNDS" \
  --genesis "$GENESIS" -o csv >"$WORK/stats.csv" 2>"$WORK/stats.err" ||
  { cat "$WORK/stats.err" >&2; exit 1; }
grep -v '^stats: ' "$WORK/stats.err" | indent
RECORDS=$((RECORDS + 1)) BUREAU_CALLS=$((BUREAU_CALLS + 1))
indent <"$WORK/stats.csv"
stat_of() { python3 -c 'import csv,sys
for r in csv.DictReader(open(sys.argv[1])):
    if r["column"] == sys.argv[2] and r["kind"] == sys.argv[3]: print(r[sys.argv[4]]); break' \
  "$WORK/stats.csv" "$@"; }
MEAN="$(stat_of credit_score mean value)"
record "mean credit score of matched customers" "$MEAN over $(stat_of credit_score count value) people" \
  "$(manifest expected.bureau_stats.credit_score_mean)" "$MEAN"
record "sum of credit scores" "$(stat_of credit_score sum value)" \
  "$(manifest expected.bureau_stats.credit_score_sum)" "$(stat_of credit_score sum value)"
record "defaults in 12 months among them" "$(stat_of default_flag_12m sum value)" \
  "$(manifest expected.bureau_stats.default_flag_12m_sum)" "$(stat_of default_flag_12m sum value)"
HIST="$(stat_of credit_score histogram buckets)"
record "credit score histogram (<=580 <=670 <=740 >740)" "$HIST" \
  "$(manifest expected.bureau_stats.credit_score_histogram)" \
  "$(sed 's/[^ ]*://g' <<<"$HIST")"  # "<=580:25 ..." -> "25 ..."

# --- 7 --------------------------------------------------------------------------------------
step "With its own labels: WOE/IV (tds run joint-stats), a joint model (lr-train, lr-score)"
# Secret-shared statistics: the bureau sees neither the bank's labels nor which rows they mark,
# the bank no score; the bureau enforces min_group_size on every bucket it reports.
LABEL="$(manifest expected.joint_stats.label)"
Q="$(manifest expected.joint_stats.credit_score_woe_quantiles)"
as bank@credit-bureau run joint-stats --contract "$C_BUREAU" --input "$BANK_IDS" \
  --column person_id --label "$LABEL" --stat count --stat credit_score:mean \
  --stat "credit_score:woe_iv:q$Q" --genesis "$GENESIS" -o csv >"$WORK/joint.csv" \
  2>"$WORK/joint.err" || { cat "$WORK/joint.err" >&2; exit 1; }
indent <"$WORK/joint.err"
RECORDS=$((RECORDS + 1)) BUREAU_CALLS=$((BUREAU_CALLS + 1))
indent <"$WORK/joint.csv"
joint_of() { python3 -c 'import csv,sys
for r in csv.DictReader(open(sys.argv[1])):
    if r["kind"] == sys.argv[2] and r["column"] == sys.argv[3]: print(r[sys.argv[4]]); break' \
  "$WORK/joint.csv" "$@"; }
JCOUNT="$(joint_of count "" value)"
record "joint-stats: customers at the bureau" "$JCOUNT of 400, by secret sharing" \
  "$(manifest expected.joint_stats.count)" "$JCOUNT"
# The mean is fixed point (16 fractional bits, compute/mpc/README.md): equal to 4 decimals.
JMEAN="$(joint_of mean credit_score value)"
record "joint-stats: mean credit score" "$JMEAN" \
  "$(manifest expected.joint_stats.credit_score_mean | xargs printf '%.4f')" \
  "$(printf '%.4f' "${JMEAN:-nan}")"
record "joint-stats: rows per score quintile" "$(joint_of woe_iv credit_score buckets)" \
  "$(manifest expected.joint_stats.credit_score_woe_rows)" "$(joint_of woe_iv credit_score buckets)"
record "joint-stats: $LABEL per score quintile" "$(joint_of woe_iv credit_score events)" \
  "$(manifest expected.joint_stats.credit_score_woe_events)" \
  "$(joint_of woe_iv credit_score events)"
IV="$(joint_of woe_iv credit_score iv)"
record "joint-stats: information value of credit_score" "IV $IV against $LABEL" \
  "$(manifest expected.joint_stats.credit_score_iv)" "$(printf '%.4f' "${IV:-nan}" 2>/dev/null)"
# Buckets of about 5 customers: below the contract's min_group_size, so the bureau refuses to
# release them. The run is metered all the same (its record commits when PSI aligns the rows).
K="$(sed -n 's/^min_group_size: //p' deploy/sample/terms/bureau-counter.yaml)"
expect_refusal "joint-stats: buckets smaller than k = $K" "the contract requires at least $K" \
  as bank@credit-bureau run joint-stats --contract "$C_BUREAU" --input "$BANK_IDS" \
  --column person_id --label "$LABEL" --stat credit_score:woe_iv:q40
RECORDS=$((RECORDS + 1)) BUREAU_CALLS=$((BUREAU_CALLS + 1))

# Vertical logistic regression (Paillier, each side its own key): the bank trains on its
# features and labels, the bureau on its columns; each keeps its half of the model. On the
# sample's 200 aligned rows an epoch takes well under a second (2048-bit keys on both sides).
EPOCHS=3
FEATURES="$(manifest expected.lr.features | tr ' ' ',')"
PROVIDER_COLUMNS="$(manifest expected.lr.provider_columns | tr ' ' ',')"
train_start=$SECONDS
as bank@credit-bureau run lr-train --contract "$C_BUREAU" --input "$BANK_IDS" \
  --column person_id --label "$LABEL" --features "$FEATURES" \
  --provider-columns "$PROVIDER_COLUMNS" --epochs "$EPOCHS" --batch 32 \
  --out "$WORK/model.json" --genesis "$GENESIS" >"$WORK/train.out" 2>"$WORK/train.err" ||
  { cat "$WORK/train.err" "$WORK/train.out" >&2; exit 1; }
TRAIN_S=$((SECONDS - train_start))
RECORDS=$((RECORDS + 1)) BUREAU_CALLS=$((BUREAU_CALLS + 1))
indent <"$WORK/train.out"
TRAINED="$(sed -n 's/.* on \([0-9]*\) of [0-9]* ids.*/\1/p' "$WORK/train.out")"
record "lr-train: $FEATURES + bureau's $PROVIDER_COLUMNS" \
  "on $TRAINED aligned rows, $EPOCHS epochs, 2048-bit keys, ${TRAIN_S} s" \
  "$(manifest expected.bank_x_bureau)" "$TRAINED"
as bank@credit-bureau run lr-score --model "$WORK/model.json" --input "$BANK_IDS" \
  --column person_id --genesis "$GENESIS" -o csv >"$WORK/scores.csv" 2>"$WORK/score.err" ||
  { cat "$WORK/score.err" >&2; exit 1; }
indent <"$WORK/score.err"
RECORDS=$((RECORDS + 1)) BUREAU_CALLS=$((BUREAU_CALLS + 1))
SCORED="$(($(wc -l <"$WORK/scores.csv") - 1))"
record "lr-score: the bank's customers" "$SCORED of 400 scored (the bureau's customers)" \
  "$(manifest expected.bank_x_bureau)" "$SCORED"
# Metered per customer asked, found at the bureau or not: the record's rows_out.
METERED="$(sed -n 's/.*(\([0-9]*\) metered).*/\1/p' "$WORK/score.err")"
record "lr-score: customers metered" "$METERED in the usage record" \
  "$(manifest 'files.bank_customers\.csv.rows')" "$METERED"
# AUC of the joint scores against the bank's label (Mann-Whitney, ties count half; nan without
# both classes). The manifest's floor lies halfway between plaintext models on the bank's
# features alone and on bank + bureau features: a model that did not use the bureau's columns
# falls short of it.
AUC="$(python3 -c 'import csv,sys
label = {r["person_id"]: int(r[sys.argv[3]]) for r in csv.DictReader(open(sys.argv[1]))}
s = [(float(r["score"]), label[r["id"]]) for r in csv.DictReader(open(sys.argv[2]))]
pos = [x for x, y in s if y]
neg = [x for x, y in s if not y]
u = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
print("%.3f" % (u / (len(pos) * len(neg))) if pos and neg else "nan")' \
  "$BANK_IDS" "$WORK/scores.csv" "$LABEL")"
AUC_MIN="$(manifest expected.lr.auc_min)"
record "lr-score: AUC against $LABEL" \
  "$AUC (bank-only plaintext $(manifest expected.lr.auc_bank_only), joint plaintext $(manifest \
    expected.lr.auc_joint))" "AUC >= $AUC_MIN" \
  "AUC $(python3 -c 'import sys; print(">=" if float(sys.argv[1]) >= float(sys.argv[2]) else "<")' \
    "$AUC" "$AUC_MIN") $AUC_MIN"

# --- 8 --------------------------------------------------------------------------------------
step "The auditor lists the usage and verifies every receipt offline; evidence of the result"
# The utility's batched record commits shortly after its run: wait for every record.
for _ in $(seq 100); do
  n="$(as auditor audit usage -o csv | tail -n +2 | wc -l)"
  [[ "$n" -ge "$RECORDS" ]] && break
  sleep 0.2
done
as auditor audit usage --receipts-dir "$WORK/receipts" 2>/dev/null | indent
USAGE_RECORDS="$(as auditor audit usage -o csv | tail -n +2 | wc -l)"
record "usage records on the ledger" \
  "$USAGE_RECORDS: one per run (the k refusal too); the refused purpose left none" \
  "$RECORDS" "$USAGE_RECORDS"
VIOLATIONS="$(as auditor audit violations -o csv | tail -n +2 | wc -l)"
record "violations flagged" "none: every run kept to its contract" 0 "$VIOLATIONS"
# Evidence (存证): the bank anchors the file of matched customers it will decide on.
anchor_out="$(as bank anchor --type report --meta "contract=$C_BUREAU" "$WORK/matched-bureau.csv")"
ANCHOR_TXID="$(awk '{ print $1 }' <<<"$anchor_out")"
as auditor audit receipt "$ANCHOR_TXID" --genesis "$GENESIS" \
  --out "$WORK/receipts/$ANCHOR_TXID.json" 2>&1 | indent
verified=0
total=0
for receipt in "$WORK"/receipts/*.json; do
  total=$((total + 1))
  if line="$("$TDS" verify "$receipt" --genesis "$GENESIS" 2>&1)"; then
    verified=$((verified + 1))
    echo "      $(basename "$receipt" .json | cut -c1-16)...  $line"
  else
    echo "      $(basename "$receipt"): $line" >&2
  fi
done
record "receipts verified offline (genesis only)" \
  "$verified of $total ($RECORDS usage records + 1 evidence)" "$((RECORDS + 1))" "$verified"
# A receipt whose checkpoint signature is forged must not verify.
receipts=("$WORK"/receipts/*.json)
sed 's/\(— operator \)[A-Za-z0-9+\/]\{8\}/\1AAAAAAAA/' "${receipts[0]}" >"$WORK/forged.json"
if "$TDS" verify "$WORK/forged.json" --genesis "$GENESIS" >/dev/null 2>&1; then
  record "forged checkpoint signature" "verified" FAILED verified
else
  record "forged checkpoint signature" "$("$TDS" verify "$WORK/forged.json" --genesis "$GENESIS" 2>&1 |
    head -n 1 | sed 's/;.*//')" refused refused
fi

# --- 9 --------------------------------------------------------------------------------------
step "Billing statements and the valuation of the bureau's product"
PERIOD="$(as auditor audit usage -o csv | awk -F, 'NR == 2 { print $3 }')"
as credit-bureau bill --period "$PERIOD" | indent
as credit-bureau bill --period "$PERIOD" -o csv >"$WORK/bill-bureau.csv"
BILL_BUREAU="$(as credit-bureau bill --period "$PERIOD" | sed -n 's/^total: \(.*\) (.*/\1/p')"
# Bureau: 5.00 CNY per call (the countered price) plus compute time. PSI is not priced per
# matched row: under strict metering the record commits before the bank can learn the
# intersection, and the bureau never learns it in consumer_only mode.
record "statement $PERIOD, bureau: calls" "$BILL_BUREAU in all" "$BUREAU_CALLS x 500" \
  "$(csv_get "$WORK/bill-bureau.csv" component per_call quantity) x $(csv_get \
    "$WORK/bill-bureau.csv" component per_call unit_price)"
as utility bill --period "$PERIOD" | indent
BILL_UTILITY="$(as utility bill --period "$PERIOD" | sed -n 's/^total: \(.*\) (.*/\1/p')"
record "statement $PERIOD, utility" "monthly subscription, 500 calls included" "3000.00 CNY" \
  "$BILL_UTILITY"
as credit-bureau product cost bureau-credit-scores --period "$PERIOD" --category storage \
  --amount 50000 --currency CNY --note "encrypted storage and scoring pipeline" | head -n 1 | indent
as credit-bureau value bureau-credit-scores >"$WORK/value.txt"
sed -n '1p; /^ *figures:/,/^ *declared costs:/p' "$WORK/value.txt" | sed '$d' | indent
echo "      (the full report lists every input and method line: tds value PRODUCT)"
INCOME_VALUE="$(sed -n 's/^  income approach value: //p' "$WORK/value.txt")"
COST_VALUE="$(sed -n 's/^  cost approach value: *//p' "$WORK/value.txt")"
record "valuation of bureau-credit-scores" "income $INCOME_VALUE / cost $COST_VALUE" yes \
  "$([[ -n "$INCOME_VALUE" && -n "$COST_VALUE" ]] && echo yes)"
expect_refusal "the bank reads the bureau's valuation" \
  "may not read the valuation of product 'bureau-credit-scores'" \
  as bank value bureau-credit-scores

# --- 10 -------------------------------------------------------------------------------------
step "Stopping the data space"
"$L" status | indent
if [[ $KEEP -eq 0 ]]; then
  "$L" down --clean | indent
fi

echo
echo "Summary"
{
  echo "check|result|verdict"
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
if [[ $failures -ne 0 ]]; then
  STEP_TITLE="the summary: $failures check(s) failed"
  echo "quickstart: $failures check(s) FAILED" >&2
  exit 1
fi
echo "quickstart: all $(wc -l <"$WORK/summary") checks passed — published, negotiated, computed"
echo "(PSI, statistics, WOE/IV, a joint model) under metered contracts, audited with receipts"
echo "verified offline, billed and valued."
