// Deleted files give their memory back (docs/architecture.md, "Deleted
// files"): an unlinked inode's store data is freed once its last reference is
// gone and its removal is durable (rule D3: a directory fsync, or a sync that
// covers it), and not before: until then a crash may bring the name back.
// Every test runs on every store: memory, memory with a volatile cache, disk,
// and the fault store over memory.
#include <fcntl.h>

#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "backends/fault/fault_store.h"
#include "harness/crash_explorer.h"
#include "tests/test_util.h"

namespace vfs::testing {
namespace {

constexpr uint64_t kMiB = 1 << 20;

FaultStoreOptions FaultOptions(bool record) {
  FaultStoreOptions options;
  options.record = record;
  return options;
}

void FsyncDirOf(Filesystem& fs, const std::string& path) {
  auto dir = fs.Open(path, O_RDONLY | O_DIRECTORY);
  ASSERT_TRUE(dir.ok());
  EXPECT_TRUE(fs.Fsync(*dir).ok());
  EXPECT_TRUE(fs.Close(*dir).ok());
}

enum class StoreKind { kMemory, kMemoryVolatile, kDisk, kFault };

std::string KindName(const ::testing::TestParamInfo<StoreKind>& info) {
  switch (info.param) {
    case StoreKind::kMemory: return "Memory";
    case StoreKind::kMemoryVolatile: return "MemoryVolatileCache";
    case StoreKind::kDisk: return "Disk";
    case StoreKind::kFault: return "FaultOverMemory";
  }
  return "Unknown";
}

class FreeDeletedTest : public VfsTest, public ::testing::WithParamInterface<StoreKind> {
 protected:
  void SetUp() override {
    switch (GetParam()) {
      case StoreKind::kMemory: store_ = NewMemoryStore(MemoryStoreOptions{}); break;
      case StoreKind::kMemoryVolatile: store_ = NewMemoryStore({.volatile_cache = true}); break;
      case StoreKind::kDisk: store_ = NewTemporaryDiskStore(); break;
      case StoreKind::kFault:
        // Not recording: a recording keeps every page it saw alive.
        store_ = NewFaultStore(NewMemoryStore(MemoryStoreOptions{}), FaultOptions(/*record=*/false));
        break;
    }
    ASSERT_NE(store_, nullptr);
    options_.clock = TickingClock();
    Remount();
  }

  uint64_t Held() { return store_->Stats().held_bytes; }
  uint64_t Unlinked() {
    auto st = fs_->Statfs();
    EXPECT_TRUE(st.ok());
    return st.ok() ? st->unlinked_bytes : ~uint64_t{0};
  }

  // `size` bytes, different at every offset and for every `seed`, so a
  // page from the wrong place or the wrong file shows.
  static std::string Pattern(size_t size, uint32_t seed) {
    std::string out(size, '\0');
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < size; ++i) {
      x = x * 1103515245u + 12345u;
      out[i] = static_cast<char>(x >> 24);
    }
    return out;
  }

