// Helpers shared by the tests: a filesystem on a memory store with a
// deterministic clock, crash-and-remount, and whole-file reads.
#ifndef TESTS_TEST_UTIL_H_
#define TESTS_TEST_UTIL_H_

#include <fcntl.h>

#include <stdlib.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <ostream>
#include <string>

#include "backends/disk/disk_store.h"
#include "backends/memory/memory_store.h"
#include "gtest/gtest.h"
#include "vfs/filesystem.h"
#include "vfs/page_cache.h"

namespace vfs {

// Readable values in failure messages.
inline void PrintTo(PageState state, std::ostream* os) { *os << PageStateName(state); }
inline void PrintTo(const Timespec& t, std::ostream* os) { *os << t.sec << "." << t.nsec; }

namespace testing {

// The default page size, and the sync_file_range flags by short names.
inline constexpr uint32_t kPage = 4096;
inline constexpr unsigned kWrite = kSyncFileRangeWrite;
inline constexpr unsigned kWaitBefore = kSyncFileRangeWaitBefore;
inline constexpr unsigned kWaitAfter = kSyncFileRangeWaitAfter;
inline constexpr unsigned kAllFlags = kWaitBefore | kWrite | kWaitAfter;  // 7

// `n` bytes of `c`: a page of it by default.
inline std::string Fill(char c, size_t n = kPage) { return std::string(n, c); }

// `data` with every run of 8 or more equal bytes written as 'c'x<count>
// ("hello" '\0'x4091 'c'x4096), so page-sized contents print readably
// when a comparison fails.
inline std::string Runs(const std::string& data) {
  std::string out;
  std::string literal;
  auto flush = [&] {
    if (literal.empty()) return;
    if (!out.empty()) out += ' ';
    out += '"' + literal + '"';
    literal.clear();
  };
  for (size_t i = 0; i < data.size();) {
    size_t j = i;
    while (j < data.size() && data[j] == data[i]) ++j;
    if (j - i >= 8) {
      flush();
      if (!out.empty()) out += ' ';
      out += data[i] == '\0' ? std::string("'\\0'") : std::string("'") + data[i] + "'";
      out += "x" + std::to_string(j - i);
    } else {
      for (size_t k = i; k < j; ++k) {
        literal += data[k] == '\0' ? std::string("\\0") : std::string(1, data[k]);
      }
    }
    i = j;
  }
  flush();
  return out;
}

}  // namespace testing

namespace testing {

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

// A disk store in a fresh directory under $TMPDIR (or /tmp), removed with
// the last reference to the store.
inline std::shared_ptr<Store> NewTemporaryDiskStore(DiskStoreOptions options = {}) {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/vfs-disk-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    ADD_FAILURE() << "mkdtemp " << pattern << ": " << strerror(errno);
    return nullptr;
  }
  std::string why;
  auto store = OpenDiskStore(pattern, std::move(options), &why);
  if (!store.ok()) {
    ADD_FAILURE() << why;
    std::filesystem::remove_all(pattern);
    return nullptr;
  }
  // The directory goes when the store does (the aliasing constructor keeps
  // the holder alive as long as any copy of the returned pointer).
  struct Holder {
    std::shared_ptr<Store> store;
    std::string dir;
    ~Holder() {
      store.reset();
      std::error_code ignored;  // best effort: a leftover temp dir is not a test failure
      std::filesystem::remove_all(dir, ignored);
    }
  };
  auto holder = std::make_shared<Holder>();
  holder->store = *std::move(store);
  holder->dir = pattern;
  Store* raw = holder->store.get();
  return std::shared_ptr<Store>(std::move(holder), raw);
}

// The store the conformance suites run on, named by $VFS_TEST_STORE
// ("memory", the default; "disk": backends/disk in a temporary directory).
// CTest registers the suites once per store (see tests/CMakeLists.txt).
// Stores other than memory ignore `memory_options`.
inline std::shared_ptr<Store> NewTestStore(const MemoryStoreOptions& memory_options) {
  const char* name = std::getenv("VFS_TEST_STORE");
  const std::string store = name == nullptr ? "memory" : name;
  if (store == "memory") return NewMemoryStore(memory_options);
  if (store == "disk") return NewTemporaryDiskStore();
  ADD_FAILURE() << "unknown VFS_TEST_STORE '" << store << "'";
  return NewMemoryStore(memory_options);
}

// A test fixture with a mounted filesystem on the store under test.
class VfsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = NewTestStore(store_options_);
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

}  // namespace testing
}  // namespace vfs

#endif  // TESTS_TEST_UTIL_H_
