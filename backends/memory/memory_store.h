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

#include "backends/store.h"

namespace vfs {

struct MemoryStoreOptions {
  // Completed requests are durable only after Flush().
  bool volatile_cache = false;
};

std::shared_ptr<Store> NewMemoryStore(MemoryStoreOptions options = {});

}  // namespace vfs

#endif  // BACKENDS_MEMORY_MEMORY_STORE_H_
