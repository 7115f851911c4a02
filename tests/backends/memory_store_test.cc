// The memory store against the Store contract of vfs/store.h: the
// durability levels (submitted, completed, durable), completion in ticket
// order, crash, the allocation rule for new pages (D5), truncation by
// generation, and the counters.
#include "backends/memory/memory_store.h"

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace vfs {
namespace {

constexpr uint32_t kPageSize = 4096;
constexpr InodeId kFile{2};

PageRef Filled(char byte) {
  PageRef data = PageBuffer::Allocate(kPageSize);
  std::memset(data->data(), byte, kPageSize);
  return data;
}

InodeRecord Record(InodeId ino, uint64_t size, uint32_t mode = S_IFREG | 0644) {
  InodeRecord record;
  record.ino = ino;
  record.mode = mode;
  record.size = size;
  record.mtime = Timespec{100, 0};
  return record;
}

PutPage Page(uint64_t index, PageRef data, uint64_t generation = 0, InodeId ino = kFile) {
  return PutPage{ino, PageIndex(index), std::move(data), generation};
}

class MemoryStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { Open({}); }

  void Open(MemoryStoreOptions options) { store_ = NewMemoryStore(options); }

  Ticket Submit(std::vector<Request> requests) {
    auto ticket = store_->Submit(std::move(requests));
    EXPECT_TRUE(ticket.ok()) << strerror(ticket.error());
    return ticket.ok() ? *ticket : 0;
  }

  void SubmitAndWait(std::vector<Request> requests) {
    const Ticket ticket = Submit(std::move(requests));
    auto done = store_->Wait(ticket);
    EXPECT_TRUE(done.ok()) << strerror(done.error());
  }

  // Formats the store and gives it file kFile with a durable record.
  void Format() {
    SubmitAndWait({PutSuperblock{kPageSize}, PutInode{Record(kFile, 0)}});
  }

  // Load() then Release(): the durable image as a mount would see it.
  DurableImage Image() {
    auto image = store_->Load();
    EXPECT_TRUE(image.ok()) << strerror(image.error());
    store_->Release();
    return image.ok() ? *std::move(image) : DurableImage{};
  }

  // The pages of kFile in the image.
  absl::btree_map<PageIndex, PageRef> ImagePages() {
    DurableImage image = Image();
    auto it = image.pages.find(kFile);
    return it == image.pages.end() ? absl::btree_map<PageIndex, PageRef>{} : it->second;
  }

  PageRef Read(uint64_t index, InodeId ino = kFile) {
    auto page = store_->ReadPage(ino, PageIndex(index));
    EXPECT_TRUE(page.ok()) << strerror(page.error());
    return page.ok() ? *page : PageRef();
  }

  std::shared_ptr<Store> store_;
};

// ---- Submitted, completed ----

TEST_F(MemoryStoreTest, EmptyStoreLoadsAsUnformatted) {
  DurableImage image = Image();
  EXPECT_EQ(image.page_size, 0u);
  EXPECT_EQ(image.generation, 0u);
  EXPECT_TRUE(image.inodes.empty());
  EXPECT_TRUE(image.entries.empty());
  EXPECT_TRUE(image.pages.empty());
  EXPECT_FALSE(store_->has_volatile_cache());
}

TEST_F(MemoryStoreTest, SubmitDoesNotApplyUntilWait) {
  Format();
  PageRef data = Filled('a');
  const Ticket ticket = Submit({Page(0, data), PutInode{Record(kFile, kPageSize)}});
  EXPECT_FALSE(Read(0)) << "a submitted page is not readable before Wait";
  EXPECT_EQ(Image().inodes.at(kFile).size, 0u) << "a submitted record is not in the image";
  ASSERT_TRUE(store_->Wait(ticket).ok());
  EXPECT_EQ(Read(0).get(), data.get());
  EXPECT_EQ(Image().inodes.at(kFile).size, kPageSize);
}

TEST_F(MemoryStoreTest, TicketsAreIncreasing) {
  const Ticket a = Submit({PutSuperblock{kPageSize}});
  const Ticket b = Submit({});
  const Ticket c = Submit({PutInode{Record(kFile, 0)}});
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
}

TEST_F(MemoryStoreTest, WaitAppliesEveryTicketUpToItInOrder) {
  Format();
  PageRef a = Filled('a'), b = Filled('b'), c = Filled('c');
  Submit({Page(0, a)});
  const Ticket second = Submit({Page(0, b), Page(1, a)});
  const Ticket third = Submit({Page(0, c), Page(2, c)});
  ASSERT_TRUE(store_->Wait(second).ok());
  // Tickets 1 and 2 landed, in order: the later write to page 0 wins.
  EXPECT_EQ(Read(0).get(), b.get());
  EXPECT_EQ(Read(1).get(), a.get());
  // Ticket 3 did not.
  EXPECT_FALSE(Read(2));
  ASSERT_TRUE(store_->Wait(third).ok());
  EXPECT_EQ(Read(0).get(), c.get());
  EXPECT_EQ(Read(2).get(), c.get());
}

TEST_F(MemoryStoreTest, WaitOnAnEarlierTicketAgainDoesNotReapplyIt) {
  Format();
  PageRef a = Filled('a'), b = Filled('b');
  const Ticket first = Submit({Page(0, a)});
  const Ticket second = Submit({Page(0, b)});
  ASSERT_TRUE(store_->Wait(second).ok());
  EXPECT_TRUE(store_->Wait(first).ok());
  EXPECT_TRUE(store_->Wait(second).ok());
  EXPECT_EQ(Read(0).get(), b.get());
}

TEST_F(MemoryStoreTest, RequestsOfOneTicketApplyInOrder) {
  Format();
  PageRef a = Filled('a'), b = Filled('b');
  SubmitAndWait({Page(0, a), Page(0, b), PutDirent{kRootInode, "x", kFile},
                 DelDirent{kRootInode, "x"}, PutDirent{kRootInode, "y", kFile}});
  EXPECT_EQ(Read(0).get(), b.get());
  DurableImage image = Image();
  EXPECT_EQ(image.entries.at(kRootInode).count("x"), 0u);
  EXPECT_EQ(image.entries.at(kRootInode).at("y"), kFile);
}

// ---- Crash ----

TEST_F(MemoryStoreTest, CrashDropsInFlightRequests) {
  Format();
  PageRef a = Filled('a');
  Submit({Page(0, a), PutInode{Record(kFile, kPageSize)}, PutDirent{kRootInode, "f", kFile}});
  store_->Crash();
  EXPECT_FALSE(Read(0));
  DurableImage image = Image();
  EXPECT_EQ(image.inodes.at(kFile).size, 0u);
  EXPECT_TRUE(image.entries.empty());
  EXPECT_TRUE(image.pages[kFile].empty());
}

TEST_F(MemoryStoreTest, M3CrashKeepsCompletedRequestsWithoutVolatileCache) {
  Format();
  PageRef a = Filled('a');
  SubmitAndWait({Page(0, a), PutInode{Record(kFile, kPageSize)}});
  store_->Crash();
  EXPECT_EQ(Read(0).get(), a.get());
  DurableImage image = Image();
  EXPECT_EQ(image.page_size, kPageSize);
  EXPECT_EQ(image.inodes.at(kFile).size, kPageSize);
  EXPECT_EQ(image.pages.at(kFile).at(PageIndex(0)).get(), a.get());
}

TEST_F(MemoryStoreTest, WaitOnATicketDroppedByCrashAppliesNothing) {
  Format();
  const Ticket lost = Submit({Page(0, Filled('a'))});
  store_->Crash();
  EXPECT_TRUE(store_->Wait(lost).ok());
  EXPECT_FALSE(Read(0));
}

TEST_F(MemoryStoreTest, CrashReleasesTheClaim) {
  ASSERT_TRUE(store_->Load().ok());
  store_->Crash();
  EXPECT_TRUE(store_->Load().ok());
}

// ---- Volatile cache ----

TEST_F(MemoryStoreTest, M3VolatileCacheCompletedRequestsAreReadableButNotDurableBeforeFlush) {
  Open({.volatile_cache = true});
  EXPECT_TRUE(store_->has_volatile_cache());
  Format();
  PageRef a = Filled('a');
  SubmitAndWait({Page(0, a), PutInode{Record(kFile, kPageSize)}});
  // Completed: ReadPage sees it ...
  EXPECT_EQ(Read(0).get(), a.get());
  // ... but the durable image does not.
  DurableImage image = Image();
  EXPECT_EQ(image.page_size, 0u);
  EXPECT_TRUE(image.inodes.empty());
  EXPECT_TRUE(image.pages.empty());
}

TEST_F(MemoryStoreTest, M3VolatileCacheCrashBeforeFlushLosesCompletedRequests) {
  Open({.volatile_cache = true});
  Format();
  ASSERT_TRUE(store_->Flush().ok());
  PageRef a = Filled('a');
  SubmitAndWait({Page(0, a), PutInode{Record(kFile, kPageSize)}});
  ASSERT_EQ(Read(0).get(), a.get());
  store_->Crash();
  EXPECT_FALSE(Read(0));
  DurableImage image = Image();
  EXPECT_EQ(image.page_size, kPageSize);  // flushed before
  EXPECT_EQ(image.inodes.at(kFile).size, 0u);
  EXPECT_TRUE(image.pages[kFile].empty());
}

TEST_F(MemoryStoreTest, M3VolatileCacheFlushMakesCompletedRequestsDurable) {
  Open({.volatile_cache = true});
  Format();
  PageRef a = Filled('a');
  SubmitAndWait({Page(0, a), PutInode{Record(kFile, kPageSize)}});
  ASSERT_TRUE(store_->Flush().ok());
  store_->Crash();
  EXPECT_EQ(Read(0).get(), a.get());
  DurableImage image = Image();
  EXPECT_EQ(image.page_size, kPageSize);
  EXPECT_EQ(image.inodes.at(kFile).size, kPageSize);
  EXPECT_EQ(image.pages.at(kFile).at(PageIndex(0)).get(), a.get());
}

TEST_F(MemoryStoreTest, M3VolatileCacheFlushDoesNotMakeInFlightRequestsDurable) {
  Open({.volatile_cache = true});
  Format();
  const Ticket pending = Submit({Page(0, Filled('a')), PutInode{Record(kFile, kPageSize)}});
  ASSERT_TRUE(store_->Flush().ok());  // the format only
  store_->Crash();
  EXPECT_TRUE(store_->Wait(pending).ok());
  EXPECT_FALSE(Read(0));
  DurableImage image = Image();
  EXPECT_EQ(image.page_size, kPageSize);
  EXPECT_EQ(image.inodes.at(kFile).size, 0u);
}

TEST_F(MemoryStoreTest, M3VolatileCacheCrashKeepsWhatTheLastFlushCovered) {
  Open({.volatile_cache = true});
  Format();
  PageRef a = Filled('a'), b = Filled('b');
  SubmitAndWait({Page(0, a), PutInode{Record(kFile, kPageSize)}});
  ASSERT_TRUE(store_->Flush().ok());
  SubmitAndWait({Page(0, b)});  // an overwrite, completed, not flushed
  ASSERT_EQ(Read(0).get(), b.get());
  store_->Crash();
  EXPECT_EQ(Read(0).get(), a.get());
  EXPECT_EQ(ImagePages().at(PageIndex(0)).get(), a.get());
}

// ---- Allocation (rule D5): new pages need a later record ----

TEST_F(MemoryStoreTest, D5NewPageWithoutALaterRecordIsNotInTheImage) {
  Format();
  PageRef a = Filled('a');
  SubmitAndWait({Page(0, a)});
  // The store holds it (ReadPage), but no durable record maps it.
  EXPECT_EQ(Read(0).get(), a.get());
  EXPECT_TRUE(ImagePages().empty());
}

TEST_F(MemoryStoreTest, D5NewPageIsInTheImageOnceALaterRecordCompletes) {
  Format();
  PageRef a = Filled('a');
  SubmitAndWait({Page(0, a)});
  SubmitAndWait({PutInode{Record(kFile, kPageSize)}});
  auto pages = ImagePages();
  ASSERT_EQ(pages.size(), 1u);
  EXPECT_EQ(pages.at(PageIndex(0)).get(), a.get());
}

TEST_F(MemoryStoreTest, D5RecordBeforeTheNewPageDoesNotMapIt) {
  Format();
  SubmitAndWait({PutInode{Record(kFile, kPageSize)}, Page(0, Filled('a'))});
  EXPECT_TRUE(ImagePages().empty());
}

TEST_F(MemoryStoreTest, D5DataOnlyRecordAlsoMapsNewPages) {
  Format();
  PageRef a = Filled('a');
  SubmitAndWait({Page(0, a), PutInode{Record(kFile, kPageSize), /*data_only=*/true}});
  EXPECT_EQ(ImagePages().at(PageIndex(0)).get(), a.get());
}

TEST_F(MemoryStoreTest, D5RecordMapsOnlyItsOwnInodesPages) {
  Format();
  constexpr InodeId kOther{3};
  SubmitAndWait({PutInode{Record(kOther, 0)}});
  SubmitAndWait({Page(0, Filled('a')), Page(0, Filled('o'), 0, kOther),
                 PutInode{Record(kFile, kPageSize)}});
  DurableImage image = Image();
  EXPECT_EQ(image.pages.at(kFile).size(), 1u);
  EXPECT_TRUE(image.pages[kOther].empty());
}

TEST_F(MemoryStoreTest, D5OverwriteOfAMappedPageIsInTheImageWithoutANewRecord) {
  Format();
  PageRef a = Filled('a'), b = Filled('b');
  SubmitAndWait({Page(0, a), PutInode{Record(kFile, kPageSize)}});
  SubmitAndWait({Page(0, b)});
  EXPECT_EQ(ImagePages().at(PageIndex(0)).get(), b.get());
}

TEST_F(MemoryStoreTest, D5NewPageNextToAMappedOneWaitsForItsOwnRecord) {
  Format();
  PageRef a = Filled('a'), b = Filled('b');
  SubmitAndWait({Page(0, a), PutInode{Record(kFile, kPageSize)}});
  SubmitAndWait({Page(1, b)});
  // No Load in between: a Load forgets pages no record mapped (see below).
  SubmitAndWait({PutInode{Record(kFile, 2 * kPageSize)}});
  EXPECT_EQ(ImagePages().at(PageIndex(1)).get(), b.get());
}

TEST_F(MemoryStoreTest, D5LoadForgetsUnmappedPagesSoALaterRecordCannotResurrectThem) {
  Format();
  PageRef a = Filled('a'), b = Filled('b');
  SubmitAndWait({Page(0, a), PutInode{Record(kFile, kPageSize)}});
  SubmitAndWait({Page(1, b)});
  auto pages = ImagePages();  // a mount: page 1 is not part of the file
  EXPECT_EQ(pages.size(), 1u);
  EXPECT_EQ(pages.count(PageIndex(1)), 0u);
  SubmitAndWait({PutInode{Record(kFile, 2 * kPageSize)}});
  EXPECT_EQ(ImagePages().count(PageIndex(1)), 0u);
}

// ---- Records and entries ----

TEST_F(MemoryStoreTest, D2DataOnlyRecordTakesOnlyTheSizeOfAnExistingRecord) {
  Format();
  InodeRecord whole = Record(kFile, 10);
  whole.mode = S_IFREG | 0600;
  whole.mtime = Timespec{5, 0};
  SubmitAndWait({PutInode{whole}});
  InodeRecord later = Record(kFile, 20);
  later.mode = S_IFREG | 0777;
  later.mtime = Timespec{9, 0};
  SubmitAndWait({PutInode{later, /*data_only=*/true}});
  const InodeRecord got = Image().inodes.at(kFile);
  EXPECT_EQ(got.size, 20u);
  EXPECT_EQ(got.mode, S_IFREG | 0600u);
  EXPECT_EQ(got.mtime, (Timespec{5, 0}));
}

TEST_F(MemoryStoreTest, DataOnlyRecordOfANewInodeIsWrittenWhole) {
  SubmitAndWait({PutSuperblock{kPageSize}});
  InodeRecord record = Record(kFile, 7);
  record.mtime = Timespec{9, 0};
  SubmitAndWait({PutInode{record, /*data_only=*/true}});
  EXPECT_EQ(Image().inodes.at(kFile), record);
}

TEST_F(MemoryStoreTest, EntriesAreSetReplacedAndRemoved) {
  Format();
  SubmitAndWait({PutDirent{kRootInode, "a", kFile}, PutDirent{kRootInode, "b", kFile}});
  SubmitAndWait({PutDirent{kRootInode, "a", InodeId(3)}, DelDirent{kRootInode, "b"},
                 DelDirent{kRootInode, "never"}, DelDirent{InodeId(99), "x"}});
  DurableImage image = Image();
  ASSERT_EQ(image.entries.at(kRootInode).size(), 1u);
  EXPECT_EQ(image.entries.at(kRootInode).at("a"), InodeId(3));
}

// ---- Truncate ----

class MemoryStoreTruncateTest : public MemoryStoreTest {
 protected:
  // kFile with four mapped pages of generation 1: 'a', 'b', 'c', 'd'.
  void SetUp() override {
    MemoryStoreTest::SetUp();
    Format();
    for (int i = 0; i < 4; ++i) pages_.push_back(Filled(static_cast<char>('a' + i)));
    SubmitAndWait({Page(0, pages_[0], 1), Page(1, pages_[1], 1), Page(2, pages_[2], 1),
                   Page(3, pages_[3], 1), PutInode{Record(kFile, 4 * kPageSize)}});
  }
  std::vector<PageRef> pages_;
};

TEST_F(MemoryStoreTruncateTest, DropsOlderPagesBeyondTheSizeAndZeroesThePartialTail) {
  constexpr uint64_t kSize = kPageSize + 100;  // page 1 partial
  SubmitAndWait({Truncate{kFile, kSize, 2}, PutInode{Record(kFile, kSize)}});
  EXPECT_FALSE(Read(2));
  EXPECT_FALSE(Read(3));
  EXPECT_EQ(Read(0).get(), pages_[0].get()) << "a page before the size is untouched";
  PageRef tail = Read(1);
  ASSERT_TRUE(tail);
  EXPECT_EQ(std::string(tail->data(), 100), std::string(100, 'b'));
  EXPECT_TRUE(tail->ZeroFrom(100));
  auto image = ImagePages();
  EXPECT_EQ(image.size(), 2u);
  ASSERT_EQ(image.count(PageIndex(1)), 1u);
  EXPECT_TRUE(image.at(PageIndex(1))->ZeroFrom(100));
  EXPECT_EQ(Image().generation, 2u);
}

TEST_F(MemoryStoreTruncateTest, ZeroingTheTailDoesNotWriteTheSubmittedBuffer) {
  // The page cache still holds the buffer it submitted: it must not change.
  SubmitAndWait({Truncate{kFile, kPageSize + 100, 2}});
  for (uint32_t i = 0; i < kPageSize; ++i) ASSERT_EQ(pages_[1]->data()[i], 'b') << i;
  EXPECT_NE(Read(1).get(), pages_[1].get());
}

TEST_F(MemoryStoreTruncateTest, SizeOnAPageBoundaryKeepsTheLastPageWhole) {
  SubmitAndWait({Truncate{kFile, 2 * kPageSize, 2}});
  EXPECT_EQ(Read(1).get(), pages_[1].get());
  EXPECT_FALSE(Read(2));
  EXPECT_FALSE(Read(3));
}

TEST_F(MemoryStoreTruncateTest, TruncateToZeroDropsEveryOlderPage) {
  SubmitAndWait({Truncate{kFile, 0, 2}, PutInode{Record(kFile, 0)}});
  for (int i = 0; i < 4; ++i) EXPECT_FALSE(Read(i)) << i;
  EXPECT_TRUE(ImagePages().empty());
}

TEST_F(MemoryStoreTruncateTest, KeepsPagesWhoseGenerationIsAtLeastTheTruncations) {
  // Pages written after the truncation (generation 2 and 3) reached the store
  // before it.
  PageRef new2 = Filled('x'), new3 = Filled('y');
  SubmitAndWait({Page(2, new2, 2), Page(3, new3, 3)});
  SubmitAndWait({Truncate{kFile, kPageSize, 2}});
  EXPECT_EQ(Read(2).get(), new2.get());
  EXPECT_EQ(Read(3).get(), new3.get());
  EXPECT_FALSE(Read(1));
}

TEST_F(MemoryStoreTruncateTest, DoesNotZeroTheTailOfANewerPartialPage) {
  PageRef newer = Filled('n');
  SubmitAndWait({Page(1, newer, 2)});
  SubmitAndWait({Truncate{kFile, kPageSize + 100, 2}});
  EXPECT_EQ(Read(1).get(), newer.get());
  EXPECT_EQ(newer->data()[kPageSize - 1], 'n');
}

TEST_F(MemoryStoreTruncateTest, LeavesOtherInodesAlone) {
  constexpr InodeId kOther{3};
  PageRef other = Filled('o');
  SubmitAndWait({Page(3, other, 1, kOther), PutInode{Record(kOther, 4 * kPageSize)}});
  SubmitAndWait({Truncate{kFile, 0, 2}});
  EXPECT_EQ(Read(3, kOther).get(), other.get());
}

TEST_F(MemoryStoreTruncateTest, ImageGenerationIsTheLargestSeen) {
  SubmitAndWait({Page(0, Filled('z'), 7)});
  EXPECT_EQ(Image().generation, 7u);
  SubmitAndWait({Truncate{kFile, 4 * kPageSize, 9}});
  EXPECT_EQ(Image().generation, 9u);
  SubmitAndWait({Page(0, Filled('z'), 8)});
  EXPECT_EQ(Image().generation, 9u);
}

// ---- FreeInode ----

TEST_F(MemoryStoreTest, FreeInodeForgetsRecordPagesAndEntries) {
  Format();
  constexpr InodeId kDir{5};
  SubmitAndWait({PutInode{Record(kDir, 0, S_IFDIR | 0755)}, PutDirent{kDir, "f", kFile},
                 Page(0, Filled('a')), PutInode{Record(kFile, kPageSize)}});
  SubmitAndWait({FreeInode{kFile}, FreeInode{kDir}});
  EXPECT_FALSE(Read(0));
  DurableImage image = Image();
  EXPECT_EQ(image.inodes.count(kFile), 0u);
  EXPECT_EQ(image.inodes.count(kDir), 0u);
  EXPECT_EQ(image.entries.count(kDir), 0u);
  EXPECT_TRUE(image.pages[kFile].empty());
}

TEST_F(MemoryStoreTest, D5PageOfAFreedAndReusedInodeIsNewAgain) {
  Format();
  SubmitAndWait({Page(0, Filled('a')), PutInode{Record(kFile, kPageSize)}});
  SubmitAndWait({FreeInode{kFile}});
  SubmitAndWait({PutInode{Record(kFile, 0)}, Page(0, Filled('b'))});
  EXPECT_TRUE(ImagePages().empty()) << "the page must wait for a later record";
}

// ---- The claim ----

TEST_F(MemoryStoreTest, LoadTwiceWithoutReleaseIsEbusy) {
  ASSERT_TRUE(store_->Load().ok());
  auto second = store_->Load();
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error(), EBUSY);
  store_->Release();
  EXPECT_TRUE(store_->Load().ok());
}

