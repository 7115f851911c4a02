// `vfs crash --run`: unmodified programs crash-tested through the FUSE mount
// (tools/crash_run.cc, docs/crash-testing.md "Any program"). Each test runs
// the `vfs` binary on a shell program, as a user would.
#include <unistd.h>

#include <fstream>
#include <string>

#include "gtest/gtest.h"
#include "tests/mount/mount_paths.h"

namespace vfs::testing {
namespace {

class CrashRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access("/dev/fuse", F_OK) != 0) GTEST_SKIP() << "FUSE is not available (no /dev/fuse)";
    ASSERT_FALSE(dir_.path().empty());
    // The starting tree: data/x holds "old", durable before the workload.
    std::filesystem::create_directories(Path("init/data"));
    std::ofstream(Path("init/data/x")) << "old";
    // The checker: data/x holds old or new, and new once "replaced" was
    // printed.
    std::ofstream(Path("check.sh"))
        << "v=$(cat data/x 2>/dev/null) || { echo 'data/x is missing'; exit 1; }\n"
           "if grep -q replaced \"$VFS_CRASH_OUTPUT\"; then\n"
           "  [ \"$v\" = new ] || { echo \"data/x holds '$v' after 'replaced' was printed\"; exit 1; }\n"
           "else\n"
           "  [ \"$v\" = new ] || [ \"$v\" = old ] || { echo \"data/x holds '$v'\"; exit 1; }\n"
           "fi\n";
  }

  std::string Path(const std::string& name) const { return dir_.path() + "/" + name; }

  // `vfs crash --init init --run WORKLOAD --check 'sh check.sh' ARGS`, in
  // the test's directory.
  CommandResult Crash(const std::string& workload, const std::string& args = "") {
    return Shell("cd " + dir_.path() + " && " + VfsBinary() + " crash --init init --run '" + workload +
                 "' --check 'sh " + Path("check.sh") + "' " + args);
  }

  TempDir dir_;
};

