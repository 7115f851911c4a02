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
  if (total_ != nullptr) total_->fetch_sub(cached_, std::memory_order_relaxed);
  if (root_ != nullptr) FreeSubtree(root_, height_);
}

void PageCache::FreeSubtree(void* at, int h) {
  if (h == 0) {
    delete static_cast<Leaf*>(at);
    return;
  }
  auto* node = static_cast<Node*>(at);
  for (void* child : node->child) {
    if (child != nullptr) FreeSubtree(child, h - 1);
  }
  delete node;
}

CachedPage* PageCache::SlotOf(uint64_t index) const {
  if (root_ == nullptr || (index >> SpanBits(height_)) != 0) return nullptr;
  void* at = root_;
  for (int h = height_; h > 0; --h) {
    at = static_cast<Node*>(at)->child[(index >> SpanBits(h - 1)) & (kNodeSlots - 1)];
    if (at == nullptr) return nullptr;
  }
  return &static_cast<Leaf*>(at)->slots[index & (kLeafSlots - 1)];
}

CachedPage* PageCache::MakeSlot(uint64_t index, Leaf** leaf) {
  assert((index & ~CachedPage::kIndexMask) == 0);
  if (root_ == nullptr) {
    root_ = new Leaf;
    height_ = 0;
  }
  while ((index >> SpanBits(height_)) != 0) {
    // Grow upwards: the old tree becomes the first child of a new root.
    auto* up = new Node;
    up->child[0] = root_;
    up->used = 1;
    root_ = up;
    ++height_;
  }
  void* at = root_;
  for (int h = height_; h > 0; --h) {
    auto* node = static_cast<Node*>(at);
    void*& child = node->child[(index >> SpanBits(h - 1)) & (kNodeSlots - 1)];
    if (child == nullptr) {
      child = h == 1 ? static_cast<void*>(new Leaf) : static_cast<void*>(new Node);
      ++node->used;
    }
    at = child;
  }
  *leaf = static_cast<Leaf*>(at);
  return &(*leaf)->slots[index & (kLeafSlots - 1)];
}

CachedPage* PageCache::Find(PageIndex index) {
  CachedPage* slot = SlotOf(index.value());
  if (slot == nullptr || !slot->data_) return nullptr;
  slot->bits_ |= CachedPage::kReferenced;
  return slot;
}

bool PageCache::Allocated(PageIndex index) const {
  const CachedPage* slot = SlotOf(index.value());
  return slot != nullptr && !slot->empty();
}

CachedPage* PageCache::Insert(PageIndex index, PageRef data, bool stored) {
  Leaf* leaf = nullptr;
  CachedPage* slot = MakeSlot(index.value(), &leaf);
  assert(!slot->data_);
  if (slot->empty()) {
    ++leaf->used;
  } else {
    --on_store_;  // it was on store; now it is cached
  }
  assert(data);
  const bool shared = !data->unique();
  slot->data_ = std::move(data);
  slot->writeback_ticket_ = 0;
  slot->bits_ = index.value() | (stored ? CachedPage::kStored : 0) | CachedPage::kReferenced |
                (shared ? CachedPage::kShared : 0);
  AddCached(1);
  return slot;
}

void PageCache::MarkOnStore(PageIndex index) {
  Leaf* leaf = nullptr;
  CachedPage* slot = MakeSlot(index.value(), &leaf);
  if (!slot->empty()) return;
  ++leaf->used;
  slot->bits_ = index.value() | CachedPage::kOnStore;
  ++on_store_;
}

char* PageCache::BeginWrite(CachedPage* page) {
  // Copy on write: the store or an in-flight request holds these bytes. A
  // buffer never shared needs no look at its count.
  if (page->bits_ & CachedPage::kShared) {
    if (!page->data_->unique()) page->data_ = PageBuffer::Copy(*page->data_);
    page->bits_ &= ~CachedPage::kShared;
  }
  if (!page->dirty()) {
    page->bits_ |= CachedPage::kDirty;
    dirty_.insert(*page);
  }
  return page->data_->data();
}

void PageCache::ClearDirty(CachedPage* page) {
  if (!page->dirty()) return;
  page->bits_ &= ~CachedPage::kDirty;
  dirty_.erase(dirty_.iterator_to(*page));
}

void PageCache::Evict(CachedPage* page) {
  assert(!page->dirty() && !page->in_writeback() && page->data_);
  page->data_.reset();
  page->bits_ = page->index().value() | CachedPage::kOnStore;
  AddCached(-1);
  ++on_store_;
}

