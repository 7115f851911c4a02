// Answers where the differential test (tests/differential) found the VFS
// parting from Linux tmpfs, each pinned here with the rule it falls under
// (docs/semantics.md X1, X4, X6). The callers are unprivileged users: root
// is checked by every other suite.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <optional>
#include <string>

#include "tests/test_util.h"
#include "vfs/credentials.h"

namespace vfs::testing {
namespace {

class LinuxParityTest : public VfsTest {
 protected:
  void SetUp() override {
    VfsTest::SetUp();
    ASSERT_OK(fs_->Mkdir("/tmp", 01777));
    ASSERT_OK(fs_->Chmod("/tmp", 01777));
  }
  static constexpr uint32_t kAlice = 1001;
  static constexpr uint32_t kBob = 2000;
  Credentials alice_ = Credentials::User(kAlice, 1000);
  Credentials bob_ = Credentials::User(kBob, 2000);
};

// Rule X1: do_unlinkat refuses a last name that is not a normal name (the
// root, ".", "..") with EISDIR before may_delete looks at permissions or
// at the sticky bit.
TEST_F(LinuxParityTest, UnlinkOfRootOrDotDotIsEisdirBeforePermissionX1) {
  ASSERT_OK(fs_->Mkdir("/tmp/d", 0755));
  ScopedCredentials as(alice_);
  EXPECT_ERRNO(fs_->Unlink("/"), EISDIR);
  EXPECT_ERRNO(fs_->Unlink("/tmp/d/.."), EISDIR);
  EXPECT_ERRNO(fs_->Unlink("/tmp/d/."), EISDIR);
  EXPECT_ERRNO(fs_->Unlink(".."), EISDIR);
}

// Rule X1 (fs.protected_hardlinks = 1, Linux's default, may_linkat): a
// non-owner may link only a regular file it may read and write that is not
// setuid or setgid-executable; a directory is EPERM before the new name's
// directory is checked for write permission.
TEST_F(LinuxParityTest, LinkOfADirectoryIsEpermBeforeDirectoryPermissionX1) {
  ScopedCredentials as(alice_);
  EXPECT_ERRNO(fs_->Link("/.", "d"), EPERM);  // "/" is not writable to alice
}

TEST_F(LinuxParityTest, ProtectedHardlinksRefuseANonOwnerX1) {
  WriteFile("/tmp/ro", "x");
  ASSERT_OK(fs_->Chmod("/tmp/ro", 0644));  // bob may read, not write
  WriteFile("/tmp/rw", "x");
  ASSERT_OK(fs_->Chmod("/tmp/rw", 0666));
  WriteFile("/tmp/suid", "x");
  ASSERT_OK(fs_->Chmod("/tmp/suid", 04666));
  ASSERT_OK(fs_->Mkfifo("/tmp/fifo", 0666));
  ScopedCredentials as(bob_);
  EXPECT_ERRNO(fs_->Link("/tmp/ro", "/tmp/ro2"), EPERM);
  EXPECT_ERRNO(fs_->Link("/tmp/suid", "/tmp/suid2"), EPERM);
  EXPECT_ERRNO(fs_->Link("/tmp/fifo", "/tmp/fifo2"), EPERM);
  EXPECT_OK(fs_->Link("/tmp/rw", "/tmp/rw2"));
  // The owner links what it likes.
  WriteFile("/tmp/mine", "x");
  ASSERT_OK(fs_->Chmod("/tmp/mine", 0));
  EXPECT_OK(fs_->Link("/tmp/mine", "/tmp/mine2"));
}

// Rule X1: O_NOATIME needs the file's owner or CAP_FOWNER (may_open, and
// fcntl's setfl): EPERM.
TEST_F(LinuxParityTest, NoatimeByANonOwnerIsEpermX1) {
  WriteFile("/tmp/f", "x");
  ASSERT_OK(fs_->Chmod("/tmp/f", 0666));
  ScopedCredentials as(alice_);
  EXPECT_ERRNO(fs_->Open("/tmp/f", O_RDONLY | O_NOATIME), EPERM);
  auto fd = fs_->Open("/tmp/f", O_RDONLY);
  ASSERT_OK(fd);
  EXPECT_ERRNO(fs_->SetStatusFlags(*fd, O_NOATIME), EPERM);
  EXPECT_OK(fs_->SetStatusFlags(*fd, O_NONBLOCK));
  auto mine = fs_->Open("/tmp/g", O_RDWR | O_CREAT | O_NOATIME, 0600);
  ASSERT_OK(mine);
  EXPECT_OK(fs_->SetStatusFlags(*mine, O_NOATIME));
}

// Rule X1: O_TRUNC asks for write permission whatever the file's type
// (build_open_flags adds MAY_WRITE), a FIFO's too.
TEST_F(LinuxParityTest, TruncOnAFifoNeedsWritePermissionX1) {
  ASSERT_OK(fs_->Mkfifo("/tmp/fifo", 0644));
  ScopedCredentials as(alice_);
  EXPECT_ERRNO(fs_->Open("/tmp/fifo", O_RDONLY | O_NONBLOCK | O_TRUNC), EACCES);
  EXPECT_OK(fs_->Open("/tmp/fifo", O_RDONLY | O_NONBLOCK));
}

// Rule X4: an O_TMPFILE description keeps O_TMPFILE in its status flags
// (F_GETFL shows __O_TMPFILE | O_DIRECTORY).
TEST_F(LinuxParityTest, GetflOfATmpfileShowsOTmpfileX4) {
  auto fd = fs_->Open("/tmp", O_TMPFILE | O_RDWR, 0600);
  ASSERT_OK(fd);
  auto flags = fs_->GetStatusFlags(*fd);
  ASSERT_OK(flags);
  EXPECT_EQ(*flags & (O_TMPFILE | O_ACCMODE), O_TMPFILE | O_RDWR);
  auto plain = fs_->Open("/tmp/p", O_RDWR | O_CREAT, 0600);
  ASSERT_OK(plain);
  auto plain_flags = fs_->GetStatusFlags(*plain);
  ASSERT_OK(plain_flags);
  EXPECT_EQ(*plain_flags & O_TMPFILE, 0);
}

// Rule X4 (Linux 6.10 on): linkat(fd, "", ..., AT_EMPTY_PATH) needs the
// descriptor to have been opened under the caller's credentials, or
// CAP_DAC_READ_SEARCH; else ENOENT, before the new name is looked at.
TEST_F(LinuxParityTest, LinkatEmptyPathNeedsTheOpenersCredentialsX4) {
  auto roots = fs_->Open("/tmp", O_TMPFILE | O_RDWR, 0666);
  ASSERT_OK(roots);
  {
    ScopedCredentials as(alice_);
    EXPECT_ERRNO(fs_->LinkAt(*roots, "", kCwd, "/tmp/" + std::string(300, 'n'), AT_EMPTY_PATH),
                 ENOENT);
    EXPECT_ERRNO(fs_->LinkAt(*roots, "", kCwd, "/tmp/a", AT_EMPTY_PATH), ENOENT);
    auto hers = fs_->Open("/tmp", O_TMPFILE | O_RDWR, 0600);
    ASSERT_OK(hers);
    EXPECT_OK(fs_->LinkAt(*hers, "", kCwd, "/tmp/hers", AT_EMPTY_PATH));
  }
  // Root holds CAP_DAC_READ_SEARCH: any descriptor.
  ScopedCredentials as(bob_);
  auto bobs = fs_->Open("/tmp", O_TMPFILE | O_RDWR, 0600);
  ASSERT_OK(bobs);
  Credentials root = Credentials::Root();
  ScopedCredentials as_root(root);
  EXPECT_OK(fs_->LinkAt(*bobs, "", kCwd, "/tmp/bobs", AT_EMPTY_PATH));
}

// Rule X4: the opener is an identity, not an address. Two identities that
// live one after the other at the same address (a Credentials on the stack,
// made per request as a server does) are still two: the second may not link
// the first one's descriptor.
TEST_F(LinuxParityTest, LinkatEmptyPathOpenerIsNotTheCredentialsAddressX4) {
  std::optional<Credentials> slot;
  slot.emplace(alice_);
  Result<Fd> hers = Error(EBADF);
  {
    ScopedCredentials as(*slot);
    hers = fs_->Open("/tmp", O_TMPFILE | O_RDWR, 0666);
    ASSERT_OK(hers);
  }
  slot.emplace(Credentials::User(alice_.uid + 7, alice_.gid + 7));
  ScopedCredentials as(*slot);
  EXPECT_ERRNO(fs_->LinkAt(*hers, "", kCwd, "/tmp/stolen", AT_EMPTY_PATH), ENOENT);
  // A copy of an identity that was changed is another identity too.
  Credentials copy = alice_;
  ScopedCredentials as_alice(alice_);
  auto again = fs_->Open("/tmp", O_TMPFILE | O_RDWR, 0666);
  ASSERT_OK(again);
  copy.uid = bob_.uid;
  ScopedCredentials as_changed(copy);
  EXPECT_ERRNO(fs_->LinkAt(*again, "", kCwd, "/tmp/changed", AT_EMPTY_PATH), ENOENT);
}

// Rule X4, a front end's LINK (Filesystem::LinkHandle): who opened the node
// handle does not matter, the caller's permission on the new name does.
TEST_F(LinuxParityTest, LinkHandleIgnoresTheOpenerButChecksTheNewNameX4) {
  ASSERT_OK(fs_->Mkdir("/tmp/shut", 0755));
  Result<Fd> node = Error(EBADF);
  {
    ScopedCredentials as(alice_);
    ASSERT_OK(fs_->Close(*fs_->Open("/tmp/hers", O_CREAT | O_WRONLY, 0644)));
  }
  node = fs_->Open("/tmp/hers", O_PATH, 0);  // opened by root, the server
  ASSERT_OK(node);
  ScopedCredentials as(alice_);
  EXPECT_ERRNO(fs_->LinkAt(*node, "", kCwd, "/tmp/viaat", AT_EMPTY_PATH), ENOENT);
  EXPECT_ERRNO(fs_->LinkHandle(*node, kCwd, "/tmp/shut/x"), EACCES);  // root's 0755 dir
  EXPECT_OK(fs_->LinkHandle(*node, kCwd, "/tmp/linked"));
  auto st = fs_->Stat("/tmp/linked");
  ASSERT_OK(st);
  EXPECT_EQ(st->nlink, 2u);
}

// Rule X6: a FIFO has no positions: pread and pwrite are ESPIPE before the
// access mode is looked at (no FMODE_PREAD / FMODE_PWRITE); an open with
// access mode 3 is EINVAL (fifo_open).
TEST_F(LinuxParityTest, PositionedIoOnAFifoIsEspipeBeforeEbadfX6) {
  ASSERT_OK(fs_->Mkfifo("/tmp/fifo", 0666));
  auto reader = fs_->Open("/tmp/fifo", O_RDONLY | O_NONBLOCK);
  ASSERT_OK(reader);
  auto writer = fs_->Open("/tmp/fifo", O_WRONLY | O_NONBLOCK);
  ASSERT_OK(writer);
  char c = 'x';
  EXPECT_ERRNO(fs_->Pwrite(*reader, &c, 1, 0), ESPIPE);
  EXPECT_ERRNO(fs_->Pread(*writer, &c, 1, 0), ESPIPE);
  EXPECT_ERRNO(fs_->Open("/tmp/fifo", 3 | O_NONBLOCK), EINVAL);
}

// rename's check order (docs/semantics.md section 8, "Also from the
// differential run against tmpfs"), as Linux's do_renameat2; found by the
// fuzz model (fuzz/regressions/rename_long_source_to_dot_is_ebusy). "." or ".." as either last
// name is EBUSY (EEXIST for the target under RENAME_NOREPLACE) before
// either last name is looked up, so a source name too long or in a removed
// directory does not decide the answer (checked on tmpfs, kernel 6.18).
TEST_F(LinuxParityTest, RenameToDotIsEbusyBeforeTheSourceLookup) {
  const std::string long_name(256, 'n');
  EXPECT_ERRNO(fs_->Rename("/" + long_name, "/tmp/."), EBUSY);
  EXPECT_ERRNO(fs_->Rename("/" + long_name, "/tmp/.."), EBUSY);
  EXPECT_ERRNO(fs_->Rename("/" + long_name, "/tmp/.", kRenameNoReplace), EEXIST);
  EXPECT_ERRNO(fs_->Rename("/" + long_name, "/tmp/x"), ENAMETOOLONG);
  EXPECT_ERRNO(fs_->Rename("/missing", "/" + long_name), ENOENT);
  WriteFile("/f", "x");
  EXPECT_ERRNO(fs_->Rename("/f", "/" + long_name), ENAMETOOLONG);
  ASSERT_OK(fs_->Mkdir("/gone", 0755));
  Fd gone = OpenOrDie("/gone", O_RDONLY | O_DIRECTORY);
  ASSERT_OK(fs_->Rmdir("/gone"));
  EXPECT_ERRNO(fs_->RenameAt(gone, "x", kCwd, "/tmp/.", 0), EBUSY);
  EXPECT_ERRNO(fs_->RenameAt(gone, "x", kCwd, "/tmp/y", 0), ENOENT);
  EXPECT_ERRNO(fs_->RenameAt(kCwd, "/f", gone, "y", 0), ENOENT);
  ASSERT_OK(fs_->Stat("/f"));
}

// rename's check order (docs/semantics.md section 8): a target that is an ancestor of the source is
// ENOTEMPTY (EINVAL for RENAME_EXCHANGE), lock_rename's trap, before the
// kinds of the two files are compared.
TEST_F(LinuxParityTest, RenameOntoAnAncestorIsEnotempty) {
  ASSERT_OK(fs_->Mkdir("/a", 0755));
  ASSERT_OK(fs_->Mkdir("/a/b", 0755));
  WriteFile("/a/b/f", "x");
  EXPECT_ERRNO(fs_->Rename("/a/b/f", "/a"), ENOTEMPTY);
  EXPECT_ERRNO(fs_->Rename("/a/b/f", "/a/b"), ENOTEMPTY);
  EXPECT_ERRNO(fs_->Rename("/a/b/f", "/a", kRenameExchange), EINVAL);
  ASSERT_OK(fs_->Stat("/a/b/f"));
}

// Rule X1, may_create_in_sticky at the kernel's default
// fs.protected_regular = fs.protected_fifos = 0: O_CREAT of an existing
// symlink (not followed), device or socket in a sticky world-writable
// directory is EACCES, for root too, unless the caller or the directory's
// owner owns it; regular files and FIFOs open.
TEST_F(LinuxParityTest, CreateOverAnothersSymlinkInStickyDirIsEaccesX1) {
  {
    ScopedCredentials as(alice_);
    ASSERT_OK(fs_->Symlink("/nowhere", "/tmp/link"));
    ASSERT_OK(fs_->Mknod("/tmp/sock", S_IFSOCK | 0666, 0));
    WriteFile("/tmp/file", "x");
    ASSERT_OK(fs_->Chmod("/tmp/file", 0666));
  }
  EXPECT_ERRNO(fs_->Open("/tmp/link", O_CREAT | O_NOFOLLOW | O_RDWR, 0644), EACCES);
  EXPECT_ERRNO(fs_->Open("/tmp/sock", O_CREAT | O_RDWR, 0644), EACCES);
  EXPECT_OK(fs_->Open("/tmp/file", O_CREAT | O_RDWR, 0644));
  {
    ScopedCredentials as(alice_);
    EXPECT_ERRNO(fs_->Open("/tmp/link", O_CREAT | O_NOFOLLOW | O_RDWR, 0644), ELOOP);
  }
  ASSERT_OK(fs_->Chmod("/tmp", 01775));
  EXPECT_ERRNO(fs_->Open("/tmp/link", O_CREAT | O_NOFOLLOW | O_RDWR, 0644), ELOOP);
}

}  // namespace
}  // namespace vfs::testing
