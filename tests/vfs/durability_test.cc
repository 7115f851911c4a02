// What each durability call makes durable, checked by crashing and mounting
// the store again: fsync (D1), fdatasync (D2), directory entries (D3), the
// to-write snapshot (D4), sync_file_range (D5, S1-S4), AIX fsync_range (D6),
// WASI fd_sync / fd_datasync (D7), syncfs and sync, O_SYNC / O_DSYNC writes
// and pwritev2 flags (O1-O3), and the sets rule C7 says survive every crash.
//
// Each test checks both sides where this VFS defines them: what was synced
// survives, and what was not synced (a later mtime, an unfsynced name, the
// size of an extending write after sync_file_range) does not. Rules marked
// [VFS choice] in docs/semantics.md are asserted only here, never in
// Linux-parity tests.
#include <cerrno>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <utility>

#include "tests/test_util.h"
#include "vfs/inode.h"
#include "vfs/internal/mutex.h"
#include "vfs/store.h"

namespace vfs::testing {
namespace {




std::string ParentOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == 0 ? "/" : path.substr(0, slash);
}

class DurabilityTest : public VfsTest {
 protected:
  void SetUp() override {
    VfsTest::SetUp();
    ASSERT_EQ(fs_->page_size(), kPage);
  }

  // Creates `path` holding `data` and fsyncs it and its parent: data, record
  // and name are durable (the recipe of rule D3).
  void MakeDurable(const std::string& path, const std::string& data) {
    Fd fd = OpenOrDie(path, O_WRONLY | O_CREAT | O_TRUNC);
    WriteAt(fd, 0, data);
    ASSERT_OK(fs_->Fsync(fd));
    ASSERT_OK(fs_->Close(fd));
    FsyncDir(ParentOf(path));
  }

  PageState StateAt(Fd fd, uint64_t index) {
    auto state = fs_->PageStateAt(fd, PageIndex(index));
    EXPECT_TRUE(state.ok()) << strerror(state.error());
    return state.ok() ? *state : PageState::kHole;
  }

  uint8_t FlagsOf(Fd fd) {
    auto flags = fs_->InodeDirtyFlags(fd);
    EXPECT_TRUE(flags.ok()) << strerror(flags.error());
    return flags.ok() ? *flags : 0xff;
  }

  StatBuf StatOrDie(const std::string& path) {
    auto st = fs_->Stat(path);
    EXPECT_TRUE(st.ok()) << path << ": " << strerror(st.error());
    return st.ok() ? *st : StatBuf{};
  }

  // The bytes of `path` in [offset, offset + n).
  std::string ReadRange(const std::string& path, size_t offset, size_t n) {
    const std::string all = ReadFile(path);
    if (offset >= all.size()) return "";
    return all.substr(offset, n);
  }
};

// A memory store with a volatile write cache: completed writes are durable
// only after Flush (rule M3).
class VolatileCacheTest : public DurabilityTest {
 protected:
  void SetUp() override {
    store_options_.volatile_cache = true;
    DurabilityTest::SetUp();
  }
};

// Timestamp-only changes set DIRTY_TIME (rule M2, lazytime).
class LazytimeTest : public DurabilityTest {
 protected:
  void SetUp() override {
    options_.lazytime = true;
    DurabilityTest::SetUp();
  }
};

// ---- D1: fsync ----

// Rule D1 (steps 2-4), C7: fsync makes the data, the size and the whole
// record, timestamps included, durable.
TEST_F(DurabilityTest, FsyncPersistsDataSizeAndMtime) {
  MakeDurable("/a", "old");
  const Timespec durable_mtime = StatOrDie("/a").mtime;
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, 0, Fill('x', 5000));
  ASSERT_OK_AND_ASSIGN(before, fs_->Fstat(fd));
  ASSERT_NE(before.mtime, durable_mtime);
  ASSERT_OK(fs_->Fsync(fd));
  CrashAndRemount();
  EXPECT_EQ(Runs(ReadFile("/a")), Runs(Fill('x', 5000)));
  const StatBuf after = StatOrDie("/a");
  EXPECT_EQ(after.size, 5000u);
  EXPECT_EQ(after.mtime.sec, before.mtime.sec);
  EXPECT_EQ(after.ctime.sec, before.ctime.sec);
}

// Rule D1.4: the record fsync writes is whole, so a chmod (DIRTY_SYNC only)
// becomes durable too.
TEST_F(DurabilityTest, FsyncPersistsChmod) {
  MakeDurable("/a", "data");
  Fd fd = OpenOrDie("/a", O_RDWR);
  ASSERT_OK(fs_->Fchmod(fd, 0600));
  EXPECT_EQ(FlagsOf(fd), kDirtySync);
  ASSERT_OK(fs_->Fsync(fd));
  EXPECT_EQ(FlagsOf(fd), 0);
  CrashAndRemount();
  EXPECT_EQ(StatOrDie("/a").mode & 07777, 0600u);
}

// Rule D1.2-D1.3: fsync writes every dirty page of the whole file and waits
// for all of them.
TEST_F(DurabilityTest, FsyncWritesAndWaitsEveryDirtyPageOfTheFile) {
  MakeDurable("/a", Fill('a', 4 * kPage));
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, 0, "x");
  WriteAt(fd, 3 * kPage, "y");
  ASSERT_EQ(StateAt(fd, 0), PageState::kDirty);
  ASSERT_EQ(StateAt(fd, 3), PageState::kDirty);
  ASSERT_OK(fs_->Fsync(fd));
  EXPECT_EQ(StateAt(fd, 0), PageState::kClean);
  EXPECT_EQ(StateAt(fd, 3), PageState::kClean);
  CrashAndRemount();
  EXPECT_EQ(ReadRange("/a", 0, 2), "xa");
  EXPECT_EQ(ReadRange("/a", 3 * kPage, 2), "ya");
}

// Rule D1.2: a page already in writeback is waited for, then written again
// because it was dirtied meanwhile; the second content is durable.
TEST_F(DurabilityTest, FsyncRewritesPageDirtiedWhileInWriteback) {
  MakeDurable("/a", Fill('a'));
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, 0, "first");
  ASSERT_OK(fs_->SyncFileRange(fd, 0, 0, kWrite));
  ASSERT_EQ(StateAt(fd, 0), PageState::kWriteback);
  WriteAt(fd, 0, "SECOND");
  ASSERT_EQ(StateAt(fd, 0), PageState::kDirtyWriteback);
  ASSERT_OK(fs_->Fsync(fd));
  EXPECT_EQ(StateAt(fd, 0), PageState::kClean);
  CrashAndRemount();
  EXPECT_EQ(ReadRange("/a", 0, 7), "SECONDa");
}

// Rule D1.4: with no dirty page and no dirty inode flag, fsync writes
// nothing to the store.
TEST_F(DurabilityTest, FsyncOfCleanFileSubmitsNothing) {
  MakeDurable("/a", "data");
  Fd fd = OpenOrDie("/a", O_RDONLY);
  ASSERT_EQ(FlagsOf(fd), 0);
  const uint64_t submits = store_->Stats().submits;
  ASSERT_OK(fs_->Fsync(fd));
  EXPECT_EQ(store_->Stats().submits, submits);
}

// Rule E1.4 with D1: fsync through a read-only descriptor makes the file's
// dirty data durable.
TEST_F(DurabilityTest, FsyncThroughReadOnlyDescriptorPersistsData) {
  MakeDurable("/a", "old");
  Fd writer = OpenOrDie("/a", O_WRONLY);
  WriteAt(writer, 0, "new");
  Fd reader = OpenOrDie("/a", O_RDONLY);
  ASSERT_OK(fs_->Fsync(reader));
  CrashAndRemount();
  EXPECT_EQ(Runs(ReadFile("/a")), Runs("new"));
}

// Rule D1.5, C7: fsync flushes the store's volatile cache, so its data
// survives a crash on a store with one.
TEST_F(VolatileCacheTest, FsyncFlushesVolatileStoreCache) {
  MakeDurable("/a", Fill('a'));
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, 0, "new");
  ASSERT_OK(fs_->Fsync(fd));
  CrashAndRemount();
  EXPECT_EQ(ReadRange("/a", 0, 4), "newa");
}

// Rule D1.1 (M2 lazytime): an overwrite under lazytime sets DIRTY_TIME only,
// and fsync turns it into DIRTY_SYNC, so the new mtime becomes durable.
TEST_F(LazytimeTest, FsyncPersistsLazytimeTimestamps) {
  MakeDurable("/a", Fill('a'));
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, 0, "new");  // an overwrite: no size or allocation change
  EXPECT_EQ(FlagsOf(fd), kDirtyTime);
  ASSERT_OK_AND_ASSIGN(before, fs_->Fstat(fd));
  ASSERT_OK(fs_->Fsync(fd));
  EXPECT_EQ(FlagsOf(fd), 0);
  CrashAndRemount();
  EXPECT_EQ(StatOrDie("/a").mtime.sec, before.mtime.sec);
  EXPECT_EQ(ReadRange("/a", 0, 4), "newa");
}

