// The write-back error rules end to end: a filesystem on a memory store
// wrapped in the fault store (backends/fault/fault_store.h), page writes
// failed at submit or at completion by a fault rule, and what fsync,
// fdatasync, sync_file_range, fsync_range, the WASI calls, syncfs, sync,
// close, open and a crash show afterwards.
//
// One suite per rule family of docs/semantics.md, named by its rule ids:
// E1 (fsync and fdatasync report the error), D3 (directory entries), D8
// (nothing dirty), E5 (fsync_range), E6/E7 (WASI errnos), S1-S5
// (sync_file_range), W1-W6 (the writeback error rules of section 4) and
// O1-O3 (synchronous writes). The comment above each test cites the rules
// and sub-rules it shows; a name may start with its rule too.
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

// A filesystem on a memory store wrapped in a fault store. Each family's
// suite derives from it.
class WritebackTest : public VfsTest {
 protected:
  void SetUp() override {
    options_.clock = TickingClock();
    faults_ = NewFaultStore(NewMemoryStore(store_options_), {});
    store_ = faults_;
    Remount();
    ASSERT_EQ(fs_->page_size(), kPage);
  }

  // The variants of Options some rules are about, chosen by a test before it
  // creates anything: the filesystem is mounted again with the change.
  // W1 [VFS choice]: failed pages are evicted at once.
  void DropFailedPages() {
    options_.drop_failed_pages = true;
    Remount();
  }
  // W6: the older Linux models of write-back errors.
  void UseWritebackModel(WritebackErrorModel model) {
    options_.writeback_errors = model;
    Remount();
  }
  // E6 / E7: the WASI errno mapping.
  void UseWasiMode(WasiMode mode) {
    options_.wasi_mode = mode;
    Remount();
  }

  // The next page write, of any file, fails with `err`: at completion (Wait
  // answers it) or at submit (Submit refuses the whole batch).
  void FailNextPageWrite(int err, FaultStage stage = FaultStage::kCompletion) {
    faults_->AddRule({.error = err, .stage = stage, .kinds = kKindPage});
  }

  // The next page write of `path` completes with `err`.
  void FailNextPageWrite(const std::string& path, int err) {
    faults_->AddRule({.error = err,
                      .stage = FaultStage::kCompletion,
                      .kinds = kKindPage,
                      .ino = InoOf(path)});
  }

  // Page writes and submit calls failed so far.
  uint64_t Failures() const { return faults_->Faults().failures; }

  InodeId InoOf(const std::string& path) {
    auto st = fs_->Stat(path);
    EXPECT_TRUE(st.ok()) << path << ": " << strerror(st.error());
    return st.ok() ? st->ino : InodeId(0);
  }

  // `path` holding `data`, fsynced with its directory (the root).
  void MakeDurable(const std::string& path, const std::string& data) {
    Fd fd = OpenOrDie(path, O_WRONLY | O_CREAT | O_TRUNC);
    WriteAt(fd, 0, data);
    ASSERT_OK(fs_->Fsync(fd));
    ASSERT_OK(fs_->Close(fd));
    FsyncDir("/");
  }

  // Overwrites the start of `path` through a fresh descriptor and lets
  // sync(2) write it back with the next page write failing with `err`.
  // Nobody checks the error: sync(2) reports nothing.
  void FailWritebackUnseen(const std::string& path, const std::string& data, int err) {
    Fd fd = OpenOrDie(path, O_WRONLY);
    WriteAt(fd, 0, data);
    ASSERT_OK(fs_->Close(fd));  // W5.5: reports nothing, and changes nothing
    const uint64_t failures = faults_->Faults().failures;
    FailNextPageWrite(path, err);
    fs_->Sync();
    ASSERT_EQ(faults_->Faults().failures, failures + 1) << "the write-back did not fail";
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

  // Page writes of `ino` in the recording, and those that became durable.
  struct PageWrites {
    int submitted = 0;
    int failed = 0;
    int durable = 0;
  };
  PageWrites PageWritesOf(InodeId ino) {
    PageWrites writes;
    for (const RecordedRequest& r : faults_->Recording()) {
      const auto* page = std::get_if<PutPage>(&r.request);
      if (page == nullptr || page->ino != ino) continue;
      ++writes.submitted;
      writes.failed += r.error != 0 ? 1 : 0;
      writes.durable += r.durable_at != 0 ? 1 : 0;
    }
    return writes;
  }

  std::shared_ptr<FaultStore> faults_;
};

// ---- E1.3, E1.5 (D1.6, D2): fsync and fdatasync report a failed write-back ----

class WritebackE1Test : public WritebackTest {};

// Rules E1.3 and D1.6 (W5.1): the first fsync after a failed page write
// returns EIO, the second returns 0, and the data is lost.
TEST_F(WritebackE1Test, FsyncReportsEioOnceAndTheDataIsLost) {
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

// Rule E1.3: ENOSPC from allocation at write-back time is reported once.
TEST_F(WritebackE1Test, FsyncReportsEnospcOnce) {
  MakeDurable("/a", "hello");
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, kPage, "more");
  FailNextPageWrite(ENOSPC);
  EXPECT_ERRNO(fs_->Fsync(fd), ENOSPC);
  EXPECT_OK(fs_->Fsync(fd));
}

// Rule E1.3: EDQUOT from allocation at write-back time is reported once.
TEST_F(WritebackE1Test, FsyncReportsEdquotOnce) {
  MakeDurable("/a", "hello");
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, kPage, "more");
  FailNextPageWrite(EDQUOT);
  EXPECT_ERRNO(fs_->Fsync(fd), EDQUOT);
  EXPECT_OK(fs_->Fsync(fd));
}

