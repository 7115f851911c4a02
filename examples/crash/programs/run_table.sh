#!/bin/sh
# Runs every row of the table of real programs in docs/crash-testing.md and
# prints it. Needs FUSE (root), sqlite3, git, redis-server and rocksdb-tools.
#   examples/crash/programs/run_table.sh build/vfs [JOBS]
set -u
vfs=$(realpath "${1:-build/vfs}")
jobs=${2:-2}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/vfs-crash-table.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"
mkdir -p replace/data && printf old > replace/data/x
git init -q gitrepo/repo && git -C gitrepo/repo config user.name t && git -C gitrepo/repo config user.email t@t
git -C gitrepo/repo config core.fsyncMethod fsync
mkdir redis && sock=$work/r.sock
redis-server --port 0 --unixsocket "$sock" --dir "$work/redis" --appendonly yes --save '' --daemonize yes \
  --logfile "$work/r.log" >/dev/null
until [ "$(redis-cli -s "$sock" ping 2>/dev/null)" = PONG ]; do sleep 0.05; done
redis-cli -s "$sock" shutdown >/dev/null 2>&1; while [ -e "$sock" ]; do sleep 0.05; done

echo "| program | states | s | states/s | failures by cause | attributed fix |"
echo "|---|---|---|---|---|---|"
row() {  # name init workload checker [options]
  name=$1 init=$2 workload=$3 checker=$4; shift 4
  start=$(date +%s.%N)
  "$vfs" crash ${init:+--init "$init"} --run "$workload" --check "$checker" --jobs "$jobs" \
    --json "$work/r.json" "$@" >/dev/null 2>&1
  end=$(date +%s.%N)
  python3 - "$work/r.json" "$name" "$start" "$end" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
wall = float(sys.argv[4]) - float(sys.argv[3])
import re
def short(text):  # pids and long hashes make the table wide, not clearer
    text = re.sub(r", pid \d+", "", text)
    return re.sub(r"\b([0-9a-f]{7})[0-9a-f]{33}\b", r"\1", text)
causes = "<br>".join(
    f"{1 + f['more_states']} state(s): \"{short(f['message'])}\""
    + "".join(f" / \"{short(m)}\"" for m in f.get("other_messages", [])[:2])
    + f": {short(f['cause'])}" for f in r["failures"]) or "none"
fixes = "<br>".join(dict.fromkeys(short(f["fix"]) for f in r["failures"])) or "-"
print(f"| {sys.argv[2]} | {r['states']} | {wall:.1f} | {r['states'] / r['seconds'] if r['seconds'] else 0:.0f} | {causes} | {fixes} |")
PY
}
rc="sh $here/replace_check.sh"
row "replace: write, rename, no sync" replace 'printf new > data/x.tmp && mv data/x.tmp data/x && echo replaced' "$rc"
row "replace: rename, fsync of the directory only" replace 'printf new > data/x.tmp && mv data/x.tmp data/x && sync data && echo replaced' "$rc"
row "replace: fsync file, rename, fsync directory" replace 'printf new > data/x.tmp && sync data/x.tmp && mv data/x.tmp data/x && sync data && echo replaced' "$rc"
row "replace (same), weakest profile" replace 'printf new > data/x.tmp && sync data/x.tmp && mv data/x.tmp data/x && sync data && echo replaced' "$rc" --profile weakest
for mode in "wal full" "wal normal" "wal off" "delete full" "delete extra" "delete off"; do
  row "sqlite3 $mode" "" "sh $here/sqlite_work.sh $mode" "sh $here/sqlite_check.sh"
done
export GITOPT=""
row "git 2.39 commit, default core.fsync" gitrepo "sh $here/git_work.sh" "sh $here/git_check.sh"
export GITOPT="-c core.fsync=all"
row "git commit, core.fsync=all" gitrepo "sh $here/git_work.sh" "sh $here/git_check.sh"
export GITOPT=""
for policy in always everysec no; do
  row "redis appendfsync $policy" redis "sh $here/redis_work.sh $policy" "sh $here/redis_check.sh" --timeout 30
done
row "RocksDB 7.8 (ldb put, one process per write)" "" "sh $here/rocksdb_work.sh" "sh $here/rocksdb_check.sh"
row "redis appendfsync always, appendonlydir made by the workload" "" "sh $here/redis_work.sh always" "sh $here/redis_check.sh" --timeout 30
