// WASI rights per open file description (semantics M4, E6, E7): every call
// through a descriptor checks the right it needs, rights only narrow, and a
// descriptor opened through a directory descriptor inherits its inheriting
// rights, never more.
#include <fcntl.h>

#include <cerrno>
#include <functional>
#include <string>
#include <vector>

#include "tests/test_util.h"

namespace vfs {
namespace {

using testing::VfsTest;

class RightsTest : public VfsTest {
 protected:
  void SetUp() override {
    VfsTest::SetUp();
    WriteFile("/f", "0123456789");
    ASSERT_OK(fs_->Mkdir("/d", 0755));
  }
  // The errno a missing right answers in the current WASI mode.
  int Denied() const { return options_.wasi_mode == WasiMode::kSpec ? kENotCapable : EACCES; }
};

// One row: a call through a descriptor and the right it needs.
struct RightRow {
  const char* call;
  uint64_t right;
  bool directory;  // run on a directory descriptor instead of /f
  std::function<int(Filesystem&, Fd)> run;  // the errno, 0 for success
};

template <typename T>
int Errno(const Result<T>& r) { return r.error(); }

std::vector<RightRow> Rows() {
  static char buf[16];  // the reads' target; outlives the rows
  return {
      {"read", wasi::kRightFdRead, false, [](Filesystem& fs, Fd fd) { return Errno(fs.Read(fd, buf, 4)); }},
      {"pread", wasi::kRightFdSeek, false, [](Filesystem& fs, Fd fd) { return Errno(fs.Pread(fd, buf, 4, 0)); }},
      {"write", wasi::kRightFdWrite, false, [](Filesystem& fs, Fd fd) { return Errno(fs.Write(fd, "w", 1)); }},
      {"pwrite", wasi::kRightFdSeek, false, [](Filesystem& fs, Fd fd) { return Errno(fs.Pwrite(fd, "w", 1, 2)); }},
      {"lseek", wasi::kRightFdSeek, false, [](Filesystem& fs, Fd fd) { return Errno(fs.Lseek(fd, 3, SEEK_SET)); }},
      {"tell", wasi::kRightFdTell, false, [](Filesystem& fs, Fd fd) { return Errno(fs.Lseek(fd, 0, SEEK_CUR)); }},
      {"ftruncate", wasi::kRightFdFilestatSetSize, false,
       [](Filesystem& fs, Fd fd) { return Errno(fs.Ftruncate(fd, 4)); }},
      {"fstat", wasi::kRightFdFilestatGet, false, [](Filesystem& fs, Fd fd) { return Errno(fs.Fstat(fd)); }},
      {"fchmod", wasi::kRightFdFilestatSetTimes, false,
       [](Filesystem& fs, Fd fd) { return Errno(fs.Fchmod(fd, 0600)); }},
      {"futimens", wasi::kRightFdFilestatSetTimes, false,
       [](Filesystem& fs, Fd fd) { return Errno(fs.Futimens(fd, {Timespec{1, 0}, Timespec{2, 0}})); }},
      {"fsync", wasi::kRightFdSync, false, [](Filesystem& fs, Fd fd) { return Errno(fs.Fsync(fd)); }},
      {"fdatasync", wasi::kRightFdDatasync, false, [](Filesystem& fs, Fd fd) { return Errno(fs.Fdatasync(fd)); }},
      {"sync_file_range", wasi::kRightFdDatasync, false,
       [](Filesystem& fs, Fd fd) { return Errno(fs.SyncFileRange(fd, 0, 0, 7)); }},
      {"fsync_range O_DSYNC", wasi::kRightFdDatasync, false,
       [](Filesystem& fs, Fd fd) { return Errno(fs.FsyncRange(fd, kFsyncRangeDataSync, 0, 0)); }},
      {"fsync_range O_SYNC", wasi::kRightFdSync, false,
       [](Filesystem& fs, Fd fd) { return Errno(fs.FsyncRange(fd, kFsyncRangeFileSync, 0, 0)); }},
      {"syncfs", wasi::kRightFdSync, false, [](Filesystem& fs, Fd fd) { return Errno(fs.Syncfs(fd)); }},
      {"readdir", wasi::kRightFdReaddir, true, [](Filesystem& fs, Fd fd) { return Errno(fs.ReadDir(fd)); }},
      {"openat", wasi::kRightPathOpen, true,
       [](Filesystem& fs, Fd fd) { return Errno(fs.OpenAt(fd, "../f", O_RDONLY)); }},
      {"openat O_CREAT", wasi::kRightPathCreateFile, true,
       [](Filesystem& fs, Fd fd) { return Errno(fs.OpenAt(fd, "new", O_RDWR | O_CREAT, 0644)); }},
      {"openat O_TRUNC", wasi::kRightPathFilestatSetSize, true,
       [](Filesystem& fs, Fd fd) { return Errno(fs.OpenAt(fd, "../f", O_RDWR | O_TRUNC)); }},
  };
}

// Each call, row by row: without its right it answers EACCES (Wasmer mode)
// (the spec mode's answer is the next test); with the right it works.
TEST_F(RightsTest, EveryCallChecksItsRight) {
  for (const RightRow& row : Rows()) {
    SCOPED_TRACE(row.call);
    const char* path = row.directory ? "/d" : "/f";
    const int flags = row.directory ? O_RDONLY | O_DIRECTORY : O_RDWR;
    Fd without = OpenOrDie(path, flags);
    ASSERT_OK(fs_->SetRights(without, wasi::kRightsAll & ~row.right, wasi::kRightsAll));
    EXPECT_EQ(row.run(*fs_, without), EACCES);
    Fd with = OpenOrDie(path, flags);
    ASSERT_OK(fs_->SetRights(with,
                             row.right | wasi::kRightFdRead | wasi::kRightFdWrite | wasi::kRightFdSeek |
                                 wasi::kRightPathOpen,
                             wasi::kRightsAll));
    EXPECT_EQ(row.run(*fs_, with), 0);
    ASSERT_OK(fs_->Close(without));
    ASSERT_OK(fs_->Close(with));
    (void)fs_->Unlink("/d/new");  // may not exist: only the O_CREAT row makes it
    WriteFile("/f", "0123456789");
  }
}

TEST_F(RightsTest, FailedCallChangesNothing) {
  Fd fd = OpenOrDie("/f", O_RDWR);
  ASSERT_OK(fs_->SetRights(fd, wasi::kRightFdRead, 0));
  EXPECT_ERRNO(fs_->Write(fd, "XX", 2), EACCES);
  EXPECT_ERRNO(fs_->Ftruncate(fd, 0), EACCES);
  EXPECT_EQ(ReadFile("/f"), "0123456789");
  Fd dir = OpenOrDie("/d", O_RDONLY | O_DIRECTORY);
  ASSERT_OK(fs_->SetRights(dir, wasi::kRightPathOpen, wasi::kRightsAll));
  EXPECT_ERRNO(fs_->OpenAt(dir, "made", O_RDWR | O_CREAT, 0644), EACCES);
  EXPECT_FALSE(Exists("/d/made"));
}

TEST_F(RightsTest, SpecModeAnswersNotCapable) {
  options_.wasi_mode = WasiMode::kSpec;
  Remount();
  for (const RightRow& row : Rows()) {
    SCOPED_TRACE(row.call);
    Fd fd = OpenOrDie(row.directory ? "/d" : "/f", row.directory ? O_RDONLY | O_DIRECTORY : O_RDWR);
    ASSERT_OK(fs_->SetRights(fd, wasi::kRightsAll & ~row.right, wasi::kRightsAll));
    EXPECT_EQ(row.run(*fs_, fd), kENotCapable);
    if (!row.directory) {
      EXPECT_EQ(fs_->FdSync(fd), row.right == wasi::kRightFdSync ? wasi::kNotcapable : wasi::kSuccess);
    }
    ASSERT_OK(fs_->Close(fd));
  }
  EXPECT_EQ(wasi::FromHostErrno(kENotCapable), wasi::kNotcapable);
}

TEST_F(RightsTest, RightsOnlyNarrow) {
  Fd fd = OpenOrDie("/f", O_RDWR);
  ASSERT_OK(fs_->SetRights(fd, wasi::kRightFdRead | wasi::kRightFdWrite, wasi::kRightFdRead));
  EXPECT_ERRNO(fs_->SetRights(fd, wasi::kRightFdRead | wasi::kRightFdSeek, 0), EPERM);
  EXPECT_ERRNO(fs_->SetRights(fd, wasi::kRightFdRead, wasi::kRightFdWrite), EPERM);
  ASSERT_OK_AND_ASSIGN(rights, fs_->GetRights(fd));
  EXPECT_EQ(rights.first, wasi::kRightFdRead | wasi::kRightFdWrite);
  EXPECT_EQ(rights.second, wasi::kRightFdRead);
  EXPECT_ERRNO(fs_->GetRights(Fd(77)), EBADF);
}

TEST_F(RightsTest, DupSharesTheDescriptionsRights) {
  Fd fd = OpenOrDie("/f", O_RDWR);
  ASSERT_OK_AND_ASSIGN(copy, fs_->Dup(fd));
  ASSERT_OK(fs_->SetRights(copy, wasi::kRightFdRead, 0));
  EXPECT_ERRNO(fs_->Write(fd, "x", 1), EACCES);  // rights belong to the OFD (M4)
  char c;
  EXPECT_OK(fs_->Read(fd, &c, 1));
}

TEST_F(RightsTest, OpenAtInheritsAndNeverWidens) {
  Fd dir = OpenOrDie("/d", O_RDONLY | O_DIRECTORY);
  const uint64_t inheriting = wasi::kRightFdRead | wasi::kRightFdSeek | wasi::kRightFdTell |
                              wasi::kRightPathOpen;
  ASSERT_OK(fs_->SetRights(dir, wasi::kRightPathOpen | wasi::kRightPathCreateFile, inheriting));
  ASSERT_OK_AND_ASSIGN(fd, fs_->OpenAt(dir, "child", O_RDWR | O_CREAT, 0644));
  ASSERT_OK_AND_ASSIGN(rights, fs_->GetRights(fd));
  EXPECT_EQ(rights.first, inheriting);
  EXPECT_EQ(rights.second, inheriting);
  EXPECT_ERRNO(fs_->Write(fd, "x", 1), EACCES);  // O_RDWR does not add fd_write
  EXPECT_ERRNO(fs_->SetRights(fd, inheriting | wasi::kRightFdWrite, inheriting), EPERM);
  EXPECT_ERRNO(fs_->Fsync(fd), EACCES);
  char buf[4];
  EXPECT_OK(fs_->Read(fd, buf, sizeof buf));
  // An absolute path through the descriptor is narrowed all the same.
  ASSERT_OK_AND_ASSIGN(abs, fs_->OpenAt(dir, "/f", O_RDWR));
  EXPECT_ERRNO(fs_->Write(abs, "x", 1), EACCES);
  // A directory opened through it passes on no more than it got.
  ASSERT_OK(fs_->Mkdir("/d/sub", 0755));
  ASSERT_OK_AND_ASSIGN(sub, fs_->OpenAt(dir, "sub", O_RDONLY | O_DIRECTORY));
  EXPECT_ERRNO(fs_->OpenAt(sub, "x", O_RDWR | O_CREAT, 0644), EACCES);  // no path_create_file
  ASSERT_OK_AND_ASSIGN(again, fs_->OpenAt(sub, "../child", O_RDONLY));
  ASSERT_OK_AND_ASSIGN(grand, fs_->GetRights(again));
  EXPECT_EQ(grand.first & ~inheriting, 0u);
  // Descriptors not opened through one keep all rights: the embedder's.
  ASSERT_OK_AND_ASSIGN(host, fs_->Open("/d/child", O_RDWR));
  ASSERT_OK_AND_ASSIGN(all, fs_->GetRights(host));
  EXPECT_EQ(all.first, wasi::kRightsAll);
}

TEST_F(RightsTest, OpenAtAccessModeNarrowsReadAndWrite) {
  Fd dir = OpenOrDie("/d", O_RDONLY | O_DIRECTORY);
  ASSERT_OK_AND_ASSIGN(ro, fs_->OpenAt(dir, "../f", O_RDONLY));
  ASSERT_OK_AND_ASSIGN(ro_rights, fs_->GetRights(ro));
  EXPECT_EQ(ro_rights.first & wasi::kRightFdWrite, 0u);
  EXPECT_NE(ro_rights.first & wasi::kRightFdRead, 0u);
  ASSERT_OK_AND_ASSIGN(wo, fs_->OpenAt(dir, "../f", O_WRONLY));
  ASSERT_OK_AND_ASSIGN(wo_rights, fs_->GetRights(wo));
  EXPECT_EQ(wo_rights.first & wasi::kRightFdRead, 0u);
  EXPECT_NE(wo_rights.first & wasi::kRightFdWrite, 0u);
}

// Rules E6/E7: the access mode's EBADF comes before the right it narrowed
// away, as Linux answers for openat through a directory descriptor; a
// right missing on a descriptor whose mode allows the call stays EACCES.
TEST_F(RightsTest, AccessModeEbadfComesBeforeTheNarrowedRight) {
  Fd dir = OpenOrDie("/d", O_RDONLY | O_DIRECTORY);
  ASSERT_OK_AND_ASSIGN(ro, fs_->OpenAt(dir, "../f", O_RDONLY));
  EXPECT_ERRNO(fs_->Write(ro, "x", 1), EBADF);
  EXPECT_ERRNO(fs_->Pwrite(ro, "x", 1, 0), EBADF);
  ASSERT_OK_AND_ASSIGN(wo, fs_->OpenAt(dir, "../f", O_WRONLY));
  char c;
  EXPECT_ERRNO(fs_->Read(wo, &c, 1), EBADF);
  EXPECT_ERRNO(fs_->Pread(wo, &c, 1, 0), EBADF);
  ASSERT_OK_AND_ASSIGN(path, fs_->OpenAt(dir, "/d", O_PATH | O_DIRECTORY));
  EXPECT_ERRNO(fs_->Write(path, "x", 1), EBADF);
  ASSERT_OK(fs_->SetRights(wo, wasi::kRightFdSeek, 0));  // drops fd_write
  EXPECT_ERRNO(fs_->Write(wo, "x", 1), EACCES);
}

// Rule E6: fdflags::dsync needs fd_datasync or fd_sync, sync needs fd_sync,
// among the rights the new descriptor would inherit.
TEST_F(RightsTest, OpenAtWithSyncFlagsNeedsTheSyncRights) {
  Fd dir = OpenOrDie("/d", O_RDONLY | O_DIRECTORY);
  const uint64_t plain = wasi::kRightFdRead | wasi::kRightFdWrite | wasi::kRightPathOpen;
  ASSERT_OK(fs_->SetRights(dir, wasi::kRightsAll, plain | wasi::kRightFdDatasync));
  EXPECT_OK(fs_->OpenAt(dir, "../f", O_WRONLY | O_DSYNC));
  EXPECT_ERRNO(fs_->OpenAt(dir, "../f", O_WRONLY | O_SYNC), EACCES);
  ASSERT_OK(fs_->SetRights(dir, wasi::kRightsAll, plain));
  EXPECT_ERRNO(fs_->OpenAt(dir, "../f", O_WRONLY | O_DSYNC), EACCES);
  EXPECT_OK(fs_->OpenAt(dir, "../f", O_WRONLY));
}

}  // namespace
}  // namespace vfs
