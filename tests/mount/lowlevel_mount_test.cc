// The low-level mount (tools/mount/lowlevel_ops.h) through real system
// calls: one kernel inode per VFS inode (locks and FIFOs across hard
// links), calls on an open unlinked file, paths deeper than PATH_MAX,
// SEEK_DATA/SEEK_HOLE, xattrs, fallocate, O_TMPFILE, another user through
// allow_other, and the durability of each sync call across a crash.
// Skipped, with the reason, where the machine has no FUSE.
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tests/mount/mount_paths.h"
#include "tools/mount/fuse_mount.h"
#include "tools/mount/fuse_uring.h"

namespace vfs {
namespace {

using testing::Shell;
using testing::SyncHelper;
using testing::TempDir;

// How the mount is served, the parameter: without and with the kernel's
// write-back cache (FuseMountOptions::writeback_cache) on /dev/fuse, and
// without it over io_uring (FuseMountOptions::io_uring) where the kernel
// offers it (the fuse module's enable_uring; .ci/run turns it on).
enum class Transport { kWriteThrough, kWritebackCache, kIoUring };

bool KernelOffersIoUring() {
  std::ifstream in("/sys/module/fuse/parameters/enable_uring");
  char c = 'N';
  return FuseUring::Built() && (in >> c) && c == 'Y';
}

class LowlevelMountTest : public ::testing::TestWithParam<Transport> {
 protected:
  void SetUp() override {
    if (::access("/dev/fuse", F_OK) != 0) {
      GTEST_SKIP() << "FUSE is not available on this machine (no /dev/fuse)";
    }
    ASSERT_FALSE(tmp_.path().empty());
    // Other users must reach the mount point (NonRootUserCreatesAndReadsFiles).
    ASSERT_EQ(::chmod(tmp_.path().c_str(), 0755), 0);
    mountpoint_ = tmp_.path() + "/m";
    ASSERT_EQ(::mkdir(mountpoint_.c_str(), 0755), 0);
    FuseMountOptions options;
    options.mountpoint = mountpoint_;
    options.fs.backend = "memory";
    options.writeback_cache = GetParam() == Transport::kWritebackCache;
    if (GetParam() == Transport::kIoUring) {
      if (!KernelOffersIoUring()) {
        GTEST_SKIP() << "the kernel does not offer FUSE over io_uring "
                        "(/sys/module/fuse/parameters/enable_uring is not Y)";
      }
      options.io_uring = true;
    }
    std::string why;
    auto mount = FuseMount::Create(options, &why);
    if (!mount.ok() && (mount.error() == ENODEV || mount.error() == EPERM ||
                        mount.error() == EACCES)) {
      GTEST_SKIP() << "FUSE mount not permitted here: " << why;
    }
    ASSERT_TRUE(mount.ok()) << why;
    mount_ = std::move(mount).value();
    mount_->Start();
  }

  void TearDown() override {
    for (int fd : fds_) ::close(fd);
    if (mount_ != nullptr) {
      EXPECT_TRUE(mount_->Stop().ok());
    }
  }

  std::string Path(const std::string& name) const { return mountpoint_ + "/" + name; }

  // open(2) on the mount; the descriptor is closed at TearDown.
  int Open(const std::string& name, int flags, mode_t mode = 0644) {
    const int fd = ::open(Path(name).c_str(), flags, mode);
    if (fd >= 0) fds_.push_back(fd);
    return fd;
  }

  void Crash() {
    const std::string reply = mount_->fs().Control("crash");
    ASSERT_EQ(reply.rfind("ok crash", 0), 0u) << reply;
  }

  static std::string Contents(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return "(missing)";
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
  }

  // The file's bytes as the VFS holds them, not through the kernel.
  std::string VfsContents(const std::string& path) {
    MountedFs::Guard guard(&mount_->fs());
    auto fd = guard.fs().Open(path, O_RDONLY);
    if (!fd.ok()) return "(missing)";
    std::string out(1 << 16, '\0');
    auto n = guard.fs().Pread(*fd, out.data(), out.size(), 0);
    (void)guard.fs().Close(*fd);
    if (!n.ok()) return "(unreadable)";
    out.resize(*n);
    return out;
  }

  void WriteAll(int fd, const std::string& text) {
    ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()))
        << std::strerror(errno);
  }

  TempDir tmp_;
  std::string mountpoint_;
  std::unique_ptr<FuseMount> mount_;
  std::vector<int> fds_;
};

