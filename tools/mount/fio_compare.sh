#!/bin/sh
# Runs the same fio jobs on a `vfs mount` and on tmpfs, in one run, and prints
# one line per job and target (docs/benchmarks.md, "vfs mount under fio").
#   tools/mount/fio_compare.sh BUILD_DIR [BACKEND] [TMPFS_DIR]
set -eu
build=${1:?usage: fio_compare.sh BUILD_DIR [BACKEND] [TMPFS_DIR]}
backend=${2:-memory}
tmpfs=${3:-/dev/shm}
work=$(mktemp -d)
mnt=$work/m
mkdir "$mnt" "$tmpfs/vfs-fio.$$"
cleanup() {
  if [ -n "${pid:-}" ]; then kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work" "$tmpfs/vfs-fio.$$"
}
trap cleanup EXIT
"$build/vfs" mount --backend "$backend" --no-control "$mnt" 2>"$work/log" &
pid=$!
while ! grep -q serving "$work/log"; do
  kill -0 "$pid" 2>/dev/null || { cat "$work/log"; exit 1; }
  sleep 0.1
done

job() {  # name, then fio options
  name=$1; shift
  for target in "vfs-mount:$mnt" "tmpfs:$tmpfs/vfs-fio.$$"; do
    dir=${target#*:}
    fio --name="$name" --directory="$dir" --ioengine=psync --fallocate=none \
        --size=64m --output-format=terse --terse-version=3 "$@" >"$work/out"
    # fio terse v3 fields: read KiB/s 7, read IOPS 8, write KiB/s 48, write IOPS 49.
    awk -F';' -v t="${target%%:*}" -v n="$name" \
      '{ printf "%-28s %-10s read %8.0f IOPS %9.1f MiB/s   write %8.0f IOPS %9.1f MiB/s\n", n, t, $8, $7/1024, $49, $48/1024 }' "$work/out"
    rm -f "$dir"/*
  done
}
job seq-write-1m       --rw=write --bs=1m
job seq-read-1m        --rw=read --bs=1m
job rand-write-4k      --rw=randwrite --bs=4k
job rand-write-4k-fsync8 --rw=randwrite --bs=4k --fsync=8 --size=16m
job rand-read-4k       --rw=randread --bs=4k
