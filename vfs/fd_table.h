// FdSlots and FileRef: the descriptor table as calls read it, without a lock.
//
// The table proper (Filesystem::fds_, under fd_mu_) owns each open file
// description through a shared_ptr. FdSlots mirrors it as atomic raw
// pointers in chunks that never move, so a call finds its description with
// two loads and protects it with a hazard pointer (internal/hazard.h)
// instead of taking the lock and copying the shared_ptr. A description
// is deleted through hazard::Retire (MakeOpenFile), so one a call is using
// outlives a concurrent close() until that call ends, as with a reference.
//
// Internal header: not part of the public API.
// Thread-safety: Get is safe from any thread at any time; Set only under the
// table lock.
#ifndef VFS_FD_TABLE_H_
#define VFS_FD_TABLE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "vfs/internal/hazard.h"

namespace vfs {

struct OpenFile;

// An open file description held for the length of one call: protected by a
// hazard pointer, or, when the thread has none free, by a reference.
// Release it on the thread that took it, with no inode lock held (its end
// may delete a description).
class FileRef {
 public:
  FileRef() = default;
  OpenFile* get() const { return file_; }
  OpenFile& operator*() const { return *file_; }
  OpenFile* operator->() const { return file_; }

 private:
  friend class FdSlots;
  friend class Filesystem;
  OpenFile* file_ = nullptr;
  hazard::HazardGuard guard_;
  std::shared_ptr<OpenFile> owner_;  // the fallback when guard_ is unused
};

class FdSlots {
 public:
  FdSlots() = default;
  FdSlots(const FdSlots&) = delete;
  FdSlots& operator=(const FdSlots&) = delete;
  ~FdSlots() { delete dir_.load(std::memory_order_relaxed); }

  // Looks descriptor `n` up and protects what it finds: sets out->file_ to
  // the description, or to null if `n` is not open. Returns false, leaving
  // `out` alone, if the thread's hazard slots are all in use.
  bool Get(int n, FileRef* out) const {
    out->file_ = nullptr;
    if (n < 0) return true;
    const Directory* dir = dir_.load(std::memory_order_acquire);
    const uint32_t c = static_cast<uint32_t>(n) >> kChunkBits;
    if (dir == nullptr || c >= dir->capacity) return true;
    const Chunk* chunk = dir->chunks[c].load(std::memory_order_acquire);
    if (chunk == nullptr) return true;
    return out->guard_.Protect(chunk->slots[n & (kChunk - 1)], &out->file_);
  }

  // Points descriptor `n` at `file` (null: closed). Only under the table
  // lock. The store is sequentially consistent, as hazard pointers need.
  void Set(int n, OpenFile* file) {
    const uint32_t c = static_cast<uint32_t>(n) >> kChunkBits;
    Directory* dir = dir_.load(std::memory_order_relaxed);
    if (dir == nullptr || c >= dir->capacity) dir = Grow(c + 1);
    Chunk* chunk = dir->chunks[c].load(std::memory_order_relaxed);
    if (chunk == nullptr) {
      if (file == nullptr) return;
      chunks_.push_back(std::make_unique<Chunk>());
      chunk = chunks_.back().get();
      dir->chunks[c].store(chunk, std::memory_order_release);
    }
    chunk->slots[n & (kChunk - 1)].store(file, std::memory_order_seq_cst);
  }

 private:
  static constexpr int kChunkBits = 6;
  static constexpr int kChunk = 1 << kChunkBits;
  struct Chunk {
    std::atomic<OpenFile*> slots[kChunk] = {};
  };
  struct Directory {
    explicit Directory(uint32_t n) : capacity(n), chunks(new std::atomic<Chunk*>[n]()) {}
    const uint32_t capacity;
    const std::unique_ptr<std::atomic<Chunk*>[]> chunks;
    Directory* previous = nullptr;  // kept: a reader may still be in it
    ~Directory() { delete previous; }
  };

  // A directory of at least `need` chunks, with the old one's chunks.
  Directory* Grow(uint32_t need) {
    Directory* old = dir_.load(std::memory_order_relaxed);
    uint32_t capacity = old == nullptr ? 4 : old->capacity * 2;
    while (capacity < need) capacity *= 2;
    auto* dir = new Directory(capacity);
    for (uint32_t i = 0; old != nullptr && i < old->capacity; ++i) {
      dir->chunks[i].store(old->chunks[i].load(std::memory_order_relaxed), std::memory_order_relaxed);
    }
    dir->previous = old;
    dir_.store(dir, std::memory_order_release);
    return dir;
  }

  std::atomic<Directory*> dir_{nullptr};
  std::vector<std::unique_ptr<Chunk>> chunks_;  // owned; written under the table lock
};

}  // namespace vfs

#endif  // VFS_FD_TABLE_H_
