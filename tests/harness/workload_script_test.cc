// Workload scripts: parsing with clear errors, running, checking promises,
// and the examples under examples/crash/.
#include "harness/workload_script.h"

#include <fstream>
#include <sstream>

#include "tests/test_util.h"

namespace vfs::testing {
namespace {

std::string ParseError(const std::string& text) {
  std::string error;
  auto script = WorkloadScript::Parse(text, &error);
  EXPECT_FALSE(script.ok()) << text;
  return error;
}

TEST(WorkloadScriptTest, BadLinesAreRefusedWithTheirLineNumber) {
  EXPECT_EQ(ParseError("mkdir /a\nfrobnicate /a\n"), "2: unknown call 'frobnicate'");
  EXPECT_EQ(ParseError("fsync\n"), "1: 'fsync' takes 1 argument(s), got 0");
  EXPECT_EQ(ParseError("open f /a O_RDWR|O_BOGUS\n"), "1: bad open flags 'O_RDWR|O_BOGUS'");
  EXPECT_EQ(ParseError("open f /a O_RDWR\nwrite f \"unterminated\n"), "2: unterminated string");
  EXPECT_EQ(ParseError("open f /a O_RDWR\npwrite f x \"a\"\n"), "2: bad offset 'x'");
  EXPECT_EQ(ParseError("open f /a O_RDWR\nwrite f hello\n"),
            "2: data must be a \"quoted string\", C*N or \\0*N, got 'hello'");
  EXPECT_EQ(ParseError("open f /a O_RDWR\nsync_file_range f 0 0 WRITE|NOW\n"),
            "2: bad flags 'WRITE|NOW'");
}

TEST(WorkloadScriptTest, CommentsBlankLinesAndDataFormsParse) {
  std::string error;
  auto script = WorkloadScript::Parse(
      "# a comment\n\nopen f /a O_RDWR|O_CREAT 0600  # trailing\nwrite f a*3\n"
      "pwrite f 3 \"b\\n\\x41\"\nfsync f\nack /a \"aaab\\nA\"\n",
      &error);
  ASSERT_TRUE(script.ok()) << error;
  CrashExplorerOptions options;
  options.profile = CrashProfile::kStrict;
  auto report = CrashExplorer(options).Run(script->AsWorkload(WorkloadScript::Points::kNone),
                                           script->AsChecker());
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(script->failures().empty()) << script->failures().front();
  // The file's name was never made durable (no fsync-dir): the promise of
  // the ack breaks at the end, which shows the script really ran and checked.
  ASSERT_FALSE(report->failures.empty());
  EXPECT_NE(report->failures.back().message.find("/a"), std::string::npos);
}

TEST(WorkloadScriptTest, FailedCallsAreReportedWithTheirLine) {
  std::string error;
  auto script = WorkloadScript::Parse("mkdir /a\nmkdir /a\nunlink /missing\n", &error);
  ASSERT_TRUE(script.ok());
  CrashExplorerOptions options;
  options.profile = CrashProfile::kStrict;
  ASSERT_TRUE(CrashExplorer(options).Run(script->AsWorkload(WorkloadScript::Points::kNone),
                                         script->AsChecker()).ok());
  ASSERT_EQ(script->failures().size(), 2u);
  EXPECT_EQ(script->failures()[0], "2: mkdir: File exists");
  EXPECT_EQ(script->failures()[1], "3: unlink: No such file or directory");
}

TEST(WorkloadScriptTest, SyscallPointsAreOnePerCallAndSyncPointsOnePerSync) {
  std::string error;
  auto script = WorkloadScript::Parse(
      "open f /a O_RDWR|O_CREAT\nwrite f \"x\"\nfsync f\nfsync-dir /\nack /a \"x\"\nmark\n", &error);
  ASSERT_TRUE(script.ok());
  CrashExplorerOptions options;
  options.points = CrashPoints::kMarked;
  CrashExplorer explorer(options);
  auto syscalls = explorer.CrashPointsOf(script->AsWorkload(WorkloadScript::Points::kSyscalls));
  auto syncs = explorer.CrashPointsOf(script->AsWorkload(WorkloadScript::Points::kSyncs));
  auto marked = explorer.CrashPointsOf(script->AsWorkload(WorkloadScript::Points::kMarked));
  ASSERT_TRUE(syscalls.ok() && syncs.ok() && marked.ok());
  EXPECT_EQ(syscalls->size(), 4u);  // open, write, fsync, fsync-dir
  EXPECT_EQ(syncs->size(), 2u);
  EXPECT_EQ(marked->size(), 1u);
}

std::string ReadExample(const std::string& name) {
  std::ifstream in(std::string(VFS_SOURCE_DIR) + "/examples/crash/" + name);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(WorkloadScriptTest, ExampleReplaceWithoutFsyncFailsAndTheSafeRecipePasses) {
  for (const auto& [file, should_fail] :
       {std::pair<std::string, bool>{"replace_no_fsync.vfs", true}, {"replace_safe.vfs", false}}) {
    std::string error;
    auto script = WorkloadScript::Parse(ReadExample(file), &error);
    ASSERT_TRUE(script.ok()) << file << ": " << error;
    auto report = CrashExplorer({}).Run(script->AsWorkload(WorkloadScript::Points::kNone),
                                        script->AsChecker());
    ASSERT_TRUE(report.ok());
    EXPECT_TRUE(script->failures().empty()) << file;
    EXPECT_EQ(!report->failures.empty(), should_fail) << file << ": " << report->ToJson();
  }
}

}  // namespace
}  // namespace vfs::testing

namespace vfs::testing {
namespace {

// Runs `text` under the strict profile with crash points at every call.
Result<CrashReport> RunScript(const std::string& text, WorkloadScript* out = nullptr) {
  std::string error;
  auto script = WorkloadScript::Parse(text, &error);
  EXPECT_TRUE(script.ok()) << error;
  if (!script.ok()) return Error(EINVAL);
  CrashExplorerOptions options;
  options.profile = CrashProfile::kStrict;
  auto report = CrashExplorer(options).Run(script->AsWorkload(WorkloadScript::Points::kSyscalls),
                                           script->AsChecker());
  EXPECT_TRUE(script->failures().empty()) << script->failures().front();
  if (out != nullptr) *out = *script;
  return report;
}

constexpr char kPrologue[] =
    "open f /f O_RDWR|O_CREAT 0644\nwrite f \"data\"\nfsync f\nfsync-dir /\n";

TEST(WorkloadScriptTest, SetxattrAfterFdatasyncMayBeLostAndIsAttributedToFsyncX2) {
  auto report = RunScript(std::string(kPrologue) +
                          "setxattr /f user.a \"v\"\nfdatasync f\nack-xattr /f user.a \"v\"\n");
  ASSERT_TRUE(report.ok());
  ASSERT_FALSE(report->failures.empty());
  const CrashFailure& failure = report->failures.back();
  EXPECT_NE(failure.message.find("user.a"), std::string::npos) << failure.message;
  bool names_fsync = false;
  for (const std::string& advice : failure.advice) {
    names_fsync |= advice.starts_with("fsync of /f");
  }
  EXPECT_TRUE(names_fsync) << ::testing::PrintToString(failure.advice) << ::testing::PrintToString(failure.lost);
}

TEST(WorkloadScriptTest, SetxattrAfterFsyncIsNeverLostX2) {
  auto report = RunScript(std::string(kPrologue) +
                          "setxattr /f user.a \"v\"\nfsync f\nack-xattr /f user.a \"v\"\n"
                          "chown /f 5 6\nchmod /f 384\nutimens /f 1 2\nremovexattr /f user.a\n");
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->failures.empty()) << report->failures.front().message;
}

TEST(WorkloadScriptTest, UnsyncedPunchMayComeBackAndIsAttributedX3) {
  auto report = RunScript(
      "open f /f O_RDWR|O_CREAT 0644\nwrite f C*8192\nfsync f\nfsync-dir /\n"
      "fallocate f punch 0 8192\nack /f \\0*8192\n");
  ASSERT_TRUE(report.ok());
  ASSERT_FALSE(report->failures.empty());
  bool names_punch = false;
  for (const std::string& advice : report->failures.back().advice) {
    names_punch |= advice.find("fallocate(PUNCH_HOLE)") != std::string::npos &&
                   advice.find("fdatasync or fsync of /f") != std::string::npos;
  }
  EXPECT_TRUE(names_punch) << ::testing::PrintToString(report->failures.back().advice) << ::testing::PrintToString(report->failures.back().lost);
}

TEST(WorkloadScriptTest, TmpfileNamedWithoutDirectoryFsyncIsLostX4) {
  auto report = RunScript(
      "tmpfile t /\nwrite t \"x\"\nfsync t\nlinkat t /named\nack /named \"x\"\n");
  ASSERT_TRUE(report.ok());
  ASSERT_FALSE(report->failures.empty());
  bool names_dir = false;
  for (const std::string& advice : report->failures.back().advice) {
    names_dir |= advice.find("fsync of the directory /") != std::string::npos;
  }
  EXPECT_TRUE(names_dir);
  auto safe = RunScript(
      "tmpfile t /\nwrite t \"x\"\nfsync t\nlinkat t /named\nfsync-dir /\nack /named \"x\"\n");
  ASSERT_TRUE(safe.ok());
  EXPECT_TRUE(safe->failures.empty()) << safe->failures.front().message;
}

TEST(WorkloadScriptTest, NewCallsCheckTheirArguments) {
  EXPECT_EQ(ParseError("fallocate f sideways 0 1\n"), "1: bad fallocate mode 'sideways'");
  EXPECT_EQ(ParseError("chown /f x 1\n"), "1: bad uid or gid");
}

}  // namespace
}  // namespace vfs::testing