// ---- Stats ----

TEST_F(MemoryStoreTest, StatsCountAKnownSequenceExactly) {
  Open({.volatile_cache = true});
  const StoreStats zero = store_->Stats();
  EXPECT_EQ(zero.submits, 0u);
  EXPECT_EQ(zero.requests, 0u);
  EXPECT_EQ(zero.page_writes, 0u);
  EXPECT_EQ(zero.bytes, 0u);
  EXPECT_EQ(zero.flushes, 0u);

  SubmitAndWait({PutSuperblock{kPageSize}, PutInode{Record(kFile, 0)}});     // 2 requests
  SubmitAndWait({Page(0, Filled('a')), Page(1, Filled('b')),
                 PutInode{Record(kFile, 2 * kPageSize)}});                   // 3, 2 pages
  ASSERT_TRUE(store_->Flush().ok());                                         // counts
  ASSERT_TRUE(store_->Flush().ok());                                         // nothing to flush
  const Ticket pending = Submit({Page(0, Filled('c')), PutDirent{kRootInode, "f", kFile}});
  ASSERT_TRUE(store_->Flush().ok());  // the page is only submitted: nothing to flush
  Submit({});                         // an empty submit is still a submit

  StoreStats stats = store_->Stats();
  EXPECT_EQ(stats.submits, 4u);
  EXPECT_EQ(stats.requests, 7u);
  EXPECT_EQ(stats.page_writes, 3u);
  EXPECT_EQ(stats.bytes, 3u * kPageSize);
  EXPECT_EQ(stats.flushes, 1u);

  ASSERT_TRUE(store_->Wait(pending).ok());
  ASSERT_TRUE(store_->Flush().ok());
  EXPECT_EQ(store_->Stats().flushes, 2u);
  EXPECT_EQ(store_->Stats().submits, 4u) << "Wait and Flush submit nothing";
}

