// The differential test against the kernel (issue 14, item 3): seeded random
// sequences of calls run on the VFS through the C API and on a fresh Linux
// tmpfs through the real syscalls, compared call by call (engine.h).
//
// CTest runs 10,000 calls (well under a second). The long mode is the same test with more:
//   VFS_DIFF_CALLS=100000 build/tests/differential_test
// or tests/differential/differential_main.cc (vfs_differential_run), which
// keeps going past a mismatch and groups them. VFS_DIFF_SEED moves the seeds.
//
// Differences that are the VFS's choice are not compared; each is listed in
// docs/semantics.md ("Differences from Linux tmpfs") with its rule id, and
// the code that leaves it out cites that id (engine.cc).
#include <gtest/gtest.h>

#include <cstdlib>
#include <iostream>
#include <map>
#include <string>

#include "tests/differential/engine.h"

namespace {

int64_t EnvOr(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::strtoll(v, nullptr, 10) : fallback;
}

constexpr int kSequenceLength = 150;

TEST(DifferentialTest, RandomSequencesAnswerAsLinuxTmpfs) {
  const int64_t calls = EnvOr("VFS_DIFF_CALLS", 10000);
  const uint64_t base = static_cast<uint64_t>(EnvOr("VFS_DIFF_SEED", 1));
  int64_t compared = 0;
  int mismatches = 0;
  std::map<std::string, int> explained;  // known differences, by reason
  for (uint64_t seed = base; compared < calls; ++seed) {
    vfs_diff::Generator gen(seed);
    std::vector<vfs_diff::Op> ops = gen.Sequence(kSequenceLength);
    std::string why;
    vfs_diff::Comparison c = vfs_diff::Compare(ops);
    if (!c.kernel_ran) {
      vfs_diff::RunKernel({}, &why);
      GTEST_SKIP() << "no tmpfs sandbox on this machine: " << why;
    }
    compared += static_cast<int64_t>(c.compared);
    if (c.explained != nullptr) ++explained[c.explained];
    if (!c.mismatch) continue;
    ++mismatches;
    std::vector<vfs_diff::Op> small = vfs_diff::Shrink(ops);
    ADD_FAILURE() << "seed " << seed << ": call " << c.index << " differs\n  "
                  << vfs_diff::Describe(ops[c.index]) << "\n  linux: " << c.kernel[c.index]
                  << "\n  vfs:   " << c.vfs[c.index] << "\nshrunk to " << small.size()
                  << " calls:\n"
                  << vfs_diff::Reproduction(small, seed);
    if (mismatches >= 3) break;  // enough to act on; the runner lists them all
  }
  std::cout << "differential: " << compared << " calls compared from seed " << base << ", "
            << mismatches << " sequences differ\n";
  for (const auto& [why, n] : explained) std::cout << "  known: " << why << ": " << n << "\n";
}

}  // namespace