// ---- D2: fdatasync ----

// Rules M2 and D2: an extending write sets DIRTY_SYNC|DIRTY_DATASYNC, and
// fdatasync makes the data and the new size durable.
TEST_F(DurabilityTest, FdatasyncPersistsSizeOfExtendingWrite) {
  MakeDurable("/a", "hello");
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, 5, " world, and more" + Fill('z', kPage));
  EXPECT_EQ(FlagsOf(fd), kDirtySync | kDirtyDatasync);
  ASSERT_OK(fs_->Fdatasync(fd));
  EXPECT_EQ(FlagsOf(fd) & kDirtyDatasync, 0);
  CrashAndRemount();
  EXPECT_EQ(Runs(ReadFile("/a")), Runs("hello world, and more" + Fill('z', kPage)));
  EXPECT_EQ(StatOrDie("/a").size, 21u + kPage);
}

// Rule D2 [VFS choice]: fdatasync writes only the size and allocation into
// an existing record, so the durable mtime keeps its old value.
TEST_F(DurabilityTest, FdatasyncDoesNotPersistMtime) {
  MakeDurable("/a", "hello");
  const Timespec durable_mtime = StatOrDie("/a").mtime;
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, 5, " world");
  ASSERT_OK_AND_ASSIGN(before, fs_->Fstat(fd));
  ASSERT_NE(before.mtime, durable_mtime);
  ASSERT_OK(fs_->Fdatasync(fd));
  EXPECT_EQ(FlagsOf(fd), kDirtySync);  // the timestamps are still dirty
  CrashAndRemount();
  EXPECT_EQ(Runs(ReadFile("/a")), Runs("hello world"));
  EXPECT_EQ(StatOrDie("/a").mtime, durable_mtime);
}

// Rules M2 [VFS choice] and D2: chmod sets DIRTY_SYNC only, which fdatasync
// does not write.
TEST_F(DurabilityTest, FdatasyncDoesNotPersistChmod) {
  MakeDurable("/a", "data");
  Fd fd = OpenOrDie("/a", O_RDWR);
  ASSERT_OK(fs_->Fchmod(fd, 0600));
  EXPECT_EQ(FlagsOf(fd), kDirtySync);
  ASSERT_OK(fs_->Fdatasync(fd));
  EXPECT_EQ(FlagsOf(fd), kDirtySync);
  CrashAndRemount();
  EXPECT_EQ(StatOrDie("/a").mode & 07777, 0644u);
}

// Rule D2: an overwrite changes no size or allocation (DIRTY_SYNC only), so
// fdatasync writes the data but no record: the data survives, the mtime
// keeps its durable value.
TEST_F(DurabilityTest, FdatasyncPersistsOverwriteWithoutWritingRecord) {
  MakeDurable("/a", Fill('a'));
  const Timespec durable_mtime = StatOrDie("/a").mtime;
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, 0, "new");
  EXPECT_EQ(FlagsOf(fd), kDirtySync);
  ASSERT_OK(fs_->Fdatasync(fd));
  EXPECT_EQ(StateAt(fd, 0), PageState::kClean);
  EXPECT_EQ(FlagsOf(fd), kDirtySync);
  CrashAndRemount();
  EXPECT_EQ(ReadRange("/a", 0, 4), "newa");
  EXPECT_EQ(StatOrDie("/a").mtime, durable_mtime);
}

// Rule D2 [VFS choice]: an inode with no durable record gets its whole
// record from fdatasync, timestamps included.
TEST_F(DurabilityTest, FdatasyncWritesWholeRecordOfNeverRecordedInode) {
  Fd fd = OpenOrDie("/a", O_RDWR | O_CREAT);
  WriteAt(fd, 0, "hello");
  ASSERT_OK(fs_->Fchmod(fd, 0600));
  ASSERT_OK_AND_ASSIGN(before, fs_->Fstat(fd));
  ASSERT_OK(fs_->Fdatasync(fd));
  EXPECT_EQ(FlagsOf(fd), 0);
  FsyncDir("/");
  CrashAndRemount();
  EXPECT_EQ(Runs(ReadFile("/a")), Runs("hello"));
  const StatBuf after = StatOrDie("/a");
  EXPECT_EQ(after.mtime, before.mtime);
  EXPECT_EQ(after.mode & 07777, 0600u);
}

// Rule D2: a shrinking truncate changes the size (DIRTY_DATASYNC), so
// fdatasync makes it durable.
TEST_F(DurabilityTest, FdatasyncPersistsShrinkingTruncate) {
  MakeDurable("/a", "hello world" + Fill('w', kPage));
  Fd fd = OpenOrDie("/a", O_RDWR);
  ASSERT_OK(fs_->Ftruncate(fd, 5));
  EXPECT_EQ(FlagsOf(fd), kDirtySync | kDirtyDatasync);
  ASSERT_OK(fs_->Fdatasync(fd));
  CrashAndRemount();
  EXPECT_EQ(Runs(ReadFile("/a")), Runs("hello"));
  EXPECT_EQ(StatOrDie("/a").blocks, kPage / 512);  // page 1 freed
}

// Rules D2 and D1.1: fdatasync leaves DIRTY_TIME alone, so lazytime
// timestamps are not made durable by it (only the data is).
TEST_F(LazytimeTest, FdatasyncDoesNotPersistLazytimeTimestamps) {
  MakeDurable("/a", Fill('a'));
  const Timespec durable_mtime = StatOrDie("/a").mtime;
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, 0, "new");
  ASSERT_EQ(FlagsOf(fd), kDirtyTime);
  ASSERT_OK(fs_->Fdatasync(fd));
  EXPECT_EQ(FlagsOf(fd), kDirtyTime);
  CrashAndRemount();
  EXPECT_EQ(ReadRange("/a", 0, 4), "newa");
  EXPECT_EQ(StatOrDie("/a").mtime, durable_mtime);
}

// Rule D2 (data steps as D1.5), C7: fdatasync flushes a volatile store
// cache.
TEST_F(VolatileCacheTest, FdatasyncFlushesVolatileStoreCache) {
  MakeDurable("/a", "hello");
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, 5, " world");
  ASSERT_OK(fs_->Fdatasync(fd));
  CrashAndRemount();
  EXPECT_EQ(Runs(ReadFile("/a")), Runs("hello world"));
}

// Rule C7 (fdatasync: the allocation): a page written into a hole is a new
// allocation, and fdatasync makes it readable after a crash.
TEST_F(DurabilityTest, FdatasyncPersistsNewAllocationInHole) {
  Fd fd = OpenOrDie("/a", O_RDWR | O_CREAT);
  WriteAt(fd, 0, Fill('a'));
  WriteAt(fd, 2 * kPage, Fill('c'));  // page 1 stays a hole
  ASSERT_OK(fs_->Fsync(fd));
  FsyncDir("/");
  ASSERT_EQ(StateAt(fd, 1), PageState::kHole);
  WriteAt(fd, kPage, Fill('b'));
  EXPECT_EQ(FlagsOf(fd), kDirtySync | kDirtyDatasync);  // new allocation
  ASSERT_OK(fs_->Fdatasync(fd));
  CrashAndRemount();
  EXPECT_EQ(Runs(ReadFile("/a")), Runs(Fill('a') + Fill('b') + Fill('c')));
}

// ---- D3: directory entries ----

// Rule D3: fsync of a file does not make its new name durable.
TEST_F(DurabilityTest, FileFsyncDoesNotPersistItsName) {
  Fd fd = OpenOrDie("/a", O_RDWR | O_CREAT);
  WriteAt(fd, 0, "data");
  ASSERT_OK(fs_->Fsync(fd));
  CrashAndRemount();
  EXPECT_FALSE(Exists("/a"));
}

// Rule D3: fdatasync of a file does not make its new name durable either.
TEST_F(DurabilityTest, FileFdatasyncDoesNotPersistItsName) {
  Fd fd = OpenOrDie("/a", O_RDWR | O_CREAT);
  WriteAt(fd, 0, "data");
  ASSERT_OK(fs_->Fdatasync(fd));
  CrashAndRemount();
  EXPECT_FALSE(Exists("/a"));
}

