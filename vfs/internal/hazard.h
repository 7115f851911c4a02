// Hazard pointers: reading a shared pointer without a lock or a reference
// count, for the descriptor table.
//
// A call looks its descriptor up with HazardGuard::Protect instead of
// copying a shared_ptr under the table lock: one atomic exchange instead of
// a lock, an unlock and two reference-count updates (four locked
// instructions on x86; about 22 ns of a 40 ns pwrite, docs/benchmarks.md).
// An object that such a guard may be reading is not deleted directly but
// handed to Retire, which deletes it at once if no guard protects it, or
// else when the last guard protecting it is reset. So deletion stays prompt:
// the last close of a description that another thread is using takes effect
// when that thread's call ends, as with a reference count.
//
// The protocol is Michael's (IEEE TPDS 2004): publish the pointer in a
// per-thread slot, then check the source still holds it; a retirer, whose
// object is already gone from every source, scans the slots. Resetting a
// guard is a plain store followed by a check of a global "something is
// waiting" count; the retirer pays for that with membarrier(2)
// (MEMBARRIER_CMD_PRIVATE_EXPEDITED) when, and only when, it finds its object
// still protected. Where membarrier is unavailable (an old kernel, a seccomp
// sandbox) resets use a full barrier instead.
//
// Slots are per thread, not per domain: one process-wide registry serves
// every Filesystem. Each thread has kSlotsPerThread slots; Protect returns
// false when they are all in use (nested calls), and the caller falls back
// to a locked, counted lookup.
//
// Thread-safety: everything here is thread-safe. A guard belongs to the
// thread that set it and must be reset on that thread.
#ifndef VFS_INTERNAL_HAZARD_H_
#define VFS_INTERNAL_HAZARD_H_

#include <atomic>
#include <cstdint>
#include <utility>

namespace vfs::hazard {

inline constexpr int kSlotsPerThread = 4;

// One thread's slots. Records are never freed: a thread that exits leaves
// its record to the next new thread.
struct alignas(64) Record {
  std::atomic<const void*> slots[kSlotsPerThread] = {};
  std::atomic<bool> owned{false};
  Record* next = nullptr;  // set before the record is published
};

namespace internal {
// The calling thread's record and its busy slots (bit i: slot i).
struct ThreadState {
  Record* record = nullptr;
  uint32_t busy = 0;
};
inline thread_local ThreadState t_state;  // trivially destructible: direct TLS access
Record* RegisterThread();
// Objects handed to Retire that are still protected.
extern std::atomic<uint64_t> g_waiting;
extern bool g_asymmetric;  // membarrier is available: resets need no barrier
void ClearSlow(std::atomic<const void*>* slot);
}  // namespace internal

class HazardGuard {
 public:
  HazardGuard() = default;
  HazardGuard(HazardGuard&& other) noexcept : slot_(std::exchange(other.slot_, nullptr)) {}
  HazardGuard& operator=(HazardGuard&& other) noexcept {
    if (this != &other) {
      Reset();
      slot_ = std::exchange(other.slot_, nullptr);
    }
    return *this;
  }
  HazardGuard(const HazardGuard&) = delete;
  HazardGuard& operator=(const HazardGuard&) = delete;
  ~HazardGuard() { Reset(); }

  // Loads `source` and, if it holds an object, protects that object from
  // Retire until Reset. Sets *out to the object (null if `source` is empty:
  // then nothing is protected). Returns false, protecting nothing, if this
  // thread's slots are all in use. The guard must not be protecting already.
  template <typename T>
  bool Protect(const std::atomic<T*>& source, T** out) {
    internal::ThreadState& state = internal::t_state;
    if (state.record == nullptr) state.record = internal::RegisterThread();
    const uint32_t free = ~state.busy & ((1u << kSlotsPerThread) - 1);
    if (free == 0) return false;
    std::atomic<const void*>* slot = &state.record->slots[__builtin_ctz(free)];
    T* object = source.load(std::memory_order_acquire);
    while (object != nullptr) {
      // The exchange orders the publication before the check below
      // (store-load), as the retirer's scan needs.
      slot->exchange(object, std::memory_order_seq_cst);
      T* again = source.load(std::memory_order_seq_cst);
      if (again == object) break;
      // Gone or replaced between the load and the publication; the slot
      // may have made a retirer wait, so it is cleared as a reset is.
      Clear(slot);
      object = again;
    }
    *out = object;
    if (object != nullptr) {
      state.busy |= 1u << (slot - state.record->slots);
      slot_ = slot;
    }
    return true;
  }

  // Ends the protection, if any. An object retired meanwhile is deleted now
  // if no other guard protects it.
  void Reset() {
    if (slot_ == nullptr) return;
    internal::ThreadState& state = internal::t_state;
    state.busy &= ~(1u << (slot_ - state.record->slots));
    Clear(std::exchange(slot_, nullptr));
  }

  bool protecting() const { return slot_ != nullptr; }

 private:
  static void Clear(std::atomic<const void*>* slot) {
    if (internal::g_asymmetric) {
      slot->store(nullptr, std::memory_order_release);
      // A compiler barrier only: the retirer's membarrier makes it a full one
      // when it matters.
      std::atomic_signal_fence(std::memory_order_seq_cst);
    } else {
      slot->exchange(nullptr, std::memory_order_seq_cst);
    }
    if (internal::g_waiting.load(std::memory_order_seq_cst) != 0) internal::ClearSlow(slot);
  }

  std::atomic<const void*>* slot_ = nullptr;
};

// Deletes `object` with `deleter(object)`: now if no guard protects it,
// otherwise when the last guard protecting it is reset (on that guard's
// thread). `object` must already be unreachable from every source a guard
// loads from.
void Retire(void* object, void (*deleter)(void*));

// Deletes every retired object that no guard protects; returns how many
// retired objects remain protected. For tests and for teardown.
uint64_t ReclaimNow();

}  // namespace vfs::hazard

#endif  // VFS_INTERNAL_HAZARD_H_
