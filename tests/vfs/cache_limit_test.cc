// Options::max_cache_bytes: the page cache drops clean pages the store holds
// and reads them back, so a filesystem larger than the cache works; dirty
// pages are never dropped.
#include <fcntl.h>

#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "backends/memory/memory_store.h"
#include "gtest/gtest.h"
#include "tests/test_util.h"
#include "vfs/filesystem.h"

namespace vfs::testing {
namespace {

constexpr uint64_t kLimitPages = 64;

// Page i of the test file: every byte says which page and which pass.
std::string PageBytes(uint64_t i, char pass) {
  std::string bytes(kPage, pass);
  const std::string tag = std::to_string(i) + "/";
  bytes.replace(0, tag.size(), tag);
  return bytes;
}

class CacheLimitTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    store_ = GetParam() == "disk" ? NewTemporaryDiskStore() : NewMemoryStore();
    ASSERT_NE(store_, nullptr);
    options_.clock = TickingClock();
    options_.max_cache_bytes = kLimitPages * kPage;
    Remount();
  }
  void Remount() {
    fs_.reset();
    auto mounted = Filesystem::Mount(store_, options_);
    ASSERT_TRUE(mounted.ok()) << strerror(mounted.error());
    fs_ = std::move(mounted).value();
  }
  // Writes `pages` pages to /big, syncing every 16 so clean pages pile up.
  void WriteBig(uint64_t pages, char pass) {
    auto fd = fs_->Open("/big", O_RDWR | O_CREAT, 0644);
    ASSERT_TRUE(fd.ok());
    for (uint64_t i = 0; i < pages; ++i) {
      const std::string bytes = PageBytes(i, pass);
      ASSERT_TRUE(fs_->Pwrite(*fd, bytes.data(), kPage, static_cast<int64_t>(i * kPage)).ok());
      if (i % 16 == 15) {
        ASSERT_TRUE(fs_->Fsync(*fd).ok());
      }
    }
    ASSERT_TRUE(fs_->Fsync(*fd).ok());
    ASSERT_TRUE(fs_->Close(*fd).ok());
  }
  // Reads /big back and checks every page.
  void CheckBig(uint64_t pages, char pass) {
    auto fd = fs_->Open("/big", O_RDONLY);
    ASSERT_TRUE(fd.ok());
    std::string got(kPage, '\0');
    for (uint64_t i = 0; i < pages; ++i) {
      auto n = fs_->Read(*fd, got.data(), kPage);
      ASSERT_TRUE(n.ok());
      ASSERT_EQ(*n, kPage);
      ASSERT_EQ(got, PageBytes(i, pass)) << "page " << i;
      EXPECT_LE(fs_->CachedPages(), kLimitPages) << "after reading page " << i;
    }
    ASSERT_TRUE(fs_->Close(*fd).ok());
  }

  std::shared_ptr<Store> store_;
  Options options_;
  std::unique_ptr<Filesystem> fs_;
};

TEST_P(CacheLimitTest, WritingAndSyncingAFileEightTimesTheCacheStaysUnderTheLimit) {
  WriteBig(8 * kLimitPages, 'a');
  EXPECT_LE(fs_->CachedPages(), kLimitPages);
  CheckBig(8 * kLimitPages, 'a');
}

TEST_P(CacheLimitTest, OverwritingEvictedPagesReadsThemBackFirst) {
  WriteBig(4 * kLimitPages, 'a');
  // Overwrite the middle of every page: the rest must come from the store.
  auto fd = fs_->Open("/big", O_RDWR);
  ASSERT_TRUE(fd.ok());
  for (uint64_t i = 0; i < 4 * kLimitPages; ++i) {
    ASSERT_TRUE(fs_->Pwrite(*fd, "Z", 1, static_cast<int64_t>(i * kPage + 100)).ok());
    if (i % 16 == 15) {
      ASSERT_TRUE(fs_->Fsync(*fd).ok());
    }
  }
  ASSERT_TRUE(fs_->Fsync(*fd).ok());
  std::string got(kPage, '\0');
  for (uint64_t i = 0; i < 4 * kLimitPages; ++i) {
    ASSERT_TRUE(fs_->Pread(*fd, got.data(), kPage, static_cast<int64_t>(i * kPage)).ok());
    std::string want = PageBytes(i, 'a');
    want[100] = 'Z';
    ASSERT_EQ(got, want) << "page " << i;
  }
}

