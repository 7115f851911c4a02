// PageCache on its own: page states of rule M1, copy on write of shared
// buffers, the ordered dirty set, on-store pages, truncation and the
// writeback batches a ranged wait looks up.
#include "vfs/page_cache.h"

#include <atomic>
#include <cstdint>
#include <cstring>
#include <optional>
#include <vector>

#include "gtest/gtest.h"

namespace vfs {
namespace {

constexpr uint32_t kPageSize = 4096;

PageRef Filled(char byte) {
  PageRef data = PageBuffer::Allocate(kPageSize);
  std::memset(data->data(), byte, kPageSize);
  return data;
}

std::vector<uint64_t> DirtyIndexes(PageCache& cache, uint64_t first, uint64_t last) {
  std::vector<uint64_t> out;
  cache.ForEachDirty(PageIndex(first), PageIndex(last),
                     [&](CachedPage* page) { out.push_back(page->index().value()); });
  return out;
}

// Caches a fresh page at `index` and dirties it.
CachedPage* InsertDirty(PageCache& cache, uint64_t index) {
  CachedPage* page = cache.Insert(PageIndex(index), PageBuffer::Allocate(kPageSize), /*stored=*/false);
  cache.BeginWrite(page)[0] = 'x';
  return page;
}

// ---- Insert and Find ----

TEST(PageCacheTest, FindReturnsNullForAnUncachedIndex) {
  PageCache cache(kPageSize);
  EXPECT_EQ(cache.Find(PageIndex(0)), nullptr);
  EXPECT_EQ(cache.cached_pages(), 0u);
  EXPECT_EQ(cache.page_size(), kPageSize);
}

TEST(PageCacheTest, InsertedPageIsFoundCleanWithItsBuffer) {
  PageCache cache(kPageSize);
  PageRef data = Filled('a');
  PageBuffer* raw = data.get();
  CachedPage* page = cache.Insert(PageIndex(7), std::move(data), /*stored=*/false);
  ASSERT_NE(page, nullptr);
  EXPECT_EQ(cache.Find(PageIndex(7)), page);
  EXPECT_EQ(page->index(), PageIndex(7));
  EXPECT_EQ(page->data(), raw);
  EXPECT_FALSE(page->dirty());
  EXPECT_FALSE(page->in_writeback());
  EXPECT_EQ(cache.StateOf(PageIndex(7)), PageState::kClean);
  EXPECT_EQ(cache.Find(PageIndex(6)), nullptr);
  EXPECT_EQ(cache.Find(PageIndex(8)), nullptr);
  EXPECT_EQ(cache.cached_pages(), 1u);
  EXPECT_EQ(cache.allocated_pages(), 1u);
  EXPECT_EQ(cache.dirty_pages(), 0u);
  EXPECT_FALSE(cache.HasDirty());
}

TEST(PageCacheTest, InsertForgetsTheOnStoreMark) {
  PageCache cache(kPageSize);
  cache.MarkOnStore(PageIndex(3));
  ASSERT_TRUE(cache.OnStore(PageIndex(3)));
  cache.Insert(PageIndex(3), Filled('a'), /*stored=*/false);
  EXPECT_FALSE(cache.OnStore(PageIndex(3)));
  EXPECT_EQ(cache.StateOf(PageIndex(3)), PageState::kClean);
  EXPECT_EQ(cache.allocated_pages(), 1u);
}

// ---- BeginWrite: M1 dirty, copy on write ----

TEST(PageCacheTest, M1BeginWriteMarksThePageDirty) {
  PageCache cache(kPageSize);
  CachedPage* page = cache.Insert(PageIndex(2), Filled('a'), /*stored=*/false);
  cache.BeginWrite(page);
  EXPECT_TRUE(page->dirty());
  EXPECT_EQ(cache.StateOf(PageIndex(2)), PageState::kDirty);
  EXPECT_TRUE(cache.HasDirty());
  EXPECT_EQ(cache.dirty_pages(), 1u);
}

TEST(PageCacheTest, BeginWriteWritesInPlaceWhenTheBufferIsUnique) {
  PageCache cache(kPageSize);
  CachedPage* page = cache.Insert(PageIndex(0), Filled('a'), /*stored=*/false);
  const PageBuffer* before = page->data();
  ASSERT_TRUE(page->data()->unique());
  char* bytes = cache.BeginWrite(page);
  EXPECT_EQ(page->data(), before);
  EXPECT_EQ(bytes, before->data());
  bytes[0] = 'b';
  EXPECT_EQ(page->data()->data()[0], 'b');
}

TEST(PageCacheTest, BeginWriteCopiesASharedBufferAndLeavesTheHolderUnchanged) {
  PageCache cache(kPageSize);
  CachedPage* page = cache.Insert(PageIndex(0), Filled('a'), /*stored=*/false);
  PageRef held = cache.Share(page);  // as the store holds a committed page
  ASSERT_FALSE(page->data()->unique());
  char* bytes = cache.BeginWrite(page);
  std::memset(bytes, 'b', 10);
  EXPECT_NE(page->data(), held.get());
  EXPECT_EQ(bytes, page->data()->data());
  // The holder's bytes are what they were.
  for (uint32_t i = 0; i < kPageSize; ++i) ASSERT_EQ(held->data()[i], 'a') << i;
  // The page has the old bytes with the new write on top.
  EXPECT_EQ(std::string(page->data()->data(), 12), std::string(10, 'b') + "aa");
  EXPECT_EQ(page->data()->data()[kPageSize - 1], 'a');
  // The copy is now private to the cache: the next write is in place.
  EXPECT_TRUE(page->data()->unique());
  const PageBuffer* copy = page->data();
  cache.BeginWrite(page);
  EXPECT_EQ(page->data(), copy);
}

TEST(PageCacheTest, BeginWriteCopiesABufferInsertedWhileSomeoneElseHoldsIt) {
  // A page loaded from a store that keeps its own reference (the memory
  // store's image) is shared from the start, with no Share call.
  PageCache cache(kPageSize);
  PageRef store_copy = Filled('s');
  CachedPage* page = cache.Insert(PageIndex(2), store_copy, /*stored=*/true);
  cache.BeginWrite(page)[0] = 'w';
  EXPECT_NE(page->data(), store_copy.get());
  EXPECT_EQ(store_copy->data()[0], 's');
  EXPECT_EQ(page->data()->data()[0], 'w');
  EXPECT_EQ(page->data()->data()[1], 's');
}

TEST(PageCacheTest, BeginWriteAfterTheHolderLetGoWritesInPlace) {
  PageCache cache(kPageSize);
  CachedPage* page = cache.Insert(PageIndex(0), Filled('a'), /*stored=*/false);
  const PageBuffer* before = page->data();
  {
    PageRef held = cache.Share(page);  // a request the store has finished with
  }
  cache.BeginWrite(page)[0] = 'b';
  EXPECT_EQ(page->data(), before);
  EXPECT_EQ(page->data()->data()[0], 'b');
}

TEST(PageCacheTest, EachShareIsCopiedOnTheNextWrite) {
  // Commit, write, commit, write: each write after a commit whose reference
  // is still held must leave that commit's bytes alone.
  PageCache cache(kPageSize);
  CachedPage* page = cache.Insert(PageIndex(0), Filled('0'), /*stored=*/false);
  std::vector<PageRef> commits;
  for (char c = '1'; c <= '3'; ++c) {
    commits.push_back(cache.Share(page));
    cache.BeginWrite(page)[0] = c;
  }
  ASSERT_EQ(commits.size(), 3u);
  EXPECT_EQ(commits[0]->data()[0], '0');
  EXPECT_EQ(commits[1]->data()[0], '1');
  EXPECT_EQ(commits[2]->data()[0], '2');
  EXPECT_EQ(page->data()->data()[0], '3');
}

TEST(PageCacheTest, BeginWriteOfADirtyPageDoesNotCountItTwice) {
  PageCache cache(kPageSize);
  CachedPage* page = cache.Insert(PageIndex(4), Filled('a'), /*stored=*/false);
  cache.BeginWrite(page);
  cache.BeginWrite(page);
  EXPECT_EQ(cache.dirty_pages(), 1u);
  EXPECT_EQ(DirtyIndexes(cache, 0, 100), std::vector<uint64_t>({4}));
}

TEST(PageCacheTest, BeginWriteOfASharedDirtyPageKeepsItDirtyOnce) {
  PageCache cache(kPageSize);
  CachedPage* page = InsertDirty(cache, 4);
  PageRef held = cache.Share(page);
  cache.BeginWrite(page)[0] = 'y';
  EXPECT_EQ(held->data()[0], 'x');
  EXPECT_EQ(cache.dirty_pages(), 1u);
  EXPECT_EQ(DirtyIndexes(cache, 0, 100), std::vector<uint64_t>({4}));
}

// ---- The ordered dirty set ----

TEST(PageCacheTest, ForEachDirtyVisitsOnlyDirtyPagesInRangeInIndexOrder) {
  PageCache cache(kPageSize);
  // Dirtied out of order, with clean pages between.
  for (uint64_t index : {50, 3, 20, 9, 10, 11, 100}) InsertDirty(cache, index);
  for (uint64_t index : {4, 12, 30}) cache.Insert(PageIndex(index), Filled('c'), /*stored=*/false);
  cache.MarkOnStore(PageIndex(15));
  EXPECT_EQ(DirtyIndexes(cache, 0, 1000), std::vector<uint64_t>({3, 9, 10, 11, 20, 50, 100}));
  EXPECT_EQ(DirtyIndexes(cache, 4, 20), std::vector<uint64_t>({9, 10, 11, 20}));
  EXPECT_EQ(DirtyIndexes(cache, 10, 10), std::vector<uint64_t>({10}));
  EXPECT_EQ(DirtyIndexes(cache, 12, 19), std::vector<uint64_t>());
  EXPECT_EQ(DirtyIndexes(cache, 101, 1000), std::vector<uint64_t>());
  EXPECT_EQ(DirtyIndexes(cache, 3, 3), std::vector<uint64_t>({3}));
  EXPECT_EQ(DirtyIndexes(cache, 100, UINT64_MAX), std::vector<uint64_t>({100}));
}

TEST(PageCacheTest, HasDirtyInAgreesWithTheRangeBounds) {
  PageCache cache(kPageSize);
  InsertDirty(cache, 10);
  InsertDirty(cache, 20);
  cache.Insert(PageIndex(15), Filled('c'), /*stored=*/false);
  EXPECT_TRUE(cache.HasDirtyIn(PageIndex(10), PageIndex(10)));
  EXPECT_TRUE(cache.HasDirtyIn(PageIndex(0), PageIndex(10)));
  EXPECT_TRUE(cache.HasDirtyIn(PageIndex(20), PageIndex(1000)));
  EXPECT_FALSE(cache.HasDirtyIn(PageIndex(11), PageIndex(19)));
  EXPECT_FALSE(cache.HasDirtyIn(PageIndex(0), PageIndex(9)));
  EXPECT_FALSE(cache.HasDirtyIn(PageIndex(21), PageIndex(1000)));
}

TEST(PageCacheTest, ForEachDirtyAllowsClearingTheVisitedPage) {
  PageCache cache(kPageSize);
  for (uint64_t index : {1, 2, 3, 4}) InsertDirty(cache, index);
  std::vector<uint64_t> visited;
  cache.ForEachDirty(PageIndex(0), PageIndex(10), [&](CachedPage* page) {
    visited.push_back(page->index().value());
    cache.ClearDirty(page);
  });
  EXPECT_EQ(visited, std::vector<uint64_t>({1, 2, 3, 4}));
  EXPECT_FALSE(cache.HasDirty());
}

TEST(PageCacheTest, ClearDirtyMakesThePageCleanAndLeavesTheSet) {
  PageCache cache(kPageSize);
  CachedPage* a = InsertDirty(cache, 1);
  InsertDirty(cache, 2);
  cache.ClearDirty(a);
  EXPECT_FALSE(a->dirty());
  EXPECT_EQ(cache.StateOf(PageIndex(1)), PageState::kClean);
  EXPECT_EQ(cache.dirty_pages(), 1u);
  EXPECT_EQ(DirtyIndexes(cache, 0, 10), std::vector<uint64_t>({2}));
  EXPECT_FALSE(cache.HasDirtyIn(PageIndex(1), PageIndex(1)));
}

TEST(PageCacheTest, ClearDirtyOfACleanPageChangesNothing) {
  PageCache cache(kPageSize);
  CachedPage* a = cache.Insert(PageIndex(1), Filled('a'), /*stored=*/false);
  InsertDirty(cache, 2);
  cache.ClearDirty(a);
  EXPECT_EQ(cache.dirty_pages(), 1u);
  EXPECT_EQ(DirtyIndexes(cache, 0, 10), std::vector<uint64_t>({2}));
}

TEST(PageCacheTest, M1PageDirtiedAgainAfterClearRejoinsTheSet) {
  PageCache cache(kPageSize);
  CachedPage* page = InsertDirty(cache, 5);
  cache.ClearDirty(page);
  cache.BeginWrite(page);
  EXPECT_EQ(cache.StateOf(PageIndex(5)), PageState::kDirty);
  EXPECT_EQ(DirtyIndexes(cache, 0, 10), std::vector<uint64_t>({5}));
}

// ---- Evict and on-store pages ----

TEST(PageCacheTest, EvictDropsTheCachedPageAndMarksItOnStore) {
  PageCache cache(kPageSize);
  CachedPage* page = cache.Insert(PageIndex(8), Filled('a'), /*stored=*/false);
  cache.Evict(page);
  EXPECT_EQ(cache.Find(PageIndex(8)), nullptr);
  EXPECT_TRUE(cache.OnStore(PageIndex(8)));
  EXPECT_TRUE(cache.Allocated(PageIndex(8)));
  EXPECT_EQ(cache.StateOf(PageIndex(8)), PageState::kOnStore);
  EXPECT_EQ(cache.cached_pages(), 0u);
  EXPECT_EQ(cache.allocated_pages(), 1u);
}

TEST(PageCacheTest, EvictReleasesTheCacheReferenceToTheBuffer) {
  PageCache cache(kPageSize);
  PageRef held = Filled('a');
  CachedPage* page = cache.Insert(PageIndex(8), held, /*stored=*/false);
  ASSERT_FALSE(held->unique());
  cache.Evict(page);
  EXPECT_TRUE(held->unique());
}

TEST(PageCacheTest, AllocatedIsTrueForCachedAndOnStorePagesOnly) {
  PageCache cache(kPageSize);
  cache.Insert(PageIndex(1), Filled('a'), /*stored=*/false);
  cache.MarkOnStore(PageIndex(2));
  EXPECT_TRUE(cache.Allocated(PageIndex(1)));
  EXPECT_TRUE(cache.Allocated(PageIndex(2)));
  EXPECT_FALSE(cache.Allocated(PageIndex(0)));
  EXPECT_FALSE(cache.Allocated(PageIndex(3)));
  EXPECT_FALSE(cache.OnStore(PageIndex(1)));
}

// ---- DropFrom: truncation ----

TEST(PageCacheTest, DropFromDropsCachedDirtyAndOnStorePagesAtAndAfterTheIndex) {
  PageCache cache(kPageSize);
  for (uint64_t index : {0, 4, 5}) cache.Insert(PageIndex(index), Filled('c'), /*stored=*/false);
  for (uint64_t index : {2, 6, 9}) InsertDirty(cache, index);
  for (uint64_t index : {3, 5 + 100, 7}) cache.MarkOnStore(PageIndex(index));
  cache.DropFrom(PageIndex(5));
  // Kept: below 5.
  EXPECT_EQ(cache.StateOf(PageIndex(0)), PageState::kClean);
  EXPECT_EQ(cache.StateOf(PageIndex(2)), PageState::kDirty);
  EXPECT_EQ(cache.StateOf(PageIndex(3)), PageState::kOnStore);
  EXPECT_EQ(cache.StateOf(PageIndex(4)), PageState::kClean);
  // Dropped: 5 and after, of every kind.
  for (uint64_t index : {5, 6, 7, 9, 105}) {
    EXPECT_EQ(cache.StateOf(PageIndex(index)), PageState::kHole) << index;
    EXPECT_EQ(cache.Find(PageIndex(index)), nullptr) << index;
  }
  EXPECT_EQ(cache.cached_pages(), 3u);
  EXPECT_EQ(cache.allocated_pages(), 4u);
  EXPECT_EQ(cache.dirty_pages(), 1u);
  EXPECT_EQ(DirtyIndexes(cache, 0, 1000), std::vector<uint64_t>({2}));
  EXPECT_FALSE(cache.NextAllocated(PageIndex(5)).has_value());
}

TEST(PageCacheTest, DropFromZeroEmptiesTheCache) {
  PageCache cache(kPageSize);
  cache.Insert(PageIndex(0), Filled('c'), /*stored=*/false);
  InsertDirty(cache, 1);
  cache.MarkOnStore(PageIndex(2));
  cache.DropFrom(PageIndex(0));
  EXPECT_EQ(cache.allocated_pages(), 0u);
  EXPECT_FALSE(cache.HasDirty());
  EXPECT_FALSE(cache.NextAllocated(PageIndex(0)).has_value());
}

TEST(PageCacheTest, PageInsertedAfterDropFromStartsClean) {
  PageCache cache(kPageSize);
  InsertDirty(cache, 3);
  cache.DropFrom(PageIndex(0));
  CachedPage* page = cache.Insert(PageIndex(3), Filled('n'), /*stored=*/false);
  EXPECT_FALSE(page->dirty());
  EXPECT_EQ(cache.dirty_pages(), 0u);
}

// ---- NextAllocated / NextHole: SEEK_DATA / SEEK_HOLE ----

TEST(PageCacheTest, NextAllocatedFindsTheFirstCachedOrOnStorePageAtOrAfter) {
  PageCache cache(kPageSize);
  EXPECT_FALSE(cache.NextAllocated(PageIndex(0)).has_value());
  cache.Insert(PageIndex(10), Filled('a'), /*stored=*/false);
  cache.MarkOnStore(PageIndex(5));
  cache.MarkOnStore(PageIndex(20));
  EXPECT_EQ(cache.NextAllocated(PageIndex(0)), PageIndex(5));
  EXPECT_EQ(cache.NextAllocated(PageIndex(5)), PageIndex(5));
  EXPECT_EQ(cache.NextAllocated(PageIndex(6)), PageIndex(10));
  EXPECT_EQ(cache.NextAllocated(PageIndex(10)), PageIndex(10));
  EXPECT_EQ(cache.NextAllocated(PageIndex(11)), PageIndex(20));
  EXPECT_FALSE(cache.NextAllocated(PageIndex(21)).has_value());
}

TEST(PageCacheTest, NextHoleSkipsRunsOfCachedAndOnStorePages) {
  PageCache cache(kPageSize);
  EXPECT_EQ(cache.NextHole(PageIndex(0)), PageIndex(0));
  cache.Insert(PageIndex(0), Filled('a'), /*stored=*/false);
  cache.MarkOnStore(PageIndex(1));
  InsertDirty(cache, 2);
  cache.Insert(PageIndex(5), Filled('a'), /*stored=*/false);
  EXPECT_EQ(cache.NextHole(PageIndex(0)), PageIndex(3));
  EXPECT_EQ(cache.NextHole(PageIndex(2)), PageIndex(3));
  EXPECT_EQ(cache.NextHole(PageIndex(3)), PageIndex(3));
  EXPECT_EQ(cache.NextHole(PageIndex(4)), PageIndex(4));
  EXPECT_EQ(cache.NextHole(PageIndex(5)), PageIndex(6));
}

TEST(PageCacheTest, NextHoleWalksARunThatAlternatesOnStoreAndCachedPages) {
  PageCache cache(kPageSize);
  cache.MarkOnStore(PageIndex(10));
  cache.Insert(PageIndex(11), Filled('a'), /*stored=*/false);
  cache.MarkOnStore(PageIndex(12));
  cache.MarkOnStore(PageIndex(13));
  cache.Insert(PageIndex(14), Filled('a'), /*stored=*/false);
  cache.Insert(PageIndex(16), Filled('a'), /*stored=*/false);  // after the hole at 15
  cache.MarkOnStore(PageIndex(17));
  EXPECT_EQ(cache.NextHole(PageIndex(10)), PageIndex(15));
  EXPECT_EQ(cache.NextHole(PageIndex(13)), PageIndex(15));
  EXPECT_EQ(cache.NextHole(PageIndex(16)), PageIndex(18));
  EXPECT_EQ(cache.NextHole(PageIndex(9)), PageIndex(9));
}

// ---- StateOf: every PageState ----

TEST(PageCacheTest, M1StateOfReportsEveryPageState) {
  PageCache cache(kPageSize);
  cache.MarkOnStore(PageIndex(1));
  cache.Insert(PageIndex(2), Filled('a'), /*stored=*/false);
  InsertDirty(cache, 3);
  CachedPage* wb = InsertDirty(cache, 4);
  cache.ClearDirty(wb);  // M1: starting writeback clears dirty ...
  cache.SetWriteback(wb, 7);  // ... and sets writeback
  CachedPage* dwb = InsertDirty(cache, 5);
  cache.ClearDirty(dwb);
  cache.SetWriteback(dwb, 7);
  cache.BeginWrite(dwb);  // re-dirtied while in flight

  EXPECT_EQ(cache.StateOf(PageIndex(0)), PageState::kHole);
  EXPECT_EQ(cache.StateOf(PageIndex(1)), PageState::kOnStore);
  EXPECT_EQ(cache.StateOf(PageIndex(2)), PageState::kClean);
  EXPECT_EQ(cache.StateOf(PageIndex(3)), PageState::kDirty);
  EXPECT_EQ(cache.StateOf(PageIndex(4)), PageState::kWriteback);
  EXPECT_EQ(cache.StateOf(PageIndex(5)), PageState::kDirtyWriteback);
  EXPECT_EQ(wb->writeback_ticket(), 7u);
  EXPECT_TRUE(wb->in_writeback());

  // M1: completion clears writeback, not dirty.
  cache.EndWriteback(wb);
  cache.EndWriteback(dwb);
  EXPECT_EQ(cache.StateOf(PageIndex(4)), PageState::kClean);
  EXPECT_EQ(cache.StateOf(PageIndex(5)), PageState::kDirty);
}

TEST(PageCacheTest, PageStateNamesAreDistinct) {
  const PageState all[] = {PageState::kHole,  PageState::kOnStore,   PageState::kClean,
                           PageState::kDirty, PageState::kWriteback, PageState::kDirtyWriteback};
  for (PageState a : all) {
    for (PageState b : all) {
      if (a != b) {
        EXPECT_STRNE(PageStateName(a), PageStateName(b));
      }
    }
    EXPECT_STRNE(PageStateName(a), "?");
  }
  EXPECT_STREQ(PageStateName(PageState::kDirtyWriteback), "dirty+writeback");
}

TEST(PageCacheTest, BeginWriteOfAPageInWritebackCopiesTheBufferTheStoreHolds) {
  PageCache cache(kPageSize);
  CachedPage* page = InsertDirty(cache, 0);
  PageRef in_flight = cache.Share(page);  // the PutPage request's reference
  cache.ClearDirty(page);
  cache.SetWriteback(page, 1);
  cache.BeginWrite(page)[0] = 'z';
  EXPECT_EQ(in_flight->data()[0], 'x');
  EXPECT_EQ(page->data()->data()[0], 'z');
}

// ---- TicketsIn: the batches a ranged wait must wait for ----

TEST(PageCacheTest, TicketsInIsEmptyWithoutBatches) {
  PageCache cache(kPageSize);
  EXPECT_FALSE(cache.HasWriteback());
  EXPECT_TRUE(cache.TicketsIn(PageIndex(0), PageIndex(UINT64_MAX)).empty());
}

TEST(PageCacheTest, TicketsInReturnsBatchesWithAPageInTheRange) {
  PageCache cache(kPageSize);
  // Batch 1: pages 0, 10, 20. Batch 2: pages 5, 6. Batch 3: page 100.
  cache.batches().push_back(WritebackBatch{1, PageIndex(0), PageIndex(20),
                                           {PageIndex(0), PageIndex(10), PageIndex(20)}});
  cache.batches().push_back(WritebackBatch{2, PageIndex(5), PageIndex(6), {PageIndex(5), PageIndex(6)}});
  cache.batches().push_back(WritebackBatch{3, PageIndex(100), PageIndex(100), {PageIndex(100)}});
  EXPECT_TRUE(cache.HasWriteback());
  using T = std::vector<Ticket>;
  EXPECT_EQ(cache.TicketsIn(PageIndex(0), PageIndex(UINT64_MAX)), T({1, 2, 3}));
  EXPECT_EQ(cache.TicketsIn(PageIndex(0), PageIndex(0)), T({1}));
  EXPECT_EQ(cache.TicketsIn(PageIndex(5), PageIndex(5)), T({2}));
  EXPECT_EQ(cache.TicketsIn(PageIndex(6), PageIndex(10)), T({1, 2}));
  EXPECT_EQ(cache.TicketsIn(PageIndex(20), PageIndex(100)), T({1, 3}));
  // Inside batch 1's bounds but on none of its pages.
  EXPECT_EQ(cache.TicketsIn(PageIndex(11), PageIndex(19)), T());
  EXPECT_EQ(cache.TicketsIn(PageIndex(7), PageIndex(9)), T());
  EXPECT_EQ(cache.TicketsIn(PageIndex(21), PageIndex(99)), T());
  EXPECT_EQ(cache.TicketsIn(PageIndex(101), PageIndex(UINT64_MAX)), T());
}

TEST(PageCacheTest, TicketsInNamesEachBatchOnceEvenWithManyPagesInRange) {
  PageCache cache(kPageSize);
  cache.batches().push_back(WritebackBatch{9, PageIndex(0), PageIndex(3),
                                           {PageIndex(0), PageIndex(1), PageIndex(2), PageIndex(3)}});
  EXPECT_EQ(cache.TicketsIn(PageIndex(0), PageIndex(3)), std::vector<Ticket>({9}));
}

TEST(PageCacheTest, TicketsInForgetsAFinishedBatch) {
  PageCache cache(kPageSize);
  cache.batches().push_back(WritebackBatch{1, PageIndex(0), PageIndex(0), {PageIndex(0)}});
  cache.batches().push_back(WritebackBatch{2, PageIndex(0), PageIndex(0), {PageIndex(0)}});
  EXPECT_EQ(cache.TicketsIn(PageIndex(0), PageIndex(0)), std::vector<Ticket>({1, 2}));
  cache.batches().erase(cache.batches().begin());
  EXPECT_EQ(cache.TicketsIn(PageIndex(0), PageIndex(0)), std::vector<Ticket>({2}));
  cache.batches().clear();
  EXPECT_FALSE(cache.HasWriteback());
}

// ---- The radix index: far-apart pages, growth, pruning ----

TEST(PageCacheTest, PagesFarApartAreFoundIteratedAndCounted) {
  PageCache cache(kPageSize);
  const std::vector<uint64_t> indexes = {0, 15, 16, 1023, uint64_t{1} << 20, uint64_t{1} << 40};
  for (uint64_t i : indexes) cache.Insert(PageIndex(i), Filled('p'), /*stored=*/true);
  EXPECT_EQ(cache.cached_pages(), indexes.size());
  for (uint64_t i : indexes) EXPECT_NE(cache.Find(PageIndex(i)), nullptr) << i;
  for (uint64_t i : {1u, 14u, 17u, 1022u, 1024u}) EXPECT_EQ(cache.Find(PageIndex(i)), nullptr) << i;
  std::vector<uint64_t> seen;
  cache.ForEachCached(PageIndex(0), PageIndex(~uint64_t{0} >> 8),
                      [&](CachedPage* page) { seen.push_back(page->index().value()); });
  EXPECT_EQ(seen, indexes);
  seen.clear();
  cache.ForEachCached(PageIndex(16), PageIndex(uint64_t{1} << 20),
                      [&](CachedPage* page) { seen.push_back(page->index().value()); });
  EXPECT_EQ(seen, (std::vector<uint64_t>{16, 1023, uint64_t{1} << 20}));
  EXPECT_EQ(cache.NextAllocated(PageIndex(1024)), PageIndex(uint64_t{1} << 20));
  EXPECT_EQ(cache.NextAllocated(PageIndex((uint64_t{1} << 20) + 1)), PageIndex(uint64_t{1} << 40));
  EXPECT_EQ(cache.NextAllocated(PageIndex((uint64_t{1} << 40) + 1)), std::nullopt);
  EXPECT_EQ(cache.NextHole(PageIndex(15)), PageIndex(17));  // 15, 16 span two leaves
  EXPECT_EQ(cache.NextHole(PageIndex(uint64_t{1} << 40)), PageIndex((uint64_t{1} << 40) + 1));
}

TEST(PageCacheTest, DropFromKeepsEarlierPagesAndForgetsLaterOnes) {
  PageCache cache(kPageSize);
  for (uint64_t i = 0; i < 100; ++i) cache.Insert(PageIndex(i), Filled('d'), /*stored=*/true);
  cache.MarkOnStore(PageIndex(5000));
  InsertDirty(cache, 150);
  EXPECT_EQ(cache.allocated_pages(), 102u);
  cache.DropFrom(PageIndex(33));
  EXPECT_EQ(cache.cached_pages(), 33u);
  EXPECT_EQ(cache.allocated_pages(), 33u);
  EXPECT_FALSE(cache.HasDirty());
  EXPECT_NE(cache.Find(PageIndex(32)), nullptr);
  EXPECT_EQ(cache.StateOf(PageIndex(33)), PageState::kHole);
  EXPECT_EQ(cache.StateOf(PageIndex(5000)), PageState::kHole);
  EXPECT_EQ(cache.NextAllocated(PageIndex(33)), std::nullopt);
  // The index works after pruning: pages can come back anywhere.
  cache.Insert(PageIndex(40), Filled('e'), /*stored=*/false);
  EXPECT_EQ(cache.NextAllocated(PageIndex(33)), PageIndex(40));
  cache.DropFrom(PageIndex(0));
  EXPECT_EQ(cache.allocated_pages(), 0u);
  EXPECT_EQ(cache.NextHole(PageIndex(0)), PageIndex(0));
}

// ---- Eviction (Options::max_cache_bytes) ----

TEST(PageCacheTest, EvictCleanTakesOnlyCleanStoredPagesIdle) {
  PageCache cache(kPageSize);
  cache.Insert(PageIndex(0), Filled('s'), /*stored=*/true);   // clean, on the store
  cache.Insert(PageIndex(1), Filled('n'), /*stored=*/false);  // clean, never stored
  InsertDirty(cache, 2);
  CachedPage* flight = cache.Insert(PageIndex(3), Filled('w'), /*stored=*/true);
  cache.SetWriteback(flight, Ticket{9});
  EXPECT_EQ(cache.EvictClean(10, /*second_chance=*/false), 1u);
  EXPECT_EQ(cache.StateOf(PageIndex(0)), PageState::kOnStore);
  EXPECT_EQ(cache.StateOf(PageIndex(1)), PageState::kClean);
  EXPECT_EQ(cache.StateOf(PageIndex(2)), PageState::kDirty);
  EXPECT_EQ(cache.StateOf(PageIndex(3)), PageState::kWriteback);
  EXPECT_EQ(cache.cached_pages(), 3u);
  EXPECT_EQ(cache.allocated_pages(), 4u);
}

TEST(PageCacheTest, EvictCleanSparesARecentlyUsedPageOnce) {
  PageCache cache(kPageSize);
  cache.Insert(PageIndex(0), Filled('a'), /*stored=*/true);
  cache.Insert(PageIndex(1), Filled('b'), /*stored=*/true);
  // Both were just inserted (used): the first round only clears the marks.
  EXPECT_EQ(cache.EvictClean(2, /*second_chance=*/true), 0u);
  ASSERT_NE(cache.Find(PageIndex(1)), nullptr);  // used again
  EXPECT_EQ(cache.EvictClean(2, /*second_chance=*/true), 1u);
  EXPECT_EQ(cache.StateOf(PageIndex(0)), PageState::kOnStore);
  EXPECT_EQ(cache.StateOf(PageIndex(1)), PageState::kClean);
}

TEST(PageCacheTest, CountIntoFollowsInsertEvictDropAndDestruction) {
  std::atomic<uint64_t> total{0};
  {
    PageCache cache(kPageSize);
    cache.Insert(PageIndex(0), Filled('a'), /*stored=*/true);
    cache.CountInto(&total);
    EXPECT_EQ(total.load(), 1u);
    cache.Insert(PageIndex(1), Filled('b'), /*stored=*/true);
    cache.Insert(PageIndex(2), Filled('c'), /*stored=*/true);
    EXPECT_EQ(total.load(), 3u);
    EXPECT_EQ(cache.EvictClean(1, /*second_chance=*/false), 1u);
    EXPECT_EQ(total.load(), 2u);
    cache.DropFrom(PageIndex(2));
    EXPECT_EQ(total.load(), 1u);
  }
  EXPECT_EQ(total.load(), 0u);
}

}  // namespace
}  // namespace vfs
