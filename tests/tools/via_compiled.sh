#!/usr/bin/env bash
# via_compiled.sh [DEFS...] RULEFILE DATAFILE - a yara-like scanner command that goes through a
# compiled-rules file: `kensa compile` the rules, then `kensa scan -C` them (same -d definitions),
# so that what the loader reads back (strings, prefilter, needs and lazy sets) is what is used.
# Rules that do not compile are scanned from source, for the same error output. For the
# conformance runner:
#   python3 ../shared/conformance/run.py --scanner 'tests/tools/via_compiled.sh'
# KENSA=path/to/kensa (default build-rel/kensa beside this script's repository).
here=$(cd "$(dirname "$0")/../.." && pwd)
K=${KENSA:-$here/build-rel/kensa}
args=("$@")
n=${#args[@]}
[ "$n" -ge 2 ] || { echo "usage: $0 [DEFS...] RULEFILE DATAFILE" >&2; exit 2; }
rules=${args[$((n - 2))]}
data=${args[$((n - 1))]}
defs=("${args[@]:0:$((n - 2))}")
kc=$(mktemp "${TMPDIR:-/tmp}/via_compiled.XXXXXX")
trap 'rm -f "$kc"' EXIT
if ! "$K" compile "${defs[@]}" "$rules" "$kc" 2> /dev/null; then
  "$K" scan --no-extract "${defs[@]}" "$rules" "$data"
  exit $?
fi
"$K" scan --no-extract -C "${defs[@]}" "$kc" "$data"