// The classic unsafe replace: the directory is synced after the rename, the
// file never is. A crash state shows the new name with no data, and the
// report names the program's rename and the missing fsync.
TEST_F(CrashRunTest, RenameWithoutFsyncOfTheFileIsFoundAndAttributed) {
  const CommandResult r =
      Crash("printf new > data/x.tmp && mv data/x.tmp data/x && sync data && echo replaced");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("the rename of data/x.tmp over data/x (mv, pid "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("reached the disk before the data of data/x.tmp"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("fix: fsync data/x.tmp before the rename"), std::string::npos) << r.output;
}

// No sync at all: the replacement the program announced is lost.
TEST_F(CrashRunTest, ReplaceWithNoSyncLosesTheAnnouncedReplacement) {
  const CommandResult r = Crash("printf new > data/x.tmp && mv data/x.tmp data/x && echo replaced");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("data/x holds 'old' after 'replaced' was printed"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("fsync the directory data after the rename"), std::string::npos) << r.output;
}

// With the file synced before the rename and the directory after, every
// crash state of every profile is consistent.
TEST_F(CrashRunTest, RenameWithFsyncIsCleanUnderEveryProfile) {
  for (const char* profile : {"strict", "ordered", "writeback", "weakest"}) {
    const CommandResult r = Crash(
        "printf new > data/x.tmp && sync data/x.tmp && mv data/x.tmp data/x && sync data && echo replaced",
        std::string("--profile ") + profile);
    EXPECT_EQ(r.status, 0) << profile << ": " << r.output;
    EXPECT_NE(r.output.find(" 0 failure(s)"), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find(" 0 states checked"), std::string::npos) << r.output;
  }
}

// A failure replays by name from the saved trace, without running the
// program again, with the same verdict and attribution.
TEST_F(CrashRunTest, FailureReplaysByNameFromTheSavedTrace) {
  const CommandResult r = Crash(
      "printf new > data/x.tmp && mv data/x.tmp data/x && sync data && echo replaced",
      "--trace " + Path("trace") + " --json " + Path("report.json") + " --junit " + Path("report.xml"));
  ASSERT_EQ(r.status, 1) << r.output;
  const size_t at = r.output.find("FAIL ");
  ASSERT_NE(at, std::string::npos);
  const std::string name = r.output.substr(at + 5, r.output.find('\n', at) - at - 5);
  const CommandResult replay = Shell("cd " + dir_.path() + " && " + VfsBinary() + " crash --trace " +
                                     Path("trace") + " --check 'sh " + Path("check.sh") + "' --replay " + name);
  EXPECT_EQ(replay.status, 1) << replay.output;
  EXPECT_NE(replay.output.find(name + ": fails"), std::string::npos) << replay.output;
  EXPECT_NE(replay.output.find("fix: fsync data/x.tmp before the rename"), std::string::npos) << replay.output;
  // The reports.
  std::stringstream json, xml;
  json << std::ifstream(Path("report.json")).rdbuf();
  xml << std::ifstream(Path("report.xml")).rdbuf();
  EXPECT_NE(json.str().find("\"name\":\"" + name + "\""), std::string::npos) << json.str();
  EXPECT_NE(json.str().find("\"fix\":\"fsync data/x.tmp before the rename\""), std::string::npos);
  EXPECT_NE(xml.str().find("<testcase classname=\"vfs.crash\" name=\"" + name + "\">"), std::string::npos)
      << xml.str();
}

// Shards of a saved trace check disjoint states that add up to the whole
// run, and their merge finds the same cause.
TEST_F(CrashRunTest, ShardsOfATraceMergeToTheWholeRun) {
  const std::string workload = "printf new > data/x.tmp && mv data/x.tmp data/x && sync data && echo replaced";
  const CommandResult whole = Crash(workload, "--trace " + Path("trace") + " --json " + Path("whole.json"));
  ASSERT_EQ(whole.status, 1) << whole.output;
  const std::string check = " --check 'sh " + Path("check.sh") + "'";
  for (int i = 0; i < 2; ++i) {
    Shell("cd " + dir_.path() + " && " + VfsBinary() + " crash --trace " + Path("trace") + check +
          " --shard " + std::to_string(i) + "/2 --json " + Path("s" + std::to_string(i) + ".json"));
  }
  const CommandResult merged = Shell(VfsBinary() + " crash merge " + Path("s0.json") + " " + Path("s1.json"));
  EXPECT_EQ(merged.status, 1) << merged.output;
  EXPECT_NE(merged.output.find("fix: fsync data/x.tmp before the rename"), std::string::npos) << merged.output;
  // The states of the shards add up to the whole run's.
  auto states = [](const std::string& out) {
    const size_t at = out.find(" states checked");
    const size_t from = out.rfind(' ', at - 1);
    return std::stoul(out.substr(from + 1, at - from - 1));
  };
  EXPECT_EQ(states(merged.output), states(whole.output)) << merged.output << whole.output;
}

// The checker sees the state's name and the output before the crash, and
// what it writes is thrown away with the state.
TEST_F(CrashRunTest, CheckerSeesItsStateAndItsWritesAreDiscarded) {
  std::ofstream(Path("check.sh"))
      << "case \"$VFS_CRASH_STATE\" in v1-*-ordered-*) ;; *) echo \"bad state '$VFS_CRASH_STATE'\"; exit 1;; esac\n"
         "[ -f \"$VFS_CRASH_OUTPUT\" ] || { echo no output file; exit 1; }\n"
         "[ \"$VFS_ROOT\" = \"$(pwd)\" ] || { echo \"VFS_ROOT is not the cwd\"; exit 1; }\n"
         "[ ! -e leftover ] || { echo 'a checker write survived its state'; exit 1; }\n"
         "echo x > leftover\n";
  const CommandResult r = Crash("for i in 1 2 3; do echo $i > f$i; sync f$i; echo wrote $i; done", "--jobs 2");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(r.output.find(" 0 states checked"), std::string::npos) << r.output;
}

// The output up to the crash point is what the checker gets: a checker that
// demands every line the workload will print fails before the last one.
TEST_F(CrashRunTest, CheckerGetsTheOutputUpToTheCrashPoint) {
  std::ofstream(Path("check.sh")) << "grep -q 'wrote 3' \"$VFS_CRASH_OUTPUT\" || { echo early; exit 1; }\n";
  const CommandResult r = Crash("for i in 1 2 3; do echo $i > f$i; sync f$i; echo wrote $i; done");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("checker: early"), std::string::npos) << r.output;
}

// A workload that fails is reported, and what it did before is explored.
TEST_F(CrashRunTest, FailingWorkloadIsReportedAndItsRunExplored) {
  const CommandResult r = Crash("printf new > data/y && sync data/y && exit 3");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("the workload exited with status 3"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find(" 0 states checked"), std::string::npos) << r.output;
}

// --points syncs crashes after each of the program's syncs only, --points
// syscalls after each change it made that reached the store, requests after
// every store event; the same saved trace serves all three.
TEST_F(CrashRunTest, PointsSelectWhereTheProgramCrashes) {
  std::ofstream(Path("check.sh")) << "exit 0\n";
  const CommandResult recorded = Crash("echo a > f && sync f && echo b > g && sync g", "--trace " + Path("trace"));
  ASSERT_EQ(recorded.status, 0) << recorded.output;
  auto points = [&](const std::string& kind) {
    const CommandResult r = Shell(VfsBinary() + " crash --trace " + Path("trace") + " --check true --points " + kind);
    const size_t at = r.output.find(" crash points");
    const size_t from = r.output.rfind(' ', at - 1);
    return at == std::string::npos ? 0ul : std::stoul(r.output.substr(from + 1, at - from - 1));
  };
  EXPECT_EQ(points("syncs"), 2u);
  EXPECT_GE(points("syscalls"), 2u);
  EXPECT_GT(points("requests"), points("syscalls"));
}

