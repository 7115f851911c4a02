// Answers where the differential test (tests/differential) found the VFS
// parting from Linux tmpfs, each pinned here with the rule it falls under
// (docs/semantics.md X1, X4, X6). The callers are unprivileged users: root
// is checked by every other suite.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
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

}  // namespace
}  // namespace vfs::testing
