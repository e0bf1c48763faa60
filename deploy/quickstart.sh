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
#   6. the bank runs joint statistics            8. confidential SQL: the providers approve the
#      (tds run stats)                              enclave build; the bank joins both tables with
#                                                   its own in an enclave on its node (tds run
#                                                   enclave-sql), each input metered
#                                                9. the auditor lists the usage, verifies every
#                                                   receipt offline; evidence of the bank's result
#                                               10. billing statements and a valuation report
#                                               11. stop the data space
#
# Every result is checked against deploy/sample/manifest.json; a summary table ends the run.
# Exits non-zero on any failure.
#   deploy/quickstart.sh [--keep]     --keep leaves the data space running afterwards (its
#                                     web console: localnet.sh tds auditor console login)
#   BUILD_DIR (default build), JOBS (default 2), TDS_BIN_DIR (use these binaries, no build)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BUILD_DIR="${BUILD_DIR:-build}"
KEEP=0
case "${1:-}" in
  --keep) KEEP=1 ;;
  "") ;;
  -h | --help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "quickstart: unknown option $1 (--keep, --help)" >&2; exit 2 ;;
esac

WORK="$(mktemp -d "${TMPDIR:-/tmp}/tds-quickstart.XXXXXX")"
export TDS_LOCALNET_DIR="$WORK/localnet"
L="$ROOT/deploy/localnet.sh"
MANIFEST="$ROOT/deploy/sample/manifest.json"
STEPS=11
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
    echo "quickstart: the data space keeps running in $TDS_LOCALNET_DIR; open the auditor's"
    echo "web console with the link this prints (valid once, for 5 minutes):"
    echo "  TDS_LOCALNET_DIR=$TDS_LOCALNET_DIR deploy/localnet.sh tds auditor console login"
    echo "and stop it with"
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

# --- 1 --------------------------------------------------------------------------------------
step "Installing dependencies (only what is missing) and building tds, tdsd and tds-enclave"
if [[ -n "${TDS_BIN_DIR:-}" ]]; then
  echo "      using the binaries in $TDS_BIN_DIR"
else
  deploy/install-deps.sh
  export CCACHE_BASEDIR="$ROOT"
  if [[ ! -f "$BUILD_DIR/build.ninja" ]]; then
    cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  fi
  ninja -C "$BUILD_DIR" -j"${JOBS:-2}" tds tdsd tds-enclave tds_example_bank_psi | tail -n 1 | indent
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
step "Confidential SQL: the bank joins both providers' tables with its own in an enclave"
# The providers approve the enclave build the bank's node runs (tds-enclave, built with tdsd) by
# its SHA-256: a new version of each product grants enclave_sql and lists that build in
# enclave_measurements. A contract can name only a build its product lists.
[[ -n "${TDS_ENCLAVE_SHA256:-}" ]] ||
  { echo "no tds-enclave beside tdsd ($TDS_ENCLAVE_BINARY): build it" >&2; exit 1; }
echo "      tds-enclave $TDS_ENCLAVE_SHA256"
# with_enclave PRODUCT: deploy/sample/products/PRODUCT.yaml, enclave_sql added to its operations
# and its offer's, accepting the build above; prints the new file's path.
with_enclave() {
  local out="$WORK/$1.enclave.yaml"
  sed 's/^\( *operations: \[.*\)\]$/\1, enclave_sql]/' "deploy/sample/products/$1.yaml" >"$out"
  echo "enclave_measurements: [$TDS_ENCLAVE_SHA256]" >>"$out"
  [[ "$(grep -c 'enclave_sql\]$' "$out")" == 2 ]] ||
    { echo "with_enclave $1: expected two operations lists" >&2; return 1; }
  echo "$out"
}
as credit-bureau product update "$(with_enclave bureau-credit-scores)" | head -n 1 | indent
as utility product update "$(with_enclave utility-payment-history)" | head -n 1 | indent
# The contracts approve one SQL text by its digest, the enclave build, the output columns and
# k; deploy/sample/terms/*-enclave.yaml leave the build to fill in.
SQL=deploy/sample/enclave_join.sql
SQL_SHA256="$(sha256sum "$SQL" | cut -d' ' -f1)"
enclave_terms() {
  sed "s/\${ENCLAVE_SHA256}/$TDS_ENCLAVE_SHA256/" "deploy/sample/terms/$1.yaml" >"$WORK/$1.yaml"
  echo "$WORK/$1.yaml"
}
record "SQL both enclave contracts approve" "$SQL, sha256 ${SQL_SHA256:0:16}..." "$SQL_SHA256" \
  "$(sed -n 's/^  sql_sha256: //p' deploy/sample/terms/bank-{bureau,utility}-enclave.yaml |
    sort -u | tr '\n' ' ' | sed 's/ $//')"
