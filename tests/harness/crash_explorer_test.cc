// The crash explorer: the example workloads of docs/crash-testing.md, names
// that replay, shards that split the work, and each profile's states checked
// against an enumeration written independently here.
#include "harness/crash_explorer.h"

#include <algorithm>
#include <memory>
#include <set>

#include "tests/test_util.h"

namespace vfs::testing {
namespace {

Fd MustOpen(Filesystem& fs, const std::string& path, int flags) {
  auto fd = fs.Open(path, flags, 0644);
  EXPECT_TRUE(fd.ok()) << path << ": " << strerror(fd.error());
  return fd.ok() ? *fd : Fd(-1);
}

void MustWrite(Filesystem& fs, Fd fd, const std::string& data, int64_t at = 0) {
  auto n = fs.Pwrite(fd, data.data(), data.size(), at);
  EXPECT_TRUE(n.ok() && *n == data.size());
}

void MustFsyncDir(Filesystem& fs, const std::string& path) {
  Fd dir = MustOpen(fs, path, O_RDONLY | O_DIRECTORY);
  EXPECT_TRUE(fs.Fsync(dir).ok());
  EXPECT_TRUE(fs.Close(dir).ok());
}

std::string Contents(Filesystem& fs, const std::string& path) {
  auto fd = fs.Open(path, O_RDONLY);
  if (!fd.ok()) return "<missing>";
  std::string out(1 << 16, '\0');
  auto n = fs.Pread(*fd, out.data(), out.size(), 0);
  (void)fs.Close(*fd);
  out.resize(n.ok() ? *n : 0);
  return out;
}

// Example (a): replace a file by write-temp + rename.
Workload ReplaceByRename(bool fsync_temp) {
  return [fsync_temp](WorkloadContext& ctx) {
    Filesystem& fs = ctx.fs();
    Fd f = MustOpen(fs, "/config", O_WRONLY | O_CREAT);
    MustWrite(fs, f, "old settings");
    EXPECT_TRUE(fs.Fsync(f).ok());
    EXPECT_TRUE(fs.Close(f).ok());
    MustFsyncDir(fs, "/");
    ctx.Ack("/config", "old settings");
    Fd t = MustOpen(fs, "/config.tmp", O_WRONLY | O_CREAT);
    MustWrite(fs, t, "new settings");
    if (fsync_temp) {
      EXPECT_TRUE(fs.Fsync(t).ok());
    }
    EXPECT_TRUE(fs.Close(t).ok());
    EXPECT_TRUE(fs.Rename("/config.tmp", "/config").ok());
    MustFsyncDir(fs, "/");
    ctx.Ack("/config", "new settings");
  };
}

// The application's promise: the file holds the old or the new settings,
// whole, and at least what was acknowledged last.
std::string ConfigIsOldOrNew(Filesystem& fs, const Acks& acks) {
  const std::string got = Contents(fs, "/config");
  if (acks.empty()) return got == "<missing>" || got == "old settings" ? "" : "unexpected: " + got;
  if (acks.back().value == "new settings" && got != "new settings") {
    return "acknowledged new settings, found \"" + got + "\"";
  }
  if (got != "old settings" && got != "new settings") return "found \"" + got + "\"";
  return "";
}

TEST(CrashExplorerTest, ReplaceWithoutFsyncOfTempIsFoundAndAttributedToTheMissingFsync) {
  CrashExplorer explorer({});
  auto report = explorer.Run(ReplaceByRename(/*fsync_temp=*/false), ConfigIsOldOrNew);
  ASSERT_TRUE(report.ok());
  ASSERT_FALSE(report->failures.empty());
  const CrashFailure& failure = report->failures.front();
  EXPECT_NE(failure.message.find("found \"\""), std::string::npos) << failure.message;
  // The lost writes are the temp file's data (and its record), and the
  // advice names the file.
  bool names_fsync = false;
  for (const std::string& advice : failure.advice) {
    names_fsync = names_fsync || advice.find("/config") != std::string::npos;
  }
  EXPECT_TRUE(names_fsync) << report->ToJson();
  // The name replays the failure alone.
  auto replayed = explorer.Replay(ReplaceByRename(false), ConfigIsOldOrNew, failure.name);
  ASSERT_TRUE(replayed.ok());
  EXPECT_EQ(*replayed, failure.message);
}

TEST(CrashExplorerTest, ReplaceWithFsyncRenameAndDirectoryFsyncHasNoFailure) {
  for (CrashProfile profile : {CrashProfile::kStrict, CrashProfile::kOrdered,
                               CrashProfile::kWriteback, CrashProfile::kWeakest}) {
    CrashExplorerOptions options;
    options.profile = profile;
    CrashExplorer explorer(options);
    auto report = explorer.Run(ReplaceByRename(/*fsync_temp=*/true), ConfigIsOldOrNew);
    ASSERT_TRUE(report.ok());
    EXPECT_TRUE(report->failures.empty()) << CrashProfileName(profile) << ": " << report->ToJson();
    if (profile != CrashProfile::kStrict) {
      EXPECT_GT(report->states, report->points) << CrashProfileName(profile);
    }
  }
}

// Example (b): an append-only log of checksummed records.
uint32_t Checksum(const std::string& s) {
  uint32_t h = 2166136261u;
  for (unsigned char c : s) h = (h ^ c) * 16777619u;
  return h;
}

std::string LogRecord(int i) {
  const std::string body = "record " + std::to_string(i) + std::string(300, static_cast<char>('a' + i));
  char header[24];
  snprintf(header, sizeof header, "%08x%04zx", Checksum(body), body.size());
  return std::string(header) + body;
}

Workload AppendLog(bool sync_each) {
  return [sync_each](WorkloadContext& ctx) {
    Filesystem& fs = ctx.fs();
    Fd log = MustOpen(fs, "/log", O_WRONLY | O_CREAT | O_APPEND);
    EXPECT_TRUE(fs.Fsync(log).ok());
    MustFsyncDir(fs, "/");
    for (int i = 0; i < 6; ++i) {
      const std::string rec = LogRecord(i);
      EXPECT_TRUE(fs.Write(log, rec.data(), rec.size()).ok());
      if (sync_each) {
        EXPECT_TRUE(fs.Fdatasync(log).ok());
      }
      ctx.Ack("record", std::to_string(i));
    }
  };
}

// Reads records until the end or the first that does not check (a torn
// tail is normal); every acknowledged record must be among them.
std::string LogHoldsAcknowledgedRecords(Filesystem& fs, const Acks& acks) {
  const std::string data = Contents(fs, "/log");
  if (data == "<missing>") return acks.empty() ? "" : "the log is missing";
  size_t at = 0;
  int good = 0;
  auto hex = [&data](size_t from, size_t digits, uint64_t* out) {
    *out = 0;
    for (size_t i = from; i < from + digits; ++i) {
      const char c = data[i];
      const int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
      if (d < 0) return false;  // torn or garbage: the end of the log
      *out = *out * 16 + static_cast<uint64_t>(d);
    }
    return true;
  };
  while (at + 12 <= data.size()) {
    uint64_t sum = 0, len = 0;
    if (!hex(at, 8, &sum) || !hex(at + 8, 4, &len)) break;
    if (at + 12 + len > data.size() || Checksum(data.substr(at + 12, len)) != sum) break;
    at += 12 + len;
    ++good;
  }
  if (static_cast<size_t>(good) < acks.size()) {
    return std::to_string(acks.size()) + " records acknowledged, " + std::to_string(good) + " intact";
  }
  return "";
}

TEST(CrashExplorerTest, ChecksummedLogWithFdatasyncPerRecordSurvivesEveryProfile) {
  for (CrashProfile profile : {CrashProfile::kOrdered, CrashProfile::kWriteback, CrashProfile::kWeakest}) {
    CrashExplorerOptions options;
    options.profile = profile;
    options.exhaustive_limit = 256;
    options.samples = 32;
    CrashExplorer explorer(options);
    auto report = explorer.Run(AppendLog(/*sync_each=*/true), LogHoldsAcknowledgedRecords);
    ASSERT_TRUE(report.ok());
    EXPECT_TRUE(report->failures.empty()) << CrashProfileName(profile) << ": " << report->ToJson();
  }
}

TEST(CrashExplorerTest, LogAcknowledgedWithoutSyncLosesRecords) {
  CrashExplorer explorer({});
  auto report = explorer.Run(AppendLog(/*sync_each=*/false), LogHoldsAcknowledgedRecords);
  ASSERT_TRUE(report.ok());
  ASSERT_FALSE(report->failures.empty());
  EXPECT_NE(report->failures.front().message.find("acknowledged"), std::string::npos);
}

// Example (c): a file created in a directory that is never fsynced.
Workload CreateInUnsyncedDirectory(bool fsync_dir) {
  return [fsync_dir](WorkloadContext& ctx) {
    Filesystem& fs = ctx.fs();
    EXPECT_TRUE(fs.Mkdir("/spool", 0755).ok());
    MustFsyncDir(fs, "/");
    Fd f = MustOpen(fs, "/spool/job", O_WRONLY | O_CREAT);
    MustWrite(fs, f, "payload");
    EXPECT_TRUE(fs.Fsync(f).ok());
    if (fsync_dir) MustFsyncDir(fs, "/spool");
    ctx.Ack("/spool/job", "payload");
  };
}

std::string AckedFilesHoldTheirData(Filesystem& fs, const Acks& acks) {
  for (const Ack& ack : acks) {
    const std::string got = Contents(fs, ack.key);
    if (got != ack.value) return ack.key + " holds \"" + got + "\"";
  }
  return "";
}

TEST(CrashExplorerTest, FileInUnsyncedDirectoryIsFoundAndAttributedToTheDirectoryFsync) {
  CrashExplorer explorer({});
  auto report = explorer.Run(CreateInUnsyncedDirectory(false), AckedFilesHoldTheirData);
  ASSERT_TRUE(report.ok());
  ASSERT_FALSE(report->failures.empty());
  const CrashFailure& failure = report->failures.front();
  EXPECT_NE(failure.message.find("<missing>"), std::string::npos) << failure.message;
  ASSERT_EQ(failure.advice.size(), 1u) << report->ToJson();  // only the entry is missing
  EXPECT_NE(failure.advice[0].find("fsync of the directory /spool"), std::string::npos)
      << failure.advice[0];
}

TEST(CrashExplorerTest, FileInFsyncedDirectoryHasNoFailure) {
  CrashExplorer explorer({});
  auto report = explorer.Run(CreateInUnsyncedDirectory(true), AckedFilesHoldTheirData);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->failures.empty()) << report->ToJson();
}

// ---- Names, shards, reports ----

TEST(CrashStateNameTest, RoundTripsAndRejectsMalformedNames) {
  CrashStateName name{42, 17, CrashProfile::kWeakest, {true, false, true, true, false, false, true}};
  auto parsed = CrashStateName::Parse(name.ToString());
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->seed, 42u);
  EXPECT_EQ(parsed->point, 17u);
  EXPECT_EQ(parsed->profile, CrashProfile::kWeakest);
  EXPECT_EQ(parsed->choice, name.choice);
  for (const char* bad : {"", "v2-1-2-ordered-0.0", "v1-1-2-fancy-0.0", "v1-x-2-ordered-0.0",
                          "v1-1-2-ordered-5.0", "v1-1-2-ordered-4.g"}) {
    EXPECT_FALSE(CrashStateName::Parse(bad).ok()) << bad;
  }
}

