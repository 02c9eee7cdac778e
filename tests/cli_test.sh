#!/usr/bin/env bash
# cli_test.sh - compare `kensa scan` with yara 4.2.3 byte for byte (stdout, stderr, exit code)
# over bundled rules and data that exercise every output option.
#
#   tests/cli_test.sh KENSA_BINARY [YARA_BINARY]
#
# Exits 77 (ctest SKIP) when yara is not installed, 1 if any case differs.
set -u

KENSA=${1:?usage: cli_test.sh KENSA [YARA]}
YARA=${2:-yara}
KENSA=$(cd "$(dirname "$KENSA")" && pwd)/$(basename "$KENSA")
if ! command -v "$YARA" >/dev/null 2>&1; then
    echo "yara not found: skipping"
    exit 77
fi
if ! "$YARA" -v | grep -q '^4\.2\.'; then
    echo "yara is not 4.2.x: skipping"
    exit 77
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/kensa-cli.XXXXXX")
trap 'rm -rf "$T"' EXIT
cd "$T"

# ------------------------------------------------------------------ bundled rules
cat > basic.yar <<'EOF'
rule text_and_hex : tagA tagB {
  meta:
    author = "kensa \"tests\" \\ x"
    ctl = "tab\there\nnl \x01 \x7f \xff '"
    version = 3
    negative = -42
    active = true
    off = false
  strings:
    $a = "abc"
    $w = "abc" wide
    $x = "abc" xor
    $h = { 61 62 }
    $p = "xyz" private
    $nl = "q\nq"
  condition:
    any of them
}
private rule hidden { condition: true }
global rule everything { condition: true }
rule never { meta: why = "false" condition: false }
rule sized : tagB { condition: filesize > 0 }
rule empty_file { condition: filesize == 0 }
EOF

cat > tags.yar <<'EOF'
rule m1 : tA { condition: true }
rule n1 : tA tB { condition: false }
rule m2 { condition: true }
rule n2 { condition: false }
rule n3 : tA { condition: false }
rule m3 : tA tC { condition: true }
EOF

cat > strs.yar <<'EOF'
rule strs {
  strings:
    $t = "hello" nocase
    $q = "a\"b\\c"
    $hx = { 00 ?? FF }
    $long_hex = { 41 41 [1-100] 42 }
    $re = /wor[a-z]d/
    $b64 = "secret" base64
    $xk = "key" xor(1-3)
    $full = "word" fullword
    $ww = "wide" wide ascii
  condition:
    any of them
}
rule longtext {
  strings:
    $a = { 43 43 43 43 }
  condition:
    $a
}
EOF

cat > ext.yar <<'EOF'
rule int_ext { condition: ext_int == 7 }
rule float_ext { condition: ext_float \ 2 == 0.75 }
rule bool_ext { condition: ext_bool }
rule str_ext { condition: ext_str contains "ell" }
EOF

cat > ns.yar <<'EOF'
rule in_ns : nst { strings: $a = "abc" condition: $a }
EOF

cat > bad.yar <<'EOF'
rule broken { condition: $a }
EOF

cat > inc.yar <<'EOF'
include "ns.yar"
rule includer { condition: in_ns }
EOF

cat > cuckoo.yar <<'EOF'
import "cuckoo"
rule ck { condition: true }
EOF

cat > modules.yar <<'EOF'
import "math"
rule entropyish { condition: math.entropy(0, filesize) >= 0 }
EOF