  // Creates `path` with `data`, fsyncs it and its directory: name and data
  // durable.
  void WriteDurable(const std::string& path, const std::string& data, const std::string& dir = "/") {
    Fd fd = OpenOrDie(path, O_WRONLY | O_CREAT | O_TRUNC);
    WriteAt(fd, 0, data);
    ASSERT_OK(fs_->Fsync(fd));
    ASSERT_OK(fs_->Close(fd));
    FsyncDir(dir);
  }
};

// The loop: 100 times create and write a 16 MiB file, fsync it,
// unlink it, fsync the directory. The store never holds two files' worth,
// and after each directory fsync it holds nothing.
TEST_P(FreeDeletedTest, HeldBytesStayUnderTwoFilesOverAHundredDeletes) {
  constexpr size_t kFile = 16 * kMiB;
  const std::string chunk = Pattern(kMiB, 7);
  uint64_t peak = 0;
  for (int round = 0; round < 100; ++round) {
    Fd fd = OpenOrDie("/big", O_WRONLY | O_CREAT | O_TRUNC);
    for (size_t at = 0; at < kFile; at += chunk.size()) WriteAt(fd, static_cast<int64_t>(at), chunk);
    ASSERT_OK(fs_->Fsync(fd));
    ASSERT_OK(fs_->Close(fd));
    peak = std::max(peak, Held());
    ASSERT_OK(fs_->Unlink("/big"));
    peak = std::max(peak, Held());
    FsyncDir("/");
    ASSERT_EQ(Held(), 0u) << "round " << round << ": the removal is durable, the data is not freed";
    ASSERT_EQ(Unlinked(), 0u) << "round " << round;
  }
  EXPECT_GE(peak, kFile);  // the file did reach the store
  EXPECT_LT(peak, 2 * kFile);
}

// Rule D3: before the directory fsync a crash brings the name back, with all
// of its data; the bytes count as unlinked meanwhile, not as used.
TEST_P(FreeDeletedTest, CrashBeforeDirectoryFsyncBringsTheFileBackWhole) {
  const std::string data = Pattern(kMiB + 123, 1);
  WriteDurable("/f", data);
  ASSERT_OK(fs_->Unlink("/f"));
  EXPECT_FALSE(Exists("/f"));
  EXPECT_GE(Held(), data.size());
  EXPECT_GE(Unlinked(), data.size());
  auto st = fs_->Statfs();
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->blocks_free, st->blocks);  // max_bytes: nothing reachable
  CrashAndRemount();
  EXPECT_EQ(ReadFile("/f"), data);
}

// After the directory fsync the file is gone for good, its memory freed, and
// the next mount has nothing to repair (no entry named a freed inode).
TEST_P(FreeDeletedTest, DirectoryFsyncAfterUnlinkFreesTheDataAndACrashKeepsItGone) {
  const std::string data = Pattern(kMiB, 2);
  WriteDurable("/f", data);
  ASSERT_OK(fs_->Unlink("/f"));
  FsyncDir("/");
  EXPECT_EQ(Held(), 0u);
  EXPECT_EQ(Unlinked(), 0u);
  CrashAndRemount();
  EXPECT_FALSE(Exists("/f"));
  EXPECT_EQ(fs_->mount_report().orphans_freed, 0u);
  EXPECT_EQ(fs_->mount_report().dropped_entries, 0u);
  EXPECT_EQ(Held(), 0u);
}

// An open descriptor is a reference: the durable removal does not free the
// data while it is open; the close does.
TEST_P(FreeDeletedTest, OpenUnlinkedFileIsFreedAtCloseAfterTheDirectoryFsync) {
  const std::string data = Pattern(3 * kPage, 3);
  WriteDurable("/f", data);
  Fd fd = OpenOrDie("/f", O_RDONLY);
  ASSERT_OK(fs_->Unlink("/f"));
  FsyncDir("/");
  EXPECT_EQ(Held(), data.size());
  std::string back(data.size(), '\0');
  auto n = fs_->Pread(fd, back.data(), back.size(), 0);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(back, data);
  ASSERT_OK(fs_->Close(fd));
  EXPECT_EQ(Held(), 0u);
  EXPECT_EQ(Unlinked(), 0u);
  CrashAndRemount();
  EXPECT_FALSE(Exists("/f"));
  EXPECT_EQ(fs_->mount_report().orphans_freed, 0u);
}

// Closed before the directory fsync: the data waits for it, then goes.
TEST_P(FreeDeletedTest, OpenUnlinkedFileClosedBeforeTheDirectoryFsyncIsFreedByIt) {
  const std::string data = Pattern(3 * kPage, 4);
  WriteDurable("/f", data);
  Fd fd = OpenOrDie("/f", O_RDONLY);
  ASSERT_OK(fs_->Unlink("/f"));
  ASSERT_OK(fs_->Close(fd));
  EXPECT_EQ(Held(), data.size());
  EXPECT_EQ(Unlinked(), data.size());
  FsyncDir("/");
  EXPECT_EQ(Held(), 0u);
  EXPECT_EQ(Unlinked(), 0u);
}

