#!/bin/bash
# pe_compare.sh - the `pe` module against yara 4.2.3: for a set of PE files, print every module
# value with `yara -D` and `kensa scan -D` (same `import "pe"` rule) and compare byte for byte.
#
#   tests/modules/pe_compare.sh [KENSA_BIN] [MAX_WINE_FILES]
#
# PE files: small programs built here with the mingw-w64 cross compilers (32/64-bit EXE, DLL with
# named / ordinal-only / forwarded exports, delay-loaded imports, ordinal imports, resources and
# version info via windres, long section names, an overlay, a truncated copy, an Authenticode
# signature made with osslsigncode and a throw-away self-signed certificate), plus wine's PE DLLs
# when installed. Exit 0 when all agree, 1 otherwise, 77 (skip) without yara or mingw.
# Set PE_COMPARE_KEEP=DIR to keep the generated files and the differing outputs.
set -u
KENSA=${1:-build/kensa}
MAXWINE=${2:-400}
YARA=$(command -v yara || true)
CC64=$(command -v x86_64-w64-mingw32-gcc || true)
CC32=$(command -v i686-w64-mingw32-gcc || true)
if [ -z "$YARA" ] || [ -z "$CC64" ] || [ -z "$CC32" ]; then
    echo "pe_compare: needs yara and mingw-w64 (x86_64/i686-w64-mingw32-gcc): skipping"
    exit 77
fi
if [ ! -x "$KENSA" ]; then
    echo "pe_compare: kensa binary '$KENSA' not found" >&2
    exit 2
fi
KENSA=$(cd "$(dirname "$KENSA")" && pwd)/$(basename "$KENSA")

W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
cd "$W" || exit 2

printf 'import "pe"\nrule t { condition: true }\n' > r.yar

# ---------------------------------------------------------------- fixtures
cat > hello.c <<'EOF'
#include <windows.h>
#include <stdio.h>
int main(int argc, char **argv) {
    HMODULE h = LoadLibraryA("user32.dll");
    printf("hello %p %d\n", (void *)h, GetTickCount() > 0);
    return argc > 5 ? MessageBoxA(NULL, "a", "b", 0) : 0;
}
EOF
cat > lib.c <<'EOF'
#include <windows.h>
__declspec(dllexport) int add(int a, int b) { return a + b; }
__declspec(dllexport) int sub(int a, int b) { return a - b; }
int hidden_one(void) { return 1; }
int hidden_two(void) { return 2; }
BOOL WINAPI DllMain(HINSTANCE h, DWORD r, LPVOID p) { return TRUE; }
EOF
cat > lib.def <<'EOF'
EXPORTS
    add
    sub
    hidden_one @ 7 NONAME
    hidden_two @ 9
    GetTickCountFwd = KERNEL32.GetTickCount
EOF
cat > delay.c <<'EOF'
#include <windows.h>
__declspec(dllimport) int add(int, int);
int main(void) { return add(1, 2) + (int)GetCurrentProcessId(); }
EOF
cat > ordimp.c <<'EOF'
#include <winsock2.h>
#include <oleauto.h>
int main(void) { WSADATA w; BSTR s = SysAllocString(L"x"); SysFreeString(s);
                 return WSAStartup(0x202, &w) + (int)htons(5); }
EOF
cat > ordimp.def <<'EOF'
LIBRARY WS2_32.dll
EXPORTS
    WSAStartup@8 @115 NONAME
    htons@4 @9 NONAME
EOF
cat > res.rc <<'EOF'
#include <winver.h>
1 VERSIONINFO
FILEVERSION 1,2,3,4
PRODUCTVERSION 5,6,7,8
FILEFLAGSMASK 0x3fL
FILEOS VOS_NT_WINDOWS32
FILETYPE VFT_APP
BEGIN
  BLOCK "StringFileInfo"
  BEGIN
    BLOCK "040904b0"
    BEGIN
      VALUE "CompanyName", "Kensa Test Corp"
      VALUE "FileDescription", "pe module fixture"
      VALUE "FileVersion", "1.2.3.4"
      VALUE "InternalName", "fixture"
      VALUE "LegalCopyright", "none"
      VALUE "OriginalFilename", "fixture.exe"
      VALUE "ProductName", "kensa"
      VALUE "ProductVersion", "5.6.7.8"
      VALUE "Empty", ""
    END
  END
  BLOCK "VarFileInfo"
  BEGIN
    VALUE "Translation", 0x409, 1200
  END
END
STRINGTABLE
BEGIN
  1 "first string"
  2 "second string"
END
MYDATA RCDATA { "raw resource bytes", 0 }
42 RCDATA { 1, 2, 3 }
LANGUAGE 0x07, 0x01
43 RCDATA { 4, 5, 6 }
EOF

