#!/usr/bin/env bash
# BFT consensus among four validators on a local data space (deploy/localnet.sh up --validators
# 4 --fault-injection), under a steady load of anchors submitted to every validator:
#   (a) a crashed (kill -9) validator that is not the leader: the others keep committing; once
#       restarted it catches up and agrees with them on the state digest;
#   (b) the crashed leader: the others replace it and keep committing; it catches up too;
#   (c) one validator cut off from the others (tds node fault --isolate): the rest commit;
#   (d) a second one cut off: no quorum (3 of 4), so nothing commits anywhere;
#   (e) both healed: commits resume, and once the load stops every validator (and follower)
#       reaches the same height with the same state digest and last block.
# Checks behaviours only: the deadlines are generous waits, not performance bounds.
#   tests/bft_localnet_test.sh [BUILD_DIR]   (or BUILD_DIR=...; binaries in BUILD_DIR/bin)
#   TDS_BFT_KEEP=1 keeps the state directory (node configs and logs; nodes stopped).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${1:-${BUILD_DIR:-}}"
[[ -n "$BUILD" ]] || { echo "usage: bft_localnet_test.sh BUILD_DIR (or set BUILD_DIR)" >&2; exit 2; }
BUILD="$(cd "$BUILD" && pwd)"
export TDS_BIN_DIR="$BUILD/bin"
[[ -x "$TDS_BIN_DIR/tds" && -x "$TDS_BIN_DIR/tdsd" ]] || {
  echo "bft_localnet_test: no tds/tdsd in $TDS_BIN_DIR" >&2
  exit 2
}
WORK="$(mktemp -d "${TMPDIR:-/tmp}/bft-localnet-test.XXXXXX")"
export TDS_LOCALNET_DIR="$WORK/state"
L="$ROOT/deploy/localnet.sh"
VALIDATORS=(operator validator-2 validator-3 validator-4)
DEADLINE_S=60  # a generous wait for anything that should happen, never a performance bound
QUIET_S=5      # how long nothing may commit without a quorum

LOAD_PIDS=()
stop_load() {
  touch "$WORK/load/stop" 2>/dev/null || true
  local pid
  for pid in "${LOAD_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  LOAD_PIDS=()
}

