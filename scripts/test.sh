#!/usr/bin/env bash
# Installs what is missing, builds everything, and runs the whole test suite
# (then, in CI or with FUZZ=1, a one-minute fuzz run: scripts/fuzz.sh).
# With SANITIZE=address,undefined (or thread) it builds in build-<name> with
# that sanitizer instead.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
dir=build
args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
if [ -n "${SANITIZE:-}" ]; then
  scripts/install-deps.sh clang libclang-rt-dev
  dir="build-$(echo "$SANITIZE" | tr ',' '-')"
  args=(-DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang
        -DVFS_SANITIZE="$SANITIZE" -DVFS_BUILD_BENCH=OFF)
fi
cmake -S . -B "$dir" -G Ninja "${args[@]}" >/dev/null
cmake --build "$dir"
jobs=$(nproc 2>/dev/null || echo 2)
ctest --test-dir "$dir" --output-on-failure -j "$jobs"
# The fuzzer, briefly (fuzz/README.md): in CI, or when FUZZ=1. It builds
# its own clang ASan+UBSan tree in build-fuzz, then fuzzes for
# FUZZ_SECONDS (default 60).
if [ "${CI:-}" = "true" ] || [ "${FUZZ:-}" = "1" ]; then
  scripts/fuzz.sh
fi