// An unlinked file fsynced through its descriptor reaches the store after
// its name is gone; no entry names it, so the close frees it.
TEST_P(FreeDeletedTest, FileFsyncedAfterItsUnlinkIsFreedAtClose) {
  Fd fd = OpenOrDie("/f", O_RDWR | O_CREAT);
  FsyncDir("/");
  ASSERT_OK(fs_->Unlink("/f"));
  FsyncDir("/");
  WriteAt(fd, 0, Pattern(2 * kPage, 5));
  ASSERT_OK(fs_->Fsync(fd));
  EXPECT_EQ(Held(), 2 * kPage);
  ASSERT_OK(fs_->Close(fd));
  EXPECT_EQ(Held(), 0u);
}

// Hard links: freed only when the last name's removal is durable.
TEST_P(FreeDeletedTest, HardLinkedFileIsFreedOnlyWhenEveryRemovalIsDurable) {
  ASSERT_OK(fs_->Mkdir("/a", 0755));
  ASSERT_OK(fs_->Mkdir("/b", 0755));
  FsyncDir("/");
  const std::string data = Pattern(2 * kPage, 6);
  WriteDurable("/a/f", data, "/a");
  ASSERT_OK(fs_->Link("/a/f", "/b/g"));
  FsyncDir("/b");
  ASSERT_OK(fs_->Unlink("/a/f"));
  FsyncDir("/a");
  EXPECT_EQ(Held(), data.size());  // one name left
  ASSERT_OK(fs_->Unlink("/b/g"));
  EXPECT_EQ(Held(), data.size());  // /b/g still durable
  FsyncDir("/a");                  // not the directory that held it
  EXPECT_EQ(Held(), data.size());
  CrashAndRemount();
  EXPECT_EQ(ReadFile("/b/g"), data);
  EXPECT_FALSE(Exists("/a/f"));
  ASSERT_OK(fs_->Unlink("/b/g"));
  FsyncDir("/b");
  EXPECT_EQ(Held(), 0u);
}

// rename over an existing file: the replaced file is freed once the entry
// that now names the other is durable; before that a crash shows it.
TEST_P(FreeDeletedTest, RenameOverAFileFreesTheReplacedFileAtTheDirectoryFsync) {
  const std::string old_data = Pattern(4 * kPage, 7);
  const std::string new_data = Pattern(2 * kPage, 8);
  WriteDurable("/config", old_data);
  WriteDurable("/config.tmp", new_data);
  ASSERT_OK(fs_->Rename("/config.tmp", "/config"));
  EXPECT_EQ(Held(), old_data.size() + new_data.size());
  EXPECT_EQ(Unlinked(), old_data.size());
  FsyncDir("/");
  EXPECT_EQ(Held(), new_data.size());
  EXPECT_EQ(Unlinked(), 0u);
  CrashAndRemount();
  EXPECT_EQ(ReadFile("/config"), new_data);
  EXPECT_FALSE(Exists("/config.tmp"));
  EXPECT_EQ(fs_->mount_report().orphans_freed, 0u);
}

TEST_P(FreeDeletedTest, RenameOverAFileThenCrashBeforeTheDirectoryFsyncKeepsTheOldFile) {
  const std::string old_data = Pattern(4 * kPage, 9);
  const std::string new_data = Pattern(2 * kPage, 10);
  WriteDurable("/config", old_data);
  WriteDurable("/config.tmp", new_data);
  ASSERT_OK(fs_->Rename("/config.tmp", "/config"));
  CrashAndRemount();
  EXPECT_EQ(ReadFile("/config"), old_data);
  EXPECT_EQ(ReadFile("/config.tmp"), new_data);
}

