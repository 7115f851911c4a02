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

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "backends/store.h"
#include "boost/intrusive/set.hpp"
#include "vfs/page_buffer.h"
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

class CachedPage {
 public:
  CachedPage(PageIndex index, PageRef data, bool stored)
      : index_(index), data_(std::move(data)), stored_(stored) {}

  PageIndex index() const { return index_; }
  const PageRef& data() const { return data_; }
  bool dirty() const { return dirty_; }
  bool in_writeback() const { return writeback_ticket_ != 0; }
  Ticket writeback_ticket() const { return writeback_ticket_; }
  // True once the store has (or was sent) a copy: writing the page again is
  // an overwrite, not a new allocation.
  bool stored() const { return stored_; }

 private:
  friend class PageCache;
  using Hook = boost::intrusive::set_member_hook<boost::intrusive::optimize_size<true>>;
  Hook dirty_hook_;
  PageIndex index_;
  PageRef data_;
  Ticket writeback_ticket_ = 0;
  bool dirty_ = false;
  bool stored_ = false;
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

  // The cached page at `index`, or null.
  CachedPage* Find(PageIndex index);
  // True if `index` is allocated: cached or on store.
  bool Allocated(PageIndex index) const;
  bool OnStore(PageIndex index) const { return on_store_.contains(index); }
  // Caches `data` at `index` as a clean page (it must not be cached already)
  // and forgets any on-store mark for it. `stored`: the store holds a copy.
  CachedPage* Insert(PageIndex index, PageRef data, bool stored);
  // Marks the page's store copy as the only one: used when mounting a store
  // that reads pages lazily.
  void MarkOnStore(PageIndex index) { on_store_.insert(index); }

  // The page's bytes, ready to be written: copied first if the store (or a
  // write in flight) shares them. Then marks the page dirty.
  char* BeginWrite(CachedPage* page);
  // Clears the dirty bit (the page's bytes were handed to the store).
  void ClearDirty(CachedPage* page);
  void SetWriteback(CachedPage* page, Ticket ticket) {
    page->writeback_ticket_ = ticket;
    page->stored_ = true;
  }
  void EndWriteback(CachedPage* page) { page->writeback_ticket_ = 0; }

  // Drops the cached page (it must be clean and not in writeback); the store
  // still holds it, so it is marked on store.
  void Evict(CachedPage* page);
  // Drops every page at or after `first` (cached or on store): truncation.
  // Pages in writeback must have been waited for.
  void DropFrom(PageIndex first);

  // Calls f(CachedPage*) for each dirty page with index in [first, last].
  template <typename F>
  void ForEachDirty(PageIndex first, PageIndex last, F f) {
    for (auto it = dirty_.lower_bound(first, IndexLess()); it != dirty_.end() && it->index_ <= last;) {
      CachedPage& page = *it++;
      f(&page);
    }
  }
  // Calls f(CachedPage*) for each cached page with index in [first, last].
  // `f` must not add or drop pages (Insert, Evict, DropFrom): the map it
  // walks would move under it.
  template <typename F>
  void ForEachCached(PageIndex first, PageIndex last, F f) {
    for (auto it = pages_.lower_bound(first); it != pages_.end() && it->first <= last; ++it) {
      f(it->second.get());
    }
  }
  bool HasDirty() const { return !dirty_.empty(); }
  bool HasDirtyIn(PageIndex first, PageIndex last) const;

  // Writeback batches in flight.
  std::vector<WritebackBatch>& batches() { return batches_; }
  bool HasWriteback() const { return !batches_.empty(); }
  // Tickets of batches with a page in [first, last].
  std::vector<Ticket> TicketsIn(PageIndex first, PageIndex last) const;

  // First allocated page at or after `from`, if any (SEEK_DATA).
  std::optional<PageIndex> NextAllocated(PageIndex from) const;
  // First hole page at or after `from` (SEEK_HOLE). Always exists.
  PageIndex NextHole(PageIndex from) const;

  PageState StateOf(PageIndex index) const;
  uint64_t cached_pages() const { return pages_.size(); }
  uint64_t allocated_pages() const { return pages_.size() + on_store_.size(); }
  uint64_t dirty_pages() const { return dirty_.size(); }

 private:
  struct IndexLess {
    bool operator()(const CachedPage& a, const CachedPage& b) const { return a.index_ < b.index_; }
    bool operator()(PageIndex a, const CachedPage& b) const { return a < b.index_; }
    bool operator()(const CachedPage& a, PageIndex b) const { return a.index_ < b; }
  };
  using DirtySet = boost::intrusive::set<
      CachedPage,
      boost::intrusive::member_hook<CachedPage, CachedPage::Hook, &CachedPage::dirty_hook_>,
      boost::intrusive::compare<IndexLess>, boost::intrusive::constant_time_size<true>>;

  const uint32_t page_size_;
  absl::btree_map<PageIndex, std::unique_ptr<CachedPage>> pages_;
  DirtySet dirty_;
  absl::btree_set<PageIndex> on_store_;
  std::vector<WritebackBatch> batches_;
};

}  // namespace vfs

#endif  // VFS_PAGE_CACHE_H_
