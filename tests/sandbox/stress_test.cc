// Many threads doing I/O and syncs on shared and separate files, with rights narrowed while others use them. Built
// for ThreadSanitizer too (VFS_SANITIZE=thread): a clean run there is part of
// the claim. Seeds are fixed; threads start together on a barrier; nothing
// sleeps.
#include <fcntl.h>

#include <atomic>
#include <barrier>
#include <cstdio>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tests/test_util.h"

namespace vfs {
namespace {

using testing::kPage;
using testing::VfsTest;

constexpr int kThreads = 8;
constexpr int kOps = 150;

class SandboxStressTest : public VfsTest {};

// Each thread owns a page-aligned region of one shared file and a file of its
// own; it writes, reads back, and syncs with every durability call while the
// others do the same. Afterwards every region and file holds exactly its
// thread's last bytes, in memory and after a crash following a final fsync.
TEST_F(SandboxStressTest, SharedAndSeparateFilesKeepEveryThreadsBytes) {
  Fd shared = OpenOrDie("/shared", O_RDWR | O_CREAT);
  ASSERT_OK(fs_->Mkdir("/own", 0755));
  std::barrier start(kThreads + 2);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(1234 + t);  // fixed seeds
      const std::string path = "/own/t" + std::to_string(t);
      auto own = fs_->Open(path, O_RDWR | O_CREAT, 0644);
      start.arrive_and_wait();
      if (!own.ok()) { ++failures; return; }
      std::string page(kPage, '\0');
      std::string back(kPage, '\0');
      for (int op = 0; op < kOps; ++op) {
        const char c = static_cast<char>('a' + (op % 26));
        page.assign(kPage, c);
        const int64_t at = static_cast<int64_t>(t) * 2 * kPage + (rng() % 2) * kPage;
        if (!fs_->Pwrite(shared, page.data(), kPage, at).ok()) ++failures;
        if (!fs_->Pwrite(shared, page.data(), kPage, at ^ kPage).ok()) ++failures;
        auto n = fs_->Pread(shared, back.data(), kPage, at);
        if (!n.ok() || back != page) ++failures;  // no one else writes here
        if (!fs_->Pwrite(*own, page.data(), kPage, (rng() % 4) * kPage).ok()) ++failures;
        switch (rng() % 6) {
          case 0: if (!fs_->Fsync(shared).ok()) ++failures; break;
          case 1: if (!fs_->Fdatasync(*own).ok()) ++failures; break;
          case 2: if (!fs_->SyncFileRange(shared, at, kPage, 7).ok()) ++failures; break;
          case 3: if (fs_->FdSync(*own) != wasi::kSuccess) ++failures; break;
          case 4: if (!fs_->FsyncRange(*own, kFsyncRangeDataSync, 0, 0).ok()) ++failures; break;
          default: if (!fs_->Ftruncate(*own, 4 * kPage).ok()) ++failures; break;
        }
      }
      // Make the last state of this thread's regions the same everywhere.
      page.assign(kPage, 'Z');
      for (int64_t at : {int64_t{0}, int64_t{1} * kPage, int64_t{2} * kPage, int64_t{3} * kPage}) {
        if (!fs_->Pwrite(*own, page.data(), kPage, at).ok()) ++failures;
      }
      if (!fs_->Fsync(*own).ok()) ++failures;
      if (!fs_->Close(*own).ok()) ++failures;
    });
  }
  // A namespace thread: creates, renames and removes entries, fsyncing the
  // directory, while the writers run.
  threads.emplace_back([&] {
    EXPECT_OK(fs_->Mkdir("/ns", 0755));
    auto dir = fs_->Open("/ns", O_RDONLY | O_DIRECTORY);
    start.arrive_and_wait();
    if (!dir.ok()) { ++failures; return; }
    for (int i = 0; i < kOps; ++i) {
      const std::string a = "/ns/a" + std::to_string(i % 7);
      auto fd = fs_->Open(a, O_RDWR | O_CREAT, 0644);
      if (!fd.ok()) { ++failures; continue; }
      (void)fs_->Close(*fd);
      if (!fs_->Rename(a, "/ns/b" + std::to_string(i % 5), 0).ok()) ++failures;
      if (i % 3 == 0 && !fs_->Fsync(*dir).ok()) ++failures;
      if (i % 11 == 0 && !fs_->ReadDir(*dir).ok()) ++failures;
    }
  });
  // A whole-filesystem thread: syncfs and stat while everything changes.
  threads.emplace_back([&] {
    auto root = fs_->Open("/", O_RDONLY | O_DIRECTORY);
    start.arrive_and_wait();
    if (!root.ok()) { ++failures; return; }
    for (int i = 0; i < kOps / 3; ++i) {
      if (!fs_->Syncfs(*root).ok()) ++failures;
      if (!fs_->Statfs().ok()) ++failures;
      (void)fs_->Stat("/ns/b1");  // may or may not exist at this moment
    }
  });
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);

  ASSERT_OK(fs_->Fsync(shared));
  FsyncDir("/own");
  FsyncDir("/");
  // Each thread's two shared pages hold one letter each (its last writes).
  auto check = [&] {
    for (int t = 0; t < kThreads; ++t) {
      SCOPED_TRACE("thread " + std::to_string(t));
      const std::string all = ReadFile("/shared");
      ASSERT_GE(all.size(), static_cast<size_t>(kThreads) * 2 * kPage);
      for (int half = 0; half < 2; ++half) {
        const std::string region = all.substr((t * 2 + half) * kPage, kPage);
        EXPECT_EQ(region, std::string(kPage, region[0])) << "torn page";
      }
      EXPECT_EQ(ReadFile("/own/t" + std::to_string(t)), std::string(4 * kPage, 'Z'));
    }
  };
  check();
  CrashAndRemount();
  check();
}

// Readers race SetRights on a shared description: every call either runs
// with the old rights or is refused with the new answer, never anything else.
TEST_F(SandboxStressTest, RightsNarrowedWhileOthersReadAreSeenConsistently) {
  WriteFile("/f", testing::Fill('r', kPage));
  Fd fd = OpenOrDie("/f", O_RDWR);
  std::barrier start(kThreads + 1);
  std::atomic<int> unexpected{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      char buf[64];
      start.arrive_and_wait();
      for (int i = 0; i < kOps; ++i) {
        auto n = fs_->Pread(fd, buf, sizeof buf, 0);
        if (!n.ok() && n.error() != EACCES) ++unexpected;
        auto w = fs_->Pwrite(fd, "r", 1, 0);
        if (!w.ok() && w.error() != EACCES) ++unexpected;
      }
    });
  }
  start.arrive_and_wait();
  EXPECT_OK(fs_->SetRights(fd, wasi::kRightFdRead | wasi::kRightFdSeek, 0));
  EXPECT_OK(fs_->SetRights(fd, wasi::kRightFdRead, 0));
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(unexpected.load(), 0);
  EXPECT_ERRNO(fs_->Pwrite(fd, "r", 1, 0), EACCES);
  char c;
  EXPECT_ERRNO(fs_->Pread(fd, &c, 1, 0), EACCES);
  EXPECT_OK(fs_->Read(fd, &c, 1));
}

}  // namespace
}  // namespace vfs