// Rule D3 (the new-file recipe): write, fsync(file), fsync(parent) makes a
// file in a subdirectory durable, name and data.
TEST_F(DurabilityTest, DirectoryFsyncPersistsCreate) {
  ASSERT_OK(fs_->Mkdir("/d", 0755));
  FsyncDir("/");
  Fd fd = OpenOrDie("/d/a", O_RDWR | O_CREAT);
  WriteAt(fd, 0, "data");
  ASSERT_OK(fs_->Fsync(fd));
  ASSERT_OK_AND_ASSIGN(pending, fs_->PendingEntryCount("/d"));
  EXPECT_EQ(pending, 1u);
  FsyncDir("/d");
  ASSERT_OK_AND_ASSIGN(after_sync, fs_->PendingEntryCount("/d"));
  EXPECT_EQ(after_sync, 0u);
  CrashAndRemount();
  EXPECT_EQ(Runs(ReadFile("/d/a")), Runs("data"));
}

// Rule D3: a created file whose parent was never fsynced is gone after the
// crash, even though the file itself was fsynced.
TEST_F(DurabilityTest, CreateInUnsyncedDirectoryIsLost) {
  ASSERT_OK(fs_->Mkdir("/d", 0755));
  FsyncDir("/");
  Fd fd = OpenOrDie("/d/a", O_RDWR | O_CREAT);
  WriteAt(fd, 0, "data");
  ASSERT_OK(fs_->Fsync(fd));
  CrashAndRemount();
  EXPECT_TRUE(Exists("/d"));
  EXPECT_FALSE(Exists("/d/a"));
}

// Rule D3: fsync of the directory makes the name durable, but the file's
// data and size need the file's own fsync: the file is there, empty.
TEST_F(DurabilityTest, DirectoryFsyncWithoutFileFsyncPersistsNameButNotData) {
  WriteFile("/a", "data");
  FsyncDir("/");
  CrashAndRemount();
  ASSERT_TRUE(Exists("/a"));
  EXPECT_EQ(Runs(ReadFile("/a")), Runs(""));
}

// Rule D3: fsync of a directory persists only the entries of that
// directory, not those of another one.
TEST_F(DurabilityTest, DirectoryFsyncPersistsOnlyItsOwnEntries) {
  ASSERT_OK(fs_->Mkdir("/d1", 0755));
  ASSERT_OK(fs_->Mkdir("/d2", 0755));
  FsyncDir("/");
  MakeDurable("/d1/a", "a");  // fsyncs /d1
  Fd fd = OpenOrDie("/d2/b", O_RDWR | O_CREAT);
  WriteAt(fd, 0, "b");
  ASSERT_OK(fs_->Fsync(fd));
  CrashAndRemount();
  EXPECT_EQ(Runs(ReadFile("/d1/a")), Runs("a"));
  EXPECT_FALSE(Exists("/d2/b"));
}

// Rule D3: an unlink is durable only after fsync of the directory; without
// it the crash brings the name back.
TEST_F(DurabilityTest, UnsyncedUnlinkIsUndoneByCrash) {
  MakeDurable("/a", "data");
  ASSERT_OK(fs_->Unlink("/a"));
  CrashAndRemount();
  EXPECT_EQ(Runs(ReadFile("/a")), Runs("data"));
}

// Rule D3: fsync of the directory makes an unlink durable.
TEST_F(DurabilityTest, DirectoryFsyncPersistsUnlink) {
  MakeDurable("/a", "data");
  ASSERT_OK(fs_->Unlink("/a"));
  FsyncDir("/");
  CrashAndRemount();
  EXPECT_FALSE(Exists("/a"));
}

// Rule D3: fsync of a file that was unlinked does not make the removal
// durable.
TEST_F(DurabilityTest, FileFsyncDoesNotPersistUnlink) {
  MakeDurable("/a", "data");
  Fd fd = OpenOrDie("/a", O_RDWR);
  ASSERT_OK(fs_->Unlink("/a"));
  WriteAt(fd, 0, "DATA");
  ASSERT_OK(fs_->Fsync(fd));
  CrashAndRemount();
  EXPECT_EQ(Runs(ReadFile("/a")), Runs("DATA"));
}

// Rule D3: fsync of a file does not make a new hard link to it durable.
TEST_F(DurabilityTest, FileFsyncDoesNotPersistLink) {
  MakeDurable("/a", "data");
  ASSERT_OK(fs_->Link("/a", "/b"));
  Fd fd = OpenOrDie("/a", O_RDWR);
  ASSERT_OK(fs_->Fsync(fd));
  CrashAndRemount();
  EXPECT_EQ(Runs(ReadFile("/a")), Runs("data"));
  EXPECT_FALSE(Exists("/b"));
}

// Rule D3: a rename inside one directory is undone by a crash unless that
// directory is fsynced.
TEST_F(DurabilityTest, UnsyncedRenameIsUndoneByCrash) {
  MakeDurable("/a", "data");
  ASSERT_OK(fs_->Rename("/a", "/b"));
  Fd fd = OpenOrDie("/b", O_RDONLY);
  ASSERT_OK(fs_->Fsync(fd));  // the file's own fsync does not help
  CrashAndRemount();
  EXPECT_EQ(Runs(ReadFile("/a")), Runs("data"));
  EXPECT_FALSE(Exists("/b"));
}

// Rule D3: fsync of the directory makes a rename inside it durable.
TEST_F(DurabilityTest, DirectoryFsyncPersistsRename) {
  MakeDurable("/a", "data");
  ASSERT_OK(fs_->Rename("/a", "/b"));
  FsyncDir("/");
  CrashAndRemount();
  EXPECT_FALSE(Exists("/a"));
  EXPECT_EQ(Runs(ReadFile("/b")), Runs("data"));
}

// Rule D3 (the replace recipe): write tmp, fsync(tmp), rename over the
// target, fsync(dir): the new content is durable under the old name.
TEST_F(DurabilityTest, ReplaceByRenameRecipeSurvivesCrash) {
  MakeDurable("/target", "old");
  Fd fd = OpenOrDie("/tmp", O_RDWR | O_CREAT);
  WriteAt(fd, 0, "new content");
  ASSERT_OK(fs_->Fsync(fd));
  ASSERT_OK(fs_->Rename("/tmp", "/target"));
  FsyncDir("/");
  CrashAndRemount();
  EXPECT_EQ(Runs(ReadFile("/target")), Runs("new content"));
  EXPECT_FALSE(Exists("/tmp"));
}

// Rule D3: a rename between directories is complete only when both are
// fsynced; fsync of the target alone leaves the source name durable.
TEST_F(DurabilityTest, CrossDirectoryRenameWithOnlyTargetFsyncedKeepsSourceName) {
  ASSERT_OK(fs_->Mkdir("/d1", 0755));
  ASSERT_OK(fs_->Mkdir("/d2", 0755));
  FsyncDir("/");
  MakeDurable("/d1/f", "data");
  ASSERT_OK(fs_->Rename("/d1/f", "/d2/f"));
  FsyncDir("/d2");
  CrashAndRemount();
  EXPECT_EQ(Runs(ReadFile("/d1/f")), Runs("data"));
  EXPECT_EQ(Runs(ReadFile("/d2/f")), Runs("data"));
}

// Rule D3: fsync of the source directory alone does not make the new name
// durable.
TEST_F(DurabilityTest, CrossDirectoryRenameWithOnlySourceFsyncedLosesTargetName) {
  ASSERT_OK(fs_->Mkdir("/d1", 0755));
  ASSERT_OK(fs_->Mkdir("/d2", 0755));
  FsyncDir("/");
  MakeDurable("/d1/f", "data");
  ASSERT_OK(fs_->Rename("/d1/f", "/d2/f"));
  FsyncDir("/d1");
  CrashAndRemount();
  EXPECT_FALSE(Exists("/d1/f"));
  EXPECT_FALSE(Exists("/d2/f"));
}

// Rule D3: with both directories fsynced, a rename between them is durable.
TEST_F(DurabilityTest, CrossDirectoryRenameWithBothDirectoriesFsyncedMovesFile) {
  ASSERT_OK(fs_->Mkdir("/d1", 0755));
  ASSERT_OK(fs_->Mkdir("/d2", 0755));
  FsyncDir("/");
  MakeDurable("/d1/f", "data");
  ASSERT_OK(fs_->Rename("/d1/f", "/d2/f"));
  FsyncDir("/d1");
  FsyncDir("/d2");
  CrashAndRemount();
  EXPECT_FALSE(Exists("/d1/f"));
  EXPECT_EQ(Runs(ReadFile("/d2/f")), Runs("data"));
}

// Rule D3 [VFS choice]: fdatasync of a directory persists its entries, as
// fsync does.
TEST_F(DurabilityTest, DirectoryFdatasyncPersistsEntries) {
  MakeDurable("/old", "x");
  Fd file = OpenOrDie("/a", O_RDWR | O_CREAT);
  WriteAt(file, 0, "data");
  ASSERT_OK(fs_->Fsync(file));
  ASSERT_OK(fs_->Unlink("/old"));
  Fd dir = OpenOrDie("/", O_RDONLY | O_DIRECTORY);
  ASSERT_OK(fs_->Fdatasync(dir));
  CrashAndRemount();
  EXPECT_EQ(Runs(ReadFile("/a")), Runs("data"));
  EXPECT_FALSE(Exists("/old"));
}