// rmdir: once the directory's removal is durable, it and the files its
// stored entries still name (their removals were never sent) are freed.
TEST_P(FreeDeletedTest, RemovedDirectoryAndTheFilesItNamedAreFreedWhenItsRemovalIsDurable) {
  ASSERT_OK(fs_->Mkdir("/d", 0755));
  FsyncDir("/");
  const std::string data = Pattern(3 * kPage, 11);
  WriteDurable("/d/f", data, "/d");
  ASSERT_OK(fs_->Unlink("/d/f"));
  ASSERT_OK(fs_->Rmdir("/d"));
  EXPECT_EQ(Held(), data.size());  // /d and /d/f are durable still
  FsyncDir("/");
  EXPECT_EQ(Held(), 0u);
  EXPECT_EQ(Unlinked(), 0u);
  CrashAndRemount();
  EXPECT_FALSE(Exists("/d"));
  EXPECT_EQ(fs_->mount_report().orphans_freed, 0u);
  EXPECT_EQ(fs_->mount_report().dropped_entries, 0u);
}

TEST_P(FreeDeletedTest, RemovedDirectoryCrashBeforeItsRemovalIsDurableBringsBothBack) {
  ASSERT_OK(fs_->Mkdir("/d", 0755));
  FsyncDir("/");
  const std::string data = Pattern(3 * kPage, 12);
  WriteDurable("/d/f", data, "/d");
  ASSERT_OK(fs_->Unlink("/d/f"));
  ASSERT_OK(fs_->Rmdir("/d"));
  CrashAndRemount();
  EXPECT_EQ(ReadFile("/d/f"), data);
}

// A file created and deleted between syncs never costs the store a request.
TEST_P(FreeDeletedTest, FileCreatedAndDeletedBetweenSyncsCostsTheStoreNothing) {
  FsyncDir("/");
  const uint64_t requests = store_->Stats().requests;
  Fd fd = OpenOrDie("/scratch", O_RDWR | O_CREAT);
  WriteAt(fd, 0, Pattern(8 * kPage, 13));
  ASSERT_OK(fs_->Unlink("/scratch"));
  ASSERT_OK(fs_->Close(fd));
  FsyncDir("/");  // the removal of a name the store never had
  EXPECT_EQ(Held(), 0u);
  EXPECT_EQ(Unlinked(), 0u);
  // Only the directory fsync's entry and record reached the store.
  EXPECT_LE(store_->Stats().requests - requests, 2u);
  EXPECT_EQ(store_->Stats().page_writes, 0u);
}

// A file fsynced but never named durably is freed at once at its unlink.
TEST_P(FreeDeletedTest, FileNeverNamedDurablyIsFreedAtItsUnlink) {
  Fd fd = OpenOrDie("/f", O_WRONLY | O_CREAT);
  WriteAt(fd, 0, Pattern(4 * kPage, 14));
  ASSERT_OK(fs_->Fsync(fd));
  ASSERT_OK(fs_->Close(fd));
  EXPECT_EQ(Held(), 4 * kPage);
  ASSERT_OK(fs_->Unlink("/f"));
  EXPECT_EQ(Held(), 0u);
  EXPECT_EQ(Unlinked(), 0u);
}

// Rules X4 and D3: an O_TMPFILE file fsynced (its data and record reach the
// store) and closed without a name is freed at its close; one given a name
// by linkat is not.
TEST_P(FreeDeletedTest, TmpfileFsyncedAndClosedUnnamedIsFreedAtItsClose) {
  Fd fd = OpenOrDie("/", O_TMPFILE | O_RDWR, 0600);
  WriteAt(fd, 0, Pattern(4 * kPage, 17));
  ASSERT_OK(fs_->Fsync(fd));
  EXPECT_EQ(Held(), 4 * kPage);
  ASSERT_OK(fs_->Close(fd));
  EXPECT_EQ(Held(), 0u);
  EXPECT_EQ(Unlinked(), 0u);
}

TEST_P(FreeDeletedTest, TmpfileNamedByLinkatKeepsItsData) {
  Fd fd = OpenOrDie("/", O_TMPFILE | O_RDWR, 0600);
  const std::string data = Pattern(3 * kPage, 18);
  WriteAt(fd, 0, data);
  ASSERT_OK(fs_->Fsync(fd));
  ASSERT_OK(fs_->LinkAt(fd, "", kCwd, "/named", AT_EMPTY_PATH));
  ASSERT_OK(fs_->Close(fd));
  FsyncDir("/");
  EXPECT_EQ(Held(), 3 * kPage);
  CrashAndRemount();
  EXPECT_EQ(ReadFile("/named"), data);
}

