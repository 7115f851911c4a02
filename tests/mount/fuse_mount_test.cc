// `vfs mount` in process: a FuseMount served on a thread in a temporary
// directory, ordinary programs run on it (cp, cat, mv, ln, sqlite3), fsync
// from a small C helper, "crash" through the control socket, and checks that
// exactly the synced data survives. Skipped, with the reason, where the
// machine has no FUSE.
#include "tools/mount/fuse_mount.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

#include "backends/disk/disk_store.h"
#include "gtest/gtest.h"
#include "tests/mount/mount_paths.h"
#include "tools/mount/control.h"

namespace vfs {
namespace {

using testing::IsMounted;
using testing::Shell;
using testing::SyncHelper;
using testing::TempDir;

class FuseMountTest : public ::testing::Test {
 protected:
  void SetUp() override { Mount("memory"); }

  void Mount(const std::string& backend) {
    if (::access("/dev/fuse", F_OK) != 0) {
      GTEST_SKIP() << "FUSE is not available on this machine (no /dev/fuse)";
    }
    ASSERT_FALSE(tmp_.path().empty());
    mountpoint_ = tmp_.path() + "/m";
    socket_ = tmp_.path() + "/ctl";
    ASSERT_EQ(::mkdir(mountpoint_.c_str(), 0755), 0);
    FuseMountOptions options;
    options.mountpoint = mountpoint_;
    options.control_socket = socket_;
    options.fs.backend = backend;
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

  // Always unmounts, also after a failed assertion.
  void TearDown() override {
    if (mount_ != nullptr) {
      EXPECT_TRUE(mount_->Stop().ok());
      EXPECT_FALSE(IsMounted(mountpoint_)) << mountpoint_ << " is still mounted";
    }
  }

  std::string Path(const std::string& name) const { return mountpoint_ + "/" + name; }

  // Runs a shell command in the mount point; fails the test if it fails.
  std::string Run(const std::string& command) {
    auto r = Shell("cd '" + mountpoint_ + "' && " + command);
    EXPECT_EQ(r.status, 0) << command << ":\n" << r.output;
    return r.output;
  }

  std::string Ctl(const std::string& command) {
    std::string why;
    auto reply = SendControl(socket_, command, &why);
    EXPECT_TRUE(reply.ok()) << why;
    return reply.ok() ? *reply : why;
  }

  void Crash() {
    const std::string reply = Ctl("crash");
    ASSERT_EQ(reply.rfind("ok crash", 0), 0u) << reply;
  }

  static std::string Contents(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return "(missing)";
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
  }

  TempDir tmp_;
  std::string mountpoint_;
  std::string socket_;
  std::unique_ptr<FuseMount> mount_;
};

TEST_F(FuseMountTest, OrdinaryProgramsWorkOnTheMount) {
  Run("printf 'hello\\n' > a && cp a b && mv b c && ln c d && ln -s c e && mkdir dir && "
      "cp a dir/f && mkfifo pipe");
  EXPECT_EQ(Run("cat e"), "hello\n");
  EXPECT_EQ(Run("cat dir/f"), "hello\n");
  EXPECT_EQ(Run("ls"), "a\nc\nd\ndir\ne\npipe\n");
  EXPECT_EQ(Run("stat -c '%h %F' c"), "2 regular file\n");
  EXPECT_EQ(Run("stat -c %F pipe"), "fifo\n");
  EXPECT_EQ(Run("readlink e"), "c\n");
  EXPECT_EQ(Run("stat -f -c %l ."), "255\n");  // statfs: the VFS's name_max
  Run("chmod 600 a && truncate -s 3 a && touch -d '2001-02-03 04:05:06' a");
  EXPECT_EQ(Run("stat -c '%a %s %Y' a"), "600 3 " + std::to_string(981173106) + "\n");
  Run("rm d && rm -r dir && rmdir . 2>/dev/null || true");
  EXPECT_EQ(Run("ls"), "a\nc\ne\npipe\n");
  // The files live in the VFS, not in the host directory under the mount.
  MountedFs::Guard g(&mount_->fs());
  EXPECT_EQ(g.fs().Stat("/c").value().size, 6u);
  EXPECT_EQ(g.fs().Stat("/dir").error(), ENOENT);
}

TEST_F(FuseMountTest, CrashKeepsExactlyTheSyncedData) {
  const std::string helper = SyncHelper();
  // kept: written, fsynced, and its directory fsynced (rules D1, D3).
  // name-only: fsynced, directory not synced after it was created.
  // unsynced: written, never synced.
  Run(helper + " writesync kept durable fsync . writesync name-only data");
  Run("printf 'lost' > unsynced && printf ' more' >> kept");
  EXPECT_EQ(Contents(Path("kept")), "durable more");
  Crash();
  EXPECT_EQ(Contents(Path("kept")), "durable");
  EXPECT_EQ(Contents(Path("name-only")), "(missing)");
  EXPECT_EQ(Contents(Path("unsynced")), "(missing)");
  EXPECT_EQ(Run("ls"), "kept\n");
}

TEST_F(FuseMountTest, FdatasyncKeepsTheDataAndRenameNeedsTheDirectorySync) {
  const std::string helper = SyncHelper();
  Run(helper + " write f one fdatasync f fsync . write tmp two fsync tmp rename tmp f");
  Crash();
  // The rename was not made durable (no directory fsync after it): the old
  // name and data are back.
  EXPECT_EQ(Contents(Path("f")), "one");
  Run(helper + " write tmp two fsync tmp rename tmp f fsync .");
  Crash();
  EXPECT_EQ(Contents(Path("f")), "two");
  EXPECT_EQ(Contents(Path("tmp")), "(missing)");
}

TEST_F(FuseMountTest, RenameNoReplaceRefusesAnExistingTarget) {
  Run("echo a > a && echo b > b");
  auto r = Shell(SyncHelper() + " noreplace " + Path("a") + " " + Path("b"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("errno EEXIST"), std::string::npos) << r.output;
  EXPECT_EQ(Contents(Path("b")), "b\n");
  Run(SyncHelper() + " noreplace a c");
  EXPECT_EQ(Run("ls"), "b\nc\n");
}

TEST_F(FuseMountTest, SqliteDatabaseCommittedWithSynchronousExtraSurvivesACrash) {
  if (Shell("command -v sqlite3").status != 0) GTEST_SKIP() << "sqlite3 is not installed";
  Run("sqlite3 app.db 'PRAGMA synchronous=EXTRA; CREATE TABLE t(x); "
      "INSERT INTO t VALUES (42), (43);'");
  // Written after the last commit, never committed.
  Run("printf junk > scratch");
  Crash();
  EXPECT_EQ(Run("sqlite3 app.db 'PRAGMA integrity_check; SELECT sum(x) FROM t;'"), "ok\n85\n");
  EXPECT_EQ(Contents(Path("scratch")), "(missing)");
}

TEST_F(FuseMountTest, FaultRuleFailsTheNextFsyncWithEIO) {
  const std::string helper = SyncHelper();
  Run(helper + " writesync f ok fsync .");
  const std::string added = Ctl("fault error=EIO path=/f");
  ASSERT_EQ(added.rfind("ok rule", 0), 0u) << added;
  auto r = Shell(helper + " writesync " + Path("f") + " doomed");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("fsync " + Path("f") + ": errno EIO"), std::string::npos) << r.output;
  EXPECT_EQ(Ctl("clear"), "ok fault rules cleared\n");
  Run(helper + " writesync f fine");
  Crash();
  EXPECT_EQ(Contents(Path("f")), "fine");
}

TEST_F(FuseMountTest, DescriptorOpenAcrossACrashAnswersEIO) {
  const int fd = ::open(Path("f").c_str(), O_RDWR | O_CREAT, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, "x", 1), 1);
  Crash();
  errno = 0;
  EXPECT_EQ(::write(fd, "y", 1), -1);
  EXPECT_EQ(errno, EIO);
  EXPECT_EQ(::fsync(fd), -1);
  EXPECT_EQ(errno, EIO);
  EXPECT_EQ(::close(fd), 0);  // close never reports write-back errors (W5.5)
}

TEST_F(FuseMountTest, StatsCountTheSyncCallsThatReachedTheVfs) {
  Run(SyncHelper() + " write f x fsync f fdatasync f fsync .");
  const std::string stats = Ctl("stats");
  EXPECT_NE(stats.find(" fsync=1 fdatasync=1 "), std::string::npos) << stats;
  EXPECT_NE(stats.find(" fsyncdir=1 "), std::string::npos) << stats;
}

TEST_F(FuseMountTest, DirtyReportsWhatAProgramLeftUnsynced) {
  Run("printf data > f");
  const std::string dirty = Ctl("dirty");
  EXPECT_NE(dirty.find("file /f dirty_pages=1"), std::string::npos) << dirty;
  EXPECT_NE(dirty.find("dir / pending_entries=1"), std::string::npos) << dirty;
  // sync(1) does not reach the VFS (libfuse has no syncfs); the control
  // channel's sync does.
  Run("sync");
  EXPECT_NE(Ctl("dirty").find("file /f dirty_pages=1"), std::string::npos);
  EXPECT_EQ(Ctl("sync"), "ok synced\n");
  EXPECT_EQ(Ctl("dirty").rfind("ok dirty: 0 inodes, 0 directories", 0), 0u);
}

TEST_F(FuseMountTest, UnknownControlCommandIsAnError) {
  EXPECT_EQ(Ctl("reboot").rfind("error: unknown command 'reboot'", 0), 0u);
}

// Unmount makes everything durable, as umount does: the disk store holds the
// unsynced file when opened again without FUSE.
TEST(FuseMountDisk, CleanUnmountMakesEverythingDurable) {
  if (::access("/dev/fuse", F_OK) != 0) GTEST_SKIP() << "FUSE is not available (no /dev/fuse)";
  TempDir tmp;
  const std::string mountpoint = tmp.path() + "/m";
  const std::string store_dir = tmp.path() + "/store";
  ASSERT_EQ(::mkdir(mountpoint.c_str(), 0755), 0);
  FuseMountOptions options;
  options.mountpoint = mountpoint;
  options.fs.backend = "disk:" + store_dir;
  std::string why;
  auto mount = FuseMount::Create(options, &why);
  if (!mount.ok() && (mount.error() == EPERM || mount.error() == ENODEV)) GTEST_SKIP() << why;
  ASSERT_TRUE(mount.ok()) << why;
  (*mount)->Start();
  auto r = Shell("printf 'never synced' > '" + mountpoint + "/f'");
  EXPECT_EQ(r.status, 0) << r.output;
  ASSERT_TRUE((*mount)->Stop().ok());
  EXPECT_FALSE(IsMounted(mountpoint));
  std::move(mount).value().reset();  // gives the store (and its lock) up

  auto store = OpenDiskStore(store_dir, {}, &why);
  ASSERT_TRUE(store.ok()) << why;
  auto fs = Filesystem::Mount(*store);
  ASSERT_TRUE(fs.ok());
  auto fd = (*fs)->Open("/f", O_RDONLY);
  ASSERT_TRUE(fd.ok());
  char buf[64];
  auto n = (*fs)->Read(*fd, buf, sizeof buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(buf, *n), "never synced");
}

TEST(FuseMountErrors, BadMountPointsAreClearErrors) {
  TempDir tmp;
  const std::string file = tmp.path() + "/file";
  std::ofstream(file) << "x";
  struct Case {
    std::string mountpoint;
    int error;
    const char* says;
  };
  const bool fuse = ::access("/dev/fuse", F_OK) == 0;
  for (const Case& c : {Case{tmp.path() + "/missing", ENOENT, "No such file"},
                        Case{file, ENOTDIR, "is not a directory"}, Case{"", ENOENT, "mount point"}}) {
    FuseMountOptions options;
    options.mountpoint = c.mountpoint;
    std::string why;
    auto mount = FuseMount::Create(options, &why);
    ASSERT_FALSE(mount.ok());
    if (!fuse) {
      // Without FUSE the first check answers, naming FUSE.
      EXPECT_EQ(mount.error(), ENODEV);
      EXPECT_NE(why.find("FUSE is not available"), std::string::npos) << why;
      continue;
    }
    EXPECT_EQ(mount.error(), c.error) << c.mountpoint;
    EXPECT_NE(why.find(c.says), std::string::npos) << why;
  }
}

}  // namespace
}  // namespace vfs
