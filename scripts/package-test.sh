#!/usr/bin/env bash
# Builds the Debian package (CPack, cmake/VfsPackage.cmake), installs it with
# apt-get (which installs its Depends), then runs the installed `vfs demo`,
# `vfs --version`, the man page, and both out-of-tree consumers
# (tests/install/consume.sh) against /usr. Removes the package at the end
# unless KEEP_PACKAGE=1. Called by .ci/run after the tests; needs root or sudo.
#   BUILD_DIR=build scripts/package-test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${BUILD_DIR:-build}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive

cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$dir"
(cd "$dir" && cpack -G DEB >/dev/null)
version="$("$dir/vfs" --version | awk '{print $2}')"
deb="$(ls "$dir"/vfs_"$version"_*.deb)"
echo "package-test: $deb"
dpkg-deb --info "$deb" | sed -n 's/^ \(Package\|Version\|Depends\):/  \1:/p'

# Installed by apt-get from the file, so its Depends are resolved as a user's would be.
"${sudo_cmd[@]}" apt-get install -y -q "./$deb" >/dev/null
cleanup() {
  if [ "${KEEP_PACKAGE:-}" != 1 ]; then "${sudo_cmd[@]}" apt-get purge -y -q vfs >/dev/null || true; fi
}
trap cleanup EXIT

test "$(command -v vfs)" = /usr/bin/vfs
vfs --version
vfs demo >/dev/null && echo "package-test: vfs demo: every scenario matches the rules"
for page in /usr/share/man/man1/vfs.1 /usr/share/man/man1/vfs-bench.1; do
  test -s "$page" && echo "package-test: $page"
done
work="$(mktemp -d)"
tests/install/consume.sh c /usr "$work/c"
tests/install/consume.sh cxx /usr "$work/cxx"
rm -rf "$work"
echo "package-test: ok"
