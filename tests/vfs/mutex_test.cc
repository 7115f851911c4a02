// vfs::Mutex, the futex mutex every inode and open file description holds:
// mutual exclusion under contention, and waiters woken (a lost wake-up would
// hang the test). Under TSan, a missing acquire or release shows as a race
// on the counter.
#include "vfs/internal/mutex.h"

#include <cstdint>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace vfs {
namespace {

TEST(MutexTest, ContendedIncrementsAreNeverLost) {
  constexpr int kThreads = 8;
  constexpr int kIncrements = 100000;
  Mutex mu;
  uint64_t counter = 0;  // deliberately not atomic: only the lock protects it
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kIncrements; ++i) {
        MutexLock lock(&mu);
        ++counter;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  MutexLock lock(&mu);
  EXPECT_EQ(counter, uint64_t{kThreads} * kIncrements);
}

TEST(MutexTest, AHolderThatSleepsInTheKernelIsWaitedFor) {
  // One thread holds the lock across a blocking system call (a thread join),
  // so the others that arrive meanwhile sleep on the futex and must be woken
  // by the unlock (a lost wake-up hangs the join below).
  Mutex mu;
  std::vector<int> order;
  mu.Lock();
  std::vector<std::thread> waiters;
  for (int t = 0; t < 4; ++t) {
    waiters.emplace_back([&, t] {
      MutexLock lock(&mu);
      order.push_back(t);
    });
  }
  std::thread other([] {});
  other.join();
  order.push_back(-1);  // the holder's own write, before any waiter's
  mu.Unlock();
  for (auto& waiter : waiters) waiter.join();
  MutexLock lock(&mu);
  ASSERT_EQ(order.size(), 5u);
  EXPECT_EQ(order.front(), -1);
}

}  // namespace
}  // namespace vfs
