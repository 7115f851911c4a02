// PageCache: the cached pages of one regular file and their write-back state.
//
// Each page is Clean, Dirty, in Writeback, or Dirty while in Writeback (rule
// M1). Dirty pages also sit in a set ordered by page index (Boost.Intrusive,
// no allocation), so a ranged sync visits only the dirty pages of its range:
// O(log n + k). Pages in Writeback belong to a WritebackBatch, one per store
// ticket. A page the cache dropped while the store still holds it is "on
// store": reading it fetches it back; it is data, not a hole.
//
// Thread-safety: none. The owning Inode's lock guards every call.
#ifndef VFS_PAGE_CACHE_H_
#define VFS_PAGE_CACHE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "boost/intrusive/set.hpp"
#include "vfs/page_buffer.h"
#include "vfs/store.h"
#include "vfs/types.h"

namespace vfs {

// The state of one page as the introspection API reports it.
enum class PageState {
  kHole,            // not allocated: reads as zeros
  kOnStore,         // allocated, not cached; the store holds it
  kClean,
  kDirty,
  kWriteback,       // store write in flight
  kDirtyWriteback,  // written again while its store write is in flight
};
const char* PageStateName(PageState state);

// One slot of the page index: a cached page, a page only the store holds
// ("on store"), or empty (a hole). Slots live in the leaves of the index, so
// a page's address is stable for as long as it is allocated, which the
// intrusive dirty set relies on.
class CachedPage {
 public:
  CachedPage() = default;  // an empty slot
  CachedPage(const CachedPage&) = delete;
  CachedPage& operator=(const CachedPage&) = delete;

  PageIndex index() const { return PageIndex(bits_ & kIndexMask); }
  // The page's bytes, to read. A reference for a store goes through
  // PageCache::Share, so the cache knows the bytes may be shared.
  const PageBuffer* data() const { return data_.get(); }
  bool dirty() const { return (bits_ & kDirty) != 0; }
  bool in_writeback() const { return writeback_ticket_ != 0; }
  Ticket writeback_ticket() const { return writeback_ticket_; }
  // True once the store has (or was sent) a copy: writing the page again is
  // an overwrite, not a new allocation.
  bool stored() const { return (bits_ & kStored) != 0; }

 private:
  friend class PageCache;
  // The page index in the low bits, the state in the high ones. Page indexes
  // stay below 2^55 (a file is at most 2^63 bytes, a page at least 512).
  static constexpr uint64_t kIndexMask = (uint64_t{1} << 56) - 1;
  static constexpr uint64_t kDirty = uint64_t{1} << 56;
  static constexpr uint64_t kStored = uint64_t{1} << 57;
  static constexpr uint64_t kOnStore = uint64_t{1} << 58;     // slot holds no data
  static constexpr uint64_t kReferenced = uint64_t{1} << 59;  // used since the last eviction scan
  // Someone else may hold a reference to data_ (set by Share, or by Insert
  // when the buffer came shared): BeginWrite looks at the buffer's count only
  // then, so writing a private page never reads the buffer's header, a cache
  // miss ahead of the copy when the page is cold.
  static constexpr uint64_t kShared = uint64_t{1} << 60;
  bool empty() const { return !data_ && (bits_ & kOnStore) == 0; }

  using Hook = boost::intrusive::set_member_hook<boost::intrusive::optimize_size<true>>;
  Hook dirty_hook_;
  PageRef data_;  // null unless cached
  Ticket writeback_ticket_ = 0;
  uint64_t bits_ = 0;
};

// Pages handed to the store under one ticket.
struct WritebackBatch {
  Ticket ticket = 0;
  PageIndex first, last;  // inclusive bounds of `pages`
  std::vector<PageIndex> pages;
};

class PageCache {
 public:
  explicit PageCache(uint32_t page_size) : page_size_(page_size) {}
  ~PageCache();
  PageCache(const PageCache&) = delete;
  PageCache& operator=(const PageCache&) = delete;

  uint32_t page_size() const { return page_size_; }
  // Adds the number of cached pages to `*total` from now on (the
  // filesystem's cache size), and takes them out when they go.
  void CountInto(std::atomic<uint64_t>* total) {
    total_ = total;
    total_->fetch_add(cached_, std::memory_order_relaxed);
  }

