// The `vfs` command on inputs a hostile or careless user gives it (issue 17,
// findings 6 and 7): devices, directories, sizes that cannot fit, numbers
// that would wrap, repeated keys, missing directories, --help. Each is
// refused up front with exactly one line on stderr saying what to do, and
// no command reads without limit or runs out of memory.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "tests/mount/mount_paths.h"

namespace vfs {
namespace {

using testing::TempDir;
using testing::VfsBinary;

struct CliRun {
  int status = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

// Runs `vfs ARGS` with stdout and stderr apart. `timeout` turns a command
// that would read /dev/zero for ever into a failure (exit 124), not a hang.
CliRun Vfs(const std::string& args, const std::string& dir) {
  const std::string out_file = dir + "/out", err_file = dir + "/err";
  auto r = testing::Shell("(timeout 60 " + VfsBinary() + " " + args + " >" + out_file + " 2>" + err_file + ")");
  CliRun run;
  run.status = r.status;
  std::ifstream out(out_file), err(err_file);
  run.out.assign(std::istreambuf_iterator<char>(out), {});
  run.err.assign(std::istreambuf_iterator<char>(err), {});
  return run;
}

size_t Lines(const std::string& text) {
  size_t n = 0;
  for (char c : text) n += c == '\n';
  return n;
}

class CliLimitsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::access(VfsBinary().c_str(), X_OK), 0)
        << VfsBinary() << " is missing: build the vfs_tool target";
    ASSERT_FALSE(tmp_.path().empty());
    script_ = std::string(VFS_SOURCE_DIR) + "/examples/crash/replace_safe.vfs";
  }

  // `vfs ARGS` fails with `status` and one line on stderr containing `says`.
  void ExpectRefused(const std::string& args, int status, const std::string& says) {
    SCOPED_TRACE("vfs " + args);
    const CliRun run = Vfs(args, tmp_.path());
    EXPECT_EQ(run.status, status) << run.err;
    EXPECT_EQ(Lines(run.err), 1u) << run.err;
    EXPECT_NE(run.err.find(says), std::string::npos) << run.err;
  }

  TempDir tmp_;
  std::string script_;
};

// ---- Finding 6: bounded memory ----

TEST_F(CliLimitsTest, DevZeroIsRefusedAsAScriptAndAsAJobFile) {
  ExpectRefused("crash /dev/zero", 2, "/dev/zero is larger than the 16 MiB limit of a script");
  ExpectRefused("bench --job /dev/zero", 2, "/dev/zero is larger than the 16 MiB limit of a job file");
}

TEST_F(CliLimitsTest, BenchThatCannotFitInMemoryIsRefusedUpFront) {
  // 1 TiB on the memory store: more than this machine has (the test checks).
  std::ifstream meminfo("/proc/meminfo");
  std::string line;
  while (std::getline(meminfo, line)) {
    unsigned long long kb = 0;
    if (std::sscanf(line.c_str(), "MemAvailable: %llu kB", &kb) == 1 && kb >= (1ull << 30)) {
      GTEST_SKIP() << "this machine has 1 TiB of memory available";
    }
  }
  ExpectRefused("bench size=1t", 1, "memory: the job keeps files*size = 1t");
  ExpectRefused("bench backend=fault:nvme size=512g files=2", 1, "fault:nvme: the job keeps files*size = 1t");
}

// ---- Finding 7: edge answers ----

TEST_F(CliLimitsTest, DirectoriesAreRefusedAsAScriptAndAsAJobFile) {
  ExpectRefused("crash " + tmp_.path(), 2, tmp_.path() + " is a directory: give the script itself");
  ExpectRefused("bench --job " + tmp_.path(), 2, tmp_.path() + " is a directory: give the job file itself");
}

TEST_F(CliLimitsTest, CrashPageSizeAndSectorMustBePowersOfTwoInRange) {
  ExpectRefused("crash " + script_ + " --page-size 4294967296", 2,
                "--page-size 4294967296: must be a power of two from 512 to 65536");
  ExpectRefused("crash " + script_ + " --page-size 3", 2, "--page-size 3: must be a power of two from 512 to 65536");
  ExpectRefused("crash " + script_ + " --sector 7", 2, "--sector 7: must be a power of two from 1 to 65536");
  ExpectRefused("crash " + script_ + " --sector 8192", 2, "--sector 8192 is larger than the page size 4096");
  ExpectRefused("crash " + script_ + " --sector", 2, "--sector needs a value");
  ExpectRefused("demo --page-size 4294967296", 2, "--page-size 4294967296: must be a power of two");
  // In range, they are taken.
  const CliRun ok = Vfs("crash " + script_ + " --profile weakest --page-size 8192 --sector 1024", tmp_.path());
  EXPECT_EQ(ok.status, 0) << ok.err;
}

TEST_F(CliLimitsTest, DuplicateBenchKeysAreRefusedNamingTheKey) {
  ExpectRefused("bench size=4k bs=4k size=8k", 2, "key 'size' is given twice (size=4k and size=8k)");
  const std::string job = tmp_.path() + "/job";
  std::ofstream(job) << "bs=4k\n[a]\nsize=8k\nops=4\nsize=16k\n";
  ExpectRefused("bench --job " + job, 2, job + ":5: key 'size' is given twice in [a] (first at line 3)");
  std::ofstream(job, std::ios::trunc) << "bs=4k\nbs=8k\n";
  ExpectRefused("bench --job " + job, 2, job + ":2: key 'bs' is given twice in the defaults");
  // A section may override a default, and the command line a file's key.
  std::ofstream(job, std::ios::trunc) << "size=8k\nbs=4k\n[a]\nsize=16k\n";
  const CliRun ok = Vfs("bench --no-progress --job " + job + " size=4k", tmp_.path());
  EXPECT_EQ(ok.status, 0) << ok.err;
}

TEST_F(CliLimitsTest, BenchOnAMissingDiskDirSaysToCreateIt) {
  const std::string missing = tmp_.path() + "/nope";
  const CliRun run = Vfs("bench size=4k backend=disk:" + missing, tmp_.path());
  EXPECT_EQ(run.status, 1);
  EXPECT_EQ(Lines(run.err), 1u) << run.err;
  EXPECT_NE(run.err.find("create it"), std::string::npos) << run.err;
  // The path once.
  const std::vector<std::string> parts = absl::StrSplit(run.err, missing);
  EXPECT_EQ(parts.size(), 2u) << run.err;
}

TEST_F(CliLimitsTest, EverySubcommandAnswersHelpWithItsUsage) {
  for (const std::string command : {"crash", "bench", "demo", "mount", "ctl"}) {
    SCOPED_TRACE(command);
    const CliRun run = Vfs(command + " --help", tmp_.path());
    EXPECT_EQ(run.status, 0) << run.err;
    EXPECT_EQ(run.out.rfind("usage: vfs " + command, 0), 0u) << run.out;
    EXPECT_EQ(run.err, "");
  }
  // --help after the script, too.
  const CliRun late = Vfs("crash " + script_ + " --help", tmp_.path());
  EXPECT_EQ(late.status, 0);
  EXPECT_EQ(late.out.rfind("usage: vfs crash", 0), 0u) << late.out;
  const CliRun top = Vfs("--help", tmp_.path());
  EXPECT_EQ(top.status, 0);
  EXPECT_NE(top.out.find("usage: vfs crash"), std::string::npos) << top.out;
  ExpectRefused("frobnicate", 2, "unknown command 'frobnicate'");
}

}  // namespace
}  // namespace vfs
