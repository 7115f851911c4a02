// Two shrinking truncations before one inode record (issue 17, finding 1):
// pages written between them must survive the record, on every store.
//
// The record used to carry one Truncate: the smallest size since the last
// record with the generation of the latest truncation. Pages sent to the
// store after the first truncation (so older than the second's generation)
// and below the second's size were then dropped by the store although the
// file still held them: page 0 read as zeros after a remount. With many
// threads the window is an fsync whose wait (a slow flush, a compaction)
// lets another thread truncate between its writeback and its record; here
// sync_file_range opens it in one thread.
#include <fcntl.h>

#include "backends/fault/fault_store.h"
#include "tests/test_util.h"

namespace vfs::testing {
namespace {

enum class Kind { kMemory, kDisk, kFault };

class TruncationOrderTest : public ::testing::TestWithParam<Kind> {
 protected:
  std::shared_ptr<Store> MakeStore() {
    switch (GetParam()) {
      case Kind::kMemory: return NewMemoryStore(MemoryStoreOptions{});
      case Kind::kDisk: return NewTemporaryDiskStore();
      case Kind::kFault: {
        FaultStoreOptions options;
        options.record = false;
        return NewFaultStore(NewMemoryStore(MemoryStoreOptions{}), options);
      }
    }
    return nullptr;
  }
};

std::string ReadAll(Filesystem& fs, const std::string& path) {
  auto fd = fs.Open(path, O_RDONLY);
  if (!fd.ok()) return "<errno " + std::to_string(fd.error()) + ">";
  std::string out(16384, '?');
  auto n = fs.Pread(*fd, out.data(), out.size(), 0);
  (void)fs.Close(*fd);
  if (!n.ok()) return "<read errno " + std::to_string(n.error()) + ">";
  out.resize(*n);
  return out;
}

TEST_P(TruncationOrderTest, PagesWrittenBetweenTwoTruncationsSurviveTheRecord) {
  auto store = MakeStore();
  auto fs = Filesystem::Mount(store, {}).value();
  Fd fd = fs->Open("/f", O_RDWR | O_CREAT, 0644).value();
  ASSERT_OK(fs->Pwrite(fd, Fill('a', 2 * kPage).data(), 2 * kPage, 0));
  ASSERT_OK(fs->Fsync(fd));
  Fd root = fs->Open("/", O_RDONLY | O_DIRECTORY).value();
  ASSERT_OK(fs->Fsync(root));
  ASSERT_OK(fs->Ftruncate(fd, 0));  // the first truncation
  ASSERT_OK(fs->Pwrite(fd, Fill('b', 2 * kPage).data(), 2 * kPage, 0));
  ASSERT_OK(fs->SyncFileRange(fd, 0, 0, kWrite));  // pages 0 and 1 go to the store
  ASSERT_OK(fs->Ftruncate(fd, 5000));              // the second: both pages stay
  ASSERT_OK(fs->Fsync(fd));                        // one record for both
  const std::string expected = Fill('b', 5000);
  ASSERT_EQ(Runs(ReadAll(*fs, "/f")), Runs(expected));
  fs->Crash();
  auto after = Filesystem::Mount(store, {}).value();
  EXPECT_EQ(Runs(ReadAll(*after, "/f")), Runs(expected));
}

// Three truncations, the middle one the smallest, with writes sent between
// each: every page the file holds at the fsync is there after the crash.
TEST_P(TruncationOrderTest, PagesWrittenBetweenThreeTruncationsSurviveTheRecord) {
  auto store = MakeStore();
  auto fs = Filesystem::Mount(store, {}).value();
  Fd fd = fs->Open("/f", O_RDWR | O_CREAT, 0644).value();
  ASSERT_OK(fs->Pwrite(fd, Fill('a', 4 * kPage).data(), 4 * kPage, 0));
  ASSERT_OK(fs->Fsync(fd));
  Fd root = fs->Open("/", O_RDONLY | O_DIRECTORY).value();
  ASSERT_OK(fs->Fsync(root));
  ASSERT_OK(fs->Ftruncate(fd, 3 * kPage + 10));
  ASSERT_OK(fs->Pwrite(fd, Fill('b', kPage).data(), kPage, 0));
  ASSERT_OK(fs->SyncFileRange(fd, 0, 0, kWrite));
  ASSERT_OK(fs->Ftruncate(fd, 100));
  ASSERT_OK(fs->Pwrite(fd, Fill('c', 2 * kPage).data(), 2 * kPage, kPage));
  ASSERT_OK(fs->SyncFileRange(fd, 0, 0, kWrite));
  ASSERT_OK(fs->Ftruncate(fd, 2 * kPage + 7));
  ASSERT_OK(fs->Fsync(fd));
  const std::string expected = Fill('b', 100) + Fill('\0', kPage - 100) + Fill('c', kPage + 7);
  ASSERT_EQ(Runs(ReadAll(*fs, "/f")), Runs(expected));
  fs->Crash();
  auto after = Filesystem::Mount(store, {}).value();
  EXPECT_EQ(Runs(ReadAll(*after, "/f")), Runs(expected));
}

// A record carrying two truncations fails at submit; the truncations stay
// pending, and the next fsync sends both, in order: the file is whole after
// a crash.
TEST(TruncationOrderFaultTest, FailedRecordKeepsBothTruncationsForTheNextOne) {
  auto memory = NewMemoryStore(MemoryStoreOptions{});
  FaultStoreOptions options;
  options.record = true;
  auto faults = NewFaultStore(memory, options);
  auto fs = Filesystem::Mount(faults, {}).value();
  Fd fd = fs->Open("/f", O_RDWR | O_CREAT, 0644).value();
  ASSERT_OK(fs->Pwrite(fd, Fill('a', 3 * kPage).data(), 3 * kPage, 0));
  ASSERT_OK(fs->Fsync(fd));
  Fd root = fs->Open("/", O_RDONLY | O_DIRECTORY).value();
  ASSERT_OK(fs->Fsync(root));
  ASSERT_OK(fs->Ftruncate(fd, 0));
  ASSERT_OK(fs->Pwrite(fd, Fill('b', 2 * kPage).data(), 2 * kPage, 0));
  ASSERT_OK(fs->SyncFileRange(fd, 0, 0, kWrite));
  ASSERT_OK(fs->Ftruncate(fd, 5000));
  FaultRule rule;
  rule.stage = FaultStage::kSubmit;
  rule.kinds = kKindTruncate;
  faults->AddRule(rule);
  EXPECT_FALSE(fs->Fsync(fd).ok());
  ASSERT_OK(fs->Fsync(fd));
  std::vector<uint64_t> sent;  // sizes of the truncations the store accepted
  for (const RecordedRequest& r : faults->Recording()) {
    if (const auto* t = std::get_if<Truncate>(&r.request); t != nullptr && r.error == 0) {
      sent.push_back(t->size);
    }
  }
  EXPECT_EQ(sent, (std::vector<uint64_t>{0, 5000}));
  const std::string expected = Fill('b', 5000);
  fs->Crash();
  auto after = Filesystem::Mount(faults, {}).value();
  EXPECT_EQ(Runs(ReadAll(*after, "/f")), Runs(expected));
}

INSTANTIATE_TEST_SUITE_P(AllStores, TruncationOrderTest,
                         ::testing::Values(Kind::kMemory, Kind::kDisk, Kind::kFault),
                         [](const auto& info) {
                           switch (info.param) {
                             case Kind::kMemory: return "Memory";
                             case Kind::kDisk: return "Disk";
                             case Kind::kFault: return "Fault";
                           }
                           return "Unknown";
                         });

}  // namespace
}  // namespace vfs::testing