// Rules E1.3 and D2 (data steps as D1): fdatasync reports the error once.
TEST_F(WritebackE1Test, FdatasyncReportsEioOnce) {
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
TEST_F(WritebackE1Test, FsyncReturnsErrorFromStartingWriteback) {
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
TEST_F(WritebackE1Test, FsyncStartErrorIsReturnedAndEarlierErrorCountsAsDelivered) {
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

// ---- D3: directory entries whose write fails ----

class WritebackD3Test : public WritebackTest {};

// Rule D3: a directory fsync whose entry write fails returns the error, and
// the entry is not durable: a crash loses the name.
TEST_F(WritebackD3Test, D3FailedEntryWriteFailsDirectoryFsyncAndIsNotDurable) {
  Fd fd = OpenOrDie("/a", O_WRONLY | O_CREAT);
  WriteAt(fd, 0, "data");
  ASSERT_OK(fs_->Fsync(fd));
  faults_->AddRule({.error = EIO,
                    .stage = FaultStage::kCompletion,
                    .kinds = kKindDirent,
                    .ino = InoOf("/")});
  Fd root = OpenOrDie("/", O_RDONLY | O_DIRECTORY);
  EXPECT_ERRNO(fs_->Fsync(root), EIO);
  ASSERT_EQ(faults_->Faults().failures, 1u);
  CrashAndRemount();
  EXPECT_FALSE(Exists("/a"));
}

// Rule D3 [VFS choice]: a failed entry write is not dropped as a failed page
// is (W1 applies to pages): the change stays pending, the next directory
// fsync writes it and it is durable.
TEST_F(WritebackD3Test, D3FailedEntryWriteStaysPendingUntilTheNextFsync) {
  Fd fd = OpenOrDie("/a", O_WRONLY | O_CREAT);
  WriteAt(fd, 0, "data");
  ASSERT_OK(fs_->Fsync(fd));
  faults_->AddRule({.error = ENOSPC,
                    .stage = FaultStage::kCompletion,
                    .kinds = kKindDirent,
                    .ino = InoOf("/")});
  Fd root = OpenOrDie("/", O_RDONLY | O_DIRECTORY);
  EXPECT_ERRNO(fs_->Fsync(root), ENOSPC);
  ASSERT_OK_AND_ASSIGN(pending, fs_->PendingEntryCount("/"));
  EXPECT_EQ(pending, 1u);
  EXPECT_OK(fs_->Fsync(root));
  ASSERT_OK_AND_ASSIGN(after, fs_->PendingEntryCount("/"));
  EXPECT_EQ(after, 0u);
  CrashAndRemount();
  EXPECT_EQ(ReadFile("/a"), "data");
}

// ---- D8: a sync call on a clean file still checks the error ----

class WritebackD8Test : public WritebackTest {};

// Rule D8: fsync of a file with nothing dirty (no page, no inode flag) still
// reports an error its description has not seen, and writes nothing.
TEST_F(WritebackD8Test, FsyncOfCleanFileReportsUnseenError) {
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
TEST_F(WritebackD8Test, FdatasyncOfCleanFileReportsUnseenError) {
  MakeDurable("/a", Fill('a'));
  Fd a = OpenOrDie("/a", O_RDWR);
  Fd b = OpenOrDie("/a", O_RDONLY);
  WriteAt(a, 0, "new");
  FailNextPageWrite(EIO);
  EXPECT_ERRNO(fs_->Fsync(a), EIO);
  EXPECT_ERRNO(fs_->Fdatasync(b), EIO);
  EXPECT_OK(fs_->Fdatasync(b));
}

// ---- E5: fsync_range ----

class WritebackE5Test : public WritebackTest {};

// Rule E5: fsync_range reports EIO from the write-back, once.
TEST_F(WritebackE5Test, FsyncRangeReportsEioOnce) {
  MakeDurable("/a", Fill('a'));
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, 0, "new");
  FailNextPageWrite(EIO);
  EXPECT_ERRNO(fs_->FsyncRange(fd, kFsyncRangeDataSync, 0, 0), EIO);
  EXPECT_OK(fs_->FsyncRange(fd, kFsyncRangeDataSync, 0, 0));
}

// ---- E6, E7: the WASI errno of a failed write-back ----

class WritebackE6E7Test : public WritebackTest {};

// Rule E7.4 (Wasmer): an I/O failure of fd_sync maps to io.
TEST_F(WritebackE6E7Test, WasmerFdSyncMapsEioToIo) {
  MakeDurable("/a", Fill('a'));
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, 0, "new");
  FailNextPageWrite(EIO);
  EXPECT_EQ(fs_->FdSync(fd), wasi::kIo);
  EXPECT_EQ(fs_->FdSync(fd), wasi::kSuccess);
}

// Rule E7 (Wasmer fd_datasync): any failure of a file flush is io, ENOSPC
// included.
TEST_F(WritebackE6E7Test, WasmerFdDatasyncMapsEnospcToIo) {
  MakeDurable("/a", "hello");
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, kPage, "more");
  FailNextPageWrite(ENOSPC);
  EXPECT_EQ(fs_->FdDatasync(fd), wasi::kIo);
  EXPECT_EQ(fs_->FdDatasync(fd), wasi::kSuccess);
}

// Rule E7 (spec mode): D1/D2 errors map to io or nospc; ENOSPC is nospc.
TEST_F(WritebackE6E7Test, SpecFdDatasyncMapsEnospcToNospc) {
  UseWasiMode(WasiMode::kSpec);
  MakeDurable("/a", "hello");
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, kPage, "more");
  FailNextPageWrite(ENOSPC);
  EXPECT_EQ(fs_->FdDatasync(fd), wasi::kNospc);
}