// Rule D3: fsync of a directory persists the directory's own inode too.
TEST_F(DurabilityTest, DirectoryFsyncPersistsDirectoryInode) {
  ASSERT_OK(fs_->Mkdir("/d", 0755));
  FsyncDir("/");
  ASSERT_OK(fs_->Chmod("/d", 0700));
  FsyncDir("/d");
  CrashAndRemount();
  EXPECT_EQ(StatOrDie("/d").mode & 07777, 0700u);
}

// Rules D3 and D1.5, C7 (fsync(dir): the entries): a directory fsync
// flushes a volatile store cache.
TEST_F(VolatileCacheTest, DirectoryFsyncFlushesVolatileStoreCache) {
  Fd fd = OpenOrDie("/a", O_RDWR | O_CREAT);
  WriteAt(fd, 0, "data");
  ASSERT_OK(fs_->Fsync(fd));
  ASSERT_OK(fs_->Rename("/a", "/b"));
  FsyncDir("/");
  CrashAndRemount();
  EXPECT_FALSE(Exists("/a"));
  EXPECT_EQ(Runs(ReadFile("/b")), Runs("data"));
}

// ---- D4: pages dirtied during the call ----

// A store that runs a hook at the start of every Wait(), so a test can act
// while a sync call is blocked on the store, and counts the waits. The fault
// store injects failures, not actions, so this one stays here.
class WaitHookStore final : public ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;

  // Runs `hook` at the start of every Wait() (an empty function removes it).
  void SetWaitHook(std::function<void()> hook) {
    MutexLock lock(&mu_);
    hook_ = std::move(hook);
  }
  // Wait() calls so far.
  int waits() const {
    MutexLock lock(&mu_);
    return waits_;
  }

  Result<void> Wait(Ticket ticket) override {
    std::function<void()> hook;
    {
      MutexLock lock(&mu_);
      ++waits_;
      hook = hook_;
    }
    if (hook) hook();  // without the lock: the hook calls back into the VFS
    return ForwardingStore::Wait(ticket);
  }

 private:
  mutable Mutex mu_;
  int waits_ ABSL_GUARDED_BY(mu_) = 0;
  std::function<void()> hook_ ABSL_GUARDED_BY(mu_);
};

// A memory store wrapped so a hook can run while fsync waits on the store.
class HookedStoreTest : public DurabilityTest {
 protected:
  void SetUp() override {
    options_.clock = TickingClock();
    hooked_ = std::make_shared<WaitHookStore>(NewMemoryStore(store_options_));
    store_ = hooked_;
    Remount();
    ASSERT_EQ(fs_->page_size(), kPage);
  }
  std::shared_ptr<WaitHookStore> hooked_;
};

// Rule D4: fsync writes the pages dirty at entry; a writer that dirties
// another page every time fsync waits on the store does not keep it going,
// and the pages it dirtied are still dirty when fsync returns.
TEST_F(HookedStoreTest, FsyncLeavesPagesDirtiedDuringTheCallDirty) {
  constexpr int kPages = 16;
  MakeDurable("/a", Fill('a', kPages * kPage));
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, 0, "x");
  int dirtied = 0;
  hooked_->SetWaitHook([&] {
    if (dirtied + 1 >= kPages) return;
    ++dirtied;
    const std::string byte = "w";
    auto n = fs_->Pwrite(fd, byte.data(), 1, int64_t{dirtied} * kPage);
    EXPECT_TRUE(n.ok());
  });
  const int waits_before = hooked_->waits();
  ASSERT_OK(fs_->Fsync(fd));
  hooked_->SetWaitHook(nullptr);
  EXPECT_LT(hooked_->waits() - waits_before, kPages - 1);  // no chase
  ASSERT_GE(dirtied, 1);
  EXPECT_EQ(StateAt(fd, 0), PageState::kClean);
  for (int i = 1; i <= dirtied; ++i) {
    EXPECT_EQ(StateAt(fd, i), PageState::kDirty) << "page " << i;
  }
}

// ---- D5: sync_file_range ----

// Rule D5, C7: sync_file_range(WRITE|WAIT_AFTER) makes an overwrite of a
// durable, mapped page durable by itself.
TEST_F(DurabilityTest, SyncFileRangePersistsOverwriteOfDurablePage) {
  MakeDurable("/a", Fill('a', 2 * kPage));
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, kPage, "new");
  ASSERT_OK(fs_->SyncFileRange(fd, 0, 0, kWrite | kWaitAfter));
  EXPECT_EQ(StateAt(fd, 1), PageState::kClean);
  // C7: sync_file_range(7) data survives a crash only on a store without a
  // volatile cache; on one (the disk store) the crash takes it.
  const bool kept = !store_->has_volatile_cache();
  CrashAndRemount();
  EXPECT_EQ(Runs(ReadFile("/a")),
            Runs(kept ? Fill('a') + "new" + Fill('a', kPage - 3) : Fill('a', 2 * kPage)));
}

// Rule D5: sync_file_range never writes the inode, so the size of an
// extending write is not durable even though its page was written.
TEST_F(DurabilityTest, SyncFileRangeDoesNotPersistSizeOfExtendingWrite) {
  MakeDurable("/a", "hello");
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, 5, " world");
  ASSERT_OK(fs_->SyncFileRange(fd, 0, 0, kAllFlags));
  EXPECT_EQ(StateAt(fd, 0), PageState::kClean);
  EXPECT_EQ(FlagsOf(fd), kDirtySync | kDirtyDatasync);  // the inode is untouched
  CrashAndRemount();
  EXPECT_EQ(Runs(ReadFile("/a")), Runs("hello"));
  EXPECT_EQ(StatOrDie("/a").size, 5u);
}

// Rule D5: a page written into a hole is a new allocation; without a durable
// record after it, a crash makes the data unreachable (the hole stays).
TEST_F(DurabilityTest, SyncFileRangeDataInNewAllocationIsLostInCrash) {
  Fd fd = OpenOrDie("/a", O_RDWR | O_CREAT);
  WriteAt(fd, 0, Fill('a'));
  WriteAt(fd, 2 * kPage, Fill('c'));
  ASSERT_OK(fs_->Fsync(fd));
  FsyncDir("/");
  WriteAt(fd, kPage, Fill('b'));
  ASSERT_OK(fs_->SyncFileRange(fd, kPage, kPage, kAllFlags));
  EXPECT_EQ(StateAt(fd, 1), PageState::kClean);
  CrashAndRemount();
  EXPECT_EQ(Runs(ReadFile("/a")), Runs(Fill('a') + Fill('\0') + Fill('c')));
}

// Rules M2, D2 and D5: a record written while a newly allocated page is still
// dirty does not cover that page's allocation. When the page later reaches
// the store the inode needs a record again (as delayed allocation re-dirties
// an inode at writeback), so the next fdatasync writes it and the page
// survives a crash.
TEST_F(DurabilityTest, AllocationWrittenAfterARecordIsRecordedByTheNextFdatasync) {
  Fd fd = OpenOrDie("/a", O_RDWR | O_CREAT);
  WriteAt(fd, 0, Fill('a'));
  WriteAt(fd, 2 * kPage, Fill('c'));
  ASSERT_OK(fs_->Fsync(fd));
  FsyncDir("/");
  WriteAt(fd, kPage, Fill('b'));  // fills the hole: a new allocation
  // A ranged sync of page 0 writes the record (DIRTY_DATASYNC is set) but
  // not page 1.
  ASSERT_OK(fs_->FsyncRange(fd, kFsyncRangeDataSync, 0, kPage));
  ASSERT_OK_AND_ASSIGN(after_record, fs_->InodeDirtyFlags(fd));
  EXPECT_EQ(after_record & kDirtyDatasync, 0);
  EXPECT_EQ(StateAt(fd, 1), PageState::kDirty);
  ASSERT_OK(fs_->SyncFileRange(fd, kPage, kPage, kAllFlags));
  ASSERT_OK_AND_ASSIGN(after_write, fs_->InodeDirtyFlags(fd));
  EXPECT_NE(after_write & kDirtyDatasync, 0);
  ASSERT_OK(fs_->Fdatasync(fd));
  CrashAndRemount();
  EXPECT_EQ(Runs(ReadFile("/a")), Runs(Fill('a') + Fill('b') + Fill('c')));
}