TEST(CrashExplorerTest, ReplayRejectsANameThatIsNotAStateOfTheWorkload) {
  CrashExplorer explorer({});
  auto replayed = explorer.Replay(ReplaceByRename(false), ConfigIsOldOrNew, "v1-1-99999-ordered-0.0");
  EXPECT_FALSE(replayed.ok());
  EXPECT_EQ(replayed.error(), EINVAL);
}

TEST(CrashExplorerTest, ShardsSplitTheStatesExactly) {
  // Failures fold by cause within a run, so shards merge by cause: the same
  // causes, and the same number of failing states in all.
  auto causes = [](const CrashReport& report, std::set<std::string>* out, uint64_t* failing) {
    for (const auto& f : report.failures) {
      std::string cause = f.message;
      for (const auto& a : f.advice) cause += " | " + a;
      out->insert(cause);
      *failing += 1 + f.more_states;
    }
  };
  CrashExplorerOptions whole;
  whole.shrink = false;
  auto all = CrashExplorer(whole).Run(ReplaceByRename(false), ConfigIsOldOrNew);
  ASSERT_TRUE(all.ok());
  std::set<std::string> expected;
  uint64_t expected_failing = 0;
  causes(*all, &expected, &expected_failing);
  uint64_t states = 0, failing = 0;
  std::set<std::string> merged;
  for (uint32_t shard = 0; shard < 3; ++shard) {
    CrashExplorerOptions part = whole;
    part.shard = shard;
    part.shards = 3;
    auto report = CrashExplorer(part).Run(ReplaceByRename(false), ConfigIsOldOrNew);
    ASSERT_TRUE(report.ok());
    states += report->states;
    causes(*report, &merged, &failing);
  }
  EXPECT_EQ(states, all->states);
  EXPECT_EQ(merged, expected);
  EXPECT_EQ(failing, expected_failing);
  EXPECT_GT(expected_failing, 1u);
}

