// Many threads doing I/O and durability calls on shared and separate files.
// Each thread owns the bytes it writes, so the final content is known exactly
// whatever the interleaving; the durability calls race with the writers.
#include <latch>
#include <thread>

#include "tests/test_util.h"

namespace vfs::testing {
namespace {

constexpr int kThreads = 6;
constexpr int kRounds = 200;
constexpr size_t kSlice = 1500;  // bytes per thread per round; crosses pages

// Where two byte strings first differ, for a short failure message.
std::string FirstDifference(const std::string& got, const std::string& want) {
  size_t i = 0;
  while (i < got.size() && i < want.size() && got[i] == want[i]) ++i;
  if (i == got.size() && i == want.size()) return "equal";
  return "sizes " + std::to_string(got.size()) + " vs " + std::to_string(want.size()) +
         ", first difference at byte " + std::to_string(i);
}

std::string Slice(int thread, int round) {
  return std::string(kSlice, static_cast<char>('a' + (thread * 7 + round) % 26));
}

TEST_F(VfsTest, SyncCallsRacingWithWritersLoseNothingAfterUnmount) {
  Fd shared = OpenOrDie("/shared", O_RDWR | O_CREAT);
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Fd own = OpenOrDie("/own" + std::to_string(t), O_RDWR | O_CREAT);
      start.arrive_and_wait();
      for (int r = 0; r < kRounds; ++r) {
        const std::string data = Slice(t, r);
        const int64_t at = (static_cast<int64_t>(r) * kThreads + t) * kSlice;
        EXPECT_OK(fs_->Pwrite(shared, data.data(), data.size(), at));
        EXPECT_OK(fs_->Pwrite(own, data.data(), data.size(), r * kSlice));
        switch ((t + r) % 5) {
          case 0: EXPECT_OK(fs_->Fsync(shared)); break;
          case 1: EXPECT_OK(fs_->Fdatasync(own)); break;
          case 2: EXPECT_OK(fs_->SyncFileRange(shared, at, kSlice, 7)); break;
          case 3: EXPECT_OK(fs_->SyncFileRange(shared, 0, 0, kSyncFileRangeWrite)); break;
          case 4: EXPECT_OK(fs_->FsyncRange(own, kFsyncRangeDataSync, 0, 0)); break;
        }
        if (r % 50 == 0) EXPECT_OK(fs_->Syncfs(own));
      }
      EXPECT_OK(fs_->Close(own));
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_OK(fs_->Close(shared));
  ASSERT_OK(fs_->Unmount());
  Remount();
  std::string expect_shared(static_cast<size_t>(kRounds) * kThreads * kSlice, '\0');
  for (int r = 0; r < kRounds; ++r) {
    for (int t = 0; t < kThreads; ++t) {
      expect_shared.replace((static_cast<size_t>(r) * kThreads + t) * kSlice, kSlice, Slice(t, r));
    }
  }
  EXPECT_EQ(FirstDifference(ReadFile("/shared"), expect_shared), "equal");
  for (int t = 0; t < kThreads; ++t) {
    std::string expect_own;
    for (int r = 0; r < kRounds; ++r) expect_own += Slice(t, r);
    EXPECT_EQ(FirstDifference(ReadFile("/own" + std::to_string(t)), expect_own), "equal")
        << "thread " << t;
  }
}

TEST_F(VfsTest, RenamesAndDirectoryFsyncsRacingKeepEveryFileExactlyOnce) {
  ASSERT_OK(fs_->Mkdir("/d", 0755));
  FsyncDir("/");  // D3: "/d" itself must be durable
  constexpr int kFiles = 40;
  for (int i = 0; i < kFiles; ++i) WriteFile("/d/f" + std::to_string(i), std::to_string(i));
  std::latch start(4);
  std::vector<std::thread> threads;
  // Two renamers move disjoint files back and forth between two names.
  for (int w = 0; w < 2; ++w) {
    threads.emplace_back([&, w] {
      start.arrive_and_wait();
      for (int round = 0; round < 100; ++round) {
        for (int i = w; i < kFiles; i += 2) {
          const std::string a = "/d/f" + std::to_string(i), b = "/d/g" + std::to_string(i);
          if (round % 2 == 0) EXPECT_OK(fs_->Rename(a, b));
          else EXPECT_OK(fs_->Rename(b, a));
        }
      }
    });
  }
  // Two syncers fsync the directory and read it meanwhile.
  for (int s = 0; s < 2; ++s) {
    threads.emplace_back([&] {
      start.arrive_and_wait();
      for (int round = 0; round < 100; ++round) {
        Fd dir = OpenOrDie("/d", O_RDONLY | O_DIRECTORY);
        EXPECT_OK(fs_->Fsync(dir));
        auto entries = fs_->ReadDir(dir);
        EXPECT_TRUE(entries.ok());
        EXPECT_OK(fs_->Close(dir));
      }
    });
  }
  for (auto& th : threads) th.join();
  FsyncDir("/d");
  CrashAndRemount();
  // 100 rounds: every file is back under its first name, exactly once, and
  // the crash kept the state of the last directory fsync.
  for (int i = 0; i < kFiles; ++i) {
    EXPECT_TRUE(Exists("/d/f" + std::to_string(i))) << i;
    EXPECT_FALSE(Exists("/d/g" + std::to_string(i))) << i;
  }
  ASSERT_OK_AND_ASSIGN(count, fs_->PendingEntryCount("/d"));
  EXPECT_EQ(count, 0u);
}

}  // namespace
}  // namespace vfs::testing