  // The cached page at `index`, or null. Marks it recently used.
  CachedPage* Find(PageIndex index);
  // True if `index` is allocated: cached or on store.
  bool Allocated(PageIndex index) const;
  bool OnStore(PageIndex index) const {
    const CachedPage* slot = SlotOf(index.value());
    return slot != nullptr && (slot->bits_ & CachedPage::kOnStore) != 0;
  }
  // Caches `data` at `index` as a clean page (it must not be cached already)
  // and forgets any on-store mark for it. `stored`: the store holds a copy.
  CachedPage* Insert(PageIndex index, PageRef data, bool stored);
  // Marks the page's store copy as the only one: used when mounting a store
  // that reads pages lazily. A cached page stays cached.
  void MarkOnStore(PageIndex index);

  // The page's bytes, ready to be written: copied first if the store (or a
  // write in flight) shares them. Then marks the page dirty.
  char* BeginWrite(CachedPage* page);
  // A reference to the page's bytes for someone outside the cache (a
  // PutPage request): the next BeginWrite copies them if it is still held.
  PageRef Share(CachedPage* page) {
    page->bits_ |= CachedPage::kShared;
    return page->data_;
  }
  // Clears the dirty bit (the page's bytes were handed to the store).
  void ClearDirty(CachedPage* page);
  void SetWriteback(CachedPage* page, Ticket ticket) {
    page->writeback_ticket_ = ticket;
    page->bits_ |= CachedPage::kStored;
  }
  void EndWriteback(CachedPage* page) { page->writeback_ticket_ = 0; }

  // Drops the cached page (it must be clean and not in writeback); the store
  // still holds it, so it is marked on store.
  void Evict(CachedPage* page);
  // Drops every page at or after `first` (cached or on store): truncation.
  // Pages in writeback must have been waited for.
  void DropFrom(PageIndex first);
  // Drops every page in [first, last] (cached or on store): a hole punch
  // (rule X3). Pages in writeback must have been waited for.
  void DropRange(PageIndex first, PageIndex last);
  // Drops up to `want` clean pages the store holds, as Evict, and returns how
  // many went. With `second_chance`, a page used since the last scan is
  // spared once: its mark is cleared instead (the clock algorithm).
  uint64_t EvictClean(uint64_t want, bool second_chance);

  // Calls f(CachedPage*) for each dirty page with index in [first, last].
  template <typename F>
  void ForEachDirty(PageIndex first, PageIndex last, F f) {
    for (auto it = dirty_.lower_bound(first, IndexLess()); it != dirty_.end() && it->index() <= last;) {
      CachedPage& page = *it++;
      f(&page);
    }
  }
  // Calls f(CachedPage*) for each cached page with index in [first, last].
  // `f` must not add or drop pages (Insert, Evict, DropFrom): the map it
  // walks would move under it.
  template <typename F>
  void ForEachCached(PageIndex first, PageIndex last, F f) {
    const uint64_t lo = first.value();
    const uint64_t hi = last.value();
    WalkLeaves(lo, [&](Leaf& leaf, uint64_t base) {
      if (base > hi) return false;
      for (uint64_t j = lo > base ? lo - base : 0; j < kLeafSlots && base + j <= hi; ++j) {
        if (leaf.slots[j].data_) f(&leaf.slots[j]);
      }
      return true;
    });
  }
  bool HasDirty() const { return !dirty_.empty(); }
  bool HasDirtyIn(PageIndex first, PageIndex last) const;

  // Writeback batches in flight.
  std::vector<WritebackBatch>& batches() {
    if (batches_ == nullptr) batches_ = std::make_unique<std::vector<WritebackBatch>>();
    return *batches_;
  }
  bool HasWriteback() const { return batches_ != nullptr && !batches_->empty(); }
  // Tickets of batches with a page in [first, last].
  std::vector<Ticket> TicketsIn(PageIndex first, PageIndex last) const;