TEST(CrashExplorerTest, BadShardIsEinval) {
  CrashExplorerOptions options;
  options.shard = 2;
  options.shards = 2;
  EXPECT_EQ(CrashExplorer(options).Run(ReplaceByRename(true), ConfigIsOldOrNew).error(), EINVAL);
}

TEST(CrashExplorerTest, JsonReportNamesEachFailureAndItsAdvice) {
  CrashExplorer explorer({});
  auto report = explorer.Run(CreateInUnsyncedDirectory(false), AckedFilesHoldTheirData);
  ASSERT_TRUE(report.ok());
  const std::string json = report->ToJson();
  EXPECT_NE(json.find("\"states\":" + std::to_string(report->states)), std::string::npos);
  EXPECT_NE(json.find(report->failures.front().name), std::string::npos);
  EXPECT_NE(json.find("\"protect_with\""), std::string::npos);
}

// ---- Profiles against an independent enumeration ----

// A small workload whose last crash point has metadata and pages pending.
Workload SmallPending() {
  return [](WorkloadContext& ctx) {
    Filesystem& fs = ctx.fs();
    Fd a = MustOpen(fs, "/a", O_RDWR | O_CREAT);
    MustWrite(fs, a, std::string(100, 'a'));
    MustWrite(fs, a, std::string(100, 'b'), 8192);
    // sync_file_range submits the pages without a flush; the directory fsync
    // then sends the entry and records: all pending at a point before the
    // flush completes.
    EXPECT_TRUE(fs.SyncFileRange(a, 0, 0, kSyncFileRangeWrite).ok());
    Fd root = MustOpen(fs, "/", O_RDONLY | O_DIRECTORY);
    EXPECT_TRUE(fs.Fsync(root).ok());
  };
}