built=0
build() {   # build NAME COMMAND... (failures are not fatal: the file is just missing)
    local name=$1; shift
    if "$@" > "build_$name.log" 2>&1; then built=$((built + 1)); else echo "pe_compare: could not build $name (skipped)"; fi
}
for arch in 64 32; do
    if [ $arch = 64 ]; then CC=$CC64; P=x86_64-w64-mingw32; else CC=$CC32; P=i686-w64-mingw32; fi
    build hello$arch $CC -O1 -o hello$arch.exe hello.c
    build hello${arch}s $CC -O2 -s -o hello${arch}s.exe hello.c
    build gui$arch $CC -O1 -mwindows -o gui$arch.exe hello.c
    build lib$arch $CC -shared -o lib$arch.dll lib.c lib.def -Wl,--out-implib,liblib$arch.a
    build libdbg$arch $CC -g -shared -o libdbg$arch.dll lib.c lib.def
    if [ -f lib$arch.dll ]; then
        build delayimp$arch $P-dlltool --input-def lib.def --dllname lib$arch.dll \
            --output-delaylib libdelay$arch.a
        build delay$arch $CC -o delay$arch.exe delay.c libdelay$arch.a
    fi
    if [ $arch = 64 ]; then sed 's/@[0-9]* @/ @/' ordimp.def > ordimp$arch.def; else cp ordimp.def ordimp$arch.def; fi
    build ordlib$arch $P-dlltool --input-def ordimp$arch.def --output-lib libordws$arch.a -k
    build ordimp$arch $CC -o ordimp$arch.exe ordimp.c libordws$arch.a -loleaut32
    build res$arch $P-windres res.rc -O coff -o res$arch.o
    [ -f res$arch.o ] && build resexe$arch $CC -o res$arch.exe hello.c res$arch.o
    build pdb$arch $CC -g -Wl,--build-id -o pdb$arch.exe hello.c
done
# an overlay and a truncated copy
if [ -f hello64.exe ]; then
    cat hello64.exe > overlay64.exe && head -c 3000 /dev/urandom >> overlay64.exe
    head -c 1500 hello64.exe > trunc64.exe
    head -c 700 hello32.exe > trunc32.exe 2>/dev/null
fi
# Authenticode with a throw-away self-signed certificate
if command -v osslsigncode >/dev/null && command -v openssl >/dev/null && [ -f res64.exe ]; then
    openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 3650 \
        -subj "/C=US/O=Kensa Test/CN=kensa pe fixture" >/dev/null 2>&1
    for f in res64.exe hello32.exe lib64.dll; do
        [ -f "$f" ] && osslsigncode sign -certs cert.pem -key key.pem -h sha256 -n "fixture" \
            -in "$f" -out "signed_$f" >/dev/null 2>&1 && built=$((built + 1))
    done
fi

# the hand-made PE of tests/unit/test_pe.c (delay imports, NONAME export, named resource type)
TP=$(dirname "$KENSA")/test_pe
[ -x "$TP" ] && "$TP" --write "$W" && built=$((built + 1))

files=$(ls *.exe *.dll 2>/dev/null)
for d in /usr/lib/x86_64-linux-gnu/wine/x86_64-windows /usr/lib/x86_64-linux-gnu/wine/i386-windows \
         /usr/lib/i386-linux-gnu/wine/i386-windows /usr/lib/wine/x86_64-windows \
         /usr/lib/wine/i386-windows; do
    [ -d "$d" ] && files="$files $(find "$d" -maxdepth 1 -type f \( -name '*.dll' -o -name '*.exe' \
        -o -name '*.sys' -o -name '*.drv' -o -name '*.ocx' \) | sort | head -n "$MAXWINE")"
done

total=0
same=0
same_signed=0   # identical once kensa's unsigned print of -1 is read as signed (see below)
for f in $files; do
    total=$((total + 1))
    "$YARA" -D r.yar "$f" > y.out 2>&1
    "$KENSA" scan --no-extract -D r.yar "$f" > k.out 2>&1
    if cmp -s y.out k.out; then
        same=$((same + 1))
        same_signed=$((same_signed + 1))
    else
        # yara -D prints integers signed (IMPORT_ANY = -1, an unmapped export offset = -1); an
        # unsigned printer shows 18446744073709551615 there. Count those files separately so
        # the module's own differences stand out.
        sed 's/= 18446744073709551615$/= -1/' k.out > k2.out
        cmp -s y.out k2.out && same_signed=$((same_signed + 1))
        echo "DIFF $f"
        diff y.out k.out | head -8
        if [ -n "${PE_COMPARE_KEEP:-}" ]; then
            mkdir -p "$PE_COMPARE_KEEP" && cp "$f" y.out k.out "$PE_COMPARE_KEEP/" 2>/dev/null
        fi
    fi
done
if [ -n "${PE_COMPARE_KEEP:-}" ]; then mkdir -p "$PE_COMPARE_KEEP" && cp ./*.exe ./*.dll "$PE_COMPARE_KEEP/" 2>/dev/null; fi
echo "pe_compare: $same of $total files identical (fixtures built: $built)"
echo "pe_compare: $same_signed of $total identical when -1 printed unsigned is read as signed"
[ "$same" -eq "$total" ]