TEST_P(CacheLimitTest, DirtyPagesAreNeverDroppedEvenAboveTheLimit) {
  auto fd = fs_->Open("/dirty", O_RDWR | O_CREAT, 0644);
  ASSERT_TRUE(fd.ok());
  const uint64_t pages = 2 * kLimitPages;
  for (uint64_t i = 0; i < pages; ++i) {
    const std::string bytes = PageBytes(i, 'd');
    ASSERT_TRUE(fs_->Pwrite(*fd, bytes.data(), kPage, static_cast<int64_t>(i * kPage)).ok());
  }
  EXPECT_EQ(fs_->CachedPages(), pages);
  auto summary = fs_->DirtySummaryOf(*fd);
  ASSERT_TRUE(summary.ok());
  EXPECT_EQ(summary->dirty_pages, pages);
  // After the sync they are clean, and the next call brings the cache down.
  ASSERT_TRUE(fs_->Fsync(*fd).ok());
  std::string got(kPage, '\0');
  ASSERT_TRUE(fs_->Pread(*fd, got.data(), kPage, 0).ok());
  EXPECT_LE(fs_->CachedPages(), kLimitPages);
  for (uint64_t i = 0; i < pages; ++i) {
    ASSERT_TRUE(fs_->Pread(*fd, got.data(), kPage, static_cast<int64_t>(i * kPage)).ok());
    ASSERT_EQ(got, PageBytes(i, 'd')) << "page " << i;
  }
}

TEST_P(CacheLimitTest, AFileLargerThanTheCacheSurvivesRemount) {
  WriteBig(8 * kLimitPages, 'r');
  ASSERT_TRUE(fs_->Unmount().ok());
  Remount();
  CheckBig(8 * kLimitPages, 'r');
}

TEST_P(CacheLimitTest, CrashKeepsWhatWasSyncedOfAFileLargerThanTheCache) {
  WriteBig(4 * kLimitPages, 's');  // every page fsynced
  auto root = fs_->Open("/", O_RDONLY | O_DIRECTORY);
  ASSERT_TRUE(root.ok());
  ASSERT_TRUE(fs_->Fsync(*root).ok());  // and the name (rule D3)
  fs_->Crash();
  Remount();
  CheckBig(4 * kLimitPages, 's');
}

// Threads writing, syncing and reading their own files while each other's
// calls evict: every thread reads back exactly what it wrote, and the cache
// ends under the limit (the stress half runs under TSan in the sanitizer
// build).
TEST_P(CacheLimitTest, ThreadsEvictingEachOthersPagesReadBackTheirOwnData) {
  constexpr int kThreads = 4;
  constexpr uint64_t kPages = kLimitPages;  // 4 threads: 4 times the cache
  std::vector<std::thread> threads;
  std::vector<std::string> failures(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string path = "/t" + std::to_string(t);
      auto fd = fs_->Open(path, O_RDWR | O_CREAT, 0644);
      if (!fd.ok()) return void(failures[t] = "open");
      for (uint64_t i = 0; i < kPages; ++i) {
        const std::string bytes = PageBytes(i, static_cast<char>('a' + t));
        if (!fs_->Pwrite(*fd, bytes.data(), kPage, static_cast<int64_t>(i * kPage)).ok()) {
          return void(failures[t] = "pwrite");
        }
        if (i % 8 == 7 && !fs_->Fdatasync(*fd).ok()) return void(failures[t] = "fdatasync");
      }
      if (!fs_->Fdatasync(*fd).ok()) return void(failures[t] = "fdatasync");
      std::string got(kPage, '\0');
      for (int pass = 0; pass < 2; ++pass) {
        for (uint64_t i = 0; i < kPages; ++i) {
          if (!fs_->Pread(*fd, got.data(), kPage, static_cast<int64_t>(i * kPage)).ok()) {
            return void(failures[t] = "pread");
          }
          if (got != PageBytes(i, static_cast<char>('a' + t))) {
            return void(failures[t] = "page " + std::to_string(i) + " differs");
          }
        }
      }
      if (!fs_->Close(*fd).ok()) failures[t] = "close";
    });
  }
  for (auto& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(failures[t], "") << "thread " << t;
  EXPECT_LE(fs_->CachedPages(), kLimitPages);
}

INSTANTIATE_TEST_SUITE_P(Stores, CacheLimitTest, ::testing::Values("memory", "disk"),
                         [](const auto& info) { return info.param; });

TEST(CacheLimitUnlimitedTest, WithoutALimitSyncedPagesStayCached) {
  auto mounted = Filesystem::Mount(NewMemoryStore());
  ASSERT_TRUE(mounted.ok());
  std::unique_ptr<Filesystem> fs = std::move(mounted).value();
  auto fd = fs->Open("/f", O_RDWR | O_CREAT, 0644);
  ASSERT_TRUE(fd.ok());
  const std::string bytes(kPage, 'u');
  for (int i = 0; i < 256; ++i) {
    ASSERT_TRUE(fs->Pwrite(*fd, bytes.data(), kPage, int64_t{i} * kPage).ok());
  }
  ASSERT_TRUE(fs->Fsync(*fd).ok());
  EXPECT_EQ(fs->CachedPages(), 256u);
}

}  // namespace
}  // namespace vfs::testing
