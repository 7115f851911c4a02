// The handle-based API: the *at forms of every path call, relative to a
// directory descriptor or an O_PATH descriptor, with Linux's AT_* flags, and
// the caller identity (rule X1) set per Filesystem and per thread.
//
// Linux is the reference for every errno asserted here (fs/namei.c,
// fs/stat.c, fs/open.c).
#include <fcntl.h>

#include <cerrno>
#include <string>

#include "tests/test_util.h"
#include "vfs/credentials.h"

namespace vfs::testing {
namespace {

class AtCallsTest : public VfsTest {
 protected:
  void SetUp() override {
    VfsTest::SetUp();
    ASSERT_OK(fs_->Mkdir("/d", 0755));
    WriteFile("/d/f", "data");
    ASSERT_OK(fs_->Symlink("f", "/d/link"));
    dir_ = OpenOrDie("/d", O_RDONLY | O_DIRECTORY);
    path_dir_ = OpenOrDie("/d", O_PATH | O_DIRECTORY);
  }
  Fd dir_;
  Fd path_dir_;
};

TEST_F(AtCallsTest, MkdirAtIsRelativeToAnOPathDirectory) {
  ASSERT_OK(fs_->MkdirAt(path_dir_, "sub", 0700));
  ASSERT_OK_AND_ASSIGN(st, fs_->Stat("/d/sub"));
  EXPECT_TRUE(S_ISDIR(st.mode));
}

TEST_F(AtCallsTest, AtCallThroughAFileDescriptorIsEnotdir) {
  ASSERT_OK_AND_ASSIGN(file, fs_->Open("/d/f", O_RDONLY));
  EXPECT_ERRNO(fs_->MkdirAt(file, "x", 0700), ENOTDIR);
  EXPECT_ERRNO(fs_->FstatAt(file, "x", 0), ENOTDIR);
}

TEST_F(AtCallsTest, AtCallThroughABadDescriptorIsEbadf) {
  EXPECT_ERRNO(fs_->MkdirAt(Fd(77), "x", 0700), EBADF);
  EXPECT_OK(fs_->MkdirAt(Fd(77), "/abs", 0700));  // an absolute path ignores it
}

TEST_F(AtCallsTest, UnlinkAtRemovesFilesAndWithRemovedirDirectories) {
  ASSERT_OK(fs_->MkdirAt(dir_, "sub", 0700));
  EXPECT_ERRNO(fs_->UnlinkAt(dir_, "sub", 0), EISDIR);
  EXPECT_ERRNO(fs_->UnlinkAt(dir_, "f", AT_REMOVEDIR), ENOTDIR);
  EXPECT_OK(fs_->UnlinkAt(dir_, "sub", AT_REMOVEDIR));
  EXPECT_OK(fs_->UnlinkAt(dir_, "f", 0));
  EXPECT_ERRNO(fs_->Stat("/d/f"), ENOENT);
  EXPECT_ERRNO(fs_->UnlinkAt(dir_, "link", AT_SYMLINK_NOFOLLOW), EINVAL);
}

TEST_F(AtCallsTest, RenameAtMovesBetweenTwoDirectoryDescriptors) {
  ASSERT_OK(fs_->Mkdir("/e", 0755));
  ASSERT_OK_AND_ASSIGN(e, fs_->Open("/e", O_PATH));
  ASSERT_OK(fs_->RenameAt(dir_, "f", e, "g"));
  EXPECT_OK(fs_->Stat("/e/g"));
  EXPECT_ERRNO(fs_->Stat("/d/f"), ENOENT);
}

TEST_F(AtCallsTest, RenameOfMissingSourceToTooLongNameIsEnoent) {
  const std::string too_long(300, 'n');
  EXPECT_ERRNO(fs_->Rename("/d/missing", "/d/" + too_long), ENOENT);
  EXPECT_ERRNO(fs_->Rename("/d/f", "/d/" + too_long), ENAMETOOLONG);
  // A too-long directory on the way to the target is still ENAMETOOLONG.
  EXPECT_ERRNO(fs_->Rename("/d/missing", "/" + too_long + "/x"), ENAMETOOLONG);
}

TEST_F(AtCallsTest, LinkAtFollowsAFinalSymlinkOnlyWithSymlinkFollow) {
  ASSERT_OK(fs_->LinkAt(dir_, "link", dir_, "hard_to_link", 0));
  ASSERT_OK(fs_->LinkAt(dir_, "link", dir_, "hard_to_file", AT_SYMLINK_FOLLOW));
  ASSERT_OK_AND_ASSIGN(a, fs_->Lstat("/d/hard_to_link"));
  ASSERT_OK_AND_ASSIGN(b, fs_->Lstat("/d/hard_to_file"));
  EXPECT_TRUE(S_ISLNK(a.mode));
  EXPECT_TRUE(S_ISREG(b.mode));
  EXPECT_EQ(b.nlink, 2u);
  EXPECT_ERRNO(fs_->LinkAt(dir_, "f", dir_, "x", AT_REMOVEDIR), EINVAL);
}

TEST_F(AtCallsTest, LinkAtEmptyPathLinksTheDescriptorsFile) {
  ASSERT_OK_AND_ASSIGN(f, fs_->Open("/d/f", O_PATH));
  ASSERT_OK(fs_->LinkAt(f, "", kCwd, "/again", AT_EMPTY_PATH));
  ASSERT_OK_AND_ASSIGN(st, fs_->Stat("/again"));
  EXPECT_EQ(st.nlink, 2u);
  // Without AT_EMPTY_PATH an empty path is ENOENT.
  EXPECT_ERRNO(fs_->LinkAt(f, "", kCwd, "/third", 0), ENOENT);
}

TEST_F(AtCallsTest, LinkAtEmptyPathOfAnUnlinkedFileIsEnoent) {
  ASSERT_OK_AND_ASSIGN(f, fs_->Open("/d/f", O_RDONLY));
  ASSERT_OK(fs_->Unlink("/d/f"));
  EXPECT_ERRNO(fs_->LinkAt(f, "", kCwd, "/back", AT_EMPTY_PATH), ENOENT);
}

TEST_F(AtCallsTest, SymlinkAtAndReadlinkAt) {
  ASSERT_OK(fs_->SymlinkAt("target", dir_, "s"));
  ASSERT_OK_AND_ASSIGN(t, fs_->ReadlinkAt(dir_, "s"));
  EXPECT_EQ(t, "target");
  EXPECT_ERRNO(fs_->ReadlinkAt(dir_, "f"), EINVAL);
}

TEST_F(AtCallsTest, ReadlinkAtEmptyPathReadsAnOPathNofollowSymlink) {
  ASSERT_OK_AND_ASSIGN(l, fs_->Open("/d/link", O_PATH | O_NOFOLLOW));
  ASSERT_OK_AND_ASSIGN(t, fs_->ReadlinkAt(l, ""));
  EXPECT_EQ(t, "f");
  // Empty path on something that is not a symlink: ENOENT, as Linux.
  EXPECT_ERRNO(fs_->ReadlinkAt(dir_, ""), ENOENT);
}

TEST_F(AtCallsTest, FstatAtEmptyPathOnAnOPathSymlinkStatsTheLink) {
  ASSERT_OK_AND_ASSIGN(l, fs_->Open("/d/link", O_PATH | O_NOFOLLOW));
  ASSERT_OK_AND_ASSIGN(st, fs_->FstatAt(l, "", AT_EMPTY_PATH));
  EXPECT_TRUE(S_ISLNK(st.mode));
  EXPECT_ERRNO(fs_->FstatAt(l, "", 0), ENOENT);
}

TEST_F(AtCallsTest, FstatAtNofollowStatsTheLinkItself) {
  ASSERT_OK_AND_ASSIGN(link, fs_->FstatAt(dir_, "link", AT_SYMLINK_NOFOLLOW));
  ASSERT_OK_AND_ASSIGN(file, fs_->FstatAt(dir_, "link", 0));
  EXPECT_TRUE(S_ISLNK(link.mode));
  EXPECT_TRUE(S_ISREG(file.mode));
  EXPECT_ERRNO(fs_->FstatAt(dir_, "link", AT_REMOVEDIR), EINVAL);
}

TEST_F(AtCallsTest, FchmodAtOfASymlinkWithNofollowIsEopnotsupp) {
  EXPECT_ERRNO(fs_->FchmodAt(dir_, "link", 0600, AT_SYMLINK_NOFOLLOW), EOPNOTSUPP);
  ASSERT_OK(fs_->FchmodAt(dir_, "link", 0600, 0));
  ASSERT_OK_AND_ASSIGN(st, fs_->Stat("/d/f"));
  EXPECT_EQ(st.mode & 07777, 0600u);
}

TEST_F(AtCallsTest, FchownAtNofollowChangesTheLinkNotTheTarget) {
  ASSERT_OK(fs_->FchownAt(dir_, "link", 5, 6, AT_SYMLINK_NOFOLLOW));
  ASSERT_OK_AND_ASSIGN(link, fs_->Lstat("/d/link"));
  ASSERT_OK_AND_ASSIGN(file, fs_->Stat("/d/f"));
  EXPECT_EQ(link.uid, 5u);
  EXPECT_EQ(link.gid, 6u);
  EXPECT_EQ(file.uid, 0u);
}

TEST_F(AtCallsTest, FchownAtEmptyPathOnAnOPathDescriptor) {
  ASSERT_OK_AND_ASSIGN(f, fs_->Open("/d/f", O_PATH));
  ASSERT_OK(fs_->FchownAt(f, "", 7, Filesystem::kNoId, AT_EMPTY_PATH));
  ASSERT_OK_AND_ASSIGN(st, fs_->Stat("/d/f"));
  EXPECT_EQ(st.uid, 7u);
  EXPECT_EQ(st.gid, 0u);
  // fchown itself needs a full descriptor.
  EXPECT_ERRNO(fs_->Fchown(f, 1, 1), EBADF);
}

TEST_F(AtCallsTest, UtimensAtEmptyPathSetsTheDescriptorsFile) {
  ASSERT_OK_AND_ASSIGN(f, fs_->Open("/d/f", O_PATH));
  ASSERT_OK(fs_->UtimensAt(f, "", {Timespec{5, 0}, Timespec{6, 0}}, AT_EMPTY_PATH));
  ASSERT_OK_AND_ASSIGN(st, fs_->Stat("/d/f"));
  EXPECT_EQ(st.atime, (Timespec{5, 0}));
  EXPECT_EQ(st.mtime, (Timespec{6, 0}));
}

TEST_F(AtCallsTest, TruncateAtEmptyPathNeedsNoWritableDescriptor) {
  ASSERT_OK_AND_ASSIGN(f, fs_->Open("/d/f", O_PATH));
  ASSERT_OK(fs_->TruncateAt(f, "", 2, AT_EMPTY_PATH));
  ASSERT_OK_AND_ASSIGN(st, fs_->Stat("/d/f"));
  EXPECT_EQ(st.size, 2u);
}

TEST_F(AtCallsTest, OpenAtThroughAnOPathDirectory) {
  ASSERT_OK_AND_ASSIGN(f, fs_->OpenAt(path_dir_, "f", O_RDONLY));
  char buf[4];
  ASSERT_OK_AND_ASSIGN(n, fs_->Read(f, buf, 4));
  EXPECT_EQ(std::string(buf, n), "data");
}

TEST_F(AtCallsTest, MknodAtAndMkfifoAt) {
  ASSERT_OK(fs_->MknodAt(dir_, "fifo", S_IFIFO | 0600, 0));
  ASSERT_OK(fs_->MkfifoAt(dir_, "fifo2", 0600));
  ASSERT_OK_AND_ASSIGN(st, fs_->Stat("/d/fifo2"));
  EXPECT_TRUE(S_ISFIFO(st.mode));
}

// ---- Identity (rule X1) ----

TEST_F(AtCallsTest, DefaultIdentityIsRootX1) {
  const Credentials& c = fs_->caller();
  EXPECT_EQ(c.uid, 0u);
  EXPECT_EQ(c.capabilities, static_cast<uint32_t>(kAllCapabilities));
}

TEST_F(AtCallsTest, FilesystemCredentialsApplyToLaterCallsX1) {
  fs_->SetCredentials(Credentials::User(1000, 100));
  EXPECT_ERRNO(fs_->Chmod("/d", 0777), EPERM);  // not the owner
  fs_->SetCredentials(Credentials::Root());
  EXPECT_OK(fs_->Chmod("/d", 0777));
}

TEST_F(AtCallsTest, ScopedCredentialsOverrideTheFilesystemDefaultX1) {
  ASSERT_OK(fs_->Chmod("/d", 0777));
  fs_->SetCredentials(Credentials::User(1000, 100));
  Credentials bob = Credentials::User(2000, 200);
  {
    ScopedCredentials as_bob(bob);
    EXPECT_EQ(fs_->caller().uid, 2000u);
    ASSERT_OK(fs_->Mkdir("/d/bob", 0777));
  }
  EXPECT_EQ(fs_->caller().uid, 1000u);
  ASSERT_OK(fs_->Mkdir("/d/alice", 0777));
  ASSERT_OK_AND_ASSIGN(b, fs_->Stat("/d/bob"));
  ASSERT_OK_AND_ASSIGN(a, fs_->Stat("/d/alice"));
  EXPECT_EQ(b.uid, 2000u);
  EXPECT_EQ(b.gid, 200u);
  EXPECT_EQ(a.uid, 1000u);
  EXPECT_EQ(a.mode & 07777, 0755u);  // umask 022
}

}  // namespace
}  // namespace vfs::testing
