#include "tests/test_util.h"

namespace vfs::testing {
namespace {

TEST_F(VfsTest, FsyncedFileInFsyncedDirectorySurvivesCrash) {
  Fd fd = OpenOrDie("/a", O_RDWR | O_CREAT);
  WriteAt(fd, 0, "hello");
  ASSERT_OK(fs_->Fsync(fd));
  FsyncDir("/");
  WriteAt(fd, 5, " world");  // never synced
  CrashAndRemount();
  EXPECT_EQ(ReadFile("/a"), "hello");
}

TEST_F(VfsTest, UnsyncedCreateIsGoneAfterCrash) {
  WriteFile("/a", "x");
  CrashAndRemount();
  EXPECT_FALSE(Exists("/a"));
}

}  // namespace
}  // namespace vfs::testing
