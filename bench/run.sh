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
    if [ -z "$best" ] || awk -v a="$w" -v b="$best" 'BEGIN{exit !(a<b)}'; then best=$w; fi
  done
  printf -v "$var" '%s' "$best"
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
  YT=(); KT=()
  for ((i = 0; i < REPEAT; i++)); do
    /usr/bin/time -f '%e' -o "$WORK/t" yara -w -p 1 -r -s "${EXT[@]}" "${RULEV[@]}" "$C" \
      > "$WORK/turn.out" 2> /dev/null
    YT+=("$(tail -1 "$WORK/t")")
    /usr/bin/time -f '%e' -o "$WORK/t" "$KENSA" scan --no-extract -p 1 -w -r -s "${EXT[@]}" \
      "${RULEV[@]}" "$C" > "$WORK/turn.out" 2> /dev/null
    KT+=("$(tail -1 "$WORK/t")")
  done
  printf '%s\n' "${YT[@]}" > "$WORK/yt"; printf '%s\n' "${KT[@]}" > "$WORK/kt"
  awk 'NR == FNR { y[NR] = $1; next } { k[FNR] = $1 }
       END { by = y[1]; bk = k[1]; ys = ""; ks = ""
             for (i = 1; i in y; i++) { if (y[i] < by) by = y[i]; ys = ys " " y[i] }
             for (i = 1; i in k; i++) { if (k[i] < bk) bk = k[i]; ks = ks " " k[i] }
             printf "yara:%s s  kensa:%s s  best %.2f / %.2f s  ratio %.2fx\n", ys, ks, by, bk, by / bk }' \
    "$WORK/yt" "$WORK/kt"
  echo "== corpus $C: kensa thread scaling (-p 1 and -p 2 by turns)"
  P1=""; P2=""
  for ((i = 0; i < REPEAT; i++)); do
    for p in 1 2; do
      /usr/bin/time -f '%e %M' -o "$WORK/t" "$KENSA" scan --no-extract -w -r -p $p "${EXT[@]}" \
        "${RULEV[@]}" "$C" > /dev/null 2> /dev/null
      read -r w m < "$WORK/t"
      if [ $p = 1 ]; then b=$P1; else b=$P2; fi
      if [ -z "$b" ] || awk -v a="$w" -v b="$b" 'BEGIN{exit !(a<b)}'; then
        if [ $p = 1 ]; then P1=$w; M1=$m; else P2=$w; M2=$m; fi
      fi
    done
  done
  awk -v a="$P1" -v b="$P2" -v m1="$M1" -v m2="$M2" \
    'BEGIN{printf "kensa -p 1: %.2fs (maxrss %d KB)  -p 2: %.2fs (maxrss %d KB)  scaling %.2fx\n", a, m1, b, m2, a/b}'
done
