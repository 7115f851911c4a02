// Quotas against a hostile guest: bytes (allocated pages, so sparse files
// are cheap), inodes, open descriptors and entries per directory. Each limit
// answers its errno, a refused call changes nothing, and a guest that writes
// until refused leaves the process's resident memory bounded near the quota.
#include <fcntl.h>
#include <malloc.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string>
#include <vector>

#include "tests/test_util.h"

namespace vfs {
namespace {

using testing::kPage;
using testing::VfsTest;

class QuotaTest : public VfsTest {
 protected:
  void Limit(void (*set)(Options&)) {
    set(options_);
    Remount();
  }
};

TEST_F(QuotaTest, BytesCountAllocatedPagesSoSparseFilesAreCheap) {
  Limit([](Options& o) { o.max_bytes = 16 * kPage; });
  Fd fd = OpenOrDie("/sparse", O_RDWR | O_CREAT);
  // One byte a gigabyte in: one page, not a gigabyte.
  ASSERT_OK(fs_->Pwrite(fd, "x", 1, int64_t{1} << 30));
  ASSERT_OK_AND_ASSIGN(st, fs_->Fstat(fd));
  EXPECT_EQ(st.size, (uint64_t{1} << 30) + 1);
  EXPECT_EQ(st.blocks, kPage / 512);
  ASSERT_OK_AND_ASSIGN(sfs, fs_->Statfs());
  EXPECT_EQ(sfs.blocks, 16u);
  EXPECT_EQ(sfs.blocks_free, 15u);
  // ftruncate up allocates nothing either.
  ASSERT_OK(fs_->Ftruncate(fd, int64_t{1} << 40));
  ASSERT_OK_AND_ASSIGN(after, fs_->Statfs());
  EXPECT_EQ(after.blocks_free, 15u);
}

TEST_F(QuotaTest, WritePastTheByteQuotaIsEnospcAndWritesNothing) {
  Limit([](Options& o) { o.max_bytes = 4 * kPage; });
  Fd fd = OpenOrDie("/f", O_RDWR | O_CREAT);
  ASSERT_OK(fs_->Pwrite(fd, testing::Fill('a', 3 * kPage).data(), 3 * kPage, 0));
  const std::string two = testing::Fill('b', 2 * kPage);
  EXPECT_ERRNO(fs_->Pwrite(fd, two.data(), two.size(), 3 * kPage), ENOSPC);
  ASSERT_OK_AND_ASSIGN(st, fs_->Fstat(fd));
  EXPECT_EQ(st.size, 3 * kPage);  // a failed call changes nothing (style 11)
  // Overwriting allocated pages needs no new space.
  EXPECT_OK(fs_->Pwrite(fd, two.data(), two.size(), 0));
  EXPECT_OK(fs_->Pwrite(fd, "c", 1, 3 * kPage));  // the last free page
  EXPECT_ERRNO(fs_->Pwrite(fd, "d", 1, 4 * kPage), ENOSPC);
  // Space comes back when pages go.
  ASSERT_OK(fs_->Ftruncate(fd, kPage));
  EXPECT_OK(fs_->Pwrite(fd, two.data(), two.size(), 2 * kPage));
  ASSERT_OK(fs_->Close(fd));
  ASSERT_OK(fs_->Unlink("/f"));
  ASSERT_OK_AND_ASSIGN(sfs, fs_->Statfs());
  EXPECT_EQ(sfs.blocks_free, 4u);
}

TEST_F(QuotaTest, UnlinkedFileHoldsItsSpaceUntilLastClose) {
  Limit([](Options& o) { o.max_bytes = 2 * kPage; });
  Fd fd = OpenOrDie("/f", O_RDWR | O_CREAT);
  ASSERT_OK(fs_->Pwrite(fd, testing::Fill('a', 2 * kPage).data(), 2 * kPage, 0));
  ASSERT_OK(fs_->Unlink("/f"));
  Fd other = OpenOrDie("/g", O_RDWR | O_CREAT);
  EXPECT_ERRNO(fs_->Pwrite(other, "x", 1, 0), ENOSPC);
  ASSERT_OK(fs_->Close(fd));
  EXPECT_OK(fs_->Pwrite(other, "x", 1, 0));
}

TEST_F(QuotaTest, InodeQuotaRefusesEveryKindOfCreate) {
  Limit([](Options& o) { o.max_inodes = 4; });  // the root is one
  ASSERT_OK_AND_ASSIGN(sfs, fs_->Statfs());
  const uint64_t free_inodes = sfs.files_free;
  ASSERT_EQ(free_inodes, 3u);
  WriteFile("/a", "");
  ASSERT_OK(fs_->Mkdir("/b", 0755));
  ASSERT_OK(fs_->Symlink("a", "/c"));
  EXPECT_ERRNO(fs_->Open("/d", O_RDWR | O_CREAT, 0644), ENOSPC);
  EXPECT_ERRNO(fs_->Mkdir("/d", 0755), ENOSPC);
  EXPECT_ERRNO(fs_->Symlink("a", "/d"), ENOSPC);
  EXPECT_ERRNO(fs_->Mkfifo("/d", 0600), ENOSPC);
  EXPECT_FALSE(Exists("/d"));
  EXPECT_OK(fs_->Link("/a", "/hard"));  // a link is no new inode
  ASSERT_OK(fs_->Unlink("/c"));
  EXPECT_OK(fs_->Mkdir("/d", 0755));
}

TEST_F(QuotaTest, DescriptorQuotaIsEmfile) {
  Limit([](Options& o) { o.max_open_fds = 3; });
  WriteFile("/f", "x");
  Fd a = OpenOrDie("/f", O_RDONLY);
  Fd b = OpenOrDie("/f", O_RDONLY);
  EXPECT_ERRNO(fs_->Pipe(), EMFILE);  // needs two
  Fd c = OpenOrDie("/f", O_RDONLY);
  EXPECT_ERRNO(fs_->Open("/f", O_RDONLY), EMFILE);
  EXPECT_ERRNO(fs_->Dup(a), EMFILE);
  EXPECT_ERRNO(fs_->Open("/new", O_RDWR | O_CREAT, 0644), EMFILE);
  EXPECT_FALSE(Exists("/new"));  // refused before anything was created
  ASSERT_OK(fs_->Close(b));
  EXPECT_OK(fs_->Dup(c));
}

TEST_F(QuotaTest, DirectoryEntryQuotaIsEnospc) {
  Limit([](Options& o) { o.max_dir_entries = 3; });
  ASSERT_OK(fs_->Mkdir("/d", 0755));
  ASSERT_OK(fs_->Mkdir("/e", 0755));
  WriteFile("/d/1", "");
  WriteFile("/d/2", "");
  WriteFile("/d/3", "");
  EXPECT_ERRNO(fs_->Open("/d/4", O_RDWR | O_CREAT, 0644), ENOSPC);
  EXPECT_ERRNO(fs_->Mkdir("/d/4", 0755), ENOSPC);
  EXPECT_ERRNO(fs_->Symlink("1", "/d/4"), ENOSPC);
  EXPECT_ERRNO(fs_->Link("/d/1", "/d/4"), ENOSPC);
  WriteFile("/e/x", "");
  EXPECT_ERRNO(fs_->Rename("/e/x", "/d/4", 0), ENOSPC);
  EXPECT_TRUE(Exists("/e/x"));
  // Renames that do not add an entry are fine.
  EXPECT_OK(fs_->Rename("/d/1", "/d/one", 0));
  EXPECT_OK(fs_->Rename("/e/x", "/d/one", 0));  // replaces
  EXPECT_OK(fs_->Rename("/d/2", "/e/2", 0));    // leaves
  EXPECT_OK(fs_->Link("/d/3", "/d/three"));     // room again
  ASSERT_OK_AND_ASSIGN(dir, fs_->Open("/d", O_RDONLY | O_DIRECTORY));
  ASSERT_OK_AND_ASSIGN(entries, fs_->ReadDir(dir));
  EXPECT_EQ(entries.size(), 2u + 3u);  // ".", ".." and three
}

// [VFS choice] A named FIFO keeps its bytes with no descriptor open, so a
// guest could park 64 KiB in each of max_inodes FIFOs: they count against
// max_bytes instead, and come back when read or when the FIFO goes.
TEST_F(QuotaTest, NamedFifoBytesCountAgainstTheByteQuota) {
  Limit([](Options& o) { o.max_bytes = 4 * kPage; });
  ASSERT_OK(fs_->Mkfifo("/fifo", 0600));
  Fd fifo = OpenOrDie("/fifo", O_RDWR);
  Fd file = OpenOrDie("/f", O_RDWR | O_CREAT);
  ASSERT_OK(fs_->Pwrite(file, testing::Fill('f', 3 * kPage).data(), 3 * kPage, 0));
  const std::string two = testing::Fill('p', 2 * kPage);
  EXPECT_ERRNO(fs_->Write(fifo, two.data(), two.size()), ENOSPC);
  ASSERT_OK_AND_ASSIGN(n, fs_->Write(fifo, two.data(), kPage));
  EXPECT_EQ(n, kPage);
  EXPECT_ERRNO(fs_->Pwrite(file, "x", 1, 3 * kPage), ENOSPC);  // the FIFO holds the last page
  std::string buf(kPage, '\0');
  ASSERT_OK(fs_->Read(fifo, buf.data(), buf.size()));
  EXPECT_OK(fs_->Pwrite(file, "x", 1, 3 * kPage));
  ASSERT_OK(fs_->Ftruncate(file, 0));
  ASSERT_OK(fs_->Write(fifo, two.data(), two.size()));
  ASSERT_OK(fs_->Close(fifo));
  ASSERT_OK(fs_->Unlink("/fifo"));  // the last reference: its bytes go
  ASSERT_OK_AND_ASSIGN(sfs, fs_->Statfs());
  EXPECT_EQ(sfs.blocks_free, 4u);
}

// Resident set size of this process, from /proc/self/statm, after handing
// freed heap back to the kernel (so an earlier test's frees cannot hide
// this one's growth).
uint64_t ResidentBytes() {
  ::malloc_trim(0);
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  unsigned long size = 0, resident = 0;
  const int got = std::fscanf(f, "%lu %lu", &size, &resident);
  std::fclose(f);
  return got == 2 ? uint64_t{resident} * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE)) : 0;
}