TEST_P(LowlevelMountTest, UnlinkedOpenFileAnswersFstatFchmodFchownAndFutimens) {
  const int fd = Open("tmp", O_RDWR | O_CREAT | O_EXCL);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  WriteAll(fd, "abc");
  ASSERT_EQ(::unlink(Path("tmp").c_str()), 0);
  struct stat st;
  ASSERT_EQ(::fstat(fd, &st), 0) << std::strerror(errno);
  EXPECT_EQ(st.st_size, 3);
  EXPECT_EQ(st.st_nlink, 0u);
  ASSERT_EQ(::fchmod(fd, 0600), 0) << std::strerror(errno);
  ASSERT_EQ(::fchown(fd, 1234, 5678), 0) << std::strerror(errno);
  const struct timespec times[2] = {{1000, 0}, {2000, 0}};
  ASSERT_EQ(::futimens(fd, times), 0) << std::strerror(errno);
  ASSERT_EQ(::fstat(fd, &st), 0) << std::strerror(errno);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(st.st_uid, 1234u);
  EXPECT_EQ(st.st_gid, 5678u);
  EXPECT_EQ(st.st_mtim.tv_sec, 2000);
  char buf[4] = {};
  EXPECT_EQ(::pread(fd, buf, sizeof buf, 0), 3);
  EXPECT_STREQ(buf, "abc");
}

TEST_P(LowlevelMountTest, HardLinksAreOneKernelInodeSoFlockExcludes) {
  const int a = Open("a", O_RDWR | O_CREAT);
  ASSERT_GE(a, 0) << std::strerror(errno);
  ASSERT_EQ(::link(Path("a").c_str(), Path("b").c_str()), 0) << std::strerror(errno);
  const int b = Open("b", O_RDWR);
  ASSERT_GE(b, 0) << std::strerror(errno);
  ASSERT_EQ(::flock(a, LOCK_EX | LOCK_NB), 0) << std::strerror(errno);
  EXPECT_EQ(::flock(b, LOCK_EX | LOCK_NB), -1);
  EXPECT_EQ(errno, EWOULDBLOCK);
  ASSERT_EQ(::flock(a, LOCK_UN), 0);
  EXPECT_EQ(::flock(b, LOCK_EX | LOCK_NB), 0) << std::strerror(errno);
}

TEST_P(LowlevelMountTest, FifoOpenedThroughTwoLinksPairs) {
  ASSERT_EQ(::mkfifo(Path("p").c_str(), 0644), 0) << std::strerror(errno);
  ASSERT_EQ(::link(Path("p").c_str(), Path("q").c_str()), 0) << std::strerror(errno);
  const int reader = Open("p", O_RDONLY | O_NONBLOCK);
  ASSERT_GE(reader, 0) << std::strerror(errno);
  // With two kernel inodes this is ENXIO: no reader on "q"'s pipe.
  const int writer = Open("q", O_WRONLY | O_NONBLOCK);
  ASSERT_GE(writer, 0) << std::strerror(errno);
  WriteAll(writer, "x");
  char c = 0;
  EXPECT_EQ(::read(reader, &c, 1), 1);
  EXPECT_EQ(c, 'x');
}

TEST_P(LowlevelMountTest, PathDeeperThanTenKibWorks) {
  // 60 directories of 200-byte names: 12,060 bytes below the mount point,
  // three times PATH_MAX. Each step is relative to the last directory.
  const std::string name(200, 'd');
  int dir = Open(".", O_RDONLY | O_DIRECTORY);
  ASSERT_GE(dir, 0) << std::strerror(errno);
  size_t depth_bytes = 0;
  for (int i = 0; i < 60; ++i) {
    ASSERT_EQ(::mkdirat(dir, name.c_str(), 0755), 0) << "level " << i << ": " << std::strerror(errno);
    const int next = ::openat(dir, name.c_str(), O_RDONLY | O_DIRECTORY);
    ASSERT_GE(next, 0) << "level " << i << ": " << std::strerror(errno);
    fds_.push_back(next);
    dir = next;
    depth_bytes += name.size() + 1;
  }
  ASSERT_GT(depth_bytes, 10u * 1024);
  const int f = ::openat(dir, "leaf", O_RDWR | O_CREAT, 0644);
  ASSERT_GE(f, 0) << std::strerror(errno);
  fds_.push_back(f);
  WriteAll(f, "deep");
  ASSERT_EQ(::fsync(f), 0);  // the write-back cache's pages reach the VFS
  // The VFS holds the file at that depth.
  MountedFs::Guard guard(&mount_->fs());
  Fd vdir = guard.fs().Open("/", O_PATH).value();
  for (int i = 0; i < 60; ++i) {
    auto next = guard.fs().OpenAt(vdir, name, O_PATH | O_DIRECTORY);
    ASSERT_TRUE(next.ok()) << "level " << i;
    vdir = *next;
  }
  auto leaf = guard.fs().OpenAt(vdir, "leaf", O_PATH);
  ASSERT_TRUE(leaf.ok());
  EXPECT_EQ(guard.fs().Fstat(*leaf).value().size, 4u);
}

