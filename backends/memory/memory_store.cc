#include "backends/memory/memory_store.h"

#include <cerrno>
#include <algorithm>
#include <deque>

#include "vfs/internal/mutex.h"

namespace vfs {
namespace {

struct PageSlot {
  PageRef data;
  uint64_t generation = 0;
  // Part of the inode's durable allocation (rule D5): set by a PutInode that
  // completed after the page was first written.
  bool mapped = false;
};

using PageMap = absl::btree_map<PageIndex, PageSlot>;

}  // namespace

// One view of the store's contents: durable, or durable plus completed.
struct MemoryContents {
  uint32_t page_size = 0;
  uint64_t generation = 0;
  absl::btree_map<InodeId, InodeRecord> inodes;
  absl::btree_map<InodeId, absl::btree_map<std::string, InodeId>> entries;
  // Each inode's pages. Copies of the contents (MemoryImage, a crash's
  // rollback to the durable view) share them; a change copies them first.
  absl::btree_map<InodeId, std::shared_ptr<PageMap>> pages;
  // Pages written since the inode's last record, not yet mapped: a record
  // maps only these, so its cost does not grow with the file. Every slot not
  // mapped is listed here (DropUnmapped relies on it).
  absl::btree_map<InodeId, std::vector<PageIndex>> unmapped;
  uint64_t page_bytes = 0;  // bytes of every page held (StoreStats::held_bytes)

  static uint64_t SizeOf(const PageRef& data) { return data ? data->size() : 0; }

  // The pages of `ino`, to change: made if absent, copied first if shared.
  PageMap& MutablePages(InodeId ino) {
    std::shared_ptr<PageMap>& map = pages[ino];
    if (!map) {
      map = std::make_shared<PageMap>();
    } else if (map.use_count() > 1) {
      map = std::make_shared<PageMap>(*map);
    }
    return *map;
  }
  // As MutablePages, or null if the store holds no pages for `ino`.
  PageMap* MutablePagesIfAny(InodeId ino) {
    auto it = pages.find(ino);
    if (it == pages.end()) return nullptr;
    if (it->second.use_count() > 1) it->second = std::make_shared<PageMap>(*it->second);
    return it->second.get();
  }
  const PageSlot* FindPage(InodeId ino, PageIndex index) const {
    auto p = pages.find(ino);
    if (p == pages.end()) return nullptr;
    auto slot = p->second->find(index);
    return slot == p->second->end() ? nullptr : &slot->second;
  }

  void Apply(const Request& request) {
    std::visit([this](const auto& r) { ApplyOne(r); }, request);
  }

