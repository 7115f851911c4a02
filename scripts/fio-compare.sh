#!/usr/bin/env bash
# Runs one fio job file with fio and with `vfs bench --fio` on the host, in
# turn ROUNDS times, then with `vfs bench --fio` on the VFS backends, and
# prints a Markdown table per run from both tools' fio JSON output
# (docs/benchmarks.md, "fio job files").
#   scripts/fio-compare.sh [JOB.fio] [ROUNDS] [BACKENDS]
# Defaults: examples/fio/sync-strategies.fio, 2, memory,fault:nvme.
# Needs fio (apt-get install fio) and python3, and a built ./build/vfs.
set -euo pipefail
cd "$(dirname "$0")/.."
job="${1:-examples/fio/sync-strategies.fio}"
rounds="${2:-2}"
backends="${3:-memory,fault:nvme}"
vfs=./build/vfs
out="$(mktemp -d)"
table() {  # fio JSON file, title
  python3 - "$1" "$2" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
print(f"\n{sys.argv[2]} ({d['fio version']})\n")
print("| job | write IOPS | clat p50 | clat p99 | sync calls | sync p50 | sync p99 |")
print("|---|---:|---:|---:|---:|---:|---:|")
def us(ns): return f"{ns/1000:.1f} us"
for j in d["jobs"]:
    w, s = j["write"], j["sync"]
    p = w["clat_ns"].get("percentile", {})
    sp = s["lat_ns"].get("percentile", {})
    n = s["lat_ns"]["N"]
    print(f"| {j['jobname']} | {w['iops']:.0f} | {us(p.get('50.000000', 0))} | {us(p.get('99.000000', 0))} | "
          f"{n} | {us(sp.get('50.000000', 0)) if n else '-'} | {us(sp.get('99.000000', 0)) if n else '-'} |")
PY
}
for r in $(seq 1 "$rounds"); do
  fio --output-format=json "$job" > "$out/fio.$r.json"
  # fio leaves its files (JOBNAME.0.0 in the job's directory); vfs bench removes its own.
  python3 -c '
import json, os, sys
d = json.load(open(sys.argv[1]))
for j in d["jobs"]:
    o = dict(d["global options"]); o.update(j.get("job options", {}))
    path = os.path.join(o.get("directory", "."), j["jobname"] + ".0.0")
    if os.path.isfile(path): os.remove(path)' "$out/fio.$r.json"
  table "$out/fio.$r.json" "fio, host, round $r"
  "$vfs" bench --no-progress --fio "$job" --output fio-json > "$out/vfs.$r.json"
  table "$out/vfs.$r.json" "vfs bench --fio, host, round $r"
done
"$vfs" bench --no-progress --fio "$job" backend="$backends" --output fio-json > "$out/vfs-backends.json"
table "$out/vfs-backends.json" "vfs bench --fio, backend=$backends"
rm -rf "$out"