TEST_P(LowlevelMountTest, SeekDataAndSeekHoleFindTheHole) {
  const int fd = Open("sparse", O_RDWR | O_CREAT);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  const std::string page(4096, 'x');
  ASSERT_EQ(::pwrite(fd, page.data(), page.size(), 0), 4096);
  ASSERT_EQ(::pwrite(fd, page.data(), page.size(), 1 << 20), 4096);
  EXPECT_EQ(::lseek(fd, 0, SEEK_HOLE), 4096);
  EXPECT_EQ(::lseek(fd, 4096, SEEK_DATA), 1 << 20);
  EXPECT_EQ(::lseek(fd, (1 << 20) + 4096, SEEK_DATA), -1);
  EXPECT_EQ(errno, ENXIO);
}

TEST_P(LowlevelMountTest, CopyFileRangeCopiesTheBytes) {
  const int in = Open("in", O_RDWR | O_CREAT);
  const int out = Open("out", O_RDWR | O_CREAT);
  ASSERT_GE(in, 0);
  ASSERT_GE(out, 0);
  std::string data(3 << 20, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>('a' + i % 26);
  WriteAll(in, data);
  loff_t off_in = 5, off_out = 7;
  const ssize_t n = ::copy_file_range(in, &off_in, out, &off_out, data.size() - 5, 0);
  ASSERT_EQ(n, static_cast<ssize_t>(data.size() - 5)) << std::strerror(errno);
  std::string copied(data.size() - 5, '\0');
  ASSERT_EQ(::pread(out, copied.data(), copied.size(), 7), static_cast<ssize_t>(copied.size()));
  EXPECT_EQ(copied, data.substr(5));
}

TEST_P(LowlevelMountTest, IoctlAnswersEnotty) {
  const int fd = Open("f", O_RDWR | O_CREAT);
  ASSERT_GE(fd, 0);
  int flags = 0;
  EXPECT_EQ(::ioctl(fd, FS_IOC_GETFLAGS, &flags), -1);
  EXPECT_EQ(errno, ENOTTY);
}

TEST_P(LowlevelMountTest, XattrsSetGetListAndRemove) {
  const int fd = Open("x", O_RDWR | O_CREAT);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  const std::string path = Path("x");
  ASSERT_EQ(::setxattr(path.c_str(), "user.colour", "blue", 4, XATTR_CREATE), 0)
      << std::strerror(errno);
  EXPECT_EQ(::setxattr(path.c_str(), "user.colour", "red", 3, XATTR_CREATE), -1);
  EXPECT_EQ(errno, EEXIST);
  char value[16] = {};
  EXPECT_EQ(::getxattr(path.c_str(), "user.colour", value, sizeof value), 4);
  EXPECT_STREQ(value, "blue");
  EXPECT_EQ(::fgetxattr(fd, "user.colour", nullptr, 0), 4);  // the size only
  EXPECT_EQ(::getxattr(path.c_str(), "user.colour", value, 2), -1);
  EXPECT_EQ(errno, ERANGE);
  char list[64] = {};
  EXPECT_EQ(::listxattr(path.c_str(), list, sizeof list), 12);
  EXPECT_STREQ(list, "user.colour");
  ASSERT_EQ(::fremovexattr(fd, "user.colour"), 0) << std::strerror(errno);
  EXPECT_EQ(::getxattr(path.c_str(), "user.colour", value, sizeof value), -1);
  EXPECT_EQ(errno, ENODATA);
}

TEST_P(LowlevelMountTest, FallocateAllocatesAndPunchesHoles) {
  const int fd = Open("f", O_RDWR | O_CREAT);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  ASSERT_EQ(::fallocate(fd, 0, 0, 1 << 20), 0) << std::strerror(errno);
  struct stat st;
  ASSERT_EQ(::fstat(fd, &st), 0);
  EXPECT_EQ(st.st_size, 1 << 20);
  EXPECT_GE(st.st_blocks, (1 << 20) / 512);
  ASSERT_EQ(::fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 8192, 8192), 0)
      << std::strerror(errno);
  EXPECT_EQ(::lseek(fd, 0, SEEK_HOLE), 8192);
  EXPECT_EQ(::lseek(fd, 8192, SEEK_DATA), 16384);
  ASSERT_EQ(::fstat(fd, &st), 0);
  EXPECT_EQ(st.st_size, 1 << 20);
}

