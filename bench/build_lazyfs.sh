#!/usr/bin/env bash
# Builds LazyFS (github.com/dsrhaslab/lazyfs), the FUSE peer of the mount
# benchmark, from a source tree given as its only argument, and prints the
# path of the binary for bench/mount_bench.sh's LAZYFS_BIN. LazyFS is not a
# dependency of this project: nothing here links to it.
#
# Its own build fetches toml11 and spdlog from the network; this script
# compiles the same sources against Debian's packages instead (libfuse3-dev,
# libspdlog-dev, libtoml11-dev: LazyFS pins spdlog 1.10.0 and toml11 3.7.1,
# the versions Debian 12 ships).
#   bench/build_lazyfs.sh /path/to/lazyfs-source [OUT_DIR]
#   LAZYFS_BIN=$(bench/build_lazyfs.sh SRC) TARGETS="ext4 vfs-memory lazyfs" \
#     bench/mount_bench.sh build
set -euo pipefail
src=${1:?usage: bench/build_lazyfs.sh LAZYFS_SOURCE_DIR [OUT_DIR]}
out=${2:-/tmp/lazyfs-build}
here=$(cd "$(dirname "$0")/.." && pwd)
[ -f "$src/lazyfs/src/main.cpp" ] && [ -d "$src/libs/libpcache/src" ] || {
  echo "build_lazyfs.sh: $src is not a LazyFS source tree (no lazyfs/src/main.cpp); pass the directory of a checkout" >&2
  exit 2
}
"$here/scripts/install-deps.sh" g++ pkg-config libfuse3-dev libspdlog-dev libtoml11-dev >&2
mkdir -p "$out/obj"
# shellcheck disable=SC2207
flags=(-std=c++17 -O2 -DNDEBUG $(pkg-config --cflags spdlog fuse3)
       -I"$src/libs/libpcache/include" -I"$src/lazyfs/include")
objs=()
while IFS= read -r file; do
  obj="$out/obj/$(echo "${file#"$src"/}" | tr / _).o"
  if [ ! -f "$obj" ] || [ "$file" -nt "$obj" ]; then
    g++ "${flags[@]}" -c "$file" -o "$obj" >&2
  fi
  objs+=("$obj")
done < <(find "$src/libs/libpcache/src" "$src/lazyfs/src" -name '*.cpp' | sort;
         echo "$src/lazyfs/include/lazyfs/fusepp/Fuse.cpp")
# shellcheck disable=SC2046
g++ -o "$out/lazyfs" "${objs[@]}" $(pkg-config --libs spdlog fuse3) -pthread >&2
echo "$out/lazyfs"
