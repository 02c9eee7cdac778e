#!/usr/bin/env bash
# bench/clamav.sh [-r RULES.yar...] [-S [SIGBASE_DIR]] [-o REPORT] [DIR|FILE]
#   ClamAV next to kensa on the same inputs with the same YARA rules.
#
# ClamAV (clamscan --allmatch, mail/OLE2/archive/PDF/HTML scanning on) loads YARA rules, though not
# all of them (no modules, externals, base64/xor modifiers, single-byte hex atoms, ...). This script
#   1. loads every rule file alone into ClamAV (`clamscan --debug -d FILE` on an empty file) and
#      reads its messages: which rules it loaded, which it failed to load or skipped, and why; a
#      file ClamAV rejects entirely ("Malformed database": ClamAV 1.x does that when the file's
#      last rule fails) is retried without that rule; ClamAV's database for the comparison is a
#      copy of the accepted files without the rules it did not load (loaded as given, a rule it
#      fails to parse can break the next rule: "error executing yara rule", which ends the YARA
#      evaluation of the object) - one --debug scan with the files as given is still reported;
#   2. checks that kensa compiles the rule files (a file it cannot compile is left out of kensa's run);
#   3. scans DIR with both, timed (/usr/bin/time: wall, user, sys, peak RSS; best of REPEAT runs,
#      rule loading included), one thread each (clamscan is single-threaded; kensa -p 1);
#   4. reduces both outputs to (input file, rule) pairs - ClamAV's `FILE: YARA.<rule>.UNOFFICIAL
#      FOUND`, kensa's `RULE FILE > object > ...` cut at the first " > " - and prints the counts,
#      the times, the rules ClamAV failed to load, the pairs ClamAV found and kensa missed (exit 3
#      if any), the pairs only kensa found with the objects it found them in, and a summary.
# The report also goes to REPORT (default bench/results/clamav-MODE.txt; bench/results/ is not
# gitignored: the lead decides whether a report is committed).
#
# Defaults: DIR = the mails of tests/fixtures/make_mails.py + examples/samples (copied into a temp
# folder); rules = tests/fixtures/extract.yar + examples/rules/*.yar.
#   -r FILE...  rule files (several after one -r, or -r repeated; a folder adds its *.yar *.yara)
#   -S [DIR]    signature-base mode: every *.yar/*.yara of DIR (default
#               ../shared/rules/signature-base/yara), one ClamAV load per file to find the files
#               that make ClamAV fail entirely; kensa gets each file in its own namespace
#   -o REPORT   report file
# Environment: KENSA=path (default build-rel/kensa, built like bench/run.sh unless NOBUILD=1),
#   REPEAT=3 runs per timing, KENSA_THREADS=1, CLAMSCAN=clamscan, LIST_LIMIT (rules listed on
#   stdout; all of them go to the report file), KEEP=1 keeps the work folder (probe logs, outputs).
# Exit: 0 kensa found all ClamAV found, 3 it missed some, 77 clamscan missing, 1/2 other errors.
set -u
HERE=$(cd "$(dirname "$0")/.." && pwd)
cd "$HERE" || exit 2
CLAMSCAN=${CLAMSCAN:-clamscan}
REPEAT=${REPEAT:-3}
KENSA_THREADS=${KENSA_THREADS:-1}
EXT=(-d filename= -d filepath= -d extension= -d filetype= -d owner=)

