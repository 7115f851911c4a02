// vfs crash: runs a workload script, crashes it at every point, checks every
// crash state of a profile, and reports each failure by a name that replays
// it alone. See docs/crash-testing.md.
#include "tools/crash_command.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/numbers.h"
#include "harness/workload_script.h"
#ifdef VFS_HAVE_MOUNT
#include "tools/crash_run.h"
#endif

namespace vfs {
namespace {

constexpr char kUsage[] =
    "usage: vfs crash SCRIPT [options]\n"
    "  --profile strict|ordered|writeback|weakest   crash model (default ordered)\n"
    "  --points requests|syscalls|syncs|marked      where to crash (default requests)\n"
    "  --sector BYTES        tearing unit of the weakest profile (default 512)\n"
    "  --limit N             states per point enumerated in full (default 4096)\n"
    "  --samples N           states per point sampled beyond the limit (default 256)\n"
    "  --seed N              sampling seed (default 1)\n"
    "  --shard I/N           check only shard I of N (from 0)\n"
    "  --page-size BYTES     the filesystem's page size (default 4096)\n"
    "  --max-failures N      stop after N failures (default 20)\n"
    "  --no-shrink           report failures as found\n"
    "  --json FILE           also write the report as JSON ('-' for stdout)\n"
    "  --replay NAME         check the named crash state alone\n";

int Usage(const char* why) {
  std::fprintf(stderr, "vfs crash: %s\n%s", why, kUsage);
  return 2;
}

}  // namespace

int CrashCommand(int argc, char** argv) {
#ifdef VFS_HAVE_MOUNT
  // A program crash-tested through FUSE (tools/crash_run.cc).
  if (argc >= 1 && std::strcmp(argv[0], "merge") == 0) return CrashMergeCommand(argc - 1, argv + 1);
  if (IsCrashRunInvocation(argc, argv)) return CrashRunCommand(argc, argv);
  if (argc >= 1 && (std::strcmp(argv[0], "--help") == 0 || std::strcmp(argv[0], "-h") == 0)) {
    std::printf("%s\n%s", kUsage, CrashRunUsage());
    return 0;
  }
#endif
  if (argc < 1) return Usage("no script given");
  const std::string script_path = argv[0];
  CrashExplorerOptions options;
  WorkloadScript::Points script_points = WorkloadScript::Points::kNone;
  std::string json_path, replay;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string { return i + 1 < argc ? argv[++i] : std::string(); };
    uint64_t n = 0;
    if (arg == "--profile") {
      auto profile = ParseCrashProfile(value());
      if (!profile.ok()) return Usage("--profile takes strict, ordered, writeback or weakest");
      options.profile = *profile;
    } else if (arg == "--points") {
      const std::string p = value();
      if (p == "requests") {
        options.points = CrashPoints::kStoreRequest;
      } else if (p == "syncs") {
        options.points = CrashPoints::kSyncCalls;  // reported by the VFS itself
      } else if (p == "syscalls" || p == "marked") {
        options.points = CrashPoints::kMarked;
        script_points = p == "syscalls" ? WorkloadScript::Points::kSyscalls
                                        : WorkloadScript::Points::kMarked;
      } else {
        return Usage("--points takes requests, syscalls, syncs or marked");
      }
    } else if (arg == "--sector" && absl::SimpleAtoi(value(), &n) && n > 0 && n <= 65536) {
      options.sector_size = static_cast<uint32_t>(n);
    } else if (arg == "--limit" && absl::SimpleAtoi(value(), &n) && n > 0) {
      options.exhaustive_limit = n;
    } else if (arg == "--samples" && absl::SimpleAtoi(value(), &n)) {
      options.samples = n;
    } else if (arg == "--seed" && absl::SimpleAtoi(value(), &n)) {
      options.seed = n;
    } else if (arg == "--page-size" && absl::SimpleAtoi(value(), &n)) {
      options.fs_options.page_size = static_cast<uint32_t>(n);
    } else if (arg == "--max-failures" && absl::SimpleAtoi(value(), &n) && n > 0) {
      options.max_failures = static_cast<uint32_t>(n);
    } else if (arg == "--shard") {
      const std::string s = value();
      const size_t slash = s.find('/');
      uint64_t shard = 0, shards = 0;
      if (slash == std::string::npos || !absl::SimpleAtoi(s.substr(0, slash), &shard) ||
          !absl::SimpleAtoi(s.substr(slash + 1), &shards) || shards == 0 || shard >= shards) {
        return Usage("--shard takes I/N with 0 <= I < N");
      }
      options.shard = static_cast<uint32_t>(shard);
      options.shards = static_cast<uint32_t>(shards);
    } else if (arg == "--no-shrink") {
      options.shrink = false;
    } else if (arg == "--json") {
      json_path = value();
    } else if (arg == "--replay") {
      replay = value();
    } else {
      return Usage(("bad argument '" + arg + "'").c_str());
    }
  }