# ------------------------------------------------------------------ bundled data
# guards: a rule whose first condition fails has its strings skipped unless -n shows them
cat > guarded.yar <<'EOF'
rule mz_only { strings: $a = "abc" $b = { 61 62 } condition: uint16(0) == 0x5a4d and any of them }
rule small_only { strings: $c = "abc" $r = /h.l+o/ condition: filesize < 4 and any of them }
rule uses_dead { strings: $d = "abc" condition: $d and not mz_only and not small_only }
rule big_enough { strings: $e = "hello" condition: filesize > 4 and $e }
rule second_guard { strings: $f = "abc" condition: filesize > 4 and uint32(0) == 0x20636261 and $f }
rule second_fails { strings: $g = "abc" condition: filesize > 4 and uint8(1) == 0x41 and #g > 0 }
EOF

printf 'abc a\0b\0c\0 xyz q\nq \x01\x02\x03 hello\xff' > d1.bin
printf 'abc' | perl -pe 's/(.)/chr(ord($1)^5)/ge' >> d1.bin
printf 'HeLLo a"b\\c \x00\x01\xff world c2VjcmV0 jdx word words w\0i\0d\0e\0 wide\n' > d2.bin
printf 'AA' > d3.bin; head -c 100 /dev/zero | tr '\0' 'x' >> d3.bin; printf 'B' >> d3.bin
head -c 700 /dev/zero | tr '\0' 'C' > d4.bin
: > empty.bin
mkdir -p dir/sub/deeper
cp d1.bin dir/one.bin
cp d2.bin dir/sub/two.bin
printf 'abc' > dir/sub/deeper/three.bin
head -c 300 /dev/zero | tr '\0' 'Z' > dir/big.bin
ln -s ../d1.bin dir/link.bin
ln -s . dir/sub/self
printf 'd1.bin\n\nmissing.bin\ndir/sub\nd2.bin\n d1.bin\n' > list.txt
printf 'x\n' > mod.dat
printf '{bad' > bad.json

# ------------------------------------------------------------------ runner
pass=0
fail=0
failed=()

# run_case NAME [--no-stderr] ARGS...
run_case() {
    local name=$1; shift
    local check_err=1
    if [ "${1:-}" = "--no-stderr" ]; then check_err=0; shift; fi
    "$YARA" "$@" > y.out 2> y.err; echo "rc=$?" >> y.out
    "$KENSA" scan --no-extract "$@" > k.out 2> k.err; echo "rc=$?" >> k.out
    if cmp -s y.out k.out && { [ $check_err = 0 ] || cmp -s y.err k.err; }; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        failed+=("$name")
        echo "FAIL $name: $*"
        diff -u y.out k.out | sed -n '3,20p'
        [ $check_err = 1 ] && diff -u y.err k.err | sed -n '3,12p'
    fi
}

# plain output and every printing option
run_case plain basic.yar d1.bin
run_case strings -s basic.yar d1.bin
run_case length -L basic.yar d1.bin
run_case strings_length -s -L basic.yar d1.bin
run_case tags -g basic.yar d1.bin
run_case meta -m basic.yar d1.bin
run_case namespace -e basic.yar d1.bin
run_case all_print -g -m -e -s -L basic.yar d1.bin
run_case grouped -gmesL basic.yar d1.bin
run_case long_forms --print-tags --print-meta --print-namespace --print-strings --print-string-length basic.yar d1.bin
run_case count -c basic.yar d1.bin
run_case guard_strings -s guarded.yar d1.bin
run_case guard_negate -n -s guarded.yar d1.bin
run_case guard_count -c guarded.yar d1.bin
run_case negate -n basic.yar d1.bin
run_case negate_print -n -g -m -s basic.yar d1.bin
run_case negate_count -c -n basic.yar d1.bin
run_case empty_target basic.yar empty.bin
run_case dev_null basic.yar /dev/null
run_case fast -f -s basic.yar d1.bin
run_case data_forms -s strs.yar d2.bin
run_case hex_cap -s strs.yar d3.bin
run_case text_cap -s -L strs.yar d4.bin

# filters and limits
run_case tag_filter -t tA tags.yar d1.bin
run_case tag_filter2 -t tB -t tC tags.yar d1.bin
run_case tag_long --tag=tC tags.yar d1.bin
run_case id_filter -i m2 -i n2 tags.yar d1.bin
run_case id_over_tag -t tA -i m2 tags.yar d1.bin
run_case id_negate -n -i n2 tags.yar d1.bin
run_case count_filtered -c -t tA tags.yar d1.bin
run_case limit1 -l 1 tags.yar d1.bin
run_case limit2_count -l 2 -c tags.yar d1.bin
run_case limit_negate -n -l 2 tags.yar d1.bin
run_case limit_long --max-rules=2 tags.yar d1.bin

# externals
run_case ext_types -d ext_int=7 -d ext_float=1.5 -d ext_bool=true -d ext_str=hello ext.yar d1.bin
run_case ext_false -d ext_int=8 -d ext_float=1. -d ext_bool=false -d ext_str=xyz ext.yar d1.bin
run_case ext_long --define=ext_int=7 --define=ext_float=1.5 --define=ext_bool=true --define=ext_str=hello ext.yar d1.bin
run_case ext_atoi -d ext_int=4294967303 -d ext_float=1.5 -d ext_bool=true -d ext_str=hello ext.yar d1.bin
run_case ext_missing -d ext_int=7 ext.yar d1.bin
run_case ext_syntax -d ext_int -d ext_float=1.5 ext.yar d1.bin
run_case ext_string_num -d ext_int=x7 -d ext_float=1.5 -d ext_bool=true -d ext_str=hello ext.yar d1.bin

# rule files, namespaces, includes, errors
run_case ns_prefix -e myns:ns.yar basic.yar d1.bin
run_case two_ns -e a:ns.yar b:ns.yar d1.bin
run_case ns_abs_path -e "abs:$T/ns.yar" d1.bin          # NS:/absolute/path splits (yara 4.2.3)
cp ns.yar "c:ns.yar"; run_case colon_file -e c:ns.yar d1.bin  # an existing file name is not split
run_case include -e inc.yar d1.bin
run_case compile_error bad.yar d1.bin
run_case missing_rules nothere.yar d1.bin
run_case missing_target basic.yar nothere.bin
run_case missing_target_count -c basic.yar nothere.bin
run_case no_args --no-stderr basic.yar
run_case too_many_threads -p 33 basic.yar d1.bin
run_case unknown_option --bogus basic.yar d1.bin
run_case bad_int -p abc basic.yar d1.bin
run_case missing_value -t
run_case module_data_syntax -x math basic.yar d1.bin
run_case module_data_missing -x math=nothere.dat basic.yar d1.bin
run_case module_data_invalid -x cuckoo=bad.json cuckoo.yar d1.bin
run_case no_warnings -w basic.yar d1.bin
run_case fail_on_warnings_clean --fail-on-warnings basic.yar d1.bin
run_case module_print -D modules.yar d1.bin
run_case options_last basic.yar d1.bin -s -g

# directories (yara with one thread scans in readdir order, as kensa prints)
run_case dir -p 1 basic.yar dir
run_case dir_slash -p 1 basic.yar dir/
run_case dir_recursive -p 1 -r basic.yar dir
run_case dir_recursive_threads_long --threads=1 --recursive -s basic.yar dir
run_case dir_count -p 1 -r -c basic.yar dir
run_case dir_nofollow -p 1 -r -N basic.yar dir
run_case dir_skip -p 1 -r -z 100 basic.yar dir
run_case dir_limit -p 1 -r -l 2 tags.yar dir
run_case scan_list -p 1 --scan-list basic.yar list.txt
run_case scan_list_count -p 1 -c --scan-list basic.yar list.txt
run_case scan_list_recursive -p 1 -r --scan-list basic.yar list.txt
run_case scan_list_missing --scan-list basic.yar nolist.txt

# compiled rules: kensa compile output loaded with -C must behave like the sources
"$KENSA" compile basic.yar basic.kyc > /dev/null 2>&1
"$YARA" -s -g -m basic.yar d1.bin > y.out 2>&1; echo "rc=$?" >> y.out
"$KENSA" scan -C -s -g -m basic.kyc d1.bin > k.out 2>&1; echo "rc=$?" >> k.out
# hex strings print as text with -C (kensa.h does not expose the string kind): compare -g -m only
"$YARA" -g -m basic.yar d1.bin > y.out 2>&1; echo "rc=$?" >> y.out
"$KENSA" scan -C -g -m basic.kyc d1.bin > k.out 2>&1; echo "rc=$?" >> k.out
if cmp -s y.out k.out; then pass=$((pass + 1)); else fail=$((fail + 1)); failed+=(compiled); echo "FAIL compiled"; diff y.out k.out | head; fi
"$KENSA" scan -C basic.kyc basic.kyc d1.bin > k.out 2>&1; rc=$?
if [ $rc = 1 ] && grep -q "can't accept multiple rules files" k.out; then pass=$((pass + 1)); else fail=$((fail + 1)); failed+=(compiled_multi); echo "FAIL compiled_multi"; fi
"$KENSA" scan -C basic.yar d1.bin > k.out 2>&1; rc=$?
if [ $rc = 1 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); failed+=(compiled_bad); echo "FAIL compiled_bad"; fi

# kensa-only behaviour
"$KENSA" scan basic.yar 4242424 > k.out 2>&1; rc=$?
if [ $rc = 1 ] && grep -q "process scanning not supported" k.out; then pass=$((pass + 1)); else fail=$((fail + 1)); failed+=(pid); echo "FAIL pid"; fi
"$KENSA" scan --help > k.out 2>&1; rc=$?
miss=""
for o in atom-quality-table compiled-rules count define fail-on-warnings fast-scan help identifier \
         max-process-memory-chunk max-rules max-strings-per-rule module-data negate \
         no-follow-symlinks no-warnings print-meta print-module-data print-namespace print-stats \
         print-strings print-string-length print-tags recursive scan-list skip-larger stack-size \
         tag threads timeout version no-extract; do
    grep -q -- "--$o" k.out || miss="$miss $o"
done
if [ $rc = 0 ] && [ -z "$miss" ]; then pass=$((pass + 1)); else fail=$((fail + 1)); failed+=(help); echo "FAIL help: missing$miss"; fi
"$YARA" -p 1 -r basic.yar dir > y.out 2>&1
"$KENSA" scan -p 4 -r --no-extract basic.yar dir > k.out 2>&1
if cmp -s y.out k.out; then pass=$((pass + 1)); else fail=$((fail + 1)); failed+=(threads_order); echo "FAIL threads_order"; diff y.out k.out | head; fi
# `kensa --version`: the version, then the allocator the program runs on (mimalloc must be the
# program's malloc when it is linked at all)
"$KENSA" --version > k.out 2>&1; rc=$?
if [ $rc = 0 ] && head -1 k.out | grep -q '^kensa .*YARA 4.2.3' && sed -n 2p k.out | grep -q '^allocator: ' &&
   ! grep -q 'not its' k.out; then pass=$((pass + 1)); else fail=$((fail + 1)); failed+=(version); echo "FAIL version"; cat k.out; fi

echo "$pass passed, $fail failed"
[ $fail = 0 ]