void PageCache::DropFrom(PageIndex first) { DropRange(first, PageIndex(~uint64_t{0})); }

void PageCache::DropRange(PageIndex first, PageIndex last) {
  if (root_ == nullptr || first > last) return;
  DropSubtreeFrom(&root_, height_, 0, first.value(), last.value());
  if (root_ == nullptr) height_ = 0;
}

void PageCache::DropSubtreeFrom(void** at, int h, uint64_t base, uint64_t first, uint64_t last) {
  if (h == 0) {
    auto* leaf = static_cast<Leaf*>(*at);
    for (uint64_t j = first > base ? first - base : 0; j < kLeafSlots && base + j <= last; ++j) {
      CachedPage& slot = leaf->slots[j];
      if (slot.empty()) continue;
      assert(!slot.in_writeback());
      if (slot.dirty()) dirty_.erase(dirty_.iterator_to(slot));
      if (slot.data_) {
        AddCached(-1);
        slot.data_.reset();
      } else {
        --on_store_;
      }
      slot.bits_ = 0;
      --leaf->used;
    }
    if (leaf->used == 0) {
      delete leaf;
      *at = nullptr;
    }
    return;
  }
  auto* node = static_cast<Node*>(*at);
  const int shift = SpanBits(h - 1);
  for (uint64_t c = first > base ? (first - base) >> shift : 0; c < kNodeSlots; ++c) {
    const uint64_t child_base = base + (c << shift);
    if (child_base > last || (c > 0 && child_base < base)) break;  // past the range (or wrapped)
    if (node->child[c] == nullptr) continue;
    DropSubtreeFrom(&node->child[c], h - 1, child_base, first, last);
    if (node->child[c] == nullptr) --node->used;
  }
  if (node->used == 0) {
    delete node;
    *at = nullptr;
  }
}

uint64_t PageCache::EvictClean(uint64_t want, bool second_chance) {
  uint64_t evicted = 0;
  WalkLeaves(0, [&](Leaf& leaf, uint64_t) {
    for (CachedPage& slot : leaf.slots) {
      if (evicted == want) return false;
      // Only a page the store can give back goes: clean, not in flight, and
      // handed to the store at least once.
      if (!slot.data_ || slot.dirty() || slot.in_writeback() || !slot.stored()) continue;
      if (second_chance && (slot.bits_ & CachedPage::kReferenced)) {
        slot.bits_ &= ~CachedPage::kReferenced;
        continue;
      }
      Evict(&slot);
      ++evicted;
    }
    return true;
  });
  return evicted;
}

bool PageCache::HasDirtyIn(PageIndex first, PageIndex last) const {
  auto it = dirty_.lower_bound(first, IndexLess());
  return it != dirty_.end() && it->index() <= last;
}

std::vector<Ticket> PageCache::TicketsIn(PageIndex first, PageIndex last) const {
  std::vector<Ticket> tickets;
  if (batches_ == nullptr) return tickets;
  for (const WritebackBatch& batch : *batches_) {
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
  std::optional<PageIndex> found;
  const uint64_t lo = from.value();
  WalkLeaves(lo, [&](const Leaf& leaf, uint64_t base) {
    for (uint64_t j = lo > base ? lo - base : 0; j < kLeafSlots; ++j) {
      if (!leaf.slots[j].empty()) {
        found = PageIndex(base + j);
        return false;
      }
    }
    return true;
  });
  return found;
}

PageIndex PageCache::NextHole(PageIndex from) const {
  // Walk the run of allocated slots from `from`: a missing leaf or an empty
  // slot ends it.
  uint64_t at = from.value();
  WalkLeaves(at, [&](const Leaf& leaf, uint64_t base) {
    if (base > at) return false;  // the leaves skip `at`: a hole
    for (uint64_t j = at - base; j < kLeafSlots; ++j) {
      if (leaf.slots[j].empty()) return false;
      at = base + j + 1;
    }
    return true;
  });
  return PageIndex(at);
}

PageState PageCache::StateOf(PageIndex index) const {
  const CachedPage* slot = SlotOf(index.value());
  if (slot == nullptr || slot->empty()) return PageState::kHole;
  if (!slot->data_) return PageState::kOnStore;
  if (slot->in_writeback()) return slot->dirty() ? PageState::kDirtyWriteback : PageState::kWriteback;
  return slot->dirty() ? PageState::kDirty : PageState::kClean;
}

}  // namespace vfs