cleanup() {
  local rc=$?
  stop_load
  if ((rc != 0)); then
    local m
    for m in "${VALIDATORS[@]}"; do
      echo "--- last lines of $m's node.log" >&2
      tail -n 15 "$TDS_LOCALNET_DIR/nodes/$m/node.log" >&2 2>/dev/null || true
    done
  fi
  "$L" down >/dev/null 2>&1 || true
  if [[ "${TDS_BFT_KEEP:-0}" == 1 ]]; then
    echo "bft_localnet_test: kept $WORK" >&2
  else
    "$L" down --clean >/dev/null 2>&1 || true
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
step() { printf '\n== %s\n' "$*"; }
ok() { echo "   ok: $*"; }

# "HEIGHT STATE_DIGEST LAST_BLOCK_HASH" of MEMBER's node, or nothing if it does not answer.
ledger_of() {
  "$L" tds "$1" --timeout-ms 3000 ledger status 2>/dev/null | awk '
    $1 == "height:" { h = $2 } $1 == "state" { d = $3 } $1 == "last" && $2 == "block" && $3 == "hash:" { b = $4 }
    END { if (h != "") print h, d, b }' || true
}
# MEMBER's tdsd runs (a zombie or a reused pid does not count).
node_alive() {
  local pid
  pid="$(cat "$TDS_LOCALNET_DIR/nodes/$1/pid" 2>/dev/null)" || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "/nodes/$1/"
}
# Fails if MEMBER's tdsd is gone when it should run: a crash, reported with its log's end.
check_alive() {
  node_alive "$1" && return 0
  echo "--- the end of $1's node.log" >&2
  tail -n 5 "$TDS_LOCALNET_DIR/nodes/$1/node.log" >&2 || true
  fail "$1's tdsd exited"
}
height_of() {
  local s
  s="$(ledger_of "$1")"
  echo "${s%% *}"
}
# The current leader as validator MEMBER sees it (its consensus view's leader).
leader_seen_by() {
  "$L" tds "$1" --timeout-ms 3000 node status -o json 2>/dev/null |
    python3 -c 'import json, sys; print(json.load(sys.stdin).get("consensus", {}).get("leader", ""))' \
      2>/dev/null || true
}
# The leader most running validators name (one that restarted may not know the view yet).
current_leader() {
  local m
  for m in "${VALIDATORS[@]}"; do leader_seen_by "$m"; done | grep . | sort | uniq -c |
    sort -rn | awk 'NR == 1 { print $2 }'
}
without() {  # without X LIST...: LIST minus X
  local x="$1" m
  shift
  for m in "$@"; do [[ "$m" == "$x" ]] || echo "$m"; done
}
heights() {  # "m=h ..." for display
  local m out=""
  for m in "$@"; do out+="$m=$(height_of "$m") "; done
  echo "${out% }"
}

# wait_growth DELTA MEMBER...: every MEMBER's height grows by DELTA blocks (within the deadline).
wait_growth() {
  local delta="$1" m h start
  shift
  declare -A base=()
  for m in "$@"; do
    h="$(height_of "$m")"
    [[ -n "$h" ]] || fail "$m does not answer ledger status"
    base[$m]="$h"
  done
  start=$SECONDS
  for m in "$@"; do
    while :; do
      h="$(height_of "$m")"
      [[ -n "$h" ]] && ((h >= ${base[$m]} + delta)) && break
      check_alive "$m"
      ((SECONDS - start < DEADLINE_S)) ||
        fail "$m's height stays at ${h:-?} (was ${base[$m]}; expected +$delta within ${DEADLINE_S} s)"
      sleep 0.2
    done
  done
  local shown=""
  for m in "$@"; do shown+="$m ${base[$m]}->$(height_of "$m"), "; done
  ok "commits continue: ${shown%, }"
}

# wait_caught_up MEMBER OTHER...: MEMBER's height reaches what the others had when the wait
# began, and then, sampled together with an OTHER at the same height (the load keeps running),
# MEMBER has the same state digest and last block hash. Equal heights with different digests
# fail at once: that would be a fork.
wait_caught_up() {
  local m="$1" target=0 h s o start other mine d b
  shift
  for other in "$@"; do
    h="$(height_of "$other")"
    [[ -n "$h" ]] && ((h > target)) && target=$h
  done
  start=$SECONDS
  while :; do
    h="$(height_of "$m")"
    [[ -n "$h" ]] && ((h >= target)) && break
    check_alive "$m"
    ((SECONDS - start < DEADLINE_S)) ||
      fail "$m's height ${h:-?} does not reach the others' $target within ${DEADLINE_S} s"
    sleep 0.2
  done
  ok "$m reached height $h (the others were at $target)"
  while :; do
    for other in "$@"; do
      # Both at once, so that the load rarely moves one between the two answers.
      ledger_of "$m" >"$WORK/mine" &
      mine=$!
      ledger_of "$other" >"$WORK/theirs"
      wait "$mine"
      s="$(<"$WORK/mine")" o="$(<"$WORK/theirs")"
      [[ -n "$s" && -n "$o" && "${s%% *}" == "${o%% *}" ]] || continue
      [[ "$s" == "$o" ]] || fail "fork at height ${s%% *}: $m has ($s), $other has ($o)"
      read -r h d b <<<"$s"
      ok "$m and $other agree at height $h: state digest $d, last block $b"
      return 0
    done
    ((SECONDS - start < DEADLINE_S)) ||
      fail "$m never sampled at the same height as ${*} within ${DEADLINE_S} s"
    sleep 0.1
  done
}

# Isolation on MEMBER's own node: it drops all consensus traffic to and from the others.
isolate() {
  local m="$1" others
  others="$(without "$m" "${VALIDATORS[@]}" | paste -sd, -)"
  "$L" tds "$m" node fault --isolate "$others" >"$WORK/fault.out" 2>&1 ||
    fail "tds node fault --isolate $others on $m: $(cat "$WORK/fault.out")"
  [[ "$(cat "$WORK/fault.out")" == "isolated: ${others//,/, }" ]] ||
    fail "isolate on $m answered: $(cat "$WORK/fault.out")"
  ok "$m isolated from $others"
}

# --- the data space and its load -------------------------------------------------------------
step "up --validators 4 --fault-injection"
"$L" up --no-build --validators 4 --fault-injection --rows 40 >"$WORK/up.log" 2>&1 || {
  cat "$WORK/up.log" >&2
  fail "up"
}
grep -E ' (validator|follower) ' "$WORK/up.log" | sed 's/^/   /'
for m in "${VALIDATORS[@]}"; do
  grep -qE "^$m +validator +validator .* serving$" "$WORK/up.log" || fail "$m is not a serving validator"
done
[[ "$(grep -cE ' follower .* serving$' "$WORK/up.log")" == 4 ]] || fail "four followers should serve"

# Refusals: fault injection is the node's own member's, and --validators is fixed at the first up.
if out="$("$L" tds bank@validator-2 node fault --isolate operator 2>&1)"; then
  fail "another member's fault injection was accepted: $out"
fi
ok "validator-2 refuses fault injection from the bank: $out"
if out="$("$L" tds validator-2 node fault --isolate validator-2 2>&1)"; then
  fail "a validator isolated itself: $out"
fi
ok "validator-2 refuses to isolate itself: $out"
if out="$("$L" up --no-build --validators 3 2>&1)"; then fail "up --validators 3 accepted: $out"; fi
grep -qF "has 4 validator(s)" <<<"$out" || fail "up --validators 3: $out"
ok "a second up refuses another validator count"

# One sequential submitter per validator (anchors as the bank, each document new): the load
# goes on while any validator is down, and one cut off simply times out.
mkdir -p "$WORK/load"
load_loop() {
  local v="$1" i=0
  while [[ ! -e "$WORK/load/stop" ]]; do
    i=$((i + 1))
    echo >>"$WORK/load/$v.attempts"
    echo "$v $i $RANDOM$RANDOM" >"$WORK/load/$v.doc"
    if "$L" tds "bank@$v" --timeout-ms 4000 anchor "$WORK/load/$v.doc" >/dev/null 2>&1; then
      echo >>"$WORK/load/$v.ok"
    else
      sleep 0.3
    fi
  done
}
submitted() { cat "$WORK"/load/*.attempts 2>/dev/null | wc -l; }
accepted() { cat "$WORK"/load/*.ok 2>/dev/null | wc -l; }
for v in "${VALIDATORS[@]}"; do
  load_loop "$v" &
  LOAD_PIDS+=($!)
done
step "load: anchors submitted to every validator"
wait_growth 5 "${VALIDATORS[@]}"

# --- (a) a validator that is not the leader crashes and comes back ----------------------------
step "(a) kill -9 a validator that is neither the operator nor the leader"
leader="$(current_leader)"
[[ -n "$leader" ]] || fail "no validator names a leader"
victim=""
for v in validator-2 validator-3 validator-4; do
  [[ "$v" == "$leader" ]] || { victim="$v"; break; }
done
echo "   leader: $leader; killing $victim"
"$L" kill "$victim" | sed 's/^/   /'
mapfile -t rest < <(without "$victim" "${VALIDATORS[@]}")
wait_growth 3 "${rest[@]}"
"$L" start "$victim" | sed 's/^/   /'
wait_caught_up "$victim" "${rest[@]}"
wait_growth 2 "$victim"

# --- (b) the leader crashes -------------------------------------------------------------------
step "(b) kill -9 the current leader"
leader="$(current_leader)"
[[ -n "$leader" ]] || fail "no validator names a leader"
echo "   leader: $leader; killing it"
"$L" kill "$leader" | sed 's/^/   /'
mapfile -t rest < <(without "$leader" "${VALIDATORS[@]}")
wait_growth 3 "${rest[@]}"
new_leader="$(leader_seen_by "${rest[0]}")"
[[ -n "$new_leader" && "$new_leader" != "$leader" ]] ||
  fail "${rest[0]} still names '$new_leader' as the leader after commits resumed"
ok "${rest[0]} now names $new_leader as the leader"
"$L" start "$leader" | sed 's/^/   /'
wait_caught_up "$leader" "${rest[@]}"
wait_growth 2 "$leader"

# --- (c) one validator cut off --------------------------------------------------------------
step "(c) isolate one validator from the other three"
first="$(current_leader)"  # the leader: the others must replace it to go on
[[ -n "$first" ]] || fail "no validator names a leader"
echo "   isolating the leader, $first"
isolate "$first"
mapfile -t rest < <(without "$first" "${VALIDATORS[@]}")
wait_growth 3 "${rest[@]}"

# --- (d) a second one cut off: no quorum ------------------------------------------------------
step "(d) isolate a second validator: two of four cannot commit"
second="${rest[0]}"
isolate "$second"
sleep 2  # a block certified just before the cut may still commit
before="$(heights "${VALIDATORS[@]}")"
subs_before="$(submitted)"
echo "   heights: $before; holding for ${QUIET_S} s under load"
sleep "$QUIET_S"
after="$(heights "${VALIDATORS[@]}")"
subs_after="$(submitted)"
[[ "$before" == "$after" ]] || fail "commits without a quorum: $before -> $after"
((subs_after > subs_before)) || fail "the load submitted nothing while the quorum was gone"
ok "no height moved ($after) while $((subs_after - subs_before)) submissions were made"

# --- (e) heal: commits resume, and everyone converges ----------------------------------------
step "(e) heal both: commits resume"
"$L" tds "$first" node fault --heal >/dev/null || fail "heal on $first"
"$L" tds "$second" node fault --heal >/dev/null || fail "heal on $second"
ok "healed $first and $second"
wait_growth 2 "${VALIDATORS[@]}"

step "stop the load: every validator and follower reaches the same height and state"
stop_load
echo "   anchors accepted: $(accepted) of $(submitted) submitted"
start=$SECONDS
while :; do
  : >"$WORK/final"
  for m in "${VALIDATORS[@]}" credit-bureau utility bank auditor; do
    echo "$m $(ledger_of "$m")" >>"$WORK/final"
  done
  # Converged: one (height, digest, block) for every node, the same in two rounds in a row.
  if [[ "$(cut -d' ' -f2- "$WORK/final" | sort -u | wc -l)" == 1 ]] &&
    [[ "$(awk 'NF != 4' "$WORK/final")" == "" ]] && cmp -s "$WORK/final" "$WORK/final.prev"; then
    break
  fi
  cp "$WORK/final" "$WORK/final.prev"
  ((SECONDS - start < DEADLINE_S * 2)) || {
    sed 's/^/   /' "$WORK/final" >&2
    fail "the nodes did not converge within $((DEADLINE_S * 2)) s"
  }
  sleep 1
done
sed 's/^/   /' "$WORK/final"
read -r _ height digest _ <"$WORK/final"
((height > 0)) || fail "nothing was committed"
ok "all 8 nodes at height $height, state digest $digest"
"$L" status >"$WORK/status.log" || fail "a node is down at the end: $(cat "$WORK/status.log")"
# No node failed on its own (the kills above leave no trace in a log); errors are shown.
logs=("$TDS_LOCALNET_DIR"/nodes/*/node.log)
if grep -nE 'terminate called|"level":"critical"' "${logs[@]}" \
  >"$WORK/crashes"; then
  sed 's/^/   /' "$WORK/crashes" >&2
  fail "a node crashed"
fi
ok "no node crashed"
grep -hE '"level":"error"' "${logs[@]}" | sed 's/^/   logged: /' | head -n 10 || true
# Every submission eventually commits: one a validator admitted while cut off is passed on
# again once it is back.
for m in "${VALIDATORS[@]}"; do
  deadline=$((SECONDS + 60))
  while :; do
    pending="$("$L" tds "$m" ledger status | awk '$1 == "pending" { print $3 }')"
    [[ "$pending" == 0 ]] && break
    ((SECONDS < deadline)) || fail "$m still holds $pending uncommitted transaction(s)"
    sleep 1
  done
  views="$("$L" tds "$m" node status -o json | python3 -c \
    'import json, sys; c = json.load(sys.stdin)["consensus"]; print(c.get("view"), c.get("view_changes"), c.get("refused"), c.get("last_refusal") or "-")')"
  echo "   $m: pending txs 0; view, view changes, refused messages, last refusal: $views"
done
ok "no validator holds an uncommitted transaction"

step "down"
"$L" down >"$WORK/down.log" 2>&1 || true
sed 's/^/   /' "$WORK/down.log"
if grep -q "ignored SIGTERM" "$WORK/down.log"; then
  fail "a node did not stop on SIGTERM"
fi
ok "every node stopped on SIGTERM"

echo
echo "bft_localnet_test: all checks passed"
