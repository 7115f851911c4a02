// The C API (vfs/vfs.h): every call maps to its C++ method with the exact
// errno negated, bad pointers are -EFAULT, and the durability calls keep
// their semantics through the C boundary (crash and remount included).
#include "vfs/vfs.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "vfs/types.h"  // kKernelLargefile

namespace {

class CApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    vfs_options_init(&options_);
    ASSERT_EQ(vfs_mount(&options_, &fs_), 0);
  }
  void TearDown() override {
    if (fs_ != nullptr) {
      EXPECT_EQ(vfs_unmount(fs_), 0);
    }
  }
  void Remount(const vfs_options& options) {
    ASSERT_EQ(vfs_unmount(fs_), 0);
    fs_ = nullptr;
    ASSERT_EQ(vfs_mount(&options, &fs_), 0);
  }
  int Create(const char* path, const std::string& data) {
    int fd = vfs_open(fs_, path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    EXPECT_GE(fd, 0) << path;
    EXPECT_EQ(vfs_write(fs_, fd, data.data(), data.size()), static_cast<int64_t>(data.size()));
    return fd;
  }
  std::string Contents(const char* path) {
    int fd = vfs_open(fs_, path, O_RDONLY, 0);
    if (fd < 0) return "<" + std::string(strerror(-fd)) + ">";
    std::string out;
    char buf[4096];
    int64_t n;
    while ((n = vfs_read(fs_, fd, buf, sizeof buf)) > 0) out.append(buf, n);
    EXPECT_EQ(vfs_close(fs_, fd), 0);
    return out;
  }

  vfs_options options_;
  vfs_fs* fs_ = nullptr;
};

TEST_F(CApiTest, OptionsInitGivesTheLibraryDefaults) {
  EXPECT_EQ(options_.store_kind, VFS_STORE_MEMORY);
  EXPECT_EQ(options_.max_open_fds, 1024u);
  EXPECT_EQ(options_.max_name_length, 255u);
  EXPECT_EQ(options_.max_path_length, 4096u);
  EXPECT_EQ(options_.personality, VFS_PERSONALITY_LINUX);
  EXPECT_EQ(options_.wasi_mode, VFS_WASI_WASMER);
}

TEST_F(CApiTest, MountRejectsBadOptionsWithEinval) {
  vfs_fs* other = nullptr;
  vfs_options bad = options_;
  bad.personality = 7;
  EXPECT_EQ(vfs_mount(&bad, &other), -EINVAL);
  bad = options_;
  bad.wasi_mode = -1;
  EXPECT_EQ(vfs_mount(&bad, &other), -EINVAL);
  bad = options_;
  bad.store_kind = 9;
  EXPECT_EQ(vfs_mount(&bad, &other), -EINVAL);
  bad = options_;
  bad.store_kind = VFS_STORE_DISK;  // no directory
  EXPECT_EQ(vfs_mount(&bad, &other), -EINVAL);
  bad = options_;
  bad.max_name_length = VFS_NAME_MAX + 1;  // readdir could not return it
  EXPECT_EQ(vfs_mount(&bad, &other), -EINVAL);
  bad = options_;
  bad.page_size = 1000;  // not a power of two
  EXPECT_EQ(vfs_mount(&bad, &other), -EINVAL);
  EXPECT_EQ(other, nullptr);
  EXPECT_EQ(vfs_mount(nullptr, &other), -EFAULT);
  EXPECT_EQ(vfs_mount(&options_, nullptr), -EFAULT);
}

