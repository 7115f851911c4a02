// Crash states checked per second: a workload of 106 calls writing 1 MiB
// over 8 files, with a checker that reads every file back, under each
// profile. The target is 10,000 states per second on one core.
// states_per_second is per second of CPU time (one core, whatever else the
// machine runs). BM_CrashStatesReplayed builds each state the reference way
// (CrashExplorerOptions::replay_states): the same states, for comparison.
#include <fcntl.h>

#include <string>

#include "benchmark/benchmark.h"
#include "harness/crash_explorer.h"

namespace vfs {
namespace {

constexpr int kFiles = 8;
constexpr int kChunks = 8;
constexpr size_t kChunk = 16 << 10;  // 8 files x 8 chunks x 16 KiB = 1 MiB

// Creates the 8 files and fsyncs the directory first, so every crash state
// has files to read (8 x open + close, open, fsync: 18 calls); then per file:
// open, 8 writes, fsync, close (8 x 11 = 88 calls). 106 calls in all, with
// an acknowledgement after each file.
void Workload(WorkloadContext& ctx) {
  Filesystem& fs = ctx.fs();
  for (int f = 0; f < kFiles; ++f) {
    (void)fs.Close(fs.Open("/f" + std::to_string(f), O_WRONLY | O_CREAT, 0644).value());
  }
  Fd root = fs.Open("/", O_RDONLY | O_DIRECTORY).value();
  (void)fs.Fsync(root);
  for (int f = 0; f < kFiles; ++f) {
    const std::string path = "/f" + std::to_string(f);
    Fd fd = fs.Open(path, O_WRONLY, 0644).value();
    for (int c = 0; c < kChunks; ++c) {
      const std::string data(kChunk, static_cast<char>('a' + (f + c) % 26));
      (void)fs.Pwrite(fd, data.data(), data.size(), static_cast<int64_t>(c * kChunk));
    }
    (void)fs.Fsync(fd);
    (void)fs.Close(fd);
    ctx.Ack(path, "written");
  }
}

// Bytes the checker read, to show the states were not empty.
thread_local uint64_t bytes_read = 0;

// Reads every file whole; fails only if a read fails.
std::string ReadEverything(Filesystem& fs, const Acks&) {
  static thread_local std::string buffer(kChunks * kChunk, '\0');
  for (int f = 0; f < kFiles; ++f) {
    auto fd = fs.Open("/f" + std::to_string(f), O_RDONLY);
    if (!fd.ok()) continue;  // not durable in this state: allowed here
    auto n = fs.Pread(*fd, buffer.data(), buffer.size(), 0);
    (void)fs.Close(*fd);
    if (!n.ok()) return "read failed";
    bytes_read += *n;
  }
  return "";
}

void Explore(benchmark::State& state, bool replay_states) {
  CrashExplorerOptions options;
  options.profile = static_cast<CrashProfile>(state.range(0));
  options.replay_states = replay_states;
  options.exhaustive_limit = 64;
  options.samples = 16;
  // The workload's size, counted by the explorer itself: a syscall crash
  // point per call it makes.
  CrashExplorerOptions per_call = options;
  per_call.points = CrashPoints::kSyscalls;
  auto calls = CrashExplorer(per_call).CrashPointsOf(Workload);
  state.counters["workload_calls"] = calls.ok() ? static_cast<double>(calls->size()) : 0;
  uint64_t states = 0;
  for (auto _ : state) {
    auto report = CrashExplorer(options).Run(Workload, ReadEverything);
    if (!report.ok() || !report->failures.empty()) state.SkipWithError("exploration failed");
    states += report.ok() ? report->states : 0;
  }
  state.counters["states_per_second"] = benchmark::Counter(static_cast<double>(states), benchmark::Counter::kIsRate);
  state.counters["KiB_read_per_state"] = states ? static_cast<double>(bytes_read) / 1024 / static_cast<double>(states) : 0;
  bytes_read = 0;
  state.SetLabel(CrashProfileName(options.profile));
}

void BM_CrashStates(benchmark::State& state) { Explore(state, /*replay_states=*/false); }
void BM_CrashStatesReplayed(benchmark::State& state) { Explore(state, /*replay_states=*/true); }

BENCHMARK(BM_CrashStates)
    ->Arg(static_cast<int>(CrashProfile::kStrict))
    ->Arg(static_cast<int>(CrashProfile::kOrdered))
    ->Arg(static_cast<int>(CrashProfile::kWeakest))
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_CrashStatesReplayed)
    ->Arg(static_cast<int>(CrashProfile::kStrict))
    ->Arg(static_cast<int>(CrashProfile::kOrdered))
    ->Arg(static_cast<int>(CrashProfile::kWeakest))
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace vfs
