#!/usr/bin/env bash
# The mount against the file systems under real programs, in one run
# (docs/benchmarks.md, "vfs mount against tmpfs and ext4"):
#   dbench (4 clients), 20,000-file create/stat/rename/unlink (mount_files.c),
#   fio 4 KiB randwrite without and with fdatasync=1, and sqlite3
#   transactions with synchronous=FULL in WAL and DELETE journal modes,
# on tmpfs (/dev/shm), a directory of the host's ext4 (/var/tmp), and
# `vfs mount` with the memory and memory:volatile backends (its defaults:
# the kernel's write-back cache on). Prints a Markdown table with each
# figure and its ratio to ext4.
#
#   bench/mount_bench.sh BUILD_DIR [EXT4_DIR=/var/tmp] [TMPFS_DIR=/dev/shm]
# Environment: SECONDS_PER_JOB (dbench and fio run time, default 10),
#   TXNS (sqlite3 transactions, default 20000), TARGETS (default
#   "tmpfs ext4 vfs-memory vfs-volatile"; vfs-memory-uring is the memory
#   backend over io_uring, --no-writeback-cache --io-uring, where the
#   kernel offers it; vfs-memory-wt is the memory
#   backend without the write-back cache, --no-writeback-cache),
#   MOUNT_FLAGS (more `vfs mount` flags), EXTRA="name:DIR" to add a
#   directory served by something else, LAZYFS_BIN=PATH to add LazyFS
#   (built from its public source; not a dependency) over a directory of
#   EXT4_DIR, with its default configuration (1 GiB cache, no eviction).
set -euo pipefail
build=$(cd "${1:?usage: mount_bench.sh BUILD_DIR [EXT4_DIR] [TMPFS_DIR]}" && pwd)
ext4=${2:-/var/tmp}
tmpfs=${3:-/dev/shm}
secs=${SECONDS_PER_JOB:-10}
txns=${TXNS:-20000}
targets=${TARGETS:-"tmpfs ext4 vfs-memory vfs-volatile"}
here=$(cd "$(dirname "$0")" && pwd)
for tool in dbench fio sqlite3 cc; do
  command -v "$tool" >/dev/null || { echo "mount_bench: $tool is missing (apt-get install -y dbench fio sqlite3 gcc)" >&2; exit 2; }
done

work=$(mktemp -d)
pids=()
cleanup() {
  [ -d "$work/m-lazyfs" ] && fusermount3 -u "$work/m-lazyfs" 2>/dev/null
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$work" "$ext4/mount-bench.$$" "$ext4/mount-bench.$$.lazy-root" "$tmpfs/mount-bench.$$"
}
trap cleanup EXIT
cc -O2 -o "$work/mount_files" "$here/mount_files.c"

# The sqlite3 script: one table, $txns single-row transactions.
{
  echo "PRAGMA synchronous=FULL; CREATE TABLE t(k INTEGER PRIMARY KEY, v TEXT);"
  for ((i = 0; i < txns; i++)); do echo "BEGIN; INSERT INTO t(v) VALUES ('value $i'); COMMIT;"; done
} > "$work/txns.sql"

serve() {  # backend mountpoint [flags...]
  local backend=$1 dir=$2
  shift 2
  mkdir -p "$dir"
  : >"$work/log.${dir##*/}"
  # shellcheck disable=SC2086
  "$build/vfs" mount --backend "$backend" --no-control ${MOUNT_FLAGS:-} "$@" "$dir" 2>"$work/log.${dir##*/}" &
  pids+=($!)
  until grep -q serving "$work/log.${dir##*/}"; do
    kill -0 "${pids[-1]}" 2>/dev/null || { cat "$work/log.${dir##*/}" >&2; exit 1; }
    sleep 0.1
  done
}

dir_of() {
  case $1 in
    tmpfs) echo "$tmpfs/mount-bench.$$" ;;
    ext4) echo "$ext4/mount-bench.$$" ;;
    vfs-memory) echo "$work/m-memory" ;;
    vfs-volatile) echo "$work/m-volatile" ;;
    vfs-memory-wt) echo "$work/m-memory-wt" ;;
    vfs-memory-uring) echo "$work/m-memory-uring" ;;
    lazyfs) echo "$work/m-lazyfs" ;;
    *) echo "${1#*:}" ;;
  esac
}

