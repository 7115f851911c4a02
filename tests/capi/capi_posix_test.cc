// The C API's calls of rules X1-X6 (vfs/vfs.h): identity, the chown
// family, extended attributes in their path, l*, f* and *at forms,
// fallocate, O_TMPFILE with linkat AT_EMPTY_PATH, mknod(at) and
// mkfifoat, and the other *at forms. Each answers as its C++ method, with
// the errno negated (docs/embedding.md, "Identity").
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cerrno>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "vfs/vfs.h"

namespace {

class CApiPosixTest : public ::testing::Test {
 protected:
  void SetUp() override {
    vfs_options_init(&options_);
    ASSERT_EQ(vfs_mount(&options_, &fs_), 0);
  }
  void TearDown() override {
    EXPECT_EQ(vfs_set_thread_credentials(nullptr), 0);
    if (fs_ != nullptr) {
      EXPECT_EQ(vfs_unmount(fs_), 0);
    }
  }
  void Write(const char* path, const std::string& data) {
    int fd = vfs_open(fs_, path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    ASSERT_GE(fd, 0) << path;
    ASSERT_EQ(vfs_write(fs_, fd, data.data(), data.size()), static_cast<int64_t>(data.size()));
    ASSERT_EQ(vfs_close(fs_, fd), 0);
  }
  std::string Contents(const char* path) {
    int fd = vfs_open(fs_, path, O_RDONLY, 0);
    if (fd < 0) return "<" + std::string(strerror(-fd)) + ">";
    char buf[256];
    int64_t n = vfs_read(fs_, fd, buf, sizeof buf);
    EXPECT_EQ(vfs_close(fs_, fd), 0);
    return n < 0 ? "<read failed>" : std::string(buf, static_cast<size_t>(n));
  }
  vfs_stat_buf Stat(const char* path) {
    vfs_stat_buf st{};
    EXPECT_EQ(vfs_lstat(fs_, path, &st), 0) << path;
    return st;
  }
  static vfs_credentials User(uint32_t uid, uint32_t gid) {
    vfs_credentials c{};
    c.uid = uid;
    c.gid = gid;
    c.umask = 022;
    return c;
  }
  // The names of a list buffer as a set.
  static std::set<std::string> Names(const char* list, int64_t size) {
    std::set<std::string> out;
    for (int64_t at = 0; at < size;) {
      std::string name(list + at);
      at += static_cast<int64_t>(name.size()) + 1;
      out.insert(name);
    }
    return out;
  }

  vfs_options options_;
  vfs_fs* fs_ = nullptr;
};

// Rule X1: root is the default; vfs_set_credentials sets the handle's
// identity, vfs_set_thread_credentials overrides it on this thread until
// cleared, and vfs_get_credentials reports the one in effect, its groups
// counted as getgroups(2) counts them.
TEST_F(CApiPosixTest, IdentityCallsSetAndReportTheCallerX1) {
  vfs_credentials root;
  vfs_credentials_init_root(&root);
  EXPECT_EQ(root.uid, 0u);
  EXPECT_EQ(root.gid, 0u);
  EXPECT_EQ(root.ngroups, 0u);
  EXPECT_EQ(root.capabilities, VFS_CAP_ALL);
  EXPECT_EQ(root.umask, 0u);

  vfs_credentials got{};
  EXPECT_EQ(vfs_get_credentials(fs_, &got, nullptr, 0), 0);
  EXPECT_EQ(got.uid, 0u);
  EXPECT_EQ(got.capabilities, VFS_CAP_ALL);

  vfs_credentials alice = User(1001, 1000);
  const uint32_t groups[] = {5, 6};
  alice.groups = groups;
  alice.ngroups = 2;
  ASSERT_EQ(vfs_set_credentials(fs_, &alice), 0);
  EXPECT_EQ(vfs_get_credentials(fs_, &got, nullptr, 0), 2);  // the count only
  EXPECT_EQ(got.ngroups, 0u);
  uint32_t one[1];
  EXPECT_EQ(vfs_get_credentials(fs_, &got, one, 1), -EINVAL);
  uint32_t room[4] = {};
  ASSERT_EQ(vfs_get_credentials(fs_, &got, room, 4), 2);
  EXPECT_EQ(got.uid, 1001u);
  EXPECT_EQ(got.gid, 1000u);
  EXPECT_EQ(got.capabilities, 0u);
  EXPECT_EQ(got.umask, 022u);
  ASSERT_EQ(got.ngroups, 2u);
  EXPECT_EQ(got.groups, room);
  EXPECT_EQ(room[0], 5u);
  EXPECT_EQ(room[1], 6u);

  // The thread's identity wins over the handle's until cleared.
  vfs_credentials bob = User(2000, 2000);
  ASSERT_EQ(vfs_set_thread_credentials(&bob), 0);
  ASSERT_EQ(vfs_get_credentials(fs_, &got, room, 4), 0);
  EXPECT_EQ(got.uid, 2000u);
  ASSERT_EQ(vfs_set_thread_credentials(nullptr), 0);
  ASSERT_EQ(vfs_get_credentials(fs_, &got, room, 4), 2);
  EXPECT_EQ(got.uid, 1001u);
  // NULL sets root again.
  ASSERT_EQ(vfs_set_credentials(fs_, nullptr), 0);
  ASSERT_EQ(vfs_get_credentials(fs_, &got, room, 4), 0);
  EXPECT_EQ(got.uid, 0u);

  // Bad arguments change nothing.
  vfs_credentials bad = User(7, 7);
  bad.capabilities = 1u << 20;
  EXPECT_EQ(vfs_set_credentials(fs_, &bad), -EINVAL);
  EXPECT_EQ(vfs_set_thread_credentials(&bad), -EINVAL);
  bad.capabilities = 0;
  bad.ngroups = 1;  // and no groups
  EXPECT_EQ(vfs_set_credentials(fs_, &bad), -EFAULT);
  EXPECT_EQ(vfs_get_credentials(fs_, nullptr, room, 4), -EFAULT);
  EXPECT_EQ(vfs_get_credentials(fs_, &got, nullptr, 4), -EFAULT);
  EXPECT_EQ(vfs_get_credentials(nullptr, &got, room, 4), -EFAULT);
  ASSERT_EQ(vfs_get_credentials(fs_, &got, room, 4), 0);
  EXPECT_EQ(got.uid, 0u);
}

// Rule X1: the identity decides permission: search on the directories
// walked, write on the parent to create, and the umask of new files.
TEST_F(CApiPosixTest, CallsRunWithTheThreadsIdentityX1) {
  ASSERT_EQ(vfs_mkdir(fs_, "/private", 0700), 0);
  ASSERT_EQ(vfs_mkdir(fs_, "/shared", 0777), 0);
  vfs_credentials alice = User(1001, 1000);
  ASSERT_EQ(vfs_set_thread_credentials(&alice), 0);
  EXPECT_EQ(vfs_open(fs_, "/private/f", O_RDWR | O_CREAT, 0666), -EACCES);
  EXPECT_EQ(vfs_mkdir(fs_, "/new", 0755), -EACCES);
  int fd = vfs_open(fs_, "/shared/f", O_RDWR | O_CREAT, 0666);
  ASSERT_GE(fd, 0);
  vfs_stat_buf st{};
  ASSERT_EQ(vfs_fstat(fs_, fd, &st), 0);
  EXPECT_EQ(st.uid, 1001u);
  EXPECT_EQ(st.gid, 1000u);
  EXPECT_EQ(st.mode, S_IFREG | 0644u);  // 0666 less the umask 022
  EXPECT_EQ(vfs_close(fs_, fd), 0);
}

// Rule X1: chown, lchown, fchown and fchownat: CAP_CHOWN to give a file
// away (EPERM), VFS_NO_ID keeps a field, lchown and AT_SYMLINK_NOFOLLOW
// change the link itself, AT_EMPTY_PATH the descriptor's file.
TEST_F(CApiPosixTest, ChownFamilyX1) {
  Write("/f", "x");
  ASSERT_EQ(vfs_symlink(fs_, "/f", "/l"), 0);
  ASSERT_EQ(vfs_chown(fs_, "/l", 1001, 1000), 0);  // follows the link
  EXPECT_EQ(Stat("/f").uid, 1001u);
  EXPECT_EQ(Stat("/l").uid, 0u);
  ASSERT_EQ(vfs_lchown(fs_, "/l", 1002, VFS_NO_ID), 0);
  EXPECT_EQ(Stat("/l").uid, 1002u);
  EXPECT_EQ(Stat("/l").gid, 0u);
  EXPECT_EQ(Stat("/f").uid, 1001u);
  ASSERT_EQ(vfs_fchownat(fs_, VFS_AT_FDCWD, "/l", 1003, 1003, VFS_AT_SYMLINK_NOFOLLOW), 0);
  EXPECT_EQ(Stat("/l").uid, 1003u);
  EXPECT_EQ(vfs_fchownat(fs_, VFS_AT_FDCWD, "/f", 1, 1, 0x4000), -EINVAL);
  int fd = vfs_open(fs_, "/f", O_RDONLY, 0);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(vfs_fchown(fs_, fd, VFS_NO_ID, 1000), 0);
  ASSERT_EQ(vfs_fchownat(fs_, fd, "", 1001, VFS_NO_ID, VFS_AT_EMPTY_PATH), 0);
  EXPECT_EQ(Stat("/f").gid, 1000u);
  EXPECT_EQ(vfs_fchown(fs_, 999, 0, 0), -EBADF);
  // The owner may not give the file away, nor take a group it is not in.
  vfs_credentials alice = User(1001, 1000);
  ASSERT_EQ(vfs_set_thread_credentials(&alice), 0);
  EXPECT_EQ(vfs_chown(fs_, "/f", 2000, VFS_NO_ID), -EPERM);
  EXPECT_EQ(vfs_fchown(fs_, fd, VFS_NO_ID, 3000), -EPERM);
  EXPECT_EQ(vfs_fchown(fs_, fd, VFS_NO_ID, 1000), 0);
  EXPECT_EQ(Stat("/f").uid, 1001u);
  EXPECT_EQ(vfs_close(fs_, fd), 0);
}

// Rule X2: the four calls in their path, l*, f* and *at forms; sizes and
// flags as Linux: size 0 asks for the size, a short buffer is ERANGE,
// XATTR_CREATE on a name that exists EEXIST, XATTR_REPLACE on a missing one
// ENODATA; user.* is refused on a symlink (EPERM); an O_PATH descriptor is
// EBADF to the f* forms.
TEST_F(CApiPosixTest, ExtendedAttributesInEveryFormX2) {
  Write("/f", "x");
  ASSERT_EQ(vfs_symlink(fs_, "/f", "/l"), 0);
  ASSERT_EQ(vfs_setxattr(fs_, "/l", "user.a", "one", 3, 0), 0);  // on /f
  EXPECT_EQ(vfs_setxattr(fs_, "/f", "user.a", "two", 3, VFS_XATTR_CREATE), -EEXIST);
  EXPECT_EQ(vfs_setxattr(fs_, "/f", "user.b", "two", 3, VFS_XATTR_REPLACE), -ENODATA);
  EXPECT_EQ(vfs_setxattr(fs_, "/f", "", "v", 1, 0), -ERANGE);
  EXPECT_EQ(vfs_setxattr(fs_, "/f", "user.a", "v", 1, 4), -EINVAL);
  EXPECT_EQ(vfs_lsetxattr(fs_, "/l", "user.a", "v", 1, 0), -EPERM);
  ASSERT_EQ(vfs_lsetxattr(fs_, "/l", "trusted.t", "link", 4, 0), 0);

  char buf[64];
  EXPECT_EQ(vfs_getxattr(fs_, "/f", "user.a", nullptr, 0), 3);
  EXPECT_EQ(vfs_getxattr(fs_, "/f", "user.a", buf, 2), -ERANGE);
  ASSERT_EQ(vfs_getxattr(fs_, "/l", "user.a", buf, sizeof buf), 3);
  EXPECT_EQ(std::string(buf, 3), "one");
  ASSERT_EQ(vfs_lgetxattr(fs_, "/l", "trusted.t", buf, sizeof buf), 4);
  EXPECT_EQ(std::string(buf, 4), "link");
  EXPECT_EQ(vfs_getxattr(fs_, "/f", "user.none", buf, sizeof buf), -ENODATA);
  EXPECT_EQ(vfs_getxattr(fs_, "/f", "other.x", buf, sizeof buf), -EOPNOTSUPP);

  int fd = vfs_open(fs_, "/f", O_RDWR, 0);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(vfs_fsetxattr(fs_, fd, "user.b", "bb", 2, 0), 0);
  ASSERT_EQ(vfs_fgetxattr(fs_, fd, "user.b", buf, sizeof buf), 2);
  char list[128];
  const int64_t size = vfs_flistxattr(fs_, fd, list, sizeof list);
  ASSERT_EQ(vfs_flistxattr(fs_, fd, nullptr, 0), size);
  EXPECT_EQ(Names(list, size), (std::set<std::string>{"user.a", "user.b"}));
  EXPECT_EQ(vfs_listxattr(fs_, "/f", list, 3), -ERANGE);
  const int64_t link_size = vfs_llistxattr(fs_, "/l", list, sizeof list);
  EXPECT_EQ(Names(list, link_size), (std::set<std::string>{"trusted.t"}));
  ASSERT_EQ(vfs_fremovexattr(fs_, fd, "user.b"), 0);
  EXPECT_EQ(vfs_fremovexattr(fs_, fd, "user.b"), -ENODATA);

  // The *at forms: relative to a directory descriptor, AT_EMPTY_PATH,
  // AT_SYMLINK_NOFOLLOW; other flags EINVAL.
  int root = vfs_open(fs_, "/", O_RDONLY | O_DIRECTORY, 0);
  ASSERT_GE(root, 0);
  ASSERT_EQ(vfs_setxattrat(fs_, root, "f", 0, "user.c", "c", 1, 0), 0);
  ASSERT_EQ(vfs_getxattrat(fs_, fd, "", VFS_AT_EMPTY_PATH, "user.c", buf, sizeof buf), 1);
  ASSERT_EQ(vfs_getxattrat(fs_, root, "l", VFS_AT_SYMLINK_NOFOLLOW, "trusted.t", buf, sizeof buf),
            4);
  const int64_t at_size = vfs_listxattrat(fs_, root, "f", 0, list, sizeof list);
  EXPECT_EQ(Names(list, at_size), (std::set<std::string>{"user.a", "user.c"}));
  EXPECT_EQ(vfs_setxattrat(fs_, root, "f", 0x8000, "user.d", "d", 1, 0), -EINVAL);
  ASSERT_EQ(vfs_removexattrat(fs_, root, "f", 0, "user.c"), 0);
  ASSERT_EQ(vfs_lremovexattr(fs_, "/l", "trusted.t"), 0);
  ASSERT_EQ(vfs_removexattr(fs_, "/f", "user.a"), 0);
  EXPECT_EQ(vfs_listxattr(fs_, "/f", list, sizeof list), 0);

  int path_fd = vfs_open(fs_, "/f", O_PATH, 0);
  ASSERT_GE(path_fd, 0);
  EXPECT_EQ(vfs_fsetxattr(fs_, path_fd, "user.a", "v", 1, 0), -EBADF);
  EXPECT_EQ(vfs_fgetxattr(fs_, path_fd, "user.a", buf, sizeof buf), -EBADF);
  EXPECT_EQ(vfs_flistxattr(fs_, path_fd, list, sizeof list), -EBADF);
  EXPECT_EQ(vfs_fremovexattr(fs_, path_fd, "user.a"), -EBADF);
  EXPECT_EQ(vfs_getxattr(fs_, "/f", nullptr, buf, sizeof buf), -EFAULT);
  for (int d : {fd, root, path_fd}) EXPECT_EQ(vfs_close(fs_, d), 0);
}

// Rule X2: an attribute set and fsynced survives a crash; one set after
// the last fsync may be lost, never half there.
TEST_F(CApiPosixTest, ExtendedAttributeIsDurableAfterFsyncX2) {
  Write("/f", "x");
  int root = vfs_open(fs_, "/", O_RDONLY | O_DIRECTORY, 0);
  ASSERT_EQ(vfs_fsync(fs_, root), 0);
  ASSERT_EQ(vfs_close(fs_, root), 0);
  int fd = vfs_open(fs_, "/f", O_RDWR, 0);
  ASSERT_EQ(vfs_fsetxattr(fs_, fd, "user.k", "kept", 4, 0), 0);
  ASSERT_EQ(vfs_fsync(fs_, fd), 0);
  ASSERT_EQ(vfs_close(fs_, fd), 0);
  ASSERT_EQ(vfs_crash_and_remount(fs_), 0);
  char buf[16];
  ASSERT_EQ(vfs_getxattr(fs_, "/f", "user.k", buf, sizeof buf), 4);
  EXPECT_EQ(std::string(buf, 4), "kept");
}

// Rule X3: mode 0 allocates and extends, KEEP_SIZE allocates only,
// PUNCH_HOLE|KEEP_SIZE zeroes; PUNCH_HOLE alone EOPNOTSUPP, len 0 EINVAL,
// a read-only descriptor EBADF, a FIFO ESPIPE.
TEST_F(CApiPosixTest, FallocateModesX3) {
  int fd = vfs_open(fs_, "/f", O_RDWR | O_CREAT, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(vfs_fallocate(fs_, fd, 0, 0, 8192), 0);
  vfs_stat_buf st{};
  ASSERT_EQ(vfs_fstat(fs_, fd, &st), 0);
  EXPECT_EQ(st.size, 8192u);
  EXPECT_EQ(st.blocks, 16u);
  ASSERT_EQ(vfs_fallocate(fs_, fd, VFS_FALLOC_FL_KEEP_SIZE, 8192, 4096), 0);
  ASSERT_EQ(vfs_fstat(fs_, fd, &st), 0);
  EXPECT_EQ(st.size, 8192u);
  EXPECT_EQ(st.blocks, 24u);
  ASSERT_EQ(vfs_pwrite(fs_, fd, "abcd", 4, 4096), 4);
  ASSERT_EQ(vfs_fallocate(fs_, fd, VFS_FALLOC_FL_PUNCH_HOLE | VFS_FALLOC_FL_KEEP_SIZE, 4096, 4096),
            0);
  char buf[4];
  ASSERT_EQ(vfs_pread(fs_, fd, buf, 4, 4096), 4);
  EXPECT_EQ(std::string(buf, 4), std::string(4, '\0'));
  EXPECT_EQ(vfs_fallocate(fs_, fd, VFS_FALLOC_FL_PUNCH_HOLE, 0, 4096), -EOPNOTSUPP);
  EXPECT_EQ(vfs_fallocate(fs_, fd, 0, 0, 0), -EINVAL);
  EXPECT_EQ(vfs_fallocate(fs_, fd, 0, -1, 10), -EINVAL);
  int ro = vfs_open(fs_, "/f", O_RDONLY, 0);
  EXPECT_EQ(vfs_fallocate(fs_, ro, 0, 0, 4096), -EBADF);
  ASSERT_EQ(vfs_mkfifo(fs_, "/p", 0644), 0);
  int fifo = vfs_open(fs_, "/p", O_RDWR | O_NONBLOCK, 0);
  ASSERT_GE(fifo, 0);
  EXPECT_EQ(vfs_fallocate(fs_, fifo, 0, 0, 4096), -ESPIPE);
  for (int d : {fd, ro, fifo}) EXPECT_EQ(vfs_close(fs_, d), 0);
}

// Rule X4: O_TMPFILE makes a file with no name (nlink 0); linkat with
// AT_EMPTY_PATH names it, unless it was opened O_EXCL (ENOENT); without
// write access O_TMPFILE is EINVAL; a crash before the new name's
// directory is fsynced leaves nothing.
TEST_F(CApiPosixTest, TmpfileAndLinkatEmptyPathX4) {
  EXPECT_EQ(vfs_open(fs_, "/", O_TMPFILE | O_RDONLY, 0600), -EINVAL);
  int fd = vfs_open(fs_, "/", O_TMPFILE | O_RDWR, 0600);
  ASSERT_GE(fd, 0);
  vfs_stat_buf st{};
  ASSERT_EQ(vfs_fstat(fs_, fd, &st), 0);
  EXPECT_EQ(st.nlink, 0u);
  ASSERT_EQ(vfs_write(fs_, fd, "tmp", 3), 3);
  ASSERT_EQ(vfs_linkat(fs_, fd, "", VFS_AT_FDCWD, "/named", VFS_AT_EMPTY_PATH), 0);
  EXPECT_EQ(Contents("/named"), "tmp");
  EXPECT_EQ(Stat("/named").nlink, 1u);
  int excl = vfs_open(fs_, "/", O_TMPFILE | O_RDWR | O_EXCL, 0600);
  ASSERT_GE(excl, 0);
  EXPECT_EQ(vfs_linkat(fs_, excl, "", VFS_AT_FDCWD, "/never", VFS_AT_EMPTY_PATH), -ENOENT);
  EXPECT_EQ(vfs_linkat(fs_, fd, "", VFS_AT_FDCWD, "/again", 0), -ENOENT);  // "" without the flag

  int unsynced = vfs_open(fs_, "/", O_TMPFILE | O_RDWR, 0600);
  ASSERT_GE(unsynced, 0);
  ASSERT_EQ(vfs_fsync(fs_, unsynced), 0);
  ASSERT_EQ(vfs_linkat(fs_, unsynced, "", VFS_AT_FDCWD, "/lost", VFS_AT_EMPTY_PATH), 0);
  for (int d : {fd, excl, unsynced}) EXPECT_EQ(vfs_close(fs_, d), 0);
  ASSERT_EQ(vfs_crash_and_remount(fs_), 0);
  vfs_stat_buf gone{};
  EXPECT_EQ(vfs_stat(fs_, "/lost", &gone), -ENOENT);
}

// Rules X5 and X6: mknod(at) makes every kind of node, a device keeps its
// rdev (durably, once fsynced) and opens to ENXIO; devices need
// CAP_MKNOD (EPERM); mkfifoat makes a FIFO relative to a descriptor, which
// a writer without a reader cannot open without blocking (ENXIO).
TEST_F(CApiPosixTest, MknodAndMkfifoatX5) {
  ASSERT_EQ(vfs_mkdir(fs_, "/dev", 0755), 0);
  int dev = vfs_open(fs_, "/dev", O_RDONLY | O_DIRECTORY, 0);
  ASSERT_GE(dev, 0);
  ASSERT_EQ(vfs_mknodat(fs_, dev, "null", S_IFCHR | 0666, makedev(1, 3)), 0);
  ASSERT_EQ(vfs_mknod(fs_, "/dev/disk", S_IFBLK | 0600, makedev(8, 1)), 0);
  ASSERT_EQ(vfs_mknodat(fs_, dev, "sock", S_IFSOCK | 0666, 0), 0);
  ASSERT_EQ(vfs_mknodat(fs_, dev, "reg", S_IFREG | 0644, 0), 0);
  ASSERT_EQ(vfs_mkfifoat(fs_, dev, "fifo", 0644), 0);
  EXPECT_EQ(vfs_mkfifoat(fs_, dev, "fifo", 0644), -EEXIST);
  EXPECT_EQ(vfs_mkfifoat(fs_, 999, "x", 0644), -EBADF);
  EXPECT_EQ(vfs_mknodat(fs_, dev, "bad", 0170000 | 0644, 0), -EINVAL);
  EXPECT_EQ(Stat("/dev/null").mode, S_IFCHR | 0666u);
  EXPECT_EQ(Stat("/dev/null").rdev, makedev(1, 3));
  EXPECT_EQ(Stat("/dev/disk").rdev, makedev(8, 1));
  EXPECT_EQ(Stat("/dev/sock").mode & S_IFMT, static_cast<uint32_t>(S_IFSOCK));
  EXPECT_EQ(Stat("/dev/reg").mode, S_IFREG | 0644u);
  EXPECT_EQ(Stat("/dev/fifo").mode, S_IFIFO | 0644u);
  EXPECT_EQ(vfs_open(fs_, "/dev/null", O_RDWR, 0), -ENXIO);
  EXPECT_EQ(vfs_open(fs_, "/dev/fifo", O_WRONLY | O_NONBLOCK, 0), -ENXIO);

  vfs_credentials alice = User(1001, 1000);
  ASSERT_EQ(vfs_set_thread_credentials(&alice), 0);
  ASSERT_EQ(vfs_mkdir(fs_, "/dev/../home", 0755), -EACCES);
  ASSERT_EQ(vfs_set_thread_credentials(nullptr), 0);
  ASSERT_EQ(vfs_chmod(fs_, "/dev", 0777), 0);
  ASSERT_EQ(vfs_set_thread_credentials(&alice), 0);
  EXPECT_EQ(vfs_mknodat(fs_, dev, "mine", S_IFCHR | 0600, makedev(1, 5)), -EPERM);
  EXPECT_EQ(vfs_mkfifoat(fs_, dev, "myfifo", 0666), 0);
  ASSERT_EQ(vfs_set_thread_credentials(nullptr), 0);

  // fsync of the node's directory makes the device's record durable.
  ASSERT_EQ(vfs_fsync(fs_, dev), 0);
  ASSERT_EQ(vfs_close(fs_, dev), 0);
  int root = vfs_open(fs_, "/", O_RDONLY | O_DIRECTORY, 0);
  ASSERT_EQ(vfs_fsync(fs_, root), 0);
  ASSERT_EQ(vfs_close(fs_, root), 0);
  ASSERT_EQ(vfs_crash_and_remount(fs_), 0);
  EXPECT_EQ(Stat("/dev/null").rdev, makedev(1, 3));
}

// The *at forms take a directory descriptor (EBADF for a bad one, ENOTDIR
// for a file's) and act relative to it.
TEST_F(CApiPosixTest, AtFormsActRelativeToTheirDescriptor) {
  ASSERT_EQ(vfs_mkdir(fs_, "/d", 0755), 0);
  int d = vfs_open(fs_, "/d", O_RDONLY | O_DIRECTORY, 0);
  ASSERT_GE(d, 0);
  int fd = vfs_openat(fs_, d, "f", O_RDWR | O_CREAT, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(vfs_write(fs_, fd, "12345", 5), 5);
  EXPECT_EQ(vfs_openat(fs_, fd, "x", O_RDONLY, 0), -ENOTDIR);
  EXPECT_EQ(vfs_openat(fs_, 999, "x", O_RDONLY, 0), -EBADF);
  ASSERT_EQ(vfs_mkdirat(fs_, d, "sub", 0700), 0);
  ASSERT_EQ(vfs_symlinkat(fs_, "f", d, "l"), 0);
  char buf[16];
  ASSERT_EQ(vfs_readlinkat(fs_, d, "l", buf, sizeof buf), 1);
  EXPECT_EQ(buf[0], 'f');
  vfs_stat_buf st{};
  ASSERT_EQ(vfs_fstatat(fs_, d, "l", &st, VFS_AT_SYMLINK_NOFOLLOW), 0);
  EXPECT_EQ(st.mode & S_IFMT, static_cast<uint32_t>(S_IFLNK));
  ASSERT_EQ(vfs_fstatat(fs_, d, "l", &st, 0), 0);
  EXPECT_EQ(st.size, 5u);
  ASSERT_EQ(vfs_fchmodat(fs_, d, "f", 0600, 0), 0);
  EXPECT_EQ(Stat("/d/f").mode, S_IFREG | 0600u);
  const vfs_timespec times[2] = {{100, 0}, {200, 0}};
  ASSERT_EQ(vfs_utimensat(fs_, d, "f", times, 0), 0);
  EXPECT_EQ(Stat("/d/f").mtime.sec, 200);
  ASSERT_EQ(vfs_truncateat(fs_, d, "f", 2, 0), 0);
  EXPECT_EQ(Stat("/d/f").size, 2u);
  ASSERT_EQ(vfs_truncateat(fs_, fd, "", 1, VFS_AT_EMPTY_PATH), 0);
  EXPECT_EQ(Stat("/d/f").size, 1u);
  ASSERT_EQ(vfs_renameat2(fs_, d, "f", d, "g", VFS_RENAME_NOREPLACE), 0);
  EXPECT_EQ(vfs_renameat2(fs_, d, "g", d, "l", VFS_RENAME_NOREPLACE), -EEXIST);
  EXPECT_EQ(vfs_unlinkat(fs_, d, "sub", 0), -EISDIR);
  ASSERT_EQ(vfs_unlinkat(fs_, d, "sub", VFS_AT_REMOVEDIR), 0);
  ASSERT_EQ(vfs_unlinkat(fs_, d, "g", 0), 0);
  EXPECT_EQ(vfs_fstatat(fs_, d, "g", &st, 0), -ENOENT);
  EXPECT_EQ(vfs_close(fs_, fd), 0);
  EXPECT_EQ(vfs_close(fs_, d), 0);
}

}  // namespace