TEST_P(LowlevelMountTest, TmpfileLinkedThroughProcSelfFdGetsAName) {
  const int fd = ::open(mountpoint_.c_str(), O_TMPFILE | O_RDWR, 0644);
  if (fd < 0 && errno == EOPNOTSUPP) {
    // The kernel answered without sending a request (seen with libfuse
    // 3.14, which negotiates protocol 7.31, on Linux 6.18; docs/mount.md).
    GTEST_SKIP() << "O_TMPFILE: EOPNOTSUPP from the kernel, no FUSE_TMPFILE request was sent";
  }
  ASSERT_GE(fd, 0) << std::strerror(errno);
  fds_.push_back(fd);
  WriteAll(fd, "anon");
  const std::string proc = "/proc/self/fd/" + std::to_string(fd);
  ASSERT_EQ(::linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, Path("named").c_str(), AT_SYMLINK_FOLLOW), 0)
      << std::strerror(errno);
  EXPECT_EQ(Contents(Path("named")), "anon");
}

TEST_P(LowlevelMountTest, NonRootUserCreatesAndReadsFiles) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to switch users with setpriv";
  ASSERT_EQ(::chmod(mountpoint_.c_str(), 01777), 0) << std::strerror(errno);
  auto r = Shell("setpriv --reuid=65534 --regid=65534 --clear-groups sh -c \"umask 022 && cd '" +
                 mountpoint_ + "' && echo hi > mine && cat mine && stat -c '%u %g %a' mine\"");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(r.output, "hi\n65534 65534 644\n");
  // Root's file is not writable by that user (rule X1 through the mount).
  ASSERT_EQ(::close(Open("roots", O_WRONLY | O_CREAT, 0644)), 0);
  fds_.pop_back();
  auto denied = Shell("setpriv --reuid=65534 --regid=65534 --clear-groups sh -c \"echo x > '" +
                      Path("roots") + "'\"");
  EXPECT_NE(denied.status, 0);
  EXPECT_NE(denied.output.find("Permission denied"), std::string::npos) << denied.output;
}

// A writer who is not the owner truncates, writes, fsyncs and touches a
// file it may write. With the write-back cache the kernel sends the times
// it chose (at open's O_TRUNC, at fsync, for UTIME_NOW) as explicit times,
// which the owner alone may set by utimensat; the mount applies them for
// the kernel, which checked the caller. An explicit time stays refused.
TEST_P(LowlevelMountTest, WriterWhoIsNotTheOwnerTruncatesWritesFsyncsAndTouches) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to switch users with setpriv";
  const int made = Open("shared", O_WRONLY | O_CREAT, 0666);
  ASSERT_GE(made, 0);
  ASSERT_EQ(::fchmod(made, 0666), 0);  // whatever the umask
  WriteAll(made, "root's text");
  ASSERT_EQ(::close(made), 0);
  fds_.pop_back();
  const std::string as_nobody = "setpriv --reuid=65534 --regid=65534 --clear-groups ";
  auto wrote = Shell(as_nobody + SyncHelper() + " writesync '" + Path("shared") + "' nobody");
  EXPECT_EQ(wrote.status, 0) << wrote.output;
  auto touched = Shell(as_nobody + "touch '" + Path("shared") + "'");
  EXPECT_EQ(touched.status, 0) << touched.output;
  auto dated = Shell(as_nobody + "touch -d @0 '" + Path("shared") + "'");
  EXPECT_NE(dated.status, 0);
  EXPECT_NE(dated.output.find("Operation not permitted"), std::string::npos) << dated.output;
  EXPECT_EQ(Contents(Path("shared")), "nobody");
  struct stat st;
  ASSERT_EQ(::stat(Path("shared").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 0u);
  EXPECT_NE(st.st_mtime, 0);
}

// O_APPEND descriptors append, whoever wrote last (with the write-back
// cache the kernel appends, and the VFS descriptor has no O_APPEND).
TEST_P(LowlevelMountTest, AppendDescriptorsAppend) {
  const int a = Open("log", O_WRONLY | O_CREAT | O_APPEND);
  ASSERT_GE(a, 0) << std::strerror(errno);
  const int b = Open("log", O_WRONLY | O_APPEND);
  ASSERT_GE(b, 0) << std::strerror(errno);
  // Each fsync sends the kernel's page (from offset 0) to the VFS.
  WriteAll(a, "one ");
  ASSERT_EQ(::fsync(a), 0);
  WriteAll(b, "two ");
  ASSERT_EQ(::fsync(b), 0);
  WriteAll(a, "three");
  ASSERT_EQ(::pwrite(a, "!", 1, 0), 1);  // pwrite on O_APPEND appends too (Linux)
  ASSERT_EQ(::fsync(a), 0);
  EXPECT_EQ(Contents(Path("log")), "one two three!");
  EXPECT_EQ(VfsContents("/log"), "one two three!");
}