// Rule E7 (spec mode): EDQUOT is nospc too.
TEST_F(WritebackE6E7Test, SpecFdSyncMapsEdquotToNospc) {
  UseWasiMode(WasiMode::kSpec);
  MakeDurable("/a", "hello");
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, kPage, "more");
  FailNextPageWrite(EDQUOT);
  EXPECT_EQ(fs_->FdSync(fd), wasi::kNospc);
}

// Rule E7 (spec mode): EIO is io.
TEST_F(WritebackE6E7Test, SpecFdSyncMapsEioToIo) {
  UseWasiMode(WasiMode::kSpec);
  MakeDurable("/a", Fill('a'));
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, 0, "new");
  FailNextPageWrite(EIO);
  EXPECT_EQ(fs_->FdSync(fd), wasi::kIo);
}

// ---- S1-S5: sync_file_range and the error cursor ----

class WritebackS1S5Test : public WritebackTest {};

// Rules S1 and S5: WAIT_BEFORE collects the error of an earlier write and
// consumes it: a later fsync on the same description returns 0.
TEST_F(WritebackS1S5Test, SyncFileRangeWaitBeforeConsumesError) {
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
TEST_F(WritebackS1S5Test, SyncFileRangeWaitAfterConsumesError) {
  MakeDurable("/a", Fill('a'));
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, 0, "new");
  FailNextPageWrite(EIO);
  EXPECT_ERRNO(fs_->SyncFileRange(fd, 0, 0, kWrite | kWaitAfter), EIO);
  EXPECT_OK(fs_->Fsync(fd));
}

// Rules S1-S3 and S5 with all three flags: the error is reported and
// consumed.
TEST_F(WritebackS1S5Test, SyncFileRangeAllFlagsReportsAndConsumesError) {
  MakeDurable("/a", Fill('a'));
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, 0, "new");
  FailNextPageWrite(ENOSPC);
  EXPECT_ERRNO(fs_->SyncFileRange(fd, 0, 0, kWaitBefore | kWrite | kWaitAfter), ENOSPC);
  EXPECT_OK(fs_->Fdatasync(fd));
}

// Rule S1: a nonzero result of WAIT_BEFORE is returned at once; the WRITE
// step of the same call is skipped.
TEST_F(WritebackS1S5Test, SyncFileRangeWaitBeforeErrorSkipsWrite) {
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
TEST_F(WritebackS1S5Test, SyncFileRangeWriteDoesNotConsumeError) {
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
TEST_F(WritebackS1S5Test, SyncFileRangeWriteReturnsStartErrorWithoutConsumingIt) {
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
TEST_F(WritebackS1S5Test, SyncFileRangeWriteDoesNotReportCompletionError) {
  MakeDurable("/a", Fill('a'));
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, 0, "new");
  FailNextPageWrite(EIO);
  EXPECT_OK(fs_->SyncFileRange(fd, 0, 0, kWrite));
  EXPECT_EQ(Failures(), 1u);
  EXPECT_ERRNO(fs_->Fsync(fd), EIO);
}

// ---- W1: a failed page write ----

class WritebackW1Test : public WritebackTest {};

// Rule W1: the page stays clean after the failure and is never retried:
// neither the next fsync nor sync(2) writes it again.
TEST_F(WritebackW1Test, W1FailedPageStaysCleanAndIsNotRetried) {
  MakeDurable("/a", Fill('a'));
  const InodeId ino = InoOf("/a");
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, 0, "new");
  FailNextPageWrite("/a", EIO);
  EXPECT_ERRNO(fs_->Fsync(fd), EIO);
  EXPECT_EQ(StateAt(fd, 0), PageState::kClean);
  const PageWrites before = PageWritesOf(ino);
  EXPECT_EQ(before.failed, 1);
  EXPECT_OK(fs_->Fsync(fd));
  fs_->Sync();
  const PageWrites after = PageWritesOf(ino);
  EXPECT_EQ(after.submitted, before.submitted) << "the failed page was written again";
  EXPECT_EQ(after.failed, 1);
}

// Rule W1: the failed page is clean (never retried), and the cache keeps the
// new bytes until it is evicted ([VFS choice]).
TEST_F(WritebackW1Test, FailedPageIsCleanAndKeepsNewBytes) {
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

// Rule W1 [VFS choice]: by default the cache keeps the new bytes of the
// failed page, so a read returns data the store does not hold.
TEST_F(WritebackW1Test, W1FailedPageKeepsTheNewBytesInTheCache) {
  MakeDurable("/a", Fill('a'));
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, 0, "new");
  FailNextPageWrite("/a", EIO);
  EXPECT_ERRNO(fs_->Fsync(fd), EIO);
  EXPECT_EQ(PreadOrDie(fd, 4, 0), "newa");
  EXPECT_EQ(Runs(ReadFile("/a")), Runs("new" + Fill('a', kPage - 3)));
}

// Rule W1 [VFS choice], Options::drop_failed_pages: the failed page is
// evicted at once, so reads return the bytes the store still holds.
TEST_F(WritebackW1Test, W1DroppedFailedPageReadsTheStoresOldBytes) {
  DropFailedPages();
  MakeDurable("/a", Fill('a', 2 * kPage));
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, 0, "new");
  FailNextPageWrite("/a", EIO);
  EXPECT_ERRNO(fs_->Fsync(fd), EIO);
  EXPECT_EQ(PreadOrDie(fd, 4, 0), "aaaa");
  EXPECT_EQ(Runs(ReadFile("/a")), Runs(Fill('a', 2 * kPage)));
}

