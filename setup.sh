#!/usr/bin/env bash
# setup.sh - install kensa's build dependencies (Debian/Ubuntu) and build build/kensa.
#   ./setup.sh        (installs missing packages with apt-get: as root, or through sudo;
#                      SKIP_APT=1 to skip apt-get)
set -euo pipefail
cd "$(dirname "$0")"
PKGS="cmake gcc make pkg-config libvectorscan-dev libssl-dev libmagic-dev libjansson-dev libarchive-dev zlib1g-dev libmimalloc-dev"
if [ "${SKIP_APT:-0}" != 1 ] && command -v apt-get >/dev/null 2>&1; then
    missing=""
    for p in $PKGS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
    if [ -n "$missing" ]; then
        SUDO=""
        if [ "$(id -u)" != 0 ]; then
            if command -v sudo >/dev/null 2>&1; then SUDO="sudo"
            else echo "need root to install:$missing (run ./setup.sh as root)"; exit 1; fi
        fi
        $SUDO apt-get update
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends $missing
    fi
fi
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"$(nproc 2>/dev/null || echo 2)"
echo "built: build/kensa"