// A write-only descriptor's write into part of a page keeps the rest of the
// page: with the write-back cache the kernel first reads the page the VFS
// holds, through that descriptor.
TEST_P(LowlevelMountTest, WriteOnlyPartialPageWriteKeepsTheRest) {
  {
    MountedFs::Guard guard(&mount_->fs());
    auto fd = guard.fs().Open("/p", O_WRONLY | O_CREAT, 0644);
    ASSERT_TRUE(fd.ok());
    ASSERT_TRUE(guard.fs().Pwrite(*fd, "0123456789", 10, 0).ok());
    ASSERT_TRUE(guard.fs().Close(*fd).ok());
  }
  const int fd = Open("p", O_WRONLY);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  ASSERT_EQ(::pwrite(fd, "ab", 2, 2), 2) << std::strerror(errno);
  ASSERT_EQ(::fsync(fd), 0) << std::strerror(errno);
  EXPECT_EQ(VfsContents("/p"), "01ab456789");
  EXPECT_EQ(Contents(Path("p")), "01ab456789");
}

// Opening a directory needs read permission on it, not search permission
// on its parent: a process whose working directory is below a directory it
// cannot search lists its working directory (pjdfstest utimensat/07.t).
TEST_P(LowlevelMountTest, DirectoryBelowAnUnsearchableParentOpensForItsReader) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to switch users with setpriv";
  ASSERT_EQ(::mkdir(Path("locked").c_str(), 0700), 0);
  ASSERT_EQ(::mkdir(Path("locked/open").c_str(), 0755), 0);
  ASSERT_EQ(::close(Open("locked/open/f", O_WRONLY | O_CREAT)), 0);
  fds_.pop_back();
  auto r = Shell("cd '" + Path("locked/open") +
                 "' && setpriv --reuid=65534 --regid=65534 --clear-groups ls .");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(r.output, "f\n");
}

// One test per call that makes data durable through the mount: the write
// survives a crash after the call, and a second write after the call does
// not.
class SyncCallTest : public LowlevelMountTest {
 protected:
  // Creates "f" with "old", makes it and its name durable, then writes
  // "new" at 0 through a descriptor opened with `open_flags` and runs
  // `sync` on it.
  void WriteThenSync(int open_flags, const std::function<int(int)>& sync) {
    const int fd = Open("f", O_RDWR | O_CREAT | open_flags);
    ASSERT_GE(fd, 0) << std::strerror(errno);
    WriteAll(fd, "old");
    ASSERT_EQ(::fsync(fd), 0);
    const int dir = Open(".", O_RDONLY | O_DIRECTORY);
    ASSERT_EQ(::fsync(dir), 0);
    ASSERT_EQ(::pwrite(fd, "new", 3, 0), 3);
    ASSERT_EQ(sync(fd), 0) << std::strerror(errno);
    ASSERT_EQ(::pwrite(fd, "!", 1, 3), 1);  // never synced
  }
};

TEST_P(SyncCallTest, FsyncKeepsTheWrite) {
  WriteThenSync(0, [](int fd) { return ::fsync(fd); });
  Crash();
  EXPECT_EQ(Contents(Path("f")), "new");
}

TEST_P(SyncCallTest, FdatasyncKeepsTheWrite) {
  WriteThenSync(0, [](int fd) { return ::fdatasync(fd); });
  Crash();
  EXPECT_EQ(Contents(Path("f")), "new");
}

TEST_P(SyncCallTest, OSyncWriteIsDurableWhenItReturns) {
  WriteThenSync(O_SYNC, [](int) { return 0; });
  Crash();
  // The last write was synchronous too.
  EXPECT_EQ(Contents(Path("f")), "new!");
}

TEST_P(SyncCallTest, ODsyncWriteIsDurableWhenItReturns) {
  WriteThenSync(O_DSYNC, [](int) { return 0; });
  Crash();
  EXPECT_EQ(Contents(Path("f")), "new!");
}

TEST_P(SyncCallTest, UnsyncedWriteIsLost) {
  WriteThenSync(0, [](int) { return 0; });
  Crash();
  EXPECT_EQ(Contents(Path("f")), "old");
}

// Dirty pages the kernel still held at the crash (with the write-back
// cache) reach nothing afterwards: closing the descriptor and sync(2) write
// them back to a handle of before the crash, which answers EIO.
TEST_P(SyncCallTest, DirtyPagesHeldAtACrashAreLostAfterTheirWriteBack) {
  WriteThenSync(0, [](int) { return 0; });
  Crash();
  // The old handles' write-back is dropped without an error: close never
  // reports one (W5.5).
  for (int fd : fds_) EXPECT_EQ(::close(fd), 0) << std::strerror(errno);
  fds_.clear();
  ::sync();
  EXPECT_EQ(VfsContents("/f"), "old");
  EXPECT_EQ(Contents(Path("f")), "old");
}

