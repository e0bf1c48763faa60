#!/usr/bin/env bash
# A local data space on 127.0.0.1: one tdsd process per member, each with its own key, data
# directory and config, the validators first and every other node following them.
#
#   member          roles      node
#   operator        validator  a validator (orders blocks, signs checkpoints); the only one by
#                              default
#   validator-2..N  validator  more validators with `up --validators N` (BFT consensus)
#   credit-bureau   provider   follower; serves bureau-credit-scores from a CSV file
#   utility         provider   follower; serves utility-payment-history from a SQLite database
#   bank            consumer   follower; hosts its confidential SQL jobs (tds-enclave)
#   auditor         auditor    follower
#
# Usage: deploy/localnet.sh COMMAND [OPTIONS]   (deploy/localnet.sh --help for details)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-build}"
STATE="${TDS_LOCALNET_DIR:-$ROOT/.localnet}"
ORIGIN="localnet.tds"
FOLLOWERS=(credit-bureau utility bank auditor)
declare -A ROLE=([operator]=validator [credit-bureau]=provider [utility]=provider
  [bank]=consumer [auditor]=auditor)
declare -A TEMPLATE=([operator]=validator.yaml [credit-bureau]=provider-bureau.yaml
  [utility]=provider-utility.yaml [bank]=member.yaml [auditor]=member.yaml)
# VALIDATORS: operator, validator-2, ..., validator-N; MEMBERS: the validators, then FOLLOWERS.
VALIDATORS=()
MEMBERS=()
set_validators() {
  local i
  VALIDATORS=(operator)
  for ((i = 2; i <= $1; i++)); do
    VALIDATORS+=("validator-$i")
    ROLE[validator-$i]=validator
    TEMPLATE[validator-$i]=validator.yaml
  done
  MEMBERS=("${VALIDATORS[@]}" "${FOLLOWERS[@]}")
}
READY_TIMEOUT_S=60
STOP_TIMEOUT_S=20

