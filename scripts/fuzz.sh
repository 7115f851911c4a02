#!/usr/bin/env bash
# Builds the libFuzzer targets with clang under ASan and UBSan (in
# build-fuzz) and runs the VFS fuzzer for FUZZ_SECONDS (default 60) with a
# fixed seed over fuzz/corpus, then the store-loader fuzzer for
# FUZZ_STORE_SECONDS (default 30) over fuzz/store_corpus (0 skips one),
# printing the number of executions of each. New interesting
# inputs go to build-fuzz/corpus (fuzz/corpus stays as committed); a
# mismatch or sanitizer finding is saved as build-fuzz/crash-<sha1> and
# fails the script. Extra arguments go to the fuzzer:
#   FUZZ_SECONDS=3600 scripts/fuzz.sh -runs=1000000
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh clang libclang-rt-dev
dir=build-fuzz
launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang "${launcher[@]}" \
  -DVFS_SANITIZE=address,undefined -DVFS_FUZZ=ON \
  -DVFS_BUILD_TESTS=OFF -DVFS_BUILD_BENCH=OFF >/dev/null
cmake --build "$dir" -j"${FUZZ_BUILD_JOBS:-2}" --target vfs_fuzzer vfs_store_fuzzer
mkdir -p "$dir/corpus" "$dir/store-corpus"
seconds=${FUZZ_SECONDS:-60}
store_seconds=${FUZZ_STORE_SECONDS:-30}
log="$dir/fuzz.log"
status=0
if [ "$seconds" -gt 0 ]; then
echo "fuzzing for ${seconds}s (seed ${FUZZ_SEED:-1}); log in $log"
# -max_len bounds a program at a few hundred calls; -jobs/-workers 1: the
# fuzzer is one process (raise with FUZZ_ARGS on a bigger machine).
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  "$dir/fuzz/vfs_fuzzer" "$dir/corpus" fuzz/corpus \
  -seed="${FUZZ_SEED:-1}" -max_total_time="$seconds" -max_len=2048 -timeout=20 \
  -artifact_prefix="$dir/" -print_final_stats=1 ${FUZZ_ARGS:-} "$@" >"$log" 2>&1 || status=$?
if [ "$status" -ne 0 ]; then tail -n 60 "$log"; else grep -E '^(Done|stat::)' "$log" || true; fi
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
echo "executions: ${runs:-unknown}"
if [ "$status" -ne 0 ]; then
  echo "the fuzzer found a problem (exit $status); see $log and $dir/crash-*" >&2
  exit "$status"
fi
fi

# The store loader (fuzz/store_loader.h): disk store directories built from
# the input, in a scratch directory under /dev/shm (VFS_FUZZ_DIR to move it).
if [ "$store_seconds" -gt 0 ]; then
  store_log="$dir/store-fuzz.log"
  echo "fuzzing the store loader for ${store_seconds}s (seed ${FUZZ_SEED:-1}); log in $store_log"
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$dir/fuzz/vfs_store_fuzzer" "$dir/store-corpus" fuzz/store_corpus \
    -seed="${FUZZ_SEED:-1}" -max_total_time="$store_seconds" -max_len=4096 -timeout=20 \
    -rss_limit_mb=2048 -artifact_prefix="$dir/store-" -print_final_stats=1 \
    ${FUZZ_STORE_ARGS:-} >"$store_log" 2>&1 || status=$?
  if [ "$status" -ne 0 ]; then tail -n 60 "$store_log"; else grep -E '^(Done|stat::)' "$store_log" || true; fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$store_log" | tail -n 1)
  echo "store loader executions: ${runs:-unknown}"
  if [ "$status" -ne 0 ]; then
    echo "the store-loader fuzzer found a problem (exit $status); see $store_log and $dir/store-crash-*" >&2
    exit "$status"
  fi
fi