usage() { sed -n '2,3p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }

RULES=()
SIGBASE=""
REPORT=""
TARGET=""
add_rules() {
  if [ -d "$1" ]; then
    local f
    for f in "$1"/*.yar "$1"/*.yara; do [ -f "$f" ] && RULES+=("$(realpath "$f")"); done
  else
    RULES+=("$(realpath "$1")")
  fi
}
while [ $# -gt 0 ]; do
  case "$1" in
    -r)
      shift
      [ $# -gt 0 ] || usage
      add_rules "$1"; shift
      # further rule files after one -r: every argument that is a file, up to the last one if
      # it is the target (a file target must then be the only non-rule argument)
      while [ $# -gt 1 ] && [ -f "$1" ] && [ "${1#-}" = "$1" ]; do add_rules "$1"; shift; done
      if [ $# -eq 1 ] && [ -f "$1" ] && [[ "$1" == *.yar || "$1" == *.yara ]]; then add_rules "$1"; shift; fi
      ;;
    -S)
      shift
      if [ $# -gt 0 ] && [ -d "$1" ] && ls "$1"/*.yar > /dev/null 2>&1; then SIGBASE=$(realpath "$1"); shift
      else SIGBASE=$(realpath "$HERE/../shared/rules/signature-base/yara" 2>/dev/null || echo ""); fi
      [ -d "$SIGBASE" ] || { echo "clamav.sh: no signature-base folder (../shared/rules/signature-base/yara)" >&2; exit 2; }
      ;;
    -o) shift; [ $# -gt 0 ] || usage; REPORT=$1; shift ;;
    -h|--help) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) usage ;;
    *) [ -z "$TARGET" ] || usage; TARGET=$1; shift ;;
  esac
done

if ! command -v "$CLAMSCAN" > /dev/null 2>&1; then
  echo "clamav.sh: clamscan not found; install it with: apt-get install clamav" >&2
  echo "(no signature database or freshclam is needed: only the given YARA files are loaded)" >&2
  exit 77
fi
TIME=/usr/bin/time
[ -x "$TIME" ] || { echo "clamav.sh: needs /usr/bin/time (apt-get install time)" >&2; exit 2; }

BUILD=0
[ -z "${KENSA:-}" ] && [ "${NOBUILD:-0}" != 1 ] && BUILD=1
KENSA=${KENSA:-$HERE/build-rel/kensa}
WORK=$(mktemp -d /tmp/kensa-clamav.XXXXXX)
if [ "${KEEP:-0}" = 1 ]; then echo "work folder kept: $WORK" >&2; else trap 'rm -rf "$WORK"' EXIT; fi
if [ "$BUILD" = 1 ]; then
  cmake -S . -B build-rel -DCMAKE_BUILD_TYPE=Release > "$WORK/cmake.log" 2>&1 &&
    cmake --build build-rel -j"$(nproc)" --target kensa_cli >> "$WORK/cmake.log" 2>&1 ||
    { echo "build failed:"; tail -20 "$WORK/cmake.log"; exit 1; }
fi
[ -x "$KENSA" ] || { echo "clamav.sh: no kensa at $KENSA" >&2; exit 1; }

# ---- inputs
if [ -z "$TARGET" ]; then
  mkdir -p "$WORK/in"
  python3 tests/fixtures/make_mails.py "$WORK/in/mails" > /dev/null || { echo "make_mails.py failed" >&2; exit 1; }
  cp -r examples/samples "$WORK/in/samples"
  TARGET=$WORK/in
  TARGET_LABEL="tests/fixtures/make_mails.py mails + examples/samples"
else
  [ -e "$TARGET" ] || { echo "clamav.sh: no such file or folder: $TARGET" >&2; exit 2; }
  TARGET_LABEL=$TARGET
  TARGET=$(realpath "$TARGET")
fi
MODE=default
if [ -n "$SIGBASE" ]; then
  MODE=sigbase
  for f in "$SIGBASE"/*.yar "$SIGBASE"/*.yara; do [ -f "$f" ] && RULES+=("$f"); done
  RULES_LABEL="signature-base: $SIGBASE"
elif [ ${#RULES[@]} -eq 0 ]; then
  RULES=("$HERE/tests/fixtures/extract.yar" "$HERE"/examples/rules/*.yar)
  RULES_LABEL="tests/fixtures/extract.yar + examples/rules/*.yar"
else
  MODE=custom
  RULES_LABEL="${RULES[*]}"
  [ ${#RULES[@]} -gt 4 ] && RULES_LABEL="${RULES[0]} ... (${#RULES[@]} files)"
fi
[ ${#RULES[@]} -gt 0 ] || { echo "clamav.sh: no rule files" >&2; exit 2; }
REPORT=${REPORT:-$HERE/bench/results/clamav-$MODE.txt}
mkdir -p "$(dirname "$REPORT")"

# ---- 1. ClamAV: load every rule file alone
mkdir -p "$WORK/probe" "$WORK/db" "$WORK/db_asis" "$WORK/empty"
: > "$WORK/empty.txt"
: > "$WORK/rules.tsv"
R=$HERE/bench/clamav_report.py
probe() {   # probe RULEFILE LOG: load one file into ClamAV; 0 if it is accepted
  local d="$WORK/probe/one"
  rm -rf "$d"; mkdir -p "$d"
  cp "$1" "$d/r.yar"          # ClamAV takes YARA rules from files named *.yar / *.yara
  "$CLAMSCAN" --debug --database="$d/r.yar" "$WORK/empty.txt" > "$2" 2>&1
  local rc=$?
  echo "$rc" > "${2%.log}.rc"
  rm -rf "$d"
  ! grep -qE "Malformed database|Can't load|cli_loaddb.*error" "$2" && [ "$rc" -le 1 ]
}
echo "loading ${#RULES[@]} rule files into ClamAV one by one ..." >&2
i=0
for f in "${RULES[@]}"; do
  i=$((i + 1))
  idx=$(printf '%04d' "$i")
  printf '%s\t%s\n' "$idx" "$f" >> "$WORK/rules.tsv"
  base=$(basename "$f"); base=${base%.*}
  src=$f
  log="$WORK/probe/$idx.log"
  if ! probe "$f" "$log"; then
    # Rejected entirely. ClamAV 1.x drops a whole file when its last rule fails to load (not when
    # another one does): leave that rule out and try again, a few times.
    cp "$f" "$WORK/probe/$idx.yar"
    src=""
    for round in 1 2 3 4 5; do
      culprit=$(python3 "$R" culprit "$log")
      [ -n "$culprit" ] || break
      echo "$culprit" >> "$WORK/probe/$idx.stripped"
      python3 "$R" strip "$WORK/probe/$idx.yar" "$culprit"
      log="$WORK/probe/$idx.s.log"
      if probe "$WORK/probe/$idx.yar" "$log"; then src=$WORK/probe/$idx.yar; break; fi
    done
  fi
  [ -n "$src" ] && grep -q 'successfully loaded YARA\.' "$log" || continue
  cp "$src" "$WORK/db_asis/$idx-$base.yar"
  # ClamAV's database for the comparison: the file without the rules ClamAV did not load. A rule
  # ClamAV fails to parse can leave code behind that breaks the evaluation of the next rule
  # ("error executing yara rule", which ends the YARA evaluation of the object: nothing matches).
  cp "$src" "$WORK/db/$idx-$base.yar"
  mapfile -t unl < <(python3 "$R" unloaded "$log" "$src")
  [ ${#unl[@]} -gt 0 ] && python3 "$R" strip "$WORK/db/$idx-$base.yar" "${unl[@]}"
done
if [ -z "$(ls "$WORK/db")" ]; then
  echo "clamav.sh: ClamAV loaded no rule at all from the given files" >&2
fi

# ---- 1b. ClamAV as is (the accepted rule files unchanged): its detections and its YARA evaluation
# errors, from one --debug scan; then the same check on the cleaned database, where a rule that
# still fails to evaluate is left out (a few rounds).
CLAM_OPTS=(--allmatch=yes --recursive=yes --scan-mail=yes --scan-archive=yes --scan-ole2=yes
  --scan-pdf=yes --scan-html=yes --heuristic-alerts=no --max-recursion=17 --max-files=10000
  --max-filesize=100M --max-scansize=400M --max-scantime=120000 --no-summary)
evalscan() {   # evalscan DB LOG
  "$CLAMSCAN" --debug "${CLAM_OPTS[@]}" --database="$1" "$TARGET" 2>&1 |
    grep -aE 'beginning execution for lsig|error executing yara rule|FOUND$' > "$2"
}
echo "ClamAV --debug scans (rules as is, then cleaned) ..." >&2
evalscan "$WORK/db_asis" "$WORK/eval_asis.log"
grep -a 'FOUND$' "$WORK/eval_asis.log" > "$WORK/clam_asis.out"
grep -ac 'error executing yara rule' "$WORK/eval_asis.log" > "$WORK/clam_asis.everr"
: > "$WORK/evalbad.txt"
for round in 1 2 3; do
  evalscan "$WORK/db" "$WORK/eval$round.log"
  mapfile -t bad < <(python3 "$R" evalerrors "$WORK/eval$round.log")
  [ ${#bad[@]} -gt 0 ] || break
  for r in "${bad[@]}"; do
    echo "$r" >> "$WORK/evalbad.txt"
    for df in $(grep -lE "rule[[:space:]]+$r([^A-Za-z0-9_]|\$)" "$WORK"/db/*.yar); do
      python3 "$R" strip "$df" "$r"
    done
  done
  echo "ClamAV cannot evaluate: ${bad[*]} (left out, scanning again)" >&2
done

# ---- 2. kensa: the rule files together (each in its own namespace in -S mode), or the ones it compiles
KRULES=()
: > "$WORK/kprobe.tsv"
i=0
for f in "${RULES[@]}"; do
  i=$((i + 1))
  if [ "$MODE" = sigbase ]; then KRULES+=("ns$i:$f"); else KRULES+=("$f"); fi
done
if ! "$KENSA" scan -w "${EXT[@]}" "${KRULES[@]}" "$WORK/empty" > /dev/null 2> "$WORK/kcompile.err"; then
  echo "kensa does not compile the rule files together; checking them one by one ..." >&2
  OK=()
  i=0
  for f in "${RULES[@]}"; do
    i=$((i + 1)); idx=$(printf '%04d' "$i")
    if "$KENSA" scan -w "${EXT[@]}" "$f" "$WORK/empty" > /dev/null 2> "$WORK/k1.err"; then
      printf '%s\tok\n' "$idx" >> "$WORK/kprobe.tsv"; OK+=("${KRULES[$((i - 1))]}")
    else
      printf '%s\tfail\t%s\n' "$idx" "$(head -1 "$WORK/k1.err")" >> "$WORK/kprobe.tsv"
    fi
  done
  KRULES=("${OK[@]}")
fi

# ---- 3. timed scans
KENSA_OPTS=(scan -r -w -p "$KENSA_THREADS" --print-notes "${EXT[@]}")
best() {   # best OUT TIMEFILE cmd... : keeps the run with the lowest wall time
  local out=$1 tf=$2 r w; shift 2
  rm -f "$tf"
  for ((r = 0; r < REPEAT; r++)); do
    "$TIME" -f '%e %U %S %M' -o "$WORK/t" "$@" > "$WORK/$out.out.tmp" 2> "$WORK/$out.err.tmp"
    echo $? > "$WORK/$out.rc"
    w=$(tail -1 "$WORK/t" | cut -d' ' -f1)
    if [ ! -s "$tf" ] || awk -v a="$w" -v b="$(cut -d' ' -f1 "$tf")" 'BEGIN{exit !(a<b)}'; then
      tail -1 "$WORK/t" > "$tf"
      mv "$WORK/$out.out.tmp" "$WORK/$out.out"; mv "$WORK/$out.err.tmp" "$WORK/$out.err"
    fi
  done
}
echo "scanning with ClamAV and kensa ($REPEAT runs each) ..." >&2
best clam "$WORK/clam.time" "$CLAMSCAN" "${CLAM_OPTS[@]}" --database="$WORK/db" "$TARGET"
best kensa "$WORK/kensa.time" "$KENSA" "${KENSA_OPTS[@]}" "${KRULES[@]}" "$TARGET"
if ! grep -qE '^[01]$' "$WORK/clam.rc"; then
  echo "clamav.sh: clamscan failed (exit $(cat "$WORK/clam.rc")):" >&2; tail -5 "$WORK/clam.err" >&2; exit 1
fi
if [ "$(cat "$WORK/kensa.rc")" != 0 ]; then
  echo "clamav.sh: kensa failed (exit $(cat "$WORK/kensa.rc")):" >&2; grep -v '^note:' "$WORK/kensa.err" | tail -5 >&2; exit 1
fi

# ---- 4. report
{
  echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "clam_version=$("$CLAMSCAN" --version 2>/dev/null)"
  echo "clam_version_short=$("$CLAMSCAN" --version 2>/dev/null | cut -d/ -f1)"
  echo "kensa_version=$("$KENSA" --version | head -1) ($(git -C "$HERE" rev-parse --short HEAD 2>/dev/null)$(git -C "$HERE" diff --quiet 2>/dev/null || echo '+changes'))"
  echo "target_label=$TARGET_LABEL"
  echo "nfiles=$(find "$TARGET" -type f | wc -l)"
  echo "target_size=$(du -sh --apparent-size "$TARGET" | cut -f1)B"
  echo "rules_label=$RULES_LABEL"
  echo "clam_cmd=$CLAMSCAN ${CLAM_OPTS[*]} --database=DB_DIR TARGET  (DB_DIR: copies of the $(ls "$WORK/db" | wc -l) rule files ClamAV accepts, without the rules it does not load)"
  echo "kensa_cmd=kensa ${KENSA_OPTS[*]} RULES... TARGET  ($(echo "${#KRULES[@]}") rule files$([ "$MODE" = sigbase ] && echo ', NS:FILE each'))"
  echo "repeat=$REPEAT"
  echo "machine=$(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "list_limit=${LIST_LIMIT:-60}"
} > "$WORK/meta"
echo "$TARGET" > "$WORK/target"
python3 "$HERE/bench/clamav_report.py" "$WORK" > "$WORK/report.txt"
rc=$?
# stdout: the report with the rule list cut at LIST_LIMIT; the file: everything
sed -i 's/^list_limit=.*/list_limit=1000000/' "$WORK/meta"
python3 "$HERE/bench/clamav_report.py" "$WORK" > "$REPORT"
cat "$WORK/report.txt"
echo
echo "report written to ${REPORT#"$HERE"/}"
[ "$rc" -le 3 ] || exit 1
exit "$rc"