  // First allocated page at or after `from`, if any (SEEK_DATA).
  std::optional<PageIndex> NextAllocated(PageIndex from) const;
  // First hole page at or after `from` (SEEK_HOLE). Always exists.
  PageIndex NextHole(PageIndex from) const;

  PageState StateOf(PageIndex index) const;
  uint64_t cached_pages() const { return cached_; }
  uint64_t allocated_pages() const { return cached_ + on_store_; }
  uint64_t dirty_pages() const { return dirty_.size(); }

 private:
  struct IndexLess {
    bool operator()(const CachedPage& a, const CachedPage& b) const { return a.index() < b.index(); }
    bool operator()(PageIndex a, const CachedPage& b) const { return a < b.index(); }
    bool operator()(const CachedPage& a, PageIndex b) const { return a.index() < b; }
  };
  using DirtySet = boost::intrusive::set<
      CachedPage,
      boost::intrusive::member_hook<CachedPage, CachedPage::Hook, &CachedPage::dirty_hook_>,
      boost::intrusive::compare<IndexLess>, boost::intrusive::constant_time_size<true>>;

  // The page index is a radix tree, as the kernel's page cache xarray:
  // leaves of 16 slots under nodes of 64 children, as tall as the largest
  // index needs. A lookup is a few array steps with no comparisons; a dense
  // file costs one slot per page; the slots never move.
  static constexpr int kLeafBits = 4;
  static constexpr int kNodeBits = 6;
  static constexpr uint64_t kLeafSlots = uint64_t{1} << kLeafBits;
  static constexpr uint64_t kNodeSlots = uint64_t{1} << kNodeBits;
  struct Leaf {
    CachedPage slots[kLeafSlots];
    uint32_t used = 0;  // slots not empty
  };
  struct Node {
    void* child[kNodeSlots] = {};  // Node* above height 1, Leaf* at height 1
    uint32_t used = 0;             // children not null
  };
  // log2 of the pages a subtree of height h spans.
  static constexpr int SpanBits(int h) { return kLeafBits + kNodeBits * h; }

  CachedPage* SlotOf(uint64_t index) const;
  // The slot for `index`, creating the path to it; its leaf in *leaf.
  CachedPage* MakeSlot(uint64_t index, Leaf** leaf);
  // Calls f(Leaf&, first index of the leaf) for each leaf holding a slot at or
  // after `from`, in order, until f returns false.
  template <typename F>
  void WalkLeaves(uint64_t from, F&& f) const {
    if (root_ != nullptr) WalkLeavesFrom(root_, height_, 0, from, f);
  }
  template <typename F>
  static bool WalkLeavesFrom(void* at, int h, uint64_t base, uint64_t from, F& f) {
    if (h == 0) return f(*static_cast<Leaf*>(at), base);
    const int shift = SpanBits(h - 1);
    auto* node = static_cast<Node*>(at);
    for (uint64_t c = from > base ? (from - base) >> shift : 0; c < kNodeSlots; ++c) {
      if (node->child[c] == nullptr) continue;
      if (!WalkLeavesFrom(node->child[c], h - 1, base + (c << shift), from, f)) return false;
    }
    return true;
  }
  // Empties the slots at or after `first` under `*at` and frees what is left
  // empty, setting *at to null if the whole subtree is.
  void DropSubtreeFrom(void** at, int h, uint64_t base, uint64_t first, uint64_t last);
  static void FreeSubtree(void* at, int h);

  const uint32_t page_size_;
  int height_ = 0;
  void* root_ = nullptr;  // Leaf* at height 0, else Node*
  uint64_t cached_ = 0;
  uint64_t on_store_ = 0;
  std::atomic<uint64_t>* total_ = nullptr;  // see CountInto
  void AddCached(int64_t n) {
    cached_ += static_cast<uint64_t>(n);
    if (total_ != nullptr) total_->fetch_add(static_cast<uint64_t>(n), std::memory_order_relaxed);
  }
  DirtySet dirty_;
  // Allocated at a file's first write-back: most files never sync.
  std::unique_ptr<std::vector<WritebackBatch>> batches_;
};

}  // namespace vfs

#endif  // VFS_PAGE_CACHE_H_