// Rules D5 and C1: data that a crash made unreachable stays unreachable; a
// later fsync of the inode must not bring the stale page back into the hole.
TEST_F(DurabilityTest, HoleFillLostInCrashStaysLostAfterLaterFsync) {
  Fd fd = OpenOrDie("/a", O_RDWR | O_CREAT);
  WriteAt(fd, 0, Fill('a'));
  WriteAt(fd, 2 * kPage, Fill('c'));
  ASSERT_OK(fs_->Fsync(fd));
  FsyncDir("/");
  WriteAt(fd, kPage, Fill('b'));
  ASSERT_OK(fs_->SyncFileRange(fd, kPage, kPage, kAllFlags));
  CrashAndRemount();
  ASSERT_EQ(Runs(ReadFile("/a")), Runs(Fill('a') + Fill('\0') + Fill('c')));
  Fd again = OpenOrDie("/a", O_RDWR);
  ASSERT_OK(fs_->Fchmod(again, 0600));
  ASSERT_OK(fs_->Fsync(again));  // the file as shown: page 1 a hole
  CrashAndRemount();
  EXPECT_EQ(Runs(ReadFile("/a")), Runs(Fill('a') + Fill('\0') + Fill('c')));
}

// Rules D5 and C1: the same for a page past the durable size: after the
// crash the file is extended by truncate (a hole) and fsynced, and the hole
// must read as zeros, not as the page the crash lost.
TEST_F(DurabilityTest, ExtensionLostInCrashStaysLostAfterLaterFsync) {
  MakeDurable("/a", "hello");
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, kPage, Fill('y'));
  ASSERT_OK(fs_->SyncFileRange(fd, 0, 0, kAllFlags));
  CrashAndRemount();
  ASSERT_EQ(Runs(ReadFile("/a")), Runs("hello"));
  Fd again = OpenOrDie("/a", O_RDWR);
  ASSERT_OK(fs_->Ftruncate(again, 2 * kPage));
  ASSERT_OK(fs_->Fsync(again));
  CrashAndRemount();
  EXPECT_EQ(Runs(ReadFile("/a")), Runs("hello" + Fill('\0', 2 * kPage - 5)));
}

// Rule D5: sync_file_range does not write timestamps.
TEST_F(DurabilityTest, SyncFileRangeDoesNotPersistMtime) {
  MakeDurable("/a", Fill('a'));
  const Timespec durable_mtime = StatOrDie("/a").mtime;
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, 0, "new");
  ASSERT_OK(fs_->SyncFileRange(fd, 0, 0, kAllFlags));
  // C7: sync_file_range(7) data survives a crash only on a store without a
  // volatile cache; on one (the disk store) the crash takes it.
  const bool kept = !store_->has_volatile_cache();
  CrashAndRemount();
  EXPECT_EQ(ReadRange("/a", 0, 4), kept ? "newa" : "aaaa");
  EXPECT_EQ(StatOrDie("/a").mtime, durable_mtime);
}

// Rule D5: sync_file_range never writes directory entries or the record of
// a new file: the file is gone after the crash.
TEST_F(DurabilityTest, SyncFileRangeDoesNotPersistNewFile) {
  Fd fd = OpenOrDie("/a", O_RDWR | O_CREAT);
  WriteAt(fd, 0, "data");
  ASSERT_OK(fs_->SyncFileRange(fd, 0, 0, kAllFlags));
  CrashAndRemount();
  EXPECT_FALSE(Exists("/a"));
}

// Rule D5, C7: sync_file_range(7) does not flush the store's volatile
// cache, so on such a store even an overwrite of a mapped page is lost.
TEST_F(VolatileCacheTest, SyncFileRangeDoesNotFlushVolatileStoreCache) {
  MakeDurable("/a", Fill('a'));
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, 0, "new");
  ASSERT_OK(fs_->SyncFileRange(fd, 0, 0, kAllFlags));
  EXPECT_EQ(StateAt(fd, 0), PageState::kClean);
  CrashAndRemount();
  EXPECT_EQ(Runs(ReadFile("/a")), Runs(Fill('a')));
}

// ---- S1-S4: sync_file_range flags ----

// Rule S1: WAIT_BEFORE completes pages in writeback and leaves dirty pages
// that are not in writeback alone.
TEST_F(DurabilityTest, SyncFileRangeWaitBeforeCompletesWritebackOnly) {
  MakeDurable("/a", Fill('a', 2 * kPage));
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, 0, "x");
  ASSERT_OK(fs_->SyncFileRange(fd, 0, kPage, kWrite));
  WriteAt(fd, kPage, "y");
  ASSERT_EQ(StateAt(fd, 0), PageState::kWriteback);
  ASSERT_EQ(StateAt(fd, 1), PageState::kDirty);
  ASSERT_OK(fs_->SyncFileRange(fd, 0, 0, kWaitBefore));
  EXPECT_EQ(StateAt(fd, 0), PageState::kClean);
  EXPECT_EQ(StateAt(fd, 1), PageState::kDirty);
  // C7: sync_file_range(7) data survives a crash only on a store without a
  // volatile cache; on one (the disk store) the crash takes it.
  const bool kept = !store_->has_volatile_cache();
  CrashAndRemount();
  EXPECT_EQ(ReadRange("/a", 0, 2), kept ? "xa" : "aa");
  EXPECT_EQ(ReadRange("/a", kPage, 2), "aa");
}

// Rule S2: WRITE starts writeback of dirty pages without waiting: the page
// is in writeback when the call returns.
TEST_F(DurabilityTest, SyncFileRangeWriteStartsWritebackWithoutWaiting) {
  MakeDurable("/a", Fill('a'));
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, 0, "x");
  const uint64_t page_writes = store_->Stats().page_writes;
  ASSERT_OK(fs_->SyncFileRange(fd, 0, 0, kWrite));
  EXPECT_EQ(StateAt(fd, 0), PageState::kWriteback);
  EXPECT_EQ(store_->Stats().page_writes, page_writes + 1);
}

// Rule S4 (WRITE alone: no integrity guarantee): a write only submitted is
// lost in a crash.
TEST_F(DurabilityTest, SyncFileRangeWriteAloneIsLostInCrash) {
  MakeDurable("/a", Fill('a'));
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, 0, "x");
  ASSERT_OK(fs_->SyncFileRange(fd, 0, 0, kWrite));
  CrashAndRemount();
  EXPECT_EQ(Runs(ReadFile("/a")), Runs(Fill('a')));
}

// Rule S2: without all three flags, WRITE skips a page that is dirty and
// already in writeback: nothing new is submitted.
TEST_F(DurabilityTest, SyncFileRangeWriteSkipsPageAlreadyInWriteback) {
  MakeDurable("/a", Fill('a'));
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, 0, "first");
  ASSERT_OK(fs_->SyncFileRange(fd, 0, 0, kWrite));
  WriteAt(fd, 0, "second");
  ASSERT_EQ(StateAt(fd, 0), PageState::kDirtyWriteback);
  const uint64_t page_writes = store_->Stats().page_writes;
  ASSERT_OK(fs_->SyncFileRange(fd, 0, 0, kWrite));
  EXPECT_EQ(StateAt(fd, 0), PageState::kDirtyWriteback);
  EXPECT_EQ(store_->Stats().page_writes, page_writes);
}

// Rule S2: a page in writeback that is not dirty is not written again, even
// with all three flags; the call only waits for it.
TEST_F(DurabilityTest, SyncFileRangeDoesNotRewritePageThatIsNotDirty) {
  MakeDurable("/a", Fill('a'));
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, 0, "x");
  ASSERT_OK(fs_->SyncFileRange(fd, 0, 0, kWrite));
  ASSERT_EQ(StateAt(fd, 0), PageState::kWriteback);
  const uint64_t page_writes = store_->Stats().page_writes;
  ASSERT_OK(fs_->SyncFileRange(fd, 0, 0, kAllFlags));
  EXPECT_EQ(StateAt(fd, 0), PageState::kClean);
  EXPECT_EQ(store_->Stats().page_writes, page_writes);
}

// Rules S2 and S3: WRITE|WAIT_AFTER (6) waits for the old write but does not
// rewrite a page dirtied during it: the page is dirty afterwards.
TEST_F(DurabilityTest, SyncFileRangeWriteWaitAfterLeavesRedirtiedPageDirty) {
  MakeDurable("/a", Fill('a'));
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, 0, "first");
  ASSERT_OK(fs_->SyncFileRange(fd, 0, 0, kWrite));
  WriteAt(fd, 0, "second");
  ASSERT_OK(fs_->SyncFileRange(fd, 0, 0, kWrite | kWaitAfter));
  EXPECT_EQ(StateAt(fd, 0), PageState::kDirty);
  // C7: sync_file_range(7) data survives a crash only on a store without a
  // volatile cache; on one (the disk store) the crash takes it.
  const bool kept = !store_->has_volatile_cache();
  CrashAndRemount();
  EXPECT_EQ(ReadRange("/a", 0, 6), kept ? "firsta" : "aaaaaa");
}