// `vfs ctl sync` makes everything durable, the pages the kernel still
// holds (with the write-back cache) included.
TEST_P(SyncCallTest, ControlSyncKeepsWritesTheKernelHeld) {
  WriteThenSync(0, [](int) { return 0; });
  ASSERT_EQ(mount_->fs().Control("sync"), "ok synced");
  Crash();
  EXPECT_EQ(Contents(Path("f")), "new!");
}

// sync_file_range(2) has no FUSE request: it writes the kernel's dirty
// pages (with the write-back cache) to the VFS, where they are dirty, so
// it makes nothing durable through the mount (docs/mount.md).
TEST_P(SyncCallTest, SyncFileRangeMakesNothingDurable) {
  WriteThenSync(0, [](int fd) {
    return ::sync_file_range(fd, 0, 0,
                             SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
                                 SYNC_FILE_RANGE_WAIT_AFTER);
  });
  EXPECT_EQ(VfsContents("/f").substr(0, 3), "new");
  Crash();
  EXPECT_EQ(Contents(Path("f")), "old");
}

// A shared mapping's stores are dirty pages in the kernel in either mode:
// msync(MS_SYNC) writes them and fsyncs (D1); stores after it are lost.
TEST_P(SyncCallTest, MsyncKeepsAMappedWrite) {
  const int fd = Open("m", O_RDWR | O_CREAT);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  ASSERT_EQ(::ftruncate(fd, 4096), 0);
  ASSERT_EQ(::fsync(fd), 0);
  ASSERT_EQ(::fsync(Open(".", O_RDONLY | O_DIRECTORY)), 0);
  char* map = static_cast<char*>(::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
  ASSERT_NE(map, MAP_FAILED) << std::strerror(errno);
  std::memcpy(map, "mapped", 6);
  ASSERT_EQ(::msync(map, 4096, MS_SYNC), 0) << std::strerror(errno);
  std::memcpy(map, "MAPPED", 6);  // never synced
  Crash();
  ::munmap(map, 4096);
  EXPECT_EQ(Contents(Path("m")).substr(0, 7), std::string("mapped\0", 7));
}

TEST_P(SyncCallTest, DirectoryFsyncKeepsANewName) {
  const int fd = Open("n", O_RDWR | O_CREAT);
  ASSERT_GE(fd, 0);
  WriteAll(fd, "n");
  ASSERT_EQ(::fsync(fd), 0);
  ASSERT_EQ(::mkdir(Path("d").c_str(), 0755), 0);
  const int dir = Open(".", O_RDONLY | O_DIRECTORY);
  ASSERT_EQ(::fsync(dir), 0);
  ASSERT_EQ(::mkdir(Path("lost").c_str(), 0755), 0);
  Crash();
  EXPECT_EQ(Contents(Path("n")), "n");
  struct stat st;
  EXPECT_EQ(::stat(Path("d").c_str(), &st), 0);
  // The kernel cached "lost" before the crash; the crash invalidated it.
  EXPECT_EQ(::stat(Path("lost").c_str(), &st), -1);
  EXPECT_EQ(errno, ENOENT);
}

TEST_P(SyncCallTest, DescriptorOpenedBeforeTheCrashAnswersEio) {
  const int fd = Open("f", O_RDWR | O_CREAT);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::fsync(fd), 0);
  Crash();
  struct stat st;
  EXPECT_EQ(::fstat(fd, &st), -1);
  EXPECT_EQ(errno, EIO);
  EXPECT_EQ(::write(fd, "x", 1), -1);
  EXPECT_EQ(errno, EIO);
}

// Crashes while a program creates, writes and renames files: every call
// either succeeds or answers EIO (a descriptor or directory from before a
// crash) or ENOENT (a name a crash took back), and the mount serves on.
TEST_P(LowlevelMountTest, CrashWhileAProgramRunsKeepsServing) {
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> iterations{0};
  std::vector<std::string> unexpected;
  std::thread program([&] {
    for (uint64_t i = 0; !stop.load(); ++i) {
      const std::string name = Path("w" + std::to_string(i % 50));
      const int fd = ::open(name.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644);
      int err = fd < 0 ? errno : 0;
      if (fd >= 0) {
        if (::write(fd, "data", 4) != 4 || ::fsync(fd) != 0) err = errno;
        ::close(fd);
        if (err == 0 && ::rename(name.c_str(), (name + ".r").c_str()) != 0) err = errno;
      }
      if (err != 0 && err != EIO && err != ENOENT) {
        unexpected.push_back(name + ": " + std::strerror(err));
      }
      iterations.fetch_add(1);
    }
  });
  for (int crash = 0; crash < 20; ++crash) {
    const uint64_t seen = iterations.load();
    while (iterations.load() < seen + 5) std::this_thread::yield();
    Crash();
  }
  stop.store(true);
  program.join();
  EXPECT_TRUE(unexpected.empty()) << unexpected.size() << " unexpected errors, first: "
                                  << unexpected.front();
  const int fd = Open("after", O_RDWR | O_CREAT);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  WriteAll(fd, "ok");
  EXPECT_EQ(Contents(Path("after")), "ok");
}

