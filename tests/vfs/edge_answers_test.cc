// Answers at the edges of the numbers (issue 17, findings 6 and 7): lseek
// SEEK_HOLE in the last page below 2^63, getcwd past PATH_MAX, and a write
// of a huge count under a quota.
#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <limits>
#include <string>

#include "gtest/gtest.h"
#include "tests/test_util.h"

namespace vfs {
namespace {

using testing::VfsTest;

constexpr int64_t kMaxOffset = std::numeric_limits<int64_t>::max();

class EdgeAnswersTest : public VfsTest {};

// The data page is the last one below 2^63; the hole after it would start
// at 2^63, so the answer is the end of the file (2^63-1), not the offset.
TEST_F(EdgeAnswersTest, SeekHoleInTheLastPageBelow2To63AnswersTheEnd) {
  Fd fd = OpenOrDie("/f", O_RDWR | O_CREAT);
  ASSERT_OK(fs_->Ftruncate(fd, kMaxOffset));
  WriteAt(fd, kMaxOffset - 10, "x");
  ASSERT_OK_AND_ASSIGN(hole, fs_->Lseek(fd, kMaxOffset - 100, SEEK_HOLE));
  EXPECT_EQ(hole, kMaxOffset);
  ASSERT_OK_AND_ASSIGN(data, fs_->Lseek(fd, 0, SEEK_DATA));
  EXPECT_EQ(data, (kMaxOffset - 10) / 4096 * 4096);
  // Before the data page, the answer is the offset itself (it is in a hole).
  ASSERT_OK_AND_ASSIGN(early, fs_->Lseek(fd, 4096, SEEK_HOLE));
  EXPECT_EQ(early, 4096);
  EXPECT_OK(fs_->Close(fd));
}

// Enters `name` (made first) under the working directory.
void Descend(Filesystem& fs, const std::string& name) {
  ASSERT_OK(fs.Mkdir(name, 0755));
  ASSERT_OK(fs.Chdir(name));
}

// Linux's getcwd: a path that with its NUL does not fit PATH_MAX (4096) is
// ENAMETOOLONG; one of 4095 bytes is returned.
TEST_F(EdgeAnswersTest, GetcwdPastPathMaxIsEnametoolong) {
  const std::string name255(255, 'd');
  for (int i = 0; i < 15; ++i) Descend(*fs_, name255);  // 15 * 256 = 3840 bytes
  Descend(*fs_, std::string(254, 'e'));                  // 4095 bytes
  ASSERT_OK_AND_ASSIGN(fits, fs_->Getcwd());
  EXPECT_EQ(fits.size(), 4095u);
  ASSERT_OK(fs_->Chdir(".."));
  Descend(*fs_, name255);  // 4096 bytes: no room for the NUL
  EXPECT_ERRNO(fs_->Getcwd(), ENAMETOOLONG);
  Descend(*fs_, "deeper");
  EXPECT_ERRNO(fs_->Getcwd(), ENAMETOOLONG);
  ASSERT_OK(fs_->Chdir("/"));
  ASSERT_OK_AND_ASSIGN(root, fs_->Getcwd());
  EXPECT_EQ(root, "/");
}

class QuotaEdgeTest : public VfsTest {
 protected:
  QuotaEdgeTest() { options_.max_bytes = uint64_t{1} << 20; }
};

// A count of 2^62 under a 1 MiB quota is ENOSPC at once: the work is bounded
// by the quota (and the MAX_RW_COUNT cap), not by the count. Before, the
// write walked 2^50 pages under the inode's lock. The buffer is never read:
// a failed write copies nothing.
TEST_F(QuotaEdgeTest, HugeWriteUnderAQuotaIsEnospcAndChangesNothing) {
  Fd fd = OpenOrDie("/f", O_RDWR | O_CREAT);
  const char buf[1] = {'x'};
  EXPECT_ERRNO(fs_->Write(fd, buf, size_t{1} << 62), ENOSPC);
  EXPECT_ERRNO(fs_->Pwrite(fd, buf, size_t{1} << 62, 4096), ENOSPC);
  ASSERT_OK_AND_ASSIGN(st, fs_->Fstat(fd));
  EXPECT_EQ(st.size, 0);
  ASSERT_OK_AND_ASSIGN(pos, fs_->Lseek(fd, 0, SEEK_CUR));
  EXPECT_EQ(pos, 0);
  // What fits is still written.
  WriteAt(fd, 0, std::string(4096, 'a'));
  EXPECT_OK(fs_->Close(fd));
}

}  // namespace
}  // namespace vfs