// Rule W1 [VFS choice], drop_failed_pages: a new page the store never held
// reads as a hole once dropped; the size stays as written.
TEST_F(WritebackW1Test, W1DroppedNewPageReadsAsAHole) {
  DropFailedPages();
  MakeDurable("/a", "hello");
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, kPage, "more");
  FailNextPageWrite("/a", ENOSPC);
  EXPECT_ERRNO(fs_->Fsync(fd), ENOSPC);
  EXPECT_EQ(PreadOrDie(fd, 4, kPage), std::string(4, '\0'));
  EXPECT_EQ(PreadOrDie(fd, 5, 0), "hello");
}

// Rule W1 [VFS choice], drop_failed_pages: a batch the store refuses at
// submit (E1.5) is dropped the same way.
TEST_F(WritebackW1Test, W1DroppedPageRefusedAtSubmitReadsTheStoresOldBytes) {
  DropFailedPages();
  MakeDurable("/a", Fill('a'));
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, 0, "new");
  faults_->AddRule({.error = EIO, .stage = FaultStage::kSubmit, .kinds = kKindPage, .ino = InoOf("/a")});
  EXPECT_ERRNO(fs_->Fsync(fd), EIO);
  EXPECT_EQ(PreadOrDie(fd, 4, 0), "aaaa");
}

// Rule W1 [VFS choice], drop_failed_pages: the pages of the failed batch are
// dropped, and each reads back as the store holds it: old bytes for the page
// whose write failed, new bytes for the one written in the same batch.
TEST_F(WritebackW1Test, W1DroppedBatchReadsBackWhatTheStoreHolds) {
  DropFailedPages();
  MakeDurable("/a", Fill('a', 2 * kPage));
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, 0, "new");
  WriteAt(fd, kPage, "ok");
  FailNextPageWrite("/a", EIO);  // the first page write of the batch: page 0
  EXPECT_ERRNO(fs_->Fsync(fd), EIO);
  EXPECT_EQ(PageWritesOf(InoOf("/a")).failed, 1);
  EXPECT_EQ(PreadOrDie(fd, 3, 0), "aaa");
  EXPECT_EQ(PreadOrDie(fd, 3, kPage), "oka");
}

// Rule W1: the error is recorded on the filesystem too: syncfs reports it
// through a description that already saw it through fsync, once.
TEST_F(WritebackW1Test, W1ErrorIsRecordedOnTheFilesystemForSyncfs) {
  MakeDurable("/a", Fill('a'));
  MakeDurable("/b", Fill('b'));
  Fd fd = OpenOrDie("/a", O_RDWR);
  Fd other = OpenOrDie("/b", O_RDONLY);
  WriteAt(fd, 0, "new");
  FailNextPageWrite("/a", EIO);
  EXPECT_ERRNO(fs_->Fsync(fd), EIO);
  EXPECT_OK(fs_->Fsync(fd));
  EXPECT_ERRNO(fs_->Syncfs(fd), EIO);
  EXPECT_OK(fs_->Syncfs(fd));
  // Another file's description, opened before the failure, sees it through
  // syncfs, but its own file had no error.
  EXPECT_OK(fs_->Fsync(other));
  EXPECT_ERRNO(fs_->Syncfs(other), EIO);
  EXPECT_OK(fs_->Syncfs(other));
}

// syncfs reports a write-back error through the filesystem cursor (W1),
// once per description.
TEST_F(WritebackW1Test, SyncfsReportsWritebackErrorOnce) {
  MakeDurable("/a", Fill('a'));
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, 0, "new");
  FailNextPageWrite(EIO);
  EXPECT_ERRNO(fs_->Syncfs(fd), EIO);
  EXPECT_OK(fs_->Syncfs(fd));
}

