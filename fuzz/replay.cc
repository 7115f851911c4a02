// vfs_fuzz_replay: runs fuzz inputs through the driver without libFuzzer
// (any compiler), printing the trace of a mismatch.
//
//   vfs_fuzz_replay FILE...          replay saved inputs (crash-*, regressions)
//   vfs_fuzz_replay --trace FILE...  the same, printing every call and answer
//   vfs_fuzz_replay --random SEED N  N pseudo-random inputs from SEED; the
//                                    first mismatching one is written to
//                                    ./mismatch-<seed>-<index>
//
// Exit status: 0 if every input agreed, 1 on a mismatch, 2 on bad usage.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "fuzz/fuzz_driver.h"

namespace {

bool verbose = false;

bool Report(const std::string& name, const std::vector<uint8_t>& input) {
  vfs::fuzz::DriverOptions options;
  options.trace = true;
  vfs::fuzz::RunOutcome outcome = vfs::fuzz::RunInput(input.data(), input.size(), options);
  if (verbose) std::printf("%s:\n%s", name.c_str(), outcome.trace.c_str());
  if (!outcome.mismatch) return true;
  std::printf("%s: %s", name.c_str(), outcome.report.c_str());
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::string(argv[1]) == "--random") {
    if (argc != 4) {
      std::fprintf(stderr, "usage: %s --random SEED COUNT\n", argv[0]);
      return 2;
    }
    const uint64_t seed = std::strtoull(argv[2], nullptr, 0);
    const long count = std::strtol(argv[3], nullptr, 0);
    uint64_t state = seed;
    size_t calls = 0;
    size_t crashes = 0;
    for (long i = 0; i < count; ++i) {
      std::vector<uint8_t> input(32 + (static_cast<size_t>(i) * 37) % 2000);
      for (uint8_t& b : input) {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;  // Knuth's LCG
        b = static_cast<uint8_t>(state >> 56);
      }
      vfs::fuzz::RunOutcome outcome = vfs::fuzz::RunInput(input.data(), input.size());
      calls += outcome.calls;
      crashes += outcome.crashes;
      if (outcome.mismatch) {
        const std::string name = "mismatch-" + std::to_string(seed) + "-" + std::to_string(i);
        if (FILE* f = std::fopen(name.c_str(), "wb")) {
          std::fwrite(input.data(), 1, input.size(), f);
          std::fclose(f);
        }
        Report(name, input);
        return 1;
      }
    }
    std::printf("seed %llu: %ld inputs, %zu calls, %zu crashes checked, no mismatch\n",
                static_cast<unsigned long long>(seed), count, calls, crashes);
    return 0;
  }
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s FILE... | --random SEED COUNT\n", argv[0]);
    return 2;
  }
  bool ok = true;
  int first = 1;
  if (std::string(argv[1]) == "--trace") {
    verbose = true;
    first = 2;
  }
  for (int i = first; i < argc; ++i) {
    std::vector<uint8_t> input;
    if (!vfs::fuzz::ReadInput(argv[i], &input)) {
      std::fprintf(stderr, "%s: cannot read\n", argv[i]);
      return 2;
    }
    ok = Report(argv[i], input) && ok;
  }
  if (ok) std::printf("%d inputs, no mismatch\n", argc - first);
  return ok ? 0 : 1;
}
