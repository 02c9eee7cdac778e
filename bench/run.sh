#!/usr/bin/env bash
# bench/run.sh [CORPUS_DIR...] - kensa next to yara 4.2.3, same rules, same files, same run.
#
# Builds a Release kensa (build-rel/), then for each corpus (default: a synthetic-hits corpus
# made with ../shared/bench/make_synth.py, and /usr/bin) prints:
#   - ../shared/bench/compare.sh: yara -p 1 vs kensa -p 1, wall time incl. compiling the rules
#     from source, MB/s, the ratio, peak memory (maxrss), rule and string agreement (-s)
#   - yara -p 1 and kensa -p 1 again, run by turns (yara, kensa, yara, kensa, ...: REPEAT
#     pairs, same commands as compare.sh's): each run's time and the ratio of the best times.
#     compare.sh times all of yara's runs, then all of kensa's; on a machine whose speed drifts
#     over minutes, runs taken by turns see the same drift
#   - kensa -p 1 vs -p 2 on the same folder, by turns (thread scaling)
# and once: compile time from source (empty folder) and load time of precompiled rules (-C)
# for both.
#
# Environment:
#   RULES="f1.yar f2.yar ..."  rule files (default: signature-base's files, see RULESET)
#   RULESET=all                all: every signature-base file yara compiles with the externals
#                              below (741); modfree: those of them that import no module (605)
#   SIGBASE=DIR                signature-base yara folder (default ../shared/rules/signature-base/yara)
#   SYNTH_MB=200               size of the synthetic corpus
#   SYNTH_DIR=/tmp/kensa-bench-synth
#   REPEAT=1                   runs per measurement (best wall time is kept)
#   NOBUILD=1                  use the existing build-rel/kensa
set -u
HERE=$(cd "$(dirname "$0")/.." && pwd)
cd "$HERE" || exit 2
SHARED=${SHARED:-$HERE/../shared}
SIGBASE=${SIGBASE:-$SHARED/rules/signature-base/yara}
SYNTH_MB=${SYNTH_MB:-200}
SYNTH_DIR=${SYNTH_DIR:-/tmp/kensa-bench-synth}
REPEAT=${REPEAT:-1}
KENSA=$HERE/build-rel/kensa
EXT=(-d filename=x -d filepath=x -d extension=x -d filetype=x -d owner=x)
WORK=$(mktemp -d /tmp/kensa-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/empty"

if [ "${NOBUILD:-0}" != 1 ]; then
  cmake -S . -B build-rel -DCMAKE_BUILD_TYPE=Release > "$WORK/cmake.log" 2>&1 &&
    cmake --build build-rel -j"$(nproc)" --target kensa_cli >> "$WORK/cmake.log" 2>&1 ||
    { echo "build failed, see below"; tail -20 "$WORK/cmake.log"; exit 1; }
fi
[ -x "$KENSA" ] || { echo "no $KENSA"; exit 1; }

# The rule set: signature-base's files that yara compiles with the externals above; with
# RULESET=modfree only those importing no module (the issue's rule set until kensa's modules
# were complete). The list is cached.
RULESET=${RULESET:-all}
if [ -z "${RULES:-}" ]; then
  case "$RULESET" in
    all) LIST=${RULES_LIST:-/tmp/kensa-bench-rules-all.txt} ;;
    modfree) LIST=${RULES_LIST:-/tmp/kensa-bench-rules.txt} ;;
    *) echo "RULESET is all or modfree" >&2; exit 2 ;;
  esac
  if [ ! -s "$LIST" ]; then
    echo "selecting rule files ($RULESET) in $SIGBASE ..." >&2
    for f in "$SIGBASE"/*.yar "$SIGBASE"/*.yara; do
      [ -f "$f" ] || continue
      [ "$RULESET" = modfree ] && grep -q '^[[:space:]]*import' "$f" && continue
      yara -w "${EXT[@]}" "$f" /dev/null > /dev/null 2>&1 && echo "$f"
    done > "$LIST"
  fi
  RULES=$(tr '\n' ' ' < "$LIST")
fi
read -r -a RULEV <<< "$RULES"
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(awk '/MemTotal/{printf "%.1f GB", $2/1048576}' /proc/meminfo), $(uname -sr)"
echo "yara: $(yara -v)  kensa: $("$KENSA" --version | head -1)  rule files: ${#RULEV[@]}"

# best wall time of REPEAT runs: tm OUTVAR cmd... ; also sets MAXRSS
tm() {
  local var=$1; shift
  local best="" i w
  for ((i = 0; i < REPEAT; i++)); do
    /usr/bin/time -f '%e %M' -o "$WORK/t" "$@" > /dev/null 2> "$WORK/err"
    read -r w MAXRSS < "$WORK/t"
    if faster "$w" "$best"; then best=$w; fi
  done
  printf -v "$var" '%s' "$best"
}

# faster A B: A is a shorter time than B, or B is empty
faster() { [ -z "$2" ] || awk -v a="$1" -v b="$2" 'BEGIN{exit !(a<b)}'; }

# run1 OUT cmd...: one run, stdout to OUT; its wall time in W, its maxrss (KB) in M
run1() {
  local out=$1; shift
  /usr/bin/time -f '%e %M' -o "$WORK/t" "$@" > "$out" 2> /dev/null
  read -r W M < "$WORK/t"
}

echo
echo "== compile from source (scan of an empty folder) and load of precompiled rules (-C)"
tm YC yara -w "${EXT[@]}" "${RULEV[@]}" "$WORK/empty"; YCM=$MAXRSS
tm KC "$KENSA" scan --no-extract -w "${EXT[@]}" "${RULEV[@]}" "$WORK/empty"; KCM=$MAXRSS
yarac -w "${EXT[@]}" "${RULEV[@]}" "$WORK/rules.yarc" > /dev/null 2>&1
"$KENSA" compile -w "${EXT[@]}" "${RULEV[@]}" "$WORK/rules.kc" > /dev/null 2>&1
tm YL yara -C "$WORK/rules.yarc" "$WORK/empty"
tm KL "$KENSA" scan --no-extract -C "$WORK/rules.kc" "$WORK/empty"
printf 'compile: yara %ss (maxrss %s KB)  kensa %ss (maxrss %s KB)\n' "$YC" "$YCM" "$KC" "$KCM"
printf 'load -C: yara %ss  kensa %ss\n' "$YL" "$KL"

CORPORA=("$@")
if [ ${#CORPORA[@]} -eq 0 ]; then
  if [ ! -d "$SYNTH_DIR" ]; then
    echo "making a ${SYNTH_MB} MB synthetic corpus in $SYNTH_DIR ..." >&2
    python3 "$SHARED/bench/make_synth.py" --out "$SYNTH_DIR" --mb "$SYNTH_MB" > /dev/null
  fi
  CORPORA=("$SYNTH_DIR" /usr/bin)
fi

for C in "${CORPORA[@]}"; do
  echo
  echo "== corpus $C: yara -p 1 vs kensa -p 1 (../shared/bench/compare.sh, compile included)"
  REPEAT=$REPEAT "$SHARED/bench/compare.sh" "$KENSA scan --no-extract -p 1" "$C" "$RULES" |
    grep -E '^(corpus|compile|yara  |candidate |speed|rule-file|string matches|ratio=)'
  echo "== corpus $C: yara -p 1 and kensa -p 1 by turns ($REPEAT pairs, compile included, -s)"
  YT=""; KT=""; BY=""; BK=""
  for ((i = 0; i < REPEAT; i++)); do
    run1 "$WORK/turn.out" yara -w -p 1 -r -s "${EXT[@]}" "${RULEV[@]}" "$C"
    YT+=" $W"; if faster "$W" "$BY"; then BY=$W; fi
    run1 "$WORK/turn.out" "$KENSA" scan --no-extract -p 1 -w -r -s "${EXT[@]}" "${RULEV[@]}" "$C"
    KT+=" $W"; if faster "$W" "$BK"; then BK=$W; fi
  done
  awk -v ys="$YT" -v ks="$KT" -v by="$BY" -v bk="$BK" \
    'BEGIN{printf "yara:%s s  kensa:%s s  best %.2f / %.2f s  ratio %.2fx\n", ys, ks, by, bk, by / bk}'
  echo "== corpus $C: kensa thread scaling (-p 1 and -p 2 by turns)"
  P1=""; P2=""
  for ((i = 0; i < REPEAT; i++)); do
    run1 /dev/null "$KENSA" scan --no-extract -w -r -p 1 "${EXT[@]}" "${RULEV[@]}" "$C"
    if faster "$W" "$P1"; then P1=$W; M1=$M; fi
    run1 /dev/null "$KENSA" scan --no-extract -w -r -p 2 "${EXT[@]}" "${RULEV[@]}" "$C"
    if faster "$W" "$P2"; then P2=$W; M2=$M; fi
  done
  awk -v a="$P1" -v b="$P2" -v m1="$M1" -v m2="$M2" \
    'BEGIN{printf "kensa -p 1: %.2fs (maxrss %d KB)  -p 2: %.2fs (maxrss %d KB)  scaling %.2fx\n", a, m1, b, m2, a/b}'
done
