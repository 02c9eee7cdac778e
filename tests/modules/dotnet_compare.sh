#!/bin/bash
# dotnet_compare.sh - `kensa scan -D` vs `yara -D` with `import "dotnet"` over .NET assemblies:
# small C# programs compiled here with mcs (when installed: apt-get install mono-mcs), the
# assemblies under /usr/lib/mono, some non-.NET PE files, and damaged copies (mutate.py).
#
#   dotnet_compare.sh KENSA [MUTATIONS_PER_FILE]
# Exit 0 all identical, 1 difference, 77 skip (no yara / no assemblies).
set -u
KENSA=$1
PER=${2:-6}
HERE=$(cd "$(dirname "$0")" && pwd)
command -v "${YARA:-yara}" >/dev/null 2>&1 || { echo "no yara: skipping"; exit 77; }
work=$(mktemp -d)
[ -n "${KEEP:-}" ] || trap 'rm -rf "$work"' EXIT
files=()
if command -v mcs >/dev/null 2>&1; then
    cat > "$work/a.cs" <<'CS'
using System;
using System.Runtime.InteropServices;
using System.Reflection;
[assembly: AssemblyVersion("1.2.3.4")]
[assembly: Guid("12345678-1234-1234-1234-123456789abc")]
public class Program {
    const string K = "constant string";
    public const string K2 = "another";
    static readonly int[] arr = new int[] {1,2,3,4,5,6,7,8,9,10,11,12};
    [DllImport("user32.dll")] static extern int MessageBox(IntPtr h, string t, string c, int type);
    [DllImport("kernel32.dll")] static extern int GetTickCount();
    public static int Main(string[] args) {
        Console.WriteLine("hello world " + K + K2 + arr.Length);
        Console.WriteLine("");
        Console.WriteLine("\u00e9t\u00e9");
        return 0;
    }
}
CS
    cat > "$work/b.cs" <<'CS'
[assembly: System.Reflection.AssemblyCulture("fr")]
[assembly: System.Reflection.AssemblyVersion("9.8.7.6")]
public class X { public static void Main() { System.Console.WriteLine("x"); } }
CS
    echo "resource data here" > "$work/res.txt"
    (cd "$work" &&
     mcs -out:a.exe -resource:res.txt,MyRes a.cs >/dev/null 2>&1 && files+=("$work/a.exe")
     mcs -target:library -out:a.dll a.cs >/dev/null 2>&1
     mcs -platform:x64 -out:a64.exe a.cs >/dev/null 2>&1
     mcs -target:library -out:b.dll b.cs >/dev/null 2>&1
     mcs -out:b.exe b.cs >/dev/null 2>&1) 
    for f in a.exe a.dll a64.exe b.dll b.exe; do [ -f "$work/$f" ] && files+=("$work/$f"); done
fi
for f in /usr/lib/mono/4.5/*.dll /usr/lib/mono/4.5/*.exe /usr/lib/mono/gac/*/*/*.dll; do
    [ -f "$f" ] && [ "$(stat -c %s "$f")" -le 8000000 ] && files+=("$f")
done
# a few non-.NET PE files (is_dotnet = 0)
n=0
for f in /usr/lib/x86_64-linux-gnu/wine/*-windows/*.dll; do
    [ -f "$f" ] || continue
    files+=("$f"); n=$((n + 1)); [ $n -ge 10 ] && break
done
[ ${#files[@]} -ge 3 ] || { echo "no .NET assemblies: skipping"; exit 77; }
# damaged copies of the small assemblies
small=()
for f in "${files[@]}"; do [ "$(stat -c %s "$f")" -le 200000 ] && small+=("$f"); done
mkdir -p "$work/mut"
python3 "$HERE/mutate.py" "$work/mut" 1 "$PER" "${small[@]:0:30}" 2>/dev/null
for f in "$work"/mut/m*; do [ -f "$f" ] && files+=("$f"); done
bash "$HERE/module_compare.sh" "$KENSA" dotnet --quiet "${files[@]}"
