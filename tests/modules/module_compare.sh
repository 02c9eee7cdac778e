#!/bin/bash
# module_compare.sh - compare `kensa scan -D` with `yara -D` for one module over a list of files.
#
#   module_compare.sh KENSA MODULE [--min N] [--quiet] FILE...
#
# For every FILE, both tools scan it with `import "MODULE" rule t { condition: true }` and -D;
# outputs must be byte-identical. Prints "MODULE: compared N, identical M" and the first lines
# of each difference (unless --quiet). Integers are compared as unsigned 64-bit: yara 4.2.3
# prints them signed (" = -5"), kensa's obj_print unsigned; both are normalised with perl. Exit 0 if all identical, 1 on a difference, 77 (skip)
# when yara is missing or fewer than --min files were given.
set -u
KENSA=$1
MOD=$2
shift 2
MIN=1
QUIET=0
while [ $# -gt 0 ]; do
    case $1 in
    --min) MIN=$2; shift 2 ;;
    --quiet) QUIET=1; shift ;;
    *) break ;;
    esac
done
YARA=${YARA:-yara}
if ! command -v "$YARA" >/dev/null 2>&1; then
    echo "no yara: skipping"
    exit 77
fi
if [ ! -x "$KENSA" ]; then
    echo "no kensa binary $KENSA: skipping"
    exit 77
fi
if [ $# -lt "$MIN" ]; then
    echo "$MOD: only $# input files (need $MIN): skipping"
    exit 77
fi
norm() { perl -pe 's/ = (-\d+)$/" = ".unpack("Q", pack("q", $1))/e'; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf 'import "%s"\nrule t { condition: true }\n' "$MOD" > "$tmp/r.yar"
n=0
same=0
for f in "$@"; do
    [ -f "$f" ] || continue
    n=$((n + 1))
    timeout 60 "$YARA" -D "$tmp/r.yar" "$f" 2>&1 | norm > "$tmp/y"
    timeout 60 "$KENSA" scan --no-extract -D "$tmp/r.yar" "$f" 2>&1 | norm > "$tmp/k"
    if cmp -s "$tmp/y" "$tmp/k"; then
        same=$((same + 1))
    else
        echo "DIFF: $f"
        [ "$QUIET" = 1 ] || diff "$tmp/y" "$tmp/k" | head -10
    fi
done
echo "$MOD: compared $n, identical $same"
[ "$n" = "$same" ]
