#include "backends/disk/store_state.h"

#include <algorithm>

namespace vfs::disk {
namespace {

struct ApplyVisitor {
  StoreState* s;

  void operator()(const PutSuperblock& r) const { s->page_size = r.page_size; }
  void operator()(const PageRecord& r) const {
    auto [it, is_new] = s->pages[r.ino].try_emplace(r.index);
    PageSlot& slot = it->second;
    // An overwrite of an allocated page stays allocated; a new page waits
    // for the next record of its inode (D5).
    if (is_new) {
      s->unmapped[r.ino].push_back(r.index);
    } else {
      s->page_bytes -= slot.loc.size;
    }
    slot.loc = r.loc;
    slot.generation = r.generation;
    s->page_bytes += r.loc.size;
    s->generation = std::max(s->generation, r.generation);
  }
  void operator()(const PutInode& r) const {
    auto it = s->inodes.find(r.record.ino);
    if (r.data_only && it != s->inodes.end()) {
      it->second.size = r.record.size;
    } else {
      s->inodes[r.record.ino] = r.record;
    }
    auto u = s->unmapped.find(r.record.ino);
    if (u == s->unmapped.end()) return;
    auto p = s->pages.find(r.record.ino);
    if (p != s->pages.end()) {
      for (PageIndex index : u->second) {
        auto slot = p->second.find(index);  // a Truncate may have dropped it
        if (slot != p->second.end()) slot->second.mapped = true;
      }
    }
    s->unmapped.erase(u);
  }
  void operator()(const PutDirent& r) const { s->entries[r.dir][r.name] = r.ino; }
  void operator()(const DelDirent& r) const {
    auto it = s->entries.find(r.dir);
    if (it != s->entries.end()) it->second.erase(r.name);
  }
  void operator()(const Truncate& r) const {
    s->generation = std::max(s->generation, r.generation);
    auto p = s->pages.find(r.ino);
    if (p == s->pages.end() || s->page_size == 0) return;
    const uint64_t keep = (r.size + s->page_size - 1) / s->page_size;  // pages kept
    for (auto it = p->second.lower_bound(PageIndex(keep));
         it != p->second.end() && it->first.value() < r.end_page;) {
      if (it->second.generation < r.generation) {
        s->page_bytes -= it->second.loc.size;
        it = p->second.erase(it);
      } else {
        ++it;
      }
    }
    // The tail of the page holding the new size reads as zeros: recorded as
    // a shorter valid length, so no page is rewritten.
    const uint32_t tail = static_cast<uint32_t>(r.size % s->page_size);
    if (tail != 0) {
      auto last = p->second.find(PageIndex(r.size / s->page_size));
      if (last != p->second.end() && last->second.generation < r.generation) {
        last->second.loc.valid = std::min(last->second.loc.valid, tail);
      }
    }
  }
  void operator()(const FreeInode& r) const {
    s->inodes.erase(r.ino);
    auto p = s->pages.find(r.ino);
    if (p != s->pages.end()) {
      for (const auto& [index, slot] : p->second) s->page_bytes -= slot.loc.size;
      s->pages.erase(p);
    }
    s->unmapped.erase(r.ino);
    s->entries.erase(r.ino);
  }
  void operator()(const ForgetUnmapped&) const { s->DropUnmapped(); }
  void operator()(const GenerationRecord& r) const {
    s->generation = std::max(s->generation, r.generation);
  }
};

}  // namespace

void StoreState::Apply(const Record& record) { std::visit(ApplyVisitor{this}, record); }

void StoreState::Restore(const Record& record) {
  if (const auto* page = std::get_if<PageRecord>(&record)) {
    PageSlot& slot = pages[page->ino][page->index];
    slot.loc = page->loc;
    slot.generation = page->generation;
    slot.mapped = page->mapped;
    page_bytes += page->loc.size;
    if (!page->mapped) unmapped[page->ino].push_back(page->index);
    return;
  }
  if (const auto* inode = std::get_if<PutInode>(&record)) {
    inodes[inode->record.ino] = inode->record;
    return;
  }
  // The rest mean the same in a checkpoint as in the log.
  Apply(record);
}

void StoreState::DropUnmapped() {
  // Only listed pages can be unmapped, so this costs O(unmapped), not
  // O(pages).
  for (const auto& [ino, indexes] : unmapped) {
    auto p = pages.find(ino);
    if (p == pages.end()) continue;
    for (PageIndex index : indexes) {
      auto slot = p->second.find(index);
      if (slot != p->second.end() && !slot->second.mapped) {
        page_bytes -= slot->second.loc.size;
        p->second.erase(slot);
      }
    }
  }
  unmapped.clear();
}

uint64_t StoreState::LiveBytes() const {
  uint64_t bytes = page_bytes + inodes.size() * 96;
  for (const auto& [dir, names] : entries) bytes += names.size() * 48;
  for (const auto& [ino, slots] : pages) bytes += slots.size() * 48;
  return bytes;
}

}  // namespace vfs::disk
