// Rule X2: extended attributes. Namespaces, flags, limits, quota, the
// f* / l* / *at forms, and durability: fsync persists a change, fdatasync
// does not [VFS choice], and a crash shows a whole old or whole new value.
// Linux's fs/xattr.c and mm/shmem.c (tmpfs) are the reference.
#include <fcntl.h>

#include <cerrno>
#include <string>
#include <vector>

#include "tests/test_util.h"
#include "vfs/credentials.h"
#include "vfs/inode.h"

namespace vfs::testing {
namespace {

class XattrTest : public VfsTest {
 protected:
  void SetUp() override {
    VfsTest::SetUp();
    WriteFile("/f", "data");
    ASSERT_OK(fs_->Symlink("f", "/link"));
  }
  // Makes /f's name durable, so a crash keeps the file.
  void SyncNames() {
    Fd root = OpenOrDie("/", O_RDONLY | O_DIRECTORY);
    ASSERT_OK(fs_->Fsync(root));
    ASSERT_OK(fs_->Close(root));
  }
};

TEST_F(XattrTest, SetGetListRemoveX2) {
  ASSERT_OK(fs_->SetXattr("/f", "user.a", "1", 0));
  ASSERT_OK(fs_->SetXattr("/f", "user.b", "", 0));  // an empty value is a value
  ASSERT_OK_AND_ASSIGN(a, fs_->GetXattr("/f", "user.a"));
  EXPECT_EQ(a, "1");
  ASSERT_OK_AND_ASSIGN(b, fs_->GetXattr("/f", "user.b"));
  EXPECT_EQ(b, "");
  ASSERT_OK_AND_ASSIGN(names, fs_->ListXattr("/f"));
  EXPECT_EQ(names, (std::vector<std::string>{"user.a", "user.b"}));
  ASSERT_OK(fs_->RemoveXattr("/f", "user.a"));
  EXPECT_ERRNO(fs_->GetXattr("/f", "user.a"), ENODATA);
  EXPECT_ERRNO(fs_->RemoveXattr("/f", "user.a"), ENODATA);
}

TEST_F(XattrTest, CreateAndReplaceFlagsX2) {
  EXPECT_ERRNO(fs_->SetXattr("/f", "user.a", "1", kXattrReplace), ENODATA);
  ASSERT_OK(fs_->SetXattr("/f", "user.a", "1", kXattrCreate));
  EXPECT_ERRNO(fs_->SetXattr("/f", "user.a", "2", kXattrCreate), EEXIST);
  ASSERT_OK(fs_->SetXattr("/f", "user.a", "3", kXattrReplace));
  EXPECT_ERRNO(fs_->SetXattr("/f", "user.a", "4", 4), EINVAL);
  ASSERT_OK_AND_ASSIGN(a, fs_->GetXattr("/f", "user.a"));
  EXPECT_EQ(a, "3");
}

TEST_F(XattrTest, NameAndValueLimitsX2) {
  EXPECT_ERRNO(fs_->SetXattr("/f", "", "v", 0), ERANGE);
  EXPECT_ERRNO(fs_->SetXattr("/f", "user." + std::string(251, 'n'), "v", 0), ERANGE);
  EXPECT_OK(fs_->SetXattr("/f", "user." + std::string(250, 'n'), "v", 0));  // 255 bytes
  EXPECT_ERRNO(fs_->SetXattr("/f", "user.big", std::string(kXattrSizeMax + 1, 'v'), 0), E2BIG);
  EXPECT_OK(fs_->SetXattr("/f", "user.big", std::string(kXattrSizeMax, 'v'), 0));
  EXPECT_ERRNO(fs_->SetXattr("/f", "user.", "v", 0), EINVAL);
}

// Rule X2: security.* is kept as tmpfs keeps it with no LSM: on any kind
// of file, read with no permission check, changed only with CAP_SYS_ADMIN
// (EPERM); a bare "security." is EINVAL; security.capability [VFS choice]
// is EOPNOTSUPP.
TEST_F(XattrTest, SecurityNamespaceNeedsSysAdminToChangeX2) {
  ASSERT_OK(fs_->Chmod("/f", 0600));
  ASSERT_OK(fs_->Symlink("/f", "/l"));
  ASSERT_OK(fs_->Mkfifo("/p", 0600));
  ASSERT_OK(fs_->SetXattr("/f", "security.s", "v", 0));
  ASSERT_OK(fs_->LsetXattr("/l", "security.s", "link", 0));
  ASSERT_OK(fs_->SetXattr("/p", "security.s", "fifo", 0));
  EXPECT_ERRNO(fs_->SetXattr("/f", "security.", "v", 0), EINVAL);
  EXPECT_ERRNO(fs_->SetXattr("/f", "security.capability", "v", 0), EOPNOTSUPP);
  Credentials user = Credentials::User(1000, 1000);
  {
    ScopedCredentials as(user);
    ASSERT_OK_AND_ASSIGN(value, fs_->GetXattr("/f", "security.s"));  // mode 0600, root's
    EXPECT_EQ(value, "v");
    EXPECT_ERRNO(fs_->SetXattr("/f", "security.t", "v", 0), EPERM);
    EXPECT_ERRNO(fs_->RemoveXattr("/f", "security.s"), EPERM);
  }
  user.capabilities |= kCapSysAdmin;
  ScopedCredentials as(user);
  EXPECT_OK(fs_->SetXattr("/f", "security.t", "v", 0));
  EXPECT_OK(fs_->RemoveXattr("/f", "security.s"));
}

// Rule X2: a security.* attribute is durable after fsync like any other
// (the disk store's loader accepts the namespace).
TEST_F(XattrTest, SecurityAttributeSurvivesACrashAfterFsyncX2) {
  SyncNames();
  ASSERT_OK(fs_->SetXattr("/f", "security.s", "kept", 0));
  Fd fd = OpenOrDie("/f", O_RDONLY);
  ASSERT_OK(fs_->Fsync(fd));
  ASSERT_OK(fs_->Close(fd));
  CrashAndRemount();
  ASSERT_OK_AND_ASSIGN(value, fs_->GetXattr("/f", "security.s"));
  EXPECT_EQ(value, "kept");
}

TEST_F(XattrTest, NamespacesX2) {
  EXPECT_ERRNO(fs_->SetXattr("/f", "security.capability", "v", 0), EOPNOTSUPP);
  EXPECT_ERRNO(fs_->SetXattr("/f", "system.posix_acl_access", "v", 0), EOPNOTSUPP);
  EXPECT_ERRNO(fs_->SetXattr("/f", "other.x", "v", 0), EOPNOTSUPP);
  ASSERT_OK(fs_->SetXattr("/f", "trusted.t", "root", 0));
  ASSERT_OK(fs_->SetXattr("/f", "user.u", "all", 0));
  ASSERT_OK(fs_->Chmod("/f", 0666));
  const Credentials user = Credentials::User(1000, 1000);
  ScopedCredentials as(user);
  EXPECT_ERRNO(fs_->GetXattr("/f", "trusted.t"), ENODATA);
  EXPECT_ERRNO(fs_->SetXattr("/f", "trusted.t", "x", 0), EPERM);
  ASSERT_OK_AND_ASSIGN(names, fs_->ListXattr("/f"));
  EXPECT_EQ(names, (std::vector<std::string>{"user.u"}));  // trusted.* hidden
}

TEST_F(XattrTest, UserNamespaceOnlyOnFilesAndDirectoriesX2) {
  EXPECT_ERRNO(fs_->LsetXattr("/link", "user.a", "v", 0), EPERM);
  EXPECT_ERRNO(fs_->LgetXattr("/link", "user.a"), ENODATA);
  ASSERT_OK(fs_->LsetXattr("/link", "trusted.a", "v", 0));  // trusted.* is fine
  ASSERT_OK_AND_ASSIGN(v, fs_->LgetXattr("/link", "trusted.a"));
  EXPECT_EQ(v, "v");
  EXPECT_ERRNO(fs_->GetXattr("/f", "trusted.a"), ENODATA);  // the link, not the file
  ASSERT_OK(fs_->Mkfifo("/p", 0644));
  EXPECT_ERRNO(fs_->SetXattr("/p", "user.a", "v", 0), EPERM);
}

TEST_F(XattrTest, SetNeedsWritePermissionGetNeedsReadX2) {
  ASSERT_OK(fs_->Chmod("/f", 0644));
  ASSERT_OK(fs_->SetXattr("/f", "user.a", "v", 0));
  const Credentials user = Credentials::User(1000, 1000);
  ScopedCredentials as(user);
  EXPECT_ERRNO(fs_->SetXattr("/f", "user.b", "v", 0), EACCES);
  EXPECT_ERRNO(fs_->RemoveXattr("/f", "user.a"), EACCES);
  EXPECT_OK(fs_->GetXattr("/f", "user.a"));
}

TEST_F(XattrTest, DescriptorAndAtFormsX2) {
  Fd fd = OpenOrDie("/f", O_RDONLY);
  ASSERT_OK(fs_->FsetXattr(fd, "user.fd", "x", 0));
  ASSERT_OK_AND_ASSIGN(v, fs_->FgetXattr(fd, "user.fd"));
  EXPECT_EQ(v, "x");
  ASSERT_OK_AND_ASSIGN(names, fs_->FlistXattr(fd));
  EXPECT_EQ(names.size(), 1u);
  ASSERT_OK(fs_->FremoveXattr(fd, "user.fd"));
  // An O_PATH descriptor: EBADF for the f* forms, fine with AT_EMPTY_PATH.
  ASSERT_OK_AND_ASSIGN(path_fd, fs_->Open("/link", O_PATH | O_NOFOLLOW));
  EXPECT_ERRNO(fs_->FsetXattr(path_fd, "trusted.p", "x", 0), EBADF);
  ASSERT_OK(fs_->SetXattrAt(path_fd, "", AT_EMPTY_PATH, "trusted.p", "x", 0));
  ASSERT_OK_AND_ASSIGN(p, fs_->LgetXattr("/link", "trusted.p"));
  EXPECT_EQ(p, "x");
}

TEST_F(XattrTest, SetChangesCtimeAndDirtiesTheRecordOnlyX2) {
  Fd fd = OpenOrDie("/f", O_RDONLY);
  ASSERT_OK(fs_->Fsync(fd));
  ASSERT_OK_AND_ASSIGN(before, fs_->Fstat(fd));
  ASSERT_OK(fs_->FsetXattr(fd, "user.a", "1", 0));
  ASSERT_OK_AND_ASSIGN(after, fs_->Fstat(fd));
  EXPECT_GT(after.ctime, before.ctime);
  ASSERT_OK_AND_ASSIGN(flags, fs_->InodeDirtyFlags(fd));
  EXPECT_EQ(flags, kDirtySync);
}

TEST_F(XattrTest, AttributesCountTowardMaxBytesX2) {
  options_.max_bytes = 4 * kPage;
  Remount();
  WriteFile("/g", Fill('g', 2 * kPage));
  // Names count too: "user.a" and its value fill the fourth page (/f has one).
  ASSERT_OK(fs_->SetXattr("/g", "user.a", std::string(kPage - 6, 'a'), 0));
  EXPECT_ERRNO(fs_->SetXattr("/g", "user.b", std::string(2 * kPage, 'b'), 0), ENOSPC);
  EXPECT_ERRNO(fs_->GetXattr("/g", "user.b"), ENODATA);  // nothing changed
  ASSERT_OK(fs_->RemoveXattr("/g", "user.a"));
  EXPECT_OK(fs_->SetXattr("/g", "user.b", std::string(kPage - 6, 'b'), 0));
}

TEST_F(XattrTest, FsyncMakesAnAttributeDurableX2) {
  SyncNames();
  Fd fd = OpenOrDie("/f", O_RDONLY);
  ASSERT_OK(fs_->FsetXattr(fd, "user.a", "kept", 0));
  ASSERT_OK(fs_->Fsync(fd));
  CrashAndRemount();
  ASSERT_OK_AND_ASSIGN(v, fs_->GetXattr("/f", "user.a"));
  EXPECT_EQ(v, "kept");
}

TEST_F(XattrTest, FdatasyncDoesNotPersistAnAttributeX2) {
  SyncNames();
  Fd fd = OpenOrDie("/f", O_RDWR);
  ASSERT_OK(fs_->Fsync(fd));
  ASSERT_OK(fs_->FsetXattr(fd, "user.a", "lost", 0));
  ASSERT_OK(fs_->Fdatasync(fd));
  CrashAndRemount();
  EXPECT_ERRNO(fs_->GetXattr("/f", "user.a"), ENODATA);
}

TEST_F(XattrTest, CrashShowsTheWholeOldValueOrTheWholeNewX2) {
  SyncNames();
  Fd fd = OpenOrDie("/f", O_RDONLY);
  const std::string old_value(3000, 'o');
  const std::string new_value(5000, 'n');
  ASSERT_OK(fs_->FsetXattr(fd, "user.v", old_value, 0));
  ASSERT_OK(fs_->Fsync(fd));
  ASSERT_OK(fs_->FsetXattr(fd, "user.v", new_value, 0));
  ASSERT_OK(fs_->FsetXattr(fd, "user.w", "second", 0));
  CrashAndRemount();
  ASSERT_OK_AND_ASSIGN(v, fs_->GetXattr("/f", "user.v"));
  EXPECT_EQ(v, old_value);
  EXPECT_ERRNO(fs_->GetXattr("/f", "user.w"), ENODATA);
}

TEST_F(XattrTest, RemovalIsDurableByFsyncX2) {
  SyncNames();
  Fd fd = OpenOrDie("/f", O_RDONLY);
  ASSERT_OK(fs_->FsetXattr(fd, "user.a", "v", 0));
  ASSERT_OK(fs_->Fsync(fd));
  ASSERT_OK(fs_->FremoveXattr(fd, "user.a"));
  ASSERT_OK(fs_->Fsync(fd));
  CrashAndRemount();
  EXPECT_ERRNO(fs_->GetXattr("/f", "user.a"), ENODATA);
}

TEST_F(XattrTest, QuotaIsCountedAgainAfterRemountX2) {
  options_.max_bytes = 3 * kPage;
  Remount();
  SyncNames();
  Fd fd = OpenOrDie("/f", O_RDONLY);
  ASSERT_OK(fs_->FsetXattr(fd, "user.a", std::string(2 * kPage - 6, 'a'), 0));
  ASSERT_OK(fs_->Fsync(fd));
  CrashAndRemount();
  ASSERT_OK_AND_ASSIGN(st, fs_->Statfs());
  // The file's page and the attribute's two (three pages in all).
  EXPECT_EQ(st.blocks_free, 0u);
}

}  // namespace
}  // namespace vfs::testing