// Rule S2 (all three flags, WB_SYNC_ALL): the call waits for the write in
// flight and then writes the page again; the second content is durable.
TEST_F(DurabilityTest, SyncFileRangeAllFlagsRewritesPageDirtiedDuringWriteback) {
  MakeDurable("/a", Fill('a'));
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, 0, "first");
  ASSERT_OK(fs_->SyncFileRange(fd, 0, 0, kWrite));
  WriteAt(fd, 0, "second");
  ASSERT_OK(fs_->SyncFileRange(fd, 0, 0, kAllFlags));
  EXPECT_EQ(StateAt(fd, 0), PageState::kClean);
  // C7: sync_file_range(7) data survives a crash only on a store without a
  // volatile cache; on one (the disk store) the crash takes it.
  const bool kept = !store_->has_volatile_cache();
  CrashAndRemount();
  EXPECT_EQ(ReadRange("/a", 0, 7), kept ? "seconda" : "aaaaaaa");
}

// Rule S3: WAIT_AFTER waits for the writes WRITE started in the same call,
// so the overwrite is durable when it returns.
TEST_F(DurabilityTest, SyncFileRangeWaitAfterCompletesWriteOfTheSameCall) {
  MakeDurable("/a", Fill('a'));
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, 0, "x");
  ASSERT_OK(fs_->SyncFileRange(fd, 0, kPage, kWrite | kWaitAfter));
  EXPECT_EQ(StateAt(fd, 0), PageState::kClean);
  // C7: sync_file_range(7) data survives a crash only on a store without a
  // volatile cache; on one (the disk store) the crash takes it.
  const bool kept = !store_->has_volatile_cache();
  CrashAndRemount();
  EXPECT_EQ(ReadRange("/a", 0, 2), kept ? "xa" : "aa");
}

// Rules S3 and S4 (WAIT_AFTER alone): waits for writes started earlier.
TEST_F(DurabilityTest, SyncFileRangeWaitAfterAloneCompletesEarlierWrites) {
  MakeDurable("/a", Fill('a'));
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, 0, "x");
  ASSERT_OK(fs_->SyncFileRange(fd, 0, 0, kWrite));
  ASSERT_EQ(StateAt(fd, 0), PageState::kWriteback);
  ASSERT_OK(fs_->SyncFileRange(fd, 0, 0, kWaitAfter));
  EXPECT_EQ(StateAt(fd, 0), PageState::kClean);
  // C7: sync_file_range(7) data survives a crash only on a store without a
  // volatile cache; on one (the disk store) the crash takes it.
  const bool kept = !store_->has_volatile_cache();
  CrashAndRemount();
  EXPECT_EQ(ReadRange("/a", 0, 2), kept ? "xa" : "aa");
}

// Rule S4 (WAIT_BEFORE|WRITE = 3): every page dirty at entry has been
// submitted by return, including one dirtied while in writeback.
TEST_F(DurabilityTest, SyncFileRangeWaitBeforeWriteSubmitsEveryPageDirtyAtEntry) {
  MakeDurable("/a", Fill('a', 2 * kPage));
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, 0, "first");
  ASSERT_OK(fs_->SyncFileRange(fd, 0, kPage, kWrite));
  WriteAt(fd, 0, "second");
  WriteAt(fd, kPage, "y");
  ASSERT_EQ(StateAt(fd, 0), PageState::kDirtyWriteback);
  ASSERT_OK(fs_->SyncFileRange(fd, 0, 0, kWaitBefore | kWrite));
  EXPECT_EQ(StateAt(fd, 0), PageState::kWriteback);
  EXPECT_EQ(StateAt(fd, 1), PageState::kWriteback);
}

// ---- D6: AIX fsync_range ----

// Rule D6 (O_DSYNC): only the dirty pages in the range are written; a
// dirty page outside it stays dirty and is not durable.
TEST_F(DurabilityTest, FsyncRangeDataSyncWritesOnlyPagesInRange) {
  MakeDurable("/a", Fill('a', 4 * kPage));
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, 0, "x");
  WriteAt(fd, 3 * kPage, "y");
  ASSERT_OK(fs_->FsyncRange(fd, kFsyncRangeDataSync, 0, kPage));
  EXPECT_EQ(StateAt(fd, 0), PageState::kClean);
  EXPECT_EQ(StateAt(fd, 3), PageState::kDirty);
  CrashAndRemount();
  EXPECT_EQ(ReadRange("/a", 0, 2), "xa");
  EXPECT_EQ(ReadRange("/a", 3 * kPage, 2), "aa");
}

// Rule D6 (O_DSYNC: the metadata needed to read the data back): the size of
// an extending write is durable, the mtime is not ([VFS choice] of D2).
TEST_F(DurabilityTest, FsyncRangeDataSyncPersistsSizeButNotMtime) {
  MakeDurable("/a", "hello");
  const Timespec durable_mtime = StatOrDie("/a").mtime;
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, kPage, "tail");
  ASSERT_OK(fs_->FsyncRange(fd, kFsyncRangeDataSync, kPage, 4));
  CrashAndRemount();
  EXPECT_EQ(Runs(ReadFile("/a")), Runs("hello" + Fill('\0', kPage - 5) + "tail"));
  EXPECT_EQ(StatOrDie("/a").mtime, durable_mtime);
}

// Rule D6: length 0 covers the whole file.
TEST_F(DurabilityTest, FsyncRangeLengthZeroCoversWholeFile) {
  MakeDurable("/a", Fill('a', 4 * kPage));
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, 0, "x");
  WriteAt(fd, 3 * kPage, "y");
  ASSERT_OK(fs_->FsyncRange(fd, kFsyncRangeDataSync, 0, 0));
  EXPECT_EQ(StateAt(fd, 0), PageState::kClean);
  EXPECT_EQ(StateAt(fd, 3), PageState::kClean);
  CrashAndRemount();
  EXPECT_EQ(ReadRange("/a", 0, 2), "xa");
  EXPECT_EQ(ReadRange("/a", 3 * kPage, 2), "ya");
}

// Rule D6 (O_SYNC): all metadata, timestamps included, becomes durable.
TEST_F(DurabilityTest, FsyncRangeFileSyncPersistsMtime) {
  MakeDurable("/a", Fill('a'));
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, 0, "new");
  ASSERT_OK_AND_ASSIGN(before, fs_->Fstat(fd));
  ASSERT_OK(fs_->FsyncRange(fd, kFsyncRangeFileSync, 0, kPage));
  EXPECT_EQ(FlagsOf(fd), 0);
  CrashAndRemount();
  EXPECT_EQ(ReadRange("/a", 0, 4), "newa");
  EXPECT_EQ(StatOrDie("/a").mtime, before.mtime);
}

// Rule D6 (O_SYNC escalation): with inode metadata dirty, all dirty data of
// the file is written, not only the range.
TEST_F(DurabilityTest, FsyncRangeFileSyncWithDirtyMetadataWritesWholeFile) {
  MakeDurable("/a", Fill('a', 4 * kPage));
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, 0, "x");
  WriteAt(fd, 3 * kPage, "y");
  ASSERT_NE(FlagsOf(fd), 0);
  ASSERT_OK(fs_->FsyncRange(fd, kFsyncRangeFileSync, 0, kPage));
  EXPECT_EQ(StateAt(fd, 0), PageState::kClean);
  EXPECT_EQ(StateAt(fd, 3), PageState::kClean);  // outside the range
  CrashAndRemount();
  EXPECT_EQ(ReadRange("/a", 3 * kPage, 2), "ya");
}

// ---- D7: WASI ----

// Rule D7: fd_sync has fsync's semantics: data and mtime are durable.
TEST_F(DurabilityTest, FdSyncPersistsDataAndMtime) {
  MakeDurable("/a", "old");
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, 0, "new data");
  ASSERT_OK_AND_ASSIGN(before, fs_->Fstat(fd));
  ASSERT_EQ(fs_->FdSync(fd), wasi::kSuccess);
  CrashAndRemount();
  EXPECT_EQ(Runs(ReadFile("/a")), Runs("new data"));
  EXPECT_EQ(StatOrDie("/a").mtime, before.mtime);
}

// Rule D7: fd_datasync has fdatasync's semantics: data and size are
// durable, the mtime is not ([VFS choice] of D2).
TEST_F(DurabilityTest, FdDatasyncPersistsSizeButNotMtime) {
  MakeDurable("/a", "old");
  const Timespec durable_mtime = StatOrDie("/a").mtime;
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, 0, "new data");
  ASSERT_EQ(fs_->FdDatasync(fd), wasi::kSuccess);
  CrashAndRemount();
  EXPECT_EQ(Runs(ReadFile("/a")), Runs("new data"));
  EXPECT_EQ(StatOrDie("/a").mtime, durable_mtime);
}

// ---- syncfs and sync ----

