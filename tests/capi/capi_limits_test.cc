// The C API at the edges that issue 17 (findings 6 and 7) found: vfs_write
// of a huge count under a quota, vfs_getcwd past PATH_MAX, lseek SEEK_HOLE
// next to 2^63.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <string>

#include "gtest/gtest.h"
#include "vfs/vfs.h"

namespace {

class CApiLimitsTest : public ::testing::Test {
 protected:
  void Mount(uint64_t max_bytes) {
    vfs_options options;
    vfs_options_init(&options);
    options.max_bytes = max_bytes;
    ASSERT_EQ(vfs_mount(&options, &fs_), 0);
  }
  void TearDown() override {
    if (fs_ != nullptr) {
      EXPECT_EQ(vfs_unmount(fs_), 0);
    }
  }
  vfs_fs* fs_ = nullptr;
};

// The count of the issue: 2^62 under 1 MiB. The answer is ENOSPC at once
// (the old write walked 2^50 pages under the inode lock); the buffer is
// never read.
TEST_F(CApiLimitsTest, WriteOf2To62UnderAMebibyteQuotaIsEnospc) {
  ASSERT_NO_FATAL_FAILURE(Mount(uint64_t{1} << 20));
  const int fd = vfs_open(fs_, "/f", O_RDWR | O_CREAT, 0644);
  ASSERT_GE(fd, 0);
  const char byte = 'x';
  EXPECT_EQ(vfs_write(fs_, fd, &byte, uint64_t{1} << 62), -ENOSPC);
  EXPECT_EQ(vfs_lseek(fs_, fd, 0, SEEK_END), 0);
  EXPECT_EQ(vfs_close(fs_, fd), 0);
}

TEST_F(CApiLimitsTest, GetcwdPastPathMaxIsEnametoolong) {
  ASSERT_NO_FATAL_FAILURE(Mount(UINT64_MAX));
  const std::string name(255, 'd');
  for (int i = 0; i < 16; ++i) {  // 16 * 256 = 4096 bytes: no room for the NUL
    ASSERT_EQ(vfs_mkdir(fs_, name.c_str(), 0755), 0);
    ASSERT_EQ(vfs_chdir(fs_, name.c_str()), 0);
  }
  char buf[8192];
  EXPECT_EQ(vfs_getcwd(fs_, buf, sizeof buf), -ENAMETOOLONG);
}

TEST_F(CApiLimitsTest, SeekHoleInTheLastPageBelow2To63IsTheEnd) {
  ASSERT_NO_FATAL_FAILURE(Mount(UINT64_MAX));
  const int fd = vfs_open(fs_, "/f", O_RDWR | O_CREAT, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(vfs_ftruncate(fs_, fd, INT64_MAX), 0);
  ASSERT_EQ(vfs_pwrite(fs_, fd, "x", 1, INT64_MAX - 1), 1);
  EXPECT_EQ(vfs_lseek(fs_, fd, INT64_MAX - 1, SEEK_HOLE), INT64_MAX);
  EXPECT_EQ(vfs_close(fs_, fd), 0);
}

}  // namespace
