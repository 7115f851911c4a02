#include "vfs/page_cache.h"

#include <cassert>

namespace vfs {

const char* PageStateName(PageState state) {
  switch (state) {
    case PageState::kHole: return "hole";
    case PageState::kOnStore: return "on-store";
    case PageState::kClean: return "clean";
    case PageState::kDirty: return "dirty";
    case PageState::kWriteback: return "writeback";
    case PageState::kDirtyWriteback: return "dirty+writeback";
  }
  return "?";
}

PageCache::~PageCache() {
  // The intrusive set must not outlive the pages it links.
  dirty_.clear();
}

CachedPage* PageCache::Find(PageIndex index) {
  auto it = pages_.find(index);
  return it == pages_.end() ? nullptr : it->second.get();
}

bool PageCache::Allocated(PageIndex index) const {
  return pages_.contains(index) || on_store_.contains(index);
}

CachedPage* PageCache::Insert(PageIndex index, PageRef data, bool stored) {
  on_store_.erase(index);
  auto [it, inserted] =
      pages_.emplace(index, std::make_unique<CachedPage>(index, std::move(data), stored));
  assert(inserted);
  return it->second.get();
}

char* PageCache::BeginWrite(CachedPage* page) {
  // Copy on write: the store or an in-flight request holds these bytes.
  if (!page->data_->unique()) page->data_ = PageBuffer::Copy(*page->data_);
  if (!page->dirty_) {
    page->dirty_ = true;
    dirty_.insert(*page);
  }
  return page->data_->data();
}

void PageCache::ClearDirty(CachedPage* page) {
  if (!page->dirty_) return;
  page->dirty_ = false;
  dirty_.erase(dirty_.iterator_to(*page));
}

void PageCache::Evict(CachedPage* page) {
  assert(!page->dirty_ && !page->in_writeback());
  const PageIndex index = page->index_;
  pages_.erase(index);
  on_store_.insert(index);
}

void PageCache::DropFrom(PageIndex first) {
  for (auto it = pages_.lower_bound(first); it != pages_.end();) {
    assert(!it->second->in_writeback());
    if (it->second->dirty_) dirty_.erase(dirty_.iterator_to(*it->second));
    it = pages_.erase(it);
  }
  on_store_.erase(on_store_.lower_bound(first), on_store_.end());
}

bool PageCache::HasDirtyIn(PageIndex first, PageIndex last) const {
  auto it = dirty_.lower_bound(first, IndexLess());
  return it != dirty_.end() && it->index_ <= last;
}

std::vector<Ticket> PageCache::TicketsIn(PageIndex first, PageIndex last) const {
  std::vector<Ticket> tickets;
  for (const WritebackBatch& batch : batches_) {
    if (batch.last < first || batch.first > last) continue;
    for (PageIndex index : batch.pages) {
      if (index >= first && index <= last) {
        tickets.push_back(batch.ticket);
        break;
      }
    }
  }
  return tickets;
}

std::optional<PageIndex> PageCache::NextAllocated(PageIndex from) const {
  std::optional<PageIndex> best;
  auto c = pages_.lower_bound(from);
  if (c != pages_.end()) best = c->first;
  auto s = on_store_.lower_bound(from);
  if (s != on_store_.end() && (!best || *s < *best)) best = *s;
  return best;
}

PageIndex PageCache::NextHole(PageIndex from) const {
  // Walk the run of allocated pages from `from` through both ordered sets
  // (they never hold the same index) instead of one lookup per page.
  uint64_t at = from.value();
  auto cached = pages_.lower_bound(from);
  auto stored = on_store_.lower_bound(from);
  for (;;) {
    if (cached != pages_.end() && cached->first.value() == at) {
      ++cached;
    } else if (stored != on_store_.end() && stored->value() == at) {
      ++stored;
    } else {
      return PageIndex(at);
    }
    ++at;
  }
}

PageState PageCache::StateOf(PageIndex index) const {
  auto it = pages_.find(index);
  if (it == pages_.end()) return on_store_.contains(index) ? PageState::kOnStore : PageState::kHole;
  const CachedPage& page = *it->second;
  if (page.in_writeback()) return page.dirty_ ? PageState::kDirtyWriteback : PageState::kWriteback;
  return page.dirty_ ? PageState::kDirty : PageState::kClean;
}

}  // namespace vfs
