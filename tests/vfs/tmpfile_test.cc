// Rule X4: O_TMPFILE makes an unnamed file; LinkAt with AT_EMPTY_PATH names
// it. A crash before the name is durable leaves nothing. Linux's
// fs/namei.c (do_tmpfile, vfs_tmpfile, do_linkat) is the reference.
#include <fcntl.h>

#include <cerrno>
#include <string>

#include "tests/test_util.h"

namespace vfs::testing {
namespace {

class TmpfileTest : public VfsTest {
 protected:
  void FsyncPath(const std::string& path) {
    Fd fd = OpenOrDie(path, O_RDONLY);
    ASSERT_OK(fs_->Fsync(fd));
    ASSERT_OK(fs_->Close(fd));
  }
  std::string ReadAll(const std::string& path) {
    Fd fd = OpenOrDie(path, O_RDONLY);
    std::string out(64, '\0');
    auto n = fs_->Read(fd, out.data(), out.size());
    EXPECT_TRUE(n.ok());
    out.resize(n.ok() ? *n : 0);
    EXPECT_OK(fs_->Close(fd));
    return out;
  }
};

TEST_F(TmpfileTest, TmpfileHasNoNameAndNoLinkX4) {
  ASSERT_OK(fs_->Mkdir("/d", 0755));
  ASSERT_OK_AND_ASSIGN(fd, fs_->Open("/d", O_TMPFILE | O_RDWR, 0600));
  ASSERT_OK_AND_ASSIGN(st, fs_->Fstat(fd));
  EXPECT_EQ(st.nlink, 0u);
  EXPECT_EQ(st.mode, S_IFREG | 0600u);
  Fd dir = OpenOrDie("/d", O_RDONLY | O_DIRECTORY);
  ASSERT_OK_AND_ASSIGN(entries, fs_->ReadDir(dir));
  EXPECT_EQ(entries.size(), 2u);  // "." and ".." only
  ASSERT_OK(fs_->Pwrite(fd, "hi", 2, 0));
  char buf[2];
  ASSERT_OK_AND_ASSIGN(n, fs_->Pread(fd, buf, 2, 0));
  EXPECT_EQ(std::string(buf, n), "hi");
}

TEST_F(TmpfileTest, TmpfileArgumentErrorsX4) {
  WriteFile("/f", "x");
  EXPECT_ERRNO(fs_->Open("/", O_TMPFILE | O_RDONLY, 0600), EINVAL);
  EXPECT_ERRNO(fs_->Open("/", O_TMPFILE | O_CREAT | O_RDWR, 0600), EINVAL);
  EXPECT_ERRNO(fs_->Open("/f", O_TMPFILE | O_RDWR, 0600), ENOTDIR);
  EXPECT_ERRNO(fs_->Open("/missing", O_TMPFILE | O_RDWR, 0600), ENOENT);
}

TEST_F(TmpfileTest, LinkatEmptyPathGivesItANameX4) {
  ASSERT_OK_AND_ASSIGN(fd, fs_->Open("/", O_TMPFILE | O_WRONLY, 0644));
  ASSERT_OK(fs_->Pwrite(fd, "named", 5, 0));
  ASSERT_OK(fs_->LinkAt(fd, "", kCwd, "/now", AT_EMPTY_PATH));
  ASSERT_OK_AND_ASSIGN(st, fs_->Stat("/now"));
  EXPECT_EQ(st.nlink, 1u);
  EXPECT_EQ(ReadAll("/now"), "named");
  // A second name is an ordinary link.
  ASSERT_OK(fs_->LinkAt(fd, "", kCwd, "/again", AT_EMPTY_PATH));
  ASSERT_OK_AND_ASSIGN(st2, fs_->Stat("/again"));
  EXPECT_EQ(st2.nlink, 2u);
}

TEST_F(TmpfileTest, TmpfileWithOExclCannotBeLinkedX4) {
  ASSERT_OK_AND_ASSIGN(fd, fs_->Open("/", O_TMPFILE | O_RDWR | O_EXCL, 0644));
  EXPECT_ERRNO(fs_->LinkAt(fd, "", kCwd, "/name", AT_EMPTY_PATH), ENOENT);
}

TEST_F(TmpfileTest, TmpfileTakesTheUmaskAndCountsAsAnInodeX4) {
  options_.max_inodes = 2;  // the root and one more
  Remount();
  ASSERT_OK_AND_ASSIGN(fd, fs_->Open("/", O_TMPFILE | O_RDWR, 0666));
  EXPECT_ERRNO(fs_->Open("/other", O_CREAT | O_RDWR, 0644), ENOSPC);
  ASSERT_OK(fs_->Close(fd));
  EXPECT_OK(fs_->Open("/other", O_CREAT | O_RDWR, 0644));
}

TEST_F(TmpfileTest, CrashBeforeLinkLeavesNothingX4) {
  ASSERT_OK_AND_ASSIGN(fd, fs_->Open("/", O_TMPFILE | O_RDWR, 0644));
  ASSERT_OK(fs_->Pwrite(fd, "orphan", 6, 0));
  ASSERT_OK(fs_->Fsync(fd));  // data and inode durable, no name
  CrashAndRemount();
  EXPECT_EQ(fs_->mount_report().orphans_freed, 1u);
  Fd root = OpenOrDie("/", O_RDONLY | O_DIRECTORY);
  ASSERT_OK_AND_ASSIGN(entries, fs_->ReadDir(root));
  EXPECT_EQ(entries.size(), 2u);
}

TEST_F(TmpfileTest, CrashAfterLinkBeforeDirectoryFsyncLeavesNothingX4) {
  ASSERT_OK_AND_ASSIGN(fd, fs_->Open("/", O_TMPFILE | O_RDWR, 0644));
  ASSERT_OK(fs_->Pwrite(fd, "data", 4, 0));
  ASSERT_OK(fs_->Fsync(fd));
  ASSERT_OK(fs_->LinkAt(fd, "", kCwd, "/name", AT_EMPTY_PATH));
  CrashAndRemount();
  EXPECT_ERRNO(fs_->Stat("/name"), ENOENT);
}

TEST_F(TmpfileTest, LinkThenDirectoryFsyncMakesTheFileDurableX4) {
  ASSERT_OK_AND_ASSIGN(fd, fs_->Open("/", O_TMPFILE | O_RDWR, 0644));
  ASSERT_OK(fs_->Pwrite(fd, "kept", 4, 0));
  ASSERT_OK(fs_->Fsync(fd));
  ASSERT_OK(fs_->LinkAt(fd, "", kCwd, "/name", AT_EMPTY_PATH));
  FsyncPath("/");
  CrashAndRemount();
  EXPECT_EQ(ReadAll("/name"), "kept");
}

TEST_F(TmpfileTest, ClosedTmpfileIsFreedX4) {
  options_.max_bytes = 2 * kPage;
  Remount();
  ASSERT_OK_AND_ASSIGN(fd, fs_->Open("/", O_TMPFILE | O_RDWR, 0644));
  ASSERT_OK(fs_->Pwrite(fd, Fill('t', 2 * kPage).data(), 2 * kPage, 0));
  ASSERT_OK(fs_->Close(fd));
  WriteFile("/f", Fill('f', 2 * kPage));  // the space came back
}

}  // namespace
}  // namespace vfs::testing