// Rule W1: the failed write is lost; after a crash the store's old bytes are
// the file.
TEST_F(WritebackW1Test, W1FailedPageIsLostAfterCrash) {
  MakeDurable("/a", Fill('a'));
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, 0, "new");
  FailNextPageWrite("/a", EIO);
  EXPECT_ERRNO(fs_->Fsync(fd), EIO);
  const PageWrites writes = PageWritesOf(InoOf("/a"));
  EXPECT_EQ(writes.failed, 1);
  EXPECT_EQ(writes.durable, writes.submitted - 1) << "only the failed write is not durable";
  CrashAndRemount();
  EXPECT_EQ(Runs(ReadFile("/a")), Runs(Fill('a')));
}

// ---- W2: errseq_set ----

class WritebackW2Test : public WritebackTest {};

// Rule W2: the latest error overwrites an unseen earlier one: EIO, then
// ENOSPC with no check in between, reports ENOSPC, once.
TEST_F(WritebackW2Test, W2LaterErrorOverwritesAnUnseenEarlierOne) {
  MakeDurable("/a", Fill('a'));
  Fd fd = OpenOrDie("/a", O_RDONLY);
  FailWritebackUnseen("/a", "one", EIO);
  FailWritebackUnseen("/a", "two", ENOSPC);
  EXPECT_ERRNO(fs_->Fsync(fd), ENOSPC);
  EXPECT_OK(fs_->Fsync(fd));
}

// Rule W2: a repeat of an unseen error is one error: each description
// reports it once.
TEST_F(WritebackW2Test, W2UnseenRepeatIsReportedOnce) {
  MakeDurable("/a", Fill('a'));
  Fd fd = OpenOrDie("/a", O_RDONLY);
  FailWritebackUnseen("/a", "one", EIO);
  FailWritebackUnseen("/a", "two", EIO);
  EXPECT_ERRNO(fs_->Fsync(fd), EIO);
  EXPECT_OK(fs_->Fsync(fd));
}

// Rule W2.3: an unseen repeat of the same errno merges: the word does not
// change. Only a cursor holding the unseen word can tell; open samples the
// raw word in the 4.13-4.16 model (W6), so a description opened between the
// two failures does not see the second.
TEST_F(WritebackW2Test, W2UnseenRepeatMergesWithTheFirstError) {
  UseWritebackModel(WritebackErrorModel::kErrseqNoLateReport);
  MakeDurable("/a", Fill('a'));
  FailWritebackUnseen("/a", "one", EIO);
  Fd between = OpenOrDie("/a", O_RDONLY);
  FailWritebackUnseen("/a", "two", EIO);
  EXPECT_TRUE(fs_->Fsync(between).ok()) << "the repeat changed the word";
}

// Rule W2.1: a different errno does change the unseen word, so the same
// description does see it (the contrast to the merge above).
TEST_F(WritebackW2Test, W2UnseenDifferentErrnoChangesTheWord) {
  UseWritebackModel(WritebackErrorModel::kErrseqNoLateReport);
  MakeDurable("/a", Fill('a'));
  FailWritebackUnseen("/a", "one", EIO);
  Fd between = OpenOrDie("/a", O_RDONLY);
  FailWritebackUnseen("/a", "two", ENOSPC);
  EXPECT_ERRNO(fs_->Fsync(between), ENOSPC);
  EXPECT_OK(fs_->Fsync(between));
}

// ---- W3: open samples the word ----

class WritebackW3Test : public WritebackTest {};

// Rule W3: a description opened after the failure, while nobody has seen it,
// starts at 0 and reports it on its first fsync; once seen, later openers
// start at the word and get 0.
TEST_F(WritebackW3Test, W3OpenerAfterAnUnseenFailureReportsIt) {
  MakeDurable("/a", Fill('a'));
  FailWritebackUnseen("/a", "new", EIO);
  Fd late = OpenOrDie("/a", O_RDONLY);
  EXPECT_ERRNO(fs_->Fsync(late), EIO);
  EXPECT_OK(fs_->Fsync(late));
  Fd later = OpenOrDie("/a", O_RDONLY);
  EXPECT_OK(fs_->Fsync(later));
}

// Rule W3: the sample is taken at open: a description opened while the error
// was unseen still reports it after another description has seen it.
TEST_F(WritebackW3Test, W3SampleIsTakenAtOpen) {
  MakeDurable("/a", Fill('a'));
  FailWritebackUnseen("/a", "new", EIO);
  Fd first = OpenOrDie("/a", O_RDONLY);
  Fd second = OpenOrDie("/a", O_RDONLY);
  EXPECT_ERRNO(fs_->Fsync(first), EIO);  // sets SEEN
  EXPECT_ERRNO(fs_->Fsync(second), EIO);
  Fd third = OpenOrDie("/a", O_RDONLY);
  EXPECT_OK(fs_->Fsync(third));
}

// ---- W4: check and advance ----

class WritebackW4Test : public WritebackTest {};

// Rule W4: each description reports an error once, whichever durability call
// checks; a dup shares its description's cursor.
TEST_F(WritebackW4Test, W4EachDescriptionChecksAndAdvancesOnce) {
  MakeDurable("/a", Fill('a'));
  Fd a = OpenOrDie("/a", O_RDWR);
  Fd b = OpenOrDie("/a", O_RDONLY);
  Fd c = OpenOrDie("/a", O_RDONLY);
  ASSERT_OK_AND_ASSIGN(dup, fs_->Dup(a));
  WriteAt(a, 0, "new");
  FailNextPageWrite("/a", EIO);
  EXPECT_ERRNO(fs_->Fsync(a), EIO);
  EXPECT_OK(fs_->Fdatasync(dup));
  EXPECT_OK(fs_->Fsync(a));
  EXPECT_ERRNO(fs_->Fdatasync(b), EIO);
  EXPECT_OK(fs_->Fsync(b));
  EXPECT_ERRNO(fs_->SyncFileRange(c, 0, 0, kWaitBefore), EIO);
  EXPECT_OK(fs_->Fsync(c));
}