// max_bytes counts what a guest can reach: bytes waiting for a durable
// unlink do not stop new writes.
TEST_P(FreeDeletedTest, BytesWaitingForADurableUnlinkDoNotCountAgainstMaxBytes) {
  options_.max_bytes = 8 * kMiB;
  Remount();
  const std::string data = Pattern(6 * kMiB, 15);
  WriteDurable("/a", data);
  ASSERT_OK(fs_->Unlink("/a"));
  EXPECT_EQ(Unlinked(), data.size());
  Fd fd = OpenOrDie("/b", O_WRONLY | O_CREAT);
  WriteAt(fd, 0, data);
  ASSERT_OK(fs_->Close(fd));
}

// syncfs covers the removal as a directory fsync does.
TEST_P(FreeDeletedTest, SyncfsFreesDeletedFiles) {
  WriteDurable("/f", Pattern(5 * kPage, 16));
  ASSERT_OK(fs_->Unlink("/f"));
  Fd root = OpenOrDie("/", O_RDONLY | O_DIRECTORY);
  ASSERT_OK(fs_->Syncfs(root));
  ASSERT_OK(fs_->Close(root));
  EXPECT_EQ(Held(), 0u);
  EXPECT_EQ(Unlinked(), 0u);
}

INSTANTIATE_TEST_SUITE_P(EveryStore, FreeDeletedTest,
                         ::testing::Values(StoreKind::kMemory, StoreKind::kMemoryVolatile,
                                           StoreKind::kDisk, StoreKind::kFault),
                         KindName);