bool UnderSanitizer() {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  return true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
  return true;
#endif
#endif
  return false;
}

// A guest that writes until refused, in many files and through fsyncs, and
// then keeps trying: every further write is ENOSPC and the resident memory
// grows by about the quota, not by what the guest asked for (4x the quota).
TEST_F(QuotaTest, HostileWriterLeavesResidentMemoryBoundedNearTheQuota) {
  if (UnderSanitizer()) GTEST_SKIP() << "sanitizer shadow memory makes RSS meaningless";
  constexpr uint64_t kQuota = 64ull << 20;
  options_.max_bytes = kQuota;
  options_.max_inodes = 4096;
  Remount();
  const uint64_t before = ResidentBytes();
  ASSERT_GT(before, 0u) << "cannot read /proc/self/statm";
  const std::string chunk = testing::Fill('g', 1 << 20);
  uint64_t written = 0;
  uint64_t refused = 0;
  for (int file = 0; written + refused < 4 * kQuota; ++file) {
    auto fd = fs_->Open("/g" + std::to_string(file), O_RDWR | O_CREAT, 0644);
    ASSERT_TRUE(fd.ok()) << strerror(fd.error());
    for (int i = 0; i < 8; ++i) {
      auto n = fs_->Write(*fd, chunk.data(), chunk.size());
      if (!n.ok()) {
        EXPECT_EQ(n.error(), ENOSPC);
        refused += chunk.size();
        continue;
      }
      written += *n;
    }
    (void)fs_->Fsync(*fd);  // durable copies share the cache's pages
    ASSERT_OK(fs_->Close(*fd));
  }
  EXPECT_LE(written, kQuota);
  EXPECT_GE(written, kQuota - (1 << 20));  // it did fill the quota
  const uint64_t grown = ResidentBytes() - before;
  std::printf("quota %llu MiB, asked %llu MiB, written %llu MiB, RSS grew %llu MiB\n",
              static_cast<unsigned long long>(kQuota >> 20),
              static_cast<unsigned long long>((written + refused) >> 20),
              static_cast<unsigned long long>(written >> 20),
              static_cast<unsigned long long>(grown >> 20));
  EXPECT_LE(grown, kQuota + (16ull << 20));
}