// Rule W4: a cursor behind by several errors reports the latest, once.
TEST_F(WritebackW4Test, W4CursorBehindReportsOnlyTheLatestError) {
  MakeDurable("/a", Fill('a'));
  Fd a = OpenOrDie("/a", O_RDWR);
  Fd b = OpenOrDie("/a", O_RDONLY);
  WriteAt(a, 0, "one");
  FailNextPageWrite("/a", EIO);
  EXPECT_ERRNO(fs_->Fsync(a), EIO);
  WriteAt(a, 0, "two");
  FailNextPageWrite("/a", ENOSPC);
  EXPECT_ERRNO(fs_->Fsync(a), ENOSPC);
  EXPECT_ERRNO(fs_->Fsync(b), ENOSPC);
  EXPECT_OK(fs_->Fsync(b));
}

// Rule W4: a check that finds the word current changes nothing, so a failure
// after it is reported by the next check.
TEST_F(WritebackW4Test, W4ErrorAfterACleanCheckIsReported) {
  MakeDurable("/a", Fill('a'));
  Fd a = OpenOrDie("/a", O_RDWR);
  EXPECT_OK(fs_->Fsync(a));
  WriteAt(a, 0, "new");
  FailNextPageWrite("/a", EDQUOT);
  EXPECT_ERRNO(fs_->Fsync(a), EDQUOT);
  EXPECT_OK(fs_->Fsync(a));
}

// ---- W5: required behaviour ----

class WritebackW5Test : public WritebackTest {};

// Rule W5.1: descriptions A and B open; a write-back fails. The first fsync
// through each returns EIO, every second one 0, and the data is lost.
TEST_F(WritebackW5Test, W5EachOpenDescriptionSeesTheErrorOnceAndTheDataIsLost) {
  MakeDurable("/a", Fill('a'));
  Fd a = OpenOrDie("/a", O_RDWR);
  Fd b = OpenOrDie("/a", O_RDWR);
  WriteAt(a, 0, "new");
  FailNextPageWrite("/a", EIO);
  EXPECT_ERRNO(fs_->Fsync(a), EIO);
  EXPECT_OK(fs_->Fsync(a));
  EXPECT_ERRNO(fs_->Fsync(b), EIO);
  EXPECT_OK(fs_->Fsync(b));
  CrashAndRemount();
  EXPECT_EQ(Runs(ReadFile("/a")), Runs(Fill('a')));
}