// st_size and st_nlink of a directory, as tmpfs gives them (checked on
// this machine's /dev/shm): 40 plus 20 per entry, 2 plus one per
// subdirectory (rule V1).
TEST_P(LowlevelMountTest, DirectorySizeAndLinksCountAsTmpfs) {
  const auto size_links = [this](const std::string& name) {
    struct stat st;
    if (::stat(Path(name).c_str(), &st) != 0) return std::string(std::strerror(errno));
    return std::to_string(st.st_size) + " " + std::to_string(st.st_nlink);
  };
  ASSERT_EQ(::mkdir(Path("d").c_str(), 0755), 0);
  EXPECT_EQ(size_links("d"), "40 2");
  ASSERT_EQ(::close(Open("d/a", O_WRONLY | O_CREAT)), 0);
  fds_.pop_back();
  EXPECT_EQ(size_links("d"), "60 2");
  ASSERT_EQ(::mkdir(Path("d/s").c_str(), 0755), 0);
  EXPECT_EQ(size_links("d"), "80 3");
  EXPECT_EQ(size_links("d/s"), "40 2");
  ASSERT_EQ(::mkfifo(Path("d/f").c_str(), 0644), 0);
  ASSERT_EQ(::symlink("a", Path("d/l").c_str()), 0);
  ASSERT_EQ(::link(Path("d/a").c_str(), Path("d/h").c_str()), 0);
  EXPECT_EQ(size_links("d"), "140 3");
  ASSERT_EQ(::unlink(Path("d/a").c_str()), 0);
  EXPECT_EQ(size_links("d"), "120 3");
  ASSERT_EQ(::rename(Path("d/s").c_str(), Path("s").c_str()), 0);
  EXPECT_EQ(size_links("d"), "100 2");
  ASSERT_EQ(::rename(Path("d/h").c_str(), Path("d/l").c_str()), 0);  // over an entry
  EXPECT_EQ(size_links("d"), "80 2");
  // A crash remounts the durable tree: the counts are rebuilt from it.
  ASSERT_EQ(::fsync(Open("d", O_RDONLY | O_DIRECTORY)), 0);
  ASSERT_EQ(::fsync(Open(".", O_RDONLY | O_DIRECTORY)), 0);
  Crash();
  EXPECT_EQ(size_links("d"), "80 2");
}

// renameat2(RENAME_WHITEOUT) leaves a whiteout at the old name: a
// character device 0/0 with no permission bits, as tmpfs makes it.
TEST_P(LowlevelMountTest, RenameWhiteoutLeavesACharacterDeviceAtTheOldName) {
  if (::geteuid() != 0) GTEST_SKIP() << "RENAME_WHITEOUT needs CAP_MKNOD";
  const int fd = Open("a", O_WRONLY | O_CREAT);
  ASSERT_GE(fd, 0);
  WriteAll(fd, "x");
  ASSERT_EQ(::renameat2(AT_FDCWD, Path("a").c_str(), AT_FDCWD, Path("b").c_str(), RENAME_WHITEOUT),
            0)
      << std::strerror(errno);
  struct stat st;
  ASSERT_EQ(::lstat(Path("a").c_str(), &st), 0) << std::strerror(errno);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0u);
  EXPECT_EQ(st.st_rdev, 0u);
  EXPECT_EQ(Contents(Path("b")), "x");
  // Refused with RENAME_NOREPLACE over an existing name: nothing changes,
  // and no whiteout is left behind under another name.
  ASSERT_EQ(::close(Open("c", O_WRONLY | O_CREAT)), 0);
  fds_.pop_back();
  EXPECT_EQ(::renameat2(AT_FDCWD, Path("b").c_str(), AT_FDCWD, Path("c").c_str(),
                        RENAME_WHITEOUT | RENAME_NOREPLACE),
            -1);
  EXPECT_EQ(errno, EEXIST);
  auto listing = Shell("ls -A '" + mountpoint_ + "'");
  EXPECT_EQ(listing.output, "a\nb\nc\n");
  EXPECT_EQ(Contents(Path("b")), "x");
  // Two names of one inode: the rename changes nothing, no whiteout.
  ASSERT_EQ(::link(Path("b").c_str(), Path("b2").c_str()), 0);
  EXPECT_EQ(::renameat2(AT_FDCWD, Path("b").c_str(), AT_FDCWD, Path("b2").c_str(), RENAME_WHITEOUT),
            0);
  ASSERT_EQ(::lstat(Path("b").c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
}

// The process's resident memory, in bytes.
size_t ResidentBytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  }
  return 0;
}

