#!/bin/bash
# elf_compare.sh - `kensa scan -D` vs `yara -D` with `import "elf"` over >= 200 ELF files:
# /usr/bin, /usr/lib/x86_64-linux-gnu/*.so*, objects built here with gcc (-m32 when
# gcc-multilib works; -c for ET_REL), big-endian / other-class copies made by patching, and a
# set of damaged copies (truncated, zeroed tables, huge counts).
#
#   elf_compare.sh KENSA [MAX_SYSTEM_FILES]
# Exit 0 all identical, 1 difference, 77 skip (no yara / too few inputs).
set -u
KENSA=$1
MAX=${2:-400}
HERE=$(cd "$(dirname "$0")" && pwd)
command -v "${YARA:-yara}" >/dev/null 2>&1 || { echo "no yara: skipping"; exit 77; }
work=$(mktemp -d)
[ -n "${KEEP:-}" ] || trap 'rm -rf "$work"' EXIT

files=()
is_elf() { [ "$(head -c 4 "$1" 2>/dev/null | od -An -c | tr -d ' ')" = '177ELF' ]; }
for f in /usr/bin/* /usr/lib/x86_64-linux-gnu/*.so* /usr/lib/x86_64-linux-gnu/*.o \
         /usr/lib32/*.so* /usr/lib/gcc/x86_64-linux-gnu/*/32/*.o; do
    [ ${#files[@]} -ge "$MAX" ] && break
    [ -f "$f" ] && [ ! -L "$f" ] || continue
    # keep the run short: skip files over 20 MB
    [ "$(stat -c %s "$f")" -le 20000000 ] || continue
    is_elf "$f" && files+=("$f")
done

# built objects
if command -v gcc >/dev/null 2>&1; then
    cat > "$work/a.c" <<'EOF'
#include <stdio.h>
int g = 42; static int s; extern int e;
int f(int x) { return x + g + s; }
int main(void) { printf("%d\n", f(1)); return 0; }
EOF
    gcc -O1 -o "$work/a64" "$work/a.c" 2>/dev/null && files+=("$work/a64")
    gcc -O1 -c -o "$work/a64.o" "$work/a.c" 2>/dev/null && files+=("$work/a64.o")
    gcc -O1 -static -o "$work/a64s" "$work/a.c" 2>/dev/null && files+=("$work/a64s")
    gcc -O1 -no-pie -o "$work/a64e" "$work/a.c" 2>/dev/null && files+=("$work/a64e")
    gcc -O1 -s -o "$work/a64strip" "$work/a.c" 2>/dev/null && files+=("$work/a64strip")
    if gcc -m32 -O1 -o "$work/a32" "$work/a.c" 2>/dev/null; then
        files+=("$work/a32")
        gcc -m32 -O1 -c -o "$work/a32.o" "$work/a.c" 2>/dev/null && files+=("$work/a32.o")
        gcc -m32 -no-pie -O1 -o "$work/a32e" "$work/a.c" 2>/dev/null && files+=("$work/a32e")
    fi
fi

# derived files: flipped endianness byte (big-endian view of a little-endian file), truncated
# copies, and corrupted header fields
if command -v python3 >/dev/null 2>&1; then
    python3 - "$work" "${files[@]:0:40}" <<'EOF'
import sys, os, random
work = sys.argv[1]
random.seed(7)
out = []
for i, f in enumerate(sys.argv[2:]):
    try:
        d = bytearray(open(f, 'rb').read())
    except OSError:
        continue
    if len(d) < 64:
        continue
    b = bytearray(d); b[5] = 2            # read as big endian
    out.append(('be', b))
    b = bytearray(d); b[4] = 1 if d[4] == 2 else 2   # wrong class
    out.append(('cls', b))
    out.append(('trunc', d[:random.randint(16, min(len(d), 4096))]))
    out.append(('trunc2', d[:len(d) // 2]))
    b = bytearray(d)
    for _ in range(8):
        k = random.randrange(0, min(len(b), 64))
        b[k] = random.randrange(256)
    out.append(('hdr', b))
    b = bytearray(d)
    for _ in range(64):
        k = random.randrange(len(b))
        b[k] = random.randrange(256)
    out.append(('rnd', b))
for i, (tag, b) in enumerate(out):
    with open(os.path.join(work, 'd%03d_%s' % (i, tag)), 'wb') as fh:
        fh.write(b)
EOF
    for f in "$work"/d[0-9]*; do [ -f "$f" ] && files+=("$f"); done
fi

bash "$HERE/module_compare.sh" "$KENSA" elf --min 200 --quiet "${files[@]}"
