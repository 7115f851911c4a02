#!/usr/bin/env bash
# pjdfstest (the POSIX conformance suite) through a fresh `vfs mount`:
# mounts the memory backend in a temporary directory, runs
# ../shared/tools/pjdfstest.sh (or $PJDFSTEST) on it, unmounts, and exits
# non-zero if any assertion failed (docs/mount.md). Needs root and FUSE.
#
# With BASELINE=tmpfs it also runs the suite on a fresh Linux tmpfs in the
# same run and fails only on an assertion that fails through the mount but
# passes on tmpfs: the runner makes its work directory with mktemp -d (mode
# 0700), so the few assertions that need another user to search it
# (rename/21.t 12-14) fail on every file system, tmpfs included. Both
# counts are printed; the comparison is by test file and assertion number.
#
# MOUNT_FLAGS adds `vfs mount` flags (e.g. "--no-writeback-cache --io-uring").
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
# shellcheck disable=SC2086
"$build/vfs" mount --no-control ${MOUNT_FLAGS:-} "$work/m" 2>"$work/log" &
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
if [ "${BASELINE:-}" != "tmpfs" ]; then
  "$pjdfstest" "$work/m" "$@"
  exit
fi
# The failed assertions of a runner log, one "FILE NUMBER" a line.
failures() {
  python3 - "$1" <<'PY'
import re, sys
text = open(sys.argv[1], errors="replace").read()
for m in re.finditer(r"tests/(\S+\.t)\s+\(Wstat: \d+ Tests: \d+ Failed: \d+\)\s*\n\s*Failed tests?:\s*([\d,\s-]+)", text):
    for part in m.group(2).replace("\n", " ").split(","):
        part = part.strip()
        if not part:
            continue
        lo, _, hi = part.partition("-")
        for n in range(int(lo), int(hi or lo) + 1):
            print(m.group(1), n)
PY
}
set +e
echo "pjdfstest through the mount:"
PJDFSTEST_LOG="$work/mount.log" "$pjdfstest" "$work/m" "$@"
mount_status=$?
mkdir "$work/t"
mount -t tmpfs -o size=512m tmpfs "$work/t" || { echo "pjdfstest_mount: cannot mount a tmpfs baseline" >&2; exit 2; }
echo "pjdfstest on Linux tmpfs (baseline, same run):"
PJDFSTEST_LOG="$work/tmpfs.log" "$pjdfstest" "$work/t" "$@"
umount "$work/t"
set -e
failures "$work/mount.log" | sort >"$work/mount.failed"
failures "$work/tmpfs.log" | sort >"$work/tmpfs.failed"
only_mount=$(comm -23 "$work/mount.failed" "$work/tmpfs.failed")
if [ -n "$only_mount" ]; then
  echo "failed through the mount but passed on tmpfs:"
  echo "$only_mount"
  exit 1
fi
if [ "$mount_status" -ne 0 ] && [ ! -s "$work/mount.failed" ]; then
  echo "pjdfstest_mount: the run through the mount failed without failed assertions" >&2
  tail -20 "$work/mount.log" >&2
  exit 1
fi
echo "every assertion that passes on tmpfs passes through the mount"