// A deleted file's memory goes back to the system, not only to the
// allocator (memory_trimmer.h). Its pages are interleaved with a kept
// file's, 1 MiB at a time, so no heap can shrink from its top: without the
// trimmer resident memory stays where it was (stress-ng's filesystem
// stressors grew the mount to gigabytes that way).
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define VFS_SANITIZER_ALLOCATOR 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define VFS_SANITIZER_ALLOCATOR 1
#endif
#endif

TEST_P(LowlevelMountTest, DeletedFileMemoryReturnsToTheSystem) {
#ifdef VFS_SANITIZER_ALLOCATOR
  GTEST_SKIP() << "the sanitizer's allocator replaces glibc's: it keeps freed memory in "
                  "quarantine, and malloc_trim does not reach it";
#endif
  const int a = Open("a", O_RDWR | O_CREAT);
  const int b = Open("b", O_RDWR | O_CREAT);
  ASSERT_GE(a, 0);
  ASSERT_GE(b, 0);
  const std::string chunk(1 << 20, 'x');
  constexpr int kChunks = 96;
  for (int i = 0; i < kChunks; ++i) {
    for (int fd : {a, b}) {
      ASSERT_EQ(::pwrite(fd, chunk.data(), chunk.size(), off_t{i} << 20),
                static_cast<ssize_t>(chunk.size()));
      ASSERT_EQ(::fdatasync(fd), 0);  // this piece reaches the VFS now, in turn
    }
  }
  const size_t full = ResidentBytes();
  ASSERT_EQ(::close(a), 0);
  fds_.erase(std::find(fds_.begin(), fds_.end(), a));
  ASSERT_EQ(::unlink(Path("a").c_str()), 0);
  ASSERT_EQ(::fsync(Open(".", O_RDONLY | O_DIRECTORY)), 0);  // the removal durable: data freed
  // The trimmer runs once a second; give it some.
  const size_t goal = full - (size_t{kChunks} << 20) / 2;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (ResidentBytes() > goal && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_LE(ResidentBytes(), goal) << "resident " << (full >> 20) << " MiB with both files";
}

TEST_P(LowlevelMountTest, ForgottenNodesLeaveTheTable) {
  const size_t before = mount_->kernel_nodes();
  for (int i = 0; i < 200; ++i) {
    const std::string name = "f" + std::to_string(i);
    const int fd = ::open(Path(name).c_str(), O_WRONLY | O_CREAT, 0644);
    ASSERT_GE(fd, 0);
    ::close(fd);
    ASSERT_EQ(::unlink(Path(name).c_str()), 0);
  }
  // An unlinked inode with no user left is evicted at once; its FORGET
  // reaches the mount asynchronously, so wait for the table to drain.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (mount_->kernel_nodes() > before + 10 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_LE(mount_->kernel_nodes(), before + 10);
}

TEST_P(LowlevelMountTest, RequestsGoThroughTheRingsWithIoUring) {
  if (GetParam() != Transport::kIoUring) GTEST_SKIP() << "io_uring only";
  // The rings start once the kernel has taken the INIT reply.
  ASSERT_TRUE(mount_->WaitForIoUring(absl::Seconds(30)));
  const uint64_t before = mount_->uring_requests();
  // Each mkdir and rmdir of a new name is a request the kernel cannot
  // answer from its caches; every one goes through a ring now.
  for (int i = 0; i < 10; ++i) {
    const std::string dir = Path("d" + std::to_string(i));
    ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0) << std::strerror(errno);
    ASSERT_EQ(::rmdir(dir.c_str()), 0) << std::strerror(errno);
  }
  EXPECT_GE(mount_->uring_requests() - before, 20u);
  const int fd = Open("f", O_RDWR | O_CREAT);
  ASSERT_GE(fd, 0);
  WriteAll(fd, "ring");
  ASSERT_EQ(::fsync(fd), 0);
  EXPECT_EQ(VfsContents("/f"), "ring");
}

std::string CacheName(const ::testing::TestParamInfo<Transport>& info) {
  switch (info.param) {
    case Transport::kWriteThrough: return "WriteThrough";
    case Transport::kWritebackCache: return "WritebackCache";
    case Transport::kIoUring: return "IoUring";
  }
  return "Unknown";
}

constexpr Transport kTransports[] = {Transport::kWriteThrough, Transport::kWritebackCache,
                                     Transport::kIoUring};
INSTANTIATE_TEST_SUITE_P(Caches, LowlevelMountTest, ::testing::ValuesIn(kTransports), CacheName);
INSTANTIATE_TEST_SUITE_P(Caches, SyncCallTest, ::testing::ValuesIn(kTransports), CacheName);

}  // namespace
}  // namespace vfs
