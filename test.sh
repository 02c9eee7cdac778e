#!/usr/bin/env bash
# test.sh - build with AddressSanitizer + UndefinedBehaviorSanitizer and run every test (ctest).
# Tests that need yara or ../shared are skipped when those are missing.
#   ./test.sh [extra ctest arguments, e.g. -R cli]
set -euo pipefail
cd "$(dirname "$0")"
cmake -S . -B build-asan -DKENSA_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build-asan -j"$(nproc 2>/dev/null || echo 2)"
cd build-asan
ctest --output-on-failure -j2 "$@"
