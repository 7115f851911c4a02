// Helpers shared by the tests: a filesystem on a memory store with a
// deterministic clock, crash-and-remount, and whole-file reads.
#ifndef TESTS_TEST_UTIL_H_
#define TESTS_TEST_UTIL_H_

#include <fcntl.h>

#include <atomic>
#include <memory>
#include <string>

#include "backends/memory/memory_store.h"
#include "gtest/gtest.h"
#include "vfs/filesystem.h"

namespace vfs::testing {

// A clock that advances one second per reading, so every timestamp differs.
inline Clock TickingClock() {
  auto now = std::make_shared<std::atomic<int64_t>>(1'000'000);
  return [now]() { return Timespec{now->fetch_add(1) + 1, 0}; };
}

// Asserts a Result succeeded and yields its value.
#define ASSERT_OK_AND_ASSIGN(lhs, expr)                                          \
  auto lhs##_result = (expr);                                                    \
  ASSERT_TRUE(lhs##_result.ok()) << #expr << ": " << strerror(lhs##_result.error()); \
  auto lhs = std::move(lhs##_result).value()
#define ASSERT_OK(expr)                                                 \
  do {                                                                  \
    auto _r = (expr);                                                   \
    ASSERT_TRUE(_r.ok()) << #expr << ": " << strerror(_r.error());      \
  } while (0)
#define EXPECT_OK(expr)                                                 \
  do {                                                                  \
    auto _r = (expr);                                                   \
    EXPECT_TRUE(_r.ok()) << #expr << ": " << strerror(_r.error());      \
  } while (0)
// Expects a Result to fail with errno `code`.
#define EXPECT_ERRNO(expr, code)                                             \
  do {                                                                       \
    auto _r = (expr);                                                        \
    EXPECT_FALSE(_r.ok()) << #expr << " succeeded; expected " << #code;      \
    EXPECT_EQ(_r.error(), code) << #expr << ": got " << strerror(_r.error()) \
                                << ", expected " << strerror(code);          \
  } while (0)

// A test fixture with a mounted filesystem on a memory store.
class VfsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = NewMemoryStore(store_options_);
    options_.clock = TickingClock();
    Remount();
  }

  // Mounts the store again (after Crash or Unmount).
  void Remount() {
    fs_.reset();
    auto mounted = Filesystem::Mount(store_, options_);
    ASSERT_TRUE(mounted.ok()) << strerror(mounted.error());
    fs_ = std::move(mounted).value();
  }

  // Power cut, then mount what is durable.
  void CrashAndRemount() {
    fs_->Crash();
    Remount();
  }

  Fd OpenOrDie(const std::string& path, int flags, uint32_t mode = 0644) {
    auto fd = fs_->Open(path, flags, mode);
    EXPECT_TRUE(fd.ok()) << path << ": " << strerror(fd.error());
    return fd.ok() ? *fd : Fd(-1);
  }

  void WriteAt(Fd fd, int64_t offset, const std::string& data) {
    auto n = fs_->Pwrite(fd, data.data(), data.size(), offset);
    ASSERT_TRUE(n.ok()) << strerror(n.error());
    ASSERT_EQ(*n, data.size());
  }

  // Creates `path` holding `data` (not synced).
  void WriteFile(const std::string& path, const std::string& data) {
    Fd fd = OpenOrDie(path, O_WRONLY | O_CREAT | O_TRUNC);
    WriteAt(fd, 0, data);
    ASSERT_TRUE(fs_->Close(fd).ok());
  }

  // The whole content of `path`, or nullopt-like "<errno N>" if it cannot be
  // opened.
  std::string ReadFile(const std::string& path) {
    auto fd = fs_->Open(path, O_RDONLY);
    if (!fd.ok()) return "<errno " + std::to_string(fd.error()) + ">";
    std::string out;
    char buf[65536];
    for (;;) {
      auto n = fs_->Read(*fd, buf, sizeof buf);
      if (!n.ok() || *n == 0) break;
      out.append(buf, *n);
    }
    (void)fs_->Close(*fd);
    return out;
  }

  bool Exists(const std::string& path) { return fs_->Lstat(path).ok(); }

  // fsync of a directory by path.
  void FsyncDir(const std::string& path) {
    Fd fd = OpenOrDie(path, O_RDONLY | O_DIRECTORY);
    ASSERT_TRUE(fs_->Fsync(fd).ok());
    ASSERT_TRUE(fs_->Close(fd).ok());
  }

  MemoryStoreOptions store_options_;
  Options options_;
  std::shared_ptr<Store> store_;
  std::unique_ptr<Filesystem> fs_;
};

}  // namespace vfs::testing

#endif  // TESTS_TEST_UTIL_H_
