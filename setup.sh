#!/usr/bin/env bash
# setup.sh - install kensa's build dependencies (Debian/Ubuntu) and build build/kensa.
#   sudo ./setup.sh            (or ./setup.sh as root; SKIP_APT=1 to skip apt-get)
set -euo pipefail
cd "$(dirname "$0")"
PKGS="cmake gcc make pkg-config libvectorscan-dev libssl-dev libmagic-dev libjansson-dev libarchive-dev zlib1g-dev"
if [ "${SKIP_APT:-0}" != 1 ] && command -v apt-get >/dev/null 2>&1; then
    missing=""
    for p in $PKGS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
    if [ -n "$missing" ]; then
        if [ "$(id -u)" != 0 ]; then echo "need root to install:$missing (run: sudo ./setup.sh)"; exit 1; fi
        apt-get update
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing
    fi
fi
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"$(nproc 2>/dev/null || echo 2)"
# build/ may be created by root under sudo: let the invoking user use it
if [ -n "${SUDO_USER:-}" ]; then chown -R "$SUDO_USER": build 2>/dev/null || true; fi
echo "built: build/kensa"