lazyfs_mount() {  # mountpoint
  local root="$ext4/mount-bench.$$.lazy-root"
  mkdir -p "$1" "$root"
  printf '[faults]\nfifo_path="%s"\n[cache]\napply_eviction=false\n[cache.simple]\ncustom_size="1gb"\nblocks_per_page=1\n[filesystem]\nlog_all_operations=false\nlogfile=""\n' \
    "$work/lazyfs.fifo" > "$work/lazyfs.toml"
  "$LAZYFS_BIN" "$1" --config-path "$work/lazyfs.toml" -o modules=subdir -o subdir="$root" -f \
    >"$work/log.lazyfs" 2>&1 &
  pids+=($!)
  until mountpoint -q "$1"; do
    kill -0 "${pids[-1]}" 2>/dev/null || { cat "$work/log.lazyfs" >&2; exit 1; }
    sleep 0.1
  done
}

all_targets=$targets
[ -n "${LAZYFS_BIN:-}" ] && all_targets="$all_targets lazyfs"
[ -n "${EXTRA:-}" ] && all_targets="$all_targets $EXTRA"
declare -A result
for t in $all_targets; do
  name=${t%%:*}
  dir=$(dir_of "$t")
  case $name in
    vfs-memory) serve memory "$dir" ;;
    vfs-volatile) serve memory:volatile "$dir" ;;
    vfs-memory-wt) serve memory "$dir" --no-writeback-cache ;;
    vfs-memory-uring) serve memory "$dir" --no-writeback-cache --io-uring ;;
    lazyfs) lazyfs_mount "$dir" ;;
    *) mkdir -p "$dir" ;;
  esac
  run=$dir/run
  mkdir -p "$run"
  echo "== $name ($dir)" >&2
  # dbench: MB/s of 4 clients.
  result[$name.dbench]=$(timeout $((secs * 6)) dbench -D "$run" -t "$secs" 4 2>&1 | awk '/^Throughput/ {print $2}' || true)
  rm -rf "$run"/clients; mkdir -p "$run"
  # Metadata phases: ops/s.
  while read -r phase _ _ _ _ rate _; do
    result[$name.$phase]=$rate
  done < <("$work/mount_files" "$run" 20000 100 || true)
  # fio 4 KiB randwrite: IOPS, without and with fdatasync after each write.
  for mode in plain fdatasync; do
    extra=(); [ "$mode" = fdatasync ] && extra=(--fdatasync=1)
    result[$name.fio_$mode]=$(fio --name=rw --directory="$run" --rw=randwrite --bs=4k --size=64m \
        --ioengine=psync --fallocate=none --time_based --runtime="$secs" "${extra[@]}" \
        --output-format=terse --terse-version=3 2>/dev/null | awk -F';' '{print $49}' || true)
    rm -f "$run"/rw*
  done
  # sqlite3: seconds for $txns FULL transactions.
  for jm in wal delete; do
    rm -f "$run"/db*
    start=$(date +%s.%N)
    if (echo "PRAGMA journal_mode=$jm;"; cat "$work/txns.sql") | timeout 600 sqlite3 "$run/db" >/dev/null 2>&1; then
      end=$(date +%s.%N)
      result[$name.sqlite_$jm]=$(echo "$end - $start" | bc -l | xargs printf '%.2f')
    else
      result[$name.sqlite_$jm]=failed
    fi
  done
  rm -rf "$run"
done

printf '\n| target | dbench 4 MB/s | create/s | stat/s | rename/s | unlink/s | fio 4k randwrite IOPS | fio + fdatasync=1 IOPS | sqlite3 WAL FULL s | sqlite3 DELETE FULL s |\n'
printf '|---|---|---|---|---|---|---|---|---|---|\n'
keys="dbench create stat rename unlink fio_plain fio_fdatasync sqlite_wal sqlite_delete"
for t in $all_targets; do
  name=${t%%:*}
  row="| $name"
  for k in $keys; do
    v=${result[$name.$k]:-}
    [ -z "$v" ] && v="?"
    base=${result[ext4.$k]:-}
    if [ -n "$base" ] && [ "$name" != ext4 ] && [ -n "$v" ] && [ "$v" != "?" ] && [ "$v" != failed ]; then
      ratio=$(echo "$v / $base" | bc -l | xargs printf '%.2f')
      row="$row | $v (${ratio}×)"
    else
      row="$row | $v"
    fi
  done
  echo "$row |"
done
echo
echo "Ratios are to ext4 in the same run; for sqlite3 (seconds) lower is better."
