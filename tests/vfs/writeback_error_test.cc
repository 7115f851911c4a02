// Error paths of the durability calls, driven by the fault store failing
// chosen page writes (backends/fault/fault_store.h): how fsync and fdatasync
// report a failed write-back (E1.3, E1.5, D8), which sync_file_range flags
// report and consume it (S1-S3, S5), O_DSYNC / O_SYNC writes that fail
// (O1-O3), fsync_range (E5), the WASI errno mapping (E6, E7), and the
// per-description error cursor these rely on (W1, W3-W5).
#include <cerrno>
#include <memory>
#include <ostream>
#include <string>

#include "backends/fault/fault_store.h"
#include "tests/test_util.h"
#include "vfs/inode.h"

// Rules are written with designated initializers that leave the other fields
// at their defaults, as the header intends; GCC 12 warns about that anyway.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace vfs::testing {
namespace {

// A filesystem on a memory store wrapped in a fault store.
class WritebackErrorTest : public VfsTest {
 protected:
  void SetUp() override {
    options_.clock = TickingClock();
    faults_ = NewFaultStore(NewMemoryStore(store_options_), {});
    store_ = faults_;
    Remount();
    ASSERT_EQ(fs_->page_size(), kPage);
  }

  // The next page write, of any file, fails with `err`: at completion (Wait
  // answers it) or at submit (Submit refuses the whole batch).
  void FailNextPageWrite(int err, FaultStage stage = FaultStage::kCompletion) {
    faults_->AddRule({.error = err, .stage = stage, .kinds = kKindPage});
  }

  // Page writes and submit calls failed so far.
  uint64_t Failures() const { return faults_->Faults().failures; }

  // `path` holding `data`, fsynced with its directory (the root).
  void MakeDurable(const std::string& path, const std::string& data) {
    Fd fd = OpenOrDie(path, O_WRONLY | O_CREAT | O_TRUNC);
    WriteAt(fd, 0, data);
    ASSERT_OK(fs_->Fsync(fd));
    ASSERT_OK(fs_->Close(fd));
    FsyncDir("/");
  }

  PageState StateAt(Fd fd, uint64_t index) {
    auto state = fs_->PageStateAt(fd, PageIndex(index));
    EXPECT_TRUE(state.ok()) << strerror(state.error());
    return state.ok() ? *state : PageState::kHole;
  }

  std::string PreadOrDie(Fd fd, size_t count, int64_t offset) {
    std::string buf(count, '\0');
    auto n = fs_->Pread(fd, buf.data(), count, offset);
    EXPECT_TRUE(n.ok()) << strerror(n.error());
    buf.resize(n.ok() ? *n : 0);
    return buf;
  }

  int64_t OffsetOf(Fd fd) {
    auto at = fs_->Lseek(fd, 0, SEEK_CUR);
    EXPECT_TRUE(at.ok()) << strerror(at.error());
    return at.ok() ? *at : -1;
  }

  std::shared_ptr<FaultStore> faults_;
};

class WasiSpecErrorTest : public WritebackErrorTest {
 protected:
  void SetUp() override {
    options_.wasi_mode = WasiMode::kSpec;
    WritebackErrorTest::SetUp();
  }
};

// ---- E1.3 / D1.6: fsync and fdatasync report a failed write-back ----

// Rules E1.3 and D1.6 (W5.1): the first fsync after a failed page write
// returns EIO, the second returns 0, and the data is lost.
TEST_F(WritebackErrorTest, FsyncReportsEioOnceAndTheDataIsLost) {
  MakeDurable("/a", Fill('a'));
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, 0, "new");
  FailNextPageWrite(EIO);
  EXPECT_ERRNO(fs_->Fsync(fd), EIO);
  EXPECT_EQ(Failures(), 1u);
  EXPECT_OK(fs_->Fsync(fd));
  CrashAndRemount();
  EXPECT_EQ(Runs(ReadFile("/a")), Runs(Fill('a')));
}

// Rule W1: the failed page is clean (never retried), and the cache keeps the
// new bytes until it is evicted ([VFS choice]).
TEST_F(WritebackErrorTest, FailedPageIsCleanAndKeepsNewBytes) {
  MakeDurable("/a", Fill('a'));
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, 0, "new");
  FailNextPageWrite(EIO);
  EXPECT_ERRNO(fs_->Fsync(fd), EIO);
  EXPECT_EQ(StateAt(fd, 0), PageState::kClean);
  EXPECT_EQ(PreadOrDie(fd, 4, 0), "newa");
  const uint64_t page_writes = store_->Stats().page_writes;
  EXPECT_OK(fs_->Fsync(fd));
  EXPECT_EQ(store_->Stats().page_writes, page_writes);
}

