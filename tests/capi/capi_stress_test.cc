// The C API from many threads on one handle (vfs/vfs.h: every call but
// vfs_unmount and vfs_crash_and_remount may race). Also built under
// ThreadSanitizer. Threads start on a barrier; nothing sleeps.
#include <fcntl.h>

#include <atomic>
#include <barrier>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "vfs/vfs.h"

namespace {

constexpr int kThreads = 8;
constexpr int kOps = 50;

// The C API from many threads on one handle: opens, writes, syncs, closes.
TEST(SandboxCApiStressTest, ManyThreadsOnOneHandle) {
  vfs_options options;
  vfs_options_init(&options);
  options.max_open_fds = 64;
  vfs_fs* fs = nullptr;
  ASSERT_EQ(vfs_mount(&options, &fs), 0);
  std::barrier start(kThreads);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string path = "/c" + std::to_string(t);
      start.arrive_and_wait();
      for (int i = 0; i < kOps; ++i) {
        int fd = vfs_open(fs, path.c_str(), O_RDWR | O_CREAT | O_APPEND, 0644);
        if (fd < 0) { ++failures; continue; }
        if (vfs_write(fs, fd, "0123456789", 10) != 10) ++failures;
        if (i % 4 == 0 && vfs_fdatasync(fs, fd) != 0) ++failures;
        if (i % 5 == 0 && vfs_fd_sync(fs, fd) != VFS_WASI_SUCCESS) ++failures;
        vfs_stat_buf st;
        if (vfs_fstat(fs, fd, &st) != 0 || st.size != static_cast<uint64_t>(10 * (i + 1))) ++failures;
        if (vfs_close(fs, fd) != 0) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  vfs_sync(fs);
  EXPECT_EQ(vfs_unmount(fs), 0);
}

}  // namespace
