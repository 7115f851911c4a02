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

// Rule X4, as Linux's build_open_how: O_PATH drops every other flag, the
// O_TMPFILE bit too, so the directory opens as O_PATH (O_DIRECTORY stays:
// a file is ENOTDIR) whatever the access mode or O_CREAT.
TEST_F(TmpfileTest, PathWithTmpfileOpensTheDirectoryAsPathX4) {
  ASSERT_OK(fs_->Mkdir("/d", 0755));
  WriteFile("/f", "x");
  for (int acc : {O_RDONLY, O_RDWR, O_RDWR | O_CREAT}) {
    ASSERT_OK_AND_ASSIGN(fd, fs_->Open("/d", O_PATH | O_TMPFILE | acc, 0600));
    ASSERT_OK_AND_ASSIGN(st, fs_->Fstat(fd));
    EXPECT_TRUE(S_ISDIR(st.mode));
    ASSERT_OK_AND_ASSIGN(fl, fs_->GetStatusFlags(fd));
    EXPECT_EQ(fl & (O_PATH | O_TMPFILE | O_ACCMODE), O_PATH | O_DIRECTORY);
    ASSERT_OK(fs_->Close(fd));
  }
  EXPECT_ERRNO(fs_->Open("/f", O_PATH | O_TMPFILE | O_RDWR, 0600), ENOTDIR);
  EXPECT_ERRNO(fs_->Open("/missing", O_PATH | O_TMPFILE | O_RDWR, 0600), ENOENT);
}

// Rule X4, as Linux's do_tmpfile: with O_NOFOLLOW a final symlink is not
// followed and is no directory (ENOTDIR), dangling or not; a slash after
// its name still follows it.
TEST_F(TmpfileTest, TmpfileNofollowOnASymlinkIsEnotdirX4) {
  ASSERT_OK(fs_->Mkdir("/d", 0755));
  ASSERT_OK(fs_->Symlink("/d", "/ld"));
  ASSERT_OK(fs_->Symlink("/nowhere", "/dangling"));
  EXPECT_ERRNO(fs_->Open("/ld", O_TMPFILE | O_RDWR | O_NOFOLLOW, 0600), ENOTDIR);
  EXPECT_ERRNO(fs_->Open("/dangling", O_TMPFILE | O_RDWR | O_NOFOLLOW, 0600), ENOTDIR);
  EXPECT_OK(fs_->Open("/ld/", O_TMPFILE | O_RDWR | O_NOFOLLOW, 0600));
  EXPECT_OK(fs_->Open("/ld", O_TMPFILE | O_RDWR, 0600));
  EXPECT_OK(fs_->Open("/d", O_TMPFILE | O_RDWR | O_NOFOLLOW, 0600));
}

// Rule X4: a removed directory (still open, or the working directory)
// makes an unnamed file, as tmpfs (vfs_tmpfile asks no IS_DEADDIR), which
// linkat can then name elsewhere; O_CREAT of a name there stays ENOENT.
TEST_F(TmpfileTest, TmpfileInARemovedDirectoryIsMadeX4) {
  ASSERT_OK(fs_->Mkdir("/gone", 0755));
  Fd dir = OpenOrDie("/gone", O_RDONLY | O_DIRECTORY);
  ASSERT_OK(fs_->Rmdir("/gone"));
  ASSERT_OK_AND_ASSIGN(fd, fs_->OpenAt(dir, ".", O_TMPFILE | O_RDWR, 0600));
  ASSERT_OK(fs_->Pwrite(fd, "abc", 3, 0));
  ASSERT_OK(fs_->LinkAt(fd, "", kCwd, "/saved", AT_EMPTY_PATH));
  EXPECT_EQ(ReadAll("/saved"), "abc");
  EXPECT_ERRNO(fs_->OpenAt(dir, "x", O_CREAT | O_RDWR, 0600), ENOENT);
  ASSERT_OK(fs_->Mkdir("/cwd", 0755));
  ASSERT_OK(fs_->Chdir("/cwd"));
  ASSERT_OK(fs_->Rmdir("/cwd"));
  EXPECT_OK(fs_->Open(".", O_TMPFILE | O_RDWR, 0600));
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