// Rule E1.3: ENOSPC from allocation at write-back time is reported once.
TEST_F(WritebackErrorTest, FsyncReportsEnospcOnce) {
  MakeDurable("/a", "hello");
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, kPage, "more");
  FailNextPageWrite(ENOSPC);
  EXPECT_ERRNO(fs_->Fsync(fd), ENOSPC);
  EXPECT_OK(fs_->Fsync(fd));
}

// Rule E1.3: EDQUOT from allocation at write-back time is reported once.
TEST_F(WritebackErrorTest, FsyncReportsEdquotOnce) {
  MakeDurable("/a", "hello");
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, kPage, "more");
  FailNextPageWrite(EDQUOT);
  EXPECT_ERRNO(fs_->Fsync(fd), EDQUOT);
  EXPECT_OK(fs_->Fsync(fd));
}

// Rules E1.3 and D2 (data steps as D1): fdatasync reports the error once.
TEST_F(WritebackErrorTest, FdatasyncReportsEioOnce) {
  MakeDurable("/a", Fill('a'));
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, 0, "new");
  FailNextPageWrite(EIO);
  EXPECT_ERRNO(fs_->Fdatasync(fd), EIO);
  EXPECT_OK(fs_->Fdatasync(fd));
  CrashAndRemount();
  EXPECT_EQ(Runs(ReadFile("/a")), Runs(Fill('a')));
}

// Rule E1.5: an error from starting the write-back (the store refuses the
// submission) is returned, once.
TEST_F(WritebackErrorTest, FsyncReturnsErrorFromStartingWriteback) {
  MakeDurable("/a", Fill('a'));
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, 0, "new");
  FailNextPageWrite(EIO, FaultStage::kSubmit);
  EXPECT_ERRNO(fs_->Fsync(fd), EIO);
  EXPECT_OK(fs_->Fsync(fd));
  CrashAndRemount();
  EXPECT_EQ(Runs(ReadFile("/a")), Runs(Fill('a')));
}

// Rule E1.5: the start error is what fsync returns, and the cursor advances
// anyway, so an earlier error this description had not seen counts as
// delivered: the next fsync returns 0.
TEST_F(WritebackErrorTest, FsyncStartErrorIsReturnedAndEarlierErrorCountsAsDelivered) {
  MakeDurable("/a", Fill('a', 2 * kPage));
  Fd a = OpenOrDie("/a", O_RDWR);
  Fd b = OpenOrDie("/a", O_RDWR);
  WriteAt(a, 0, "x");
  FailNextPageWrite(EIO);
  EXPECT_ERRNO(fs_->Fsync(b), EIO);  // seen through b, not yet through a
  WriteAt(a, kPage, "y");
  FailNextPageWrite(ENOSPC, FaultStage::kSubmit);
  EXPECT_ERRNO(fs_->Fsync(a), ENOSPC);
  EXPECT_OK(fs_->Fsync(a));
}

// ---- D8 and the per-description cursor ----

// Rules W5.1 and D8: two descriptions opened before the failure each see it
// once; the second one's file is clean by then.
TEST_F(WritebackErrorTest, EachOpenDescriptionSeesErrorOnce) {
  MakeDurable("/a", Fill('a'));
  Fd a = OpenOrDie("/a", O_RDWR);
  Fd b = OpenOrDie("/a", O_RDONLY);
  WriteAt(a, 0, "new");
  FailNextPageWrite(EIO);
  EXPECT_ERRNO(fs_->Fsync(a), EIO);
  EXPECT_OK(fs_->Fsync(a));
  EXPECT_ERRNO(fs_->Fsync(b), EIO);
  EXPECT_OK(fs_->Fsync(b));
}

// Rules W5.2 and M4: a dup shares its description's cursor, so an error
// reported through either is not reported through the other.
TEST_F(WritebackErrorTest, DupSharesErrorCursor) {
  MakeDurable("/a", Fill('a'));
  Fd a = OpenOrDie("/a", O_RDWR);
  ASSERT_OK_AND_ASSIGN(d, fs_->Dup(a));
  WriteAt(a, 0, "x");
  FailNextPageWrite(EIO);
  EXPECT_ERRNO(fs_->Fsync(a), EIO);
  EXPECT_OK(fs_->Fsync(d));
  WriteAt(d, 0, "y");
  FailNextPageWrite(EIO);
  EXPECT_ERRNO(fs_->Fdatasync(d), EIO);
  EXPECT_OK(fs_->Fdatasync(a));
}

