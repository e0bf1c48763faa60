#!/usr/bin/env bash
# Layering guard (shared/ARCHITECTURE.md, "Layers and folders"): fails, printing file:line, when
# a folder includes (or a .proto imports) a folder it must not depend on.
#
#   tests/check_layers.sh [ROOT]      ROOT defaults to the repository root
#
# Layers, top to bottom; dependencies point downward only:
#   sdk > node > compute > app (the composition) > contracts, catalog, evidence, governance (the
#   application) > ledger > common > proto
# except that compute/ knows nothing of the ledger or its application (only common/, proto/):
# the node's metered gateway is where a computation meets a contract. Nothing includes tests/
# or bench/ except those folders themselves, and bench/ the test harnesses it measures (the
# consensus simulator). Unit tests beside the code (*_test.cc, *_test.h)
# may also use the layers above their folder (e.g. node/server_test.cc drives the server
# through sdk/), but never tests/ or bench/.
set -euo pipefail

ROOT="${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
cd "$ROOT"

# Top-level folders whose headers are project headers; any other include path is external.
PROJECT_DIRS="proto common ledger catalog contracts evidence governance app compute node sdk tests bench"

# allowed_for DIR -> the folders DIR may include.
allowed_for() {
  case "$1" in
    proto) echo "proto" ;;
    common) echo "common proto" ;;
    ledger) echo "ledger common proto" ;;
    # The application. contracts/ reads the catalog; the catalog knows nothing of contracts.
    catalog) echo "catalog ledger common proto" ;;
    contracts) echo "contracts catalog ledger common proto" ;;
    evidence | governance) echo "$1 ledger common proto" ;;
    # The application as tdsd runs it: every module, registered in one place.
    app) echo "app catalog contracts evidence governance ledger common proto" ;;
    compute) echo "compute common proto" ;;
    node) echo "node compute app catalog contracts evidence governance ledger common proto" ;;
    sdk) echo "sdk compute app catalog contracts evidence governance ledger common proto" ;;
    tests) echo "tests sdk node compute app catalog contracts evidence governance ledger common proto" ;;
    bench) echo "bench tests sdk node compute app catalog contracts evidence governance ledger common proto" ;;
    *) echo "" ;;
  esac
}

violations=0
scanned=0
for dir in $PROJECT_DIRS; do
  [[ -d "$dir" ]] || continue
  library_allowed=" $(allowed_for "$dir") "
  test_allowed=" $dir sdk node compute app catalog contracts evidence governance ledger common proto "
  while IFS= read -r -d '' file; do
    scanned=$((scanned + 1))
    allowed="$library_allowed"
    case "$file" in
      *_test.cc | *_test.h) [[ "$dir" != tests && "$dir" != bench ]] && allowed="$test_allowed" ;;
    esac
    # "file:line:text" for every #include "x/..." or import "x/...".
    while IFS= read -r hit; do
      [[ -z "$hit" ]] && continue
      line="${hit%%:*}"
      text="${hit#*:}"
      target="$(sed -E 's/^[[:space:]]*(#[[:space:]]*include|import)[[:space:]]*[<"]([^">]+)[">].*/\2/' <<<"$text")"
      top="${target%%/*}"
      [[ "$target" == */* ]] || continue           # same-folder or system header
      [[ " $PROJECT_DIRS " == *" $top "* ]] || continue  # external library
      if [[ "$allowed" != *" $top "* ]]; then
        echo "$file:$line: $dir/ must not include $top/: $target"
        violations=$((violations + 1))
      fi
    done < <(grep -nE '^[[:space:]]*(#[[:space:]]*include|import)[[:space:]]*[<"][^">]+[">]' "$file" ||
      true)
  done < <(find "$dir" -type f \( -name '*.h' -o -name '*.hh' -o -name '*.hpp' -o -name '*.cc' \
    -o -name '*.cpp' -o -name '*.c' -o -name '*.inc' -o -name '*.proto' \) -print0 | sort -z)
done

if [[ $scanned -eq 0 ]]; then
  echo "check_layers: no source files found under $ROOT" >&2
  exit 1
fi
if [[ $violations -ne 0 ]]; then
  echo "check_layers: $violations forbidden include(s); see shared/ARCHITECTURE.md" >&2
  exit 1
fi
echo "check_layers: $scanned files, no forbidden includes"