// A guest that makes directories with long names until refused, 200000
// attempts in all: without the limits that would take some 200 MiB.
TEST_F(QuotaTest, HostileCreatorLeavesResidentMemoryBounded) {
  if (UnderSanitizer()) GTEST_SKIP() << "sanitizer shadow memory makes RSS meaningless";
  options_.max_inodes = 5000;
  options_.max_dir_entries = 1000;
  Remount();
  const uint64_t before = ResidentBytes();
  for (int dir = 0; dir < 100; ++dir) ASSERT_OK(fs_->Mkdir("/d" + std::to_string(dir), 0755));
  int refused = 0;
  for (int dir = 0; dir < 100; ++dir) {
    for (int i = 0; i < 2000; ++i) {
      const std::string name = "/d" + std::to_string(dir) + "/" + std::to_string(i) + std::string(240, 'n');
      auto made = fs_->Mkdir(name, 0755);
      if (!made.ok()) {
        EXPECT_EQ(made.error(), ENOSPC);
        ++refused;
      }
    }
  }
  EXPECT_EQ(refused, 200000 - (5000 - 101));  // the root and /d* are inodes too
  const uint64_t grown = ResidentBytes() - before;
  std::printf("200000 mkdirs with 250-byte names, 5000 inodes: RSS grew %llu KiB\n",
              static_cast<unsigned long long>(grown >> 10));
  EXPECT_LE(grown, 16ull << 20);
}

}  // namespace
}  // namespace vfs
