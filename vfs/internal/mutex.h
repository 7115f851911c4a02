// Mutex and SharedMutex: a 4-byte futex mutex and std::shared_mutex, with
// Clang thread-safety annotations.
//
// Debian's Abseil is not built with ThreadSanitizer, so TSan misreports races
// on absl::Mutex. These keep both -Wthread-safety and TSan working: Mutex is
// built on std::atomic with acquire/release ordering, which TSan follows.
// Mutex is 4 bytes instead of std::mutex's 40 because every inode and every
// open file description holds one (docs/benchmarks.md, memory per file).
// Lock order in the library (outermost first): Filesystem::ns_mu_,
// OpenFile::pos_mu_, Inode::mu_, OpenFile::err_mu_, the fd table lock, and a
// store's own locks, which are leaves.
#ifndef VFS_INTERNAL_MUTEX_H_
#define VFS_INTERNAL_MUTEX_H_

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <shared_mutex>

#include "absl/base/attributes.h"
#include "absl/base/thread_annotations.h"

namespace vfs {

// The three-state futex mutex (0 unlocked, 1 locked, 2 locked with
// waiters), after Drepper's "Futexes Are Tricky": an uncontended lock and
// unlock are one atomic each and no system call.
class ABSL_LOCKABLE Mutex {
 public:
  // The uncontended path is forced inline, the waiting out of line: left to
  // itself the compiler stopped inlining these into the hot calls (fsync of
  // a clean file, pwrite) as they grew, and the two calls cost more than
  // the atomics (docs/benchmarks.md, "The POSIX work and the hot paths").
  ABSL_ATTRIBUTE_ALWAYS_INLINE void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() {
    uint32_t seen = 0;
    if (state_.compare_exchange_strong(seen, 1, std::memory_order_acquire)) [[likely]] return;
    LockSlow(seen);
  }
  ABSL_ATTRIBUTE_ALWAYS_INLINE void Unlock() ABSL_UNLOCK_FUNCTION() {
    if (state_.fetch_sub(1, std::memory_order_release) != 1) [[unlikely]] UnlockSlow();
  }
  void AssertHeld() const ABSL_ASSERT_EXCLUSIVE_LOCK() {}

 private:
  ABSL_ATTRIBUTE_NOINLINE void LockSlow(uint32_t seen) {
    if (seen != 2) seen = state_.exchange(2, std::memory_order_acquire);
    while (seen != 0) {
      Futex(FUTEX_WAIT_PRIVATE, 2);
      seen = state_.exchange(2, std::memory_order_acquire);
    }
  }
  ABSL_ATTRIBUTE_NOINLINE void UnlockSlow() {
    state_.store(0, std::memory_order_release);
    Futex(FUTEX_WAKE_PRIVATE, 1);
  }
  void Futex(int op, uint32_t value) {
    // EAGAIN (the word changed) and EINTR only send the caller round again.
    ::syscall(SYS_futex, reinterpret_cast<uint32_t*>(&state_), op, value, nullptr, nullptr, 0);
  }
  static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t));
  std::atomic<uint32_t> state_{0};
};

class ABSL_LOCKABLE SharedMutex {
 public:
  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { mu_.lock(); }
  void Unlock() ABSL_UNLOCK_FUNCTION() { mu_.unlock(); }
  void ReaderLock() ABSL_SHARED_LOCK_FUNCTION() { mu_.lock_shared(); }
  void ReaderUnlock() ABSL_UNLOCK_FUNCTION() { mu_.unlock_shared(); }

 private:
  std::shared_mutex mu_;
};

class ABSL_SCOPED_LOCKABLE MutexLock {
 public:
  // Inline, for the same reason as Mutex::Lock and Unlock.
  ABSL_ATTRIBUTE_ALWAYS_INLINE explicit MutexLock(Mutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu)
      : mu_(mu) {
    mu_->Lock();
  }
  ABSL_ATTRIBUTE_ALWAYS_INLINE ~MutexLock() ABSL_UNLOCK_FUNCTION() { mu_->Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* const mu_;
};

class ABSL_SCOPED_LOCKABLE WriterLock {
 public:
  explicit WriterLock(SharedMutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) { mu_->Lock(); }
  ~WriterLock() ABSL_UNLOCK_FUNCTION() { mu_->Unlock(); }
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;

 private:
  SharedMutex* const mu_;
};

class ABSL_SCOPED_LOCKABLE ReaderLock {
 public:
  explicit ReaderLock(SharedMutex* mu) ABSL_SHARED_LOCK_FUNCTION(mu) : mu_(mu) { mu_->ReaderLock(); }
  ~ReaderLock() ABSL_UNLOCK_FUNCTION() { mu_->ReaderUnlock(); }
  ReaderLock(const ReaderLock&) = delete;
  ReaderLock& operator=(const ReaderLock&) = delete;

 private:
  SharedMutex* const mu_;
};

}  // namespace vfs

#endif  // VFS_INTERNAL_MUTEX_H_