// Rules W5.1 and D8: two descriptions opened before the failure each see it
// once; the second one's file is clean by then.
TEST_F(WritebackW5Test, EachOpenDescriptionSeesErrorOnce) {
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

// Rule W5.2: a dup of A shares A's cursor: a report through either counts
// for both.
TEST_F(WritebackW5Test, W5DupSharesTheCursor) {
  MakeDurable("/a", Fill('a'));
  Fd a = OpenOrDie("/a", O_RDWR);
  ASSERT_OK_AND_ASSIGN(d, fs_->Dup(a));
  WriteAt(a, 0, "one");
  FailNextPageWrite("/a", EIO);
  EXPECT_ERRNO(fs_->Fsync(d), EIO);
  EXPECT_OK(fs_->Fsync(a));
  WriteAt(d, 0, "two");
  FailNextPageWrite("/a", ENOSPC);
  EXPECT_ERRNO(fs_->Fsync(a), ENOSPC);
  EXPECT_OK(fs_->Fsync(d));
}

// Rules W5.2 and M4: a dup shares its description's cursor, so an error
// reported through either is not reported through the other.
TEST_F(WritebackW5Test, DupSharesErrorCursor) {
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

// Rule W5.3: a description opened after the failure reports it on its first
// sync while nobody has seen it; once SEEN is set, later openers get 0.
TEST_F(WritebackW5Test, W5LateOpenerReportsOnlyWhileUnseen) {
  MakeDurable("/a", Fill('a'));
  Fd a = OpenOrDie("/a", O_RDWR);
  WriteAt(a, 0, "new");
  FailNextPageWrite("/a", EIO);
  fs_->Sync();  // the write-back fails; sync(2) checks nothing
  ASSERT_EQ(faults_->Faults().failures, 1u);
  Fd late = OpenOrDie("/a", O_RDONLY);
  EXPECT_ERRNO(fs_->Fsync(late), EIO);
  Fd later = OpenOrDie("/a", O_RDONLY);
  EXPECT_OK(fs_->Fsync(later));
  EXPECT_ERRNO(fs_->Fsync(a), EIO);  // opened before: its cursor is behind
}

// Rule W5.3: a description opened after the failure reports it if nobody has
// seen it yet; once seen, later openers get 0.
TEST_F(WritebackW5Test, LateOpenerSeesUnseenErrorOnlyWhileUnseen) {
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

// Rule W5.4: a successful retry does not mean the lost data was written:
// fsync returns EIO, the next fsync returns 0, and a crash shows the old
// data. No durable page write ever carried the new bytes.
TEST_F(WritebackW5Test, W5SuccessfulRetryDoesNotMeanTheDataWasWritten) {
  MakeDurable("/a", Fill('a'));
  const InodeId ino = InoOf("/a");
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, 0, "new");
  FailNextPageWrite("/a", EIO);
  EXPECT_ERRNO(fs_->Fsync(fd), EIO);
  EXPECT_OK(fs_->Fsync(fd));
  for (const RecordedRequest& r : faults_->Recording()) {
    const auto* page = std::get_if<PutPage>(&r.request);
    if (page == nullptr || page->ino != ino || r.durable_at == 0) continue;
    EXPECT_EQ(page->data->data()[0], 'a') << "request " << r.index << " made new bytes durable";
  }
  CrashAndRemount();
  EXPECT_EQ(Runs(ReadFile("/a")), Runs(Fill('a')));
}

// Rule W5.5: close reports nothing and consumes nothing: the error is there
// for the next description to open.
TEST_F(WritebackW5Test, W5CloseDoesNotReportAWritebackError) {
  MakeDurable("/a", Fill('a'));
  Fd a = OpenOrDie("/a", O_RDWR);
  WriteAt(a, 0, "new");
  FailNextPageWrite("/a", EIO);
  fs_->Sync();
  ASSERT_EQ(faults_->Faults().failures, 1u);
  EXPECT_OK(fs_->Close(a));
  Fd b = OpenOrDie("/a", O_RDONLY);
  EXPECT_ERRNO(fs_->Fsync(b), EIO);
}

// Rule W5.5: close does not write back either: dirty data at close meets no
// store request, so an armed fault stays armed.
TEST_F(WritebackW5Test, W5CloseStartsNoWriteback) {
  MakeDurable("/a", Fill('a'));
  Fd a = OpenOrDie("/a", O_RDWR);
  WriteAt(a, 0, "new");
  FailNextPageWrite("/a", EIO);
  const uint64_t requests = faults_->Faults().requests;
  EXPECT_OK(fs_->Close(a));
  EXPECT_EQ(faults_->Faults().requests, requests);
  EXPECT_EQ(faults_->Faults().failures, 0u);
  // The page is still dirty: the next fsync writes it and meets the fault.
  Fd b = OpenOrDie("/a", O_RDONLY);
  EXPECT_ERRNO(fs_->Fsync(b), EIO);
}

// Rule W5.6: the error is kept while no descriptor of the file is open:
// open, write, close; the write-back fails under syncfs through another
// file's descriptor; a new open's fsync reports it.
TEST_F(WritebackW5Test, W5ErrorIsKeptWhileNoDescriptorIsOpen) {
  MakeDurable("/a", Fill('a'));
  MakeDurable("/b", Fill('b'));
  Fd a = OpenOrDie("/a", O_RDWR);
  WriteAt(a, 0, "new");
  ASSERT_OK(fs_->Close(a));
  Fd other = OpenOrDie("/b", O_RDONLY);
  FailNextPageWrite("/a", EIO);
  EXPECT_ERRNO(fs_->Syncfs(other), EIO);  // seen on the filesystem, not on /a
  ASSERT_OK(fs_->Close(other));
  Fd again = OpenOrDie("/a", O_RDONLY);
  EXPECT_ERRNO(fs_->Fsync(again), EIO);
  EXPECT_OK(fs_->Fsync(again));
}

// Rule W5.6: the same when sync(2) fails the write-back with no descriptor
// open anywhere.
TEST_F(WritebackW5Test, W5ErrorIsKeptWhenSyncFailsItWithNoDescriptorOpen) {
  MakeDurable("/a", Fill('a'));
  FailWritebackUnseen("/a", "new", EIO);  // open, write, close, then sync(2)
  Fd again = OpenOrDie("/a", O_RDONLY);
  EXPECT_ERRNO(fs_->Fsync(again), EIO);
  EXPECT_OK(fs_->Fsync(again));
}

// sync(2) reports nothing, and leaves the error for the description's next
// fsync.
TEST_F(WritebackW5Test, SyncLeavesErrorForFsync) {
  MakeDurable("/a", Fill('a'));
  Fd fd = OpenOrDie("/a", O_RDWR);
  WriteAt(fd, 0, "new");
  FailNextPageWrite(EIO);
  fs_->Sync();
  EXPECT_EQ(Failures(), 1u);
  EXPECT_ERRNO(fs_->Fsync(fd), EIO);
  EXPECT_OK(fs_->Fsync(fd));
}

// ---- W6: the older Linux models (Options::writeback_errors) ----

class WritebackW6Test : public WritebackTest {};

// Rule W6 (before 4.13, AS_EIO/AS_ENOSPC): the first description to check
// clears the flag; a second description misses the error entirely.
TEST_F(WritebackW6Test, W6LegacyFirstCheckerClearsTheError) {
  UseWritebackModel(WritebackErrorModel::kLegacyFlags);
  MakeDurable("/a", Fill('a'));
  Fd a = OpenOrDie("/a", O_RDWR);
  Fd b = OpenOrDie("/a", O_RDONLY);
  WriteAt(a, 0, "new");
  FailNextPageWrite("/a", EIO);
  EXPECT_ERRNO(fs_->Fsync(a), EIO);
  EXPECT_TRUE(fs_->Fsync(b).ok()) << "W5.1 would report it; the legacy flags do not";
  EXPECT_OK(fs_->Fsync(a));
}

// Rule W6 (before 4.13): with both flags set, EIO wins over ENOSPC, as
// filemap_check_errors, though ENOSPC came last (errseq would report it,
// W2); both are cleared by that one check.
TEST_F(WritebackW6Test, W6LegacyEioWinsOverEnospc) {
  UseWritebackModel(WritebackErrorModel::kLegacyFlags);
  MakeDurable("/a", Fill('a'));
  Fd fd = OpenOrDie("/a", O_RDONLY);
  FailWritebackUnseen("/a", "one", EIO);
  FailWritebackUnseen("/a", "two", ENOSPC);
  EXPECT_ERRNO(fs_->Fsync(fd), EIO);
  EXPECT_OK(fs_->Fsync(fd));
}

// Rule W6 (before 4.13): ENOSPC alone sets AS_ENOSPC and reports ENOSPC; EDQUOT
// sets AS_EIO and reports EIO.
TEST_F(WritebackW6Test, W6LegacyFlagsKeepOnlyEioAndEnospc) {
  UseWritebackModel(WritebackErrorModel::kLegacyFlags);
  MakeDurable("/a", Fill('a'));
  Fd fd = OpenOrDie("/a", O_RDONLY);
  FailWritebackUnseen("/a", "one", ENOSPC);
  EXPECT_ERRNO(fs_->Fsync(fd), ENOSPC);
  FailWritebackUnseen("/a", "two", EDQUOT);
  EXPECT_ERRNO(fs_->Fsync(fd), EIO);
  EXPECT_OK(fs_->Fsync(fd));
}

// Rule W6 (before 4.13): the flags live on the inode, so a description
// opened after the failure sees it if nobody checked first.
TEST_F(WritebackW6Test, W6LegacyLateOpenerSeesAnUncheckedError) {
  UseWritebackModel(WritebackErrorModel::kLegacyFlags);
  MakeDurable("/a", Fill('a'));
  FailWritebackUnseen("/a", "new", EIO);
  Fd late = OpenOrDie("/a", O_RDONLY);
  EXPECT_ERRNO(fs_->Fsync(late), EIO);
  Fd later = OpenOrDie("/a", O_RDONLY);
  EXPECT_OK(fs_->Fsync(later));
}

// Rule W6 (4.13-4.16): open samples the current word, seen or not, so a late
// opener never sees an earlier error; one opened before still does.
TEST_F(WritebackW6Test, W6NoLateReportLateOpenerNeverSeesAnEarlierError) {
  UseWritebackModel(WritebackErrorModel::kErrseqNoLateReport);
  MakeDurable("/a", Fill('a'));
  Fd before = OpenOrDie("/a", O_RDONLY);
  FailWritebackUnseen("/a", "new", EIO);
  Fd late = OpenOrDie("/a", O_RDONLY);
  EXPECT_TRUE(fs_->Fsync(late).ok()) << "W5.3 would report it";
  EXPECT_ERRNO(fs_->Fsync(before), EIO);
  EXPECT_OK(fs_->Fsync(before));
}

// Rule W6 (4.13-4.16): a late opener does see a failure that happens after
// it opened; errseq otherwise works as W4.
TEST_F(WritebackW6Test, W6NoLateReportOpenerSeesLaterErrors) {
  UseWritebackModel(WritebackErrorModel::kErrseqNoLateReport);
  MakeDurable("/a", Fill('a'));
  FailWritebackUnseen("/a", "one", EIO);
  Fd late = OpenOrDie("/a", O_RDWR);
  WriteAt(late, 0, "two");
  FailNextPageWrite("/a", ENOSPC);
  EXPECT_ERRNO(fs_->Fsync(late), ENOSPC);
  EXPECT_OK(fs_->Fsync(late));
}

// ---- O1-O3: synchronous writes that fail ----

class WritebackO1O3Test : public WritebackTest {};

// Rule O1: an O_DSYNC write whose sync fails returns the error, does not
// advance the offset, and leaves the bytes in the cache.
TEST_F(WritebackO1O3Test, ODsyncWriteFailureReturnsErrorAndKeepsOffset) {
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
TEST_F(WritebackO1O3Test, OSyncWriteFailureReturnsErrorAndKeepsOffset) {
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
TEST_F(WritebackO1O3Test, Pwrite2DsyncFailureReturnsErrorAndKeepsOffset) {
  MakeDurable("/a", "hello");
  Fd fd = OpenOrDie("/a", O_RDWR);
  ASSERT_OK(fs_->Lseek(fd, 5, SEEK_SET));
  FailNextPageWrite(EIO);
  EXPECT_ERRNO(fs_->Pwrite2(fd, "!", 1, -1, kRwfDsync), EIO);
  EXPECT_EQ(OffsetOf(fd), 5);
  EXPECT_EQ(PreadOrDie(fd, 64, 0), "hello!");
}

}  // namespace
}  // namespace vfs::testing
