// The explorer's recorded runs (CrashTrace): Record then Explore is Run,
// parallel checkers give the report one gives, BeginCrashPoints leaves a set
// up out of the crash points, and the checker learns its state's name.
// These are what `vfs crash --run` stands on (tools/crash_run.cc).
#include <atomic>
#include <mutex>
#include <set>

#include "harness/crash_explorer.h"
#include "tests/test_util.h"

namespace vfs::testing {
namespace {

void WriteFile(Filesystem& fs, const std::string& path, const std::string& data, bool sync) {
  auto fd = fs.Open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ASSERT_TRUE(fd.ok());
  ASSERT_TRUE(fs.Pwrite(*fd, data.data(), data.size(), 0).ok());
  if (sync) {
    ASSERT_TRUE(fs.Fsync(*fd).ok());
  }
  ASSERT_TRUE(fs.Close(*fd).ok());
}

void SyncDir(Filesystem& fs) {
  auto dir = fs.Open("/", O_RDONLY | O_DIRECTORY);
  ASSERT_TRUE(dir.ok());
  ASSERT_TRUE(fs.Fsync(*dir).ok());
  ASSERT_TRUE(fs.Close(*dir).ok());
}

std::string Read(Filesystem& fs, const std::string& path) {
  auto fd = fs.Open(path, O_RDONLY);
  if (!fd.ok()) return "<missing>";
  std::string out(4096, '\0');
  auto n = fs.Pread(*fd, out.data(), out.size(), 0);
  (void)fs.Close(*fd);
  out.resize(n.ok() ? *n : 0);
  return out;
}

// Replaces /x by rename without syncing the new file, then acknowledges.
void UnsafeReplace(WorkloadContext& ctx) {
  Filesystem& fs = ctx.fs();
  WriteFile(fs, "/x", "old", /*sync=*/true);
  SyncDir(fs);
  WriteFile(fs, "/x.tmp", "new", /*sync=*/false);
  ASSERT_TRUE(fs.Rename("/x.tmp", "/x").ok());
  SyncDir(fs);
  ctx.Ack("/x", "new");
}

std::string OldOrNew(Filesystem& fs, const Acks& acks) {
  const std::string got = Read(fs, "/x");
  if (!acks.empty() && got != "new") return "acknowledged new, found \"" + got + "\"";
  if (got != "<missing>" && got != "old" && got != "new") return "found \"" + got + "\"";
  return "";
}

std::string Summary(const CrashReport& r) {
  std::string out = std::to_string(r.points) + " points " + std::to_string(r.states) + " states";
  for (const CrashFailure& f : r.failures) out += "\n" + f.name + " " + f.message + " +" + std::to_string(f.more_states);
  return out;
}

TEST(CrashTraceTest, RecordThenExploreIsRun) {
  CrashExplorer explorer({});
  auto run = explorer.Run(UnsafeReplace, OldOrNew);
  auto trace = explorer.Record(UnsafeReplace);
  ASSERT_TRUE(run.ok() && trace.ok());
  auto explored = explorer.Explore(*trace, OldOrNew);
  ASSERT_TRUE(explored.ok());
  EXPECT_FALSE(run->failures.empty());
  EXPECT_EQ(Summary(*explored), Summary(*run));
  // And a failure replays from the trace.
  auto verdict = explorer.Replay(*trace, OldOrNew, run->failures[0].name);
  ASSERT_TRUE(verdict.ok());
  EXPECT_EQ(*verdict, run->failures[0].message);
}

TEST(CrashTraceTest, ParallelCheckersGiveTheReportOfOne) {
  for (CrashProfile profile : {CrashProfile::kOrdered, CrashProfile::kWeakest}) {
    CrashExplorerOptions one;
    one.profile = profile;
    CrashExplorerOptions four = one;
    four.check_threads = 4;
    std::atomic<int> running{0}, most{0};
    Checker counting = [&](Filesystem& fs, const Acks& acks) {
      const int now = ++running;
      for (int seen = most.load(); now > seen && !most.compare_exchange_weak(seen, now);) {
      }
      std::string verdict = OldOrNew(fs, acks);
      --running;
      return verdict;
    };
    auto a = CrashExplorer(one).Run(UnsafeReplace, OldOrNew);
    auto b = CrashExplorer(four).Run(UnsafeReplace, counting);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(Summary(*b), Summary(*a)) << CrashProfileName(profile);
    EXPECT_LE(most.load(), 4);
  }
}

TEST(CrashTraceTest, BeginCrashPointsLeavesTheSetUpOut) {
  auto workload = [](WorkloadContext& ctx) {
    WriteFile(ctx.fs(), "/setup", "s", /*sync=*/true);
    SyncDir(ctx.fs());
    ctx.BeginCrashPoints();
    WriteFile(ctx.fs(), "/after", "a", /*sync=*/true);
    SyncDir(ctx.fs());
  };
  CrashExplorer explorer({});
  auto trace = explorer.Record(workload);
  ASSERT_TRUE(trace.ok());
  std::set<std::string> seen;
  auto report = explorer.Explore(*trace, [&](Filesystem& fs, const Acks&) {
    EXPECT_EQ(Read(fs, "/setup"), "s");  // durable in every state
    seen.insert(Read(fs, "/after"));
    return std::string();
  });
  ASSERT_TRUE(report.ok());
  EXPECT_GT(report->points, 1u);
  EXPECT_TRUE(seen.count("<missing>") && seen.count("a")) << seen.size();
}

TEST(CrashTraceTest, CheckerLearnsTheNameOfItsState) {
  CrashExplorerOptions options;
  options.check_threads = 2;
  CrashExplorer explorer(options);
  std::mutex mu;
  std::set<std::string> names;
  auto report = explorer.Run(UnsafeReplace, [&](Filesystem& fs, const Acks& acks) {
    std::lock_guard lock(mu);
    names.insert(CrashExplorer::CurrentState());
    EXPECT_TRUE(CrashStateName::Parse(CrashExplorer::CurrentState()).ok()) << CrashExplorer::CurrentState();
    return OldOrNew(fs, acks);
  });
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(CrashExplorer::CurrentState(), "");
  EXPECT_EQ(names.size(), report->states);  // one name per state, all different
}

}  // namespace
}  // namespace vfs::testing