TEST_F(CApiTest, NullPointersAreEfaultNotCrashes) {
  char buf[8];
  vfs_stat_buf st;
  EXPECT_EQ(vfs_open(fs_, nullptr, O_RDONLY, 0), -EFAULT);
  EXPECT_EQ(vfs_open(nullptr, "/", O_RDONLY, 0), -EFAULT);
  EXPECT_EQ(vfs_read(fs_, 0, nullptr, 1), -EFAULT);
  EXPECT_EQ(vfs_write(fs_, 0, nullptr, 1), -EFAULT);
  EXPECT_EQ(vfs_stat(fs_, "/", nullptr), -EFAULT);
  EXPECT_EQ(vfs_stat(fs_, nullptr, &st), -EFAULT);
  EXPECT_EQ(vfs_rename(fs_, nullptr, "/b", 0), -EFAULT);
  EXPECT_EQ(vfs_readlink(fs_, "/x", nullptr, 4), -EFAULT);
  EXPECT_EQ(vfs_getcwd(fs_, nullptr, 4), -EFAULT);
  EXPECT_EQ(vfs_pipe(fs_, nullptr), -EFAULT);
  EXPECT_EQ(vfs_utimens(fs_, "/", nullptr, 1), -EFAULT);
  EXPECT_EQ(vfs_get_rights(fs_, 0, nullptr, nullptr), -EFAULT);
  EXPECT_EQ(vfs_fd_sync(nullptr, 0), VFS_WASI_INVAL);
  EXPECT_EQ(vfs_unmount(nullptr), 0);
  vfs_sync(nullptr);  // nothing to report, nothing to crash
  (void)buf;
}

TEST_F(CApiTest, FileCallsReturnCountsAndNegatedErrnos) {
  int fd = Create("/f", "hello world");
  EXPECT_EQ(fd, 0);  // the lowest free descriptor
  char buf[32] = {};
  EXPECT_EQ(vfs_pread(fs_, fd, buf, 5, 6), 5);
  EXPECT_STREQ(buf, "world");
  EXPECT_EQ(vfs_lseek(fs_, fd, 0, SEEK_SET), 0);
  EXPECT_EQ(vfs_read(fs_, fd, buf, 5), 5);
  EXPECT_EQ(vfs_lseek(fs_, fd, 0, SEEK_CUR), 5);
  EXPECT_EQ(vfs_lseek(fs_, fd, 0, 99), -EINVAL);
  EXPECT_EQ(vfs_pwrite(fs_, fd, "W", 1, 6), 1);
  EXPECT_EQ(vfs_pwrite(fs_, fd, "W", 1, -1), -EINVAL);
  EXPECT_EQ(vfs_pwrite2(fs_, fd, "!", 1, -1, 0), 1);  // at the offset, 5
  EXPECT_EQ(vfs_pwrite2(fs_, fd, "!", 1, 0, 0x1000), -EOPNOTSUPP);
  EXPECT_EQ(Contents("/f"), "hello!World");
  EXPECT_EQ(vfs_ftruncate(fs_, fd, 5), 0);
  EXPECT_EQ(vfs_ftruncate(fs_, fd, -1), -EINVAL);
  EXPECT_EQ(vfs_truncate(fs_, "/f", 4), 0);
  vfs_stat_buf st;
  EXPECT_EQ(vfs_fstat(fs_, fd, &st), 0);
  EXPECT_EQ(st.size, 4u);
  EXPECT_TRUE(S_ISREG(st.mode));
  int copy = vfs_dup(fs_, fd);
  EXPECT_EQ(copy, 1);
  EXPECT_EQ(vfs_close(fs_, fd), 0);
  EXPECT_EQ(vfs_close(fs_, fd), -EBADF);
  EXPECT_EQ(vfs_read(fs_, fd, buf, 1), -EBADF);
  EXPECT_EQ(vfs_close(fs_, copy), 0);
  EXPECT_EQ(vfs_open(fs_, "/missing", O_RDONLY, 0), -ENOENT);
  EXPECT_EQ(vfs_open(fs_, "/f", O_RDONLY | O_CREAT | O_EXCL, 0644), -EEXIST);
}

// fcntl(F_GETFL / F_SETFL) through the C API: the flags, or a negated errno;
// O_DSYNC cannot be cleared (rule O3).
TEST_F(CApiTest, GetflAndSetflMapExactly) {
  int fd = vfs_open(fs_, "/f", O_RDWR | O_CREAT | O_DSYNC, 0644);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(vfs_getfl(fs_, fd), O_RDWR | O_DSYNC | vfs::kKernelLargefile);
  EXPECT_EQ(vfs_setfl(fs_, fd, O_APPEND), 0);
  EXPECT_EQ(vfs_getfl(fs_, fd), O_RDWR | O_APPEND | O_DSYNC | vfs::kKernelLargefile);
  EXPECT_EQ(vfs_close(fs_, fd), 0);
  EXPECT_EQ(vfs_getfl(fs_, fd), -EBADF);
  EXPECT_EQ(vfs_setfl(fs_, fd, 0), -EBADF);
}

