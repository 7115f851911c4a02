#!/usr/bin/env python3
"""Time ratio of two vfs_bench binaries, measured in close pairs.

    bench/paired_ratio.py BASE_BINARY NEW_BINARY [FILTER] [PAIRS] [MIN_TIME]

Runs each binary once per pair with --benchmark_filter=FILTER, one right
after the other on CPU 1 (taskset), alternating which goes first, and takes
the ratio NEW/BASE of each benchmark's real time within each pair. It prints
the median ratio over the pairs and its quartiles.

On a virtual machine the speed of one binary drifts by up to 2x between
rounds a minute apart; two runs a second apart see nearly the same machine,
so the ratio of a pair is steadier than the ratio of two medians taken over
separate rounds. Defaults: the three hot paths of docs/benchmarks.md, 40
pairs, 0.2 s per benchmark.
"""
import json
import statistics
import subprocess
import sys

HOT_PATHS = "BM_VfsPwrite/64$|BM_VfsFsyncClean|BM_VfsCreateWriteCloseUnlink"


def run(binary, filt, min_time):
    out = subprocess.run(
        ["taskset", "-c", "1", binary, f"--benchmark_filter={filt}",
         f"--benchmark_min_time={min_time}", "--benchmark_format=json"],
        capture_output=True, text=True, check=True).stdout
    return {b["name"]: b["real_time"] for b in json.loads(out)["benchmarks"]}


def main(argv):
    if len(argv) < 3 or argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if len(argv) > 1 and argv[1] in ("-h", "--help") else 2
    base, new = argv[1], argv[2]
    filt = argv[3] if len(argv) > 3 else HOT_PATHS
    pairs = int(argv[4]) if len(argv) > 4 else 40
    min_time = argv[5] if len(argv) > 5 else "0.2"
    ratios = {}
    for i in range(pairs):
        order = (base, new) if i % 2 == 0 else (new, base)
        times = {b: run(b, filt, min_time) for b in order}
        for name, t in times[new].items():
            if name in times[base] and times[base][name] > 0:
                ratios.setdefault(name, []).append(t / times[base][name])
    if not ratios:
        print(f"paired_ratio: no benchmark matched {filt!r}", file=sys.stderr)
        return 1
    print(f"{pairs} pairs, {min_time} s per benchmark, ratio = new / base (real time)")
    for name, v in ratios.items():
        v.sort()
        print(f"  {name}: median {statistics.median(v):.3f}, "
              f"quartiles {v[len(v) // 4]:.3f}-{v[3 * len(v) // 4]:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
