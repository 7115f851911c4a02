// StoreState: the disk store's image in memory, as the memory store keeps
// it, except that a page is a location in the store's files (PageLoc), not
// its bytes. Replaying the log through Apply gives, record for record, what
// the memory store's Contents::Apply gives (backends/memory/memory_store.cc):
// the same mapping rule (D5: a new page is readable after a crash only once a
// later record of its inode completes), the same generation rule for
// truncations, and the same forgetting of unmapped pages at a Load.
//
// Thread-safety: none; the store's lock guards it.
#ifndef BACKENDS_DISK_STORE_STATE_H_
#define BACKENDS_DISK_STORE_STATE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/btree_map.h"
#include "backends/disk/log_format.h"
#include "vfs/store.h"

namespace vfs::disk {

struct PageSlot {
  PageLoc loc;
  uint64_t generation = 0;
  bool mapped = false;  // part of the inode's durable allocation (D5)
};

struct StoreState {
  uint32_t page_size = 0;
  uint64_t generation = 0;
  absl::btree_map<InodeId, InodeRecord> inodes;
  absl::btree_map<InodeId, absl::btree_map<std::string, InodeId>> entries;
  absl::btree_map<InodeId, absl::btree_map<PageIndex, PageSlot>> pages;
  // Pages written since their inode's last record; a record maps only these.
  absl::btree_map<InodeId, std::vector<PageIndex>> unmapped;
  uint64_t page_bytes = 0;  // bytes of every page held: the live data

  // A record of the log.
  void Apply(const Record& record);
  // A record of a checkpoint: the state as it was, mapped flags included.
  void Restore(const Record& record);
  // Forgets pages no record mapped (at a Load, as the memory store does).
  void DropUnmapped();
  bool HasUnmapped() const { return !unmapped.empty(); }
  // Bytes a checkpoint of this state would take, roughly.
  uint64_t LiveBytes() const;
};

}  // namespace vfs::disk

#endif  // BACKENDS_DISK_STORE_STATE_H_
