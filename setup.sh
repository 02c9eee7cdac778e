#!/usr/bin/env bash
# setup.sh - install kensa's build dependencies (Debian/Ubuntu) and build build/kensa.
#   ./setup.sh        (installs missing packages with apt-get: as root, or through sudo;
#                      SKIP_APT=1 to skip apt-get)
set -euo pipefail
cd "$(dirname "$0")"
PKGS="cmake gcc make pkg-config libvectorscan-dev libssl-dev libmagic-dev libjansson-dev libarchive-dev zlib1g-dev"
OPTIONAL="libmimalloc-dev"     # faster rule compiles (CMakeLists.txt, KENSA_MIMALLOC); not required
if [ "${SKIP_APT:-0}" != 1 ] && command -v apt-get >/dev/null 2>&1; then
    missing="" optmissing=""
    for p in $PKGS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
    for p in $OPTIONAL; do dpkg -s "$p" >/dev/null 2>&1 || optmissing="$optmissing $p"; done
    if [ -n "$missing$optmissing" ]; then
        SUDO=""
        if [ "$(id -u)" != 0 ]; then
            if command -v sudo >/dev/null 2>&1; then SUDO="sudo"
            elif [ -n "$missing" ]; then echo "need root to install:$missing (run ./setup.sh as root)"; exit 1
            else SUDO="none"; fi
        fi
        if [ "$SUDO" != none ]; then
            $SUDO apt-get update
            if [ -n "$missing" ]; then
                DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends $missing
            fi
            if [ -n "$optmissing" ]; then
                DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends $optmissing ||
                    echo "optional:$optmissing not installed (kensa builds with the system allocator)"
            fi
        fi
    fi
fi
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"$(nproc 2>/dev/null || echo 2)"
echo "built: build/kensa"
