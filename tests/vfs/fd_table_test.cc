// The descriptor table: lookups without a lock (vfs/fd_table.h). A call
// that found its description keeps it whole through a concurrent close, the
// description goes away when that call ends (rule M4: the last reference),
// and a thread with no hazard slot left falls back to a counted lookup.
#include <fcntl.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <random>
#include <thread>
#include <vector>

#include "backends/memory/memory_store.h"
#include "tests/test_util.h"
#include "vfs/filesystem.h"
#include "vfs/store.h"

namespace vfs::testing {
namespace {

// A store whose Flush runs a hook first: it can hold a durability call open
// at a known point, or make calls of its own from inside one.
class HookStore : public ForwardingStore {
 public:
  explicit HookStore(std::shared_ptr<Store> base) : ForwardingStore(std::move(base)) {}
  Result<void> Flush() override {
    if (hook) hook();
    return ForwardingStore::Flush();
  }
  std::function<void()> hook;
};

uint64_t FilesFree(Filesystem& fs) {
  auto st = fs.Statfs();
  EXPECT_TRUE(st.ok());
  return st.ok() ? st->files_free : 0;
}

TEST(FdTableTest, CloseDuringACallKeepsTheDescriptionUntilTheCallEnds) {
  auto store = std::make_shared<HookStore>(NewMemoryStore());
  Options options;
  options.max_inodes = 100;
  ASSERT_OK_AND_ASSIGN(fs, Filesystem::Mount(store, options));
  ASSERT_OK_AND_ASSIGN(fd, fs->Open("/f", O_RDWR | O_CREAT, 0644));
  ASSERT_OK(fs->Pwrite(fd, "data", 4, 0));
  ASSERT_OK(fs->Fsync(fd));
  ASSERT_OK(fs->Unlink("/f"));  // now only the description keeps the inode
  const uint64_t free_while_open = FilesFree(*fs);

  std::promise<void> entered, release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<bool> armed{true};
  store->hook = [&] {
    if (!armed.exchange(false)) return;  // the first Flush only
    entered.set_value();
    released.wait();
  };
  std::thread caller([&] { EXPECT_OK(fs->Fsync(fd)); });  // clean: goes to Flush
  entered.get_future().wait();
  // The caller is inside fsync with the description. Close takes the
  // descriptor away at once...
  ASSERT_OK(fs->Close(fd));
  EXPECT_ERRNO(fs->Fstat(fd), EBADF);
  // ...but the description, and the unlinked inode it holds, stay.
  EXPECT_EQ(FilesFree(*fs), free_while_open);
  release.set_value();
  caller.join();
  store->hook = nullptr;  // the locals it uses go before the filesystem
  // The call has ended: it was the last user, so the inode is gone.
  EXPECT_EQ(FilesFree(*fs), free_while_open + 1);
}

TEST(FdTableTest, CallsNestedDeeperThanTheHazardSlotsStillWork) {
  // Each fsync holds its description while its Flush runs the next one, on
  // the same thread: more than a thread's hazard slots, so the deepest use
  // the counted lookup. All must succeed and see their own file.
  constexpr int kDepth = 7;
  auto store = std::make_shared<HookStore>(NewMemoryStore());
  ASSERT_OK_AND_ASSIGN(fs, Filesystem::Mount(store));
  std::vector<Fd> fds;
  for (int i = 0; i < kDepth; ++i) {
    ASSERT_OK_AND_ASSIGN(fd, fs->Open("/n" + std::to_string(i), O_RDWR | O_CREAT, 0644));
    ASSERT_OK(fs->Pwrite(fd, "x", 1, i));  // file i is i+1 bytes long
    ASSERT_OK(fs->Fsync(fd));
    fds.push_back(fd);
  }
  int depth = 0;
  std::vector<int64_t> sizes;
  store->hook = [&] {
    if (depth >= kDepth) return;
    const int mine = depth++;
    auto st = fs->Fstat(fds[mine]);
    sizes.push_back(st.ok() ? st->size : -1);
    EXPECT_OK(fs->Fsync(fds[mine]));
  };
  ASSERT_OK(fs->Fsync(fds[0]));
  store->hook = nullptr;
  ASSERT_EQ(sizes.size(), static_cast<size_t>(kDepth));
  for (int i = 0; i < kDepth; ++i) EXPECT_EQ(sizes[i], i + 1) << "depth " << i;
}

TEST(FdTableTest, ManyDescriptorsAcrossTableGrowthStayDistinct) {
  // Past several chunks and directory growths: each descriptor still names
  // its own file, closed ones answer EBADF, and a new open takes the lowest.
  constexpr int kFiles = 700;
  Options options;
  options.max_open_fds = 1000;
  ASSERT_OK_AND_ASSIGN(fs, Filesystem::Mount(NewMemoryStore(), options));
  std::vector<Fd> fds;
  for (int i = 0; i < kFiles; ++i) {
    ASSERT_OK_AND_ASSIGN(fd, fs->Open("/m" + std::to_string(i), O_RDWR | O_CREAT, 0644));
    ASSERT_EQ(fd.value(), i);
    ASSERT_OK(fs->Ftruncate(fd, i));
    fds.push_back(fd);
  }
  for (int i = 0; i < kFiles; i += 2) ASSERT_OK(fs->Close(fds[i]));
  for (int i = 0; i < kFiles; ++i) {
    if (i % 2 == 0) {
      EXPECT_ERRNO(fs->Fstat(fds[i]), EBADF);
    } else {
      ASSERT_OK_AND_ASSIGN(st, fs->Fstat(fds[i]));
      EXPECT_EQ(st.size, i);
    }
  }
  EXPECT_ERRNO(fs->Fstat(Fd(kFiles)), EBADF);
  EXPECT_ERRNO(fs->Fstat(Fd(1 << 20)), EBADF);
  EXPECT_ERRNO(fs->Fstat(Fd(-1)), EBADF);
  ASSERT_OK_AND_ASSIGN(again, fs->Open("/m1", O_RDONLY));
  EXPECT_EQ(again.value(), 0);
}

// Every open takes the lowest free descriptor (POSIX), found through the
// table's bitmap (FdBitmap): holes below, inside and across its 64-slot
// words and 4096-slot groups are filled lowest first, then the table grows.
TEST(FdTableTest, OpenTakesTheLowestFreeDescriptorAcrossBitmapWords) {
  Options options;
  options.max_open_fds = 20000;
  ASSERT_OK_AND_ASSIGN(fs, Filesystem::Mount(NewMemoryStore(), options));
  ASSERT_TRUE(fs->Open("/f", O_WRONLY | O_CREAT, 0644).ok());  // descriptor 0
  constexpr int kOpen = 9000;
  for (int i = 1; i < kOpen; ++i) ASSERT_EQ(fs->Open("/f", O_PATH).value().value(), i);
  const std::vector<int> holes = {4100, 5, 63, 64, 127, 4095, 4096, 8191};
  for (int fd : holes) ASSERT_TRUE(fs->Close(Fd(fd)).ok());
  std::vector<int> sorted = holes;
  std::sort(sorted.begin(), sorted.end());
  for (int want : sorted) EXPECT_EQ(fs->Open("/f", O_PATH).value().value(), want);
  EXPECT_EQ(fs->Open("/f", O_PATH).value().value(), kOpen);
  // A hole above the last one taken is still found after the table grew.
  ASSERT_TRUE(fs->Close(Fd(7000)).ok());
  EXPECT_EQ(fs->Open("/f", O_PATH).value().value(), 7000);
  EXPECT_EQ(fs->Open("/f", O_PATH).value().value(), kOpen + 1);
}

TEST(FdTableTest, CallsRacingWithCloseAndReopenSeeAFileOrEbadf) {
  // Threads write and stat through descriptors another thread keeps closing
  // and reopening. Every call either works on a live description or answers
  // EBADF; the sanitizer builds check that no freed description is touched.
  constexpr int kSlots = 8;
  constexpr int kRounds = 3000;
  ASSERT_OK_AND_ASSIGN(fs, Filesystem::Mount(NewMemoryStore()));
  std::vector<Fd> fds;
  for (int i = 0; i < kSlots; ++i) {
    ASSERT_OK_AND_ASSIGN(fd, fs->Open("/r" + std::to_string(i), O_RDWR | O_CREAT, 0644));
    fds.push_back(fd);
  }
  std::atomic<bool> done{false};
  std::atomic<int> unexpected{0};
  std::vector<std::thread> users;
  for (int t = 0; t < 2; ++t) {
    users.emplace_back([&, t] {
      std::mt19937 rng(t);
      while (!done.load(std::memory_order_acquire)) {
        const Fd fd(static_cast<int>(rng() % kSlots));
        auto wrote = fs->Pwrite(fd, "abc", 3, 0);
        if (!wrote.ok() && wrote.error() != EBADF) unexpected.fetch_add(1);
        auto st = fs->Fstat(fd);
        if (!st.ok() && st.error() != EBADF) unexpected.fetch_add(1);
        auto synced = fs->Fdatasync(fd);
        if (!synced.ok() && synced.error() != EBADF) unexpected.fetch_add(1);
      }
    });
  }
  std::mt19937 rng(99);
  for (int r = 0; r < kRounds; ++r) {
    const int i = static_cast<int>(rng() % kSlots);
    ASSERT_OK(fs->Close(Fd(i)));
    ASSERT_OK_AND_ASSIGN(fd, fs->Open("/r" + std::to_string(r % kSlots), O_RDWR | O_CREAT, 0644));
    ASSERT_EQ(fd.value(), i);  // the lowest free slot is the one just closed
  }
  done.store(true, std::memory_order_release);
  for (std::thread& t : users) t.join();
  EXPECT_EQ(unexpected.load(), 0);
}

}  // namespace
}  // namespace vfs::testing
