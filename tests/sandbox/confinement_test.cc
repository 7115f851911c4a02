// Confinement: path resolution never leaves the filesystem's root and never
// reaches the host. Each test tries one of the known escapes and checks the
// exact errno or the in-tree object reached (docs/embedding.md, "What the
// sandbox promises").
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "tests/test_util.h"

namespace vfs {
namespace {

using testing::VfsTest;

class ConfinementTest : public VfsTest {
 protected:
  // The inode number a path names, or 0 if it names nothing.
  uint64_t InoOf(const std::string& path) {
    auto st = fs_->Stat(path);
    return st.ok() ? st->ino.value() : 0;
  }
};

TEST_F(ConfinementTest, DotDotAtTheRootStaysAtTheRoot) {
  WriteFile("/a", "inside");
  EXPECT_EQ(InoOf("/.."), kRootInode.value());
  EXPECT_EQ(InoOf("/../../../.."), kRootInode.value());
  EXPECT_EQ(ReadFile("/../../a"), "inside");
  ASSERT_OK(fs_->Chdir("/"));
  EXPECT_EQ(ReadFile("../../../a"), "inside");
  ASSERT_OK_AND_ASSIGN(cwd, fs_->Getcwd());
  EXPECT_EQ(cwd, "/");
}

TEST_F(ConfinementTest, DotDotAboveADirectoryDescriptorStaysInTheTree) {
  ASSERT_OK(fs_->Mkdir("/d", 0755));
  WriteFile("/top", "top");
  Fd dir = OpenOrDie("/d", O_RDONLY | O_DIRECTORY);
  ASSERT_OK_AND_ASSIGN(fd, fs_->OpenAt(dir, "../../../../top", O_RDONLY));
  char buf[8] = {};
  ASSERT_OK_AND_ASSIGN(n, fs_->Read(fd, buf, sizeof buf));
  EXPECT_EQ(std::string(buf, n), "top");
}

// The wasi personality confines a path through a directory descriptor to
// that directory, as a WASI runtime confines a guest to its preopen.
class WasiConfinementTest : public ConfinementTest {
 protected:
  void SetUp() override {
    options_.personality = Personality::kWasi;
    ConfinementTest::SetUp();
    ASSERT_OK(fs_->Mkdir("/pre", 0755));
    ASSERT_OK(fs_->Mkdir("/pre/sub", 0755));
    WriteFile("/pre/sub/file", "inside");
    WriteFile("/top", "outside");
    ASSERT_OK(fs_->Symlink("/top", "/pre/abs"));
    ASSERT_OK(fs_->Symlink("../top", "/pre/up"));
    ASSERT_OK(fs_->Symlink("sub/file", "/pre/in"));
    ASSERT_OK(fs_->Symlink("..", "/pre/sub/parent"));
    pre_ = OpenOrDie("/pre", O_RDONLY | O_DIRECTORY);
  }
  int Denied() const { return options_.wasi_mode == WasiMode::kSpec ? kENotCapable : EACCES; }
  Fd pre_;
};

// A removed preopen still answers ".." with the missing-right errno, not
// with its old parent.
TEST_F(WasiConfinementTest, DotDotOfARemovedPreopenIsStillRefused) {
  ASSERT_OK(fs_->Unlink("/pre/sub/file"));
  ASSERT_OK(fs_->Unlink("/pre/sub/parent"));
  ASSERT_OK(fs_->Rmdir("/pre/sub"));
  for (const char* name : {"abs", "up", "in"}) ASSERT_OK(fs_->Unlink(std::string("/pre/") + name));
  ASSERT_OK(fs_->Rmdir("/pre"));
  EXPECT_ERRNO(fs_->OpenAt(pre_, "../top", O_RDONLY), Denied());
  EXPECT_ERRNO(fs_->OpenAt(pre_, "..", O_RDONLY | O_DIRECTORY), Denied());
  EXPECT_OK(fs_->OpenAt(pre_, ".", O_RDONLY | O_DIRECTORY));
}

TEST_F(WasiConfinementTest, PathsThroughADescriptorStayBeneathIt) {
  EXPECT_ERRNO(fs_->OpenAt(pre_, "../top", O_RDONLY), EACCES);
  EXPECT_ERRNO(fs_->OpenAt(pre_, "/top", O_RDONLY), EACCES);
  EXPECT_ERRNO(fs_->OpenAt(pre_, "sub/../../top", O_RDONLY), EACCES);
  EXPECT_ERRNO(fs_->OpenAt(pre_, "..", O_RDONLY | O_DIRECTORY), EACCES);
  EXPECT_ERRNO(fs_->OpenAt(pre_, "abs", O_RDONLY), EACCES);  // absolute symlink
  EXPECT_ERRNO(fs_->OpenAt(pre_, "up", O_RDONLY), EACCES);   // climbing symlink
  EXPECT_ERRNO(fs_->OpenAt(pre_, "../made", O_RDWR | O_CREAT, 0644), EACCES);
  EXPECT_FALSE(Exists("/made"));
  // Inside is fine, ".." included while it stays beneath.
  EXPECT_OK(fs_->OpenAt(pre_, "sub/../sub/file", O_RDONLY));
  EXPECT_OK(fs_->OpenAt(pre_, "in", O_RDONLY));
  EXPECT_OK(fs_->OpenAt(pre_, "sub/parent/in", O_RDONLY));
  EXPECT_OK(fs_->OpenAt(pre_, ".", O_RDONLY | O_DIRECTORY));
  // A descriptor opened beneath is confined beneath itself in turn.
  ASSERT_OK_AND_ASSIGN(sub, fs_->OpenAt(pre_, "sub", O_RDONLY | O_DIRECTORY));
  EXPECT_ERRNO(fs_->OpenAt(sub, "../in", O_RDONLY), EACCES);
  EXPECT_ERRNO(fs_->OpenAt(sub, "parent/in", O_RDONLY), EACCES);
  // The embedder's own calls (no descriptor) see the whole tree.
  EXPECT_EQ(ReadFile("/pre/up"), "outside");
}

TEST_F(WasiConfinementTest, SpecModeAnswersNotCapable) {
  options_.wasi_mode = WasiMode::kSpec;
  Remount();
  Fd pre = OpenOrDie("/pre", O_RDONLY | O_DIRECTORY);
  EXPECT_ERRNO(fs_->OpenAt(pre, "../top", O_RDONLY), kENotCapable);
  EXPECT_ERRNO(fs_->OpenAt(pre, "/top", O_RDONLY), kENotCapable);
  EXPECT_ERRNO(fs_->OpenAt(pre, "abs", O_RDONLY), kENotCapable);
}

TEST_F(ConfinementTest, LinuxOpenAtMayClimbAboveTheDescriptor) {
  ASSERT_OK(fs_->Mkdir("/pre", 0755));
  WriteFile("/top", "outside");
  Fd pre = OpenOrDie("/pre", O_RDONLY | O_DIRECTORY);
  EXPECT_OK(fs_->OpenAt(pre, "../top", O_RDONLY));  // openat(2) without RESOLVE_BENEATH
  EXPECT_OK(fs_->OpenAt(pre, "/top", O_RDONLY));
}

TEST_F(ConfinementTest, DotDotThroughASymlinkStopsAtTheRoot) {
  ASSERT_OK(fs_->Mkdir("/d", 0755));
  ASSERT_OK(fs_->Mkdir("/d/e", 0755));
  WriteFile("/x", "root-level");
  ASSERT_OK(fs_->Symlink("../../../../../..", "/d/e/up"));
  EXPECT_EQ(InoOf("/d/e/up"), kRootInode.value());
  EXPECT_EQ(ReadFile("/d/e/up/x"), "root-level");
  EXPECT_EQ(InoOf("/d/e/up/.."), kRootInode.value());
  EXPECT_EQ(ReadFile("/d/e/up/../../x"), "root-level");
}

TEST_F(ConfinementTest, AbsoluteSymlinkResolvesInsideTheTreeNotOnTheHost) {
  // The host has /etc/passwd; the guest's tree does not.
  ASSERT_EQ(::access("/etc/passwd", F_OK), 0);
  ASSERT_OK(fs_->Symlink("/etc/passwd", "/pw"));
  EXPECT_ERRNO(fs_->Open("/pw", O_RDONLY), ENOENT);
  EXPECT_ERRNO(fs_->Open("/etc/passwd", O_RDONLY), ENOENT);
  // Once the guest makes its own, that is what the link reaches.
  ASSERT_OK(fs_->Mkdir("/etc", 0755));
  WriteFile("/etc/passwd", "guest's own");
  EXPECT_EQ(ReadFile("/pw"), "guest's own");
}

TEST_F(ConfinementTest, CreatingAFileNeverTouchesTheHost) {
  const std::string name = "/tmp/vfs-confinement-" + std::to_string(::getpid());
  ASSERT_OK(fs_->Mkdir("/tmp", 0755));
  WriteFile(name, "guest data");
  ASSERT_OK(fs_->Symlink("/tmp", "/hostlink"));
  WriteFile("/hostlink/second", "more");
  EXPECT_NE(::access(name.c_str(), F_OK), 0);
  EXPECT_NE(::access("/tmp/second", F_OK), 0);
}

TEST_F(ConfinementTest, SymlinkLoopsAreEloop) {
  ASSERT_OK(fs_->Symlink("self", "/self"));
  EXPECT_ERRNO(fs_->Open("/self", O_RDONLY), ELOOP);
  ASSERT_OK(fs_->Symlink("b", "/a"));
  ASSERT_OK(fs_->Symlink("a", "/b"));
  EXPECT_ERRNO(fs_->Stat("/a"), ELOOP);
  EXPECT_ERRNO(fs_->Open("/a/x", O_RDONLY | O_CREAT, 0644), ELOOP);
  ASSERT_OK(fs_->Symlink("/loopdir/loopdir", "/loopdir"));
  EXPECT_ERRNO(fs_->Stat("/loopdir/x"), ELOOP);
  // lstat and readlink do not follow, so they still work.
  EXPECT_OK(fs_->Lstat("/self"));
  ASSERT_OK_AND_ASSIGN(target, fs_->Readlink("/a"));
  EXPECT_EQ(target, "b");
}

TEST_F(ConfinementTest, SymlinkChainLongerThanTheLimitIsEloop) {
  // max_symlink_depth is 40 (Linux's MAXSYMLINKS): 40 links resolve, 41 not.
  WriteFile("/target", "end");
  std::string previous = "target";
  for (int i = 1; i <= 41; ++i) {
    const std::string name = "l" + std::to_string(i);
    ASSERT_OK(fs_->Symlink(previous, "/" + name));
    previous = name;
  }
  EXPECT_EQ(ReadFile("/l40"), "end");
  EXPECT_ERRNO(fs_->Open("/l41", O_RDONLY), ELOOP);
}

TEST_F(ConfinementTest, TrailingSlashOnANonDirectoryIsEnotdir) {
  WriteFile("/f", "x");
  ASSERT_OK(fs_->Symlink("f", "/lf"));
  EXPECT_ERRNO(fs_->Stat("/f/"), ENOTDIR);
  EXPECT_ERRNO(fs_->Lstat("/f/"), ENOTDIR);
  EXPECT_ERRNO(fs_->Open("/f/", O_RDONLY), ENOTDIR);
  EXPECT_ERRNO(fs_->Open("/lf/", O_RDONLY), ENOTDIR);
  EXPECT_ERRNO(fs_->Unlink("/f/"), ENOTDIR);
  EXPECT_ERRNO(fs_->Rename("/f/", "/g", 0), ENOTDIR);
  EXPECT_ERRNO(fs_->Rename("/f", "/g/", 0), ENOTDIR);
  EXPECT_ERRNO(fs_->Open("/f/x", O_RDONLY), ENOTDIR);
  // O_CREAT with a trailing slash is EISDIR, as Linux.
  EXPECT_ERRNO(fs_->Open("/new/", O_RDWR | O_CREAT, 0644), EISDIR);
  EXPECT_TRUE(Exists("/f"));
}

TEST_F(ConfinementTest, OverlongNamesAndPathsAreEnametoolong) {
  const std::string longest(255, 'n');
  WriteFile("/" + longest, "ok");
  EXPECT_ERRNO(fs_->Open("/" + longest + "n", O_RDWR | O_CREAT, 0644), ENAMETOOLONG);
  EXPECT_ERRNO(fs_->Mkdir("/" + std::string(256, 'd'), 0755), ENAMETOOLONG);
  // PATH_MAX is 4096 with the NUL: a 4096-byte path is too long.
  std::string path;
  while (path.size() < 4096) path += "/a";
  path.resize(4096);
  EXPECT_ERRNO(fs_->Stat(path), ENAMETOOLONG);
  EXPECT_ERRNO(fs_->Symlink(std::string(4096, 's'), "/s"), ENAMETOOLONG);
  path.resize(4095);
  EXPECT_ERRNO(fs_->Stat(path), ENOENT);  // just short enough to be looked up
  EXPECT_FALSE(Exists("/s"));
}

TEST_F(ConfinementTest, NulBytesInNamesAreEinval) {
  using namespace std::string_literals;
  EXPECT_ERRNO(fs_->Open("/a\0b"s, O_RDWR | O_CREAT, 0644), EINVAL);
  EXPECT_ERRNO(fs_->Mkdir("/d\0"s, 0755), EINVAL);
  EXPECT_ERRNO(fs_->Symlink("/x\0y"s, "/s"), EINVAL);
  WriteFile("/a", "x");
  EXPECT_ERRNO(fs_->Rename("/a", "/b\0c"s, 0), EINVAL);
  EXPECT_ERRNO(fs_->Unlink("/a\0"s), EINVAL);
  EXPECT_TRUE(Exists("/a"));
  EXPECT_FALSE(Exists("/b"));
}

TEST_F(ConfinementTest, RenamingADirectoryIntoItsOwnSubtreeIsEinval) {
  ASSERT_OK(fs_->Mkdir("/a", 0755));
  ASSERT_OK(fs_->Mkdir("/a/b", 0755));
  ASSERT_OK(fs_->Mkdir("/a/b/c", 0755));
  EXPECT_ERRNO(fs_->Rename("/a", "/a/x", 0), EINVAL);
  EXPECT_ERRNO(fs_->Rename("/a", "/a/b/c/x", 0), EINVAL);
  EXPECT_ERRNO(fs_->Rename("/a", "/a/b/c", kRenameExchange), EINVAL);
  EXPECT_ERRNO(fs_->Rename("/a/b/c", "/a", kRenameExchange), EINVAL);
  // The tree is unchanged.
  EXPECT_TRUE(Exists("/a/b/c"));
  EXPECT_OK(fs_->Rename("/a/b/c", "/c", 0));  // moving out is fine
}

// As Linux: a removed directory holds no names and nothing can be made in
// it, but its ".." still names the directory it was removed from (inside
// the VFS, like any ".." through a descriptor outside the wasi personality).
TEST_F(ConfinementTest, RemovedDirectoryHoldsNothingAndItsDotDotIsItsOldParent) {
  ASSERT_OK(fs_->Mkdir("/gone", 0755));
  Fd dir = OpenOrDie("/gone", O_RDONLY | O_DIRECTORY);
  ASSERT_OK(fs_->Rmdir("/gone"));
  WriteFile("/top", "x");
  EXPECT_ERRNO(fs_->OpenAt(dir, "top", O_RDONLY), ENOENT);
  EXPECT_ERRNO(fs_->OpenAt(dir, "new", O_RDWR | O_CREAT, 0644), ENOENT);
  ASSERT_OK_AND_ASSIGN(up, fs_->OpenAt(dir, "../top", O_RDONLY));
  ASSERT_OK_AND_ASSIGN(st, fs_->Fstat(up));
  EXPECT_EQ(st.ino.value(), InoOf("/top"));
  EXPECT_OK(fs_->Close(up));
  EXPECT_EQ(InoOf("/.."), kRootInode.value());
}

}  // namespace
}  // namespace vfs