TEST_F(CApiTest, NamespaceCallsMapExactly) {
  ASSERT_EQ(vfs_mkdir(fs_, "/d", 0755), 0);
  EXPECT_EQ(vfs_mkdir(fs_, "/d", 0755), -EEXIST);
  EXPECT_EQ(vfs_close(fs_, Create("/d/a", "A")), 0);
  EXPECT_EQ(vfs_rmdir(fs_, "/d"), -ENOTEMPTY);
  EXPECT_EQ(vfs_link(fs_, "/d/a", "/d/b"), 0);
  EXPECT_EQ(vfs_link(fs_, "/d", "/e"), -EPERM);
  EXPECT_EQ(vfs_symlink(fs_, "b", "/d/s"), 0);
  char target[8];
  EXPECT_EQ(vfs_readlink(fs_, "/d/s", target, sizeof target), 1);
  EXPECT_EQ(target[0], 'b');
  EXPECT_EQ(vfs_readlink(fs_, "/d/a", target, sizeof target), -EINVAL);
  EXPECT_EQ(vfs_rename(fs_, "/d/a", "/d/b", VFS_RENAME_NOREPLACE), -EEXIST);
  EXPECT_EQ(vfs_rename(fs_, "/d/a", "/d/c", 0), 0);
  EXPECT_EQ(vfs_rename(fs_, "/d/c", "/d/b", VFS_RENAME_EXCHANGE), 0);
  EXPECT_EQ(vfs_rename(fs_, "/d", "/d/sub", 0), -EINVAL);
  EXPECT_EQ(vfs_rename(fs_, "/d/b", "/d/x", 3), -EINVAL);
  vfs_stat_buf st;
  EXPECT_EQ(vfs_stat(fs_, "/d/s", &st), 0);
  EXPECT_TRUE(S_ISREG(st.mode));
  EXPECT_EQ(vfs_lstat(fs_, "/d/s", &st), 0);
  EXPECT_TRUE(S_ISLNK(st.mode));
  EXPECT_EQ(vfs_mkfifo(fs_, "/d/p", 0600), 0);
  EXPECT_EQ(vfs_unlink(fs_, "/d"), -EISDIR);

  int dir = vfs_open(fs_, "/d", O_RDONLY | O_DIRECTORY, 0);
  ASSERT_GE(dir, 0);
  vfs_dirent entries[16];
  const int64_t n = vfs_readdir(fs_, dir, entries, 16);
  ASSERT_EQ(n, 6);  // . .. b c p s
  std::vector<std::string> names;
  for (int64_t i = 0; i < n; ++i) names.push_back(entries[i].name);
  EXPECT_EQ(names, (std::vector<std::string>{".", "..", "b", "c", "p", "s"}));
  EXPECT_EQ(entries[4].type, DT_FIFO);
  EXPECT_EQ(entries[5].type, DT_LNK);
  EXPECT_EQ(vfs_readdir(fs_, dir, entries, 16), 0);  // the end
  EXPECT_EQ(vfs_close(fs_, dir), 0);

  EXPECT_EQ(vfs_chdir(fs_, "/d"), 0);
  char cwd[4];
  EXPECT_EQ(vfs_getcwd(fs_, cwd, sizeof cwd), 0);
  EXPECT_STREQ(cwd, "/d");
  EXPECT_EQ(vfs_getcwd(fs_, cwd, 2), -ERANGE);
  EXPECT_EQ(Contents("b"), "A");
  EXPECT_EQ(vfs_chdir(fs_, "/d/b"), -ENOTDIR);

  for (const char* name : {"/d/b", "/d/c", "/d/s", "/d/p"}) EXPECT_EQ(vfs_unlink(fs_, name), 0);
  EXPECT_EQ(vfs_chdir(fs_, "/"), 0);
  EXPECT_EQ(vfs_rmdir(fs_, "/d"), 0);
}

