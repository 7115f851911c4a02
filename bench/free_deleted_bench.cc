// Deleted files give their memory back (issue 19, docs/benchmarks.md
// "Memory of deleted files"): the process's resident memory over the loop
// "create and write a 16 MiB file, fsync it, unlink it, fsync the directory",
// 100 times, on each store. Counters, in MiB: rss_start before the loop,
// rss_peak the largest seen after any step, rss_end after it, and
// store_held_peak the store's own count of page bytes (StoreStats::held_bytes).
// Each run is one iteration: the figure is the memory, not the time.
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>

#include "backends/disk/disk_store.h"
#include "backends/memory/memory_store.h"
#include "benchmark/benchmark.h"
#include "vfs/filesystem.h"

namespace vfs {
namespace {

constexpr double kMiB = 1 << 20;

// Resident set size of this process, from /proc/self/statm.
double RssMiB() {
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return -1;
  long size = 0, resident = 0;
  const int got = std::fscanf(f, "%ld %ld", &size, &resident);
  std::fclose(f);
  if (got != 2) return -1;
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / kMiB;
}

// range(0): 0 memory, 1 memory with a volatile cache, 2 disk (in $TMPDIR).
// range(1): rounds. range(2): file size in MiB.
void BM_DeleteLoopRss(benchmark::State& state) {
  const int kind = static_cast<int>(state.range(0));
  const int rounds = static_cast<int>(state.range(1));
  const size_t file = static_cast<size_t>(state.range(2)) << 20;
  std::string dir;
  std::shared_ptr<Store> store;
  if (kind == 2) {
    const char* tmp = std::getenv("TMPDIR");
    dir = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/vfs-rss-XXXXXX";
    if (::mkdtemp(dir.data()) == nullptr) return state.SkipWithError("mkdtemp failed");
    auto opened = OpenDiskStore(dir);
    if (!opened.ok()) return state.SkipWithError("disk store failed");
    store = *opened;
  } else {
    store = NewMemoryStore({.volatile_cache = kind == 1});
  }
  const std::string chunk(1 << 20, 'x');
  double start = 0, peak = 0, end = 0, held_peak = 0;
  for (auto _ : state) {
    auto mounted = Filesystem::Mount(store);
    if (!mounted.ok()) return state.SkipWithError(std::strerror(mounted.error()));
    std::unique_ptr<Filesystem> fs = std::move(mounted).value();
    start = RssMiB();
    auto note = [&] {
      peak = std::max(peak, RssMiB());
      held_peak = std::max(held_peak, static_cast<double>(store->Stats().held_bytes) / kMiB);
    };
    for (int round = 0; round < rounds; ++round) {
      auto fd = fs->Open("/big", O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (!fd.ok()) return state.SkipWithError("open failed");
      for (size_t at = 0; at < file; at += chunk.size()) {
        auto n = fs->Pwrite(*fd, chunk.data(), chunk.size(), static_cast<int64_t>(at));
        if (!n.ok()) return state.SkipWithError("write failed");
      }
      if (!fs->Fsync(*fd).ok() || !fs->Close(*fd).ok()) return state.SkipWithError("fsync failed");
      note();
      if (!fs->Unlink("/big").ok()) return state.SkipWithError("unlink failed");
      auto root = fs->Open("/", O_RDONLY | O_DIRECTORY);
      if (!root.ok() || !fs->Fsync(*root).ok() || !fs->Close(*root).ok()) {
        return state.SkipWithError("directory fsync failed");
      }
      note();
    }
    end = RssMiB();
  }
  state.counters["rss_start_MiB"] = start;
  state.counters["rss_peak_MiB"] = peak;
  state.counters["rss_end_MiB"] = end;
  state.counters["store_held_peak_MiB"] = held_peak;
  state.counters["file_MiB"] = static_cast<double>(file) / kMiB;
  store.reset();
  if (!dir.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
}
BENCHMARK(BM_DeleteLoopRss)
    ->ArgNames({"store", "rounds", "file_MiB"})
    ->Args({0, 100, 16})
    ->Args({1, 100, 16})
    ->Args({2, 100, 16})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace vfs