  std::ifstream in(script_path);
  if (!in) {
    std::fprintf(stderr, "vfs crash: cannot read %s: %s\n", script_path.c_str(), std::strerror(errno));
    return 2;
  }
  std::stringstream text;
  text << in.rdbuf();
  std::string error;
  auto script = WorkloadScript::Parse(text.str(), &error);
  if (!script.ok()) {
    std::fprintf(stderr, "vfs crash: %s:%s\n", script_path.c_str(), error.c_str());
    return 2;
  }
  const Workload workload = script->AsWorkload(script_points);
  CrashExplorer explorer(options);

  if (!replay.empty()) {
    auto verdict = explorer.Replay(workload, script->AsChecker(), replay);
    if (!verdict.ok()) {
      std::fprintf(stderr, "vfs crash: '%s' is not a crash state of this script\n", replay.c_str());
      return 2;
    }
    std::printf("%s: %s\n", replay.c_str(), verdict->empty() ? "passes" : verdict->c_str());
    return verdict->empty() ? 0 : 1;
  }

  // A progress line for runs longer than a second.
  const auto start = std::chrono::steady_clock::now();
  auto last = start;
  bool printed = false;
  explorer.set_progress([&](uint64_t done, uint64_t total, uint64_t states, uint64_t failures) {
    const auto now = std::chrono::steady_clock::now();
    if (now - last < std::chrono::seconds(1) && done != total) return;
    const double seconds = std::chrono::duration<double>(now - start).count();
    if (seconds < 1.0) return;
    last = now;
    printed = true;
    std::fprintf(stderr, "\rpoint %llu/%llu, %llu states (%.0f/s), %llu failure(s)   ",
                 static_cast<unsigned long long>(done), static_cast<unsigned long long>(total),
                 static_cast<unsigned long long>(states), states / seconds,
                 static_cast<unsigned long long>(failures));
  });
  auto report = explorer.Run(workload, script->AsChecker());
  if (printed) std::fprintf(stderr, "\n");
  if (!report.ok()) {
    std::fprintf(stderr, "vfs crash: the exploration failed: %s\n", std::strerror(report.error()));
    return 2;
  }
  for (const std::string& failed : script->failures()) {
    std::fprintf(stderr, "vfs crash: warning: %s:%s\n", script_path.c_str(), failed.c_str());
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%s: profile %s, %llu crash points (%llu exhaustive, %llu sampled), %llu states "
              "checked in %.2f s, %zu failure(s)\n",
              script_path.c_str(), CrashProfileName(options.profile),
              static_cast<unsigned long long>(report->points),
              static_cast<unsigned long long>(report->exhaustive_points),
              static_cast<unsigned long long>(report->sampled_points),
              static_cast<unsigned long long>(report->states), seconds, report->failures.size());
  for (const CrashFailure& f : report->failures) {
    std::printf("\nFAIL %s\n  %s\n", f.name.c_str(), f.message.c_str());
    if (f.more_states > 0) {
      std::printf("  (and %llu more crash state(s) with the same cause)\n",
                  static_cast<unsigned long long>(f.more_states));
    }
    for (size_t i = 0; i < f.lost.size(); ++i) {
      std::printf("  lost: %s\n    protect with: %s\n", f.lost[i].c_str(), f.advice[i].c_str());
    }
    std::printf("  replay: vfs crash %s --replay %s\n", script_path.c_str(), f.name.c_str());
  }
  if (!json_path.empty()) {
    const std::string json = report->ToJson();
    if (json_path == "-") {
      std::printf("%s\n", json.c_str());
    } else if (std::ofstream out(json_path); !(out << json << "\n")) {
      std::fprintf(stderr, "vfs crash: cannot write %s\n", json_path.c_str());
      return 2;
    }
  }
  return report->failures.empty() ? 0 : 1;
}

}  // namespace vfs
