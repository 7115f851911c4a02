// Tests for hazard pointers (vfs/internal/hazard.h): an object is deleted
// once, never while a guard protects it, and promptly when the last guard
// protecting it is reset.
#include "vfs/internal/hazard.h"

#include <atomic>
#include <cstdint>
#include <future>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace vfs::hazard {
namespace {

// An object that counts its deletions and knows whether it is alive.
struct Tracked {
  static constexpr uint64_t kAlive = 0xa11fe;
  explicit Tracked(std::atomic<int>* deleted) : deleted(deleted) {}
  uint64_t magic = kAlive;
  std::atomic<int>* deleted;
};

void DeleteTracked(void* p) {
  auto* t = static_cast<Tracked*>(p);
  t->magic = 0;
  t->deleted->fetch_add(1);
  delete t;
}

TEST(HazardTest, RetiringAnUnprotectedObjectDeletesItAtOnce) {
  std::atomic<int> deleted{0};
  Retire(new Tracked(&deleted), DeleteTracked);
  EXPECT_EQ(deleted.load(), 1);
}

TEST(HazardTest, ProtectOfAnEmptySourceProtectsNothing) {
  std::atomic<Tracked*> source{nullptr};
  HazardGuard guard;
  Tracked* got = reinterpret_cast<Tracked*>(1);
  ASSERT_TRUE(guard.Protect(source, &got));
  EXPECT_EQ(got, nullptr);
  EXPECT_FALSE(guard.protecting());
}

TEST(HazardTest, AProtectedObjectIsDeletedWhenItsGuardIsReset) {
  std::atomic<int> deleted{0};
  auto* object = new Tracked(&deleted);
  std::atomic<Tracked*> source{object};
  HazardGuard guard;
  Tracked* got = nullptr;
  ASSERT_TRUE(guard.Protect(source, &got));
  ASSERT_EQ(got, object);
  source.store(nullptr);  // unreachable first, as Retire requires
  Retire(object, DeleteTracked);
  EXPECT_EQ(deleted.load(), 0);
  EXPECT_EQ(got->magic, Tracked::kAlive);  // still readable
  guard.Reset();
  EXPECT_EQ(deleted.load(), 1);
  EXPECT_EQ(ReclaimNow(), 0u);
}

TEST(HazardTest, AnObjectTwoGuardsProtectWaitsForBoth) {
  std::atomic<int> deleted{0};
  auto* object = new Tracked(&deleted);
  std::atomic<Tracked*> source{object};
  HazardGuard first, second;
  Tracked* a = nullptr;
  Tracked* b = nullptr;
  ASSERT_TRUE(first.Protect(source, &a));
  ASSERT_TRUE(second.Protect(source, &b));
  source.store(nullptr);
  Retire(object, DeleteTracked);
  first.Reset();
  EXPECT_EQ(deleted.load(), 0);
  EXPECT_EQ(b->magic, Tracked::kAlive);
  second.Reset();
  EXPECT_EQ(deleted.load(), 1);
}

TEST(HazardTest, MovingAGuardMovesTheProtection) {
  std::atomic<int> deleted{0};
  auto* object = new Tracked(&deleted);
  std::atomic<Tracked*> source{object};
  HazardGuard moved_to;
  {
    HazardGuard guard;
    Tracked* got = nullptr;
    ASSERT_TRUE(guard.Protect(source, &got));
    moved_to = std::move(guard);
    EXPECT_FALSE(guard.protecting());  // NOLINT(bugprone-use-after-move): the point
  }
  EXPECT_TRUE(moved_to.protecting());
  source.store(nullptr);
  Retire(object, DeleteTracked);
  EXPECT_EQ(deleted.load(), 0);
  moved_to.Reset();
  EXPECT_EQ(deleted.load(), 1);
}

TEST(HazardTest, ProtectFailsWhenTheThreadsSlotsAreAllInUse) {
  std::atomic<int> deleted{0};
  auto* object = new Tracked(&deleted);
  std::atomic<Tracked*> source{object};
  std::vector<HazardGuard> guards(kSlotsPerThread);
  for (HazardGuard& guard : guards) {
    Tracked* got = nullptr;
    ASSERT_TRUE(guard.Protect(source, &got));
    ASSERT_EQ(got, object);
  }
  HazardGuard one_more;
  Tracked* got = nullptr;
  EXPECT_FALSE(one_more.Protect(source, &got));
  EXPECT_EQ(got, nullptr);
  EXPECT_FALSE(one_more.protecting());
  // A slot given back can be taken again.
  guards.back().Reset();
  EXPECT_TRUE(one_more.Protect(source, &got));
  EXPECT_EQ(got, object);
  source.store(nullptr);
  Retire(object, DeleteTracked);
  guards.clear();
  EXPECT_EQ(deleted.load(), 0);
  one_more.Reset();
  EXPECT_EQ(deleted.load(), 1);
}

TEST(HazardTest, AGuardOnAnotherThreadHoldsTheObjectUntilThatThreadResetsIt) {
  std::atomic<int> deleted{0};
  auto* object = new Tracked(&deleted);
  std::atomic<Tracked*> source{object};
  std::promise<void> protected_it, retired, reset_done;
  std::shared_future<void> retired_f = retired.get_future().share();
  std::thread reader([&] {
    HazardGuard guard;
    Tracked* got = nullptr;
    ASSERT_TRUE(guard.Protect(source, &got));
    protected_it.set_value();
    retired_f.wait();
    EXPECT_EQ(got->magic, Tracked::kAlive);  // retired, not deleted
    guard.Reset();                            // deletes it, on this thread
    EXPECT_EQ(deleted.load(), 1);
    reset_done.set_value();
  });
  protected_it.get_future().wait();
  source.store(nullptr);
  Retire(object, DeleteTracked);
  EXPECT_EQ(deleted.load(), 0);
  retired.set_value();
  reset_done.get_future().wait();
  reader.join();
  EXPECT_EQ(deleted.load(), 1);
}

// Readers protect and read whatever the source holds while a writer keeps
// replacing it and retiring the old object. Every read must find a live
// object (ASan and TSan builds check the memory itself), and every object
// must be deleted exactly once.
TEST(HazardTest, ReadersNeverSeeADeletedObjectWhileAWriterReplacesIt) {
  constexpr int kReplacements = 20000;
  std::atomic<int> deleted{0};
  std::atomic<Tracked*> source{new Tracked(&deleted)};
  std::atomic<bool> done{false};
  std::atomic<int> dead_reads{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r) {
    readers.emplace_back([&] {
      while (!done.load(std::memory_order_acquire)) {
        HazardGuard guard;
        Tracked* got = nullptr;
        if (!guard.Protect(source, &got) || got == nullptr) continue;
        if (got->magic != Tracked::kAlive) dead_reads.fetch_add(1);
      }
    });
  }
  for (int i = 0; i < kReplacements; ++i) {
    Tracked* old = source.exchange(new Tracked(&deleted));
    Retire(old, DeleteTracked);
  }
  done.store(true, std::memory_order_release);
  for (std::thread& t : readers) t.join();
  Retire(source.exchange(nullptr), DeleteTracked);
  EXPECT_EQ(ReclaimNow(), 0u);
  EXPECT_EQ(dead_reads.load(), 0);
  EXPECT_EQ(deleted.load(), kReplacements + 1);
}

TEST(HazardTest, ThreadsThatExitGiveTheirSlotsBack) {
  // Many short threads in turn: each must get a record (a new one or one an
  // exited thread left) and protect with it.
  std::atomic<int> deleted{0};
  auto* object = new Tracked(&deleted);
  std::atomic<Tracked*> source{object};
  for (int i = 0; i < 200; ++i) {
    std::thread t([&] {
      HazardGuard guard;
      Tracked* got = nullptr;
      EXPECT_TRUE(guard.Protect(source, &got));
      EXPECT_EQ(got, object);
    });
    t.join();
  }
  source.store(nullptr);
  Retire(object, DeleteTracked);
  EXPECT_EQ(deleted.load(), 1);  // no exited thread left a slot set
}

}  // namespace
}  // namespace vfs::hazard
