// `vfs ctl stats` reports what the store holds and, of that, the bytes of
// deleted files waiting for their removal to be durable (issue 19).
#include <fcntl.h>

#include <string>

#include "gtest/gtest.h"
#include "tools/mount/mounted_fs.h"

namespace vfs {
namespace {

void FsyncRoot(Filesystem& fs) {
  auto dir = fs.Open("/", O_RDONLY | O_DIRECTORY);
  ASSERT_TRUE(dir.ok());
  ASSERT_TRUE(fs.Fsync(*dir).ok());
  ASSERT_TRUE(fs.Close(*dir).ok());
}

TEST(MountedFsStats, ReportsHeldAndUnlinkedBytesUntilTheRemovalIsDurable) {
  MountedFsOptions options;
  options.backend = "memory";
  std::string why;
  auto opened = MountedFs::Open(options, &why);
  ASSERT_TRUE(opened.ok()) << why;
  MountedFs& mounted = **opened;
  const std::string data(3 * 4096, 'q');
  {
    MountedFs::Guard g(&mounted);
    Filesystem& fs = g.fs();
    auto fd = fs.Open("/f", O_WRONLY | O_CREAT, 0644);
    ASSERT_TRUE(fd.ok());
    ASSERT_TRUE(fs.Pwrite(*fd, data.data(), data.size(), 0).ok());
    ASSERT_TRUE(fs.Fsync(*fd).ok());
    ASSERT_TRUE(fs.Close(*fd).ok());
    FsyncRoot(fs);
    ASSERT_TRUE(fs.Unlink("/f").ok());
  }
  std::string stats = mounted.Control("stats");
  EXPECT_NE(stats.find(" held_bytes=12288 unlinked_bytes=12288\n"), std::string::npos) << stats;
  {
    MountedFs::Guard g(&mounted);
    FsyncRoot(g.fs());
  }
  stats = mounted.Control("stats");
  EXPECT_NE(stats.find(" held_bytes=0 unlinked_bytes=0\n"), std::string::npos) << stats;
}

}  // namespace
}  // namespace vfs