// Rule D8: fsync of a file with nothing dirty (no page, no inode flag) still
// reports an error its description has not seen, and writes nothing.
TEST_F(WritebackErrorTest, FsyncOfCleanFileReportsUnseenError) {
  MakeDurable("/a", Fill('a'));
  Fd a = OpenOrDie("/a", O_RDWR);
  Fd b = OpenOrDie("/a", O_RDONLY);
  WriteAt(a, 0, "new");
  FailNextPageWrite(EIO);
  EXPECT_ERRNO(fs_->Fsync(a), EIO);
  ASSERT_OK(fs_->Fsync(a));  // writes the record: the file is clean now
  ASSERT_OK_AND_ASSIGN(flags, fs_->InodeDirtyFlags(b));
  ASSERT_EQ(flags, 0);
  ASSERT_EQ(StateAt(b, 0), PageState::kClean);
  const uint64_t submits = store_->Stats().submits;
  EXPECT_ERRNO(fs_->Fsync(b), EIO);
  EXPECT_EQ(store_->Stats().submits, submits);
  EXPECT_OK(fs_->Fsync(b));
}

// Rule D8: fdatasync of a clean file reports the unseen error the same way.
TEST_F(WritebackErrorTest, FdatasyncOfCleanFileReportsUnseenError) {
  MakeDurable("/a", Fill('a'));
  Fd a = OpenOrDie("/a", O_RDWR);
  Fd b = OpenOrDie("/a", O_RDONLY);
  WriteAt(a, 0, "new");
  FailNextPageWrite(EIO);
  EXPECT_ERRNO(fs_->Fsync(a), EIO);
  EXPECT_ERRNO(fs_->Fdatasync(b), EIO);
  EXPECT_OK(fs_->Fdatasync(b));
}

// Rule W5.3: a description opened after the failure reports it if nobody has
// seen it yet; once seen, later openers get 0.
TEST_F(WritebackErrorTest, LateOpenerSeesUnseenErrorOnlyWhileUnseen) {
  MakeDurable("/a", Fill('a'));
  Fd a = OpenOrDie("/a", O_RDWR);
  WriteAt(a, 0, "new");
  FailNextPageWrite(EIO, FaultStage::kSubmit);
  EXPECT_ERRNO(fs_->SyncFileRange(a, 0, 0, kWrite), EIO);  // start error: not seen
  Fd late = OpenOrDie("/a", O_RDONLY);
  EXPECT_ERRNO(fs_->Fsync(late), EIO);
  Fd later = OpenOrDie("/a", O_RDONLY);
  EXPECT_OK(fs_->Fsync(later));
}

// ---- S1-S3, S5: sync_file_range and the error cursor ----

// Rules S1 and S5: WAIT_BEFORE collects the error of an earlier write and
// consumes it: a later fsync on the same description returns 0.
TEST_F(WritebackErrorTest, SyncFileRangeWaitBeforeConsumesError) {
  MakeDurable("/a", Fill('a'));
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, 0, "new");
  FailNextPageWrite(EIO);
  ASSERT_OK(fs_->SyncFileRange(fd, 0, 0, kWrite));
  EXPECT_ERRNO(fs_->SyncFileRange(fd, 0, 0, kWaitBefore), EIO);
  EXPECT_OK(fs_->Fsync(fd));
}

// Rules S3 and S5: WAIT_AFTER reports the error of the write the same call
// started and consumes it.
TEST_F(WritebackErrorTest, SyncFileRangeWaitAfterConsumesError) {
  MakeDurable("/a", Fill('a'));
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, 0, "new");
  FailNextPageWrite(EIO);
  EXPECT_ERRNO(fs_->SyncFileRange(fd, 0, 0, kWrite | kWaitAfter), EIO);
  EXPECT_OK(fs_->Fsync(fd));
}

// Rules S1-S3 and S5 with all three flags: the error is reported and
// consumed.
TEST_F(WritebackErrorTest, SyncFileRangeAllFlagsReportsAndConsumesError) {
  MakeDurable("/a", Fill('a'));
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, 0, "new");
  FailNextPageWrite(ENOSPC);
  EXPECT_ERRNO(fs_->SyncFileRange(fd, 0, 0, kWaitBefore | kWrite | kWaitAfter), ENOSPC);
  EXPECT_OK(fs_->Fdatasync(fd));
}