// The disk store's live data drops with each free, and compaction sees it:
// the store's files stay near the size of one file while twenty are written
// and deleted.
TEST(DiskFreeDeletedTest, CompactionReclaimsTheLogSpaceOfDeletedFiles) {
  const char* tmp = std::getenv("TMPDIR");
  std::string dir = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/vfs-free-XXXXXX";
  ASSERT_NE(::mkdtemp(dir.data()), nullptr);
  constexpr size_t kFile = 2 * kMiB;
  constexpr int kRounds = 20;
  uint64_t largest = 0;
  {
    DiskStoreOptions options;
    options.compaction_min_log_bytes = 4 * kMiB;
    options.log_extend_bytes = kMiB;
    options.counters = std::make_shared<DiskStoreCounters>();
    // Compactions in the fsyncing caller: done when Fsync returns, and the
    // files are not renamed while this test lists them.
    options.background_work = false;
    auto store = OpenDiskStore(dir, options);
    ASSERT_TRUE(store.ok());
    auto mounted = Filesystem::Mount(*store, {});
    ASSERT_TRUE(mounted.ok());
    Filesystem& fs = **mounted;
    const std::string data(kFile, 'z');
    auto files_size = [&dir] {
      uint64_t total = 0;
      for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        if (entry.is_regular_file()) total += entry.file_size();
      }
      return total;
    };
    for (int round = 0; round < kRounds; ++round) {
      auto fd = fs.Open("/f", O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ASSERT_TRUE(fd.ok());
      ASSERT_TRUE(fs.Pwrite(*fd, data.data(), data.size(), 0).ok());
      ASSERT_OK(fs.Fsync(*fd));
      ASSERT_OK(fs.Close(*fd));
      ASSERT_OK(fs.Unlink("/f"));
      FsyncDirOf(fs, "/");
      EXPECT_EQ((*store)->Stats().held_bytes, 0u) << "round " << round;
      largest = std::max(largest, files_size());
    }
    EXPECT_GT(options.counters->compactions.load(), 0u);
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  // 40 MiB written; without the frees the live data alone would be that.
  EXPECT_LT(largest, 12 * kMiB);
}

// ---- Crash states ----

std::string Contents(Filesystem& fs, const std::string& path) {
  auto fd = fs.Open(path, O_RDONLY);
  if (!fd.ok()) return "<missing>";
  std::string out(64 * kPage, '\0');
  auto n = fs.Pread(*fd, out.data(), out.size(), 0);
  (void)fs.Close(*fd);
  out.resize(n.ok() ? *n : 0);
  return out;
}

// Deletes in every shape the frees must order: an unlink, an open file closed
// after the directory fsync, a rename over a file, hard links, a removed
// directory. Every crash state holds each file whole or not at all, and at
// least what was acknowledged.
Workload DeleteEverything() {
  return [](WorkloadContext& ctx) {
    Filesystem& fs = ctx.fs();
    const std::string a(5 * kPage, 'a'), b(3 * kPage, 'b'), c(2 * kPage, 'c'), d(kPage, 'd');
    auto write = [&fs](const std::string& path, const std::string& data) {
      auto fd = fs.Open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ASSERT_TRUE(fd.ok());
      EXPECT_TRUE(fs.Pwrite(*fd, data.data(), data.size(), 0).ok());
      EXPECT_TRUE(fs.Fsync(*fd).ok());
      EXPECT_TRUE(fs.Close(*fd).ok());
    };
    ASSERT_TRUE(fs.Mkdir("/d", 0755).ok());
    write("/a", a);
    write("/b", b);
    write("/d/c", c);
    write("/link1", d);
    ASSERT_TRUE(fs.Link("/link1", "/d/link2").ok());
    FsyncDirOf(fs, "/d");
    FsyncDirOf(fs, "/");
    for (const char* path : {"/a", "/b", "/d/c", "/link1", "/d/link2"}) ctx.Ack(path, "present");
    auto open_b = fs.Open("/b", O_RDONLY);
    ASSERT_TRUE(open_b.ok());
    // From here until the directory fsync a crash may or may not keep them.
    for (const char* path : {"/a", "/b", "/d/c", "/link1", "/d/link2"}) ctx.Ack(path, "either");
    ASSERT_TRUE(fs.Unlink("/a").ok());
    ASSERT_TRUE(fs.Unlink("/b").ok());
    ASSERT_TRUE(fs.Rename("/d/link2", "/link1").ok());  // over its own other name: nothing
    ASSERT_TRUE(fs.Unlink("/d/c").ok());
    ASSERT_TRUE(fs.Unlink("/d/link2").ok());
    ASSERT_TRUE(fs.Rmdir("/d").ok());
    FsyncDirOf(fs, "/");
    for (const char* path : {"/a", "/b", "/d/c", "/d/link2"}) ctx.Ack(path, "absent");
    EXPECT_TRUE(fs.Close(*open_b).ok());
    ctx.Ack("/link1", "either");
    ASSERT_TRUE(fs.Unlink("/link1").ok());
    FsyncDirOf(fs, "/");
    ctx.Ack("/link1", "absent");
  };
}

std::string WholeOrAbsent(Filesystem& fs, const Acks& acks) {
  const std::pair<const char*, std::string> files[] = {
      {"/a", std::string(5 * kPage, 'a')},      {"/b", std::string(3 * kPage, 'b')},
      {"/d/c", std::string(2 * kPage, 'c')},    {"/link1", std::string(kPage, 'd')},
      {"/d/link2", std::string(kPage, 'd')}};
  for (const auto& [path, data] : files) {
    const std::string got = Contents(fs, path);
    std::string acked;
    for (const Ack& ack : acks) {
      if (ack.key == path) acked = ack.value;
    }
    if (acked == "present" && got != data) return std::string(path) + ": acknowledged, not whole";
    // "either": whole or missing, as any state.
    if (acked == "absent" && got != "<missing>") return std::string(path) + ": deleted durably, back";
    if (got != "<missing>" && got != data) return std::string(path) + ": torn (" + std::to_string(got.size()) + " bytes)";
  }
  return "";
}

TEST(FreeDeletedCrashTest, EveryCrashStateKeepsDeletedFilesWholeOrGoneAndNeverNamesAFreedInode) {
  for (CrashProfile profile : {CrashProfile::kStrict, CrashProfile::kOrdered, CrashProfile::kWriteback}) {
    CrashExplorerOptions options;
    options.profile = profile;
    options.seed = 19;
    SCOPED_TRACE(CrashProfileName(profile));
    CrashExplorer explorer(options);
    auto report = explorer.Run(DeleteEverything(), [](Filesystem& fs, const Acks& acks) {
      // A freed inode is never named by a durable entry: the mount never
      // drops an entry for a missing inode (metadata persists in order in
      // these profiles, so nothing else drops one).
      if (fs.mount_report().dropped_entries != 0) return std::string("an entry named a freed inode");
      return WholeOrAbsent(fs, acks);
    });
    ASSERT_TRUE(report.ok());
    EXPECT_GT(report->states, 0u);
    for (const CrashFailure& f : report->failures) ADD_FAILURE() << f.name << ": " << f.message;
  }
}

// The weakest profile keeps any subset of pending metadata, so an entry may
// arrive without its inode; the frees still never break a file.
TEST(FreeDeletedCrashTest, WeakestProfileStatesKeepDeletedFilesWholeOrGone) {
  CrashExplorerOptions options;
  options.profile = CrashProfile::kWeakest;
  options.seed = 19;
  options.samples = 64;
  CrashExplorer explorer(options);
  auto report = explorer.Run(DeleteEverything(), WholeOrAbsent);
  ASSERT_TRUE(report.ok());
  EXPECT_GT(report->states, 0u);
  for (const CrashFailure& f : report->failures) ADD_FAILURE() << f.name << ": " << f.message;
}

// The store sees each FreeInode only after the removal that unnamed the
// inode is durable.
TEST(FreeDeletedCrashTest, EveryFreeFollowsTheDurableRemovalOfItsLastName) {
  auto faults = NewFaultStore(NewMemoryStore({.volatile_cache = true}), FaultOptions(/*record=*/true));
  {
    auto fs = Filesystem::Mount(faults, {});
    ASSERT_TRUE(fs.ok());
    WorkloadContext ctx(**fs, *faults);
    DeleteEverything()(ctx);
  }
  const std::vector<RecordedRequest> log = faults->Recording();
  int frees = 0;
  for (const RecordedRequest& r : log) {
    const auto* free = std::get_if<FreeInode>(&r.request);
    if (free == nullptr) continue;
    ++frees;
    // The last request before it that removed or replaced an entry naming
    // this inode must be durable before the free was submitted.
    absl::flat_hash_map<std::pair<uint64_t, std::string>, uint64_t> entries;
    bool removed = false;
    uint64_t removal_durable = 0;
    for (const RecordedRequest& q : log) {
      if (q.index >= r.index) break;
      if (const auto* put = std::get_if<PutDirent>(&q.request)) {
        auto key = std::make_pair(put->dir.value(), put->name);
        auto it = entries.find(key);
        if (it != entries.end() && it->second == free->ino.value() && put->ino != free->ino) {
          removed = true;
          removal_durable = q.durable_at;
        }
        entries[key] = put->ino.value();
      } else if (const auto* del = std::get_if<DelDirent>(&q.request)) {
        auto key = std::make_pair(del->dir.value(), del->name);
        auto it = entries.find(key);
        if (it != entries.end() && it->second == free->ino.value()) {
          removed = true;
          removal_durable = q.durable_at;
        }
        entries.erase(key);
      }
    }
    if (!removed) continue;  // a name only in a removed directory, or none
    EXPECT_NE(removal_durable, 0u) << Describe(r.request) << ": its removal never became durable";
    EXPECT_LT(removal_durable, r.submitted_at) << Describe(r.request);
  }
  EXPECT_GE(frees, 5);  // a, b, c, the linked file, /d
}

}  // namespace
}  // namespace vfs::testing