std::set<std::vector<bool>> ChoicesOf(const CrashExplorer::PointStates& states) {
  std::set<std::vector<bool>> out;
  for (const std::string& name : states.names) out.insert(CrashStateName::Parse(name)->choice);
  return out;
}

// The rules of docs/crash-testing.md, written again from the text: every
// subset of the pending requests, filtered.
std::set<std::vector<bool>> BruteForce(const std::vector<RecordedRequest>& pending, CrashProfile profile) {
  std::set<std::vector<bool>> out;
  const size_t n = pending.size();
  for (uint64_t m = 0; m < (uint64_t{1} << n); ++m) {
    std::vector<bool> keep(n);
    for (size_t i = 0; i < n; ++i) keep[i] = (m >> i) & 1;
    bool ok = true;
    // Metadata (everything but page writes) persists as a prefix.
    bool dropped_metadata = false;
    for (size_t i = 0; i < n; ++i) {
      if (std::holds_alternative<PutPage>(pending[i].request)) continue;
      if (keep[i] && dropped_metadata) ok = false;
      if (!keep[i]) dropped_metadata = true;
    }
    // Ordered: no kept record of an inode without its earlier page writes.
    if (profile == CrashProfile::kOrdered) {
      for (size_t i = 0; i < n; ++i) {
        const auto* record = std::get_if<PutInode>(&pending[i].request);
        if (!record || !keep[i]) continue;
        for (size_t j = 0; j < i; ++j) {
          const auto* page = std::get_if<PutPage>(&pending[j].request);
          if (page && page->ino == record->record.ino && !keep[j]) ok = false;
        }
      }
    }
    if (ok) out.insert(keep);
  }
  return out;
}