// Rule S1: a nonzero result of WAIT_BEFORE is returned at once; the WRITE
// step of the same call is skipped.
TEST_F(WritebackErrorTest, SyncFileRangeWaitBeforeErrorSkipsWrite) {
  MakeDurable("/a", Fill('a', 2 * kPage));
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, 0, "x");
  FailNextPageWrite(EIO);
  ASSERT_OK(fs_->SyncFileRange(fd, 0, kPage, kWrite));
  WriteAt(fd, kPage, "y");
  const uint64_t page_writes = store_->Stats().page_writes;
  EXPECT_ERRNO(fs_->SyncFileRange(fd, 0, 0, kWaitBefore | kWrite), EIO);
  EXPECT_EQ(StateAt(fd, 1), PageState::kDirty);
  EXPECT_EQ(store_->Stats().page_writes, page_writes);
}

// Rules S2 and S5: WRITE alone neither reports nor consumes an error already
// recorded: the description's next fsync reports it.
TEST_F(WritebackErrorTest, SyncFileRangeWriteDoesNotConsumeError) {
  MakeDurable("/a", Fill('a', 2 * kPage));
  Fd a = OpenOrDie("/a", O_RDWR);
  Fd b = OpenOrDie("/a", O_RDWR);
  WriteAt(a, 0, "x");
  FailNextPageWrite(EIO);
  ASSERT_OK(fs_->SyncFileRange(a, 0, 0, kWrite));
  EXPECT_ERRNO(fs_->SyncFileRange(b, 0, 0, kWaitBefore), EIO);  // recorded now
  WriteAt(a, kPage, "y");
  EXPECT_OK(fs_->SyncFileRange(a, 0, 0, kWrite));
  EXPECT_ERRNO(fs_->Fsync(a), EIO);
  EXPECT_OK(fs_->Fsync(a));
}

// Rule S2: only an error from starting the write-back is returned by WRITE,
// and it does not touch the cursor: fsync reports it again.
TEST_F(WritebackErrorTest, SyncFileRangeWriteReturnsStartErrorWithoutConsumingIt) {
  MakeDurable("/a", Fill('a'));
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, 0, "new");
  FailNextPageWrite(EIO, FaultStage::kSubmit);
  EXPECT_ERRNO(fs_->SyncFileRange(fd, 0, 0, kWrite), EIO);
  EXPECT_EQ(StateAt(fd, 0), PageState::kClean);  // W1: not retried
  EXPECT_ERRNO(fs_->Fsync(fd), EIO);
  EXPECT_OK(fs_->Fsync(fd));
}

// Rule S2: WRITE whose writes fail only at completion returns 0: it does not
// wait, so it has nothing to report.
TEST_F(WritebackErrorTest, SyncFileRangeWriteDoesNotReportCompletionError) {
  MakeDurable("/a", Fill('a'));
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, 0, "new");
  FailNextPageWrite(EIO);
  EXPECT_OK(fs_->SyncFileRange(fd, 0, 0, kWrite));
  EXPECT_EQ(Failures(), 1u);
  EXPECT_ERRNO(fs_->Fsync(fd), EIO);
}

// ---- O1-O3: synchronous writes that fail ----

// Rule O1: an O_DSYNC write whose sync fails returns the error, does not
// advance the offset, and leaves the bytes in the cache.
TEST_F(WritebackErrorTest, ODsyncWriteFailureReturnsErrorAndKeepsOffset) {
  MakeDurable("/a", "hello");
  Fd fd = OpenOrDie("/a", O_RDWR | O_DSYNC);
  ASSERT_OK(fs_->Lseek(fd, 5, SEEK_SET));
  FailNextPageWrite(EIO);
  EXPECT_ERRNO(fs_->Write(fd, " world", 6), EIO);
  EXPECT_EQ(OffsetOf(fd), 5);
  EXPECT_EQ(PreadOrDie(fd, 64, 0), "hello world");
  EXPECT_OK(fs_->Fsync(fd));  // the write's own sync reported it
}

// Rule O2: the same for an O_SYNC write.
TEST_F(WritebackErrorTest, OSyncWriteFailureReturnsErrorAndKeepsOffset) {
  MakeDurable("/a", "hello");
  Fd fd = OpenOrDie("/a", O_RDWR | O_SYNC);
  ASSERT_OK(fs_->Lseek(fd, 5, SEEK_SET));
  FailNextPageWrite(ENOSPC);
  EXPECT_ERRNO(fs_->Write(fd, " world", 6), ENOSPC);
  EXPECT_EQ(OffsetOf(fd), 5);
  EXPECT_EQ(PreadOrDie(fd, 64, 0), "hello world");
}

