#!/usr/bin/env bash
# Proves tests/check_layers.sh catches forbidden includes: runs it on small synthetic trees.
set -euo pipefail

CHECK="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/check_layers.sh"
TMP="$(mktemp -d "${TMPDIR:-/tmp}/tds-layers.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

make_tree() {  # a clean tree: every include allowed
  rm -rf "$TMP/tree" && mkdir -p "$TMP/tree"/{proto,common,ledger,evidence,compute,node,sdk,tests}
  cd "$TMP/tree"
  printf 'import "proto/b.proto";\n' >proto/a.proto
  printf '#include "common/b.h"\n#include "proto/a.pb.h"\n#include "absl/status/status.h"\n#include <vector>\n' >common/a.h
  printf '#include "ledger/b.h"\n#include "common/a.h"\n' >ledger/a.cc
  printf '#include "ledger/a.h"\n' >evidence/a.cc
  printf '#include "common/a.h"\n' >compute/a.cc
  printf '#include "evidence/a.h"\n#include "compute/a.h"\n' >node/a.cc
  printf '#include "ledger/receipt.h"\n' >sdk/a.cc
  printf '#include "tests/test_util.h"\n#include "node/a.h"\n' >tests/a.cc
  printf '#include "sdk/client.h"\n#include "node/server.h"\n' >node/server_test.cc
  printf '#include "sdk/client.h"\n' >ledger/ledger_test.cc
}

expect_violation() {  # FILE LINE INCLUDE: adds the include, expects check_layers to name it
  local file="$1" include="$2"
  make_tree
  printf '// padding\n#include "%s"\n' "$include" >>"$file"
  local line
  line="$(grep -c '' "$file")"
  if out="$("$CHECK" "$TMP/tree" 2>&1)"; then
    fail "$file including $include was accepted"
  fi
  grep -qF "$file:$line:" <<<"$out" || fail "output does not name $file:$line: $out"
  echo "ok: $file -> $include rejected"
}

make_tree
"$CHECK" "$TMP/tree" >/dev/null || fail "clean tree rejected: $("$CHECK" "$TMP/tree" 2>&1)"
echo "ok: clean tree accepted"

expect_violation common/a.h ledger/ledger.h
expect_violation ledger/a.cc contracts/terms.h
expect_violation ledger/a.cc evidence/evidence.h
expect_violation evidence/a.cc node/server.h
expect_violation evidence/a.cc sdk/client.h
expect_violation compute/a.cc ledger/receipt.h
expect_violation sdk/a.cc node/server.h
expect_violation node/a.cc tests/test_util.h
expect_violation node/a.cc bench/util.h
expect_violation proto/a.proto common/x.proto
expect_violation node/server_test.cc tests/test_util.h
expect_violation ledger/ledger_test.cc bench/util.h
echo "check_layers self-test passed"
