// The example of README.md, compiled and checked, so the README stays true.
#include <fcntl.h>

#include "backends/memory/memory_store.h"
#include "gtest/gtest.h"
#include "vfs/filesystem.h"

namespace {

std::string ReadAll(vfs::Filesystem& fs, const char* path) {
  vfs::Fd fd = fs.Open(path, O_RDONLY).value();
  std::string out(64, '\0');
  out.resize(fs.Read(fd, out.data(), out.size()).value());
  EXPECT_TRUE(fs.Close(fd).ok());
  return out;
}

TEST(ReadmeExample, OnlyTheSyncedCommitSurvivesTheCrash) {
  // ---- as in README.md ----
  std::shared_ptr<vfs::Store> store = vfs::NewMemoryStore();
  auto fs = vfs::Filesystem::Mount(store).value();

  vfs::Fd fd = fs->Open("/journal", O_WRONLY | O_CREAT | O_APPEND, 0644).value();
  ASSERT_TRUE(fs->Write(fd, "commit 1\n", 9).ok());
  ASSERT_TRUE(fs->Fdatasync(fd).ok());  // data and size durable; the name is not (rule D3)
  vfs::Fd root = fs->Open("/", O_RDONLY | O_DIRECTORY).value();
  ASSERT_TRUE(fs->Fsync(root).ok());    // now the name is durable too

  ASSERT_TRUE(fs->Write(fd, "commit 2\n", 9).ok());  // never synced
  fs->Crash();                                       // power cut

  auto after = vfs::Filesystem::Mount(store).value();
  // ---- end of the README example ----
  EXPECT_EQ(ReadAll(*after, "/journal"), "commit 1\n");
}

}  // namespace