C_BUREAU_SQL="$(as bank contract request bureau-credit-scores \
  --terms "$(enclave_terms bank-bureau-enclave)" | contract_id)"
C_UTILITY_SQL="$(as bank contract request utility-payment-history \
  --terms "$(enclave_terms bank-utility-enclave)" | contract_id)"
[[ -n "$C_BUREAU_SQL" && -n "$C_UTILITY_SQL" ]] ||
  { echo "no contract id from the bank's enclave requests" >&2; exit 1; }
as credit-bureau contract accept "$C_BUREAU_SQL" | grep '^accepted contract' | indent
as utility contract accept "$C_UTILITY_SQL" | grep '^accepted contract' | indent
record "enclave contract with the bureau" "$C_BUREAU_SQL strict" ACTIVE \
  "$(state_of "$C_BUREAU_SQL")"
record "enclave contract with the utility" "$C_UTILITY_SQL batched" ACTIVE \
  "$(state_of "$C_UTILITY_SQL")"

# The bank's OWN node hosts the sandboxed enclave; each provider checks the job against its
# contract, verifies the enclave's attestation, records the call and streams its table sealed
# to the enclave; the bank's node sees only ciphertext of them, the bank only the aggregates.
K_SQL="$(sed -n 's/^min_group_size: //p' deploy/sample/terms/bank-utility-enclave.yaml)"
ALLOW="$(manifest expected.enclave_sql.columns | tr ' ' ',')"
enclave_sql() {
  as bank run enclave-sql --sql "$1" --input "$BANK_IDS" --name bank --identifier person_id \
    --provider-input "bureau=$C_BUREAU_SQL@$TDS_NODE_CREDIT_BUREAU" \
    --provider-input "utility=$C_UTILITY_SQL@$TDS_NODE_UTILITY" --allow "$ALLOW" \
    --count-column customers --min-group-size "$K_SQL" --max-rows 10 --purpose credit_risk \
    --enclave-sha256 "$TDS_ENCLAVE_SHA256" --genesis "$GENESIS" "${@:2}"
}
enclave_sql "$SQL" -o csv >"$WORK/enclave.crlf.csv" 2>"$WORK/enclave.err" ||
  { cat "$WORK/enclave.err" >&2; exit 1; }
tr -d '\r' <"$WORK/enclave.crlf.csv" >"$WORK/enclave.csv"  # RFC 4180 line ends
RECORDS=$((RECORDS + 2))  # one per provider input, under its own contract
indent <"$WORK/enclave.err"
indent <"$WORK/enclave.csv"
record "enclave-sql: result columns" "$ALLOW" "$ALLOW" "$(head -n 1 "$WORK/enclave.csv")"
# Each band's row, exactly as generate.py computed it without SQL.
python3 -c 'import json,sys
for r in json.load(open(sys.argv[1]))["expected"]["enclave_sql"]["rows"]:
    print(",".join(map(str, r)))' "$MANIFEST" >"$WORK/enclave.expected"
while IFS= read -r want; do
  band="${want%%,*}"
  record "enclave-sql: score band $band" "$want" "$want" \
    "$(awk -F, -v b="$band" 'NR > 1 && $1 == b' "$WORK/enclave.csv")"
done <"$WORK/enclave.expected"
record "enclave-sql: result rows" "k = $K_SQL customers per band or more" \
  "$(wc -l <"$WORK/enclave.expected")" "$(($(wc -l <"$WORK/enclave.csv") - 1))"