// syncfs(2): everything dirty in the filesystem, data, records and entries,
// is durable afterwards.
TEST_F(DurabilityTest, SyncfsPersistsDataRecordsAndEntries) {
  MakeDurable("/gone", "x");
  ASSERT_OK(fs_->Mkdir("/d", 0755));
  WriteFile("/d/a", "data");
  ASSERT_OK(fs_->Chmod("/d/a", 0600));
  ASSERT_OK(fs_->Unlink("/gone"));
  const Timespec mtime = StatOrDie("/d/a").mtime;
  Fd fd = OpenOrDie("/", O_RDONLY | O_DIRECTORY);
  ASSERT_OK(fs_->Syncfs(fd));
  CrashAndRemount();
  EXPECT_EQ(Runs(ReadFile("/d/a")), Runs("data"));
  EXPECT_EQ(StatOrDie("/d/a").mode & 07777, 0600u);
  EXPECT_EQ(StatOrDie("/d/a").mtime, mtime);
  EXPECT_FALSE(Exists("/gone"));
}

// sync(2): as syncfs, everything is durable afterwards.
TEST_F(DurabilityTest, SyncPersistsDataRecordsAndEntries) {
  ASSERT_OK(fs_->Mkdir("/d", 0755));
  WriteFile("/d/a", "data");
  ASSERT_OK(fs_->Rename("/d/a", "/b"));
  fs_->Sync();
  CrashAndRemount();
  EXPECT_EQ(Runs(ReadFile("/b")), Runs("data"));
  EXPECT_FALSE(Exists("/d/a"));
  EXPECT_TRUE(Exists("/d"));
}

// syncfs on a volatile-cache store flushes it (D1.5 applies to it too).
TEST_F(VolatileCacheTest, SyncfsFlushesVolatileStoreCache) {
  WriteFile("/a", "data");
  Fd fd = OpenOrDie("/", O_RDONLY | O_DIRECTORY);
  ASSERT_OK(fs_->Syncfs(fd));
  CrashAndRemount();
  EXPECT_EQ(Runs(ReadFile("/a")), Runs("data"));
}

// ---- O1-O3: O_DSYNC, O_SYNC, pwritev2 ----

// Rule O1: an O_DSYNC write is followed by fdatasync of its range: data and
// size are durable when it returns, the mtime is not ([VFS choice] of D2).
TEST_F(DurabilityTest, ODsyncWritePersistsDataAndSizeButNotMtime) {
  MakeDurable("/a", "hello");
  const Timespec durable_mtime = StatOrDie("/a").mtime;
  Fd fd = OpenOrDie("/a", O_WRONLY | O_DSYNC);
  ASSERT_OK_AND_ASSIGN(end, fs_->Lseek(fd, 0, SEEK_END));
  ASSERT_EQ(end, 5);
  ASSERT_OK_AND_ASSIGN(n, fs_->Write(fd, " world", 6));
  ASSERT_EQ(n, 6u);
  EXPECT_EQ(StateAt(fd, 0), PageState::kClean);
  CrashAndRemount();
  EXPECT_EQ(Runs(ReadFile("/a")), Runs("hello world"));
  EXPECT_EQ(StatOrDie("/a").mtime, durable_mtime);
}

// Rule O1: the sync covers the written range only; another dirty page of the
// file stays dirty and is not durable.
TEST_F(DurabilityTest, ODsyncWriteSyncsOnlyItsOwnRange) {
  MakeDurable("/a", Fill('a', 2 * kPage));
  Fd plain = OpenOrDie("/a", O_WRONLY);
  WriteAt(plain, 0, "x");
  Fd dsync = OpenOrDie("/a", O_WRONLY | O_DSYNC);
  WriteAt(dsync, kPage, "y");
  EXPECT_EQ(StateAt(dsync, 0), PageState::kDirty);
  EXPECT_EQ(StateAt(dsync, 1), PageState::kClean);
  CrashAndRemount();
  EXPECT_EQ(ReadRange("/a", 0, 2), "aa");
  EXPECT_EQ(ReadRange("/a", kPage, 2), "ya");
}

// Rule O2: an O_SYNC write writes all inode metadata too: mtime and a
// pending chmod are durable when it returns.
TEST_F(DurabilityTest, OSyncWritePersistsMtimeAndMode) {
  MakeDurable("/a", "hello");
  ASSERT_OK(fs_->Chmod("/a", 0600));
  Fd fd = OpenOrDie("/a", O_WRONLY | O_SYNC);
  ASSERT_OK_AND_ASSIGN(n, fs_->Write(fd, "HELLO", 5));
  ASSERT_EQ(n, 5u);
  ASSERT_OK_AND_ASSIGN(before, fs_->Fstat(fd));
  EXPECT_EQ(FlagsOf(fd), 0);
  CrashAndRemount();
  EXPECT_EQ(Runs(ReadFile("/a")), Runs("HELLO"));
  const StatBuf after = StatOrDie("/a");
  EXPECT_EQ(after.mtime, before.mtime);
  EXPECT_EQ(after.mode & 07777, 0600u);
}

// Rules O2 and D3: an O_SYNC write to a new file does not make its name
// durable.
TEST_F(DurabilityTest, OSyncWriteDoesNotPersistNewName) {
  Fd fd = OpenOrDie("/a", O_WRONLY | O_CREAT | O_SYNC);
  ASSERT_OK_AND_ASSIGN(n, fs_->Write(fd, "data", 4));
  ASSERT_EQ(n, 4u);
  CrashAndRemount();
  EXPECT_FALSE(Exists("/a"));
}

// Rule O3: pwritev2 with RWF_DSYNC syncs that one write: its data is
// durable, while an earlier plain write to another page is not.
TEST_F(DurabilityTest, Pwrite2DsyncPersistsOnlyThatWrite) {
  MakeDurable("/a", Fill('a', 2 * kPage));
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, 0, "x");
  ASSERT_OK_AND_ASSIGN(n, fs_->Pwrite2(fd, "y", 1, kPage, kRwfDsync));
  ASSERT_EQ(n, 1u);
  EXPECT_EQ(StateAt(fd, 0), PageState::kDirty);
  EXPECT_EQ(StateAt(fd, 1), PageState::kClean);
  ASSERT_OK_AND_ASSIGN(plain, fs_->Pwrite2(fd, "z", 1, kPage + 1, 0));
  ASSERT_EQ(plain, 1u);
  EXPECT_EQ(StateAt(fd, 1), PageState::kDirty);  // the flag was for one call
  CrashAndRemount();
  EXPECT_EQ(ReadRange("/a", 0, 2), "aa");
  EXPECT_EQ(ReadRange("/a", kPage, 3), "yaa");
}

// Rule O3: pwritev2 with RWF_SYNC applies O2 to that call: the mtime is
// durable.
TEST_F(DurabilityTest, Pwrite2SyncPersistsMtime) {
  MakeDurable("/a", Fill('a'));
  Fd fd = OpenOrDie("/a", O_RDWR);
  ASSERT_OK_AND_ASSIGN(n, fs_->Pwrite2(fd, "new", 3, 0, kRwfSync));
  ASSERT_EQ(n, 3u);
  ASSERT_OK_AND_ASSIGN(before, fs_->Fstat(fd));
  CrashAndRemount();
  EXPECT_EQ(ReadRange("/a", 0, 4), "newa");
  EXPECT_EQ(StatOrDie("/a").mtime, before.mtime);
}

// ---- O3: fcntl(F_GETFL / F_SETFL) ----

// Rule O3: F_SETFL ignores O_SYNC and O_DSYNC: a description opened O_DSYNC
// keeps syncing every write after F_SETFL clears every flag.
TEST_F(DurabilityTest, SetflCannotClearODsync) {
  MakeDurable("/a", Fill('a'));
  Fd fd = OpenOrDie("/a", O_WRONLY | O_DSYNC);
  ASSERT_OK(fs_->SetStatusFlags(fd, 0));
  ASSERT_OK_AND_ASSIGN(flags, fs_->GetStatusFlags(fd));
  EXPECT_EQ(flags & O_DSYNC, O_DSYNC);
  WriteAt(fd, 0, "x");
  EXPECT_EQ(StateAt(fd, 0), PageState::kClean);
  CrashAndRemount();
  EXPECT_EQ(ReadRange("/a", 0, 2), "xa");
}

// Rule O3: F_SETFL cannot turn O_SYNC on either: writes through a plain
// description stay in the cache and a crash loses them.
TEST_F(DurabilityTest, SetflCannotSetOSync) {
  MakeDurable("/a", Fill('a'));
  Fd fd = OpenOrDie("/a", O_WRONLY);
  ASSERT_OK(fs_->SetStatusFlags(fd, O_SYNC));
  ASSERT_OK_AND_ASSIGN(flags, fs_->GetStatusFlags(fd));
  EXPECT_EQ(flags & O_DSYNC, 0);
  WriteAt(fd, 0, "x");
  EXPECT_EQ(StateAt(fd, 0), PageState::kDirty);
  CrashAndRemount();
  EXPECT_EQ(ReadRange("/a", 0, 2), "aa");
}