usage() {
  cat <<EOF
Usage: deploy/localnet.sh COMMAND [OPTIONS]

A local data space on 127.0.0.1: separate tdsd processes with their own keys and data
directories for the validator (operator; with --validators N also validator-2 ... validator-N),
two providers (credit-bureau: CSV source; utility: SQLite source), a bank and an auditor. The
providers, the bank and the auditor follow the validators (all of them, moving to the next
when one is down).

Commands:
  up [--validators N] [--fault-injection] [--rows N] [--seed S] [--no-build]
        Build tds and tdsd if needed (deploy/install-deps.sh, cmake, ninja), create the state
        directory on first use (keys, a CA and pinned member certificates for mutual TLS,
        genesis, sample data, node configs from deploy/configs/), start every node that is not
        running and print the status. The addresses go to STATE/addresses.env: a single
        validator and the followers listen on port 0 (a new port at each start); with several
        validators, each validator's port is chosen once, at the first \`up\` (STATE/ports), as
        every validator's config lists the others' addresses (\`peers\`).
        A second \`up\` after \`down\` restarts the same data space from its data directories;
        a running follower is restarted if the operator's address changed.
          --validators N     validators in the genesis (default 1): operator, validator-2, ...,
                             validator-N, ordering blocks by BFT consensus (N = 4 tolerates one
                             faulty validator). Fixed at the first \`up\` (down --clean to change).
          --fault-injection  validators started by this \`up\` (and by later \`start\`s) let their
                             own member isolate them from other validators (\`tds node fault\`;
                             allow_fault_injection; tests only, several validators)
          --rows N           generate N-row provider tables (deploy/sample/generate.py) instead of
                             copying the committed sample; --seed S its seed (default 42)
          --no-build         use the binaries already in \$BUILD_DIR/bin (or \$TDS_BIN_DIR)
  status
        Each node's member, role, kind (validator or follower), pid, address, height, the
        data sources it serves, and state; exit 1 if a node is down.
  down [--clean]
        SIGTERM every node, wait for each to exit (SIGKILL after ${STOP_TIMEOUT_S} s);
        --clean then removes the state directory.
  kill MEMBER
        SIGKILL MEMBER's node (a crash, for tests) and wait until it is gone.
  start MEMBER
        Start MEMBER's node if it is stopped: a validator on its own port, a follower following
        the operator's node (which must be running). \`up\` starts every stopped node.
  tds MEMBER[@NODE] ARGS...
        Run \`tds ARGS...\` as MEMBER against MEMBER's own node, or against NODE's (its --node,
        --key and transport flags filled in), e.g.  deploy/localnet.sh tds bank contract list,
        deploy/localnet.sh tds bank@credit-bureau run psi --contract c-... --input ids.csv,
        deploy/localnet.sh tds validator-2 node fault --isolate operator
  env
        Print STATE/addresses.env (shell assignments: TDS_NODE_<MEMBER>, TDS_KEY_<MEMBER>,
        TDS_ROLE_<MEMBER>, TDS_MEMBERS, TDS_VALIDATORS, TDS_GENESIS, TDS_LOCALNET_DIR,
        TDS_TRANSPORT, TDS_ENCLAVE_BINARY: the tds-enclave the bank's node hosts jobs with,
        TDS_ENCLAVE_SHA256: its SHA-256, for the products' enclave_measurements and the
        contracts' terms.enclave.binary_sha256).

Environment:
  TDS_LOCALNET_DIR  state directory (default: <repo>/.localnet)
  BUILD_DIR         build directory (default: build); TDS_BIN_DIR overrides <BUILD_DIR>/bin
  JOBS              build jobs (default 2)
  TDS_LOCALNET_INSECURE=1  plaintext gRPC (--insecure-dev) even when mutual TLS is available

State directory:
  genesis.json  keys/MEMBER.key  tls/ (ca/, MEMBER.crt, MEMBER.key)  sample/ (data files)
  nodes/MEMBER/{config.yaml,data/,node.log,ready,pid}  addresses.env
  validators (N)  ports ("MEMBER PORT" per validator, if several)  fault_injection (0 or 1)
EOF
}

die() {
  echo "localnet: error: $*" >&2
  exit 1
}
say() { echo "localnet: $*"; }

# --- binaries ---------------------------------------------------------------------------------

BIN="${TDS_BIN_DIR:-$ROOT/$BUILD_DIR/bin}"
TDS="$BIN/tds"
TDSD="$BIN/tdsd"
# The enclave the bank's node hosts confidential SQL jobs with (tds run enclave-sql), built with
# tdsd; providers approve it by its SHA-256 (TDS_ENCLAVE_SHA256 in addresses.env).
ENCLAVE="$BIN/tds-enclave"

build() {
  "$ROOT/deploy/install-deps.sh"
  export CCACHE_BASEDIR="$ROOT"
  if [[ ! -f "$ROOT/$BUILD_DIR/build.ninja" ]]; then
    cmake -S "$ROOT" -B "$ROOT/$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  fi
  ninja -C "$ROOT/$BUILD_DIR" -j"${JOBS:-2}" tds tdsd tds-enclave >/dev/null
}

need_binaries() {
  [[ -x "$TDS" && -x "$TDSD" ]] ||
    die "no tds/tdsd in $BIN (run \`deploy/localnet.sh up\` without --no-build, or set TDS_BIN_DIR)"
}

# --- state ------------------------------------------------------------------------------------

node_dir() { echo "$STATE/nodes/$1"; }
key_file() { echo "$STATE/keys/$1.key"; }
var_name() { local v="${1//-/_}"; echo "${v^^}"; }  # credit-bureau -> CREDIT_BUREAU

# The state directory's validator count (a directory from before --validators has one).
state_validators() {
  local n=1
  [[ -f "$STATE/validators" ]] && n="$(cat "$STATE/validators")"
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || die "$STATE/validators: '$n' is not a validator count"
  echo "$n"
}

is_validator() { [[ "${ROLE[$1]:-}" == validator ]]; }

# A validator's fixed port among several (STATE/ports), or 0 when it is the only one.
validator_port() {
  ((${#VALIDATORS[@]} > 1)) || { echo 0; return; }
  local port
  port="$(awk -v m="$1" '$1 == m { print $2 }' "$STATE/ports" 2>/dev/null)"
  [[ "$port" =~ ^[1-9][0-9]*$ ]] || die "$STATE/ports: no port for $1"
  echo "$port"
}

# Exits unless every validator has its port (callers of validator_port run in subshells).
check_ports() {
  local v
  for v in "${VALIDATORS[@]}"; do validator_port "$v" >/dev/null || exit 1; done
}

# Where the followers find the validators: every validator's fixed address, comma-separated
# (a follower moves to the next when one is down), or with a single validator the address it
# reported when it started (empty if it is not running).
operator_address() {
  if ((${#VALIDATORS[@]} > 1)); then
    local v out=""
    for v in "${VALIDATORS[@]}"; do out+="${out:+,}127.0.0.1:$(validator_port "$v")"; done
    echo "$out"
  elif node_pid operator >/dev/null; then
    node_address operator
  fi
}

# One free 127.0.0.1 port per validator, all distinct: the kernel picks them (bind to port 0),
# held open together so that no two coincide.
pick_ports() {
  python3 - "${VALIDATORS[@]}" <<'PY'
import socket, sys
socks = []
for member in sys.argv[1:]:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
    print(member, s.getsockname()[1])
PY
}

# Mutual TLS once `tds cert` exists (and tdsd takes --tls-cert), unless TDS_LOCALNET_INSECURE=1.
# Chosen once per state directory, so a restart keeps the same transport.
transport() {
  if [[ -f "$STATE/transport" ]]; then
    cat "$STATE/transport"
  elif [[ "${TDS_LOCALNET_INSECURE:-0}" != 1 ]] && "$TDS" cert --help >/dev/null 2>&1 &&
    "$TDSD" --help 2>/dev/null | grep -q -- '--tls-cert'; then
    echo tls
  else
    echo insecure
  fi
}

# The flags tds needs to reach MEMBER's node as MEMBER (one per line).
client_flags() {
  local m="$1"
  echo --key
  key_file "$m"
  if [[ "$(transport)" == tls ]]; then
    printf '%s\n' --tls-cert "$STATE/tls/$m.crt" --tls-key "$STATE/tls/$m.key" \
      --tls-ca "$STATE/tls/ca/ca.crt"
  else
    echo --insecure-dev
  fi
}

node_address() {
  local ready
  ready="$(node_dir "$1")/ready"
  [[ -s "$ready" ]] && head -n1 "$ready"
}

# The pid of MEMBER's tdsd if it is running (and really is that node: a reused pid is not).
node_pid() {
  local pidfile pid
  pidfile="$(node_dir "$1")/pid"
  [[ -s "$pidfile" ]] || return 1
  pid="$(cat "$pidfile")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  { tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null |
    grep -qF -- "$(node_dir "$1")/config.yaml" || return 1
  echo "$pid"
}

# The consortium CA (tls/ca/) and one certificate per member (tls/MEMBER.{crt,key}, CN = the
# member id, SANs 127.0.0.1 and localhost). Prints "MEMBER FINGERPRINT" lines for the genesis.
make_pki() {
  "$TDS" cert ca --out-dir "$STATE/tls/ca" --name "$ORIGIN CA" >/dev/null 2>&1 ||
    die "tds cert ca failed"
  local m fp
  for m in "${MEMBERS[@]}"; do
    fp="$("$TDS" cert issue --ca-dir "$STATE/tls/ca" --member "$m" --out-dir "$STATE/tls" \
      --host 127.0.0.1 --host localhost 2>/dev/null)" || die "tds cert issue --member $m failed"
    echo "$m $fp"
  done
}

# Copies (or generates) the providers' data and builds the utility's SQLite database.
make_sample() {
  local rows="$1" seed="$2" dir="$STATE/sample"
  mkdir -p "$dir"
  if [[ -n "$rows" ]]; then
    python3 "$ROOT/deploy/sample/generate.py" --rows "$rows" --seed "$seed" --out "$dir" >/dev/null
  else
    cp "$ROOT"/deploy/sample/*.csv "$ROOT/deploy/sample/manifest.json" "$dir/"
  fi
  python3 "$ROOT/deploy/sample/generate.py" --sqlite "$dir/utility_payments.csv" \
    "$dir/utility_payments.db" --table utility_payments >/dev/null
}

init_state() {
  local rows="$1" seed="$2"
  if [[ -e "$STATE" && ! -f "$STATE/.tds-localnet" ]]; then
    die "$STATE exists and is not a localnet state directory; set TDS_LOCALNET_DIR elsewhere"
  fi
  mkdir -p "$STATE/keys" "$STATE/nodes"
  touch "$STATE/.tds-localnet"
  chmod 700 "$STATE/keys"
  echo "${#VALIDATORS[@]}" >"$STATE/validators"
  if ((${#VALIDATORS[@]} > 1)); then pick_ports >"$STATE/ports" || die "no free ports"; fi
  local mode
  mode="$(transport)"
  echo "$mode" >"$STATE/transport"
  say "new data space in $STATE ($(cat "$STATE/transport") transport, ${#VALIDATORS[@]} validator(s))"
  local m pub spec fp members=()
  declare -A fingerprint=()
  if [[ "$mode" == tls ]]; then
    mkdir -p "$STATE/tls"
    chmod 700 "$STATE/tls"
    make_pki >"$STATE/tls/fingerprints"
    while read -r m fp; do fingerprint[$m]="$fp"; done <"$STATE/tls/fingerprints"
  fi
  for m in "${MEMBERS[@]}"; do
    pub="$("$TDS" keygen --out "$(key_file "$m")")"
    spec="$m:${ROLE[$m]}:$pub"
    # Mutual TLS: the genesis pins each member's certificate (docs/tls.md).
    if [[ -n "${fingerprint[$m]:-}" ]]; then spec+=":${fingerprint[$m]}"; fi
    members+=(--member "$spec")
    printf '  %-14s %-10s %s\n' "$m" "${ROLE[$m]}" "$pub"
  done
  "$TDS" genesis --origin "$ORIGIN" "${members[@]}" --out "$STATE/genesis.json" 2>&1 >/dev/null |
    sed 's/^/  /'
  make_sample "$rows" "$seed"
}

# Fills deploy/configs/TEMPLATE's ${...} placeholders for MEMBER (literal text, hence quoted).
# shellcheck disable=SC2016
render_config() {
  local m="$1" validator="$2" text transport_text peers_text="" fault_text="" v listen
  text="$(<"$ROOT/deploy/configs/${TEMPLATE[$m]}")"
  if [[ "$(transport)" == tls ]]; then
    transport_text="tls:
  cert: $STATE/tls/$m.crt
  key: $STATE/tls/$m.key
  ca: $STATE/tls/ca/ca.crt
console_listen: 127.0.0.1:0  # the web console, HTTPS: tds console login"
  else
    transport_text="insecure_dev: true  # plaintext: development only"
  fi
  listen="127.0.0.1:0"
  if is_validator "$m"; then
    listen="127.0.0.1:$(validator_port "$m")"
    if ((${#VALIDATORS[@]} > 1)); then
      peers_text="peers:  # every other genesis validator"
      for v in "${VALIDATORS[@]}"; do
        [[ "$v" == "$m" ]] || peers_text+="
  - id: $v
    address: 127.0.0.1:$(validator_port "$v")"
      done
    fi
    if [[ "$(cat "$STATE/fault_injection" 2>/dev/null)" == 1 ]]; then
      fault_text="allow_fault_injection: true  # tests only: tds node fault"
    fi
  fi
  text="${text//'${DATA}'/$(node_dir "$m")/data}"
  text="${text//'${GENESIS}'/$STATE/genesis.json}"
  text="${text//'${KEY}'/$(key_file "$m")}"
  text="${text//'${LISTEN}'/$listen}"
  text="${text//'${VALIDATOR}'/$validator}"
  text="${text//'${SAMPLE}'/$STATE/sample}"
  text="${text//'${TRANSPORT}'/$transport_text}"
  text="${text//'${PEERS}'/$peers_text}"
  text="${text//'${FAULT_INJECTION}'/$fault_text}"
  text="${text//'${ENCLAVE_BINARY}'/$ENCLAVE}"
  local unfilled
  unfilled="$(grep -v '^ *#' <<<"$text" | grep -o '\${[A-Za-z_]*}' | head -n1 || true)"
  [[ -z "$unfilled" ]] || die "deploy/configs/${TEMPLATE[$m]}: unknown placeholder $unfilled"
  printf '%s\n' "$text" >"$(node_dir "$m")/config.yaml"
}

start_node() {
  local m="$1" validator="$2" dir pid
  dir="$(node_dir "$m")"
  mkdir -p "$dir"
  render_config "$m" "$validator"
  rm -f "$dir/ready"
  # setsid: the node outlives this script and its terminal; stop it with `localnet.sh down`.
  setsid "$TDSD" --config "$dir/config.yaml" --ready-file "$dir/ready" \
    >>"$dir/node.log" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$dir/pid"
  local waited=0
  until [[ -s "$dir/ready" ]]; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "localnet: $m's tdsd exited during startup; the end of $dir/node.log:" >&2
      tail -n 20 "$dir/node.log" >&2
      rm -f "$dir/pid"
      exit 1
    fi
    if ((waited >= READY_TIMEOUT_S * 10)); then
      echo "localnet: $m's tdsd not ready after ${READY_TIMEOUT_S} s; the end of its log:" >&2
      tail -n 20 "$dir/node.log" >&2
      exit 1
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
  say "started $m (${ROLE[$m]}) pid $pid on $(node_address "$m")"
}

# The SHA-256 of the enclave build (empty if it was not built).
enclave_sha256() {
  if [[ -f "$ENCLAVE" ]]; then sha256sum "$ENCLAVE" | cut -d' ' -f1; fi
}

write_env() {
  local m v tmp="$STATE/addresses.env.tmp"
  {
    echo "# Written by deploy/localnet.sh up: the local data space's nodes. Source it."
    printf 'TDS_LOCALNET_DIR=%q\n' "$STATE"
    printf 'TDS_GENESIS=%q\n' "$STATE/genesis.json"
    printf 'TDS_TRANSPORT=%q\n' "$(transport)"
    printf 'TDS_MEMBERS=%q\n' "${MEMBERS[*]}"
    printf 'TDS_VALIDATORS=%q\n' "${VALIDATORS[*]}"
    printf 'TDS_ENCLAVE_BINARY=%q\n' "$ENCLAVE"
    printf 'TDS_ENCLAVE_SHA256=%q\n' "$(enclave_sha256)"
    for m in "${MEMBERS[@]}"; do
      v="$(var_name "$m")"
      printf 'TDS_NODE_%s=%q\n' "$v" "$(node_address "$m")"
      printf 'TDS_KEY_%s=%q\n' "$v" "$(key_file "$m")"
      printf 'TDS_ROLE_%s=%q\n' "$v" "${ROLE[$m]}"
    done
  } >"$tmp"
  mv "$tmp" "$STATE/addresses.env"
}

# --- commands ---------------------------------------------------------------------------------

# Waits while MEMBER's tdsd runs without a ready file (starting, or shutting down after a
# SIGTERM), so that it is then either serving or gone.
settle_node() {
  local waited=0
  while node_pid "$1" >/dev/null && [[ ! -s "$(node_dir "$1")/ready" ]]; do
    ((waited < STOP_TIMEOUT_S * 10)) || die "$1's tdsd runs but does not serve; see $(node_dir "$1")/node.log"
    sleep 0.1
    waited=$((waited + 1))
  done
}

cmd_up() {
  local validators="" rows="" seed=42 do_build=1 fault=0
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --validators) validators="${2:?--validators needs a number}"; shift 2 ;;
      --fault-injection) fault=1; shift ;;
      --rows) rows="${2:?--rows needs a number}"; shift 2 ;;
      --seed) seed="${2:?--seed needs a number}"; shift 2 ;;
      --no-build) do_build=0; shift ;;
      -h | --help) usage; exit 0 ;;
      *) die "up: unknown option $1 (see --help)" ;;
    esac
  done
  [[ -z "$validators" || "$validators" =~ ^[1-9][0-9]*$ ]] ||
    die "--validators: '$validators' is not a positive number"
  [[ -z "$rows" || "$rows" =~ ^[1-9][0-9]*$ ]] || die "--rows: '$rows' is not a positive number"
  [[ "$seed" =~ ^[0-9]+$ ]] || die "--seed: '$seed' is not a number"
  command -v python3 >/dev/null || die "python3 is missing (deploy/install-deps.sh installs it)"
  if [[ -f "$STATE/genesis.json" && -n "$validators" ]] &&
    ((validators != ${#VALIDATORS[@]})); then
    die "--validators $validators: $STATE has ${#VALIDATORS[@]} validator(s) in its genesis (down --clean first)"
  fi

  if ((do_build)) && [[ -z "${TDS_BIN_DIR:-}" ]]; then
    say "building tds and tdsd in $BUILD_DIR"
    build
  fi
  need_binaries
  if [[ -f "$STATE/genesis.json" ]]; then
    [[ -z "$rows" ]] || say "--rows ignored: $STATE already has its data (down --clean first)"
    say "restarting the data space in $STATE"
  else
    set_validators "${validators:-1}"
    init_state "$rows" "$seed"
  fi
  echo "$fault" >"$STATE/fault_injection"
  check_ports

  local m pid validator_addr
  for m in "${MEMBERS[@]}"; do settle_node "$m"; done
  for m in "${VALIDATORS[@]}"; do
    node_pid "$m" >/dev/null || start_node "$m" ""
  done
  validator_addr="$(operator_address)"
  for m in "${FOLLOWERS[@]}"; do
    if pid="$(node_pid "$m")"; then
      # A single validator restarted on a new port: a running follower must follow it there.
      [[ "$(followed_address "$m")" != "$validator_addr" ]] || continue
      say "restarting $m to follow the validator at $validator_addr"
      stop_pids "$m:$pid"
    fi
    start_node "$m" "$validator_addr"
  done
  write_env
  cmd_status
}

# The validator address in a follower's rendered config.
followed_address() {
  awk '$1 == "validator:" { print $2 }' "$(node_dir "$1")/config.yaml" 2>/dev/null
}

# MEMBER, checked against the data space's members.
known_member() {
  [[ -n "${1:-}" ]] || die "which member? (${MEMBERS[*]})"
  [[ " ${MEMBERS[*]} " == *" $1 "* ]] || die "unknown member '$1' (${MEMBERS[*]})"
}

cmd_kill() {
  [[ $# -eq 1 ]] || die "usage: localnet.sh kill MEMBER"
  [[ -f "$STATE/.tds-localnet" ]] || die "no local data space in $STATE (run \`localnet.sh up\`)"
  known_member "$1"
  local m="$1" pid waited=0
  pid="$(node_pid "$m")" || die "$m's node is not running"
  kill -KILL "$pid"
  # node_pid, not kill -0: a killed process that no one has reaped yet is not running.
  while node_pid "$m" >/dev/null; do
    ((waited < STOP_TIMEOUT_S * 10)) || die "$m (pid $pid) survives SIGKILL"
    sleep 0.1
    waited=$((waited + 1))
  done
  rm -f "$(node_dir "$m")/pid" "$(node_dir "$m")/ready"
  say "killed $m (pid $pid)"
}

cmd_start() {
  [[ $# -eq 1 ]] || die "usage: localnet.sh start MEMBER"
  [[ -f "$STATE/genesis.json" ]] || die "no local data space in $STATE (run \`localnet.sh up\`)"
  known_member "$1"
  need_binaries
  local m="$1" validator_addr=""
  check_ports
  settle_node "$m"
  if node_pid "$m" >/dev/null; then
    say "$m is already running"
    return 0
  fi
  if ! is_validator "$m"; then
    validator_addr="$(operator_address)"
    [[ -n "$validator_addr" ]] || die "the operator's node is not running (start operator first)"
  fi
  start_node "$m" "$validator_addr"
  write_env
}

cmd_status() {
  [[ -f "$STATE/.tds-localnet" ]] || die "no local data space in $STATE (run \`localnet.sh up\`)"
  need_binaries
  local m pid addr node height sources state down=0 flags fields
  local format='%-14s %-10s %-9s %-8s %-22s %-7s %-32s %s\n'
  # shellcheck disable=SC2059
  printf "$format" MEMBER ROLE NODE PID ADDRESS HEIGHT SOURCES STATE
  for m in "${MEMBERS[@]}"; do
    node="-" height="-" sources="-" addr="-" state="stopped"
    if pid="$(node_pid "$m")"; then
      addr="$(node_address "$m" || echo -)"
      mapfile -t flags < <(client_flags "$m")
      # The node's own view (Admin.GetNodeStatus): role, height, the sources it serves.
      if fields="$("$TDS" --node "$addr" "${flags[@]}" --timeout-ms 5000 node status -o csv \
        2>/dev/null)"; then
        node="$(awk -F, '$1 == "role" { print $2 }' <<<"$fields")"
        height="$(awk -F, '$1 == "height" { print $2 }' <<<"$fields")"
        sources="$(awk -F, '$1 == "sources" { sub(/^sources,/, ""); gsub(/"/, ""); print }' \
          <<<"$fields")"
        state="serving"
      else
        state="not answering"
        down=1
      fi
    else
      pid="-"
      down=1
    fi
    # shellcheck disable=SC2059
    printf "$format" "$m" "${ROLE[$m]}" "$node" "$pid" "$addr" "$height" "$sources" "$state"
  done
  return "$down"
}

# stop_pids MEMBER:PID...: SIGTERM each, wait for all (SIGKILL after STOP_TIMEOUT_S).
stop_pids() {
  local entry pid waited=0 alive
  for entry in "$@"; do kill -TERM "${entry#*:}" 2>/dev/null || true; done
  while :; do
    alive=0
    for entry in "$@"; do kill -0 "${entry#*:}" 2>/dev/null && alive=1; done
    ((alive == 0 || waited >= STOP_TIMEOUT_S * 10)) && break
    sleep 0.1
    waited=$((waited + 1))
  done
  for entry in "$@"; do
    pid="${entry#*:}"
    if kill -0 "$pid" 2>/dev/null; then
      echo "localnet: ${entry%%:*} (pid $pid) ignored SIGTERM for ${STOP_TIMEOUT_S} s; SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$(node_dir "${entry%%:*}")/pid"
    say "stopped ${entry%%:*} (pid $pid)"
  done
}

cmd_down() {
  local clean=0
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --clean) clean=1; shift ;;
      -h | --help) usage; exit 0 ;;
      *) die "down: unknown option $1 (see --help)" ;;
    esac
  done
  if [[ ! -e "$STATE" ]]; then
    say "nothing to stop ($STATE does not exist)"
    return 0
  fi
  [[ -f "$STATE/.tds-localnet" ]] || die "$STATE is not a localnet state directory; not touching it"
  # Followers first, so none of them logs a lost validator during shutdown.
  local i m pid nodes=()
  for ((i = ${#MEMBERS[@]} - 1; i >= 0; i--)); do
    m="${MEMBERS[$i]}"
    if pid="$(node_pid "$m")"; then nodes+=("$m:$pid"); fi
  done
  [[ ${#nodes[@]} -eq 0 ]] || stop_pids "${nodes[@]}"
  for m in "${MEMBERS[@]}"; do rm -f "$(node_dir "$m")/pid"; done
  [[ ${#nodes[@]} -gt 0 ]] || say "no node was running"
  if ((clean)); then
    rm -rf -- "$STATE"
    say "removed $STATE"
  fi
}

cmd_tds() {
  [[ $# -ge 1 ]] || die "tds: which member? (${MEMBERS[*]})"
  # MEMBER, or MEMBER@NODE: act as MEMBER against NODE's node (e.g. bank@credit-bureau for a
  # computation through the bureau's metered gateway).
  local m="${1%%@*}" node="${1#*@}"
  shift
  local who
  for who in "$m" "$node"; do
    [[ -n "${ROLE[$who]:-}" ]] || die "tds: unknown member '$who' (${MEMBERS[*]})"
  done
  need_binaries
  local addr flags
  if ! node_pid "$node" >/dev/null || ! addr="$(node_address "$node")"; then
    die "$node's node is not running (deploy/localnet.sh up)"
  fi
  mapfile -t flags < <(client_flags "$m")
  exec "$TDS" --node "$addr" "${flags[@]}" "$@"
}

main() {
  [[ $# -ge 1 ]] || { usage >&2; exit 2; }
  local cmd="$1"
  shift
  case "$cmd" in
    up) cmd_up "$@" ;;
    status) cmd_status ;;
    down) cmd_down "$@" ;;
    kill) cmd_kill "$@" ;;
    start) cmd_start "$@" ;;
    tds) cmd_tds "$@" ;;
    env) [[ -f "$STATE/addresses.env" ]] || die "no $STATE/addresses.env (localnet.sh up)"
      cat "$STATE/addresses.env" ;;
    -h | --help | help) usage ;;
    *) echo "localnet: unknown command '$cmd'" >&2; usage >&2; exit 2 ;;
  esac
}

set_validators "$(state_validators)"
main "$@"
