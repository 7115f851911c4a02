#!/bin/sh
# Resident memory of `vfs mount` over a long stress-ng run (issue 15,
# docs/mount.md "Under stress-ng"): mounts BACKEND, runs
#   stress-ng --temp-path MOUNT STRESS_ARGS --timeout SECS
# CYCLES times, and after each cycle prints the mount's VmRSS, its peak
# (VmHWM), the kernel nodes it holds and the store's held bytes
# (`vfs ctl stats`). Bounded memory shows as cycles after the first that
# end near the same figure.
#   tools/mount/stress_rss.sh BUILD_DIR [BACKEND=memory] [CYCLES=3] [SECS=3] [STRESS_ARGS="--class filesystem --seq 1"]
set -eu
build=${1:?usage: stress_rss.sh BUILD_DIR [BACKEND] [CYCLES] [SECS] [STRESSOR ARGS]}
backend=${2:-memory}
cycles=${3:-3}
secs=${4:-3}
which=${5:---class filesystem --seq 1}
. "$(dirname "$0")/mount_lib.sh"
start_mount "$build" "$backend" 1777

mib() { awk -v k="$1" '$1 == k":" { printf "%.0f", $2 / 1024 }' "/proc/$pid/status"; }
stats() {
  "$build/vfs" ctl "$ctl" stats |
    awk '/^store / { for (i = 2; i <= NF; ++i) { split($i, kv, "="); v[kv[1]] = kv[2] }
                     printf "held %.0f MiB", v["held_bytes"] / 1048576 }
         /^memory / { split($2, kv, "="); printf ", allocator free %.0f MiB", kv[2] / 1048576 }'
}

echo "backend $backend, $cycles cycles of stress-ng $which --timeout $secs"
echo "before    rss $(mib VmRSS) MiB, peak $(mib VmHWM) MiB, $(stats)"
start=$(date +%s)
i=1
while [ "$i" -le "$cycles" ]; do
  # shellcheck disable=SC2086
  stress-ng --temp-path "$mnt" $which --timeout "$secs" >"$work/stress.$i" 2>&1 || true
  rm -rf "$mnt"/tmp-stress-ng-* 2>/dev/null || true
  sleep 2  # the mount returns freed memory once a second (memory_trimmer.h)
  printf 'cycle %-3s rss %s MiB, peak %s MiB, %s (%ss)\n' "$i" "$(mib VmRSS)" "$(mib VmHWM)" "$(stats)" \
    "$(($(date +%s) - start))"
  i=$((i + 1))
done
failed=$(grep -h "unsuccessful\|failed:" "$work"/stress.* | sort | uniq | head -20 || true)
[ -n "$failed" ] && printf 'stress-ng reported:\n%s\n' "$failed"
exit 0
