// Errseq: a writeback error sequence word, as Linux's errseq_t (rule M5).
//
// One word per inode (and one per filesystem, for syncfs) records the latest
// writeback error and a counter. Each open file description keeps a cursor;
// CheckAndAdvance() reports an error the cursor has not seen, once per
// cursor (rules W2-W4). Layout: bits 0-11 the errno, bit 12 SEEN, bits 13-31
// a counter.
//
// Thread-safety: the word is atomic. A cursor must be guarded by its owner.
#ifndef VFS_ERRSEQ_H_
#define VFS_ERRSEQ_H_

#include <atomic>
#include <cstdint>

namespace vfs {

class Errseq {
 public:
  static constexpr uint32_t kErrnoMask = (1u << 12) - 1;  // MAX_ERRNO
  static constexpr uint32_t kSeen = 1u << 12;
  static constexpr uint32_t kCounterIncrement = 1u << 13;

  // Rule W2: records `err` (a positive errno). The counter moves only when the
  // previous error was seen, so an unseen repeat merges with the first.
  void Set(int err);
  // Rule W3: the cursor a newly opened description starts from: 0 while the
  // latest error is unseen (so the opener reports it), else the current word.
  uint32_t Sample() const;
  // Rule W4: 0 if `*cursor` is current; otherwise marks the error seen,
  // advances `*cursor` and returns the errno.
  int CheckAndAdvance(uint32_t* cursor);
  // True if an error was recorded that no cursor has seen yet.
  bool HasUnseenError() const;

  uint32_t raw() const { return word_.load(std::memory_order_acquire); }

 private:
  std::atomic<uint32_t> word_{0};
};

}  // namespace vfs

#endif  // VFS_ERRSEQ_H_