TEST_F(CApiTest, AttributeCallsMapExactly) {
  EXPECT_EQ(vfs_close(fs_, Create("/f", "x")), 0);
  EXPECT_EQ(vfs_chmod(fs_, "/f", 0600), 0);
  vfs_stat_buf st;
  ASSERT_EQ(vfs_stat(fs_, "/f", &st), 0);
  EXPECT_EQ(st.mode & 07777, 0600u);
  const vfs_timespec times[2] = {{100, 5}, {200, VFS_UTIME_OMIT}};
  EXPECT_EQ(vfs_utimens(fs_, "/f", times, 1), 0);
  ASSERT_EQ(vfs_stat(fs_, "/f", &st), 0);
  EXPECT_EQ(st.atime.sec, 100);
  EXPECT_EQ(st.atime.nsec, 5);
  const vfs_timespec bad[2] = {{1, 1000000000}, {1, 0}};
  EXPECT_EQ(vfs_utimens(fs_, "/f", bad, 1), -EINVAL);
  int fd = vfs_open(fs_, "/f", O_RDWR, 0);
  EXPECT_EQ(vfs_fchmod(fs_, fd, 0644), 0);
  const vfs_timespec now[2] = {{0, VFS_UTIME_NOW}, {0, VFS_UTIME_NOW}};
  EXPECT_EQ(vfs_futimens(fs_, fd, now), 0);
  EXPECT_EQ(vfs_close(fs_, fd), 0);
  vfs_statfs_buf sfs;
  ASSERT_EQ(vfs_statfs(fs_, &sfs), 0);
  EXPECT_EQ(sfs.block_size, 4096u);
  EXPECT_EQ(sfs.name_max, 255u);
}

TEST_F(CApiTest, PipesNeverBlock) {
  int fds[2];
  ASSERT_EQ(vfs_pipe(fs_, fds), 0);
  char c;
  EXPECT_EQ(vfs_read(fs_, fds[0], &c, 1), -EAGAIN);
  EXPECT_EQ(vfs_write(fs_, fds[1], "z", 1), 1);
  EXPECT_EQ(vfs_read(fs_, fds[0], &c, 1), 1);
  EXPECT_EQ(c, 'z');
  EXPECT_EQ(vfs_fsync(fs_, fds[1]), -EINVAL);                       // E1.2
  EXPECT_EQ(vfs_sync_file_range(fs_, fds[1], 0, 0, 2), -ESPIPE);   // E2.7
  EXPECT_EQ(vfs_fd_sync(fs_, fds[1]), VFS_WASI_INVAL);             // E7.3
  EXPECT_EQ(vfs_fd_datasync(fs_, fds[1]), VFS_WASI_IO);            // E7: Wasmer's flush
}

// Rules D1, D3, C1 through the C API: what fsync made durable survives the
// crash; what was only written does not.
TEST_F(CApiTest, CrashAndRemountKeepsExactlyWhatWasSynced) {
  int fd = Create("/kept", "durable");
  EXPECT_EQ(vfs_fsync(fs_, fd), 0);
  int root = vfs_open(fs_, "/", O_RDONLY | O_DIRECTORY, 0);
  EXPECT_EQ(vfs_fsync(fs_, root), 0);  // D3: the name
  EXPECT_EQ(vfs_pwrite(fs_, fd, "LOST", 4, 0), 4);
  EXPECT_EQ(vfs_close(fs_, Create("/unsynced", "gone")), 0);
  ASSERT_EQ(vfs_crash_and_remount(fs_), 0);
  EXPECT_EQ(vfs_close(fs_, fd), -EBADF);  // descriptors died with the crash
  EXPECT_EQ(Contents("/kept"), "durable");
  vfs_stat_buf st;
  EXPECT_EQ(vfs_stat(fs_, "/unsynced", &st), -ENOENT);
}

