#!/usr/bin/env bash
# bench/adversarial.sh - pathological regexes and hex strings over crafted data, kensa vs yara.
#
# Each case is one rule over one crafted file of ADV_MB megabytes (default 100). Both scanners
# run single-threaded with -s; the script prints each one's wall time and peak memory, the ratio,
# and whether the outputs (sorted, md5) are identical.
#   ADV_MB=100  ADV_DIR=/tmp/kensa-adv  KENSA=build-rel/kensa  CASES="name ..." (default all)
set -u
HERE=$(cd "$(dirname "$0")/.." && pwd)
KENSA=${KENSA:-$HERE/build-rel/kensa}
ADV_MB=${ADV_MB:-100}
ADV_DIR=${ADV_DIR:-/tmp/kensa-adv}
mkdir -p "$ADV_DIR"
[ -x "$KENSA" ] || { echo "build kensa first (bench/run.sh builds build-rel/)"; exit 1; }

# data NAME PYTHON-EXPR-FOR-ONE-CHUNK: file of ADV_MB MB made of repeated chunks
data() {
  local f="$ADV_DIR/$1.$ADV_MB.bin"
  [ -s "$f" ] || python3 - "$f" "$ADV_MB" "$2" <<'PY'
import sys, random
path, mb, expr = sys.argv[1], int(sys.argv[2]), sys.argv[3]
random.seed(1)
chunk = eval(expr)
n = mb * 1048576
with open(path, 'wb') as f:
    done = 0
    while done < n:
        c = chunk[: n - done]
        f.write(c)
        done += len(c)
PY
  echo "$f"
}

# case NAME RULE-BODY DATAFILE
run_case() {
  local name=$1 rule=$2 file=$3
  printf 'rule adv_%s { strings: $a = %s condition: $a }\n' "$name" "$rule" > "$ADV_DIR/$name.yar"
  /usr/bin/time -f '%e %M' -o "$ADV_DIR/y.t" yara -s -p 1 "$ADV_DIR/$name.yar" "$file" 2> "$ADV_DIR/y.err" | sort | md5sum > "$ADV_DIR/y.md5"
  /usr/bin/time -f '%e %M' -o "$ADV_DIR/k.t" "$KENSA" scan --no-extract -s -p 1 "$ADV_DIR/$name.yar" "$file" 2> "$ADV_DIR/k.err" | sort | md5sum > "$ADV_DIR/k.md5"
  read -r yw ym < "$ADV_DIR/y.t"; read -r kw km < "$ADV_DIR/k.t"
  local same=identical
  cmp -s "$ADV_DIR/y.md5" "$ADV_DIR/k.md5" || same=DIFFERENT
  cmp -s <(grep -v '^$' "$ADV_DIR/y.err") <(grep -v '^$' "$ADV_DIR/k.err") || same="$same (stderr differs)"
  awk -v n="$name" -v r="$rule" -v yw="$yw" -v kw="$kw" -v ym="$ym" -v km="$km" -v s="$same" \
    'BEGIN{printf "%-14s %-44s yara %7.2fs %7d KB | kensa %7.2fs %7d KB | ratio %5.2f | %s\n", n, r, yw, ym, kw, km, (kw>0?yw/kw:0), s}'
}

A=$(data aaaa "b'a' * 63 + b'\\n'")
LOW=$(data lower "bytes(random.choice(b'abcdefghijklmnopqrstuvwyz') for _ in range(65536))")
EQ=$(data equals "b''.join(b'k%d=v%d=%s\\n' % (i, i, b'=' * (i % 50)) for i in range(4000))")
BIN=$(data binary "bytes(random.choice(b'abcd\\x00\\x01\\xff') for _ in range(1 << 20))")

CASES=${CASES:-"nested_plus star_class dot_star wide_jumps alternatives chain_gap"}
for c in $CASES; do
  case $c in
    nested_plus)  run_case nested_plus '/(a+)+b/' "$A" ;;
    star_class)   run_case star_class '/[a-z]*x/' "$LOW" ;;
    dot_star)     run_case dot_star '/.*.*=.*/' "$EQ" ;;
    wide_jumps)   run_case wide_jumps '{ 61 [1-180] 62 [1-180] 63 [1-180] 64 }' "$BIN" ;;
    alternatives) run_case alternatives '{ (61|62|63|64) (61|62|63|64) (00|01|FF) [0-100] (61 62|63 64|00 FF) ?? (01|00) }' "$BIN" ;;
    chain_gap)    run_case chain_gap '{ 61 62 63 [0-1000] 64 61 62 [300-2000] 63 64 }' "$BIN" ;;
  esac
done