// F_GETFL as Linux: the access mode and the status flags open() kept, less
// O_CLOEXEC and O_NOCTTY, with the kernel's O_LARGEFILE bit.
TEST_F(DurabilityTest, GetflReportsWhatOpenKept) {
  Fd fd = OpenOrDie("/a", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_APPEND | O_DSYNC | O_NOCTTY);
  ASSERT_OK_AND_ASSIGN(flags, fs_->GetStatusFlags(fd));
  EXPECT_EQ(flags, O_RDWR | O_APPEND | O_DSYNC | kKernelLargefile);
  Fd sync = OpenOrDie("/a", O_RDONLY | O_SYNC);
  ASSERT_OK_AND_ASSIGN(sync_flags, fs_->GetStatusFlags(sync));
  EXPECT_EQ(sync_flags, O_RDONLY | O_SYNC | kKernelLargefile);
  Fd dir = OpenOrDie("/", O_RDONLY | O_DIRECTORY);
  ASSERT_OK_AND_ASSIGN(dir_flags, fs_->GetStatusFlags(dir));
  EXPECT_EQ(dir_flags, O_RDONLY | O_DIRECTORY | kKernelLargefile);
  Fd path = OpenOrDie("/a", O_PATH | O_CLOEXEC | O_NOFOLLOW);
  ASSERT_OK_AND_ASSIGN(path_flags, fs_->GetStatusFlags(path));
  EXPECT_EQ(path_flags, O_PATH | O_NOFOLLOW);
  ASSERT_OK_AND_ASSIGN(ends, fs_->Pipe());
  ASSERT_OK_AND_ASSIGN(read_flags, fs_->GetStatusFlags(ends.first));
  ASSERT_OK_AND_ASSIGN(write_flags, fs_->GetStatusFlags(ends.second));
  EXPECT_EQ(read_flags, O_RDONLY);
  EXPECT_EQ(write_flags, O_WRONLY);
}

// F_SETFL changes O_APPEND, O_NONBLOCK, O_DIRECT and O_NOATIME and nothing
// else: the access mode stays.
TEST_F(DurabilityTest, SetflChangesOnlyTheStatusFlagsLinuxLets) {
  Fd fd = OpenOrDie("/a", O_RDWR | O_CREAT | O_APPEND);
  ASSERT_OK(fs_->SetStatusFlags(fd, O_WRONLY | O_NONBLOCK | O_NOATIME | O_DIRECT | O_TRUNC));
  ASSERT_OK_AND_ASSIGN(flags, fs_->GetStatusFlags(fd));
  EXPECT_EQ(flags, O_RDWR | O_NONBLOCK | O_NOATIME | O_DIRECT | kKernelLargefile);
  ASSERT_OK(fs_->SetStatusFlags(fd, -1));
  ASSERT_OK_AND_ASSIGN(all, fs_->GetStatusFlags(fd));
  EXPECT_EQ(all, O_RDWR | O_APPEND | O_NONBLOCK | O_NOATIME | O_DIRECT | kKernelLargefile);
}

// F_SETFL's O_APPEND acts on the shared description: a dup's writes go to
// the end once it is set, and to the offset again once it is cleared.
TEST_F(DurabilityTest, SetflAppendActsOnTheSharedDescription) {
  Fd fd = OpenOrDie("/a", O_RDWR | O_CREAT);
  WriteAt(fd, 0, "hello");
  ASSERT_OK_AND_ASSIGN(dup, fs_->Dup(fd));
  ASSERT_OK(fs_->SetStatusFlags(fd, O_APPEND));
  ASSERT_OK_AND_ASSIGN(n, fs_->Pwrite(dup, "!", 1, 0));  // O_APPEND: pwrite appends
  ASSERT_EQ(n, 1u);
  EXPECT_EQ(ReadFile("/a"), "hello!");
  ASSERT_OK(fs_->SetStatusFlags(dup, 0));
  ASSERT_OK_AND_ASSIGN(m, fs_->Pwrite(fd, "J", 1, 0));
  ASSERT_EQ(m, 1u);
  EXPECT_EQ(ReadFile("/a"), "Jello!");
}

// F_SETFL is EBADF on an O_PATH descriptor (Linux's fcntl allows it only
// F_GETFL and the descriptor commands), and both are EBADF on a closed one;
// a refused call changes nothing.
TEST_F(DurabilityTest, SetflOnOPathOrClosedDescriptorIsEbadf) {
  OpenOrDie("/a", O_WRONLY | O_CREAT);
  Fd path = OpenOrDie("/a", O_PATH);
  EXPECT_ERRNO(fs_->SetStatusFlags(path, O_APPEND), EBADF);
  ASSERT_OK_AND_ASSIGN(flags, fs_->GetStatusFlags(path));
  EXPECT_EQ(flags, O_PATH);
  ASSERT_OK(fs_->Close(path));
  EXPECT_ERRNO(fs_->SetStatusFlags(path, O_APPEND), EBADF);
  EXPECT_ERRNO(fs_->GetStatusFlags(path), EBADF);
}

// Rule E6 / E7: F_SETFL needs the WASI right fd_fdstat_set_flags; without it
// the call is refused and the flags stay.
TEST_F(DurabilityTest, SetflNeedsTheFdstatSetFlagsRight) {
  Fd fd = OpenOrDie("/a", O_WRONLY | O_CREAT);
  ASSERT_OK(fs_->SetRights(fd, ~wasi::kRightFdFdstatSetFlags, ~0ull));
  EXPECT_ERRNO(fs_->SetStatusFlags(fd, O_APPEND), EACCES);
  ASSERT_OK_AND_ASSIGN(flags, fs_->GetStatusFlags(fd));
  EXPECT_EQ(flags & O_APPEND, 0);
}

// ---- D6: AIX fsync_range, O_NOCACHE ----
// A suite of its own. FsyncRange(O_NOCACHE) collects the pages to evict
// before evicting them, and the page index's slots never move, so the walk
// is not disturbed (the suite passes under
// `SANITIZE=address,undefined scripts/test.sh`).
class NoCacheTest : public DurabilityTest {};

// Rule D6 (O_NOCACHE): every page entirely inside the range is evicted after
// the sync, a written one and a never-modified one alike; the data still
// reads back from the store.
TEST_F(NoCacheTest, FsyncRangeNoCacheEvictsPagesEntirelyInsideRange) {
  MakeDurable("/a", Fill('a') + Fill('b') + Fill('c') + Fill('d'));
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, kPage, "B");  // page 1 dirty, page 2 never modified
  ASSERT_EQ(StateAt(fd, 2), PageState::kClean);
  ASSERT_OK(fs_->FsyncRange(fd, kFsyncRangeNoCache, 100, 3 * kPage));  // [100, 12388)
  EXPECT_EQ(StateAt(fd, 1), PageState::kOnStore);
  EXPECT_EQ(StateAt(fd, 2), PageState::kOnStore);
  EXPECT_EQ(Runs(ReadFile("/a")),
            Runs(Fill('a') + "B" + Fill('b', kPage - 1) + Fill('c') + Fill('d')));
}

// Rule D6 (O_NOCACHE): partial pages at the edges of the range stay cached.
TEST_F(NoCacheTest, FsyncRangeNoCacheKeepsPartialEdgePages) {
  MakeDurable("/a", Fill('a', 4 * kPage));
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, 0, "x");
  ASSERT_OK(fs_->FsyncRange(fd, kFsyncRangeNoCache, 100, 3 * kPage));  // [100, 12388)
  EXPECT_EQ(StateAt(fd, 0), PageState::kClean);                        // written, not evicted
  EXPECT_EQ(StateAt(fd, 3), PageState::kClean);
  CrashAndRemount();
  EXPECT_EQ(ReadRange("/a", 0, 2), "xa");
}

// Rule D6 (O_NOCACHE, length 0 = the whole file): every cached page of the
// file is evicted, and the file still reads back whole.
TEST_F(NoCacheTest, FsyncRangeNoCacheWithLengthZeroEvictsEveryPage) {
  MakeDurable("/a", Fill('a') + Fill('b') + Fill('c'));
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, 0, "A");
  ASSERT_OK(fs_->FsyncRange(fd, kFsyncRangeNoCache, 0, 0));
  EXPECT_EQ(StateAt(fd, 0), PageState::kOnStore);
  EXPECT_EQ(StateAt(fd, 1), PageState::kOnStore);
  EXPECT_EQ(StateAt(fd, 2), PageState::kOnStore);
  EXPECT_EQ(Runs(ReadFile("/a")), Runs("A" + Fill('a', kPage - 1) + Fill('b') + Fill('c')));
}

}  // namespace
}  // namespace vfs::testing
