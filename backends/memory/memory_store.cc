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

// One view of the store's contents: durable, or durable plus completed.
struct Contents {
  uint32_t page_size = 0;
  uint64_t generation = 0;
  absl::btree_map<InodeId, InodeRecord> inodes;
  absl::btree_map<InodeId, absl::btree_map<std::string, InodeId>> entries;
  absl::btree_map<InodeId, absl::btree_map<PageIndex, PageSlot>> pages;
  // Pages written since the inode's last record, not yet mapped: a record
  // maps only these, so its cost does not grow with the file.
  absl::btree_map<InodeId, std::vector<PageIndex>> unmapped;

  void Apply(const Request& request) {
    std::visit([this](const auto& r) { ApplyOne(r); }, request);
  }

  void ApplyOne(const PutSuperblock& r) { page_size = r.page_size; }
  void ApplyOne(const PutPage& r) {
    auto [it, is_new] = pages[r.ino].try_emplace(r.index);
    PageSlot& slot = it->second;
    // An overwrite of an allocated page stays allocated; a new page waits
    // for the next record of its inode.
    if (is_new) unmapped[r.ino].push_back(r.index);
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
    auto p = pages.find(r.record.ino);
    if (p != pages.end()) {
      for (PageIndex index : u->second) {
        auto slot = p->second.find(index);  // a Truncate may have dropped it
        if (slot != p->second.end()) slot->second.mapped = true;
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
    auto p = pages.find(r.ino);
    if (p == pages.end() || page_size == 0) return;
    const uint64_t keep = (r.size + page_size - 1) / page_size;  // pages kept
    for (auto it = p->second.lower_bound(PageIndex(keep)); it != p->second.end();) {
      if (it->second.generation < r.generation) {
        it = p->second.erase(it);
      } else {
        ++it;
      }
    }
    const uint32_t tail = r.size % page_size;
    if (tail != 0) {
      auto last = p->second.find(PageIndex(r.size / page_size));
      if (last != p->second.end() && last->second.generation < r.generation &&
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
  void DropUnmapped() {
    for (auto& [ino, slots] : pages) {
      for (auto it = slots.begin(); it != slots.end();) {
        it = it->second.mapped ? std::next(it) : slots.erase(it);
      }
    }
    unmapped.clear();
  }

  void ApplyOne(const FreeInode& r) {
    inodes.erase(r.ino);
    pages.erase(r.ino);
    unmapped.erase(r.ino);
    entries.erase(r.ino);
  }
};

class MemoryStore final : public Store {
 public:
  explicit MemoryStore(MemoryStoreOptions options) : options_(options) {}

  Result<DurableImage> Load() override {
    MutexLock lock(&mu_);
    if (claimed_) return Error(EBUSY);
    claimed_ = true;
    current_.DropUnmapped();
    if (options_.volatile_cache) durable_.DropUnmapped();
    const Contents& from = durable();
    DurableImage image;
    image.page_size = from.page_size;
    image.generation = from.generation;
    image.inodes = from.inodes;
    image.entries = from.entries;
    for (const auto& [ino, slots] : from.pages) {
      auto& out = image.pages[ino];
      for (const auto& [index, slot] : slots) {
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
    auto p = current_.pages.find(ino);
    if (p == current_.pages.end()) return PageRef();
    auto slot = p->second.find(index);
    if (slot == p->second.end()) return PageRef();
    return slot->second.data;
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
    return stats_;
  }

 private:
  struct InFlight {
    Ticket ticket;
    std::vector<Request> requests;
  };

  const Contents& durable() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return options_.volatile_cache ? durable_ : current_;
  }

  const MemoryStoreOptions options_;
  mutable Mutex mu_;
  bool claimed_ ABSL_GUARDED_BY(mu_) = false;
  Ticket last_ticket_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<InFlight> in_flight_ ABSL_GUARDED_BY(mu_);
  // Durable plus completed. Without a volatile cache this is the durable view.
  Contents current_ ABSL_GUARDED_BY(mu_);
  // With a volatile cache only: the durable view, and what it lacks.
  Contents durable_ ABSL_GUARDED_BY(mu_);
  std::vector<Request> unflushed_ ABSL_GUARDED_BY(mu_);
  StoreStats stats_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

std::shared_ptr<Store> NewMemoryStore(MemoryStoreOptions options) {
  return std::make_shared<MemoryStore>(options);
}

}  // namespace vfs
