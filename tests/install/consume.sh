#!/usr/bin/env bash
# Builds and runs the out-of-tree consumers against an installed vfs:
#   tests/install/consume.sh c   PREFIX WORKDIR   # C, through pkg-config
#   tests/install/consume.sh cxx PREFIX WORKDIR   # C++, through find_package(vfs):
#                                                 # vfs::vfs, one layer (vfs::memory), the C API
# PREFIX is what `cmake --install --prefix` was given (or /usr for the .deb).
# Used by CTest (tests/install/CMakeLists.txt) and scripts/package-test.sh.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
kind="$1" prefix="$2" work="$3"
rm -rf "$work"
mkdir -p "$work"
case "$kind" in
  c)
    # Only this prefix's vfs.pc, ahead of any the machine has.
    if [ "$prefix" != /usr ]; then
      export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
      pc="$(pkg-config --variable=pcfiledir vfs)"
      [ "$(cd "$pc" && pwd -P)" = "$(cd "$prefix/lib/pkgconfig" && pwd -P)" ] ||
        { echo "consume.sh: pkg-config found vfs.pc in $pc, not in $prefix" >&2; exit 1; }
    fi
    echo "pkg-config --cflags --libs vfs: $(pkg-config --cflags --libs vfs)"
    libdir="$(pkg-config --variable=libdir vfs)"
    # The C compiler, as C99: the header is plain C.
    rpath=()
    if [ "$prefix" != /usr ]; then rpath=(-Wl,-rpath,"$libdir"); fi
    cc -std=c99 -Wall -Wextra -pedantic -Werror -o "$work/c_consumer" "$here/c_consumer.c" \
      $(pkg-config --cflags --libs vfs) "${rpath[@]}"
    # It loads the installed libvfs.so.MAJOR, not a copy in the build tree.
    ldd "$work/c_consumer" | grep -E "libvfs\.so\.[0-9]+ => " || { echo "consume.sh: not linked to libvfs.so" >&2; exit 1; }
    "$work/c_consumer"
    ;;
  cxx)
    args=(-G Ninja -DCMAKE_BUILD_TYPE=Release)
    if [ "$prefix" != /usr ]; then args+=(-DCMAKE_PREFIX_PATH="$prefix" -DEXPECTED_PREFIX="$prefix"); fi
    if command -v ccache >/dev/null; then args+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache); fi
    cmake -S "$here/cxx" -B "$work" "${args[@]}"
    cmake --build "$work"
    "$work/cxx_consumer"
    "$work/c_consumer_cmake"
    # The static C API carries no libvfs.so dependency.
    if ldd "$work/c_consumer_static" | grep -q 'libvfs\.so'; then
      echo "consume.sh: c_consumer_static loads libvfs.so" >&2; exit 1
    fi
    "$work/c_consumer_static"
    "$work/layer_consumer"
    ;;
  *)
    echo "usage: consume.sh c|cxx PREFIX WORKDIR" >&2
    exit 2
    ;;
esac
