// The writeback error rules W1-W6 of docs/semantics.md section 4, end to end:
// a filesystem on a memory store wrapped in the fault store, a page write of
// one file failed at completion by a fault rule, and what fsync, syncfs,
// close, open and a crash show afterwards. One or more tests per rule; the
// test name starts with the rule and the comment above it cites sub-rules.
#include <cerrno>
#include <memory>
#include <string>

#include "backends/fault/fault_store.h"
#include "tests/test_util.h"

// Rules are written with designated initializers that leave the other fields
// at their defaults, as the header intends; GCC 12 warns about that anyway.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace vfs::testing {
namespace {

// A filesystem on a memory store wrapped in a fault store.
class WritebackRulesTest : public VfsTest {
 protected:
  void SetUp() override {
    options_.clock = TickingClock();
    faults_ = NewFaultStore(NewMemoryStore(store_options_), {});
    store_ = faults_;
    Remount();
    ASSERT_EQ(fs_->page_size(), kPage);
  }

  InodeId InoOf(const std::string& path) {
    auto st = fs_->Stat(path);
    EXPECT_TRUE(st.ok()) << path << ": " << strerror(st.error());
    return st.ok() ? st->ino : InodeId(0);
  }

  // The next page write of `path` completes with `err`.
  void FailNextPageWrite(const std::string& path, int err) {
    faults_->AddRule({.error = err,
                      .stage = FaultStage::kCompletion,
                      .kinds = kKindPage,
                      .ino = InoOf(path)});
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

  std::string PreadOrDie(Fd fd, size_t count, int64_t offset) {
    std::string buf(count, '\0');
    auto n = fs_->Pread(fd, buf.data(), count, offset);
    EXPECT_TRUE(n.ok()) << strerror(n.error());
    buf.resize(n.ok() ? *n : 0);
    return buf;
  }

  PageState StateAt(Fd fd, uint64_t index) {
    auto state = fs_->PageStateAt(fd, PageIndex(index));
    EXPECT_TRUE(state.ok()) << strerror(state.error());
    return state.ok() ? *state : PageState::kHole;
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

class DropFailedPagesTest : public WritebackRulesTest {
 protected:
  void SetUp() override {
    options_.drop_failed_pages = true;
    WritebackRulesTest::SetUp();
  }
};

class LegacyFlagsTest : public WritebackRulesTest {
 protected:
  void SetUp() override {
    options_.writeback_errors = WritebackErrorModel::kLegacyFlags;
    WritebackRulesTest::SetUp();
  }
};

class ErrseqNoLateReportTest : public WritebackRulesTest {
 protected:
  void SetUp() override {
    options_.writeback_errors = WritebackErrorModel::kErrseqNoLateReport;
    WritebackRulesTest::SetUp();
  }
};

// ---- W1: a failed page write ----

// Rule W1: the page stays clean after the failure and is never retried:
// neither the next fsync nor sync(2) writes it again.
TEST_F(WritebackRulesTest, W1FailedPageStaysCleanAndIsNotRetried) {
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

// Rule W1 [VFS choice]: by default the cache keeps the new bytes of the
// failed page, so a read returns data the store does not hold.
TEST_F(WritebackRulesTest, W1FailedPageKeepsTheNewBytesInTheCache) {
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
TEST_F(DropFailedPagesTest, W1DroppedFailedPageReadsTheStoresOldBytes) {
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
TEST_F(DropFailedPagesTest, W1DroppedNewPageReadsAsAHole) {
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
TEST_F(DropFailedPagesTest, W1DroppedPageRefusedAtSubmitReadsTheStoresOldBytes) {
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
TEST_F(DropFailedPagesTest, W1DroppedBatchReadsBackWhatTheStoreHolds) {
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
TEST_F(WritebackRulesTest, W1ErrorIsRecordedOnTheFilesystemForSyncfs) {
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

// Rule W1: the failed write is lost; after a crash the store's old bytes are
// the file.
TEST_F(WritebackRulesTest, W1FailedPageIsLostAfterCrash) {
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

// Rule W2: the latest error overwrites an unseen earlier one: EIO, then
// ENOSPC with no check in between, reports ENOSPC, once.
TEST_F(WritebackRulesTest, W2LaterErrorOverwritesAnUnseenEarlierOne) {
  MakeDurable("/a", Fill('a'));
  Fd fd = OpenOrDie("/a", O_RDONLY);
  FailWritebackUnseen("/a", "one", EIO);
  FailWritebackUnseen("/a", "two", ENOSPC);
  EXPECT_ERRNO(fs_->Fsync(fd), ENOSPC);
  EXPECT_OK(fs_->Fsync(fd));
}

// Rule W2: a repeat of an unseen error is one error: each description
// reports it once.
TEST_F(WritebackRulesTest, W2UnseenRepeatIsReportedOnce) {
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
TEST_F(ErrseqNoLateReportTest, W2UnseenRepeatMergesWithTheFirstError) {
  MakeDurable("/a", Fill('a'));
  FailWritebackUnseen("/a", "one", EIO);
  Fd between = OpenOrDie("/a", O_RDONLY);
  FailWritebackUnseen("/a", "two", EIO);
  EXPECT_TRUE(fs_->Fsync(between).ok()) << "the repeat changed the word";
}

// Rule W2.1: a different errno does change the unseen word, so the same
// description does see it (the contrast to the merge above).
TEST_F(ErrseqNoLateReportTest, W2UnseenDifferentErrnoChangesTheWord) {
  MakeDurable("/a", Fill('a'));
  FailWritebackUnseen("/a", "one", EIO);
  Fd between = OpenOrDie("/a", O_RDONLY);
  FailWritebackUnseen("/a", "two", ENOSPC);
  EXPECT_ERRNO(fs_->Fsync(between), ENOSPC);
  EXPECT_OK(fs_->Fsync(between));
}

// ---- W3: open samples the word ----

// Rule W3: a description opened after the failure, while nobody has seen it,
// starts at 0 and reports it on its first fsync; once seen, later openers
// start at the word and get 0.
TEST_F(WritebackRulesTest, W3OpenerAfterAnUnseenFailureReportsIt) {
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
TEST_F(WritebackRulesTest, W3SampleIsTakenAtOpen) {
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

// Rule W4: each description reports an error once, whichever durability call
// checks; a dup shares its description's cursor.
TEST_F(WritebackRulesTest, W4EachDescriptionChecksAndAdvancesOnce) {
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
TEST_F(WritebackRulesTest, W4CursorBehindReportsOnlyTheLatestError) {
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
TEST_F(WritebackRulesTest, W4ErrorAfterACleanCheckIsReported) {
  MakeDurable("/a", Fill('a'));
  Fd a = OpenOrDie("/a", O_RDWR);
  EXPECT_OK(fs_->Fsync(a));
  WriteAt(a, 0, "new");
  FailNextPageWrite("/a", EDQUOT);
  EXPECT_ERRNO(fs_->Fsync(a), EDQUOT);
  EXPECT_OK(fs_->Fsync(a));
}

// ---- W5: required behaviour ----

// Rule W5.1: descriptions A and B open; a write-back fails. The first fsync
// through each returns EIO, every second one 0, and the data is lost.
TEST_F(WritebackRulesTest, W5EachOpenDescriptionSeesTheErrorOnceAndTheDataIsLost) {
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

// Rule W5.2: a dup of A shares A's cursor: a report through either counts
// for both.
TEST_F(WritebackRulesTest, W5DupSharesTheCursor) {
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

// Rule W5.3: a description opened after the failure reports it on its first
// sync while nobody has seen it; once SEEN is set, later openers get 0.
TEST_F(WritebackRulesTest, W5LateOpenerReportsOnlyWhileUnseen) {
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

// Rule W5.4: a successful retry does not mean the lost data was written:
// fsync returns EIO, the next fsync returns 0, and a crash shows the old
// data. No durable page write ever carried the new bytes.
TEST_F(WritebackRulesTest, W5SuccessfulRetryDoesNotMeanTheDataWasWritten) {
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
TEST_F(WritebackRulesTest, W5CloseDoesNotReportAWritebackError) {
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
TEST_F(WritebackRulesTest, W5CloseStartsNoWriteback) {
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
TEST_F(WritebackRulesTest, W5ErrorIsKeptWhileNoDescriptorIsOpen) {
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
TEST_F(WritebackRulesTest, W5ErrorIsKeptWhenSyncFailsItWithNoDescriptorOpen) {
  MakeDurable("/a", Fill('a'));
  FailWritebackUnseen("/a", "new", EIO);  // open, write, close, then sync(2)
  Fd again = OpenOrDie("/a", O_RDONLY);
  EXPECT_ERRNO(fs_->Fsync(again), EIO);
  EXPECT_OK(fs_->Fsync(again));
}

// ---- W6: older Linux models ----

// Rule W6 (before 4.13, AS_EIO/AS_ENOSPC): the first description to check
// clears the flag; a second description misses the error entirely.
TEST_F(LegacyFlagsTest, W6LegacyFirstCheckerClearsTheError) {
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
TEST_F(LegacyFlagsTest, W6LegacyEioWinsOverEnospc) {
  MakeDurable("/a", Fill('a'));
  Fd fd = OpenOrDie("/a", O_RDONLY);
  FailWritebackUnseen("/a", "one", EIO);
  FailWritebackUnseen("/a", "two", ENOSPC);
  EXPECT_ERRNO(fs_->Fsync(fd), EIO);
  EXPECT_OK(fs_->Fsync(fd));
}

// Rule W6 (before 4.13): ENOSPC alone sets AS_ENOSPC and reports ENOSPC; EDQUOT
// sets AS_EIO and reports EIO.
TEST_F(LegacyFlagsTest, W6LegacyFlagsKeepOnlyEioAndEnospc) {
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
TEST_F(LegacyFlagsTest, W6LegacyLateOpenerSeesAnUncheckedError) {
  MakeDurable("/a", Fill('a'));
  FailWritebackUnseen("/a", "new", EIO);
  Fd late = OpenOrDie("/a", O_RDONLY);
  EXPECT_ERRNO(fs_->Fsync(late), EIO);
  Fd later = OpenOrDie("/a", O_RDONLY);
  EXPECT_OK(fs_->Fsync(later));
}

// Rule W6 (4.13-4.16): open samples the current word, seen or not, so a late
// opener never sees an earlier error; one opened before still does.
TEST_F(ErrseqNoLateReportTest, W6NoLateReportLateOpenerNeverSeesAnEarlierError) {
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
TEST_F(ErrseqNoLateReportTest, W6NoLateReportOpenerSeesLaterErrors) {
  MakeDurable("/a", Fill('a'));
  FailWritebackUnseen("/a", "one", EIO);
  Fd late = OpenOrDie("/a", O_RDWR);
  WriteAt(late, 0, "two");
  FailNextPageWrite("/a", ENOSPC);
  EXPECT_ERRNO(fs_->Fsync(late), ENOSPC);
  EXPECT_OK(fs_->Fsync(late));
}

// ---- Directory entries (D3) ----

// Rule D3: a directory fsync whose entry write fails returns the error, and
// the entry is not durable: a crash loses the name.
TEST_F(WritebackRulesTest, D3FailedEntryWriteFailsDirectoryFsyncAndIsNotDurable) {
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
TEST_F(WritebackRulesTest, D3FailedEntryWriteStaysPendingUntilTheNextFsync) {
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

}  // namespace
}  // namespace vfs::testing