TEST(CrashProfileTest, OrderedAndWritebackStatesAreExactlyThoseTheRulesAllow) {
  for (CrashProfile profile : {CrashProfile::kOrdered, CrashProfile::kWriteback}) {
    CrashExplorerOptions options;
    options.profile = profile;
    options.exhaustive_limit = 1 << 16;
    CrashExplorer explorer(options);
    auto points = explorer.CrashPointsOf(SmallPending());
    ASSERT_TRUE(points.ok());
    size_t checked = 0;
    for (uint64_t point : *points) {
      auto states = explorer.StatesAt(SmallPending(), point);
      ASSERT_TRUE(states.ok());
      ASSERT_TRUE(states->exhaustive);
      if (states->pending.size() > 12) continue;
      EXPECT_EQ(ChoicesOf(*states), BruteForce(states->pending, profile))
          << CrashProfileName(profile) << " at point " << point;
      checked += states->pending.size() >= 3;
    }
    EXPECT_GT(checked, 0u) << "no point had enough pending requests to compare";
  }
}

TEST(CrashProfileTest, WeakestGivesEverySubsetOfSectorsAndStrictKeepsAll) {
  CrashExplorerOptions options;
  options.profile = CrashProfile::kWeakest;
  options.fs_options.page_size = 1024;  // two sectors a page at 512
  options.exhaustive_limit = 1 << 16;
  CrashExplorer explorer(options);
  auto points = explorer.CrashPointsOf(SmallPending());
  ASSERT_TRUE(points.ok());
  bool compared = false;
  for (uint64_t point : *points) {
    auto states = explorer.StatesAt(SmallPending(), point);
    ASSERT_TRUE(states.ok());
    size_t bits = 0;
    for (const auto& r : states->pending) bits += std::holds_alternative<PutPage>(r.request) ? 2 : 1;
    if (bits > 14) continue;
    EXPECT_EQ(states->names.size(), uint64_t{1} << bits) << point;
    EXPECT_EQ(ChoicesOf(*states).size(), uint64_t{1} << bits) << point;  // all distinct
    compared = compared || bits >= 3;
  }
  EXPECT_TRUE(compared);
  options.profile = CrashProfile::kStrict;
  auto strict = CrashExplorer(options).StatesAt(SmallPending(), points->back());
  ASSERT_TRUE(strict.ok());
  EXPECT_EQ(strict->names.size(), 1u);
}

}  // namespace
}  // namespace vfs::testing