TEST_F(CApiTest, DurabilityCallsCheckArgumentsAsTheKernel) {
  int fd = Create("/f", std::string(8192, 'x'));
  EXPECT_EQ(vfs_fdatasync(fs_, fd), 0);
  EXPECT_EQ(vfs_sync_file_range(fs_, fd, 0, 0, 8), -EINVAL);     // E4 row 2
  EXPECT_EQ(vfs_sync_file_range(fs_, fd, -1, 0, 2), -EINVAL);    // E4 row 3
  EXPECT_EQ(vfs_sync_file_range(fs_, fd, 4095, 2, 7), 0);        // E4 row 8
  EXPECT_EQ(vfs_sync_file_range(fs_, 99, 0, 0, 8), -EBADF);      // E4 row 1 (>= 5.2)
  EXPECT_EQ(vfs_fsync_range(fs_, fd, VFS_FSYNC_RANGE_DSYNC, 0, 0), 0);
  EXPECT_EQ(vfs_fsync_range(fs_, fd, 0, 0, 0), -EINVAL);         // E5: no how
  EXPECT_EQ(vfs_fsync_range(fs_, fd, VFS_FSYNC_RANGE_SYNC, -1, 0), -EINVAL);
  EXPECT_EQ(vfs_fd_sync(fs_, fd), VFS_WASI_SUCCESS);
  EXPECT_EQ(vfs_fd_datasync(fs_, fd), VFS_WASI_SUCCESS);
  EXPECT_EQ(vfs_fd_sync(fs_, 99), VFS_WASI_BADF);
  EXPECT_EQ(vfs_syncfs(fs_, fd), 0);
  EXPECT_EQ(vfs_syncfs(fs_, 99), -EBADF);
  vfs_sync(fs_);
  int ro = vfs_open(fs_, "/f", O_RDONLY, 0);
  EXPECT_EQ(vfs_fsync_range(fs_, ro, VFS_FSYNC_RANGE_DSYNC, 0, 0), -EBADF);  // E5
}

TEST_F(CApiTest, RightsNarrowAndAreCheckedThroughTheCApi) {
  int fd = Create("/f", "data");
  uint64_t base = 0, inheriting = 0;
  ASSERT_EQ(vfs_get_rights(fs_, fd, &base, &inheriting), 0);
  EXPECT_EQ(base, VFS_RIGHTS_ALL);
  ASSERT_EQ(vfs_set_rights(fs_, fd, VFS_RIGHT_FD_READ | VFS_RIGHT_FD_SEEK, 0), 0);
  EXPECT_EQ(vfs_set_rights(fs_, fd, VFS_RIGHTS_ALL, 0), -EPERM);
  char buf[4];
  EXPECT_EQ(vfs_pread(fs_, fd, buf, 4, 0), 4);
  EXPECT_EQ(vfs_write(fs_, fd, "x", 1), -EACCES);
  EXPECT_EQ(vfs_fsync(fs_, fd), -EACCES);
  EXPECT_EQ(vfs_fd_sync(fs_, fd), VFS_WASI_ACCES);
  EXPECT_EQ(vfs_get_rights(fs_, 99, &base, &inheriting), -EBADF);
}

TEST(CApiDiskTest, DiskStoreKeepsSyncedDataAcrossUnmount) {
  const char* tmp = std::getenv("TMPDIR");
  std::string dir = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/vfs-capi-XXXXXX";
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  vfs_options options;
  vfs_options_init(&options);
  options.store_kind = VFS_STORE_DISK;
  options.disk_dir = dir.c_str();
  vfs_fs* fs = nullptr;
  ASSERT_EQ(vfs_mount(&options, &fs), 0);
  int fd = vfs_open(fs, "/on-disk", O_WRONLY | O_CREAT, 0644);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(vfs_write(fs, fd, "persisted", 9), 9);
  vfs_fs* second = nullptr;
  EXPECT_EQ(vfs_mount(&options, &second), -EBUSY);  // the store is locked
  EXPECT_EQ(vfs_unmount(fs), 0);
  ASSERT_EQ(vfs_mount(&options, &fs), 0);
  fd = vfs_open(fs, "/on-disk", O_RDONLY, 0);
  ASSERT_GE(fd, 0);
  char buf[16] = {};
  EXPECT_EQ(vfs_read(fs, fd, buf, sizeof buf), 9);
  EXPECT_STREQ(buf, "persisted");
  EXPECT_EQ(vfs_unmount(fs), 0);
  std::error_code ignored;  // best effort: a leftover temp dir is not a failure
  std::filesystem::remove_all(dir, ignored);
}

}  // namespace
