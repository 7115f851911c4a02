// Argument checking and errno tables of the durability calls, in check
// order: fsync / fdatasync (E1), sync_file_range on Linux >= 5.2 (E2) and
// < 5.2 (E3), the sync_file_range test vectors row by row (E4), AIX
// fsync_range and the aix personality (E5), and WASI fd_sync / fd_datasync
// as the preview1 spec gives them (E6) and as Wasmer answers (E7).
//
// A call that fails changes nothing (style rule 11), so the failing rows also
// check that a dirty page stayed dirty.
#include <cerrno>
#include <cstdint>
#include <limits>
#include <ostream>
#include <string>

#include "tests/test_util.h"
#include "vfs/inode.h"

namespace vfs::testing {
namespace {

constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
constexpr unsigned kUnknownFlag = 8;


class SyncArgsTest : public VfsTest {
 protected:
  void SetUp() override {
    VfsTest::SetUp();
    ASSERT_EQ(fs_->page_size(), kPage);
  }

  // A descriptor number that was open and is closed now.
  Fd ClosedFd() {
    Fd fd = OpenOrDie("/closed", O_RDWR | O_CREAT);
    EXPECT_OK(fs_->Close(fd));
    return fd;
  }

  // `path` with `pages` durable pages of 'a', every one overwritten again
  // (dirty) through the returned descriptor.
  Fd DurableFileWithDirtyPages(const std::string& path, int pages) {
    Fd fd = OpenOrDie(path, O_RDWR | O_CREAT);
    WriteAt(fd, 0, Fill('a', pages * kPage));
    EXPECT_OK(fs_->Fsync(fd));
    // A directory descriptor is read-only, which the aix personality refuses
    // (E5); the name is needed only by tests that crash, in Linux mode.
    if (options_.personality == Personality::kLinux) FsyncDir("/");
    for (int i = 0; i < pages; ++i) WriteAt(fd, int64_t{i} * kPage, "new");
    return fd;
  }

  PageState StateAt(Fd fd, uint64_t index) {
    auto state = fs_->PageStateAt(fd, PageIndex(index));
    EXPECT_TRUE(state.ok()) << strerror(state.error());
    return state.ok() ? *state : PageState::kHole;
  }

  std::pair<Fd, Fd> PipeOrDie() {
    auto pipe = fs_->Pipe();
    EXPECT_TRUE(pipe.ok()) << strerror(pipe.error());
    return pipe.ok() ? *pipe : std::pair<Fd, Fd>{Fd(-1), Fd(-1)};
  }

