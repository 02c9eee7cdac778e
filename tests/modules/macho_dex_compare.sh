#!/bin/bash
# macho_dex_compare.sh - `kensa scan -D` vs `yara -D` for the macho and dex modules on synthetic
# files from gen_macho_dex.py (thin 32/64 LE/BE, fat 32/64, DEX 035-039, malformed variants)
# and damaged copies from mutate.py, plus has_method / has_class / file_index_for_arch /
# entry_point_for_arch results on the synthetic files.
#
#   macho_dex_compare.sh KENSA [PER_FILE]
# Exit 0 all identical, 1 difference, 77 skip (no yara / python3).
set -u
KENSA=$1
PER=${2:-6}
HERE=$(cd "$(dirname "$0")" && pwd)
command -v "${YARA:-yara}" >/dev/null 2>&1 || { echo "no yara: skipping"; exit 77; }
command -v python3 >/dev/null 2>&1 || { echo "no python3: skipping"; exit 77; }
work=$(mktemp -d)
[ -n "${KEEP:-}" ] || trap 'rm -rf "$work"' EXIT
python3 "$HERE/gen_macho_dex.py" "$work/gen" >/dev/null || exit 77
mkdir -p "$work/mut"
python3 "$HERE/mutate.py" "$work/mut" 7 "$PER" "$work"/gen/* >/dev/null
rc=0
bash "$HERE/module_compare.sh" "$KENSA" macho --quiet "$work"/gen/macho-* "$work"/mut/* || rc=1
bash "$HERE/module_compare.sh" "$KENSA" dex --quiet "$work"/gen/dex-* "$work"/mut/* || rc=1
cat > "$work/fn.yar" <<'R'
import "macho"
import "dex"
rule m1 { condition: macho.file_index_for_arch(0x01000007) == 0 }
rule m2 { condition: macho.file_index_for_arch(0x0100000c) == 1 }
rule m3 { condition: macho.file_index_for_arch(0x12, 3) == 2 }
rule m4 { condition: not defined macho.file_index_for_arch(99) }
rule m5 { condition: macho.entry_point_for_arch(0x01000007) == 0x1000 + 0x1234 }
rule m6 { condition: macho.entry_point_for_arch(0x0100000c, 0) > 0 }
rule m7 { condition: macho.entry_point_for_arch(0x12, 0) < 0 }
rule m8 { condition: macho.entry_point_for_arch(0x12) != 0 }
rule d1 { condition: dex.has_method("main") }
rule d2 { condition: dex.has_method("LMain;", "onCreate") }
rule d3 { condition: dex.has_method("LOther;", "main") }
rule d4 { condition: dex.has_method(/^on/) }
rule d5 { condition: dex.has_method(/Main/, /init/) }
rule d6 { condition: dex.has_class("LMain;") }
rule d7 { condition: dex.has_class(/Obj/) }
rule d8 { condition: not defined dex.has_method("x") }
rule d9 { condition: dex.has_class(/^$/) }
R
n=0; same=0
for f in "$work"/gen/*; do
    n=$((n + 1))
    a=$("${YARA:-yara}" "$work/fn.yar" "$f" 2>&1)
    b=$("$KENSA" scan --no-extract "$work/fn.yar" "$f" 2>&1)
    if [ "$a" = "$b" ]; then same=$((same + 1)); else echo "DIFF functions: $f"; rc=1; fi
done
echo "functions: compared $n, identical $same"
exit $rc