namespace vfs::testing {
namespace {

// Rule C7 for sync_file_range(7): an overwrite of an allocated page is in
// every later state of every profile when the device has no volatile cache,
// and can be lost when it has one.
Workload OverwriteWithSyncFileRange() {
  return [](WorkloadContext& ctx) {
    Filesystem& fs = ctx.fs();
    Fd f = MustOpen(fs, "/data", O_RDWR | O_CREAT);
    MustWrite(fs, f, std::string(4096, 'a'));
    EXPECT_TRUE(fs.Fsync(f).ok());
    MustFsyncDir(fs, "/");
    ctx.Ack("/data", std::string(4096, 'a'));
    MustWrite(fs, f, std::string(4096, 'b'));
    EXPECT_TRUE(fs.SyncFileRange(f, 0, 4096, kAllFlags).ok());
    ctx.Ack("/data", std::string(4096, 'b'));
  };
}

// Before the second ack the overwrite is in flight: old bytes, new bytes,
// or (weakest profile, rule C3) a mix of them; after it, only the new data.
std::string OverwriteKeptOnceAcked(Filesystem& fs, const Acks& acks) {
  const std::string got = Contents(fs, "/data");
  if (acks.size() >= 2) return got == std::string(4096, 'b') ? "" : "the acknowledged overwrite is lost";
  if (acks.size() == 1) {
    const bool old_or_new = got.size() == 4096 && got.find_first_not_of("ab") == std::string::npos;
    return old_or_new ? "" : "the file lost its first data";
  }
  return "";
}

TEST(CrashProfileTest, C7SyncFileRangeOverwriteIsKeptByEveryProfileWithoutAVolatileCache) {
  for (CrashProfile profile : {CrashProfile::kStrict, CrashProfile::kOrdered,
                               CrashProfile::kWriteback, CrashProfile::kWeakest}) {
    CrashExplorerOptions options;
    options.profile = profile;
    options.volatile_cache = false;
    auto report = CrashExplorer(options).Run(OverwriteWithSyncFileRange(), OverwriteKeptOnceAcked);
    ASSERT_TRUE(report.ok());
    EXPECT_TRUE(report->failures.empty()) << CrashProfileName(profile) << ": " << report->ToJson();
  }
  CrashExplorerOptions cached;  // the default device has a volatile cache
  auto report = CrashExplorer(cached).Run(OverwriteWithSyncFileRange(), OverwriteKeptOnceAcked);
  ASSERT_TRUE(report.ok());
  EXPECT_FALSE(report->failures.empty()) << "sync_file_range never flushes a volatile cache";
}

// Rule C3: the weakest profile tears a pending page at the sector size, so
// some states hold a page of mixed old and new sectors, never a sector of
// mixed bytes.
TEST(CrashProfileTest, WeakestTearsPagesAtSectorBoundariesOnly) {
  CrashExplorerOptions options;
  options.profile = CrashProfile::kWeakest;
  options.volatile_cache = false;
  options.exhaustive_limit = 1 << 12;
  CrashExplorer explorer(options);
  auto workload = [](WorkloadContext& ctx) {
    Filesystem& fs = ctx.fs();
    Fd f = MustOpen(fs, "/data", O_RDWR | O_CREAT);
    MustWrite(fs, f, std::string(4096, 'a'));
    EXPECT_TRUE(fs.Fsync(f).ok());
    MustFsyncDir(fs, "/");
    MustWrite(fs, f, std::string(4096, 'b'));
    EXPECT_TRUE(fs.SyncFileRange(f, 0, 4096, kSyncFileRangeWrite).ok());  // pending
  };
  auto points = explorer.CrashPointsOf(workload);
  ASSERT_TRUE(points.ok());
  auto states = explorer.StatesAt(workload, points->back());
  ASSERT_TRUE(states.ok());
  ASSERT_EQ(states->pending.size(), 1u);
  ASSERT_EQ(states->names.size(), 256u);  // 8 sectors of 512 bytes
  std::set<std::string> seen;
  for (const std::string& name : states->names) {
    std::string content;
    auto verdict = explorer.Replay(workload, [&](Filesystem& fs, const Acks&) {
      content = Contents(fs, "/data");
      return std::string();
    }, name);
    ASSERT_TRUE(verdict.ok());
    ASSERT_EQ(content.size(), 4096u);
    std::string sectors;
    for (size_t s = 0; s < 8; ++s) {
      const std::string sector = content.substr(s * 512, 512);
      ASSERT_TRUE(sector == std::string(512, 'a') || sector == std::string(512, 'b'))
          << name << ": sector " << s << " mixes bytes";
      sectors += sector[0];
    }
    seen.insert(sectors);
  }
  EXPECT_EQ(seen.size(), 256u);  // every old/new combination of sectors
}

}  // namespace
}  // namespace vfs::testing