// Bad input: a one-line reason and status 2.
TEST_F(CrashRunTest, BadInputExitsTwoWithAReason) {
  struct Case {
    std::string args, reason;
  } cases[] = {
      {"--run true", "--check 'CHECKER' is missing"},
      {"--check true", "--run 'WORKLOAD' is missing"},
      {"--run true --check true --init /nonexistent/dir", "--init /nonexistent/dir: not a directory"},
      {"--run no-such-program-vfs --check true", "the workload cannot start"},
      {"--run 'echo a > f; sync f' --check no-such-checker-vfs", "the checker cannot start"},
      {"--run true --check true --points sometimes", "--points takes"},
      {"--trace /nonexistent/trace --check true", "cannot read /nonexistent/trace"},
  };
  for (const Case& c : cases) {
    const CommandResult r = Shell("cd " + dir_.path() + " && " + VfsBinary() + " crash " + c.args);
    EXPECT_EQ(r.status, 2) << c.args << ": " << r.output;
    EXPECT_NE(r.output.find(c.reason), std::string::npos) << c.args << ": " << r.output;
  }
}

// The sqlite3 shell, one process per commit, each commit printed once the
// shell returned. The checker opens the database, runs integrity_check and
// looks for every printed commit.
class CrashRunSqliteTest : public CrashRunTest {
 protected:
  void SetUp() override {
    CrashRunTest::SetUp();
    if (IsSkipped()) return;
    if (Shell("sqlite3 -version").status != 0) GTEST_SKIP() << "no sqlite3 shell";
    std::ofstream(Path("work.sh"))
        << "sqlite3 db \"PRAGMA journal_mode=$1; PRAGMA synchronous=$2; "
           "CREATE TABLE t(k INTEGER PRIMARY KEY, v TEXT);\" >/dev/null || exit 1\n"
           "for i in 1 2 3; do\n"
           "  sqlite3 db \"PRAGMA synchronous=$2; INSERT INTO t VALUES($i, 'value $i');\" && echo \"committed $i\"\n"
           "done\n";
    std::ofstream(Path("check.sh"))
        << "grep -q committed \"$VFS_CRASH_OUTPUT\" || exit 0\n"
           "[ -e db ] || { echo 'db is missing'; exit 1; }\n"
           "ok=$(sqlite3 db 'PRAGMA integrity_check;' 2>&1)\n"
           "[ \"$ok\" = ok ] || { echo \"integrity_check: $ok\"; exit 1; }\n"
           "for k in $(sed -n 's/^committed //p' \"$VFS_CRASH_OUTPUT\"); do\n"
           "  [ \"$(sqlite3 db \"SELECT v FROM t WHERE k=$k\" 2>&1)\" = \"value $k\" ] || "
           "{ echo \"commit $k lost\"; exit 1; }\n"
           "done\n";
  }
  CommandResult Sqlite(const std::string& mode, const std::string& synchronous) {
    return Shell("cd " + dir_.path() + " && " + VfsBinary() + " crash --run 'sh " + Path("work.sh") + " " + mode +
                 " " + synchronous + "' --check 'sh " + Path("check.sh") + "'");
  }
};

TEST_F(CrashRunSqliteTest, WalWithSynchronousFullKeepsEveryCommit) {
  const CommandResult r = Sqlite("wal", "full");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(r.output.find(" 0 states checked"), std::string::npos) << r.output;
}

TEST_F(CrashRunSqliteTest, WalWithSynchronousOffLosesPrintedCommits) {
  const CommandResult r = Sqlite("wal", "off");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("checker: commit 1 lost"), std::string::npos) << r.output;
}

// SQLite documents that in DELETE mode a commit is the unlink of the
// journal, and that only synchronous=EXTRA syncs the directory after it: with
// FULL a commit followed closely by a power cut may roll back. That is the
// one failure FULL shows; EXTRA shows none.
TEST_F(CrashRunSqliteTest, DeleteModeFullLosesOnlyByTheUnsyncedJournalUnlink) {
  const CommandResult full = Sqlite("delete", "full");
  EXPECT_EQ(full.status, 1) << full.output;
  size_t failures = 0, journal = 0;
  for (size_t at = 0; (at = full.output.find("\n  cause: ", at)) != std::string::npos; ++at) {
    ++failures;
    const std::string line = full.output.substr(at, full.output.find('\n', at + 1) - at);
    journal += line.find("db-journal") != std::string::npos;
  }
  EXPECT_GT(failures, 0u) << full.output;
  EXPECT_EQ(journal, failures) << full.output;
  const CommandResult extra = Sqlite("delete", "extra");
  EXPECT_EQ(extra.status, 0) << extra.output;
}

// `vfs crash SCRIPT` is still the script explorer, and --help documents --run.
TEST_F(CrashRunTest, HelpDocumentsRun) {
  const CommandResult r = Shell(VfsBinary() + " crash --help");
  EXPECT_NE(r.output.find("vfs crash --run 'WORKLOAD' --check 'CHECKER'"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace vfs::testing
