#include "vfs/errseq.h"

namespace vfs {

void Errseq::Set(int err) {
  if (err <= 0 || static_cast<uint32_t>(err) > kErrnoMask) return;
  uint32_t old = word_.load(std::memory_order_acquire);
  for (;;) {
    // Rule W2.1: clear errno and SEEN, store the new errno.
    uint32_t next = (old & ~(kErrnoMask | kSeen)) | static_cast<uint32_t>(err);
    // Rule W2.2: a seen error makes this a new one.
    if (old & kSeen) next += kCounterIncrement;
    // Rule W2.3: identical to the old value, nothing changes.
    if (next == old) return;
    if (word_.compare_exchange_weak(old, next, std::memory_order_acq_rel)) return;
  }
}

uint32_t Errseq::Sample() const {
  const uint32_t old = word_.load(std::memory_order_acquire);
  return (old & kSeen) ? old : 0;
}

int Errseq::CheckAndAdvance(uint32_t* cursor) {
  uint32_t old = word_.load(std::memory_order_acquire);
  if (old == *cursor) return 0;  // Rule W4.1
  // Rule W4.2: mark it seen, then copy the new value into the cursor.
  for (;;) {
    if (old & kSeen) break;
    if (word_.compare_exchange_weak(old, old | kSeen, std::memory_order_acq_rel)) {
      old |= kSeen;
      break;
    }
  }
  *cursor = old;
  return static_cast<int>(old & kErrnoMask);
}

bool Errseq::HasUnseenError() const {
  const uint32_t old = word_.load(std::memory_order_acquire);
  return (old & kErrnoMask) != 0 && !(old & kSeen);
}

}  // namespace vfs
