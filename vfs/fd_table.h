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
#include <cstddef>
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

// The slots in use, as a bitmap with a second bitmap of its full words, so
// the lowest free slot at or above a hint is found in about n / 4096 word
// reads instead of a scan of every slot: the FUSE mount holds one O_PATH
// descriptor per inode the kernel knows, and a scan over tens of thousands
// of them at each open took a fifth of its time (docs/benchmarks.md).
// Thread-safety: none (the table lock).
class FdBitmap {
 public:
  // The lowest slot at or above `from` that is not in use (perhaps one
  // past every slot used so far).
  size_t LowestFreeFrom(size_t from) const {
    size_t word = from / 64;
    if (word >= used_.size()) return from;  // never used
    const uint64_t free_here = ~used_[word] & (~uint64_t{0} << (from % 64));
    if (free_here != 0) return word * 64 + static_cast<size_t>(__builtin_ctzll(free_here));
    ++word;
    // The first word after `word - 1` that is not full.
    for (size_t group = word / 64; group < full_.size(); ++group) {
      uint64_t not_full = ~full_[group];
      if (group == word / 64) not_full &= ~uint64_t{0} << (word % 64);
      if (not_full == 0) continue;
      const size_t w = group * 64 + static_cast<size_t>(__builtin_ctzll(not_full));
      if (w >= used_.size()) break;
      return w * 64 + static_cast<size_t>(__builtin_ctzll(~used_[w]));
    }
    return used_.size() * 64;
  }
  void Set(size_t slot) {
    const size_t word = slot / 64;
    if (word >= used_.size()) {
      used_.resize(word + 1, 0);
      full_.resize(used_.size() / 64 + 1, 0);
    }
    used_[word] |= uint64_t{1} << (slot % 64);
    if (used_[word] == ~uint64_t{0}) full_[word / 64] |= uint64_t{1} << (word % 64);
  }
  void Clear(size_t slot) {
    const size_t word = slot / 64;
    used_[word] &= ~(uint64_t{1} << (slot % 64));
    full_[word / 64] &= ~(uint64_t{1} << (word % 64));
  }

 private:
  std::vector<uint64_t> used_;  // bit s % 64 of word s / 64: slot s in use
  std::vector<uint64_t> full_;  // bit w % 64 of word w / 64: used_[w] full
};

}  // namespace vfs

#endif  // VFS_FD_TABLE_H_