// Rule O3: pwritev2 with RWF_DSYNC at the current offset (-1) fails the
// same way: error returned, offset not advanced.
TEST_F(WritebackErrorTest, Pwrite2DsyncFailureReturnsErrorAndKeepsOffset) {
  MakeDurable("/a", "hello");
  Fd fd = OpenOrDie("/a", O_RDWR);
  ASSERT_OK(fs_->Lseek(fd, 5, SEEK_SET));
  FailNextPageWrite(EIO);
  EXPECT_ERRNO(fs_->Pwrite2(fd, "!", 1, -1, kRwfDsync), EIO);
  EXPECT_EQ(OffsetOf(fd), 5);
  EXPECT_EQ(PreadOrDie(fd, 64, 0), "hello!");
}

// ---- E5: fsync_range ----

// Rule E5: fsync_range reports EIO from the write-back, once.
TEST_F(WritebackErrorTest, FsyncRangeReportsEioOnce) {
  MakeDurable("/a", Fill('a'));
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, 0, "new");
  FailNextPageWrite(EIO);
  EXPECT_ERRNO(fs_->FsyncRange(fd, kFsyncRangeDataSync, 0, 0), EIO);
  EXPECT_OK(fs_->FsyncRange(fd, kFsyncRangeDataSync, 0, 0));
}

// ---- E6 / E7: WASI errno mapping ----

// Rule E7.4 (Wasmer): an I/O failure of fd_sync maps to io.
TEST_F(WritebackErrorTest, WasmerFdSyncMapsEioToIo) {
  MakeDurable("/a", Fill('a'));
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, 0, "new");
  FailNextPageWrite(EIO);
  EXPECT_EQ(fs_->FdSync(fd), wasi::kIo);
  EXPECT_EQ(fs_->FdSync(fd), wasi::kSuccess);
}

// Rule E7 (Wasmer fd_datasync): any failure of a file flush is io, ENOSPC
// included.
TEST_F(WritebackErrorTest, WasmerFdDatasyncMapsEnospcToIo) {
  MakeDurable("/a", "hello");
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, kPage, "more");
  FailNextPageWrite(ENOSPC);
  EXPECT_EQ(fs_->FdDatasync(fd), wasi::kIo);
  EXPECT_EQ(fs_->FdDatasync(fd), wasi::kSuccess);
}

// Rule E7 (spec mode): D1/D2 errors map to io or nospc; ENOSPC is nospc.
TEST_F(WasiSpecErrorTest, SpecFdDatasyncMapsEnospcToNospc) {
  MakeDurable("/a", "hello");
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, kPage, "more");
  FailNextPageWrite(ENOSPC);
  EXPECT_EQ(fs_->FdDatasync(fd), wasi::kNospc);
}

// Rule E7 (spec mode): EDQUOT is nospc too.
TEST_F(WasiSpecErrorTest, SpecFdSyncMapsEdquotToNospc) {
  MakeDurable("/a", "hello");
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, kPage, "more");
  FailNextPageWrite(EDQUOT);
  EXPECT_EQ(fs_->FdSync(fd), wasi::kNospc);
}

// Rule E7 (spec mode): EIO is io.
TEST_F(WasiSpecErrorTest, SpecFdSyncMapsEioToIo) {
  MakeDurable("/a", Fill('a'));
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, 0, "new");
  FailNextPageWrite(EIO);
  EXPECT_EQ(fs_->FdSync(fd), wasi::kIo);
}

// ---- syncfs and sync ----

// syncfs reports a write-back error through the filesystem cursor (W1),
// once per description.
TEST_F(WritebackErrorTest, SyncfsReportsWritebackErrorOnce) {
  MakeDurable("/a", Fill('a'));
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, 0, "new");
  FailNextPageWrite(EIO);
  EXPECT_ERRNO(fs_->Syncfs(fd), EIO);
  EXPECT_OK(fs_->Syncfs(fd));
}

// sync(2) reports nothing, and leaves the error for the description's next
// fsync.
TEST_F(WritebackErrorTest, SyncLeavesErrorForFsync) {
  MakeDurable("/a", Fill('a'));
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, 0, "new");
  FailNextPageWrite(EIO);
  fs_->Sync();
  EXPECT_EQ(Failures(), 1u);
  EXPECT_ERRNO(fs_->Fsync(fd), EIO);
  EXPECT_OK(fs_->Fsync(fd));
}

}  // namespace
}  // namespace vfs::testing
