// The workload script's checker compares files without reading them into
// memory whole (issue 17, finding 6): a script may make a file of 2^63-1
// bytes, all holes, and ack it.
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include "harness/workload_script.h"
#include "tests/test_util.h"

namespace vfs::testing {
namespace {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

// The process's address space now, from /proc/self/status (VmSize, kB).
uint64_t AddressSpaceBytes() {
  std::ifstream status("/proc/self/status");
  std::string key;
  uint64_t kb = 0;
  while (status >> key) {
    if (key == "VmSize:" && status >> kb) return kb * 1024;
  }
  return 0;
}

WorkloadScript ParseOrDie(const std::string& text) {
  std::string error;
  auto script = WorkloadScript::Parse(text, &error);
  EXPECT_TRUE(script.ok()) << error;
  return *std::move(script);
}

// Runs the script under every crash point and returns the failure messages,
// joined; "explore failed" if the exploration did.
std::string Explore(const WorkloadScript& script) {
  CrashExplorerOptions options;
  options.profile = CrashProfile::kStrict;
  auto report = CrashExplorer(options).Run(script.AsWorkload(WorkloadScript::Points::kNone),
                                           script.AsChecker());
  if (!report.ok()) return "explore failed";
  std::string out;
  for (const CrashFailure& f : report->failures) out += f.message + "\n";
  return out;
}

// The exit status of a child that explores `script` with 1 GiB more address
// space than it has: 0 if the huge file was reported by its size.
int ExploreInOneMoreGiB(const WorkloadScript& script) {
  if (!kSanitized) {
    const rlimit limit{AddressSpaceBytes() + (uint64_t{1} << 30), RLIM_INFINITY};
    if (::setrlimit(RLIMIT_AS, &limit) != 0) return 3;
  }
  const std::string failures = Explore(script);
  std::fprintf(stderr, "%s", failures.c_str());
  return failures.find("/big holds 9223372036854775807 bytes, not the 1 acknowledged") != std::string::npos
             ? 0
             : 1;
}

// The file of 2^63-1 bytes matches no ack (no ack can be that long), so the
// checker reports it by its size. Run in a child whose address space may
// grow by 1 GiB at most: reading the file into memory fails there, fast,
// instead of taking the machine's memory. (Under sanitizers, which reserve
// terabytes of address space, the limit is left out.)
TEST(CheckerBoundsTest, HugeSparseFileIsComparedWithoutReadingIt) {
  const WorkloadScript script = ParseOrDie(
      "open f /big O_WRONLY|O_CREAT\n"
      "ftruncate f 9223372036854775807\n"
      "fsync f\n"
      "fsync-dir /\n"
      "ack /big \"x\"\n");
  EXPECT_EXIT(::_exit(ExploreInOneMoreGiB(script)), ::testing::ExitedWithCode(0), "");
}

class CheckerCompareTest : public VfsTest {
 protected:
  std::string Check(const WorkloadScript& script, const std::string& path, const std::string& data) {
    return script.AsChecker()(*fs_, Acks{Ack{0, path, data, {}}});
  }
};

// Contents longer than one read chunk (64 KiB) are compared across chunks:
// equal passes, a difference in the last byte or a different size fails.
TEST_F(CheckerCompareTest, ComparesAcrossChunks) {
  const std::string data(200000, 'a');
  const WorkloadScript script = ParseOrDie("ack /a a*200000\n");
  WriteFile("/a", data);
  EXPECT_EQ(Check(script, "/a", data), "");
  WriteFile("/a", std::string(199999, 'a') + "b");
  EXPECT_EQ(Check(script, "/a", data), "/a holds 200000 bytes, not the 200000 acknowledged");
  WriteFile("/a", std::string(100, 'a'));
  EXPECT_EQ(Check(script, "/a", data), "/a holds 100 bytes, not the 200000 acknowledged");
  WriteFile("/a", "");
  EXPECT_EQ(Check(script, "/a", data), "/a holds 0 bytes, not the 200000 acknowledged (it is empty)");
  ASSERT_OK(fs_->Unlink("/a"));
  EXPECT_EQ(Check(script, "/a", data), "/a is missing, but its data was acknowledged");
}

// A later ack of the same path is also accepted (a crash may keep an update
// not yet acknowledged), and an acked removal is checked.
TEST_F(CheckerCompareTest, LaterAcksAndRemovalsAreHonoured) {
  const WorkloadScript script = ParseOrDie("ack /a \"one\"\nack /a \"three\"\nack-absent /a\n");
  WriteFile("/a", "three");
  EXPECT_EQ(script.AsChecker()(*fs_, Acks{Ack{0, "/a", "one", {}}}), "");
  EXPECT_EQ(script.AsChecker()(*fs_, Acks{Ack{0, "/a", "one", {}}, Ack{1, "/a", "three", {}},
                                          Ack{2, "/a", std::string("\0<absent>", 9), {}}}),
            "/a exists, but its removal was acknowledged");
}

}  // namespace
}  // namespace vfs::testing
