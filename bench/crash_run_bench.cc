// Crash states checked per second by `vfs crash --run` with a trivial
// checker (`test -s data/x`): each state is built, served under a
// long-lived FUSE mount and handed to a fresh `sh -c CHECKER` process
// (docs/crash-testing.md, "Any program"). The program (a file replaced with
// fsyncs: 11 crash points, 2075 states under the weakest profile) is
// recorded once; each iteration explores the saved trace with N checkers at
// once. Needs FUSE (root, /dev/fuse) and the `vfs` binary next to bench/.
//
//   build/bench/crash_run_bench --benchmark_counters_tabular=true
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "benchmark/benchmark.h"

namespace {

std::string Vfs() {
  return (std::filesystem::read_symlink("/proc/self/exe").parent_path().parent_path() / "vfs").string();
}

int Shell(const std::string& command, std::string* output = nullptr) {
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return -1;
  char buf[4096];
  size_t n;
  std::string out;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  if (output != nullptr) *output = out;
  const int status = ::pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// The recorded run, made once.
struct Fixture {
  std::string dir, trace, error;
  Fixture() {
    char tmpl[] = "/tmp/vfs-crash-bench-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr || ::access("/dev/fuse", F_OK) != 0) {
      error = "FUSE is not available";
      return;
    }
    dir = tmpl;
    trace = dir + "/trace";
    std::filesystem::create_directories(dir + "/init/data");
    std::ofstream(dir + "/init/data/x") << "old";
    std::string out;
    const int status = Shell("cd " + dir + " && " + Vfs() +
                                 " crash --init init --run 'printf new > data/x.tmp && sync data/x.tmp && "
                                 "mv data/x.tmp data/x && sync data && echo replaced' --check true --trace " +
                                 trace,
                             &out);
    if (status != 0) error = "recording failed: " + out;
  }
  ~Fixture() {
    std::error_code ignored;
    if (!dir.empty()) std::filesystem::remove_all(dir, ignored);
  }
};

Fixture& Shared() {
  static Fixture fixture;
  return fixture;
}

// Arg: checkers at once (--jobs).
void BM_CrashRunTrivialChecker(benchmark::State& state) {
  Fixture& f = Shared();
  if (!f.error.empty()) {
    state.SkipWithError(f.error.c_str());
    return;
  }
  const std::string json = f.dir + "/report.json";
  const std::string command = Vfs() + " crash --trace " + f.trace +
                              " --check 'test -s data/x' --profile weakest --jobs " +
                              std::to_string(state.range(0)) + " --json " + json + " >/dev/null";
  double states = 0;
  for (auto _ : state) {
    if (Shell(command) != 0) {
      state.SkipWithError("vfs crash failed");
      return;
    }
    std::stringstream text;
    text << std::ifstream(json).rdbuf();
    const std::string s = text.str();
    const size_t at = s.find("\"states\":");
    if (at == std::string::npos) {
      state.SkipWithError("no report");
      return;
    }
    states += std::stod(s.substr(at + 9));
  }
  state.counters["states"] = benchmark::Counter(states / state.iterations());
  // States per second of wall time, the process start and the mounts included.
  state.counters["states_per_s"] = benchmark::Counter(states, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_CrashRunTrivialChecker)->Arg(1)->Arg(2)->Arg(4)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
