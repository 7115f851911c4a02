#!/bin/sh
# Deleted files give their memory back through the mount (issue 19,
# docs/benchmarks.md "Memory of deleted files"): runs a fio job that writes a
# file, fsyncs it and deletes it, ROUNDS times on `vfs mount --backend
# BACKEND`, and prints the mount's resident memory (VmRSS) before and after
# each round with the store's held and unlinked bytes (`vfs ctl stats`).
#
# fio does not fsync the directory after deleting its file, so the removal is
# not durable (rule D3) and a crash could bring the file back: the mount keeps
# its data. With --dirsync (the default) the script fsyncs the directory after
# each round, as an application that wants the deletion durable does; with
# --no-dirsync it does not, and the data stays until a sync.
#   tools/mount/fio_delete_rss.sh BUILD_DIR [BACKEND] [ROUNDS] [SIZE] [--no-dirsync]
set -eu
build=${1:?usage: fio_delete_rss.sh BUILD_DIR [BACKEND] [ROUNDS] [SIZE] [--no-dirsync]}
backend=${2:-memory}
rounds=${3:-10}
size=${4:-64m}
dirsync=${5:---dirsync}
. "$(dirname "$0")/mount_lib.sh"
start_mount "$build" "$backend"

rss() { awk '/^VmRSS:/ { printf "%.0f", $2 / 1024 }' "/proc/$pid/status"; }
held() {
  "$build/vfs" ctl "$ctl" stats |
    awk '/^store / { for (i = 2; i <= NF; ++i) { split($i, kv, "="); v[kv[1]] = kv[2] }
                     printf "held %.0f MiB, unlinked %.0f MiB", v["held_bytes"] / 1048576, v["unlinked_bytes"] / 1048576 }'
}

echo "backend $backend, $rounds rounds of fio --rw=write --size=$size --end_fsync=1 --unlink=1, $dirsync"
echo "before       rss $(rss) MiB, $(held)"
i=1
while [ "$i" -le "$rounds" ]; do
  fio --name=write-delete --directory="$mnt" --ioengine=psync --fallocate=none --rw=write \
      --bs=1m --size="$size" --end_fsync=1 --unlink=1 --output-format=terse >/dev/null
  if [ "$dirsync" = "--dirsync" ]; then
    "$build/vfs_sync_helper" fsync "$mnt"  # the deletion made durable (rule D3)
  fi
  printf 'round %-6s rss %s MiB, %s\n' "$i" "$(rss)" "$(held)"
  i=$((i + 1))
done
"$build/vfs" ctl "$ctl" sync >/dev/null
echo "after sync   rss $(rss) MiB, $(held)"