# One usage record per provider input under that provider's contract (the utility's batched
# record commits within its delay): rows_out = the rows it released, its whole table.
for _ in $(seq 300); do
  as auditor audit usage -o csv >"$WORK/usage.csv"
  [[ "$(grep -c ',enclave_sql,' "$WORK/usage.csv")" -ge 2 ]] && break
  sleep 0.2
done
usage_of() { awk -F, -v c="$1" '$4 == c && $8 == "enclave_sql" { n++; rows = $10 }
  END { printf "%d record(s), %s rows", n, rows }' "$WORK/usage.csv"; }
# check_usage INPUT CONTRACT TABLE_FILE
check_usage() {
  record "enclave-sql: $1's usage record" "$(usage_of "$2") under $2" \
    "1 record(s), $(manifest "files.$3\.csv.rows") rows" "$(usage_of "$2")"
}
check_usage bureau "$C_BUREAU_SQL" bureau_credit_scores
check_usage utility "$C_UTILITY_SQL" utility_payments
# The contracts approved this SQL, not another: a different band cut is refused by the first
# provider, naming both digests, before anything is attested, recorded or streamed.
sed 's/<= 670/<= 600/' "$SQL" >"$WORK/other.sql"
OTHER_SHA256="$(sha256sum "$WORK/other.sql" | cut -d' ' -f1)"
expect_refusal "enclave-sql: SQL other than the approved" "the job's SQL ($OTHER_SHA256) is not" \
  enclave_sql "$WORK/other.sql"

# --- 9 --------------------------------------------------------------------------------------
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
  "$USAGE_RECORDS: one per run (the k refusal too); the refused purpose and SQL left none" \
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

# --- 10 -------------------------------------------------------------------------------------
step "Billing statements and the valuation of the bureau's product"
PERIOD="$(as auditor audit usage -o csv | awk -F, 'NR == 2 { print $3 }')"
as credit-bureau bill --period "$PERIOD" | indent
as credit-bureau bill --period "$PERIOD" -o csv >"$WORK/bill-bureau.csv"
BILL_BUREAU="$(as credit-bureau bill --period "$PERIOD" | sed -n 's/^total: \(.*\) (.*/\1/p')"
# Bureau: 5.00 CNY per call (the countered price) plus compute time. PSI is not priced per
# matched row: under strict metering the record commits before the bank can learn the
# intersection, and the bureau never learns it in consumer_only mode.
# bill_line FILE CONTRACT COMPONENT: "QUANTITY x UNIT_PRICE" of a statement's line.
bill_line() {
  awk -F, -v c="$2" -v k="$3" '$4 == c && $6 == k { print $7 " x " $8; exit }' "$1"
}
record "statement $PERIOD, bureau: calls" "$BILL_BUREAU in all" "$BUREAU_CALLS x 500" \
  "$(bill_line "$WORK/bill-bureau.csv" "$C_BUREAU" per_call)"
record "statement $PERIOD, bureau: enclave jobs" "contract $C_BUREAU_SQL" "1 x 500" \
  "$(bill_line "$WORK/bill-bureau.csv" "$C_BUREAU_SQL" per_call)"
as utility bill --period "$PERIOD" | indent
as utility bill --period "$PERIOD" -o csv >"$WORK/bill-utility.csv"
BILL_UTILITY="$(as utility bill --period "$PERIOD" | sed -n 's/^total: \(.*\) (.*/\1/p')"
record "statement $PERIOD, utility: enclave jobs" "contract $C_UTILITY_SQL" "1 x 300" \
  "$(bill_line "$WORK/bill-utility.csv" "$C_UTILITY_SQL" per_call)"
record "statement $PERIOD, utility" \
  "monthly subscription (500 PSI calls included) + 1 enclave job at 3.00" "3003.00 CNY" \
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

# --- 11 -------------------------------------------------------------------------------------
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
echo "(PSI, statistics, WOE/IV, a joint model, confidential SQL in an enclave) under metered"
echo "contracts, audited with receipts verified offline, billed and valued."
