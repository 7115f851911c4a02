// The memory store: a durable image kept in memory.
//
// Pages are shared with the page cache by reference count, so committing a
// page copies no data. By default the store has no volatile cache: a request
// is durable once Wait() on its ticket returns, as on a device with power-loss
// protection. With `volatile_cache` it models a device write cache: completed
// requests become durable only at the next Flush().
//
// Thread-safety: thread-safe; every method takes one internal lock.
#ifndef BACKENDS_MEMORY_MEMORY_STORE_H_
#define BACKENDS_MEMORY_MEMORY_STORE_H_

#include <memory>

#include "vfs/store.h"

namespace vfs {

struct MemoryStoreOptions {
  // Completed requests are durable only after Flush().
  bool volatile_cache = false;
};

std::shared_ptr<Store> NewMemoryStore(MemoryStoreOptions options = {});

struct MemoryContents;  // memory_store.cc

// A store's contents built by applying requests, to seed many memory stores
// cheaply. A copy shares each inode's pages with the original and copies them
// only when one side changes them, so copying costs the number of inodes and
// entries, not of pages. The crash explorer keeps the image of what is
// durable at a crash point and seeds each crash state's store with a copy
// plus the few requests the state keeps (docs/crash-testing.md).
//
// Thread-safety: none; a copy may be used on another thread than the
// original (the shared pages are never changed in place).
class MemoryImage {
 public:
  MemoryImage();
  ~MemoryImage();
  MemoryImage(const MemoryImage& other);
  MemoryImage& operator=(const MemoryImage& other);
  MemoryImage(MemoryImage&& other) noexcept;
  MemoryImage& operator=(MemoryImage&& other) noexcept;

  // Applies `request` as a completed and durable write, in order after every
  // request applied before it (as a memory store applies completed requests).
  void Apply(const Request& request);
  // The page the image holds for `ino` at `index` now, mapped or not (what
  // Store::ReadPage returns), or null.
  PageRef PageAt(InodeId ino, PageIndex index) const;

 private:
  friend std::shared_ptr<Store> NewMemoryStore(MemoryImage image, MemoryStoreOptions options);
  std::unique_ptr<MemoryContents> contents_;
};

// A memory store that holds `image` as durable: mounting it shows what
// mounting a store that had completed (and flushed) the same requests shows.
std::shared_ptr<Store> NewMemoryStore(MemoryImage image, MemoryStoreOptions options = {});

}  // namespace vfs

#endif  // BACKENDS_MEMORY_MEMORY_STORE_H_
