#include "tools/mount/memory_trimmer.h"

#include <malloc.h>

namespace vfs {

MemoryTrimmer::MemoryTrimmer(std::chrono::milliseconds period, size_t threshold)
    : period_(period), threshold_(threshold), thread_([this] { Loop(); }) {}

MemoryTrimmer::~MemoryTrimmer() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

size_t MemoryTrimmer::FreeBytes() {
  // fordblks: free chunks in every arena; the top chunks (keepcost) are
  // among them.
  const struct mallinfo2 info = ::mallinfo2();
  return info.fordblks;
}

void MemoryTrimmer::TrimNow() { (void)::malloc_trim(0); }

size_t MemoryTrimmer::trims() const {
  std::lock_guard<std::mutex> lock(mu_);
  return trims_;
}

void MemoryTrimmer::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!wake_.wait_for(lock, period_, [this] { return stop_; })) {
    lock.unlock();
    // mallinfo2 and malloc_trim lock each arena in turn, briefly: the
    // workers' allocations wait at most one arena's walk.
    const bool trim = FreeBytes() >= threshold_;
    if (trim) TrimNow();
    lock.lock();
    if (trim) ++trims_;
  }
}

}  // namespace vfs