TEST_F(MemoryStoreTest, StatsWithoutVolatileCacheCountNoFlushes) {
  SubmitAndWait({PutSuperblock{kPageSize}, Page(0, Filled('a'))});
  ASSERT_TRUE(store_->Flush().ok());
  StoreStats stats = store_->Stats();
  EXPECT_EQ(stats.submits, 1u);
  EXPECT_EQ(stats.requests, 2u);
  EXPECT_EQ(stats.page_writes, 1u);
  EXPECT_EQ(stats.bytes, kPageSize);
  EXPECT_EQ(stats.flushes, 0u);
}

TEST_F(MemoryStoreTest, StatsCountBytesOfThePageSizeCarried) {
  SubmitAndWait({PutSuperblock{kPageSize}});
  Submit({PutPage{kFile, PageIndex(0), PageBuffer::Allocate(512), 0},
          PutPage{kFile, PageIndex(1), PageRef(), 0}});
  EXPECT_EQ(store_->Stats().bytes, 512u);
  EXPECT_EQ(store_->Stats().page_writes, 2u);
}

// ---- Pages are shared, not copied ----

TEST_F(MemoryStoreTest, StoreSharesTheSubmittedBufferWithoutCopying) {
  Format();
  PageRef a = Filled('a');
  PageBuffer* raw = a.get();
  SubmitAndWait({Page(0, a), PutInode{Record(kFile, kPageSize)}});
  EXPECT_FALSE(a->unique()) << "the store holds a reference to the same buffer";
  EXPECT_EQ(Read(0).get(), raw);
  EXPECT_EQ(ImagePages().at(PageIndex(0)).get(), raw);
}

TEST_F(MemoryStoreTest, VolatileCacheSharesTheSubmittedBufferInTheDurableImage) {
  Open({.volatile_cache = true});
  Format();
  PageRef a = Filled('a');
  SubmitAndWait({Page(0, a), PutInode{Record(kFile, kPageSize)}});
  ASSERT_TRUE(store_->Flush().ok());
  EXPECT_EQ(ImagePages().at(PageIndex(0)).get(), a.get());
}

TEST_F(MemoryStoreTest, StoreDropsItsReferenceWhenThePageIsOverwritten) {
  Format();
  PageRef a = Filled('a');
  SubmitAndWait({Page(0, a), PutInode{Record(kFile, kPageSize)}});
  SubmitAndWait({Page(0, Filled('b'))});
  EXPECT_TRUE(a->unique());
}

}  // namespace
}  // namespace vfs
