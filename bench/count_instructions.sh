#!/usr/bin/env bash
# Instructions per call of the VFS's hot paths, counted by valgrind's
# callgrind, for one or more vfs_bench binaries (docs/benchmarks.md,
# "Counted instructions"). A count does not vary between runs as times do
# on a shared machine, so two builds can be compared to a percent.
#
#   bench/count_instructions.sh BASE/bench/vfs_bench build/bench/vfs_bench
#
# Collection is on only inside the measured calls. Each benchmark runs
# twice (--benchmark_min_time 0.02 and 0.3); the difference in
# instructions over the difference in calls is the cost of one more call,
# without the setup (pre-filled pages, the first fsync's write).
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: bench/count_instructions.sh VFS_BENCH [VFS_BENCH...]" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "count_instructions: valgrind is missing (apt-get install -y valgrind)" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# name | vfs_bench filter | the calls to collect | the call counted per iteration
cases=(
  "pwrite 64 B into a cached page|BM_VfsPwrite/64\$|Pwrite|Pwrite2"
  "fsync of a clean file|BM_VfsFsyncClean\$|Fsync|Fsync"
  "create + 4 KiB write + close + unlink|BM_VfsCreateWriteCloseUnlink\$|Open Pwrite Close Unlink|Unlink"
)

# Prints "instructions calls" of one callgrind output: the summary line and
# the calls= lines to the function named vfs::Filesystem::$2.
totals() {
  python3 - "$1" "vfs::Filesystem::$2(" <<'EOF'
import re, sys
names, calls, callee, total = {}, {}, None, 0
for line in open(sys.argv[1]):
    m = re.match(r'^(c?fn)=\((\d+)\)(?: (.*))?$', line.rstrip('\n'))
    if m:
        if m.group(3):
            names[m.group(2)] = m.group(3)
        if m.group(1) == 'cfn':
            callee = m.group(2)
        continue
    m = re.match(r'^calls=(\d+)', line)
    if m:
        calls[callee] = calls.get(callee, 0) + int(m.group(1))
    elif line.startswith('summary:'):
        total = int(line.split()[1])
print(total, sum(n for k, n in calls.items() if names.get(k, '').startswith(sys.argv[2])))
EOF
}

printf '| benchmark |'; for bin in "$@"; do printf ' %s |' "$bin"; done; echo
printf '|---|'; for _ in "$@"; do printf -- '---|'; done; echo
for entry in "${cases[@]}"; do
  IFS='|' read -r name filter collect counted <<<"$entry"
  printf '| %s |' "$name"
  for bin in "$@"; do
    toggles=()
    for fn in $collect; do toggles+=("--toggle-collect=vfs::Filesystem::$fn(*"); done
    for t in 0.02 0.3; do
      valgrind --tool=callgrind "${toggles[@]}" --callgrind-out-file="$work/cg.$t" \
        "$bin" --benchmark_filter="$filter" --benchmark_min_time="$t" >/dev/null 2>"$work/log" ||
        { cat "$work/log" >&2; exit 1; }
    done
    read -r i1 n1 < <(totals "$work/cg.0.02" "$counted")
    read -r i2 n2 < <(totals "$work/cg.0.3" "$counted")
    if [ "$n2" -le "$n1" ]; then echo "count_instructions: $bin ran no more calls in the longer run" >&2; exit 1; fi
    printf ' %s |' "$(python3 -c "print(f'{($i2 - $i1) / ($n2 - $n1):.1f}')")"
  done
  echo
done
