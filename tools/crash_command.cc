// vfs crash: runs a workload script, crashes it at every point, checks every
// crash state of a profile, and reports each failure by a name that replays
// it alone. See docs/crash-testing.md.
#include "tools/crash_command.h"

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include "absl/strings/numbers.h"
#include "harness/workload_script.h"
#include "tools/input_file.h"
#include "tools/progress_line.h"
#ifdef VFS_HAVE_MOUNT
#include "tools/crash_run.h"
#endif

namespace vfs {
namespace {

constexpr char kUsage[] =
    "usage: vfs crash SCRIPT [options]\n"
    "  runs SCRIPT (a workload, docs/crash-testing.md; at most 16 MiB), crashes it at\n"
    "  every point and checks every crash state; exit 0 all pass, 1 failures, 2 usage\n"
    "  --profile strict|ordered|writeback|weakest   crash model (default ordered)\n"
    "  --points requests|syscalls|syncs|marked      where to crash (default requests)\n"
    "  --sector BYTES        tearing unit of the weakest profile: a power of two,\n"
    "                        at most the page size (default 512)\n"
    "  --limit N             states per point enumerated in full (default 4096)\n"
    "  --samples N           states per point sampled beyond the limit (default 256)\n"
    "  --seed N              sampling seed (default 1)\n"
    "  --shard I/N           check only shard I of N (from 0)\n"
    "  --page-size BYTES     the filesystem's page size: a power of two from 512\n"
    "                        to 65536 (default 4096)\n"
    "  --max-failures N      stop after N failures (default 20)\n"
    "  --no-shrink           report failures as found\n"
    "  --json FILE           also write the report as JSON ('-' for stdout)\n"
    "  --replay NAME         check the named crash state alone\n";

// Errors are one line: what is wrong and where to look (--help).
int Usage(const std::string& why) {
  std::fprintf(stderr, "vfs crash: %s (vfs crash --help lists the options)\n", why.c_str());
  return 2;
}

bool PowerOfTwo(uint64_t n) { return n != 0 && (n & (n - 1)) == 0; }

}  // namespace

int CrashCommand(int argc, char** argv) {
#ifdef VFS_HAVE_MOUNT
  // A program crash-tested through FUSE (tools/crash_run.cc).
  if (argc >= 1 && std::strcmp(argv[0], "merge") == 0) return CrashMergeCommand(argc - 1, argv + 1);
  if (IsCrashRunInvocation(argc, argv)) return CrashRunCommand(argc, argv);
#endif
  std::string script_path;
  CrashExplorerOptions options;
  WorkloadScript::Points script_points = WorkloadScript::Points::kNone;
  std::string json_path, replay;
  uint64_t sector = 0;  // 0: not given
  for (int i = 0; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
#ifdef VFS_HAVE_MOUNT
      std::printf("\n%s", CrashRunUsage());
#endif
      return 0;
    }
    if (arg.empty() || arg[0] != '-') {
      if (!script_path.empty()) return Usage("more than one script: '" + script_path + "' and '" + arg + "'");
      script_path = arg;
      continue;
    }
    const bool takes_value = arg != "--no-shrink";
    if (takes_value && i + 1 >= argc) return Usage(arg + " needs a value");
    const std::string v = takes_value ? argv[++i] : std::string();
    // A whole number in [lo, hi], or a one-line error naming the option.
    uint64_t n = 0;
    auto number = [&](uint64_t lo, uint64_t hi) {
      return absl::SimpleAtoi(v, &n) && n >= lo && n <= hi;
    };
    auto range = [&](uint64_t lo, uint64_t hi) {
      return arg + " " + v + ": give a whole number from " + std::to_string(lo) + " to " + std::to_string(hi);
    };
    if (arg == "--profile") {
      auto profile = ParseCrashProfile(v);
      if (!profile.ok()) return Usage("--profile takes strict, ordered, writeback or weakest");
      options.profile = *profile;
    } else if (arg == "--points") {
      if (v == "requests") {
        options.points = CrashPoints::kStoreRequest;
      } else if (v == "syncs") {
        options.points = CrashPoints::kSyncCalls;  // reported by the VFS itself
      } else if (v == "syscalls" || v == "marked") {
        options.points = CrashPoints::kMarked;
        script_points = v == "syscalls" ? WorkloadScript::Points::kSyscalls
                                        : WorkloadScript::Points::kMarked;
      } else {
        return Usage("--points takes requests, syscalls, syncs or marked");
      }
    } else if (arg == "--sector") {
      if (!number(1, 65536) || !PowerOfTwo(n)) {
        return Usage("--sector " + v + ": must be a power of two from 1 to 65536 (512, 4096, ...)");
      }
      sector = n;
    } else if (arg == "--page-size") {
      if (!number(512, 65536) || !PowerOfTwo(n)) {
        return Usage("--page-size " + v + ": must be a power of two from 512 to 65536 (4096, ...)");
      }
      options.fs_options.page_size = static_cast<uint32_t>(n);
    } else if (arg == "--limit") {
      if (!number(1, UINT64_MAX)) return Usage(range(1, UINT64_MAX));
      options.exhaustive_limit = n;
    } else if (arg == "--samples") {
      if (!number(0, UINT64_MAX)) return Usage(range(0, UINT64_MAX));
      options.samples = n;
    } else if (arg == "--seed") {
      if (!number(0, UINT64_MAX)) return Usage(range(0, UINT64_MAX));
      options.seed = n;
    } else if (arg == "--max-failures") {
      if (!number(1, UINT32_MAX)) return Usage(range(1, UINT32_MAX));
      options.max_failures = static_cast<uint32_t>(n);
    } else if (arg == "--shard") {
      const size_t slash = v.find('/');
      uint64_t shard = 0, shards = 0;
      if (slash == std::string::npos || !absl::SimpleAtoi(v.substr(0, slash), &shard) ||
          !absl::SimpleAtoi(v.substr(slash + 1), &shards) || shards == 0 || shard >= shards ||
          shards > UINT32_MAX) {
        return Usage("--shard takes I/N with 0 <= I < N");
      }
      options.shard = static_cast<uint32_t>(shard);
      options.shards = static_cast<uint32_t>(shards);
    } else if (arg == "--no-shrink") {
      options.shrink = false;
    } else if (arg == "--json") {
      json_path = v;
    } else if (arg == "--replay") {
      replay = v;
    } else {
      return Usage("unknown option '" + arg + "'");
    }
  }
  if (script_path.empty()) return Usage("no script given: vfs crash SCRIPT [options]");
  // The weakest profile tears pages into sectors: a sector must divide the
  // page (both are powers of two, so it must not be larger).
  const uint64_t page_size = options.fs_options.page_size != 0 ? options.fs_options.page_size : 4096;
  if (sector != 0) {
    if (sector > page_size) {
      return Usage("--sector " + std::to_string(sector) + " is larger than the page size " +
                   std::to_string(page_size) + ": give a sector that divides the page");
    }
    options.sector_size = static_cast<uint32_t>(sector);
  }

  std::string text, why;
  if (!ReadInputFile(script_path, "script", &text, &why)) {
    std::fprintf(stderr, "vfs crash: %s\n", why.c_str());
    return 2;
  }
  std::string error;
  auto script = WorkloadScript::Parse(text, &error);
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
  ProgressLine progress;
  explorer.set_progress(progress.Callback());
  auto report = explorer.Run(workload, script->AsChecker());
  progress.End();
  if (!report.ok()) {
    std::fprintf(stderr, "vfs crash: the exploration failed: %s\n", std::strerror(report.error()));
    return 2;
  }
  for (const std::string& failed : script->failures()) {
    std::fprintf(stderr, "vfs crash: warning: %s:%s\n", script_path.c_str(), failed.c_str());
  }
  const double seconds = progress.seconds();
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