  void ApplyOne(const PutSuperblock& r) { page_size = r.page_size; }
  void ApplyOne(const PutPage& r) {
    auto [it, is_new] = MutablePages(r.ino).try_emplace(r.index);
    PageSlot& slot = it->second;
    // An overwrite of an allocated page stays allocated; a new page waits
    // for the next record of its inode.
    if (is_new) unmapped[r.ino].push_back(r.index);
    page_bytes += SizeOf(r.data) - SizeOf(slot.data);
    slot.data = r.data;
    slot.generation = r.generation;
    generation = std::max(generation, r.generation);
  }
  void ApplyOne(const PutInode& r) {
    auto it = inodes.find(r.record.ino);
    if (r.data_only && it != inodes.end()) {
      it->second.size = r.record.size;
    } else {
      inodes[r.record.ino] = r.record;
    }
    auto u = unmapped.find(r.record.ino);
    if (u == unmapped.end()) return;
    if (PageMap* p = MutablePagesIfAny(r.record.ino)) {
      for (PageIndex index : u->second) {
        auto slot = p->find(index);  // a Truncate may have dropped it
        if (slot != p->end()) slot->second.mapped = true;
      }
    }
    unmapped.erase(u);
  }
  void ApplyOne(const PutDirent& r) { entries[r.dir][r.name] = r.ino; }
  void ApplyOne(const DelDirent& r) {
    auto it = entries.find(r.dir);
    if (it != entries.end()) it->second.erase(r.name);
  }
  void ApplyOne(const Truncate& r) {
    generation = std::max(generation, r.generation);
    if (page_size == 0) return;
    PageMap* p = MutablePagesIfAny(r.ino);
    if (p == nullptr) return;
    const uint64_t keep = (r.size + page_size - 1) / page_size;  // pages kept
    for (auto it = p->lower_bound(PageIndex(keep));
         it != p->end() && it->first.value() < r.end_page;) {
      if (it->second.generation < r.generation) {
        page_bytes -= SizeOf(it->second.data);
        it = p->erase(it);
      } else {
        ++it;
      }
    }
    const uint32_t tail = r.size % page_size;
    if (tail != 0) {
      auto last = p->find(PageIndex(r.size / page_size));
      if (last != p->end() && last->second.generation < r.generation &&
          !last->second.data->ZeroFrom(tail)) {
        PageRef copy = PageBuffer::Copy(*last->second.data);
        std::memset(copy->data() + tail, 0, page_size - tail);
        last->second.data = std::move(copy);
      }
    }
  }
  // Forgets pages no record ever mapped. After a crash (or at a mount) they
  // are unreachable: the allocation that would have shown them was lost, and
  // a later record must not bring them back.
  // Only the inodes with unmapped pages are visited, and copied (if shared)
  // only when one of those pages is still there to drop.
  void DropUnmapped() {
    for (const auto& [ino, indexes] : unmapped) {
      const bool any = std::any_of(indexes.begin(), indexes.end(), [&, ino = ino](PageIndex index) {
        const PageSlot* slot = FindPage(ino, index);
        return slot != nullptr && !slot->mapped;
      });
      if (!any) continue;
      PageMap* slots = MutablePagesIfAny(ino);
      for (PageIndex index : indexes) {
        auto it = slots->find(index);
        if (it != slots->end() && !it->second.mapped) {
          page_bytes -= SizeOf(it->second.data);
          slots->erase(it);
        }
      }
    }
    unmapped.clear();
  }

  void ApplyOne(const FreeInode& r) {
    inodes.erase(r.ino);
    if (auto p = pages.find(r.ino); p != pages.end()) {
      for (const auto& [index, slot] : *p->second) page_bytes -= SizeOf(slot.data);
      pages.erase(p);
    }
    unmapped.erase(r.ino);
    entries.erase(r.ino);
  }
};

namespace {

class MemoryStore final : public Store {
 public:
  explicit MemoryStore(MemoryStoreOptions options) : options_(options) {}
  MemoryStore(MemoryStoreOptions options, MemoryContents contents)
      : options_(options), current_(std::move(contents)) {
    if (options_.volatile_cache) durable_ = current_;
  }

  Result<DurableImage> Load() override {
    MutexLock lock(&mu_);
    if (claimed_) return Error(EBUSY);
    claimed_ = true;
    current_.DropUnmapped();
    if (options_.volatile_cache) durable_.DropUnmapped();
    const MemoryContents& from = durable();
    DurableImage image;
    image.page_size = from.page_size;
    image.generation = from.generation;
    image.inodes = from.inodes;
    image.entries = from.entries;
    for (const auto& [ino, slots] : from.pages) {
      auto& out = image.pages[ino];
      for (const auto& [index, slot] : *slots) {
        if (slot.mapped) out.emplace_hint(out.end(), index, slot.data);
      }
    }
    return image;
  }

  void Release() override {
    MutexLock lock(&mu_);
    claimed_ = false;
  }

  Result<Ticket> Submit(std::vector<Request> requests) override {
    MutexLock lock(&mu_);
    ++stats_.submits;
    stats_.requests += requests.size();
    for (const Request& r : requests) {
      if (std::holds_alternative<PutPage>(r)) ++stats_.page_writes;
      stats_.bytes += PayloadBytes(r);
    }
    const Ticket ticket = ++last_ticket_;
    in_flight_.push_back({ticket, std::move(requests)});
    return ticket;
  }

