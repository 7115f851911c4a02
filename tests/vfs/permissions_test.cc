// Rule X1: owners, permission checks and the caller identity, as Linux's
// fs/namei.c (generic_permission, may_lookup, may_open, may_create,
// may_delete), fs/attr.c (setattr_prepare, chown) and fs/inode.c
// (inode_init_owner, file_remove_privs). Root (the default identity) is
// checked by every other suite: these run as unprivileged users.
#include <fcntl.h>
#include <sys/sysmacros.h>

#include <cerrno>
#include <string>

#include "tests/test_util.h"
#include "vfs/credentials.h"

namespace vfs::testing {
namespace {

class PermissionsTest : public VfsTest {
 protected:
  void SetUp() override {
    VfsTest::SetUp();
    // /home (0755 root), /home/alice (0700 alice), /tmp (1777 root).
    ASSERT_OK(fs_->Mkdir("/home", 0755));
    ASSERT_OK(fs_->Mkdir("/home/alice", 0700));
    ASSERT_OK(fs_->Chown("/home/alice", kAlice, kStaff));
    ASSERT_OK(fs_->Mkdir("/tmp", 01777));
    ASSERT_OK(fs_->Chmod("/tmp", 01777));
  }
  static constexpr uint32_t kAlice = 1000;
  static constexpr uint32_t kBob = 2000;
  static constexpr uint32_t kStaff = 100;
  static constexpr uint32_t kOther = 300;
  Credentials alice_ = Credentials::User(kAlice, kStaff);
  Credentials bob_ = Credentials::User(kBob, kOther);
};

TEST_F(PermissionsTest, SearchPermissionOnEveryDirectoryWalkedX1) {
  WriteFile("/home/alice/notes", "x");
  ScopedCredentials as(bob_);
  EXPECT_ERRNO(fs_->Stat("/home/alice/notes"), EACCES);
  EXPECT_ERRNO(fs_->Open("/home/alice/notes", O_RDONLY), EACCES);
  EXPECT_ERRNO(fs_->Chdir("/home/alice"), EACCES);
  EXPECT_OK(fs_->Stat("/home/alice"));  // the entry itself is in /home
}

TEST_F(PermissionsTest, OwnerBitsDecideEvenWhenOthersMayX1) {
  WriteFile("/tmp/f", "x");
  ASSERT_OK(fs_->Chown("/tmp/f", kAlice, kStaff));
  ASSERT_OK(fs_->Chmod("/tmp/f", 0077));  // the owner may not; everyone else may
  {
    ScopedCredentials as(alice_);
    EXPECT_ERRNO(fs_->Open("/tmp/f", O_RDONLY), EACCES);
  }
  ScopedCredentials as(bob_);
  EXPECT_OK(fs_->Open("/tmp/f", O_RDWR));
}

TEST_F(PermissionsTest, GroupBitsApplyToSupplementaryGroupsX1) {
  WriteFile("/tmp/g", "x");
  ASSERT_OK(fs_->Chown("/tmp/g", kAlice, 555));
  ASSERT_OK(fs_->Chmod("/tmp/g", 0640));
  Credentials member = Credentials::User(kBob, kOther, {555});
  {
    ScopedCredentials as(member);
    EXPECT_OK(fs_->Open("/tmp/g", O_RDONLY));
    EXPECT_ERRNO(fs_->Open("/tmp/g", O_WRONLY), EACCES);
  }
  ScopedCredentials as(bob_);
  EXPECT_ERRNO(fs_->Open("/tmp/g", O_RDONLY), EACCES);
}

TEST_F(PermissionsTest, OpenModesNeedReadAndWritePermissionX1) {
  WriteFile("/tmp/ro", "x");
  ASSERT_OK(fs_->Chown("/tmp/ro", kAlice, kStaff));
  ASSERT_OK(fs_->Chmod("/tmp/ro", 0444));
  ScopedCredentials as(alice_);
  EXPECT_OK(fs_->Open("/tmp/ro", O_RDONLY));
  EXPECT_ERRNO(fs_->Open("/tmp/ro", O_WRONLY), EACCES);
  EXPECT_ERRNO(fs_->Open("/tmp/ro", O_RDWR), EACCES);
  EXPECT_ERRNO(fs_->Open("/tmp/ro", O_RDONLY | O_TRUNC), EACCES);
  EXPECT_OK(fs_->Open("/tmp/ro", O_PATH));  // O_PATH asks for nothing
  EXPECT_ERRNO(fs_->Truncate("/tmp/ro", 0), EACCES);
}

TEST_F(PermissionsTest, CapDacOverrideReadsAndWritesAnythingX1) {
  WriteFile("/tmp/none", "x");
  ASSERT_OK(fs_->Chmod("/tmp/none", 0));
  Credentials reader = Credentials::User(kBob, kOther);
  reader.capabilities = kCapDacReadSearch;
  {
    ScopedCredentials as(reader);
    EXPECT_OK(fs_->Open("/tmp/none", O_RDONLY));
    EXPECT_ERRNO(fs_->Open("/tmp/none", O_WRONLY), EACCES);
  }
  Credentials overrider = Credentials::User(kBob, kOther);
  overrider.capabilities = kCapDacOverride;
  ScopedCredentials as(overrider);
  EXPECT_OK(fs_->Open("/tmp/none", O_RDWR));
}

TEST_F(PermissionsTest, CreateNeedsWriteOnTheDirectoryX1) {
  ScopedCredentials as(bob_);
  EXPECT_ERRNO(fs_->Open("/home/new", O_CREAT | O_WRONLY, 0644), EACCES);
  EXPECT_ERRNO(fs_->Mkdir("/home/d", 0755), EACCES);
  EXPECT_ERRNO(fs_->Symlink("x", "/home/s"), EACCES);
  EXPECT_ERRNO(fs_->Mkfifo("/home/p", 0644), EACCES);
  // An existing name is EEXIST before the permission check, as Linux.
  EXPECT_ERRNO(fs_->Mkdir("/home", 0755), EEXIST);
}

TEST_F(PermissionsTest, NewInodesTakeCallerIdsAndUmaskX1) {
  Credentials c = bob_;
  c.umask = 027;
  ScopedCredentials as(c);
  ASSERT_OK(fs_->Open("/tmp/mine", O_CREAT | O_WRONLY, 0666));
  ASSERT_OK_AND_ASSIGN(st, fs_->Stat("/tmp/mine"));
  EXPECT_EQ(st.uid, kBob);
  EXPECT_EQ(st.gid, kOther);
  EXPECT_EQ(st.mode & 07777, 0640u);
}

TEST_F(PermissionsTest, SetgidDirectoryGivesItsGroupAndBitToChildrenX1) {
  ASSERT_OK(fs_->Mkdir("/shared", 0777));
  ASSERT_OK(fs_->Chown("/shared", 0, 777));
  ASSERT_OK(fs_->Chmod("/shared", 02777));
  ScopedCredentials as(bob_);
  ASSERT_OK(fs_->Mkdir("/shared/sub", 0755));
  ASSERT_OK(fs_->Open("/shared/file", O_CREAT | O_WRONLY, 0644));
  ASSERT_OK_AND_ASSIGN(sub, fs_->Stat("/shared/sub"));
  ASSERT_OK_AND_ASSIGN(file, fs_->Stat("/shared/file"));
  EXPECT_EQ(sub.gid, 777u);
  EXPECT_EQ(file.gid, 777u);
  EXPECT_TRUE(sub.mode & S_ISGID);
  EXPECT_FALSE(file.mode & S_ISGID);
}

TEST_F(PermissionsTest, StickyDirectoryProtectsOthersEntriesX1) {
  {
    ScopedCredentials as(alice_);
    WriteFile("/tmp/alices", "x");
  }
  ScopedCredentials as(bob_);
  WriteFile("/tmp/bobs", "y");
  EXPECT_ERRNO(fs_->Unlink("/tmp/alices"), EPERM);
  EXPECT_ERRNO(fs_->Rename("/tmp/alices", "/tmp/mine"), EPERM);
  EXPECT_ERRNO(fs_->Rename("/tmp/bobs", "/tmp/alices"), EPERM);  // replacing hers
  EXPECT_OK(fs_->Unlink("/tmp/bobs"));
}

TEST_F(PermissionsTest, UnlinkNeedsWriteOnTheDirectoryX1) {
  WriteFile("/home/rootfile", "x");
  ScopedCredentials as(bob_);
  EXPECT_ERRNO(fs_->Unlink("/home/rootfile"), EACCES);
  EXPECT_ERRNO(fs_->Rename("/home/rootfile", "/tmp/x"), EACCES);
}

TEST_F(PermissionsTest, ChmodNeedsOwnershipX1) {
  WriteFile("/tmp/f", "x");
  ASSERT_OK(fs_->Chown("/tmp/f", kAlice, kStaff));
  {
    ScopedCredentials as(bob_);
    EXPECT_ERRNO(fs_->Chmod("/tmp/f", 0777), EPERM);
  }
  ScopedCredentials as(alice_);
  EXPECT_OK(fs_->Chmod("/tmp/f", 0600));
}

TEST_F(PermissionsTest, ChmodDropsSetgidOutsideTheGroupX1) {
  WriteFile("/tmp/f", "x");
  ASSERT_OK(fs_->Chown("/tmp/f", kAlice, 999));  // alice is not in 999
  ScopedCredentials as(alice_);
  ASSERT_OK(fs_->Chmod("/tmp/f", 02755));
  ASSERT_OK_AND_ASSIGN(st, fs_->Stat("/tmp/f"));
  EXPECT_EQ(st.mode & 07777, 0755u);
}

TEST_F(PermissionsTest, ChownOfTheOwnerNeedsCapChownX1) {
  WriteFile("/tmp/f", "x");
  ASSERT_OK(fs_->Chown("/tmp/f", kAlice, kStaff));
  ScopedCredentials as(alice_);
  EXPECT_ERRNO(fs_->Chown("/tmp/f", kBob, Filesystem::kNoId), EPERM);
  EXPECT_OK(fs_->Chown("/tmp/f", kAlice, Filesystem::kNoId));  // unchanged
  EXPECT_ERRNO(fs_->Chown("/tmp/f", Filesystem::kNoId, kOther), EPERM);  // not her group
  Credentials in_two = Credentials::User(kAlice, kStaff, {kOther});
  ScopedCredentials as_member(in_two);
  EXPECT_OK(fs_->Chown("/tmp/f", Filesystem::kNoId, kOther));
  ASSERT_OK_AND_ASSIGN(st, fs_->Stat("/tmp/f"));
  EXPECT_EQ(st.gid, kOther);
}

TEST_F(PermissionsTest, ChownClearsSetuidAndSetgidOfAFileX1) {
  WriteFile("/tmp/f", "x");
  ASSERT_OK(fs_->Chmod("/tmp/f", 06755));
  ASSERT_OK(fs_->Chown("/tmp/f", kAlice, kStaff));  // even as root
  ASSERT_OK_AND_ASSIGN(st, fs_->Stat("/tmp/f"));
  EXPECT_EQ(st.mode & 07777, 0755u);
  ASSERT_OK(fs_->Mkdir("/tmp/d", 06755));
  ASSERT_OK(fs_->Chmod("/tmp/d", 06755));
  ASSERT_OK(fs_->Chown("/tmp/d", kAlice, kStaff));
  ASSERT_OK_AND_ASSIGN(d, fs_->Stat("/tmp/d"));
  EXPECT_EQ(d.mode & 07777, 06755u);  // a directory keeps them
}

TEST_F(PermissionsTest, ChownMovesCtimeEvenWhenNothingChangesX1) {
  WriteFile("/tmp/f", "x");
  ASSERT_OK_AND_ASSIGN(before, fs_->Stat("/tmp/f"));
  ASSERT_OK(fs_->Chown("/tmp/f", Filesystem::kNoId, Filesystem::kNoId));
  ASSERT_OK_AND_ASSIGN(after, fs_->Stat("/tmp/f"));
  EXPECT_GT(after.ctime, before.ctime);
}

TEST_F(PermissionsTest, WriteByNonRootClearsSetuidX1) {
  WriteFile("/tmp/f", "x");
  ASSERT_OK(fs_->Chown("/tmp/f", kAlice, kStaff));
  ASSERT_OK(fs_->Chmod("/tmp/f", 06777));
  {
    // Root (CAP_FSETID) keeps the bits.
    Fd fd = OpenOrDie("/tmp/f", O_WRONLY);
    WriteAt(fd, 0, "r");
    ASSERT_OK_AND_ASSIGN(st, fs_->Stat("/tmp/f"));
    EXPECT_EQ(st.mode & 07777, 06777u);
  }
  ScopedCredentials as(bob_);
  Fd fd = OpenOrDie("/tmp/f", O_WRONLY);
  WriteAt(fd, 0, "b");
  ASSERT_OK_AND_ASSIGN(st, fs_->Stat("/tmp/f"));
  EXPECT_EQ(st.mode & 07777, 0777u);
}

TEST_F(PermissionsTest, TruncateByNonRootClearsSetgidWithGroupExecX1) {
  WriteFile("/tmp/f", "xyz");
  ASSERT_OK(fs_->Chown("/tmp/f", kAlice, kStaff));
  ASSERT_OK(fs_->Chmod("/tmp/f", 02646));  // setgid without group-exec stays
  ScopedCredentials as(alice_);
  ASSERT_OK(fs_->Truncate("/tmp/f", 1));
  ASSERT_OK_AND_ASSIGN(kept, fs_->Stat("/tmp/f"));
  EXPECT_EQ(kept.mode & 07777, 02646u);
  ASSERT_OK(fs_->Chmod("/tmp/f", 02776));
  ASSERT_OK(fs_->Truncate("/tmp/f", 0));
  ASSERT_OK_AND_ASSIGN(cleared, fs_->Stat("/tmp/f"));
  EXPECT_EQ(cleared.mode & 07777, 0776u);
}

TEST_F(PermissionsTest, UtimensExplicitTimesNeedOwnershipX1) {
  WriteFile("/tmp/f", "x");
  ASSERT_OK(fs_->Chmod("/tmp/f", 0666));
  ScopedCredentials as(bob_);
  EXPECT_ERRNO(fs_->Utimens("/tmp/f", {Timespec{1, 0}, Timespec{2, 0}}), EPERM);
  // "now" needs only write permission.
  EXPECT_OK(fs_->Utimens("/tmp/f", {Timespec{0, kUtimeNow}, Timespec{0, kUtimeNow}}));
  ASSERT_OK(fs_->Open("/tmp/mine", O_CREAT | O_WRONLY, 0644));
  EXPECT_OK(fs_->Utimens("/tmp/mine", {Timespec{1, 0}, Timespec{2, 0}}));
}

TEST_F(PermissionsTest, UtimensNowWithoutWritePermissionIsEaccesX1) {
  WriteFile("/tmp/f", "x");
  ASSERT_OK(fs_->Chmod("/tmp/f", 0644));
  ScopedCredentials as(bob_);
  EXPECT_ERRNO(fs_->Utimens("/tmp/f", {Timespec{0, kUtimeNow}, Timespec{0, kUtimeNow}}), EACCES);
}

TEST_F(PermissionsTest, MovingADirectoryToAnotherParentNeedsWriteOnItX1) {
  ScopedCredentials as(bob_);
  ASSERT_OK(fs_->Mkdir("/tmp/a", 0755));
  ASSERT_OK(fs_->Mkdir("/tmp/b", 0755));
  ASSERT_OK(fs_->Mkdir("/tmp/a/moving", 0555));
  EXPECT_ERRNO(fs_->Rename("/tmp/a/moving", "/tmp/b/moving"), EACCES);
  EXPECT_OK(fs_->Rename("/tmp/a/moving", "/tmp/a/renamed"));  // same parent
}

TEST_F(PermissionsTest, DeviceNodesNeedCapMknodX5) {
  ScopedCredentials as(bob_);
  EXPECT_ERRNO(fs_->Mknod("/tmp/null", S_IFCHR | 0666, makedev(1, 3)), EPERM);
  EXPECT_OK(fs_->Mknod("/tmp/fifo", S_IFIFO | 0666, 0));
}

TEST_F(PermissionsTest, OwnerAndGroupAreDurableByFsyncX1) {
  WriteFile("/tmp/f", "x");
  for (const char* dir : {"/", "/tmp"}) {
    Fd fd = OpenOrDie(dir, O_RDONLY | O_DIRECTORY);
    ASSERT_OK(fs_->Fsync(fd));
  }
  Fd fd = OpenOrDie("/tmp/f", O_RDONLY);
  ASSERT_OK(fs_->Fsync(fd));
  ASSERT_OK(fs_->Fchown(fd, kAlice, kStaff));
  ASSERT_OK(fs_->Fsync(fd));
  CrashAndRemount();
  ASSERT_OK_AND_ASSIGN(st, fs_->Stat("/tmp/f"));
  EXPECT_EQ(st.uid, kAlice);
  EXPECT_EQ(st.gid, kStaff);
}

TEST_F(PermissionsTest, ChownIsNotDurableByFdatasyncX1) {
  WriteFile("/tmp/f", "x");
  for (const char* dir : {"/", "/tmp"}) {
    Fd fd = OpenOrDie(dir, O_RDONLY | O_DIRECTORY);
    ASSERT_OK(fs_->Fsync(fd));
  }
  Fd fd = OpenOrDie("/tmp/f", O_RDONLY);
  ASSERT_OK(fs_->Fsync(fd));
  ASSERT_OK(fs_->Fchown(fd, kAlice, kStaff));
  ASSERT_OK(fs_->Fdatasync(fd));
  CrashAndRemount();
  ASSERT_OK_AND_ASSIGN(st, fs_->Stat("/tmp/f"));
  EXPECT_EQ(st.uid, 0u);
}

}  // namespace
}  // namespace vfs::testing
