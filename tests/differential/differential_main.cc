// vfs_differential_run: the long mode of the differential test (engine.h).
//
//   vfs_differential_run [--calls N] [--seed S] [--length L] [--shrink K]
//
// Runs sequences of L calls (default 150) from seed S (default 1) until N
// calls (default 100000) have been compared. Every differing sequence is
// counted by the kind of its first differing call; the first K (default 5)
// kinds found are shrunk and printed as C reproductions. Exit status 0 when
// nothing differs, 1 when something does, 2 when the kernel sandbox cannot
// be made.
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <string>

#include "tests/differential/engine.h"

int main(int argc, char** argv) {
  int64_t calls = 100000;
  uint64_t seed = 1;
  int length = 150;
  int shrink = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const long long v = std::strtoll(argv[i + 1], nullptr, 10);
    if (flag == "--calls") {
      calls = v;
    } else if (flag == "--seed") {
      seed = static_cast<uint64_t>(v);
    } else if (flag == "--length") {
      length = static_cast<int>(v);
    } else if (flag == "--shrink") {
      shrink = static_cast<int>(v);
    } else {
      std::cerr << "usage: vfs_differential_run [--calls N] [--seed S] [--length L] [--shrink K]\n";
      return 2;
    }
  }
  if (argc % 2 == 0) {
    std::cerr << "usage: vfs_differential_run [--calls N] [--seed S] [--length L] [--shrink K]\n";
    return 2;
  }
  int64_t compared = 0;
  int sequences = 0;
  int differing = 0;
  std::map<std::string, int> by_call;  // the differing call's name
  std::map<std::string, int> explained;  // known differences, by reason
  for (uint64_t s = seed; compared < calls; ++s) {
    vfs_diff::Generator gen(s);
    auto ops = gen.Sequence(length);
    vfs_diff::Comparison c = vfs_diff::Compare(ops);
    if (!c.kernel_ran) {
      std::string why;
      vfs_diff::RunKernel({}, &why);
      std::cerr << "no tmpfs sandbox: " << why << "\n";
      return 2;
    }
    ++sequences;
    compared += static_cast<int64_t>(c.compared);
    if (c.explained != nullptr) ++explained[c.explained];
    if (!c.mismatch) continue;
    ++differing;
    const std::string call = vfs_diff::KindName(ops[c.index].kind);
    if (by_call[call]++ == 0 && static_cast<int>(by_call.size()) <= shrink) {
      std::cout << "=== seed " << s << ", call " << c.index << " (" << call << ")\n"
                << "linux: " << c.kernel[c.index] << "\nvfs:   " << c.vfs[c.index] << "\n"
                << vfs_diff::Reproduction(vfs_diff::Shrink(ops), s) << std::endl;
    }
  }
  std::cout << "calls compared: " << compared << " in " << sequences << " sequences of " << length
            << " from seed " << seed << "\nsequences that differ: " << differing << "\n";
  for (const auto& [call, n] : by_call) std::cout << "  first difference at " << call << ": " << n << "\n";
  std::cout << "known differences (each ends its sequence's comparison):\n";
  for (const auto& [why, n] : explained) std::cout << "  " << why << ": " << n << "\n";
  return differing == 0 ? 0 : 1;
}