namespace vfs::testing {
namespace {

TEST(CrashExplorerTest, SyncCallPointsAreOnePerDurabilityCall) {
  CrashExplorerOptions options;
  options.points = CrashPoints::kSyncCalls;
  CrashExplorer explorer(options);
  auto workload = [](WorkloadContext& ctx) {
    Filesystem& fs = ctx.fs();
    Fd f = MustOpen(fs, "/a", O_RDWR | O_CREAT);
    MustWrite(fs, f, "x");
    EXPECT_TRUE(fs.Fsync(f).ok());                                 // 1
    EXPECT_TRUE(fs.Fdatasync(f).ok());                             // 2
    EXPECT_TRUE(fs.SyncFileRange(f, 0, 0, kWrite).ok());          // 3
    Fd root = MustOpen(fs, "/", O_RDONLY | O_DIRECTORY);
    EXPECT_TRUE(fs.Fdatasync(root).ok());                          // 4 (fsync inside: once)
    EXPECT_EQ(fs.Fsync(Fd(99)).error(), EBADF);                    // 5 (a failed call too)
    MustWrite(fs, f, "y");                                         // not a sync call
  };
  auto points = explorer.CrashPointsOf(workload);
  ASSERT_TRUE(points.ok());
  EXPECT_EQ(points->size(), 5u);
  auto report = explorer.Run(workload, AckedFilesHoldTheirData);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->points, 5u);
}

// Eleven calls of the Filesystem API, nested ones (open runs openat, pwrite
// runs pwrite2, fdatasync of a directory runs fsync) and failed ones
// included. The ack lists what is unsynced with calls of its own, which are
// the harness's and make no crash point.
constexpr size_t kCallsOfCountedWorkload = 11;
void CountedWorkload(WorkloadContext& ctx) {
  Filesystem& fs = ctx.fs();
  Fd f = MustOpen(fs, "/a", O_RDWR | O_CREAT);                    // 1 open
  MustWrite(fs, f, "x");                                         // 2 pwrite
  EXPECT_TRUE(fs.Fsync(f).ok());                                 // 3 fsync
  EXPECT_TRUE(fs.Mkdir("/d", 0755).ok());                        // 4 mkdir
  EXPECT_EQ(fs.Unlink("/missing").error(), ENOENT);              // 5 a failed call
  ctx.Ack("/a", "x");                                            //   not a call
  EXPECT_TRUE(fs.Rename("/a", "/d/a").ok());                     // 6 rename
  EXPECT_TRUE(fs.Stat("/d/a").ok());                             // 7 stat
  Fd root = MustOpen(fs, "/", O_RDONLY | O_DIRECTORY);           // 8 open
  EXPECT_TRUE(fs.Fdatasync(root).ok());                          // 9 fdatasync
  EXPECT_TRUE(fs.Close(root).ok());                              // 10 close
  EXPECT_TRUE(fs.Close(f).ok());                                 // 11 close
  ctx.Ack("/d/a", "x");
}

TEST(CrashExplorerTest, SyscallPointsAreOnePerCallTheWorkloadMakes) {
  CrashExplorerOptions options;
  options.points = CrashPoints::kSyscalls;
  CrashExplorer explorer(options);
  auto points = explorer.CrashPointsOf(CountedWorkload);
  ASSERT_TRUE(points.ok());
  EXPECT_EQ(points->size(), kCallsOfCountedWorkload);
  EXPECT_TRUE(std::is_sorted(points->begin(), points->end()));
  // The points are where the calls returned: the fsync of call 3 and the
  // directory fsync of call 9 each moved the store's event count.
  EXPECT_LT((*points)[2 - 1], (*points)[3 - 1]);
  EXPECT_LT((*points)[8 - 1], (*points)[9 - 1]);
  uint64_t checked = 0;
  auto report = explorer.Run(CountedWorkload, [&checked](Filesystem&, const Acks&) {
    ++checked;
    return std::string();
  });
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->points, kCallsOfCountedWorkload);
  EXPECT_EQ(report->states, checked);
  EXPECT_GE(checked, kCallsOfCountedWorkload);
}

TEST(CrashExplorerTest, SyscallPointsRunAHookTheCallerSetToo) {
  CrashExplorerOptions options;
  options.points = CrashPoints::kSyscalls;
  auto calls = std::make_shared<size_t>(0);
  options.fs_options.after_call = [calls] { ++*calls; };
  CrashExplorer explorer(options);
  auto points = explorer.CrashPointsOf(CountedWorkload);
  ASSERT_TRUE(points.ok());
  EXPECT_EQ(points->size(), kCallsOfCountedWorkload);
  // The caller's hook sees the ack's listing calls too: it is not the
  // explorer's to filter.
  EXPECT_GT(*calls, kCallsOfCountedWorkload);
}

TEST(CrashExplorerTest, FailureAtASyscallPointReplaysByItsName) {
  CrashExplorerOptions options;
  options.points = CrashPoints::kSyscalls;
  CrashExplorer explorer(options);
  auto report = explorer.Run(ReplaceByRename(/*fsync_temp=*/false), ConfigIsOldOrNew);
  ASSERT_TRUE(report.ok());
  ASSERT_FALSE(report->failures.empty());
  auto points = explorer.CrashPointsOf(ReplaceByRename(false));
  ASSERT_TRUE(points.ok());
  for (const CrashFailure& failure : report->failures) {
    auto name = CrashStateName::Parse(failure.name);
    ASSERT_TRUE(name.ok()) << failure.name;
    EXPECT_NE(std::find(points->begin(), points->end(), name->point), points->end())
        << failure.name << " is not at a syscall point";
    auto replayed = explorer.Replay(ReplaceByRename(false), ConfigIsOldOrNew, failure.name);
    ASSERT_TRUE(replayed.ok()) << failure.name;
    EXPECT_EQ(*replayed, failure.message) << failure.name;
  }
}

}  // namespace
}  // namespace vfs::testing
