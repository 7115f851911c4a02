#!/usr/bin/env bash
# Installs what is missing, builds, and runs the durability demonstration on
# the memory store: every durability call, a power cut, and what survived.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build --target vfs_tool
./build/vfs demo "$@"