  Result<void> Wait(Ticket ticket) override {
    MutexLock lock(&mu_);
    // In order: a request never lands before an earlier one it overrides.
    while (!in_flight_.empty() && in_flight_.front().ticket <= ticket) {
      for (const Request& r : in_flight_.front().requests) {
        current_.Apply(r);
        if (options_.volatile_cache) unflushed_.push_back(r);
      }
      in_flight_.pop_front();
    }
    return Ok();
  }

  Result<void> Flush() override {
    if (!options_.volatile_cache) return Ok();  // completed is durable already
    MutexLock lock(&mu_);
    if (unflushed_.empty()) return Ok();
    for (const Request& r : unflushed_) durable_.Apply(r);
    unflushed_.clear();
    ++stats_.flushes;
    return Ok();
  }

  Result<PageRef> ReadPage(InodeId ino, PageIndex index) override {
    MutexLock lock(&mu_);
    const PageSlot* slot = current_.FindPage(ino, index);
    if (slot == nullptr) return PageRef();
    return slot->data;
  }

  void Crash() override {
    MutexLock lock(&mu_);
    in_flight_.clear();
    if (options_.volatile_cache) {
      unflushed_.clear();
      current_ = durable_;
    }
    current_.DropUnmapped();
    if (options_.volatile_cache) durable_.DropUnmapped();
    claimed_ = false;
  }

  bool has_volatile_cache() const override { return options_.volatile_cache; }

  StoreStats Stats() const override {
    MutexLock lock(&mu_);
    StoreStats stats = stats_;
    stats.held_bytes = options_.volatile_cache ? std::max(current_.page_bytes, durable_.page_bytes)
                                               : current_.page_bytes;
    return stats;
  }

 private:
  struct InFlight {
    Ticket ticket;
    std::vector<Request> requests;
  };

  const MemoryContents& durable() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return options_.volatile_cache ? durable_ : current_;
  }

  const MemoryStoreOptions options_;
  mutable Mutex mu_;
  bool claimed_ ABSL_GUARDED_BY(mu_) = false;
  Ticket last_ticket_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<InFlight> in_flight_ ABSL_GUARDED_BY(mu_);
  // Durable plus completed. Without a volatile cache this is the durable view.
  MemoryContents current_ ABSL_GUARDED_BY(mu_);
  // With a volatile cache only: the durable view, and what it lacks.
  MemoryContents durable_ ABSL_GUARDED_BY(mu_);
  std::vector<Request> unflushed_ ABSL_GUARDED_BY(mu_);
  StoreStats stats_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

std::shared_ptr<Store> NewMemoryStore(MemoryStoreOptions options) {
  return std::make_shared<MemoryStore>(options);
}

MemoryImage::MemoryImage() : contents_(std::make_unique<MemoryContents>()) {}
MemoryImage::~MemoryImage() = default;
MemoryImage::MemoryImage(const MemoryImage& other)
    : contents_(std::make_unique<MemoryContents>(*other.contents_)) {}
MemoryImage& MemoryImage::operator=(const MemoryImage& other) {
  if (this != &other) contents_ = std::make_unique<MemoryContents>(*other.contents_);
  return *this;
}
// A moved-from image is empty, as a new one.
MemoryImage::MemoryImage(MemoryImage&& other) noexcept : contents_(std::move(other.contents_)) {
  other.contents_ = std::make_unique<MemoryContents>();
}
MemoryImage& MemoryImage::operator=(MemoryImage&& other) noexcept {
  if (this != &other) {
    contents_ = std::move(other.contents_);
    other.contents_ = std::make_unique<MemoryContents>();
  }
  return *this;
}

void MemoryImage::Apply(const Request& request) { contents_->Apply(request); }

PageRef MemoryImage::PageAt(InodeId ino, PageIndex index) const {
  const PageSlot* slot = contents_->FindPage(ino, index);
  return slot == nullptr ? PageRef() : slot->data;
}

std::shared_ptr<Store> NewMemoryStore(MemoryImage image, MemoryStoreOptions options) {
  return std::make_shared<MemoryStore>(options, std::move(*image.contents_));
}

}  // namespace vfs
