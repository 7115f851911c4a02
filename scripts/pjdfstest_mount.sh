#!/usr/bin/env bash
# pjdfstest (the POSIX conformance suite) through a fresh `vfs mount`:
# mounts the memory backend in a temporary directory, runs
# ../shared/tools/pjdfstest.sh (or $PJDFSTEST) on it, unmounts, and exits
# non-zero if any assertion failed (docs/mount.md). Needs root and FUSE.
#
#   scripts/pjdfstest_mount.sh [BUILD_DIR=build] [TEST_SUBDIR...]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
shift || true
# The suite's runner sits in ../shared/tools beside the main checkout
# (../../shared from a worktree under wt/).
pjdfstest=${PJDFSTEST:-}
if [ -z "$pjdfstest" ]; then
  for d in ../shared ../../shared; do
    [ -x "$d/tools/pjdfstest.sh" ] && pjdfstest=$(cd "$d/tools" && pwd)/pjdfstest.sh && break
  done
fi
[ -n "$pjdfstest" ] && [ -x "$pjdfstest" ] || { echo "pjdfstest_mount: $pjdfstest not found (set PJDFSTEST)" >&2; exit 2; }
[ -x "$build/vfs" ] || { echo "pjdfstest_mount: $build/vfs not built" >&2; exit 2; }
work=$(mktemp -d)
chmod 755 "$work"
mkdir "$work/m"
: >"$work/log"
"$build/vfs" mount --no-control "$work/m" 2>"$work/log" &
pid=$!
cleanup() {
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
until grep -q serving "$work/log"; do
  kill -0 "$pid" 2>/dev/null || { cat "$work/log" >&2; exit 1; }
  sleep 0.1
done
"$pjdfstest" "$work/m" "$@"