  // The first bytes of page `index` of `path` after a crash.
  std::string PageHead(const std::string& path, uint64_t index) {
    return ReadFile(path).substr(index * kPage, 4);
  }
};

class Pre52Test : public SyncArgsTest {
 protected:
  void SetUp() override {
    options_.sync_file_range_pre_5_2 = true;
    SyncArgsTest::SetUp();
  }
};

class BsdLenientTest : public SyncArgsTest {
 protected:
  void SetUp() override {
    options_.fsync_range_bsd_lenient = true;
    SyncArgsTest::SetUp();
  }
};

class AixTest : public SyncArgsTest {
 protected:
  void SetUp() override {
    options_.personality = Personality::kAix;
    SyncArgsTest::SetUp();
  }
};

class WasiSpecTest : public SyncArgsTest {
 protected:
  void SetUp() override {
    options_.wasi_mode = WasiMode::kSpec;
    SyncArgsTest::SetUp();
  }
};

// ---- E1: fsync / fdatasync ----

// Rule E1.1: a descriptor that is not open is EBADF.
TEST_F(SyncArgsTest, FsyncOfClosedFdIsEbadf) {
  Fd fd = ClosedFd();
  EXPECT_ERRNO(fs_->Fsync(fd), EBADF);
  EXPECT_ERRNO(fs_->Fdatasync(fd), EBADF);
  EXPECT_ERRNO(fs_->Fsync(Fd(-1)), EBADF);
}

// Rule E1.1: an O_PATH descriptor is EBADF, for a file and a directory.
TEST_F(SyncArgsTest, FsyncOfOPathFdIsEbadf) {
  WriteFile("/a", "data");
  Fd file = OpenOrDie("/a", O_PATH);
  Fd dir = OpenOrDie("/", O_PATH | O_DIRECTORY);
  EXPECT_ERRNO(fs_->Fsync(file), EBADF);
  EXPECT_ERRNO(fs_->Fdatasync(file), EBADF);
  EXPECT_ERRNO(fs_->Fsync(dir), EBADF);
  EXPECT_ERRNO(fs_->Fdatasync(dir), EBADF);
}

// Rule E1.1 before E1.2: an O_PATH descriptor of a FIFO is EBADF, not EINVAL.
TEST_F(SyncArgsTest, FsyncOfOPathFifoIsEbadfNotEinval) {
  ASSERT_OK(fs_->Mkfifo("/fifo", 0644));
  Fd fd = OpenOrDie("/fifo", O_PATH);
  EXPECT_ERRNO(fs_->Fsync(fd), EBADF);
}

// Rule E1.2: a pipe has no sync operation: EINVAL, for both ends.
TEST_F(SyncArgsTest, FsyncOfPipeIsEinval) {
  auto [read_end, write_end] = PipeOrDie();
  EXPECT_ERRNO(fs_->Fsync(read_end), EINVAL);
  EXPECT_ERRNO(fs_->Fsync(write_end), EINVAL);
  EXPECT_ERRNO(fs_->Fdatasync(read_end), EINVAL);
  EXPECT_ERRNO(fs_->Fdatasync(write_end), EINVAL);
}

// Rule E1.2: a FIFO has no sync operation: EINVAL.
TEST_F(SyncArgsTest, FsyncOfFifoIsEinval) {
  ASSERT_OK(fs_->Mkfifo("/fifo", 0644));
  Fd fd = OpenOrDie("/fifo", O_RDONLY);
  EXPECT_ERRNO(fs_->Fsync(fd), EINVAL);
  EXPECT_ERRNO(fs_->Fdatasync(fd), EINVAL);
}

// Rule E1.4: directories are accepted.
TEST_F(SyncArgsTest, FsyncAcceptsDirectory) {
  ASSERT_OK(fs_->Mkdir("/d", 0755));
  Fd fd = OpenOrDie("/d", O_RDONLY | O_DIRECTORY);
  EXPECT_OK(fs_->Fsync(fd));
  EXPECT_OK(fs_->Fdatasync(fd));
}

// Rule E1.4: read-only descriptors are accepted (Linux personality), and the
// sync does its work: the dirty page is written.
TEST_F(SyncArgsTest, FsyncAcceptsReadOnlyDescriptor) {
  Fd writer = DurableFileWithDirtyPages("/a", 1);
  Fd reader = OpenOrDie("/a", O_RDONLY);
  EXPECT_OK(fs_->Fdatasync(reader));
  EXPECT_EQ(StateAt(reader, 0), PageState::kClean);
  WriteAt(writer, 0, "x");
  EXPECT_OK(fs_->Fsync(reader));
  EXPECT_EQ(StateAt(reader, 0), PageState::kClean);
}

// ---- E2: sync_file_range, Linux >= 5.2 ----

// Rule E2.1: an O_PATH descriptor is EBADF.
TEST_F(SyncArgsTest, SyncFileRangeOnOPathFdIsEbadf) {
  WriteFile("/a", "data");
  Fd fd = OpenOrDie("/a", O_PATH);
  EXPECT_ERRNO(fs_->SyncFileRange(fd, 0, 0, kAllFlags), EBADF);
}

// Rule E2.6: nbytes 0 means from offset to the end of the file and beyond.
TEST_F(SyncArgsTest, SyncFileRangeWithZeroNbytesReachesEndOfFile) {
  Fd fd = OpenOrDie("/a", O_RDWR | O_CREAT);
  WriteAt(fd, kPage, "x");
  WriteAt(fd, 1000 * int64_t{kPage}, "y");
  ASSERT_OK(fs_->SyncFileRange(fd, kPage, 0, kWrite));
  EXPECT_EQ(StateAt(fd, 1), PageState::kWriteback);
  EXPECT_EQ(StateAt(fd, 1000), PageState::kWriteback);
}

// Rule E2.7: a directory is accepted.
TEST_F(SyncArgsTest, SyncFileRangeOnDirectorySucceeds) {
  Fd fd = OpenOrDie("/", O_RDONLY | O_DIRECTORY);
  EXPECT_OK(fs_->SyncFileRange(fd, 0, 0, kAllFlags));
}

// Rule E2.7: a FIFO is ESPIPE.
TEST_F(SyncArgsTest, SyncFileRangeOnFifoIsEspipe) {
  ASSERT_OK(fs_->Mkfifo("/fifo", 0644));
  Fd fd = OpenOrDie("/fifo", O_RDONLY);
  EXPECT_ERRNO(fs_->SyncFileRange(fd, 0, 0, kAllFlags), ESPIPE);
}

// Rule E2.8: flags 0 is a no-op only after every check, so it still fails
// with EBADF on a bad descriptor and ESPIPE on a pipe.
TEST_F(SyncArgsTest, SyncFileRangeNoopStillChecksDescriptor) {
  EXPECT_ERRNO(fs_->SyncFileRange(ClosedFd(), 0, 0, 0), EBADF);
  auto [read_end, write_end] = PipeOrDie();
  EXPECT_ERRNO(fs_->SyncFileRange(read_end, 0, 0, 0), ESPIPE);
  Fd fd = OpenOrDie("/a", O_RDWR | O_CREAT);
  EXPECT_ERRNO(fs_->SyncFileRange(fd, -1, 0, 0), EINVAL);
}

// ---- E4: the test vectors, row by row (E2 order unless stated) ----

// Rule E4 row 1 (>= 5.2, E2.1 first): closed fd, flags 8 -> EBADF.
TEST_F(SyncArgsTest, SyncFileRangeOnClosedFdWithUnknownFlagIsEbadf) {
  EXPECT_ERRNO(fs_->SyncFileRange(ClosedFd(), 0, 0, kUnknownFlag), EBADF);
}

// Rule E4 row 1 (< 5.2, rule E3: EINVAL checks first): closed fd, flags 8
// -> EINVAL.
TEST_F(Pre52Test, SyncFileRangeOnClosedFdWithUnknownFlagIsEinval) {
  EXPECT_ERRNO(fs_->SyncFileRange(ClosedFd(), 0, 0, kUnknownFlag), EINVAL);
}

// Rule E4 row 2: flags 8 -> EINVAL, and nothing is written.
TEST_F(SyncArgsTest, SyncFileRangeWithUnknownFlagIsEinval) {
  Fd fd = DurableFileWithDirtyPages("/a", 1);
  EXPECT_ERRNO(fs_->SyncFileRange(fd, 0, 0, kUnknownFlag), EINVAL);
  EXPECT_ERRNO(fs_->SyncFileRange(fd, 0, 0, kAllFlags | kUnknownFlag), EINVAL);
  EXPECT_EQ(StateAt(fd, 0), PageState::kDirty);
}

// Rule E4 row 3: offset -1 -> EINVAL, and nothing is written.
TEST_F(SyncArgsTest, SyncFileRangeWithNegativeOffsetIsEinval) {
  Fd fd = DurableFileWithDirtyPages("/a", 1);
  EXPECT_ERRNO(fs_->SyncFileRange(fd, -1, 0, kWrite), EINVAL);
  EXPECT_EQ(StateAt(fd, 0), PageState::kDirty);
}

// Rule E4 row 4: nbytes -1 (endbyte -1) -> EINVAL.
TEST_F(SyncArgsTest, SyncFileRangeWithNbytesMinusOneIsEinval) {
  Fd fd = DurableFileWithDirtyPages("/a", 1);
  EXPECT_ERRNO(fs_->SyncFileRange(fd, 0, -1, kWrite), EINVAL);
  EXPECT_EQ(StateAt(fd, 0), PageState::kDirty);
}

// Rule E4 row 5: offset 10, nbytes -5 (endbyte < offset) -> EINVAL.
TEST_F(SyncArgsTest, SyncFileRangeWithEndBeforeOffsetIsEinval) {
  Fd fd = DurableFileWithDirtyPages("/a", 1);
  EXPECT_ERRNO(fs_->SyncFileRange(fd, 10, -5, kWrite), EINVAL);
  EXPECT_EQ(StateAt(fd, 0), PageState::kDirty);
}

// Rule E4 row 6 (E2.3-E2.4): offset INT64_MAX, nbytes 1 wraps negative ->
// EINVAL.
TEST_F(SyncArgsTest, SyncFileRangeWhoseEndOverflowsIsEinval) {
  Fd fd = DurableFileWithDirtyPages("/a", 1);
  EXPECT_ERRNO(fs_->SyncFileRange(fd, kInt64Max, 1, kWrite), EINVAL);
  EXPECT_EQ(StateAt(fd, 0), PageState::kDirty);
}

// Rule E4 row 7: offset INT64_MAX, nbytes 0, flags 7 -> 0; the range is past
// EOF, so nothing is written.
TEST_F(SyncArgsTest, SyncFileRangePastEndOfFileSucceedsAndWritesNothing) {
  Fd fd = DurableFileWithDirtyPages("/a", 1);
  const uint64_t page_writes = store_->Stats().page_writes;
  EXPECT_OK(fs_->SyncFileRange(fd, kInt64Max, 0, kAllFlags));
  EXPECT_EQ(StateAt(fd, 0), PageState::kDirty);
  EXPECT_EQ(store_->Stats().page_writes, page_writes);
}

// Rule E4 row 8 (E2.6): offset 4095, nbytes 2 touches pages 0 and 1: with
// WRITE both go to writeback, page 2 does not.
TEST_F(SyncArgsTest, SyncFileRangeRoundsOffsetDownAndLastByteUp) {
  Fd fd = DurableFileWithDirtyPages("/a", 3);
  ASSERT_OK(fs_->SyncFileRange(fd, 4095, 2, kWrite));
  EXPECT_EQ(StateAt(fd, 0), PageState::kWriteback);
  EXPECT_EQ(StateAt(fd, 1), PageState::kWriteback);
  EXPECT_EQ(StateAt(fd, 2), PageState::kDirty);
}

// Rule E4 row 8 with flags 7: pages 0 and 1 are durable, page 2 is not.
TEST_F(SyncArgsTest, SyncFileRangeAllFlagsPersistsPagesTouchedByByteRange) {
  Fd fd = DurableFileWithDirtyPages("/a", 3);
  ASSERT_OK(fs_->SyncFileRange(fd, 4095, 2, kAllFlags));
  // C7: sync_file_range(7) data survives a crash only on a store without a
  // volatile cache; on one (the disk store) the crash takes it.
  const bool kept = !store_->has_volatile_cache();
  CrashAndRemount();
  EXPECT_EQ(PageHead("/a", 0), kept ? "newa" : "aaaa");
  EXPECT_EQ(PageHead("/a", 1), kept ? "newa" : "aaaa");
  EXPECT_EQ(PageHead("/a", 2), "aaaa");
}

// Rule E4 row 9: offset 4096, nbytes 4096 is page 1 only.
TEST_F(SyncArgsTest, SyncFileRangeOfOneAlignedPageTouchesOnlyThatPage) {
  Fd fd = DurableFileWithDirtyPages("/a", 3);
  ASSERT_OK(fs_->SyncFileRange(fd, 4096, 4096, kWrite));
  EXPECT_EQ(StateAt(fd, 0), PageState::kDirty);
  EXPECT_EQ(StateAt(fd, 1), PageState::kWriteback);
  EXPECT_EQ(StateAt(fd, 2), PageState::kDirty);
}

// Rule E4 row 9 with flags 7: only page 1 survives the crash.
TEST_F(SyncArgsTest, SyncFileRangeAllFlagsOfOneAlignedPagePersistsOnlyThatPage) {
  Fd fd = DurableFileWithDirtyPages("/a", 3);
  ASSERT_OK(fs_->SyncFileRange(fd, 4096, 4096, kAllFlags));
  // C7: sync_file_range(7) data survives a crash only on a store without a
  // volatile cache; on one (the disk store) the crash takes it.
  const bool kept = !store_->has_volatile_cache();
  CrashAndRemount();
  EXPECT_EQ(PageHead("/a", 0), "aaaa");
  EXPECT_EQ(PageHead("/a", 1), kept ? "newa" : "aaaa");
  EXPECT_EQ(PageHead("/a", 2), "aaaa");
}

// Rule E4 row 10 (E2.7): a pipe with flags 2 -> ESPIPE.
TEST_F(SyncArgsTest, SyncFileRangeOnPipeIsEspipe) {
  auto [read_end, write_end] = PipeOrDie();
  EXPECT_ERRNO(fs_->SyncFileRange(read_end, 0, 0, kWrite), ESPIPE);
  EXPECT_ERRNO(fs_->SyncFileRange(write_end, 0, 0, kWrite), ESPIPE);
}

// Rule E4 row 11 (E2.2 before E2.7): a pipe with flags 8 -> EINVAL.
TEST_F(SyncArgsTest, SyncFileRangeOnPipeWithUnknownFlagIsEinval) {
  auto [read_end, write_end] = PipeOrDie();
  EXPECT_ERRNO(fs_->SyncFileRange(read_end, 0, 0, kUnknownFlag), EINVAL);
}

// Rule E4 row 12 (E2.8): flags 0 -> 0 with no state change: nothing is
// submitted to the store.
TEST_F(SyncArgsTest, SyncFileRangeWithZeroFlagsChangesNothing) {
  Fd fd = DurableFileWithDirtyPages("/a", 1);
  const uint64_t submits = store_->Stats().submits;
  EXPECT_OK(fs_->SyncFileRange(fd, 0, 0, 0));
  EXPECT_EQ(StateAt(fd, 0), PageState::kDirty);
  EXPECT_EQ(store_->Stats().submits, submits);
}

// ---- E3: sync_file_range, Linux < 5.2 ----

// Rule E3: every EINVAL check (here a negative offset) comes before EBADF.
TEST_F(Pre52Test, SyncFileRangeOnClosedFdWithNegativeOffsetIsEinval) {
  EXPECT_ERRNO(fs_->SyncFileRange(ClosedFd(), -1, 0, kWrite), EINVAL);
  EXPECT_ERRNO(fs_->SyncFileRange(ClosedFd(), kInt64Max, 1, kWrite), EINVAL);
}

// Rule E3: with valid arguments a closed fd is still EBADF.
TEST_F(Pre52Test, SyncFileRangeOnClosedFdWithValidArgumentsIsEbadf) {
  EXPECT_ERRNO(fs_->SyncFileRange(ClosedFd(), 0, 0, kWrite), EBADF);
}

// Rule E3 (order 2 -> 4 -> 6 -> 1 -> 7): a pipe with bad flags is EINVAL,
// with good ones ESPIPE.
TEST_F(Pre52Test, SyncFileRangeOnPipeChecksFlagsBeforeType) {
  auto [read_end, write_end] = PipeOrDie();
  EXPECT_ERRNO(fs_->SyncFileRange(read_end, 0, 0, kUnknownFlag), EINVAL);
  EXPECT_ERRNO(fs_->SyncFileRange(read_end, 0, 0, kWrite), ESPIPE);
}

// ---- E5: AIX fsync_range and the aix personality ----

// Rule E5: an invalid descriptor is EBADF.
TEST_F(SyncArgsTest, FsyncRangeOnClosedFdIsEbadf) {
  EXPECT_ERRNO(fs_->FsyncRange(ClosedFd(), kFsyncRangeDataSync, 0, 0), EBADF);
}

// Rule E5: a descriptor not open for writing is EBADF, and nothing is
// written.
TEST_F(SyncArgsTest, FsyncRangeOnReadOnlyFdIsEbadf) {
  Fd writer = DurableFileWithDirtyPages("/a", 1);
  Fd reader = OpenOrDie("/a", O_RDONLY);
  EXPECT_ERRNO(fs_->FsyncRange(reader, kFsyncRangeDataSync, 0, 0), EBADF);
  EXPECT_ERRNO(fs_->FsyncRange(reader, kFsyncRangeFileSync, 0, 0), EBADF);
  EXPECT_EQ(StateAt(writer, 0), PageState::kDirty);
}

// Rule E5 [VFS choice]: the bsd_lenient knob accepts a read-only descriptor,
// and the sync does its work.
TEST_F(BsdLenientTest, FsyncRangeOnReadOnlyFdSucceeds) {
  Fd writer = DurableFileWithDirtyPages("/a", 1);
  Fd reader = OpenOrDie("/a", O_RDONLY);
  EXPECT_OK(fs_->FsyncRange(reader, kFsyncRangeDataSync, 0, 0));
  EXPECT_EQ(StateAt(writer, 0), PageState::kClean);
}

// Rule E5 [VFS choice]: `how` with none of O_SYNC, O_DSYNC, O_NOCACHE is
// EINVAL.
TEST_F(SyncArgsTest, FsyncRangeWithoutSyncKindIsEinval) {
  Fd fd = DurableFileWithDirtyPages("/a", 1);
  EXPECT_ERRNO(fs_->FsyncRange(fd, 0, 0, 0), EINVAL);
  EXPECT_EQ(StateAt(fd, 0), PageState::kDirty);
}

// Rule E5 [VFS choice]: a negative start is EINVAL.
TEST_F(SyncArgsTest, FsyncRangeWithNegativeStartIsEinval) {
  Fd fd = DurableFileWithDirtyPages("/a", 1);
  EXPECT_ERRNO(fs_->FsyncRange(fd, kFsyncRangeDataSync, -1, kPage), EINVAL);
  EXPECT_EQ(StateAt(fd, 0), PageState::kDirty);
}

// Rule E5 [VFS choice]: a negative length is EINVAL.
TEST_F(SyncArgsTest, FsyncRangeWithNegativeLengthIsEinval) {
  Fd fd = DurableFileWithDirtyPages("/a", 1);
  EXPECT_ERRNO(fs_->FsyncRange(fd, kFsyncRangeDataSync, kPage, -1), EINVAL);
  EXPECT_EQ(StateAt(fd, 0), PageState::kDirty);
}

// Rule E5 [VFS choice]: start + length overflowing is EINVAL.
TEST_F(SyncArgsTest, FsyncRangeWhoseEndOverflowsIsEinval) {
  Fd fd = DurableFileWithDirtyPages("/a", 1);
  EXPECT_ERRNO(fs_->FsyncRange(fd, kFsyncRangeDataSync, kInt64Max, 1), EINVAL);
  EXPECT_ERRNO(fs_->FsyncRange(fd, kFsyncRangeDataSync, 1, kInt64Max), EINVAL);
  EXPECT_EQ(StateAt(fd, 0), PageState::kDirty);
}

// Rule E5: a descriptor that is not a regular file is EINVAL (a pipe's
// write end is open for writing).
TEST_F(SyncArgsTest, FsyncRangeOnPipeIsEinval) {
  auto [read_end, write_end] = PipeOrDie();
  EXPECT_ERRNO(fs_->FsyncRange(write_end, kFsyncRangeDataSync, 0, 0), EINVAL);
}

// Rule E5: a directory is not a regular file: EINVAL once the read-only
// check is relaxed.
TEST_F(BsdLenientTest, FsyncRangeOnDirectoryIsEinval) {
  Fd fd = OpenOrDie("/", O_RDONLY | O_DIRECTORY);
  EXPECT_ERRNO(fs_->FsyncRange(fd, kFsyncRangeFileSync, 0, 0), EINVAL);
}

// Rule E5: each `how` value alone is accepted on a writable regular file.
TEST_F(SyncArgsTest, FsyncRangeAcceptsEachSyncKind) {
  Fd fd = DurableFileWithDirtyPages("/a", 1);
  EXPECT_OK(fs_->FsyncRange(fd, kFsyncRangeDataSync, 0, kPage));
  EXPECT_OK(fs_->FsyncRange(fd, kFsyncRangeFileSync, 0, kPage));
  EXPECT_OK(fs_->FsyncRange(fd, kFsyncRangeNoCache, 0, kPage));
  EXPECT_OK(fs_->FsyncRange(fd, kFsyncRangeDataSync | kFsyncRangeNoCache, 0, 0));
}

// Rule E5 (aix personality): fsync and fdatasync on a read-only descriptor
// are EBADF, and nothing is written.
TEST_F(AixTest, FsyncOnReadOnlyFdIsEbadf) {
  Fd writer = DurableFileWithDirtyPages("/a", 1);
  Fd reader = OpenOrDie("/a", O_RDONLY);
  EXPECT_ERRNO(fs_->Fsync(reader), EBADF);
  EXPECT_ERRNO(fs_->Fdatasync(reader), EBADF);
  EXPECT_EQ(StateAt(writer, 0), PageState::kDirty);
}

// Rule E5 (aix personality): a descriptor open for writing is accepted.
TEST_F(AixTest, FsyncOnWritableFdSucceeds) {
  Fd fd = DurableFileWithDirtyPages("/a", 1);
  EXPECT_OK(fs_->Fdatasync(fd));
  EXPECT_OK(fs_->Fsync(fd));
  EXPECT_EQ(StateAt(fd, 0), PageState::kClean);
}

// Rule E5 (aix personality): a directory descriptor is never open for
// writing, so fsync and fdatasync of a directory are EBADF.
TEST_F(AixTest, FsyncOfDirectoryIsEbadf) {
  Fd fd = OpenOrDie("/", O_RDONLY | O_DIRECTORY);
  EXPECT_ERRNO(fs_->Fsync(fd), EBADF);
  EXPECT_ERRNO(fs_->Fdatasync(fd), EBADF);
}

// ---- E6 / E7: WASI ----

// Rule E7.1 (both calls): an unknown descriptor is badf.
TEST_F(SyncArgsTest, WasiSyncOfBadFdIsBadf) {
  EXPECT_EQ(fs_->FdSync(ClosedFd()), wasi::kBadf);
  EXPECT_EQ(fs_->FdDatasync(ClosedFd()), wasi::kBadf);
  EXPECT_EQ(fs_->FdSync(Fd(-1)), wasi::kBadf);
}

// Rules E7 and D7: a regular file with every right syncs: success.
TEST_F(SyncArgsTest, WasiSyncOfRegularFileSucceeds) {
  Fd fd = DurableFileWithDirtyPages("/a", 1);
  EXPECT_EQ(fs_->FdDatasync(fd), wasi::kSuccess);
  EXPECT_EQ(StateAt(fd, 0), PageState::kClean);
  EXPECT_EQ(fs_->FdSync(fd), wasi::kSuccess);
}

// Rule E7.2 (Wasmer): fd_sync without the FD_SYNC right is acces (2), not
// notcapable, and nothing is written.
TEST_F(SyncArgsTest, WasmerFdSyncWithoutRightIsAcces) {
  Fd fd = DurableFileWithDirtyPages("/a", 1);
  ASSERT_OK(fs_->SetRights(fd, wasi::kRightsAll & ~wasi::kRightFdSync, wasi::kRightsAll));
  EXPECT_EQ(fs_->FdSync(fd), wasi::kAcces);
  EXPECT_EQ(fs_->FdSync(fd), 2);
  EXPECT_EQ(StateAt(fd, 0), PageState::kDirty);
}

// Rule E7.2 (Wasmer): fd_datasync without the FD_DATASYNC right is acces.
TEST_F(SyncArgsTest, WasmerFdDatasyncWithoutRightIsAcces) {
  Fd fd = DurableFileWithDirtyPages("/a", 1);
  ASSERT_OK(fs_->SetRights(fd, wasi::kRightsAll & ~wasi::kRightFdDatasync, wasi::kRightsAll));
  EXPECT_EQ(fs_->FdDatasync(fd), wasi::kAcces);
  EXPECT_EQ(StateAt(fd, 0), PageState::kDirty);
}

// Rule E6 (rights bits): bit 4 gates fd_sync only and bit 0 gates
// fd_datasync only.
TEST_F(SyncArgsTest, WasiRightsGateOnlyTheirOwnCall) {
  Fd no_sync = OpenOrDie("/a", O_RDWR | O_CREAT);
  ASSERT_OK(fs_->SetRights(no_sync, wasi::kRightsAll & ~wasi::kRightFdSync, wasi::kRightsAll));
  EXPECT_EQ(fs_->FdDatasync(no_sync), wasi::kSuccess);
  Fd no_datasync = OpenOrDie("/a", O_RDWR);
  ASSERT_OK(
      fs_->SetRights(no_datasync, wasi::kRightsAll & ~wasi::kRightFdDatasync, wasi::kRightsAll));
  EXPECT_EQ(fs_->FdSync(no_datasync), wasi::kSuccess);
}

// Rule E7.3 (Wasmer): a directory is isdir for both calls.
TEST_F(SyncArgsTest, WasmerSyncOfDirectoryIsIsdir) {
  Fd fd = OpenOrDie("/", O_RDONLY | O_DIRECTORY);
  EXPECT_EQ(fs_->FdSync(fd), wasi::kIsdir);
  EXPECT_EQ(fs_->FdDatasync(fd), wasi::kIsdir);
}

// Rule E7 order (Wasmer): the right is checked before the directory test.
TEST_F(SyncArgsTest, WasmerChecksRightBeforeDirectory) {
  Fd fd = OpenOrDie("/", O_RDONLY | O_DIRECTORY);
  ASSERT_OK(fs_->SetRights(fd, 0, 0));
  EXPECT_EQ(fs_->FdSync(fd), wasi::kAcces);
  EXPECT_EQ(fs_->FdDatasync(fd), wasi::kAcces);
}

// Rule E7 (Wasmer): a pipe gets inval from fd_sync but io from fd_datasync.
TEST_F(SyncArgsTest, WasmerSyncOfPipeIsInvalButDatasyncIsIo) {
  auto [read_end, write_end] = PipeOrDie();
  EXPECT_EQ(fs_->FdSync(read_end), wasi::kInval);
  EXPECT_EQ(fs_->FdSync(write_end), wasi::kInval);
  EXPECT_EQ(fs_->FdDatasync(read_end), wasi::kIo);
  EXPECT_EQ(fs_->FdDatasync(write_end), wasi::kIo);
}

// Rule E7 (spec mode): a missing right is notcapable for both calls.
TEST_F(WasiSpecTest, SpecSyncWithoutRightIsNotcapable) {
  Fd fd = DurableFileWithDirtyPages("/a", 1);
  ASSERT_OK(fs_->SetRights(fd, 0, 0));
  EXPECT_EQ(fs_->FdSync(fd), wasi::kNotcapable);
  EXPECT_EQ(fs_->FdDatasync(fd), wasi::kNotcapable);
  EXPECT_EQ(StateAt(fd, 0), PageState::kDirty);
}

// Rule E7 (spec mode order: badf, notcapable, isdir): a directory without
// the rights is notcapable, with them isdir.
TEST_F(WasiSpecTest, SpecChecksRightBeforeDirectory) {
  Fd with_rights = OpenOrDie("/", O_RDONLY | O_DIRECTORY);
  EXPECT_EQ(fs_->FdSync(with_rights), wasi::kIsdir);
  EXPECT_EQ(fs_->FdDatasync(with_rights), wasi::kIsdir);
  Fd without = OpenOrDie("/", O_RDONLY | O_DIRECTORY);
  ASSERT_OK(fs_->SetRights(without, 0, 0));
  EXPECT_EQ(fs_->FdSync(without), wasi::kNotcapable);
  EXPECT_EQ(fs_->FdDatasync(without), wasi::kNotcapable);
}

// Rule E7 (spec mode): other non-regular kinds are inval for both calls.
TEST_F(WasiSpecTest, SpecSyncOfPipeIsInval) {
  auto [read_end, write_end] = PipeOrDie();
  EXPECT_EQ(fs_->FdSync(read_end), wasi::kInval);
  EXPECT_EQ(fs_->FdDatasync(read_end), wasi::kInval);
}

// Rule E7 (spec mode): an unknown descriptor is badf.
TEST_F(WasiSpecTest, SpecSyncOfBadFdIsBadf) {
  EXPECT_EQ(fs_->FdSync(ClosedFd()), wasi::kBadf);
  EXPECT_EQ(fs_->FdDatasync(ClosedFd()), wasi::kBadf);
}

// Rights can only narrow: SetRights that would add a right is EPERM and
// leaves the rights as they were.
TEST_F(SyncArgsTest, SetRightsCannotWiden) {
  Fd fd = OpenOrDie("/a", O_RDWR | O_CREAT);
  ASSERT_OK(fs_->SetRights(fd, wasi::kRightsAll & ~wasi::kRightFdSync, wasi::kRightsAll));
  EXPECT_ERRNO(fs_->SetRights(fd, wasi::kRightsAll, wasi::kRightsAll), EPERM);
  EXPECT_EQ(fs_->FdSync(fd), wasi::kAcces);
  ASSERT_OK(fs_->SetRights(fd, 0, 0));
  EXPECT_ERRNO(fs_->SetRights(fd, 0, wasi::kRightFdSync), EPERM);
  EXPECT_EQ(fs_->FdDatasync(fd), wasi::kAcces);
}

}  // namespace
}  // namespace vfs::testing
