// Crash states built on the shared durable image of their crash point (the
// default) are the states the reference builds by replaying every kept
// request into a fresh store: for several workloads, every profile, and
// devices with and without a volatile cache, the recovered trees agree
// state by state.
#include <fcntl.h>

#include <set>
#include <string>
#include <vector>

#include "harness/crash_explorer.h"
#include "tests/test_util.h"

namespace vfs::testing {
namespace {

// Everything a mount shows: each path with its type, mode, size, link count
// and contents (or symlink target), and what the mount repaired.
void DumpTree(Filesystem& fs, const std::string& dir, std::string* out) {
  auto fd = fs.Open(dir, O_RDONLY | O_DIRECTORY);
  if (!fd.ok()) {
    *out += dir + ": open failed\n";
    return;
  }
  auto entries = fs.ReadDir(*fd);
  (void)fs.Close(*fd);
  if (!entries.ok()) return;
  for (const DirEntry& e : *entries) {
    if (e.name == "." || e.name == "..") continue;
    const std::string path = dir == "/" ? "/" + e.name : dir + "/" + e.name;
    auto st = fs.Lstat(path);
    if (!st.ok()) {
      *out += path + ": lstat failed\n";
      continue;
    }
    *out += path + " mode " + std::to_string(st->mode) + " size " + std::to_string(st->size) +
            " nlink " + std::to_string(st->nlink) + " blocks " + std::to_string(st->blocks) +
            " mtime " + std::to_string(st->mtime.sec) + " ctime " + std::to_string(st->ctime.sec);
    if (S_ISDIR(st->mode)) {
      *out += "\n";
      DumpTree(fs, path, out);
    } else if (S_ISLNK(st->mode)) {
      auto target = fs.Readlink(path);
      *out += " -> " + (target.ok() ? *target : std::string("?")) + "\n";
    } else if (S_ISREG(st->mode)) {
      std::string data(st->size, '\0');
      auto file = fs.Open(path, O_RDONLY);
      if (file.ok()) {
        auto n = fs.Pread(*file, data.data(), data.size(), 0);
        data.resize(n.ok() ? *n : 0);
        (void)fs.Close(*file);
      }
      *out += " data " + Runs(data) + "\n";
    } else {
      *out += "\n";
    }
  }
}

std::string Dump(Filesystem& fs) {
  std::string out;
  const MountReport& r = fs.mount_report();
  out += "report " + std::to_string(r.inodes) + " " + std::to_string(r.dropped_entries) + " " +
         std::to_string(r.orphans_freed) + " " + std::to_string(r.pages_beyond_size) + "\n";
  DumpTree(fs, "/", &out);
  return out;
}

Fd MustOpen(Filesystem& fs, const std::string& path, int flags) {
  auto fd = fs.Open(path, flags, 0644);
  EXPECT_TRUE(fd.ok()) << path;
  return fd.ok() ? *fd : Fd(-1);
}

void Put(Filesystem& fs, Fd fd, const std::string& data, int64_t at) {
  EXPECT_TRUE(fs.Pwrite(fd, data.data(), data.size(), at).ok());
}

void FsyncDir(Filesystem& fs, const std::string& path) {
  Fd dir = MustOpen(fs, path, O_RDONLY | O_DIRECTORY);
  EXPECT_TRUE(fs.Fsync(dir).ok());
  EXPECT_TRUE(fs.Close(dir).ok());
}

// Replace by rename without fsyncing the new file.
void ReplaceByRename(WorkloadContext& ctx) {
  Filesystem& fs = ctx.fs();
  Fd f = MustOpen(fs, "/config", O_WRONLY | O_CREAT);
  Put(fs, f, "old settings", 0);
  EXPECT_TRUE(fs.Fsync(f).ok());
  EXPECT_TRUE(fs.Close(f).ok());
  FsyncDir(fs, "/");
  Fd t = MustOpen(fs, "/config.tmp", O_WRONLY | O_CREAT);
  Put(fs, t, "new settings", 0);
  EXPECT_TRUE(fs.Close(t).ok());
  EXPECT_TRUE(fs.Rename("/config.tmp", "/config").ok());
  FsyncDir(fs, "/");
}

// Pages across files, overwrites, truncations (down and up), unlinks of
// synced files, hard and symbolic links, directories made and removed,
// sync_file_range (pages without records), O_DSYNC writes, fdatasync.
void Mixed(WorkloadContext& ctx) {
  Filesystem& fs = ctx.fs();
  EXPECT_TRUE(fs.Mkdir("/d", 0755).ok());
  Fd a = MustOpen(fs, "/d/a", O_RDWR | O_CREAT);
  Put(fs, a, Fill('a', 3 * kPage), 0);
  EXPECT_TRUE(fs.Fsync(a).ok());
  FsyncDir(fs, "/d");
  FsyncDir(fs, "/");
  Put(fs, a, Fill('A', kPage + 100), kPage / 2);
  EXPECT_TRUE(fs.SyncFileRange(a, 0, 0, kWrite).ok());
  EXPECT_TRUE(fs.Ftruncate(a, kPage + 10).ok());
  Put(fs, a, "tail", 2 * kPage);
  EXPECT_TRUE(fs.Fdatasync(a).ok());
  Fd b = MustOpen(fs, "/b", O_WRONLY | O_CREAT | O_DSYNC);
  Put(fs, b, Fill('b', kPage + 1), 0);
  EXPECT_TRUE(fs.Link("/b", "/d/b-link").ok());
  EXPECT_TRUE(fs.Symlink("/d/a", "/sym").ok());
  EXPECT_TRUE(fs.Mkdir("/gone", 0755).ok());
  FsyncDir(fs, "/");
  EXPECT_TRUE(fs.Rmdir("/gone").ok());
  EXPECT_TRUE(fs.Unlink("/d/a").ok());
  FsyncDir(fs, "/d");
  EXPECT_TRUE(fs.Ftruncate(b, 3 * kPage).ok());
  EXPECT_TRUE(fs.Fsync(b).ok());
  EXPECT_TRUE(fs.Rename("/b", "/d/b").ok());
  Put(fs, b, Fill('c', 2 * kPage), kPage);
  EXPECT_TRUE(fs.SyncFileRange(b, kPage, kPage, kWrite).ok());
  FsyncDir(fs, "/");
  EXPECT_TRUE(fs.Close(a).ok());
  EXPECT_TRUE(fs.Close(b).ok());
  fs.Sync();
}

// Every state of the exploration, in order, as the checker saw it.
std::vector<std::string> States(const Workload& workload, CrashExplorerOptions options) {
  std::vector<std::string> dumps;
  CrashExplorer explorer(options);
  auto report = explorer.Run(workload, [&dumps](Filesystem& fs, const Acks&) {
    dumps.push_back(Dump(fs));
    return std::string();
  });
  EXPECT_TRUE(report.ok());
  if (report.ok()) {
    EXPECT_EQ(report->states, dumps.size());
  }
  return dumps;
}

void ExpectSameStates(const Workload& workload, const char* name, size_t min_distinct) {
  for (bool volatile_cache : {true, false}) {
    for (CrashProfile profile : {CrashProfile::kStrict, CrashProfile::kOrdered,
                                 CrashProfile::kWriteback, CrashProfile::kWeakest}) {
      SCOPED_TRACE(std::string(name) + " " + CrashProfileName(profile) +
                   (volatile_cache ? " volatile cache" : " no volatile cache"));
      CrashExplorerOptions options;
      options.profile = profile;
      options.volatile_cache = volatile_cache;
      options.sector_size = 2048;  // two sectors a page: tears stay few
      options.exhaustive_limit = 64;
      options.samples = 24;
      const std::vector<std::string> on_image = States(workload, options);
      options.replay_states = true;
      const std::vector<std::string> replayed = States(workload, options);
      ASSERT_EQ(on_image.size(), replayed.size());
      for (size_t i = 0; i < on_image.size(); ++i) {
        ASSERT_EQ(on_image[i], replayed[i]) << "state " << i;
      }
      // The comparison means something: the states differ from each other.
      const std::set<std::string> distinct(on_image.begin(), on_image.end());
      EXPECT_GE(distinct.size(), min_distinct);
    }
  }
}

TEST(CrashStateBuildTest, TheSameExplorationTwiceGivesTheSameStates) {
  for (bool replay : {false, true}) {
    CrashExplorerOptions options;
    options.profile = CrashProfile::kWriteback;
    options.replay_states = replay;
    const std::vector<std::string> first = States(Mixed, options);
    const std::vector<std::string> second = States(Mixed, options);
    ASSERT_EQ(first.size(), second.size());
    for (size_t i = 0; i < first.size(); ++i) {
      ASSERT_EQ(first[i], second[i]) << (replay ? "replayed" : "on the image") << ", state " << i;
    }
  }
}

TEST(CrashStateBuildTest, StatesOnTheDurableImageEqualReplayedStatesForAReplaceByRename) {
  ExpectSameStates(ReplaceByRename, "replace", 3);
}

TEST(CrashStateBuildTest, StatesOnTheDurableImageEqualReplayedStatesForMixedCalls) {
  ExpectSameStates(Mixed, "mixed", 6);
}

TEST(CrashStateBuildTest, StatesOnTheDurableImageEqualReplayedStatesForSyscallPoints) {
  // Points out of the store's event order are not possible, but syscall
  // points repeat events (calls that reach no store): the image is reused.
  CrashExplorerOptions options;
  options.points = CrashPoints::kSyscalls;
  options.profile = CrashProfile::kWeakest;
  options.sector_size = 2048;
  options.exhaustive_limit = 64;
  options.samples = 24;
  const std::vector<std::string> on_image = States(Mixed, options);
  options.replay_states = true;
  EXPECT_EQ(on_image, States(Mixed, options));
  EXPECT_GT(on_image.size(), 30u);
}

TEST(CrashStateBuildTest, ReplayOfANamedStateMatchesEitherWay) {
  // A replay visits one point alone, building its image from nothing.
  CrashExplorerOptions options;
  options.profile = CrashProfile::kWriteback;
  CrashExplorer explorer(options);
  auto points = explorer.CrashPointsOf(Mixed);
  ASSERT_TRUE(points.ok());
  ASSERT_GT(points->size(), 4u);
  const uint64_t point = (*points)[points->size() / 2];
  auto states = explorer.StatesAt(Mixed, point);
  ASSERT_TRUE(states.ok());
  ASSERT_FALSE(states->names.empty());
  CrashExplorerOptions reference = options;
  reference.replay_states = true;
  CrashExplorer replayer(reference);
  for (const std::string& name : states->names) {
    std::string on_image, replayed;
    auto a = explorer.Replay(Mixed, [&](Filesystem& fs, const Acks&) { on_image = Dump(fs); return std::string(); }, name);
    auto b = replayer.Replay(Mixed, [&](Filesystem& fs, const Acks&) { replayed = Dump(fs); return std::string(); }, name);
    ASSERT_TRUE(a.ok() && b.ok()) << name;
    EXPECT_EQ(on_image, replayed) << name;
    EXPECT_FALSE(on_image.empty());
  }
}

}  // namespace
}  // namespace vfs::testing
