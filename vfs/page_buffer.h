// PageBuffer: the bytes of one page, shared by reference count between the
// page cache and a store.
//
// A commit hands the store a PageRef to the cached buffer, so no data is
// copied. A shared buffer is never written again: the cache copies it first
// (copy on write), so a page written after a commit is copied then, once.
// Thread-safety: the reference count is atomic; the bytes of a buffer with
// more than one reference are immutable, and a buffer with one reference
// belongs to its holder.
#ifndef VFS_PAGE_BUFFER_H_
#define VFS_PAGE_BUFFER_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>

#include "boost/smart_ptr/intrusive_ptr.hpp"

namespace vfs {

class PageBuffer;
using PageRef = boost::intrusive_ptr<PageBuffer>;

class PageBuffer {
 public:
  // A zero-filled buffer of `size` bytes.
  static PageRef Allocate(uint32_t size) {
    void* mem = ::operator new(sizeof(PageBuffer) + size);
    auto* page = new (mem) PageBuffer(size);
    std::memset(page->data(), 0, size);
    return PageRef(page);
  }
  // A private copy of `other`.
  static PageRef Copy(const PageBuffer& other) {
    void* mem = ::operator new(sizeof(PageBuffer) + other.size_);
    auto* page = new (mem) PageBuffer(other.size_);
    std::memcpy(page->data(), other.data(), other.size_);
    return PageRef(page);
  }

  char* data() { return reinterpret_cast<char*>(this + 1); }
  const char* data() const { return reinterpret_cast<const char*>(this + 1); }
  uint32_t size() const { return size_; }
  // True when the caller's reference is the only one, so writing is safe.
  bool unique() const { return refs_.load(std::memory_order_acquire) == 1; }
  // True when every byte from `from` to the end is zero.
  bool ZeroFrom(uint32_t from) const {
    for (uint32_t i = from; i < size_; ++i) {
      if (data()[i] != 0) return false;
    }
    return true;
  }

  friend void intrusive_ptr_add_ref(PageBuffer* p) {
    p->refs_.fetch_add(1, std::memory_order_relaxed);
  }
  friend void intrusive_ptr_release(PageBuffer* p) {
    if (p->refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      p->~PageBuffer();
      ::operator delete(p);
    }
  }

 private:
  explicit PageBuffer(uint32_t size) : size_(size) {}
  std::atomic<uint32_t> refs_{0};
  uint32_t size_;
  // The bytes follow the 8-byte header, so they are 8-aligned; a 4 KiB page
  // then takes one allocation of 4104 bytes.
};

}  // namespace vfs

#endif  // VFS_PAGE_BUFFER_H_
