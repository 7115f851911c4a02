// MemoryTrimmer: gives the memory a mount freed back to the system.
//
// The VFS keeps file data in 4 KiB page buffers from the C++ allocator.
// glibc's malloc keeps freed chunks in the arena of the thread that freed
// them and returns memory to the system only from the top of a heap, so a
// mount whose FUSE workers write and delete large files (stress-ng's hdd,
// fallocate and iomix stressors) kept its peak in every worker's arena:
// resident memory grew to gigabytes while the store held nothing
// (docs/mount.md, "Under stress-ng"). The trimmer checks, every `period`,
// how much the allocator holds free (mallinfo2) and, past `threshold`,
// returns the free pages of every arena (malloc_trim).
//
//   MemoryTrimmer trimmer(std::chrono::seconds(1), 64 << 20);  // until destroyed
//
// Thread-safety: TrimNow may be called from any thread.
#ifndef TOOLS_MOUNT_MEMORY_TRIMMER_H_
#define TOOLS_MOUNT_MEMORY_TRIMMER_H_

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <thread>

namespace vfs {

class MemoryTrimmer {
 public:
  MemoryTrimmer(std::chrono::milliseconds period, size_t threshold);
  // Stops the thread.
  ~MemoryTrimmer();
  MemoryTrimmer(const MemoryTrimmer&) = delete;
  MemoryTrimmer& operator=(const MemoryTrimmer&) = delete;

  // The bytes the allocator holds free, in all arenas.
  static size_t FreeBytes();
  // Returns the allocator's free pages to the system now.
  static void TrimNow();
  // Trims passes so far that found at least the threshold free.
  size_t trims() const;

 private:
  void Loop();

  const std::chrono::milliseconds period_;
  const size_t threshold_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;  // guarded by mu_
  size_t trims_ = 0;   // guarded by mu_
  std::thread thread_;
};

}  // namespace vfs

#endif  // TOOLS_MOUNT_MEMORY_TRIMMER_H_
